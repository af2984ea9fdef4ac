"""What the cloud speech adapters read and write without any service: WAV in and out,
recording kinds and lengths, language codes, the retry policy's Retry-After."""

from __future__ import annotations

import io
import struct
import wave
from array import array

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from avataradam.adapters.speech.http import MAX_RETRY_AFTER_S, _retry_after_s
from avataradam.adapters.speech.languages import from_iso3, from_whisper_name, primary_subtag
from avataradam.adapters.speech.probe import (
    audio_kind,
    check_duration,
    ogg_duration_s,
    probe_duration_s,
)
from avataradam.adapters.speech.wav import NotWav, pcm16_mono, read_wav, speech_from_pcm16
from avataradam.domain.ports.speech import AudioTooLong, UnreadableAudio
from tests.emulators.audio import ogg_opus_bytes, require_pyav, tone_pcm16, wav_bytes

RATE = 24_000


def test_a_streamed_header_is_read_to_the_end_of_the_bytes() -> None:
    pcm = tone_pcm16(0.5, RATE)

    wav = read_wav(wav_bytes(pcm, RATE, streamed_header=True))

    assert (wav.channels, wav.sample_rate, wav.is_pcm16) == (1, RATE, True)
    assert wav.data == pcm
    assert wav.duration_s == pytest.approx(0.5)


def test_a_zero_data_size_left_by_a_streaming_writer_is_read_to_the_end() -> None:
    pcm = tone_pcm16(0.1, RATE)
    data = bytearray(wav_bytes(pcm, RATE))
    data[4:8] = data[40:44] = bytes(4)  # RIFF and data sizes never written back

    assert read_wav(bytes(data)).data == pcm


def test_chunks_after_the_data_are_not_read_as_samples() -> None:
    pcm = tone_pcm16(0.25, RATE)
    trailing = b"LIST" + struct.pack("<I", 12) + b"INFOISFT\x00\x00\x00\x00"

    wav = read_wav(wav_bytes(pcm, RATE, trailing_chunk=trailing))

    assert wav.data == pcm


def test_a_truncated_data_chunk_keeps_its_whole_frames() -> None:
    data = wav_bytes(tone_pcm16(1.0, RATE), RATE)

    wav = read_wav(data[: 44 + 1001])

    assert len(wav.data) == 1000
    assert wav.frames == 500


@pytest.mark.parametrize(
    "data",
    [b"", b"RIFF\x00\x00\x00\x00WAVE", b"ID3\x03\x00" + bytes(64), b"RIFF\x24\x00\x00\x00WAVEdata"],
)
def test_what_is_not_a_wav_is_refused(data: bytes) -> None:
    with pytest.raises(NotWav):
        read_wav(data)


def test_stereo_is_mixed_down_to_mono() -> None:
    left, right = array("h", [1000, -2000, 30000]), array("h", [3000, 2000, 30000])
    interleaved = array("h", [sample for pair in zip(left, right, strict=True) for sample in pair])

    mono = pcm16_mono(read_wav(wav_bytes(interleaved.tobytes(), RATE, channels=2)))

    assert array("h", mono).tolist() == [2000, 0, 30000]


def test_samples_that_are_not_pcm16_are_refused() -> None:
    header = b"RIFF" + struct.pack("<I", 36 + 8) + b"WAVEfmt " + struct.pack("<I", 16)
    header += struct.pack("<HHIIHH", 3, 1, RATE, RATE * 4, 4, 32) + b"data" + struct.pack("<I", 8)
    float_wav = read_wav(header + bytes(8))

    assert float_wav.duration_s == pytest.approx(2 / RATE)
    with pytest.raises(NotWav, match="not PCM16"):
        pcm16_mono(float_wav)


@given(st.binary(max_size=4001), st.sampled_from([8_000, 16_000, 22_050, 24_000, 48_000]))
def test_speech_is_a_strict_wav_of_the_same_samples(pcm: bytes, rate: int) -> None:
    speech = speech_from_pcm16(pcm, rate)

    with wave.open(io.BytesIO(speech.audio)) as reader:
        frames = reader.readframes(reader.getnframes() + 1)
        assert (reader.getnchannels(), reader.getsampwidth(), reader.getframerate()) == (1, 2, rate)
    assert frames == pcm[: len(pcm) // 2 * 2]
    assert speech.duration_s == len(frames) / 2 / rate
    assert read_wav(speech.audio).data == frames


@pytest.mark.parametrize(
    ("declared", "media_type", "extension"),
    [
        ("audio/webm;codecs=opus", "audio/webm", "webm"),
        ("Audio/WAV", "audio/wav", "wav"),
        ("audio/x-wav", "audio/wav", "wav"),
        ("audio/ogg; codecs=opus", "audio/ogg", "ogg"),
        ("audio/mpeg", "audio/mpeg", "mp3"),
        ("audio/x-m4a", "audio/mp4", "m4a"),
    ],
)
def test_a_declared_type_names_the_upload(declared: str, media_type: str, extension: str) -> None:
    kind = audio_kind(declared)
    assert (kind.media_type, kind.extension, kind.filename) == (
        media_type,
        extension,
        f"audio.{extension}",
    )


@pytest.mark.parametrize("declared", ["text/plain", "", "video/mp4", "application/octet-stream"])
def test_a_type_no_speech_api_reads_is_unreadable(declared: str) -> None:
    with pytest.raises(UnreadableAudio):
        audio_kind(declared)


@pytest.mark.parametrize("seconds", [0.02, 1.0, 59.5, 3600.0])
def test_an_ogg_opus_length_is_its_last_granule_less_the_pre_skip(seconds: float) -> None:
    assert ogg_duration_s(ogg_opus_bytes(seconds)) == pytest.approx(seconds, abs=1 / 48_000)


def test_an_ogg_vorbis_length_uses_its_sample_rate() -> None:
    identification = b"\x01vorbis" + struct.pack("<IBIiii", 0, 1, 44_100, 0, 0, 0) + b"\xb8\x01"
    first = b"OggS" + struct.pack("<BBqIII", 0, 2, 0, 1, 0, 0) + bytes([1, len(identification)])
    last = b"OggS" + struct.pack("<BBqIII", 0, 4, 88_200, 1, 1, 0) + bytes([1, 4]) + bytes(4)

    assert ogg_duration_s(first + identification + last) == pytest.approx(2.0)


def test_a_cut_ogg_file_counts_the_pages_it_has() -> None:
    whole = ogg_opus_bytes(9.0, pages=3)
    cut = whole[: whole.rfind(b"OggS") + 10]  # the last page's header is cut mid-granule

    assert ogg_duration_s(cut) == pytest.approx(6.0, abs=0.01)


@pytest.mark.parametrize("data", [b"", b"OggS", b"ID3" + bytes(40), b"OggS" + bytes(60)])
def test_what_is_not_ogg_opus_or_vorbis_is_unreadable(data: bytes) -> None:
    with pytest.raises(UnreadableAudio):
        ogg_duration_s(data)


def test_a_length_past_the_limit_is_too_long_with_both_numbers() -> None:
    recording = wav_bytes(tone_pcm16(2.5, 8_000), 8_000)

    assert check_duration(recording, audio_kind("audio/wav"), max_duration_s=2.5) == 2.5
    with pytest.raises(AudioTooLong) as raised:
        check_duration(recording, audio_kind("audio/wav"), max_duration_s=2)
    assert (raised.value.duration_s, raised.value.limit_s) == (2.5, 2)
    assert raised.value.details == {"duration_s": 2.5, "limit_s": 2}


def test_pyav_measures_what_it_can_decode_and_refuses_what_it_cannot() -> None:
    av = require_pyav()
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=22_050)
        stream.layout = "mono"
        samples = tone_pcm16(1.5, 22_050)
        frame = av.AudioFrame(format="s16", layout="mono", samples=len(samples) // 2)
        frame.planes[0].update(samples)
        frame.sample_rate = 22_050
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)

    assert probe_duration_s(buffer.getvalue(), audio_kind("audio/mpeg")) == pytest.approx(
        1.5, abs=0.1
    )
    with pytest.raises(UnreadableAudio):
        probe_duration_s(b"\x00" * 500, audio_kind("audio/mp4"))


@pytest.mark.parametrize(
    ("given_language", "expected"), [("en-US", "en"), ("ES", "es"), ("pt_BR", "pt"), ("fil", "fil")]
)
def test_language_tags_are_cut_to_their_primary_subtag(given_language: str, expected: str) -> None:
    assert primary_subtag(given_language) == expected


def test_provider_language_names_become_iso_639_1() -> None:
    assert from_whisper_name("english") == "en"
    assert from_whisper_name("Spanish") == "es"
    assert from_whisper_name("en") == "en"
    assert from_iso3("eng") == "en"
    assert from_iso3("spa") == "es"
    assert from_iso3("zho") == "zh"
    assert from_iso3("xyz") == "xyz"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "20"}, 0.02),
        ({"retry-after": "2"}, 2.0),
        ({"retry-after": "120"}, MAX_RETRY_AFTER_S),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, None),
        ({"retry-after": "-1"}, None),
        ({}, None),
    ],
)
def test_retry_after_is_honoured_up_to_a_cap(
    headers: dict[str, str], expected: float | None
) -> None:
    assert _retry_after_s(httpx.Response(429, headers=headers)) == expected
