"""Contract of the AvatarProvider port, run against every adapter: memory (the reference)
and heygen (LiveAvatar's API, through its local emulation)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from avataradam.adapters.avatar.heygen import HeyGenAvatars
from avataradam.adapters.memory.avatar import InMemoryAvatarProvider
from avataradam.adapters.system import SystemClock
from avataradam.domain.ports.speech import AvatarProvider, SpeechUnavailable
from tests.emulators.http_server import serving
from tests.emulators.liveavatar import API_KEY, AVATAR_ID, LiveAvatarEmulator

Outage = Callable[[], None]


@pytest.fixture(scope="module")
def liveavatar() -> Iterator[LiveAvatarEmulator]:
    service = LiveAvatarEmulator()
    with serving(service):
        yield service


@pytest.fixture(params=["memory", "heygen"])
async def provider(
    request: pytest.FixtureRequest, liveavatar: LiveAvatarEmulator
) -> AsyncIterator[tuple[AvatarProvider, Outage]]:
    if request.param == "memory":
        memory = InMemoryAvatarProvider(SystemClock())

        def memory_outage() -> None:
            memory.unavailable = True

        yield memory, memory_outage
        return
    liveavatar.reset()
    heygen = HeyGenAvatars(api_key=API_KEY, base_url=liveavatar.base_url, timeout_s=2)
    try:
        yield heygen, lambda: liveavatar.fail_next(503, times=3)
    finally:
        await heygen.aclose()


async def test_each_session_is_new_short_lived_and_names_its_provider(
    provider: tuple[AvatarProvider, Outage],
) -> None:
    avatars, _ = provider
    now = datetime.now(UTC)

    first = await avatars.create_session(avatar_id=AVATAR_ID, voice=None)
    second = await avatars.create_session(avatar_id=AVATAR_ID, voice=None)

    assert first.provider == second.provider == avatars.name
    assert first.session_id != second.session_id
    assert first.token
    assert first.token != second.token
    expires_at = datetime.fromisoformat(first.expires_at)
    assert expires_at.utcoffset() == timedelta(0)
    assert now < expires_at <= now + timedelta(hours=1)


async def test_a_provider_that_is_down_is_speech_unavailable(
    provider: tuple[AvatarProvider, Outage],
) -> None:
    avatars, outage = provider
    outage()
    with pytest.raises(SpeechUnavailable):
        await avatars.create_session(avatar_id=AVATAR_ID, voice=None)
