"""Completing and scoring roleplay sessions on a live system (issue 17): a real
`avataradam serve` process and real Dramatiq workers on PostgreSQL and Redis.

A session completed through the API is scored by a worker once: a duplicate
`complete`, a replayed task message and a worker killed mid-scoring (SIGKILL of its
process group while it holds the scorecard's lease, made observable with the
`AVATARADAM_SCORING_HOLD_S` testing knob) all end in one scorecard, scored once and
announced once (one `conversation.scored` webhook delivery). The processes use a private
`redis-server` of their own, so the task messages are taken by the workers this module
starts and no other.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from avataradam.domain.tasks import SCORE_CONVERSATION
from avataradam.domain.training.builtin import BUILT_IN_RUBRICS
from avataradam.entrypoints.bootstrap import build_container
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.settings import load_settings
from ops.harness.environment import FAST_RECONCILE
from ops.harness.services import PrivateRedis
from tests.integration.conftest import (
    Account,
    Tenant,
    api_process,
    new_tenant,
    problem,
    service_environment,
)
from tests.support.processes import ServiceProcess

TRANSCRIPT = Path(__file__).parents[1] / "data" / "transcripts" / "t01_exemplary_vsc_en.json"
TRAINEE_LINES = [
    m["text"] for m in json.loads(TRANSCRIPT.read_text())["messages"] if m["role"] == "user"
]
LEASE_S = "4"
HEARTBEAT_TIMEOUT_S = float(FAST_RECONCILE["AVATARADAM_REDIS_QUEUE_HEARTBEAT_TIMEOUT_S"])


@dataclass
class Stack:
    database_url: str
    redis_url: str
    logs: Path
    container: Container
    url: str

    def worker(self, name: str, **extra: str) -> ServiceProcess:
        env = (
            service_environment(self.database_url, self.redis_url)
            | FAST_RECONCILE
            | {"AVATARADAM_LOGGING_LEVEL": "INFO", "AVATARADAM_SCORING_LEASE_S": LEASE_S}
            | extra
        )
        command = ["worker", "--processes", "1", "--threads", "2"]
        return ServiceProcess(command, env, self.logs / f"{name}.log").start()


@pytest.fixture(scope="module")
async def stack(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    redis_server = PrivateRedis().start()
    own_redis = redis_server.url
    logs = tmp_path_factory.mktemp("scoring")
    settings = load_settings(service_environment(database_url, own_redis), env_file=None)
    container = build_container(settings)
    await container.start()
    try:
        with api_process(service_environment(database_url, own_redis), logs) as url:
            yield Stack(database_url, own_redis, logs, container, url)
    finally:
        await container.close()
        redis_server.stop()


@pytest.fixture
async def http(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.url, timeout=60) as client:
        yield client


async def _session(http: httpx.AsyncClient, trainee: Account, turns: int = 4) -> str:
    """A roleplay with `turns` of the exemplary trainee's lines; answers its id."""
    started = await http.post(
        "/v1/conversations", json={"mode": "roleplay"}, headers=trainee.headers
    )
    assert started.status_code == 201, started.text
    conversation_id = str(started.json()["id"])
    for line in TRAINEE_LINES[:turns]:
        said = await http.post(
            f"/v1/conversations/{conversation_id}/messages",
            json={"content": line},
            headers=trainee.headers,
        )
        assert said.status_code == 201, said.text
    return conversation_id


async def _subscribe(http: httpx.AsyncClient, admin: Account) -> str:
    """A `conversation.scored` subscription (its receiver need not answer: the
    delivery row is what counts)."""
    created = await http.post(
        "/v1/webhooks",
        json={"url": "http://127.0.0.1:9/scored", "events": ["conversation.scored"]},
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def _scorecard(
    http: httpx.AsyncClient, account: Account, conversation_id: str, timeout_s: float = 90
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        response = await http.get(
            f"/v1/conversations/{conversation_id}/scorecard", headers=account.headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] != "pending":
            return body
        assert time.monotonic() < deadline, f"still pending after {timeout_s} s: {body}"
        await asyncio.sleep(0.2)


async def _deliveries(pool: asyncpg.Pool, subscription_id: str) -> int:
    return int(
        await pool.fetchval(
            "SELECT count(*) FROM webhook_deliveries WHERE subscription_id = $1"
            " AND event_type = 'conversation.scored'",
            uuid.UUID(subscription_id),
        )
    )


async def _eventually(pool: asyncpg.Pool, subscription_id: str, count: int) -> None:
    deadline = time.monotonic() + 30
    while await _deliveries(pool, subscription_id) < count:
        assert time.monotonic() < deadline, "the conversation.scored event never fanned out"
        await asyncio.sleep(0.2)


async def _row(pool: asyncpg.Pool, conversation_id: str) -> asyncpg.Record:
    rows = await pool.fetch(
        "SELECT status, attempts, scored_at, lease_token FROM scorecards"
        " WHERE conversation_id = $1",
        uuid.UUID(conversation_id),
    )
    assert len(rows) == 1
    return rows[0]


async def test_a_completed_session_is_scored_once_with_verified_quotes(
    stack: Stack, http: httpx.AsyncClient, super_admin: Account, pg_pool: asyncpg.Pool
) -> None:
    tenant = await new_tenant(http, super_admin)
    other = await new_tenant(http, super_admin)
    subscription = await _subscribe(http, tenant.admin)
    conversation_id = await _session(http, tenant.user)
    worker = stack.worker("scorer")
    try:
        completed = await http.post(
            f"/v1/conversations/{conversation_id}/complete", headers=tenant.user.headers
        )
        assert completed.status_code == 202, completed.text
        assert completed.headers["location"] == f"/v1/conversations/{conversation_id}/scorecard"
        first = completed.json()
        assert first["status"] == "pending"
        latest = BUILT_IN_RUBRICS.latest("fi-office").version  # v2 since the blocker rework
        assert first["rubric"] == {"id": "fi-office", "version": latest}
        assert first["scorer"]["kind"] == "rules"
        again = await http.post(
            f"/v1/conversations/{conversation_id}/complete", headers=tenant.user.headers
        )
        assert again.status_code == 202, again.text
        assert again.json()["created_at"] == first["created_at"]

        card = await _scorecard(http, tenant.user, conversation_id)
        assert card["status"] == "scored", card
        assert card["criteria"]
        assert 0 <= card["overall"] <= 100
        detail = await http.get(f"/v1/conversations/{conversation_id}", headers=tenant.user.headers)
        trainee = {m["id"]: m["content"] for m in detail.json()["messages"] if m["role"] == "user"}
        quotes = [e for c in card["criteria"] for k in c["checks"] for e in k["evidence"]]
        assert quotes
        assert all(e["quote"] in trainee[e["message_id"]] for e in quotes)
        await _eventually(pg_pool, subscription, 1)
        scored = await _row(pg_pool, conversation_id)
        assert scored["attempts"] == 1

        # A replayed task message, then a duplicate `complete`: nothing new.
        await stack.container.queue.enqueue(
            SCORE_CONVERSATION, {"conversation_id": conversation_id}
        )
        duplicate = await http.post(
            f"/v1/conversations/{conversation_id}/complete", headers=tenant.user.headers
        )
        assert duplicate.status_code == 202
        assert duplicate.json()["status"] == "scored"
        await _drained(stack)
        assert await _row(pg_pool, conversation_id) == scored
        assert await _deliveries(pg_pool, subscription) == 1

        # The admin of the dealership reads it; no one of another dealership does.
        by_admin = await http.get(
            f"/v1/conversations/{conversation_id}/scorecard", headers=tenant.admin.headers
        )
        assert by_admin.json() == card
        await _refused_elsewhere(http, other, conversation_id)
        late = await http.post(
            f"/v1/conversations/{conversation_id}/messages",
            json={"content": "One more thing."},
            headers=tenant.user.headers,
        )
        assert late.status_code == 409
        assert problem(late)["code"] == "conversation_completed"
    finally:
        worker.stop()


async def _drained(stack: Stack, timeout_s: float = 30) -> None:
    """Waits until the worker took every message of this module's queue and finished it
    (Dramatiq's Redis broker: the queue's list is empty and no message is in flight,
    a killed worker's included: the broker gives those back once its heartbeat is
    `AVATARADAM_REDIS_QUEUE_HEARTBEAT_TIMEOUT_S` old)."""
    redis = stack.container.redis
    deadline = time.monotonic() + timeout_s
    while True:
        waiting = await redis.llen("avataradam:ingest")
        in_flight = 0
        for key in await redis.keys("avataradam:__acks__.*.ingest"):
            in_flight += await redis.scard(key)
        if waiting == 0 and in_flight == 0:
            return
        assert time.monotonic() < deadline, "the worker did not drain its queue"
        await asyncio.sleep(0.2)


async def _refused_elsewhere(http: httpx.AsyncClient, other: Tenant, conversation_id: str) -> None:
    for account in (other.user, other.admin):
        read = await http.get(
            f"/v1/conversations/{conversation_id}/scorecard", headers=account.headers
        )
        assert read.status_code == 404, read.text
        assert problem(read)["code"] == "not_found"
        complete = await http.post(
            f"/v1/conversations/{conversation_id}/complete", headers=account.headers
        )
        assert complete.status_code == 404, complete.text
    rescore = await http.post(
        f"/v1/conversations/{conversation_id}/scorecard/rescore", headers=other.admin.headers
    )
    assert rescore.status_code == 404, rescore.text


async def test_a_training_conversation_is_not_completed(
    stack: Stack, http: httpx.AsyncClient, super_admin: Account
) -> None:
    tenant = await new_tenant(http, super_admin)
    started = await http.post(
        "/v1/conversations", json={"mode": "training"}, headers=tenant.user.headers
    )
    conversation_id = started.json()["id"]
    refused = await http.post(
        f"/v1/conversations/{conversation_id}/complete", headers=tenant.user.headers
    )
    assert refused.status_code == 422, refused.text
    assert problem(refused)["code"] == "not_a_roleplay"
    missing = await http.get(
        f"/v1/conversations/{conversation_id}/scorecard", headers=tenant.user.headers
    )
    assert missing.status_code == 404


async def test_a_worker_killed_mid_scoring_leaves_it_to_another_scored_once(
    stack: Stack, http: httpx.AsyncClient, super_admin: Account, pg_pool: asyncpg.Pool
) -> None:
    tenant = await new_tenant(http, super_admin)
    subscription = await _subscribe(http, tenant.admin)
    conversation_id = await _session(http, tenant.user, turns=3)
    first = stack.worker("killed", AVATARADAM_SCORING_HOLD_S="120")
    second: ServiceProcess | None = None
    try:
        completed = await http.post(
            f"/v1/conversations/{conversation_id}/complete", headers=tenant.user.headers
        )
        assert completed.status_code == 202, completed.text
        deadline = time.monotonic() + 60
        while (await _row(pg_pool, conversation_id))["lease_token"] is None:
            assert time.monotonic() < deadline, "no worker took the scorecard"
            await asyncio.sleep(0.1)
        held = await _row(pg_pool, conversation_id)
        assert (held["status"], held["attempts"]) == ("pending", 1), "finished before the kill"
        process = first.process
        assert process is not None
        # The whole group: the CLI process and the Dramatiq processes it forked.
        os.killpg(os.getpgid(process.pid), signal.SIGKILL)
        process.wait(10)

        second = stack.worker("resumed")
        card = await _scorecard(http, tenant.user, conversation_id, timeout_s=120)
        assert card["status"] == "scored", card
        assert card["criteria"]
        done = await _row(pg_pool, conversation_id)
        assert done["attempts"] == 2
        await _eventually(pg_pool, subscription, 1)
        # The message the killed worker had taken comes back to the queue: it does nothing.
        await _drained(stack, timeout_s=HEARTBEAT_TIMEOUT_S + 60)
        assert await _row(pg_pool, conversation_id) == done
        assert await _deliveries(pg_pool, subscription) == 1
    finally:
        first.stop()
        if second is not None:
            second.stop()
