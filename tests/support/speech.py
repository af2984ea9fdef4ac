"""Speech engines and audio for the speech tests: the local engines as `just setup-speech`
installs them (skipped locally when missing, a failure under CI=true), one faster-whisper
recognizer per test process (its model loads once), and audio re-encoded with PyAV the
way browsers send it (webm/opus, ogg/opus) or as mp3."""

from __future__ import annotations

import functools
import io
import re
import unicodedata
from typing import Any

import pytest

from avataradam.adapters.speech.local import local_recognizer, local_synthesizer, piper_venv
from avataradam.adapters.speech.piper import PiperSynthesizer, find_piper_voices
from avataradam.adapters.speech.whisper import FasterWhisperRecognizer
from avataradam.domain.ports.speech import SpeechRecognizer, SpeechSynthesizer
from ops.harness import processes
from tests.conftest import IN_CI

CODECS = {"webm": "libopus", "ogg": "libopus", "mp3": "libmp3lame"}
"""Container -> encoder for `transcode`."""
MEDIA_TYPES = {"wav": "audio/wav", "webm": "audio/webm", "ogg": "audio/ogg", "mp3": "audio/mpeg"}


def missing(what: str) -> None:
    """Skip the test (fail it under CI=true) because `what` is not installed."""
    reason = f"{what} is not installed: run `just setup-speech`"
    if IN_CI:
        pytest.fail(f"{reason} (CI=true forbids skipping)")
    pytest.skip(reason)


def synthesizer(engine: str) -> SpeechSynthesizer:
    """A new local synthesizer `engine` (`piper`, `espeak-ng`) as the factory makes it;
    the caller closes it. Piper's processes carry this run's mark, so the session's
    leftover check sees any left running."""
    if engine not in {"piper", "espeak-ng"}:
        raise ValueError(f"no local synthesizer {engine!r}")
    made = local_synthesizer("piper" if engine == "piper" else "espeak-ng")
    if made is None:
        missing(engine)
    assert made is not None
    assert made.name == engine
    if isinstance(made, PiperSynthesizer):
        venv = piper_venv()
        return PiperSynthesizer(
            executable=venv / "bin" / "piper",
            voices=find_piper_voices(venv),
            environment={processes.RUN_MARK: processes.mark_run()},
        )
    return made


@functools.cache
def _whisper() -> FasterWhisperRecognizer | None:
    made = local_recognizer(cpu_threads=2)
    assert made is None or isinstance(made, FasterWhisperRecognizer)
    return made


def recognizer(engine: str = "faster-whisper") -> SpeechRecognizer:
    """The test process's faster-whisper recognizer (its model is loaded once)."""
    if engine != "faster-whisper":
        raise ValueError(f"no local recognizer {engine!r}")
    made = _whisper()
    if made is None:
        missing("faster-whisper with the Whisper base model")
    assert made is not None
    return made


def transcode(wav: bytes, container: str) -> bytes:
    """`wav` re-encoded as `container` (`webm`, `ogg`: Opus at 48 kHz as browsers record
    it; `mp3`), mono."""
    import av  # noqa: PLC0415 - installed with faster-whisper

    codec = CODECS[container]
    rate = 48000 if codec == "libopus" else 22050
    source = av.open(io.BytesIO(wav), mode="r")
    output_buffer = io.BytesIO()
    output: Any = av.open(output_buffer, mode="w", format=container)
    stream = output.add_stream(codec, rate=rate, layout="mono")
    resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=rate)
    with source, output:
        for frame in source.decode(audio=0):
            for resampled in resampler.resample(frame):
                output.mux(stream.encode(resampled))
        for resampled in resampler.resample(None):
            output.mux(stream.encode(resampled))
        output.mux(stream.encode(None))
    return output_buffer.getvalue()


def words(text: str) -> str:
    """`text` lowercased, accents and punctuation removed, single-spaced: for finding
    key words in a transcript (`"service contract" in words(t.text)`)."""
    plain = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(character for character in plain if not unicodedata.combining(character))
    return " ".join(re.findall(r"[a-z0-9]+", plain))
