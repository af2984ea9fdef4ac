"""`KeywordSearch` in PostgreSQL: full-text search over the `chunks` table (migration 0015).

The chunks live in PostgreSQL whatever the vector backend, so this works beside any
`VectorIndex`. Each chunk's `search_text` holds its document's title, its heading path
and its text under the `avataradam_english` and `avataradam_spanish` configurations
(both with `unaccent`); a query is `websearch_to_tsquery` under each, OR-ed: a passage
matches when it holds every non-stop word of the question in either language. Ranked
by `ts_rank_cd`, equal ranks in storage order (filename, then chunk index): runs repeat.
This is the bench's `en_es/websearch/title_section_text` (bench/retrieval/keyword.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from uuid import UUID

import asyncpg

from avataradam.adapters.postgres.errors import translated_errors
from avataradam.domain.model import Topic

_SEARCH = """
SELECT c.id
FROM chunks c
JOIN documents d ON d.id = c.document_id,
     (SELECT websearch_to_tsquery('avataradam_english', $2)
          || websearch_to_tsquery('avataradam_spanish', $2) AS q) AS query
WHERE c.dealership_id = $1 AND d.status = 'ready'
  AND ($3::text[] IS NULL OR c.topic = ANY($3::text[]))
  AND c.search_text @@ query.q
ORDER BY ts_rank_cd(c.search_text, query.q) DESC, c.filename, c.index, c.id
LIMIT $4
"""


class PostgresKeywordSearch:
    """Implements `KeywordSearch` over the chunks table."""

    def __init__(self, pool: asyncpg.Pool | Callable[[], asyncpg.Pool]) -> None:
        """`pool` may be a provider, for pools that only exist once the app has started."""
        self._pool_source = pool

    @property
    def _pool(self) -> asyncpg.Pool:
        source = self._pool_source
        return source if isinstance(source, asyncpg.Pool) else source()

    async def search(
        self,
        dealership_id: UUID,
        query: str,
        *,
        topics: Sequence[Topic] | None = None,
        limit: int,
    ) -> list[str]:
        if limit <= 0 or not query.strip():
            return []
        topic_filter = [str(topic) for topic in topics] if topics else None
        with translated_errors():
            rows = await self._pool.fetch(_SEARCH, dealership_id, query, topic_filter, limit)
        return [row["id"] for row in rows]
