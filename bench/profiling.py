"""`python -m bench.profiling [--server S] [--seconds N]`: where cached search spends time.

Starts one API instance on a fresh database, warms one cached search, then records the
API process with py-spy while wrk saturates `POST /v1/search`, and prints the top
frames by self time and our own frames by inclusive time (idle threads excluded).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import uvloop

from avataradam.entrypoints.bootstrap import build_container
from avataradam.entrypoints.settings import load_settings
from bench import loadgen, report
from bench.run import WARM_QUERY, Bench, seed, warm_search
from bench.stack import BenchDatabase, BenchRedis, base_environment


async def amain(args: argparse.Namespace) -> None:
    log_dir = Path(tempfile.mkdtemp(prefix="avataradam-profile-"))
    bench_redis = BenchRedis().start()
    db = BenchDatabase().create()
    env = base_environment(db.url, bench_redis.url) | dict(args.env or [])
    container = build_container(load_settings(env, env_file=None))
    await container.start()
    b = Bench(quick=True, only=None, log_dir=log_dir, db=db, env=env, container=container)
    try:
        api = b.start_server("api", None, AVATARADAM_HTTP_SERVER=args.server)
        await seed(b, api)
        user = b.tenants[0].user
        warm_search(api, user)
        out = log_dir / "profile.txt"
        py_spy = str(Path(sys.executable).with_name("py-spy"))
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
                "-f",
                "raw",
                "-o",
                str(out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        time.sleep(1)
        result = loadgen.wrk(
            f"{api.base_url}/v1/search",
            method="POST",
            body=json.dumps({"query": WARM_QUERY, "top_k": 5}).encode(),
            headers={**user.auth, "Content-Type": "application/json"},
            duration_s=args.seconds - 2,
        )
        spy.communicate(timeout=120)
        print(f"throughput under profiling: {result.throughput_rps:.0f} req/s")
        summary = report.summarise_profile(out, top=args.top)
        print(json.dumps(summary, indent=1))
    finally:
        for process in list(b.processes):
            b.stop(process)
        await container.close()
        db.drop()
        bench_redis.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server", default="uvicorn", choices=["uvicorn", "granian"])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument(
        "--env", nargs=2, action="append", metavar=("NAME", "VALUE"), help="extra setting"
    )
    uvloop.run(amain(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
