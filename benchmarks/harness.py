"""Timing, memory and bookkeeping shared by every suite.

Timing follows the usual rules for small, noisy machines:

* variants that are compared are timed round-robin (A, B, C, then B, C, A, ...),
  so a slow spell on a shared machine hits all of them, not just one;
* each sample runs a variant enough times to last ``min_time`` seconds; we keep
  ``repeats`` samples per variant and report the median, with min and max;
* a ratio between two variants is the median of their per-round ratios
  (``paired_ratio``): samples taken back to back share the machine's state;
* the garbage collector stays on (unlike ``timeit``): freeing a step's graph is
  part of the step's cost. micrograd's graphs are reference cycles (each node's
  closure refers to the node) that only the collector frees; pausing it would
  leave that work out of micrograd's time. tapegrad's graphs are freed by
  reference counting.

Memory is the ``tracemalloc`` peak of one call, above what was allocated before
it (NumPy reports its array buffers to tracemalloc; PyTorch does not).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import gc
import importlib
import importlib.metadata
import os
import platform
import statistics
import subprocess
import time
import tracemalloc

import numpy as np


@dataclasses.dataclass
class Config:
    """How hard to measure: ``quick`` picks smaller sizes, the rest picks sample counts."""

    quick: bool = False
    repeats: int = 21          # samples per variant
    min_time: float = 0.02     # seconds per sample
    clock: str = "cpu"         # "cpu": process CPU time; "wall": perf_counter

    @classmethod
    def for_mode(cls, quick, repeats=None, min_time=None, clock="cpu"):
        base = cls(quick=True, repeats=5, min_time=0.005) if quick else cls()
        if repeats is not None:
            base.repeats = repeats
        if min_time is not None:
            base.min_time = min_time
        base.clock = clock
        return base

    @property
    def timer(self):
        return CLOCKS[self.clock][0]


# Process CPU time leaves out the time this process waits while other jobs run on
# a shared machine; with BLAS and PyTorch pinned to one thread it equals wall time
# on an idle machine.
CLOCKS = {
    "cpu": (time.process_time, "process CPU time (time.process_time)"),
    "wall": (time.perf_counter, "wall time (time.perf_counter)"),
}


def optional_import(name):
    """The module, or None when it is not installed (its column is then skipped)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


# ---------------------------------------------------------------------------
# Time.
# ---------------------------------------------------------------------------

def _calls_per_sample(function, min_time, timer):
    """How many calls make one sample last at least ``min_time`` (after one warm-up call)."""
    function()
    number = 1
    while True:
        start = timer()
        for _ in range(number):
            function()
        elapsed = timer() - start
        if elapsed >= min_time:
            return number
        # Aim a little past min_time, growing at most 10x per step.
        number = max(number + 1, min(number * 10, int(number * 1.2 * min_time / max(elapsed, 1e-9))))


def _stats(samples):
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples),
            "samples": len(samples), "values": list(samples)}


def paired_ratio(timings, numerator, denominator):
    """Median over rounds of ``numerator``'s sample divided by ``denominator``'s sample
    from the same round; None if either was not measured.

    Both are timed back to back in every round, so a slow spell of the shared machine
    that hits a round slows both and cancels in their ratio. This is steadier than the
    ratio of the two medians, which pairs samples taken at different times.
    """
    top, bottom = timings.get(numerator), timings.get(denominator)
    if top is None or bottom is None:
        return None
    return statistics.median(a / b for a, b in zip(top["values"], bottom["values"]))


def compare_times(variants, config):
    """Seconds per call of each variant: {name: {"median", "min", "max", "samples"}}.

    ``variants`` maps a name to a function of no arguments. They are interleaved
    round-robin, starting each round at the next variant.
    """
    names = list(variants)
    timer = config.timer
    numbers = {name: _calls_per_sample(variants[name], config.min_time, timer) for name in names}
    samples = {name: [] for name in names}
    gc.collect()
    for round_index in range(config.repeats):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            function, number = variants[name], numbers[name]
            start = timer()
            for _ in range(number):
                function()
            samples[name].append((timer() - start) / number)
    return {name: _stats(samples[name]) for name in names}


def compare_times_with_setup(variants, repeats, timer=time.process_time):
    """Like ``compare_times`` for long calls that need fresh untimed state each time.

    ``variants`` maps a name to ``(setup, run)``: ``run(setup())`` is timed once
    per sample. Used for the depth suite, where backward consumes its graph.
    """
    names = list(variants)
    samples = {name: [] for name in names}
    for round_index in range(repeats):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            setup, run = variants[name]
            state = setup()
            gc.collect(1)  # the setup's own garbage is not the sample's cost
            start = timer()
            run(state)
            samples[name].append(timer() - start)
            del state
    return {name: _stats(samples[name]) for name in names}


# ---------------------------------------------------------------------------
# Memory.
# ---------------------------------------------------------------------------

def peak_extra_bytes(function):
    """Peak bytes allocated during one call of ``function`` above what existed before it."""
    function()  # warm-up: caches and lazily built objects are not the call's cost
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        result = function()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del result
    return peak - before


# ---------------------------------------------------------------------------
# Threads.
# ---------------------------------------------------------------------------

@contextlib.contextmanager
def single_threaded():
    """Pin BLAS/OpenMP (threadpoolctl) and PyTorch to one thread; yield a sentence saying so."""
    notes = []
    with contextlib.ExitStack() as stack:
        threadpoolctl = optional_import("threadpoolctl")
        if threadpoolctl is not None:
            stack.enter_context(threadpoolctl.threadpool_limits(limits=1))
            notes.append("BLAS/OpenMP pinned to 1 thread with threadpoolctl")
        else:
            notes.append("threadpoolctl not installed: BLAS threads NOT pinned")
        torch = optional_import("torch")
        if torch is not None:
            previous = torch.get_num_threads()
            torch.set_num_threads(1)
            stack.callback(torch.set_num_threads, previous)
            notes.append("torch.set_num_threads(1)")
        yield "; ".join(notes)


# ---------------------------------------------------------------------------
# Where and when.
# ---------------------------------------------------------------------------

def _cpuinfo_field(name):
    """The first ``name : value`` line's value in /proc/cpuinfo, or None (not Linux)."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith(name):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _cpu_model():
    return _cpuinfo_field("model name") or platform.processor() or platform.machine()


def _has_avx512():
    """Whether the CPU has AVX-512 (avx512f), None if unknown. NumPy's exp is several times
    faster with it, which moves every ratio to the np.exp-alone row."""
    flags = _cpuinfo_field("flags")
    return None if flags is None else "avx512f" in flags.split()


def _engine_revision():
    """The git commit of the measured engine, '+ local changes' if autograd/ differs from it."""
    import autograd

    root = os.path.dirname(os.path.dirname(os.path.abspath(autograd.__file__)))
    try:
        commit = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, timeout=10).stdout.strip()
        changed = subprocess.run(["git", "-C", root, "status", "--porcelain", "--", "autograd"],
                                 capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if not commit:
        return "unknown"
    return commit + (" + local changes to autograd/" if changed else "")


def _numpy_simd():
    """The SIMD targets NumPy dispatches to here (what ``np.show_runtime()`` lists as found);
    NPY_DISABLE_CPU_FEATURES can turn some off, so this may say less than the CPU has."""
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    except ImportError:
        return None
    return [name for name in __cpu_dispatch__ if __cpu_features__.get(name)]


def machine_info():
    """Date, platform, CPU and library versions, recorded with every result."""
    info = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "avx512": _has_avx512(),
        "numpy_simd": _numpy_simd(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    for name in ("torch", "micrograd"):
        try:
            info[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            info[name] = "not installed"
    info["engine"] = _engine_revision()
    threadpoolctl = optional_import("threadpoolctl")
    if threadpoolctl is not None:
        blas = [f"{pool['internal_api']} {pool.get('version') or ''}".strip()
                for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"]
        info["blas"] = ", ".join(blas) or "unknown"
    return info


# ---------------------------------------------------------------------------
# Targets.
# ---------------------------------------------------------------------------

def check(value, limit, at_most=True):
    """A target row's status: PASS / FAIL, or n.a. when the value could not be measured."""
    if value is None:
        return "n.a."
    holds = value <= limit if at_most else value >= limit
    return "PASS" if holds else "FAIL"


def target_row(case, metric, value, target, status, detail=""):
    """One row of the headline table: what was measured against which target."""
    return {"case": case, "metric": metric, "value": value, "target": target,
            "status": status, "detail": detail}


def ratio(numerator, denominator):
    if numerator is None or denominator is None:
        return None
    return numerator / denominator


def median(timings, name):
    """Median seconds of variant ``name``, or None if it was not measured."""
    entry = timings.get(name)
    return None if entry is None else entry["median"]


def format_ratio(value):
    return "-" if value is None else f"{value:.2f}x"

