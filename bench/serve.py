"""`python -m bench.serve <module:factory>`: serve any ASGI factory as `avataradam serve` does.

Reuses `avataradam.entrypoints.cli._serve` with only the factory swapped, so the
baseline and the API share server choice (`AVATARADAM_HTTP_SERVER`), workers, loop
(uvloop), HTTP parser (httptools for uvicorn) and every other option.
"""

from __future__ import annotations

import sys

from avataradam.entrypoints import cli


def main() -> int:
    cli.ASGI_FACTORY = sys.argv[1]
    return cli.main(["serve"])


if __name__ == "__main__":
    sys.exit(main())
