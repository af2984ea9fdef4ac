"""`avataradam demo`: a demo dealership, so that a newcomer's first screen is not empty.

It seeds "Demo Motors" with a dealership admin and two trainees (and a super admin when
the database has none), uploads a small F&I knowledge base (objection handling, product
sheets, a compliance page; `avataradam/demo_kb/`) and plays three roleplay sessions with
built-in scenarios, completed so that they are scored (`demo_seed.py`, through the use
cases). Documents are ingested and sessions scored by a worker, as any upload and
session are: without one, the command reports them queued; `--wait` waits for them.
Running it again adds only what is missing and prints the sign-in details again. Where
AVATARADAM_ENVIRONMENT is production it refuses (exit 2) without `--allow-production`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import Counter
from typing import TYPE_CHECKING

import msgspec

from avataradam.domain.model import DocumentStatus
from avataradam.domain.model.scorecards import ScorecardStatus
from avataradam.entrypoints.cli_reembed import command_container

if TYPE_CHECKING:
    from avataradam.domain.model.scorecards import StoredScorecard
    from avataradam.entrypoints.demo_seed import Password, Played, Progress, Seeding
    from avataradam.entrypoints.settings import Settings

DEFAULT_TIMEOUT_S = 300.0
WORKER_HINT = "a worker processes them: `just run` (or `avataradam worker`) starts one"


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = commands.add_parser(
        "demo",
        help="seed a demo dealership: its people, a sample F&I knowledge base and scored "
        "roleplays (run again: adds only what is missing)",
    )
    demo.add_argument(
        "--password",
        help="the password of the demo accounts it creates (12 characters or more); "
        "default: one generated and printed once",
    )
    demo.add_argument(
        "--wait",
        action="store_true",
        help="wait until a worker has made the documents ready and scored the sessions",
    )
    demo.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        metavar="SECONDS",
        help=f"how long --wait waits at most (default {DEFAULT_TIMEOUT_S:.0f})",
    )
    demo.add_argument(
        "--allow-production",
        action="store_true",
        help="seed even where AVATARADAM_ENVIRONMENT=production (refused otherwise: the "
        "demo accounts' password is printed here)",
    )
    demo.set_defaults(handler=lambda s, a: asyncio.run(_demo(s, a)))


async def _demo(settings: Settings, args: argparse.Namespace) -> int:
    # Imported here: the other commands' start need none of it.
    from avataradam.entrypoints.demo_seed import (  # noqa: PLC0415
        Password,
        progress,
        seed_content,
        seed_people,
        wait_until_done,
    )
    from avataradam.entrypoints.observability.logging import (  # noqa: PLC0415
        configure_logging,
    )

    if settings.environment == "production" and not args.allow_production:
        print(
            "error: AVATARADAM_ENVIRONMENT is production: the demo would add a dealership "
            "and accounts whose password is printed here; pass --allow-production to seed "
            "it anyway",
            file=sys.stderr,
        )
        return 2
    password = Password(args.password)  # a password too short stops here, before any write
    settings = _quiet(settings)
    configure_logging(
        service=f"{settings.service_name}-demo",
        level=settings.logging.level,
        fmt=settings.logging.format,
    )
    container = command_container(settings)
    await container.start()
    try:
        seeding = await seed_people(container, password)
        _print_people(seeding, password, settings)
        await seed_content(container, seeding)
        if args.wait:
            print(f"\nWaiting up to {args.timeout:.0f} s for a worker...")
            state = await wait_until_done(container, seeding, args.timeout)
        else:
            state = await progress(container, seeding)
    finally:
        await container.close()
    _print_progress(seeding, state)
    return _verdict(state, waited=args.wait, timeout_s=args.timeout)


def _quiet(settings: Settings) -> Settings:
    """`settings` logging warnings and errors only where they log INFO (the default): the
    command prints what it did, and one info line per roleplay turn would bury it."""
    if settings.logging.level != "INFO":
        return settings
    logging = msgspec.structs.replace(settings.logging, level="WARNING")
    return msgspec.structs.replace(settings, logging=logging)


def _print_people(seeding: Seeding, password: Password, settings: Settings) -> None:
    dealership = seeding.dealership
    if seeding.dealership_created:
        print(f'Demo dealership "{dealership.name}" created (id {dealership.id}).')
    else:
        print(f'Demo dealership "{dealership.name}" is already seeded (id {dealership.id}):')
        print("adding only what is missing.")
    print(f"\nSign in at http://127.0.0.1:{settings.http.port}/ as:")
    seeded = [*seeding.accounts, *([seeding.super_admin] if seeding.super_admin else [])]
    for account in seeded:
        note = "created now" if account.created else "existed"
        print(f"  {account.account.label:<17} {account.account.email:<34} ({note})")
    if seeding.super_admin is None:
        print("  super admin       none made: this database has one already")
    created = [account for account in seeded if account.created]
    _print_password(password, created=bool(created), existed=len(created) < len(seeded))


def _print_password(password: Password, *, created: bool, existed: bool) -> None:
    kept = " (accounts that existed keep theirs)" if existed else ""
    if not created:
        print("Password: unchanged (the one set when the accounts were created; it is")
        print("stored hashed, so it cannot be shown again: an admin can reset it).")
    elif password.generated is not None:
        print(f"Password: {password.generated}  (generated: shown this once){kept}")
    else:
        print(f"Password: the one given with --password{kept}")


def _print_progress(seeding: Seeding, state: Progress) -> None:
    retried = f", {seeding.retried} failed ones retried" if seeding.retried else ""
    uploaded = f"{seeding.uploaded} uploaded now{retried}"
    print(f"\nKnowledge base: {len(state.documents)} documents ({uploaded})")
    for document in state.documents:
        status = document.status.value
        if document.status is DocumentStatus.READY:
            status += f", {document.chunk_count} passages"
        elif document.error is not None:
            status += f": {document.error.message}"
        print(f"  {document.topic.value}/{document.filename}: {status}")
    played_now = sum(p.created for p in seeding.sessions)
    print(f"Roleplay sessions: {len(state.scorecards)} ({played_now} played now)")
    for played, scorecard in zip(seeding.sessions, state.scorecards, strict=True):
        print(f"  {_session_line(played, scorecard)}")


def _session_line(played: Played, scorecard: StoredScorecard) -> str:
    who = played.session.trainee.split("@", 1)[0]
    line = f"{who} / {played.session.scenario}: "
    body = scorecard.body
    if scorecard.status is ScorecardStatus.SCORED and body is not None:
        line += f"scored {body.overall}/100, {'passed' if body.passed else 'not passed'}"
        if body.blockers_failed:
            line += f" (blocker failed: {', '.join(body.blockers_failed)})"
        return line
    if scorecard.status is ScorecardStatus.FAILED:
        return line + f"scoring failed: {scorecard.error_message}"
    return line + "scoring queued"


def _verdict(state: Progress, *, waited: bool, timeout_s: float) -> int:
    """0 unless something failed, or `--wait` ran out of time."""
    failed_documents = [d for d in state.documents if d.status is DocumentStatus.FAILED]
    failed_scores = [s for s in state.scorecards if s.status is ScorecardStatus.FAILED]
    if failed_documents or failed_scores:
        print(
            f"\nerror: {len(failed_documents)} document(s) and {len(failed_scores)} "
            "session(s) failed (see above); run `avataradam demo` again to retry the documents",
            file=sys.stderr,
        )
        return 1
    if state.done:
        print("\nEverything is ready: open the web client and sign in.")
        return 0
    pending = Counter(d.status.value for d in state.documents_pending)
    waiting = ", ".join(f"{count} {status}" for status, count in sorted(pending.items()))
    scores = len(state.scorecards_pending)
    summary = f"documents: {waiting or 'none'} waiting; sessions: {scores} waiting for scoring"
    if waited:
        print(
            f"\nerror: not done after {timeout_s:.0f} s ({summary}). Is a worker running on "
            f"this database and Redis? {WORKER_HINT[0].upper()}{WORKER_HINT[1:]}.",
            file=sys.stderr,
        )
        return 1
    print(f"\nQueued ({summary}):")
    print(f"{WORKER_HINT}; `avataradam demo --wait` waits for it.")
    return 0
