"""`python -m bench.retrieval.product_fusion OUT.json`: the labelled set through the
product's own search on PostgreSQL, keyword fusion off and on (issue 16).

`bench/phases/retrieval.py` runs the product in memory, where there is no full-text
search (the product's fusion needs the `chunks` table in PostgreSQL), and measures the
fusion beside it (`bench/retrieval/keyword.py`). This runs the same ingestion and
questions (every author set, `top_k` 10, cache off, one round) through `build_container`
on a fresh migrated database (`bench_fts_product_<random>` on `ADMIN_DSN`, dropped
afterwards) with the PostgreSQL vector index, once with
`AVATARADAM_SEARCH_KEYWORD_FUSION=false` and once with `true`, for `minilm+context`
(the defaults) and `minilm`; Redis is `AVATARADAM_REDIS_URL` (default db 14).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

from avataradam.adapters.memory.queue import InMemoryTaskQueue
from avataradam.entrypoints.bootstrap import Overrides, build_container
from avataradam.entrypoints.settings import load_settings
from bench.phases import retrieval
from bench.retrieval import metrics
from bench.retrieval.questions import AUTHORS, QUESTIONS, TYPES
from bench.stack import ADMIN_DSN
from ops.harness.services import FreshDatabase

METHODS = {
    "minilm+context": {"AVATARADAM_EMBEDDING_CONTEXT": "title_section"},
    "minilm": {"AVATARADAM_EMBEDDING_CONTEXT": "none"},
}


def _summary(asked: list[retrieval.Asked]) -> dict[str, Any]:
    """Per author set and all of them (`both`, its name from when there were two):
    `metrics.summarise` overall and per answerable type."""
    out: dict[str, Any] = {}
    for author in (*AUTHORS, "both"):
        mine = [a for a in asked if a.question.relevant and author in {"both", a.question.author}]
        out[author] = {"overall": metrics.summarise([a.rank for a in mine], retrieval.TOP_K)} | {
            kind: metrics.summarise(
                [a.rank for a in mine if a.question.type == kind], retrieval.TOP_K
            )
            for kind in TYPES
            if kind != "unanswerable"
        }
    return out


async def _method(environment: dict[str, str]) -> dict[str, Any]:
    database = FreshDatabase(ADMIN_DSN, prefix="bench_fts_product").create()
    env = environment | {
        "AVATARADAM_DATABASE_URL": database.url,
        "AVATARADAM_REDIS_URL": os.environ.get("AVATARADAM_REDIS_URL", "redis://127.0.0.1:6379/14"),
        "AVATARADAM_VECTOR_BACKEND": "postgres",
        "AVATARADAM_CACHE_ENABLED": "false",
        "AVATARADAM_EMBEDDER": "local",
    }
    result: dict[str, Any] = {}
    try:
        for fusion in ("false", "true"):
            settings = load_settings(env | {"AVATARADAM_SEARCH_KEYWORD_FUSION": fusion}, None)
            container = build_container(settings, Overrides(queue=InMemoryTaskQueue()))
            await container.start()
            try:
                await container.warm_up()
                if not result:
                    trainee, _ = await retrieval._ingest(container)
                await retrieval._ask(container, trainee, QUESTIONS[0])  # one-time costs
                asked = [await retrieval._ask(container, trainee, q) for q in QUESTIONS]
            finally:
                await container.close()
            result["fused" if fusion == "true" else "plain"] = {
                "scores": _summary(asked),
                "p50_ms": round(statistics.median(a.latency_ms for a in asked), 2),
                "questions": [
                    {"text": a.question.text, "author": a.question.author, "rank": a.rank}
                    for a in asked
                ],
            }
    finally:
        database.drop()
    return result


async def measure() -> dict[str, Any]:
    return {name: await _method(environment) for name, environment in METHODS.items()}


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(json.dumps(asyncio.run(measure()), indent=1) + "\n")
