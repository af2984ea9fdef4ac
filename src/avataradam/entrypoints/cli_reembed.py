"""`avataradam reembed` and `avataradam reembed-status`: re-embedding dealerships'
knowledge bases with another vector profile, from the operator's shell (the same use
cases as `/v1/admin/dealerships/{id}/reembeddings`)."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING
from uuid import UUID

import msgspec

from avataradam.domain.errors import DomainError, InvalidInput
from avataradam.domain.pagination import Cursor, every_row
from avataradam.domain.vectors import Reembedding, ReembeddingRunning, parse_profile

if TYPE_CHECKING:
    from avataradam.domain.model import Dealership
    from avataradam.entrypoints.container import Container
    from avataradam.entrypoints.settings import Settings


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    reembed = commands.add_parser(
        "reembed",
        help="re-embed knowledge bases with another vector profile, in the background",
    )
    which = reembed.add_mutually_exclusive_group(required=True)
    which.add_argument("--dealership", help="the dealership's id")
    which.add_argument(
        "--all",
        action="store_true",
        help="every dealership whose search reads another profile than the target",
    )
    reembed.add_argument(
        "--profile",
        help="<embedder>:<format>, e.g. e5:title_section (default: the configured one, "
        "AVATARADAM_EMBEDDER and AVATARADAM_EMBEDDING_CONTEXT)",
    )
    reembed.set_defaults(handler=lambda s, a: asyncio.run(_reembed(s, a)))

    status = commands.add_parser(
        "reembed-status", help="a dealership's active vectors and its re-embeddings"
    )
    status.add_argument("--dealership", required=True, help="the dealership's id")
    status.set_defaults(handler=lambda s, a: asyncio.run(_status(s, a)))


def _dealership_id(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise InvalidInput(f"--dealership: {raw!r} is not a dealership id") from None


async def _started(container: Container) -> Container:
    await container.start()
    return container


def command_container(settings: Settings) -> Container:
    """The application for one command: no per-process account-state cache (a command
    serves no requests; its Redis subscription would only print lines)."""
    # Imported on demand: the whole application takes seconds to import, which
    # `migrate` and `config` do not need.
    from avataradam.entrypoints.bootstrap import build_container  # noqa: PLC0415

    auth = msgspec.structs.replace(settings.auth, account_cache_ttl_s=0)
    return build_container(msgspec.structs.replace(settings, auth=auth))


async def _reembed(settings: Settings, args: argparse.Namespace) -> int:
    target = args.profile or None
    if target is not None:
        parse_profile(target)  # an unknown profile stops here, before any dealership
    dealership_id = None if args.all else _dealership_id(args.dealership)
    container = await _started(command_container(settings))
    try:
        if dealership_id is not None:
            started = await container.start_reembedding(dealership_id, target)
            print(f"{dealership_id}: {_queued(started)}")
            return 0
        failed = 0
        async for dealership in every_dealership(container):
            line, ok = await _reembed_one(container, dealership, target)
            failed += not ok
            print(f"{dealership.id} {dealership.name!r}: {line}")
        return 1 if failed else 0
    finally:
        await container.close()


async def _reembed_one(
    container: Container, dealership: Dealership, target: str | None
) -> tuple[str, bool]:
    """The line to print for one dealership of `--all`, and whether all went well."""
    wanted = target or container.knowledge.profiles.configured
    active, _ = await container.list_reembeddings(dealership.id)
    if active.profile == wanted:
        return f"skipped: already on {wanted} (generation {active.generation})", True
    try:
        return _queued(await container.start_reembedding(dealership.id, wanted)), True
    except ReembeddingRunning as exc:
        generation = exc.details.get("generation")
        return f"skipped: generation {generation} is already running", True
    except DomainError as exc:
        return f"failed: {exc.message}", False


def _queued(reembedding: Reembedding) -> str:
    return (
        f"generation {reembedding.generation} queued "
        f"({reembedding.source_profile} -> {reembedding.target_profile}, "
        f"{reembedding.documents_total} document(s))"
    )


async def every_dealership(container: Container) -> AsyncIterator[Dealership]:
    """Every dealership, active or not, oldest first, a page at a time."""

    async def page(cursor: Cursor | None, limit: int) -> Sequence[Dealership]:
        async with container.uow(read_only=True) as uow:
            return await uow.dealerships.list_page(cursor=cursor, limit=limit)

    async for dealership in every_row(page):
        yield dealership


async def _status(settings: Settings, args: argparse.Namespace) -> int:
    dealership_id = _dealership_id(args.dealership)
    container = await _started(command_container(settings))
    try:
        active, found = await container.list_reembeddings(dealership_id)
    finally:
        await container.close()
    print(f"active: generation {active.generation}, profile {active.profile}")
    if not found:
        print("no re-embedding")
    for r in found:
        print(
            f"generation {r.generation}: {r.status.value}, {r.source_profile} -> "
            f"{r.target_profile}, {r.documents_done}/{r.documents_total} document(s) "
            f"({r.progress:.0%}), {r.chunks_done} passage(s), started "
            f"{r.created_at.isoformat(timespec='seconds')}"
            + (f", finished {r.finished_at.isoformat(timespec='seconds')}" if r.finished_at else "")
        )
        if r.error_message:
            print(f"  error: {r.error_message}")
    return 0
