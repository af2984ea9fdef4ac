"""The answer cache's rules: a training question asked with no prior history is answered
by the chat model once per knowledge-base generation, then served from the shared cache
(the `AnswerCache` port; `adapters/caching/answers.py`).

Exact by construction: the key names everything the stored reply depends on — the
dealership, its knowledge-base generation (bumped when a document becomes ready or is
deleted, as for the retrieval cache, so a changed knowledge base never serves an old
answer), the chat model, `PROMPT_VERSION`, the options that shape the prompt and its
check (retrieval depth, relevance floor, reply length, support threshold), the session
focus and the normalised question. Questions in a conversation with history are never
cached: the history is part of their prompt.
"""

from __future__ import annotations

import hashlib
from uuid import UUID

import msgspec

from avataradam.domain.model import Source

PROMPT_VERSION = "2026-11-30.1"
"""Bumped whenever a prompt template or the citation check changes what a reply says."""


class CachedAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """A checked training reply as stored in the answer cache."""

    content: str
    sources: tuple[Source, ...]
    grounded: bool | None
    supported_share: float | None


def answer_key(
    *,
    dealership_id: UUID,
    generation: int,
    model: str,
    shape: str,
    focus: str | None,
    normalised: str,
) -> str:
    """`shape` names the options that shape the prompt and its check (see module)."""
    digest = hashlib.sha256(f"{shape}\x1f{focus or ''}\x1f{normalised}".encode()).hexdigest()
    return f"avataradam:ans:{dealership_id}:{generation}:{model}:{PROMPT_VERSION}:{digest[:40]}"
