"""The voice bench phase's code (bench/phases/voice.py) on the test deployment, so that it
cannot rot between bench runs: the demo knowledge base ingested by the session's worker,
one voice turn per mode through the API with the in-memory speech engines (the bench's
baseline), timed, summarised, compared and written as the report's Markdown."""

from __future__ import annotations

import httpx
import pytest

from avataradam.adapters.memory.speech import wav_with_text
from bench.harness import Account
from bench.phases import voice
from tests.integration.conftest import Tenant
from tests.support.processes import ServiceProcess

SECONDS = 1.0


def _clips() -> dict[str, list[voice.Clip]]:
    """Two in-memory recordings per mode (the first is the unmeasured turn's)."""
    return {
        mode: [
            voice.Clip(line, wav_with_text(line, seconds=SECONDS), "audio/wav", "r.wav", SECONDS)
            for line in lines[:2]
        ]
        for mode, lines in (("training", voice.TRAINING_LINES), ("roleplay", voice.ROLEPLAY_LINES))
    }


async def test_a_voice_turn_per_mode_is_timed_summarised_and_reported(
    client: httpx.AsyncClient, tenant: Tenant, worker: ServiceProcess
) -> None:
    """Given the demo knowledge base ingested, when one turn per mode is played with the
    in-memory engines, then each turn heard its line, got a reply and its audio, its
    parts add up to the whole, and the report shows both modes and the baseline."""
    del worker  # ingests the uploads
    admin = Account(tenant.admin.id, tenant.dealership_id, tenant.admin.token)
    user = Account(tenant.user.id, tenant.dealership_id, tenant.user.token)
    chunks = await voice.load_demo_knowledge(client, admin, user)
    assert chunks > 0
    clips = _clips()
    setup = voice.Setup(voice.BASELINE, "extractive", "in-memory (baseline)", {})

    result = await voice.measure(client, user, setup, clips, turns=1)

    turns = [voice.Turn(**turn) for turn in result["turns"]]
    assert [turn.mode for turn in turns] == ["training", "roleplay"]
    assert [turn.said for turn in turns] == [clips[mode][1].text for mode in voice.MODES]
    for turn in turns:
        assert turn.heard == turn.said
        assert turn.reply_chars > 0
        assert turn.audio_s > 0
        assert turn.total_s == pytest.approx(
            turn.transcription_s + turn.reply_s + turn.first_audio_s
        )
        assert 0 < turn.reply_first_text_s <= turn.reply_s
        assert turn.first_audio_s <= turn.audio_end_s
    assert set(result["first_turn_s"]) == set(voice.MODES)
    assert result["heard_word_for_word"] == {"training": [1, 1], "roleplay": [1, 1]}
    assert result["modes"]["all"]["total_s"]["n"] == 2

    assembled = voice.assemble(
        {voice.BASELINE: result, "extractive": dict(result)},
        turns=1,
        recorded=clips,
        knowledge={"documents": 8, "chunks": chunks},
        left_out={"local": "not in this test"},
    )
    assert assembled["setups"]["extractive"]["over_baseline"]["all"]["total_s"] == 1.0
    report = "\n".join(voice.section(assembled))
    assert "| extractive | in-memory (baseline) | training | **" in report
    assert "| roleplay | **" in report
    assert "1.0\u00d7" in report
    assert "local: not measured, not in this test." in report


def test_the_samples_start_after_the_wav_header() -> None:
    header = wav_with_text("Hi.", seconds=0.5)  # an `atxt` chunk before `data`
    offset = voice.pcm_offset(header)
    assert offset is not None
    assert header[offset - 8 : offset - 4] == b"data"
    assert voice.pcm_offset(header[: offset - 1]) is None
    with pytest.raises(ValueError, match="not a WAV"):
        voice.pcm_offset(b"OggS" + bytes(20))
