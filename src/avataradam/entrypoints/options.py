"""The use cases' options, built from Settings: the one place their values come from.

The options structs of the domain have no defaults of their own; a test that needs
different values replaces fields of these (`msgspec.structs.replace`). An options
struct whose fields bear the names of a settings section's fields is read from that
section by `_section`; a field the section lacks fails the start, not a request.
"""

from __future__ import annotations

from typing import TypeVar

import msgspec

from avataradam.adapters.caching.answers import AnswerCacheOptions
from avataradam.adapters.caching.retrieval import CacheOptions
from avataradam.domain.usecases.conversations.chat import ChatOptions
from avataradam.domain.usecases.ingestion_run import IngestionOptions
from avataradam.domain.usecases.reembedding import ReembeddingOptions
from avataradam.domain.vectors import EMBEDDERS
from avataradam.entrypoints.settings import Settings

OptionsT = TypeVar("OptionsT")


def _section(section: msgspec.Struct, options: type[OptionsT]) -> OptionsT:
    """`options` with each field read from the attribute of the same name of `section`.
    Raises `msgspec.ValidationError` when `section` lacks a field (a bug)."""
    return msgspec.convert(section, options, from_attributes=True)


def ingestion_options(settings: Settings) -> IngestionOptions:
    return _section(settings.ingestion, IngestionOptions)


def reembedding_options(settings: Settings) -> ReembeddingOptions:
    ingestion = settings.ingestion
    return ReembeddingOptions(
        lease_s=ingestion.reembed_lease_s,
        retire_after_s=ingestion.reembed_retire_after_s,
        embed_batch_size=ingestion.embed_batch_size,
    )


def cache_options(settings: Settings) -> CacheOptions:
    return _section(settings.cache, CacheOptions)


MIN_RELEVANCE: dict[str, float] = {"local": 0.2, "e5": 0.8}
"""The training relevance floor when AVATARADAM_CHAT_MIN_RELEVANCE is unset, per embedder
(0 for the others: nothing measured). all-MiniLM-L6-v2 (`local`): on the labelled F&I
set of `just bench-retrieval` (bench/results/2026-12-01-retrieval.md) no answerable
question's best passage scored below 0.255, and off-topic questions ("What's the
weather in Paris?") score below 0.05 against F&I passages, so 0.2 refuses those and
keeps every answerable one; questions near the topic but unanswered score like answered
ones (p50 0.42 vs 0.58), so they are left to the answer step.

multilingual-e5-small (`e5`) puts every pair of texts between about 0.7 and 0.95
(bench/results/2026-12-01-retrieval-e5.md): the best passage of an answerable question
scored 0.816 at the lowest (0.823 without the title and section), of an unanswerable
one 0.795-0.885, and of 12 off-topic questions (weather, paella, a poem) 0.749-0.829
(0.752-0.84 without). 0.8 keeps every answerable question, with about the share of the
answerable scores' range to spare that 0.2 leaves MiniLM (0.016 of 0.12; 0.055 of
0.55), and turns away 8 of the 12 off-topic questions (6 without the context) and 1 of
the 14 unanswerable ones: a weaker gate than MiniLM's, which refuses every off-topic
question. A higher floor costs answerable questions first: 0.85 refuses 14-15 % of them
to refuse half of the unanswerable ones."""


def chat_options(settings: Settings) -> ChatOptions:
    """The floor set (AVATARADAM_CHAT_MIN_RELEVANCE) for every dealership; unset, each
    dealership's is the one of the embedder that made its vectors (`MIN_RELEVANCE`)."""
    chat = settings.chat
    if chat.min_relevance is not None:
        return _section(chat, ChatOptions)
    floor = MIN_RELEVANCE.get(settings.embedder, 0.0)
    options = _section(msgspec.structs.replace(chat, min_relevance=floor), ChatOptions)
    floors = {embedder: MIN_RELEVANCE.get(embedder, 0.0) for embedder in EMBEDDERS}
    return msgspec.structs.replace(options, relevance_floors=floors)


SUPPORT_THRESHOLD: dict[str, float] = {"local": 0.5, "e5": 0.88}
"""The citation check's support threshold when AVATARADAM_CHAT_SUPPORT_THRESHOLD is unset,
per embedder (0.5 for the others: nothing measured). A reply sentence keeps its marker
`[n]` when its cosine with one of passage n's sentences reaches it (domain/citations.py).
Measured by `just bench-support` (bench/support.py, bench/results/
2026-12-01-support-threshold.md) on pairs from the labelled F&I set: a sentence of a
relevant passage holding a question's answer, written framed ("Per our policy, ...") or
as its clause alone, against its own chunk (supported) and against chunks of the same
document without it or of other documents (unsupported); the threshold is the highest
keeping at least 95 % of the supported pairs.

all-MiniLM-L6-v2 (`local`): 0.5 keeps 98.6 % of supported pairs and catches 80 % of
same-document and 98 % of other-document unsupported ones; the measurement's own choice
would be 0.62 (95.8 % kept, 96 % / 99.7 % caught), but 0.5 was set before it and is
kept until replies written by a chat model, not templates, are measured.

multilingual-e5-small (`e5`) puts every pair between about 0.74 and 1: at 0.5 it would
catch nothing. 0.88 keeps 96.8 % of supported pairs (the clause-only ones score from
0.85, p5 0.87) and catches 90 % of same-document and 98 % of other-document unsupported
ones, but only 27 % when the wrong passage is the other document's best match (p50
0.89): a weaker check than MiniLM's, whose supported and unsupported scores lie further
apart. 0.9 would keep 91.7 %."""


def support_threshold(settings: Settings) -> float:
    """AVATARADAM_CHAT_SUPPORT_THRESHOLD, or unset the one measured for the embedder."""
    chosen = settings.chat.support_threshold
    return SUPPORT_THRESHOLD.get(settings.embedder, 0.5) if chosen is None else chosen


SCORING_SIMILARITY_THRESHOLD: dict[str, float] = {"e5": 0.92}
"""The `rules` roleplay scorer's similarity threshold per embedder
(`domain.training.rules.RulesScorer`): measured for multilingual-e5-small (`e5`) on the
labelled transcripts (`python -m bench.scoring --sweep`, docs/rubrics.md); with any
other embedder nothing is measured, so the scorer runs on its phrase patterns alone
(`scoring_similarity_threshold` answers None: build it with `embedder=None`)."""


def scoring_similarity_threshold(settings: Settings) -> float | None:
    """The measured threshold for the configured embedder, or None (patterns only)."""
    return SCORING_SIMILARITY_THRESHOLD.get(settings.embedder)


def answer_cache_options(settings: Settings) -> AnswerCacheOptions:
    cache, chat = settings.cache, settings.chat
    return AnswerCacheOptions(
        enabled=cache.enabled and cache.answers,
        ttl_s=cache.answer_ttl_s,
        # A waiter waits as long as a reply may take, then asks the model itself.
        lock_ttl_s=chat.timeout_s + 5,
        wait_for_peer_s=chat.timeout_s + 5,
        poll_interval_s=cache.answer_poll_interval_s,
    )
