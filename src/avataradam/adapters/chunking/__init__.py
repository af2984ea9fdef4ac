"""Chunking adapters of the `Chunker` port."""

from avataradam.adapters.chunking.semchunk import SemchunkChunker, word_token_counter

__all__ = ["SemchunkChunker", "word_token_counter"]
