"""deploy/k8s/: every kustomization renders; every rendered object is valid against the
Kubernetes OpenAPI schemas of `KUBERNETES_VERSION` (kubernetes-validate, strict: an
unknown field is an error) or, for KEDA's ScaledObject, against the standard fields of its
CRD (keda-scaledobject.schema.json beside this file); checkov's policies pass on what an
operator applies, or are waived on the object with a reason; and the manifests agree with
the application: commands its CLI accepts, settings it knows, metrics it exports, the
drain time it measures, the Secret keys the example names."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from avataradam import __version__
from avataradam.entrypoints.cli import WORK_QUEUES, _parser
from avataradam.entrypoints.settings import env_variable_names
from tests.deploy.support import (
    DEPLOYABLE,
    K8S,
    OVERLAYS,
    ROOT,
    Manifest,
    env_file,
    named,
    pod_specs,
    render,
    rendered_text,
    tool,
)
from tests.support.deploy_metrics import METRIC_NAME, defined_metric_names

KUBERNETES_VERSION = "1.32.0"
"""The API the manifests are written for: autoscaling/v2, policy/v1 and the preStop
`sleep` action (beta and on by default since 1.30) all validate against it."""
KEDA_SCHEMA = Path(__file__).with_name("keda-scaledobject.schema.json")
ADAPTER_CONFIG = K8S / "prometheus-adapter" / "config.yaml"
SECRETS_EXAMPLE = K8S / "secrets.env.example"
CONFIG_ENV = K8S / "base" / "config.env"
API_DRAIN_CAP_S = 30
"""The longest an API instance drains its requests in flight: uvicorn's
`timeout_graceful_shutdown` in `avataradam serve` (entrypoints/cli.py)."""
WORKER_EXIT_MARGIN_S = 10
"""Past the worker's drain deadline: Dramatiq's wait for interrupted tasks, the exit."""
CHECKOV_WAIVER = re.compile(r"^(CKV2?_K8S_\d+)=(.+)$", re.DOTALL)


def _validate(manifest: Manifest) -> None:
    if manifest["kind"] == "ScaledObject":
        schema = json.loads(KEDA_SCHEMA.read_text())
        jsonschema.Draft202012Validator(schema).validate(manifest)
    else:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_rendered_object_is_valid_for_its_schema(overlay: str) -> None:
    objects = render(overlay)
    assert objects, f"{overlay} rendered nothing"

    errors: dict[str, str] = {}
    for manifest in objects:
        try:
            _validate(manifest)
        except (jsonschema.ValidationError, kubernetes_validate.SchemaNotFoundError) as exc:
            errors[f"{manifest['kind']}/{manifest['metadata']['name']}"] = str(exc)[:500]

    assert errors == {}


@pytest.mark.parametrize(
    ("kind", "path", "field"),
    [
        ("Deployment", ["spec", "template", "spec", "containers", 0], "livenessprobe"),
        ("ScaledObject", ["spec", "triggers", 0, "metadata"], "serverAdress"),
    ],
)
def test_validation_rejects_a_misspelt_field(kind: str, path: list[Any], field: str) -> None:
    manifest = copy.deepcopy(next(o for o in render("overlays/keda") if o["kind"] == kind))
    node = manifest
    for step in path:
        node = node[step]
    node[field] = {} if kind == "Deployment" else "http://x"

    with pytest.raises(jsonschema.ValidationError):
        _validate(manifest)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_namespaced_object_is_in_the_application_namespace(overlay: str) -> None:
    outside = [
        f"{o['kind']}/{o['metadata']['name']}"
        for o in render(overlay)
        if o["kind"] != "Namespace" and o["metadata"].get("namespace") != "avataradam"
    ]
    assert outside == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_runs_hardened_with_requests_and_limits(overlay: str) -> None:
    for workload, spec in pod_specs(render(overlay)):
        name = workload["metadata"]["name"]
        assert spec["automountServiceAccountToken"] is False, name
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            assert context["runAsUser"] >= 10000, name
            for bound in ("requests", "limits"):
                assert set(container["resources"][bound]) == {"cpu", "memory"}, name
            assert container["image"] != "avataradam", f"{name}: the image was not set"
            # The root filesystem is read-only: /tmp is the one writable place.
            mounts = {m["mountPath"] for m in container["volumeMounts"]}
            assert mounts == {"/tmp"}, name  # noqa: S108 -- the manifests' mount point


def _command(container: Manifest) -> list[str]:
    return [*container.get("command", []), *container.get("args", [])]


def test_workloads_run_commands_the_cli_accepts() -> None:
    objects = render("base")
    commands = {
        workload["metadata"]["name"]: _command(spec["containers"][0])
        for workload, spec in pod_specs(objects)
    }
    assert set(commands) == {
        "avataradam-api",
        "avataradam-worker-ingest",
        "avataradam-worker-webhooks",
        "avataradam-migrate",
    }
    parsed = {}
    for name, command in commands.items():
        assert command[0] == "avataradam", name
        parsed[name] = _parser().parse_args(command[1:])

    assert parsed["avataradam-api"].command == "serve"
    assert parsed["avataradam-migrate"].command == "migrate"
    assert parsed["avataradam-worker-ingest"].queues == ["ingest"]
    assert parsed["avataradam-worker-webhooks"].queues == ["webhooks"]
    assert sorted(q for p in parsed.values() for q in (getattr(p, "queues", None) or [])) == (
        sorted(WORK_QUEUES)
    )


def test_api_is_probed_on_the_health_routes_and_stops_after_its_drain() -> None:
    api = named(render("base"), "Deployment")["avataradam-api"]
    spec = api["spec"]["template"]["spec"]
    [container] = spec["containers"]

    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert container["startupProbe"]["httpGet"]["path"] == "/health/live"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    # Readiness checks each dependency within 2 s (http/controllers/health.py).
    assert container["readinessProbe"]["timeoutSeconds"] > 2
    pre_stop_s = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert spec["terminationGracePeriodSeconds"] >= pre_stop_s + API_DRAIN_CAP_S


@pytest.mark.parametrize("name", ["avataradam-worker-ingest", "avataradam-worker-webhooks"])
def test_worker_grace_period_covers_its_drain_deadline(name: str) -> None:
    worker = named(render("base"), "Deployment")[name]
    drain_s = float(env_file(CONFIG_ENV)["AVATARADAM_WORKER_DRAIN_TIMEOUT_S"])
    grace_s = worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace_s == drain_s + WORKER_EXIT_MARGIN_S


def test_config_and_secret_references_name_real_settings_and_example_keys() -> None:
    settings = set(env_variable_names().values())
    config = env_file(CONFIG_ENV)
    assert {k for k in config if k.startswith("AVATARADAM_")} <= settings

    example = env_file(SECRETS_EXAMPLE)
    assert all("CHANGE_ME" in value for value in example.values()), "placeholders only"
    referenced: set[str] = set()
    for _, spec in pod_specs(render("base")):
        for container in spec["containers"]:
            for variable in container.get("env", []):
                assert variable["name"] in settings, variable["name"]
                ref = variable["valueFrom"]["secretKeyRef"]
                assert ref["name"] == "avataradam-secrets"
                referenced.add(ref["key"])
    assert referenced == set(example)


def _selected(selector: Manifest, labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_budgets_and_autoscalers_point_at_the_workloads(overlay: str) -> None:
    objects = render(overlay)
    deployments = named(objects, "Deployment")
    pod_labels = {n: d["spec"]["template"]["metadata"]["labels"] for n, d in deployments.items()}

    [service] = named(objects, "Service").values()
    api = deployments["avataradam-api"]["spec"]["template"]["spec"]["containers"][0]
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= {p["name"] for p in api["ports"]}
    assert _selected({"matchLabels": service["spec"]["selector"]}, pod_labels["avataradam-api"])
    for name, budget in named(objects, "PodDisruptionBudget").items():
        assert _selected(budget["spec"]["selector"], pod_labels[name]), name

    scalers = [*named(objects, "HorizontalPodAutoscaler").values()]
    scalers += [*named(objects, "ScaledObject").values()]
    assert sorted(s["spec"]["scaleTargetRef"]["name"] for s in scalers) == sorted(deployments)
    for deployment in deployments.values():
        assert "replicas" not in deployment["spec"], "the autoscaler owns the replica count"


def test_keda_overlay_replaces_every_horizontal_pod_autoscaler() -> None:
    objects = render("overlays/keda")
    assert named(objects, "HorizontalPodAutoscaler") == {}
    scaled = named(objects, "ScaledObject")
    assert set(scaled) == set(named(render("overlays/production"), "HorizontalPodAutoscaler"))
    for name, scaled_object in scaled.items():
        assert scaled_object["spec"]["minReplicaCount"] >= 1, name


def _adapter_rules() -> list[Manifest]:
    config = yaml.safe_load(ADAPTER_CONFIG.read_text())
    return [*config["rules"], *config["externalRules"]]


def test_autoscaling_reads_metrics_the_application_exports() -> None:
    exported = defined_metric_names()
    served: set[str] = set()
    for rule in _adapter_rules():
        for name in METRIC_NAME.findall(rule["seriesQuery"]):
            assert name in exported, name
        source = METRIC_NAME.findall(rule["seriesQuery"])[0]
        assert re.fullmatch(rule["name"]["matches"], source), rule["name"]
        served.add(re.sub(rule["name"]["matches"], rule["name"]["as"], source))

    for hpa in named(render("base"), "HorizontalPodAutoscaler").values():
        for metric in hpa["spec"]["metrics"]:
            if metric["type"] in {"Pods", "External"}:
                source = metric[metric["type"].lower()]["metric"]
                assert source["name"] in served, source["name"]
                queue = source.get("selector", {}).get("matchLabels", {}).get("queue")
                assert queue is None or queue in WORK_QUEUES
    for scaled in named(render("overlays/keda"), "ScaledObject").values():
        for trigger in scaled["spec"]["triggers"]:
            if trigger["type"] == "prometheus":
                names = METRIC_NAME.findall(trigger["metadata"]["query"])
                assert names, trigger["metadata"]["query"]
                assert set(names) <= exported


def test_base_image_tag_is_the_project_version() -> None:
    kustomization = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text())
    [image] = kustomization["images"]
    assert image == {"name": "avataradam", "newTag": __version__}


def test_production_pins_the_image_by_digest() -> None:
    images = {
        container["image"]
        for _, spec in pod_specs(render("overlays/production"))
        for container in spec["containers"]
    }
    assert len(images) == 1
    assert re.fullmatch(r"[a-z0-9.-]+/avataradam@sha256:[0-9a-f]{64}", images.pop())


def test_policy_check_passes_on_what_operators_apply_and_waivers_have_reasons(
    tmp_path: Path,
) -> None:
    for overlay in DEPLOYABLE:
        (tmp_path / f"{overlay.replace('/', '-')}.yaml").write_text(rendered_text(overlay))
    environment = {
        **os.environ,
        # Offline: no guideline download from Prisma Cloud, no package update check.
        "BC_SKIP_MAPPING": "TRUE",
        "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true",
        "CKV_PARSE_ERROR_FAIL": "true",
    }
    result = subprocess.run(
        [
            tool("checkov", in_tools_venv=True),
            "--directory",
            str(tmp_path),
            "--framework",
            "kubernetes",
            "--skip-download",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
        env=environment,
    )
    report = json.loads(result.stdout)
    failed = [
        f"{c['check_id']} {c['resource']}: {c['check_name']}"
        for c in report["results"]["failed_checks"]
    ]

    assert failed == []
    assert result.returncode == 0, result.stderr[-2000:]
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 0
    for skipped in report["results"]["skipped_checks"]:
        reason = skipped["check_result"].get("suppress_comment", "")
        assert len(reason) > 40, f"{skipped['check_id']} {skipped['resource']}: {reason!r}"


def test_every_waiver_annotation_names_a_check_and_a_reason() -> None:
    waivers = [
        value
        for o in render("overlays/keda")
        for key, value in o["metadata"].get("annotations", {}).items()
        if key.startswith("checkov.io/skip")
    ]
    assert waivers
    for waiver in waivers:
        match = CHECKOV_WAIVER.match(waiver)
        assert match is not None, waiver
        assert len(match[2].split()) >= 8, f"{match[1]}: give the reason in words"


def test_base_manifests_hold_no_secret_value() -> None:
    text = "\n".join(p.read_text() for p in (ROOT / "deploy" / "k8s").rglob("*.yaml"))
    assert "kind: Secret" not in text
    assert "stringData" not in text
