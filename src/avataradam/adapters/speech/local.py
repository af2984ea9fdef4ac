"""The local speech engines, found where `just setup-speech` (ops/speech.sh) installs them.

Every location follows from the running interpreter's virtualenv (`sys.prefix`, e.g.
`<project>/.venv`) or, for Piper, the project checkout this code runs from, so the same
rule serves a checkout, a deployment and CI, and a new virtualenv never sees another's
engines:

- faster-whisper and PyAV: importable in this virtualenv;
- the Whisper base model: `<sys.prefix>/share/avataradam/faster-whisper-base/`;
- Piper (GPL-3.0, run as a separate process): `.venv-piper/bin/piper` in the checkout
  this code runs from (the directory with `pyproject.toml` above `src/avataradam`) when
  there is one, else beside the virtualenv (`<parent of sys.prefix>/.venv-piper`); its
  voices are the voice packages installed in that virtualenv;
- espeak-ng: the `espeak-ng` command on PATH (Debian's package).

ops/speech.sh installs Piper beside the virtualenv it is given (`<project>/.venv` by
default), which in a checkout is the checkout itself.

Nothing here starts a process or loads a model: the factories only look, so calling
them costs milliseconds, and an engine that is not installed is `None`.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from typing import Literal

from avataradam.adapters.speech.espeak import EspeakSynthesizer
from avataradam.adapters.speech.piper import PiperSynthesizer, find_piper_voices
from avataradam.adapters.speech.whisper import FasterWhisperRecognizer
from avataradam.domain.ports.speech import SpeechRecognizer, SpeechSynthesizer

WHISPER_MODEL_FILES = ("config.json", "model.bin", "tokenizer.json", "vocabulary.txt")


def whisper_model_dir() -> Path:
    """Where ops/speech.sh assembles the Whisper base model (CTranslate2)."""
    return Path(sys.prefix) / "share" / "avataradam" / "faster-whisper-base"


def piper_venv() -> Path:
    """Piper's own virtualenv (see the module docstring): the first of the checkout's
    `.venv-piper` and the one beside this virtualenv that holds Piper's command, else
    the latter."""
    beside = Path(sys.prefix).parent / ".venv-piper"
    checkout = Path(__file__).resolve().parents[4]
    if (checkout / "pyproject.toml").is_file() and (checkout / "src" / "avataradam").is_dir():
        candidate = checkout / ".venv-piper"
        if (candidate / "bin" / "piper").is_file():
            return candidate
    return beside


def espeak_executable() -> Path | None:
    """The `espeak-ng` command, None when it is not installed."""
    found = shutil.which("espeak-ng")
    return Path(found) if found else None


def local_synthesizer(engine: Literal["auto", "piper", "espeak-ng"]) -> SpeechSynthesizer | None:
    """The local text-to-speech engine `engine`, None when it is not installed.

    `auto` is Piper when it and at least one voice are installed, else espeak-ng when
    installed, else None. A `PiperSynthesizer` runs processes once used: close it with
    `aclose()`.
    """
    return synthesizer_from(engine, piper_venv=piper_venv(), espeak=espeak_executable())


def local_recognizer(*, cpu_threads: int = 2) -> SpeechRecognizer | None:
    """faster-whisper with the Whisper base model on `cpu_threads` CPU threads, None when
    faster-whisper, PyAV or the model is not installed. The model is loaded on first use."""
    return recognizer_from(whisper_model_dir(), cpu_threads=cpu_threads)


def synthesizer_from(
    engine: Literal["auto", "piper", "espeak-ng"], *, piper_venv: Path, espeak: Path | None
) -> SpeechSynthesizer | None:
    """`local_synthesizer` with Piper's virtualenv and espeak-ng's command given."""
    if engine in {"auto", "piper"}:
        piper = piper_venv / "bin" / "piper"
        voices = find_piper_voices(piper_venv) if piper.is_file() else []
        if voices:
            return PiperSynthesizer(executable=piper, voices=voices)
        if engine == "piper":
            return None
    return EspeakSynthesizer(executable=espeak) if espeak is not None else None


def recognizer_from(model_dir: Path, *, cpu_threads: int = 2) -> SpeechRecognizer | None:
    """`local_recognizer` with the model's directory given."""
    if any(importlib.util.find_spec(name) is None for name in ("faster_whisper", "av")):
        return None
    if not all((model_dir / name).is_file() for name in WHISPER_MODEL_FILES):
        return None
    return FasterWhisperRecognizer(model_dir=model_dir, cpu_threads=cpu_threads)
