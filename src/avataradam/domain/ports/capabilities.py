"""Optional capabilities an adapter may have beyond its port, checked with `isinstance`.

A port says what every adapter does; these say what some do, so the composition root
can ask instead of guessing attribute names: an embedder with an input window and its
own tokenizer (the chunker sizes passages by them), a model to load before the first
call, a client to close at shutdown, a decorator (the `Metered*` wrappers) around the
adapter that has them.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class InputWindow(Protocol):
    """Reads at most `max_input_tokens` tokens of one text; beyond that it truncates."""

    @property
    def max_input_tokens(self) -> int: ...


@runtime_checkable
class TokenCounting(Protocol):
    """Counts the tokens it reads of `text` (without special tokens), as it counts them."""

    def token_counter(self, text: str) -> int: ...


@runtime_checkable
class WarmsUp(Protocol):
    """Loads what its first call would otherwise wait for (blocking: run off the loop).

    Raises what loading raises (e.g. `EmbedderUnavailable`, `ChatModelUnavailable`).
    """

    def warm_up(self) -> None: ...


@runtime_checkable
class Closable(Protocol):
    """Holds a client or process to release at shutdown."""

    async def aclose(self) -> None: ...


@runtime_checkable
class Decorator(Protocol):
    """Wraps another adapter of the same port (`inner`), which may have capabilities
    of its own."""

    @property
    def inner(self) -> object: ...


def undecorated(adapter: object) -> object:
    """The innermost adapter under any `Decorator`s."""
    while isinstance(adapter, Decorator):
        adapter = adapter.inner
    return adapter
