"""python -m benchmarks [--quick] [--suite NAME ...]: run, print the table, write results."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from benchmarks import depth, harness, mlp, overhead, plots, report, scalar, softmax_ce

SUITES = {module.NAME: module for module in (overhead, scalar, mlp, depth, softmax_ce)}
RESULTS_DIRECTORY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def parse(argv):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="tapegrad benchmarks. A full run writes results/latest.{json,md,png}; "
                    "--quick (a smoke run for CI) writes results/quick.*.")
    parser.add_argument("--quick", action="store_true", help="small sizes, few samples (< 60 s)")
    parser.add_argument("--suite", action="append", choices=list(SUITES), metavar="NAME",
                        help=f"run only this suite (repeatable): {', '.join(SUITES)}")
    parser.add_argument("--repeats", type=int, help="samples per variant (default 11; quick 5)")
    parser.add_argument("--min-time", type=float,
                        help="seconds per sample (default 0.02; quick 0.005)")
    parser.add_argument("--clock", choices=list(harness.CLOCKS), default="cpu",
                        help="cpu: process CPU time, robust on a shared machine (default); "
                             "wall: wall-clock time")
    parser.add_argument("--output-dir", default=RESULTS_DIRECTORY,
                        help="where to write results (default: benchmarks/results)")
    return parser.parse_args(argv)


def _merge_previous(results, path):
    """A full run of some suites keeps the other suites' last full results in latest.json."""
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
    os.makedirs(args.output_dir, exist_ok=True)
    for note in plots.draw(results["suites"], args.output_dir, stem):
        print(note, file=sys.stderr)
    if args.suite:
        _merge_previous(results, os.path.join(args.output_dir, f"{stem}.json"))
    paths = report.write(results, args.output_dir, stem)
    print(report.as_text(results))
    print("\nwrote " + ", ".join(paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
