"""What each pass of the fused cross-entropy costs: ``python -m benchmarks.passes [NxC ...]``.

Issue 17 asks which pass of the fused op costs what. This builds the op's blocked sweep
up one pass at a time, in blocks of rows as ``autograd/fused.py`` works (its
``_BLOCK_BYTES``, row sums by its ``_row_summer``), and prints each step's time as a
multiple of ``np.exp`` alone over the same logits, float32, BLAS on one thread:

1. ``exp``: ``np.exp`` of each block into a new logits-sized buffer;
2. ``+ row sums``: and the block's row sums (BLAS, as the op adds them);
3. ``+ row scaling``: and each row scaled by ``1 / (N * sum)`` in place (a broadcast);
4. ``+ targets``: and ``exp(z[y])`` gathered, the one-hot term subtracted;
5. ``fused sweep``: ``fused._sweep`` itself (adds the range check and the row losses);
6. ``ag.cross_entropy``: the whole call, forward and backward, as the benchmark times it.

Each figure is the median over rounds of the ratio to an ``np.exp`` alone timed just
before and just after it (``np.exp(z, out=buffer)``, as the ``softmax_ce`` suite's
limit row): the differences between lines are what the added work costs.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import autograd as ag
from autograd import fused
from benchmarks import harness


def _steps(z, classes):
    """{name: function of no arguments} for the cumulative steps, on logits z (N, C),
    and the array they all read (the logits tensor's own data: every step, np.exp alone
    included, then reads the same memory, as warm or cold in cache as for the others)."""
    logits = ag.tensor(z, requires_grad=True)
    z = logits.data
    rows, num_classes = z.shape
    step = max(1, fused._BLOCK_BYTES // (num_classes * z.itemsize))
    add_rows = fused._row_summer(num_classes, z.dtype, min(step, rows))
    sums = np.empty(rows, z.dtype)
    factors = np.empty((rows, 1), z.dtype)
    picked = np.empty(rows, z.dtype)
    local = (np.arange(rows) % step) * num_classes + classes
    target = fused.index_target(classes, num_classes, dtype=z.dtype)
    row_factor = fused._row_factor(target, "mean", z.dtype)

    def build(sum_rows=False, scale=False, targets=False):
        def run():
            buffer = np.empty_like(z)
            for start in range(0, rows, step):
                block = slice(start, start + step)
                values = buffer[block]
                np.exp(z[block], out=values)
                if sum_rows:
                    add_rows(values, sums[block])
                if targets:
                    picked[block] = values.reshape(-1)[local[block]]
                if scale:
                    np.divide(1 / rows, sums[block, None], out=factors[block])
                    np.multiply(values, factors[block], out=values)
                if targets:
                    values.reshape(-1)[local[block]] -= 1 / rows
            return buffer
        return run

    def whole_call():
        logits.grad = None
        ag.cross_entropy(logits, classes).backward()

    steps = {"exp": build(),
             "+ row sums": build(sum_rows=True),
             "+ row scaling": build(sum_rows=True, scale=True),
             "+ targets": build(sum_rows=True, scale=True, targets=True),
             "fused sweep": lambda: fused._sweep(z, target, row_factor),
             "ag.cross_entropy": whole_call}
    return steps, z


def measure(shape, rounds=41):
    """{step: median ratio to np.exp alone} and np.exp alone's median seconds."""
    rng = np.random.default_rng(0)
    classes = rng.integers(0, shape[1], shape[0])
    steps, z = _steps((rng.standard_normal(shape) * 3).astype(np.float32), classes)
    reference = np.empty_like(z)
    ratios = {name: [] for name in steps}
    exps = []
    for function in steps.values():
        function()
    clock = time.perf_counter
    for _ in range(rounds):
        for name, function in steps.items():
            t0 = clock()
            np.exp(z, out=reference)
            t1 = clock()
            function()
            t2 = clock()
            np.exp(z, out=reference)
            t3 = clock()
            exp_time = ((t1 - t0) + (t3 - t2)) / 2
            ratios[name].append((t2 - t1) / exp_time)
            exps.append(exp_time)
    return {name: float(np.median(values)) for name, values in ratios.items()}, float(np.median(exps))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.passes")
    parser.add_argument("shapes", nargs="*", default=["4096x1000", "64x50000"],
                        help="logits shapes N x C (float32)")
    parser.add_argument("--rounds", type=int, default=41)
    args = parser.parse_args(argv)
    machine = harness.machine_info()
    print(f"{machine['cpu']}, AVX-512: {machine['avx512']}; float32; ratios to np.exp alone "
          f"(medians of {args.rounds} paired rounds)")
    with harness.single_threaded() as threads:
        print(threads)
        for text in args.shapes:
            shape = tuple(int(part) for part in text.lower().split("x"))
            ratios, exp_time = measure(shape, args.rounds)
            print(f"\n{shape[0]}x{shape[1]}: np.exp alone {exp_time * 1e3:.2f} ms")
            previous = None
            for name, ratio in ratios.items():
                added = "" if previous is None else f"  ({ratio - previous:+.2f})"
                print(f"  {name:18s} {ratio:5.2f}x{added}")
                previous = ratio


if __name__ == "__main__":
    main()
