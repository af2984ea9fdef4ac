"""Time to first token and generation speed of the 1.5B local chat model (issue 15).

The model (Qwen2.5-Coder-1.5B-Instruct Q4_K_M, `just setup-llm`) is built by the
product's own factory from the settings AVATARADAM_CHAT_MODEL=local reads, so it runs in
llama.cpp's server in this process with the product's slots, context and temperature.
Each prompt is a real training answer's: `training_prompt` (the product's builder, as
SendMessage calls it for a first question) over three passages of the F&I sample
knowledge base (`bench/fi_knowledge.py`, one passage per document, as the 200-token
chunker leaves them: the document that answers the question, then the two sharing the
most words with it) and one of its answerable questions, taking the documents in turn.

Every question is asked three ways, one pass over the questions per way:

- warm: the prompt as the product sends it (passages cut to the passage budget in whole
  sentences, `domain/passages.py`); the system turn is the same for every training
  question, so llama.cpp finds it in a slot's KV cache and reads only the passages and
  the question (the reply's usage counts the reused tokens);
- whole: the same with the passages uncut (what the budget saves);
- cold: the same prompt with a unique first line in the system turn, so nothing of it
  is in any cache (a changed prefix: every token is read).

Time to first token is from the call to the first text delta, as the product's reply
generator sees it; generation tokens/s is (completion tokens - 1) over the time after
the first token. Replies are capped at `max_tokens` (the speed does not depend on the
cap; the time to first token not at all). The 1-minute load average is recorded with
every run: on a shared 2-core host it explains most of the spread. A first, unmeasured
request loads the model and fills the cache, as the first question after a start would.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from avataradam.adapters.llm.llama_server import LlamaServerChatModel
from avataradam.adapters.llm.sentences import sentences
from avataradam.domain.model import Topic
from avataradam.domain.passages import fit_passages
from avataradam.domain.ports.services import ChatTurn
from avataradam.domain.prompts import approximate_tokens, training_prompt
from avataradam.domain.retrieval import SearchHit
from avataradam.entrypoints.factories import chat_model
from avataradam.entrypoints.settings import load_settings
from bench import fi_knowledge
from bench.harness import Bench
from bench.stack import ROOT

MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
PASSAGES = 3
GOAL_TTFT_P50_S = 5.0
_WORD = re.compile(r"[a-z]+")
_STOP = frozenset(
    _WORD.findall(
        "a an and are can do does how i is it of on our the to what when who with customer"
        " customers"
    )
)


def model_path() -> Path:
    """Where `just setup-llm` (ops/local-llm.sh) assembles the 1.5B model."""
    default = Path.home() / ".cache" / "avataradam-models"
    return Path(os.environ.get("AVATARADAM_MODEL_DIR", default)) / MODEL_FILE


def model_sha256() -> str:
    """The SHA-256 ops/local-llm.sh checks (one source for the pinned digest)."""
    script = (ROOT / "ops" / "local-llm.sh").read_text()
    match = re.search(r'^MODEL_SHA256="([0-9a-f]{64})"$', script, re.MULTILINE)
    if match is None:
        raise RuntimeError("ops/local-llm.sh names no MODEL_SHA256")
    return match.group(1)


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower())) - _STOP


def passages_for(question: fi_knowledge.Question) -> list[SearchHit]:
    """The passages a retriever returns for `question`: the document answering it first,
    then the others sharing the most words with the question (ties by name)."""
    asked = _words(question.text)

    def overlap(name: str) -> float:
        if name == question.answered_by:
            return 1.0
        words = _words(fi_knowledge.DOCUMENTS[name][1])
        return len(asked & words) / max(1, len(asked | words))

    names = sorted(fi_knowledge.DOCUMENTS, key=lambda name: (-overlap(name), name))
    return [
        SearchHit(
            chunk_id=f"{name}#0",
            document_id=uuid.uuid5(uuid.NAMESPACE_URL, name),
            filename=name,
            topic=Topic(fi_knowledge.DOCUMENTS[name][0]),
            text=fi_knowledge.DOCUMENTS[name][1],
            score=round(overlap(name), 3),
        )
        for name in names[:PASSAGES]
    ]


def in_turn(questions: Sequence[fi_knowledge.Question]) -> list[fi_knowledge.Question]:
    """The answerable questions taking each document in turn, so that no two prompts in a
    row start with the same passage: what a warm prompt reuses is the system text, not
    the luck of a repeated passage."""
    by_document: dict[str, list[fi_knowledge.Question]] = {}
    for q in questions:
        if q.answered_by is not None:
            by_document.setdefault(q.answered_by, []).append(q)
    ordered: list[fi_knowledge.Question] = []
    while any(by_document.values()):
        ordered += [group.pop(0) for group in by_document.values() if group]
    return ordered


def prompts(
    questions: int, history_budget_tokens: int, passage_budget_tokens: int
) -> list[tuple[str, tuple[ChatTurn, ...]]]:
    """The first `questions` training prompts, built as SendMessage builds them: the
    passages cut to `passage_budget_tokens` for the model's reading (0 = whole)."""
    answerable = in_turn(fi_knowledge.QUESTIONS)
    return [
        (
            q.text,
            training_prompt(
                history=(),
                question=q.text,
                hits=passages_for(q),
                focus=None,
                history_budget_tokens=history_budget_tokens,
                fitted=fit_passages(
                    passages_for(q),
                    question=q.text,
                    budget_tokens=passage_budget_tokens,
                    sentences=sentences,
                    count=approximate_tokens,
                ),
            ).turns,
        )
        for q in answerable[:questions]
    ]


def cold(turns: Sequence[ChatTurn]) -> tuple[ChatTurn, ...]:
    """The same prompt behind a system line no cache can hold."""
    first = ChatTurn(
        role=turns[0].role, content=f"Session {uuid.uuid4().hex}.\n\n{turns[0].content}"
    )
    return (first, *turns[1:])


async def one_answer(
    model: LlamaServerChatModel, turns: Sequence[ChatTurn], max_tokens: int
) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    first: float | None = None
    prompt_tokens = completion_tokens = reused = 0
    async for delta in model.stream(turns, max_tokens=max_tokens):
        if delta.text and first is None:
            first = time.perf_counter()
        if delta.usage is not None:
            prompt_tokens = delta.usage.prompt_tokens
            completion_tokens = delta.usage.completion_tokens
            reused = delta.usage.cached_prompt_tokens
    ended = time.perf_counter()
    first = first or ended
    return {
        "prompt_tokens": prompt_tokens,
        "reused_tokens": reused,
        "ttft_s": round(first - started, 3),
        "completion_tokens": completion_tokens,
        "generation_tps": round(max(0, completion_tokens - 1) / max(ended - first, 1e-9), 2),
        "total_s": round(ended - started, 3),
        "load_1m": round((load_before + os.getloadavg()[0]) / 2, 2),
    }


def _stats(values: Sequence[float]) -> dict[str, float]:
    data = np.asarray(values, dtype=float)
    return {
        "p50": round(float(np.percentile(data, 50)), 3),
        "p95": round(float(np.percentile(data, 95)), 3),
        "min": round(float(data.min()), 3),
        "max": round(float(data.max()), 3),
        "n": int(data.size),
    }


def _summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "ttft_s": _stats([r["ttft_s"] for r in runs]),
        "generation_tps": _stats([r["generation_tps"] for r in runs]),
        "prompt_tokens": _stats([r["prompt_tokens"] for r in runs]),
        "reused_tokens": _stats([r["reused_tokens"] for r in runs]),
        "read_tokens": _stats([r["prompt_tokens"] - r["reused_tokens"] for r in runs]),
        "completion_tokens": _stats([r["completion_tokens"] for r in runs]),
        "load_1m": _stats([r["load_1m"] for r in runs]),
    }


async def measure(*, quick: bool, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """The phase's results; `{"skipped": ...}` when the model is not installed."""
    path = model_path()
    if not path.is_file():
        return {"skipped": "model not installed: just setup-llm"}
    settings = load_settings(
        {
            **(environ or {}),
            "AVATARADAM_CHAT_MODEL": "local",
            "AVATARADAM_CHAT_LOCAL_MODEL_PATH": str(path),
            "AVATARADAM_CHAT_LOCAL_MODEL_SHA256": model_sha256(),
        },
        env_file=None,
    )
    model = chat_model(settings)
    assert isinstance(model, LlamaServerChatModel)
    # One question per document of the sample knowledge base (8), so no pass begins with
    # a passage the previous one ended with; asked three ways in about 5 minutes.
    questions = 6 if quick else len(fi_knowledge.DOCUMENTS)
    max_tokens = 16 if quick else 48
    chat = settings.chat
    asked = prompts(questions, chat.history_budget_tokens, chat.passage_budget_tokens)
    whole = prompts(questions, chat.history_budget_tokens, 0)
    system_chars = len(asked[0][1][0].content)
    loaded = time.perf_counter()
    await asyncio.to_thread(model.warm_up)
    load_s = time.perf_counter() - loaded
    runs: dict[str, list[dict[str, Any]]] = {"warm": [], "whole": [], "cold": []}
    try:
        # Unmeasured: the first question after a start reads the system text once.
        await one_answer(model, asked[-1][1], 1)
        # One pass per kind: the variants of one question share their first passage, so
        # asked back to back the second would reuse the first's cache; within a pass no
        # two prompts in a row (nor two apart, with 2 slots) start with the same passage.
        passes = {
            "warm": asked,
            "whole": whole,
            "cold": [(question, cold(turns)) for question, turns in asked],
        }
        for kind, prompts_of_kind in passes.items():
            for i, (question, turns) in enumerate(prompts_of_kind):
                run = await one_answer(model, turns, max_tokens)
                runs[kind].append({"question": question, **run})
                print(
                    f"[bench] llm {kind} {i + 1}/{len(asked)}: prompt {run['prompt_tokens']} "
                    f"tok (reused {run['reused_tokens']}), first token {run['ttft_s']:.2f} s, "
                    f"{run['generation_tps']:.1f} tok/s, load {run['load_1m']:.1f}",
                    flush=True,
                )
    finally:
        await model.aclose()
    warm, cold_ = _summarise(runs["warm"]), _summarise(runs["cold"])
    whole_ = _summarise(runs["whole"])
    return {
        "model": f"{path.name} (Qwen2.5-Coder-1.5B-Instruct Q4_K_M)",
        "runtime": "llama.cpp server in-process (xllamacpp), through LlamaServerChatModel",
        "settings": {
            "parallel": settings.chat.local_parallel,
            "context_tokens": settings.chat.local_context_tokens,
            "threads": settings.chat.local_threads or "llama.cpp default",
            "temperature": settings.chat.temperature,
            "max_tokens": max_tokens,
            "passage_budget_tokens": chat.passage_budget_tokens,
        },
        "prompt": (
            f"training_prompt: system turn ({system_chars} characters, the same for every "
            f"question), {PASSAGES} passages of bench/fi_knowledge.py cut to "
            f"{chat.passage_budget_tokens} tokens in whole sentences (as SendMessage cuts "
            "them) and the question in the user turn; whole: the same with the passages "
            "uncut; cold: the cut prompt behind a unique first system line"
        ),
        "questions": len(asked),
        "load_s": round(load_s, 1),
        "warm": warm,
        "whole": whole_,
        "cold": cold_,
        "cold_over_warm_ttft_p50": round(cold_["ttft_s"]["p50"] / warm["ttft_s"]["p50"], 2),
        "whole_over_warm_ttft_p50": round(whole_["ttft_s"]["p50"] / warm["ttft_s"]["p50"], 2),
        "goal_ttft_p50_s": GOAL_TTFT_P50_S,
        "goal_met": warm["ttft_s"]["p50"] <= GOAL_TTFT_P50_S,
        "cpu_count": os.cpu_count(),
        "runs": runs,
    }


async def phase_llm(b: Bench) -> None:
    result = await measure(quick=b.quick, environ=b.env)
    b.results["llm"] = result
    if "runs" in result:
        b.samples["llm"] = {
            kind: np.asarray([r["ttft_s"] * 1000 for r in result["runs"][kind]])
            for kind in ("warm", "whole", "cold")
        }
