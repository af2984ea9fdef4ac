"""Speech: text and replies spoken (WAV), recordings transcribed, voices, and avatar
sessions (issue 20)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import ResponseHeader, UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.openapi import ResponseSpec
from litestar.params import (
    Body,
    FromPath,
    FromQuery,
    HeaderParameter,
    JSONBody,
    KwargDefinition,
)
from litestar.response import Stream
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_201_CREATED,
    HTTP_206_PARTIAL_CONTENT,
    HTTP_304_NOT_MODIFIED,
)

from avataradam.domain.audio import WAV
from avataradam.domain.errors import FileTooLarge
from avataradam.domain.usecases.speech_stream import SpeechAudio
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.http.audio import MAX_AGE_S, stored_audio_response
from avataradam.entrypoints.http.headers import entity_tags, representations
from avataradam.entrypoints.http.openapi import problems
from avataradam.entrypoints.http.ratelimit import limited
from avataradam.entrypoints.http.schemas.common import to_out
from avataradam.entrypoints.http.schemas.speech import (
    AvatarSessionOut,
    SpeechRequest,
    TranscriptOut,
    VoiceOut,
    VoicesOut,
)
from avataradam.entrypoints.http.security import SECURITY, CurrentPrincipal

DealershipParam = FromQuery[UUID | None]
_WAV_RESPONSE = ResponseSpec(
    data_container=bytes,
    media_type=WAV,
    description=(
        "WAV, 16-bit PCM mono, streamed as it is spoken: RIFF and data sizes 0xFFFFFFFF "
        "(unknown length, read to the end)."
    ),
    generate_examples=False,
)
RangeHeader = Annotated[
    str | None,
    HeaderParameter(
        name="Range",
        required=False,
        max_length=200,
        description="One byte range, `bytes=<first>-[<last>]` or `bytes=-<suffix>`.",
    ),
]
IfRangeHeader = Annotated[
    str | None,
    HeaderParameter(
        name="If-Range",
        required=False,
        max_length=200,
        description="The `ETag` the range is for; another one sends the whole audio.",
    ),
]
IfNoneMatchHeader = Annotated[
    str | None,
    HeaderParameter(
        name="If-None-Match",
        required=False,
        max_length=200,
        description="An `ETag` you hold: 304 when it is still the audio's.",
    ),
]


@dataclass
class TranscriptionForm:
    file: Annotated[
        UploadFile,
        KwargDefinition(
            description=(
                "The recording: WebM or Ogg (Opus, as browsers record), WAV, MP3 or M4A; "
                "judged by its bytes. 10 MiB and 60 s at most by default."
            )
        ),
    ]
    language: Annotated[
        Literal["en", "es"] | None,
        KwargDefinition(description="The language spoken, when known; else detected."),
    ] = None


def _streamed(audio: SpeechAudio, *, cache_control: str) -> Stream:
    headers = {"Cache-Control": cache_control, "X-Voice": audio.voice}
    return Stream(audio.chunks(), media_type=audio.content_type, headers=headers)


async def _read_limited(upload: UploadFile, max_bytes: int) -> bytes:
    """The whole upload, refused (413 `file_too_large`) past `max_bytes`."""
    data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FileTooLarge(f"the recording exceeds the limit of {max_bytes} bytes", field="file")
    return data


class SpeechController(Controller):
    path = "/v1"
    tags = ["speech"]
    security = SECURITY

    @post(
        "/speech",
        status_code=HTTP_200_OK,
        opt=limited("speech") | representations(WAV),
        operation_id="speak",
        summary="Speak text (WAV, streamed)",
        description=(
            "Speaks `text` with `voice` (one of GET /v1/speech/voices; Adam's by default) "
            "and streams it as one WAV while it is spoken, sentence by sentence: the first "
            "sentence's audio arrives before the rest is spoken. The header announces an "
            "unknown length (0xFFFFFFFF), which browsers and audio libraries read to the "
            "end. `X-Voice` names the voice. An unknown voice is 422 `invalid_input` "
            "listing the voices; without a synthesizer, 403 `feature_disabled` "
            "(`details.feature`: `speech`). The seconds spoken count against the "
            "dealership's monthly budget (429 `budget_exhausted`). A super admin passes "
            "`dealership_id`."
        ),
        response_headers=[
            ResponseHeader(
                name="X-Voice", description="The voice spoken with.", documentation_only=True
            )
        ],
        responses={HTTP_200_OK: _WAV_RESPONSE, **problems(400, 403, 404, 413, 422, 429)},
    )
    async def speak(
        self,
        data: JSONBody[SpeechRequest],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
        dealership_id: DealershipParam = None,
    ) -> Stream:
        audio = await container.speech.speak(
            principal, data.text, voice=data.voice, dealership_id=dealership_id
        )
        return _streamed(audio, cache_control="no-store")

    @get(
        "/speech/voices",
        operation_id="listVoices",
        summary="What speech is on: the voices speech is spoken with, Adam's, the recogniser",
        description=(
            "The synthesizer's voices (`id`, `language`, `gender`), its name and the id of "
            "Adam's voice, and the recogniser's name. Roleplay customers speak with a voice "
            "of the conversation's language, of the scenario's `persona.voice_gender` where "
            "set, the same one in every session of a scenario. An engine that is off is "
            "null (no voices without a synthesizer): a client offers speaking and listening "
            "by what is named here."
        ),
        sync_to_thread=False,
        responses=problems(),
    )
    def voices(
        self, principal: CurrentPrincipal, container: NamedDependency[Container]
    ) -> VoicesOut:
        found = container.speech.voices(principal)
        return VoicesOut(
            engine=found.engine,
            adam_voice=found.adam,
            recognizer=found.recognizer,
            items=[to_out(voice, VoiceOut) for voice in found.voices],
        )

    @get(
        "/messages/{message_id:uuid}/audio",
        opt=limited("speech") | representations(WAV) | entity_tags(),
        operation_id="getMessageAudio",
        summary="A reply, spoken (WAV)",
        description=(
            "Adam's reply (in roleplay, the customer's line) spoken with its voice: Adam's, "
            "or the scenario customer's, in the conversation's language. Spoken once per "
            "voice and kept: the first request streams it as it is spoken (like POST "
            "/v1/speech; `Cache-Control: no-store`, ranges ignored), later ones are answered "
            f"from the store with `ETag`, `Cache-Control: private, max-age={MAX_AGE_S}` and "
            "`Accept-Ranges: bytes`: `If-None-Match` with the tag is 304, one `Range` is "
            "206 with `Content-Range`, a range beyond the end 416 `range_not_satisfiable`. "
            "The conversation's owner only (another's reply is 404); a trainee's own "
            "message is 422. The first play's seconds count against the budget (429)."
        ),
        response_headers=[
            ResponseHeader(
                name="ETag", description="Stored audio: its tag.", documentation_only=True
            ),
            ResponseHeader(
                name="Cache-Control",
                description="`private, max-age=…` when stored, `no-store` when streamed.",
                documentation_only=True,
            ),
            ResponseHeader(name="Accept-Ranges", description="`bytes`.", documentation_only=True),
            ResponseHeader(
                name="X-Voice", description="The voice spoken with.", documentation_only=True
            ),
        ],
        responses={
            HTTP_200_OK: _WAV_RESPONSE,
            HTTP_206_PARTIAL_CONTENT: ResponseSpec(
                data_container=bytes,
                media_type=WAV,
                description="The byte range asked for, with `Content-Range`.",
                generate_examples=False,
            ),
            HTTP_304_NOT_MODIFIED: ResponseSpec(
                data_container=None,
                description="The `ETag` of `If-None-Match` is still the audio's.",
                generate_examples=False,
            ),
            **problems(400, 403, 404, 416, 422, 429),
        },
    )
    async def reply_audio(
        self,
        message_id: FromPath[UUID],
        request: Request[Any, Any, Any],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
        dealership_id: DealershipParam = None,
        range_: RangeHeader = None,
        if_range: IfRangeHeader = None,
        if_none_match: IfNoneMatchHeader = None,
    ) -> Response[bytes] | Stream:
        del range_, if_range, if_none_match  # read from the headers below, documented here
        audio = await container.speech.reply(principal, message_id, dealership_id=dealership_id)
        if audio.stored is None:
            assert audio.stream is not None  # noqa: S101 -- one or the other, by construction
            return _streamed(audio.stream, cache_control="no-store")
        stored = audio.stored
        return await stored_audio_response(
            request.headers, stored, lambda: container.speech.reply.read(stored)
        )

    @post(
        "/avatar/sessions",
        status_code=HTTP_201_CREATED,
        opt=limited("speech"),
        operation_id="createAvatarSession",
        summary="Start a talking-head avatar session",
        description=(
            "A short-lived session of the avatar provider (HeyGen-style streaming) that the "
            "browser joins with the provider's SDK, using `token` (never the provider's "
            "key) until `expires_at`. 201: a new session each time. Without a provider, "
            "403 `feature_disabled` (`details.feature`: `avatar`); the provider down or "
            "refusing, 503 `speech_unavailable`."
        ),
        responses=problems(403, 429),
    )
    async def avatar_session(
        self, principal: CurrentPrincipal, container: NamedDependency[Container]
    ) -> AvatarSessionOut:
        return to_out(await container.speech.avatar_session(principal), AvatarSessionOut)


class TranscriptionController(Controller):
    path = "/v1/transcriptions"
    tags = ["speech"]
    security = SECURITY

    @post(
        status_code=HTTP_200_OK,
        opt=limited("speech"),
        operation_id="transcribe",
        summary="Transcribe a recording",
        description=(
            "Multipart `file` (WebM or Ogg with Opus as browsers record, WAV, MP3 or M4A, "
            "told by its bytes) and optional `language` (`en`, `es`; else detected) -> "
            "`{text, language, duration_s}`. Another type is 415 `unsupported_media_type`; "
            "more than `AVATARADAM_SPEECH_MAX_UPLOAD_BYTES` (10 MiB by default) 413 "
            "`file_too_large` (a body far beyond it is refused unread, 413 "
            "`payload_too_large`); longer than `AVATARADAM_SPEECH_MAX_TRANSCRIPTION_S` (60 s) "
            "413 `audio_too_long`; audio that does not decode 422 `unreadable_audio`; "
            "silence 422 `no_speech`. Without a recogniser, 403 `feature_disabled` "
            "(`details.feature`: `transcription`). The seconds heard count against the "
            "budget (429). A super admin passes `dealership_id`."
        ),
        responses=problems(400, 403, 404, 413, 415, 422, 429),
    )
    async def transcribe(
        self,
        data: Annotated[TranscriptionForm, Body(media_type=RequestEncodingType.MULTI_PART)],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
        dealership_id: DealershipParam = None,
    ) -> TranscriptOut:
        try:
            audio = await _read_limited(data.file, container.settings.speech.max_upload_bytes)
        finally:
            await data.file.close()
        heard = await container.speech.transcribe(
            principal,
            audio,
            declared_type=data.file.content_type,
            language=data.language,
            dealership_id=dealership_id,
        )
        return to_out(heard, TranscriptOut)
