"""A scanner for secrets in captured log output, used at the teardown of every process
fixture (`ServiceProcess.stop`) and over in-process logs.

It looks for: literal secrets the suite uses (passwords, registered with
`register_secret`), bearer tokens and JWTs (`eyJ…`), Standard Webhooks secrets
(`whsec_…`) and `DOCUMENT_SENTINEL`, a phrase tests put into uploaded documents so
that document text reaching a log line is caught.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

DOCUMENT_SENTINEL = "Quixotic-Sentinel-Phrase-Zebra-Marmalade"
"""Put it in uploaded documents; it must never appear in any log line."""

PATTERNS: dict[str, re.Pattern[str]] = {
    "jwt": re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    "bearer token": re.compile(r"(?i)\bbearer\s+(?!\[REDACTED\])[A-Za-z0-9._~+/=-]{8,}"),
    "webhook secret": re.compile(r"\bwhsec_[A-Za-z0-9+/=_-]{8,}"),
    "document text": re.compile(re.escape(DOCUMENT_SENTINEL), re.IGNORECASE),
}

_registered: set[str] = set()


def register_secret(value: str) -> None:
    """Adds a literal (a test password) that every later scan looks for."""
    if len(value) < 6:
        raise ValueError("a secret this short would match ordinary text")
    _registered.add(value)


class SecretFinding(NamedTuple):
    kind: str
    line_number: int
    excerpt: str
    """The line around the finding with the secret itself masked."""


def find_secrets(text: str, literals: Iterable[str] = ()) -> list[SecretFinding]:
    checks = dict(PATTERNS)
    for literal in {*_registered, *literals}:
        checks[f"literal {literal[:2]}…"] = re.compile(re.escape(literal))
    findings = []
    for number, line in enumerate(text.splitlines(), start=1):
        for kind, pattern in checks.items():
            match = pattern.search(line)
            if match is not None:
                start = max(0, match.start() - 40)
                excerpt = line[start : match.start()] + f"<{kind}>" + line[match.end() :][:40]
                findings.append(SecretFinding(kind, number, excerpt))
    return findings


def assert_no_secrets(text: str, *, source: str, literals: Iterable[str] = ()) -> None:
    findings = find_secrets(text, literals)
    if findings:
        listed = "\n".join(f"  line {f.line_number}: {f.kind}: {f.excerpt}" for f in findings[:20])
        raise AssertionError(f"{len(findings)} secret(s) in {source}:\n{listed}")
