"""Tools for testing gradients: ``gradcheck`` and Hypothesis ``strategies``.

    from autograd.testing import gradcheck, strategies

``gradcheck`` needs only NumPy. ``strategies`` needs Hypothesis (a dev dependency)
and is imported the first time you touch it, so ``import autograd.testing`` works
without Hypothesis installed.
"""

import importlib

from autograd.testing.gradcheck import GradcheckError, gradcheck

__all__ = ["gradcheck", "GradcheckError", "strategies"]


def __getattr__(name):
    if name == "strategies":
        return importlib.import_module("autograd.testing.strategies")
    raise AttributeError(f"module 'autograd.testing' has no attribute {name!r}")
