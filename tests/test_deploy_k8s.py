"""Offline checks of deploy/k8s (kustomize base and overlays) with kubernetes-validate.

No kustomize binary is needed: `build` below does what these kustomizations use (resources,
namespace, labels, images, strategic-merge patches of named resources) and fails on anything
else, so what is validated is what `kubectl apply -k` would send. Where kubectl is installed,
its own `kubectl kustomize` output is validated too and must agree.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from llmecon.cli.serve import serve

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
BASE = K8S / "base"
OVERLAYS = sorted(p.parent for p in (K8S / "overlays").glob("*/kustomization.yaml"))
KUSTOMIZATIONS = [BASE, *OVERLAYS]
KUBERNETES = "1.30"  # the oldest Kubernetes these manifests are checked against
CLUSTER_SCOPED = {"Namespace"}
HANDLED = {"apiVersion", "kind", "resources", "namespace", "labels", "images", "patches"}
Resource = dict[str, Any]


def _load(path: Path) -> list[Resource]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _key(resource: Resource) -> tuple[str, str]:
    return resource["kind"], resource["metadata"]["name"]


def merge(base: Any, patch: Any) -> Any:
    """A strategic merge patch, as far as these manifests need it: maps merge, lists of named
    items (containers, env, ports, volumes) merge by name, other lists are replaced."""
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for key, value in patch.items():
            merged[key] = merge(base[key], value) if key in base else copy.deepcopy(value)
        return merged
    named = isinstance(base, list) and isinstance(patch, list)
    if named and all(isinstance(i, dict) and "name" in i for i in [*base, *patch]):
        by_name = {item["name"]: item for item in base}
        out = [merge(by_name[i["name"]], i) if i["name"] in by_name else i for i in patch]
        patched = {item["name"] for item in patch}
        return [item for item in base if item["name"] not in patched] + out
    return copy.deepcopy(patch)


def _apply_images(resource: Resource, images: list[dict[str, str]]) -> None:
    containers = resource.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
    for container in containers:
        name, _, tag = container["image"].partition(":")
        for image in images:
            if image["name"] == name:
                new = image.get("newName", name)
                container["image"] = f"{new}:{image.get('newTag', tag or 'latest')}"


def build(directory: Path) -> list[Resource]:
    """What `kustomize build directory` makes of these kustomizations."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(kustomization) - HANDLED
    assert not unknown, f"{directory}: build() does not handle {sorted(unknown)}"
    resources: list[Resource] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        resources += build(path) if path.is_dir() else _load(path)
    index = {_key(r): i for i, r in enumerate(resources)}
    assert len(index) == len(resources), f"{directory}: a resource is listed twice"
    for entry in kustomization.get("patches", []):
        assert set(entry) == {"path"}, f"{directory}: only file patches are handled"
        for patch in _load(directory / entry["path"]):
            target = index.get(_key(patch))
            assert target is not None, f"{directory}/{entry['path']}: no {_key(patch)} to patch"
            resources[target] = merge(resources[target], patch)
    for resource in resources:
        for labels in kustomization.get("labels", []):
            assert set(labels) == {"pairs"}, "only metadata labels are handled"
            resource["metadata"].setdefault("labels", {}).update(labels["pairs"])
        if "namespace" in kustomization and resource["kind"] not in CLUSTER_SCOPED:
            resource["metadata"]["namespace"] = kustomization["namespace"]
        _apply_images(resource, kustomization.get("images", []))
    return resources


def _errors(resource: Resource) -> str | None:
    try:
        kubernetes_validate.validate(resource, KUBERNETES, strict=True)
    except kubernetes_validate.ValidationError as error:
        return f"{_key(resource)}: {error.message} at {list(error.path)}"
    return None


def _only(resources: list[Resource], kind: str) -> Resource:
    found = [r for r in resources if r["kind"] == kind]
    assert len(found) == 1, kind
    return found[0]


def _secret(resources: list[Resource], name: str) -> dict[str, str]:
    secret = next(r for r in resources if _key(r) == ("Secret", name))
    data: dict[str, str] = secret["stringData"]
    return data


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=lambda p: p.name)
def test_kustomization_references_existing_files(directory: Path) -> None:
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    assert kustomization["kind"] == "Kustomization"
    for entry in kustomization.get("resources", []):
        path = directory / entry
        assert path.is_file() or (path / "kustomization.yaml").is_file(), f"{directory}: {entry}"
    for entry in kustomization.get("patches", []):
        assert (directory / entry["path"]).is_file(), f"{directory}: {entry}"
    if directory == BASE:
        listed = set(kustomization["resources"])
        assert listed == {p.name for p in BASE.glob("*.yaml")} - {"kustomization.yaml"}


def test_every_manifest_file_is_valid_kubernetes() -> None:
    patches = {
        (o / entry["path"]).resolve()
        for o in KUSTOMIZATIONS
        for entry in yaml.safe_load((o / "kustomization.yaml").read_text()).get("patches", [])
    }
    files = [p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml"]
    whole = [p for p in files if p.resolve() not in patches]
    assert len(whole) >= 9
    errors = [e for path in whole for e in map(_errors, _load(path)) if e]
    assert errors == []


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=lambda p: p.name)
def test_built_kustomization_is_valid_kubernetes(directory: Path) -> None:
    resources = build(directory)
    kinds = sorted(r["kind"] for r in resources)
    expected = ["ConfigMap", "Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget"]
    expected += ["Secret", "Secret", "Service"]
    assert [k for k in kinds if k != "Namespace"] == expected
    assert [e for e in map(_errors, resources) if e] == []


def test_validator_catches_a_misspelled_field() -> None:
    deployment = _only(build(BASE), "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    error = _errors(deployment)
    assert error is not None and "readinesProbe" in error


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=lambda p: p.name)
def test_gateway_probes_security_and_wiring(directory: Path) -> None:
    resources = build(directory)
    deployment = _only(resources, "Deployment")
    pod = deployment["spec"]["template"]
    container = pod["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert f"--port={ports['http']}" in container["args"]
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    # Selectors: Service, PDB and HPA all find the Deployment's pods.
    labels = pod["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert _only(resources, "Service")["spec"]["selector"].items() <= labels.items()
    assert _only(resources, "Service")["spec"]["ports"][0]["targetPort"] == "http"
    pdb = _only(resources, "PodDisruptionBudget")["spec"]
    assert pdb["selector"]["matchLabels"].items() <= labels.items()
    hpa = _only(resources, "HorizontalPodAutoscaler")["spec"]
    assert hpa["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert pdb["minAvailable"] < hpa["minReplicas"] <= deployment["spec"]["replicas"]
    # Every Secret and key the pod reads exists (optional ones need not).
    secrets = {r["metadata"]["name"]: r for r in resources if r["kind"] == "Secret"}
    for env in container["env"]:
        ref = env.get("valueFrom", {}).get("secretKeyRef")
        if ref and not ref.get("optional"):
            assert ref["key"] in secrets[ref["name"]]["stringData"], env["name"]
    for source in container["envFrom"]:
        assert source["secretRef"]["name"] in secrets
    # The serve config file is mounted where --config reads it.
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    config_map = _only(resources, "ConfigMap")
    assert volumes["config"]["configMap"]["name"] == config_map["metadata"]["name"]
    assert f"{mounts['config']}/serve.yaml" == "/etc/llmecon/serve.yaml"
    assert "--config=/etc/llmecon/serve.yaml" in container["args"]
    assert "serve.yaml" in config_map["data"]
    # The pod outlives serve's drain plus the preStop pause.
    config = yaml.safe_load(config_map["data"]["serve.yaml"])
    pause = float(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    assert pod["spec"]["terminationGracePeriodSeconds"] > config["drain"] + pause
    # The journal is on the writable data volume.
    assert config["journal"].startswith(mounts["data"] + "/")


def _serve_options() -> dict[str, bool]:
    """`llmecon serve` option names with underscores -> whether the option repeats."""
    options: dict[str, bool] = {}
    for param in serve.params:
        long = max(param.opts, key=len)
        if long.startswith("--"):
            options[long.removeprefix("--").replace("-", "_")] = bool(param.multiple)
    return options


def test_serve_config_keys_are_serve_options() -> None:
    config = yaml.safe_load(_only(build(BASE), "ConfigMap")["data"]["serve.yaml"])
    options = _serve_options()
    assert set(config) - set(options) == set(), "keys that are not serve options"
    for key, value in config.items():
        assert isinstance(value, list) == options[key], key
    # Stores come from the environment (the Secret), never from the file.
    assert "ledger" not in config and "redis" not in config


def test_deployment_args_parse_with_serve(tmp_path: Path) -> None:
    resources = build(BASE)
    container = _only(resources, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][0] == "serve"
    config = tmp_path / "serve.yaml"  # the ConfigMap's file, where the pod would see it
    config.write_text(_only(resources, "ConfigMap")["data"]["serve.yaml"])
    args = [
        f"--config={config}" if arg == "--config=/etc/llmecon/serve.yaml" else arg
        for arg in container["args"][1:]
    ]
    if "config" not in _serve_options():  # `serve --config` is not in this checkout yet
        args = [arg for arg in args if not arg.startswith("--config=")]
    with serve.make_context("serve", args):
        pass


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda p: p.name)
def test_overlay_sets_postgresql_and_redis_endpoints(overlay: Path) -> None:
    base = _secret(build(BASE), "llmecon-stores")
    stores = _secret(build(overlay), "llmecon-stores")
    assert stores["ledger"] != base["ledger"] and stores["redis"] != base["redis"]
    assert stores["ledger"].startswith("postgresql://")
    assert stores["redis"].startswith(("redis://", "rediss://"))
    assert ":" not in stores["ledger"].removeprefix("postgresql://").split("@")[0]  # no password
    namespace = _only(build(overlay), "Namespace")["metadata"]["name"]
    assert {r["metadata"].get("namespace") for r in build(overlay)} == {None, namespace}


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (kustomize) not installed")
@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=lambda p: p.name)
def test_kubectl_kustomize_agrees(directory: Path) -> None:
    command = ["kubectl", "kustomize", str(directory)]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60).stdout
    real = [doc for doc in yaml.safe_load_all(out) if doc]
    assert [e for e in map(_errors, real) if e] == []
    ours = {_key(r): r for r in build(directory)}
    assert {_key(r): r for r in real} == ours
