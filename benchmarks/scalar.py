"""scalar: the expression from micrograd's README, forward and backward, on 0-d tensors.

Everything is a scalar, so this measures pure per-operation overhead against
micrograd's ``Value`` (and PyTorch 0-d tensors if installed).
Target: tapegrad <= 1.0x micrograd.
"""

from __future__ import annotations

import numpy as np

import autograd as ag
from benchmarks import harness, overhead

NAME = "scalar"
TARGET = 1.0
COMPILED = overhead.COMPILED
EXPECTED = (24.7041, 138.8338, 645.5773)  # g, dg/da, dg/db as micrograd's README prints them


def expression(a, b):
    """micrograd's README example: any type with + - * / ** relu works."""
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    return g


def make_variants():
    def tapegrad():
        a = ag.tensor(-4.0, requires_grad=True)
        b = ag.tensor(2.0, requires_grad=True)
        g = expression(a, b)
        g.backward()
        return float(g.data), float(a.grad), float(b.grad)

    def step(a, b):
        g = expression(a, b)
        g.backward()
        return g.data, a.grad, b.grad

    from autograd.compiler import compile
    compiled_step = compile(step)

    def tapegrad_compiled():  # the leaves are made per call, as above: arguments of the program
        a = ag.tensor(-4.0, requires_grad=True)
        b = ag.tensor(2.0, requires_grad=True)
        g, ga, gb = compiled_step(a, b)
        return float(g), float(ga), float(gb)

    for _ in range(3):
        tapegrad_compiled()
    if not compiled_step.stats["replayed"]:
        raise RuntimeError(f"ag.compile did not replay the scalar step: {compiled_step.stats}")
    variants = {"tapegrad": tapegrad, COMPILED: tapegrad_compiled}

    micrograd = harness.optional_import("micrograd.engine")
    if micrograd is not None:
        def micrograd_value():
            a, b = micrograd.Value(-4.0), micrograd.Value(2.0)
            g = expression(a, b)
            g.backward()
            return g.data, a.grad, b.grad

        variants["micrograd"] = micrograd_value

    torch = harness.optional_import("torch")
    if torch is not None:
        def torch_eager():
            a = torch.tensor(-4.0, dtype=torch.float64, requires_grad=True)
            b = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
            g = expression(a, b)
            g.backward()
            return g.item(), a.grad.item(), b.grad.item()

        variants["torch"] = torch_eager
    return variants


def run(config):
    variants = make_variants()
    for name, function in variants.items():
        np.testing.assert_allclose(function(), EXPECTED, atol=1e-4,
                                   err_msg=f"scalar: {name} disagrees with micrograd's README")
    times = harness.compare_times(variants, config)
    theirs = harness.median(times, "micrograd")
    value = harness.paired_ratio(times, "tapegrad", "micrograd")
    compiled = harness.paired_ratio(times, COMPILED, "micrograd")
    notes = []
    if theirs:
        notes.append(f"{COMPILED} / micrograd = {harness.format_ratio(compiled)} "
                     "(issue 16's target: <= 0.4x)")
    if theirs is None:
        notes.append("micrograd not installed (pip install micrograd): ratio n.a.")
    if "torch" not in times:
        notes.append("torch not installed: its column is skipped")
    elif theirs:
        notes.append(f"torch / micrograd = {harness.paired_ratio(times, 'torch', 'micrograd'):.1f}x")
    detail = ", ".join(f"{name} {entry['median'] * 1e6:.1f} µs" for name, entry in times.items())
    return {
        "suite": NAME,
        "description": "micrograd README expression (a=-4, b=2) forward+backward on scalars.",
        "columns": list(times),
        "rows": [{"case": "README expression", "times": times,
                  "extra": {"tapegrad / micrograd": harness.format_ratio(value),
                            "compiled / micrograd": harness.format_ratio(compiled)}}],
        "extra_columns": ["tapegrad / micrograd", "compiled / micrograd"],
        "targets": [harness.target_row("README expression", "tapegrad / micrograd (time)", value,
                                       f"<= {TARGET:g}x", harness.check(value, TARGET), detail)],
        "notes": notes,
    }
