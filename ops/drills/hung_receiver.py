"""A hung webhook receiver beside a steady upload stream: ingestion latency stays in its
normal band, and other dealerships' receivers still get their events.

Each layout is a fresh stack (API, workers, database, private Redis). Dealership A
subscribes a receiver that accepts connections and never answers; dealership B an
acknowledging one. Both upload small documents at a steady rate. Measured: seconds
from each upload's `202` to `ready` (ingestion latency), seconds from `ready` to B's
receiver getting the event, and how many requests reached the hung receiver.

Layouts:
- `baseline`: one worker per queue, no hung receiver (the normal band);
- `separate`: one worker per queue (`--queues ingest`, `--queues webhooks`), as
  `just run` and the systemd units run them, with the hung receiver;
- `shared`: one worker consuming every queue with 2 threads, with the hung receiver
  (for contrast: only the circuit and the short timeout protect ingestion there).

Passes when `separate`'s slowest ingestion is within the band (twice the baseline's
slowest plus one second) and every event of B arrived.

Run: `.venv/bin/python -m ops.drills.hung_receiver` (`just drill-hung-receiver`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ops.drills.receivers import Receivers
from ops.drills.stack import DealershipAdmin, ReadyWatch, Stack, small_document, summary

LAYOUTS = ("baseline", "separate", "shared")
DRILL_ENV = {"AVATARADAM_WEBHOOKS_ALLOW_PRIVATE": "true"}


@dataclass(frozen=True)
class HungReceiverResult:
    layout: str
    ingestion_s: list[float]
    neighbour_s: list[float]
    neighbour_missing: int
    hung_requests: int

    @property
    def slowest(self) -> float:
        return max(self.ingestion_s)


def _stream(
    stack: Stack,
    watch: ReadyWatch,
    admins: list[DealershipAdmin],
    uploads: int,
    interval_s: float,
    tag: str,
) -> dict[str, tuple[DealershipAdmin, float]]:
    """Uploads `uploads` documents, alternating dealerships, every `interval_s`."""
    sent: dict[str, tuple[DealershipAdmin, float]] = {}
    for n in range(uploads):
        admin = admins[n % len(admins)]
        content, filename = small_document(f"{tag}-{admin.dealership_id[:8]}-{n}")
        started = time.monotonic()
        document_id = stack.upload(admin, content, filename, "compliance")
        watch.watch(document_id)
        sent[document_id] = (admin, started)
        time.sleep(max(0.0, interval_s - (time.monotonic() - started)))
    return sent


def run_layout(layout: str, uploads: int, interval_s: float, workdir: Path) -> HungReceiverResult:
    with (
        Stack(workdir / layout, extra_env=DRILL_ENV) as stack,
        Receivers() as receivers,
    ):
        stack.start_api()
        if layout == "shared":
            stack.start_worker(threads=2)
        else:
            stack.start_worker(queues=["ingest"])
            stack.start_worker(queues=["webhooks"], threads=8)
        hung_admin, neighbour_admin = stack.new_dealership_admin(), stack.new_dealership_admin()
        hung_url = receivers.url("hang", "hung")
        neighbour_url = receivers.url("ok", "neighbour")
        if layout != "baseline":
            stack.subscribe(hung_admin, hung_url)
        stack.subscribe(neighbour_admin, neighbour_url)
        with ReadyWatch(stack.database.url) as watch:
            warm = _stream(stack, watch, [hung_admin], 2, 0.5, "warm")  # loads the workers
            watch.wait(list(warm), timeout_s=120)
            sent = _stream(stack, watch, [hung_admin, neighbour_admin], uploads, interval_s, "s")
            ready = watch.wait(list(sent), timeout_s=180)
        neighbour_ids = [i for i, (admin, _) in sent.items() if admin is neighbour_admin]
        received = receivers.wait_for(neighbour_url, len(neighbour_ids), timeout_s=60)
        arrivals = {json.loads(r.body)["data"]["document_id"]: r.at for r in received}
        neighbour_s = [
            arrivals[i] - ready[i] for i in neighbour_ids if i in ready and i in arrivals
        ]
        return HungReceiverResult(
            layout=layout,
            ingestion_s=[ready[i] - started for i, (_, started) in sent.items() if i in ready]
            + [float("inf")] * (len(sent) - len(ready)),
            neighbour_s=neighbour_s,
            neighbour_missing=len(neighbour_ids) - len(neighbour_s),
            hung_requests=len(receivers.of(hung_url)),
        )


def render(results: list[HungReceiverResult], band_s: float) -> str:
    lines = [
        f"{'layout':>9} {'ingestion p50':>14} {'p95':>7} {'max':>7} "
        f"{'neighbour p50':>14} {'max':>7} {'missing':>8} {'hung reqs':>10}"
    ]
    lines.append("-" * len(lines[0]))
    for r in results:
        ordered = sorted(r.ingestion_s)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
        neighbour = r.neighbour_s or [float("nan")]
        lines.append(
            f"{r.layout:>9} {statistics.median(ordered):14.2f} {p95:7.2f} {max(ordered):7.2f} "
            f"{statistics.median(neighbour):14.2f} {max(neighbour):7.2f} "
            f"{r.neighbour_missing:>8} {r.hung_requests:>10}"
        )
    lines.append(f"normal band (2 x baseline max + 1 s): {band_s:.2f} s")
    lines.extend(f"{r.layout}: ingestion {summary(r.ingestion_s)}" for r in results)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--uploads", type=int, default=30)
    parser.add_argument("--interval-s", type=float, default=0.5)
    parser.add_argument("--layouts", nargs="+", choices=LAYOUTS, default=list(LAYOUTS))
    args = parser.parse_args(argv)
    results: list[HungReceiverResult] = []
    with tempfile.TemporaryDirectory(prefix="avataradam-drill-") as workdir:
        for layout in args.layouts:
            (Path(workdir) / layout).mkdir()
            result = run_layout(layout, args.uploads, args.interval_s, Path(workdir))
            results.append(result)
            print(f"{layout}: {result}", flush=True)  # noqa: T201 -- operator progress
    by_layout = {r.layout: r for r in results}
    band = 2 * by_layout["baseline"].slowest + 1 if "baseline" in by_layout else float("inf")
    print(render(results, band))  # noqa: T201 -- the drill's report
    separate = by_layout.get("separate")
    passed = separate is None or (separate.slowest <= band and separate.neighbour_missing == 0)
    return 0 if results and passed else 1


if __name__ == "__main__":
    sys.exit(main())
