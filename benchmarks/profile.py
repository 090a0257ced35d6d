"""Where the engine's time goes: ``python -m benchmarks.profile SUITE [--top N] [--calls N]``.

Runs the tapegrad variant of one suite under cProfile (BLAS pinned to one thread)
and prints the functions with the most time spent in their own code. cProfile
inflates the cost of small Python functions, so read the ranking, not the totals.

``--bytecodes`` instead counts the Python bytecodes one step executes, per function
(``sys.settrace`` opcode events): a measure of the tape's fixed cost that no noisy
neighbour changes.

``--lines`` times each statement of the suite's ``ag.compile``d step instead (the program
a replay runs, each statement between two ``time.perf_counter`` readings, BLAS on one
thread), and prints the slowest statements and how much of the step the matrix products
take (the readings add ~0.05 µs a statement).
"""

from __future__ import annotations

import argparse
import ast
import collections
import cProfile
import pstats
import sys
import time

import numpy as np

from benchmarks import harness, mlp, overhead, scalar, softmax_ce, transformer


def _tapegrad_step(suite):
    if suite == "overhead":
        return overhead.make_variants()["tapegrad"]
    if suite == "scalar":
        return scalar.make_variants()["tapegrad"]
    if suite == "mlp":
        return mlp.make_variants()[0]["tapegrad"]
    if suite == "transformer":
        return transformer.make_variants(transformer.CASE)[0]["tapegrad"]
    return softmax_ce.make_variants((4096, 1000), "float32")[0]["fused"]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile")
    parser.add_argument("suite", choices=["overhead", "scalar", "mlp", "softmax_ce", "transformer"])
    parser.add_argument("--top", type=int, default=20, help="functions to show")
    parser.add_argument("--calls", type=int, default=None, help="steps to profile")
    parser.add_argument("--bytecodes", action="store_true",
                        help="count the bytecodes of one step instead of profiling")
    parser.add_argument("--lines", action="store_true",
                        help="time each statement of the compiled step instead")
    args = parser.parse_args(argv)
    if args.lines:
        calls = args.calls or {"transformer": 50}.get(args.suite, 2000)
        with harness.single_threaded():
            timed = time_compiled_lines(_tapegrad_step(args.suite), calls)
        total = sum(seconds for seconds, _ in timed)
        products = sum(seconds for seconds, text in timed if _is_matrix_product(text))
        print(f"{args.suite}: the compiled step's {len(timed)} statements, {calls} replays: "
              f"{total * 1e6:.1f} µs a step, matrix products {products * 1e6:.1f} µs "
              f"({products / total:.0%})")
        for seconds, text in sorted(timed, key=lambda pair: -pair[0])[:args.top]:
            print(f"{seconds * 1e6:9.2f} µs  {text.splitlines()[0][:110]}")
        return
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


def _is_matrix_product(text):
    return "np.matmul(" in text or ("np.dot(" in text and "_c" not in text)


def time_compiled_lines(step, calls):
    """[(seconds per replay, statement source)] for each top-level statement of the
    program ``ag.compile(step)`` replays, in program order (BLAS threads as they are)."""
    from autograd.compiler import compile as compile_step
    compiled = compile_step(step)
    for _ in range(3):   # record, record again with .grad set, replay
        compiled()
    if not compiled.stats["replayed"]:
        raise RuntimeError(f"ag.compile did not replay the step: {compiled.stats}")
    program = compiled._last
    tree = ast.parse(program.source)
    body = tree.body[0].body
    texts = [ast.unparse(statement) for statement in body]
    timed = []
    for i, statement in enumerate(body):   # _T[i] += the time statement i takes
        start = ast.parse("_LT0 = _LT()").body[0]
        stop = ast.parse(f"_LTS[{i}] += _LT() - _LT0").body[0]
        if isinstance(statement, ast.Return):
            keep = ast.parse("_LTR = 0").body[0]
            keep.value = statement.value
            timed += [start, keep, stop, ast.parse("return _LTR").body[0]]
        else:
            timed += [start, statement, stop]
    tree.body[0].body = timed
    ast.fix_missing_locations(tree)
    sums = [0.0] * len(body)
    namespace = dict(program.replay.__globals__, _LTS=sums, _LT=time.perf_counter)
    exec(compile(tree, "<timed replay>", "exec"), namespace)
    replay = namespace["_replay"]
    replay(())
    sums[:] = [0.0] * len(body)
    for _ in range(calls):
        replay(())
    return [(seconds / calls, text) for seconds, text in zip(sums, texts)]


def count_matrix_products(compiled):
    """Counter of (shape of a, shape of b) over the matrix products (``np.matmul`` of two
    operands of 2 or more dimensions) that one replay of ``compiled`` computes, with the
    program's ``np`` swapped for a counting stand-in during that call."""
    namespace = compiled._last.replay.__globals__
    replayed = compiled.stats["replayed"]
    done = collections.Counter()

    class Counting:
        def __getattr__(self, name):
            return getattr(np, name)

        @staticmethod
        def matmul(a, b, *args, **kwargs):
            if np.ndim(a) >= 2 and np.ndim(b) >= 2:
                done[np.shape(a), np.shape(b)] += 1
            return np.matmul(a, b, *args, **kwargs)

    namespace["np"] = Counting()
    try:
        compiled()
    finally:
        namespace["np"] = np
    if compiled.stats["replayed"] != replayed + 1:
        raise RuntimeError(f"the call did not replay the program: {compiled.stats}")
    return done


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
