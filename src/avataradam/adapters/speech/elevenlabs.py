"""Speech through ElevenLabs' API (elevenlabs.io/docs/api-reference; the request and
response shapes follow its official Python SDK, elevenlabs/elevenlabs-python).

- `POST {base_url}/v1/text-to-speech/{voice_id}?output_format=pcm_22050`, header
  `xi-api-key`, JSON `{text, model_id}` -> raw 16-bit little-endian mono PCM at
  22,050 Hz (no header), wrapped into a WAV here.
- `POST {base_url}/v1/speech-to-text`, multipart `file`, `model_id` (`scribe_v1`),
  `language_code` (ISO 639-1 or 639-3, optional), `tag_audio_events`,
  `timestamps_granularity` -> `{language_code: "eng", language_probability, text,
  words: [{text, start, end, type: word|spacing|audio_event, speaker_id, logprob}]}`.
- Errors: `{detail: {status, message}}` (`invalid_api_key`, `quota_exceeded`,
  `voice_not_found`, `too_many_concurrent_requests`, `system_busy`, …) or, for a
  malformed request, FastAPI's `{detail: [{loc, msg, type}]}` with 422.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from avataradam.adapters.speech import http, languages, probe
from avataradam.adapters.speech.wav import silence, speakable, speech_from_pcm16
from avataradam.domain.ports.speech import (
    NoSpeech,
    Speech,
    SpeechUnavailable,
    Transcript,
    Voice,
)

PROVIDER = "elevenlabs"
SAMPLE_RATE = 22_050
OUTPUT_FORMAT = f"pcm_{SAMPLE_RATE}"

ELEVENLABS_VOICES: tuple[Voice, ...] = (
    Voice(id="JBFqnCBsd6RMkjVDRZzb", language="en", gender="male"),  # George
    Voice(id="nPczCjzI2devNBz1zQrb", language="en", gender="male"),  # Brian
    Voice(id="cjVigY5qzO86Huf0OWal", language="en", gender="male"),  # Eric
    Voice(id="pqHfZKP75CvOlQylNhV4", language="en", gender="male"),  # Bill
    Voice(id="EXAVITQu4vr4xnSDxMaL", language="en", gender="female"),  # Sarah
    Voice(id="cgSgspJ2msm6clMCkdW9", language="en", gender="female"),  # Jessica
    Voice(id="XrExE9yKIg1WjnnlVkGX", language="en", gender="female"),  # Matilda
    Voice(id="pFZP5JQG7iQjIQuC4Bku", language="en", gender="female"),  # Lily
)
"""A few of ElevenLabs' default ("premade") voices, which every account has: ids and
genders as `GET /v1/voices` lists them (category `premade`, labels.gender); George is
the voice of ElevenLabs' own quickstart. With `eleven_multilingual_v2` each also reads
Spanish and the other supported languages. An account's own voices are passed as
`voices=`."""


class ElevenLabsSpeech(http.CloudApi):
    """Implements `SpeechSynthesizer` and `SpeechRecognizer` over ElevenLabs' API (see
    the module docstring).

    `synthesize` returns the 22,050 Hz PCM as a strict WAV; returns a WAV of no
    frames, without a request, for text with nothing to say. `transcribe` reads the
    length of WAV and Ogg (and, with PyAV, any)
    recordings locally and raises `AudioTooLong` before uploading; otherwise it checks
    the end of the last word heard. Audio events are not tagged, so the text is only
    what was said; an empty one is `NoSpeech`. A 400/422 about the file is
    `UnreadableAudio`; everything else (401 bad key or spent quota, 404 unknown voice,
    429, 5xx, timeouts) is `SpeechUnavailable` after the retries of
    `adapters.speech.http`.

    `client` may be shared (the adapter then never closes it); otherwise the adapter
    owns one, closed by `aclose`.
    """

    name = PROVIDER
    sample_rate = SAMPLE_RATE

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str = "https://api.elevenlabs.io",
        tts_model: str = "eleven_multilingual_v2",
        stt_model: str = "scribe_v1",
        voices: Sequence[Voice] | None = None,
        timeout_s: float = 30.0,
        client: httpx.AsyncClient | None = None,
        max_retries: int = 2,
    ) -> None:
        if voices is not None and not voices:
            raise ValueError("voices, when given, must name at least one voice")
        super().__init__(
            provider=PROVIDER,
            base_url=base_url,
            headers={"xi-api-key": api_key},
            error_message=_error_message,
            timeout_s=timeout_s,
            max_retries=max_retries,
            client=client,
        )
        self.tts_model = tts_model
        self.stt_model = stt_model
        self._voices = tuple(voices) if voices is not None else ELEVENLABS_VOICES

    @property
    def voices(self) -> Sequence[Voice]:
        return self._voices

    async def synthesize(self, text: str, *, voice: str) -> Speech:
        if not speakable(text):
            return silence(sample_rate=SAMPLE_RATE)
        response = await self._post(
            f"/v1/text-to-speech/{quote(voice, safe='')}",
            params={"output_format": OUTPUT_FORMAT},
            json={"text": text, "model_id": self.tts_model},
        )
        if len(self._answered(response).content) < 2:
            raise SpeechUnavailable(f"{PROVIDER} answered no audio", provider=PROVIDER)
        return speech_from_pcm16(response.content, SAMPLE_RATE)

    async def transcribe(
        self,
        audio: bytes,
        *,
        content_type: str,
        language: str | None = None,
        max_duration_s: float,
    ) -> Transcript:
        kind, probed_s = probe.upload(audio, content_type, max_duration_s=max_duration_s)
        fields = {
            "model_id": self.stt_model,
            "tag_audio_events": "false",
            "timestamps_granularity": "word",
        }
        if language:
            fields["language_code"] = languages.primary_subtag(language)
        response = await self._post(
            "/v1/speech-to-text",
            data=fields,
            files={"file": (kind.filename, audio, kind.media_type)},
        )
        body = self._heard(
            response,
            media_type=kind.media_type,
            about_the_audio=response.status_code in (400, 422) and _is_about_the_audio(response),
        )
        return _transcript(body, language, probed_s, max_duration_s)


def _transcript(
    body: Mapping[str, Any], language: str | None, probed_s: float | None, max_duration_s: float
) -> Transcript:
    words = [word for word in body.get("words") or () if isinstance(word, Mapping)]
    ends = [float(word["end"]) for word in words if isinstance(word.get("end"), int | float)]
    duration_s = probed_s if probed_s is not None else max(ends, default=None)
    if duration_s is not None:
        probe.check_length(duration_s, max_duration_s)
    text = str(body.get("text") or "").strip()
    kinds = [word.get("type") for word in words]
    if not text or (kinds and all(kinds) and "word" not in kinds):
        raise NoSpeech("nothing was said in the recording")
    spoken = languages.spoken(language, body.get("language_code"), languages.from_iso3)
    return Transcript(text=text, language=spoken, duration_s=float(duration_s or 0.0))


def _detail(response: httpx.Response) -> object:
    body = http.json_body(response)
    return body.get("detail") if isinstance(body, Mapping) else None


def _error_message(response: httpx.Response) -> str:
    detail = _detail(response)
    if isinstance(detail, Mapping):
        return str(detail.get("message") or detail.get("status") or "")[:300]
    if isinstance(detail, list):
        return http.validation_messages(detail)
    return ""


def _is_about_the_audio(response: httpx.Response) -> bool:
    detail = _detail(response)
    if isinstance(detail, list):
        return any(
            isinstance(item, Mapping) and "file" in (item.get("loc") or ()) for item in detail
        )
    if isinstance(detail, Mapping):
        said = f"{detail.get('status') or ''} {detail.get('message') or ''}"
        return http.mentions_the_audio(said)
    return False
