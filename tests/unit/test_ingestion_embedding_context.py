"""Each passage is embedded with its document's title and section; what is stored,
searched and cited is the passage's own text (issue 16)."""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import docx
import pypdf
import pytest
import structlog
from hypothesis import HealthCheck, given, settings

from avataradam.adapters.chunking import SemchunkChunker, passage_budget, word_token_counter
from avataradam.adapters.chunking.budget import PREFIX_BYTES
from avataradam.adapters.embeddings.hashing import HashingEmbedder
from avataradam.adapters.embeddings.local import MAX_SEQ_LENGTH, LocalSentenceTransformerEmbedder
from avataradam.adapters.embeddings.openai import OpenAIEmbedder
from avataradam.adapters.extract import DocxTextExtractor, PlainTextExtractor
from avataradam.adapters.memory.cache import InMemoryCache
from avataradam.domain.access import Principal
from avataradam.domain.embedding_text import EmbeddingContext, PassageText, context_prefix
from avataradam.domain.filetypes import DOCX, HTML, MARKDOWN, PDF, PLAIN_TEXT
from avataradam.domain.model import Role, Topic
from avataradam.domain.ports.knowledge import ExtractedSection
from avataradam.domain.usecases.documents import UploadedFile, UploadRequest
from avataradam.domain.usecases.search import SearchQuery
from avataradam.entrypoints.bootstrap import build_container
from avataradam.entrypoints.settings import load_settings
from tests.fixtures.hostile import text_pdf, write_docx
from tests.fixtures.pipeline import Pipeline, RecordingEmbedder
from tests.support.world import in_memory_container
from tests.unit.test_extract_passage_window import adversarial_text, local  # noqa: F401

GUIDE = (
    "# GAP waiver basics\n\nGAP covers the gap between the loan and the car's value.\n\n"
    "## Claims\n\nIt pays the loan balance after a total loss, less the deductible.\n"
)


def _titled(
    count_tokens: Callable[[str], int] = word_token_counter, room: int | None = None
) -> PassageText:
    return PassageText(
        EmbeddingContext.TITLE_SECTION, count_tokens=count_tokens, max_prefix_tokens=room
    )


def _markdown(tmp_path: Path, text: str) -> tuple[str | None, str | None]:
    path = tmp_path / "notes.md"
    path.write_text(text, encoding="utf-8")
    extraction = PlainTextExtractor().extract(path, MARKDOWN)
    list(extraction.sections)
    return extraction.title, extraction.opening_heading


def test_markdown_opening_heading_is_found_beside_a_front_matter_title(tmp_path: Path) -> None:
    assert _markdown(tmp_path, "\n\n# GAP waiver basics\n\nBody.\n") == (None, "GAP waiver basics")
    assert _markdown(tmp_path, "---\ntitle: GAP\n---\n## Claims\nBody.\n") == ("GAP", "Claims")
    assert _markdown(tmp_path, "Intro first.\n\n# Later heading\n") == (None, None)
    assert _markdown(tmp_path, "```\n# not a heading\n```\n") == (None, None)


def test_markdown_sections_know_the_headings_they_lie_under(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text(
        "Intro.\n# Products\nA.\n## GAP\nB.\n### Claims\nC.\n## VSC\nD.\n# Rates\nE.\n",
        encoding="utf-8",
    )

    sections = list(PlainTextExtractor().extract(path, MARKDOWN).sections)

    assert [(s.section, s.section_path) for s in sections] == [
        (None, ()),
        ("Products", ("Products",)),
        ("GAP", ("Products", "GAP")),
        ("Claims", ("Products", "GAP", "Claims")),
        ("VSC", ("Products", "VSC")),
        ("Rates", ("Rates",)),
    ]


def test_docx_sections_know_the_headings_they_lie_under(tmp_path: Path) -> None:
    blocks = [
        ("Title", "Playbook"),
        ("Normal", "A."),
        ("Heading 1", "GAP"),
        ("Heading 2", "Claims"),
        ("Normal", "B."),
        ("Heading 3", "Total loss"),
        ("Normal", "C."),
        ("Heading 2", "Rates"),
        ("Normal", "D."),
        ("Heading 1", "VSC"),
        ("Normal", "E."),
    ]
    path = write_docx(tmp_path / "p.docx", blocks)

    sections = list(DocxTextExtractor().extract(path, DOCX).sections)

    assert [(s.section, s.section_path) for s in sections] == [
        ("Playbook", ("Playbook",)),
        ("GAP", ("Playbook", "GAP")),  # a heading alone is a section of its own
        ("Claims", ("Playbook", "GAP", "Claims")),
        ("Total loss", ("Playbook", "GAP", "Claims", "Total loss")),
        ("Rates", ("Playbook", "GAP", "Rates")),
        ("VSC", ("Playbook", "VSC")),
    ]


def test_plain_text_has_no_opening_heading(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("# GAP waiver basics\n\nBody.\n", encoding="utf-8")

    extraction = PlainTextExtractor().extract(path, PLAIN_TEXT)

    assert (extraction.title, extraction.opening_heading) == (None, None)


async def test_the_embedder_reads_title_and_section_while_stored_passages_stay_their_own() -> None:
    plain, titled = Pipeline(), Pipeline(passage_text=_titled())

    _, plain_document = await plain.run(GUIDE.encode(), MARKDOWN, "gap.md")
    outcome, document = await titled.run(GUIDE.encode(), MARKDOWN, "gap.md")

    assert outcome.status == "ready"
    stored = [chunk.text for chunk in await titled.chunks(document)]
    assert stored == [chunk.text for chunk in await plain.chunks(plain_document)]
    assert plain.recorder.texts == stored
    sections = [chunk.section for chunk in await titled.chunks(document)]
    assert sections == ["GAP waiver basics", "Claims"]
    assert titled.recorder.texts == [  # the heading that is the title is not repeated
        f"Title: GAP waiver basics\n\n{stored[0]}",
        f"Title: GAP waiver basics\nSection: Claims\n\n{stored[1]}",
    ]
    assert document.title is None  # the opening heading is embedded, not shown as title


def _pdf(_: Path) -> bytes:
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(text_pdf("GAP pays the balance.")))
    writer.add_metadata({"/Title": "GAP rate card"})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _docx(tmp_path: Path) -> bytes:
    path = write_docx(tmp_path / "d.docx", [("Heading 1", "Claims"), ("Normal", "GAP pays.")])
    document = docx.Document(str(path))
    document.core_properties.title = "GAP playbook"
    document.save(str(path))
    return path.read_bytes()


@pytest.mark.parametrize(
    ("content_type", "make", "filename", "first_embedded"),
    [
        (PDF, _pdf, "card.pdf", "Title: GAP rate card\n\nGAP pays the balance."),
        (DOCX, _docx, "d.docx", "Title: GAP playbook\nSection: Claims\n\nClaims\nGAP pays."),
        (
            HTML,
            lambda _: b"<html><head><title>Menu selling</title></head><body><p>Show all.</p>",
            "m.html",
            "Title: Menu selling\n\n",
        ),
        (MARKDOWN, lambda _: b"# Menu\n\nShow all.\n", "m.md", "Title: Menu\n\n# Menu\n\nShow"),
        (PLAIN_TEXT, lambda _: b"Show all.", "vsc_terms-2026.txt", "Title: vsc terms 2026\n\n"),
    ],
)
async def test_every_extractor_gives_the_title_embedded_with_its_passages(
    tmp_path: Path,
    content_type: str,
    make: Callable[[Path], bytes],
    filename: str,
    first_embedded: str,
) -> None:
    pipeline = Pipeline(passage_text=_titled())

    outcome, document = await pipeline.run(make(tmp_path), content_type, filename)

    assert outcome.status == "ready"
    [first, *_] = pipeline.recorder.texts
    assert first.startswith(first_embedded)
    assert first.endswith((await pipeline.chunks(document))[0].text)


class KeptKeys(InMemoryCache):
    """The in-memory cache, noting every key set."""

    def __init__(self) -> None:
        super().__init__()
        self.keys: list[str] = []

    async def set(self, key: str, value: bytes, *, ttl_s: int) -> None:
        self.keys.append(key)
        await super().set(key, value, ttl_s=ttl_s)


async def test_through_the_composition_root_search_returns_and_cites_the_passage_alone() -> None:
    settings = load_settings({"AVATARADAM_EMBEDDER": "hashing"}, env_file=None)
    embedder = RecordingEmbedder(HashingEmbedder(dimension=settings.embedding.dimension))
    cache = KeptKeys()
    container = in_memory_container(settings, embedder=embedder, cache=cache)
    dealership = await container.create_dealership.create("Store")
    admin = Principal(user_id=uuid.uuid4(), role=Role.DEALERSHIP_ADMIN, dealership_id=dealership.id)
    data = GUIDE.encode()

    async def parts() -> AsyncIterator[bytes]:
        yield data

    async def scan() -> UploadedFile:
        return UploadedFile(
            filename="gap.md",
            content_type=MARKDOWN,
            size_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
        )

    uploaded = await container.upload_document(
        admin, UploadRequest(topic=Topic.PLAYBOOKS), scan, parts
    )
    outcome = await container.ingest_document(uploaded.value.id)
    ingested = list(embedder.texts)
    result = await container.search(admin, SearchQuery(query="Who pays after a total loss?"))

    assert outcome.status == "ready"
    assert ingested[-1].startswith("Title: GAP waiver basics\nSection: Claims\n\n## Claims")
    assert result.hits
    assert all(hit.text in GUIDE and "Title:" not in hit.text for hit in result.hits)
    assert embedder.texts[len(ingested) :] == ["who pays after a total loss?"]
    [retrieval_key] = [key for key in cache.keys if key.startswith("avataradam:ret:")]
    assert f":{HashingEmbedder(dimension=384).model_name}+title_section.v1@0:" in retrieval_key
    [embedding_key] = [key for key in cache.keys if key.startswith("avataradam:emb:")]
    assert "+title_section" not in embedding_key  # questions are embedded as asked


async def test_with_context_none_the_composition_root_embeds_passages_alone() -> None:
    settings = load_settings(
        {"AVATARADAM_EMBEDDER": "hashing", "AVATARADAM_EMBEDDING_CONTEXT": "none"}, env_file=None
    )

    container = in_memory_container(settings)

    assert container.knowledge.passage_text.embedded("x", title="T", section="S") == "x"


@pytest.mark.parametrize(("chunk_size", "warned"), [("200", False), ("250", True)])
def test_a_chunk_size_leaving_the_title_no_room_is_said_at_start(
    chunk_size: str, warned: bool
) -> None:
    settings_ = load_settings(
        {"AVATARADAM_EMBEDDER": "local", "AVATARADAM_INGESTION_CHUNK_SIZE_TOKENS": chunk_size},
        env_file=None,
    )

    with structlog.testing.capture_logs() as logs:
        container = build_container(settings_)

    assert container.knowledge.passage_text.max_prefix_tokens == MAX_SEQ_LENGTH - 2 - int(
        chunk_size
    )
    events = [log for log in logs if log["event"] == "embedding_context_without_room"]
    assert len(events) == warned


def test_the_budget_leaves_the_prefix_what_the_window_holds_beside_a_passage() -> None:
    openai = OpenAIEmbedder(base_url="http://127.0.0.1:9", api_key="k", max_input_tokens=8191)
    small = OpenAIEmbedder(base_url="http://127.0.0.1:9", api_key="k", max_input_tokens=400)

    local_budget = passage_budget(LocalSentenceTransformerEmbedder(), 200)
    assert local_budget.prefix_tokens == MAX_SEQ_LENGTH - 2 - 200
    assert passage_budget(openai, 200).prefix_tokens == PREFIX_BYTES
    assert passage_budget(small, 200).prefix_tokens == 100
    assert passage_budget(openai, 200).prefix_counter("Título: é") == len("Título: é".encode())
    assert passage_budget(HashingEmbedder(dimension=8), 200).prefix_tokens is None


def test_an_openai_passage_and_its_prefix_fit_the_window_in_bytes() -> None:
    embedder = OpenAIEmbedder(base_url="http://127.0.0.1:9", api_key="k", max_input_tokens=512)
    budget = passage_budget(embedder, 200)
    chunker = SemchunkChunker(budget.chunk_size_tokens, 0.15, budget.token_counter)
    text = "保修涵盖道路危险造成的损坏 " * 400 + "GAP pays the balance. " * 300
    passage_text = _titled(budget.prefix_counter, budget.prefix_tokens)
    drafts = chunker.split([ExtractedSection(text=text, section="Sección " * 40)])
    embedded = passage_text.batch(drafts, "Garantía " * 40)

    assert all(len(item.encode()) <= 512 for item in embedded)
    assert all(item.startswith("Title: Garantía") for item in embedded)


async def test_the_local_model_reads_the_prefix_and_the_whole_passage(
    local: LocalSentenceTransformerEmbedder,  # noqa: F811 - the fixture
) -> None:
    budget = passage_budget(local, 200)
    pipeline = Pipeline(
        chunker=SemchunkChunker(budget.chunk_size_tokens, 0.15, budget.token_counter),
        embedder=local,
        passage_text=_titled(budget.prefix_counter, budget.prefix_tokens),
    )
    # Punctuation is a word piece a character: each line alone takes the prefix's room.
    title, heading = "F&I guide: VSC/GAP/T&W, 2026-01 " * 6, "Road-hazard (T&W) claims #1-2/3 " * 6
    text = (
        f'---\ntitle: "{title}"\n---\n# {heading}\n\n'
        + "Road hazard coverage pays for tires and wheels damaged by potholes. " * 120
        + " 保修涵盖道路危险造成的损坏" * 100
    )

    outcome, document = await pipeline.run(text.encode(), MARKDOWN, "guide.md")

    tokenizer = local._load().tokenizer  # the model's own tokenizer
    stored = [chunk.text for chunk in await pipeline.chunks(document)]
    assert outcome.status == "ready"
    assert len(pipeline.recorder.texts) == len(stored) > 3
    pairs = list(zip(pipeline.recorder.texts, stored, strict=True))
    for embedded, passage in pairs:
        assert embedded.startswith("Title: F&I guide")
        assert embedded.endswith(passage)
        assert len(tokenizer.encode(embedded, add_special_tokens=True)) <= MAX_SEQ_LENGTH
    uncut = context_prefix(title, heading)
    assert all(len(embedded) - len(passage) < len(uncut) for embedded, passage in pairs)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=adversarial_text(), section=adversarial_text(), text=adversarial_text())
def test_no_prefix_and_passage_exceed_the_local_models_window_whatever_the_shape(
    local: LocalSentenceTransformerEmbedder,  # noqa: F811 - the fixture
    title: str,
    section: str,
    text: str,
) -> None:
    budget = passage_budget(local, 200)
    chunker = SemchunkChunker(budget.chunk_size_tokens, 0.15, budget.token_counter)
    passage_text = _titled(budget.prefix_counter, budget.prefix_tokens)
    tokenizer = local._load().tokenizer  # the model's own tokenizer

    # Full passages beside titles and sections of a word piece a character at the end.
    filled = text + " GAP pays the loan balance after a total loss." * 60
    drafts = chunker.split([ExtractedSection(text=filled, section=section + " F&I/VSC;" * 20)])

    embedded_texts = passage_text.batch(drafts, title + " T&W/GAP;" * 20)
    for embedded, draft in zip(embedded_texts, drafts, strict=True):
        assert embedded.endswith(draft.text)
        assert len(tokenizer.encode(embedded, add_special_tokens=True)) <= MAX_SEQ_LENGTH
