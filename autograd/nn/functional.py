"""The maths of the layers as functions: ``import autograd.nn.functional as F``."""

from __future__ import annotations

__all__: list[str] = []
