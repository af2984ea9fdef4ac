"""Migration 0013 on a database with documents written before it: `avataradam migrate`
records, for each dealership with documents, the profile its vectors were made with
(what the deployment configures, else the defaults of then), so that a later change of
the default embedder never searches those vectors with another model."""

from __future__ import annotations

import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from avataradam.adapters.postgres.migrate import VECTOR_GENERATIONS
from avataradam.entrypoints.cli import legacy_vector_profile
from ops.harness.processes import cli
from tests.support.migrations import apply_before

T0 = datetime(2026, 6, 1, 9, tzinfo=UTC)


def _seed(conn: psycopg.Connection, *, with_document: bool) -> uuid.UUID:
    dealership = uuid.uuid4()
    conn.execute(
        "INSERT INTO dealerships (id, name, created_at, updated_at) VALUES (%s, 'D', %s, %s)",
        (dealership, T0, T0),
    )
    if with_document:
        conn.execute(
            "INSERT INTO documents (id, dealership_id, topic, filename, content_type,"
            " size_bytes, sha256, status, created_at, updated_at)"
            " VALUES (%s, %s, 'playbooks', 'gap.md', 'text/markdown', 3, 'x', 'ready', %s, %s)",
            (uuid.uuid4(), dealership, T0, T0),
        )
    return dealership


def test_migrate_records_the_profile_of_vectors_written_before_generations(
    new_database: str, tmp_path: Path
) -> None:
    apply_before(new_database, VECTOR_GENERATIONS)
    with psycopg.connect(new_database, autocommit=True) as conn:
        with_documents = _seed(conn, with_document=True)
        empty = _seed(conn, with_document=False)

    done = subprocess.run(
        cli("migrate"),
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src"),
            "AVATARADAM_DATABASE_URL": new_database,
        },
        cwd=tmp_path,  # no .env here
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert "recorded local:title_section as the vector profile of 1 dealership(s)" in done.stdout
    with psycopg.connect(new_database) as conn:
        rows = conn.execute("SELECT id, vector_profile FROM dealerships").fetchall()
        profiles: dict[uuid.UUID, str | None] = {row[0]: row[1] for row in rows}
    assert profiles == {with_documents: "local:title_section", empty: None}


def test_the_legacy_profile_is_the_configured_one_else_the_defaults_of_then(
    tmp_path: Path,
) -> None:
    env_file = tmp_path / ".env"
    assert legacy_vector_profile({}, env_file) == "local:title_section"
    assert legacy_vector_profile({"AVATARADAM_EMBEDDER": "openai"}, env_file) == (
        "openai:title_section"
    )
    env_file.write_text("AVATARADAM_EMBEDDER=hashing\nAVATARADAM_EMBEDDING_CONTEXT=none\n")
    assert legacy_vector_profile({}, env_file) == "hashing:none"
    assert legacy_vector_profile({"AVATARADAM_EMBEDDER": "e5"}, env_file) == "e5:none"
