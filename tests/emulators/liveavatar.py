"""A local emulation of HeyGen's LiveAvatar API (docs.liveavatar.com/api-reference), for
tests of `HeyGenAvatars`.

`POST /v1/sessions/token`: header `X-API-KEY`, JSON `{mode: "FULL", avatar_id (a
UUID), avatar_persona: {voice_id?, context_id?, language?}, is_sandbox?}` -> `{code:
1000, data: {session_id, session_token}, message}`; the token is a JWT (HS256, signed
with the emulator's own secret) whose `exp` is `token_ttl_s` ahead. A request that
does not fit the schema is 422 `{detail: [{type, loc, msg, input}]}`; an avatar or
voice the account does not have is 404.

`POST /v1/sessions/start`: `Authorization: Bearer <session_token>` -> `{code, data:
{session_id, livekit_url, livekit_client_token, max_session_duration}}`, so a test can
show the token the server handed out is the one the browser can start with; a
token that is not one of ours, or expired, is 401.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt

from tests.emulators.http_server import EmulatedApi, Refused, Reply, Request, json_reply

API_KEY = "la-test-key"
AVATAR_ID = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
VOICE_ID = "c2527536-6d1f-4412-a643-53a3497dada9"
_SIGNING_SECRET = "liveavatar-emulator-secret-of-32-bytes!"


def _invalid(loc: list[str], message: str, value: object, kind: str) -> dict[str, Any]:
    return {"detail": [{"type": kind, "loc": ["body", *loc], "msg": message, "input": value}]}


def _is_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


class LiveAvatarEmulator(EmulatedApi):
    def __init__(self, api_key: str = API_KEY, token_ttl_s: int = 300) -> None:
        super().__init__()
        self.api_key = api_key
        self.token_ttl_s = token_ttl_s
        self.avatars = {AVATAR_ID}
        self.voices = {VOICE_ID}
        self.started: list[str] = []

    def error_payload(self, status: int) -> object:
        return {"code": status, "data": None, "message": f"emulated failure {status}"}

    def handle(self, request: Request) -> Reply:
        if (request.method, request.path) == ("POST", "/v1/sessions/token"):
            return self._token(request)
        if (request.method, request.path) == ("POST", "/v1/sessions/start"):
            return self._start(request)
        raise Refused(404, {"detail": "Not Found"})

    def _token(self, request: Request) -> Reply:
        if request.headers.get("x-api-key") != self.api_key:
            raise Refused(401, {"code": 401, "data": None, "message": "Invalid API key"})
        body = request.json
        if not isinstance(body, dict):
            raise Refused(
                422, _invalid([], "Input should be a valid dictionary", body, "dict_type")
            )
        if body.get("mode", "FULL") != "FULL":
            raise Refused(
                422, _invalid(["mode"], "Input should be 'FULL'", body.get("mode"), "literal_error")
            )
        avatar_id, persona = body.get("avatar_id"), body.get("avatar_persona")
        if not _is_uuid(avatar_id):
            raise Refused(
                422,
                _invalid(["avatar_id"], "Input should be a valid UUID", avatar_id, "uuid_parsing"),
            )
        if not isinstance(persona, dict):
            raise Refused(422, _invalid(["avatar_persona"], "Field required", persona, "missing"))
        if avatar_id not in self.avatars:
            raise Refused(404, {"code": 404, "data": None, "message": "Avatar not found"})
        voice = persona.get("voice_id")
        if voice is not None and voice not in self.voices:
            raise Refused(404, {"code": 404, "data": None, "message": "Voice not found"})
        session_id = str(uuid.uuid4())
        claims = {"session_id": session_id, "exp": int(time.time()) + self.token_ttl_s}
        token = jwt.encode(claims, _SIGNING_SECRET, algorithm="HS256")
        return json_reply(
            200,
            {
                "code": 1000,
                "data": {"session_id": session_id, "session_token": token},
                "message": "Session token created successfully",
            },
        )

    def _start(self, request: Request) -> Reply:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        try:
            claims = jwt.decode(token, _SIGNING_SECRET, algorithms=["HS256"])
        except jwt.PyJWTError:
            claims = None
        if scheme.lower() != "bearer" or claims is None:
            raise Refused(401, {"code": 401, "data": None, "message": "Invalid session token"})
        self.started.append(claims["session_id"])
        return json_reply(
            200,
            {
                "code": 1000,
                "data": {
                    "session_id": claims["session_id"],
                    "livekit_url": "wss://livekit.emulated.invalid",
                    "livekit_client_token": "client-token",
                    "max_session_duration": 1200,
                },
                "message": "Session started",
            },
        )
