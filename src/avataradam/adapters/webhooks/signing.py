"""Standard Webhooks (https://www.standardwebhooks.com) secrets and `v1` signatures.

A secret is `whsec_` + base64 of random bytes; the HMAC key is the decoded bytes, not
the text. The signed content is `{message_id}.{timestamp}.{body}` with the timestamp
in integer Unix seconds, exactly as the receiver rebuilds it from the headers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Sequence

from avataradam.domain.errors import InvalidInput

SECRET_PREFIX = "whsec_"  # noqa: S105 - the public prefix of every secret, not a secret
SECRET_BYTES = 32


def generate_webhook_secret() -> str:
    """A new signing secret (256 random bits), shown to the subscriber once."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def _secret_key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput("webhook secret is not valid base64") from exc
    if not key:
        raise InvalidInput("webhook secret is empty")
    return key


def sign(secret: str, message_id: str, timestamp: int, payload: bytes) -> str:
    """The `webhook-signature` header value: `v1,<base64 HMAC-SHA256>`.

    Raises InvalidInput for a malformed secret (a stored secret is always well formed,
    so this signals a bug rather than a receiver problem).
    """
    signed_content = b"%s.%d.%s" % (message_id.encode("utf-8"), timestamp, payload)
    digest = hmac.new(_secret_key(secret), signed_content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_header(
    secrets_: Sequence[str], message_id: str, timestamp: int, payload: bytes
) -> str:
    """The `webhook-signature` value for several secrets: their `v1,…` signatures,
    space separated, in the order given (a receiver accepts any one of them)."""
    return " ".join(sign(secret, message_id, timestamp, payload) for secret in secrets_)
