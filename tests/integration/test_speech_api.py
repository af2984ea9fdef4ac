"""Speech through the HTTP API on real PostgreSQL and Redis, with the in-memory speech
engines (the session deployment's `AVATARADAM_SPEECH_*=memory`): text and replies
spoken as WAV, replies kept in the blob store and served with caching headers and
ranges, recordings transcribed, bad audio refused with a 4xx problem and nothing
recorded, usage and budget, voices, and avatar sessions."""

from __future__ import annotations

import asyncio
import io
import wave
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from avataradam.adapters.memory.speech import InMemorySynthesizer, wav_with_text
from avataradam.entrypoints.bootstrap import Overrides, build_container
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.settings import Settings, load_settings
from avataradam.entrypoints.speech import SpeechEngines
from tests.emulators.http_server import serving
from tests.emulators.openai_audio import API_KEY as OPENAI_KEY
from tests.emulators.openai_audio import SAMPLE_RATE as OPENAI_RATE
from tests.emulators.openai_audio import SECONDS_PER_CHARACTER as OPENAI_SECONDS_PER_CHARACTER
from tests.emulators.openai_audio import OpenAIAudioEmulator
from tests.integration.conftest import Account, Tenant, problem, service_environment
from tests.support.asgi import api_client
from tests.support.fakes import FakeAvatarProvider

SENTENCES = ("The service contract is optional.", "It covers repairs after the factory warranty.")
TEXT = " ".join(SENTENCES)
TOKENS_PER_SECOND = 50  # AVATARADAM_SPEECH_BUDGET_TOKENS_PER_SECOND's default


def wav_frames(body: bytes) -> tuple[int, bytes]:
    """The rate and samples of a WAV as Python's `wave` reads it, to the stream's end."""
    with wave.open(io.BytesIO(body), "rb") as reader:
        assert (reader.getnchannels(), reader.getsampwidth()) == (1, 2)
        return reader.getframerate(), reader.readframes(2**31)


def duration(body: bytes) -> float:
    rate, samples = wav_frames(body)
    return len(samples) / 2 / rate


def silence(seconds: float) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(16_000)
        writer.writeframes(b"\0\0" * round(16_000 * seconds))
    return buffer.getvalue()


def synthesizer(container: Container) -> InMemorySynthesizer:
    engine = container.speech.engines.synthesizer
    assert isinstance(engine, InMemorySynthesizer)
    return engine


async def today(client: httpx.AsyncClient, admin: Account) -> dict[str, Any]:
    report = await client.get("/v1/usage", headers=admin.headers)
    assert report.status_code == 200, report.text
    day: dict[str, Any] = report.json()["days"][-1]
    assert day["day"] == datetime.now(UTC).date().isoformat()
    return day


async def transcribe(
    client: httpx.AsyncClient,
    account: Account,
    audio: bytes,
    content_type: str = "audio/wav",
    **data: str,
) -> httpx.Response:
    return await client.post(
        "/v1/transcriptions",
        files={"file": ("recording", audio, content_type)},
        data=data,
        headers=account.headers,
    )


async def reply(client: httpx.AsyncClient, user: Account, **start: str) -> tuple[str, str]:
    """A new conversation's (id, first reply id)."""
    created = await client.post(
        "/v1/conversations", json={"mode": "training", **start}, headers=user.headers
    )
    assert created.status_code == 201, created.text
    path = f"/v1/conversations/{created.json()['id']}/messages"
    answered = await client.post(
        path, json={"content": "How do I present GAP?"}, headers=user.headers
    )
    assert answered.status_code == 201, answered.text
    return created.json()["id"], answered.json()["id"]


async def test_speech_streams_one_wav_whose_seconds_are_the_usage_recorded(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """Given two sentences, when they are spoken, then the answer is one WAV (header of
    unknown length, both sentences' samples) that `wave` reads, spoken with Adam's
    voice, its words come back through a transcription, and the day's usage holds its
    seconds, the transcription's, and their tokens of the budget."""
    before = await today(client, tenant.admin)
    spoken = await client.post("/v1/speech", json={"text": TEXT}, headers=tenant.user.headers)

    assert spoken.status_code == 200, spoken.text
    assert spoken.headers["content-type"] == "audio/wav"
    assert spoken.headers["x-voice"] == "memory-adam"
    assert spoken.headers["cache-control"] == "no-store"
    assert spoken.content[4:8] == spoken.content[40:44] == b"\xff\xff\xff\xff"
    seconds = duration(spoken.content)
    assert seconds == pytest.approx(0.08 * sum(len(s) for s in SENTENCES))
    heard = await transcribe(client, tenant.user, spoken.content, language="en")
    assert heard.status_code == 200, heard.text
    assert heard.json() == {"text": TEXT, "language": "en", "duration_s": pytest.approx(seconds)}
    after = await today(client, tenant.admin)
    assert after["speech_seconds"] - before["speech_seconds"] == pytest.approx(2 * seconds)
    assert after["speech_tokens"] - before["speech_tokens"] == 2 * round(
        seconds * TOKENS_PER_SECOND
    )
    assert after["model_calls"] == before["model_calls"]


async def test_voices_name_adams_and_an_unknown_voice_is_refused_listing_them(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    voices = await client.get("/v1/speech/voices", headers=tenant.user.headers)
    assert voices.status_code == 200, voices.text
    assert voices.json()["engine"] == "memory"
    assert voices.json()["adam_voice"] == "memory-adam"
    assert voices.json()["recognizer"] == "memory"
    assert {"id": "memory-lucia", "language": "es", "gender": "female"} in voices.json()["items"]

    unknown = await client.post(
        "/v1/speech", json={"text": TEXT, "voice": "nobody"}, headers=tenant.user.headers
    )
    assert unknown.status_code == 422, unknown.text
    assert problem(unknown)["code"] == "invalid_input"
    assert "memory-ana" in str(problem(unknown)["detail"])
    other = await client.post(
        "/v1/speech", json={"text": "Hola.", "voice": "memory-lucia"}, headers=tenant.user.headers
    )
    assert (other.status_code, other.headers["x-voice"]) == (200, "memory-lucia")
    too_long = await client.post(
        "/v1/speech", json={"text": "a" * 2001}, headers=tenant.user.headers
    )
    assert (too_long.status_code, problem(too_long)["code"]) == (422, "invalid_input")


async def test_a_reply_is_spoken_once_then_served_from_the_store_with_caching_and_ranges(
    client: httpx.AsyncClient, container: Container, tenant: Tenant
) -> None:
    """Given a reply, the first GET of its audio streams it as it is spoken; the second
    synthesises nothing and answers the stored WAV (same samples, true sizes) with an
    ETag, `private` caching and byte ranges: 304 for its ETag, 206 with the bytes and
    Content-Range asked for (a suffix too), 416 beyond the end, 200 for a range under
    another If-Range tag, 412 for If-Match with another tag."""
    _, message_id = await reply(client, tenant.user)
    path, headers = f"/v1/messages/{message_id}/audio", tenant.user.headers
    spoken_before = len(synthesizer(container).spoken)

    first = await client.get(path, headers=headers)
    assert first.status_code == 200, first.text
    assert (first.headers["cache-control"], "etag" in first.headers) == ("no-store", False)
    said = len(synthesizer(container).spoken) - spoken_before
    assert said >= 1
    second = await client.get(path, headers=headers)

    assert second.status_code == 200, second.text
    assert len(synthesizer(container).spoken) - spoken_before == said, "spoken again"
    assert second.headers["cache-control"] == "private, max-age=86400"
    assert second.headers["accept-ranges"] == "bytes"
    etag = second.headers["etag"]
    body = second.content
    assert wav_frames(body) == wav_frames(first.content)
    with wave.open(io.BytesIO(body), "rb") as reader:
        assert reader.getnframes() * 2 + 44 == len(body) == int(second.headers["content-length"])

    not_modified = await client.get(path, headers=headers | {"If-None-Match": etag})
    assert (not_modified.status_code, not_modified.content) == (304, b"")
    assert not_modified.headers["etag"] == etag
    part = await client.get(path, headers=headers | {"Range": "bytes=0-99"})
    assert part.status_code == 206, part.text
    assert (part.content, part.headers["content-range"]) == (body[:100], f"bytes 0-99/{len(body)}")
    tail = await client.get(path, headers=headers | {"Range": "bytes=-10"})
    assert (tail.status_code, tail.content) == (206, body[-10:])
    beyond = await client.get(path, headers=headers | {"Range": f"bytes={len(body)}-"})
    assert beyond.status_code == 416, beyond.text
    assert problem(beyond)["code"] == "range_not_satisfiable"
    assert beyond.headers["content-range"] == f"bytes */{len(body)}"
    stale = await client.get(path, headers=headers | {"Range": "bytes=0-9", "If-Range": '"old"'})
    assert (stale.status_code, stale.content) == (200, body)
    wrong = await client.get(path, headers=headers | {"If-Match": '"other"'})
    assert (wrong.status_code, problem(wrong)["code"]) == (412, "precondition_failed")
    assert len(synthesizer(container).spoken) - spoken_before == said


async def test_only_the_conversations_owner_hears_a_reply_and_only_replies_are_spoken(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    conversation_id, message_id = await reply(client, tenant.user)
    path = f"/v1/messages/{message_id}/audio"
    for stranger in (tenant.admin, other_tenant.user, other_tenant.admin):
        refused = await client.get(path, headers=stranger.headers)
        assert (refused.status_code, problem(refused)["code"]) == (404, "not_found")
    detail = await client.get(f"/v1/conversations/{conversation_id}", headers=tenant.user.headers)
    [question] = [m for m in detail.json()["messages"] if m["role"] == "user"]
    own = await client.get(f"/v1/messages/{question['id']}/audio", headers=tenant.user.headers)
    assert (own.status_code, problem(own)["code"]) == (422, "invalid_input")


async def test_roleplay_customers_speak_with_a_voice_of_their_own_and_language(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """A scenario's customer speaks with one voice, not Adam's, in every session; in a
    Spanish roleplay with the engine's Spanish voice."""
    voices = []
    for language in ("en", "en", "es"):
        started = await client.post(
            "/v1/conversations",
            json={"mode": "roleplay", "scenario_id": "price_focused", "language": language},
            headers=tenant.user.headers,
        )
        assert started.status_code == 201, started.text
        said = await client.post(
            f"/v1/conversations/{started.json()['id']}/messages",
            json={"content": "How long will you keep the car?"},
            headers=tenant.user.headers,
        )
        assert said.status_code == 201, said.text
        audio = await client.get(
            f"/v1/messages/{said.json()['id']}/audio", headers=tenant.user.headers
        )
        assert audio.status_code == 200, audio.text
        voices.append(audio.headers["x-voice"])
    assert voices[0] == voices[1] != "memory-adam"
    assert voices[2] == "memory-lucia"


@pytest.mark.parametrize(
    ("audio", "content_type", "status", "code"),
    [
        (
            wav_with_text("Is it optional?", seconds=1.0)[:2000],
            "audio/wav",
            422,
            "unreadable_audio",
        ),
        (b"\x89PNG\r\n\x1a\n" + bytes(200), "image/png", 415, "unsupported_media_type"),
        (bytes(range(256)) * 4, "application/octet-stream", 415, "unsupported_media_type"),
        (silence(1.0), "audio/wav", 422, "no_speech"),
        (silence(61.0), "audio/wav", 413, "audio_too_long"),
        (b"", "audio/wav", 422, "unreadable_audio"),
    ],
    ids=["truncated", "wrong-type", "not-audio", "silence", "over-long", "empty"],
)
async def test_bad_audio_is_a_4xx_problem_and_nothing_is_recorded(
    client: httpx.AsyncClient,
    tenant: Tenant,
    audio: bytes,
    content_type: str,
    status: int,
    code: str,
) -> None:
    before = await today(client, tenant.admin)
    refused = await transcribe(client, tenant.user, audio, content_type)

    assert refused.status_code == status, refused.text
    assert problem(refused)["code"] == code
    if code == "audio_too_long":
        assert problem(refused)["details"] == {"duration_s": 61.0, "limit_s": 60.0}
    assert await today(client, tenant.admin) == before


async def test_recordings_over_the_byte_limit_are_refused_413(
    client: httpx.AsyncClient, settings: Settings, tenant: Tenant
) -> None:
    limit = settings.speech.max_upload_bytes
    over = silence(1.0) + bytes(limit)
    refused = await transcribe(client, tenant.user, over)
    assert refused.status_code == 413, refused.text
    assert problem(refused)["code"] == "file_too_large"
    far_over = await transcribe(client, tenant.user, over + bytes(128 * 1024))
    assert (far_over.status_code, problem(far_over)["code"]) == (413, "payload_too_large")


async def test_a_browsers_webm_is_taken_by_its_bytes_and_a_declared_wav_by_its_type(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """`audio/webm;codecs=opus` as browsers send it reaches the recogniser as WebM (the
    in-memory one reads WAV only: 422 `unreadable_audio`, not 415); WAV bytes declared
    as octet-stream are transcribed as WAV."""
    webm = b"\x1a\x45\xdf\xa3" + bytes(100)
    refused = await transcribe(client, tenant.user, webm, "audio/webm;codecs=opus")
    assert (refused.status_code, problem(refused)["code"]) == (422, "unreadable_audio")
    assert "audio/webm" in str(problem(refused)["detail"])
    recording = wav_with_text("Is it optional?", seconds=1.0)
    heard = await transcribe(client, tenant.user, recording, "application/octet-stream")
    assert (heard.status_code, heard.json()["text"]) == (200, "Is it optional?")


async def test_an_exhausted_budget_refuses_speech_and_transcription_with_429(
    client: httpx.AsyncClient, tenant: Tenant, super_admin: Account
) -> None:
    budget = await client.patch(
        f"/v1/dealerships/{tenant.dealership_id}",
        json={"monthly_token_budget": 10},
        headers=super_admin.headers,
    )
    assert budget.status_code == 200, budget.text
    spoken = await client.post("/v1/speech", json={"text": TEXT}, headers=tenant.user.headers)
    heard = await transcribe(client, tenant.user, wav_with_text("Is it optional?", seconds=1.0))
    for refused in (spoken, heard):
        assert refused.status_code == 429, refused.text
        assert problem(refused)["code"] == "budget_exhausted"
        assert int(refused.headers["retry-after"]) >= 1
    assert (await today(client, tenant.admin))["speech_seconds"] == 0


@pytest.fixture
async def speechless(
    database_url: str, redis_url: str, container: Container
) -> AsyncIterator[httpx.AsyncClient]:
    """The API of a deployment with every speech engine off, on the session's database."""
    del container  # started first: it migrated the database
    settings = load_settings(
        service_environment(database_url, redis_url)
        | {"AVATARADAM_SPEECH_SYNTHESIZER": "off", "AVATARADAM_SPEECH_RECOGNIZER": "off"},
        env_file=None,
    )
    async with app_of(settings, Overrides()) as http:
        yield http


async def test_without_engines_speech_is_a_disabled_feature(
    speechless: httpx.AsyncClient, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    user = tenant.user.headers
    _, message_id = await reply(client, tenant.user)
    answers = [
        ("speech", await speechless.post("/v1/speech", json={"text": TEXT}, headers=user)),
        ("speech", await speechless.get(f"/v1/messages/{message_id}/audio", headers=user)),
        (
            "transcription",
            await speechless.post(
                "/v1/transcriptions",
                files={"file": ("r.wav", silence(1.0), "audio/wav")},
                headers=user,
            ),
        ),
        ("avatar", await speechless.post("/v1/avatar/sessions", headers=user)),
    ]
    for feature, answer in answers:
        assert answer.status_code == 403, answer.text
        assert problem(answer)["code"] == "feature_disabled"
        assert problem(answer)["details"] == {"feature": feature}
    offered = await speechless.get("/v1/speech/voices", headers=user)
    assert offered.status_code == 200, offered.text
    assert offered.json() == {"engine": None, "adam_voice": None, "recognizer": None, "items": []}


async def test_an_avatar_session_comes_from_the_provider_and_its_outage_is_503(
    settings: Settings, container: Container, tenant: Tenant
) -> None:
    del container  # started first: it migrated the database
    provider = FakeAvatarProvider()
    configured = load_settings(
        {"AVATARADAM_SPEECH_HEYGEN_AVATAR_ID": "adam-avatar"}, env_file=None
    ).speech
    with_avatar = Settings(**{**_fields(settings), "speech": configured})
    async with app_of(with_avatar, Overrides(speech=SpeechEngines(avatar=provider))) as http:
        created = await http.post("/v1/avatar/sessions", headers=tenant.user.headers)
        assert created.status_code == 201, created.text
        assert created.json() == {
            "provider": "fake-avatar",
            "session_id": "session-1",
            "token": "short-lived-1",
            "expires_at": "2999-01-01T00:00:00Z",
            "url": "wss://avatar.example.com/realtime",
        }
        assert provider.created == [("adam-avatar", None)]
        provider.down = True
        down = await http.post("/v1/avatar/sessions", headers=tenant.user.headers)
        assert (down.status_code, problem(down)["code"]) == (503, "speech_unavailable")


async def test_the_openai_compatible_engine_speaks_and_listens_through_the_api(
    database_url: str, redis_url: str, container: Container, tenant: Tenant
) -> None:
    """Given only `AVATARADAM_SPEECH_OPENAI_API_KEY` (and the base URL of a local
    emulation of OpenAI's audio API), `auto` speaks and listens with it: the text comes
    back as one WAV of its 24 kHz samples, and a recording is transcribed."""
    del container  # started first: it migrated the database
    emulator = OpenAIAudioEmulator()
    with serving(emulator):
        settings = load_settings(
            service_environment(database_url, redis_url)
            | {
                "AVATARADAM_SPEECH_SYNTHESIZER": "auto",
                "AVATARADAM_SPEECH_RECOGNIZER": "auto",
                "AVATARADAM_SPEECH_OPENAI_BASE_URL": f"{emulator.base_url}/v1/",
                "AVATARADAM_SPEECH_OPENAI_API_KEY": OPENAI_KEY,
            },
            env_file=None,
        )
        async with app_of(settings, Overrides()) as http:
            voices = await http.get("/v1/speech/voices", headers=tenant.user.headers)
            spoken = await http.post("/v1/speech", json={"text": TEXT}, headers=tenant.user.headers)
            heard = await transcribe(http, tenant.user, silence(0.5), "audio/wav")
            recording = wav_with_text("Is it optional?", seconds=1.0)
            emulator.say(recording, "Is it optional?")
            said = await transcribe(http, tenant.user, recording, "audio/wav")
    assert voices.json()["engine"] == "openai", voices.text
    assert spoken.status_code == 200, spoken.text
    rate, samples = wav_frames(spoken.content)
    assert rate == OPENAI_RATE
    assert len(samples) / 2 / rate == pytest.approx(
        sum(OPENAI_SECONDS_PER_CHARACTER * len(s) for s in SENTENCES), abs=0.05
    )
    assert (heard.status_code, problem(heard)["code"]) == (422, "no_speech")
    assert (said.status_code, said.json()["text"]) == (200, "Is it optional?")


def _fields(settings: Settings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in settings.__struct_fields__}


@asynccontextmanager
async def app_of(settings: Settings, overrides: Overrides) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process API of a container of its own (`settings`, `overrides`)."""
    async with api_client(build_container(settings, overrides)) as http:
        yield http


async def test_two_instances_playing_a_new_reply_at_once_speak_it_once(
    database_url: str, redis_url: str, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """Given two API instances on one PostgreSQL and Redis, speaking with a cloud engine
    that takes its time (the local OpenAI emulation, 0.4 s a sentence), when a reply's
    audio is asked of both at the same moment, then the engine is asked for each
    sentence once, both answers carry the same samples, and the usage counts the
    reply's seconds once."""
    _, message_id = await reply(client, tenant.user)
    path = f"/v1/messages/{message_id}/audio"
    emulator = OpenAIAudioEmulator()
    with serving(emulator):
        emulator.delay_s = 0.4
        settings = load_settings(
            service_environment(database_url, redis_url)
            | {
                "AVATARADAM_SPEECH_SYNTHESIZER": "openai",
                "AVATARADAM_SPEECH_OPENAI_BASE_URL": f"{emulator.base_url}/v1/",
                "AVATARADAM_SPEECH_OPENAI_API_KEY": OPENAI_KEY,
            },
            env_file=None,
        )
        before = await today(client, tenant.admin)
        async with app_of(settings, Overrides()) as one, app_of(settings, Overrides()) as two:
            first, second = await asyncio.gather(
                one.get(path, headers=tenant.user.headers),
                two.get(path, headers=tenant.user.headers),
            )
        asked = [r.json["input"] for r in emulator.requests if r.path == "/v1/audio/speech"]
    assert (first.status_code, second.status_code) == (200, 200), (first.text, second.text)
    assert wav_frames(first.content) == wav_frames(second.content)
    assert asked, "the engine was asked"
    assert len(asked) == len(set(asked)), f"a sentence was spoken twice: {asked}"
    after = await today(client, tenant.admin)
    spoken_s = after["speech_seconds"] - before["speech_seconds"]
    assert spoken_s == pytest.approx(duration(first.content), abs=0.01)
