"""Embeddings from OpenAI's API (or any server speaking POST /v1/embeddings)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import openai

from avataradam.adapters.embeddings.vectors import batches, unit_vector
from avataradam.domain.errors import EmbeddingRejected
from avataradam.domain.ports.knowledge import EmbedderUnavailable

# Statuses worth retrying later: timeouts, lock conflicts, rate limits (5xx handled apart).
_TRANSIENT_STATUSES = frozenset({408, 409, 429})


class OpenAIEmbedder:
    """Implements `Embedder` with the official SDK's `AsyncOpenAI.embeddings.create`.

    The SDK retries 408/409/429/5xx and connection errors `max_retries` times with
    exponential backoff (honouring Retry-After). What still fails afterwards is
    `EmbedderUnavailable` (try again later); any other 4xx is `EmbeddingRejected`.
    Texts go out in batches of `batch_size`, one request at a time, and come back in
    input order; vectors are re-normalised, since compatible servers may not do it.
    """

    def __init__(
        self,
        *,
        base_url: str | None,
        api_key: str,
        model: str = "text-embedding-3-small",
        dimension: int = 1536,
        batch_size: int = 256,
        timeout_s: float = 30.0,
        max_retries: int = 4,
        request_dimensions: bool = True,
        max_input_tokens: int = 8191,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.model_name = model
        self.dimension = dimension
        self.max_input_tokens = max_input_tokens
        """The model's input window in tokens (8191 for OpenAI's embedding models); the
        service refuses longer input, so passages are sized below it."""
        self._batch_size = batch_size
        self._request_dimensions = request_dimensions
        self._client = openai.AsyncOpenAI(
            base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=max_retries
        )

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for batch in batches(texts, self._batch_size):
            vectors.extend(await self._embed_batch(batch))
        return vectors

    async def aclose(self) -> None:
        await self._client.close()

    async def _embed_batch(self, batch: Sequence[str]) -> list[list[float]]:
        extra: dict[str, Any] = {"dimensions": self.dimension} if self._request_dimensions else {}
        try:
            response = await self._client.embeddings.create(
                model=self.model_name,
                # The API refuses empty strings; a blank has no meaning to lose.
                input=[text if text.strip() else " " for text in batch],
                encoding_format="float",
                **extra,
            )
        except openai.APIStatusError as exc:
            status = exc.status_code
            if status in _TRANSIENT_STATUSES or status >= 500:
                raise EmbedderUnavailable(
                    f"embedding service answered {status}", status=status
                ) from exc
            raise EmbeddingRejected(
                f"embedding service refused the request with {status}", status=status
            ) from exc
        except openai.APIError as exc:
            raise EmbedderUnavailable("embedding service cannot be reached") from exc
        items = sorted(response.data, key=lambda item: item.index)
        if [item.index for item in items] != list(range(len(batch))):
            raise EmbedderUnavailable(f"embedding service answered {len(items)} of {len(batch)}")
        if any(len(item.embedding) != self.dimension for item in items):
            raise EmbeddingRejected(f"model {self.model_name} does not give {self.dimension} dims")
        try:
            return [unit_vector(item.embedding) for item in items]
        except ValueError as exc:
            raise EmbedderUnavailable("embedding service returned a zero vector") from exc
