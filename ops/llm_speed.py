"""Speed of a local GGUF chat model on this machine, through the product's own adapter.

    .venv/bin/python ops/llm_speed.py MODEL.gguf [--runs 5] [--max-tokens 128] [--threads N]

Loads the model with `LlamaServerChatModel` (llama.cpp's server in-process, as
AVATARADAM_CHAT_MODEL=local does), sends a training-answer-sized prompt (a system prompt,
three short passages, a question) `--runs` times with a different question each time, and
prints per run: prompt tokens, time to first token, prompt tokens/s (prompt tokens over
time to first token), generated tokens and generation tokens/s (tokens after the first
over the time after the first); then the medians. The first run reads the whole prompt;
later ones reuse the system prompt llama.cpp keeps in its KV cache, so their prompt rate
is the effective one. The load average is printed too: on a shared host it explains
most of the spread.
"""

# ruff: noqa: T201 -- a command-line report
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from pathlib import Path

from avataradam.adapters.llm.llama_server import LlamaServerChatModel
from avataradam.domain.ports.services import ChatTurn

SYSTEM = (
    "You are Adam, an experienced F&I trainer at a car dealership. Answer the trainee's "
    "question from the passages below only, in two or three sentences, and cite passages "
    "like [1].\n\n"
    "[1] GAP covers the difference between what the insurer pays after a total loss and "
    "what is still owed on the loan. It matters most with a small down payment, a long "
    "term or negative equity rolled in from a trade-in.\n"
    "[2] Never tell a customer that GAP is required to get the loan approved. Every product "
    "on the menu is optional, and the customer signs that they were told so.\n"
    "[3] Present the menu before quoting any payment. Ask about the customer's insurance "
    "deductible and how long they plan to keep the vehicle."
)
QUESTIONS = (
    "How do I explain GAP to a customer who put little money down?",
    "Can I tell the customer GAP is needed for the loan?",
    "What should I ask before presenting the menu?",
    "When does GAP matter most?",
    "What does the customer sign about optional products?",
)


async def one_run(model: LlamaServerChatModel, question: str, max_tokens: int) -> dict[str, float]:
    turns = (ChatTurn(role="system", content=SYSTEM), ChatTurn(role="user", content=question))
    started = time.perf_counter()
    first: float | None = None
    prompt_tokens = completion_tokens = 0
    async for delta in model.stream(turns, max_tokens=max_tokens):
        if delta.text and first is None:
            first = time.perf_counter()
        if delta.usage is not None:
            prompt_tokens, completion_tokens = (
                delta.usage.prompt_tokens,
                delta.usage.completion_tokens,
            )
    ended = time.perf_counter()
    ttft = (first or ended) - started
    return {
        "prompt_tokens": prompt_tokens,
        "ttft_s": ttft,
        "prompt_tps": prompt_tokens / ttft,
        "completion_tokens": completion_tokens,
        "generation_tps": max(0, completion_tokens - 1) / max(ended - (first or ended), 1e-9),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    model = LlamaServerChatModel(
        model_path=args.model, threads=args.threads, temperature=0.0, parallel=1
    )
    loaded = time.perf_counter()
    await asyncio.to_thread(model.warm_up)
    print(f"{args.model.name}: loaded in {time.perf_counter() - loaded:.1f} s")
    runs = []
    try:
        for i in range(args.runs):
            run = await one_run(model, QUESTIONS[i % len(QUESTIONS)], args.max_tokens)
            runs.append(run)
            print(
                f"run {i + 1}: prompt {run['prompt_tokens']:.0f} tok, first token "
                f"{run['ttft_s']:.2f} s ({run['prompt_tps']:.1f} tok/s), generated "
                f"{run['completion_tokens']:.0f} tok at {run['generation_tps']:.1f} tok/s, "
                f"load average {os.getloadavg()[0]:.1f}"
            )
    finally:
        await model.aclose()
    print(
        "median: first token {:.2f} s, prompt {:.1f} tok/s, generation {:.1f} tok/s".format(
            *(
                statistics.median(r[key] for r in runs)
                for key in ("ttft_s", "prompt_tps", "generation_tps")
            )
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
