"""The image's HEALTHCHECK (deploy/image/Containerfile), by what the container runs.

`avataradam serve`: `GET /health/live` on 127.0.0.1:AVATARADAM_HTTP_PORT answers 200.
`avataradam worker` with AVATARADAM_WORKER_METRICS_PORT: its `GET /metrics` answers 200.
Anything else (a worker without a metrics port, `migrate`): healthy while it runs.
Exit 0 healthy, 1 not (the Docker HEALTHCHECK contract). Standard library only.
"""

import os
import sys
import urllib.request
from collections.abc import Mapping
from pathlib import Path


def probe_url(command: list[bytes], environ: Mapping[str, str]) -> str | None:
    """What to probe for the container's main `command` (its argv); None: nothing."""
    if b"serve" in command:
        return f"http://127.0.0.1:{environ.get('AVATARADAM_HTTP_PORT', '8000')}/health/live"
    metrics_port = environ.get("AVATARADAM_WORKER_METRICS_PORT")
    if b"worker" in command and metrics_port:
        return f"http://127.0.0.1:{metrics_port}/metrics"
    return None


def main(cmdline: Path = Path("/proc/1/cmdline"), environ: Mapping[str, str] = os.environ) -> int:
    url = probe_url(cmdline.read_bytes().split(b"\0"), environ)
    if url is None:
        return 0
    try:
        with urllib.request.urlopen(url, timeout=4) as response:  # noqa: S310 -- fixed http URL
            return 0 if response.status == 200 else 1
    except OSError as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)  # noqa: T201 -- podman shows it
        return 1


if __name__ == "__main__":
    sys.exit(main())
