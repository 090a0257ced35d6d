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
  far ahead of composed any fused op built on NumPy could get;
* one pass: not a loss either, ``np.negative`` of the logits into a preallocated
  buffer: one streaming read and one write of a logits-sized array, the memory
  traffic that any op returning a logits-sized gradient must at least do.

These two rows are the machine's own limits. How fast NumPy's exp is varies far more
between machines (SIMD width: AVX-512 or not) than anything else here, so the
conclusions are stated as ratios to them: fused / np.exp alone is how many exp-passes
fused costs, and composed / np.exp alone is the most a fused op could gain.

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
# Not a loss: one elementwise pass that reads the logits and writes a buffer their size.
ONE_PASS = "one pass"
LIMITS = (EXP_ONLY, ONE_PASS)


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
    pass_buffer = np.empty_like(logits_data)
    variants[ONE_PASS] = lambda: np.negative(logits_data, out=pass_buffer)

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
        if name in LIMITS:
            continue
        loss, grad = function()
        np.testing.assert_allclose(loss, want_loss, rtol=tolerance, err_msg=f"{name} loss")
        np.testing.assert_allclose(grad, want_grad, rtol=tolerance, atol=tolerance / grad.size,
                                   err_msg=f"{name} gradient")
        assert grad.dtype == np.dtype(dtype), f"{name}: gradient dtype {grad.dtype}, want {dtype}"


MEMORY_VARIANTS = ("fused", "composed", "NumPy in-place")
# Paired ratios recorded for every case: (name, numerator, denominator).
RATIOS = (
    ("composed / fused", "composed", "fused"),
    ("composed / exp alone", "composed", EXP_ONLY),
    ("fused / exp alone", "fused", EXP_ONLY),
    ("fused / one pass", "fused", ONE_PASS),
    ("fused / NumPy", "fused", "NumPy in-place"),
    ("torch composed / fused", "torch composed", "torch fused"),
)


def run(config):
    shapes = QUICK_SHAPES if config.quick else SHAPES
    dtypes = ["float32"] if config.quick else ["float32", "float64"]
    rows, notes, targets = [], [], []
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
            logits_bytes = shape[0] * shape[1] * np.dtype(dtype).itemsize
            ratios = {name: harness.paired_ratio(times, top, bottom)
                      for name, top, bottom in RATIOS}
            ratios["fused mem / logits"] = harness.ratio(memory.get("fused"), logits_bytes)
            ratios["composed mem / logits"] = harness.ratio(memory.get("composed"), logits_bytes)
            case = f"{shape[0]}x{shape[1]} {dtype}"
            rows.append({"case": case, "shape": list(shape), "dtype": dtype,
                         "logits_bytes": logits_bytes, "times": times, "memory": memory,
                         "ratios": ratios,
                         "extra": {name: harness.format_ratio(ratios[name]) for name in EXTRA}})
            if (tuple(shape), dtype) == TARGET_CASE:
                targets += _target_rows(case, times, memory, ratios, logits_bytes)
    if config.quick:
        notes.append("quick mode: float32 only, without 64x50000")
    notes.append(f"{EXP_ONLY} and {ONE_PASS} (np.negative into a buffer) are not losses: they "
                 "are this machine's limits, one exp per logit and one read + write of the "
                 "logits")
    notes.append("peak memory is tracemalloc's, above the inputs, gradient included; "
                 "torch allocations are invisible to tracemalloc")
    return {
        "suite": NAME,
        "description": "cross-entropy (mean, integer targets) forward+backward over (N, C): "
                       "fused vs composed vs a NumPy in-place reference, and the machine's "
                       f"limits ({EXP_ONLY}, {ONE_PASS}).",
        "columns": columns,
        "memory_columns": [name for name in MEMORY_VARIANTS if name in columns],
        "extra_columns": list(EXTRA),
        "rows": rows,
        "targets": targets,
        "notes": notes,
        "plot_data": {"target_case": f"{TARGET_CASE[0][0]}x{TARGET_CASE[0][1]} {TARGET_CASE[1]}",
                      "faster_than_composed": FASTER_THAN_COMPOSED,
                      "memory_limit": MEMORY_LIMIT},
    }


EXTRA = ("composed / fused", "composed / exp alone", "fused / exp alone", "fused / one pass",
         "fused / NumPy", "fused mem / logits")


def _target_rows(case, times, memory, ratios, logits_bytes):
    detail = ", ".join(f"{name} {stats['median'] * 1e3:.2f} ms" for name, stats in times.items())
    memory_detail = ", ".join(f"{name} peak {peak / 2**20:.1f} MiB"
                              for name, peak in memory.items())
    memory_detail += f", logits {logits_bytes / 2**20:.1f} MiB"
    limits = (f"; this machine's limits: composed / {EXP_ONLY} = "
              f"{harness.format_ratio(ratios['composed / exp alone'])} (the most any fused op "
              f"could reach), fused / {EXP_ONLY} = {harness.format_ratio(ratios['fused / exp alone'])}, "
              f"fused / {ONE_PASS} = {harness.format_ratio(ratios['fused / one pass'])}")
    speedup, versus_numpy = ratios["composed / fused"], ratios["fused / NumPy"]
    memory_ratio = ratios["fused mem / logits"]
    return [
        harness.target_row(case, "composed / fused (time)", speedup,
                           f">= {FASTER_THAN_COMPOSED:g}x",
                           harness.check(speedup, FASTER_THAN_COMPOSED, at_most=False),
                           detail + limits),
        harness.target_row(case, "fused / NumPy in-place (time)", versus_numpy,
                           f"<= {NEAR_NUMPY:g}x", harness.check(versus_numpy, NEAR_NUMPY), detail),
        harness.target_row(case, "fused peak extra memory / logits", memory_ratio,
                           f"<= {MEMORY_LIMIT:g}x", harness.check(memory_ratio, MEMORY_LIMIT),
                           memory_detail),
    ]
