"""Figures (PNG, matplotlib's Agg backend): softmax_ce time/memory against N*C, depth per node."""

from __future__ import annotations

import os


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    return pyplot


def softmax_ce(suite, path):
    """Two panels: median time and peak extra memory against N*C, one line per variant and dtype."""
    pyplot = _pyplot()
    figure, (time_axes, memory_axes) = pyplot.subplots(1, 2, figsize=(12, 4.8))
    points = suite["plot_data"]
    styles = {"float32": "-", "float64": "--"}
    colours = {}
    for axes, kind, scale in ((time_axes, "time", 1e3), (memory_axes, "memory", 1 / 2**20)):
        for dtype, by_variant in points[kind].items():
            for variant, series in by_variant.items():
                colour = colours.setdefault(variant, f"C{len(colours)}")
                sizes, values = zip(*sorted(series))
                axes.plot(sizes, [v * scale for v in values], styles[dtype], marker="o",
                          color=colour, label=f"{variant} {dtype}")
    logits_sizes = sorted({n for by_variant in points["memory"].values()
                           for series in by_variant.values() for n, _ in series})
    for dtype, itemsize in (("float32", 4), ("float64", 8)):
        if dtype not in points["memory"]:
            continue
        memory_axes.plot(logits_sizes, [n * itemsize / 2**20 for n in logits_sizes], ":",
                         color="grey", label=f"logits size {dtype}")
    for axes, label in ((time_axes, "forward+backward time (ms, median)"),
                        (memory_axes, "peak extra memory (MiB, tracemalloc)")):
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xlabel("N * C (logits entries)")
        axes.set_ylabel(label)
        axes.grid(True, which="both", alpha=0.3)
    time_axes.legend(fontsize=7)
    memory_axes.legend(fontsize=7)
    figure.suptitle("softmax cross-entropy: fused vs composed (BLAS pinned to 1 thread)")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    pyplot.close(figure)


def depth(suite, path):
    pyplot = _pyplot()
    figure, axes = pyplot.subplots(figsize=(6, 4))
    data = suite["plot_data"]
    axes.plot(data["sizes"], [v * 1e6 for v in data["per_node"]], marker="o")
    axes.set_xscale("log")
    axes.set_ylim(bottom=0)
    axes.set_xlabel("chain length (nodes)")
    axes.set_ylabel("backward time per node (us, median)")
    axes.set_title("depth: backward cost per node")
    axes.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    pyplot.close(figure)


PLOTTERS = {"softmax_ce": softmax_ce, "depth": depth}


def draw(suites, directory, stem):
    """Draw every suite that has a figure; return notes on anything skipped."""
    try:
        _pyplot()
    except ImportError:
        return ["matplotlib not installed: no figures"]
    for name, suite in suites.items():
        if name in PLOTTERS and "plot_data" in suite:
            filename = f"{stem}-{name}.png"
            PLOTTERS[name](suite, os.path.join(directory, filename))
            suite["plots"] = [filename]
    return []
