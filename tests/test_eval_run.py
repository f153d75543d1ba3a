"""`llmecon eval` end to end: bad task sets, the mock server, every grader against an oracle
endpoint and a mock judge, token counting, and (slow) the embedded model through `serve`."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from eval_oracle import Oracle, serving
from llmecon.core.quality import wilson_interval
from llmecon.mock import MockSettings, running
from llmecon.processes import free_port

TASKS = Path(__file__).resolve().parent.parent / "src" / "llmecon" / "data" / "tasks"


def write(tmp_path: Path, rows: list[Any], name: str = "tasks.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([], "empty dataset; give one JSON object per line"),
        (["", "   "], "empty dataset"),
        ([{"expected": "4", "grader": "exact"}], ":1: missing the task; give 'prompt'"),
        ([{"prompt": "2+2", "grader": "exact"}], ":1: the exact grader needs 'expected'"),
        ([{"prompt": "2+2", "expected": "4"}], ":1: missing 'grader'; give one of exact"),
        (
            [
                {"prompt": "a", "expected": "b", "grader": "exact"},
                {"prompt": "2+2", "expected": "4", "grader": "exactt"},
            ],
            ":2: unknown grader 'exactt' (did you mean 'exact'?); known graders: exact",
        ),
        (
            [{"prompt": "x", "expected": "y", "grader": "exact", "expect": 1}],
            ":1: unknown key 'expect' (did you mean 'expected'?)",
        ),
        (["{not json"], ":1: not valid JSON"),
        (["[1, 2]"], ":1: expected a JSON object, got list"),
        (
            [{"prompt": "a", "messages": [], "expected": "b", "grader": "exact"}],
            "give 'prompt' (a string) or 'messages' (chat messages), exactly one",
        ),
        (
            [{"messages": [{"role": "robot", "content": "x"}], "expected": "b", "grader": "exact"}],
            "messages[0] must be an object with a role",
        ),
        (
            [
                {"id": 1, "prompt": "a", "expected": "b", "grader": "exact"},
                {"id": "1", "prompt": "a", "expected": "b", "grader": "exact"},
            ],
            ":2: id '1' is used twice",
        ),
        (
            [{"prompt": "a", "expected": "b", "grader": {"kind": "choice", "labels": ["x", "y"]}}],
            "'expected' 'b' is not one of the labels",
        ),
        (
            [{"prompt": "a", "grader": {"kind": "judge", "rubric": "r"}}],
            "the task set has judge items; give --judge URL[,MODEL]",
        ),
        (
            [{"prompt": "a", "expected": "b", "grader": "exact", "max_tokens": 0}],
            ":1: max_tokens must be a whole number >= 1",
        ),
    ],
)
def test_bad_datasets_get_one_line_errors(
    llmecon: Callable[..., Any], tmp_path: Path, rows: list[Any], message: str
) -> None:
    path = write(tmp_path, rows)
    run = llmecon("eval", str(path), "--endpoint", "x=http://127.0.0.1:9/v1")
    assert run.code == 2
    assert run.err.startswith("llmecon: error: ")
    assert message in run.err
    assert run.err.count("\n") == 1 and "Traceback" not in run.err


def test_missing_file_and_bad_flags(llmecon: Callable[..., Any], tmp_path: Path) -> None:
    run = llmecon("eval", str(tmp_path / "nope.jsonl"), "--endpoint", "x=http://h/v1")
    assert run.code == 2 and "no such file" in run.err
    path = write(tmp_path, [{"prompt": "a", "expected": "b", "grader": "exact"}])
    for flags, message in [
        (["--endpoint", "x"], "--endpoint 'x': expected NAME=URL[,MODEL]"),
        (["--endpoint", "x=ftp://h"], "--endpoint x: 'ftp://h' is not an http(s) URL"),
        (["--endpoint", "x=http://h/v1", "--endpoint", "x=http://g/v1"], "given twice"),
        (["--endpoint", "x=http://h/v1", "--api-key-env", "y=K"], "no --endpoint has that name"),
        (["--endpoint", "x=http://h/v1", "--api-key-env", "x=LLMECON_UNSET_VAR_17"],
         "LLMECON_UNSET_VAR_17 is not set"),
    ]:  # fmt: skip
        run = llmecon("eval", str(path), *flags)
        assert run.code == 2 and message in run.err, (flags, run.err)


def test_unreachable_endpoint_is_one_line(llmecon: Callable[..., Any], tmp_path: Path) -> None:
    path = write(tmp_path, [{"prompt": "a", "expected": "b", "grader": "exact"}])
    url = f"x=http://127.0.0.1:{free_port()}/v1"
    run = llmecon("eval", str(path), "--endpoint", url, "--retries", "0")
    assert run.code == 2 and "every request failed (connect)" in run.err


def test_against_the_mock_server(llmecon: Callable[..., Any], tmp_path: Path) -> None:
    # The mock answers "tok tok ..." (max_tokens tokens) and counts prompt words as tokens.
    rows = []
    for i in range(30):
        words = " ".join(["word"] * (i % 7 + 1))
        right = i % 3 != 0  # 20 of 30 graded so that the mock's answer is right
        grader = {"kind": "regex", "pattern": r"^(tok ?)+$"} if right else {"kind": "exact"}
        rows.append({"id": f"q{i}", "prompt": words, "expected": "hello", "grader": grader,
                     "max_tokens": 4 + i % 5})  # fmt: skip
    path = write(tmp_path, rows)
    out = tmp_path / "eval.json"
    with running(MockSettings(ttft_ms=1, itl_ms=0.5)) as url:
        run = llmecon("eval", str(path), "--endpoint", f"mock={url}", "--concurrency", "6",
                      "--output", str(out), "--format", "json")  # fmt: skip
    assert run.code == 0, run.err
    document = json.loads(run.out)
    assert json.loads(out.read_text()) == document
    entry = document["endpoints"][0]
    assert (entry["items"], entry["correct"], entry["errors"]) == (30, 20, 0)
    assert entry["accuracy"] == pytest.approx(20 / 30, abs=1e-6)
    assert entry["interval"] == pytest.approx(list(wilson_interval(20, 30)), abs=1e-6)
    tokens = entry["tokens"]
    assert tokens["source"] == "usage"
    assert tokens["input_per_request"] == pytest.approx(
        sum(i % 7 + 1 for i in range(30)) / 30, abs=1e-3
    )
    assert tokens["output_per_request"] == pytest.approx(
        sum(4 + i % 5 for i in range(30)) / 30, abs=1e-3
    )
    latency = entry["latency_ms"]
    assert 1.0 <= latency["p50"] <= latency["p90"] <= latency["p99"]
    assert (
        entry["by_grader"]["regex"]["correct"] == 20 and entry["by_grader"]["exact"]["correct"] == 0
    )
    assert len(entry["failures"]) == 10


def test_mock_server_faults_count_as_errors(llmecon: Callable[..., Any], tmp_path: Path) -> None:
    rows = [{"prompt": "p", "expected": "tok", "grader": "contains"} for _ in range(10)]
    path = write(tmp_path, rows)
    with running(MockSettings(ttft_ms=0, itl_ms=0, fault="http_500", fault_every=5)) as url:
        run = llmecon("eval", str(path), "--endpoint", f"m={url}", "--format", "json",
                      "--concurrency", "1", "--retries", "0")  # fmt: skip
        retried = llmecon("eval", str(path), "--endpoint", f"m={url}", "--format", "json",
                          "--concurrency", "1", "--answers", str(tmp_path / "a.jsonl"))  # fmt: skip
    entry = json.loads(run.out)["endpoints"][0]
    assert (entry["correct"], entry["errors"], entry["error_kinds"]) == (8, 2, {"http_500": 2})
    # with retries (default 2) each failed request is sent again and answered
    entry = json.loads(retried.out)["endpoints"][0]
    assert (entry["correct"], entry["errors"], entry["retries"]) == (10, 0, 2)
    rows = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text().splitlines()]
    assert len(rows) == 10 and sum(r["retries"] for r in rows) == 2
    assert all(r["correct"] and r["answer"].startswith("tok") for r in rows)


SCHEMA_A = {"kind": "json_schema", "schema": {"type": "object", "required": ["a"]}}
MOOD = {"kind": "choice", "labels": ["positive", "negative"]}
JUDGE = {"kind": "judge", "rubric": "Names the capital."}
ORACLE_ROWS: list[tuple[dict[str, Any], str, bool]] = [
    # (item, the oracle's answer, correct?)
    ({"prompt": "capital?", "expected": "Paris", "grader": "exact"}, "Paris", True),
    ({"prompt": "capital2?", "expected": "Paris", "grader": "exact"}, "paris", False),
    ({"prompt": "tower?", "expected": "Eiffel Tower", "grader": "normalized"},
     "the eiffel tower!", True),
    ({"prompt": "colour?", "expected": "blue", "grader": "contains"}, "It is Blue.", True),
    ({"prompt": "colour2?", "expected": "blue", "grader": "contains"}, "red", False),
    ({"prompt": "order?", "grader": {"kind": "regex", "pattern": r"#\d{4}"}}, "order #1234", True),
    ({"prompt": "sum?", "expected": 12.5, "grader": {"kind": "numeric", "tolerance": 0.1}},
     "= 12.55", True),
    ({"prompt": "sum2?", "expected": 12.5, "grader": "numeric"}, "about 13", False),
    ({"prompt": "json?", "expected": {"a": 1}, "grader": SCHEMA_A}, '{"a": 1}', True),
    ({"prompt": "json2?", "grader": SCHEMA_A}, '{"b": 1}', False),
    ({"prompt": "mood?", "expected": "negative", "grader": MOOD}, "Negative", True),
    ({"prompt": "mood2?", "expected": "negative", "grader": MOOD}, "positive", False),
    ({"prompt": "judge1?", "expected": "Lisbon", "grader": JUDGE}, "It is Lisbon.", True),
    ({"prompt": "judge2?", "expected": "Lisbon", "grader": JUDGE}, "It is Porto.", False),
]  # fmt: skip


def test_every_grader_against_an_oracle_and_a_mock_judge(
    llmecon: Callable[..., Any], tmp_path: Path
) -> None:
    path = write(tmp_path, [item for item, _, _ in ORACLE_ROWS])
    oracle = Oracle({item["prompt"]: answer for item, answer, _ in ORACLE_ROWS})
    judge = Oracle({})
    with serving(oracle) as url, serving(judge) as judge_url:
        run = llmecon(
            "eval", str(path), "--endpoint", f"oracle={url},oracle-model", "--judge",
            f"{judge_url},judge-model", "--judge-price", "1,2", "--format", "json",
            "--concurrency", "4",
        )  # fmt: skip
        judge_calls = judge.judge_calls
        table = llmecon("eval", str(path), "--endpoint", f"oracle={url}", "--judge", judge_url)
    assert run.code == 0, run.err
    entry = json.loads(run.out)["endpoints"][0]
    expected_correct = sum(correct for _, _, correct in ORACLE_ROWS)
    assert (entry["items"], entry["correct"]) == (len(ORACLE_ROWS), expected_correct)
    wrong = {f["id"] for f in entry["failures"]}
    assert wrong == {str(n) for n, (_, _, ok) in enumerate(ORACLE_ROWS, start=1) if not ok}
    for kind in (
        "exact",
        "normalized",
        "contains",
        "regex",
        "numeric",
        "json_schema",
        "choice",
        "judge",
    ):
        assert kind in entry["by_grader"]
    assert entry["by_grader"]["judge"] == {**entry["by_grader"]["judge"], "items": 2, "correct": 1}
    judged = entry["judge"]
    assert judged["requests"] == 2 == judge_calls
    # the judge's usage: words in its messages in, words of its reply out; $1 in, $2 out per 1M
    cost = (judged["input_total"] * 1 + judged["output_total"] * 2) / 1e6
    assert judged["output_total"] == 2 * len(["Checked.", "VERDICT:", "PASS"])
    assert judged["cost"] == pytest.approx(cost, rel=1e-9) and cost > 0
    assert table.code == 0 and "judge: 2 calls" in table.out and "--judge-price" in table.out
    assert "oracle-model" in run.out and entry["model"] == "oracle-model"


def test_tokens_are_counted_when_the_server_reports_no_usage(
    llmecon: Callable[..., Any], tmp_path: Path
) -> None:
    from llmecon.bench.prompts import load_tokenizer

    path = write(
        tmp_path, [{"prompt": "How many legs has a spider?", "expected": 8, "grader": "numeric"}]
    )
    with serving(
        Oracle({"How many legs has a spider?": "A spider has 8 legs."}, usage=False)
    ) as url:
        run = llmecon("eval", str(path), "--endpoint", f"o={url}", "--format", "json")
    tokens = json.loads(run.out)["endpoints"][0]["tokens"]
    tokenizer = load_tokenizer(None)
    assert tokens["source"] == "tokenizer"
    assert tokens["input_total"] == len(tokenizer.encode("How many legs has a spider?"))
    assert tokens["output_total"] == len(tokenizer.encode("A spider has 8 legs."))


@pytest.mark.parametrize("name", ["arithmetic", "sentiment", "intent", "extraction"])
def test_shipped_task_sets_read_and_grade_their_own_answers(name: str) -> None:
    from llmecon.eval import read_dataset

    items = read_dataset(TASKS / f"{name}.jsonl")
    assert len(items) >= 12
    rows = [json.loads(line) for line in (TASKS / f"{name}.jsonl").read_text().splitlines()]
    for item, row in zip(items, rows, strict=True):
        expected = row["expected"]
        answer = json.dumps(expected) if isinstance(expected, dict) else str(expected)
        assert item.grader.grade(answer).correct, item.id
        assert not item.grader.grade("I am not sure.").correct, item.id


@pytest.mark.slow
def test_embedded_model_through_serve(llmecon: Callable[..., Any], tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    rows = (TASKS / "sentiment.jsonl").read_text().splitlines()[:4]
    path = write(tmp_path, rows)
    port = free_port()
    serve = subprocess.Popen(
        [sys.executable, "-m", "llmecon", "serve", "--no-auth", "--port", str(port),
         "--ledger", f"sqlite:///{tmp_path / 'ledger.db'}"],
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while True:
            assert serve.poll() is None and time.monotonic() < deadline, "serve did not start"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1):
                    break
            except OSError:
                time.sleep(0.3)
        run = llmecon("eval", str(path), "--endpoint", f"smol=http://127.0.0.1:{port}/v1,smollm2-135m",
                      "--concurrency", "2", "--max-tokens", "8", "--format", "json")  # fmt: skip
    finally:
        serve.send_signal(signal.SIGINT)
        serve.wait(60)
    assert run.code == 0, run.err
    entry = json.loads(run.out)["endpoints"][0]
    assert entry["items"] == 4 and entry["errors"] == 0
    low, high = entry["interval"]
    assert 0 <= low <= entry["accuracy"] <= high <= 1
    assert (
        entry["tokens"]["input_per_request"] > 10 and 0 < entry["tokens"]["output_per_request"] <= 8
    )


def test_keys_come_from_environment_variables(
    llmecon: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMECON_TEST_KEY_A", "sk-endpoint")
    monkeypatch.setenv("LLMECON_TEST_KEY_J", "sk-judge")
    rows = [{"prompt": "q", "expected": "a", "grader": {"kind": "judge", "rubric": "r"}}]
    path = write(tmp_path, rows)
    oracle, judge = Oracle({"q": "a"}), Oracle({})
    with serving(oracle) as url, serving(judge) as judge_url:
        run = llmecon("eval", str(path), "--endpoint", f"a={url}", "--api-key-env",
                      "a=LLMECON_TEST_KEY_A", "--judge", judge_url, "--judge-key-env",
                      "LLMECON_TEST_KEY_J")  # fmt: skip
    assert run.code == 0, run.err
    assert oracle.keys == {"Bearer sk-endpoint"} and judge.keys == {"Bearer sk-judge"}
    assert "sk-" not in run.out + run.err
