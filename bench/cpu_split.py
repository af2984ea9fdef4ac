"""`python -m bench.cpu_split [--repetitions N] [--server granian|uvicorn]`: CPU per request.

Starts the API and the floor app (`bench.floor_app`) on a fresh database, saturates each
in turn with wrk (32 connections, 5 s, alternating), and prints the CPU time spent per
request by each party, from /proc (user + system): the server's process tree, Redis,
every PostgreSQL process, and wrk itself. Cached search minus floor is what the cached
search path costs the server beyond authentication, one rate-limit call and one
PostgreSQL statement (issue 14).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
from pathlib import Path

import uvloop

from bench import loadgen
from bench.floor_app import FLOOR_PATH
from bench.harness import standalone
from bench.phases.common import WARM_QUERY, warm_model, warm_search
from bench.seeding import seed

TICKS = os.sysconf("SC_CLK_TCK")


def _pids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _tree(root: int) -> set[int]:
    """`root` and its descendants."""
    parents = {}
    for pid in _pids():
        if (fields := _stat(pid)) is not None:
            parents[pid] = int(fields[1])
    tree, grew = {root}, True
    while grew:
        grown = tree | {pid for pid, parent in parents.items() if parent in tree}
        grew, tree = grown != tree, grown
    return tree


def _named(name: str) -> set[int]:
    found = set()
    for pid in _pids():
        try:
            if name in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
                found.add(pid)
        except OSError:
            continue
    return found


def _cpu_s(pids: set[int]) -> float:
    """User + system CPU seconds of `pids` (the live ones)."""
    ticks = 0
    for pid in pids:
        if (fields := _stat(pid)) is not None:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / TICKS


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def amain(args: argparse.Namespace) -> None:
    async with standalone("avataradam-cpu-split-", {"AVATARADAM_HTTP_SERVER": args.server}) as b:
        search = b.start_server("search", None)
        floor = b.start_server("floor", "bench.floor_app:create")
        await seed(b, search)
        user = b.tenants[0].user
        for server in (search, floor):
            warm_model(server, user)
        warm_search(search, user)
        body = json.dumps({"query": WARM_QUERY, "top_k": 5}).encode()
        headers = {**user.auth, "Content-Type": "application/json"}
        print("route    req/s   CPU µs per request: server  redis  postgres  wrk")
        for _ in range(args.repetitions):
            for name, server, path in (
                ("search", search, "/v1/search"),
                ("floor", floor, FLOOR_PATH),
            ):
                parties = (_tree(server.pid), _named("redis-server"), _named("postgres"))
                before = [_cpu_s(p) for p in parties] + [_children_cpu_s()]
                result = loadgen.wrk(
                    f"{server.base_url}{path}", method="POST", body=body, headers=headers
                )
                after = [_cpu_s(p) for p in parties] + [_children_cpu_s()]
                per = [(a - b) / result.requests * 1e6 for a, b in zip(after, before, strict=True)]
                print(
                    f"{name:7} {result.throughput_rps:6.0f}   "
                    + "  ".join(f"{value:6.1f}" for value in per),
                    flush=True,
                )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--server", default="granian", choices=["granian", "uvicorn"])
    uvloop.run(amain(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
