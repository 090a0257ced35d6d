"""PyTorch's parameter initialisations, in place on a Tensor's data."""

from __future__ import annotations

__all__: list[str] = []
