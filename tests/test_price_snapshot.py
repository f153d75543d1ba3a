"""Issue 12: API prices owned by llmecon (a vendored snapshot), updatable without litellm."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import tomllib
from collections.abc import Callable, Iterator
from datetime import date
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import ROOT, Run
from llmecon.pricebook import snapshot
from llmecon.pricebook.loader import load_pricebook

LITELLM_MAP = {
    "sample_spec": {"input_cost_per_token": 0, "output_cost_per_token": 0, "mode": "chat"},
    "gpt-4o-mini": {
        "litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 1e-07,
        "output_cost_per_token": 4e-07, "max_input_tokens": 128000,
    },
    "brand-new-model": {
        "litellm_provider": "acme", "mode": "chat", "input_cost_per_token": 2e-07,
        "output_cost_per_token": 6e-07, "input_cost_per_token_above_200k_tokens": 4e-07,
        "output_cost_per_token_above_200k_tokens": 1.2e-06,
    },
    "an-embedding": {"mode": "embedding", "input_cost_per_token": 1e-08,
                     "output_cost_per_token": 0},
}  # fmt: skip


def test_runtime_dependencies_do_not_include_litellm() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not [d for d in project["dependencies"] if d.lower().startswith("litellm")]
    assert not [d for d in project["optional-dependencies"]["dev"] if "litellm" in d.lower()]


def test_shipped_snapshot_is_dated_attributed_and_compact() -> None:
    data_dir = ROOT / "src" / "llmecon" / "data" / "prices"
    raw = json.loads((data_dir / "api_prices.json").read_text())
    assert raw["format"] == snapshot.FORMAT and raw["as_of"] == "2026-11-25"
    assert raw["upstream"]["version"] == "1.110.2" and len(raw["upstream"]["sha256"]) == 64
    assert "MIT" in raw["license"] and "Berri AI" in (data_dir / "LICENSE-litellm.txt").read_text()
    assert (data_dir / "api_prices.json").stat().st_size < 600_000  # vs 3.5 MB upstream


def test_litellm_map_converts_without_float_noise() -> None:
    parsed = snapshot.parse(json.dumps(LITELLM_MAP), "map.json", source="x", as_of=date(2027, 1, 1))
    assert set(parsed.rows) == {"gpt-4o-mini", "brand-new-model", "an-embedding"}  # issue 11
    assert snapshot.build_price("an-embedding", parsed).mode == "embedding"
    assert snapshot.per_million(1.9999999999999998e-07) == 0.2
    price = snapshot.build_price("brand-new-model", parsed)
    assert (price.input.amount, price.output.amount) == (0.2, 0.6)
    assert [(t.above, t.input.amount, t.output.amount) for t in price.tiers] == [
        (200_000, 0.4, 1.2)
    ]


def test_bundled_tokenizer_loads_offline() -> None:
    code = (
        "import sys, tiktoken.load\n"
        "def no_network(*a, **k): raise RuntimeError('network')\n"
        "tiktoken.load.read_file = no_network\n"
        "from llmecon.bench.prompts import bundled_tiktoken\n"
        "print(bundled_tiktoken().encode('hello world'), 'litellm' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[15339, 1917] False"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LLMECON_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_update_shows_the_diff_then_compare_uses_it(
    tmp_path: Path, home: Path, llmecon: Callable[..., Run]
) -> None:
    newer = tmp_path / "map.json"
    newer.write_text(json.dumps(LITELLM_MAP))
    dry = llmecon("prices", "update", "--from", str(newer), "--dry-run", "--format", "json")
    assert dry.code == 0, dry.err
    diff = json.loads(dry.out)
    assert diff["installed"] is None and not (home / "prices").exists()
    changed = {c["model"]: (c["old"], c["new"]) for c in diff["changed"]}
    assert changed == {"gpt-4o-mini": ([0.15, 0.6], [0.1, 0.4])}
    assert [c["model"] for c in diff["added"]] == ["an-embedding", "brand-new-model"]
    assert len(diff["removed"]) > 3000 and "gpt-4o" in {c["model"] for c in diff["removed"]}

    run = llmecon("prices", "update", "--from", str(newer), "--as-of", "2026-12-01")
    assert run.code == 0, run.err
    assert "gpt-4o-mini" in run.out and "$0.15 / $0.6" in run.out and "$0.1 / $0.4" in run.out
    assert "2 added" in run.out and "1 changed" in run.out
    assert (home / "prices" / "api_prices.json").is_file()

    book = load_pricebook()
    assert book.snapshot.as_of == date(2026, 12, 1) and str(home) in book.snapshot.location
    listing = llmecon("prices", "list", "--search", "gpt-4o-mini")
    assert "as of 2026-12-01" in listing.out.replace("\n", " ")
    compare = llmecon(
        "compare", "--requests-per-day", "1000000", "--input-tokens", "1000",
        "--output-tokens", "1000", "--api", "gpt-4o-mini", "--format", "json",
    )  # fmt: skip
    assert compare.code == 0, compare.err
    bill = json.loads(compare.out)["results"][0]["options"][0]
    assert bill["daily_cost"] == pytest.approx(1e9 / 1e6 * 0.1 + 1e9 / 1e6 * 0.4)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "map.json").write_text(json.dumps(LITELLM_MAP))

    class Quiet(SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(tmp_path), **kwargs)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/map.json"
    finally:
        server.shutdown()
        server.server_close()


def test_update_from_a_url(served: str, home: Path, llmecon: Callable[..., Run]) -> None:
    run = llmecon("prices", "update", "--from", served, "--format", "json")
    assert run.code == 0, run.err
    assert json.loads(run.out)["to"]["models"] == 3
    assert load_pricebook().snapshot.source == f"LiteLLM model cost map from {served}"


@pytest.mark.parametrize(
    ("content", "message"),
    [("not json", "not valid JSON"), ("{}", "no chat model"), (None, "no such file")],
)
def test_update_rejects_bad_input(
    tmp_path: Path, home: Path, llmecon: Callable[..., Run], content: str | None, message: str
) -> None:
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_text(content)
    run = llmecon("prices", "update", "--from", str(path))
    assert run.code == 2 and message in run.err and "Traceback" not in run.err


# --- batch cached input (issue 12 review R1) -------------------------------------------------

BATCH_MAP = {
    "cached-everywhere": {
        "litellm_provider": "acme", "mode": "chat", "input_cost_per_token": 3e-06,
        "output_cost_per_token": 1.5e-05, "cache_read_input_token_cost": 3e-07,
        "input_cost_per_token_batches": 1.5e-06, "output_cost_per_token_batches": 7.5e-06,
        "cache_read_input_token_cost_batches": 1.5e-07,
    },
}  # fmt: skip


def test_litellm_batch_cached_rate_is_kept_as_its_own_column() -> None:
    parsed = snapshot.parse(json.dumps(BATCH_MAP), "map.json", source="x", as_of=date(2027, 1, 1))
    price = snapshot.build_price("cached-everywhere", parsed)
    assert price.cached_input is not None and price.cached_input.amount == 0.3
    assert price.batch_cached_input is not None and price.batch_cached_input.amount == 0.15
    again = snapshot.parse(parsed.to_json(), "again.json")  # our format round-trips it
    assert snapshot.build_price("cached-everywhere", again).batch_cached_input == (
        price.batch_cached_input
    )


def test_a_schema_2_snapshot_without_the_batch_cached_column_still_reads() -> None:
    columns = [c for c in snapshot.COLUMNS if c != "batch_cached_input"]
    old = {
        "format": snapshot.FORMAT, "schema": 2, "source": "s", "as_of": "2026-11-01",
        "columns": columns,
        "models": {"m": ["openai", 1.0, 2.0, 0.5, 0.5, 1.0, None, None, [], "chat"]},
    }  # fmt: skip
    parsed = snapshot.parse(json.dumps(old), "old.json")
    price = snapshot.build_price("m", parsed)
    assert price.batch_cached_input is None
    assert price.cached_input is not None and price.cached_input.amount == 0.5
    assert price.batch_output is not None and price.batch_output.amount == 1.0
    assert snapshot.parse(parsed.to_json(), "again.json").rows == parsed.rows


def test_shipped_snapshot_has_the_upstream_batch_cached_rates() -> None:
    raw = json.loads((ROOT / "src/llmecon/data/prices/api_prices.json").read_text())
    column = raw["columns"].index("batch_cached_input")
    rows = raw["models"]
    # upstream cache_read_input_token_cost_batches: 1.5e-07 and 1.3e-07 per token
    assert rows["claude-sonnet-4-5"][column] == 0.15 and rows["gpt-5.4"][column] == 0.13
    assert rows["gpt-4o-mini"][column] is None  # upstream has no batch cached rate for it
    # upstream has 219 entries with the field; 197 of them are rows the snapshot keeps
    assert sum(row[column] is not None for row in rows.values()) == 197
    # the same upstream file as before: provenance unchanged
    assert raw["as_of"] == "2026-11-25" and raw["upstream"]["sha256"].startswith("8943af58")


def test_update_carries_the_batch_cached_rate_and_show_shows_it(
    tmp_path: Path, home: Path, llmecon: Callable[..., Run]
) -> None:
    newer = tmp_path / "map.json"
    newer.write_text(json.dumps(BATCH_MAP))
    run = llmecon("prices", "update", "--from", str(newer), "--as-of", "2026-12-01")
    assert run.code == 0, run.err
    shown = llmecon("prices", "show", "cached-everywhere", "--format", "json")
    assert json.loads(shown.out)[0]["batch_cached_input"]["amount"] == 0.15
    table = llmecon("prices", "show", "cached-everywhere")
    assert "batch_cached_input: $0.15 per 1M tokens" in table.out
