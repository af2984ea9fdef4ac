"""HeyGen's streaming talking-head sessions, through LiveAvatar.

HeyGen's Interactive Avatar streaming API (`POST api.heygen.com/v1/streaming.create_token`
-> `streaming.new` -> `streaming.start`) is being retired: its documentation
(docs.heygen.com/docs/streaming-api) says "Interactive Avatar is getting upgraded to
LiveAvatar" and recommends integrating with LiveAvatar directly, which HeyGen runs at
api.liveavatar.com with keys of its own (docs.liveavatar.com/docs/faq/migration-guide:
"HeyGen API keys are not compatible with LiveAvatar"). This adapter uses that current
API (docs.liveavatar.com/api-reference/sessions/create-session-token and the quick
start guide):

- `POST {base_url}/v1/sessions/token`, header `X-API-KEY`, JSON `{mode: "FULL",
  avatar_id, avatar_persona: {voice_id?, language}, is_sandbox}` -> `{code, data:
  {session_id, session_token}, message}`; a malformed request answers 422 with
  `{detail: [{loc, msg, type}]}`.

The browser then starts the session itself with the short-lived token (`POST
/v1/sessions/start`, `Authorization: Bearer <session_token>`, or the LiveAvatar web
SDK), joins the LiveKit room it answers, and makes the avatar say Adam's replies with
`avatar.speak_text` events; our API key never leaves the server.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt

from avataradam.adapters.speech import http
from avataradam.domain.ports.speech import AvatarSession, SpeechUnavailable
from avataradam.domain.ports.system import Clock

PROVIDER = "heygen"


class HeyGenAvatars(http.CloudApi):
    """Implements `AvatarProvider` with LiveAvatar's FULL-mode session tokens (see the
    module docstring).

    `create_session(avatar_id=…, voice=…)` mints a token for that avatar (a LiveAvatar
    avatar id), speaking with `voice` (a LiveAvatar voice id; the avatar's own voice
    when None) in `language`, and answers `AvatarSession(provider="heygen",
    session_id, token, expires_at, url=None)`. `expires_at` is the token's own `exp`
    claim when it is a JWT that has one, else now + `token_ttl_s` (LiveAvatar publishes
    no lifetime; the browser should start the session at once). `sandbox=True` asks
    for LiveAvatar's free test sessions. Every failure (401/403 key refused, 422 an
    avatar or voice it does not know, 429, 5xx, timeouts, an answer without a token)
    is `SpeechUnavailable` with the status in its details, after the retries of
    `adapters.speech.http`.
    """

    name = PROVIDER

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str = "https://api.liveavatar.com",
        timeout_s: float = 15.0,
        client: httpx.AsyncClient | None = None,
        language: str = "en",
        sandbox: bool = False,
        token_ttl_s: float = 600.0,
        max_retries: int = 2,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(
            provider=PROVIDER,
            base_url=base_url,
            headers={"X-API-KEY": api_key},
            error_message=_error_message,
            timeout_s=timeout_s,
            max_retries=max_retries,
            client=client,
        )
        self._language = language
        self._sandbox = sandbox
        self._token_ttl = timedelta(seconds=token_ttl_s)
        self._clock = clock

    async def create_session(self, *, avatar_id: str, voice: str | None) -> AvatarSession:
        persona: dict[str, Any] = {"language": self._language}
        if voice:
            persona["voice_id"] = voice
        response = await self._post(
            "/v1/sessions/token",
            json={
                "mode": "FULL",
                "avatar_id": avatar_id,
                "avatar_persona": persona,
                "is_sandbox": self._sandbox,
            },
        )
        session_id, token = _session_and_token(self._answered(response))
        return AvatarSession(
            provider=PROVIDER,
            session_id=session_id,
            token=token,
            expires_at=self._expiry(token).isoformat(),
            url=None,
        )

    def _expiry(self, token: str) -> datetime:
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            claims = {}
        expiry = claims.get("exp") if isinstance(claims, Mapping) else None
        if isinstance(expiry, int | float):
            return datetime.fromtimestamp(expiry, UTC)
        now = self._clock.now() if self._clock is not None else datetime.now(UTC)
        return now + self._token_ttl


def _session_and_token(response: httpx.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError as exc:
        raise SpeechUnavailable(f"{PROVIDER} answered a body that is not JSON") from exc
    data = body.get("data") if isinstance(body, Mapping) else None
    session_id = data.get("session_id") if isinstance(data, Mapping) else None
    token = data.get("session_token") if isinstance(data, Mapping) else None
    if not (isinstance(session_id, str) and session_id and isinstance(token, str) and token):
        raise SpeechUnavailable(f"{PROVIDER} answered no session token", provider=PROVIDER)
    return session_id, token


def _error_message(response: httpx.Response) -> str:
    body = http.json_body(response)
    if not isinstance(body, Mapping):
        return ""
    detail = body.get("detail")
    if isinstance(detail, list):
        return http.validation_messages(detail)
    message = body.get("message") or (detail if isinstance(detail, str) else "")
    return str(message or "")[:300]
