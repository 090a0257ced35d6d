"""softmax_ce: fused vs composed softmax cross-entropy, forward + backward.

For logits (N, C) with integer targets and ``reduction="mean"``:

* fused     ``ag.cross_entropy(..., fused=True)``: one primitive, VJP ``g (p - y)``;
* composed  ``ag.cross_entropy(..., fused=False)``: the same loss built from primitives;
* NumPy in-place: a hand-written fused reference that allocates one (N, C) buffer
  (which becomes the gradient) and works in it;
* torch fused / composed (``F.cross_entropy`` and the same from torch primitives)
  when PyTorch is installed.

Three more rows are not losses but the machine's own limits, each writing into a
preallocated logits-sized buffer:

* np.exp alone: one ``np.exp`` over the logits. Every softmax evaluates exp once per
  logit, so this is the floor of any softmax on NumPy;
* one pass: ``np.negative`` of the logits, one streaming read and one write of a
  logits-sized array, the memory traffic that any op returning a logits-sized gradient
  must at least do;
* exp + row scaling: block by block of about 1 MiB of rows (as the fused op works),
  ``np.exp`` of the block, then the block multiplied in place by a precomputed factor
  per row. That is the least a NumPy softmax gradient must do, one exp per logit and
  one normalisation of every row, so fused / this says how close fused is to NumPy's
  own floor.

How fast NumPy's exp is varies far more between machines (SIMD width: AVX-512 or not)
than anything else here, so the targets are ratios to the rows measured in the same
run on the same machine, and the verdict holds on any machine: fused / np.exp alone is
how many exp-passes fused costs. composed / fused is kept as a column for information;
composed's speed is not a goal.

Time is forward+backward; memory is the tracemalloc peak of one call above what
existed before it, the returned gradient included (PyTorch's allocator is not
visible to tracemalloc, so it has no memory column).
Targets (issue 17), each at 4096x1000 and at 64x50000 float32: fused <= 1.6x np.exp
alone, fused <= 1.1x the NumPy in-place reference, fused peak extra memory <= 1.05x
the logits.
"""

from __future__ import annotations

import numpy as np

import autograd as ag
from benchmarks import harness

NAME = "softmax_ce"
SHAPES = [(128, 10), (256, 1000), (4096, 1000), (64, 50000)]
QUICK_SHAPES = SHAPES  # --quick (CI) judges both target cases, in float32 only
TARGET_CASE = (((4096, 1000), "float32"), ((64, 50000), "float32"))
EXP_RATIO_LIMIT, NEAR_NUMPY, MEMORY_LIMIT = 1.6, 1.1, 1.05
# Not a loss: one np.exp over the logits, the work no softmax can skip.
EXP_ONLY = "np.exp alone"
# Not a loss: one elementwise pass that reads the logits and writes a buffer their size.
ONE_PASS = "one pass"
# Not a loss: exp of each ~1 MiB block of rows, then each row of it scaled in place.
EXP_SCALE = "exp + row scaling"
LIMITS = (EXP_ONLY, ONE_PASS, EXP_SCALE)
BLOCK_BYTES = 1 << 20  # the fused sweep's block size (autograd/fused.py)


def _case_name(shape, dtype):
    return f"{shape[0]}x{shape[1]} {dtype}"


def exp_and_row_scaling(logits, buffer, factors):
    """``buffer = exp(logits) * factors[:, None]``, ~1 MiB of rows at a time (not a loss).

    The block is exponentiated into ``buffer`` and scaled there while it is still in
    cache: the two passes any softmax gradient built from NumPy calls must make.
    """
    step = max(1, BLOCK_BYTES // max(1, logits.shape[1] * logits.itemsize))
    for start in range(0, logits.shape[0], step):
        rows = slice(start, start + step)
        block = buffer[rows]
        np.exp(logits[rows], out=block)
        np.multiply(block, factors[rows, None], out=block)
    return buffer


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
    """{name: function} for one case; each returns (loss, gradient of the logits),
    except the machine's limits (``LIMITS``), which return their buffer."""
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

    exp_buffer = np.empty_like(logits_data)
    variants[EXP_ONLY] = lambda: np.exp(logits_data, out=exp_buffer)
    pass_buffer = np.empty_like(logits_data)
    variants[ONE_PASS] = lambda: np.negative(logits_data, out=pass_buffer)
    # 1 / (N * row sum of exp): the buffer becomes p / N, as a softmax gradient scales
    # each row (computed untimed; these logits are small enough for exp unshifted).
    factors = ((1.0 / n) / np.exp(logits_data.astype(np.float64)).sum(axis=1)).astype(dtype)
    scale_buffer = np.empty_like(logits_data)
    variants[EXP_SCALE] = lambda: exp_and_row_scaling(logits_data, scale_buffer, factors)
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
    ("fused / exp alone", "fused", EXP_ONLY),
    ("fused / exp + row scaling", "fused", EXP_SCALE),
    ("fused / one pass", "fused", ONE_PASS),
    ("fused / NumPy", "fused", "NumPy in-place"),
    ("exp + row scaling / exp alone", EXP_SCALE, EXP_ONLY),
    ("composed / fused", "composed", "fused"),
    ("composed / exp alone", "composed", EXP_ONLY),
    ("torch composed / fused", "torch composed", "torch fused"),
)
EXTRA = ("fused / exp alone", "fused / exp + row scaling", "fused / one pass", "fused / NumPy",
         "fused mem / logits", "composed / fused", "composed / exp alone")


def run(config):
    shapes = QUICK_SHAPES if config.quick else SHAPES
    dtypes = ["float32"] if config.quick else ["float32", "float64"]
    target_cases = {(tuple(shape), dtype) for shape, dtype in TARGET_CASE}
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
            case = _case_name(shape, dtype)
            rows.append({"case": case, "shape": list(shape), "dtype": dtype,
                         "logits_bytes": logits_bytes, "times": times, "memory": memory,
                         "ratios": ratios,
                         "extra": {name: harness.format_ratio(ratios[name]) for name in EXTRA}})
            if (tuple(shape), dtype) in target_cases:
                targets += _target_rows(case, times, memory, ratios, logits_bytes)
    if config.quick:
        notes.append("quick mode: float32 only, fewer and shorter samples")
    notes.append(f"{EXP_ONLY}, {ONE_PASS} (np.negative into a buffer) and {EXP_SCALE} (np.exp "
                 "of ~1 MiB blocks of rows, each row then multiplied in place by a precomputed "
                 "factor) are not losses: they are this machine's limits, one exp per logit, "
                 "one read + write of the logits, and the least a NumPy softmax gradient does")
    notes.append("composed / fused is for information: composed's speed is not a target")
    notes.append("peak memory is tracemalloc's, above the inputs, gradient included; "
                 "torch allocations are invisible to tracemalloc")
    return {
        "suite": NAME,
        "description": "cross-entropy (mean, integer targets) forward+backward over (N, C): "
                       "fused vs composed vs a NumPy in-place reference, and the machine's "
                       f"limits ({EXP_ONLY}, {ONE_PASS}, {EXP_SCALE}).",
        "columns": columns,
        "memory_columns": [name for name in MEMORY_VARIANTS if name in columns],
        "extra_columns": list(EXTRA),
        "rows": rows,
        "targets": targets,
        "notes": notes,
        "plot_data": {"target_cases": [_case_name(shape, dtype) for shape, dtype in TARGET_CASE],
                      "exp_ratio_limit": EXP_RATIO_LIMIT,
                      "near_numpy": NEAR_NUMPY,
                      "memory_limit": MEMORY_LIMIT},
    }


def _ms(times, name):
    stats = times.get(name)
    return "-" if stats is None else f"{stats['median'] * 1e3:.2f} ms"


def _target_rows(case, times, memory, ratios, logits_bytes):
    detail = ", ".join(f"{name} {_ms(times, name)}" for name in times)
    memory_detail = ", ".join(f"{name} peak {peak / 2**20:.1f} MiB"
                              for name, peak in memory.items())
    memory_detail += f", logits {logits_bytes / 2**20:.1f} MiB"
    show = lambda name: harness.format_ratio(ratios[name])
    limits = (f"; this machine's limits: fused / {EXP_ONLY} = {show('fused / exp alone')}, "
              f"fused / {EXP_SCALE} = {show('fused / exp + row scaling')} "
              f"(NumPy's floor: {EXP_SCALE} / {EXP_ONLY} = "
              f"{show('exp + row scaling / exp alone')}), "
              f"fused / {ONE_PASS} = {show('fused / one pass')}; "
              f"composed / fused = {show('composed / fused')} (not a target)")
    exp_ratio, versus_numpy = ratios["fused / exp alone"], ratios["fused / NumPy"]
    memory_ratio = ratios["fused mem / logits"]
    return [
        harness.target_row(case, f"fused / {EXP_ONLY} (time)", exp_ratio,
                           f"<= {EXP_RATIO_LIMIT:g}x", harness.check(exp_ratio, EXP_RATIO_LIMIT),
                           detail + limits),
        harness.target_row(case, "fused / NumPy in-place (time)", versus_numpy,
                           f"<= {NEAR_NUMPY:g}x", harness.check(versus_numpy, NEAR_NUMPY), detail),
        harness.target_row(case, "fused peak extra memory / logits", memory_ratio,
                           f"<= {MEMORY_LIMIT:g}x", harness.check(memory_ratio, MEMORY_LIMIT),
                           memory_detail),
    ]
