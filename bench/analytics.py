"""`python -m bench.analytics [--scale S] [--requests N]` (`just bench-analytics`): the
managers' analytics at dealership-group scale (issue 18).

Seeds a fresh database with a generated group, then measures each analytics endpoint
through the real HTTP API (`avataradam serve`, one process) for one dealership.

**The data** (at `--scale 1`, the default; `--scale 0.1` divides the sessions and
messages by ten, the dealerships and users stay):

- 50 dealerships x 40 users (user 0 of each is its dealership admin), every one able to
  sign in;
- 200,000 roleplay sessions, all completed and scored against the built-in F&I office
  rubric (`fi-office` v1: its criteria, titles and blocker flags), 4,000 per dealership,
  started uniformly over the 365 days before the run and completed 10 minutes later.
  Each user has a skill in [0.3, 0.9]; a criterion is `met` with that probability,
  `partly` or `missed` otherwise, `not_applicable` 1 time in 10; `overall` is the mean of
  the applicable non-blocker scores, `passed` needs ≥ 70 and no blocker missed;
- 50,000 training conversations (1,000 per dealership) of 4 questions and 4 answers,
  the questions drawn from 60 F&I questions written 5 ways each (case, spacing, trailing
  punctuation), so the normalised rollup counts 60 distinct ones;
- 2,000,000 messages: 8 per session and per training conversation;
- 50,000 ratings (one per training conversation; 1 in 4 down, half of those with a
  reason);
- assignments (migration 0020): 20 per dealership (1,000), each of the `gap_objection`
  scenario for 10 of its users drawn at random (10,000 assignees), created 30-300 days
  before the run, due 30 days later, ≥ 70 in ≥ 2 attempts; 15 % of the roleplay
  sessions of a user with assignments were started for one of them (`assignment_id`,
  after it was created), and the assignees who met the bar are marked done;
- knowledge gaps (migration 0021): 5 % of the training answers (about 10,000) recorded
  as gap questions (reason `no_material` 50 %, `weak_material` 35 %, `thumbs_down` 10 %,
  `reported_inaccurate` 5 %; a top score unless `no_material`), grouped by their
  question into 50 gaps per dealership (2,500; 384-dimension vectors, one per question
  with the gap's centroid their sum), 2 % not yet grouped; 1 gap in 5 resolved 1-180
  days before the run (later questions make it `recurred`).

Rows are written with binary COPY (`copy_records_to_table`) with the rollup triggers
switched off (`session_replication_role = replica`); then `analytics_rebuild()`
(migration 0022) computes the rollups from the raw rows, as the migration's backfill
does, so they are consistent with them, and VACUUM ANALYZE leaves the tables as
autovacuum would. The seed time reported covers all three.

**The measurement**: one API process (uvicorn, production settings, hashing embedder:
no model is loaded for analytics), keep-alive HTTP/1.1, requests one after another;
each endpoint warmed with 10 requests, then `--requests` (default 200) timed from
send to full body; p50 and p95 in ms. The goal is p95 ≤ 150 ms per endpoint. Then the
analytics repository's queries, the knowledge-gaps list (all, and the overview's open
ones) and the person's assignments with their progress, for the same dealership over
the longest range (366 days), are run under `EXPLAIN (ANALYZE, BUFFERS)`; plans go into
the report.

Writes `bench/results/<date>-analytics[-scale<S>].json` and `.md`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from avataradam.adapters.postgres.analytics import PostgresAnalyticsRepository
from avataradam.adapters.postgres.assignments import PostgresAssignmentRepository
from avataradam.adapters.postgres.knowledge_gaps import PostgresKnowledgeGapRepository
from avataradam.domain.model.knowledge_gaps import GapStatus
from bench.analytics_seed import COLUMNS, DEALERSHIPS, PASSWORD, USERS, Seed, seed
from bench.stack import ROOT, BenchDatabase, BenchRedis, Server, base_environment

RESULTS = ROOT / "bench" / "results"
GOAL_P95_MS = 150.0


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(base_url: str, cases: dict[str, tuple[str, dict[str, str]]], n: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for name, (path, headers) in cases.items():
            for _ in range(10):
                response = client.get(path, headers=headers)
                if response.status_code != 200:
                    raise RuntimeError(f"{name}: {response.status_code} {response.text[:300]}")
            times = []
            for _ in range(n):
                t0 = time.perf_counter()
                client.get(path, headers=headers).read()
                times.append((time.perf_counter() - t0) * 1000)
            out[name] = {
                "path": path,
                "p50_ms": round(statistics.median(times), 2),
                "p95_ms": round(_percentile(times, 0.95), 2),
                "bytes": len(response.content),
            }
    return out


class _Recorder:
    """Stands in for the repository's connection: records each query, then runs it."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection
        self.queries: list[tuple[str, tuple[object, ...]]] = []

    async def fetch(self, query: str, *args: object) -> list[asyncpg.Record]:
        self.queries.append((query, args))
        return await self.connection.fetch(query, *args)

    async def fetchrow(self, query: str, *args: object) -> asyncpg.Record | None:
        self.queries.append((query, args))
        return await self.connection.fetchrow(query, *args)


async def explain(
    dsn: str, dealership: uuid.UUID, user: uuid.UUID, today: date
) -> list[dict[str, str]]:
    """The plans of every analytics query for one dealership over 366 days."""
    connection = await asyncpg.connect(dsn)
    try:
        recorder = _Recorder(connection)
        repository = PostgresAnalyticsRepository(recorder)  # type: ignore[arg-type]
        d, start = dealership, today - timedelta(days=365)
        await repository.totals(dealership_id=d, start=start, end=today)
        await repository.weeks(dealership_id=d, start=start, end=today)
        await repository.criteria(dealership_id=d, start=start, end=today)
        await repository.top_questions(dealership_id=d, start=start, end=today, limit=20)
        await repository.feedback(dealership_id=d, start=start, end=today)
        await repository.ranks(dealership_id=d, start=start, end=today)
        await repository.totals(dealership_id=d, start=start, end=today, user_id=user)
        await repository.user_criteria(dealership_id=d, start=start, end=today, user_id=user)
        await repository.sessions(dealership_id=d, start=start, end=today, user_id=user, limit=100)
        gaps = PostgresKnowledgeGapRepository(recorder)  # type: ignore[arg-type]
        since = datetime.combine(start, datetime.min.time(), UTC)
        until = datetime.combine(today + timedelta(days=1), datetime.min.time(), UTC)
        await gaps.list_gaps(d, start=since, end=until, status=None, cursor=None, limit=51)
        await gaps.list_gaps(
            d, start=since, end=until, status=GapStatus.OPEN, cursor=None, limit=11
        )
        assignments = PostgresAssignmentRepository(recorder)  # type: ignore[arg-type]
        page = await assignments.list_page(
            dealership_id=d, assignee_id=user, cursor=None, limit=200
        )
        await assignments.progress([a.id for a in page])
        plans = []
        for query, args in recorder.queries:
            rows = await connection.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {query}", *args)
            plans.append({"query": query, "plan": "\n".join(r[0] for r in rows)})
        return plans
    finally:
        await connection.close()


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"# Analytics at group scale ({result['measured_at'][:10]})",
        "",
        f"`python -m bench.analytics --scale {result['scale']}` (`just bench-analytics`): "
        f"{DEALERSHIPS} dealerships × {USERS} users, {result['rows']['scorecards']:,} scored "
        f"roleplay sessions, {result['rows']['messages']:,} messages, "
        f"{result['rows']['message_feedback']:,} ratings, "
        f"{result['rows']['assignments']:,} assignments "
        f"({result['rows']['assignment_assignees']:,} assignees), "
        f"{result['rows']['knowledge_gap_questions']:,} knowledge-gap questions in "
        f"{result['rows']['knowledge_gaps']:,} gaps (generated: bench/analytics.py). "
        f"Seeded with binary COPY, rollups rebuilt from the raw rows, VACUUM ANALYZE: "
        f"**{result['seed_s']} s**. One `avataradam serve` process, {result['requests']} "
        "sequential keep-alive requests per endpoint after 10 warm-up ones, for one "
        f"dealership. Goal: p95 ≤ {GOAL_P95_MS:.0f} ms.",
        "",
        "| endpoint | request | p50 ms | p95 ms | body bytes | goal |",
        "|---|---|---|---|---|---|",
    ]
    for name, m in result["endpoints"].items():
        verdict = "met" if m["p95_ms"] <= GOAL_P95_MS else "MISSED"
        lines.append(
            f"| {name} | `{m['path']}` | {m['p50_ms']} | {m['p95_ms']} | {m['bytes']} | {verdict} |"
        )
    lines += [
        "",
        f"Machine: {result['machine']}; load average (1 min) after the run: "
        f"{result['load_average_1m_after']} (a shared machine).",
        "",
        "## Query plans (366 days, one dealership)",
        "",
    ]
    for plan in result["plans"]:
        lines += ["```sql", plan["query"], "```", "", "```", plan["plan"], "```", ""]
    return "\n".join(lines)


async def _rows(dsn: str) -> dict[str, int]:
    connection = await asyncpg.connect(dsn)
    try:
        return {
            table: int(await connection.fetchval(f"SELECT count(*) FROM {table}"))  # noqa: S608 - constants
            for table in ("dealerships", *COLUMNS, "analytics_daily", "criterion_daily",
                          "question_daily", "feedback_daily")
        }  # fmt: skip
    finally:
        await connection.close()


def run(scale: float, requests: int) -> dict[str, Any]:
    now = datetime.now(UTC)
    bench_redis = BenchRedis().start()
    db = BenchDatabase().create()
    try:
        group, seed_s = asyncio.run(seed(db.url, scale, now))
        rows = asyncio.run(_rows(db.url))
        env = base_environment(db.url, bench_redis.url) | {
            "AVATARADAM_EMBEDDER": "hashing",
            # This checkout's sources, also when the venv installs another one.
            "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}",
        }
        with tempfile.TemporaryDirectory() as logs:
            server = Server("api", None, env, Path(logs))
            server.start()
            try:
                server.wait_healthy(120)
                endpoints = _measure_api(server.base_url, group, now.date(), requests)
            finally:
                server.stop()
        dealership = group.dealerships[0]
        plans = asyncio.run(explain(db.url, dealership, group.users[dealership][1], now.date()))
    finally:
        db.drop()
        bench_redis.stop()
    return {
        "scale": scale,
        "requests": requests,
        "seed_s": round(seed_s, 1),
        "rows": rows,
        "endpoints": endpoints,
        "goal_p95_ms": GOAL_P95_MS,
        "met": all(m["p95_ms"] <= GOAL_P95_MS for m in endpoints.values()),
        "plans": plans,
        "machine": f"{os.cpu_count()} cores, {platform.platform()}, "
        f"Python {platform.python_version()}",
        "measured_at": now.isoformat(timespec="seconds"),
        "load_average_1m_after": round(os.getloadavg()[0], 2),
    }


def _measure_api(base_url: str, group: Seed, today: date, requests: int) -> dict[str, Any]:
    dealership = group.dealerships[0]

    def token(n: int) -> dict[str, str]:
        response = httpx.post(
            f"{base_url}/v1/auth/token",
            json={"email": f"bench-0-{n}@example.com", "password": PASSWORD},
            timeout=30,
        )
        response.raise_for_status()
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    admin, trainee = token(0), token(1)
    trainee_id = group.users[dealership][1]
    year = f"from={today - timedelta(days=365)}&to={today}"
    as_csv = {"Accept": "text/csv"}
    cases = {
        "overview, 30 days": ("/v1/analytics/overview", admin),
        "overview, 366 days": (f"/v1/analytics/overview?{year}", admin),
        "overview CSV (weekly), 366 days": (f"/v1/analytics/overview?{year}", admin | as_csv),
        "person (admin), 366 days": (f"/v1/analytics/users/{trainee_id}?{year}", admin),
        "person (self) CSV, 366 days": (
            f"/v1/analytics/users/{trainee_id}?{year}",
            trainee | as_csv,
        ),
        "leaderboard, 366 days": (f"/v1/analytics/leaderboard?{year}", trainee),
        "knowledge gaps, 30 days": ("/v1/analytics/knowledge-gaps", admin),
        "knowledge gaps, 366 days": (f"/v1/analytics/knowledge-gaps?{year}", admin),
        "knowledge gaps open, 366 days": (
            f"/v1/analytics/knowledge-gaps?{year}&status=open",
            admin,
        ),
        "knowledge gaps CSV, 366 days": (f"/v1/analytics/knowledge-gaps?{year}", admin | as_csv),
    }
    return measure(base_url, cases, requests)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="share of sessions/messages")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per endpoint")
    args = parser.parse_args()
    result = run(args.scale, args.requests)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    name = f"{stamp}-analytics" + ("" if args.scale == 1 else f"-scale{args.scale:g}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(markdown(result))
    print(markdown(result).split("## Query plans")[0])
    return 0 if result["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
