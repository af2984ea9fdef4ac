"""Token-aware recursive splitting with semchunk, keeping each section's page/section."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import cast

from semchunk.semchunk import chunkerify

from avataradam.domain.ports.knowledge import ChunkDraft, ExtractedSection

_KEEP = "\ue000"
"""A private-use character standing in for an unbreakable space while semchunk splits:
no splitter of semchunk's matches it."""


def word_token_counter(text: str) -> int:
    """Whitespace-separated words: a model-free stand-in for a tokenizer."""
    return len(text.split())


class SemchunkChunker:
    """Implements `Chunker`.

    Splits each section on the coarsest boundary that fits (paragraphs, lines, sentences,
    words, then characters), so every chunk has at most `chunk_size_tokens` tokens as
    counted by `token_counter`, and no non-whitespace text is dropped. Chunks never span
    two sections, so each keeps its section's `page`, `section` and `section_path`.
    `overlap` is a share of the chunk size when below 1, else a number of tokens.

    With a model tokenizer as `token_counter`, leave room below the model's input limit
    for the special tokens the model adds ([CLS]/[SEP]).

    `unbreakable(text)`, when given, names spaces (offsets in `text`) no chunk may end
    at: semchunk cuts a long paragraph after any ". ", so without it "El Sr. | Gómez"
    or "Mr. | Smith" can fall into two chunks (`sentences.unbreakable_spaces` finds the
    spaces after abbreviations). They are hidden from semchunk's splitters and restored
    in the chunks; tokens are counted on the restored text.
    """

    def __init__(
        self,
        chunk_size_tokens: int,
        overlap: float | int = 0,
        token_counter: Callable[[str], int] = word_token_counter,
        *,
        token_count_cache_size: int = 65_536,
        max_token_chars: int | None = None,
        unbreakable: Callable[[str], Sequence[int]] | None = None,
    ) -> None:
        if chunk_size_tokens < 1:
            raise ValueError("chunk_size_tokens must be at least 1")
        if overlap < 0 or (overlap >= 1 and overlap >= chunk_size_tokens):
            raise ValueError("overlap must be a share below 1 or fewer tokens than a chunk")
        self.chunk_size_tokens = chunk_size_tokens
        self._overlap = overlap or None
        # semchunk's own memoisation is process-global and unbounded; this one is neither,
        # and is emptied after each `split`: it would otherwise keep up to
        # `token_count_cache_size` pieces of the last documents' text alive in a worker.
        counter = functools.lru_cache(maxsize=token_count_cache_size)(token_counter)
        self._token_counts = counter
        self._unbreakable = unbreakable
        self._chunker = chunkerify(
            lambda text: counter(text.replace(_KEEP, " ")),
            chunk_size_tokens,
            memoize=False,
            max_token_chars=max_token_chars,
        )

    def split(self, sections: Sequence[ExtractedSection]) -> list[ChunkDraft]:
        drafts: list[ChunkDraft] = []
        try:
            for section in sections:
                texts = cast(
                    "list[str]", self._chunker(self._protect(section.text), overlap=self._overlap)
                )
                texts = [text.replace(_KEEP, " ") for text in texts]
                drafts.extend(
                    ChunkDraft(
                        text=text,
                        page=section.page,
                        section=section.section,
                        section_path=section.section_path,
                    )
                    for text in texts
                    if text.strip()
                )
        finally:
            self._token_counts.cache_clear()
        return drafts

    def _protect(self, text: str) -> str:
        """`text` with its unbreakable spaces hidden (unchanged when it holds `_KEEP`)."""
        if self._unbreakable is None or _KEEP in text:
            return text
        characters = list(text)
        for offset in self._unbreakable(text):
            if characters[offset] == " ":
                characters[offset] = _KEEP
        return "".join(characters)
