"""Alert rules, their unit tests, the dashboard and the log shipper config are valid and
only reference metrics that `Metrics` defines. That real work emits every one of them
is tests/integration/test_metrics_scrape.py's part."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tomllib

import pytest
import yaml
from prometheus_client import CollectorRegistry

from avataradam.adapters.observability.metrics import Metrics
from tests.support.deploy_metrics import (
    ALERTS,
    DASHBOARD,
    DEPLOY,
    METRIC_NAME,
    ROOT,
    alert_rules,
    dashboard_exprs,
    referenced_metric_names,
    unemitted,
)

ALERTS_TEST = DEPLOY / "prometheus" / "alerts_test.yml"
VECTOR = DEPLOY / "vector" / "vector.toml"
RUNBOOK = ROOT / "docs" / "operations.md"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "gauge": ("",),
}


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        if IN_CI:
            pytest.fail("promtool is missing and CI=true forbids skipping: ops/install-promtool.sh")
        pytest.skip("promtool is not installed (ops/install-promtool.sh)")
    return path


def exposed_series_names() -> set[str]:
    """Every series name the scraper can see, e.g. `x_total`, `y_bucket`, `z`."""
    registry = CollectorRegistry()
    Metrics(registry)
    return {
        family.name + suffix for family in registry.collect() for suffix in _SUFFIXES[family.type]
    }


def test_alert_rules_pass_promtool_check() -> None:
    result = subprocess.run(
        [promtool(), "check", "rules", str(ALERTS)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_unit_tests_pass_promtool_test() -> None:
    result = subprocess.run(
        [promtool(), "test", "rules", str(ALERTS_TEST)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ALERTS_TEST.parent,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_is_tested_firing_and_silent() -> None:
    tests = yaml.safe_load(ALERTS_TEST.read_text())["tests"]
    firing: set[str] = set()
    silent: set[str] = set()
    for case in tests:
        for check in case.get("alert_rule_test", []):
            (firing if check.get("exp_alerts") else silent).add(check["alertname"])

    alerts = {rule["alert"] for rule in alert_rules() if "alert" in rule}
    assert alerts - firing == set(), "alerts never tested firing"
    assert alerts - silent == set(), "alerts never tested silent"


def test_alerts_reference_only_metrics_defined_by_metrics_class() -> None:
    referenced = {name for rule in alert_rules() for name in METRIC_NAME.findall(rule["expr"])}

    assert referenced, "the alert rules reference no avataradam metric at all?"
    assert referenced - exposed_series_names() == set()


def test_dashboard_references_only_metrics_defined_by_metrics_class() -> None:
    referenced = {name for expr in dashboard_exprs() for name in METRIC_NAME.findall(expr)}

    assert len(referenced) >= 20
    assert referenced - exposed_series_names() == set()


def test_the_parsed_names_include_panels_and_alerts_of_every_kind() -> None:
    """The emission test covers what this parser finds: it must find the dashboard's
    histogram buckets, the alerts' counters and the gauges of both."""
    used = referenced_metric_names()

    assert (
        "deploy/grafana/dashboards/avataradam.json"
        in used["avataradam_ingestion_stage_duration_seconds_bucket"]
    )
    assert "deploy/prometheus/alerts.yml" in used["avataradam_documents_failed_total"]
    assert used["avataradam_worker_heartbeat_timestamp_seconds"] == {
        "deploy/prometheus/alerts.yml",
        "deploy/grafana/dashboards/avataradam.json",
    }


def test_a_name_counts_as_emitted_only_once_work_moved_it(registry: CollectorRegistry) -> None:
    """Given fresh metrics, labelless counters and histograms are exposed at 0: not
    emitted. A gauge's 0 is a value. A counter once incremented, a histogram once
    observed, are emitted."""
    metrics = Metrics(registry)
    metrics.db_replica_lag.set(0)
    names = [
        "avataradam_db_replica_fallbacks_total",
        "avataradam_db_replica_lag_seconds",
        "avataradam_task_duration_seconds_bucket",
        "avataradam_http_requests_total",
    ]

    before = unemitted(names, registry.collect())
    metrics.db_replica_fallbacks.inc()
    metrics.task_duration.labels(actor="ingest_document").observe(0.2)
    after = unemitted(names, registry.collect())

    assert before == {
        "avataradam_db_replica_fallbacks_total": "a counter exposed but never incremented/observed",
        "avataradam_http_requests_total": "no sample at all",
        "avataradam_task_duration_seconds_bucket": "no sample at all",
    }
    assert after == {"avataradam_http_requests_total": "no sample at all"}


def test_the_metric_name_check_catches_a_typo() -> None:
    assert {"avataradam_http_request_total"} - exposed_series_names() != set()
    assert {"avataradam_http_requests_total"} - exposed_series_names() == set()


def test_dashboard_has_the_operational_panels_and_unique_ids() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    panels = dashboard["panels"]
    titles = " | ".join(panel["title"].lower() for panel in panels)
    ids = [panel["id"] for panel in panels]

    assert len(ids) == len(set(ids))
    for topic in (
        "latency p50 / p95 / p99",
        "request rate",
        "error rate",
        "pool usage",
        "cache hit rate",
        "queue depth",
        "oldest message age",
        "ingestion failures",
        "external call latency",
        "llm tokens",
        "rate-limit",
    ):
        assert topic in titles, topic
    assert dashboard["uid"] == "avataradam-overview"


def test_every_alert_has_a_runbook_section() -> None:
    runbook = RUNBOOK.read_text().lower()
    for rule in alert_rules():
        name = rule["alert"]
        assert f"### {name.lower()}" in runbook, name
        assert rule["annotations"]["runbook"] == f"docs/operations.md#{name.lower()}"


def test_every_alert_links_the_dashboard_panel_that_shows_its_metrics() -> None:
    """The `dashboard` annotation (and the runbook's "Panel:" line) opens a panel that
    plots a metric the alert's expression reads."""
    dashboard = json.loads(DASHBOARD.read_text())
    panels = {panel["id"]: panel for panel in dashboard["panels"]}
    runbook = RUNBOOK.read_text()
    for rule in alert_rules():
        link = rule["annotations"]["dashboard"]
        prefix = f"/d/{dashboard['uid']}/avataradam?viewPanel="
        assert link.startswith(prefix), rule["alert"]
        panel = panels[int(link.removeprefix(prefix))]
        plotted = " ".join(target["expr"] for target in panel["targets"])
        read = set(METRIC_NAME.findall(rule["expr"]))
        assert any(name in plotted for name in read), (rule["alert"], panel["title"])
        section = runbook.lower().split(f"### {rule['alert'].lower()}\n", 1)[1]
        expected = f'panel: "{panel["title"]}" (grafana `{link}`)'.lower()
        assert section.lstrip().startswith(expected), rule["alert"]


def test_grafana_provisioning_points_at_the_dashboard_and_datasources() -> None:
    provisioning = DEPLOY / "grafana" / "provisioning"
    dashboards = yaml.safe_load((provisioning / "dashboards" / "avataradam.yml").read_text())
    datasources = yaml.safe_load((provisioning / "datasources" / "avataradam.yml").read_text())

    assert dashboards["providers"][0]["type"] == "file"
    assert {source["uid"] for source in datasources["datasources"]} >= {"prometheus", "loki"}


def test_vector_config_ships_structured_logs_to_loki_with_bounded_labels() -> None:
    config = tomllib.loads(VECTOR.read_text())
    components = set(config["sources"]) | set(config.get("transforms", {}))

    loki = config["sinks"]["loki"]
    assert loki["type"] == "loki"
    for section in (*config.get("transforms", {}).values(), *config["sinks"].values()):
        assert set(section["inputs"]) <= components
    assert set(loki["labels"]) <= {"app", "service", "level", "host"}
    assert "parse_json" in config["transforms"]["avataradam_structured"]["source"]


def test_vector_config_passes_vector_validate_when_vector_is_installed() -> None:
    vector = shutil.which("vector")
    if vector is None:
        pytest.skip("vector is not packaged for Debian/PyPI/npm here (docs/operations.md)")
    result = subprocess.run(
        [vector, "validate", "--no-environment", str(VECTOR)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
