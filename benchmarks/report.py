"""Turning suite results into the printed table and the ``<stem>.md`` / ``<stem>.json`` files."""

from __future__ import annotations

import json
import os


def format_seconds(seconds):
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def format_bytes(count):
    if count is None:
        return "-"
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= scale:
            return f"{count / scale:.3g} {unit}"
    return f"{count} B"


def format_timing(stats):
    if stats is None:
        return "-"
    return (f"{format_seconds(stats['median'])} "
            f"[{format_seconds(stats['min'])}-{format_seconds(stats['max'])}]")


def format_value(value):
    return "-" if value is None else f"{value:.2f}x"


def headline_rows(results):
    """Every target row of every suite, as (suite, case, metric, value, target, status)."""
    rows = []
    for suite in results["suites"].values():
        for row in suite["targets"]:
            rows.append((suite["suite"], row["case"], row["metric"], format_value(row["value"]),
                         row["target"], row["status"], row["detail"]))
    return rows


def detail_rows(suite):
    """Header and rows of one suite's table: a column per variant (median [min-max])."""
    header = ["case"] + [f"{name} time" for name in suite["columns"]]
    memory_columns = suite.get("memory_columns", [])
    header += [f"{name} peak mem" for name in memory_columns]
    extra_columns = suite.get("extra_columns", [])
    header += extra_columns
    rows = []
    for row in suite["rows"]:
        cells = [row["case"]]
        cells += [format_timing(row["times"].get(name)) for name in suite["columns"]]
        cells += [format_bytes(row.get("memory", {}).get(name)) for name in memory_columns]
        cells += [row.get("extra", {}).get(name, "-") for name in extra_columns]
        rows.append(cells)
    return header, rows


def _text_table(header, rows):
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def _markdown_table(header, rows):
    escape = lambda cell: str(cell).replace("|", "\\|")
    lines = ["| " + " | ".join(escape(c) for c in header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(escape(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


HEADLINE_HEADER = ["suite", "case", "measured", "value", "target", "status", "details"]


def avx512(machine):
    """'AVX-512', 'no AVX-512', 'AVX-512 (not used by NumPy)' or '' (unknown)."""
    text = {True: "AVX-512", False: "no AVX-512"}.get(machine.get("avx512"), "")
    simd = machine.get("numpy_simd")
    if machine.get("avx512") and simd is not None and not any("512" in s or s == "X86_V4"
                                                              for s in simd):
        text += " (not used by NumPy)"
    return text


def _avx512(machine):
    text = avx512(machine)
    return f"; {text}" if text else ""


def machine_line(machine):
    return (f"{machine['date']}; {machine['platform']}; {machine['cpu']}{_avx512(machine)}; "
            f"{machine['cpu_count']} CPUs; Python {machine['python']}; NumPy {machine['numpy']}"
            f"{'; ' + machine['blas'] if machine.get('blas') else ''}; torch {machine['torch']}; "
            f"micrograd {machine['micrograd']}; engine at {machine.get('engine', 'unknown')}")


def _provenance(suite):
    """When, on which engine and by which command one suite was measured."""
    if "date" not in suite:
        return ""
    return (f"measured {suite['date']}, engine {suite.get('engine', 'unknown')}, "
            f"`{suite.get('command', '?')}`")


def _merged_note(results):
    kept = results.get("merged_from_earlier_runs")
    return f"suites kept from earlier runs: {', '.join(kept)} (see each suite's line)" if kept else ""


def as_text(results):
    parts = [f"tapegrad benchmarks ({results['mode']}): {results['command']}",
             f"machine: {machine_line(results['machine'])}",
             f"threads: {results['threads']}; clock: {results['clock']}",
             _merged_note(results), "",
             _text_table(HEADLINE_HEADER, headline_rows(results))]
    for suite in results["suites"].values():
        parts += ["", f"[{suite['suite']}] {suite['description']}", "  " + _provenance(suite),
                  _text_table(*detail_rows(suite))]
        parts += [f"  note: {note}" for note in suite["notes"]]
    return "\n".join(parts)


def as_markdown(results):
    parts = ["# Benchmark results", "",
             f"Command: `{results['command']}` ({results['mode']} run)  ",
             f"Machine: {machine_line(results['machine'])}  ",
             f"Threads: {results['threads']}. Clock: {results['clock']}. Times are per call: "
             "median [min-max] over interleaved samples. A ratio of two variants is the "
             "median of their per-round ratios (timed back to back).  ",
             _merged_note(results), "",
             "## Targets", "", _markdown_table(HEADLINE_HEADER, headline_rows(results))]
    for suite in results["suites"].values():
        parts += ["", f"## {suite['suite']}", "", suite["description"],
                  _provenance(suite) + ".", "", _markdown_table(*detail_rows(suite))]
        if suite["notes"]:
            parts += [""] + [f"- {note}" for note in suite["notes"]]
        for plot in suite.get("plots", []):
            parts += ["", f"![{suite['suite']}]({plot})"]
    return "\n".join(parts) + "\n"


def write(results, directory, stem):
    """Write ``stem``.json and ``stem``.md into ``directory``; return their paths."""
    os.makedirs(directory, exist_ok=True)
    json_path = os.path.join(directory, f"{stem}.json")
    markdown_path = os.path.join(directory, f"{stem}.md")
    with open(json_path, "w") as out:
        json.dump(results, out, indent=1, sort_keys=False)
        out.write("\n")
    with open(markdown_path, "w") as out:
        out.write(as_markdown(results))
    return json_path, markdown_path
