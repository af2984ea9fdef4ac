"""`VectorProfiles`: the embedder and embedded-text format of each vector profile
(`domain.vectors`) a dealership may be on, so that a query is embedded like the
passages it is compared with, and ingestion writes each generation with its own model."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from avataradam.domain.embedding_text import AS_IS, PassageText
from avataradam.domain.ports.knowledge import Embedder


@runtime_checkable
class VectorProfiles(Protocol):
    """Profiles by name (`"<embedder>:<format>"`); None names `configured`, the profile
    of this service's settings. `embedder` raises `InvalidInput` for an unknown name and
    `EmbedderUnavailable` when the profile's model cannot be had in this process."""

    @property
    def configured(self) -> str: ...

    def embedder(self, profile: str | None) -> Embedder: ...
    def passage_text(self, profile: str | None) -> PassageText: ...
    def space(self, profile: str | None) -> str:
        """What its vectors' meaning depends on (`embedding_text.vector_space`)."""
        ...


class OneProfile:
    """Implements `VectorProfiles` with one embedder and format for every name: a
    service (or test) that never switches models."""

    def __init__(
        self,
        embedder: Embedder,
        passage_text: PassageText = AS_IS,
        *,
        name: str | None = None,
    ) -> None:
        self._embedder, self._passage_text = embedder, passage_text
        self._name = name or f"{embedder.model_name}:{passage_text.context.value}"

    @property
    def configured(self) -> str:
        return self._name

    def embedder(self, profile: str | None) -> Embedder:
        del profile
        return self._embedder

    def passage_text(self, profile: str | None) -> PassageText:
        del profile
        return self._passage_text

    def space(self, profile: str | None) -> str:
        del profile
        return self._passage_text.vector_space(self._embedder.model_name)


def profiles_of(source: Embedder | VectorProfiles) -> VectorProfiles:
    """`source` itself when it is `VectorProfiles`, else `OneProfile(source)`."""
    return source if isinstance(source, VectorProfiles) else OneProfile(source)
