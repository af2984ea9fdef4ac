"""Analytics use cases on the in-memory twin: read-only units of work (the replica when
one is configured), access rules, ranges, ranks and the question normalisation."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import msgspec
import pytest

from avataradam.adapters.memory.store import InMemoryStore
from avataradam.adapters.memory.uow import InMemoryUnitOfWork, InMemoryUnitOfWorkFactory
from avataradam.domain.access import Principal
from avataradam.domain.errors import FeatureDisabled, InvalidInput, NotFound, PermissionDenied
from avataradam.domain.model import Dealership, Role, User
from avataradam.domain.model.analytics import RankRow
from avataradam.domain.usecases.analytics import Analytics, normalise_question, ranked
from tests.contract.builders import dealership, user
from tests.support.fakes import ManualClock

TODAY = datetime(2026, 3, 18, 12, tzinfo=UTC)


class RecordingUnitOfWork(InMemoryUnitOfWorkFactory):
    """The in-memory factory, noting whether each unit of work it opened was read-only."""

    def __init__(self, store: InMemoryStore) -> None:
        super().__init__(store)
        self.opened: list[bool] = []

    def __call__(self, *, read_only: bool = False) -> InMemoryUnitOfWork:
        self.opened.append(read_only)
        return super().__call__(read_only=read_only)


async def _world() -> tuple[RecordingUnitOfWork, Dealership, User, User, User]:
    uow = RecordingUnitOfWork(InMemoryStore())
    home = msgspec.structs.replace(dealership(), leaderboard_enabled=True)
    trainee, other = user(home.id), user(home.id)
    admin = msgspec.structs.replace(user(home.id), role=Role.DEALERSHIP_ADMIN)
    async with uow() as tx:
        await tx.dealerships.add(home)
        for person in (trainee, other, admin):
            await tx.users.add(person)
        await tx.commit()
    uow.opened.clear()
    return uow, home, trainee, other, admin


def _principal(person: User) -> Principal:
    return Principal(user_id=person.id, role=person.role, dealership_id=person.dealership_id)


async def test_every_analytics_read_opens_only_read_only_units_of_work() -> None:
    uow, _, trainee, _, admin = await _world()
    analytics = Analytics(uow, ManualClock(TODAY))
    await analytics.overview(_principal(admin))
    await analytics.user(_principal(admin), trainee.id)
    await analytics.user(_principal(trainee), trainee.id)
    await analytics.leaderboard(_principal(trainee))
    assert uow.opened == [True, True, True, True]


async def test_a_trainee_reads_only_their_own_and_no_overview() -> None:
    uow, _, trainee, other, _ = await _world()
    analytics = Analytics(uow, ManualClock(TODAY))
    with pytest.raises(NotFound):
        await analytics.user(_principal(trainee), other.id)
    with pytest.raises(NotFound):
        await analytics.user(_principal(trainee), uuid.uuid4())
    with pytest.raises(PermissionDenied):
        await analytics.overview(_principal(trainee))
    mine = await analytics.user(_principal(trainee), trainee.id)
    assert (mine.start, mine.end) == (date(2026, 2, 17), date(2026, 3, 18))


async def test_ranges_default_to_thirty_days_and_refuse_backwards_or_too_long_ones() -> None:
    uow, _, _, _, admin = await _world()
    analytics = Analytics(uow, ManualClock(TODAY))
    overview = await analytics.overview(_principal(admin))
    assert (overview.end - overview.start).days == 29
    assert overview.weekly[0].week == date(2026, 2, 16)  # a Monday
    with pytest.raises(InvalidInput):
        await analytics.overview(_principal(admin), start=date(2026, 3, 2), end=date(2026, 3, 1))
    with pytest.raises(InvalidInput):
        await analytics.overview(_principal(admin), start=date(2025, 1, 1), end=date(2026, 1, 2))


async def test_the_leaderboard_is_refused_until_the_dealership_opts_in() -> None:
    uow, home, trainee, _, _ = await _world()
    async with uow() as tx:
        await tx.dealerships.update(msgspec.structs.replace(home, leaderboard_enabled=False))
        await tx.commit()
    with pytest.raises(FeatureDisabled) as refused:
        await Analytics(uow, ManualClock(TODAY)).leaderboard(_principal(trainee))
    assert refused.value.details == {"feature": "leaderboard"}


def test_equal_averages_and_best_scores_share_a_rank() -> None:
    def row(name: str, sessions: int, total: int, best: int) -> RankRow:
        return RankRow(
            user_id=uuid.uuid4(),
            first_name=name,
            last_name=None,
            email=f"{name}@example.com",
            sessions=sessions,
            score_sum=total,
            best_score=best,
            passed=0,
        )

    ranks = ranked([row("c", 1, 60, 60), row("a", 2, 160, 90), row("b", 1, 80, 90)], uuid.uuid4())
    assert [(r.display_name, r.rank, r.average_score) for r in ranks] == [
        ("a", 1, 80.0),
        ("b", 1, 80.0),
        ("c", 3, 60.0),
    ]


@pytest.mark.parametrize(
    ("asked", "normalised"),
    [
        ("  How do I   handle GAP?? ", "how do i handle gap"),
        ("What is VSC?!.", "what is vsc"),
        ("\tPrice\nobjection", "price objection"),
        ("???", ""),
    ],
)
def test_questions_are_normalised_like_the_sql_twin(asked: str, normalised: str) -> None:
    assert normalise_question(asked) == normalised
