#!/usr/bin/env bash
# Installs the vector-search extension that migration 0003 creates
# (CREATE EXTENSION avataradam_vector) into the local PostgreSQL server.
#
# Why not pgvector: Debian bookworm (this machine's release, PostgreSQL 15) packages
# no postgresql-15-pgvector, neither in bookworm nor bookworm-backports. The project
# ships its own one-function extension (ops/avataradam_vector/) giving exact cosine
# similarity over real[] in C, built here with PGXS from Debian's server headers.
#
# Idempotent: does nothing when the extension's control file is already installed
# and its SQL script matches the one in this checkout. Run as root (or with sudo).
# Usage: ops/install-pgvector.sh         (PG major version taken from pg_config/psql)
#        PG_MAJOR=15 ops/install-pgvector.sh
set -euo pipefail

SOURCE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/avataradam_vector"
EXTENSION=avataradam_vector

detect_major() {
    if command -v psql >/dev/null 2>&1; then
        psql --version | sed -E 's/^psql \(PostgreSQL\) ([0-9]+).*/\1/'
    else
        echo "cannot detect the PostgreSQL major version; set PG_MAJOR" >&2
        exit 1
    fi
}

PG_MAJOR="${PG_MAJOR:-$(detect_major)}"
PG_CONFIG="/usr/lib/postgresql/${PG_MAJOR}/bin/pg_config"
SHARE_DIR="/usr/share/postgresql/${PG_MAJOR}/extension"
CONTROL_FILE="${SHARE_DIR}/${EXTENSION}.control"
SQL_FILE="${EXTENSION}--1.0.sql"

if [[ -f "${CONTROL_FILE}" ]] && cmp -s "${SOURCE_DIR}/${SQL_FILE}" "${SHARE_DIR}/${SQL_FILE}"; then
    echo "${EXTENSION} already installed (${CONTROL_FILE})"
    exit 0
fi

SUDO=""
if [[ "$(id -u)" -ne 0 ]]; then
    SUDO="sudo"
fi

if [[ ! -f "/usr/include/postgresql/${PG_MAJOR}/server/postgres.h" ]] \
    || ! command -v gcc >/dev/null 2>&1 || ! command -v make >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    ${SUDO} apt-get update
    ${SUDO} apt-get install -y --no-install-recommends \
        "postgresql-server-dev-${PG_MAJOR}" gcc make
fi

BUILD_DIR="$(mktemp -d)"
trap 'rm -rf "${BUILD_DIR}"' EXIT
cp "${SOURCE_DIR}"/* "${BUILD_DIR}/"
make -C "${BUILD_DIR}" PG_CONFIG="${PG_CONFIG}" with_llvm=no
${SUDO} make -C "${BUILD_DIR}" PG_CONFIG="${PG_CONFIG}" with_llvm=no install

if [[ ! -f "${CONTROL_FILE}" ]]; then
    echo "${EXTENSION} built but ${CONTROL_FILE} is missing" >&2
    exit 1
fi
echo "${EXTENSION} installed (${CONTROL_FILE})"
