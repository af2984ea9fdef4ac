"""Translation of asyncpg's exceptions into the ports' errors.

Nothing outside this package sees an asyncpg type: constraint violations become
the domain's specific errors (`EmailTaken`, `DuplicateDocument`, `NotFound` naming
what is missing, `ConcurrentUpdate`, `InvalidInput`), an unreachable or overloaded
server becomes `DependencyUnavailable`, and a write in a read-only transaction is a
programming error (`RuntimeError`). Constraint and table names never leave this module
except in a log line: they are the schema's, not the API's.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

import asyncpg
import structlog

from avataradam.domain.errors import (
    ConcurrentUpdate,
    Conflict,
    DependencyUnavailable,
    DuplicateDocument,
    EmailTaken,
    InvalidInput,
    NotFound,
    ScenarioSlugTaken,
)

P = ParamSpec("P")
T = TypeVar("T")

UNAVAILABLE: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.QueryCanceledError,
    asyncpg.exceptions.InsufficientResourcesError,
    # a multi-host URL none of whose servers matches target_session_attrs (every node
    # still a standby in the middle of a failover)
    asyncpg.exceptions.TargetServerAttributeNotMatched,
    OSError,
    TimeoutError,
)
"""What an unreachable, overloaded or shutting-down server raises on a statement."""
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.InternalClientError,
)
"""What a dead, restarting or unreachable server (or no server matching
`target_session_attrs`) raises while connecting or on a broken socket."""

_INVALID: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.CheckViolationError,
    asyncpg.exceptions.NotNullViolationError,
    asyncpg.exceptions.DataError,
)


_UNIQUE: dict[str, Callable[[], Conflict]] = {
    "users_email_key": lambda: EmailTaken("another user already has this email", field="email"),
    "documents_content_key": lambda: DuplicateDocument(
        "this file is already in this knowledge base"
    ),
    "scenarios_live_slug_key": lambda: ScenarioSlugTaken(
        "another scenario of this dealership has this slug", field="slug"
    ),
}
"""The unique constraints a request can break, as the error the API answers. Others
(primary keys of generated ids, the idempotency key and feedback rows, which their
repositories claim with ON CONFLICT) would be bugs: a generic, logged `Conflict`."""

_REFERENCED = ("dealership", "user", "conversation", "message", "document", "subscription")
_log = structlog.get_logger(__name__)


def _unique_violation(exc: asyncpg.exceptions.UniqueViolationError) -> Conflict:
    known = _UNIQUE.get(exc.constraint_name or "")
    if known is not None:
        return known()
    _log.error("unexpected_unique_violation", constraint=exc.constraint_name)
    return Conflict("this object already exists")


def _missing_reference(exc: asyncpg.exceptions.ForeignKeyViolationError) -> NotFound:
    """`<table>_<thing>_id_fkey` names the missing thing; the API says which, not how."""
    constraint = exc.constraint_name or ""
    thing = next((t for t in _REFERENCED if constraint.endswith(f"_{t}_id_fkey")), None)
    if thing is None:
        return NotFound("a referenced object does not exist")
    return NotFound(f"{thing} not found")


@contextmanager
def translated_errors() -> Iterator[None]:
    try:
        yield
    except asyncpg.exceptions.UniqueViolationError as exc:
        raise _unique_violation(exc) from exc
    except asyncpg.exceptions.ForeignKeyViolationError as exc:
        raise _missing_reference(exc) from exc
    except (
        asyncpg.exceptions.SerializationError,
        asyncpg.exceptions.DeadlockDetectedError,
    ) as exc:
        raise ConcurrentUpdate("another request changed the same data first; retry") from exc
    except asyncpg.exceptions.ReadOnlySQLTransactionError as exc:
        raise RuntimeError("write attempted in a read-only unit of work") from exc
    except _INVALID as exc:
        raise InvalidInput("value rejected by the database") from exc
    except UNAVAILABLE as exc:
        raise DependencyUnavailable("database is unavailable", dependency="postgres") from exc


def translate(
    fn: Callable[P, Coroutine[Any, Any, T]],
) -> Callable[P, Coroutine[Any, Any, T]]:
    """Wraps an async repository method in `translated_errors`."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        with translated_errors():
            return await fn(*args, **kwargs)

    return wrapper


def affected_rows(status: str) -> int:
    """The row count of an INSERT/UPDATE/DELETE command tag ("UPDATE 1")."""
    return int(status.rsplit(" ", 1)[-1])


def require_affected(status: str, what: str) -> None:
    if affected_rows(status) == 0:
        raise NotFound(f"{what} not found")
