"""How passages are measured so that every one fits, whole, in the embedder's input.

An embedder that truncates what is longer than its window (sentence-transformers does,
silently) would index a passage by its first part only. So the chunker measures text
with a counter that never undercounts what the embedder reads, and its chunk size is
never above the embedder's window:

- an embedder with its own tokenizer (`TokenCounting` and `InputWindow`: the local
  model) is measured by that tokenizer; the count is raised to one token per
  `MAX_CHARS_PER_TOKEN` characters, so text the vocabulary maps to a single unknown
  token (a run of emoji, one enormous "word") still becomes passages of bounded size;
- an embedder with a window but no local tokenizer (OpenAI's byte-level BPE, whose
  tokenizer files cannot be fetched at run time) is measured in words, raised so that
  `chunk_size` units are never more UTF-8 bytes than its window: a BPE token is at least
  one byte, so the bound holds whatever the text;
- an embedder without a window (feature hashing) is measured in words.

The text embedded for a passage may carry a prefix (its document's title and section:
`domain.embedding_text`). The budget says how many tokens of the window are left for
it beside the largest passage (`prefix_tokens`), measured by `prefix_counter`: with the
local model, what the chunk size leaves below the window (54 of 254 tokens at the default
200); with OpenAI, `PREFIX_BYTES` taken off the byte bound of passages.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from avataradam.adapters.chunking.semchunk import word_token_counter
from avataradam.domain.ports.capabilities import InputWindow, TokenCounting

MAX_CHARS_PER_TOKEN: Final = 12
"""English averages about 4.5 characters per WordPiece token, URLs about 3."""
PREFIX_BYTES: Final = 160
"""UTF-8 bytes kept for a passage's prefix in a byte-bounded window (at most a quarter
of the window): a BPE token is at least one byte, so the prefix never costs more."""

TokenCounter = Callable[[str], int]


@dataclass(frozen=True, slots=True)
class PassageBudget:
    """The chunker's counter and chunk size for one embedder, and the room a passage's
    prefix may take (`prefix_tokens` as `prefix_counter` counts; None: no window)."""

    token_counter: TokenCounter
    chunk_size_tokens: int
    prefix_tokens: int | None = None
    prefix_counter: TokenCounter = word_token_counter


def passage_budget(embedder: object, chunk_size_tokens: int) -> PassageBudget:
    """The budget for `embedder` (the adapter itself, not a `Metered*` decorator), with
    at most `chunk_size_tokens` (the setting) per passage and never more than the
    embedder's `max_input_tokens`."""
    if not isinstance(embedder, InputWindow):
        return PassageBudget(word_token_counter, chunk_size_tokens)
    window = int(embedder.max_input_tokens)
    size = min(chunk_size_tokens, window)
    if isinstance(embedder, TokenCounting):
        counter = _at_least_per_chars(embedder.token_counter)
        return PassageBudget(counter, size, prefix_tokens=window - size, prefix_counter=counter)
    prefix_bytes = min(PREFIX_BYTES, window // 4)
    return PassageBudget(
        _bytes_bounded_words(bytes_per_unit=(window - prefix_bytes) / size),
        size,
        prefix_tokens=prefix_bytes,
        prefix_counter=_utf8_bytes,
    )


def _utf8_bytes(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _at_least_per_chars(tokenizer: TokenCounter) -> TokenCounter:
    def count(text: str) -> int:
        return max(tokenizer(text), math.ceil(len(text) / MAX_CHARS_PER_TOKEN))

    return count


def _bytes_bounded_words(*, bytes_per_unit: float) -> TokenCounter:
    def count(text: str) -> int:
        size = len(text.encode("utf-8", "surrogatepass"))
        return max(word_token_counter(text), math.ceil(size / bytes_per_unit))

    return count
