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

from avataradam.adapters.speech import http, languages, probe
from avataradam.adapters.speech.wav import (
    NotWav,
    pcm16_mono,
    read_wav,
    silence,
    speakable,
    speech_from_pcm16,
)
from avataradam.domain.ports.speech import (
    NoSpeech,
    Speech,
    SpeechUnavailable,
    Transcript,
    Voice,
)

OPENAI_SAMPLE_RATE = 24_000
"""Hz of OpenAI's `wav` speech (also the rate of the silence of unspeakable text)."""
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

_KEY_LIKE = re.compile(r"\b(?:sk|rk)-[\w*-]+")


class OpenAISpeech(http.CloudApi):
    """Implements `SpeechSynthesizer` and `SpeechRecognizer` over an OpenAI-compatible
    audio API (see the module docstring for the routes).

    `synthesize` asks for WAV and returns it as a strict 16-bit mono WAV at the rate the
    server chose (OpenAI: 24,000 Hz), whatever sizes its streamed header claimed; text
    with nothing to say (no letter or digit) is a WAV of no frames, without a request.
    `transcribe` reads the length of WAV and Ogg (and, with PyAV, any) recordings
    locally and raises `AudioTooLong` before uploading; otherwise it checks the
    `duration` the server reports. A `400` about the file is `UnreadableAudio`; an empty
    text, or one whose every segment Whisper itself rates as silence, is `NoSpeech`. A
    server whose model refuses `verbose_json` (OpenAI's `gpt-4o-transcribe`) is asked
    again for `json` (duration from the local probe or the reported usage). Everything
    else (401/403, 404, 429, 5xx, timeouts, a body that is not what the API publishes)
    is `SpeechUnavailable` after the retries of `adapters.speech.http` (a 429 for an
    exhausted quota is not retried).

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
        super().__init__(
            provider=PROVIDER,
            base_url=base_url,
            headers={"Authorization": f"Bearer {api_key}"},
            error_message=_error_message,
            timeout_s=timeout_s,
            max_retries=max_retries,
            client=client,
            retryable=_retryable,
        )
        self.tts_model = tts_model
        self.stt_model = stt_model

    @property
    def voices(self) -> Sequence[Voice]:
        return OPENAI_VOICES

    async def synthesize(self, text: str, *, voice: str) -> Speech:
        if not speakable(text):
            return silence(sample_rate=OPENAI_SAMPLE_RATE)
        response = await self._post(
            "/audio/speech",
            json={"model": self.tts_model, "input": text, "voice": voice, "response_format": "wav"},
        )
        try:
            wav = read_wav(self._answered(response).content)
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
        kind, probed_s = probe.upload(audio, content_type, max_duration_s=max_duration_s)
        fields = {"model": self.stt_model, "response_format": "verbose_json"}
        if language:
            fields["language"] = languages.primary_subtag(language)
        upload = {"file": (kind.filename, audio, kind.media_type)}
        response = await self._post("/audio/transcriptions", data=fields, files=upload)
        if response.status_code == 400 and _refuses_verbose_json(response):
            response = await self._post(
                "/audio/transcriptions", data=fields | {"response_format": "json"}, files=upload
            )
        body = self._heard(
            response,
            media_type=kind.media_type,
            about_the_audio=response.status_code == 400 and _is_about_the_audio(response),
        )
        return _transcript(body, language, probed_s, max_duration_s)


def _transcript(
    body: Mapping[str, Any], language: str | None, probed_s: float | None, max_duration_s: float
) -> Transcript:
    reported_s = _reported_duration_s(body)
    duration_s = reported_s if reported_s is not None else probed_s
    if probed_s is None and duration_s is not None:
        probe.check_length(duration_s, max_duration_s)
    text = str(body.get("text") or "").strip()
    segments = body.get("segments")
    if not text or (isinstance(segments, list) and segments and all(map(_silent, segments))):
        raise NoSpeech("nothing was said in the recording")
    spoken = languages.spoken(language, body.get("language"), languages.from_whisper_name)
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


def _error(response: httpx.Response) -> Mapping[str, Any]:
    body = http.json_body(response)
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
    return http.mentions_the_audio(str(error.get("message") or ""))


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
