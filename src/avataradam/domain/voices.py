"""Who speaks with which voice: Adam with his own, each roleplay customer with a voice
of their own, chosen from what the engine offers.

- Adam: the configured voice, else the engine's first male English voice (else its
  first English voice, else its first voice). In a conversation held in another
  language (Spanish), Adam speaks with his voice when it reads that language, else
  with the engine's first male voice of it, where the engine has one.
- A customer: a voice of the conversation's language (every voice when the engine has
  none), of the persona's `voice_gender` where one is given and the engine has such a
  voice, never Adam's while another one is left; among those, one picked by a stable
  hash of the scenario, so a customer sounds the same in every session, process and
  restart (as long as the engine offers the same voices).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from avataradam.domain.ports.speech import Voice

MALE, FEMALE = "male", "female"


def adam_voice(voices: Sequence[Voice], configured: str | None = None) -> Voice:
    """Adam's voice among `voices` (never empty). Raises ValueError for a `configured`
    voice the engine does not have, naming the ones it has."""
    if configured is not None:
        found = next((v for v in voices if v.id == configured), None)
        if found is None:
            names = ", ".join(v.id for v in voices)
            raise ValueError(f"voice {configured!r} is not one of the engine's: {names}")
        return found
    english = [v for v in voices if v.language.split("-")[0] == "en"]
    return next((v for v in english if v.gender == MALE), None) or (english or list(voices))[0]


def _speaks(voice: Voice, language: str) -> bool:
    return voice.language.split("-")[0] == language


def adam_voice_in(voices: Sequence[Voice], adam: Voice, language: str) -> Voice:
    """The voice Adam speaks `language` with (see the module docstring)."""
    if _speaks(adam, language):
        return adam
    speaking = [v for v in voices if _speaks(v, language)]
    return next((v for v in speaking if v.gender == MALE), None) or (speaking or [adam])[0]


def customer_voice(
    voices: Sequence[Voice],
    *,
    key: str,
    language: str,
    gender: str | None,
    adam: Voice,
) -> Voice:
    """The voice of the customer of scenario `key` (its public id) speaking `language`
    (see the module docstring)."""
    candidates = [v for v in voices if _speaks(v, language)] or list(voices)
    if gender is not None:
        candidates = [v for v in candidates if v.gender == gender] or candidates
    candidates = [v for v in candidates if v.id != adam.id] or candidates
    digest = hashlib.sha256(key.encode()).digest()
    return candidates[int.from_bytes(digest[:8], "big") % len(candidates)]
