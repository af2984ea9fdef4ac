"""Text to speech with Debian's espeak-ng (GPL-3.0), run as a command per request.

espeak-ng is a formant synthesiser: robotic but tiny (a 1 MB package, no model), fast
(well under a second a sentence), and it speaks English and Spanish. It is the fallback
when Piper is not installed (`local_synthesizer("auto")`). Each request runs
`espeak-ng --stdout -v VOICE --stdin` with the text on standard input, never as an
argument, so nothing in it is read as an option; its WAV (22,050 Hz, sizes left as
placeholders on a pipe) is written again with exact sizes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from avataradam.adapters.speech.wav import (
    MalformedWav,
    one_line,
    read_pcm16_wav,
    silence,
    speakable,
    speech_from_pcm16,
)
from avataradam.domain.ports.speech import Speech, SpeechUnavailable, Voice

SAMPLE_RATE: Final = 22050
"""Hz: espeak-ng's output rate (only used for the silence of unspeakable text)."""

VOICES: Final[tuple[Voice, ...]] = (
    Voice(id="en-us+m3", language="en", gender="male"),
    Voice(id="en-us+m7", language="en", gender="male"),
    Voice(id="en-us+f3", language="en", gender="female"),
    Voice(id="en-us+f4", language="en", gender="female"),
    Voice(id="es-419+m3", language="es", gender="male"),
    Voice(id="es-419+f3", language="es", gender="female"),
)
"""espeak-ng's own names, `language+variant`: American English and Latin American
Spanish, each with male (`m…`) and female (`f…`) variants of espeak-ng-data."""


class EspeakSynthesizer:
    """Implements `SpeechSynthesizer` with the `espeak-ng` command at `executable`.

    `synthesize` raises `ValueError` for a voice not in `voices`, and
    `SpeechUnavailable` when the command is missing, fails, writes no WAV, or takes
    longer than `timeout_s` seconds. Text without a letter or digit is not spoken: the
    answer is a WAV of no frames.
    """

    name = "espeak-ng"

    def __init__(
        self,
        *,
        executable: Path,
        voices: Sequence[Voice] = VOICES,
        words_per_minute: int = 165,
        timeout_s: float = 30.0,
    ) -> None:
        if not voices:
            raise ValueError("an EspeakSynthesizer needs at least one voice")
        self._executable = executable
        self._voices = tuple(voices)
        self._voice_ids = frozenset(voice.id for voice in voices)
        self._words_per_minute = words_per_minute
        self._timeout_s = timeout_s

    @property
    def voices(self) -> Sequence[Voice]:
        return self._voices

    async def synthesize(self, text: str, *, voice: str) -> Speech:
        if voice not in self._voice_ids:
            raise ValueError(f"espeak-ng has no voice {voice!r}: one of {sorted(self._voice_ids)}")
        if not speakable(text):
            return silence(sample_rate=SAMPLE_RATE)
        try:
            process = await asyncio.create_subprocess_exec(
                str(self._executable),
                "--stdout",
                "--stdin",
                "-v",
                voice,
                "-s",
                str(self._words_per_minute),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            raise SpeechUnavailable(f"espeak-ng cannot be started: {exc}") from exc
        try:
            async with asyncio.timeout(self._timeout_s):
                audio, errors = await process.communicate(one_line(text).encode())
        except TimeoutError as exc:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            raise SpeechUnavailable(f"espeak-ng took over {self._timeout_s} s") from exc
        if process.returncode != 0:
            raise SpeechUnavailable(
                f"espeak-ng exited with {process.returncode}: "
                f"{errors.decode(errors='replace')[-300:]}"
            )
        try:
            pcm, sample_rate = read_pcm16_wav(audio)
        except MalformedWav as exc:
            raise SpeechUnavailable(f"espeak-ng wrote no usable WAV: {exc}") from exc
        return speech_from_pcm16(pcm, sample_rate=sample_rate)
