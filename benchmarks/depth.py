"""depth: backward through long chains, cost per node.

A chain ``y = y * c`` of n multiplications on a (4,) float64 tensor, then ``.sum()``;
we time ``backward`` alone (building the chain is untimed, reported separately)
for n = 1e3 .. 1e6. Small chains are built in several copies so each sample walks
at least ~1e5 nodes. The garbage collector stays on: its passes over a million
tensors are part of what a user pays.
Target: per-node backward cost at 1e6 <= 1.5x the cost at 1e3.

Wide joins too: ``stack`` of n (2,) leaves, backward alone, cost per input for n = 1e3
and 1.6e4 (1e5 in a full run). A join hands its VJP every input, so a per-input VJP
call would make this O(n^2); the target is the same 1.5x per input.
"""

from __future__ import annotations

import numpy as np

import autograd as ag
from benchmarks import harness, report

NAME = "depth"
TARGET = 1.5
REPEATS, QUICK_REPEATS = 5, 3  # samples at most: each is long (>= 1e5 nodes walked; quick 2e4)


def build_chain(length, factor):
    x = ag.tensor(np.ones(4), requires_grad=True)
    y = x
    for _ in range(length):
        y = y * factor
    return x, y.sum()


def run(config):
    sizes = [10**3, 10**4, 10**5] if config.quick else [10**3, 10**4, 10**5, 10**6]
    nodes_per_sample = 20_000 if config.quick else 100_000
    repeats = min(QUICK_REPEATS if config.quick else REPEATS, config.repeats)
    factor = ag.tensor(1.0000001)  # shared constant, so each node is one recorded mul
    build_times = {}

    def variant(length):
        copies = max(1, nodes_per_sample // length)

        def setup():
            start = config.timer()
            chains = [build_chain(length, factor) for _ in range(copies)]
            build_times.setdefault(length, []).append((config.timer() - start) / copies)
            return chains

        def backward_all(chains):
            for _, output in chains:
                output.backward()

        return setup, backward_all

    x, output = build_chain(sizes[0], factor)  # correctness: d/dx of sum(x * c^n) = c^n
    output.backward()
    np.testing.assert_allclose(x.grad, np.full(4, 1.0000001 ** sizes[0]), rtol=1e-12)

    variants = {f"{n:.0e}": variant(n) for n in sizes}
    widths = [1000, 16_000] if config.quick else [1000, 16_000, 100_000]

    def join(width):
        def setup():
            leaves = [ag.tensor(np.ones(2), requires_grad=True) for _ in range(width)]
            return ag.stack(leaves).sum()

        return setup, lambda output: output.backward()

    variants.update({f"stack {n:,}": join(n) for n in widths})
    times = harness.compare_times_with_setup(variants, repeats, config.timer)
    join_times = {n: times.pop(f"stack {n:,}") for n in widths}
    rows = []
    per_node = {}
    for n, (name, stats) in zip(sizes, times.items()):
        copies = max(1, nodes_per_sample // n)
        scale = 1 / (copies * n)
        per_node[n] = {key: stats[key] * scale for key in ("median", "min", "max")}
        per_node[n]["samples"] = stats["samples"]
        build = float(np.median(build_times[n])) / n
        rows.append({"case": f"chain of {n:.0e} nodes",
                     "times": {"backward per node": per_node[n]},
                     "extra": {"build per node": report.format_seconds(build),
                               "backward total": report.format_seconds(
                                   per_node[n]["median"] * n)}})
    per_input = {}
    for n in widths:
        per_input[n] = {key: join_times[n][key] / n for key in ("median", "min", "max")}
        per_input[n]["samples"] = join_times[n]["samples"]
        rows.append({"case": f"stack of {n:,} inputs",
                     "times": {"backward per node": per_input[n]},
                     "extra": {"build per node": "",
                               "backward total": report.format_seconds(join_times[n]["median"])}})
    widest = widths[-1]
    join_ratio = per_input[widest]["median"] / per_input[widths[0]]["median"]
    largest = sizes[-1]
    value = per_node[largest]["median"] / per_node[sizes[0]]["median"]
    case = f"{largest:.0e} vs {sizes[0]:.0e}"
    notes = []
    if config.quick:
        notes.append("quick mode stops at 1e5 nodes; the target is stated for 1e6 "
                     "(run without --quick)")
    detail = ", ".join(f"{n:.0e}: {per_node[n]['median'] * 1e6:.2f} µs/node" for n in sizes)
    return {
        "suite": NAME,
        "description": "backward through a chain of n muls: cost per node (build untimed, "
                       "shown separately).",
        "columns": ["backward per node"],
        "rows": rows,
        "extra_columns": ["build per node", "backward total"],
        "targets": [harness.target_row(case, "per-node backward cost ratio", value,
                                       f"<= {TARGET:g}x", harness.check(value, TARGET), detail),
                    harness.target_row(
                        f"stack {widest:,} vs {widths[0]:,}", "per-input backward cost ratio",
                        join_ratio, f"<= {TARGET:g}x", harness.check(join_ratio, TARGET),
                        ", ".join(f"{n:,}: {per_input[n]['median'] * 1e6:.2f} µs/input"
                                  for n in widths))],
        "notes": notes,
        "plot_data": {"sizes": sizes, "per_node": [per_node[n]["median"] for n in sizes],
                      "widths": widths, "per_input": [per_input[n]["median"] for n in widths],
                      "target": TARGET},
    }
