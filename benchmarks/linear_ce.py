"""linear_ce: an LM head's loss and gradients without its (N, V) logits.

For hidden states h (N, d), an output weight W (V, d) and class-index targets, the loss
``cross_entropy(h @ W.T, t)`` (mean) and the gradients of h and W, forward+backward:

* GEMMs alone: not a loss, the three matrix products every way of computing it does
  (logits ``h Wᵀ``, ``dW = Gᵀ h``, ``dh = G W``) into preallocated buffers: the floor;
* ours: ``ag.linear_cross_entropy(h, W, t)``, one tape node working in blocks of rows;
* unfused: ``ag.cross_entropy(h @ W.T, t)``, the logits and their gradient materialised;
* NumPy chunked: a hand-written NumPy version over blocks of 256 rows;
* torch: ``F.cross_entropy(F.linear(h, W), t)`` when PyTorch is installed (materialised).

Memory is the tracemalloc peak of one call above what existed before it, minus the
returned gradients (dh, dW), as a fraction of the logits' bytes (PyTorch's allocator is
invisible to tracemalloc: no memory column). A sweep over V (full runs: 8k to 128k) gives
ours against the GEMMs alone (there computed block by block, so the floor never holds
the logits either) and ours' memory.
Targets at N=4096, d=256, V=32768 float32: ours <= 1.15x the GEMMs alone (same run),
ours <= 1.0x unfused, ours' peak memory above inputs and gradients <= 0.1x the logits.
"""

from __future__ import annotations

import dataclasses

import numpy as np

import autograd as ag
from autograd.linear_ce import default_chunk_rows
from benchmarks import harness

NAME = "linear_ce"
CASE = (4096, 256, 32768)
QUICK_CASE = (512, 64, 4096)
SWEEP = (8192, 32768, 131072)
QUICK_SWEEP = (2048, 8192)
DTYPE = "float32"
REPEATS, QUICK_REPEATS = 5, 3   # a full-size sample takes seconds
TIME_LIMIT, UNFUSED_LIMIT, MEMORY_LIMIT = 1.15, 1.0, 0.1
FLOOR = "GEMMs alone"
NUMPY_ROWS = 256
# (the floor's buffers exist before the call: it has no memory column)
MEMORY_VARIANTS = ("ours", "unfused", "NumPy chunked")


def numpy_chunked(h, matrix, target):
    """Mean cross-entropy of h @ W.T and the gradients of h and W, 256 rows at a time."""
    rows = h.shape[0]
    d_hidden = np.empty_like(h)
    d_matrix = np.zeros_like(matrix)
    total = 0.0
    for start in range(0, rows, NUMPY_ROWS):
        block = slice(start, start + NUMPY_ROWS)
        z = h[block] @ matrix.T
        z -= z.max(axis=1, keepdims=True)
        picked = z[np.arange(len(z)), target[block]]
        np.exp(z, out=z)
        sums = z.sum(axis=1, keepdims=True)
        total += float(np.sum(np.log(sums[:, 0], dtype=np.float64) - picked))
        z *= (1.0 / rows) / sums                              # p / N
        z[np.arange(len(z)), target[block]] -= 1.0 / rows     # (p - y) / N
        d_hidden[block] = z @ matrix
        d_matrix += z.T @ h[block]
    return np.float32(total / rows), d_hidden, d_matrix


def gemms_alone(h, matrix, rows_per_block=None):
    """The three GEMMs, into buffers made once: the whole logits, or blocks of rows."""
    rows, classes = h.shape[0], matrix.shape[0]
    step = rows if rows_per_block is None else rows_per_block
    logits = np.empty((step, classes), h.dtype)
    d_hidden, d_matrix, piece = np.empty_like(h), np.empty_like(matrix), np.empty_like(matrix)

    def run():
        for start in range(0, rows, step):
            block = slice(start, start + step)
            z = logits[:h[block].shape[0]]
            np.matmul(h[block], matrix.T, out=z)
            np.matmul(z, matrix, out=d_hidden[block])
            np.matmul(z.T, h[block], out=d_matrix if start == 0 else piece)
            if start:
                np.add(d_matrix, piece, out=d_matrix)
        return None, d_hidden, d_matrix

    return run


def make_variants(rows, features, classes, with_reference=True, floor_rows=None):
    """{name: function} for one case; each returns (loss, dh, dW); and notes. The floor
    works on the whole logits, or on blocks of ``floor_rows`` rows."""
    rng = np.random.default_rng(0)
    h_data = rng.standard_normal((rows, features)).astype(DTYPE)
    w_data = (rng.standard_normal((classes, features)) / np.sqrt(features)).astype(DTYPE)
    target = rng.integers(0, classes, rows)
    variants, notes = {FLOOR: gemms_alone(h_data, w_data, floor_rows)}, []
    h = ag.tensor(h_data, requires_grad=True)
    w = ag.tensor(w_data, requires_grad=True)

    def ours(unfused=False):
        def step():
            h.grad = w.grad = None
            if unfused:
                loss = ag.cross_entropy(h @ w.T, target)
            else:
                loss = ag.linear_cross_entropy(h, w, target)
            loss.backward()
            return loss.data, h.grad, w.grad
        return step

    variants["ours"] = ours()
    if not with_reference:
        return variants, notes
    variants["unfused"] = ours(unfused=True)
    variants["NumPy chunked"] = lambda: numpy_chunked(h_data, w_data, target)
    torch = harness.optional_import("torch")
    if torch is not None:
        th = torch.tensor(h_data, requires_grad=True)
        tw = torch.tensor(w_data, requires_grad=True)
        tt = torch.tensor(target)

        def torch_step():
            th.grad = tw.grad = None
            loss = torch.nn.functional.cross_entropy(torch.nn.functional.linear(th, tw), tt)
            loss.backward()
            return loss.detach().numpy(), th.grad.numpy(), tw.grad.numpy()

        variants["torch"] = torch_step
    else:
        notes.append("torch not installed: torch column skipped")
    return variants, notes


def _check_agreement(variants):
    want = variants["NumPy chunked"]()
    for name, function in variants.items():
        if name == FLOOR:
            continue
        got = function()
        np.testing.assert_allclose(got[0], want[0], rtol=1e-4, err_msg=f"{name} loss")
        for label, a, b in (("dh", got[1], want[1]), ("dW", got[2], want[2])):
            scale = float(np.abs(b).max())
            np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4 * scale,
                                       err_msg=f"{name} {label}")
            assert a.dtype == np.dtype(DTYPE), f"{name}: {label} dtype {a.dtype}"


def _extra_memory(function, gradient_bytes):
    return harness.peak_extra_bytes(function) - gradient_bytes


def run(config):
    rows, features, classes = QUICK_CASE if config.quick else CASE
    timing = dataclasses.replace(config, repeats=min(config.repeats,
                                                     QUICK_REPEATS if config.quick else REPEATS))
    itemsize = np.dtype(DTYPE).itemsize
    variants, notes = make_variants(rows, features, classes)
    _check_agreement(variants)
    times = harness.compare_times(variants, timing)
    logits_bytes = rows * classes * itemsize
    gradient_bytes = (rows + classes) * features * itemsize
    memory = {name: _extra_memory(variants[name], gradient_bytes)
              for name in MEMORY_VARIANTS}
    ratios = {
        "ours / GEMMs": harness.paired_ratio(times, "ours", FLOOR),
        "ours / unfused": harness.paired_ratio(times, "ours", "unfused"),
        "ours / NumPy chunked": harness.paired_ratio(times, "ours", "NumPy chunked"),
        "torch / GEMMs": harness.paired_ratio(times, "torch", FLOOR),
        "unfused / GEMMs": harness.paired_ratio(times, "unfused", FLOOR),
    }
    for name in ("ours", "unfused", "NumPy chunked"):
        ratios[f"{name} mem / logits"] = harness.ratio(memory[name], logits_bytes)
    case = f"N={rows} d={features} V={classes} {DTYPE}"
    result_rows = [{"case": case, "shape": [rows, features, classes], "dtype": DTYPE,
                    "logits_bytes": logits_bytes, "times": times, "memory": memory,
                    "ratios": ratios,
                    "extra": {name: harness.format_ratio(ratios[name]) for name in EXTRA}}]
    sweep = []
    for sweep_classes in (QUICK_SWEEP if config.quick else SWEEP):
        sweep.append(_sweep_point(rows, features, sweep_classes, timing))
    result_rows += [point["row"] for point in sweep]
    notes += notes_for(config)
    return {
        "suite": NAME,
        "description": "LM head loss (mean cross-entropy of h @ W.T, class-index targets) "
                       "forward+backward, gradients of h and W: ours "
                       "(ag.linear_cross_entropy) vs the three GEMMs alone, unfused "
                       "ag.cross_entropy(h @ W.T, t), a NumPy version chunked over rows, torch.",
        "columns": list(times),
        "memory_columns": list(MEMORY_VARIANTS),
        "extra_columns": list(EXTRA),
        "rows": result_rows,
        "targets": _target_rows(case, times, memory, ratios, logits_bytes, config.quick),
        "notes": notes,
        "plot_data": {"sweep": [{key: point[key] for key in SWEEP_KEYS} for point in sweep],
                      "shape": [rows, features], "time_limit": TIME_LIMIT,
                      "memory_limit": MEMORY_LIMIT},
    }


EXTRA = ("ours / GEMMs", "ours / unfused", "ours / NumPy chunked", "unfused / GEMMs",
         "torch / GEMMs", "ours mem / logits", "unfused mem / logits", "NumPy chunked mem / logits")


def _sweep_point(rows, features, classes, timing):
    """ours against the GEMMs alone (block by block: never the whole logits) at one V."""
    step = default_chunk_rows(rows, classes, features, np.dtype(DTYPE).itemsize)
    variants, _ = make_variants(rows, features, classes, with_reference=False, floor_rows=step)
    times = harness.compare_times(variants, dataclasses.replace(timing, repeats=1))
    logits_bytes = rows * classes * np.dtype(DTYPE).itemsize
    extra = _extra_memory(variants["ours"], (rows + classes) * features * np.dtype(DTYPE).itemsize)
    ratio = harness.paired_ratio(times, "ours", FLOOR)
    memory_ratio = extra / logits_bytes
    row = {"case": f"sweep V={classes}", "shape": [rows, features, classes], "dtype": DTYPE,
           "logits_bytes": logits_bytes, "times": times, "memory": {"ours": extra},
           "ratios": {"ours / GEMMs": ratio, "ours mem / logits": memory_ratio},
           "extra": {"ours / GEMMs": harness.format_ratio(ratio),
                     "ours mem / logits": harness.format_ratio(memory_ratio)}}
    return {"classes": classes, "ours / GEMMs": ratio, "ours mem / logits": memory_ratio,
            "ours seconds": harness.median(times, "ours"),
            "GEMMs seconds": harness.median(times, FLOOR), "row": row}


SWEEP_KEYS = ("classes", "ours / GEMMs", "ours mem / logits", "ours seconds", "GEMMs seconds")


def plot(suite, path, machine=""):
    """The sweep over V: seconds of ours and of the GEMMs alone, their ratio with the
    1.15x target, and ours' peak extra memory over the logits with the 0.1x target.
    For benchmarks/plots.py's PLOTTERS (``"linear_ce": linear_ce.plot``)."""
    from benchmarks import plots

    pyplot = plots._pyplot()
    data = suite["plot_data"]
    points = data["sweep"]
    classes = [point["classes"] for point in points]
    rows, features = data["shape"]
    with pyplot.rc_context(plots.FONT):
        figure, panels = pyplot.subplots(1, 3, figsize=(16, 4.8))
        panels[0].plot(classes, [p["ours seconds"] for p in points], "o-", label="ours",
                       color=plots.COLOURS["fused"])
        panels[0].plot(classes, [p["GEMMs seconds"] for p in points], "s--",
                       label=f"{FLOOR} (block by block)", color=plots.COLOURS["np.exp alone"])
        panels[0].set_yscale("log")
        panels[0].set_ylabel("seconds, forward + backward")
        panels[0].set_title("Time")
        panels[1].plot(classes, [p["ours / GEMMs"] for p in points], "o-",
                       color=plots.COLOURS["fused"], label="ours / GEMMs alone")
        panels[1].axhline(data["time_limit"], color="#d62728", linestyle="--",
                          label=f"target ≤ {data['time_limit']:g}×")
        ratios = [p["ours / GEMMs"] for p in points]
        panels[1].set_ylim(min([0.95] + ratios) * 0.97, max([data["time_limit"]] + ratios) * 1.1)
        panels[1].set_title("Time over the floor (lower is better)")
        panels[2].plot(classes, [p["ours mem / logits"] for p in points], "o-",
                       color=plots.COLOURS["fused"], label="ours' peak extra memory / logits")
        panels[2].axhline(data["memory_limit"], color="#d62728", linestyle="--",
                          label=f"target ≤ {data['memory_limit']:g}×")
        panels[2].set_ylim(0, max([data["memory_limit"]] + [p["ours mem / logits"]
                                                            for p in points]) * 1.3)
        for point in points:   # the absolute size: chunk_size=None budgets 32 MiB
            extra = point["ours mem / logits"] * rows * point["classes"] * 4 / 2**20
            panels[2].annotate(f"{extra:.0f} MiB", (point["classes"], point["ours mem / logits"]),
                               textcoords="offset points", xytext=(6, 6))
        panels[2].set_title("Memory above inputs and gradients")
        for axes in panels:
            axes.set_xscale("log", base=2)
            axes.set_xticks(classes, [f"{v // 1024}k" for v in classes])
            axes.set_xlabel("V (classes)")
            axes.grid(True, which="both", alpha=0.3)
            axes.legend(loc="best")
        figure.suptitle(f"linear_cross_entropy at N={rows}, d={features} float32 against V "
                        "(BLAS pinned to 1 thread)" + (f"\n{machine}" if machine else ""))
        figure.tight_layout()
        figure.savefig(path, dpi=100)
        pyplot.close(figure)


def notes_for(config):
    notes = []
    if config.quick:
        notes.append(f"quick mode: N={QUICK_CASE[0]} d={QUICK_CASE[1]} V={QUICK_CASE[2]}, "
                     f"sweep V in {QUICK_SWEEP}; the targets are stated for "
                     f"N={CASE[0]} d={CASE[1]} V={CASE[2]} (full run)")
    notes.append(f"{FLOOR} is not a loss: the three matrix products (logits, dW, dh) into "
                 "preallocated buffers, the work any method does; in the sweep rows it runs "
                 "block by block, with ours' rows per block")
    notes.append("peak memory is tracemalloc's above what existed before the call, minus the "
                 "returned gradients dh and dW; torch allocations are invisible to tracemalloc")
    notes.append(f"{REPEATS} samples per variant ({QUICK_REPEATS} in --quick), 1 per sweep "
                 "point: one sample takes seconds at full size")
    return notes


def _target_rows(case, times, memory, ratios, logits_bytes, quick):
    """The three target rows; in --quick they are measured but not judged (n.a.): the
    targets are for the full case, and at the quick size one block holds every row."""
    detail = ", ".join(f"{name} {stats['median']:.3g} s" for name, stats in times.items())
    memory_detail = ", ".join(f"{name} {peak / 2**20:.1f} MiB" for name, peak in memory.items())
    memory_detail += f" above inputs and gradients; logits {logits_bytes / 2**20:.0f} MiB"
    if quick:
        detail = "quick mode, not judged (targets are for the full case): " + detail
        memory_detail = "quick mode, not judged: " + memory_detail

    def status(value, limit):
        return "n.a." if quick else harness.check(value, limit)

    versus_floor, versus_unfused = ratios["ours / GEMMs"], ratios["ours / unfused"]
    memory_ratio = ratios["ours mem / logits"]
    return [
        harness.target_row(case, "ours / GEMMs alone (time)", versus_floor,
                           f"<= {TIME_LIMIT:g}x", status(versus_floor, TIME_LIMIT), detail),
        harness.target_row(case, "ours / unfused (time)", versus_unfused,
                           f"<= {UNFUSED_LIMIT:g}x", status(versus_unfused, UNFUSED_LIMIT),
                           detail),
        harness.target_row(case, "ours peak extra memory / logits", memory_ratio,
                           f"<= {MEMORY_LIMIT:g}x", status(memory_ratio, MEMORY_LIMIT),
                           memory_detail),
    ]
