"""Embedding adapters of the `Embedder` port."""

from avataradam.adapters.embeddings.hashing import HashingEmbedder
from avataradam.adapters.embeddings.local import LocalSentenceTransformerEmbedder
from avataradam.adapters.embeddings.openai import OpenAIEmbedder

__all__ = [
    "HashingEmbedder",
    "LocalSentenceTransformerEmbedder",
    "OpenAIEmbedder",
]
