"""A local emulation of OpenAI's published audio API (platform.openai.com/docs/
api-reference/audio), for tests of `OpenAISpeech`.

`POST /v1/audio/speech`: `Authorization: Bearer <key>`, JSON `{model, input, voice,
response_format}`; `input` 1..4,096 characters, `voice` one of the built-in voices
(`ballad` and `verse` not with `tts-1`), models `tts-1`, `tts-1-hd`, `gpt-4o-mini-tts`.
Answers `wav` as OpenAI streams it (24 kHz, 16-bit mono, RIFF and data sizes
`0xFFFFFFFF`) and `pcm` raw; the audio is a tone whose length grows with the text.

`POST /v1/audio/transcriptions`: multipart `file` (at most 25 MB; its extension must
be one OpenAI accepts and its bytes decodable), `model` (`whisper-1`,
`gpt-4o-transcribe`, `gpt-4o-mini-transcribe`; only `whisper-1` gives `verbose_json`),
`language` (ISO 639-1), `response_format` (`json` by default, `verbose_json`, `text`).
What it "hears": the text a test registered for those exact bytes with `say`, else
`default_transcript`; a silent WAV is heard as nothing, or, with
`hallucinate_on_silence`, as Whisper's favourite "Thank you." in a segment it rates as
silence (high `no_speech_prob`, low `avg_logprob`).

Errors have the API's shape `{error: {message, type, param, code}}`.
"""

from __future__ import annotations

import math
from typing import Any

from tests.emulators.audio import Heard, ListeningApi, tone_pcm16, wav_bytes
from tests.emulators.http_server import Refused, Reply, Request, json_reply

API_KEY = "sk-test-audio"
SAMPLE_RATE = 24_000
SECONDS_PER_CHARACTER = 0.05
MAX_INPUT_CHARACTERS = 4096
MAX_FILE_BYTES = 25 * 1024 * 1024
VOICES = frozenset(
    {"alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse"}
)
TTS_MODELS = frozenset({"tts-1", "tts-1-hd", "gpt-4o-mini-tts"})
STT_MODELS = frozenset({"whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe"})
EXTENSIONS = ("flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "oga", "ogg", "wav", "webm")
LANGUAGE_NAMES = {"en": "english", "es": "spanish", "fr": "french", "de": "german"}


def error(
    message: str, kind: str = "invalid_request_error", param: Any = None, code: Any = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


class OpenAIAudioEmulator(ListeningApi):
    def __init__(self, api_key: str = API_KEY) -> None:
        super().__init__(api_key, default_transcript="I'll think about it.")
        self.hallucinate_on_silence = False

    def reset(self) -> None:
        super().reset()
        self.hallucinate_on_silence = False

    def error_payload(self, status: int) -> object:
        if status == 429:
            return error("Rate limit reached for requests", "requests", code="rate_limit_exceeded")
        return error("The server had an error while processing your request.", "server_error")

    def handle(self, request: Request) -> Reply:
        authorization = request.headers.get("authorization", "")
        if authorization != f"Bearer {self.api_key}":
            presented = authorization.removeprefix("Bearer ")
            masked = f"{presented[:3]}{'*' * max(len(presented) - 7, 0)}{presented[-4:]}"
            raise Refused(
                401,
                error(
                    f"Incorrect API key provided: {masked}. You can find your API key at "
                    "https://platform.openai.com/account/api-keys.",
                    code="invalid_api_key",
                ),
            )
        if (request.method, request.path) == ("POST", "/v1/audio/speech"):
            return self._speech(request)
        if (request.method, request.path) == ("POST", "/v1/audio/transcriptions"):
            return self._transcription(request)
        raise Refused(404, error(f"Invalid URL ({request.method} {request.path})"))

    def _speech(self, request: Request) -> Reply:
        body = request.json
        if not isinstance(body, dict):
            raise Refused(400, error("We could not parse the JSON body of your request."))
        model, text, voice = body.get("model"), body.get("input"), body.get("voice")
        if model not in TTS_MODELS:
            raise Refused(
                404,
                error(
                    f"The model `{model}` does not exist or you do not have access to it.",
                    code="model_not_found",
                ),
            )
        if not isinstance(text, str) or not text:
            raise Refused(400, error("Input should be a non-empty string.", param="input"))
        if len(text) > MAX_INPUT_CHARACTERS:
            raise Refused(
                400,
                error(
                    f"String should have at most {MAX_INPUT_CHARACTERS} characters",
                    param="input",
                    code="string_above_max_length",
                ),
            )
        if voice not in VOICES or (model == "tts-1" and voice in {"ballad", "verse"}):
            raise Refused(400, error(f"Invalid voice '{voice}'.", param="voice"))
        pcm = tone_pcm16(max(0.3, len(text) * SECONDS_PER_CHARACTER), SAMPLE_RATE)
        response_format = body.get("response_format", "mp3")
        if response_format == "wav":
            return Reply(200, wav_bytes(pcm, SAMPLE_RATE, streamed_header=True), "audio/wav")
        if response_format == "pcm":
            return Reply(200, pcm, "audio/pcm")
        return Reply(501, b"this emulation speaks wav and pcm only", "text/plain")

    def _transcription(self, request: Request) -> Reply:
        if len(request.body) > MAX_FILE_BYTES:
            raise Refused(413, error(f"Maximum content size limit ({MAX_FILE_BYTES}) exceeded."))
        model = request.form.get("model")
        upload = request.files.get("file")
        if model is None or upload is None:
            missing = "model" if model is None else "file"
            raise Refused(400, error(f"Missing required parameter: '{missing}'.", param=missing))
        if model not in STT_MODELS:
            raise Refused(
                404,
                error(
                    f"The model `{model}` does not exist or you do not have access to it.",
                    code="model_not_found",
                ),
            )
        response_format = request.form.get("response_format", "json")
        if response_format == "verbose_json" and model != "whisper-1":
            raise Refused(
                400,
                error(
                    f"response_format 'verbose_json' is not compatible with model '{model}'. "
                    "Use 'json' or 'text' instead.",
                    param="response_format",
                    code="unsupported_value",
                ),
            )
        language = request.form.get("language")
        if language is not None and (len(language) != 2 or language not in LANGUAGE_NAMES):
            raise Refused(
                400,
                error(
                    f"Invalid language '{language}'. Language parameter must be specified "
                    "in ISO-639-1 format.",
                    param="language",
                    code="invalid_language_format",
                ),
            )
        extension = upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else ""
        if extension not in EXTENSIONS:
            raise Refused(400, error(f"Invalid file format. Supported formats: {list(EXTENSIONS)}"))
        heard = self.hear(
            upload.data,
            unreadable=error(
                "The audio file could not be decoded or its format is not supported.",
                code="invalid_value",
            ),
        )
        return self._transcript(heard, language, response_format)

    def _transcript(self, heard: Heard, language: str | None, response_format: str) -> Reply:
        text, duration_s = heard.text, heard.duration_s
        no_speech_prob, avg_logprob = 0.01, -0.2
        if heard.sniffed.silent:
            text, no_speech_prob, avg_logprob = "", 0.95, -1.4
            if self.hallucinate_on_silence:
                text = "Thank you."
        usage = {"type": "duration", "seconds": math.ceil(duration_s)}
        if response_format == "text":
            return Reply(200, text.encode(), "text/plain")
        if response_format == "json":
            return json_reply(200, {"text": text, "usage": usage})
        segments = (
            [
                {
                    "id": 0,
                    "seek": 0,
                    "start": 0.0,
                    "end": duration_s,
                    "text": f" {text}",
                    "tokens": [50364, 400, 50464],
                    "temperature": 0.0,
                    "avg_logprob": avg_logprob,
                    "compression_ratio": 1.1,
                    "no_speech_prob": no_speech_prob,
                }
            ]
            if text
            else []
        )
        return json_reply(
            200,
            {
                "task": "transcribe",
                "language": LANGUAGE_NAMES[language or heard.language],
                "duration": duration_s,
                "text": text,
                "segments": segments,
                "usage": usage,
            },
        )
