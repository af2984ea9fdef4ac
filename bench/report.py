"""The Markdown report and PNG plots of a bench run, and py-spy profile summaries."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from bench.phases.scoring import section as scoring_section
from bench.phases.speech import section as speech_section
from bench.phases.voice import section as voice_section
from bench.retrieval import report as retrieval_report

TARGETS: dict[str, tuple[str, float, str]] = {
    "cached_throughput_ratio": (">=", 0.25, "cached search ÷ hello-world throughput"),
    "cached_p99_ms": ("<=", 10.0, "cached search p99 at half saturation (ms)"),
    "uncached_over_cached": (">=", 10.0, "uncached ÷ cached p50 latency"),
    "upload_ack_p99_ms": ("<=", 50.0, "5 MB upload ack p99 while ingesting (ms)"),
    "calls_saved": (">=", 0.70, "embedder + vector-store calls saved, Zipf replay"),
    "hit_rate": (">=", 0.0, "retrieval cache hit rate, Zipf replay"),
    "pipeline_over_embedder": (">=", 0.90, "pipeline ÷ embedder chunks/s"),
    "limiter_overhead_p50_ms": ("<=", 0.5, "rate-limit check overhead p50 (ms)"),
    "llm_ttft_p50_s": ("<=", 5.0, "1.5B chat model, first token of a training answer p50 (s)"),
    "retrieval_mrr_at_10": (">=", 0.80, "retrieval MRR@10, labelled F&I set, defaults"),
    "retrieval_spanish_mrr_at_10": (">=", 0.75, "retrieval MRR@10, Spanish questions"),
    # Scored in the background after "End session": within 5 s the scorecard is ready
    # by the time the trainee's browser asks for it.
    "scoring_p95_ms_40_turns": ("<=", 5000.0, "rules scoring of a 40-turn session p95 (ms)"),
    # Issue 20 asks for these measured, with no goal: shown with "(no target)".
    "stt_rtf_p50_short": ("<=", 0.0, "STT real-time factor p50, a ~4 s turn (faster-whisper base)"),
    "stt_rtf_p50_long": ("<=", 0.0, "STT real-time factor p50, a ~20 s turn"),
    "tts_piper_first_audio_p50_s": ("<=", 0.0, "Piper, first sentence's audio p50 (s)"),
    "tts_piper_rtf_p50": ("<=", 0.0, "Piper real-time factor p50"),
    "tts_espeak_first_audio_p50_s": ("<=", 0.0, "espeak-ng, first sentence's audio p50 (s)"),
    "tts_espeak_rtf_p50": ("<=", 0.0, "espeak-ng real-time factor p50"),
    "voice_turn_p50_s_extractive": (
        "<=",
        0.0,
        "voice turn, stopped speaking → first audio p50 (s), extractive model",
    ),
    "voice_turn_p95_s_extractive": ("<=", 0.0, "the same, p95 (s)"),
    "voice_turn_p50_s_local": (
        "<=",
        0.0,
        "voice turn, stopped speaking → first audio p50 (s), local generative model",
    ),
    "voice_turn_p95_s_local": ("<=", 0.0, "the same, p95 (s)"),
}
_NO_TARGET = {
    "hit_rate",
    "stt_rtf_p50_short",
    "stt_rtf_p50_long",
    "tts_piper_first_audio_p50_s",
    "tts_piper_rtf_p50",
    "tts_espeak_first_audio_p50_s",
    "tts_espeak_rtf_p50",
    "voice_turn_p50_s_extractive",
    "voice_turn_p95_s_extractive",
    "voice_turn_p50_s_local",
    "voice_turn_p95_s_local",
}

_IDLE = {"Condition.wait", "wait", "select", "poll", "_worker", "run_forever"}
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]+)(?::\d+)?\)$")


def summarise_profile(path: Path, top: int = 15) -> dict[str, Any]:
    """Self and inclusive sample shares from py-spy's raw (collapsed stack) output."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [_short(f) for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        if not frames or frames[-1].split(" (")[0] in _IDLE:
            continue
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    ours = {f: c for f, c in inclusive.items() if "avataradam" in f}
    return {
        "samples": total,
        "raw_file": str(path),
        "top_self": [(f, round(c / total, 4)) for f, c in own.most_common(top)] if total else [],
        "top_inclusive_ours": sorted(
            ((f, round(c / total, 4)) for f, c in ours.items()), key=lambda x: -x[1]
        )[:top]
        if total
        else [],
    }


def _short(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    file = match.group("file")
    for marker in ("site-packages/", "src/", "lib/python3.11/"):
        if marker in file:
            file = file.split(marker, 1)[1]
            break
    return f"{match.group('func')} ({file})"


def _cdf(ax: Any, series: dict[str, np.ndarray], title: str) -> None:
    for label, values in series.items():
        if values is None or len(values) == 0:
            continue
        data = np.sort(np.asarray(values, dtype=float))
        ax.plot(data, np.arange(1, data.size + 1) / data.size, label=f"{label} (n={data.size})")
    ax.set_xscale("log")
    ax.set_xlabel("latency (ms, log)")
    ax.set_ylabel("fraction of requests ≤ x")
    ax.set_title(title)
    ax.grid(visible=True, which="both", alpha=0.3)
    ax.legend()


def _plots(samples: dict[str, Any], out_dir: Path, name: str) -> list[tuple[str, str]]:
    made: list[tuple[str, str]] = []

    def save(fig: Any, key: str, caption: str) -> None:
        file = f"{name}-{key}.png"
        fig.tight_layout()
        fig.savefig(out_dir / file, dpi=110)
        plt.close(fig)
        made.append((file, caption))

    if "half_saturation" in samples:
        fig, ax = plt.subplots(figsize=(7, 4))
        _cdf(ax, samples["half_saturation"], "Open loop at 50% of cached-search saturation")
        save(fig, "half-saturation", "Cached search vs hello world, same fixed rate")
    if "low_rate" in samples:
        fig, ax = plt.subplots(figsize=(7, 4))
        _cdf(ax, samples["low_rate"], "Cached vs uncached search, same low fixed rate")
        save(fig, "uncached", "Uncached (cache disabled) vs cached search")
    if "zipf" in samples:
        fig, ax = plt.subplots(figsize=(7, 4))
        _cdf(ax, samples["zipf"], "Zipf(1.1) replay over two instances")
        save(fig, "zipf", "Zipf replay latency, cache on vs off")
    if "limiter" in samples:
        fig, ax = plt.subplots(figsize=(7, 4))
        _cdf(ax, samples["limiter"], "Cached search use case, with/without limit check")
        save(fig, "limiter", "Rate limiter cost (in-process)")
    if "limiter_http" in samples:
        fig, ax = plt.subplots(figsize=(7, 4))
        _cdf(ax, samples["limiter_http"], "Cached search over HTTP, rate limiting on/off")
        save(fig, "limiter-http", "Rate limiter cost over HTTP")
    if "upload" in samples:
        fig, ax = plt.subplots(figsize=(7, 4))
        _cdf(ax, {"upload 202 (5 MB PDF, worker busy)": samples["upload"]["ack"]}, "Upload ack")
        ax.axvline(
            samples["upload"]["sync_ms"], color="red", linestyle="--", label="sync processing"
        )
        ax.legend()
        save(fig, "upload", "Upload acknowledgement vs synchronous processing time (red)")
    if "llm" in samples:
        fig, ax = plt.subplots(figsize=(7, 4))
        _cdf(
            ax,
            {f"{kind} KV cache": values for kind, values in samples["llm"].items()},
            "1.5B chat model: time to first token of a training answer",
        )
        save(fig, "llm", "Time to first token, system prompt's KV cache reused (warm) vs not")
    if "vectors" in samples:
        fig, ax = plt.subplots(figsize=(7, 4))
        sizes = sorted(samples["vectors"])
        ax.boxplot([samples["vectors"][s] for s in sizes], tick_labels=[f"{s:,}" for s in sizes])
        ax.set_yscale("log")
        ax.set_xlabel("chunks in the dealership's namespace")
        ax.set_ylabel("query latency (ms, log)")
        ax.set_title("Embedded PostgreSQL vector store, top-5 exact cosine")
        ax.grid(visible=True, alpha=0.3)
        save(fig, "vectors", "Vector store query latency by size")
    return made


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def _verdict(key: str, value: float | None) -> str:
    if value is None:
        return "not measured"
    op, target, _ = TARGETS[key]
    if key in _NO_TARGET:
        return "(no target)"
    ok = value >= target if op == ">=" else value <= target
    return ("meets" if ok else "MISSES") + f" {op} {target:g}"


def _llm_section(llm: dict[str, Any] | None) -> list[str]:
    if not llm:
        return []
    head = ["### 10. Local chat model: time to first token and tokens/s", ""]
    if "skipped" in llm:
        return [*head, f"Skipped: {llm['skipped']}.", ""]

    def pct(d: dict[str, Any]) -> str:
        return f"{_fmt(d['p50'])} / {_fmt(d['p95'])} [{_fmt(d['min'])}–{_fmt(d['max'])}]"

    st = llm["settings"]
    lines = [
        *head,
        f"{llm['model']}; {llm['runtime']}; {st['parallel']} slots, {st['context_tokens']} "
        f"tokens of context, threads {st['threads']}, temperature {st['temperature']}, "
        f"replies capped at {st['max_tokens']} tokens; loaded in {llm['load_s']} s. "
        f"{llm['questions']} questions, each asked warm (passages cut), warm with whole "
        f"passages, and cold. Prompt: {llm['prompt']}.",
        "",
        "| KV cache | first token s p50 / p95 [min–max] | generation tok/s p50 / p95 | "
        "prompt tokens p50 [min–max] | reused | read | load average (1 min) p50 [min–max] |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, label in (
        ("warm", "system prompt reused"),
        ("whole", "reused, passages whole"),
        ("cold", "changed prefix"),
    ):
        d = llm.get(kind)
        if d is None:
            continue
        lines.append(
            f"| {label} | {pct(d['ttft_s'])} | {_fmt(d['generation_tps']['p50'])} / "
            f"{_fmt(d['generation_tps']['p95'])} | {_fmt(d['prompt_tokens']['p50'])} "
            f"[{_fmt(d['prompt_tokens']['min'])}–{_fmt(d['prompt_tokens']['max'])}] | "
            f"{_fmt(d['reused_tokens']['p50'])} | {_fmt(d['read_tokens']['p50'])} | "
            f"{_fmt(d['load_1m']['p50'])} [{_fmt(d['load_1m']['min'])}–"
            f"{_fmt(d['load_1m']['max'])}] |"
        )
    met = "met" if llm["goal_met"] else "NOT met"
    lines += [
        "",
        f"Cold ÷ warm first-token p50: **{llm['cold_over_warm_ttft_p50']}**; whole "
        f"passages ÷ cut: **{llm.get('whole_over_warm_ttft_p50', '—')}**. Goal p50 ≤ "
        f"{llm['goal_ttft_p50_s']} s with the cache reused: **{met}** on {llm['cpu_count']} "
        "cores at the load above.",
        "",
    ]
    return lines


def write(document: dict[str, Any], samples: dict[str, Any], out_dir: Path, name: str) -> Path:
    plots = _plots(samples, out_dir, name)
    s = document["summary"]
    m, v = document["machine"], document["versions"]
    lines = [
        f"# AvatarAdam benchmark — {name}",
        "",
        f"Mode **{document.get('mode')}**, {document.get('duration_s')} s, started "
        f"{document.get('started_at')}, commit `{v.get('git_commit')}`. Machine: {m['cores']} "
        f"cores, {m['cpu_model']}; Python {m['python']}. Reproduce: `just bench` "
        "(or `just bench-quick`, `just bench-search`, `just bench-ingest`, `just bench-llm`, "
        "`just bench-retrieval`, `just bench-speech`).",
        "",
        "Every figure is a ratio or distribution against a baseline measured in the same run; "
        "repeated measurements show median [min–max].",
        "",
        "## Summary",
        "",
        "| key | value | target | |",
        "|---|---|---|---|",
    ]
    for key, (_, _, label) in TARGETS.items():
        lines.append(f"| `{key}` — {label} | {_fmt(s.get(key))} | {_verdict(key, s.get(key))} | |")
    lines += ["", "## Details", ""]

    def rng(d: dict[str, Any] | None) -> str:
        if not d:
            return "—"
        return f"{_fmt(d['median'])} [{_fmt(d['min'])}–{_fmt(d['max'])}] (n={d['n']})"

    srv = document.get("servers")
    if srv:
        lines += [
            "### 1–2. Servers, hello world and cached search (wrk, closed loop, 32 connections)",
            "",
            "The floor is the same API with one route doing only its authentication, one "
            "rate-limit call to Redis and one PostgreSQL statement.",
            "",
            "| server | hello req/s | floor req/s | cached search req/s | search ÷ hello "
            "| search ÷ floor |",
            "|---|---|---|---|---|---|",
        ]
        for server, d in srv["by_server"].items():
            lines.append(
                f"| {server} | {rng(d['hello_rps'])} | {rng(d.get('floor_rps'))} | "
                f"{rng(d['cached_search_rps'])} | {rng(d['cached_over_hello'])} | "
                f"{rng(d.get('cached_over_floor'))} |"
            )
        lines += [
            "",
            f"Faster on cached search: **{srv['faster_on_cached_search']}**; on hello world: "
            f"**{srv['faster_on_hello']}**."
            + (
                f" Granian ÷ uvicorn: hello {srv['granian_over_uvicorn_hello']}, cached "
                f"search {srv['granian_over_uvicorn_search']}."
                if "granian_over_uvicorn_hello" in srv
                else " (Quick mode: Granian only.)"
            ),
            "",
        ]
    cs = document.get("cached_search", {}).get("fixed_rate")
    if cs:
        lines += [
            f"Open loop at {cs['rate_rps']} req/s (50% of cached-search saturation), "
            f"{cs['duration_s']} s per run:",
            "",
            "| endpoint | p50 ms | p99 ms |",
            "|---|---|---|",
        ]
        for k in cs["p50_ms"]:
            lines.append(f"| {k} | {rng(cs['p50_ms'][k])} | {rng(cs['p99_ms'][k])} |")
        lines.append("")
    un = document.get("uncached_search")
    if un:
        lines += [
            "### 3. Uncached search (AVATARADAM_CACHE_ENABLED=false)",
            "",
            f"Open loop at {un['rate_rps']} req/s over {un.get('questions')} distinct "
            "questions; uncached "
            f"saturation {un['uncached_saturation_rps']} req/s (wrk, 8 connections).",
            "",
            "| | p50 ms | p99 ms |",
            "|---|---|---|",
        ]
        for k in un["p50_ms"]:
            lines.append(f"| {k} | {rng(un['p50_ms'][k])} | {rng(un['p99_ms'][k])} |")
        lines += ["", f"uncached ÷ cached p50: {rng(un['uncached_over_cached_p50'])}", ""]
    z = document.get("zipf")
    if z:
        on, off = z["cache_on"], z["cache_off"]
        lines += [
            "### 4. Zipf(1.1) replay, two instances sharing Redis",
            "",
            f"{z['queries']} queries over {z['distinct_questions']} questions "
            f"({z['distinct_drawn']} drawn) across {z['dealerships']} dealerships, "
            f"{z['concurrency']} concurrent clients alternating between the instances.",
            f"Counting: {z['counting']}.",
            "",
            f"Hit rate **{z['hit_rate']}**; calls saved **{z['calls_saved']}** (embedder "
            f"{z['embedder_calls_saved']}, vector store {z['vector_calls_saved']}).",
            "",
            "| | mean ms | p50 ms | p99 ms | req/s |",
            "|---|---|---|---|---|",
            *(
                f"| cache {k} | {r['mean_ms']} | {r['p50_ms']} | {r['p99_ms']} | "
                f"{r['throughput_rps']} |"
                for k, r in (("on", on), ("off", off))
            ),
            "",
            f"Mean latency off ÷ on: {z['mean_latency_off_over_on']}"
            + (
                f" (cache off: the first {z['cache_off_queries']} draws of the same sequence;"
                " every request computes, so the mean needs no more)."
                if "cache_off_queries" in z
                else "."
            ),
            "",
        ]
    up = document.get("upload")
    if up:
        ack = up["ack"]
        lines += [
            "### 5. Upload acknowledgement (5 MB PDF) while the worker ingests",
            "",
            f"{up['uploads']} uploads at {up['rate_per_s']}/s (open loop), statuses "
            f"{up['statuses']}; {up['worker_busy']}.",
            "",
            f"Ack p50 {ack['p50_ms']} ms, p99 {ack['p99_ms']} ms, max {ack['max_ms']} ms "
            f"(p50 by half: {rng(up['ack_p50_ms_by_half'])}). Synchronous processing of the same "
            f"document in-process: {rng(up['sync_processing_s'])} s — {up['sync_over_ack_p50']}× "
            "the ack p50.",
            "",
        ]
    ing = document.get("ingestion")
    if ing:
        lines += [
            "### 6. Ingestion throughput",
            "",
            f"{ing['document']}. Pipeline: {ing['pipeline']}. Embedder: {ing['embedder']}.",
            "",
            f"Pipeline {rng(ing['pipeline_chunks_per_s'])} chunks/s; embedder alone "
            f"{rng(ing['embedder_chunks_per_s'])} chunks/s; ratio "
            f"**{rng(ing['pipeline_over_embedder'])}**. Runs: {ing['runs']}.",
            "",
        ]
    rl = document.get("rate_limiter")
    if rl:
        lines += [
            "### 7. Rate limiter cost",
            "",
            f"Mode: {rl['mode']}; HTTP settings found: {rl['http_settings_found'] or 'none'}. "
            f"{rl['samples_each']} alternating samples each.",
            "",
            f"Cached search use case p50 {rl['search_p50_ms']} ms / p99 {rl['search_p99_ms']} ms; "
            f"with the check p50 {rl['limited_search_p50_ms']} / "
            f"p99 {rl['limited_search_p99_ms']}. Overhead p50 **{rl['overhead_p50_ms']} ms** "
            f"(by block {rng(rl['overhead_p50_ms_by_block'])}), "
            f"p99 {rl['overhead_p99_ms']} ms; the check alone p50 {rl['check_p50_ms']} / "
            f"p99 {rl['check_p99_ms']} ms.",
            "",
        ]
    rh = document.get("rate_limiter_http")
    if rh:
        lines += [
            f"Over HTTP ({rh['mode']}), open loop at {rh['rate_rps']} req/s, statuses "
            f"{rh['statuses']}:",
            "",
            "| | p50 ms | p99 ms |",
            "|---|---|---|",
        ]
        for k in rh["p50_ms"]:
            lines.append(f"| {k} | {rng(rh['p50_ms'][k])} | {rng(rh['p99_ms'][k])} |")
        lines += [
            "",
            f"Overhead p50 **{rng(rh['overhead_p50_ms'])} ms**, "
            f"p99 {rng(rh['overhead_p99_ms'])} ms.",
            "",
        ]
    vs = document.get("vector_scaling")
    if vs:
        lines += [
            "### 8. Vector store scaling",
            "",
            f"{vs['store']}; synthetic unit vectors, 384-d, top-5.",
            "",
            "| chunks | insert s | p50 ms | p99 ms | p50 ÷ 1k |",
            "|---|---|---|---|---|",
        ]
        for size, d in vs["by_size"].items():
            lines.append(
                f"| {int(size):,} | {d['insert_s']} | {rng(d['p50_ms'])} | {d['p99_ms']} | "
                f"{d['p50_over_1k']} |"
            )
        lines.append("")
    rs = document.get("restart")
    if rs:
        lines += [
            "### 9. Restart to ready (seconds from the spawn of the process)",
            "",
            f"Embedder: {rs['embedder']}.",
            "",
            "| process | listening / says ready | ready / takes its first task | gap |",
            "|---|---|---|---|",
            f"| API (`/health/live` 200, `/health/ready` 200) | {rng(rs['api']['listening_s'])} "
            f"| {rng(rs['api']['ready_s'])} | |",
            f"| worker (logs ready, takes a waiting document) | {rng(rs['worker']['ready_s'])} "
            f"| {rng(rs['worker']['first_task_s'])} | "
            f"{rng(rs['worker']['first_task_after_ready_s'])} |",
            "",
        ]
    lines += _llm_section(document.get("llm"))
    lines += retrieval_report.section(document.get("retrieval"))
    lines += scoring_section(document.get("scoring"))
    lines += speech_section(document.get("speech"))
    lines += voice_section(document.get("voice"))
    prof = document.get("profile")
    if prof and prof.get("top_self"):
        lines += [
            "### Profile: API process under cached-search saturation (py-spy, self time)",
            "",
            "| function | share of samples |",
            "|---|---|",
        ]
        lines += [f"| `{f}` | {share:.1%} |" for f, share in prof["top_self"]]
        lines += ["", "Inclusive share of our own frames:", ""]
        lines += [f"- `{f}` {share:.1%}" for f, share in prof["top_inclusive_ours"]]
        lines.append("")
    if document.get("errors"):
        lines += ["## Phases that failed", ""]
        for phase, text in document["errors"].items():
            lines += [f"### {phase}", "", "```", text, "```", ""]
    if plots:
        lines += ["## Plots", ""]
        lines += [f"### {caption}\n\n![{caption}]({file})\n" for file, caption in plots]
    lines += ["## Versions", "", ", ".join(f"{k} {val}" for k, val in v.items()), ""]
    path = out_dir / f"{name}.md"
    path.write_text("\n".join(lines))
    return path
