"""In-memory `AvatarProvider`: sessions minted in the process, for tests and the demo."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from avataradam.domain.ports.speech import AvatarSession, SpeechUnavailable
from avataradam.domain.ports.system import Clock


@dataclass(frozen=True)
class SessionRequest:
    avatar_id: str
    voice: str | None


class InMemoryAvatarProvider:
    """`AvatarProvider` twin of `HeyGenAvatars`: each call answers a new session (a
    random id and token, `expires_at` = `clock.now()` + `token_ttl_s`, ISO 8601 UTC,
    `url` as given). Tests read `requests`; `unavailable = True` makes every call raise
    `SpeechUnavailable`, as the real provider does when it is down or refuses."""

    def __init__(
        self,
        clock: Clock,
        *,
        name: str = "memory",
        token_ttl_s: float = 600.0,
        url: str | None = None,
    ) -> None:
        self.name = name
        self.requests: list[SessionRequest] = []
        self.sessions: list[AvatarSession] = []
        self.unavailable = False
        self._clock = clock
        self._token_ttl = timedelta(seconds=token_ttl_s)
        self._url = url

    async def create_session(self, *, avatar_id: str, voice: str | None) -> AvatarSession:
        self.requests.append(SessionRequest(avatar_id=avatar_id, voice=voice))
        if self.unavailable:
            raise SpeechUnavailable(f"{self.name} avatar provider is unavailable")
        session = AvatarSession(
            provider=self.name,
            session_id=str(uuid.uuid4()),
            token=secrets.token_urlsafe(32),
            expires_at=(self._clock.now() + self._token_ttl).isoformat(),
            url=self._url,
        )
        self.sessions.append(session)
        return session
