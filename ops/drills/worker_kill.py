"""Worker SIGKILL mid-ingestion: the document is ready again within a minute and
`stalled` in between; nothing acknowledged is lost, nothing is stored twice.

One stack (fresh database, private Redis, API, worker with two threads) serves every
trial, with the default lease settings: a worker holds a document under a 20 s lease
renewed every 5 s, and the reconciler runs every 5 s. Trials alternate two large
documents: a multi-page PDF (its time goes to extraction, which reports no progress)
and a generated text of thousands of chunks (its time goes to embedding and indexing,
where a kill can leave vectors behind). An undisturbed ingestion of each calibrates how
long it takes. Each trial, in a dealership of its own, uploads the watched large
document and waits until it is `processing`, then the other large one (the worker's
second thread) and two small ones (fetched by the worker, waiting for a thread); lets
the watched one run a random share of its calibrated time (so kills land in different
stages); SIGKILLs every process of the worker, starts a new one and uploads one more
small document. Nothing waits for Dramatiq's own requeue of what the dead worker held
but the two prefetched small documents: leases bring the running ones back. It
measures, polling `GET /v1/documents/{id}` as fast as the API answers, and reading
PostgreSQL directly:

- `stalled`: seconds from the kill until the API first said `stalled: true` for the
  watched document (its lease lapsed: at most the lease after the kill);
- `taken`: until a worker held it again (`stalled: false`, one more attempt);
- `ready`: until it was `ready`, which must be within 60 s;
- `all`: until all five documents were `ready`;
- lost documents (not `ready` in the end) and duplicate chunk or vector rows (both 0).

Run: `.venv/bin/python -m ops.drills.worker_kill --trials 10` (`just drill-worker-kill`,
also part of `just drill`).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ops.drills.stack import (
    DealershipAdmin,
    Stack,
    large_pdf,
    large_text,
    small_document,
    summary,
)

READY_WITHIN_S = 60.0
SETTLE_TIMEOUT_S = 180.0
DOCUMENTS: dict[str, Callable[[], tuple[bytes, str]]] = {"pdf": large_pdf, "text": large_text}
DEFAULT_LEASES = {
    "AVATARADAM_INGESTION_LEASE_S": "20",
    "AVATARADAM_INGESTION_LEASE_RENEW_INTERVAL_S": "5",
    "AVATARADAM_INGESTION_RECONCILE_INTERVAL_S": "5",
    "AVATARADAM_INGESTION_QUEUED_TIMEOUT_S": "300",
}
"""The settings' defaults, over the stack's fast test values."""


@dataclass(frozen=True)
class KillResult:
    trial: int
    kind: str
    killed_after_s: float
    stage_at_kill: str
    stalled_s: float | None
    """From the kill until the API first answered `stalled: true` for the watched document."""
    taken_up_s: float | None
    """Until a worker held it again (`stalled: false` with one more attempt)."""
    ready_s: float | None
    """Until the watched document was `ready`."""
    all_ready_s: float | None
    """Until every document of the trial was `ready` (None: one never was)."""
    lost: int
    duplicates: int
    attempts: int

    @property
    def passed(self) -> bool:
        return (
            self.lost == 0
            and self.duplicates == 0
            and self.stalled_s is not None
            and self.ready_s is not None
            and self.ready_s <= READY_WITHIN_S
        )


@dataclass
class Watch:
    """What the API said after the kill about the watched document and the others."""

    stalled_s: float | None = None
    taken_up_s: float | None = None
    ready_s: float | None = None
    others_ready_s: dict[str, float] = field(default_factory=dict)


def watch(
    stack: Stack,
    admin: DealershipAdmin,
    watched_id: str,
    other_ids: list[str],
    *,
    since: float,
    attempts: int,
) -> Watch:
    """Polls the watched document as fast as the API answers, the others with it."""
    seen = Watch()
    settled = False
    with httpx.Client(base_url=stack.base_url, timeout=10, headers=admin.headers) as http:
        while time.monotonic() - since < SETTLE_TIMEOUT_S:
            if not settled:
                body = http.get(f"/v1/documents/{watched_id}").json()
                at = time.monotonic() - since
                if body["stalled"] and seen.stalled_s is None:
                    seen.stalled_s = at
                if seen.taken_up_s is None and body["attempts"] > attempts and not body["stalled"]:
                    seen.taken_up_s = at
                settled = body["status"] in ("ready", "failed")
                if body["status"] == "ready":
                    seen.ready_s = at
            for other_id in other_ids:
                if other_id not in seen.others_ready_s:
                    other = http.get(f"/v1/documents/{other_id}").json()
                    if other["status"] == "ready":
                        seen.others_ready_s[other_id] = time.monotonic() - since
            if settled and len(seen.others_ready_s) == len(other_ids):
                break
    return seen


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
            f"warning: the undisturbed {kind} ingestion ran {counts.attempts} times: "
            "a live worker's lease lapsed (an overloaded host?)"
        )
    return took


def run_trial(
    trial: int, stack: Stack, *, kind: str, ingest_s: float, rng: random.Random
) -> KillResult:
    """The watched large document runs; a second large one takes the worker's other
    thread and two small ones wait in its prefetch; after the kill one more small one
    is uploaded."""
    admin = stack.new_dealership_admin()
    large, name = DOCUMENTS[kind]()
    watched_id = stack.upload(admin, large, name, "books")
    stack.wait_until_processing(admin, watched_id)
    second, second_name = DOCUMENTS["text" if kind == "pdf" else "pdf"]()
    others = [stack.upload(admin, second, second_name, "playbooks")]
    for n in range(2):
        content, filename = small_document(f"t{trial}-before-{n}")
        others.append(stack.upload(admin, content, filename, "product_knowledge"))
    delay = rng.uniform(0.0, ingest_s * 0.9)
    time.sleep(delay)
    victim = stack.workers[-1]
    at_kill = stack.database.stored(watched_id)
    killed_at = time.monotonic()
    victim.kill_group()
    stack.start_worker()
    content, filename = small_document(f"t{trial}-after")
    others.append(stack.upload(admin, content, filename, "product_knowledge"))
    seen = watch(stack, admin, watched_id, others, since=killed_at, attempts=at_kill.attempts)
    outcome = stack.outcome([watched_id, *others], SETTLE_TIMEOUT_S, since=killed_at)
    everything = [seen.ready_s, *seen.others_ready_s.values()]
    all_ready = [t for t in everything if t is not None]
    return KillResult(
        trial=trial,
        kind=kind,
        killed_after_s=delay,
        stage_at_kill=f"{at_kill.status}/{at_kill.stage or '-'}",
        stalled_s=seen.stalled_s,
        taken_up_s=seen.taken_up_s,
        ready_s=seen.ready_s,
        all_ready_s=max(all_ready) if len(all_ready) == 1 + len(others) else None,
        lost=outcome.lost,
        duplicates=outcome.duplicates,
        attempts=outcome.counts[0].attempts,
    )


def _seconds(value: float | None) -> str:
    return f"{value:7.2f}" if value is not None else "  never"


def render(results: list[KillResult], ingest_s: dict[str, float]) -> str:
    header = (
        f"{'trial':>5} {'doc':>4} {'kill@s':>7} {'stage at kill':>22} {'stalled':>7} "
        f"{'taken':>7} {'ready':>7} {'all':>7} {'lost':>4} {'dups':>4} {'tries':>5}"
    )
    lines = [header, "-" * len(header)]
    lines.extend(
        f"{r.trial:>5} {r.kind:>4} {r.killed_after_s:>7.2f} {r.stage_at_kill:>22} "
        f"{_seconds(r.stalled_s)} {_seconds(r.taken_up_s)} {_seconds(r.ready_s)} "
        f"{_seconds(r.all_ready_s)} {r.lost:>4} {r.duplicates:>4} {r.attempts:>5}"
        for r in results
    )

    def values(pick: Callable[[KillResult], float | None], kind: str | None = None) -> list[float]:
        picked = [pick(r) for r in results if kind is None or r.kind == kind]
        return [v for v in picked if v is not None]

    calibrated = ", ".join(f"{kind} {took:.2f} s" for kind, took in ingest_s.items())
    lines.append(f"undisturbed ingestion of the large documents: {calibrated}")
    lines.append(f"kill -> stalled: true:   {summary(values(lambda r: r.stalled_s))}")
    lines.append(f"kill -> taken up again:  {summary(values(lambda r: r.taken_up_s))}")
    lines.append(f"kill -> ready:           {summary(values(lambda r: r.ready_s))}")
    lines.extend(f"  {kind}: {summary(values(lambda r: r.ready_s, kind))}" for kind in ingest_s)
    lines.append(f"kill -> all five documents ready: {summary(values(lambda r: r.all_ready_s))}")
    within = sum(r.ready_s is not None and r.ready_s <= READY_WITHIN_S for r in results)
    stalled = sum(r.stalled_s is not None for r in results)
    lines.append(
        f"ready within {READY_WITHIN_S:.0f} s: {within} of {len(results)}; stalled seen: "
        f"{stalled} of {len(results)}; documents lost: {sum(r.lost for r in results)} of "
        f"{5 * len(results)}; duplicate chunk/vector rows: {sum(r.duplicates for r in results)}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--documents", choices=["pdf", "text", "both"], default="both")
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)  # noqa: S311 -- kill moments, not secrets
    kinds = ["pdf", "text"] if args.documents == "both" else [args.documents]
    results: list[KillResult] = []
    with (
        tempfile.TemporaryDirectory(prefix="avataradam-drill-") as workdir,
        Stack(Path(workdir), extra_env=DEFAULT_LEASES) as stack,
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
