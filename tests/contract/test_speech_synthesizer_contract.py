"""`SpeechSynthesizer` contract over every adapter.

Every adapter answers a complete WAV file (RIFF, 16-bit PCM, mono) at its `sample_rate`
with `duration_s` = frames / rate; every voice it lists speaks; an unknown voice is a
`ValueError`; text with nothing to say (empty, blank, punctuation only) is a WAV of no
frames, not an error; line breaks do not cut the text; concurrent requests each get
their own audio. The local engines come from `just setup-speech` (skipped locally
without them, a failure under CI=true). To add an adapter, add its name to
`SYNTHESIZERS` and a branch to `synthesizer`.
"""

from __future__ import annotations

import asyncio
import io
import wave
from collections.abc import AsyncIterator

import pytest

from avataradam.domain.ports.speech import WAV, Speech, SpeechSynthesizer
from tests.support import speech

SYNTHESIZERS = ["piper", "espeak-ng"]
SAMPLES = {
    "en": "The vehicle service contract is optional.",
    "es": "El contrato de servicio es opcional.",
}


@pytest.fixture(scope="module", params=SYNTHESIZERS)
async def synthesizer(request: pytest.FixtureRequest) -> AsyncIterator[SpeechSynthesizer]:
    made = speech.synthesizer(request.param)
    yield made
    aclose = getattr(made, "aclose", None)
    if aclose is not None:
        await aclose()


def frames_of(speech_: Speech) -> tuple[int, int]:
    """(frames, frame rate) of a `Speech`, checking it is mono 16-bit PCM WAV."""
    with wave.open(io.BytesIO(speech_.audio)) as reader:
        assert reader.getnchannels() == 1
        assert reader.getsampwidth() == 2
        assert reader.getcomptype() == "NONE"
        frames = reader.getnframes()
        assert len(reader.readframes(frames)) == frames * 2, "the data chunk is complete"
        return frames, reader.getframerate()


async def test_speech_is_a_whole_mono_pcm16_wav_whose_duration_is_frames_over_rate(
    synthesizer: SpeechSynthesizer,
) -> None:
    voice = synthesizer.voices[0]
    spoken = await synthesizer.synthesize(
        SAMPLES.get(voice.language, SAMPLES["en"]), voice=voice.id
    )
    frames, rate = frames_of(spoken)
    assert spoken.content_type == WAV == "audio/wav"
    assert rate == spoken.sample_rate
    assert spoken.duration_s == frames / rate
    assert 1.0 < spoken.duration_s < 10.0, "a short sentence lasts seconds"


async def test_every_listed_voice_speaks(synthesizer: SpeechSynthesizer) -> None:
    voices = list(synthesizer.voices)
    assert voices, "an adapter lists at least one voice"
    assert len({voice.id for voice in voices}) == len(voices)
    for voice in voices:
        assert voice.language in SAMPLES, voice
        assert voice.gender in {"male", "female", "neutral"}, voice
        spoken = await synthesizer.synthesize(SAMPLES[voice.language], voice=voice.id)
        frames, _ = frames_of(spoken)
        assert frames > spoken.sample_rate // 2, f"{voice.id} said something"


async def test_an_unknown_voice_is_a_value_error(synthesizer: SpeechSynthesizer) -> None:
    with pytest.raises(ValueError, match="no voice"):
        await synthesizer.synthesize("Hello.", voice="no-such-voice")


@pytest.mark.parametrize("text", ["", "   ", "...", " -- ! ", "\n\n"])
async def test_text_with_nothing_to_say_is_a_wav_of_no_frames(
    synthesizer: SpeechSynthesizer, text: str
) -> None:
    spoken = await synthesizer.synthesize(text, voice=synthesizer.voices[0].id)
    frames, rate = frames_of(spoken)
    assert (frames, spoken.duration_s) == (0, 0.0)
    assert rate == spoken.sample_rate > 0


async def test_line_breaks_do_not_cut_the_text(synthesizer: SpeechSynthesizer) -> None:
    voice = synthesizer.voices[0].id
    first = await synthesizer.synthesize("GAP coverage is optional.", voice=voice)
    both = await synthesizer.synthesize(
        "GAP coverage is optional.\nSo is the service contract.\r\nAsk me anything.", voice=voice
    )
    assert both.duration_s > 2 * first.duration_s
    after = await synthesizer.synthesize("Thank you.", voice=voice)
    assert after.duration_s < first.duration_s, "nothing of the last request is left over"


async def test_concurrent_requests_each_get_their_own_audio(
    synthesizer: SpeechSynthesizer,
) -> None:
    voice = synthesizer.voices[0].id
    texts = [
        "Yes.",
        "The service contract covers repairs after the factory warranty ends.",
        "GAP coverage is optional.",
    ]
    spoken = await asyncio.gather(*(synthesizer.synthesize(text, voice=voice) for text in texts))
    durations = [item.duration_s for item in spoken]
    assert durations[0] < durations[2] < durations[1], durations
