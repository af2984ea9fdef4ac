"""In-memory twin of the analytics repository (see `adapters/postgres/analytics.py`).

It sums the raw rows on every call instead of keeping rollups: same answers, no scale.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime
from uuid import UUID

from avataradam.adapters.memory.store import InMemoryTransaction
from avataradam.domain.model import ConversationMode, FeedbackRating, MessageRole
from avataradam.domain.model.analytics import (
    ActivityTotals,
    CriterionCount,
    FeedbackCounts,
    QuestionCount,
    RankRow,
    SessionRow,
    WeekActivity,
)
from avataradam.domain.model.scorecards import ScorecardStatus, StoredScorecard
from avataradam.domain.usecases.analytics import monday, normalise_question

# (user, started, completed, scored, score, passed) per event, by UTC day.
_Event = tuple[UUID, int, int, int, int, int]


def _day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


class InMemoryAnalyticsRepository:
    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    def _scored(self, dealership_id: UUID) -> Iterator[StoredScorecard]:
        for card in self._tx.tables.scorecards.values():
            if card.dealership_id == dealership_id and card.status is ScorecardStatus.SCORED:
                yield card

    def _events(self, dealership_id: UUID, user_id: UUID | None) -> Iterator[tuple[date, _Event]]:
        """(day, event) of conversations (conversations counted apart), sessions, scores."""
        for c in self._tx.tables.conversations.values():
            if c.dealership_id != dealership_id or user_id not in (None, c.user_id):
                continue
            roleplay = c.mode is ConversationMode.ROLEPLAY
            yield _day(c.created_at), (c.user_id, int(roleplay), 0, 0, 0, 0)
            if roleplay and c.completed_at is not None:
                yield _day(c.completed_at), (c.user_id, 0, 1, 0, 0, 0)
        for card in self._scored(dealership_id):
            if user_id in (None, card.user_id) and card.body is not None:
                body = card.body
                yield _day(card.created_at), (card.user_id, 0, 0, 1, body.overall, body.passed)

    async def totals(
        self, *, dealership_id: UUID, start: date, end: date, user_id: UUID | None = None
    ) -> ActivityTotals:
        sums = [0] * 5
        for day, (_, *values) in self._events(dealership_id, user_id):
            if start <= day <= end:
                sums = [a + b for a, b in zip(sums, values, strict=True)]
        started = [
            c
            for c in self._tx.tables.conversations.values()
            if c.dealership_id == dealership_id
            and user_id in (None, c.user_id)
            and start <= _day(c.created_at) <= end
        ]
        return ActivityTotals(
            active_users=len({c.user_id for c in started}),
            conversations=len(started),
            sessions_started=sums[0],
            sessions_completed=sums[1],
            scored=sums[2],
            score_sum=sums[3],
            passed=sums[4],
        )

    async def weeks(
        self, *, dealership_id: UUID, start: date, end: date, user_id: UUID | None = None
    ) -> list[WeekActivity]:
        by_week: dict[date, list[int]] = defaultdict(lambda: [0] * 5)
        for day, (_, *values) in self._events(dealership_id, user_id):
            if start <= day <= end:
                sums = by_week[monday(day)]
                by_week[monday(day)] = [a + b for a, b in zip(sums, values, strict=True)]
        return [
            WeekActivity(
                week=week,
                sessions_started=s[0],
                sessions_completed=s[1],
                scored=s[2],
                score_sum=s[3],
                passed=s[4],
            )
            for week, s in sorted(by_week.items())
        ]

    def _verdicts(
        self, dealership_id: UUID, start: date, end: date, user_id: UUID | None, *, weekly: bool
    ) -> list[CriterionCount]:
        counts: dict[tuple[date | None, str, str], tuple[str, bool, int, int]] = {}
        cards = sorted(self._scored(dealership_id), key=lambda c: c.created_at)
        for card in cards:
            day = _day(card.created_at)
            if card.body is None or not start <= day <= end or user_id not in (None, card.user_id):
                continue
            for result in card.body.criteria:
                if result.verdict == "not_applicable":
                    continue
                key = (monday(day) if weekly else None, card.rubric_id, result.id)
                _, _, met, total = counts.get(key, ("", False, 0, 0))
                counts[key] = (
                    result.title,
                    result.blocker,
                    met + (result.verdict == "met"),
                    total + 1,
                )
        return [
            CriterionCount(
                week=week,
                rubric_id=rubric_id,
                criterion_id=criterion_id,
                title=title,
                blocker=blocker,
                met=met,
                total=total,
            )
            for (week, rubric_id, criterion_id), (title, blocker, met, total) in sorted(
                counts.items(), key=lambda item: (item[0][0] or date.min, *item[0][1:])
            )
        ]

    async def criteria(
        self, *, dealership_id: UUID, start: date, end: date
    ) -> list[CriterionCount]:
        return self._verdicts(dealership_id, start, end, None, weekly=False)

    async def user_criteria(
        self, *, dealership_id: UUID, user_id: UUID, start: date, end: date
    ) -> list[CriterionCount]:
        return self._verdicts(dealership_id, start, end, user_id, weekly=True)

    async def top_questions(
        self, *, dealership_id: UUID, start: date, end: date, limit: int
    ) -> list[QuestionCount]:
        tables = self._tx.tables
        asked: Counter[str] = Counter()
        for _, message in tables.messages.values():
            conversation = tables.conversations.get(message.conversation_id)
            if (
                conversation is None
                or conversation.dealership_id != dealership_id
                or conversation.mode is not ConversationMode.TRAINING
                or message.role is not MessageRole.USER
                or not start <= _day(message.created_at) <= end
            ):
                continue
            question = normalise_question(message.content)
            if question:
                asked[question] += 1
        ordered = sorted(asked.items(), key=lambda item: (-item[1], item[0]))
        return [QuestionCount(question=q, asked=n) for q, n in ordered[:limit]]

    async def feedback(self, *, dealership_id: UUID, start: date, end: date) -> FeedbackCounts:
        ratings = [
            f
            for f in self._tx.tables.feedback.values()
            if f.dealership_id == dealership_id and start <= _day(f.created_at) <= end
        ]
        down = [f for f in ratings if f.rating is FeedbackRating.DOWN]
        return FeedbackCounts(
            up=sum(f.rating is FeedbackRating.UP for f in ratings),
            down=len(down),
            inaccurate=sum(bool((f.reason or "").strip()) for f in down),
        )

    async def sessions(
        self, *, dealership_id: UUID, user_id: UUID, start: date, end: date, limit: int
    ) -> list[SessionRow]:
        tables = self._tx.tables
        rows: list[SessionRow] = []
        for c in tables.conversations.values():
            if (
                c.dealership_id != dealership_id
                or c.user_id != user_id
                or c.mode is not ConversationMode.ROLEPLAY
                or not start <= _day(c.created_at) <= end
            ):
                continue
            card = tables.scorecards.get(c.id)
            body = card.body if card is not None else None
            rows.append(
                SessionRow(
                    conversation_id=c.id,
                    scenario_id=c.scenario_id,
                    started_at=c.created_at,
                    completed_at=c.completed_at,
                    status=card.status.value if card is not None else None,
                    overall=body.overall if body is not None else None,
                    passed=body.passed if body is not None else None,
                )
            )
        rows.sort(key=lambda r: (r.started_at, r.conversation_id), reverse=True)
        return rows[:limit]

    async def ranks(self, *, dealership_id: UUID, start: date, end: date) -> list[RankRow]:
        scores: dict[UUID, list[tuple[int, bool]]] = defaultdict(list)
        for card in self._scored(dealership_id):
            if card.body is not None and start <= _day(card.created_at) <= end:
                scores[card.user_id].append((card.body.overall, card.body.passed))
        rows = []
        for user_id, results in scores.items():
            user = self._tx.tables.users[user_id]
            rows.append(
                RankRow(
                    user_id=user_id,
                    first_name=user.first_name,
                    last_name=user.last_name,
                    email=user.email,
                    sessions=len(results),
                    score_sum=sum(score for score, _ in results),
                    best_score=max(score for score, _ in results),
                    passed=sum(passed for _, passed in results),
                )
            )
        return rows
