"""``ag.compile``: trace a step once, replay it as one flat NumPy program."""

from __future__ import annotations

__all__ = ["compile"]


def compile(fn):
    """Not built yet (issue 16)."""
    raise NotImplementedError("ag.compile is not built yet")
