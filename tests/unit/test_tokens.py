"""Access tokens: only the configured algorithm, issuer and audience are accepted."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from avataradam.adapters.security.passwords import Argon2PasswordHasher
from avataradam.adapters.security.tokens import JwtTokenService
from avataradam.domain.errors import InvalidToken
from avataradam.domain.model import Role
from avataradam.domain.ports.system import AccessClaims

SECRET = "s" * 64


def _service(**overrides: object) -> JwtTokenService:
    params: dict[str, object] = {
        "secret": SECRET,
        "algorithm": "HS256",
        "issuer": "avataradam",
        "audience": "avataradam-api",
        "access_ttl_s": 900,
    }
    params.update(overrides)
    return JwtTokenService(**params)  # type: ignore[arg-type]


def _claims(expires_in_s: int = 900) -> AccessClaims:
    return AccessClaims(
        user_id=uuid.uuid4(),
        role=Role.DEALERSHIP_ADMIN,
        dealership_id=uuid.uuid4(),
        expires_at=datetime.now(UTC) + timedelta(seconds=expires_in_s),
    )


def test_issued_token_verifies_to_the_same_claims() -> None:
    service = _service()
    claims = _claims()
    verified = service.verify(service.issue(claims))
    assert verified.user_id == claims.user_id
    assert verified.role is Role.DEALERSHIP_ADMIN
    assert verified.dealership_id == claims.dealership_id


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_alg_none_token_is_refused() -> None:
    service = _service()
    payload = jwt.decode(service.issue(_claims()), options={"verify_signature": False})
    forged = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(payload)}."
    with pytest.raises(InvalidToken):
        service.verify(forged)


@pytest.mark.parametrize(
    "other",
    [
        {"secret": "w" * 64},
        {"audience": "someone-else"},
        {"issuer": "someone-else"},
        {"algorithm": "HS512"},
    ],
)
def test_token_from_another_key_issuer_audience_or_algorithm_is_refused(
    other: dict[str, object],
) -> None:
    token = _service(**other).issue(_claims())
    with pytest.raises(InvalidToken):
        _service().verify(token)


def test_expired_token_is_refused() -> None:
    service = _service()
    with pytest.raises(InvalidToken):
        service.verify(service.issue(_claims(expires_in_s=-60)))


def test_garbage_is_refused() -> None:
    with pytest.raises(InvalidToken):
        _service().verify("not-a-jwt")


def test_argon2id_hashes_verify_only_the_right_password() -> None:
    hasher = Argon2PasswordHasher(time_cost=1, memory_cost_kib=8192, parallelism=1)
    digest = hasher.hash("correct horse battery")
    assert digest.startswith("$argon2id$")
    assert hasher.verify(digest, "correct horse battery")
    assert not hasher.verify(digest, "wrong horse battery")
    assert not hasher.verify("not-a-hash", "anything")
    assert hasher.needs_rehash("not-a-hash")


def test_weaker_parameters_ask_for_a_rehash() -> None:
    weak = Argon2PasswordHasher(time_cost=1, memory_cost_kib=8192, parallelism=1)
    strong = Argon2PasswordHasher(time_cost=2, memory_cost_kib=16384, parallelism=1)
    assert strong.needs_rehash(weak.hash("correct horse battery"))
    assert not strong.needs_rehash(strong.hash("correct horse battery"))


class SteppingClock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).timestamp()

    def __call__(self) -> float:
        return self.now


def test_a_remembered_token_is_still_refused_once_it_expires() -> None:
    clock = SteppingClock()
    service = _service(now=clock, leeway_s=5)
    claims = _claims(expires_in_s=60)
    token = service.issue(claims)
    assert service.verify(token).user_id == claims.user_id

    clock.now += 60 + 4
    assert service.verify(token).user_id == claims.user_id  # within the leeway
    clock.now += 2
    with pytest.raises(InvalidToken):
        service.verify(token)


def test_remembering_tokens_never_turns_a_forged_one_valid() -> None:
    service = _service(verified_cache_size=2)
    genuine = service.issue(_claims())
    service.verify(genuine)
    header, payload, signature = genuine.split(".")
    tampered = f"{header}.{payload}.{signature[:-2]}AA"

    with pytest.raises(InvalidToken):
        service.verify(tampered)
    assert service.verify(genuine)


def test_the_memory_of_verified_tokens_is_bounded_and_keeps_the_recent_ones() -> None:
    service = _service(verified_cache_size=2)
    first, second, third = (service.issue(_claims()) for _ in range(3))
    for token in (first, second, first, third):
        service.verify(token)

    assert list(service._verified) == [first, third]
