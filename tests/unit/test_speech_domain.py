"""Pure parts of speech: WAV headers and samples, a recording's type by its bytes, who
speaks with which voice, and which engines the settings switch on."""

from __future__ import annotations

import io
import struct
import wave

import pytest
from hypothesis import given
from hypothesis import strategies as st

from avataradam.domain.audio import (
    MP4,
    MPEG,
    OGG,
    WAV,
    WEBM,
    pcm_of,
    recording_type,
    sniff_recording,
    wav_header,
)
from avataradam.domain.errors import UnsupportedMediaType
from avataradam.domain.ports.speech import UnreadableAudio, Voice
from avataradam.domain.voices import adam_voice, adam_voice_in, customer_voice
from avataradam.entrypoints.settings import SettingsError, load_settings

VOICES = (
    Voice(id="ana", language="en", gender="female"),
    Voice(id="bob", language="en-US", gender="male"),
    Voice(id="carl", language="en", gender="male"),
    Voice(id="dora", language="es", gender="female"),
    Voice(id="eloy", language="es", gender="male"),
)


def test_a_whole_wav_and_its_stream_header_differ_only_in_their_sizes() -> None:
    pcm = struct.pack("<4h", 1, -1, 300, -300)
    whole = wav_header(22_050, len(pcm)) + pcm
    streamed = wav_header(22_050, None) + pcm

    with wave.open(io.BytesIO(whole), "rb") as reader:
        assert (reader.getframerate(), reader.getnframes(), reader.readframes(9)) == (
            22_050,
            4,
            pcm,
        )
    assert pcm_of(whole) == pcm_of(streamed) == (22_050, pcm)
    assert [i for i in range(len(whole)) if whole[i] != streamed[i]] == [4, 5, 6, 7, 40, 41, 42, 43]


def test_only_16_bit_mono_pcm_wav_is_read() -> None:
    stereo = io.BytesIO()
    with wave.open(stereo, "wb") as writer:
        writer.setnchannels(2)
        writer.setsampwidth(2)
        writer.setframerate(16_000)
        writer.writeframes(b"\0" * 8)
    for bad in (stereo.getvalue(), b"RIFF\0\0\0\0WAVE", b"OggS" + bytes(40)):
        with pytest.raises(UnreadableAudio):
            pcm_of(bad)


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", WAV),
        (b"OggS\x00\x02", OGG),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81", WEBM),
        (b"\x00\x00\x00\x20ftypM4A ", MP4),
        (b"ID3\x04\x00", MPEG),
        (b"\xff\xfb\x90\x64", MPEG),
        (b"\xff\xf1\x50\x80", None),  # AAC in ADTS: no MPEG layer
        (b"%PDF-1.7", None),
    ],
)
def test_a_recordings_type_is_told_by_its_first_bytes(head: bytes, kind: str | None) -> None:
    assert sniff_recording(head) == kind


def test_the_bytes_decide_and_a_declared_recording_type_is_trusted_when_they_say_nothing() -> None:
    riff = b"RIFF\x24\x00\x00\x00WAVEfmt "
    assert recording_type("audio/webm;codecs=opus", riff) == WAV
    assert recording_type("application/octet-stream", b"OggS") == OGG
    assert recording_type(None, riff) == WAV
    assert recording_type("audio/webm; codecs=opus", b"garbled") == WEBM
    assert recording_type("audio/x-m4a", b"garbled") == MP4
    for declared, head in (("image/png", riff), ("application/octet-stream", b"garbled")):
        with pytest.raises(UnsupportedMediaType):
            recording_type(declared, head)


def test_adam_speaks_with_the_configured_voice_else_the_first_male_english_one() -> None:
    assert adam_voice(VOICES).id == "bob"
    assert adam_voice(VOICES, "carl").id == "carl"
    assert adam_voice(VOICES[3:]).id == "dora"  # no English voice: the first one
    with pytest.raises(ValueError, match="ana, bob"):
        adam_voice(VOICES, "zed")
    assert adam_voice_in(VOICES, VOICES[1], "es").id == "eloy"
    assert adam_voice_in(VOICES, VOICES[1], "en").id == "bob"
    assert adam_voice_in(VOICES[:3], VOICES[1], "es").id == "bob"  # no Spanish voice


@given(key=st.text(min_size=1, max_size=40), language=st.sampled_from(["en", "es", "fr"]))
def test_a_customer_keeps_one_voice_of_the_language_and_never_adams(
    key: str, language: str
) -> None:
    adam = VOICES[1]
    chosen = customer_voice(VOICES, key=key, language=language, gender=None, adam=adam)
    assert chosen == customer_voice(VOICES, key=key, language=language, gender=None, adam=adam)
    assert chosen != adam
    if language in ("en", "es"):
        assert chosen.language.startswith(language)
    female = customer_voice(VOICES, key=key, language=language, gender="female", adam=adam)
    assert female.gender == "female"


def test_every_customer_voice_of_a_language_is_used_by_some_scenario() -> None:
    adam = VOICES[1]
    chosen = {
        customer_voice(VOICES, key=f"scenario-{n}", language="en", gender=None, adam=adam).id
        for n in range(40)
    }
    assert chosen == {"ana", "carl"}


@pytest.mark.parametrize(
    ("variables", "synthesizer", "recognizer", "avatar"),
    [
        ({}, "auto", "auto", "off"),
        ({"OPENAI_API_KEY": "k"}, "openai", "openai", "off"),
        ({"ELEVENLABS_API_KEY": "k"}, "elevenlabs", "elevenlabs", "off"),
        ({"OPENAI_API_KEY": "k", "ELEVENLABS_API_KEY": "k"}, "elevenlabs", "openai", "off"),
        ({"OPENAI_API_KEY": "k", "SYNTHESIZER": "piper"}, "piper", "openai", "off"),
        ({"HEYGEN_API_KEY": "k", "HEYGEN_AVATAR_ID": "a"}, "auto", "auto", "heygen"),
        ({"SYNTHESIZER": "off", "AVATAR_PROVIDER": "memory"}, "off", "auto", "memory"),
    ],
)
def test_keys_switch_the_cloud_engines_on_in_the_documented_order(
    variables: dict[str, str], synthesizer: str, recognizer: str, avatar: str
) -> None:
    speech = load_settings(
        {f"AVATARADAM_SPEECH_{name}": value for name, value in variables.items()}, env_file=None
    ).speech
    assert (speech.synthesizer_engine(), speech.recognizer_engine(), speech.avatar_engine()) == (
        synthesizer,
        recognizer,
        avatar,
    )


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"SYNTHESIZER": "openai"}, "AVATARADAM_SPEECH_OPENAI_API_KEY"),
        ({"RECOGNIZER": "elevenlabs"}, "AVATARADAM_SPEECH_ELEVENLABS_API_KEY"),
        ({"HEYGEN_API_KEY": "k"}, "AVATARADAM_SPEECH_HEYGEN_AVATAR_ID"),
        ({"MAX_UPLOAD_BYTES": "10"}, "max_upload_bytes"),
        ({"REPLY_LOCK_TTL_S": "0"}, "reply_lock_ttl_s"),
        ({"REPLY_POLL_INTERVAL_S": "0"}, "reply_poll_interval_s"),
        ({"REPLY_POLL_INTERVAL_S": "30"}, "reply_poll_interval_s"),
    ],
)
def test_a_cloud_engine_without_its_key_stops_the_process_naming_it(
    variables: dict[str, str], named: str
) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings(
            {f"AVATARADAM_SPEECH_{name}": value for name, value in variables.items()},
            env_file=None,
        )
