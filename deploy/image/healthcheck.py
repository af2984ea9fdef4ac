"""The image's HEALTHCHECK (deploy/image/Containerfile), by what the container runs.

`avataradam serve`: `GET /health/live` on 127.0.0.1:AVATARADAM_HTTP_PORT answers 200.
`avataradam worker` with AVATARADAM_WORKER_METRICS_PORT: its `GET /metrics` answers 200.
Anything else (a worker without a metrics port, `migrate`): healthy while it runs.
Exit 0 healthy, 1 not (the Docker HEALTHCHECK contract). Standard library only.
"""

import os
import sys
import urllib.request
from pathlib import Path


def main() -> int:
    command = Path("/proc/1/cmdline").read_bytes().split(b"\0")
    if b"serve" in command:
        url = f"http://127.0.0.1:{os.environ.get('AVATARADAM_HTTP_PORT', '8000')}/health/live"
    elif b"worker" in command and os.environ.get("AVATARADAM_WORKER_METRICS_PORT"):
        url = f"http://127.0.0.1:{os.environ['AVATARADAM_WORKER_METRICS_PORT']}/metrics"
    else:
        return 0
    try:
        with urllib.request.urlopen(url, timeout=4) as response:  # noqa: S310 -- fixed http URL
            return 0 if response.status == 200 else 1
    except OSError as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)  # noqa: T201 -- podman shows it
        return 1


if __name__ == "__main__":
    sys.exit(main())
