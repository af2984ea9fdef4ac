"""One list of error codes: the domain's classes, the HTTP table (`problems.PROBLEMS`),
the OpenAPI document and the guide's errors chapter agree code for code, status for
status. No services needed."""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterator
from typing import Any

import pytest

import avataradam
from avataradam.domain import codes, errors
from avataradam.entrypoints.bootstrap import build_container
from avataradam.entrypoints.http.app import create_app
from avataradam.entrypoints.http.problems import PROBLEMS, domain_problem
from avataradam.entrypoints.settings import load_settings
from tests.docs.guide import GUIDE_DIR

PROBLEM_MEDIA = "application/problem+json"
_HTTP_ROW = re.compile(r"^\| (\d{3}) \| `(\w+)` \|", re.MULTILINE)
_INTERNAL_TABLE = "Inside the service, without an HTTP answer of their own:"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    settings = load_settings(
        {
            "AVATARADAM_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/unused",
            "AVATARADAM_EMBEDDER": "hashing",
        },
        env_file=None,
    )
    document: dict[str, Any] = create_app(build_container(settings)).openapi_schema.to_schema()
    return document


def _problem_responses(spec: dict[str, Any]) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """(where, status, problem+json media) of every operation and catalogued response."""
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for status, response in operation["responses"].items():
                media = response.get("content", {}).get(PROBLEM_MEDIA)
                if media is not None:
                    yield f"{method.upper()} {path} {status}", int(status), media
    for name, response in spec["components"].get("responses", {}).items():
        media = response.get("content", {}).get(PROBLEM_MEDIA)
        if media is not None:
            yield name, int(name.removeprefix("Problem")), media


def _spec_codes(spec: dict[str, Any]) -> dict[str, int]:
    codes: dict[str, int] = {}
    for where, status, media in _problem_responses(spec):
        for example in media.get("examples", {}).values():
            value = example["value"]
            assert value["status"] == status, where
            assert codes.setdefault(value["code"], status) == status, (where, value["code"])
    return codes


def _guide() -> str:
    return (GUIDE_DIR / "07-errors.md").read_text(encoding="utf-8")


def _guide_codes() -> dict[str, int]:
    http_table = _guide().split(_INTERNAL_TABLE)[0]
    rows = _HTTP_ROW.findall(http_table)
    codes = {code: int(status) for status, code in rows}
    assert len(codes) == len(rows), "a code is listed twice in the guide's table"
    return codes


def _internal_codes() -> set[str]:
    return set(re.findall(r"`(\w+)`", _guide().split(_INTERNAL_TABLE)[1].split("##")[0]))


WORKER_PROCESS_MODULE = "avataradam.entrypoints.worker.main"
"""Dramatiq's actor module: importing it makes the importing process a worker (its
logging, its nice value, the global broker), so the walk leaves it out; it defines no
error class."""


def _domain_error_classes() -> list[type[errors.DomainError]]:
    for module in pkgutil.walk_packages(avataradam.__path__, "avataradam."):
        if module.name != WORKER_PROCESS_MODULE:
            importlib.import_module(module.name)
    found: list[type[errors.DomainError]] = []
    pending: list[type[errors.DomainError]] = [errors.DomainError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def test_every_code_of_the_openapi_document_is_in_the_guides_table_and_vice_versa(
    spec: dict[str, Any],
) -> None:
    assert _spec_codes(spec) == _guide_codes()


def test_the_guides_table_is_the_http_table(spec: dict[str, Any]) -> None:
    assert _guide_codes() == {code: kind.status for code, kind in PROBLEMS.items()}


def test_every_operation_lists_every_code_of_each_status_it_declares(
    spec: dict[str, Any],
) -> None:
    by_status: dict[int, set[str]] = {}
    for code, kind in PROBLEMS.items():
        by_status.setdefault(kind.status, set()).add(code)
    for where, status, media in _problem_responses(spec):
        listed = {example["value"]["code"] for example in media.get("examples", {}).values()}
        assert listed == by_status[status], where


def test_every_domain_error_answers_a_documented_code_or_is_internal_and_documented() -> None:
    internal = _internal_codes()
    for cls in _domain_error_classes():
        code, kind = domain_problem(cls.__new__(cls))
        assert code in PROBLEMS
        assert cls.code in PROBLEMS or cls.code in internal, f"{cls.__name__}: {cls.code}"
        if cls.code in PROBLEMS:
            assert code == cls.code, cls.__name__
        assert kind.status >= 400


def test_specific_conflicts_and_refusals_do_not_fall_back_to_generic_codes() -> None:
    expectations = {
        errors.EmailTaken: ("email_taken", 409),
        errors.DuplicateDocument: ("duplicate_document", 409),
        errors.ConcurrentUpdate: ("concurrent_update", 409),
        errors.IdempotencyKeyReused: ("idempotency_key_reused", 422),
        errors.WebhookDestinationRefused: ("webhook_destination_refused", 422),
        errors.InvalidRequest: ("invalid_request", 400),
        errors.TaskQueueUnavailable: ("task_queue_unavailable", 503),
    }
    for cls, (code, status) in expectations.items():
        answered, kind = domain_problem(cls("x"))
        assert (answered, kind.status) == (code, status), cls.__name__


def test_the_http_table_maps_exactly_the_catalogues_answered_codes() -> None:
    assert set(PROBLEMS) == codes.ANSWERED


def test_every_code_of_an_error_or_of_the_guide_is_in_the_catalogue() -> None:
    catalogue = codes.ANSWERED | codes.DOCUMENT_ERRORS
    for cls in _domain_error_classes():
        assert cls.code in catalogue, f"{cls.__name__}: {cls.code}"
    assert _internal_codes() <= codes.DOCUMENT_ERRORS
    named = {
        value for name, value in vars(codes).items() if name.isupper() and isinstance(value, str)
    }
    assert named == catalogue, "a code of domain/codes.py is in neither set"
