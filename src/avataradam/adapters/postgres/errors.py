"""Translation of asyncpg's exceptions into the ports' errors.

Nothing outside this package sees an asyncpg type: constraint violations become
`Conflict`/`NotFound`/`InvalidInput`, an unreachable or overloaded server becomes
`DependencyUnavailable`, and a write in a read-only transaction is a programming
error (`RuntimeError`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

import asyncpg

from avataradam.domain.errors import Conflict, DependencyUnavailable, InvalidInput, NotFound

P = ParamSpec("P")
T = TypeVar("T")

_UNAVAILABLE: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.QueryCanceledError,
    asyncpg.exceptions.InsufficientResourcesError,
    OSError,
    TimeoutError,
)
_INVALID: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.CheckViolationError,
    asyncpg.exceptions.NotNullViolationError,
    asyncpg.exceptions.DataError,
)


@contextmanager
def translated_errors() -> Iterator[None]:
    try:
        yield
    except asyncpg.exceptions.UniqueViolationError as exc:
        raise Conflict("already exists", constraint=exc.constraint_name) from exc
    except asyncpg.exceptions.ForeignKeyViolationError as exc:
        raise NotFound(
            "a referenced object does not exist", constraint=exc.constraint_name
        ) from exc
    except (
        asyncpg.exceptions.SerializationError,
        asyncpg.exceptions.DeadlockDetectedError,
    ) as exc:
        raise Conflict("concurrent update, retry") from exc
    except asyncpg.exceptions.ReadOnlySQLTransactionError as exc:
        raise RuntimeError("write attempted in a read-only unit of work") from exc
    except _INVALID as exc:
        raise InvalidInput("value rejected by the database") from exc
    except _UNAVAILABLE as exc:
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
