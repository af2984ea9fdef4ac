"""The generated dealership group of `bench.analytics` (its docstring says what is in
it), written with binary COPY, rollups rebuilt from the raw rows."""

from __future__ import annotations

import json
import random
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from avataradam.adapters.security.passwords import Argon2PasswordHasher
from avataradam.domain.training.fi_office import FI_OFFICE_V1

PASSWORD = "bench-password-long-enough"
DEALERSHIPS, USERS = 50, 40
SESSIONS, TRAINING, TURNS = 200_000, 50_000, 4
ASSIGNMENTS, ASSIGNEES, ASSIGNED_SHARE = 20, 10, 0.15  # per dealership; share of sessions
GAP_SHARE, GAPS, RESOLVED_SHARE, UNGROUPED_SHARE = 0.05, 50, 0.2, 0.02
GAP_REASONS = ("no_material", "weak_material", "thumbs_down", "reported_inaccurate")
GAP_WEIGHTS = (0.5, 0.35, 0.1, 0.05)
EMBEDDING_MODEL, DIMENSION = "feature-hashing-384", 384
TOPICS = [
    "GAP", "a vehicle service contract", "tire and wheel", "key replacement",
    "prepaid maintenance", "appearance protection", "theft protection", "the menu",
    "a lease", "negative equity", "a cash buyer", "a payment objection",
]  # fmt: skip
STEMS = [
    "How do I handle a price objection on {}?",
    "What does {} cover?",
    "How do I present {} on the menu?",
    "What do I say when a customer refuses {}?",
    "Is {} required by the lender?",
]
QUESTIONS = [stem.format(topic) for stem in STEMS for topic in TOPICS]  # 60


def _variants(question: str) -> list[str]:
    """Five spellings that normalise to one question."""
    bare = question.rstrip("?")
    return [question, question.lower(), f"  {bare.upper()} ", bare.replace(" ", "  "), f"{bare}!"]


class Seed:
    """Generates the group's rows (see the module docstring) and copies them in."""

    def __init__(self, scale: float, now: datetime, password_hash: str) -> None:
        self.scale, self.now, self.hash = scale, now, password_hash
        self.rng = random.Random(18)
        self.criteria = [(c.id, c.title, c.blocker) for c in FI_OFFICE_V1.criteria]
        self.dealerships = [uuid.uuid4() for _ in range(DEALERSHIPS)]
        self.users = {d: [uuid.uuid4() for _ in range(USERS)] for d in self.dealerships}
        self.skill = {u: self.rng.uniform(0.3, 0.9) for us in self.users.values() for u in us}
        self.vectors = [[self.rng.gauss(0, 1) for _ in range(DIMENSION)] for _ in QUESTIONS]

    def _moment(self) -> datetime:
        return self.now - timedelta(seconds=self.rng.uniform(600, 365 * 86_400))

    def _body(self, skill: float) -> tuple[str, int, bool]:
        criteria, scores, blocker_failed = [], [], []
        for cid, title, blocker in self.criteria:
            draw = self.rng.random()
            if draw < 0.1:
                verdict, score = "not_applicable", 0
            elif draw < 0.1 + 0.9 * skill:
                verdict, score = "met", 100
            elif blocker:
                verdict, score = "missed", 0
            else:
                verdict, score = self.rng.choice((("partly", 50), ("missed", 0)))
            if blocker and verdict == "missed":
                blocker_failed.append(cid)
            if not blocker and verdict != "not_applicable":
                scores.append(score)
            criteria.append(
                {"id": cid, "title": title, "verdict": verdict, "score": score, "checks": [],
                 "advice": None, "blocker": blocker, "suggested_wording": None, "sources": []}
            )  # fmt: skip
        overall = round(sum(scores) / len(scores)) if scores else 0
        passed = overall >= 70 and not blocker_failed
        body = {
            "overall": overall, "passed": passed, "blockers_failed": blocker_failed,
            "criteria": criteria, "keep": [], "start": [], "stop": [],
            "rubric": {"id": FI_OFFICE_V1.id, "version": FI_OFFICE_V1.version},
            "scorer": {"kind": "rules", "model": None, "judged": [], "fell_back": []},
        }  # fmt: skip
        return json.dumps(body), overall, passed

    def dealership_rows(self, dealership: uuid.UUID, index: int) -> dict[str, list[Any]]:
        rows: dict[str, list[Any]] = {table: [] for table in COLUMNS}
        users = self.users[dealership]
        assigned = self._assignments(dealership, users, rows)
        progress: dict[tuple[uuid.UUID, uuid.UUID], list[int]] = {}  # attempts, best passing
        rows["users"] = [
            (u, f"bench-{index}-{n}@example.com", self.hash,
             "dealership_admin" if n == 0 else "user", dealership, f"Trainee{n}", f"D{index}",
             True, self.now, self.now)
            for n, u in enumerate(users)
        ]  # fmt: skip
        for _ in range(round(SESSIONS * self.scale / DEALERSHIPS)):
            user, started, assignment = self.rng.choice(users), self._moment(), None
            if assigned[user] and self.rng.random() < ASSIGNED_SHARE:
                assignment, since = self.rng.choice(assigned[user])
                started = since + (self.now - since) * self.rng.uniform(0, 0.99)
            completed, conversation = started + timedelta(minutes=10), uuid.uuid4()
            rows["conversations"].append(
                (conversation, dealership, user, "roleplay", "gap_objection", started,
                 completed, "gap_objection", completed, assignment)
            )  # fmt: skip
            for turn in range(2 * TURNS):
                role = "user" if turn % 2 == 0 else "assistant"
                said = "I hear you on the price; may I ask how long you keep cars?"
                rows["messages"].append(
                    (uuid.uuid4(), conversation, role, said, started + timedelta(seconds=turn))
                )
            body, overall, passed = self._body(self.skill[user])
            if assignment is not None:
                tally = progress.setdefault((assignment, user), [0, -1])
                tally[0] += 1
                if passed:
                    tally[1] = max(tally[1], overall)
            rows["scorecards"].append(
                (conversation, dealership, user, "scored", FI_OFFICE_V1.id, 1, "rules", body,
                 1, completed, completed, completed)
            )  # fmt: skip
        gaps: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID, str, int, datetime]] = []
        for _ in range(round(TRAINING * self.scale / DEALERSHIPS)):
            user, started, conversation = self.rng.choice(users), self._moment(), uuid.uuid4()
            rows["conversations"].append(
                (conversation, dealership, user, "training", None, started, started, None, None,
                 None)
            )  # fmt: skip
            answer = uuid.uuid4()
            for turn in range(TURNS):
                topic = self.rng.randrange(len(QUESTIONS))
                asked = self.rng.choice(_variants(QUESTIONS[topic]))
                at = started + timedelta(seconds=2 * turn)
                rows["messages"].append((uuid.uuid4(), conversation, "user", asked, at))
                answer = uuid.uuid4()
                rows["messages"].append(
                    (answer, conversation, "assistant", "Lead with the payment.", at)
                )
                if self.rng.random() < GAP_SHARE:
                    gaps.append((answer, conversation, user, asked, topic, at))
            rating = "down" if self.rng.random() < 0.25 else "up"
            reason = "Out of date." if rating == "down" and self.rng.random() < 0.5 else None
            rows["message_feedback"].append(
                (uuid.uuid4(), answer, conversation, dealership, user, rating, reason, started,
                 started)
            )  # fmt: skip
        self._complete(rows, progress)
        self._gaps(dealership, users[0], gaps, rows)
        return rows

    def _assignments(
        self, dealership: uuid.UUID, users: list[uuid.UUID], rows: dict[str, list[Any]]
    ) -> dict[uuid.UUID, list[tuple[uuid.UUID, datetime]]]:
        """`ASSIGNMENTS` assignments of `ASSIGNEES` users each (created 30-300 days ago,
        due 30 days later, ≥ 70 in ≥ 2 attempts); answers each user's (id, created_at)."""
        assigned: dict[uuid.UUID, list[tuple[uuid.UUID, datetime]]] = {u: [] for u in users}
        for _ in range(ASSIGNMENTS):
            assignment = uuid.uuid4()
            created = self.now - timedelta(days=self.rng.uniform(30, 300))
            rows["assignments"].append(
                (assignment, dealership, "gap_objection", created + timedelta(days=30), 70, 2,
                 "Practise the GAP objection.", False, users[0], created, created)
            )  # fmt: skip
            for user in self.rng.sample(users, ASSIGNEES):
                assigned[user].append((assignment, created))
                rows["assignment_assignees"].append(
                    [assignment, user, dealership, created, None, None]
                )
        return assigned

    def _complete(
        self,
        rows: dict[str, list[Any]],
        progress: dict[tuple[uuid.UUID, uuid.UUID], list[int]],
    ) -> None:
        """Marks done the assignees with ≥ 2 sessions and a passing one ≥ 70, as the
        scorecard that completed them would have (at the assignment's due date here)."""
        due = {row[0]: row[3] for row in rows["assignments"]}
        for row in rows["assignment_assignees"]:
            attempts, best = progress.get((row[0], row[1]), (0, -1))
            if attempts >= 2 and best >= 70:
                row[4] = min(due[row[0]], self.now)

    def _gaps(
        self,
        dealership: uuid.UUID,
        admin: uuid.UUID,
        questions: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID, str, int, datetime]],
        rows: dict[str, list[Any]],
    ) -> None:
        """The gap questions (`GAP_SHARE` of the training answers) grouped by topic into
        `GAPS` gaps (60 questions: topic i goes to gap i % 50); `UNGROUPED_SHARE` not yet
        grouped by the worker; `RESOLVED_SHARE` of the gaps resolved."""
        ids = [uuid.uuid4() for _ in range(GAPS)]
        members: dict[int, int] = {}
        for answer, conversation, user, asked, topic, at in questions:
            reason = self.rng.choices(GAP_REASONS, GAP_WEIGHTS)[0]
            score = None if reason == "no_material" else round(self.rng.uniform(0.2, 0.6), 3)
            gap, vector = topic % GAPS, None
            if self.rng.random() >= UNGROUPED_SHARE:
                members[gap] = members.get(gap, 0) + 1
                vector = self.vectors[topic]
            rows["knowledge_gap_questions"].append(
                (answer, dealership, conversation, user, asked, "en", reason, score, at,
                 None if vector is None else ids[gap], vector,
                 None if vector is None else EMBEDDING_MODEL)
            )  # fmt: skip
        for gap, gap_id in enumerate(ids):
            count = members.get(gap, 0)
            resolved = self.now - timedelta(days=self.rng.uniform(1, 180))
            resolved_at = resolved if self.rng.random() < RESOLVED_SHARE else None
            rows["knowledge_gaps"].append(
                (gap_id, dealership, QUESTIONS[gap], EMBEDDING_MODEL,
                 [v * count for v in self.vectors[gap]], count,
                 "resolved" if resolved_at else "open", resolved_at,
                 admin if resolved_at else None, "Added to the F&I guide." if resolved_at else None,
                 self.now - timedelta(days=366))
            )  # fmt: skip


COLUMNS = {
    "users": ("id", "email", "password_hash", "role", "dealership_id", "first_name",
              "last_name", "active", "created_at", "updated_at"),
    "assignments": ("id", "dealership_id", "scenario_id", "due_at", "min_score",
                    "min_attempts", "note", "everyone", "created_by", "created_at",
                    "updated_at"),
    "assignment_assignees": ("assignment_id", "user_id", "dealership_id", "created_at",
                             "completed_at", "overdue_notified_at"),
    "conversations": ("id", "dealership_id", "user_id", "mode", "scenario", "created_at",
                      "updated_at", "scenario_id", "completed_at", "assignment_id"),
    "messages": ("id", "conversation_id", "role", "content", "created_at"),
    "scorecards": ("conversation_id", "dealership_id", "user_id", "status", "rubric_id",
                   "rubric_version", "scorer_kind", "body", "attempts", "created_at",
                   "updated_at", "scored_at"),
    "message_feedback": ("id", "message_id", "conversation_id", "dealership_id", "user_id",
                         "rating", "reason", "created_at", "updated_at"),
    "knowledge_gaps": ("id", "dealership_id", "title", "embedding_model", "centroid",
                       "member_count", "status", "resolved_at", "resolved_by", "resolve_note",
                       "created_at"),
    "knowledge_gap_questions": ("message_id", "dealership_id", "conversation_id", "user_id",
                                "question", "language", "reason", "top_score", "asked_at",
                                "gap_id", "embedding", "embedding_model"),
}  # fmt: skip


async def seed(dsn: str, scale: float, now: datetime) -> tuple[Seed, float]:
    """Seeds the group; answers it and the seconds it took (COPY plus rebuild)."""
    started = time.perf_counter()
    hasher = Argon2PasswordHasher(time_cost=1, memory_cost_kib=8192)
    group = Seed(scale, now, hasher.hash(PASSWORD))
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("SET session_replication_role = replica")
        await connection.copy_records_to_table(
            "dealerships",
            records=[
                (d, f"Bench Motors {i}", True, 0, now, now, i == 0)
                for i, d in enumerate(group.dealerships)
            ],
            columns=(
                "id",
                "name",
                "active",
                "knowledge_base_generation",
                "created_at",
                "updated_at",
                "leaderboard_enabled",
            ),
        )
        for index, dealership in enumerate(group.dealerships):
            rows = group.dealership_rows(dealership, index)
            for table, columns in COLUMNS.items():
                await connection.copy_records_to_table(table, records=rows[table], columns=columns)
        await connection.execute("SET session_replication_role = origin")
        await connection.execute("SELECT analytics_rebuild()")
        await connection.execute("VACUUM ANALYZE")  # the steady state autovacuum keeps
    finally:
        await connection.close()
    return group, time.perf_counter() - started
