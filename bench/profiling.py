"""`python -m bench.profiling [--scenario search|upload] [--server S] [--seconds N]`.

Starts one API instance on a fresh database and records it with py-spy, then prints the
top frames by self time and our own frames by inclusive time (idle threads excluded):

- `search` (default): one warmed cached search while wrk saturates `POST /v1/search`;
- `floor`: the floor route (`bench.floor_app`: auth, one rate-limit call, one PostgreSQL
  statement) under the same load, to set against `search`;
- `upload`: 5 MB PDF uploads one after another (no worker runs, so they only queue),
  with the acknowledgement latency of each.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import uvloop

from bench import documents, loadgen, report
from bench.floor_app import FLOOR_PATH
from bench.harness import HOST, Bench, standalone
from bench.phases.common import WARM_QUERY, warm_search
from bench.seeding import multipart, seed
from bench.stack import Server


async def amain(args: argparse.Namespace) -> None:
    async with standalone("avataradam-profile-", dict(args.env or [])) as b:
        app = "bench.floor_app:create" if args.scenario == "floor" else None
        api = b.start_server("api", app, AVATARADAM_HTTP_SERVER=args.server)
        await seed(b, api)
        user = b.tenants[0].user
        warm_search(api, user)
        out = b.log_dir / "profile.txt"
        py_spy = str(Path(sys.executable).with_name("py-spy"))
        if args.no_spy:
            py_spy = "true"
        spy = subprocess.Popen(
            [
                py_spy,
                "record",
                "-p",
                str(api.pid),
                "--subprocesses",
                "-d",
                str(args.seconds),
                "-r",
                "250",
                "--nonblocking",
                "-f",
                "raw",
                "-o",
                str(out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        time.sleep(1)
        if args.scenario in ("search", "floor"):
            path = FLOOR_PATH if args.scenario == "floor" else "/v1/search"
            result = loadgen.wrk(
                f"{api.base_url}{path}",
                method="POST",
                body=json.dumps({"query": WARM_QUERY, "top_k": 5}).encode(),
                headers={**user.auth, "Content-Type": "application/json"},
                duration_s=args.seconds - 2,
            )
            print(f"throughput under profiling: {result.throughput_rps:.0f} req/s")
        else:
            await _uploads(b, api, seconds=args.seconds - 2)
        spy.communicate(timeout=120)
        if args.no_spy:
            return
        summary = report.summarise_profile(out, top=args.top)
        print(json.dumps(summary, indent=1))


async def _uploads(b: Bench, api: Server, *, seconds: float) -> None:
    pdf = documents.make_pdf(pages=150, target_bytes=5 * 1024 * 1024)
    admin = b.tenants[0].admin
    acks: list[float] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        body, content_type = multipart(
            f"profile-{len(acks)}.pdf", documents.with_nonce(pdf, len(acks)), "books"
        )
        request = loadgen.build_request(
            "POST",
            "/v1/documents",
            host=f"{HOST}:{api.port}",
            body=body,
            headers={**admin.auth, "Content-Type": content_type},
        )
        run = await loadgen.fixed_rate(HOST, api.port, [request], rate=100.0, count=1)
        if run.statuses.get(202) != 1:
            raise RuntimeError(f"upload answered {run.statuses}")
        acks.append(float(run.latencies_ms[0]))
    print(f"{len(acks)} uploads; ack ms: {[round(a, 1) for a in acks]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", default="search", choices=["search", "floor", "upload"])
    parser.add_argument("--server", default="granian", choices=["uvicorn", "granian"])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--no-spy", action="store_true", help="the load alone, unrecorded")
    parser.add_argument(
        "--env", nargs=2, action="append", metavar=("NAME", "VALUE"), help="extra setting"
    )
    uvloop.run(amain(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
