"""Engines that fail are `SpeechUnavailable`, never a hang or another error: commands
standing in for espeak-ng and Piper that are missing, exit, write no WAV or never
answer, and a Whisper model directory whose files are not a model."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from avataradam.adapters.speech.espeak import EspeakSynthesizer
from avataradam.adapters.speech.piper import PiperSynthesizer, PiperVoice
from avataradam.adapters.speech.wav import speech_from_pcm16
from avataradam.adapters.speech.whisper import FasterWhisperRecognizer
from avataradam.domain.ports.speech import SpeechUnavailable, Voice
from tests.support import speech


def command(tmp_path: Path, name: str, script: str) -> Path:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.mark.parametrize(
    ("script", "timeout_s", "message"),
    [
        ("echo 'Error: broken' >&2; exit 1", 5.0, "exited with 1"),
        ("cat", 5.0, "no usable WAV"),
        ("sleep 30", 0.3, "took over"),
    ],
)
async def test_a_failing_espeak_is_unavailable(
    tmp_path: Path, script: str, timeout_s: float, message: str
) -> None:
    espeak = EspeakSynthesizer(
        executable=command(tmp_path, "espeak-ng", script), timeout_s=timeout_s
    )
    with pytest.raises(SpeechUnavailable, match=message):
        await espeak.synthesize("Hello there.", voice="en-us+m3")


async def test_a_missing_espeak_is_unavailable(tmp_path: Path) -> None:
    espeak = EspeakSynthesizer(executable=tmp_path / "no-such-command")
    with pytest.raises(SpeechUnavailable, match="cannot be started"):
        await espeak.synthesize("Hello there.", voice="en-us+m3")


def piper_with(executable: Path, timeout_s: float = 5.0) -> PiperSynthesizer:
    voice = PiperVoice(
        voice=Voice(id="joe", language="en", gender="male"),
        model=executable.parent / "model.onnx",
        sample_rate=22050,
    )
    return PiperSynthesizer(executable=executable, voices=[voice], timeout_s=timeout_s)


async def test_a_piper_that_dies_at_start_is_unavailable(tmp_path: Path) -> None:
    piper = piper_with(command(tmp_path, "piper", "echo 'no model' >&2; exit 3"))
    with pytest.raises(SpeechUnavailable, match="died: no model"):
        await piper.synthesize("Hello there.", voice="joe")
    await piper.aclose()


async def test_a_piper_that_never_answers_is_killed(tmp_path: Path) -> None:
    piper = piper_with(command(tmp_path, "piper", "exec sleep 30"), timeout_s=0.3)
    with pytest.raises(SpeechUnavailable, match="took over"):
        await piper.synthesize("Hello there.", voice="joe")
    assert piper.process_id("joe") is None, "the hung process is gone"
    await piper.aclose()


async def test_a_piper_that_writes_no_wav_is_unavailable(tmp_path: Path) -> None:
    """Like Piper's command, reads lines and logs `Wrote <file>`, but the file is text."""
    script = (
        'dir="$4"; n=0\n'
        'while read -r line; do n=$((n+1)); echo "$line" > "$dir/$n.wav";'
        ' echo "INFO:__main__:Wrote $dir/$n.wav" >&2; done\n'
    )
    piper = piper_with(command(tmp_path, "piper", script))
    with pytest.raises(SpeechUnavailable, match="no usable WAV"):
        await piper.synthesize("Hello there.", voice="joe")
    assert piper.process_id("joe") is not None, "the process itself is fine"
    await piper.aclose()
    assert piper.process_id("joe") is None


async def test_a_model_directory_without_a_model_is_unavailable(tmp_path: Path) -> None:
    speech.recognizer()  # faster-whisper installed (skips, or fails under CI, otherwise)
    for name in ("config.json", "model.bin", "tokenizer.json", "vocabulary.txt"):
        (tmp_path / name).write_text("{}")
    recognizer = FasterWhisperRecognizer(model_dir=tmp_path)
    tone = bytes(range(256)) * 250
    with pytest.raises(SpeechUnavailable, match="cannot be loaded"):
        await recognizer.transcribe(
            speech_from_pcm16(tone, sample_rate=16000).audio,
            content_type="audio/wav",
            max_duration_s=30,
        )
