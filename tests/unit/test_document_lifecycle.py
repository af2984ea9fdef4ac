"""A document's lifecycle: every transition from every status is either legal (and
lands where the table says) or refused with IllegalTransition (a 409, never a 500);
a random walk of moves never reaches a state the lifecycle does not allow."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable
from datetime import timedelta

import msgspec
import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from avataradam.domain.errors import Conflict, DocumentNotRetryable, IllegalTransition
from avataradam.domain.model import Document, DocumentError, DocumentStatus, Stage
from avataradam.domain.model.documents import DOCUMENT_LIFECYCLE
from avataradam.domain.model.lifecycle import Lifecycle
from avataradam.entrypoints.http.problems import domain_problem
from tests.unit.test_processing_leases import T0, queued_document

LEASE = timedelta(seconds=20)
ERROR = DocumentError(code="embedder_unavailable", message="down")


def document(status: DocumentStatus, **fields: object) -> Document:
    return queued_document(status=status, **fields)


NOW = T0 + timedelta(minutes=1)
MOVES: dict[str, Callable[[Document], Document]] = {
    "claimed": lambda d: d.claimed(token=uuid.uuid4(), now=NOW, lease=LEASE),
    "progressed": lambda d: d.progressed(stage=Stage.EMBEDDING, progress=0.5, now=NOW),
    "released": lambda d: d.released(until=NOW + LEASE),
    "ready": lambda d: d.ready(chunk_count=3, title="T", warnings=("w",), now=NOW),
    "failed": lambda d: d.failed(error=ERROR, now=NOW),
    "deleting": lambda d: d.deleting(NOW),
    "requeued": lambda d: d.requeued(NOW),
    "touched": lambda d: d.touched(NOW),
}
LEGAL = {
    "claimed": {DocumentStatus.QUEUED: DocumentStatus.PROCESSING},
    "progressed": {DocumentStatus.PROCESSING: DocumentStatus.PROCESSING},
    "released": {DocumentStatus.PROCESSING: DocumentStatus.PROCESSING},
    "ready": {DocumentStatus.PROCESSING: DocumentStatus.READY},
    "failed": {
        DocumentStatus.QUEUED: DocumentStatus.FAILED,
        DocumentStatus.PROCESSING: DocumentStatus.FAILED,
    },
    "deleting": {
        DocumentStatus.QUEUED: DocumentStatus.DELETING,
        DocumentStatus.PROCESSING: DocumentStatus.DELETING,
        DocumentStatus.READY: DocumentStatus.DELETING,
        DocumentStatus.FAILED: DocumentStatus.DELETING,
    },
    "requeued": {DocumentStatus.FAILED: DocumentStatus.QUEUED},
    "touched": {
        DocumentStatus.QUEUED: DocumentStatus.QUEUED,
        DocumentStatus.DELETING: DocumentStatus.DELETING,
    },
}


def held(status: DocumentStatus) -> Document:
    """A document in `status`; a processing one held by a live lease."""
    if status is DocumentStatus.PROCESSING:
        return document(status, lease_token=uuid.uuid4(), lease_expires_at=NOW + LEASE)
    return document(status)


def test_the_table_under_test_is_the_lifecycles_table() -> None:
    assert set(MOVES) == set(DOCUMENT_LIFECYCLE.moves) == set(LEGAL)
    for name, (sources, _target) in DOCUMENT_LIFECYCLE.moves.items():
        assert sources == set(LEGAL[name]) | (
            {DocumentStatus.PROCESSING} if name == "claimed" else set()
        ), name


@pytest.mark.parametrize("name", sorted(MOVES))
@pytest.mark.parametrize("status", list(DocumentStatus))
def test_every_transition_from_every_status_is_taken_or_refused(
    name: str, status: DocumentStatus
) -> None:
    before = held(status)
    target = LEGAL[name].get(status)
    if target is None:
        with pytest.raises(IllegalTransition) as refused:
            MOVES[name](before)
        assert refused.value.details["status"] == status.value
        return
    after = MOVES[name](before)
    assert after.status is target
    assert after.id == before.id


@pytest.mark.parametrize("status", [s for s in DocumentStatus if s is not DocumentStatus.FAILED])
def test_a_retry_of_anything_but_a_failed_document_is_the_409_it_always_was(
    status: DocumentStatus,
) -> None:
    with pytest.raises(DocumentNotRetryable) as refused:
        held(status).requeued(NOW)
    assert refused.value.details == {"status": status.value}
    code, kind = domain_problem(refused.value)
    assert (code, kind.status) == ("document_not_retryable", 409)


def test_an_illegal_move_answers_the_409_conflict_never_a_500() -> None:
    with pytest.raises(IllegalTransition) as refused:
        document(DocumentStatus.READY).ready(chunk_count=1, title=None, warnings=(), now=NOW)
    assert isinstance(refused.value, Conflict)
    code, kind = domain_problem(refused.value)
    assert (code, kind.status) == ("conflict", 409)
    assert refused.value.details == {
        "entity": "document",
        "transition": "ready",
        "status": "ready",
    }


def test_a_processing_document_is_claimed_again_only_once_stalled() -> None:
    live = held(DocumentStatus.PROCESSING)
    with pytest.raises(IllegalTransition):
        live.claimed(token=uuid.uuid4(), now=NOW, lease=LEASE)
    lapsed = live.claimed(token=uuid.uuid4(), now=NOW + LEASE, lease=LEASE)
    assert lapsed.status is DocumentStatus.PROCESSING
    released = live.released(until=NOW + LEASE)
    assert released.stalled(NOW)
    assert released.claimed(token=uuid.uuid4(), now=NOW, lease=LEASE).attempts == 1


def test_each_transition_writes_what_it_names() -> None:
    claimed = MOVES["claimed"](document(DocumentStatus.QUEUED))
    assert (claimed.stage, claimed.progress, claimed.attempts) == (Stage.EXTRACTING, 0.0, 1)
    assert claimed.processing_started_at == NOW
    assert claimed.lease_expires_at == NOW + LEASE

    progressed = MOVES["progressed"](claimed)
    assert (progressed.stage, progressed.progress, progressed.updated_at) == (
        Stage.EMBEDDING,
        0.5,
        NOW,
    )

    released = claimed.released(until=NOW + LEASE, error=ERROR, now=NOW + LEASE)
    assert (released.lease_token, released.error, released.updated_at) == (
        None,
        ERROR,
        NOW + LEASE,
    )
    assert claimed.released(until=NOW).updated_at == claimed.updated_at

    ready = MOVES["ready"](released)
    assert (ready.stage, ready.progress, ready.chunk_count, ready.error) == (None, 1.0, 3, None)
    assert (ready.title, ready.warnings, ready.lease_token, ready.lease_expires_at) == (
        "T",
        ("w",),
        None,
        None,
    )

    failed = MOVES["failed"](claimed)
    assert (failed.stage, failed.error, failed.lease_token, failed.lease_expires_at) == (
        None,
        ERROR,
        None,
        None,
    )

    requeued = MOVES["requeued"](msgspec.structs.replace(failed, progress=0.4))
    assert (requeued.stage, requeued.progress, requeued.error, requeued.updated_at) == (
        None,
        0.0,
        None,
        NOW,
    )
    assert MOVES["touched"](document(DocumentStatus.QUEUED)).updated_at == NOW


def test_a_lifecycle_is_data_ready_for_other_entities() -> None:
    class SessionStatus(enum.StrEnum):
        ACTIVE = "active"
        COMPLETED = "completed"
        SCORED = "scored"

    sessions: Lifecycle[SessionStatus] = Lifecycle(
        "session",
        {
            "completed": ({SessionStatus.ACTIVE}, SessionStatus.COMPLETED),
            "scored": ({SessionStatus.COMPLETED}, SessionStatus.SCORED),
        },
    )
    assert sessions.check("completed", SessionStatus.ACTIVE) is SessionStatus.COMPLETED
    assert not sessions.allows("scored", SessionStatus.ACTIVE)
    with pytest.raises(IllegalTransition, match="a active session cannot be scored"):
        sessions.check("scored", SessionStatus.ACTIVE)


class DocumentMachine(RuleBasedStateMachine):
    """Random moves at random times: a refused move changes nothing, a taken one lands
    on a status the table allows, and attempts only grow."""

    def __init__(self) -> None:
        super().__init__()
        self.document = document(DocumentStatus.QUEUED)
        self.now = T0

    @rule(name=st.sampled_from(sorted(MOVES)), seconds=st.integers(min_value=0, max_value=40))
    def move(self, name: str, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)
        before = self.document
        moves: dict[str, Callable[[Document], Document]] = {
            **MOVES,
            "claimed": lambda d: d.claimed(token=uuid.uuid4(), now=self.now, lease=LEASE),
        }
        try:
            after = moves[name](before)
        except IllegalTransition:
            allowed = DOCUMENT_LIFECYCLE.allows(name, before.status)
            assert not allowed or (name == "claimed" and not before.claimable(self.now))
            return
        assert DOCUMENT_LIFECYCLE.allows(name, before.status)
        assert after.attempts >= before.attempts
        self.document = after

    @precondition(lambda self: self.document.status is DocumentStatus.DELETING)
    @rule()
    def deleting_is_the_end(self) -> None:
        for name in ("claimed", "ready", "failed", "requeued", "deleting"):
            assert not DOCUMENT_LIFECYCLE.allows(name, self.document.status)

    @invariant()
    def only_processing_or_deleting_documents_hold_a_lease(self) -> None:
        if self.document.status not in {DocumentStatus.PROCESSING, DocumentStatus.DELETING}:
            assert self.document.lease_token is None


TestDocumentMachine = DocumentMachine.TestCase
