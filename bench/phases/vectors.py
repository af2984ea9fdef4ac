"""Item 7: the vector store's query cost."""

from __future__ import annotations

import time
import uuid

import numpy as np

from avataradam.adapters.postgres.uow import PostgresUnitOfWorkFactory
from avataradam.adapters.vectors.postgres import PostgresVectorIndex
from avataradam.domain.model import Topic
from avataradam.domain.ports.knowledge import VectorRecord
from bench.harness import Bench, med, spread


async def phase_vectors(b: Bench) -> None:
    """Item 8: PostgreSQL store query latency at 1k/10k/100k chunks per dealership."""
    uow = b.container.uow
    assert isinstance(uow, PostgresUnitOfWorkFactory)
    database = uow.database
    index = PostgresVectorIndex(lambda: database.primary, 384)
    rng = np.random.default_rng(8)
    sizes = b.q([1_000, 10_000, 100_000], [1_000, 10_000])
    doc = uuid.uuid4()
    insert_s: dict[int, float] = {}
    for size in sizes:
        t0 = time.perf_counter()
        for start in range(0, size, 5000):
            block = rng.standard_normal((min(5000, size - start), 384)).astype(np.float32)
            block /= np.linalg.norm(block, axis=1, keepdims=True)
            await index.upsert(
                f"scale-{size}",
                [
                    VectorRecord(
                        id=f"{doc}:{start + i}",
                        values=v.tolist(),
                        document_id=doc,
                        topic=Topic.BOOKS,
                    )
                    for i, v in enumerate(block)
                ],
            )
        insert_s[size] = time.perf_counter() - t0
    await database.primary.execute("ANALYZE chunk_vectors")
    lat: dict[int, list[float]] = {size: [] for size in sizes}
    p50_rounds: dict[int, list[float]] = {size: [] for size in sizes}
    per_round = b.q(15, 6)
    for _ in range(3):
        for size in sizes:
            round_lat = []
            for _ in range(per_round):
                query = rng.standard_normal(384)
                query /= np.linalg.norm(query)
                t0 = time.perf_counter()
                await index.query(f"scale-{size}", query.tolist(), top_k=5)
                round_lat.append((time.perf_counter() - t0) * 1000)
            lat[size] += round_lat
            p50_rounds[size].append(float(np.percentile(round_lat, 50)))
    base = med(p50_rounds[sizes[0]])
    b.results["vector_scaling"] = {
        "store": "PostgreSQL chunk_vectors, exact cosine (avataradam_cosine_similarity)",
        "by_size": {
            str(size): {
                "insert_s": round(insert_s[size], 2),
                "p50_ms": spread(p50_rounds[size]),
                "p99_ms": round(float(np.percentile(lat[size], 99)), 3),
                "p50_over_1k": round(med(p50_rounds[size]) / base, 2),
            }
            for size in sizes
        },
    }
    b.samples["vectors"] = {size: np.array(v) for size, v in lat.items()}
