"""The one typed settings tree, read once from `AVATARADAM_*` variables (and `.env`).

A leaf `field` of section `section` is read from `AVATARADAM_<SECTION>_<FIELD>`;
top-level leaves from `AVATARADAM_<FIELD>`. Values are validated at start and a bad
one stops the process with a message naming the variable. The sections live in
`infrastructure.py`, `features.py` and `speech.py`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_type_hints

import msgspec
from dotenv import dotenv_values

from avataradam.entrypoints.settings.features import (
    CacheSettings,
    ChatSettings,
    EmbeddingSettings,
    IngestionSettings,
    ScoringSettings,
    SearchSettings,
    UsageSettings,
    VectorSettings,
    WebhookSettings,
)
from avataradam.entrypoints.settings.infrastructure import (
    DEV_JWT_SECRET,
    AuthSettings,
    BlobSettings,
    DatabaseSettings,
    HttpSettings,
    LoggingSettings,
    RateLimitSettings,
    RedisSettings,
    WorkerSettings,
)
from avataradam.entrypoints.settings.speech import SpeechSettings

PREFIX = "AVATARADAM_"


class SettingsError(Exception):
    """A setting is missing or invalid; the message names the variable."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    environment: Literal["development", "test", "production"] = "development"
    service_name: str = "avataradam"
    vector_backend: Literal["postgres", "pinecone", "memory"] = "postgres"
    embedder: Literal["local", "e5", "openai", "hashing"] = "e5"
    """`e5`: the best measured on the labelled F&I set (bench/results/2026-12-01-retrieval.md:
    MRR@10 0.76 overall, 0.61 in Spanish, against 0.70 and 0.32 for `local`)."""
    chat_model: Literal["extractive", "openai", "local"] = "extractive"
    database: DatabaseSettings = msgspec.field(default_factory=DatabaseSettings)
    redis: RedisSettings = msgspec.field(default_factory=RedisSettings)
    http: HttpSettings = msgspec.field(default_factory=HttpSettings)
    auth: AuthSettings = msgspec.field(default_factory=AuthSettings)
    logging: LoggingSettings = msgspec.field(default_factory=LoggingSettings)
    ingestion: IngestionSettings = msgspec.field(default_factory=IngestionSettings)
    embedding: EmbeddingSettings = msgspec.field(default_factory=EmbeddingSettings)
    vectors: VectorSettings = msgspec.field(default_factory=VectorSettings)
    webhooks: WebhookSettings = msgspec.field(default_factory=WebhookSettings)
    chat: ChatSettings = msgspec.field(default_factory=ChatSettings)
    cache: CacheSettings = msgspec.field(default_factory=CacheSettings)
    search: SearchSettings = msgspec.field(default_factory=SearchSettings)
    worker: WorkerSettings = msgspec.field(default_factory=WorkerSettings)
    rate_limit: RateLimitSettings = msgspec.field(default_factory=RateLimitSettings)
    blobs: BlobSettings = msgspec.field(default_factory=BlobSettings)
    usage: UsageSettings = msgspec.field(default_factory=UsageSettings)
    scoring: ScoringSettings = msgspec.field(default_factory=ScoringSettings)
    speech: SpeechSettings = msgspec.field(default_factory=SpeechSettings)

    def __post_init__(self) -> None:
        if self.environment == "production" and self.auth.jwt_secret == DEV_JWT_SECRET:
            raise ValueError("AVATARADAM_AUTH_JWT_SECRET must be set in production")
        if self.vector_backend == "pinecone" and not (
            self.vectors.pinecone_api_key and self.vectors.pinecone_index_host
        ):
            raise ValueError(
                "vector_backend=pinecone needs AVATARADAM_VECTORS_PINECONE_API_KEY "
                "and AVATARADAM_VECTORS_PINECONE_INDEX_HOST"
            )
        if self.embedder == "openai" and not self.embedding.openai_api_key:
            raise ValueError("embedder=openai needs AVATARADAM_EMBEDDING_OPENAI_API_KEY")
        if self.chat_model == "openai" and not self.chat.openai_api_key:
            raise ValueError(
                "chat_model=openai needs AVATARADAM_CHAT_OPENAI_API_KEY (any value for a "
                "server without authentication)"
            )
        if self.chat_model == "local" and not self.chat.local_model_path:
            raise ValueError("chat_model=local needs AVATARADAM_CHAT_LOCAL_MODEL_PATH")


RETIRED_VARIABLES: dict[str, str] = {
    "AVATARADAM_PERSISTENCE": (
        "the service always keeps its state in PostgreSQL; tests build an in-memory"
        " world with build_container's overrides (tests/support/world.py)"
    ),
    "AVATARADAM_INGESTION_STALLED_TIMEOUT_S": (
        "a processing document is held by a renewed lease instead, see"
        " AVATARADAM_INGESTION_LEASE_S and AVATARADAM_INGESTION_LEASE_RENEW_INTERVAL_S"
    ),
}
"""Variables that were settings once: set, they stop the process rather than be ignored."""


def _env_names(cls: type[msgspec.Struct], prefix: str) -> dict[tuple[str, ...], str]:
    names: dict[tuple[str, ...], str] = {}
    hints = get_type_hints(cls)
    for field in msgspec.structs.fields(cls):
        hint = hints[field.name]
        if isinstance(hint, type) and issubclass(hint, msgspec.Struct):
            for path, name in _env_names(hint, f"{prefix}{field.name.upper()}_").items():
                names[(field.name, *path)] = name
        else:
            names[(field.name,)] = f"{prefix}{field.name.upper()}"
    return names


def env_variable_names() -> dict[tuple[str, ...], str]:
    """Every setting's path in the tree and the variable it is read from."""
    return _env_names(Settings, PREFIX)


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
) -> Settings:
    values: dict[str, str | None] = {}
    if env_file is not None and env_file.is_file():
        values.update(dotenv_values(env_file))
    values.update(os.environ if environ is None else environ)
    for name, instead in RETIRED_VARIABLES.items():
        if values.get(name):
            raise SettingsError(f"{name} is no longer read: {instead}")
    tree: dict[str, Any] = {}
    for path, name in env_variable_names().items():
        raw = values.get(name)
        if raw is None or raw == "":
            continue
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = raw
    try:
        return msgspec.convert(tree, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise SettingsError(_explain(str(exc))) from exc


def _explain(message: str) -> str:
    """Turns msgspec's `... - at `$.http.port`` into the variable (or section) name."""
    text, separator, where = message.rpartition(" - at `$.")
    if not separator:
        return f"invalid settings: {message}"
    path = tuple(where.rstrip("`").split("."))
    name = env_variable_names().get(path) or PREFIX + "_".join(path).upper() + "_*"
    return f"{name}: {text}"
