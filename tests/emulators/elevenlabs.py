"""A local emulation of ElevenLabs' published API (elevenlabs.io/docs/api-reference; the
shapes of its official Python SDK), for tests of `ElevenLabsSpeech`.

`POST /v1/text-to-speech/{voice_id}?output_format=…`: header `xi-api-key`, JSON
`{text, model_id}`. Answers `pcm_16000|22050|24000|44100` as raw 16-bit little-endian
mono PCM at that rate (a tone whose length grows with the text); an unknown voice is
404 `voice_not_found`, an unknown model 400 `model_not_found`, a missing `text` 422.

`POST /v1/speech-to-text`: multipart `file`, `model_id` (`scribe_v1`,
`scribe_v1_experimental`, `scribe_v2`), `language_code` (ISO 639-1 or 639-3),
`tag_audio_events` (true unless "false"), `timestamps_granularity`. Answers
`{language_code: "eng", language_probability, text, words: [{text, start, end, type,
speaker_id, logprob}], transcription_id}`; what it hears is what a test registered with
`say`, else `default_transcript`; a silent WAV is heard as nothing, or as the audio
event "(background noise)" when events are tagged. An undecodable file is 400
`invalid_file`.

Errors: `{detail: {status, message}}`; 422 `{detail: [{loc, msg, type}]}`. Knobs:
`quota_exceeded` (401 `quota_exceeded`, as the service answers a spent quota).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from tests.emulators.audio import ListeningApi, tone_pcm16
from tests.emulators.http_server import Refused, Reply, Request, json_reply

API_KEY = "xi-test-key"
SECONDS_PER_CHARACTER = 0.05
PCM_RATES = {"pcm_16000": 16_000, "pcm_22050": 22_050, "pcm_24000": 24_000, "pcm_44100": 44_100}
TTS_MODELS = frozenset(
    {"eleven_multilingual_v2", "eleven_flash_v2_5", "eleven_turbo_v2_5", "eleven_v3"}
)
STT_MODELS = frozenset({"scribe_v1", "scribe_v1_experimental", "scribe_v2"})
PREMADE_VOICES = frozenset(
    {
        "JBFqnCBsd6RMkjVDRZzb",
        "nPczCjzI2devNBz1zQrb",
        "cjVigY5qzO86Huf0OWal",
        "pqHfZKP75CvOlQylNhV4",
        "EXAVITQu4vr4xnSDxMaL",
        "cgSgspJ2msm6clMCkdW9",
        "XrExE9yKIg1WjnnlVkGX",
        "pFZP5JQG7iQjIQuC4Bku",
    }
)
ISO3 = {"en": "eng", "es": "spa", "eng": "eng", "spa": "spa"}
_TTS_PATH = re.compile(r"^/v1/text-to-speech/(?P<voice>[^/]+)$")


def detail(status: str, message: str) -> dict[str, Any]:
    return {"detail": {"status": status, "message": message}}


def missing(*loc: str) -> dict[str, Any]:
    return {
        "detail": [{"loc": ["body", *loc], "msg": "field required", "type": "value_error.missing"}]
    }


class ElevenLabsEmulator(ListeningApi):
    def __init__(self, api_key: str = API_KEY) -> None:
        super().__init__(api_key, default_transcript="Is the service contract optional?")
        self.voices = set(PREMADE_VOICES)
        self.quota_exceeded = False

    def reset(self) -> None:
        super().reset()
        self.quota_exceeded = False

    def error_payload(self, status: int) -> object:
        if status == 429:
            return detail(
                "too_many_concurrent_requests",
                "Too many concurrent requests. Your current subscription allows 2.",
            )
        return detail("system_busy", "We are experiencing heavy traffic, please try again.")

    def handle(self, request: Request) -> Reply:
        if request.headers.get("xi-api-key") != self.api_key:
            raise Refused(401, detail("invalid_api_key", "Invalid API key"))
        if self.quota_exceeded:
            raise Refused(
                401,
                detail(
                    "quota_exceeded",
                    "This request exceeds your quota of 10000. You have 0 "
                    "credits remaining, while 38 credits are required for this request.",
                ),
            )
        match = _TTS_PATH.match(request.path)
        if request.method == "POST" and match:
            return self._speech(request, match["voice"])
        if (request.method, request.path) == ("POST", "/v1/speech-to-text"):
            return self._transcription(request)
        raise Refused(404, {"detail": "Not Found"})

    def _speech(self, request: Request, voice: str) -> Reply:
        body = request.json if isinstance(request.json, dict) else {}
        text, model = body.get("text"), body.get("model_id", "eleven_multilingual_v2")
        if not isinstance(text, str):
            raise Refused(422, missing("text"))
        if model not in TTS_MODELS:
            raise Refused(
                400, detail("model_not_found", f"A model with model ID {model} was not found.")
            )
        if voice not in self.voices:
            raise Refused(
                404, detail("voice_not_found", f"A voice with the voice_id {voice} was not found.")
            )
        output_format = request.query.get("output_format", "mp3_44100_128")
        rate = PCM_RATES.get(output_format)
        if rate is None:
            return Reply(501, b"this emulation speaks pcm_* only", "text/plain")
        return Reply(
            200,
            tone_pcm16(max(0.3, len(text) * SECONDS_PER_CHARACTER), rate),
            "application/octet-stream",
        )

    def _transcription(self, request: Request) -> Reply:
        model = request.form.get("model_id")
        upload = request.files.get("file")
        if model is None:
            raise Refused(422, missing("model_id"))
        if upload is None:
            raise Refused(422, missing("file"))
        if model not in STT_MODELS:
            raise Refused(400, detail("invalid_model_id", f"Model {model} is not supported."))
        language = request.form.get("language_code")
        if language is not None and language not in ISO3:
            raise Refused(
                400, detail("invalid_language_code", f"Language code {language} is not supported.")
            )
        heard = self.hear(
            upload.data,
            unreadable=detail(
                "invalid_file",
                "The uploaded file could not be processed. Please make "
                "sure it is a valid audio or video file.",
            ),
        )
        text, duration_s = heard.text, heard.duration_s
        words: list[dict[str, Any]]
        if heard.sniffed.silent:
            text, words = "", []
            if request.form.get("tag_audio_events", "true") != "false":
                text = "(background noise)"
                words = [_word(text, 0.0, duration_s, "audio_event")]
        else:
            words = _words(text, duration_s)
        return json_reply(
            200,
            {
                "language_code": ISO3[language or heard.language],
                "language_probability": 0.98,
                "text": text,
                "words": words,
                "transcription_id": uuid.uuid4().hex,
            },
        )


def _word(text: str, start: float, end: float, kind: str) -> dict[str, Any]:
    return {
        "text": text,
        "start": start,
        "end": end,
        "type": kind,
        "speaker_id": "speaker_0",
        "logprob": -0.05,
    }


def _words(text: str, duration_s: float) -> list[dict[str, Any]]:
    tokens = text.split()
    step = duration_s / max(len(tokens), 1)
    words: list[dict[str, Any]] = []
    for index, token in enumerate(tokens):
        start = round(index * step, 3)
        if index:
            words.append(_word(" ", start, start, "spacing"))
        words.append(_word(token, start, round(start + step * 0.9, 3), "word"))
    return words
