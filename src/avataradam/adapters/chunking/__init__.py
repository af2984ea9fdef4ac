"""Chunking adapters of the `Chunker` port."""

from avataradam.adapters.chunking.budget import PassageBudget, passage_budget
from avataradam.adapters.chunking.semchunk import SemchunkChunker, word_token_counter

__all__ = ["PassageBudget", "SemchunkChunker", "passage_budget", "word_token_counter"]
