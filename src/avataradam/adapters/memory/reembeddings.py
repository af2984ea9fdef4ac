"""In-memory twin of the re-embedding repository (see `adapters/postgres/reembeddings.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from avataradam.adapters.memory.store import InMemoryTransaction, Tables
from avataradam.domain.errors import NotFound
from avataradam.domain.model import DocumentStatus
from avataradam.domain.vectors import Reembedding, ReembeddingRunning, ReembeddingStatus


class InMemoryReembeddingRepository:
    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    async def add(self, reembedding: Reembedding) -> None:
        def op(t: Tables) -> None:
            for other in t.reembeddings.values():
                if (
                    other.dealership_id == reembedding.dealership_id
                    and other.status is ReembeddingStatus.RUNNING
                ):
                    raise ReembeddingRunning(
                        "a re-embedding of this dealership is already running",
                        generation=other.generation,
                    )
            t.reembeddings[(reembedding.dealership_id, reembedding.generation)] = reembedding

        self._tx.write(op)

    async def get(self, dealership_id: UUID, generation: int) -> Reembedding | None:
        return self._tx.tables.reembeddings.get((dealership_id, generation))

    async def get_for_update(self, dealership_id: UUID, generation: int) -> Reembedding | None:
        return self._tx.write(
            lambda t: t.reembeddings.get((dealership_id, generation)), replay_must_agree=True
        )

    async def running(self, dealership_id: UUID) -> Reembedding | None:
        return next(
            (
                r
                for r in self._tx.tables.reembeddings.values()
                if r.dealership_id == dealership_id and r.status is ReembeddingStatus.RUNNING
            ),
            None,
        )

    async def latest_generation(self, dealership_id: UUID) -> int:
        mine = [g for d, g in self._tx.tables.reembeddings if d == dealership_id]
        return max(mine, default=0)

    async def list_for(self, dealership_id: UUID) -> list[Reembedding]:
        mine = [
            r for r in self._tx.tables.reembeddings.values() if r.dealership_id == dealership_id
        ]
        return sorted(mine, key=lambda r: -r.generation)

    async def update(self, reembedding: Reembedding) -> None:
        key = (reembedding.dealership_id, reembedding.generation)

        def op(t: Tables) -> None:
            if key not in t.reembeddings:
                raise NotFound("re-embedding not found")
            t.reembeddings[key] = reembedding

        self._tx.write(op)

    async def redrivable(self, now: datetime, *, limit: int) -> list[Reembedding]:
        found = [r for r in self._tx.tables.reembeddings.values() if r.redrivable(now)]
        return sorted(found, key=lambda r: r.created_at)[:limit]

    async def mark_documents(
        self, dealership_id: UUID, generation: int, document_ids: Sequence[UUID]
    ) -> None:
        key = (dealership_id, generation)

        def op(t: Tables) -> None:
            known = {d for d in document_ids if d in t.documents}
            t.reembedded[key] = t.reembedded.get(key, frozenset()) | known

        self._tx.write(op)

    async def pending_documents(
        self, dealership_id: UUID, generation: int, *, limit: int
    ) -> list[UUID]:
        done = self._tx.tables.reembedded.get((dealership_id, generation), frozenset())
        pending = [
            d
            for d in self._tx.tables.documents.values()
            if d.dealership_id == dealership_id
            and d.status is DocumentStatus.READY
            and d.id not in done
        ]
        return [d.id for d in sorted(pending, key=lambda d: (d.created_at, d.id))][:limit]

    async def count_pending(self, dealership_id: UUID, generation: int) -> int:
        return len(await self.pending_documents(dealership_id, generation, limit=1 << 30))
