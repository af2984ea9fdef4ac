"""The `rules` scorer on the labelled transcripts (tests/data/transcripts): agreement
per check with the trainer's labels (tuning set and held-out set apart), blocker and
pass/fail agreement, a sweep of the similarity threshold, and scoring time per session
(p50/p95) for 10- and 40-turn sessions. In-process, no stack:

    .venv/bin/python -m bench.scoring [--sweep] [--repetitions 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

from avataradam.adapters.embeddings.e5 import E5Embedder
from avataradam.adapters.llm.sentences import sentence_spans
from avataradam.domain.training.builtin import BUILT_IN_RUBRICS
from avataradam.domain.training.rules import RulesScorer
from avataradam.domain.training.scorecard import Message, Scorecard, Transcript

TRANSCRIPTS = Path(__file__).resolve().parent.parent / "tests" / "data" / "transcripts"


class Labelled:
    def __init__(self, path: Path) -> None:
        data = json.loads(path.read_text())
        self.name = path.stem
        self.held_out: bool = data["held_out"]
        self.transcript = Transcript(
            messages=tuple(Message(**m) for m in data["messages"]), language=data["language"]
        )
        self.checks: dict[str, bool | None] = data["expected"]["checks"]
        self.blockers_failed: set[str] = set(data["expected"]["blockers_failed"])
        self.passed: bool = data["expected"]["passed"]


def load() -> list[Labelled]:
    return [Labelled(p) for p in sorted(TRANSCRIPTS.glob("*.json"))]


def verdicts(card: Scorecard) -> dict[str, bool | None]:
    return {c.id: (c.passed if c.applicable else None) for r in card.criteria for c in r.checks}


def agreement(
    cases: Sequence[Labelled], cards: Sequence[Scorecard]
) -> tuple[dict[str, tuple[int, int]], list[str]]:
    """Per check: (agreeing transcripts, transcripts); and the disagreements."""
    per_check: dict[str, tuple[int, int]] = {}
    misses: list[str] = []
    for case, card in zip(cases, cards, strict=True):
        got = verdicts(card)
        for check_id, want in case.checks.items():
            agree, total = per_check.get(check_id, (0, 0))
            ok = got.get(check_id, "absent") == want
            per_check[check_id] = (agree + ok, total + 1)
            if not ok:
                misses.append(f"{case.name}: {check_id} want {want} got {got.get(check_id)}")
    return per_check, misses


class MemoEmbedder:
    """The embedder with its query vectors memoised: a threshold sweep re-embeds nothing."""

    def __init__(self, inner: E5Embedder) -> None:
        self.inner, self.model_name, self.dimension = inner, inner.model_name, inner.dimension
        self.memo: dict[str, list[float]] = {}

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return await self.inner.embed(texts)

    async def embed_queries(self, texts: Sequence[str]) -> list[list[float]]:
        missing = [t for t in texts if t not in self.memo]
        if missing:
            self.memo.update(zip(missing, await self.inner.embed_queries(missing), strict=True))
        return [self.memo[t] for t in texts]


def report(title: str, cases: list[Labelled], cards: list[Scorecard]) -> float:
    per_check, misses = agreement(cases, cards)
    agree = sum(a for a, _ in per_check.values())
    total = sum(t for _, t in per_check.values())
    print(
        f"\n## {title}: {len(cases)} transcripts, per-check agreement {agree}/{total}"
        f" = {agree / total:.1%}"
    )
    for check_id, (a, t) in per_check.items():
        print(f"  {check_id:32s} {a:2d}/{t:2d}  {a / t:6.1%}")
    blockers = sum(
        set(c.blockers_failed) == x.blockers_failed for x, c in zip(cases, cards, strict=True)
    )
    passed = sum(c.passed == x.passed for x, c in zip(cases, cards, strict=True))
    print(f"  blockers_failed exact: {blockers}/{len(cases)}   passed: {passed}/{len(cases)}")
    for miss in misses:
        print(f"  - {miss}")
    return agree / total


def session(turns: int) -> Transcript:
    """A synthetic session of `turns` distinct messages: the labelled transcripts'
    messages one after another (the embedder sees new text every turn)."""
    source = [m for case in load() for m in case.transcript.messages]
    return Transcript(
        messages=tuple(
            Message(id=f"m{i}", role=m.role, text=m.text) for i, m in enumerate(source[:turns])
        )
    )


async def timing(scorer: RulesScorer, repetitions: int) -> dict[str, dict[str, float]]:
    """p50/p95 ms of `scorer.score` on 10- and 40-turn sessions (one warm-up each)."""
    rubric = BUILT_IN_RUBRICS.latest("fi-office")
    result: dict[str, dict[str, float]] = {}
    for turns in (10, 40):
        transcript = session(turns)
        await scorer.score(rubric, transcript)
        samples = []
        for _ in range(repetitions):
            t0 = time.perf_counter()
            await scorer.score(rubric, transcript)
            samples.append((time.perf_counter() - t0) * 1000)
        samples.sort()
        p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
        result[f"{turns}_turns"] = {
            "p50_ms": round(statistics.median(samples), 1),
            "p95_ms": round(p95, 1),
            "n": repetitions,
        }
    return result


async def agreement_summary(scorer: RulesScorer) -> dict[str, object]:
    """Per-check agreement over all transcripts and the held-out ones, for the bench."""
    rubric = BUILT_IN_RUBRICS.latest("fi-office")
    cases = load()
    cards = [await scorer.score(rubric, c.transcript) for c in cases]
    out: dict[str, object] = {}
    for label, chosen in (
        ("all", range(len(cases))),
        ("held_out", [i for i, c in enumerate(cases) if c.held_out]),
    ):
        picked = [cases[i] for i in chosen]
        per_check, _ = agreement(picked, [cards[i] for i in chosen])
        agree = sum(a for a, _ in per_check.values())
        total = sum(t for _, t in per_check.values())
        out[label] = {
            "transcripts": len(picked),
            "per_check": round(agree / total, 3),
            "blockers_exact": sum(
                set(cards[i].blockers_failed) == cases[i].blockers_failed for i in chosen
            ),
        }
    return out


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sweep", action="store_true")
    parser.add_argument("--repetitions", type=int, default=30)
    args = parser.parse_args()
    cases = load()
    rubric = BUILT_IN_RUBRICS.latest("fi-office")
    e5 = E5Embedder()
    memo = MemoEmbedder(e5)
    tuning = [c for c in cases if not c.held_out]
    held = [c for c in cases if c.held_out]
    if args.sweep:
        print("## threshold sweep on the tuning set (positive threshold / forbidden threshold)")
        for threshold in (0.88, 0.9, 0.91, 0.92, 0.93, 0.94, 0.95, 0.97, 1.01):
            for forbidden in (0.92, 0.94, 0.96, None):
                scorer = RulesScorer(
                    spans=sentence_spans,
                    embedder=memo,
                    threshold=threshold,
                    forbidden_threshold=forbidden,
                )
                cards = [await scorer.score(rubric, c.transcript) for c in tuning]
                per_check, _ = agreement(tuning, cards)
                agree = sum(a for a, _ in per_check.values()) / sum(
                    t for _, t in per_check.values()
                )
                blockers = sum(
                    set(c.blockers_failed) == x.blockers_failed
                    for x, c in zip(tuning, cards, strict=True)
                )
                print(
                    f"  {threshold:.2f} / {forbidden}: {agree:.1%}"
                    f"  blockers {blockers}/{len(tuning)}"
                )
    scorer = RulesScorer(spans=sentence_spans, embedder=memo)
    print(f"thresholds: {scorer.threshold} / {scorer.forbidden_threshold}")
    report("tuning set", tuning, [await scorer.score(rubric, c.transcript) for c in tuning])
    report("held out", held, [await scorer.score(rubric, c.transcript) for c in held])
    report("all", cases, [await scorer.score(rubric, c.transcript) for c in cases])
    no_embedder = RulesScorer(spans=sentence_spans, embedder=None)
    report(
        "all, patterns only (no embedder)",
        cases,
        [await no_embedder.score(rubric, c.transcript) for c in cases],
    )
    print("\n## rules scoring time per session (real e5 embedder, no memo)")
    times = await timing(RulesScorer(spans=sentence_spans, embedder=e5), args.repetitions)
    for turns, row in times.items():
        print(
            f"  {turns}: p50 {row['p50_ms']:7.1f} ms   p95 {row['p95_ms']:7.1f} ms   (n={row['n']})"
        )


if __name__ == "__main__":
    asyncio.run(main())
