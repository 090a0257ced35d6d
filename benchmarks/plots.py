"""Figures (PNG, matplotlib's Agg backend), one per suite that has one.

softmax_ce: four panels. Time per logit for float32 and for float64 (one group of bars
per shape, a bar per variant, the machine's limits among them), fused / np.exp alone
per shape (how many exp-passes fused costs) with the 1.6x target and NumPy's floor
(exp + row scaling) / np.exp alone, and peak memory over the size of the logits with
the 1.05x target.
depth: backward cost per node along chains, and per input of one wide stack, each with
its 1.5x target band.
"""

from __future__ import annotations

import os

from benchmarks import report

FONT = {"font.size": 11, "axes.titlesize": 12.5, "axes.labelsize": 11.5,
        "xtick.labelsize": 10.5, "ytick.labelsize": 10.5, "legend.fontsize": 10,
        "figure.titlesize": 14}
# One colour per variant, the same in every panel; the machine's limits in greys.
COLOURS = {"fused": "#1f77b4", "composed": "#d62728", "NumPy in-place": "#2ca02c",
           "torch fused": "#9467bd", "torch composed": "#e377c2",
           "np.exp alone": "#7f7f7f", "one pass": "#c7c7c7", "exp + row scaling": "#4a4a4a"}
DTYPE_STYLE = {"float32": {"hatch": None, "alpha": 1.0},
               "float64": {"hatch": "//", "alpha": 0.55}}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    return pyplot


def _shape_label(shape):
    n, c = shape
    return f"{n}×{c}\n{n * c / 1e6:.2g}M logits" if n * c >= 1e5 else f"{n}×{c}\n{n * c:,} logits"


def _dtype_handles(dtypes):
    """Legend entries that explain the fill: solid float32, hatched float64."""
    from matplotlib.patches import Patch

    return [Patch(facecolor="white", edgecolor="black", hatch=DTYPE_STYLE[dtype]["hatch"],
                  label=f"{dtype} ({'hatched' if DTYPE_STYLE[dtype]['hatch'] else 'solid'})")
            for dtype in dtypes]


def _times_axis(axes):
    """Log scale labelled 1×, 2×, 3×, 5×, 10×, ... so a ratio reads off directly."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    axes.set_yscale("log")
    ticks = [m * 10**e for e in range(-1, 4) for m in (1, 2, 3, 5)]
    axes.yaxis.set_major_locator(FixedLocator(ticks))
    axes.yaxis.set_minor_locator(NullLocator())
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}×"))


def _grouped_bars(axes, groups, series, width=0.8):
    """Bars: ``series`` is [(label, values (one per group, None = missing), style)]."""
    count = max(len(series), 1)
    bar = width / count
    for index, (label, values, style) in enumerate(series):
        offset = (index - (count - 1) / 2) * bar
        xs = [g + offset for g, v in zip(range(len(groups)), values) if v is not None]
        ys = [v for v in values if v is not None]
        axes.bar(xs, ys, bar * 0.92, label=label, edgecolor="black", linewidth=0.4, **style)
    axes.set_xticks(range(len(groups)), groups)


def _time_panel(axes, rows, dtype, columns):
    rows = [row for row in rows if row["dtype"] == dtype]
    if not rows:
        axes.text(0.5, 0.5, f"{dtype}: not measured in this run", ha="center", va="center",
                  transform=axes.transAxes)
        axes.set_axis_off()
        return
    series = []
    for name in columns:
        values = []
        for row in rows:
            stats = row["times"].get(name)
            entries = row["shape"][0] * row["shape"][1]
            values.append(None if stats is None else stats["median"] / entries * 1e9)
        series.append((name, values, {"color": COLOURS.get(name, "black")}))
    labels = []
    for row in rows:
        fused = row["times"].get("fused")
        seconds = "" if fused is None else report.format_seconds(fused["median"])
        labels.append(_shape_label(row["shape"]) + (f"\nfused: {seconds}" if seconds else ""))
    _grouped_bars(axes, labels, series)
    axes.set_yscale("log")
    axes.set_ylabel("forward + backward time per logit (ns)")
    axes.set_title(f"Time per logit, {dtype} (lower is better)")
    axes.grid(True, axis="y", which="both", alpha=0.3)


def _cases_label(cases):
    """["4096x1000 float32", "64x50000 float32"] -> "4096x1000 and 64x50000 float32"."""
    by_dtype = {}
    for case in cases:
        shape, _, dtype = case.partition(" ")
        by_dtype.setdefault(dtype, []).append(shape)
    return "; ".join(" and ".join(shapes) + (f" {dtype}" if dtype else "")
                     for dtype, shapes in by_dtype.items())


def _ratio_panel(axes, rows, shapes, dtypes, limit, target_cases):
    """fused / np.exp alone per shape and dtype (bars), NumPy's floor (exp + row scaling)
    / np.exp alone (diamonds) and the target line, on a log scale labelled in ×."""
    from matplotlib.container import BarContainer
    from matplotlib.patches import Patch
    from matplotlib.ticker import FixedLocator

    width = 0.6
    series, floors = [], []
    for index, dtype in enumerate(dtypes):
        by_shape = {tuple(row["shape"]): row["ratios"] for row in rows if row["dtype"] == dtype}
        series.append((f"fused / np.exp alone, {dtype}",
                       [by_shape.get(shape, {}).get("fused / exp alone") for shape in shapes],
                       {"color": COLOURS["fused"], **DTYPE_STYLE[dtype]}))
        offset = (index - (len(dtypes) - 1) / 2) * width / len(dtypes)
        points = [(g + offset, by_shape[shape].get("exp + row scaling / exp alone"))
                  for g, shape in enumerate(shapes) if shape in by_shape]
        floors.append((dtype, [(x, y) for x, y in points if y is not None]))
    _grouped_bars(axes, [_shape_label(shape) for shape in shapes], series, width=width)
    for container in axes.containers:
        axes.bar_label(container, fmt="{:.2f}×", padding=2, fontsize=9)
    for dtype, points in floors:
        if points:
            axes.plot(*zip(*points), "D", markersize=8, markeredgecolor="black",
                      color="black" if dtype == "float32" else "white",
                      label=f"NumPy's floor: (exp + row scaling) / np.exp alone, {dtype}")
    axes.axhline(limit, color="#d62728", linestyle="--", linewidth=1.6,
                 label=f"target: fused ≤ {limit:g}× np.exp alone at {_cases_label(target_cases)}")
    axes.axhline(1, color="black", linewidth=0.8)
    _times_axis(axes)
    values = [v for _, vs, _ in series for v in vs if v] + [y for _, ps in floors for _, y in ps]
    top = max(values + [limit]) * 2.2
    ticks = [m * 10**e for e in range(0, 4) for m in (1, 1.5, 2, 3, 5)]
    axes.yaxis.set_major_locator(FixedLocator([t for t in ticks if t <= top]))
    axes.set_ylim(0.8, top)
    axes.set_ylabel("time / np.exp alone time (exp passes)")
    axes.set_title("Fused against one np.exp over the logits (lower is better; log scale)")
    axes.grid(True, axis="y", alpha=0.3)
    bars = [Patch(facecolor=COLOURS["fused"], edgecolor="black", label="fused / np.exp alone")]
    handles = [h for h in axes.get_legend_handles_labels()[0] if not isinstance(h, BarContainer)]
    axes.legend(handles=bars + handles + _dtype_handles(dtypes), loc="upper right", fontsize=9.5)


def _memory_panel(axes, rows, shapes, dtypes, limit, target_cases):
    from matplotlib.patches import Patch

    series = []
    for name in ("fused", "composed", "NumPy in-place"):
        for dtype in dtypes:
            by_shape = {tuple(row["shape"]): row for row in rows if row["dtype"] == dtype}
            values = []
            for shape in shapes:
                row = by_shape.get(shape)
                peak = None if row is None else row["memory"].get(name)
                values.append(None if peak is None else peak / row["logits_bytes"])
            series.append((f"{name}, {dtype}", values,
                           {"color": COLOURS[name], **DTYPE_STYLE[dtype]}))
    _grouped_bars(axes, [_shape_label(shape) for shape in shapes], series)
    axes.axhline(limit, color="#d62728", linestyle="--", linewidth=1.6,
                 label=f"target: fused ≤ {limit:g}× the logits at {_cases_label(target_cases)}")
    axes.axhline(1, color="black", linewidth=0.8)
    peaks = [v for _, vs, _ in series for v in vs if v is not None] + [limit]
    axes.set_ylim(0, max(peaks) * 1.3)
    axes.set_ylabel("peak extra memory / logits size (×)")
    axes.set_title("Memory: tracemalloc peak above the inputs (lower is better)")
    axes.grid(True, axis="y", alpha=0.3)
    bars = [Patch(facecolor=COLOURS[name], edgecolor="black", label=name)
            for name in ("fused", "composed", "NumPy in-place")]
    handles = [line for line in axes.lines if line.get_label().startswith("target")]
    axes.legend(handles=bars + handles + _dtype_handles(dtypes), loc="upper right", fontsize=9.5)


def softmax_ce(suite, path, machine=""):
    pyplot = _pyplot()
    rows = suite["rows"]
    data = suite["plot_data"]
    dtypes = [dtype for dtype in ("float32", "float64") if any(r["dtype"] == dtype for r in rows)]
    shapes = list(dict.fromkeys(tuple(row["shape"]) for row in rows))
    with pyplot.rc_context(FONT):
        figure, grid = pyplot.subplots(2, 2, figsize=(15, 10.5), layout="constrained")
        figure.suptitle("softmax cross-entropy, forward + backward: fused vs composed "
                        "(BLAS pinned to 1 thread)" + (f"\n{machine}" if machine else ""))
        for axes, dtype in zip(grid[0], ("float32", "float64")):
            _time_panel(axes, rows, dtype, suite["columns"])
        handles, labels = grid[0][0].get_legend_handles_labels()
        figure.legend(handles, labels, loc="outside lower center", ncols=len(labels),
                      frameon=False)
        _ratio_panel(grid[1][0], rows, shapes, dtypes, data["exp_ratio_limit"],
                     data["target_cases"])
        _memory_panel(grid[1][1], rows, shapes, dtypes, data["memory_limit"],
                      data["target_cases"])
        figure.savefig(path, dpi=100)
        pyplot.close(figure)


def depth(suite, path, machine=""):
    pyplot = _pyplot()
    data = suite["plot_data"]
    with pyplot.rc_context(FONT):
        figure, panels = pyplot.subplots(1, 2, figsize=(12, 4.8))
        for axes, xs, ys, what, xlabel in (
                (panels[0], data["sizes"], data["per_node"], "node", "chain length (nodes)"),
                (panels[1], data.get("widths", []), data.get("per_input", []), "input",
                 "inputs of one stack")):
            if not xs:
                axes.set_axis_off()
                continue
            values = [y * 1e6 for y in ys]
            limit = values[0] * data.get("target", 1.5)
            axes.axhspan(0, limit, color="#2ca02c", alpha=0.08)
            axes.axhline(limit, color="#d62728", linestyle="--", linewidth=1.6,
                         label=f"target: ≤ {data.get('target', 1.5):g}× the cost at {xs[0]:,}")
            axes.plot(xs, values, "o-", color=COLOURS["fused"], markersize=7,
                      label=f"backward time per {what} (median)")
            axes.set_xscale("log")
            axes.set_ylim(0, max(max(values), limit) * 1.25)
            axes.set_xlabel(xlabel)
            axes.set_ylabel(f"µs per {what}")
            axes.grid(True, which="both", alpha=0.3)
            axes.legend(loc="lower right")
        panels[0].set_title("Chains y = y * c: backward cost per node")
        panels[1].set_title("ag.stack of n leaves: backward cost per input")
        figure.suptitle("depth: backward cost per node as graphs grow (flat means linear time)"
                        + (f"\n{machine}" if machine else ""))
        figure.tight_layout()
        figure.savefig(path, dpi=100)
        pyplot.close(figure)


def linear_ce(suite, path, machine=""):
    """The linear_ce sweep over V (drawn by benchmarks/linear_ce.py, imported when needed)."""
    from benchmarks import linear_ce as suite_module

    suite_module.plot(suite, path, machine)


PLOTTERS = {"softmax_ce": softmax_ce, "depth": depth, "linear_ce": linear_ce}


def machine_caption(machine):
    """One line naming the machine a figure was measured on (what is known of it)."""
    avx = report.avx512(machine)
    parts = [machine.get("cpu"), avx,
             machine.get("cpu_count") and f"{machine['cpu_count']} CPUs",
             machine.get("numpy") and f"NumPy {machine['numpy']}", machine.get("date"),
             machine.get("engine") and f"engine {machine['engine']}"]
    return ", ".join(part for part in parts if part)


def draw(suites, directory, stem, machine=None):
    """Draw every suite that has a figure: (notes on anything skipped, paths written)."""
    try:
        _pyplot()
    except ImportError:
        return ["matplotlib not installed: no figures"], []
    paths = []
    for name, suite in suites.items():
        if name in PLOTTERS and "plot_data" in suite:
            filename = f"{stem}-{name}.png"
            measured = dict(machine or {})  # a suite kept from an earlier run has its own date
            measured.update({key: suite[key] for key in ("date", "engine") if key in suite})
            PLOTTERS[name](suite, os.path.join(directory, filename), machine_caption(measured))
            suite["plots"] = [filename]
            paths.append(os.path.join(directory, filename))
    return [], paths
