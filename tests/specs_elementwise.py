"""Rows of the primitives table (tests/specs.py) for the elementwise vocabulary and reductions.

They import ``Spec`` and the argument strategies from specs.py, which appends
``ROWS`` to ``PRIMITIVES``; a row's name is the primitive's registry key.
(specs.py imports this module after its own definitions, so import ``specs``
first, never this module on its own.)
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag
from autograd.testing import strategies as ags
from specs import (NONZERO, POSITIVE, Spec, _axis_keywords, axis_and_keepdims, binary,
                   distinct_arrays, reduction, unary, untied_pair)


# ---------------------------------------------------------------------------
# Argument strategies.
# ---------------------------------------------------------------------------

INSIDE_ONE = dict(min_value=-0.9, max_value=0.9)   # arcsin, arccos, arctanh: away from +-1


@st.composite
def modulo_arguments(draw, dtype):
    """a and b for a mod b away from its jumps: b an integer in +-[1, 4] and a an integer
    plus a fraction in [0.15, 0.85], so a / b is at least 0.0375 from every integer."""
    shape_a, shape_b = draw(ags.broadcastable_shapes(2))
    whole = draw(hnp.arrays(np.int64, shape_a, elements=st.integers(-5, 4)))
    fraction = draw(hnp.arrays(np.float64, shape_a, elements=st.floats(0.15, 0.85)))
    b = draw(hnp.arrays(np.int64, shape_b, elements=st.sampled_from([-4, -3, -2, -1, 1, 2, 3, 4])))
    return (whole + fraction).astype(dtype), b.astype(dtype)


def _math_reference(function):
    """A math-module function elementwise, in the input's dtype (the oracle for erf/erfc)."""
    return lambda x: np.vectorize(function, otypes=[x.dtype])(x)


def halves_with_zeros(dtype, shape):
    """0, +-1/2 and +-1: exact zeros are common (prod, cumprod), products exact (powers of
    two) and at most 1 in size. Central differences resolve a derivative only to about
    eps_machine * |f| / eps: with factors up to 2 a product of 64 entries reaches 1e11
    and more, where that is ~1 (the dev profile found cumprod's third-order check at
    numeric -0.54, shrinking as 1/eps, where the exact value is 0)."""
    return hnp.arrays(np.int64, shape, elements=st.integers(-2, 2)).map(
        lambda a: np.asarray(a / 2, dtype))


@st.composite
def scan_arguments(draw, dtype, values=ags.arrays):
    """An array and an axis (None, or an int, negative too)."""
    x = draw(values(dtype, draw(ags.shapes())))
    return x, draw(st.none() | (st.integers(-x.ndim, x.ndim - 1) if x.ndim else st.none()))


@st.composite
def var_arguments(draw, dtype):
    """Distinct values, and axes whose slices hold at least two entries (std's gradient is
    infinite where a slice is constant), with ddof 0 or 1."""
    x = draw(distinct_arrays(dtype, draw(ags.shapes(min_dims=1, min_side=2))))
    axis, keepdims = draw(axis_and_keepdims(x.ndim).filter(lambda drawn: drawn[0] != ()))
    return x, axis, keepdims, draw(st.sampled_from([0, 1]))


@st.composite
def average_arguments(draw, dtype):
    """a, positive weights (a's shape, or 1-D along the averaged axis) and the axis."""
    a = draw(ags.arrays(dtype))
    axis = draw(st.none() | (st.integers(-a.ndim, a.ndim - 1) if a.ndim else st.none()))
    one_dimensional = axis is not None and draw(st.booleans())
    w = draw(ags.arrays(dtype, (a.shape[axis],) if one_dimensional else a.shape, **POSITIVE))
    return a, w, axis


@st.composite
def nan_arguments(draw, dtype):
    """Arrays with some NaNs, never a whole reduced slice of them, and an axis, keepdims."""
    x = draw(ags.arrays(dtype))
    axis, keepdims = draw(axis_and_keepdims(x.ndim))
    reduced = range(x.ndim) if axis is None else axis if isinstance(axis, tuple) else (axis,)
    kept = np.ones(x.shape, bool)   # the first entry of every slice stays a number
    for i, index in enumerate(np.indices(x.shape)):
        if i in [r % x.ndim for r in reduced]:
            kept &= index == 0
    missing = draw(hnp.arrays(np.bool_, x.shape)) & ~kept
    return np.where(missing, np.nan, x).astype(dtype), axis, keepdims


@st.composite
def partition_arguments(draw, dtype):
    x = draw(distinct_arrays(dtype, draw(ags.shapes(min_dims=1))))
    axis = draw(st.integers(-x.ndim, x.ndim - 1))
    return x, draw(st.integers(-x.shape[axis], x.shape[axis] - 1)), axis


@st.composite
def take_arguments(draw, dtype):
    """Indices with repeats (negative too) along an axis, or into the flattened array."""
    x = draw(ags.arrays(dtype))
    axis = draw(st.none() | (st.integers(-x.ndim, x.ndim - 1) if x.ndim else st.none()))
    length = x.size if axis is None else x.shape[axis]
    indices = draw(hnp.arrays(np.intp, ags.shapes(max_dims=2),
                              elements=st.integers(-length, length - 1)))
    return x, indices, axis


@st.composite
def take_along_axis_arguments(draw, dtype):
    x = draw(ags.arrays(dtype, ags.shapes(min_dims=1)))
    axis = draw(st.integers(-x.ndim, x.ndim - 1))
    shape = [draw(st.sampled_from([1, n])) for n in x.shape]   # the other axes may broadcast
    shape[axis] = draw(st.integers(1, 4))
    n = x.shape[axis]
    return x, draw(hnp.arrays(np.intp, tuple(shape), elements=st.integers(-n, n - 1))), axis


@st.composite
def diff_arguments(draw, dtype):
    x = draw(ags.arrays(dtype, ags.shapes(min_dims=1)))
    return x, draw(st.integers(0, 3)), draw(st.integers(-x.ndim, x.ndim - 1))


@st.composite
def gradient_arguments(draw, dtype):
    """An axis with at least three entries (edge_order 2 needs them), a spacing, an order."""
    x = draw(ags.arrays(dtype, ags.shapes(min_dims=1)))
    axis = draw(st.integers(-x.ndim, x.ndim - 1))
    if x.shape[axis] < 3:
        shape = list(x.shape)
        shape[axis] = 3
        x = draw(ags.arrays(dtype, tuple(shape)))
    return x, draw(st.sampled_from([1.0, 0.5, 2.0, -0.25])), axis, draw(st.sampled_from([1, 2]))


# ---------------------------------------------------------------------------
# The rows.
# ---------------------------------------------------------------------------

ROWS: list = [
    # Elementwise, unary.
    Spec("sin", ag.sin, np.sin, unary()),
    Spec("cos", ag.cos, np.cos, unary()),
    Spec("tan", ag.tan, np.tan, unary(min_value=-1.4, max_value=1.4)),
    Spec("arcsin", ag.arcsin, np.arcsin, unary(**INSIDE_ONE)),
    Spec("arccos", ag.arccos, np.arccos, unary(**INSIDE_ONE)),
    Spec("arctan", ag.arctan, np.arctan, unary()),
    Spec("sinh", ag.sinh, np.sinh, unary()),
    Spec("cosh", ag.cosh, np.cosh, unary()),
    Spec("arcsinh", ag.arcsinh, np.arcsinh, unary()),
    Spec("arccosh", ag.arccosh, np.arccosh, unary(min_value=1.1, max_value=5)),
    Spec("arctanh", ag.arctanh, np.arctanh, unary(**INSIDE_ONE)),
    Spec("square", ag.square, np.square, unary()),
    Spec("reciprocal", ag.reciprocal, np.reciprocal, unary(**NONZERO)),
    Spec("cbrt", ag.cbrt, np.cbrt, unary(**NONZERO)),
    Spec("log2", ag.log2, np.log2, unary(**POSITIVE)),
    Spec("log10", ag.log10, np.log10, unary(**POSITIVE)),
    Spec("log1p", ag.log1p, np.log1p, unary(min_value=-0.9, max_value=5)),
    Spec("exp2", ag.exp2, np.exp2, unary()),
    Spec("expm1", ag.expm1, np.expm1, unary()),
    Spec("sinc", ag.sinc, np.sinc, unary()),
    Spec("deg2rad", ag.deg2rad, np.deg2rad, unary()),
    Spec("radians", ag.radians, np.radians, unary()),
    Spec("rad2deg", ag.rad2deg, np.rad2deg, unary()),
    Spec("degrees", ag.degrees, np.degrees, unary()),
    Spec("erf", ag.erf, _math_reference(math.erf), unary()),
    Spec("erfc", ag.erfc, _math_reference(math.erfc), unary()),
    # Elementwise, binary, broadcasting.
    Spec("logaddexp", ag.logaddexp, np.logaddexp, binary(), fan_out=(0, 1)),
    Spec("logaddexp2", ag.logaddexp2, np.logaddexp2, binary(), fan_out=(0, 1)),
    Spec("hypot", ag.hypot, np.hypot, binary(NONZERO), fan_out=(0, 1)),
    Spec("arctan2", ag.arctan2, np.arctan2, binary(NONZERO), fan_out=(0, 1)),
    Spec("fmax", ag.fmax, np.fmax, untied_pair, fan_out=(0, 1)),
    Spec("fmin", ag.fmin, np.fmin, untied_pair, fan_out=(0, 1)),
    Spec("remainder", ag.remainder, np.remainder, modulo_arguments),
    Spec("fmod", ag.fmod, np.fmod, modulo_arguments),
    # Reductions.
    Spec("amax", _axis_keywords(ag.amax), _axis_keywords(np.amax), reduction(distinct_arrays)),
    Spec("amin", _axis_keywords(ag.amin), _axis_keywords(np.amin), reduction(distinct_arrays)),
    Spec("prod", _axis_keywords(ag.prod), _axis_keywords(np.prod), reduction(halves_with_zeros)),
    Spec("var", lambda x, axis, keepdims, ddof: ag.var(x, axis=axis, ddof=ddof, keepdims=keepdims),
         lambda x, axis, keepdims, ddof: np.var(x, axis=axis, ddof=ddof, keepdims=keepdims),
         var_arguments),
    Spec("std", lambda x, axis, keepdims, ddof: ag.std(x, axis=axis, ddof=ddof, keepdims=keepdims),
         lambda x, axis, keepdims, ddof: np.std(x, axis=axis, ddof=ddof, keepdims=keepdims),
         var_arguments),
    Spec("ptp", _axis_keywords(ag.ptp), _axis_keywords(np.ptp), reduction(distinct_arrays)),
    Spec("average", lambda a, w, axis: ag.average(a, axis=axis, weights=w),
         lambda a, w, axis: np.average(a, axis=axis, weights=w), average_arguments),
    Spec("nansum", _axis_keywords(ag.nansum), _axis_keywords(np.nansum), nan_arguments),
    Spec("nanmean", _axis_keywords(ag.nanmean), _axis_keywords(np.nanmean), nan_arguments),
    # Scans.
    Spec("cumsum", ag.cumsum, lambda x, axis: np.cumsum(x, axis=axis), scan_arguments),
    Spec("cumprod", ag.cumprod, lambda x, axis: np.cumprod(x, axis=axis),
         lambda dtype: scan_arguments(dtype, halves_with_zeros)),
    Spec("diff", ag.diff, lambda x, n, axis: np.diff(x, n, axis), diff_arguments),
    Spec("gradient", lambda f, h, axis, order: ag.gradient(f, h, axis=axis, edge_order=order),
         lambda f, h, axis, order: np.gradient(f, h, axis=axis, edge_order=order),
         gradient_arguments),
    # Sorting and selecting.
    Spec("sort", ag.sort, lambda x, axis: np.sort(x, axis=axis),
         lambda dtype: scan_arguments(dtype, distinct_arrays)),
    Spec("partition", ag.partition, np.partition, partition_arguments),
    Spec("take", ag.take, lambda x, indices, axis: np.take(x, indices, axis=axis), take_arguments),
    Spec("take_along_axis", ag.take_along_axis, np.take_along_axis, take_along_axis_arguments),
]
