"""The benchmark harness runs end to end on a tiny configuration (no timing assertions)."""

import json

import sys

import numpy as np
import pytest

from benchmarks import __main__ as cli
from benchmarks import harness

TINY = ["--quick", "--repeats", "1", "--min-time", "0.0002"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    directory = tmp_path_factory.mktemp("results")
    suites = ["overhead", "scalar", "depth", "softmax_ce", "mlp"]
    argv = TINY + [arg for name in suites for arg in ("--suite", name)]
    assert cli.main(argv + ["--output-dir", str(directory)]) == 0
    return directory, suites


def test_writes_json_with_machine_and_every_suite(tiny_run):
    directory, suites = tiny_run
    results = json.loads((directory / "quick.json").read_text())
    assert results["mode"] == "quick"
    for key in ("date", "platform", "cpu_count", "numpy"):
        assert results["machine"][key]
    assert "1 thread" in results["threads"] or "NOT pinned" in results["threads"]
    assert sorted(results["suites"]) == sorted(suites)
    for suite in results["suites"].values():
        assert suite["rows"], suite["suite"]
        for row in suite["targets"]:
            assert row["status"] in {"PASS", "FAIL", "n.a."}
            assert row["target"].startswith(("<=", ">="))


def test_target_rows_cover_every_suite(tiny_run):
    directory, _ = tiny_run
    results = json.loads((directory / "quick.json").read_text())
    targets = {name: len(suite["targets"]) for name, suite in results["suites"].items()}
    assert targets == {"overhead": 1, "scalar": 1, "depth": 2, "softmax_ce": 3, "mlp": 1}


def test_writes_markdown_table_and_plots(tiny_run):
    directory, suites = tiny_run
    markdown = (directory / "quick.md").read_text()
    assert "| suite | case | measured | value | target | status | details |" in markdown
    for name in suites:
        assert f"## {name}" in markdown
    for name in ("softmax_ce", "depth"):
        png = directory / f"quick-{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_prints_the_table(tiny_run, capsys):
    directory, _ = tiny_run
    cli.main(TINY + ["--suite", "overhead", "--output-dir", str(directory)])
    printed = capsys.readouterr().out
    assert "overhead" in printed and "target" in printed and "status" in printed


def test_running_one_suite_keeps_the_others(tiny_run):
    directory, suites = tiny_run
    cli.main(TINY + ["--suite", "scalar", "--output-dir", str(directory)])
    results = json.loads((directory / "quick.json").read_text())
    assert sorted(results["suites"]) == sorted(suites)


def test_compare_times_reports_median_within_min_max():
    config = harness.Config(quick=True, repeats=3, min_time=0.0001)
    times = harness.compare_times({"a": lambda: np.ones(4).sum(), "b": lambda: 1 + 1}, config)
    assert set(times) == {"a", "b"}
    for stats in times.values():
        assert stats["samples"] == 3
        assert 0 < stats["min"] <= stats["median"] <= stats["max"]


def test_peak_memory_sees_numpy_buffers():
    peak = harness.peak_extra_bytes(lambda: np.ones(1_000_000).sum())
    assert 8_000_000 <= peak < 16_000_000


def test_check_statuses():
    assert harness.check(3.9, 4) == "PASS"
    assert harness.check(4.1, 4) == "FAIL"
    assert harness.check(3.5, 3, at_most=False) == "PASS"
    assert harness.check(None, 4) == "n.a."


def test_profile_prints_the_engine_functions(capsys):
    from benchmarks import profile

    profile.main(["overhead", "--calls", "20", "--top", "5"])
    printed = capsys.readouterr().out
    assert "20 tapegrad steps" in printed and "autograd" in printed


def test_bytecode_count_names_the_functions_a_step_runs():
    from benchmarks.profile import count_bytecodes

    def step():
        return sum(i * i for i in range(10))

    before = sys.gettrace()
    counts = count_bytecodes(step)
    assert counts["test_benchmarks.py:step"] > 0
    assert counts["test_benchmarks.py:<genexpr>"] > counts["test_benchmarks.py:step"]
    assert sys.gettrace() is before  # whatever tracer was there is back


def test_paired_ratio_is_the_median_of_per_round_ratios():
    """Round by round, a slow spell (rounds 2, 4, 5 run 10x slower) slows both variants
    and cancels out: ``a`` is 3x ``b`` in four rounds of five. The ratio of the two
    medians, 3 / 10, would pair a fast sample of ``a`` with a slow one of ``b``."""
    timings = {"a": {"values": [3.0, 30.0, 3.0, 30.0, 2.0]},
               "b": {"values": [1.0, 10.0, 1.0, 10.0, 10.0]}}
    assert harness.paired_ratio(timings, "a", "b") == 3.0
    median_a, median_b = (sorted(timings[name]["values"])[2] for name in "ab")
    assert median_a / median_b == pytest.approx(0.3)  # what the medians' ratio would say
    assert harness.paired_ratio(timings, "a", "missing") is None
