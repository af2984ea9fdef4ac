"""Outgoing webhooks: Standard Webhooks signing and an SSRF-guarded HTTP sender."""

from avataradam.adapters.webhooks.httpx_sender import HttpxWebhookSender
from avataradam.adapters.webhooks.signing import generate_webhook_secret, sign
from avataradam.adapters.webhooks.ssrf import resolve_public_addresses, validate_webhook_url

__all__ = [
    "HttpxWebhookSender",
    "generate_webhook_secret",
    "resolve_public_addresses",
    "sign",
    "validate_webhook_url",
]
