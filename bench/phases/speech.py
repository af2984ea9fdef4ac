"""The local speech engines (issue 20), in-process, no stack: speech-to-text real-time
factor, text-to-speech time to first audio and real-time factor.

Engines as the product builds them (`avataradam.adapters.speech.local`, installed by
`just setup-speech`): faster-whisper with Whisper base (int8, beam 1, Silero voice
filter, 2 CPU threads), Piper's `joe` voice in its own long-lived process, espeak-ng's
`en-us+m3` run per request.

- STT: trainee utterances spoken by Piper, as a short push-to-talk turn (one sentence,
  ~5 s), a long one (five sentences, ~25 s), and the short one as webm/opus (what a
  browser sends); real-time factor = processing seconds ÷ audio seconds, the language
  given (`en`) and, for the short turn, detected. The baseline in the same run is the
  decoding alone (PyAV to 16 kHz), and the model's load is reported apart.
- TTS: a three-sentence reply of Adam's, split into sentences as the product will speak
  it; time to first audio = the first sentence's synthesis (the whole WAV of it), RTF =
  all sentences' synthesis ÷ their audio seconds; espeak-ng is the baseline (Piper ÷
  espeak-ng). Piper's cold start (process + model) is reported apart.
- A voice turn's floor with the extractive model: STT of the short turn + first audio of
  the reply (no chat model, no HTTP): what a spoken reply cannot beat on this machine.

The 1-minute load average is recorded: on a shared 2-core host it explains most of the
spread. Each repetition takes every STT case in turn, and each TTS repetition both
engines in turn, so a change of load falls on all alike.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from avataradam.adapters.llm.sentences import sentences
from avataradam.adapters.speech.local import local_recognizer, local_synthesizer
from avataradam.adapters.speech.piper import PiperSynthesizer
from avataradam.adapters.speech.whisper import FasterWhisperRecognizer, decode_audio
from avataradam.domain.ports.speech import SpeechSynthesizer
from bench.harness import Bench

SHORT_TURN = "I hear you on the payment. Can I show you what the service contract covers first?"
LONG_TURN = (
    "I understand you want to keep the payment low. "
    "The service contract is optional and never required for financing. "
    "It covers repairs after the factory warranty ends, including parts and labor. "
    "GAP coverage pays the difference between your insurance payout and what you owe. "
    "You can choose any of these options, or none of them, and your approval stays the same."
)
REPLY = (
    "Start by acknowledging the customer's concern about the payment. "
    "Then show the value of the service contract before you mention its price. "
    "Remember that every product is optional and never tied to the loan approval."
)
REPETITIONS = 5
QUICK_REPETITIONS = 2


def _p(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 3)


def stats(values: list[float]) -> dict[str, float]:
    """p50 and p95 of `values` (rounded to the millisecond) and their count."""
    return {"p50": _p(values, 50), "p95": _p(values, 95), "n": len(values)}


def webm(wav: bytes) -> bytes:
    """`wav` encoded as a browser's recorder sends it: WebM with Opus, 48 kHz mono."""
    import io  # noqa: PLC0415

    import av  # noqa: PLC0415 - installed with faster-whisper

    source = av.open(io.BytesIO(wav), mode="r")
    buffer = io.BytesIO()
    output: Any = av.open(buffer, mode="w", format="webm")
    stream = output.add_stream("libopus", rate=48000, layout="mono")
    resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=48000)
    with source, output:
        for frame in [*source.decode(audio=0), None]:
            for resampled in resampler.resample(frame):
                output.mux(stream.encode(resampled))
        output.mux(stream.encode(None))
    return buffer.getvalue()


async def _stt(
    recognizer: FasterWhisperRecognizer, clips: dict[str, tuple[bytes, str, float]], n: int
) -> dict[str, Any]:
    """Each repetition takes every case in turn, so a change of the host's load falls on
    all of them alike."""
    started = time.perf_counter()
    recognizer.warm_up()
    result: dict[str, Any] = {"model_load_s": round(time.perf_counter() - started, 2)}
    cases = [
        (f"{name}_{language or 'detected'}", name, language)
        for name in clips
        for language in (("en", None) if name == "short_wav" else ("en",))
    ]
    totals: dict[str, list[float]] = {label: [] for label, _, _ in cases}
    decodes: dict[str, list[float]] = {label: [] for label, _, _ in cases}
    texts: dict[str, set[str]] = {label: set() for label, _, _ in cases}
    for _ in range(n):
        for label, name, language in cases:
            audio, content_type, _ = clips[name]
            started = time.perf_counter()
            decode_audio(audio, content_type=content_type, max_duration_s=120)
            decodes[label].append(time.perf_counter() - started)
            started = time.perf_counter()
            transcript = await recognizer.transcribe(
                audio, content_type=content_type, language=language, max_duration_s=120
            )
            totals[label].append(time.perf_counter() - started)
            texts[label].add(transcript.text)
    for label, name, _ in cases:
        seconds = clips[name][2]
        result[label] = {
            "audio_s": round(seconds, 2),
            "seconds": stats(totals[label]),
            "rtf": stats([t / seconds for t in totals[label]]),
            "decode_rtf": stats([t / seconds for t in decodes[label]]),
            "decode_share_p50": round(
                float(np.median(decodes[label]) / np.median(totals[label])), 3
            ),
            "text": sorted(texts[label])[0],
            "distinct_texts": len(texts[label]),
        }
    return result


async def _tts(
    engines: dict[str, tuple[SpeechSynthesizer, str]], n: int
) -> dict[str, dict[str, Any]]:
    parts = sentences(REPLY)
    first: dict[str, list[float]] = {name: [] for name in engines}
    totals: dict[str, list[float]] = {name: [] for name in engines}
    rtfs: dict[str, list[float]] = {name: [] for name in engines}
    for _ in range(n):
        for name, (synthesizer, voice) in engines.items():
            synthesis_s, audio_s = 0.0, 0.0
            for index, sentence in enumerate(parts):
                started = time.perf_counter()
                speech = await synthesizer.synthesize(sentence, voice=voice)
                elapsed = time.perf_counter() - started
                if index == 0:
                    first[name].append(elapsed)
                synthesis_s += elapsed
                audio_s += speech.duration_s
            totals[name].append(synthesis_s)
            rtfs[name].append(synthesis_s / audio_s)
    return {
        name: {
            "voice": voice,
            "sentences": len(parts),
            "first_audio_s": stats(first[name]),
            "reply_synthesis_s": stats(totals[name]),
            "rtf": stats(rtfs[name]),
        }
        for name, (_, voice) in engines.items()
    }


async def phase_speech(b: Bench) -> None:
    piper = local_synthesizer("piper")
    espeak = local_synthesizer("espeak-ng")
    recognizer = local_recognizer(cpu_threads=2)
    if piper is None or espeak is None or not isinstance(recognizer, FasterWhisperRecognizer):
        b.results["speech"] = {"skipped": "run `just setup-speech` first"}
        return
    assert isinstance(piper, PiperSynthesizer)
    n = QUICK_REPETITIONS if b.quick else REPETITIONS
    load_before = os.getloadavg()[0]
    try:
        started = time.perf_counter()
        await piper.synthesize("Ready.", voice="joe")
        cold_s = time.perf_counter() - started
        short = (await piper.synthesize(SHORT_TURN, voice="joe")).audio
        long = await piper.synthesize(LONG_TURN, voice="joe")
        short_s = len(decode_audio(short, content_type="audio/wav", max_duration_s=120)) / 16000
        clips = {
            "short_wav": (short, "audio/wav", short_s),
            "short_webm": (webm(short), "audio/webm", short_s),
            "long_wav": (long.audio, "audio/wav", long.duration_s),
        }
        stt = await _stt(recognizer, clips, n)
        tts = await _tts({"piper": (piper, "joe"), "espeak-ng": (espeak, "en-us+m3")}, n)
        tts["piper"]["cold_start_s"] = round(cold_s, 2)
    finally:
        await piper.aclose()
    piper_tts, espeak_tts = tts["piper"], tts["espeak-ng"]
    b.results["speech"] = {
        "engines": (
            "faster-whisper (Whisper base, CTranslate2 int8, beam 1, VAD, 2 threads); "
            "Piper joe (separate process); espeak-ng en-us+m3 (a process per request)"
        ),
        "repetitions": n,
        "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "stt": stt,
        "tts": tts,
        "piper_over_espeak": {
            "first_audio_p50": round(
                piper_tts["first_audio_s"]["p50"] / espeak_tts["first_audio_s"]["p50"], 1
            ),
            "rtf_p50": round(piper_tts["rtf"]["p50"] / espeak_tts["rtf"]["p50"], 1),
        },
        "voice_turn_floor_s": {
            "p50": round(
                stt["short_wav_en"]["seconds"]["p50"] + piper_tts["first_audio_s"]["p50"], 2
            ),
            "what": "STT of the short turn + Piper's first sentence of the reply (extractive "
            "model, no HTTP)",
        },
    }


def section(result: dict[str, Any] | None) -> list[str]:
    """The Markdown section of the report."""
    if not result:
        return []
    if "skipped" in result:
        return ["### Speech (issue 20)", "", f"Skipped: {result['skipped']}.", ""]
    stt, tts = result["stt"], result["tts"]
    lines = [
        "### Speech, local engines (issue 20)",
        "",
        f"{result['engines']}; {result['repetitions']} repetitions, 1-minute load average "
        f"{result['load_average_1m'][0]} → {result['load_average_1m'][1]} on "
        f"{os.cpu_count()} cores. Whisper base loaded in {stt['model_load_s']} s.",
        "",
        "Speech to text (real-time factor = processing ÷ audio seconds; decoding alone is "
        "the baseline):",
        "",
        "| clip | audio s | seconds p50 / p95 | RTF p50 / p95 | decoding RTF p50 "
        "| decoding share |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in stt.items():
        if not isinstance(row, dict):
            continue
        lines.append(
            f"| {name.replace('_', ' ')} | {row['audio_s']} | {row['seconds']['p50']} / "
            f"{row['seconds']['p95']} | {row['rtf']['p50']} / {row['rtf']['p95']} | "
            f"{row['decode_rtf']['p50']} | {row['decode_share_p50']:.1%} |"
        )
    lines += [
        "",
        "Text to speech (a three-sentence reply spoken sentence by sentence; first audio = "
        "the first sentence's WAV):",
        "",
        "| engine | first audio p50 / p95 s | reply synthesis p50 s | RTF p50 / p95 |",
        "|---|---|---|---|",
    ]
    for engine, row in tts.items():
        lines.append(
            f"| {engine} ({row['voice']}) | {row['first_audio_s']['p50']} / "
            f"{row['first_audio_s']['p95']} | {row['reply_synthesis_s']['p50']} | "
            f"{row['rtf']['p50']} / {row['rtf']['p95']} |"
        )
    ratio = result["piper_over_espeak"]
    lines += [
        "",
        f"Piper ÷ espeak-ng: first audio {ratio['first_audio_p50']}×, RTF {ratio['rtf_p50']}×. "
        f"Piper's cold start (process and model, first sentence): "
        f"{tts['piper']['cold_start_s']} s.",
        f"Voice turn floor ({result['voice_turn_floor_s']['what']}): "
        f"{result['voice_turn_floor_s']['p50']} s at the median.",
        "",
    ]
    return lines
