"""Items 6 and 8: the ingestion pipeline against its embedder, and upload acknowledgement."""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import numpy as np

from bench import documents, loadgen
from bench.harness import HOST, Bench, med, spread
from bench.seeding import multipart, seconds_between, upload, wait_ready
from bench.stack import Server

# --------------------------------------------------------------------------- ingestion


async def phase_ingestion(b: Bench, api: Server) -> None:
    """Item 6: pipeline chunks/s (upload -> ready) ÷ the embedder's own chunks/s."""
    pdf = documents.make_pdf(pages=b.q(150, 10), target_bytes=5 * 1024 * 1024)
    settings = b.container.settings
    knowledge = b.container.knowledge
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "doc.pdf"
        path.write_bytes(pdf)
        sections = list(knowledge.extractor.extract(path, "application/pdf").sections)
    drafts = knowledge.chunker.split(sections)
    texts = [d.text for d in drafts]
    batch = settings.ingestion.embed_batch_size
    await knowledge.embedder.embed(texts[:batch])

    async def embedder_rate() -> tuple[float, float]:
        t0 = time.perf_counter()
        for start in range(0, len(texts), batch):
            await knowledge.embedder.embed(texts[start : start + batch])
        elapsed = time.perf_counter() - t0
        return len(texts) / elapsed, elapsed

    pipeline_rates, embed_rates, ratios, stage = [], [], [], []
    before, _ = await embedder_rate()
    async with httpx.AsyncClient(base_url=api.base_url, timeout=120) as http:
        for rep in range(b.q(3, 1)):
            tenant = b.tenants[rep % 5]
            doc = await upload(
                http,
                tenant.admin,
                f"throughput-{rep}.pdf",
                documents.with_nonce(pdf, 900 + rep),
                "books",
            )
            # Timed by the server's timestamps, so polling can be slow: at 20 Hz the
            # polls (API + PostgreSQL) took CPU from the worker's embedding threads.
            ready = await wait_ready(http, tenant.user, doc["id"], poll_s=1.0)
            pipeline_s = seconds_between(ready["created_at"], ready["updated_at"])
            chunks = int(ready["chunk_count"])
            # The embedder alone just before and just after: noise on a shared machine
            # hits both sides of the ratio alike.
            after, embed_s = await embedder_rate()
            rate, before = (before + after) / 2, after
            pipeline_rates.append(chunks / pipeline_s)
            embed_rates.append(rate)
            ratios.append(pipeline_rates[-1] / rate)
            stage.append(
                {"pipeline_s": round(pipeline_s, 2), "embed_s": round(embed_s, 2), "chunks": chunks}
            )
    b.results["ingestion"] = {
        "document": f"synthetic PDF, {len(pdf)} bytes, {len(sections)} pages, {len(texts)} chunks",
        "pipeline": "upload 202 -> ready (server timestamps created_at..updated_at), real worker",
        "embedder": (
            "LocalSentenceTransformerEmbedder in the harness process, same chunks, same "
            "batches, measured before and after each pipeline run (mean of the two)"
        ),
        "runs": stage,
        "pipeline_chunks_per_s": spread(pipeline_rates),
        "embedder_chunks_per_s": spread(embed_rates),
        "pipeline_over_embedder": spread(ratios),
    }


async def phase_upload(b: Bench, api: Server) -> None:
    """Item 5: 202 latency of 5 MB PDF uploads while the worker ingests, vs sync processing."""
    assert b.worker is not None
    pdf = documents.make_pdf(pages=b.q(150, 10), target_bytes=5 * 1024 * 1024)
    b.stop(b.worker)
    sync_s, sync_ack = [], []
    async with httpx.AsyncClient(base_url=api.base_url, timeout=120) as http:
        for rep in range(b.q(2, 1)):
            tenant = b.tenants[(rep + 2) % 5]
            t0 = time.perf_counter()
            doc = await upload(
                http, tenant.admin, f"sync-{rep}.pdf", documents.with_nonce(pdf, 500 + rep), "books"
            )
            sync_ack.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            outcome = await b.container.ingest_document(uuid.UUID(doc["id"]))
            sync_s.append(time.perf_counter() - t0)
            if outcome.status != "ready":
                raise RuntimeError(f"synchronous ingest ended {outcome}")
        # Busy beside the API, as under `just run`: the worker yields the CPU to requests.
        b.start_worker("worker-busy", nice=10)
        busy = [
            await upload(
                http, t.admin, f"busy-{i}.pdf", documents.with_nonce(pdf, 700 + i), "books"
            )
            for i, t in enumerate(b.tenants[:2])
        ]
        deadline = time.monotonic() + 60
        busy_status = "unknown"
        while time.monotonic() < deadline:
            first = await http.get(
                f"/v1/documents/{busy[0]['id']}", headers=b.tenants[0].admin.auth
            )
            busy_status = str(first.json().get("status"))
            if busy_status != "queued":
                break
            await asyncio.sleep(0.1)
    n = b.q(40, 10)
    rate = 2.0

    def request(i: int) -> bytes:
        tenant = b.tenants[i % 5]
        body, content_type = multipart(
            f"ack-{i}.pdf", documents.with_nonce(pdf, 10_000 + i), "books"
        )
        return loadgen.build_request(
            "POST",
            "/v1/documents",
            host=f"{HOST}:{api.port}",
            body=body,
            headers={**tenant.admin.auth, "Content-Type": content_type},
        )

    prepared = [request(i) for i in range(n)]
    run = await loadgen.fixed_rate(HOST, api.port, prepared, rate=rate, count=n, keep_bodies=True)
    async with httpx.AsyncClient(base_url=api.base_url, timeout=60) as http:
        still = (
            await http.get(f"/v1/documents/{busy[1]['id']}", headers=b.tenants[1].admin.auth)
        ).json()
    # Mid-document: no point waiting for its graceful shutdown (the database goes too).
    b.worker.stop(timeout_s=2)
    b.stop(b.worker)
    lat = run.latencies_ms
    halves = [lat[: lat.size // 2], lat[lat.size // 2 :]]
    b.results["upload"] = {
        "file_bytes": len(pdf),
        "uploads": n,
        "rate_per_s": rate,
        "statuses": {str(k): v for k, v in run.statuses.items()},
        "worker_busy": (
            f"2 x 5 MB PDFs queued first; the first was '{busy_status}' when uploads began, "
            f"the second '{still.get('status')}' after the run"
        ),
        "ack": run.summary(),
        "ack_p50_ms_by_half": spread([float(np.percentile(h, 50)) for h in halves]),
        "sync_processing_s": spread(sync_s),
        "sync_upload_ack_ms_idle": spread(sync_ack),
        "sync_over_ack_p50": round(med(sync_s) * 1000 / run.pct(50), 1),
    }
    b.samples["upload"] = {"ack": lat, "sync_ms": med(sync_s) * 1000}
