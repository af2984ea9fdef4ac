#!/usr/bin/env bash
# Installs what tests/deploy/ needs to check deploy/k8s/ and compose.yaml (idempotent;
# `just setup-deploy-tools`, run by `just test` and `just validate-deploy`):
#
#   .venv-tools/  checkov and podman-compose, hash-pinned (requirements/deploy-tools.txt),
#                 in a virtualenv of their own: checkov's dependencies conflict with the
#                 app's lock.
#   Debian        haproxy (`haproxy -c`), prometheus-alertmanager (`amtool check-config`),
#                 podman (`podman-compose config` asks `podman version`), and promtool
#                 (ops/install-promtool.sh).
#   kubectl       renders the overlays (`kubectl kustomize`). This machine kind's image has
#                 it (the Google Cloud CLI's kubectl package: kubectl 1.32, kustomize 5.5);
#                 none of the registries we reach ships kubectl or kustomize, so a missing
#                 one is reported here, not installed. A `kustomize` binary on PATH serves
#                 as well.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="${AVATARADAM_TOOLS_VENV:-${ROOT}/.venv-tools}"
REQUIREMENTS="${ROOT}/requirements/deploy-tools.txt"
STAMP="${TOOLS}/.requirements.sha256"
wanted="$(sha256sum "${REQUIREMENTS}" | cut -d' ' -f1)"

if [[ ! -f "${STAMP}" || "$(cat "${STAMP}")" != "${wanted}" ]]; then
    rm -rf "${TOOLS}"
    uv venv --quiet --python 3.11 "${TOOLS}"
    uv pip install --quiet --compile-bytecode --python "${TOOLS}/bin/python" --require-hashes \
        -r "${REQUIREMENTS}"
    echo "${wanted}" >"${STAMP}"
    echo "installed checkov $("${TOOLS}/bin/checkov" --version) and podman-compose into ${TOOLS}"
fi

missing=()
command -v haproxy >/dev/null 2>&1 || [[ -x /usr/sbin/haproxy ]] || missing+=(haproxy)
command -v amtool >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
command -v podman >/dev/null 2>&1 || missing+=(podman)
if ((${#missing[@]})); then
    SUDO=""
    if [[ "$(id -u)" -ne 0 ]]; then SUDO="sudo"; fi
    if ! apt-cache show "${missing[@]}" >/dev/null 2>&1; then
        ${SUDO} bash "${ROOT}/ops/apt-get.sh" update
    fi
    # Packaged services are not started: the tests only run the checking commands.
    ${SUDO} bash "${ROOT}/ops/apt-get.sh" install -y --no-install-recommends "${missing[@]}"
fi
bash "${ROOT}/ops/install-promtool.sh" >/dev/null

if ! command -v kubectl >/dev/null 2>&1 && ! command -v kustomize >/dev/null 2>&1; then
    echo "neither kubectl nor kustomize is on PATH: tests/deploy cannot render deploy/k8s" >&2
    exit 1
fi
