"""Hypothesis strategies for arrays and tensors, built on ``hypothesis.extra.numpy``.

Elements are finite and bounded (default [-5, 5]) so that exp and friends stay in
range; ``away_from`` keeps them at least ``margin`` away from points where the
function being tested has a kink or leaves its domain (0 for relu/abs/log/sqrt).

    from hypothesis import given
    from autograd.testing import gradcheck, strategies as ags

    @given(ags.arrays(away_from=(0.0,)))
    def test_abs(x):
        assert gradcheck(ag.abs, x)
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autograd.tensors import Tensor

__all__ = ["arrays", "tensors", "shapes", "broadcastable_shapes", "broadcastable_arrays"]


def shapes(*, min_dims=0, max_dims=3, min_side=1, max_side=4):
    """Array shapes (tuples), 0-d included by default.

    >>> shapes(min_dims=1, max_dims=2).example()  # doctest: +SKIP
    (3, 1)
    """
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def broadcastable_shapes(num_shapes=2, *, min_dims=0, max_dims=3, min_side=1, max_side=4):
    """Tuples of ``num_shapes`` shapes that broadcast together (NumPy rules).

    >>> broadcastable_shapes(2).example()  # doctest: +SKIP
    ((2, 1, 3), (4, 1))
    """
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, min_side=min_side,
        max_side=max_side,
    ).map(lambda drawn: drawn.input_shapes)


def _elements(dtype, min_value, max_value, away_from, margin):
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        return hnp.from_dtype(dtype, min_value=min_value, max_value=max_value)
    # Hypothesis wants bounds exactly representable in the dtype: round them inwards.
    low, high = dtype.type(min_value), dtype.type(max_value)
    if low < min_value:
        low = np.nextafter(low, dtype.type(np.inf))
    if high > max_value:
        high = np.nextafter(high, dtype.type(-np.inf))
    elements = hnp.from_dtype(dtype, min_value=float(low), max_value=float(high),
                              allow_nan=False, allow_infinity=False, allow_subnormal=False)
    if not away_from:
        return elements
    points = tuple(float(p) for p in away_from)

    def push_away(value):
        # Move a value that lands too close to a point just outside the margin (same
        # side), rather than filtering: Hypothesis loves to draw 0 and the bounds.
        for point in points:
            if abs(value - point) < margin:
                value = point + (margin if value >= point else -margin)
        return value

    def far_enough(value):
        return low <= value <= high and all(abs(float(value) - p) >= margin * 0.99 for p in points)

    return elements.map(lambda v: dtype.type(push_away(float(v)))).filter(far_enough)


def arrays(dtype=np.float64, shape=None, *, min_dims=0, max_dims=3, min_side=1, max_side=4,
           min_value=-5, max_value=5, away_from=(), margin=1e-2):
    """NumPy arrays with finite elements in [min_value, max_value].

    ``shape`` is a tuple, a strategy of tuples, or None to draw one (``min_dims`` ..
    ``max_side`` bound it; 0-d arrays are drawn by default). ``dtype`` may be a dtype
    or a strategy of dtypes. ``away_from`` is a sequence of points that every element
    keeps at least ``margin`` away from.

    >>> arrays(shape=(2, 3), away_from=(0.0,)).example().shape  # doctest: +SKIP
    (2, 3)
    >>> arrays(np.float32, min_value=0.1, max_value=3).example().dtype  # log's domain  # doctest: +SKIP
    dtype('float32')
    """
    if isinstance(dtype, st.SearchStrategy):
        return dtype.flatmap(lambda d: arrays(
            d, shape, min_dims=min_dims, max_dims=max_dims, min_side=min_side,
            max_side=max_side, min_value=min_value, max_value=max_value,
            away_from=away_from, margin=margin))
    if shape is None:
        shape = shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)
    elif not isinstance(shape, st.SearchStrategy):
        shape = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)
    return hnp.arrays(dtype, shape,
                      elements=_elements(dtype, min_value, max_value, away_from, margin))


def tensors(dtype=np.float64, shape=None, *, requires_grad=True, **array_options):
    """Tensors over ``arrays(dtype, shape, **array_options)``.

    Floating tensors require grad when ``requires_grad`` (integer and bool tensors
    never can).

    >>> tensors(np.float32, (3,), away_from=(0.0,)).example()  # doctest: +SKIP
    Tensor([ 1.5, -0.5,  4. ], dtype=float32, requires_grad=True)
    """
    return arrays(dtype, shape, **array_options).map(
        lambda data: Tensor(data, requires_grad=requires_grad and data.dtype.kind == "f"))


def broadcastable_arrays(num_shapes=2, dtype=np.float64, *, min_dims=0, max_dims=3, min_side=1,
                         max_side=4, **element_options):
    """Tuples of ``num_shapes`` arrays whose shapes broadcast together.

    ``element_options`` go to ``arrays`` (``min_value``, ``max_value``, ``away_from``,
    ``margin``).

    >>> a, b = broadcastable_arrays(2).example()  # doctest: +SKIP
    >>> (a + b).shape == np.broadcast_shapes(a.shape, b.shape)  # doctest: +SKIP
    True
    """
    return broadcastable_shapes(
        num_shapes, min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side,
    ).flatmap(lambda drawn: st.tuples(*(arrays(dtype, shape, **element_options) for shape in drawn)))
