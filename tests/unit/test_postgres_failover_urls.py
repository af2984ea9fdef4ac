"""What the PostgreSQL adapter makes of a failover pair's multi-host URL: migrations run
on the server that accepted the connection, and no writable server is an outage (503),
not a bug (500)."""

from __future__ import annotations

import asyncpg
import pytest
from yoyo.connections import parse_uri

from avataradam.adapters.postgres.errors import translated_errors
from avataradam.adapters.postgres.migrate import pinned_url
from avataradam.domain.errors import DependencyUnavailable


def test_multi_host_url_is_pinned_to_the_server_reached_keeping_its_other_parameters() -> None:
    dsn = (
        "postgresql://app:p%40ss@10.0.0.1:5432,10.0.0.2:5433/avataradam"
        "?target_session_attrs=read-write&connect_timeout=3&sslmode=disable"
    )

    uri = parse_uri(pinned_url(dsn, "10.0.0.2", 5433))

    assert (uri.username, uri.password, uri.database) == ("app", "p@ss", "avataradam")
    assert uri.args == {
        "connect_timeout": "3",
        "sslmode": "disable",
        "host": "10.0.0.2",
        "port": "5433",
    }


def test_a_socket_directory_reached_is_kept_whole() -> None:
    uri = parse_uri(pinned_url("postgresql://postgres@h1,h2/db", "/var/run/postgresql", 5432))

    assert uri.args["host"] == "/var/run/postgresql"
    assert uri.hostname is None


def test_single_host_url_is_only_re_schemed() -> None:
    dsn = "postgresql://postgres@127.0.0.1:5432/avataradam?connect_timeout=3"

    assert pinned_url(dsn, "127.0.0.1", 5432) == (
        "postgresql+psycopg://postgres@127.0.0.1:5432/avataradam?connect_timeout=3"
    )


def test_no_server_matching_target_session_attrs_is_an_unavailable_database() -> None:
    with pytest.raises(DependencyUnavailable), translated_errors():
        raise asyncpg.exceptions.TargetServerAttributeNotMatched(
            "None of the hosts match the target attribute requirement"
        )
