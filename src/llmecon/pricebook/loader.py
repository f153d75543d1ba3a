"""Build the PriceBook from the package's data files and the API price snapshot.

Nothing is fetched from the network: the YAML files and a dated snapshot of LiteLLM's cost map
ship with llmecon. `llmecon prices update` writes a newer snapshot to the user's data directory
($LLMECON_HOME, else ~/.local/share/llmecon), which is then used instead of the shipped one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections import defaultdict
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import yaml

from llmecon import records
from llmecon.core.prices import Price
from llmecon.errors import LlmeconError
from llmecon.pricebook import parsed_cache, schema, snapshot
from llmecon.pricebook.book import PriceBook, SnapshotInfo
from llmecon.pricebook.entries import (
    PER_MILLION,
    ApiModelPrice,
    GatewayPrice,
    InstancePrice,
    LambdaPrice,
)

DATA_FILES = (
    "api_history.yaml", "aws_instances.yaml", "other_clouds.yaml", "aws_serverless.yaml",
    "aws_commitments.yaml",
)  # fmt: skip
SNAPSHOT_FILE = "api_prices.json"
PRICES_DIR = Path(__file__).resolve().parent.parent / "data" / "prices"
File = TypeVar("File", schema.HistoryFile, schema.InstanceFile, schema.ServerlessFile,
               schema.CommitmentFile)  # fmt: skip


def data_home() -> Path:
    """Where llmecon keeps user data: $LLMECON_HOME, else ~/.local/share/llmecon."""
    home = os.environ.get("LLMECON_HOME")
    return Path(home) if home else Path.home() / ".local" / "share" / "llmecon"


def user_snapshot_path(home: Path | None = None) -> Path:
    return (home or data_home()) / "prices" / SNAPSHOT_FILE


def load_pricebook(home: Path | None = None) -> PriceBook:
    """The price book from the shipped files and the API snapshot in use (user's, else shipped)."""
    texts = {name: _data_text(name) for name in DATA_FILES}
    full_digest = hashlib.sha256("".join(texts.values()).encode()).hexdigest()
    cached = parsed_cache.read(full_digest)
    parts = None
    if cached is not None and set(cached) == set(DATA_FILES):
        # the cache is checked like the YAML; one that does not pass is ignored (and replaced)
        with contextlib.suppress(LlmeconError):
            parts = _parts(cached)
    if parts is None:
        data = {name: _yaml(text) for name, text in texts.items()}
        parts = _parts(data)
        # all valid: later runs read the JSON instead of parsing the YAML
        parsed_cache.write(full_digest, data)
    digest = full_digest[:10]
    api, info = load_snapshot(home)
    return PriceBook(
        api_current=snapshot.SnapshotPrices(api),
        version=f"prices-{digest}+api-{api.as_of.isoformat()}-{info.digest}",
        snapshot=info,
        **parts,
    )


def _parts(data: dict[str, Any]) -> dict[str, Any]:
    """The price book's parts from the price files in `data` (their parsed YAML, by name)."""
    history = validated(schema.HistoryFile, data, "api_history.yaml")
    instances = [
        entry
        for name in ("aws_instances.yaml", "other_clouds.yaml")
        for entry in validated(schema.InstanceFile, data, name).entries
    ]
    serverless = validated(schema.ServerlessFile, data, "aws_serverless.yaml")
    committed = validated(schema.CommitmentFile, data, "aws_commitments.yaml")
    return {
        "api_history": _history(history),
        "instances": _with_commitments(
            {entry.name: _instance(entry) for entry in instances}, committed.entries
        ),
        "lambdas": {e.name: _lambda(e) for e in serverless.entries if e.service == "lambda"},
        "gateways": {e.name: _gateway(e) for e in serverless.entries if e.service == "api-gateway"},
    }


def load_snapshot(home: Path | None = None) -> tuple[snapshot.Snapshot, SnapshotInfo]:
    """The API snapshot in use: the user's (written by `prices update`), else the shipped one."""
    path = user_snapshot_path(home)
    if path.is_file():
        text, where = path.read_text(encoding="utf-8"), str(path)
    else:
        text, where = (
            _data_text(SNAPSHOT_FILE),
            f"shipped with llmecon (llmecon/data/prices/{SNAPSHOT_FILE})",
        )
    api = snapshot.parse(text, where)
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return api, SnapshotInfo(api.source, api.as_of, where, len(api.rows), digest)


def validated(kind: type[File], parsed: dict[str, Any], name: str) -> File:
    """The data file `name` (its parsed YAML in `parsed`) as a `kind`; a problem is one line
    naming the file, the entry (and its name), the field and the fix."""
    data = parsed[name]
    try:
        return records.read(kind, data, strict=False)
    except records.RecordError as error:
        problem = min(error.problems, key=lambda p: p.kind != "unknown_key")
        raise LlmeconError(
            f"llmecon/data/prices/{name}: {_where(data, problem.loc)}: "
            f"{records.explain(problem)}; fix that entry of {name}"
        ) from None


def _where(data: Any, loc: tuple[int | str, ...]) -> str:
    """'entries[3] (ml.g5.xlarge).hourly': the key path, with the entry's name when it has one."""
    path = records.key_path(loc) or "top level"
    if len(loc) < 2 or loc[0] != "entries" or not isinstance(loc[1], int):
        return path
    entry = data["entries"][loc[1]]
    keys = ("name", "model", "instance")
    named = [entry[k] for k in keys if isinstance(entry, dict) and isinstance(entry.get(k), str)]
    if not named:
        return path
    head = records.key_path(loc[:2])
    return f"{head} ({named[0]}){path.removeprefix(head)}"


def _data_text(name: str) -> str:
    # the package's own folder, not importlib.resources (~10-20 ms to import and set up)
    return (PRICES_DIR / name).read_text(encoding="utf-8")


def _yaml(text: str) -> Any:
    # libyaml's loader when PyYAML was built with it: ~8x faster start-up than the pure one.
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _history(data: schema.HistoryFile) -> dict[str, tuple[ApiModelPrice, ...]]:
    grouped: defaultdict[str, list[ApiModelPrice]] = defaultdict(list)
    for e in data.entries:
        grouped[e.model].append(
            ApiModelPrice(
                model=e.model,
                provider=e.provider,
                input=Price(e.input_per_1m, "tokens", e.source, e.as_of, PER_MILLION),
                output=Price(e.output_per_1m, "tokens", e.source, e.as_of, PER_MILLION),
                effective_from=e.effective_from,
                origin="history",
                note=e.note,
                until=e.until,
            )
        )
    return {
        model: tuple(sorted(prices, key=lambda p: p.effective_from or date.min))
        for model, prices in grouped.items()
    }


def _instance(e: schema.InstanceEntry) -> InstancePrice:
    spot = None
    if e.spot_hourly is not None:
        spot = Price(e.spot_hourly, "instance-hour", f"{e.source} (spot)", e.as_of)
    return InstancePrice(
        name=e.name,
        provider=e.provider,
        service=e.service,
        region=e.region,
        hourly=Price(e.hourly, "instance-hour", e.source, e.as_of),
        spot_hourly=spot,
        gpu=e.gpu,
        gpus=e.gpus,
        vcpus=e.vcpus,
        memory_gib=e.memory_gib,
        note=e.note,
        effective_from=e.effective_from,
    )


def _with_commitments(
    instances: dict[str, InstancePrice], entries: list[schema.CommitmentEntry]
) -> dict[str, InstancePrice]:
    """Attach each instance's committed rates (an unknown instance is a data error)."""
    for e in entries:
        if e.instance not in instances:
            raise LlmeconError(
                f"aws_commitments.yaml: {e.instance!r} is not in the instance files; fix the entry"
            )
        rates: dict[str, Price] = {
            key: Price(rate, "instance-hour", f"{e.source} ({key})", e.as_of)
            for key, rate in e.rates.items()
        }
        instances[e.instance] = replace(instances[e.instance], commitments=rates)
    return instances


def _lambda(e: schema.ServerlessEntry) -> LambdaPrice:
    assert e.per_gb_second is not None  # ServerlessEntry.check
    return LambdaPrice(
        name=e.name,
        provider=e.provider,
        service=e.service,
        region=e.region,
        per_gb_second=Price(e.per_gb_second, "GB-second", e.source, e.as_of),
        per_million_requests=Price(
            e.per_million_requests, "requests", e.source, e.as_of, PER_MILLION
        ),
        note=e.note,
    )


def _gateway(e: schema.ServerlessEntry) -> GatewayPrice:
    return GatewayPrice(
        name=e.name,
        provider=e.provider,
        service=e.service,
        region=e.region,
        per_million_requests=Price(
            e.per_million_requests, "requests", e.source, e.as_of, PER_MILLION
        ),
        note=e.note,
    )
