"""Keyword search and sparse vectors fused with the vector ranking by reciprocal-rank
fusion (RRF).

Issue 16 ("Keyword help where it pays") measured it in the retrieval bench
(bench/results/2026-12-01-retrieval-fts.md): the vector top 50 fused with the top 50 of
PostgreSQL full-text search (`KeywordSearch`: every word of the question, English and
Spanish, accents folded, over title + heading path + text) by RRF at k = 60 (Cormack,
Clarke and Büttcher, SIGIR 2009) raised MRR@10 on every embedder setup measured
(+0.014 to +0.054) and made no question worse: exact words the vectors blur (form
numbers, acronyms, "not") lift the passages that hold them.

A Spanish question's F&I terms rendered in English (`domain.glossary_es`: "contrato de
servicio" → "service contract") are searched as a keyword query of their own, one more
ranking: neither full-text search nor (enough) the vectors carry a Spanish question to
the English passage that answers it.

Sparse vectors (multilingual-e5-small's "latent terms", `EmbedsSparse`, searched by
indexes that keep them, `SparseSearch`) add a ranking, also its top 50, fused in the
order dense, sparse, keywords (the question's words, then its terms in English).
Measured on the retrieval bench's labelled set (bench/results/2026-12-01-retrieval.md):
dense + keywords MRR@10 0.76 overall and 0.62 in Spanish; + sparse 0.79 / 0.71; all of
them with the Spanish terms in English, through the product on PostgreSQL (the
`defaults` row) 0.83 / 0.78, and 0.78 on a held-out Spanish set never used for tuning.

A passage's `score` stays what the client and the chat relevance floor read: the cosine
similarity of its vector to the question. Passages found by the keywords or the sparse
vectors alone were not among the vector ranking fetched, so their cosine is not known;
it is at most the lowest cosine of that ranking (they ranked below all of it), and that
bound is what they carry: a floor they pass is also passed by every passage the vector
ranking fetched, so it never lets a passage through that the vectors alone would not
outrank. When the vector ranking came back short (fewer passages than asked: the index
holds no vector for the keyword-only passage in the generation searched), they carry
0.0. The fused ranking is therefore not ordered by `score`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:  # domain.retrieval imports this module
    from avataradam.domain.retrieval import SearchHit

RRF_K = 60.0
"""Cormack et al.'s constant: a rank-1 passage weighs 1/61, a rank-50 one 1/110."""
DEPTH = 50
"""Passages taken from each ranking before fusion (the product's `MAX_TOP_K`)."""
NAME = "rrf60-en_es-websearch+es_terms"
"""Names the keyword fusion in retrieval cache keys (a change of it must not serve old
keys): the question's words, and its Spanish F&I terms in English
(`domain.glossary_es`); `name` adds what else is fused."""


def name(*, keywords: bool, sparse: bool) -> str:
    """The ranking retrieval keys name: `vector` alone, or the rankings fused with it
    (`NAME` for the keywords, `+sparse` for the sparse vectors)."""
    if not keywords and not sparse:
        return "vector"
    return (NAME if keywords else "rrf60") + ("+sparse" if sparse else "")


def rrf(rankings: Sequence[Sequence[str]], *, k: float = RRF_K) -> list[str]:
    """Reciprocal-rank fusion of `rankings` (ids, best first): every id scores the sum
    over the rankings holding it of 1 / (k + its 1-based rank there), best first. Ties
    go to the id seen at the better rank in any ranking, then to the earlier ranking,
    then to the id itself (as bench/retrieval/keyword.py's `rrf`)."""
    if k <= 0:
        raise ValueError("k must be positive")
    scores: dict[str, float] = {}
    first_seen: dict[str, tuple[int, int]] = {}
    for which, ranking in enumerate(rankings):
        seen: set[str] = set()
        for rank, item in enumerate(ranking, start=1):
            if item in seen:  # a duplicate counts once, at its better rank
                continue
            seen.add(item)
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
            first_seen[item] = min(first_seen.get(item, (rank, which)), (rank, which))
    return sorted(scores, key=lambda item: (-scores[item], first_seen[item], item))


async def fuse(
    vector_hits: Sequence[SearchHit],
    others: Sequence[Sequence[str]],
    *,
    top_k: int,
    complete: bool,
    fetch: Callable[[list[str]], Awaitable[list[SearchHit]]],
) -> list[SearchHit]:
    """The `top_k` best of `vector_hits` (servable, best first) and the `others`
    rankings (chunk ids, best first: the sparse vectors', the keywords') fused by `rrf`.
    `fetch` answers the servable passages of ids the vector ranking lacks (scored 0.0;
    any it does not answer are skipped); `complete`: whether the vector ranking held as
    many passages as were asked of it (see the module on scores)."""
    by_id = {hit.chunk_id: hit for hit in vector_hits}
    fused = rrf([list(by_id), *others])
    bound = min((hit.score for hit in vector_hits), default=0.0) if complete else 0.0
    ranked: list[SearchHit] = []
    while fused and len(ranked) < top_k:
        page, fused = fused[: top_k - len(ranked)], fused[top_k - len(ranked) :]
        missing = [chunk_id for chunk_id in page if chunk_id not in by_id]
        if missing:
            for hit in await fetch(missing):
                by_id[hit.chunk_id] = msgspec.structs.replace(hit, score=bound)
        ranked += [by_id[chunk_id] for chunk_id in page if chunk_id in by_id]
    return ranked
