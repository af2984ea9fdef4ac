"""Ports of the knowledge pipeline: extraction, chunking, embedding, vector search."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from uuid import UUID

import msgspec

from avataradam.domain import codes
from avataradam.domain.errors import DependencyUnavailable, DomainError
from avataradam.domain.model import Topic


class ExtractionFailed(DomainError):
    """Permanent: the file cannot yield text (corrupt, encrypted, empty, too large)."""

    code = codes.EXTRACTION_FAILED

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message, reason=reason)
        self.reason = reason


class ExtractorUnavailable(DependencyUnavailable):
    """A library an extractor needs is missing or broken on this server (say pypdf's AES
    support): the operator's problem, never the file's, so it is retried like any
    unavailable dependency instead of failing the document as corrupt."""

    code = codes.EXTRACTOR_UNAVAILABLE


class EmbedderUnavailable(DependencyUnavailable):
    code = codes.EMBEDDER_UNAVAILABLE


class VectorIndexUnavailable(DependencyUnavailable):
    code = codes.VECTOR_INDEX_UNAVAILABLE


class ExtractedSection(msgspec.Struct, frozen=True, kw_only=True):
    text: str
    page: int | None = None
    section: str | None = None
    section_path: tuple[str, ...] = ()
    """The headings the section lies under, outermost first, ending with `section`, where
    the extractor knows them (Markdown, DOCX and HTML headings, a PDF's outline);
    embedded with its passages, never shown."""


@dataclass(slots=True)
class Extraction:
    """What a file yields to the ingestion pipeline.

    `sections` is an iterator consumed once, in reading order: an adapter may produce it
    lazily, so a large file never needs to sit whole in memory, and it may raise
    `ExtractionFailed` while it is consumed (a part found unreadable half-way).
    `warnings` are human-readable notes of what the reader had to skip ("12 images
    without text skipped"); they are complete once `sections` is exhausted. `title` is
    the title the file names for itself (e.g. Markdown front matter), if any;
    `opening_heading` the heading its text opens with (Markdown, DOCX; HTML's first `<h1>`),
    which names the document in the text embedded with its passages
    (`domain.embedding_text`) where no `title` does, and is never shown.
    `read_share`, when the adapter can tell, answers the share of the file read so far
    (0..1) while `sections` is consumed: what progress is measured by, since the number
    of passages is known only at the end.
    """

    sections: Iterator[ExtractedSection]
    title: str | None = None
    opening_heading: str | None = None
    warnings: list[str] = field(default_factory=list)
    read_share: Callable[[], float] | None = None

    @classmethod
    def of(cls, sections: Iterable[ExtractedSection], *, title: str | None = None) -> Extraction:
        return cls(sections=iter(sections), title=title)


class TextExtractor(Protocol):
    """Turns a stored file into text sections; raises ExtractionFailed for bad files."""

    def extract(self, path: Path, content_type: str) -> Extraction: ...


class Spool(Protocol):
    """Scratch files for a document being worked on (the extractor reads a path)."""

    def scratch_file(self) -> AbstractContextManager[Path]:
        """A fresh path nobody else uses, removed with whatever was written to it when
        the block exits, however it exits."""
        ...

    async def write(self, path: Path, parts: AsyncIterator[bytes]) -> None:
        """Writes `parts`, in order, to `path` (a `scratch_file`); raises what `parts`
        raises."""
        ...


class ChunkDraft(msgspec.Struct, frozen=True, kw_only=True):
    text: str
    page: int | None = None
    section: str | None = None
    section_path: tuple[str, ...] = ()
    """Its section's `section_path`: embedded with it, and kept on its chunk so that a
    re-embedding rebuilds the same embedded text (`Chunk.section_path`)."""


class Chunker(Protocol):
    """Splits sections into overlapping passages; loses no text.

    A passage never spans two sections, so splitting sections one at a time gives the
    same passages as splitting them together: the ingestion pipeline relies on it to
    chunk a document as it is extracted.
    """

    def split(self, sections: Sequence[ExtractedSection]) -> list[ChunkDraft]: ...


class Embedder(Protocol):
    """Maps texts to unit-length vectors of `dimension` floats, in input order."""

    model_name: str
    dimension: int

    async def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


class SparseVector(msgspec.Struct, frozen=True, kw_only=True):
    """A sparse vector: `values[i]` at dimension `indices[i]`; indices distinct,
    non-negative, in ascending order (`sparse_vector` builds one from any order).
    Two are compared by dot product (the sum over their shared dimensions)."""

    indices: tuple[int, ...]
    values: tuple[float, ...]


def sparse_vector(indices: Iterable[int], values: Iterable[float]) -> SparseVector:
    """A `SparseVector` of the pairs, sorted by index; zero values dropped. ValueError
    for a negative or repeated index or lists of different lengths."""
    pairs = sorted((int(i), float(v)) for i, v in zip(indices, values, strict=True) if v != 0)
    if any(i < 0 for i, _ in pairs) or len({i for i, _ in pairs}) != len(pairs):
        raise ValueError("sparse indices must be distinct and non-negative")
    return SparseVector(indices=tuple(i for i, _ in pairs), values=tuple(v for _, v in pairs))


class VectorRecord(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    values: list[float]
    document_id: UUID
    topic: Topic
    sparse: SparseVector | None = None
    """The passage's sparse vector when its embedder makes one (`EmbedsSparse`); kept
    by indexes that can search them (`SparseSearch`), dropped by the others."""


class VectorMatch(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    score: float
    document_id: UUID
    topic: Topic


class VectorIndex(Protocol):
    """Vectors per namespace (one per dealership). Upserts are idempotent by id.

    `query` answers the `top_k` vectors nearest by cosine similarity, best first (ties by
    id), among those whose topic is in `topics` (None or empty: every topic) and whose
    document is not in `exclude_documents`: the filters apply inside the search, so
    excluded vectors never take one of the `top_k` places.
    """

    dimension: int

    async def upsert(self, namespace: str, records: Sequence[VectorRecord]) -> None: ...
    async def query(
        self,
        namespace: str,
        vector: Sequence[float],
        *,
        top_k: int,
        topics: Sequence[Topic] | None = None,
        exclude_documents: Collection[UUID] = (),
    ) -> list[VectorMatch]: ...
    async def delete_document(
        self, namespace: str, document_id: UUID, *, from_index: int = 0
    ) -> None:
        """Deletes the document's vectors, or only those of chunk index `from_index` and
        above (what an earlier, longer chunking of the document left behind)."""
        ...

    async def delete_namespace(self, namespace: str) -> None:
        """Deletes every vector of the namespace (a retired vector generation)."""
        ...

    async def count(self, namespace: str, *, document_id: UUID | None = None) -> int: ...


def vector_id(document_id: UUID, index: int) -> str:
    """Deterministic id of a chunk and its vector, so re-runs overwrite, never duplicate."""
    return f"{document_id}:{index}"


def chunk_index(vector_or_chunk_id: str) -> int:
    """The chunk index a `vector_id` names."""
    return int(vector_or_chunk_id.rsplit(":", 1)[1])


class KeywordSearch(Protocol):
    """Full-text search over a dealership's passages (the chunks), beside the vectors.

    `search` answers the ids of the `limit` chunks best matching `query`'s words, best
    first, among chunks of the dealership's `ready` documents only, of `topics` only
    when given (None or empty: every topic). A passage matches when it holds every word
    of the query that the search does not ignore (stop words), accents and case folded.
    """

    async def search(
        self,
        dealership_id: UUID,
        query: str,
        *,
        topics: Sequence[Topic] | None = None,
        limit: int,
    ) -> list[str]: ...
