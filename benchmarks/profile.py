"""Where the engine's time goes: ``python -m benchmarks.profile SUITE [--top N] [--calls N]``.

Runs the tapegrad variant of one suite under cProfile (BLAS pinned to one thread)
and prints the functions with the most time spent in their own code. cProfile
inflates the cost of small Python functions, so read the ranking, not the totals.

``--bytecodes`` instead counts the Python bytecodes one step executes, per function
(``sys.settrace`` opcode events): a measure of the tape's fixed cost that no noisy
neighbour changes.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import pstats
import sys

from benchmarks import harness, mlp, overhead, scalar, softmax_ce


def _tapegrad_step(suite):
    if suite == "overhead":
        return overhead.make_variants()["tapegrad"]
    if suite == "scalar":
        return scalar.make_variants()["tapegrad"]
    if suite == "mlp":
        return mlp.make_variants()[0]["tapegrad"]
    return softmax_ce.make_variants((4096, 1000), "float32")[0]["fused"]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile")
    parser.add_argument("suite", choices=["overhead", "scalar", "mlp", "softmax_ce"])
    parser.add_argument("--top", type=int, default=20, help="functions to show")
    parser.add_argument("--calls", type=int, default=None, help="steps to profile")
    parser.add_argument("--bytecodes", action="store_true",
                        help="count the bytecodes of one step instead of profiling")
    args = parser.parse_args(argv)
    if args.bytecodes:
        counts = count_bytecodes(_tapegrad_step(args.suite))
        print(f"{args.suite}: {sum(counts.values())} bytecodes in one tapegrad step")
        for where, count in counts.most_common(args.top):
            print(f"{count:8d}  {where}")
        return
    calls = args.calls or {"overhead": 20000, "scalar": 3000, "mlp": 1000}.get(args.suite, 20)
    step = _tapegrad_step(args.suite)
    with harness.single_threaded():
        step()
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(calls):
            step()
        profiler.disable()
    print(f"{args.suite}: {calls} tapegrad steps under cProfile")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(args.top)


def count_bytecodes(step):
    """{"file:function": bytecodes executed} for one call of ``step`` (after a warm-up call)."""
    step()
    counts = collections.Counter()

    def trace(frame, event, arg):
        frame.f_trace_opcodes = True
        if event == "opcode":
            code = frame.f_code
            counts[f"{code.co_filename.rsplit('/', 1)[-1]}:{code.co_name}"] += 1
        return trace

    previous = sys.gettrace()  # a coverage tool's tracer, say: put it back afterwards
    sys.settrace(trace)
    try:
        step()
    finally:
        sys.settrace(previous)
    return counts


if __name__ == "__main__":
    main()
