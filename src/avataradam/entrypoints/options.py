"""The use cases' options, built from Settings: the one place their values come from.

The options structs of the domain have no defaults of their own; a test that needs
different values replaces fields of these (`msgspec.structs.replace`).
"""

from __future__ import annotations

from avataradam.adapters.caching.answers import AnswerCacheOptions
from avataradam.adapters.caching.retrieval import CacheOptions
from avataradam.domain.usecases.conversations.chat import ChatOptions
from avataradam.domain.usecases.ingestion import IngestionOptions
from avataradam.entrypoints.settings import Settings


def ingestion_options(settings: Settings) -> IngestionOptions:
    ingestion = settings.ingestion
    return IngestionOptions(
        embed_batch_size=ingestion.embed_batch_size,
        upsert_batch_size=ingestion.upsert_batch_size,
        progress_interval_s=ingestion.progress_interval_s,
        lease_s=ingestion.lease_s,
        lease_renew_interval_s=ingestion.lease_renew_interval_s,
    )


def cache_options(settings: Settings) -> CacheOptions:
    cache = settings.cache
    return CacheOptions(
        enabled=cache.enabled,
        retrieval_ttl_s=cache.retrieval_ttl_s,
        embedding_ttl_s=cache.embedding_ttl_s,
        lock_ttl_s=cache.lock_ttl_s,
        wait_for_peer_s=cache.wait_for_peer_s,
        poll_interval_s=cache.poll_interval_s,
        local_entries=cache.local_entries,
    )


def chat_options(settings: Settings) -> ChatOptions:
    chat = settings.chat
    return ChatOptions(
        top_k=chat.top_k,
        roleplay_top_k=chat.roleplay_top_k,
        history_budget_tokens=chat.history_budget_tokens,
        history_fetch_limit=chat.history_fetch_limit,
        max_reply_tokens=chat.max_reply_tokens,
        roleplay_max_reply_tokens=chat.roleplay_max_reply_tokens,
        min_relevance=chat.min_relevance,
    )


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
