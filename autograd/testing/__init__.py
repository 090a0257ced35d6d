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
        try:
            return importlib.import_module("autograd.testing.strategies")
        except ModuleNotFoundError as error:
            if error.name != "hypothesis":
                raise
            raise ModuleNotFoundError(
                "autograd.testing.strategies needs Hypothesis, which is not installed; install "
                'it with the testing extra, from the repository root: pip install -e ".[testing]"',
                name="hypothesis") from None
    raise AttributeError(f"module 'autograd.testing' has no attribute {name!r}")
