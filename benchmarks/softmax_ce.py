"""softmax_ce: fused vs composed softmax cross-entropy, forward + backward.

For logits (N, C) with integer targets and ``reduction="mean"``:

* fused     ``ag.cross_entropy(..., fused=True)``: one primitive, VJP ``g (p - y)``;
* composed  ``ag.cross_entropy(..., fused=False)``: the same loss built from primitives;
* NumPy in-place: a hand-written fused reference that allocates one (N, C) buffer
  (which becomes the gradient) and works in it;
* torch fused / composed (``F.cross_entropy`` and the same from torch primitives)
  when PyTorch is installed;
* np.exp alone: not a loss, one ``np.exp`` over the logits into a preallocated
  buffer. Every softmax evaluates exp once per logit, so composed / this bounds how
  far ahead of composed any fused op built on NumPy could get.

Time is forward+backward; memory is the tracemalloc peak of one call above what
existed before it, the returned gradient included (PyTorch's allocator is not
visible to tracemalloc, so it has no memory column).
Targets at 4096x1000 float32: fused >= 3x faster than composed, fused <= 1.1x the
NumPy in-place reference, fused peak extra memory <= 2x the logits.
"""

from __future__ import annotations

import numpy as np

import autograd as ag
from benchmarks import harness

NAME = "softmax_ce"
SHAPES = [(128, 10), (256, 1000), (4096, 1000), (64, 50000)]
QUICK_SHAPES = [(128, 10), (256, 1000), (4096, 1000)]
TARGET_CASE = ((4096, 1000), "float32")
FASTER_THAN_COMPOSED, NEAR_NUMPY, MEMORY_LIMIT = 3.0, 1.1, 2.0
# Not a loss: one np.exp over the logits, the work no softmax can skip. composed / this
# is the most that any fused op calling exp once per logit could reach against composed.
EXP_ONLY = "np.exp alone"


def numpy_inplace(logits, target, rows):
    """Mean cross-entropy and its gradient with one (N, C) allocation: the gradient itself."""
    n = logits.shape[0]
    grad = logits - logits.max(axis=1, keepdims=True)   # shifted logits: the one big buffer
    picked = grad[rows, target]                          # shifted logit of each true class
    np.exp(grad, out=grad)
    sums = grad.sum(axis=1, keepdims=True)
    loss = (np.log(sums[:, 0]) - picked).mean()
    grad *= (1.0 / n) / sums                             # p / N
    grad[rows, target] -= 1.0 / n                        # (p - y) / N
    return loss, grad


def make_variants(shape, dtype):
    """{name: function} for one case; each returns (loss, gradient of the logits)."""
    n, classes = shape
    rng = np.random.default_rng(0)
    logits_data = (rng.standard_normal(shape) * 3).astype(dtype)
    target = rng.integers(0, classes, n)
    rows = np.arange(n)
    variants = {}
    notes = []

    logits = ag.tensor(logits_data, requires_grad=True)

    def ours(fused):
        def step():
            logits.grad = None
            loss = ag.cross_entropy(logits, target, fused=fused)
            loss.backward()
            return loss.data, logits.grad

        return step

    try:
        ours(True)()
        variants["fused"] = ours(True)
        variants["composed"] = ours(False)
    except NotImplementedError:
        notes.append("ag.cross_entropy is not implemented yet: tapegrad columns skipped")

    variants["NumPy in-place"] = lambda: numpy_inplace(logits_data, target, rows)
    exp_buffer = np.empty_like(logits_data)
    variants[EXP_ONLY] = lambda: np.exp(logits_data, out=exp_buffer)

    torch = harness.optional_import("torch")
    if torch is not None:
        torch_logits = torch.tensor(logits_data, requires_grad=True)
        torch_target = torch.tensor(target)
        torch_rows = torch.tensor(rows)

        def torch_fused():
            torch_logits.grad = None
            loss = torch.nn.functional.cross_entropy(torch_logits, torch_target)
            loss.backward()
            return loss.detach().numpy(), torch_logits.grad.numpy()

        def torch_composed():
            torch_logits.grad = None
            shifted = torch_logits - torch_logits.detach().max(dim=1, keepdim=True).values
            log_p = shifted - shifted.exp().sum(dim=1, keepdim=True).log()
            loss = -log_p[torch_rows, torch_target].mean()
            loss.backward()
            return loss.detach().numpy(), torch_logits.grad.numpy()

        variants["torch fused"] = torch_fused
        variants["torch composed"] = torch_composed
    else:
        notes.append("torch not installed: torch columns skipped")
    return variants, notes


def _check_agreement(variants, dtype):
    want_loss, want_grad = variants["NumPy in-place"]()
    tolerance = 1e-4 if dtype == "float32" else 1e-10
    for name, function in variants.items():
        if name == EXP_ONLY:
            continue
        loss, grad = function()
        np.testing.assert_allclose(loss, want_loss, rtol=tolerance, err_msg=f"{name} loss")
        np.testing.assert_allclose(grad, want_grad, rtol=tolerance, atol=tolerance / grad.size,
                                   err_msg=f"{name} gradient")
        assert grad.dtype == np.dtype(dtype), f"{name}: gradient dtype {grad.dtype}, want {dtype}"


MEMORY_VARIANTS = ("fused", "composed", "NumPy in-place")


def run(config):
    shapes = QUICK_SHAPES if config.quick else SHAPES
    dtypes = ["float32"] if config.quick else ["float32", "float64"]
    rows, notes, targets = [], [], []
    plot_data = {"time": {}, "memory": {}}
    columns = []
    for dtype in dtypes:
        for shape in shapes:
            variants, case_notes = make_variants(shape, dtype)
            notes += [note for note in case_notes if note not in notes]
            columns += [name for name in variants if name not in columns]
            _check_agreement(variants, dtype)
            times = harness.compare_times(variants, config)
            memory = {name: harness.peak_extra_bytes(variants[name])
                      for name in MEMORY_VARIANTS if name in variants}
            size = shape[0] * shape[1]
            logits_bytes = size * np.dtype(dtype).itemsize
            for name, stats in times.items():
                plot_data["time"].setdefault(dtype, {}).setdefault(name, []).append([size, stats["median"]])
            for name, peak in memory.items():
                plot_data["memory"].setdefault(dtype, {}).setdefault(name, []).append([size, peak])

            speedup = harness.paired_ratio(times, "composed", "fused")
            versus_numpy = harness.paired_ratio(times, "fused", "NumPy in-place")
            ceiling = harness.paired_ratio(times, "composed", EXP_ONLY)
            memory_ratio = harness.ratio(memory.get("fused"), logits_bytes)
            case = f"{shape[0]}x{shape[1]} {dtype}"
            rows.append({"case": case, "times": times, "memory": memory, "extra": {
                "composed / fused": harness.format_ratio(speedup),
                "composed / exp alone": harness.format_ratio(ceiling),
                "fused / NumPy": harness.format_ratio(versus_numpy),
                "fused mem / logits": harness.format_ratio(memory_ratio)}})
            if (tuple(shape), dtype) == TARGET_CASE:
                detail = ", ".join(f"{name} {stats['median'] * 1e3:.2f} ms"
                                   for name, stats in times.items())
                memory_detail = ", ".join(f"{name} peak {peak / 2**20:.1f} MiB"
                                          for name, peak in memory.items())
                memory_detail += f", logits {logits_bytes / 2**20:.1f} MiB"
                ceiling_detail = (f"; the ceiling for any fused op, composed / {EXP_ONLY}, "
                                  f"is {harness.format_ratio(ceiling)}")
                targets += [
                    harness.target_row(case, "composed / fused (time)", speedup,
                                       f">= {FASTER_THAN_COMPOSED:g}x",
                                       harness.check(speedup, FASTER_THAN_COMPOSED, at_most=False),
                                       detail + ceiling_detail),
                    harness.target_row(case, "fused / NumPy in-place (time)", versus_numpy,
                                       f"<= {NEAR_NUMPY:g}x",
                                       harness.check(versus_numpy, NEAR_NUMPY), detail),
                    harness.target_row(case, "fused peak extra memory / logits", memory_ratio,
                                       f"<= {MEMORY_LIMIT:g}x",
                                       harness.check(memory_ratio, MEMORY_LIMIT), memory_detail),
                ]
    if config.quick:
        notes.append("quick mode: float32 only, without 64x50000")
    notes.append("peak memory is tracemalloc's, above the inputs, gradient included; "
                 "torch allocations are invisible to tracemalloc")
    return {
        "suite": NAME,
        "description": "cross-entropy (mean, integer targets) forward+backward over (N, C): "
                       "fused vs composed vs a NumPy in-place reference.",
        "columns": columns,
        "memory_columns": [name for name in MEMORY_VARIANTS if name in columns],
        "extra_columns": ["composed / fused", "composed / exp alone", "fused / NumPy",
                          "fused mem / logits"],
        "rows": rows,
        "targets": targets,
        "notes": notes,
        "plot_data": plot_data,
    }
