"""python -m benchmarks [--quick] [--suite NAME ...] [--update-headline]: run, print, write results.

Every run writes into benchmarks/results/runs/ (ignored by git), so running the
benchmarks never changes a committed file. The committed headline results,
benchmarks/results/headline.{json,md} and headline-*.png, change only with
--update-headline (a full run, not --quick).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from benchmarks import (
    depth, harness, linear_ce, mlp, overhead, plots, report, scalar, softmax_ce, transformer,
)

SUITES = {module.NAME: module for module in
          (overhead, scalar, mlp, depth, softmax_ce, linear_ce, transformer)}
RESULTS_DIRECTORY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
RUNS_DIRECTORY = os.path.join(RESULTS_DIRECTORY, "runs")
HEADLINE = "headline"


def _relative(path):
    """``path`` relative to the current directory when it is below it (shorter to print)."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def parse(argv):
    full, quick = harness.Config.for_mode(False), harness.Config.for_mode(True)
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="tapegrad benchmarks; run from the repository root. A run prints its tables "
                    f"and writes {_relative(RUNS_DIRECTORY)}/latest.{{json,md}} and "
                    "latest-{softmax_ce,depth}.png (--quick: quick.*), a folder git ignores. "
                    "Committed results change only with --update-headline.")
    parser.add_argument("--quick", action="store_true",
                        help="smaller sizes, fewer samples: the CI smoke run (under 60 s)")
    parser.add_argument("--suite", action="append", choices=list(SUITES), metavar="NAME",
                        help=f"run only this suite (repeatable): {', '.join(SUITES)}; the other "
                             "suites' last results are kept in the files written")
    parser.add_argument("--repeats", type=int,
                        help=f"samples per variant (default {full.repeats}; --quick {quick.repeats}; "
                             f"the depth suite takes at most {depth.REPEATS}, --quick {depth.QUICK_REPEATS})")
    parser.add_argument("--min-time", type=float,
                        help=f"seconds per sample (default {full.min_time:g}; "
                             f"--quick {quick.min_time:g})")
    parser.add_argument("--clock", choices=list(harness.CLOCKS), default="cpu",
                        help="cpu: process CPU time, robust on a shared machine (default); "
                             "wall: wall-clock time")
    parser.add_argument("--output-dir", default=RUNS_DIRECTORY,
                        help=f"where to write this run (default: {_relative(RUNS_DIRECTORY)})")
    parser.add_argument("--update-headline", action="store_true",
                        help=f"also copy this full run to {_relative(RESULTS_DIRECTORY)}/"
                             f"{HEADLINE}.{{json,md}} and {HEADLINE}-*.png, the committed "
                             "results the README quotes (with --suite: only those suites)")
    args = parser.parse_args(argv)
    if args.update_headline and args.quick:
        parser.error("--update-headline takes a full run: drop --quick")
    return args


def _merge_previous(results, path):
    """A run of some suites keeps the other suites' last results from ``path``."""
    try:
        with open(path) as previous_file:
            previous = json.load(previous_file)
    except (OSError, ValueError):
        return
    if previous.get("mode") != results["mode"]:
        return
    merged = {name: previous["suites"][name] for name in SUITES if name in previous["suites"]}
    kept = [name for name in merged if name not in results["suites"]]
    merged.update(results["suites"])
    results["suites"] = {name: merged[name] for name in SUITES if name in merged}
    if kept:
        results["merged_from_earlier_runs"] = kept


def write(results, directory, stem, previous=None):
    """Merge with ``previous`` (a json path) if given, draw, write; return the paths written."""
    if previous is not None:
        _merge_previous(results, previous)
    os.makedirs(directory, exist_ok=True)
    notes, figures = plots.draw(results["suites"], directory, stem, results["machine"])
    for note in notes:
        print(note, file=sys.stderr)
    return [*report.write(results, directory, stem), *figures]


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse(argv)
    config = harness.Config.for_mode(args.quick, args.repeats, args.min_time, args.clock)
    selected = args.suite or list(SUITES)
    stem = "quick" if args.quick else "latest"
    results = {
        "command": " ".join(["python -m benchmarks", *argv]),
        "mode": "quick" if args.quick else "full",
        "machine": harness.machine_info(),
        "suites": {},
    }
    with harness.single_threaded() as threads:
        results["threads"] = threads
        results["clock"] = harness.CLOCKS[config.clock][1]
        for name in selected:
            print(f"running {name} ...", file=sys.stderr, flush=True)
            start = time.perf_counter()
            suite = SUITES[name].run(config)
            suite["date"] = results["machine"]["date"]
            suite["engine"] = results["machine"]["engine"]
            suite["command"] = results["command"]
            suite["seconds"] = round(time.perf_counter() - start, 1)
            results["suites"][name] = suite
            print(f"  {name} done in {suite['seconds']} s", file=sys.stderr, flush=True)
    headline = json.loads(json.dumps(results)) if args.update_headline else None
    paths = write(results, args.output_dir, stem,
                  os.path.join(args.output_dir, f"{stem}.json") if args.suite else None)
    if headline is not None:
        headline_json = os.path.join(RESULTS_DIRECTORY, f"{HEADLINE}.json")
        paths += write(headline, RESULTS_DIRECTORY, HEADLINE, headline_json if args.suite else None)
    print(report.as_text(results))
    print("\nwrote " + ", ".join(_relative(path) for path in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
