"""Keyword search fused with the vector ranking (issue 16, "Keyword help where it pays").

The passages a retrieval method ingested are loaded into a scratch PostgreSQL database
(`bench_fts_<random>`, created and dropped around the measurement) with one `tsvector`
column per text-search configuration and field set, and ranked by `ts_rank_cd` for each
question. Configurations: `simple_u`, `english_u` and `spanish_u` are `simple`,
`english` and `spanish` with `unaccent` before the dictionary (the set is English and
Spanish: "crédito" and "credito" meet); `en_es` matches either language (both vectors
concatenated, both queries OR-ed), no language detection needed. Queries:
`websearch` (`websearch_to_tsquery`: every word of the question ANDed), `or` (the
question's own lexemes under the configuration, OR-ed: a passage needs one of them) and
`rare` (the same OR of only the lexemes held by at most `RARE_SHARE` of the passages:
`ts_rank_cd` knows no document frequency, so "customer" weighs as much as "OFAC").
Fields: the passage text alone, or its document's title and section path before it.
Equal `ts_rank_cd` scores go to the passage stored first (by filename, then chunk index),
not to the random chunk ids: OR queries tie often, and runs must repeat.

The keyword top `DEPTH` is fused with the vector top `DEPTH` by reciprocal-rank fusion
(`rrf`, Cormack, Clarke and Büttcher, SIGIR 2009: score = sum of weight / (k + rank)),
and the fused top 10 is scored with `bench/retrieval/metrics.py` as the plain ranking is.
"""

from __future__ import annotations

import dataclasses
import secrets
import statistics
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal, Self

import asyncpg

from bench.retrieval import metrics
from bench.retrieval.questions import TYPES, Question

DEPTH = 50
"""Passages taken from each ranking before fusion (the product's `MAX_TOP_K`)."""
RRF_K = 60
"""Cormack et al.'s constant: a rank-1 passage weighs 1/61, a rank-50 one 1/110."""
TOP_K = 10  # the fused ranking's length scored, as the plain one's

Config = Literal["simple_u", "english_u", "en_es"]
QueryForm = Literal["websearch", "or", "rare"]
Fields = Literal["text", "title_section_text"]


@dataclasses.dataclass(frozen=True)
class Passage:
    """A stored passage as the keyword index sees it."""

    chunk_id: str
    filename: str
    title: str
    section: str | None
    text: str


@dataclasses.dataclass(frozen=True)
class Variant:
    """One keyword ranking: configuration, query form and indexed fields."""

    config: Config
    query: QueryForm
    fields: Fields

    @property
    def name(self) -> str:
        return f"{self.config}/{self.query}/{self.fields}"


VARIANTS: tuple[Variant, ...] = tuple(
    Variant(config, query, fields)
    for config in ("simple_u", "english_u", "en_es")
    for query in ("websearch", "or", "rare")
    for fields in ("text", "title_section_text")
)

FUSED = Variant("en_es", "websearch", "title_section_text")
"""The keyword ranking of the bench's `<method>+fts` rows (fused at `RRF_K`)."""

RARE_SHARE = 0.1  # the `rare` query's lexemes: held by at most this share of the passages

FUSIONS: tuple[tuple[str, float, float], ...] = (
    ("k=60", 60.0, 1.0),
    ("k=20", 20.0, 1.0),
    ("k=120", 120.0, 1.0),
    ("k=60, keyword weight 0.5", 60.0, 0.5),
)
"""(label, k, weight of the keyword ranking; the vector ranking weighs 1)."""


def rrf(
    rankings: Sequence[Sequence[str]],
    *,
    k: float = RRF_K,
    weights: Sequence[float] | None = None,
) -> list[tuple[str, float]]:
    """Reciprocal-rank fusion of `rankings` (ids, best first): every id scores the sum
    over the rankings holding it of weight / (k + its 1-based rank there), best first.
    Ties go to the id seen at the better rank in any ranking, then to the earlier
    ranking, then to the id itself (deterministic whatever the input order of sets)."""
    if k <= 0:
        raise ValueError("k must be positive")
    weights = [1.0] * len(rankings) if weights is None else list(weights)
    if len(weights) != len(rankings):
        raise ValueError("one weight per ranking")
    scores: dict[str, float] = {}
    first_seen: dict[str, tuple[int, int]] = {}
    for which, (ranking, weight) in enumerate(zip(rankings, weights, strict=True)):
        seen: set[str] = set()
        for rank, item in enumerate(ranking, start=1):
            if item in seen:  # a duplicate counts once, at its better rank
                continue
            seen.add(item)
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
            first_seen[item] = min(first_seen.get(item, (rank, which)), (rank, which))
    return sorted(scores.items(), key=lambda s: (-s[1], first_seen[s[0]], s[0]))


_SCHEMA = """
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE TEXT SEARCH CONFIGURATION simple_u (COPY = simple);
ALTER TEXT SEARCH CONFIGURATION simple_u
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple;
CREATE TEXT SEARCH CONFIGURATION english_u (COPY = english);
ALTER TEXT SEARCH CONFIGURATION english_u
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem;
CREATE TEXT SEARCH CONFIGURATION spanish_u (COPY = spanish);
ALTER TEXT SEARCH CONFIGURATION spanish_u
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, spanish_stem;
CREATE FUNCTION or_query(cfg regconfig, question text) RETURNS tsquery
    LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT coalesce(string_agg(quote_literal(lexeme), ' | '), '')::tsquery
    FROM unnest(tsvector_to_array(to_tsvector(cfg, question))) AS lexeme $$;
CREATE TABLE passages (
    chunk_id text PRIMARY KEY,
    position int NOT NULL,
    heading text NOT NULL,
    body text NOT NULL
);
"""
_CONFIGS = ("simple_u", "english_u", "spanish_u")


_FIELDS_SQL = {"text": "body", "title_section_text": "heading || E'\\n' || body"}


def _derived(statement: str) -> str:
    """`statement` (`{c}`: configuration, `{f}`: fields, `{sql}`: their text) for each."""
    return "".join(
        statement.format(c=c, f=f, sql=sql) for c in _CONFIGS for f, sql in _FIELDS_SQL.items()
    )


_COLUMNS = (
    "ALTER TABLE passages ADD COLUMN tsv_{c}_{f} tsvector GENERATED ALWAYS AS "
    "(to_tsvector('{c}', {sql})) STORED; CREATE INDEX ON passages USING gin (tsv_{c}_{f});"
)
_FREQUENCIES = (
    "CREATE TABLE df_{c}_{f} AS SELECT word, ndoc FROM ts_stat('SELECT tsv_{c}_{f} FROM passages');"
)


def _search_sql(variant: Variant, max_df: int) -> str:
    """The variant's ranking statement: $1 the question, $2 the limit."""

    def query(config: str) -> str:
        if variant.query == "websearch":
            return f"websearch_to_tsquery('{config}', $1)"
        if variant.query == "or":
            return f"or_query('{config}', $1)"
        return (
            "(SELECT coalesce(string_agg(quote_literal(l), ' | '), '')::tsquery "  # noqa: S608
            f"FROM unnest(tsvector_to_array(to_tsvector('{config}', $1))) AS l WHERE l IN "
            f"(SELECT word FROM df_{config}_{variant.fields} WHERE ndoc <= {max_df}))"
        )

    if variant.config == "en_es":
        vector = f"(tsv_english_u_{variant.fields} || tsv_spanish_u_{variant.fields})"
        tsquery = f"({query('english_u')} || {query('spanish_u')})"
    else:
        vector = f"tsv_{variant.config}_{variant.fields}"
        tsquery = query(variant.config)
    return (
        f"SELECT chunk_id FROM passages, (SELECT {tsquery} AS q) AS x "  # noqa: S608 (fixed fragments)
        f"WHERE {vector} @@ q ORDER BY ts_rank_cd({vector}, q) DESC, position LIMIT $2"
    )


class KeywordIndex:
    """The passages in a scratch database of their own, dropped on exit."""

    def __init__(self, admin_dsn: str, passages: Iterable[Passage]) -> None:
        self._admin_dsn = admin_dsn
        self._passages = list(passages)
        self._name = f"bench_fts_{secrets.token_hex(6)}"
        self._connection: asyncpg.Connection | None = None

    async def __aenter__(self) -> Self:
        admin = await asyncpg.connect(self._admin_dsn)
        try:
            await admin.execute(f'CREATE DATABASE "{self._name}"')
        finally:
            await admin.close()
        self._connection = await asyncpg.connect(self._admin_dsn, database=self._name)
        await self._connection.execute(_SCHEMA + _derived(_COLUMNS))
        await self._connection.executemany(
            "INSERT INTO passages (chunk_id, position, heading, body) VALUES ($1, $2, $3, $4)",
            [
                (p.chunk_id, n, " / ".join(filter(None, (p.title, p.section))), p.text)
                for n, p in enumerate(self._passages)
            ],
        )
        await self._connection.execute(_derived(_FREQUENCIES) + "ANALYZE passages")
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._connection is not None:
            await self._connection.close()
        admin = await asyncpg.connect(self._admin_dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{self._name}" WITH (FORCE)')
        finally:
            await admin.close()

    async def search(self, variant: Variant, question: str, limit: int = DEPTH) -> list[str]:
        assert self._connection is not None
        max_df = max(1, int(RARE_SHARE * len(self._passages)))
        rows = await self._connection.fetch(_search_sql(variant, max_df), question, limit)
        return [row["chunk_id"] for row in rows]


@dataclasses.dataclass(frozen=True)
class Ranked:
    """A question's outcome under one ranking: as `bench.phases.retrieval.Asked`."""

    question: Question
    rank: int | None
    top_filename: str | None
    top_score: float | None
    fts_ms: float

    def outcome(self) -> dict[str, Any]:
        """The fields an `Asked` takes from it."""
        return {"rank": self.rank, "top_filename": self.top_filename, "top_score": self.top_score}


def document_title(path: Path) -> str:
    """The set's convention: a document's title is its first line (Markdown heading)."""
    with path.open(encoding="utf-8") as lines:
        return lines.readline().lstrip("#").strip()


# A question -> its vector ranking's (chunk id, cosine), best first.
VectorSearch = Callable[[str], Awaitable[list[tuple[str, float]]]]


def _ranked(
    question: Question, ids: Sequence[str], by_id: dict[str, Passage], cosine: dict[str, float]
) -> tuple[int | None, str | None, float | None]:
    top = [by_id[i] for i in ids[:TOP_K]]
    rank = metrics.first_relevant_rank(
        ((p.filename, p.text) for p in top), question.relevant, question.answer_contains
    )
    return (
        rank if question.relevant else None,
        top[0].filename if top else None,
        cosine.get(top[0].chunk_id) if top else None,
    )


async def measure(
    admin_dsn: str,
    passages: Sequence[Passage],
    questions: Sequence[Question],
    vector: VectorSearch,
    rounds: int = 3,
) -> dict[str, Any]:
    """For every variant: keyword ranking alone and fused with the vector one (each of
    `FUSIONS`), summarised per question type (key `row`, with a description); and the
    per-question outcomes of `FUSED` at `RRF_K` (key `fused`) with the keyword query's
    fastest of `rounds` in ms."""
    by_id = {p.chunk_id: p for p in passages}
    vectors = {q.text: await vector(q.text) for q in questions}
    grid: dict[str, Any] = {}
    fused: list[Ranked] = []
    async with KeywordIndex(admin_dsn, passages) as index:
        for variant in VARIANTS:
            alone: list[int | None] = []
            plain: list[int | None] = []
            timings: list[float] = []
            per_fusion: dict[str, list[Ranked]] = {label: [] for label, _, _ in FUSIONS}
            for question in questions:
                ms: list[float] = []
                for _ in range(rounds):
                    started = time.perf_counter()
                    keyword = await index.search(variant, question.text)
                    ms.append((time.perf_counter() - started) * 1000)
                timings.append(min(ms))
                alone.append(_ranked(question, keyword, by_id, {})[0])
                ranking = [chunk_id for chunk_id, _ in vectors[question.text][:DEPTH]]
                cosine = dict(vectors[question.text])
                plain.append(_ranked(question, ranking, by_id, cosine)[0])
                for label, k, weight in FUSIONS:
                    ids = [i for i, _ in rrf([ranking, keyword], k=k, weights=[1.0, weight])]
                    rank, top_filename, top_score = _ranked(question, ids, by_id, cosine)
                    per_fusion[label].append(
                        Ranked(question, rank, top_filename, top_score, min(ms))
                    )
            grid[variant.name] = {
                "fts_p50_ms": round(statistics.median(timings), 3),
                "fts_alone": summarise(list(zip(questions, alone, strict=True))),
                **{
                    label: summarise([(r.question, r.rank) for r in rows])
                    | _paired(plain, [r.rank for r in rows])
                    for label, rows in per_fusion.items()
                },
            }
            if variant == FUSED:
                fused = per_fusion[FUSIONS[0][0]]
    row = {
        "description": f"fused by RRF (k={RRF_K}) with PostgreSQL full-text search "
        f"{FUSED.name} (bench/retrieval/keyword.py), top {DEPTH} of each; p50 ms adds the "
        "keyword query; top-1 cosine is the fused top-1's",
        "fusion_grid": grid,
    }
    return {"row": row, "fused": fused}


def _paired(plain: Sequence[int | None], fused: Sequence[int | None]) -> dict[str, int]:
    """Questions whose reciprocal rank@10 the fusion raised / lowered."""
    pairs = [
        (metrics.reciprocal_rank(p, TOP_K), metrics.reciprocal_rank(f, TOP_K))
        for p, f in zip(plain, fused, strict=True)
    ]
    return {"better": sum(f > p for p, f in pairs), "worse": sum(f < p for p, f in pairs)}


def summarise(outcomes: Sequence[tuple[Question, int | None]]) -> dict[str, Any]:
    """hit@1, hit@5, MRR@10 per answerable type and overall."""
    answerable = [(q, r) for q, r in outcomes if q.relevant]
    summary: dict[str, Any] = {
        kind: metrics.summarise([r for q, r in answerable if q.type == kind])
        for kind in TYPES
        if kind != "unanswerable"
    }
    summary["overall"] = metrics.summarise([r for _, r in answerable])
    return summary
