"""Embedding adapters of the `Embedder` port."""

from avataradam.adapters.embeddings.hashing import HashingEmbedder
from avataradam.adapters.embeddings.local import LocalSentenceTransformerEmbedder
from avataradam.adapters.embeddings.openai import EmbeddingRejected, OpenAIEmbedder

__all__ = [
    "EmbeddingRejected",
    "HashingEmbedder",
    "LocalSentenceTransformerEmbedder",
    "OpenAIEmbedder",
]
