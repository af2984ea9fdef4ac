"""The secret scanner of the test suite can fail, and our log pipeline passes it."""

from __future__ import annotations

import pytest
import structlog

from avataradam.entrypoints.observability.logging import configure_logging, reset_logging
from tests.support.secrets import DOCUMENT_SENTINEL, assert_no_secrets, find_secrets

PASSWORD = "correct-horse-battery-staple"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiIxMjM0NTY3ODkwIiwicm9sZSI6InVzZXIifQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        (f'{{"event": "login", "password": "{PASSWORD}"}}', "literal"),
        ('{"event": "http_request", "authorization": "Bearer 3f9a8b7c6d5e4f3a2b1c"}', "bearer"),
        (f"token refreshed {JWT}", "jwt"),
        (f'{{"event": "webhook_created", "detail": "{WEBHOOK_SECRET}"}}', "webhook secret"),
        (f'{{"event": "chunk", "preview": "... {DOCUMENT_SENTINEL.lower()} ..."}}', "document"),
    ],
)
def test_each_kind_of_secret_is_found_in_a_log_line(line: str, kind: str) -> None:
    findings = find_secrets(f'{{"event": "noise"}}\n{line}\n', literals=[PASSWORD])

    assert [f.line_number for f in findings] == [2]
    assert findings[0].kind.startswith(kind)
    assert PASSWORD not in findings[0].excerpt
    assert JWT not in findings[0].excerpt


def test_a_finding_fails_the_check_and_names_where_it_is() -> None:
    with pytest.raises(AssertionError, match=r"1 secret\(s\) in worker log:\n  line 1: jwt"):
        assert_no_secrets(f"leaked {JWT}", source="worker log")


def test_redacted_lines_and_ordinary_text_pass() -> None:
    text = "\n".join(
        [
            '{"event": "http_request", "authorization": "Bearer [REDACTED]"}',
            '{"event": "login", "password": "[REDACTED]", "email": "a@example.com"}',
            '{"event": "webhook_delivery", "status": "delivered", "webhook_id": "msg_2b4"}',
            '{"event": "document_ingested", "chunk_count": 12, "bearer": "none"}',
        ]
    )

    assert_no_secrets(text, source="sample", literals=[PASSWORD])


def test_our_json_log_pipeline_output_passes_the_scanner(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(service="avataradam-test", level="INFO", fmt="json")
    try:
        capsys.readouterr()
        log = structlog.get_logger("avataradam.test")
        log.info("login", password=PASSWORD, authorization=f"Bearer {JWT}")
        log.info("webhook_created", secret=WEBHOOK_SECRET, url="https://example.com/hook")
        log.info("chunk_stored", text=f"GAP pays the loan balance. {DOCUMENT_SENTINEL}")
        log.warning("client sent Authorization: Bearer %s", JWT)
        output = capsys.readouterr().out
    finally:
        reset_logging()

    assert output.count("\n") >= 4
    assert_no_secrets(output, source="json logs", literals=[PASSWORD])
