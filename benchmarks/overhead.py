"""overhead: the engine's fixed cost per operation, on an expression too small for NumPy to matter.

``(x * w + b).sum()`` forward and backward on (16,) float64 vectors, against the
same forward and hand-written backward in NumPy (and PyTorch eager if installed).
Targets: tapegrad <= 4x NumPy by hand; tapegrad compiled (``ag.compile``) <= 1.5x.
"""

from __future__ import annotations

import numpy as np

import autograd as ag
from benchmarks import harness

NAME = "overhead"
TARGET = 4.0
COMPILED = "tapegrad compiled"  # ag.compile of the same step (autograd/compiler.py)
COMPILED_TARGET = 1.5           # issue 16


def compile_step(step):
    """``step`` under ``ag.compile``, recorded and replayed once before timing."""
    from autograd.compiler import compile

    compiled = compile(step)
    for _ in range(3):
        compiled()
    if not compiled.stats["replayed"]:
        raise RuntimeError(f"ag.compile did not replay the benchmark step: {compiled.stats}")
    return compiled


def make_variants(size=16):
    rng = np.random.default_rng(0)
    x_data, w_data, b_data = (rng.standard_normal(size) for _ in range(3))

    x, w, b = (ag.tensor(a, requires_grad=True) for a in (x_data, w_data, b_data))

    def tapegrad():
        x.grad = w.grad = b.grad = None
        loss = (x * w + b).sum()
        loss.backward()
        return loss, x.grad, w.grad, b.grad

    def numpy_by_hand():
        y = x_data * w_data + b_data
        loss = y.sum()
        g = np.ones_like(y)             # d loss / d y
        return loss, g * w_data, g * x_data, g

    variants = {"tapegrad": tapegrad, COMPILED: compile_step(tapegrad),
                "NumPy by hand": numpy_by_hand}

    torch = harness.optional_import("torch")
    if torch is not None:
        tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x_data, w_data, b_data))

        def torch_eager():
            tx.grad = tw.grad = tb.grad = None
            loss = (tx * tw + tb).sum()
            loss.backward()
            return loss, tx.grad, tw.grad, tb.grad

        variants["torch"] = torch_eager
    return variants


def _check_agreement(variants):
    reference = variants["NumPy by hand"]()
    for name, function in variants.items():
        for got, want in zip(function(), reference):
            np.testing.assert_allclose(np.asarray(got.detach() if hasattr(got, "detach") else got),
                                       want, rtol=1e-12, err_msg=f"overhead: {name} disagrees")


def run(config):
    variants = make_variants()
    _check_agreement(variants)
    times = harness.compare_times(variants, config)
    torch_time = harness.median(times, "torch")
    value = harness.paired_ratio(times, "tapegrad", "NumPy by hand")
    compiled = harness.paired_ratio(times, COMPILED, "NumPy by hand")
    detail = ", ".join(f"{name} {entry['median'] * 1e6:.2f} µs" for name, entry in times.items())
    notes = [] if torch_time else ["torch not installed: its column is skipped"]
    if torch_time:
        notes.append(f"torch / NumPy by hand = "
                     f"{harness.paired_ratio(times, 'torch', 'NumPy by hand'):.1f}x")
    return {
        "suite": NAME,
        "description": "(x*w+b).sum() forward+backward on (16,) float64: fixed cost per op.",
        "columns": list(times),
        "rows": [{"case": "(16,) float64", "times": times,
                  "extra": {"tapegrad / NumPy": harness.format_ratio(value),
                            "compiled / NumPy": harness.format_ratio(compiled)}}],
        "extra_columns": ["tapegrad / NumPy", "compiled / NumPy"],
        "targets": [harness.target_row("(16,) float64", "tapegrad / NumPy by hand (time)", value,
                                       f"<= {TARGET:g}x", harness.check(value, TARGET),
                                       detail),
                    harness.target_row("(16,) float64", "compiled / NumPy by hand (time)",
                                       compiled, f"<= {COMPILED_TARGET:g}x",
                                       harness.check(compiled, COMPILED_TARGET), detail)],
        "notes": notes,
    }
