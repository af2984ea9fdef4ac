"""The cloud speech and avatar adapters against the real services: each test runs only
when its key is set (skipped otherwise).

- OpenAI: `OPENAI_API_KEY` (and `OPENAI_BASE_URL` for another compatible server,
  default https://api.openai.com/v1): speak an F&I sentence, transcribe it back.
- ElevenLabs: `ELEVENLABS_API_KEY` (`ELEVENLABS_STT_MODEL` to try another Scribe model
  than the adapter's default): the same round trip.
- HeyGen LiveAvatar: `HEYGEN_API_KEY` (a LiveAvatar key) and `HEYGEN_AVATAR_ID` (an
  avatar of that account or a public one): mint a sandbox session token. Nothing is
  started, so no minutes are spent.
"""

from __future__ import annotations

import io
import os
import wave
from datetime import UTC, datetime

import pytest

from avataradam.adapters.avatar.heygen import HeyGenAvatars
from avataradam.adapters.speech.elevenlabs import ElevenLabsSpeech
from avataradam.adapters.speech.openai import OpenAISpeech
from avataradam.domain.ports.speech import Speech, SpeechRecognizer, SpeechSynthesizer

SENTENCE = "The service contract is optional, and buying it never changes your loan approval."
KEY_WORDS = ("service contract", "optional")

OPENAI_API_KEY = os.environ.get("OPENAI_API_KEY", "")
ELEVENLABS_API_KEY = os.environ.get("ELEVENLABS_API_KEY", "")
HEYGEN_API_KEY = os.environ.get("HEYGEN_API_KEY", "")
HEYGEN_AVATAR_ID = os.environ.get("HEYGEN_AVATAR_ID", "")


def _assert_pcm16_mono(speech: Speech) -> None:
    with wave.open(io.BytesIO(speech.audio)) as reader:
        assert (reader.getnchannels(), reader.getsampwidth()) == (1, 2)
        assert reader.getframerate() == speech.sample_rate
        assert reader.getnframes() == round(speech.duration_s * speech.sample_rate)
    assert 2.0 < speech.duration_s < 15.0


async def _round_trip(engine: SpeechSynthesizer, recognizer: SpeechRecognizer, voice: str) -> None:
    spoken = await engine.synthesize(SENTENCE, voice=voice)
    _assert_pcm16_mono(spoken)

    transcript = await recognizer.transcribe(
        spoken.audio, content_type=spoken.content_type, language="en", max_duration_s=60
    )

    heard = transcript.text.lower()
    assert all(words in heard for words in KEY_WORDS), transcript.text
    assert transcript.language == "en"
    assert transcript.duration_s == pytest.approx(spoken.duration_s, abs=0.5)


@pytest.mark.skipif(not OPENAI_API_KEY, reason="live OpenAI test needs OPENAI_API_KEY")
async def test_openai_speaks_and_hears_an_fni_sentence() -> None:
    speech = OpenAISpeech(
        base_url=os.environ.get("OPENAI_BASE_URL", "https://api.openai.com/v1"),
        api_key=OPENAI_API_KEY,
        timeout_s=60,
    )
    try:
        await _round_trip(speech, speech, voice="onyx")
    finally:
        await speech.aclose()


@pytest.mark.skipif(not ELEVENLABS_API_KEY, reason="live ElevenLabs test needs ELEVENLABS_API_KEY")
async def test_elevenlabs_speaks_and_hears_an_fni_sentence() -> None:
    speech = ElevenLabsSpeech(
        api_key=ELEVENLABS_API_KEY,
        stt_model=os.environ.get("ELEVENLABS_STT_MODEL") or "scribe_v1",
        timeout_s=60,
    )
    try:
        await _round_trip(speech, speech, voice=speech.voices[0].id)
    finally:
        await speech.aclose()


@pytest.mark.skipif(
    not (HEYGEN_API_KEY and HEYGEN_AVATAR_ID),
    reason="live LiveAvatar test needs HEYGEN_API_KEY and HEYGEN_AVATAR_ID",
)
async def test_heygen_mints_a_short_lived_session_token() -> None:
    avatars = HeyGenAvatars(api_key=HEYGEN_API_KEY, sandbox=True)
    try:
        session = await avatars.create_session(avatar_id=HEYGEN_AVATAR_ID, voice=None)
    finally:
        await avatars.aclose()
    assert session.provider == "heygen"
    assert session.session_id
    assert session.token
    assert HEYGEN_API_KEY not in session.token
    assert datetime.fromisoformat(session.expires_at) > datetime.now(UTC)
