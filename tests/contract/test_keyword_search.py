"""Contract of `KeywordSearch`, run against PostgreSQL's full-text search (directly and
behind PgBouncer) and the in-memory twin.

Every test makes its own dealership (the PostgreSQL database is shared by the session).
Documents are named `handbook.pdf` so that their title never holds a searched word
unless a test gives them one.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import msgspec
import pytest

from avataradam.adapters.memory.keywords import InMemoryKeywordSearch
from avataradam.adapters.memory.uow import InMemoryUnitOfWorkFactory
from avataradam.adapters.postgres.keywords import PostgresKeywordSearch
from avataradam.adapters.postgres.uow import PostgresUnitOfWorkFactory
from avataradam.domain.model import Document, DocumentStatus, Topic
from avataradam.domain.ports.knowledge import KeywordSearch
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from tests.contract.builders import NOW, chunk, document, seed


@pytest.fixture
def keywords(uow: UnitOfWorkFactory) -> KeywordSearch:
    if isinstance(uow, InMemoryUnitOfWorkFactory):
        return InMemoryKeywordSearch(uow.store)
    assert isinstance(uow, PostgresUnitOfWorkFactory)
    return PostgresKeywordSearch(uow.database.primary)


async def _document(
    uow: UnitOfWorkFactory,
    dealership_id: UUID,
    texts: Sequence[str],
    *,
    status: DocumentStatus = DocumentStatus.READY,
    topic: Topic = Topic.PLAYBOOKS,
    context_title: str | None = None,
    filename: str = "handbook.pdf",
) -> Document:
    doc = msgspec.structs.replace(
        document(dealership_id, topic=topic, status=status),
        filename=filename,
        context_title=context_title,
    )
    async with uow() as work:
        await work.documents.add(doc)
        await work.chunks.put(doc.id, [chunk(doc, i, text) for i, text in enumerate(texts)])
        await work.commit()
    return doc


async def test_every_word_of_the_query_must_be_held_accents_and_case_folded(
    uow: UnitOfWorkFactory, keywords: KeywordSearch
) -> None:
    d, _ = await seed(uow)
    doc = await _document(
        uow,
        d.id,
        [
            "El precio máximo del GAP depende del crédito del cliente.",
            "El precio del mantenimiento prepagado.",
            "Customers with good credit ask for the VSC first.",
        ],
    )

    assert await keywords.search(d.id, "precio maximo gap", limit=10) == [f"{doc.id}:0"]
    accented = await keywords.search(d.id, "CRÉDITO", limit=10)
    # PostgreSQL's Spanish stem of "crédito" is the English "credit": passage 2 may match.
    assert f"{doc.id}:0" in accented
    assert f"{doc.id}:1" not in accented
    assert await keywords.search(d.id, "¿Cuál es el precio del GAP?", limit=10) == [f"{doc.id}:0"]
    assert await keywords.search(d.id, "vsc credit", limit=10) == [f"{doc.id}:2"]
    assert await keywords.search(d.id, "vsc gap", limit=10) == []


async def test_acronyms_and_form_numbers_are_words(
    uow: UnitOfWorkFactory, keywords: KeywordSearch
) -> None:
    d, _ = await seed(uow)
    doc = await _document(
        uow,
        d.id,
        [
            "Cash over $10,000 is reported on IRS Form 8300 within 15 days.",
            "Form 4506-C lets the lender request tax transcripts.",
            "A VSC covers mechanical breakdown after the factory warranty.",
            "GAP pays the difference after a total loss.",
        ],
    )

    assert await keywords.search(d.id, "form 8300", limit=10) == [f"{doc.id}:0"]
    assert await keywords.search(d.id, "8300", limit=10) == [f"{doc.id}:0"]
    assert await keywords.search(d.id, "VSC", limit=10) == [f"{doc.id}:2"]
    assert await keywords.search(d.id, "gap", limit=10) == [f"{doc.id}:3"]
    assert await keywords.search(d.id, "form 9999", limit=10) == []


async def test_the_documents_title_and_the_passages_heading_are_searched(
    uow: UnitOfWorkFactory, keywords: KeywordSearch
) -> None:
    d, _ = await seed(uow)
    titled = await _document(
        uow, d.id, ["It covers three oil changes."], context_title="Prepaid Maintenance Plan"
    )
    named = await _document(uow, d.id, ["It covers tires."], filename="tire_and-wheel.v2.pdf")
    headed = await _document(
        uow, d.id, ["Ask once, then listen.", "Smile and wait."]
    )  # chunk 1's section is "Objections" (builders.chunk)

    assert await keywords.search(d.id, "prepaid maintenance oil", limit=10) == [f"{titled.id}:0"]
    assert await keywords.search(d.id, "wheel tires", limit=10) == [f"{named.id}:0"]
    assert await keywords.search(d.id, "objections smile", limit=10) == [f"{headed.id}:1"]


async def test_a_title_recorded_when_the_document_is_made_ready_is_searched(
    uow: UnitOfWorkFactory, keywords: KeywordSearch
) -> None:
    """Ingestion writes a document's chunks before it records its context title."""
    d, _ = await seed(uow)
    doc = await _document(uow, d.id, ["Offer it on every deal."], status=DocumentStatus.PROCESSING)
    assert await keywords.search(d.id, "appearance protection offer", limit=10) == []
    ready = doc.ready(
        chunk_count=1,
        title=None,
        warnings=(),
        now=NOW,
        context_title="Appearance Protection",
    )
    async with uow() as work:
        await work.documents.update(ready)
        await work.commit()

    assert await keywords.search(d.id, "appearance protection offer", limit=10) == [f"{doc.id}:0"]


async def test_only_ready_documents_of_the_dealership_and_the_topics_asked_for(
    uow: UnitOfWorkFactory, keywords: KeywordSearch
) -> None:
    d, _ = await seed(uow)
    other, _ = await seed(uow)
    text = ["Disclose the APR before the customer signs."]
    ready = await _document(uow, d.id, text)
    compliance = await _document(uow, d.id, text, topic=Topic.COMPLIANCE)
    for status in (DocumentStatus.PROCESSING, DocumentStatus.FAILED, DocumentStatus.DELETING):
        await _document(uow, d.id, text, status=status)
    await _document(uow, other.id, text)

    found = await keywords.search(d.id, "disclose apr", limit=10)
    assert sorted(found) == sorted([f"{ready.id}:0", f"{compliance.id}:0"])
    assert await keywords.search(d.id, "disclose apr", topics=[Topic.COMPLIANCE], limit=10) == [
        f"{compliance.id}:0"
    ]
    assert await keywords.search(d.id, "disclose apr", topics=[Topic.VIDEOS], limit=10) == []


async def test_best_first_equal_ones_in_storage_order_and_at_most_limit(
    uow: UnitOfWorkFactory, keywords: KeywordSearch
) -> None:
    d, _ = await seed(uow)
    doc = await _document(
        uow,
        d.id,
        [
            "Mention GAP once in a passage about the menu and the payment.",
            "GAP, GAP and again GAP: the GAP passage.",
            "Mention GAP once in a passage about the menu and the payment.",
            "Nothing to see here.",
        ],
    )

    assert await keywords.search(d.id, "gap", limit=10) == [
        f"{doc.id}:1",
        f"{doc.id}:0",
        f"{doc.id}:2",
    ]
    assert await keywords.search(d.id, "gap", limit=2) == [f"{doc.id}:1", f"{doc.id}:0"]
    assert await keywords.search(d.id, "the and of", limit=10) == []  # stop words only
    assert await keywords.search(d.id, "   ", limit=10) == []
