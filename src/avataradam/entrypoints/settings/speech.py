"""Settings of speech and the avatar (issue 20), read from `AVATARADAM_SPEECH_<FIELD>`.

Engines. `synthesizer` and `recognizer` name an engine, `off`, or `auto`. `auto` picks,
first found: a cloud engine whose key is set (synthesis: ElevenLabs, then the
OpenAI-compatible API; recognition: the OpenAI-compatible API, then ElevenLabs), else
the local engines when installed (`just setup-speech`: Piper, else espeak-ng;
faster-whisper), else `off`. An engine named explicitly must be usable: a cloud engine
without its key, or a local one not installed, stops the process at start. The avatar
provider works alike: `auto` is HeyGen when its key is set, else `off`.

Budget. A second of speech (synthesised or transcribed) counts
`budget_tokens_per_second` tokens against the dealership's monthly token budget
(`AVATARADAM_USAGE_MONTHLY_TOKEN_BUDGET`), beside the chat model's tokens.
"""

from __future__ import annotations

from typing import Literal

import msgspec

SynthesizerChoice = Literal["auto", "piper", "espeak-ng", "openai", "elevenlabs", "memory", "off"]
RecognizerChoice = Literal["auto", "faster-whisper", "openai", "elevenlabs", "memory", "off"]
AvatarChoice = Literal["auto", "heygen", "memory", "off"]


class SpeechSettings(msgspec.Struct, frozen=True, kw_only=True):
    synthesizer: SynthesizerChoice = "auto"
    """Text to speech (see the module docstring for `auto`)."""
    recognizer: RecognizerChoice = "auto"
    """Speech to text (see the module docstring for `auto`)."""
    voice: str | None = None
    """Adam's voice, one of the synthesizer's voice ids (`GET /v1/speech/voices`); None:
    the engine's first male English voice."""
    openai_base_url: str = "https://api.openai.com/v1"
    openai_api_key: str | None = None
    openai_tts_model: str = "gpt-4o-mini-tts"
    openai_stt_model: str = "whisper-1"
    elevenlabs_api_key: str | None = None
    elevenlabs_base_url: str = "https://api.elevenlabs.io"
    elevenlabs_tts_model: str = "eleven_multilingual_v2"
    elevenlabs_stt_model: str = "scribe_v1"
    timeout_s: float = 30.0
    """Longest wait for a cloud speech API's answer."""
    avatar_provider: AvatarChoice = "auto"
    heygen_api_key: str | None = None
    heygen_base_url: str = "https://api.liveavatar.com"
    """HeyGen's LiveAvatar API (its streaming API's successor; `adapters/avatar/heygen.py`)."""
    heygen_avatar_id: str | None = None
    """The LiveAvatar avatar that plays Adam (required with HeyGen)."""
    max_transcription_s: float = 60.0
    """Longest recording `POST /v1/transcriptions` transcribes (413 `audio_too_long`)."""
    max_upload_bytes: int = 10 * 1024 * 1024
    """Largest recording `POST /v1/transcriptions` reads (413 `file_too_large`)."""
    max_text_chars: int = 2000
    """Longest text `POST /v1/speech` speaks (422 `invalid_input`)."""
    stt_cpu_threads: int = 2
    """CPU threads of the local recogniser (faster-whisper)."""
    budget_tokens_per_second: int = 50
    """Tokens of the monthly budget one second of speech counts (0: speech is free)."""
    reply_lock_ttl_s: float = 120.0
    """Longest time a reply's first play holds its lock in Redis while it speaks it;
    another first play of the same reply waits that long at most for the kept audio,
    then speaks it too. Longer than the longest reply takes to speak."""
    reply_poll_interval_s: float = 0.25
    """How often a waiting first play looks for the kept audio."""

    def __post_init__(self) -> None:
        if self.max_transcription_s <= 0 or self.timeout_s <= 0:
            raise ValueError("max_transcription_s and timeout_s must be positive")
        if self.max_upload_bytes < 1024 or self.max_text_chars < 1:
            raise ValueError("max_upload_bytes must be at least 1024 and max_text_chars >= 1")
        if self.reply_lock_ttl_s <= 0 or not 0 < self.reply_poll_interval_s <= 10:
            raise ValueError("reply_lock_ttl_s must be positive and reply_poll_interval_s 0..10")
        if not 1 <= self.stt_cpu_threads <= 64 or self.budget_tokens_per_second < 0:
            raise ValueError("stt_cpu_threads must be 1..64 and budget_tokens_per_second >= 0")
        needs = {
            "openai": ("openai_api_key", self.openai_api_key),
            "elevenlabs": ("elevenlabs_api_key", self.elevenlabs_api_key),
        }
        for role, choice in (("synthesizer", self.synthesizer), ("recognizer", self.recognizer)):
            if choice in needs and not needs[choice][1]:
                raise ValueError(
                    f"{role}={choice} needs AVATARADAM_SPEECH_{needs[choice][0].upper()}"
                )
        if self.avatar_provider == "heygen" and not self.heygen_api_key:
            raise ValueError("avatar_provider=heygen needs AVATARADAM_SPEECH_HEYGEN_API_KEY")
        heygen = self.heygen_api_key and self.avatar_provider in ("auto", "heygen")
        if heygen and not self.heygen_avatar_id:
            raise ValueError("HeyGen needs AVATARADAM_SPEECH_HEYGEN_AVATAR_ID")

    def synthesizer_engine(self) -> SynthesizerChoice:
        """The engine `synthesizer` names once `auto` is resolved by the keys set;
        `auto` left means "the local engines, if installed"."""
        if self.synthesizer != "auto":
            return self.synthesizer
        if self.elevenlabs_api_key:
            return "elevenlabs"
        return "openai" if self.openai_api_key else "auto"

    def recognizer_engine(self) -> RecognizerChoice:
        """As `synthesizer_engine`, for the recogniser."""
        if self.recognizer != "auto":
            return self.recognizer
        if self.openai_api_key:
            return "openai"
        return "elevenlabs" if self.elevenlabs_api_key else "auto"

    def avatar_engine(self) -> AvatarChoice:
        """`heygen`, `memory` or `off` (`auto` resolved by the HeyGen key)."""
        if self.avatar_provider != "auto":
            return self.avatar_provider
        return "heygen" if self.heygen_api_key else "off"
