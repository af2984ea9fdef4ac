"""HeyGenAvatars over real HTTP against the local emulation of LiveAvatar's API: the
token request, the session it answers (which the browser can start), and failures."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from avataradam.adapters.avatar.heygen import HeyGenAvatars
from avataradam.domain.ports.speech import SpeechUnavailable
from tests.emulators.http_server import serving
from tests.emulators.liveavatar import API_KEY, AVATAR_ID, VOICE_ID, LiveAvatarEmulator
from tests.support.fakes import ManualClock


@pytest.fixture(scope="module")
def emulator() -> Iterator[LiveAvatarEmulator]:
    service = LiveAvatarEmulator()
    with serving(service):
        yield service


@pytest.fixture
async def avatars(emulator: LiveAvatarEmulator) -> AsyncIterator[HeyGenAvatars]:
    emulator.reset()
    adapter = _adapter(emulator)
    yield adapter
    await adapter.aclose()


def _adapter(emulator: LiveAvatarEmulator, **overrides: object) -> HeyGenAvatars:
    options: dict[str, object] = {
        "api_key": API_KEY,
        "base_url": emulator.base_url,
        "timeout_s": 2.0,
    }
    options.update(overrides)
    return HeyGenAvatars(**options)  # type: ignore[arg-type]


async def test_a_session_token_is_minted_with_the_published_request(
    avatars: HeyGenAvatars, emulator: LiveAvatarEmulator
) -> None:
    before = datetime.now(UTC)

    session = await avatars.create_session(avatar_id=AVATAR_ID, voice=VOICE_ID)

    [request] = emulator.requests
    assert request.path == "/v1/sessions/token"
    assert request.headers["x-api-key"] == API_KEY
    assert request.json == {
        "mode": "FULL",
        "avatar_id": AVATAR_ID,
        "avatar_persona": {"language": "en", "voice_id": VOICE_ID},
        "is_sandbox": False,
    }
    assert session.provider == "heygen"
    assert session.session_id
    assert session.token
    assert API_KEY not in session.token
    expires_at = datetime.fromisoformat(session.expires_at)
    assert expires_at.utcoffset() == timedelta(0)
    assert before + timedelta(seconds=emulator.token_ttl_s - 2) <= expires_at
    assert expires_at <= before + timedelta(seconds=emulator.token_ttl_s + 2)


async def test_the_browser_can_start_the_session_with_the_token_alone(
    avatars: HeyGenAvatars, emulator: LiveAvatarEmulator
) -> None:
    session = await avatars.create_session(avatar_id=AVATAR_ID, voice=None)

    async with httpx.AsyncClient() as browser:
        started = await browser.post(
            f"{emulator.base_url}/v1/sessions/start",
            headers={"Authorization": f"Bearer {session.token}"},
        )

    assert started.status_code == 200, started.text
    assert started.json()["data"]["session_id"] == session.session_id
    assert emulator.requests[0].json["avatar_persona"] == {"language": "en"}


async def test_sandbox_and_language_are_passed_on(emulator: LiveAvatarEmulator) -> None:
    emulator.reset()
    adapter = _adapter(emulator, sandbox=True, language="es")
    try:
        await adapter.create_session(avatar_id=AVATAR_ID, voice=None)
    finally:
        await adapter.aclose()
    body = emulator.requests[0].json
    assert (body["is_sandbox"], body["avatar_persona"]["language"]) == (True, "es")


async def test_a_token_without_an_expiry_claim_lasts_the_configured_ttl(
    emulator: LiveAvatarEmulator,
) -> None:
    emulator.reset()
    emulator.fail_next(
        200,
        payload={"code": 1000, "data": {"session_id": "s-1", "session_token": "opaque"}},
    )
    clock = ManualClock(datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC))
    adapter = _adapter(emulator, clock=clock, token_ttl_s=120)
    try:
        session = await adapter.create_session(avatar_id=AVATAR_ID, voice=None)
    finally:
        await adapter.aclose()
    assert (session.session_id, session.token) == ("s-1", "opaque")
    assert session.expires_at == "2030-01-02T03:06:05+00:00"


@pytest.mark.parametrize(
    ("avatar_id", "voice", "status"),
    [
        ("not-a-uuid", None, 422),
        ("00000000-0000-4000-8000-000000000000", None, 404),
        (AVATAR_ID, "00000000-0000-4000-8000-000000000001", 404),
    ],
)
async def test_an_avatar_or_voice_the_provider_refuses_is_speech_unavailable(
    avatars: HeyGenAvatars, avatar_id: str, voice: str | None, status: int
) -> None:
    with pytest.raises(SpeechUnavailable) as raised:
        await avatars.create_session(avatar_id=avatar_id, voice=voice)
    assert raised.value.details == {"provider": "heygen", "status": status}


async def test_a_refused_key_is_speech_unavailable(emulator: LiveAvatarEmulator) -> None:
    emulator.reset()
    adapter = _adapter(emulator, api_key="wrong")
    try:
        with pytest.raises(SpeechUnavailable, match="Invalid API key") as raised:
            await adapter.create_session(avatar_id=AVATAR_ID, voice=None)
    finally:
        await adapter.aclose()
    assert raised.value.details["status"] == 401


async def test_an_outage_is_retried_then_reported(
    avatars: HeyGenAvatars, emulator: LiveAvatarEmulator
) -> None:
    emulator.fail_next(502)
    assert (await avatars.create_session(avatar_id=AVATAR_ID, voice=None)).token

    emulator.fail_next(503, times=3)
    with pytest.raises(SpeechUnavailable) as raised:
        await avatars.create_session(avatar_id=AVATAR_ID, voice=None)
    assert raised.value.details["status"] == 503
    assert len(emulator.requests) == 2 + 3


async def test_an_answer_without_a_token_is_speech_unavailable(
    avatars: HeyGenAvatars, emulator: LiveAvatarEmulator
) -> None:
    emulator.fail_next(200, payload={"code": 1000, "data": None, "message": "ok"})
    with pytest.raises(SpeechUnavailable, match="no session token"):
        await avatars.create_session(avatar_id=AVATAR_ID, voice=None)


async def test_a_slow_provider_is_speech_unavailable(emulator: LiveAvatarEmulator) -> None:
    emulator.reset()
    emulator.delay_s = 1.0
    adapter = _adapter(emulator, timeout_s=0.2)
    try:
        with pytest.raises(SpeechUnavailable, match="did not answer within"):
            await adapter.create_session(avatar_id=AVATAR_ID, voice=None)
    finally:
        await adapter.aclose()
        emulator.delay_s = 0.0
