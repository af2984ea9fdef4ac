"""Worker SIGKILL mid-ingestion: nothing acknowledged is lost, nothing is stored twice.

One stack (fresh database, private Redis, API, worker) serves every trial. Trials
alternate two large documents: a multi-page PDF (its time goes to extraction) and a
generated text of thousands of chunks (its time goes to embedding and indexing, where
a kill can leave vectors behind). An undisturbed ingestion of each calibrates how
long it takes. Each trial then uploads, into a dealership of its own, one large
document and two small ones, waits until the large one is `processing`, lets it run a
random share of its calibrated time (so kills land in different stages), SIGKILLs
every process of the worker and starts a new one. It measures, from PostgreSQL
directly:

- lost documents: not `ready` within the timeout (must be 0);
- duplicates: chunk or vector rows beyond `chunk_count` (must be 0);
- time from the kill until all three documents are ready.

The stalled timeout (after which the reconciler re-drives a `processing` document
without progress) must exceed the PDF's extraction, which reports no progress while
it runs; below it, a healthy ingestion is re-driven and runs twice at once.

Run: `.venv/bin/python -m ops.drills.worker_kill --trials 20` (part of `just drill`).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ops.drills.stack import (
    DealershipAdmin,
    Stack,
    large_pdf,
    large_text,
    small_document,
    summary,
)

SETTLE_TIMEOUT_S = 180.0
DOCUMENTS: dict[str, Callable[[], tuple[bytes, str]]] = {"pdf": large_pdf, "text": large_text}


@dataclass(frozen=True)
class KillResult:
    trial: int
    kind: str
    killed_after_s: float
    stage_at_kill: str
    documents: int
    lost: int
    duplicates: int
    completion_s: float | None
    attempts: int

    @property
    def passed(self) -> bool:
        return self.lost == 0 and self.duplicates == 0


def upload_batch(stack: Stack, admin: DealershipAdmin, kind: str, tag: str) -> list[str]:
    large, name = DOCUMENTS[kind]()
    ids = [stack.upload(admin, large, name, "books")]
    for n in range(2):
        content, filename = small_document(f"{tag}-{n}")
        ids.append(stack.upload(admin, content, filename, "product_knowledge"))
    return ids


def calibrate(stack: Stack, kind: str) -> float:
    """Seconds one undisturbed ingestion of a large document takes (processing -> ready)."""
    admin = stack.new_dealership_admin()
    large, name = DOCUMENTS[kind]()
    document_id = stack.upload(admin, large, name, "books")
    stack.wait_until_processing(admin, document_id)
    started = time.monotonic()
    settled = stack.wait_until_settled([document_id], SETTLE_TIMEOUT_S, since=started)
    took = settled[document_id]
    counts = stack.database.stored(document_id)
    if took is None or not counts.exactly_one_set:
        raise RuntimeError(f"the calibration ingestion did not succeed: {counts}")
    if counts.attempts != 1:
        print(  # noqa: T201 -- a warning for the operator
            f"warning: the undisturbed {kind} ingestion was re-driven ({counts.attempts} "
            "attempts): raise --stalled-timeout-s above its extraction time"
        )
    return took


def run_trial(
    trial: int, stack: Stack, *, kind: str, ingest_s: float, rng: random.Random
) -> KillResult:
    admin = stack.new_dealership_admin()
    ids = upload_batch(stack, admin, kind, f"t{trial}")
    stack.wait_until_processing(admin, ids[0])
    delay = rng.uniform(0.0, ingest_s * 0.9)
    time.sleep(delay)
    victim = stack.workers[-1]
    stage = stack.database.stored(ids[0])
    killed_at = time.monotonic()
    victim.kill_group()
    stack.start_worker()
    outcome = stack.outcome(ids, SETTLE_TIMEOUT_S, since=killed_at)
    return KillResult(
        trial=trial,
        kind=kind,
        killed_after_s=delay,
        stage_at_kill=f"{stage.status}/{stage.stage or '-'}",
        documents=len(ids),
        lost=outcome.lost,
        duplicates=outcome.duplicates,
        completion_s=outcome.completion_s,
        attempts=outcome.counts[0].attempts,
    )


def render(results: list[KillResult], ingest_s: dict[str, float]) -> str:
    header = (
        f"{'trial':>5} {'doc':>4} {'kill@s':>7} {'stage at kill':>22} {'docs':>5} {'lost':>5} "
        f"{'dups':>5} {'done s':>7} {'tries':>5}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        done = f"{r.completion_s:7.2f}" if r.completion_s is not None else "  never"
        lines.append(
            f"{r.trial:>5} {r.kind:>4} {r.killed_after_s:>7.2f} {r.stage_at_kill:>22} "
            f"{r.documents:>5} {r.lost:>5} {r.duplicates:>5} {done} {r.attempts:>5}"
        )
    completions = [r.completion_s for r in results if r.completion_s is not None]
    calibrated = ", ".join(f"{kind} {took:.2f} s" for kind, took in ingest_s.items())
    lines.append(f"undisturbed ingestion of the large documents: {calibrated}")
    lines.append(f"kill -> all documents ready: {summary(completions)}")
    for kind in ingest_s:
        of_kind = [r.completion_s for r in results if r.kind == kind and r.completion_s]
        lines.append(f"  {kind}: {summary(of_kind)}")
    lines.append(
        f"documents lost: {sum(r.lost for r in results)} of {sum(r.documents for r in results)}; "
        f"duplicate chunk/vector rows: {sum(r.duplicates for r in results)}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--documents", choices=["pdf", "text", "both"], default="both")
    parser.add_argument("--stalled-timeout-s", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)  # noqa: S311 -- kill moments, not secrets
    kinds = ["pdf", "text"] if args.documents == "both" else [args.documents]
    stalled = {"AVATARADAM_INGESTION_STALLED_TIMEOUT_S": str(args.stalled_timeout_s)}
    results: list[KillResult] = []
    with (
        tempfile.TemporaryDirectory(prefix="avataradam-drill-") as workdir,
        Stack(Path(workdir), extra_env=stalled) as stack,
    ):
        stack.start_api()
        stack.start_worker()
        ingest_s = {kind: calibrate(stack, kind) for kind in kinds}
        print(f"calibration: {ingest_s}", flush=True)  # noqa: T201 -- operator progress
        for trial in range(1, args.trials + 1):
            kind = kinds[(trial - 1) % len(kinds)]
            result = run_trial(trial, stack, kind=kind, ingest_s=ingest_s[kind], rng=rng)
            results.append(result)
            print(f"trial {trial}: {result}", flush=True)  # noqa: T201 -- operator progress
    print(render(results, ingest_s))  # noqa: T201 -- the drill's report
    return 0 if results and all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
