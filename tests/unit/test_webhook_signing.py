"""Standard Webhooks signatures, checked against the independent reference library."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from avataradam.adapters.memory.webhooks import InMemoryWebhookSender
from avataradam.adapters.system import SystemClock
from avataradam.adapters.webhooks import generate_webhook_secret, sign
from avataradam.domain.errors import InvalidInput
from avataradam.domain.ports.services import WebhookResult

secrets_ = st.binary(min_size=24, max_size=64).map(
    lambda key: "whsec_" + base64.b64encode(key).decode()
)
message_ids = st.text(min_size=1, max_size=60)
payloads = st.text(max_size=500).map(str.encode)
any_timestamps = st.integers(min_value=0, max_value=2**34)
recent_offsets = st.integers(min_value=-240, max_value=240)


def _headers(message_id: str, timestamp: int, signature: str) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }


def test_signature_matches_the_published_test_vector() -> None:
    signature = sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        b'{"test": 2432232314}',
    )

    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


@given(secret=secrets_, message_id=message_ids, offset=recent_offsets, payload=payloads)
def test_any_signed_message_verifies_with_the_reference_library(
    secret: str, message_id: str, offset: int, payload: bytes
) -> None:
    timestamp = int(time.time()) + offset

    signature = sign(secret, message_id, timestamp, payload)

    Webhook(secret).verify(payload, _headers(message_id, timestamp, signature), json_parse=False)


@given(secret=secrets_, message_id=message_ids, timestamp=any_timestamps, payload=payloads)
def test_signature_equals_the_reference_signature_for_any_timestamp(
    secret: str, message_id: str, timestamp: int, payload: bytes
) -> None:
    expected = Webhook(secret).sign(
        message_id, datetime.fromtimestamp(timestamp, UTC), payload.decode()
    )

    assert sign(secret, message_id, timestamp, payload) == expected


@given(
    secret=secrets_,
    message_id=message_ids,
    offset=recent_offsets,
    payload=payloads,
    tampered=payloads,
)
def test_tampered_body_fails_verification(
    secret: str, message_id: str, offset: int, payload: bytes, tampered: bytes
) -> None:
    timestamp = int(time.time()) + offset
    signature = sign(secret, message_id, timestamp, payload)
    headers = _headers(message_id, timestamp, signature)

    if tampered != payload:
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(tampered, headers, json_parse=False)


@given(secret=secrets_, other=secrets_, payload=payloads)
def test_signature_does_not_verify_under_another_secret(
    secret: str, other: str, payload: bytes
) -> None:
    timestamp = int(time.time())
    signature = sign(secret, "msg_1", timestamp, payload)

    if other != secret:
        with pytest.raises(WebhookVerificationError):
            Webhook(other).verify(
                payload, _headers("msg_1", timestamp, signature), json_parse=False
            )


def test_generated_secrets_are_prefixed_random_256_bit_keys() -> None:
    secrets = {generate_webhook_secret() for _ in range(50)}

    assert len(secrets) == 50
    for secret in secrets:
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32


def test_generated_secret_is_accepted_by_the_reference_library() -> None:
    secret = generate_webhook_secret()
    timestamp = int(time.time())
    payload = b'{"type":"document.ready"}'

    signature = sign(secret, "msg_2", timestamp, payload)

    assert Webhook(secret).verify(payload, _headers("msg_2", timestamp, signature)) == {
        "type": "document.ready"
    }


@pytest.mark.parametrize("secret", ["whsec_", "whsec_not base64!", "whsec_@@@@"])
def test_malformed_secret_is_invalid_input(secret: str) -> None:
    with pytest.raises(InvalidInput):
        sign(secret, "msg_3", 0, b"{}")


async def test_in_memory_sender_records_deliveries_signed_like_the_real_one() -> None:
    sender = InMemoryWebhookSender(SystemClock())
    secret = generate_webhook_secret()
    failure = WebhookResult(delivered=False, status_code=503, error="receiver answered 503")
    sender.respond_with("https://down.example.com/", failure)

    delivered = await sender.send(
        url="https://up.example.com/", secret=secret, message_id="msg_4", payload=b"{}"
    )
    failed = await sender.send(
        url="https://down.example.com/", secret=secret, message_id="msg_5", payload=b"{}"
    )

    assert delivered.delivered
    assert failed == failure
    assert [sent.message_id for sent in sender.sent] == ["msg_4", "msg_5"]
    first = sender.sent[0]
    Webhook(secret).verify(first.payload, _headers("msg_4", first.timestamp, first.signature))
