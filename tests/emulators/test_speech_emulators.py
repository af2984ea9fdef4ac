"""The emulations of OpenAI's audio API, ElevenLabs and LiveAvatar hold clients to the
published contract (keys, request shapes, limits) and answer in the published shapes;
otherwise the adapter tests prove nothing."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.emulators import elevenlabs, liveavatar, openai_audio
from tests.emulators.audio import tone_pcm16, wav_bytes
from tests.emulators.http_server import EmulatedApi, serving

RECORDING = wav_bytes(tone_pcm16(1.0, 16_000), 16_000)


@contextmanager
def _client(api: EmulatedApi, headers: dict[str, str], path: str = "") -> Iterator[httpx.Client]:
    """A client of `api`, served until the block ends, at `path` with `headers`."""
    with serving(api) as url, httpx.Client(base_url=f"{url}{path}", headers=headers) as client:
        yield client


@pytest.fixture(scope="module")
def openai() -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {openai_audio.API_KEY}"}
    with _client(openai_audio.OpenAIAudioEmulator(), headers, "/v1") as client:
        yield client


@pytest.fixture(scope="module")
def eleven() -> Iterator[httpx.Client]:
    with _client(elevenlabs.ElevenLabsEmulator(), {"xi-api-key": elevenlabs.API_KEY}) as client:
        yield client


@pytest.fixture(scope="module")
def live() -> Iterator[httpx.Client]:
    with _client(liveavatar.LiveAvatarEmulator(), {"X-API-KEY": liveavatar.API_KEY}) as client:
        yield client


def test_openai_speech_is_a_streamed_wav_and_refuses_a_missing_key(openai: httpx.Client) -> None:
    body = {"model": "tts-1", "input": "Hello.", "voice": "alloy", "response_format": "wav"}

    answer = openai.post("/audio/speech", json=body)
    refused = openai.post("/audio/speech", json=body, headers={"Authorization": ""})

    assert answer.status_code == 200
    assert struct.unpack_from("<I", answer.content, 4)[0] == 0xFFFFFFFF
    assert struct.unpack_from("<I", answer.content, 40)[0] == 0xFFFFFFFF
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_api_key"


@pytest.mark.parametrize(
    ("change", "status", "param"),
    [
        ({"input": "x" * 4097}, 400, "input"),
        ({"voice": "verse"}, 400, "voice"),  # not with tts-1
        ({"model": "tts-9"}, 404, None),
    ],
)
def test_openai_speech_enforces_the_published_request(
    openai: httpx.Client, change: dict[str, str], status: int, param: str | None
) -> None:
    body = {"model": "tts-1", "input": "Hello.", "voice": "alloy", "response_format": "wav"}

    answer = openai.post("/audio/speech", json=body | change)

    assert answer.status_code == status
    assert set(answer.json()["error"]) == {"message", "type", "param", "code"}
    assert answer.json()["error"]["param"] == param


@pytest.mark.parametrize(
    ("filename", "fields", "message"),
    [
        ("audio.txt", {"model": "whisper-1"}, "Invalid file format"),
        ("audio.wav", {"model": "whisper-1", "language": "english"}, "ISO-639-1"),
        ("audio.wav", {"model": "gpt-4o-transcribe", "response_format": "verbose_json"}, "json"),
    ],
)
def test_openai_transcription_enforces_the_published_request(
    openai: httpx.Client, filename: str, fields: dict[str, str], message: str
) -> None:
    answer = openai.post(
        "/audio/transcriptions", data=fields, files={"file": (filename, RECORDING, "audio/wav")}
    )

    assert answer.status_code == 400
    assert message in answer.json()["error"]["message"]


def test_openai_verbose_json_has_the_published_fields(openai: httpx.Client) -> None:
    answer = openai.post(
        "/audio/transcriptions",
        data={"model": "whisper-1", "response_format": "verbose_json"},
        files={"file": ("audio.wav", RECORDING, "audio/wav")},
    )

    body = answer.json()
    assert {"task", "language", "duration", "text", "segments"} <= set(body)
    assert (body["language"], body["duration"]) == ("english", 1.0)
    assert {"avg_logprob", "no_speech_prob", "start", "end"} <= set(body["segments"][0])


def test_elevenlabs_speech_is_raw_pcm_at_the_asked_rate(eleven: httpx.Client) -> None:
    answer = eleven.post(
        "/v1/text-to-speech/JBFqnCBsd6RMkjVDRZzb",
        params={"output_format": "pcm_16000"},
        json={"text": "Hello there.", "model_id": "eleven_multilingual_v2"},
    )

    assert answer.status_code == 200
    assert answer.content[:4] != b"RIFF"
    assert len(answer.content) == 2 * round(12 * elevenlabs.SECONDS_PER_CHARACTER * 16_000)


def test_elevenlabs_refuses_a_wrong_key_and_a_malformed_request(eleven: httpx.Client) -> None:
    wrong_key = eleven.post(
        "/v1/speech-to-text", headers={"xi-api-key": "nope"}, data={"model_id": "scribe_v1"}
    )
    no_file = eleven.post("/v1/speech-to-text", data={"model_id": "scribe_v1"})

    assert wrong_key.status_code == 401
    assert wrong_key.json()["detail"]["status"] == "invalid_api_key"
    assert no_file.status_code == 422
    assert no_file.json()["detail"][0]["loc"] == ["body", "file"]


def test_elevenlabs_transcription_has_the_published_fields(eleven: httpx.Client) -> None:
    answer = eleven.post(
        "/v1/speech-to-text",
        data={"model_id": "scribe_v1"},
        files={"file": ("audio.wav", RECORDING, "audio/wav")},
    )

    body = answer.json()
    assert {"language_code", "language_probability", "text", "words"} <= set(body)
    assert body["language_code"] == "eng"
    assert {word["type"] for word in body["words"]} == {"word", "spacing"}
    assert {"text", "start", "end", "type", "speaker_id", "logprob"} <= set(body["words"][0])


def test_liveavatar_refuses_a_wrong_key_and_a_body_outside_the_schema(live: httpx.Client) -> None:
    wrong_key = live.post("/v1/sessions/token", headers={"X-API-KEY": "nope"}, json={})
    no_persona = live.post("/v1/sessions/token", json={"avatar_id": liveavatar.AVATAR_ID})
    lite = live.post(
        "/v1/sessions/token",
        json={"mode": "LITE", "avatar_id": liveavatar.AVATAR_ID, "avatar_persona": {}},
    )

    assert wrong_key.status_code == 401
    assert no_persona.status_code == 422
    assert no_persona.json()["detail"][0]["loc"] == ["body", "avatar_persona"]
    assert lite.status_code == 422


def test_liveavatar_starts_only_sessions_it_minted(live: httpx.Client) -> None:
    minted = live.post(
        "/v1/sessions/token", json={"avatar_id": liveavatar.AVATAR_ID, "avatar_persona": {}}
    ).json()["data"]

    started = live.post(
        "/v1/sessions/start", headers={"Authorization": f"Bearer {minted['session_token']}"}
    )
    forged = live.post("/v1/sessions/start", headers={"Authorization": "Bearer forged"})

    assert started.status_code == 200
    assert started.json()["data"]["session_id"] == minted["session_id"]
    assert forged.status_code == 401
