"""A scenario's `quality:` block: accuracy per option from a `llmecon eval` result or given.

An option takes the accuracy of the eval endpoint with its name (or the one `endpoints` maps it
to); `accuracy: {option: {correct, total}}` gives figures measured elsewhere. Each accuracy
keeps its item count, so the Wilson interval is known.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from llmecon.core.comparison import Scenario
from llmecon.core.options import Option
from llmecon.core.quality import Accuracy, MeasuredTokens, Quality
from llmecon.core.workload import Tokens
from llmecon.errors import LlmeconError
from llmecon.scenario.schema import QualitySpec

EVAL_FORMAT = "llmecon-eval"


def read_eval(path: Path, where: str) -> dict[str, dict[str, Any]]:
    """The endpoints of a `llmecon eval --output` file, by name."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise LlmeconError(
            f"{where}: {path} does not exist; write it with `llmecon eval DATASET --endpoint "
            f"NAME=URL --output {path.name}`"
        ) from None
    except (OSError, ValueError) as error:
        raise LlmeconError(f"{where}: cannot read {path} as JSON ({error})") from None
    if not isinstance(data, dict) or data.get("format") != EVAL_FORMAT:
        raise LlmeconError(f"{where}: {path} is not a `llmecon eval` result (no format: eval)")
    entries = {}
    for entry in data.get("endpoints", []):
        try:
            correct, total = int(entry["correct"]), int(entry["items"])
        except (KeyError, TypeError, ValueError):
            raise LlmeconError(f"{where}: {path}: an endpoint lacks correct/items") from None
        if not 0 <= correct <= total or total < 1:
            raise LlmeconError(f"{where}: {path}: {entry.get('name')}: bad correct/items")
        entries[str(entry.get("name"))] = {**entry, "dataset": data.get("dataset")}
    if not entries:
        raise LlmeconError(f"{where}: {path} has no endpoints")
    return entries


def build_quality(
    spec: QualitySpec, options: list[str], label: str, base: Path
) -> tuple[Quality, list[str]]:
    """Accuracy per option, and notes saying where each came from."""
    known = set(options)
    for key, name in [("endpoints", n) for n in spec.endpoints] + [
        ("accuracy", n) for n in spec.accuracy
    ]:
        if name not in known:
            raise LlmeconError(
                f"{label}: quality.{key}.{name}: no option has that name; use one of "
                f"{', '.join(options)}"
            )
    accuracy: dict[str, Accuracy] = {}
    notes: list[str] = []
    if spec.from_ is not None:
        accuracy.update(_from_eval(spec, options, label, base, notes))
    for name, given in spec.accuracy.items():
        if name in accuracy:
            raise LlmeconError(
                f"{label}: quality.accuracy.{name}: this option already has an accuracy from "
                f"{spec.from_}; remove one of the two"
            )
        accuracy[name] = Accuracy(given.correct, given.total, f"given in {label}")
    missing = [name for name in options if name not in accuracy]
    if missing:
        notes.append(
            f"quality: no accuracy for {', '.join(missing)} (not measured; never counted as "
            "meeting a quality bar)."
        )
    return Quality(accuracy, spec.min_accuracy), notes


def _from_eval(
    spec: QualitySpec, options: list[str], label: str, base: Path, notes: list[str]
) -> dict[str, Accuracy]:
    assert spec.from_ is not None
    where = f"{label}: quality.from"
    entries = read_eval(base / spec.from_, where)
    found = {}
    for name in options:
        endpoint = spec.endpoints.get(name, name)
        if endpoint not in entries:
            if name in spec.endpoints:
                raise LlmeconError(
                    f"{label}: quality.endpoints.{name}: {spec.from_} has no endpoint "
                    f"{endpoint!r}; it has {', '.join(entries)}"
                )
            continue
        entry = entries[endpoint]
        source = f"llmecon eval {entry['dataset']} at {endpoint} ({spec.from_})"
        found[name] = Accuracy(int(entry["correct"]), int(entry["items"]), source)
    if not found and not spec.accuracy:
        raise LlmeconError(
            f"{where}: no option matches an endpoint of {spec.from_} ({', '.join(entries)}); "
            "name the options like the endpoints or map them with quality.endpoints"
        )
    for name, value in found.items():
        notes.append(f"{name}: accuracy {value.correct}/{value.total} from {value.source}.")
    return found


def with_measured_tokens(
    options: tuple[Option, ...], spec: QualitySpec, label: str, base: Path
) -> tuple[tuple[Option, ...], list[str]]:
    """With `tokens: measured`, each option matched to an eval endpoint is billed at that
    endpoint's measured input and output tokens per request."""
    if spec.tokens != "measured" or spec.from_ is None:
        return options, []
    entries = read_eval(base / spec.from_, f"{label}: quality.from")
    wrapped: list[Option] = []
    notes = []
    for option in options:
        entry = entries.get(spec.endpoints.get(option.name, option.name))
        measured = _measured(entry)
        if entry is None or measured is None:
            wrapped.append(option)
            continue
        source = f"measured by llmecon eval at {entry['name']} ({spec.from_})"
        wrapped.append(MeasuredTokens(option, measured, source))
        notes.append(
            f"{option.name}: billed at {measured.input:g} input + {measured.output:g} output "
            f"tokens per request, {source}, not the workload's average."
        )
    return tuple(wrapped), notes


def _measured(entry: dict[str, Any] | None) -> Tokens | None:
    tokens = (entry or {}).get("tokens") or {}
    prompt, completion = tokens.get("input_per_request"), tokens.get("output_per_request")
    if not isinstance(prompt, int | float) or not isinstance(completion, int | float):
        return None
    return Tokens.of_split(float(prompt), float(completion))


def with_min_accuracy(scenario: Scenario, min_accuracy: float | None) -> Scenario:
    """The scenario with `min_accuracy` (--min-accuracy) as its quality bar; it needs a
    `quality:` block."""
    if min_accuracy is None:
        return scenario
    if scenario.quality is None:
        raise LlmeconError(
            "--min-accuracy needs accuracy per option: add a quality: block to the scenario "
            "(quality: {from: eval.json}, see docs/eval.md)"
        )
    return replace(scenario, quality=replace(scenario.quality, min_accuracy=min_accuracy))
