"""The benchmark harness runs end to end on a tiny configuration (no timing assertions)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks import __main__ as cli
from benchmarks import harness, plots

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--quick", "--repeats", "1", "--min-time", "0.0002"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    directory = tmp_path_factory.mktemp("results")
    suites = ["overhead", "scalar", "depth", "softmax_ce", "mlp", "linear_ce", "transformer"]
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
    assert targets == {"overhead": 2, "scalar": 1, "depth": 2, "softmax_ce": 6, "mlp": 2,
                       "linear_ce": 3, "transformer": 2}


def test_writes_markdown_table_and_plots(tiny_run):
    directory, suites = tiny_run
    markdown = (directory / "quick.md").read_text()
    assert "| suite | case | measured | value | target | status | details |" in markdown
    for name in suites:
        assert f"## {name}" in markdown
    for name in ("softmax_ce", "depth"):
        png = directory / f"quick-{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"![{name}](quick-{name}.png)" in markdown


def test_prints_the_table_and_every_file_written(tiny_run, capsys):
    directory, _ = tiny_run
    cli.main(TINY + ["--suite", "overhead", "--output-dir", str(directory)])
    printed = capsys.readouterr().out
    assert "overhead" in printed and "target" in printed and "status" in printed
    wrote = printed.splitlines()[-1]
    for name in ("quick.json", "quick.md", "quick-softmax_ce.png", "quick-depth.png"):
        assert str(directory / name) in wrote


def test_softmax_ce_rows_carry_the_machine_limits(tiny_run):
    """Every case has the three limit rows (np.exp alone, one pass, exp + row scaling) and
    the ratios to them; --quick judges both target cases, each with three target rows."""
    from benchmarks import softmax_ce

    directory, _ = tiny_run
    suite = json.loads((directory / "quick.json").read_text())["suites"]["softmax_ce"]
    assert {"np.exp alone", "one pass", "exp + row scaling"} <= set(suite["columns"])
    assert "fused / exp + row scaling" in suite["extra_columns"]
    for row in suite["rows"]:
        for name in ("fused / exp alone", "fused / exp + row scaling", "fused / one pass",
                     "exp + row scaling / exp alone", "fused / NumPy", "composed / fused",
                     "composed / exp alone", "fused mem / logits"):
            assert row["ratios"][name] > 0, (row["case"], name)
        assert row["extra"]["fused / exp + row scaling"].endswith("x"), row["case"]
    cases = ["4096x1000 float32", "64x50000 float32"]
    assert suite["plot_data"]["target_cases"] == cases
    assert {row["case"] for row in suite["rows"]} >= set(cases)
    metrics = {"fused / np.exp alone (time)": "<= 1.6x", "fused / NumPy in-place (time)": "<= 1.1x",
               "fused peak extra memory / logits": "<= 1.05x"}
    assert [(row["case"], row["metric"], row["target"]) for row in suite["targets"]] == [
        (case, metric, limit) for case in cases for metric, limit in metrics.items()]
    assert not any("composed / fused" in row["metric"] for row in suite["targets"])
    for case in cases:
        (target,) = [row for row in suite["targets"]
                     if row["case"] == case and row["metric"] == "fused / np.exp alone (time)"]
        for name in ("fused", "composed", "NumPy in-place", *softmax_ce.LIMITS):
            assert re.search(rf"\b{re.escape(name)} \d+\.\d\d ms", target["detail"]), (case, name)
        for ratio in ("fused / exp + row scaling = ", "exp + row scaling / np.exp alone = ",
                      "fused / one pass = ", "composed / fused = "):
            assert ratio in target["detail"], (case, ratio)


def test_exp_and_row_scaling_leaves_each_row_scaled():
    """The limit row does the work it claims: exp of every logit, each row times its factor,
    across block boundaries (a block of 1 MiB holds 5 rows of 50000 float32)."""
    from benchmarks import softmax_ce

    rng = np.random.default_rng(1)
    logits = rng.standard_normal((12, 50000)).astype(np.float32)
    factors = rng.uniform(0.5, 2.0, 12).astype(np.float32)
    buffer = np.empty_like(logits)
    out = softmax_ce.exp_and_row_scaling(logits, buffer, factors)
    assert out is buffer
    np.testing.assert_allclose(out, np.exp(logits) * factors[:, None], rtol=1e-6)


def test_machine_records_cpu_and_avx512():
    machine = harness.machine_info()
    assert machine["cpu"]
    assert machine["avx512"] in (True, False, None)
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as cpuinfo:
            assert machine["avx512"] == bool(re.search(r"\bavx512f\b", cpuinfo.read()))


def _tracked_results():
    listing = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-s", "benchmarks/results"],
                             capture_output=True, text=True)
    if listing.returncode != 0:
        pytest.skip("not a git checkout")  # a source tree without .git: nothing is tracked
    return listing.stdout


def test_default_run_writes_outside_the_committed_files():
    """Without --output-dir a run goes to benchmarks/results/runs/, which git ignores, and
    the committed results are the headline files alone."""
    runs = ROOT / "benchmarks" / "results" / "runs"
    assert cli.parse(TINY).output_dir == str(runs) == cli.RUNS_DIRECTORY
    assert cli.parse([]).update_headline is False
    tracked = _tracked_results()
    for name in ("latest.json", "latest-softmax_ce.png"):
        ignored = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", str(runs / name)])
        assert ignored.returncode == 0, f"benchmarks/results/runs/{name} is not ignored by git"
    assert "runs/" not in tracked and "headline.json" in tracked


def test_update_headline_writes_the_headline_files(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(cli, "RESULTS_DIRECTORY", str(tmp_path / "results"))
    runs = tmp_path / "runs"
    tiny_full = ["--repeats", "1", "--min-time", "0.0002", "--suite", "overhead"]
    assert cli.main(tiny_full + ["--output-dir", str(runs), "--update-headline"]) == 0
    headline = json.loads((tmp_path / "results" / "headline.json").read_text())
    assert headline["mode"] == "full" and list(headline["suites"]) == ["overhead"]
    assert (tmp_path / "results" / "headline.md").exists()
    assert (runs / "latest.json").exists()
    # A later run without the flag leaves the headline alone.
    before = (tmp_path / "results" / "headline.json").read_bytes()
    assert cli.main(tiny_full + ["--output-dir", str(runs)]) == 0
    assert (tmp_path / "results" / "headline.json").read_bytes() == before
    capsys.readouterr()


def test_update_headline_refuses_a_quick_run(capsys):
    with pytest.raises(SystemExit):
        cli.parse(["--quick", "--update-headline"])
    assert "--update-headline takes a full run" in capsys.readouterr().err


def test_help_states_the_harness_sample_counts(capsys):
    with pytest.raises(SystemExit):
        cli.parse(["--help"])
    printed = " ".join(capsys.readouterr().out.split())
    full, quick = harness.Config.for_mode(False), harness.Config.for_mode(True)
    assert f"default {full.repeats}; --quick {quick.repeats}" in printed
    assert "benchmarks/results/runs" in printed and "--update-headline" in printed


def test_benchmarks_readme_states_the_harness_sample_counts():
    text = " ".join((ROOT / "benchmarks" / "README.md").read_text().split())
    full, quick = harness.Config.for_mode(False), harness.Config.for_mode(True)
    assert f"{full.repeats} samples ({quick.repeats} in `--quick`)" in text
    assert "results/runs/" in text and "headline" in text and ".png" in text


def test_plots_draw_every_panel_from_a_full_shaped_suite(tmp_path):
    """Both dtypes and every shape of a full run reach the figure (drawn, not just saved)."""
    rows = []
    for dtype in ("float32", "float64"):
        for shape in ([128, 10], [4096, 1000]):
            times = {name: {"median": 1e-3 * (i + 1)} for i, name in
                     enumerate(["fused", "composed", "np.exp alone", "one pass",
                                "exp + row scaling"])}
            rows.append({"case": f"{shape[0]}x{shape[1]} {dtype}", "shape": shape, "dtype": dtype,
                         "logits_bytes": shape[0] * shape[1] * 4, "times": times,
                         "memory": {"fused": 100, "composed": 600},
                         "ratios": {"fused / exp alone": 1.5, "exp + row scaling / exp alone": 1.2}})
    suite = {"rows": rows,
             "columns": ["fused", "composed", "np.exp alone", "one pass", "exp + row scaling"],
             "plot_data": {"target_cases": ["4096x1000 float32", "64x50000 float32"],
                           "exp_ratio_limit": 1.6, "near_numpy": 1.1, "memory_limit": 1.05}}
    notes, paths = plots.draw({"softmax_ce": suite}, str(tmp_path), "t",
                              {"cpu": "Test CPU", "avx512": True, "cpu_count": 2})
    assert notes == [] and paths == [str(tmp_path / "t-softmax_ce.png")]
    assert (tmp_path / "t-softmax_ce.png").read_bytes()[:4] == b"\x89PNG"
    assert plots.machine_caption({"cpu": "Test CPU", "avx512": False}) == "Test CPU, no AVX-512"


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


def test_the_mlp_matmul_floor_is_part_of_what_the_compiled_step_does():
    # "matmuls alone" is a floor under the mlp's compiled ratio: each of its 5 products
    # (shapes of both operands) is one the replayed program computes
    import collections

    from benchmarks import mlp
    from benchmarks.profile import count_matrix_products
    floor = mlp.matmul_floor()
    assert len(floor.shapes) == 5
    floor()
    done = count_matrix_products(mlp.make_variants()[0][mlp.COMPILED])
    assert collections.Counter(floor.shapes) == done    # exactly the program's products


def test_profile_prints_the_engine_functions(capsys):
    from benchmarks import profile

    profile.main(["overhead", "--calls", "20", "--top", "5"])
    printed = capsys.readouterr().out
    assert "20 tapegrad steps" in printed and "autograd" in printed


def test_compiled_lines_time_every_statement_and_keep_the_result():
    import autograd as ag
    from benchmarks.profile import time_compiled_lines

    w = ag.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    x = np.ones((4, 2))

    def step():
        w.grad = None
        loss = (np.tanh(ag.tensor(x) @ w) ** 2).sum()
        loss.backward()
        return loss.data

    timed = time_compiled_lines(step, calls=5)
    texts = [text for _, text in timed]
    assert all(seconds >= 0 for seconds, _ in timed)
    assert any("np.matmul(" in text for text in texts) and texts[-1].startswith("return")
    assert any("np.tanh(" in text for text in texts)
    want = 2 * np.tanh(x @ w.data) * (1 - np.tanh(x @ w.data) ** 2)
    np.testing.assert_allclose(w.grad, x.T @ want)        # the timed replays wrote .grad


def test_profile_lines_prints_the_share_of_matrix_products(capsys):
    from benchmarks import profile

    profile.main(["mlp", "--lines", "--calls", "5", "--top", "3"])
    printed = capsys.readouterr().out
    assert "matrix products" in printed and "np.matmul(" in printed


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


def test_passes_builds_the_fused_sweep_up_one_pass_at_a_time():
    """python -m benchmarks.passes: every step runs, its last step is the whole call, and
    the block-by-block steps compute what the fused op does (the gradient of the mean)."""
    import autograd as ag
    from benchmarks import passes

    rng = np.random.default_rng(0)
    z = rng.standard_normal((300, 700)).astype(np.float32)
    classes = rng.integers(0, 700, 300)
    steps, read = passes._steps(z, classes)
    np.testing.assert_array_equal(read, z)
    assert list(steps)[0] == "exp" and list(steps)[-1] == "ag.cross_entropy"
    np.testing.assert_allclose(steps["exp"](), np.exp(z), rtol=1e-6)
    logits = ag.tensor(z, requires_grad=True)
    ag.cross_entropy(logits, classes).backward()
    np.testing.assert_allclose(steps["+ targets"](), logits.grad, rtol=1e-5, atol=1e-9)
    ratios, exp_time = passes.measure((64, 200), rounds=1)
    assert set(ratios) == set(steps) and exp_time > 0
    assert all(ratio > 0 for ratio in ratios.values())
