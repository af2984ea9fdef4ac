"""The citation support threshold per embedder, measured on the labelled F&I set.

`domain.citations.check_citations` keeps a reply sentence's marker `[n]` when the
cosine similarity of the sentence's embedding with that of one of passage n's
sentences reaches the threshold: support(sentence, passage) = max over the passage's
sentences (`adapters.llm.sentences.sentences`, the product's segmenter) of the cosine,
both embedded with the deployment's `Embedder.embed`. This computes that score, for
every embedder in `EMBEDDERS`, over labelled pairs built from `bench/retrieval/`:

- the passages are the product's chunks: each document extracted by the product's
  extractor (Markdown) and split by `SemchunkChunker` sized by `passage_budget` for the
  embedder, with the default chunk size and overlap, as the ingestion worker does;
- a *claim* is a sentence of a chunk of a document an answerable question (of a set
  not `HELD_OUT`: the threshold is chosen on these pairs) names as
  relevant that holds one of the question's `answer_contains` phrases, and is a claim
  for the checker (at least `MIN_CLAIM_WORDS` words, not ending in "?" or ":");
  written three ways, as a reply might: `verbatim` (the sentence), `framed` ("Per our
  policy, <sentence>" / "Según nuestra política, <frase>") and `clause` (only the
  comma/semicolon/dash-separated part holding the phrase, when it is a claim itself
  and shorter than the sentence);
- SUPPORTED: a claim against the chunk it comes from (every chunk holding the sentence);
- UNSUPPORTED, `same document`: against each chunk of the same document that holds
  neither the sentence nor any of the question's phrases (the hard case: same topic,
  same words); `other document`: against every chunk of the documents the question
  does not name (nor their translation), and `other document, best`: per claim only the
  best-scoring such chunk (the worst case when the model cites a wrong passage).

`verbatim` scores 1 against its own chunk with any embedder (the sentence is one of the
passage's sentences), so the threshold is chosen on the other two: the highest one (on
a 0.01 grid) that keeps at least `KEEP` of the `framed` and `clause` supported pairs.
A few pairs are run through `check_citations` itself at the score ± 0.001 to check that
the score computed here is the checker's.

Run: `python -m bench.support` (`just bench-support`); writes
bench/results/<date>-support-threshold.md and prints it. A few minutes on two cores.
"""

from __future__ import annotations

import asyncio
import datetime
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from avataradam.adapters.chunking.budget import passage_budget
from avataradam.adapters.chunking.semchunk import SemchunkChunker
from avataradam.adapters.extract.composite import CompositeTextExtractor
from avataradam.adapters.llm.sentences import sentence_spans, sentences, unbreakable_spaces
from avataradam.domain.citations import MIN_CLAIM_WORDS, check_citations
from avataradam.domain.filetypes import MARKDOWN
from avataradam.domain.ports.services import GroundingPassage
from avataradam.entrypoints import factories
from avataradam.entrypoints.settings import load_settings
from bench.retrieval.metrics import comparable
from bench.retrieval.questions import DOCUMENTS, HELD_OUT, QUESTIONS

EMBEDDERS = ("local", "e5")
KEEP = 0.95
"""Share of supported citations (framed and clause) the chosen threshold must keep."""
TWINS = {
    "gap-policy.md": "politica-de-gap.md",
    "politica-de-gap.md": "gap-policy.md",
    "objection-handling.md": "manejo-de-objeciones.md",
    "manejo-de-objeciones.md": "objection-handling.md",
}
"""Documents that are one another's translation: never an "other document"."""
RESULTS = Path(__file__).resolve().parent / "results"
_WORD = re.compile(r"\w+")
_CLAUSES = re.compile(r"\s*(?:[,;]|\s[-–—]\s)\s*")
VARIANTS = ("verbatim", "framed", "clause")


@dataclass
class Claim:
    text: str
    variant: str
    document: str
    own: set[int]
    """Indices (in `Corpus.chunks`) of the chunks holding the claim's sentence."""
    unrelated_same: set[int] = field(default_factory=set)
    other: set[int] = field(default_factory=set)


@dataclass
class Corpus:
    chunks: list[tuple[str, str]]
    """(document, text) of every chunk."""
    claims: list[Claim]


def _is_claim(text: str) -> bool:
    return len(_WORD.findall(text)) >= MIN_CLAIM_WORDS and not text.endswith(("?", ":"))


def _framed(sentence: str, spanish: bool) -> str:
    head = sentence[:1].lower() if sentence[1:2].islower() else sentence[:1]
    frame = "Según nuestra política, " if spanish else "Per our policy, "
    return frame + head + sentence[1:]


def _clause(sentence: str, phrase: str) -> str | None:
    for part in _CLAUSES.split(sentence):
        if comparable(phrase) in comparable(part) and _is_claim(part) and part != sentence:
            return part.rstrip(".") + "."
    return None


def chunk_documents(embedder: object) -> tuple[list[tuple[str, str]], set[str]]:
    """(document, chunk text) of every document, chunked as the ingestion worker does,
    and the documents' whole sentences (`comparable`; a chunk may end mid-sentence)."""
    ingestion = load_settings({}, env_file=None).ingestion
    budget = passage_budget(embedder, ingestion.chunk_size_tokens)
    chunker = SemchunkChunker(
        chunk_size_tokens=budget.chunk_size_tokens,
        overlap=ingestion.chunk_overlap,
        token_counter=budget.token_counter,
        unbreakable=unbreakable_spaces,
    )
    extractor = CompositeTextExtractor.default()
    chunks: list[tuple[str, str]] = []
    whole: set[str] = set()
    for path in sorted(DOCUMENTS.glob("*.md")):
        sections = list(extractor.extract(path, MARKDOWN).sections)
        chunks += [(path.name, draft.text) for draft in chunker.split(sections)]
        whole |= {comparable(s) for section in sections for s in sentences(section.text)}
    return chunks, whole


def build_corpus(chunks: list[tuple[str, str]], whole: set[str]) -> Corpus:
    """The claims (`Claim`, three variants) and their labelled passages: only sentences
    whole in their chunk (a chunk's first or last may be cut)."""
    split = [[comparable(s) for s in sentences(text)] for _, text in chunks]
    claims: dict[tuple[str, str], Claim] = {}
    for question in (q for q in QUESTIONS if q.author not in HELD_OUT):  # threshold chosen here
        for phrase in question.answer_contains:
            wanted = comparable(phrase)
            for document, text in chunks:
                if document not in question.relevant:
                    continue
                for sentence in sentences(text):
                    if wanted not in comparable(sentence) or not _is_claim(sentence):
                        continue
                    if comparable(sentence) not in whole:
                        continue
                    spanish = document in ("politica-de-gap.md", "manejo-de-objeciones.md")
                    own = {i for i, found in enumerate(split) if comparable(sentence) in found}
                    excluded = set(question.relevant) | {TWINS.get(d, d) for d in question.relevant}
                    phrases = [comparable(p) for p in question.answer_contains]
                    same = {
                        i
                        for i, (d, t) in enumerate(chunks)
                        if d == document
                        and i not in own
                        and not any(p in comparable(t) for p in phrases)
                    }
                    other = {i for i, (d, _) in enumerate(chunks) if d not in excluded}
                    written = {
                        "verbatim": sentence,
                        "framed": _framed(sentence, spanish),
                        "clause": _clause(sentence, phrase),
                    }
                    for variant, claim_text in written.items():
                        if claim_text is None or (claim_text, document) in claims:
                            continue
                        claims[(claim_text, document)] = Claim(
                            claim_text, variant, document, own, same, other
                        )
    return Corpus(chunks, list(claims.values()))


async def scores(embed_name: str) -> dict[str, dict[str, list[float]]]:
    """Support scores per class (and per variant for the supported class)."""
    settings = load_settings({"AVATARADAM_EMBEDDER": embed_name}, env_file=None)
    embedder = factories.embedder(settings)
    chunks, whole = chunk_documents(embedder)
    corpus = build_corpus(chunks, whole)
    pieces = [list(sentences(text)) or [text] for _, text in chunks]
    texts = [p for ps in pieces for p in ps] + [c.text for c in corpus.claims]
    vectors = np.asarray(await embedder.embed(texts), dtype=np.float64)
    n_pieces = sum(len(ps) for ps in pieces)
    similarity = vectors[n_pieces:] @ vectors[:n_pieces].T
    bounds = np.cumsum([0] + [len(ps) for ps in pieces])
    support = np.stack(
        [similarity[:, bounds[i] : bounds[i + 1]].max(axis=1) for i in range(len(chunks))],
        axis=1,
    )
    found: dict[str, dict[str, list[float]]] = {
        "supported": {v: [] for v in VARIANTS},
        "unsupported": {"same document": [], "other document": [], "other document, best": []},
    }
    for row, claim in enumerate(corpus.claims):
        found["supported"][claim.variant] += [float(support[row, i]) for i in claim.own]
        same = found["unsupported"]["same document"]
        same += [float(support[row, i]) for i in claim.unrelated_same]
        others = [float(support[row, i]) for i in claim.other]
        found["unsupported"]["other document"] += others
        found["unsupported"]["other document, best"].append(max(others))
    await _agrees_with_checker(embedder.embed, chunks, corpus, support)
    print(
        f"{embed_name}: {len(chunks)} chunks, {len(corpus.claims)} claims "
        f"({', '.join(f'{v} {sum(c.variant == v for c in corpus.claims)}' for v in VARIANTS)})",
        file=sys.stderr,
    )
    return found


async def _agrees_with_checker(
    embed: object, chunks: list[tuple[str, str]], corpus: Corpus, support: np.ndarray
) -> None:
    """`check_citations` keeps `[1]` at score - 0.001 and drops it at score + 0.001."""
    for row in range(0, len(corpus.claims), max(len(corpus.claims) // 8, 1)):
        claim = corpus.claims[row]
        for index in sorted(claim.own)[:1] + sorted(claim.unrelated_same)[:1]:
            document, text = chunks[index]
            passage = GroundingPassage(marker=1, text=text, topic="policy", filename=document)
            score = float(support[row, index])
            reply = claim.text + " [1]"
            for delta, expected in ((-1e-3, (1,)), (1e-3, ())):
                checked = await check_citations(
                    reply,
                    [passage],
                    spans=sentence_spans,
                    sentences=sentences,
                    embed=embed,  # type: ignore[arg-type]
                    threshold=min(max(score + delta, -1.0), 1.0),
                )
                assert checked.cited == expected or score + delta > 1, (claim.text, score)


def _today() -> str:
    return datetime.datetime.now(datetime.UTC).date().isoformat()


def quantiles(values: Sequence[float]) -> list[float]:
    array = np.asarray(values)
    return [float(np.quantile(array, q)) for q in (0.0, 0.05, 0.5, 0.95, 1.0)]


def chosen_threshold(supported: Sequence[float]) -> float:
    """The highest threshold on a 0.01 grid that keeps at least `KEEP` of `supported`."""
    array = np.asarray(supported)
    best = 0.0
    for step in range(101):
        threshold = step / 100
        if (array >= threshold - 1e-12).mean() >= KEEP:
            best = threshold
    return best


def report(measured: dict[str, dict[str, dict[str, list[float]]]]) -> tuple[str, dict[str, float]]:
    lines = [
        f"# Citation support threshold per embedder ({_today()})",
        "",
        "`python -m bench.support` (`just bench-support`); see bench/support.py for how the",
        "labelled pairs are built. Score = support as `check_citations` computes it (max",
        "cosine of the claim with the passage's sentences). Chunks: the product's chunker.",
        "",
    ]
    chosen: dict[str, float] = {}
    for name, found in measured.items():
        hard = found["supported"]["framed"] + found["supported"]["clause"]
        threshold = chosen_threshold(hard)
        chosen[name] = threshold
        lines += [f"## {name}", "", "| class | pairs | min | p5 | p50 | p95 | max |"]
        lines.append("|---|---:|---:|---:|---:|---:|---:|")
        for kind, classes in found.items():
            for label, values in classes.items():
                row = " | ".join(f"{q:.3f}" for q in quantiles(values))
                lines.append(f"| {kind}: {label} | {len(values)} | {row} |")
        low = max(round(threshold - 0.1, 2), 0.0)
        candidates = sorted({round(low + k * 0.02, 2) for k in range(11)} | {0.5, threshold})
        lines += [
            "",
            "Kept = supported pairs (framed + clause) scoring ≥ t; caught = unsupported pairs",
            "scoring < t; precision of the 'unsupported' verdict at one supported citation per",
            "unsupported one of the same-document class = caught / (caught + dropped).",
            "",
            "| t | kept (framed+clause) | kept (clause) | kept (all) | caught: same doc "
            "| caught: other doc "
            "| caught: other doc, best | precision (same doc) |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        every = [v for vs in found["supported"].values() for v in vs]
        for t in candidates:
            kept = float(np.mean(np.asarray(hard) >= t))
            caught = {k: float(np.mean(np.asarray(v) < t)) for k, v in found["unsupported"].items()}
            same = caught["same document"]
            clause = float(np.mean(np.asarray(found["supported"]["clause"]) >= t))
            flagged = same + 1 - kept
            precision = f"{same / flagged:.1%}" if flagged > 0 else "–"
            mark = " **chosen**" if t == threshold else ""
            lines.append(
                f"| {t:.2f}{mark} | {kept:.1%} | {clause:.1%} "
                f"| {float(np.mean(np.asarray(every) >= t)):.1%} "
                f"| {same:.1%} | {caught['other document']:.1%} "
                f"| {caught['other document, best']:.1%} | {precision} |"
            )
        lines += [
            "",
            f"Highest threshold keeping ≥ {KEEP:.0%} of framed + clause: {threshold:.2f}",
            "",
        ]
    return "\n".join(lines), chosen


async def main() -> None:
    measured = {name: await scores(name) for name in EMBEDDERS}
    text, _ = report(measured)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{_today()}-support-threshold.md"
    path.write_text(text, encoding="utf-8")
    print(text)
    print(f"written to {path}", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())
