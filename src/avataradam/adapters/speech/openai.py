"""Speech through an OpenAI-compatible audio API (OpenAI itself, or a server that speaks
the same routes: speaches, Kokoro-FastAPI, LocalAI, a LiteLLM proxy).

Published API used (platform.openai.com/docs/api-reference/audio):
- `POST {base_url}/audio/speech`, JSON `{model, input, voice, response_format: "wav"}`
  -> WAV bytes (OpenAI: 24 kHz, 16-bit, mono, streamed, so the header's RIFF and
  `data` sizes are `0xFFFFFFFF`; `input` at most 4,096 characters).
- `POST {base_url}/audio/transcriptions`, multipart `file` (its file name's extension
  picks the decoder), `model`, `language` (ISO 639-1, optional),
  `response_format: "verbose_json"` -> `{task, language: "english", duration, text,
  segments: [{…, avg_logprob, no_speech_prob}]}`; files up to 25 MB.
- Errors: `{error: {message, type, param, code}}`; `Authorization: Bearer <key>`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from avataradam.adapters.speech import http
from avataradam.adapters.speech.languages import from_whisper_name, primary_subtag
from avataradam.adapters.speech.probe import audio_kind, check_duration
from avataradam.adapters.speech.wav import NotWav, pcm16_mono, read_wav, speech_from_pcm16
from avataradam.domain.ports.speech import (
    AudioTooLong,
    NoSpeech,
    Speech,
    SpeechUnavailable,
    Transcript,
    UnreadableAudio,
    Voice,
)

PROVIDER = "openai"

OPENAI_VOICES: tuple[Voice, ...] = (
    Voice(id="alloy", language="en", gender="neutral"),
    Voice(id="ash", language="en", gender="male"),
    Voice(id="ballad", language="en", gender="male"),
    Voice(id="coral", language="en", gender="female"),
    Voice(id="echo", language="en", gender="male"),
    Voice(id="fable", language="en", gender="neutral"),
    Voice(id="onyx", language="en", gender="male"),
    Voice(id="nova", language="en", gender="female"),
    Voice(id="sage", language="en", gender="female"),
    Voice(id="shimmer", language="en", gender="female"),
    Voice(id="verse", language="en", gender="male"),
)
"""The built-in voices of OpenAI's speech API (its text-to-speech guide). OpenAI gives
them no gender: the one here is how each is commonly heard, `neutral` where opinions
differ. All read other languages too (the guide: they follow the input's language);
`en` is the one they are tuned for. `ballad` and `verse` need `gpt-4o-mini-tts` (not
`tts-1`)."""

_NO_SPEECH_PROBABILITY = 0.6
_LOW_AVERAGE_LOGPROB = -1.0
"""Whisper's own thresholds (`transcribe.py`: no_speech_threshold, logprob_threshold):
a segment above the first and below the second is silence the model put words on."""

_AUDIO_WORDS = ("audio", "file", "format", "decod", "corrupt")
_KEY_LIKE = re.compile(r"\b(?:sk|rk)-[\w*-]+")


class OpenAISpeech:
    """Implements `SpeechSynthesizer` and `SpeechRecognizer` over an OpenAI-compatible
    audio API (see the module docstring for the routes).

    `synthesize` asks for WAV and returns it as a strict 16-bit mono WAV at the rate the
    server chose (OpenAI: 24,000 Hz), whatever sizes its streamed header claimed; raises
    `ValueError` for blank text. `transcribe` reads the length of WAV and Ogg (and, with
    PyAV, any) recordings locally and raises `AudioTooLong` before uploading; otherwise
    it checks the `duration` the server reports. A `400` about the file is
    `UnreadableAudio`; an empty text, or one whose every segment Whisper itself rates as
    silence, is `NoSpeech`. A server whose model refuses `verbose_json` (OpenAI's
    `gpt-4o-transcribe`) is asked again for `json` (duration from the local probe or
    the reported usage). Everything else (401/403, 404, 429, 5xx, timeouts, a body that
    is not what the API publishes) is `SpeechUnavailable` after the retries of
    `adapters.speech.http` (a 429 for an exhausted quota is not retried).

    `client` may be shared (the adapter then never closes it); otherwise the adapter
    owns one, closed by `aclose`.
    """

    name = PROVIDER

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        tts_model: str = "gpt-4o-mini-tts",
        stt_model: str = "whisper-1",
        timeout_s: float = 30.0,
        client: httpx.AsyncClient | None = None,
        max_retries: int = 2,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {api_key}"}
        self.tts_model = tts_model
        self.stt_model = stt_model
        self._timeout_s = timeout_s
        self._max_retries = max_retries
        self._owns_client = client is None
        self._client = client if client is not None else http.new_client(timeout_s)

    @property
    def voices(self) -> Sequence[Voice]:
        return OPENAI_VOICES

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def synthesize(self, text: str, *, voice: str) -> Speech:
        if not text.strip():
            raise ValueError("nothing to speak: the text is blank")
        response = await self._post(
            "/audio/speech",
            json={"model": self.tts_model, "input": text, "voice": voice, "response_format": "wav"},
        )
        if response.status_code != 200:
            raise http.unavailable(PROVIDER, response, _error_message(response))
        try:
            wav = read_wav(response.content)
            pcm = pcm16_mono(wav)
        except NotWav as exc:
            raise SpeechUnavailable(
                f"{PROVIDER} answered audio that is not 16-bit PCM WAV: {exc}", provider=PROVIDER
            ) from exc
        if not pcm:
            raise SpeechUnavailable(f"{PROVIDER} answered no audio", provider=PROVIDER)
        return speech_from_pcm16(pcm, wav.sample_rate)

    async def transcribe(
        self,
        audio: bytes,
        *,
        content_type: str,
        language: str | None = None,
        max_duration_s: float,
    ) -> Transcript:
        kind = audio_kind(content_type)
        if not audio:
            raise UnreadableAudio("the recording is empty", type=kind.media_type)
        probed_s = check_duration(audio, kind, max_duration_s=max_duration_s)
        fields = {"model": self.stt_model, "response_format": "verbose_json"}
        if language:
            fields["language"] = primary_subtag(language)
        upload = {"file": (kind.filename, audio, kind.media_type)}
        response = await self._post("/audio/transcriptions", data=fields, files=upload)
        if response.status_code == 400 and _refuses_verbose_json(response):
            response = await self._post(
                "/audio/transcriptions", data=fields | {"response_format": "json"}, files=upload
            )
        if response.status_code == 400 and _is_about_the_audio(response):
            raise UnreadableAudio(
                f"{PROVIDER} cannot read the recording: {_error_message(response)}",
                type=kind.media_type,
            )
        if response.status_code != 200:
            raise http.unavailable(PROVIDER, response, _error_message(response))
        return _transcript(_json_object(response), language, probed_s, max_duration_s)

    async def _post(self, path: str, **request: Any) -> httpx.Response:
        return await http.call(
            self._client,
            "POST",
            f"{self._base_url}{path}",
            provider=PROVIDER,
            timeout_s=self._timeout_s,
            max_retries=self._max_retries,
            retryable=_retryable,
            headers=self._headers,
            **request,
        )


def _transcript(
    body: Mapping[str, Any], language: str | None, probed_s: float | None, max_duration_s: float
) -> Transcript:
    reported_s = _reported_duration_s(body)
    duration_s = reported_s if reported_s is not None else probed_s
    if probed_s is None and duration_s is not None and duration_s > max_duration_s:
        raise AudioTooLong(
            f"the recording lasts {duration_s:.1f} s, more than {max_duration_s:g} s",
            duration_s=duration_s,
            limit_s=max_duration_s,
        )
    text = str(body.get("text") or "").strip()
    segments = body.get("segments")
    if not text or (isinstance(segments, list) and segments and all(map(_silent, segments))):
        raise NoSpeech("nothing was said in the recording")
    heard = body.get("language")
    spoken = (
        primary_subtag(language)
        if language
        else (from_whisper_name(heard) if isinstance(heard, str) and heard else "und")
    )
    return Transcript(text=text, language=spoken, duration_s=float(duration_s or 0.0))


def _reported_duration_s(body: Mapping[str, Any]) -> float | None:
    duration = body.get("duration")
    if isinstance(duration, int | float):
        return float(duration)
    usage = body.get("usage")
    if isinstance(usage, Mapping) and isinstance(usage.get("seconds"), int | float):
        return float(usage["seconds"])
    return None


def _silent(segment: object) -> bool:
    if not isinstance(segment, Mapping):
        return False
    no_speech = segment.get("no_speech_prob")
    logprob = segment.get("avg_logprob")
    return (
        isinstance(no_speech, int | float)
        and isinstance(logprob, int | float)
        and no_speech > _NO_SPEECH_PROBABILITY
        and logprob < _LOW_AVERAGE_LOGPROB
    )


def _json_object(response: httpx.Response) -> Mapping[str, Any]:
    try:
        body = response.json()
    except ValueError as exc:
        raise SpeechUnavailable(f"{PROVIDER} answered a body that is not JSON") from exc
    if not isinstance(body, Mapping):
        raise SpeechUnavailable(f"{PROVIDER} answered JSON that is not an object")
    return body


def _error(response: httpx.Response) -> Mapping[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, Mapping) else None
    return error if isinstance(error, Mapping) else {}


def _error_message(response: httpx.Response) -> str:
    """The provider's message, without the (masked) key OpenAI quotes back on a 401."""
    message = _error(response).get("message")
    return _KEY_LIKE.sub("[key]", str(message))[:300] if message else ""


def _is_about_the_audio(response: httpx.Response) -> bool:
    error = _error(response)
    param = error.get("param")
    if param:
        return bool(param == "file")
    message = str(error.get("message") or "").lower()
    return any(word in message for word in _AUDIO_WORDS)


def _refuses_verbose_json(response: httpx.Response) -> bool:
    error = _error(response)
    return error.get("param") == "response_format" or "verbose_json" in str(
        error.get("message") or ""
    )


def _retryable(response: httpx.Response) -> bool:
    """Retry outages and rate limits, not a 429 that says the quota is spent."""
    return http.is_retryable_status(response) and _error(response).get("code") != (
        "insufficient_quota"
    )
