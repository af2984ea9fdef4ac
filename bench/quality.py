"""`python -m bench.quality [--models extractive,smollm2,qwen]`: answer quality per chat model.

Every question of `bench/fi_knowledge.py` (20 answerable, 3 that nothing in the base
answers) is asked once, as the first message of a new training conversation, of each
chat model, over the real stack (API, worker, local embedder, the F&I sample knowledge
base), with the answer cache off and the relevance floor at 0.2 (the guide's value for
the local embedder). Per model:

- supported share: mean `supported_share` of the replies that make claims;
- citation precision: cited sources that are the document answering the question,
  over all cited sources;
- refusals: replies saying nothing was found, for the questions nothing answers (want
  3 of 3) and for those something does (want 0);
- contradictions: replies with a sentence holding a phrase that says the opposite of a
  "never" / "must not" rule of the source (`Question.must_not_say`) and no negation of
  its own, want 0;
- reply time p50/p95 (client side, JSON).

Writes `bench/results/<date>-quality.json` and `.md`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from avataradam.adapters.llm.llama_server import file_sha256
from avataradam.adapters.llm.sentences import sentence_spans
from avataradam.domain.usecases.conversations.replies import NO_MATERIAL_REPLY, RULES_PREAMBLE
from bench import fi_knowledge
from bench.answers import RESULTS, seed, smollm2
from bench.stack import ROOT, BenchDatabase, BenchRedis, Server, base_environment, worker

QWEN = (
    Path(os.environ.get("AVATARADAM_MODEL_DIR", Path.home() / ".cache" / "avataradam-models"))
    / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
)
"""Where `just setup-llm` (ops/local-llm.sh) assembles the 1.5B model."""


def model_environment(name: str) -> dict[str, str]:
    if name == "extractive":
        return {"AVATARADAM_CHAT_MODEL": "extractive"}
    path = smollm2() if name == "smollm2" else QWEN
    if not path.exists():
        raise SystemExit(f"{path} is missing: run `just setup-llm` (qwen) or `setup-llm-test`")
    return {
        "AVATARADAM_CHAT_MODEL": "local",
        "AVATARADAM_CHAT_LOCAL_MODEL_PATH": str(path),
        "AVATARADAM_CHAT_LOCAL_MODEL_SHA256": file_sha256(path),
        "AVATARADAM_CHAT_LOCAL_CONTEXT_TOKENS": "4096",
        "AVATARADAM_CHAT_LOCAL_PARALLEL": "1",
        "AVATARADAM_CHAT_MAX_REPLY_TOKENS": "160",
    }


async def ask_all(url: str, headers: dict[str, str]) -> list[dict[str, object]]:
    replies: list[dict[str, object]] = []
    async with httpx.AsyncClient(base_url=url, timeout=300, headers=headers) as http:
        for question in fi_knowledge.QUESTIONS:
            started = await http.post("/v1/conversations", json={"mode": "training"})
            started.raise_for_status()
            begun = time.perf_counter()
            reply = await http.post(
                f"/v1/conversations/{started.json()['id']}/messages",
                json={"content": question.text},
            )
            elapsed_ms = (time.perf_counter() - begun) * 1000
            reply.raise_for_status()
            replies.append(reply.json() | {"elapsed_ms": elapsed_ms})
    return replies


_NEGATED = re.compile(r"\b(?:never|not|no|cannot|nunca|jam[aá]s)\b|n't\b", re.IGNORECASE)
"""A sentence's own negation; "cannot" is one word ("You cannot tell a customer that GAP is
required" restates the rule)."""


def contradicts(content: str, must_not_say: tuple[str, ...]) -> bool:
    """Whether a sentence of the reply holds a forbidden phrase without a negation of its
    own (quoting the rule itself, "Never tell a customer that GAP is required...", does
    not contradict it; "- required to get the loan approved." does)."""
    for start, end in sentence_spans(content):
        sentence = content[start:end].casefold()
        if any(p in sentence for p in must_not_say) and not _NEGATED.search(sentence):
            return True
    return False


def score(replies: list[dict[str, object]]) -> dict[str, object]:
    shares, cited, right, times = [], 0, 0, []
    refused_unanswerable = refused_answerable = 0
    contradicting: list[str] = []
    for question, reply in zip(fi_knowledge.QUESTIONS, replies, strict=True):
        content = str(reply["content"])
        times.append(float(reply["elapsed_ms"]))  # type: ignore[arg-type]
        refused = content == NO_MATERIAL_REPLY
        if question.answered_by is None:
            refused_unanswerable += refused
        else:
            refused_answerable += refused
        if reply.get("supported_share") is not None:
            shares.append(float(reply["supported_share"]))  # type: ignore[arg-type]
        sources = reply["sources"]
        assert isinstance(sources, list)
        cited += len(sources)
        right += sum(1 for s in sources if s["filename"] == question.answered_by)
        if contradicts(content, question.must_not_say):
            contradicting.append(question.text)
    ordered = sorted(times)
    unanswerable = sum(1 for q in fi_knowledge.QUESTIONS if q.answered_by is None)
    return {
        "questions": len(replies),
        "supported_share_mean": round(statistics.fmean(shares), 3) if shares else None,
        "citation_precision": round(right / cited, 3) if cited else None,
        "refusals_when_nothing_answers": f"{refused_unanswerable}/{unanswerable}",
        "refusals_when_something_answers": refused_answerable,
        "contradictions": len(contradicting),
        "contradicting_questions": contradicting,
        "withheld_by_guard": sum(
            1 for reply in replies if str(reply["content"]).startswith(RULES_PREAMBLE)
        ),
        "reply_ms_p50": round(ordered[len(ordered) // 2]),
        "reply_ms_p95": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]),
        "replies": [
            {"question": q.text, "content": r["content"], "grounded": r.get("grounded")}
            for q, r in zip(fi_knowledge.QUESTIONS, replies, strict=True)
        ],
    }


def run_model(name: str) -> dict[str, object]:
    database, redis_server = BenchDatabase().create(), BenchRedis().start()
    log_dir = Path(tempfile.mkdtemp(prefix=f"bench-quality-{name}-"))
    env = (
        base_environment(database.url, redis_server.url)
        | {"AVATARADAM_CACHE_ANSWERS": "false", "AVATARADAM_CHAT_MIN_RELEVANCE": "0.2"}
        | model_environment(name)
    )
    work = worker(env, log_dir)
    api = Server("api", None, env, log_dir)
    try:
        work.start()
        api.start().wait_healthy(timeout_s=300)
        full = {**os.environ, "PYTHONPATH": str(ROOT), **env}
        _, trainee = asyncio.run(seed(api.base_url, full))
        return score(asyncio.run(ask_all(api.base_url, trainee)))
    finally:
        api.stop()
        work.stop()
        redis_server.stop()
        database.drop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="extractive,smollm2")
    args = parser.parse_args()
    results = {name: run_model(name) for name in args.models.split(",")}
    RESULTS.mkdir(exist_ok=True)
    stem = RESULTS / f"{datetime.now(UTC):%Y-%m-%d}-quality"
    stem.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
    rows = [
        "| model | supported share | citation precision | refusals, nothing answers | "
        "refusals, something answers | contradictions | drafts withheld by the guard | "
        "reply p50 / p95 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        rows.append(
            f"| {name} | {r['supported_share_mean']} | {r['citation_precision']} | "
            f"{r['refusals_when_nothing_answers']} | {r['refusals_when_something_answers']} | "
            f"{r['contradictions']} | {r['withheld_by_guard']} | "
            f"{r['reply_ms_p50']} / {r['reply_ms_p95']} ms |"
        )
    stem.with_suffix(".md").write_text(
        "# Answer quality on the F&I sample knowledge base\n\n"
        f"{len(fi_knowledge.QUESTIONS)} questions (bench/fi_knowledge.py), one new training "
        "conversation each, answer cache off, relevance floor 0.2.\n\n" + "\n".join(rows) + "\n"
    )
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
