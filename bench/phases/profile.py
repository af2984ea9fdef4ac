"""A profile of the cached search path."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench import loadgen, report
from bench.harness import Bench
from bench.phases.common import WARM_QUERY

# --------------------------------------------------------------------------- profile


def phase_profile(b: Bench) -> None:
    """py-spy on the API process during a cached-search saturation run: top self time."""
    assert b.api is not None
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    out = b.log_dir / "profile-cached-search.txt"
    spy = subprocess.Popen(
        [
            py_spy,
            "record",
            "-p",
            str(b.api.pid),
            "--subprocesses",
            "-d",
            str(b.q(8, 3)),
            "-r",
            "200",
            "-f",
            "raw",
            "-o",
            str(out),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(1.0)
    loadgen.wrk(
        f"{b.api.base_url}/v1/search",
        method="POST",
        body=json.dumps({"query": WARM_QUERY, "top_k": 5}).encode(),
        headers={**b.tenants[0].user.auth, "Content-Type": "application/json"},
        duration_s=b.q(6, 2),
    )
    _, err = spy.communicate(timeout=60)
    if not out.exists():
        b.results["profile"] = {"error": err.decode(errors="replace")[-500:]}
        return
    b.results["profile"] = report.summarise_profile(out)
