"""Is this ``autograd`` folder tapegrad's, whole and alone? Checked once, when it is imported.

tapegrad's import name, ``autograd``, is also the import name of HIPS autograd (the PyPI
distribution ``autograd``), which other packages pull in as a dependency. pip does not
notice the clash: installing one after the other writes both into one
``site-packages/autograd/`` folder, each overwriting the files they share (``__init__.py``
among them) and leaving the rest of the other's files in place. Uninstalling one then
removes the shared files, so the survivor is broken too.

When this module runs, tapegrad's ``__init__.py`` is the one being imported, so the cases
left to catch are the folder holding HIPS's own modules beside ours, and the folder
missing some of ours. Either raises ``ImportError`` saying what was found and how to repair
it. The check looks only at a few paths inside the package's own folder (no subprocess, no
listing of site-packages); ``importlib.metadata`` is consulted only to word the error.

What it cannot catch: HIPS's ``__init__.py`` winning the import (then this code never
runs, and ``import autograd`` gives HIPS, or a namespace package whose ``__file__`` is
None once HIPS was uninstalled). The README's name-clash section says how to tell.
"""

from __future__ import annotations

import os

# Modules every tapegrad install has. A folder without them is a leftover or a mix.
OWN_MODULES = ("tape.py", "tensors.py", "primitives.py", "functional.py", "transforms.py")

# Modules only HIPS autograd has: internal names of its tracing machinery that tapegrad
# does not use. (Names it shares with tapegrad's public API, such as extend.py, or that
# tapegrad may add for HIPS-style code, such as builtins.py or numpy/, are not evidence.)
HIPS_MODULES = (
    "wrap_util.py",
    "differential_operators.py",
    os.path.join("numpy", "numpy_vjps.py"),
    os.path.join("numpy", "numpy_vspaces.py"),
    os.path.join("numpy", "numpy_boxes.py"),
)

PACKAGE_DIRECTORY = os.path.dirname(os.path.abspath(__file__))


def problems(directory=PACKAGE_DIRECTORY):
    """(missing tapegrad modules, HIPS autograd modules present) in ``directory``."""
    missing = [name for name in OWN_MODULES if not os.path.isfile(os.path.join(directory, name))]
    foreign = [name for name in HIPS_MODULES if os.path.exists(os.path.join(directory, name))]
    return missing, foreign


def _installed(distribution):
    """'tapegrad 0.1.0 (editable: /path)' or 'autograd 1.7.0', or None if not installed."""
    try:
        import importlib.metadata as metadata

        found = metadata.distribution(distribution)
    except Exception:  # PackageNotFoundError, or metadata unreadable: say nothing
        return None
    return f"{distribution} {found.version}"


def message(directory, missing, foreign):
    """The ImportError's text: what is in ``directory``, and how to repair it."""
    found = []
    if foreign:
        found.append("files of HIPS autograd (" + ", ".join(name.replace(os.sep, "/") for name in foreign)
                     + ") sit beside tapegrad's")
    if missing:
        found.append("tapegrad's own modules " + ", ".join(missing) + " are missing")
    installed = [text for text in map(_installed, ("tapegrad", "autograd")) if text]
    lines = [
        f"the 'autograd' package at {directory} is not a complete tapegrad install: "
        + "; ".join(found) + ".",
        "tapegrad and HIPS autograd share the import name 'autograd', and pip installs both "
        "into one folder, mixing their files (HIPS autograd often arrives as a dependency of "
        "another package).",
    ]
    if installed:
        lines.append("pip lists: " + ", ".join(installed) + ".")
    lines += [
        "To repair: pip uninstall autograd tapegrad; delete the folder above if it is still "
        "there; then reinstall tapegrad: pip install -e . in a tapegrad checkout.",
        "Keep HIPS autograd, and packages that need it, in a separate virtual environment.",
    ]
    return "\n".join(lines)


def check(directory=PACKAGE_DIRECTORY):
    """Raise ImportError if ``directory`` is a mixed or partial tapegrad install."""
    missing, foreign = problems(directory)
    if missing or foreign:
        raise ImportError(message(directory, missing, foreign), name="autograd")
