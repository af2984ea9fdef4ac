"""The admins' side of knowledge gaps on in-memory adapters: who may list and resolve,
the window and the pages, the CSV, and reads through read-only units (the replica's)."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta

import pytest

from avataradam.adapters.memory.uow import InMemoryUnitOfWork, InMemoryUnitOfWorkFactory
from avataradam.domain.errors import InvalidInput, InvalidRequest, NotFound, PermissionDenied
from avataradam.domain.model import Role
from avataradam.domain.model.knowledge_gaps import GapReasons, GapStatus, KnowledgeGap
from avataradam.domain.usecases.knowledge_gap_reports import ListKnowledgeGaps
from avataradam.entrypoints.http.controllers.knowledge_gaps import gaps_csv
from tests.unit.test_conversations_usecases import NOW
from tests.unit.test_knowledge_gaps import QUESTIONS, GapWorld


async def test_only_a_dealerships_admins_see_and_resolve_its_gaps() -> None:
    world = GapWorld()
    dealership, other = await world.chat.dealership(), await world.chat.dealership()
    trainee = await world.chat.user(dealership)
    other_admin = await world.chat.user(other, Role.DEALERSHIP_ADMIN)
    await world.ask(trainee, "Does GAP cover my deductible?")
    await world.group(dealership)
    admin = await world.chat.user(dealership, Role.DEALERSHIP_ADMIN)
    [gap] = await world.gaps(admin)

    assert await world.gaps(other_admin) == []
    with pytest.raises(NotFound):
        await world.resolve(other_admin, gap.id)
    with pytest.raises(PermissionDenied):
        await world.gaps(trainee)
    with pytest.raises(PermissionDenied):
        await world.resolve(trainee, gap.id)


async def test_the_list_counts_the_window_pages_by_count_and_checks_its_input() -> None:
    world = GapWorld()
    dealership = await world.chat.dealership()
    trainee = await world.chat.user(dealership)
    admin = await world.chat.user(dealership, Role.DEALERSHIP_ADMIN)
    for question in (*QUESTIONS, "Does GAP cover my deductible?"):
        await world.ask(trainee, question)
    await world.group(dealership)
    today = world.clock.now().date()

    first = await world.list(admin, limit=1)
    assert [g.count for g in first.items] == [4]
    assert first.next_cursor is not None
    second = await world.list(admin, limit=1, cursor=first.next_cursor)
    assert ([g.count for g in second.items], second.next_cursor) == ([1], None)
    tomorrow = today + timedelta(days=1)
    assert await world.gaps(admin, start=tomorrow, end=tomorrow) == []
    with pytest.raises(InvalidInput):
        await world.list(admin, start=today, end=today - timedelta(days=1))
    with pytest.raises(InvalidInput):
        await world.list(admin, start=today - timedelta(days=400), end=today)
    with pytest.raises(InvalidRequest):
        await world.list(admin, cursor="not-a-cursor")
    with pytest.raises(InvalidInput):
        await world.resolve(admin, first.items[0].id, note="x" * 1001)


def test_the_csv_parses_to_the_gaps_and_defuses_formulas() -> None:
    gap = KnowledgeGap(
        id=uuid.uuid4(),
        title='=HYPERLINK("http://x")',
        count=3,
        first_asked_at=NOW,
        last_asked_at=NOW + timedelta(hours=1),
        examples=('Does GAP, "really", cover it?', "-1 or not"),
        reasons=GapReasons(no_material=2, thumbs_down=1),
        status=GapStatus.OPEN,
        resolved_at=None,
        resolved_by=None,
        resolve_note=None,
        recurred=False,
    )
    [header, row] = list(csv.reader(io.StringIO(gaps_csv([gap]), newline="")))
    record = dict(zip(header, row, strict=True))
    assert record["id"] == str(gap.id)
    assert record["title"] == '\'=HYPERLINK("http://x")'
    assert (record["count"], record["no_material"], record["thumbs_down"]) == ("3", "2", "1")
    assert record["examples"].split("\n") == ['Does GAP, "really", cover it?', "'-1 or not"]
    assert (record["status"], record["recurred"], record["resolved_at"]) == ("open", "false", "")


class RecordingFactory:
    """`UnitOfWorkFactory` over the world's, recording whether each unit is read-only."""

    def __init__(self, inner: InMemoryUnitOfWorkFactory) -> None:
        self.inner = inner
        self.read_only: list[bool] = []

    def __call__(self, *, read_only: bool = False) -> InMemoryUnitOfWork:
        self.read_only.append(read_only)
        return self.inner(read_only=read_only)


async def test_the_list_reads_through_read_only_units_only_the_replicas_work() -> None:
    world = GapWorld()
    dealership = await world.chat.dealership()
    trainee = await world.chat.user(dealership)
    admin = await world.chat.user(dealership, Role.DEALERSHIP_ADMIN)
    await world.ask(trainee, "Does GAP cover my deductible?")
    await world.group(dealership)
    factory = RecordingFactory(world.chat.uow)

    [gap] = (await ListKnowledgeGaps(factory, world.clock)(admin)).items

    assert gap.count == 1
    assert factory.read_only == [True]
