"""Text spoken sentence by sentence into one WAV stream, so the first audio leaves early.

A `Synthesis` runs in a task of its own: it asks the synthesizer for each sentence in
turn and queues its samples as soon as they are ready. The reader (`SpeechAudio.chunks`)
gets the WAV header (unknown length, `domain/audio.py`) with the first sentence's
samples, then each next sentence's. The synthesis goes on while the reader sends, one
sentence ahead at least; when the reader leaves early it is cancelled, or, with
`finish_when_abandoned` (a reply spoken to be kept), runs to its end. Either way its
`on_end` learns what was spoken (`Spoken`): all of it, or the sentences done before it
was cancelled or an engine failed. A reader that reads to the end gets its last bytes
once `on_end` has returned: what it records is recorded by then.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

from avataradam.domain.audio import duration_s, pcm_of, wav_header
from avataradam.domain.ports.speech import Speech, SpeechSynthesizer, SpeechUnavailable
from avataradam.domain.ports.system import Clock


@dataclass(frozen=True, kw_only=True)
class Spoken:
    """What a synthesis produced: the samples of the sentences it finished, in order."""

    sample_rate: int
    pcm: bytes
    complete: bool
    """Every sentence was spoken (not cancelled, no engine failure)."""
    elapsed_s: float
    error: Exception | None = None
    """What stopped it early, when the engine failed."""

    @property
    def seconds(self) -> float:
        return duration_s(len(self.pcm), self.sample_rate) if self.sample_rate else 0.0


class SpeechAudio:
    """A WAV stream being synthesised: `content_type`, `sample_rate`, `voice`, and
    `chunks()`, to be read once."""

    content_type = "audio/wav"

    def __init__(self, synthesis: Synthesis, first: bytes, voice: str) -> None:
        self._synthesis, self._first, self.voice = synthesis, first, voice
        self.sample_rate = synthesis.sample_rate

    async def chunks(self) -> AsyncIterator[bytes]:
        """The header and the first sentence's samples, then each next sentence's."""
        try:
            yield wav_header(self.sample_rate, None) + self._first
            while (part := await self._synthesis.next_part()) is not None:
                yield part
        finally:
            self._synthesis.abandoned()


_END = object()


class Synthesis:
    """Speaks `sentences` with `voice` in a task (see the module docstring)."""

    def __init__(
        self,
        synthesizer: SpeechSynthesizer,
        sentences: Sequence[str],
        *,
        voice: str,
        clock: Clock,
        on_end: Callable[[Spoken], Awaitable[None]],
        finish_when_abandoned: bool = False,
    ) -> None:
        """`on_end` must not raise (its failures are its own to report)."""
        if not sentences:
            raise ValueError("nothing to say")
        self._synthesizer, self._sentences, self._voice = synthesizer, sentences, voice
        self._clock, self._on_end = clock, on_end
        self._finish = finish_when_abandoned
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._speaking = False
        """In the sentences' loop: the only time a cancel may stop it (never `on_end`)."""
        self.sample_rate = 0

    def start(self, tasks: set[asyncio.Task[None]]) -> None:
        """Starts the task; `tasks` holds it until it ends (a shutdown drains them)."""
        self._task = asyncio.create_task(self._run())
        tasks.add(self._task)
        self._task.add_done_callback(tasks.discard)

    async def first_audio(self, voice: str) -> SpeechAudio:
        """The stream, once the first sentence is spoken. Raises what speaking it raised
        (nothing was spoken then)."""
        first = await self._queue.get()
        if isinstance(first, BaseException):
            raise first
        if not isinstance(first, bytes):  # pragma: no cover - a first item is samples or an error
            raise SpeechUnavailable("the synthesizer produced nothing")
        return SpeechAudio(self, first, voice)

    async def next_part(self) -> bytes | None:
        """The next sentence's samples; None at the end (also after an engine failed
        mid-way: the stream ends with what was spoken)."""
        item = await self._queue.get()
        return item if isinstance(item, bytes) else None

    def abandoned(self) -> None:
        """The reader is done (read to the end, or left): cancels what is left to
        speak unless it is to be finished."""
        if self._task is not None and self._speaking and not self._finish:
            self._task.cancel()

    async def _run(self) -> None:
        """Never raises but `CancelledError`: a failure goes to the reader (raised by
        `first_audio`, or ending the stream) and to `on_end`."""
        started = self._clock.monotonic()
        parts: list[bytes] = []
        error: Exception | None = None
        self._speaking = True
        try:
            for sentence in self._sentences:
                pcm = self._samples(await self._synthesizer.synthesize(sentence, voice=self._voice))
                parts.append(pcm)
                self._queue.put_nowait(pcm)
        except asyncio.CancelledError:
            self._speaking = False
            await self._end(parts, started, error=None, complete=False)
            raise
        except Exception as exc:  # noqa: BLE001 -- handed to the reader and to on_end
            error = exc
            self._queue.put_nowait(exc)
        self._speaking = False
        try:
            await self._end(parts, started, error=error, complete=error is None)
        finally:
            self._queue.put_nowait(_END)  # after on_end: a reader at the end finds it done

    def _samples(self, speech: Speech) -> bytes:
        rate, pcm = pcm_of(speech.audio)
        if self.sample_rate and rate != self.sample_rate:
            raise SpeechUnavailable("the synthesizer changed its sample rate mid-reply")
        self.sample_rate = rate
        return pcm

    async def _end(
        self, parts: list[bytes], started: float, *, error: Exception | None, complete: bool
    ) -> None:
        await self._on_end(
            Spoken(
                sample_rate=self.sample_rate,
                pcm=b"".join(parts),
                complete=complete,
                elapsed_s=self._clock.monotonic() - started,
                error=error,
            )
        )
