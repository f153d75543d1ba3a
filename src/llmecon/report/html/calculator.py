"""The calculator page: the quick-form compare as a form, recomputed as the inputs change.

`calculator_response(path, query, book)` answers one GET request (the page, its JSON API, the
scenario YAML, the report download); any HTTP server can mount it (`llmecon ui` does, with the
standard library's). The inputs travel in the query string, so a link reproduces a calculation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

import yaml

from llmecon.errors import LlmeconError
from llmecon.pricebook.book import PriceBook
from llmecon.pricebook.hardware import load_models
from llmecon.report.html.build import build_report
from llmecon.report.html.page import asset, render_notes, render_page, render_results

Query = Mapping[str, Sequence[str]]
DEFAULTS = {
    "requests_per_day": "1000, 100000, 1000000",
    "input_tokens": "500",
    "output_tokens": "167",
    "api": "gpt-4o-mini",
    "self_hosted": "g6e.xlarge",
    "model": "llama-3.1-8b",
    "replicas": "1",
}
_SPLIT = re.compile(r"[,\s]+")


@dataclass(frozen=True)
class Response:
    status: int
    content_type: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def _text(query: Query, name: str) -> str:
    values = query.get(name) or [DEFAULTS.get(name, "")]
    return ",".join(values).strip()


def _items(query: Query, name: str) -> list[str]:
    return [item for item in _SPLIT.split(_text(query, name)) if item]


def _number(text: str, name: str) -> float:
    try:
        return float(text.replace("_", ""))
    except ValueError:
        raise LlmeconError(f"{name}: {text!r} is not a number; give a number like 1000") from None


def calculator_scenario(query: Query) -> dict[str, Any]:
    """The scenario data (as a scenario file would hold it) that the form's inputs describe."""
    volumes = [_number(v, "requests per day") for v in _items(query, "requests_per_day")]
    if not volumes:
        raise LlmeconError("requests per day: give at least one volume, e.g. 1000, 1000000")
    workload: dict[str, Any] = {
        "requests_per_day": volumes,
        "input_tokens": _number(_text(query, "input_tokens") or "0", "input tokens"),
        "output_tokens": _number(_text(query, "output_tokens") or "0", "output tokens"),
    }
    options: list[dict[str, Any]] = [
        {"name": model, "api": {"model": model}} for model in _items(query, "api")
    ]
    model = _text(query, "model")
    replicas = int(_number(_text(query, "replicas") or "1", "replicas"))
    for instance in _items(query, "self_hosted"):
        hosted: dict[str, Any] = {"instance": instance}
        if model:
            hosted["capacity"] = {"estimate": {"model": model}, "min_replicas": replicas}
        else:
            hosted["replicas"] = replicas
        options.append({"name": f"{model or 'open model'} on {instance}", "self_hosted": hosted})
    if not options:
        raise LlmeconError("give at least one paid API or one self-hosted instance")
    notes = [
        f"{option['name']}: priced as {replicas} replica(s) at every volume, whatever the "
        "traffic; one instance serves a bounded number of requests per day. Give an open model "
        "to size replicas from its roofline estimate."
        for option in options
        if "replicas" in option.get("self_hosted", {})
    ]
    return {"name": "calculator", "workload": workload, "options": options, "notes": notes}


def calculator_response(path: str, query: Query, book: PriceBook) -> Response:
    """The answer to GET `path` (relative to where the calculator is mounted)."""
    route = path.rstrip("/").rsplit("/", 1)[-1] if path.strip("/") else ""
    if route == "":
        return Response(200, "text/html; charset=utf-8", calculator_page(query, book).encode())
    if route not in _ROUTES:
        return _error(404, f"no page {path}; the calculator is at /")
    try:
        data = calculator_scenario(query)
        return _ROUTES[route](data, book)
    except LlmeconError as error:
        return _error(400, str(error))


def _compare(data: dict[str, Any], book: PriceBook) -> Response:
    report = build_report(data, book, "calculator")
    body = {
        "html": render_results(report) + render_notes(report["comparison"]["notes"]),
        "answer": report["answer"],
        "corrected": report["corrected"],
        "comparison": report["comparison"],
    }
    return Response(200, "application/json", json.dumps(body).encode())


def _scenario_yaml(data: dict[str, Any], book: PriceBook) -> Response:
    build_report(data, book, "calculator")  # validates: never hand out a file that fails
    text = "# Written by the llmecon calculator; run: llmecon compare scenario.yaml\n"
    text += yaml.safe_dump(data, sort_keys=False)
    return Response(
        200, "application/yaml; charset=utf-8", text.encode(), _attachment("scenario.yaml")
    )


def _report(data: dict[str, Any], book: PriceBook) -> Response:
    page = render_page([build_report(data, book, "calculator")])
    return Response(200, "text/html; charset=utf-8", page.encode(), _attachment("report.html"))


_ROUTES = {"compare": _compare, "scenario.yaml": _scenario_yaml, "report.html": _report}


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="llmecon-{name}"'}


def _error(status: int, message: str) -> Response:
    return Response(status, "application/json", json.dumps({"error": message}).encode())


def calculator_page(query: Query, book: PriceBook) -> str:
    """The calculator's HTML: the form (filled from the query or defaults) and its scripts."""
    values = {name: escape(_text(query, name)) for name in DEFAULTS}
    options = {
        "api-names": sorted(n for n, p in book.api_current.items() if p.mode == "chat"),
        "instance-names": sorted(book.instances),
        "model-names": sorted(load_models()),
    }
    datalists = "".join(
        f"<datalist id={key}>"
        + "".join(f'<option value="{escape(name)}"></option>' for name in names)
        + "</datalist>"
        for key, names in options.items()
    )
    page = asset("calculator.html").replace("{{css}}", asset("report.css"))
    page = page.replace("{{js}}", asset("report.js") + "\n" + asset("calculator.js"))
    for name, value in values.items():
        page = page.replace("{{" + name + "}}", value)
    return page.replace("{{datalists}}", datalists)
