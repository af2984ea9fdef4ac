"""The metric names that `deploy/` uses (the alert rules' and the Grafana dashboard's
expressions, parsed out of the files, never listed by hand) and that `Metrics` defines,
and what counts as such a name being emitted by a scrape."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric

from avataradam.adapters.observability.metrics import Metrics

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "avataradam.json"

METRIC_NAME = re.compile(r"\bavataradam_[a-zA-Z0-9_]+")
"""The project's own series; Prometheus's (`up`, `time()`) are not emitted by it."""


def alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(ALERTS.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def dashboard_exprs() -> Iterator[str]:
    """Every query of the dashboard: panel targets, and template variables'
    `definition`/`query` (a string, or an object holding one)."""

    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in {"expr", "definition"} and isinstance(value, str):
                    yield value
                elif key == "query" and isinstance(value, dict):
                    yield value.get("query", "")
                else:
                    yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    yield from walk(json.loads(DASHBOARD.read_text()))


def referenced_metric_names() -> dict[str, set[str]]:
    """Series name (`x_total`, `y_bucket`, `z`) -> the deploy files that use it."""
    used: defaultdict[str, set[str]] = defaultdict(set)
    for rule in alert_rules():
        for name in METRIC_NAME.findall(rule["expr"]):
            used[name].add(str(ALERTS.relative_to(ROOT)))
    for expr in dashboard_exprs():
        for name in METRIC_NAME.findall(expr):
            used[name].add(str(DASHBOARD.relative_to(ROOT)))
    return dict(used)


def defined_metric_names() -> set[str]:
    """One series name per metric that `Metrics` defines: `x_total` for a counter,
    `y_count` for a histogram, the name of a gauge."""
    registry = CollectorRegistry()
    Metrics(registry)
    suffix = {"counter": "_total", "histogram": "_count", "gauge": ""}
    return {family.name + suffix[family.type] for family in registry.collect()}


def unemitted(referenced: Iterable[str], families: Iterable[Metric]) -> dict[str, str]:
    """Each referenced series name that the scraped `families` (of one page or
    several) do not show as emitted, with the reason. Emitted means: a sample of that
    name exists, and for a counter some `_total` sample, for a histogram some `_count`
    sample, is above zero (a labelless counter or histogram is exposed at 0 before
    anything happened). A gauge only needs a sample: 0 is a true value for a gauge."""
    families_of_sample: defaultdict[str, list[Metric]] = defaultdict(list)
    for family in families:
        for name in {sample.name for sample in family.samples}:
            families_of_sample[name].append(family)
    missing: dict[str, str] = {}
    for name in sorted(referenced):
        found = families_of_sample.get(name, [])
        if not found:
            missing[name] = "no sample at all"
        elif not any(_emitted(family) for family in found):
            missing[name] = f"a {found[0].type} exposed but never incremented/observed"
    return missing


def _emitted(family: Metric) -> bool:
    if family.type not in {"counter", "histogram"}:
        return True
    suffix = "_total" if family.type == "counter" else "_count"
    return any(s.name == family.name + suffix and s.value > 0 for s in family.samples)
