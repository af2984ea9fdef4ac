"""Settings sections of the product's features: ingestion, embeddings, vectors,
webhooks, chat, caches and usage budgets.

Each section is read from `AVATARADAM_<SECTION>_<FIELD>` (see the package docstring).
"""

from __future__ import annotations

import re
from typing import Literal

import msgspec


class IngestionSettings(msgspec.Struct, frozen=True, kw_only=True):
    max_upload_bytes: int = 25 * 1024 * 1024
    chunk_size_tokens: int = 200
    chunk_overlap: float = 0.15
    embed_batch_size: int = 64
    upsert_batch_size: int = 500
    queued_timeout_s: float = 300.0
    reconcile_interval_s: float = 5.0
    max_retries: int = 8
    min_backoff_ms: int = 1000
    max_backoff_ms: int = 300_000
    worker_time_limit_s: int = 1800
    lease_s: float = 20.0
    """How long a worker holds a `processing` document without renewing its lease; a
    worker that dies delays its document by at most this plus `reconcile_interval_s`."""
    lease_renew_interval_s: float = 5.0
    """How often the worker renews the lease of each document it processes."""
    progress_interval_s: float = 0.5
    """Least time between two progress reports of one document."""
    reembed_lease_s: float = 120.0
    """How long a re-embedding run holds its work without finishing a document; a run
    that dies is resumed by another worker at most this plus `reconcile_interval_s` later."""
    reembed_retire_after_s: float = 10.0
    """Wait between switching a dealership to its new vector generation and deleting the
    old generation's vectors (searches that read the old one just before finish)."""

    def __post_init__(self) -> None:
        if self.reembed_lease_s <= 0 or self.reembed_retire_after_s < 0:
            raise ValueError("reembed_lease_s must be positive, reembed_retire_after_s >= 0")
        if self.max_upload_bytes < 1:
            raise ValueError("max_upload_bytes must be positive")
        if not 0 < self.lease_renew_interval_s <= self.lease_s / 2:
            raise ValueError("lease_renew_interval_s must be positive and at most lease_s / 2")
        if self.reconcile_interval_s <= 0:
            raise ValueError("reconcile_interval_s must be positive")
        if not 0 <= self.chunk_overlap < 1 or self.chunk_size_tokens < 16:
            raise ValueError("chunk_size_tokens >= 16 and 0 <= chunk_overlap < 1")
        if self.embed_batch_size < 1 or self.upsert_batch_size < 1:
            raise ValueError("embed_batch_size and upsert_batch_size must be at least 1")
        if self.progress_interval_s < 0:
            raise ValueError("progress_interval_s must be >= 0")


class ScoringSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Scoring of completed roleplay sessions (issue 17)."""

    scorer: Literal["rules", "llm"] = "rules"
    """The scorer frozen on each completed session: `rules` (phrase patterns plus
    similarity with the local embedder; no generative model) or `llm` (a judge through
    the configured generative chat model, each check it cannot answer with verified
    evidence decided by `rules`: docs/llm-judge.md)."""
    lease_s: float = 120.0
    """How long a worker holds a session's scorecard while scoring it (not renewed: far
    longer than scoring takes); one that dies delays it by at most this plus
    `AVATARADAM_INGESTION_RECONCILE_INTERVAL_S`."""
    hold_s: float = 0.0
    """Testing knob: a pause after a worker takes a scorecard's lease, so a worker killed
    mid-scoring is observable (as `AVATARADAM_CHAT_EXTRACTIVE_DELTA_DELAY_S`). 0 in
    production."""

    def __post_init__(self) -> None:
        if self.lease_s <= 0 or self.hold_s < 0:
            raise ValueError("lease_s must be positive and hold_s >= 0")


class EmbeddingSettings(msgspec.Struct, frozen=True, kw_only=True):
    batch_size: int = 32
    dimension: int = 384
    openai_base_url: str = "https://api.openai.com/v1"
    openai_api_key: str | None = None
    openai_model: str = "text-embedding-3-small"
    timeout_s: float = 30.0
    openai_max_input_tokens: int = 8191
    context: Literal["title_section", "none"] = "title_section"
    """What is embedded with each passage besides its text (`domain.embedding_text`);
    passages embedded with another value need re-ingesting to be comparable."""

    def __post_init__(self) -> None:
        if self.openai_max_input_tokens < 16:
            raise ValueError("openai_max_input_tokens must be at least 16")


class VectorSettings(msgspec.Struct, frozen=True, kw_only=True):
    pinecone_api_key: str | None = None
    pinecone_index_host: str | None = None


class WebhookSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Webhook delivery. `https_only` unset means on in production, off elsewhere."""

    allow_private: bool = False
    timeout_s: float = 5.0
    https_only: bool | None = None
    max_retries: int = 8
    min_backoff_ms: int = 1000
    max_backoff_ms: int = 300_000
    redrive_after_s: float = 60.0
    circuit_failures: int = 5
    circuit_cooldown_s: float = 60.0
    rotation_grace_s: float = 86_400.0

    def __post_init__(self) -> None:
        if not 0 < self.timeout_s <= 60:
            raise ValueError("timeout_s must be in (0, 60]")
        if self.max_retries < 0 or not 0 < self.min_backoff_ms <= self.max_backoff_ms:
            raise ValueError("max_retries >= 0 and 0 < min_backoff_ms <= max_backoff_ms")
        if self.redrive_after_s <= 0 or self.circuit_cooldown_s <= 0:
            raise ValueError("redrive_after_s and circuit_cooldown_s must be positive")
        if self.circuit_failures < 1 or self.rotation_grace_s < 0:
            raise ValueError("circuit_failures >= 1 and rotation_grace_s >= 0")

    def require_https(self, environment: str) -> bool:
        """Whether webhook URLs must be https: `https_only`, or by default in production."""
        return environment == "production" if self.https_only is None else self.https_only


class ChatSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Chat models and the shape of chat prompts (`AVATARADAM_CHAT_MODEL` picks the model)."""

    openai_base_url: str = "https://api.openai.com/v1"
    openai_api_key: str | None = None
    openai_model: str = "gpt-4o-mini"
    timeout_s: float = 60.0
    max_retries: int = 3
    temperature: float = 0.4
    local_model_path: str | None = None
    local_model_sha256: str | None = None
    local_context_tokens: int = 4096
    local_parallel: int = 2
    local_threads: int | None = None
    local_cache_ram_mib: int = 1024
    """RAM for llama.cpp's prompt cache (idle slots' prompts kept for reuse), in MiB; 0 is
    off. llama.cpp's own default is 8 GiB, more than this class of machine can spare."""
    max_reply_tokens: int = 512
    roleplay_max_reply_tokens: int = 160
    history_budget_tokens: int = 1500
    history_fetch_limit: int = 60
    """Newest messages loaded from storage before the token window is applied."""
    top_k: int = 3
    """Training: passages retrieved for a question (issue 15: at most about three)."""
    passage_budget_tokens: int = 200
    """Training: tokens of passage text the model reads, cut in whole sentences, best
    passage first (0 = whole passages): the prompt a CPU model must read before its
    first token. The compliance guard and citation check read the passages whole."""
    roleplay_top_k: int = 3
    keepalive_s: float = 10.0
    extractive_delta_delay_s: float = 0.0
    support_threshold: float | None = None
    """None: the threshold measured for the configured embedder (`options.SUPPORT_THRESHOLD`)."""
    min_relevance: float | None = None
    """None: the floor measured for the configured embedder (`options.MIN_RELEVANCE`)."""

    def __post_init__(self) -> None:
        if self.keepalive_s <= 0 or self.timeout_s <= 0:
            raise ValueError("keepalive_s and timeout_s must be positive")
        if not 1 <= self.top_k <= 20 or self.max_reply_tokens < 16:
            raise ValueError("top_k must be 1..20 and max_reply_tokens at least 16")
        if not 1 <= self.roleplay_top_k <= 20 or self.roleplay_max_reply_tokens < 16:
            raise ValueError("roleplay_top_k must be 1..20, roleplay_max_reply_tokens >= 16")
        if self.history_fetch_limit < 1:
            raise ValueError("history_fetch_limit must be at least 1")
        if self.passage_budget_tokens < 0:
            raise ValueError("passage_budget_tokens must be >= 0 (0 = whole passages)")
        if self.history_budget_tokens < 0 or self.extractive_delta_delay_s < 0:
            raise ValueError("history_budget_tokens and extractive_delta_delay_s must be >= 0")
        if self.local_context_tokens < 256 or not 1 <= self.local_parallel <= 16:
            raise ValueError("local_context_tokens must be at least 256 and local_parallel 1..16")
        if self.local_cache_ram_mib < 0:
            raise ValueError("local_cache_ram_mib must be >= 0 (0 switches the prompt cache off)")
        if self.local_model_sha256 is not None and not re.fullmatch(
            r"[0-9a-fA-F]{64}", self.local_model_sha256
        ):
            raise ValueError("local_model_sha256 must be 64 hexadecimal digits")
        floor = 0.0 if self.min_relevance is None else self.min_relevance
        support = 0.0 if self.support_threshold is None else self.support_threshold
        if not (-1 <= support <= 1 and -1 <= floor <= 1):
            raise ValueError("support_threshold and min_relevance are cosine similarities, -1..1")


class CacheSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The shared retrieval cache; `enabled=false` computes every search (benchmarks)."""

    enabled: bool = True
    retrieval_ttl_s: int = 3600
    embedding_ttl_s: int = 7 * 24 * 3600
    local_entries: int = 1024
    """Retrieval results also kept in each API process (LRU; 0 turns it off)."""
    answers: bool = True
    """Cache training answers to first questions (domain/answers.py, adapters/caching)."""
    answer_ttl_s: int = 3600
    lock_ttl_s: float = 10.0
    """How long a computing search holds its key; a crashed holder's lock expires."""
    wait_for_peer_s: float = 15.0
    """Longest a search waits for another's work, after which it computes uncached."""
    poll_interval_s: float = 0.01
    """How often a waiting search looks for the other's result."""
    answer_poll_interval_s: float = 0.05
    """How often a waiting chat request looks for the other's answer."""

    def __post_init__(self) -> None:
        if self.retrieval_ttl_s < 1 or self.embedding_ttl_s < 1 or self.answer_ttl_s < 1:
            raise ValueError("cache TTLs must be at least 1 second")
        if self.local_entries < 0:
            raise ValueError("local_entries must be 0 or more")
        waits = (self.lock_ttl_s, self.wait_for_peer_s)
        if min(waits) <= 0 or min(self.poll_interval_s, self.answer_poll_interval_s) <= 0:
            raise ValueError("cache lock, wait and poll intervals must be positive")


class SearchSettings(msgspec.Struct, frozen=True, kw_only=True):
    keyword_fusion: bool = True
    """Fuse PostgreSQL full-text search with the vector ranking (`domain.fusion`)."""
    sparse_fusion: bool = True
    """Fuse the sparse vectors' ranking with the others where the embedder makes them
    (`e5`) and the vector store keeps them (`postgres`; not Pinecone): `domain.fusion`."""


class UsageSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Monthly token budgets (domain/usecases/usage.py). A dealership's own budget, set
    by a super admin (`PATCH /v1/dealerships/{id}`), overrides the default."""

    monthly_token_budget: int = 0
    """Prompt plus completion tokens a dealership may spend per calendar month (UTC);
    0 = unlimited. Enforced exactly across instances through Redis."""

    def __post_init__(self) -> None:
        if self.monthly_token_budget < 0:
            raise ValueError("monthly_token_budget must be >= 0 (0 = unlimited)")
