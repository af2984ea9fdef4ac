"""The alert drill's view of the shipped rules: scaling, coverage, imported history."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from ops.drills.alerting import (
    RULES,
    SECOND_THRESHOLDS,
    Rule,
    Timing,
    counter_history,
    duration,
    rules,
    scale_expression,
    scaled_rules,
    seconds,
)
from ops.drills.alerts import BY_NAME, HEALTHY, SCENARIOS, covered, settle_s
from tests.drills.clusters import require_alerting_tools


def test_durations_read_and_write_prometheus_units() -> None:
    assert [seconds(d) for d in ("250ms", "15s", "10m", "1h", "1d")] == [
        0.25,
        15.0,
        600.0,
        3600.0,
        86400.0,
    ]
    assert duration(0.0001) == "1ms"
    assert duration(90) == "90000ms"
    with pytest.raises(ValueError, match="not a Prometheus duration"):
        seconds("5 minutes")


def test_scale_one_runs_the_shipped_rules_unchanged() -> None:
    shipped = yaml.safe_load(RULES.read_text())
    assert scaled_rules(RULES.read_text(), 1.0) == shipped


def test_scaling_shrinks_windows_offsets_for_and_age_thresholds_only() -> None:
    expr = "rate(x[30m] offset 1d) / rate(x[5m]) > 600"

    assert scale_expression(expr, 0.1, threshold=True) == (
        "rate(x[180000ms] offset 8640000ms) / rate(x[30000ms]) > 60"
    )
    assert scale_expression(expr, 0.1, threshold=False).endswith("> 600")

    scaled = rules(0.1)
    assert scaled["AvatarAdamChatLatencyHigh"].for_s == pytest.approx(60)
    assert scaled["AvatarAdamChatLatencyHigh"].expr.rstrip().endswith("> 2"), "a latency"
    assert scaled["AvatarAdamQueueOldestMessageTooOld"].expr.rstrip().endswith("> 60")
    assert scaled["AvatarAdamIngestionFailures"].for_s == 0
    assert "[360000ms]" in scaled["AvatarAdamIngestionFailures"].expr
    assert set(scaled) >= SECOND_THRESHOLDS


@pytest.mark.parametrize("scale", [1.0, 0.1, 0.05])
def test_the_scaled_rule_file_passes_promtool(scale: float, tmp_path: Path) -> None:
    require_alerting_tools()
    path = tmp_path / "alerts.yml"
    path.write_text(yaml.safe_dump(scaled_rules(RULES.read_text(), scale)))

    checked = subprocess.run(
        ["promtool", "check", "rules", str(path)], capture_output=True, text=True, check=False
    )

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(rules(scale))} rules found" in checked.stdout


def test_every_shipped_alert_has_a_fault_and_the_healthy_stack_expects_none() -> None:
    assert covered(list(SCENARIOS)) == set(rules(1.0))
    assert HEALTHY.expected == frozenset()
    assert len(BY_NAME) == len(SCENARIOS) + 1, "scenario names are unique"


def test_the_fire_bound_is_for_plus_evaluation_scrape_and_group_wait() -> None:
    rule = Rule("X", "up == 0", for_s=300)

    assert Timing(1.0).fire_bound_s(rule) == 300 + 15 + 15 + 30
    scaled = Rule("X", "up == 0", for_s=3)
    assert Timing(0.01).fire_bound_s(scaled) == pytest.approx(3 + 1 + 1 + 1), "intervals >= 1 s"
    oldest = rules(1.0)["AvatarAdamQueueOldestMessageTooOld"]
    assert settle_s(oldest, Timing(1.0)) == 600 + (300 + 15 + 15 + 30), "age + bound"
    latency = rules(1.0)["AvatarAdamChatLatencyHigh"]
    assert settle_s(latency, Timing(1.0)) == 300 + (600 + 15 + 15 + 30), "window + bound"


def test_imported_history_is_accepted_by_promtool(tmp_path: Path) -> None:
    require_alerting_tools()
    source = tmp_path / "history.om"
    source.write_text(
        counter_history(
            {'avataradam_cache_requests_total{cache="retrieval",result="hit"}': 0.9},
            start=1_700_000_000,
            end=1_700_000_600,
            step_s=15,
            labels={"job": "avataradam-api"},
        )
    )

    made = subprocess.run(
        ["promtool", "tsdb", "create-blocks-from", "openmetrics", str(source), str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )

    assert made.returncode == 0, made.stderr
    text = source.read_text()
    assert text.startswith("# TYPE avataradam_cache_requests counter\n")
    assert text.rstrip().endswith("# EOF")
    last = text.splitlines()[-2]
    assert last.endswith(" 540.000 1700000600.000"), "0.9/s over 600 s"
