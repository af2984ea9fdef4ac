"""Every length and range the OpenAPI document states is the domain's own limit.

The walk visits every constraint (minLength, maxLength, minimum, maximum, minItems,
maxItems) of every schema and parameter of the served document. Each must be listed
below, either with the domain constant it states (and equal to it) or as a bound of the
API's own, with the reason the domain has none. A new constraint, or a domain limit
that moves, fails here: the reference never promises what the service refuses (a
12-character password advertised as `minLength: 1`), nor the reverse.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from avataradam.domain.model import assignments as assignment
from avataradam.domain.model import scenarios as scenario
from avataradam.domain.model.knowledge_gaps import MAX_RESOLVE_NOTE_CHARS
from avataradam.domain.pagination import MAX_PAGE_SIZE
from avataradam.domain.training import authoring as rubric
from avataradam.domain.usecases.conversations.chat import MAX_MESSAGE_CHARS
from avataradam.domain.usecases.conversations.feedback import MAX_REASON_CHARS
from avataradam.domain.usecases.conversations.start import MAX_SCENARIO_CHARS
from avataradam.domain.usecases.dealerships import MAX_DEALERSHIP_NAME_CHARS
from avataradam.domain.usecases.search import MAX_QUERY_CHARS, MAX_TOP_K
from avataradam.domain.usecases.users import (
    MAX_EMAIL_LENGTH,
    MAX_PASSWORD_LENGTH,
    MAX_PERSON_NAME_LENGTH,
    MIN_EMAIL_LENGTH,
    MIN_PASSWORD_LENGTH,
)
from avataradam.entrypoints.bootstrap import build_container
from avataradam.entrypoints.http.app import create_app
from avataradam.entrypoints.settings import load_settings

CONSTRAINTS = ("minLength", "maxLength", "minimum", "maximum", "minItems", "maxItems")
Limits = dict[str, float]

NEW_PASSWORD: Limits = {"minLength": MIN_PASSWORD_LENGTH, "maxLength": MAX_PASSWORD_LENGTH}
GIVEN_PASSWORD: Limits = {"minLength": 1, "maxLength": MAX_PASSWORD_LENGTH}
"""A password to check, not to set: any non-empty one the domain could have stored."""
EMAIL: Limits = {"minLength": MIN_EMAIL_LENGTH, "maxLength": MAX_EMAIL_LENGTH}
PERSON_NAME: Limits = {"maxLength": MAX_PERSON_NAME_LENGTH}
DEALERSHIP_NAME: Limits = {"minLength": 1, "maxLength": MAX_DEALERSHIP_NAME_CHARS}
PAGE_SIZE: Limits = {"minimum": 1, "maximum": MAX_PAGE_SIZE}
DIFFICULTY: Limits = {"minimum": scenario.MIN_DIFFICULTY, "maximum": scenario.MAX_DIFFICULTY}
TITLE: Limits = {"minLength": 1, "maxLength": scenario.MAX_TITLE_CHARS}
OBJECTIVES: Limits = {"minItems": 1, "maxItems": scenario.MAX_OBJECTIVES}
OPENING_LINES: Limits = {"minItems": 1, "maxItems": scenario.MAX_OPENING_LINES}
SCRIPT: Limits = {"minItems": 1, "maxItems": scenario.MAX_SCRIPT_LINES}
RUBRIC_TITLE: Limits = {"minLength": 1, "maxLength": rubric.MAX_TITLE_CHARS}
RUBRIC_DESCRIPTION: Limits = {"maxLength": rubric.MAX_DESCRIPTION_CHARS}
RUBRIC_CRITERIA: Limits = {"minItems": 1, "maxItems": rubric.MAX_CRITERIA}
RUBRIC_ADVICE: Limits = {"maxLength": rubric.MAX_ADVICE_CHARS}
RUBRIC_BODIES = ("RubricDraftBody", "RubricVersionCreate", "RubricCreate")
"""One own rubric version's body, as written (`draft`), published and created."""

DOMAIN: dict[str, Limits] = {
    "TokenRequest.email": EMAIL,
    "TokenRequest.password": GIVEN_PASSWORD,
    "UserCreate.email": EMAIL,
    "UserCreate.password": NEW_PASSWORD,
    "UserCreate.first_name": PERSON_NAME,
    "UserCreate.last_name": PERSON_NAME,
    "UserUpdate.password": NEW_PASSWORD,
    "UserUpdate.first_name": PERSON_NAME,
    "UserUpdate.last_name": PERSON_NAME,
    "PasswordChange.current_password": GIVEN_PASSWORD,
    "PasswordChange.new_password": NEW_PASSWORD,
    "DealershipCreate.name": DEALERSHIP_NAME,
    "DealershipUpdate.name": DEALERSHIP_NAME,
    "SearchRequest.query": {"minLength": 1, "maxLength": MAX_QUERY_CHARS},
    "SearchRequest.top_k": {"minimum": 1, "maximum": MAX_TOP_K},
    "MessageCreate.content": {"minLength": 1, "maxLength": MAX_MESSAGE_CHARS},
    "ConversationCreate.scenario": {"maxLength": MAX_SCENARIO_CHARS},
    "FeedbackCreate.reason": {"maxLength": MAX_REASON_CHARS},
    "ResolveGapIn.note": {"maxLength": MAX_RESOLVE_NOTE_CHARS},
    # Its longest is a setting (AVATARADAM_SPEECH_MAX_TEXT_CHARS): 422 above it.
    "SpeechRequest.text": {"minLength": 1},
    "query limit": PAGE_SIZE,
    "query difficulty": DIFFICULTY,
    "ScenarioCreate.difficulty": DIFFICULTY,
    "ScenarioUpdate.difficulty": DIFFICULTY,
    "ScenarioCreate.title": TITLE,
    "ScenarioUpdate.title": TITLE,
    "ScenarioCreate.objectives": OBJECTIVES,
    "ScenarioUpdate.objectives": OBJECTIVES,
    "PersonaBody.name": {"minLength": 1, "maxLength": scenario.MAX_PERSONA_NAME_CHARS},
    "PersonaBody.description": {"minLength": 1, "maxLength": scenario.MAX_DESCRIPTION_CHARS},
    "PersonaBody.concerns": {"maxLength": scenario.MAX_CONCERNS_CHARS},
    "PersonaBody.traits": {"maxItems": scenario.MAX_TRAITS},
    "PersonaBody.opening_lines": OPENING_LINES,
    "PersonaBody.script": SCRIPT,
    "PersonaLinesBody.opening_lines": OPENING_LINES,
    "PersonaLinesBody.script": SCRIPT,
    "AssignmentCreate.assignee_ids": {"maxItems": assignment.MAX_ASSIGNEES},
    "AssignmentCreate.min_score": {"minimum": 0, "maximum": 100},
    "AssignmentCreate.min_attempts": {"minimum": 1, "maximum": assignment.MAX_MIN_ATTEMPTS},
    "AssignmentUpdate.min_attempts": {"minimum": 1, "maximum": assignment.MAX_MIN_ATTEMPTS},
    "AssignmentCreate.note": {"maxLength": assignment.MAX_NOTE_CHARS},
    "AssignmentUpdate.note": {"maxLength": assignment.MAX_NOTE_CHARS},
    **{f"{body}.title": RUBRIC_TITLE for body in RUBRIC_BODIES},
    **{f"{body}.description": RUBRIC_DESCRIPTION for body in RUBRIC_BODIES},
    **{f"{body}.criteria": RUBRIC_CRITERIA for body in RUBRIC_BODIES},
    "RubricCriterionBody.title": RUBRIC_TITLE,
    "RubricCriterionBody.advice": RUBRIC_ADVICE,
    "RubricCriterionBody.weight": {"minimum": 0, "maximum": rubric.MAX_WEIGHT},
    "RubricCriterionBody.checks": {"minItems": 1, "maxItems": rubric.MAX_CHECKS},
    "RubricCheckBody.description": {
        "minLength": 1,
        "maxLength": rubric.MAX_CHECK_DESCRIPTION_CHARS,
    },
    "RubricCheckBody.advice": RUBRIC_ADVICE,
    "RubricCheckBody.exemplars": {"maxItems": rubric.MAX_EXEMPLARS},
}
"""Constraints that state a rule of the domain, by schema property or parameter."""

API_OWN = {
    "RefreshRequest.refresh_token": "issued tokens are 43 characters; longer is refused unread",
    "LogoutRequest.refresh_token": "the same token as RefreshRequest's",
    "WebhookCreate.url": "a bound on input size; the URL's rules are the SSRF guard's",
    "WebhookCreate.events": "a bound on input size; the domain asks only for known events",
    "query cursor": "cursors the API issues are far shorter; anything longer is not one",
    "header Idempotency-Key": "a bound on a client-chosen key; the domain stores it as given",
    "ConversationCreate.language": (
        "a bound on input size; StartConversation refuses any value but en and es with a"
        " 422 naming them"
    ),
    "ConversationCreate.scenario_id": (
        "a bound on input size: a slug is at most 64 characters, a UUID 36; anything "
        "longer names no scenario (404)"
    ),
    "path scenario_id": "the same bound as ConversationCreate.scenario_id's",
    "AssignmentCreate.scenario_id": "the same bound as ConversationCreate.scenario_id's",
    "AssignmentUpdate.min_score": (
        "AssignmentCreate.min_score's 0-100; the document generator drops the minimum 0 of an"
        " optional field, the body is still refused below 0 (422)"
    ),
    "ScenarioCreate.rubric_id": (
        "a bound on input size; the domain accepts only a built-in rubric's id or one of"
        " the dealership's own (422)"
    ),
    "ScenarioUpdate.rubric_id": "the same bound as ScenarioCreate.rubric_id's",
    "query version": "rubric versions start at 1; an unknown one is 404",
    "RubricCheckBody.uses": (
        "a bound on input size: `<rubric id>/<check id>` is at most two 64-character ids "
        "and a slash; the domain accepts only an existing built-in check (422)"
    ),
    "SpeechRequest.voice": (
        "a bound on input size; a voice the synthesizer lacks is 422, naming its voices"
    ),
    "header Range": "a bound on input size; one byte range is far shorter",
    "header If-Range": "a bound on input size; the audio's ETag is 34 characters",
    "header If-None-Match": "a bound on input size; the audio's ETag is 34 characters",
    "DealershipUpdate.monthly_token_budget": (
        "UpdateDealership refuses a negative budget (0 = unlimited); the maximum keeps a "
        "budget within PostgreSQL's bigint"
    ),
}
"""Constraints the API sets on its own input where the domain has no limit, and why."""


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


def _constraints(node: Any) -> Iterator[Limits]:
    """The constraints of a property's schema, through `anyOf` (optional values)."""
    if isinstance(node, dict):
        found = {key: node[key] for key in CONSTRAINTS if key in node}
        if found:
            yield found
        for branch in node.get("anyOf", []) + node.get("oneOf", []):
            yield from _constraints(branch)


def _walk(spec: dict[str, Any]) -> dict[str, list[Limits]]:
    found: dict[str, list[Limits]] = {}
    for name, schema in spec["components"]["schemas"].items():
        for field, prop in schema.get("properties", {}).items():
            limits = list(_constraints(prop))
            if limits:
                found.setdefault(f"{name}.{field}", []).extend(limits)
    for item in spec["paths"].values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                limits = list(_constraints(parameter.get("schema")))
                if limits:
                    found.setdefault(f"{parameter['in']} {parameter['name']}", []).extend(limits)
    return found


def test_every_constraint_of_the_document_is_the_domains_or_explained(
    spec: dict[str, Any],
) -> None:
    found = _walk(spec)
    unexplained = sorted(set(found) - set(DOMAIN) - set(API_OWN))
    assert not unexplained, (
        f"state which domain limit these are, or why the API sets them: {unexplained}"
    )
    wrong = {
        where: (limits, DOMAIN[where])
        for where, occurrences in found.items()
        if where in DOMAIN
        for limits in occurrences
        if {k: float(v) for k, v in limits.items()}
        != {k: float(v) for k, v in DOMAIN[where].items()}
    }
    assert not wrong, f"document (left) and domain (right) disagree: {wrong}"


def test_every_listed_limit_is_in_the_document(spec: dict[str, Any]) -> None:
    assert set(DOMAIN) | set(API_OWN) <= set(_walk(spec)), "a listed constraint is gone"
