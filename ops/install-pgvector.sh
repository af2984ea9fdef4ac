#!/usr/bin/env bash
# Installs the vector-search extension that migration 0003 creates
# (CREATE EXTENSION avataradam_vector) into the local PostgreSQL server.
#
# Why not pgvector: Debian bookworm (this machine's release, PostgreSQL 15) packages
# no postgresql-15-pgvector, neither in bookworm nor bookworm-backports. The project
# ships its own small extension (ops/avataradam_vector/) giving exact cosine
# similarity over real[] and sparse dot products in C, built here with PGXS from
# Debian's server headers.
#
# Versions: 1.0 (cosine similarity), 1.1 (adds avataradam_sparse_dot, the dot product
# of sparse vectors; migration 0016 updates a database's extension to it). CREATE
# EXTENSION at 1.1 runs the 1.0 script and the 1.0--1.1 update.
#
# Idempotent: does nothing when the installed control file and every SQL script match
# this checkout's and the installed library was built from this checkout's C source
# and Makefile (their SHA-256, recorded beside the control file at install); anything
# else rebuilds and reinstalls all of it (a new version of a loaded library takes
# effect in new server sessions). Run as root (or with sudo).
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
STAMP_FILE="${SHARE_DIR}/${EXTENSION}.build-sha256"
LIBRARY="/usr/lib/postgresql/${PG_MAJOR}/lib/${EXTENSION}.so"

# What the installed library must have been built from.
build_stamp() {
    (cd "${SOURCE_DIR}" && sha256sum "${EXTENSION}.c" Makefile)
}

up_to_date() {
    [[ -f "${LIBRARY}" ]] || return 1
    cmp -s "${SOURCE_DIR}/${EXTENSION}.control" "${CONTROL_FILE}" || return 1
    local script
    for script in "${SOURCE_DIR}/${EXTENSION}"--*.sql; do
        cmp -s "${script}" "${SHARE_DIR}/$(basename "${script}")" || return 1
    done
    [[ -f "${STAMP_FILE}" ]] && [[ "$(cat "${STAMP_FILE}")" == "$(build_stamp)" ]]
}

if up_to_date; then
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
    ${SUDO} bash "$(dirname "${BASH_SOURCE[0]}")/apt-get.sh" update
    ${SUDO} bash "$(dirname "${BASH_SOURCE[0]}")/apt-get.sh" install -y --no-install-recommends \
        "postgresql-server-dev-${PG_MAJOR}" gcc make
fi

BUILD_DIR="$(mktemp -d)"
trap 'rm -rf "${BUILD_DIR}"' EXIT
cp "${SOURCE_DIR}"/* "${BUILD_DIR}/"
make -C "${BUILD_DIR}" PG_CONFIG="${PG_CONFIG}" with_llvm=no
# `install` replaces the library by a new file (unlink, then create), so server
# processes that have the old one mapped keep running on it.
${SUDO} make -C "${BUILD_DIR}" PG_CONFIG="${PG_CONFIG}" with_llvm=no install
build_stamp > "${BUILD_DIR}/stamp"
${SUDO} install -m 644 "${BUILD_DIR}/stamp" "${STAMP_FILE}"

if ! up_to_date; then
    echo "${EXTENSION} built but the installed files differ from ${SOURCE_DIR}" >&2
    exit 1
fi
echo "${EXTENSION} installed (${CONTROL_FILE})"
