"""Every ingestion stage is timed through the `Telemetry` port, a failing one too, so
`avataradam_ingestion_stage_duration_seconds` shows where ingestion spends its time."""

from __future__ import annotations

import pytest

from avataradam.domain.model import DocumentStatus, Stage
from avataradam.domain.ports.knowledge import EmbedderUnavailable
from avataradam.domain.tasks import INGEST_DOCUMENT
from tests.unit.test_ingestion_usecases import TEXT, FlakyEmbedder, World


async def test_a_successful_ingestion_times_each_stage_once_in_pipeline_order() -> None:
    world = World()
    document_id = await world.upload_text(await world.admin(), TEXT)
    world.queue.take(INGEST_DOCUMENT)

    outcome = await world.ingest(document_id)

    assert outcome.status == "ready"
    assert world.telemetry.stages == [
        Stage.EXTRACTING,
        Stage.CHUNKING,
        Stage.EMBEDDING,
        Stage.INDEXING,
        Stage.STORING,
    ]


async def test_a_document_that_fails_extraction_still_times_its_extraction() -> None:
    world = World()
    document_id = await world.upload_text(await world.admin(), "   \n\n  ")

    outcome = await world.ingest(document_id)

    assert outcome.error_code == "empty_text"
    assert world.telemetry.stages == [Stage.EXTRACTING]


async def test_a_stage_that_raises_is_timed_before_the_error_propagates() -> None:
    world = World(embedder=FlakyEmbedder(failures=1))
    document_id = await world.upload_text(await world.admin(), TEXT)

    with pytest.raises(EmbedderUnavailable):
        await world.ingest(document_id)

    assert world.telemetry.stages == [Stage.EXTRACTING, Stage.CHUNKING, Stage.EMBEDDING]
    document = await world.document(document_id)
    assert document.status is DocumentStatus.PROCESSING  # type: ignore[attr-defined]
