"""The Markdown section of a bench report for the retrieval evaluation
(`bench/phases/retrieval.py`): one row per method and question type over all the question
sets, then the same per author set (`bench/retrieval/questions.py`), split from the
per-question results."""

from __future__ import annotations

from typing import Any

from bench.retrieval.metrics import by_author
from bench.retrieval.questions import TYPES


def _cell(value: Any) -> str:
    return "—" if value is None else str(value)


def section(retrieval: dict[str, Any] | None) -> list[str]:
    """The report's lines for `document["retrieval"]` (none when it was not measured)."""
    if not retrieval:
        return []
    labelled = retrieval["set"]
    counts = ", ".join(f"{n} {kind}" for kind, n in labelled["questions"].items())
    lines = [
        "### 11. Retrieval quality on the labelled F&I set",
        "",
        f"{labelled['documents']} documents and {sum(labelled['questions'].values())} "
        f"questions ({counts}; three author sets, the first table is all together), "
        f"bench/retrieval/. Top {labelled['top_k']} per question from "
        f"SearchKnowledgeBase; {labelled['store']}. A hit is {labelled['hit']}. Overall is "
        "over the answerable types; p50 ms is the search call (query embedding included), "
        "embed p50 ms the query's embedding alone, p50 over the questions of each one's "
        f"fastest of {labelled['rounds']} rounds.",
        "",
        "| method | questions | hit@1 | hit@5 | MRR@10 | p50 ms | embed p50 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, method in retrieval["methods"].items():
        rows: list[tuple[str, dict[str, Any]]] = [(k, method["by_type"][k]) for k in TYPES]
        rows.append(("**overall**", method["overall"]))
        for kind, row in rows:
            lines.append(
                f"| {name} · {kind} | {row['questions']} | {_cell(row.get('hit_at_1'))} | "
                f"{_cell(row.get('hit_at_5'))} | {_cell(row.get('mrr_at_10'))} | "
                f"{_cell(row.get('p50_ms'))} | {_cell(row.get('embed_p50_ms'))} |"
            )
    lines += _per_author(retrieval["methods"])
    for name, method in retrieval["methods"].items():
        top = method["top1_score"]
        lines += [
            f"{name}: {method['description']}; {method['chunks']} passages from "
            f"{method['documents']} documents, ingested in {method['ingest_s']} s; "
            f"questions no stored passage answers: {len(method['unreachable_questions'])}; "
            f"load average (1 min) {method['load_1m']['before']} before the questions, "
            f"{method['load_1m']['after']} after, on {method['cpu_count']} cores.",
            "",
            "| top-1 cosine | n | min | p10 | p25 | p50 | p75 | p90 | max |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for label in ("answerable", "unanswerable"):
            q = top[label]
            lines.append(
                f"| {label} | {q['n']} | "
                + " | ".join(
                    _cell(q.get(k)) for k in ("min", "p10", "p25", "p50", "p75", "p90", "max")
                )
                + " |"
            )
        lines += [
            "",
            "| floor (top-1 below it: nothing returned) | unanswerable turned away | "
            "answerable turned away |",
            "|---|---|---|",
            *(
                f"| {f['floor']} | {f['unanswerable_refused']} | {f['answerable_refused']} |"
                for f in top["floors"]
            ),
            "",
        ]
        missed = [q for q in method["questions"] if q["type"] != "unanswerable" and not q["rank"]]
        if missed:
            lines += [
                f"{name}: answerable questions with no answering passage in the top "
                f"{labelled['top_k']} (top-1 document instead):",
                "",
                *(
                    f"- {q['type']} ({q.get('author', 'first')} set): {q['text']} "
                    f"({q['top_filename']})"
                    for q in missed
                ),
                "",
            ]
    return lines


def _per_author(methods: dict[str, Any]) -> list[str]:
    """The table of each method's numbers per author set and question type (a type the
    set has no question of: "—", not 0.0; the third set is Spanish only)."""
    lines = [
        "",
        "Per author set (first: questions by the documents' author; second: by an "
        "independent author who saw only the documents; third: Spanish only, by another "
        "independent author after the retrieval changes of 2026-12-01, never used to "
        "tune anything):",
        "",
        "| method · set · type | questions | hit@1 | hit@5 | MRR@10 |",
        "|---|---|---|---|---|",
    ]
    for name, method in methods.items():
        for author, split in by_author(method["questions"], TYPES).items():
            rows: list[tuple[str, dict[str, Any]]] = [(k, split["by_type"][k]) for k in TYPES]
            rows.append(("**overall**", split["overall"]))
            rows = [(k, row if row["questions"] else {"questions": 0}) for k, row in rows]
            lines += [
                f"| {name} · {author} · {kind} | {row['questions']} | "
                f"{_cell(row.get('hit_at_1'))} | {_cell(row.get('hit_at_5'))} | "
                f"{_cell(row.get('mrr_at_10'))} |"
                for kind, row in rows
            ]
    lines.append("")
    return lines
