"""``linear_cross_entropy``: a language model's output layer without its (N, V) logits."""

from __future__ import annotations

__all__ = ["linear_cross_entropy"]


def linear_cross_entropy(input, linear_weight, target, linear_bias=None, weight=None,
                         ignore_index=-100, reduction="mean", label_smoothing=0.0,
                         chunk_size=None):
    """Not built yet (issue 17)."""
    raise NotImplementedError("linear_cross_entropy is not built yet")
