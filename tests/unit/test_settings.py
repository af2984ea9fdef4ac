"""Settings: read once from AVATARADAM_* variables, validated with messages naming them."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from avataradam.adapters.s3.blobs import S3BlobRepository
from avataradam.domain.usecases.conversations.chat import relevance_floor
from avataradam.entrypoints import factories
from avataradam.entrypoints.bootstrap import broker_for
from avataradam.entrypoints.options import chat_options, support_threshold
from avataradam.entrypoints.settings import (
    SettingsError,
    env_variable_names,
    load_settings,
)
from avataradam.entrypoints.settings.infrastructure import DEV_JWT_SECRET


def test_defaults_run_on_one_machine_without_any_variable() -> None:
    settings = load_settings({}, env_file=None)
    assert settings.database.url.startswith("postgresql://")
    assert settings.redis.url == "redis://127.0.0.1:6379/0"
    assert settings.http.port == 8000


def test_fixed_operator_names_map_to_the_tree() -> None:
    names = env_variable_names()
    assert names[("database", "url")] == "AVATARADAM_DATABASE_URL"
    assert names[("database", "replica_url")] == "AVATARADAM_DATABASE_REPLICA_URL"
    assert names[("redis", "url")] == "AVATARADAM_REDIS_URL"
    assert names[("http", "port")] == "AVATARADAM_HTTP_PORT"


def test_values_are_converted_from_strings() -> None:
    settings = load_settings(
        {"AVATARADAM_HTTP_PORT": "8080", "AVATARADAM_DATABASE_POOL_MAX_SIZE": "20"}, env_file=None
    )
    assert settings.http.port == 8080
    assert settings.database.pool_max_size == 20


def test_the_task_queues_heartbeat_timeout_reaches_its_broker() -> None:
    default = broker_for(load_settings({}, env_file=None))
    shorter = broker_for(
        load_settings({"AVATARADAM_REDIS_QUEUE_HEARTBEAT_TIMEOUT_S": "12.5"}, env_file=None)
    )
    assert (default.heartbeat_timeout, shorter.heartbeat_timeout) == (30_000, 12_500)


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"AVATARADAM_HTTP_PORT": "eighty"}, "AVATARADAM_HTTP_PORT"),
        ({"AVATARADAM_HTTP_PORT": "70000"}, "AVATARADAM_HTTP_*"),
        ({"AVATARADAM_DATABASE_URL": "mysql://x"}, "AVATARADAM_DATABASE_*"),
        ({"AVATARADAM_LOGGING_FORMAT": "xml"}, "AVATARADAM_LOGGING_FORMAT"),
        ({"AVATARADAM_AUTH_JWT_SECRET": "short"}, "AVATARADAM_AUTH_*"),
        ({"AVATARADAM_WORKER_NICE": "20"}, "AVATARADAM_WORKER_*"),
        ({"AVATARADAM_REDIS_QUEUE_HEARTBEAT_TIMEOUT_S": "4"}, "AVATARADAM_REDIS_*"),
        ({"AVATARADAM_CACHE_LOCAL_ENTRIES": "-1"}, "AVATARADAM_CACHE_*"),
        ({"AVATARADAM_CHAT_LOCAL_MODEL_SHA256": "abc"}, "AVATARADAM_CHAT_*"),
        ({"AVATARADAM_CHAT_LOCAL_PARALLEL": "0"}, "AVATARADAM_CHAT_*"),
        ({"AVATARADAM_CHAT_LOCAL_CONTEXT_TOKENS": "64"}, "AVATARADAM_CHAT_*"),
        ({"AVATARADAM_CHAT_LOCAL_CACHE_RAM_MIB": "-1"}, "AVATARADAM_CHAT_*"),
        ({"AVATARADAM_INGESTION_UPSERT_BATCH_SIZE": "0"}, "AVATARADAM_INGESTION_*"),
        ({"AVATARADAM_INGESTION_LEASE_RENEW_INTERVAL_S": "11"}, "AVATARADAM_INGESTION_*"),
        ({"AVATARADAM_INGESTION_LEASE_S": "0"}, "AVATARADAM_INGESTION_*"),
        ({"AVATARADAM_INGESTION_STALLED_TIMEOUT_S": "300"}, "AVATARADAM_INGESTION_LEASE_S"),
        ({"AVATARADAM_BLOBS_BACKEND": "s3"}, "AVATARADAM_BLOBS_S3_BUCKET"),
        ({"AVATARADAM_BLOBS_S3_PART_SIZE_BYTES": "1048576"}, "AVATARADAM_BLOBS_*"),
        ({"AVATARADAM_BLOBS_S3_ACCESS_KEY_ID": "AKIAEXAMPLE"}, "AVATARADAM_BLOBS_*"),
        ({"AVATARADAM_BLOBS_S3_MAX_ATTEMPTS": "0"}, "AVATARADAM_BLOBS_*"),
    ],
)
def test_a_bad_value_is_refused_naming_its_variable(environ: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named.replace("*", r"\*")):
        load_settings(environ, env_file=None)


def test_production_refuses_the_development_jwt_secret() -> None:
    with pytest.raises(SettingsError, match="AVATARADAM_AUTH_JWT_SECRET"):
        load_settings({"AVATARADAM_ENVIRONMENT": "production"}, env_file=None)
    secret = "x" * 40
    assert secret != DEV_JWT_SECRET
    settings = load_settings(
        {"AVATARADAM_ENVIRONMENT": "production", "AVATARADAM_AUTH_JWT_SECRET": secret},
        env_file=None,
    )
    assert settings.auth.jwt_secret == secret


def test_env_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("AVATARADAM_HTTP_PORT=9001\nAVATARADAM_HTTP_HOST=0.0.0.0\n")
    settings = load_settings({"AVATARADAM_HTTP_PORT": "9002"}, env_file=env_file)
    assert settings.http.port == 9002
    assert settings.http.host == "0.0.0.0"  # noqa: S104 -- asserting a value read from the file


def test_cors_origins_are_an_allow_list_empty_by_default() -> None:
    assert load_settings({}, env_file=None).http.cors_origin_list == ()
    settings = load_settings(
        {"AVATARADAM_HTTP_CORS_ORIGINS": " https://crm.example.com,http://localhost:5173 ,"},
        env_file=None,
    )
    assert settings.http.cors_origin_list == ("https://crm.example.com", "http://localhost:5173")


@pytest.mark.parametrize(
    "origin",
    ["*", "https://*.example.com", "https://crm.example.com/", "crm.example.com", "HTTPS://X.IO"],
)
def test_a_cors_origin_must_be_an_exact_origin(origin: str) -> None:
    with pytest.raises(SettingsError, match="cors_origins"):
        load_settings({"AVATARADAM_HTTP_CORS_ORIGINS": origin}, env_file=None)


def test_webhook_urls_must_be_https_in_production_unless_set_otherwise() -> None:
    production = {"AVATARADAM_ENVIRONMENT": "production", "AVATARADAM_AUTH_JWT_SECRET": "j" * 40}
    assert load_settings(production, env_file=None).webhooks.require_https("production")
    relaxed = load_settings(production | {"AVATARADAM_WEBHOOKS_HTTPS_ONLY": "false"}, env_file=None)
    assert not relaxed.webhooks.require_https("production")
    assert not load_settings({}, env_file=None).webhooks.require_https("development")
    strict = load_settings({"AVATARADAM_WEBHOOKS_HTTPS_ONLY": "true"}, env_file=None)
    assert strict.webhooks.require_https("development")


def test_a_webhook_timeout_beyond_a_minute_is_refused() -> None:
    with pytest.raises(SettingsError, match="AVATARADAM_WEBHOOKS"):
        load_settings({"AVATARADAM_WEBHOOKS_TIMEOUT_S": "120"}, env_file=None)


def test_the_training_relevance_floor_follows_the_embedder_unless_set() -> None:
    local = load_settings({"AVATARADAM_EMBEDDER": "local"}, env_file=None)
    hashing = load_settings({"AVATARADAM_EMBEDDER": "hashing"}, env_file=None)
    e5 = load_settings({"AVATARADAM_EMBEDDER": "e5"}, env_file=None)
    chosen = load_settings(
        {"AVATARADAM_EMBEDDER": "local", "AVATARADAM_CHAT_MIN_RELEVANCE": "0"}, env_file=None
    )

    assert chat_options(local).min_relevance == 0.2, "measured for all-MiniLM-L6-v2"
    assert chat_options(hashing).min_relevance == 0.0
    assert chat_options(e5).min_relevance == 0.8, "measured for multilingual-e5-small"
    assert chat_options(chosen).min_relevance == 0.0, "a value set is kept"


def test_a_dealership_searched_with_another_embedder_gets_that_embedders_floor() -> None:
    """During a change of model a dealership's vectors may be another embedder's than
    the configured one: its scores are that embedder's, and so is its floor."""
    e5 = chat_options(load_settings({"AVATARADAM_EMBEDDER": "e5"}, env_file=None))
    chosen = chat_options(
        load_settings(
            {"AVATARADAM_EMBEDDER": "e5", "AVATARADAM_CHAT_MIN_RELEVANCE": "0.5"}, env_file=None
        )
    )

    assert relevance_floor(e5, None) == 0.8
    assert relevance_floor(e5, "e5:title_section") == 0.8
    assert relevance_floor(e5, "local:title_section") == 0.2
    assert relevance_floor(e5, "hashing:none") == 0.0
    assert relevance_floor(chosen, "local:title_section") == 0.5, "a value set is for all"
    assert relevance_floor(chosen, None) == 0.5


def test_the_citation_support_threshold_follows_the_embedder_unless_set() -> None:
    def threshold(environment: dict[str, str]) -> float:
        return support_threshold(load_settings(environment, env_file=None))

    assert threshold({"AVATARADAM_EMBEDDER": "local"}) == 0.5, "set for all-MiniLM-L6-v2"
    assert threshold({"AVATARADAM_EMBEDDER": "e5"}) == 0.88, "measured for multilingual-e5-small"
    assert threshold({"AVATARADAM_EMBEDDER": "hashing"}) == 0.5
    chosen = {"AVATARADAM_EMBEDDER": "e5", "AVATARADAM_CHAT_SUPPORT_THRESHOLD": "0.3"}
    assert threshold(chosen) == 0.3, "a value set is kept"
    with pytest.raises(SettingsError, match="support_threshold"):
        load_settings({"AVATARADAM_CHAT_SUPPORT_THRESHOLD": "1.5"}, env_file=None)


S3_BLOBS = {"AVATARADAM_BLOBS_BACKEND": "s3", "AVATARADAM_BLOBS_S3_BUCKET": "dealer-files"}


def test_the_s3_blob_store_is_built_from_its_settings() -> None:
    settings = load_settings(S3_BLOBS | {"AVATARADAM_BLOBS_S3_PREFIX": "tenant-a/"}, env_file=None)
    store = factories.blobs(settings)
    assert isinstance(store, S3BlobRepository)
    blob_id = uuid.uuid4()
    assert store.key(blob_id) == f"tenant-a/{blob_id}"


def test_an_upload_limit_beyond_ten_thousand_s3_parts_is_refused() -> None:
    """S3 completes no multipart upload of more than 10000 parts."""
    limit = {"AVATARADAM_BLOBS_S3_PART_SIZE_BYTES": str(5 * 1024 * 1024)}
    fits = load_settings(
        S3_BLOBS | limit | {"AVATARADAM_INGESTION_MAX_UPLOAD_BYTES": str(10_000 * 5 * 1024 * 1024)},
        env_file=None,
    )
    assert fits.blobs.s3_part_size_bytes == 5 * 1024 * 1024
    with pytest.raises(SettingsError, match="AVATARADAM_BLOBS_S3_PART_SIZE_BYTES"):
        load_settings(
            S3_BLOBS
            | limit
            | {"AVATARADAM_INGESTION_MAX_UPLOAD_BYTES": str(10_000 * 5 * 1024 * 1024 + 1)},
            env_file=None,
        )
