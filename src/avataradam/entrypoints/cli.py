"""`avataradam` command line: serve, worker, migrate, create-admin, create-dealership, config,
reembed, reembed-status, demo."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import NoReturn
from uuid import UUID

from dotenv import dotenv_values

from avataradam.adapters.postgres.migrate import (
    VECTOR_GENERATIONS,
    apply_migrations,
    record_legacy_vector_profile,
)
from avataradam.domain.errors import DomainError
from avataradam.domain.model import Role
from avataradam.domain.usecases.users import NewUser
from avataradam.domain.vectors import profile_name
from avataradam.entrypoints import cli_reembed, demo
from avataradam.entrypoints.settings import (
    Settings,
    SettingsError,
    env_variable_names,
    load_settings,
)

ASGI_FACTORY = "avataradam.entrypoints.http.asgi:create"
WORK_QUEUES = ("ingest", "webhooks")
"""The worker's queues (adapters/dramatiq/queue.py QUEUES), named here so that the CLI
imports no worker code to parse its arguments."""


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    if args.migrate:
        _migrate(settings, args)
    http = settings.http
    if http.server == "granian":
        from granian.constants import Interfaces, Loops  # noqa: PLC0415 -- only the chosen server is imported
        from granian.server import Server  # noqa: PLC0415

        Server(
            ASGI_FACTORY,
            address=http.host,
            port=http.port,
            interface=Interfaces.ASGI,
            workers=http.workers,
            loop=Loops.uvloop,
            factory=True,
        ).serve()
        return 0
    import uvicorn  # noqa: PLC0415 -- only the chosen server is imported

    # After its graceful shutdown uvicorn re-raises the signal it stopped on, under the
    # handler that was there before it: by default the process then dies of SIGTERM
    # (status 143, an error to container runtimes). A completed shutdown exits 0.
    signal.signal(signal.SIGTERM, _exit_after_graceful_shutdown)
    uvicorn.run(
        ASGI_FACTORY,
        factory=True,
        host=http.host,
        port=http.port,
        workers=http.workers,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=30,
    )
    return 0


def _exit_after_graceful_shutdown(_signum: int, _frame: FrameType | None) -> NoReturn:
    raise SystemExit(0)


def _worker(settings: Settings, args: argparse.Namespace) -> int:
    """Dramatiq's CLI in this process: it forks the worker processes and forwards every
    stop signal to them; each drains within `worker.drain_timeout_s` (worker/shutdown.py).

    `--worker-fork-timeout` is how long Dramatiq's main process waits for its worker
    processes to boot before it starts the fork processes (none here), its log forwarding
    and its signal handling. A worker process waiting at boot for its database (worker/
    runtime.py `start_when_reachable`) would otherwise keep its logs unseen and a stop
    signal unanswered for Dramatiq's default 30 s.
    """
    from dramatiq.cli import main as dramatiq_main  # noqa: PLC0415 -- worker-only import

    argv = [
        "dramatiq",
        "avataradam.entrypoints.worker.main",
        "--processes",
        str(args.processes),
        "--threads",
        str(args.threads),
        "--worker-shutdown-timeout",
        str(round(settings.worker.drain_timeout_s * 1000)),
        "--worker-fork-timeout",
        "100",
    ]
    if args.queues:
        argv += ["--queues", *args.queues]
    sys.argv = argv
    return int(dramatiq_main() or 0)  # type: ignore[no-untyped-call]


def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    applied = apply_migrations(settings.database.url)
    print(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else ""))
    if VECTOR_GENERATIONS in applied:
        profile = legacy_vector_profile()
        count = record_legacy_vector_profile(settings.database.url, profile)
        if count:
            print(f"recorded {profile} as the vector profile of {count} dealership(s)")
    return 0


PRE_GENERATION_DEFAULTS = {
    "AVATARADAM_EMBEDDER": "local",
    "AVATARADAM_EMBEDDING_CONTEXT": "title_section",
}
"""The embedder and embedded-text format of a deployment that set neither, before
dealerships recorded their vectors' profile (migration 0013); today's defaults may
differ, and vectors are not re-made by an upgrade."""


def legacy_vector_profile(
    environ: Mapping[str, str] | None = None, env_file: Path = Path(".env")
) -> str:
    """The profile vectors written before migration 0013 were made with: what this
    deployment configures (its environment, then its `.env`), else the defaults of then."""
    values = {
        **(dotenv_values(env_file) if env_file.is_file() else {}),
        **(os.environ if environ is None else environ),
    }
    chosen = {
        name: values.get(name) or default for name, default in PRE_GENERATION_DEFAULTS.items()
    }
    return profile_name(chosen["AVATARADAM_EMBEDDER"], chosen["AVATARADAM_EMBEDDING_CONTEXT"])


async def _create_admin_async(settings: Settings, args: argparse.Namespace) -> int:
    container = _build(settings)
    await container.start()
    try:
        role = Role(args.role)
        dealership_id = UUID(args.dealership_id) if args.dealership_id else None
        new = NewUser(email=args.email, password=args.password, role=role)
        user = await container.create_user.create(new, dealership_id)
        print(f"created {user.role.value} {user.email} with id {user.id}")
        return 0
    finally:
        await container.close()


async def _create_dealership_async(settings: Settings, args: argparse.Namespace) -> int:
    container = _build(settings)
    await container.start()
    try:
        dealership = await container.create_dealership.create(args.name)
        print(f"created dealership {dealership.name!r} with id {dealership.id}")
        return 0
    finally:
        await container.close()


_SECRET_WORDS = ("secret", "key", "password")


def _config(settings: Settings, _args: argparse.Namespace) -> int:
    """Prints every setting's variable and its effective value (secrets masked)."""
    for path, name in env_variable_names().items():
        value: object = settings
        for part in path:
            value = getattr(value, part)
        if value is not None and any(word in name.lower() for word in _SECRET_WORDS):
            value = "********"
        elif "url" in name.lower() and isinstance(value, str):
            value = _mask_url_password(value)
        print(f"{name}={'' if value is None else value}")
    return 0


def _mask_url_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in credentials:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:********@{host}"


_build = cli_reembed.command_container


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="avataradam", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the HTTP API")
    serve.add_argument("--migrate", action="store_true", help="apply migrations first")
    serve.set_defaults(handler=_serve)

    worker = commands.add_parser("worker", help="run the background (Dramatiq) worker")
    worker.add_argument("--processes", type=int, default=1)
    worker.add_argument("--threads", type=int, default=2)
    worker.add_argument(
        "--queues",
        nargs="+",
        choices=WORK_QUEUES,
        help="consume only these queues (default: all). Run one worker per queue so that "
        "each kind of work has its own threads: `ingest` (ingestion, deletion) and "
        "`webhooks` (deliveries)",
    )
    worker.set_defaults(handler=_worker)

    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.set_defaults(handler=_migrate)

    admin = commands.add_parser("create-admin", help="create a user without signing in")
    admin.add_argument("--email", required=True)
    admin.add_argument("--password", required=True)
    admin.add_argument("--role", choices=[r.value for r in Role], default=Role.SUPER_ADMIN.value)
    admin.add_argument("--dealership-id", help="required for dealership_admin and user")
    admin.set_defaults(handler=lambda s, a: asyncio.run(_create_admin_async(s, a)))

    config = commands.add_parser("config", help="print every setting (secrets masked)")
    config.set_defaults(handler=_config)

    dealership = commands.add_parser("create-dealership", help="create a dealership")
    dealership.add_argument("--name", required=True)
    dealership.set_defaults(handler=lambda s, a: asyncio.run(_create_dealership_async(s, a)))
    cli_reembed.add_commands(commands)
    demo.add_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        return int(args.handler(settings, args))
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
