"""`KeywordSearch` twin over an `InMemoryStore`, for tests and the in-process world.

A twin, not PostgreSQL's full-text search (adapters/postgres/keywords.py): it knows no
stemming beyond a plural "s" and only a short list of English and Spanish stop words.
What it keeps of the contract: a passage matches when it holds every non-stop word of
the query, case and accents folded, searched in its document's title (context title,
else the filename made readable), its heading path and its text; chunks of `ready`
documents of the dealership only, of the topics asked for; best first (more
occurrences of the query's words), equal ones in storage order (filename, chunk index).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from uuid import UUID

from avataradam.adapters.memory.store import InMemoryStore
from avataradam.domain.embedding_text import readable_filename
from avataradam.domain.model import Chunk, DocumentStatus, Topic

_WORD = re.compile(r"\w+")
STOP_WORDS = frozenset(
    (  # noqa: SIM905 (a list of words reads best as words)
        "a an and are as at be by can do does for from how i in is it my of on or the to "
        "what when which who why with you your "
        "al como cual cuando de del donde el en es la las lo los no para por que quien se su "
        "un una y"
    ).split()
)
"""The twin's stop words (a few of PostgreSQL's English and Spanish lists)."""


def words(text: str) -> list[str]:
    """`text`'s words, case and accents folded, a plural "s" dropped."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    return [w[:-1] if len(w) > 3 and w.endswith("s") else w for w in _WORD.findall(folded)]


class InMemoryKeywordSearch:
    """Implements `KeywordSearch` over the store's committed chunks (see the module)."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def search(
        self,
        dealership_id: UUID,
        query: str,
        *,
        topics: Sequence[Topic] | None = None,
        limit: int,
    ) -> list[str]:
        wanted = {w for w in words(query) if w not in STOP_WORDS}
        if limit <= 0 or not wanted:
            return []
        tables = self._store.tables
        found: list[tuple[int, str, int, str]] = []
        for chunk in tables.chunks.values():
            document = tables.documents.get(chunk.document_id)
            if (
                chunk.dealership_id != dealership_id
                or document is None
                or document.status is not DocumentStatus.READY
                or (topics and chunk.topic not in topics)
            ):
                continue
            title = document.context_title or readable_filename(document.filename)
            held = words(f"{title} {_heading(chunk)} {chunk.text}")
            if wanted <= set(held):
                hits = sum(1 for w in held if w in wanted)
                found.append((-hits, chunk.filename, chunk.index, chunk.id))
        return [chunk_id for *_, chunk_id in sorted(found)[:limit]]


def _heading(chunk: Chunk) -> str:
    return " ".join(chunk.section_path or ()) or chunk.section or ""
