"""The `rules` scorer (issue 17), in-process, no stack: time to score a 10- and a
40-turn roleplay session with the real local embedder (p50/p95), and its agreement with
the labelled transcripts (tests/data/transcripts)."""

from __future__ import annotations

from typing import Any

from avataradam.adapters.embeddings.e5 import E5Embedder
from avataradam.adapters.llm.sentences import sentence_spans
from avataradam.domain.training.rules import RulesScorer
from bench.harness import Bench
from bench.scoring import agreement_summary, timing

REPETITIONS = 30
QUICK_REPETITIONS = 8


async def phase_scoring(b: Bench) -> None:
    embedder = E5Embedder()
    embedder.warm_up()
    scorer = RulesScorer(spans=sentence_spans, embedder=embedder)
    b.results["scoring"] = {
        "scorer": "rules (patterns + multilingual-e5-small similarity), in-process, CPU",
        "sessions": "10 and 40 distinct messages from the labelled transcripts",
        "time": await timing(scorer, QUICK_REPETITIONS if b.quick else REPETITIONS),
        "agreement": await agreement_summary(scorer),
    }


def section(result: dict[str, Any] | None) -> list[str]:
    """The Markdown section of the report."""
    if not result:
        return []
    lines = [
        "### Roleplay scoring (`rules` scorer, issue 17)",
        "",
        "| session | p50 ms | p95 ms | n |",
        "|---|---|---|---|",
    ]
    for turns, row in result["time"].items():
        lines.append(
            f"| {turns.replace('_', ' ')} | {row['p50_ms']} | {row['p95_ms']} | {row['n']} |"
        )
    for label, row in result["agreement"].items():
        lines.append(
            f"\nAgreement with the trainer's labels ({label.replace('_', ' ')}, "
            f"{row['transcripts']} transcripts): {row['per_check']:.1%} per check, "
            f"blockers exact on {row['blockers_exact']}."
        )
    return [*lines, ""]
