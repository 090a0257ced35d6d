"""The primitives table: one row per primitive drives the value, gradient, dtype,
fan-out and no-mutation tests (test_primitives.py) and the second-order checks.

Each ``Spec`` says

    function    our op, called as ``function(*args)``
    reference   the NumPy forward, called as ``reference(*arrays)`` on the same args
    arguments   ``arguments(dtype)``: a Hypothesis strategy of the args tuple. Floating
                arrays are the differentiable inputs (drawn in the op's domain, away
                from kinks); everything else (axis, index, shape, bool masks) is a
                constant that gradcheck passes through unchanged.
    fan_out     positions (i, j) that may hold the same tensor (``mul(x, x)``)
    twice_differentiable   its VJP is built from differentiable operations, so
                gradcheck of its gradient (higher order) is expected to pass

Use: ``from specs import PRIMITIVES`` (tests/ is on sys.path under pytest's rootdir
conftest); ``SPECS_BY_NAME["mul"]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag
from autograd.testing import strategies as ags


@dataclass(frozen=True)
class Spec:
    name: str
    function: Callable
    reference: Callable
    arguments: Callable  # dtype -> strategy of the args tuple
    fan_out: tuple | None = None
    twice_differentiable: bool = True

    def __repr__(self):  # pytest ids
        return self.name


# ---------------------------------------------------------------------------
# Argument strategies.
# ---------------------------------------------------------------------------

def unary(**domain):
    """One array of any shape (0-d included)."""
    return lambda dtype: st.tuples(ags.arrays(dtype, **domain))


def binary(first=None, second=None):
    """Two arrays of mutually broadcastable shapes, each with its own domain."""
    first, second = first or {}, second or {}

    def arguments(dtype):
        return ags.broadcastable_shapes(2).flatmap(lambda shapes: st.tuples(
            ags.arrays(dtype, shapes[0], **first), ags.arrays(dtype, shapes[1], **second)))

    return arguments


def grid_arrays(dtype, shape):
    """Multiples of 1/8 in [-5, 5]: entries are exactly equal or at least 1/8 apart.

    For max/maximum, whose gradient jumps at ties: never within finite-difference
    reach of a tie.
    """
    return hnp.arrays(np.int64, shape, elements=st.integers(-40, 40)).map(
        lambda a: (a / 8).astype(dtype))


def distinct_arrays(dtype, shape):
    """Entries at least 1/8 apart (reductions max/min: no ties among more than two)."""
    return hnp.arrays(np.int64, shape, elements=st.integers(-40, 40), unique=True).map(
        lambda a: (a / 8).astype(dtype))


def off_grid_arrays(dtype, shape):
    """Odd multiples of 1/16: never equal to, and at least 1/16 from, ``grid_arrays``."""
    return hnp.arrays(np.int64, shape, elements=st.integers(-40, 39)).map(
        lambda a: ((2 * a + 1) / 16).astype(dtype))


def untied_pair(dtype):
    """Two broadcastable arrays with no entry of one within 1/16 of the other.

    Exact ties (where maximum's derivative jumps) get their own tests; here the
    second derivative exists everywhere, so the same rows serve second-order checks.
    """
    return ags.broadcastable_shapes(2).flatmap(
        lambda shapes: st.tuples(grid_arrays(dtype, shapes[0]), off_grid_arrays(dtype, shapes[1])))


def where_arguments(dtype):
    return ags.broadcastable_shapes(3).flatmap(lambda shapes: st.tuples(
        hnp.arrays(np.bool_, shapes[0]), ags.arrays(dtype, shapes[1]), ags.arrays(dtype, shapes[2])))


@st.composite
def axis_and_keepdims(draw, ndim):
    """None, an int (negative too) or a tuple of distinct axes; and keepdims."""
    options = [st.none(), hnp.valid_tuple_axes(ndim)]
    if ndim:
        options.append(st.integers(-ndim, ndim - 1))
    return draw(st.one_of(options)), draw(st.booleans())


def reduction(values=ags.arrays):
    def arguments(dtype):
        return ags.shapes().flatmap(lambda shape: st.tuples(
            values(dtype, shape), axis_and_keepdims(len(shape))).map(
            lambda drawn: (drawn[0], *drawn[1])))

    return arguments


@st.composite
def matmul_arguments(draw, dtype):
    """1-D and n-D operands in every combination, batch axes broadcasting."""
    n, k, m = (draw(st.integers(1, 4)) for _ in range(3))
    batch_a, batch_b = draw(ags.broadcastable_shapes(2, max_dims=2, max_side=3))
    shape_a = (k,) if draw(st.booleans()) else (*batch_a, n, k)
    shape_b = (k,) if draw(st.booleans()) else (*batch_b, k, m)
    return draw(ags.arrays(dtype, shape_a)), draw(ags.arrays(dtype, shape_b))


@st.composite
def reshape_arguments(draw, dtype):
    x = draw(ags.arrays(dtype))
    target = draw(st.sampled_from([(-1,), (x.size,), x.shape[::-1], (1, *x.shape), (*x.shape, 1)]))
    if target and draw(st.booleans()):  # let NumPy infer one axis
        i = draw(st.integers(0, len(target) - 1))
        target = (*target[:i], -1, *target[i + 1:])
    return x, target


@st.composite
def transpose_arguments(draw, dtype):
    x = draw(ags.arrays(dtype))
    axes = draw(st.none() | st.permutations(range(x.ndim)).map(tuple))
    return x, axes


@st.composite
def expand_dims_arguments(draw, dtype):
    x = draw(ags.arrays(dtype))
    return x, draw(st.integers(-x.ndim - 1, x.ndim))


@st.composite
def squeeze_arguments(draw, dtype):
    x = draw(ags.arrays(dtype, max_side=2))
    ones = [i for i, n in enumerate(x.shape) if n == 1]
    return x, draw(st.none() | (st.sampled_from(ones) if ones else st.none()))


@st.composite
def broadcast_to_arguments(draw, dtype):
    shape, other = draw(ags.broadcastable_shapes(2))
    return draw(ags.arrays(dtype, shape)), np.broadcast_shapes(shape, other)


@st.composite
def getitem_arguments(draw, dtype):
    """Basic indices, integer arrays (with repeats) and boolean masks."""
    x = draw(ags.arrays(dtype))
    kinds = ["basic"] + (["integer", "mask"] if x.ndim else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "basic":
        index = draw(hnp.basic_indices(x.shape, allow_newaxis=True))
    elif kind == "integer":
        index = draw(hnp.integer_array_indices(x.shape, result_shape=ags.shapes(max_dims=2)))
    else:
        index = draw(hnp.arrays(np.bool_, x.shape))
    return x, index


@st.composite
def concatenate_arguments(draw, dtype):
    shape = draw(ags.shapes(min_dims=1))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    parts = []
    for _ in range(draw(st.integers(2, 3))):
        part = list(shape)
        part[axis] = draw(st.integers(1, 3))
        parts.append(draw(ags.arrays(dtype, tuple(part))))
    return (*parts, axis)


@st.composite
def stack_arguments(draw, dtype):
    shape = draw(ags.shapes())
    parts = [draw(ags.arrays(dtype, shape)) for _ in range(draw(st.integers(2, 3)))]
    return (*parts, draw(st.integers(-len(shape) - 1, len(shape))))


@st.composite
def pow_number_arguments(draw, dtype):
    exponent = draw(st.sampled_from([0, 1, 2, 3, -1, 0.5, -1.5, 2.5]))
    return draw(ags.arrays(dtype, min_value=0.1, max_value=3)), exponent


@st.composite
def swapaxes_arguments(draw, dtype):
    x = draw(ags.arrays(dtype, ags.shapes(min_dims=1)))
    axes = st.integers(-x.ndim, x.ndim - 1)
    return x, draw(axes), draw(axes)


@st.composite
def scatter_add_arguments(draw, dtype):
    """Values (k,) added at k indices of a (n,) result, repeats included."""
    n, k = draw(st.integers(1, 5)), draw(st.integers(1, 6))
    index = np.array(draw(st.lists(st.integers(-n, n - 1), min_size=k, max_size=k)))
    return draw(ags.arrays(dtype, (k,))), index, (n,)


def _scatter_add_reference(values, index, shape):
    result = np.zeros(shape, values.dtype)
    np.add.at(result, index, values)
    return result


# ---------------------------------------------------------------------------
# The table.
# ---------------------------------------------------------------------------

def _stable_sigmoid_reference(x):
    return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))


def _axis_keywords(reduce):
    return lambda x, axis, keepdims: reduce(x, axis=axis, keepdims=keepdims)


def _ends(function):
    """(*arrays, last) -> function(arrays, last): for concatenate/stack's list argument."""
    return lambda *args: function(list(args[:-1]), args[-1])


POSITIVE = dict(min_value=0.1, max_value=5)
NONZERO = dict(away_from=(0.0,), margin=0.5)
# clip's constant bounds, and a margin so no input sits on them
CLIP_LOW, CLIP_HIGH = -1.0, 2.0

PRIMITIVES = [
    # Elementwise, unary.
    Spec("neg", ag.neg, np.negative, unary()),
    Spec("positive", ag.positive, np.positive, unary()),
    Spec("exp", ag.exp, np.exp, unary()),
    Spec("log", ag.log, np.log, unary(**POSITIVE)),
    Spec("sqrt", ag.sqrt, np.sqrt, unary(**POSITIVE)),
    Spec("abs", ag.abs, np.abs, unary(away_from=(0.0,))),
    Spec("tanh", ag.tanh, np.tanh, unary()),
    Spec("sigmoid", ag.sigmoid, _stable_sigmoid_reference, unary()),
    Spec("relu", ag.relu, lambda x: np.maximum(x, 0), unary(away_from=(0.0,))),
    Spec("clip", lambda x: ag.clip(x, CLIP_LOW, CLIP_HIGH), lambda x: np.clip(x, CLIP_LOW, CLIP_HIGH),
         unary(away_from=(CLIP_LOW, CLIP_HIGH))),
    # Elementwise, binary, broadcasting.
    Spec("add", ag.add, np.add, binary(), fan_out=(0, 1)),
    Spec("sub", ag.sub, np.subtract, binary(), fan_out=(0, 1)),
    Spec("mul", ag.mul, np.multiply, binary(), fan_out=(0, 1)),
    Spec("div", ag.div, np.true_divide, binary(NONZERO, NONZERO), fan_out=(0, 1)),
    Spec("pow", ag.pow, np.power, binary(POSITIVE, dict(min_value=-3, max_value=3)), fan_out=(0, 1)),
    Spec("pow_number", ag.pow, np.power, pow_number_arguments),
    Spec("maximum", ag.maximum, np.maximum, untied_pair, fan_out=(0, 1)),
    Spec("minimum", ag.minimum, np.minimum, untied_pair, fan_out=(0, 1)),
    Spec("where", ag.where, np.where, where_arguments, fan_out=(1, 2)),
    Spec("astype", lambda x: ag.astype(x, x.dtype), lambda x: x.astype(x.dtype), unary()),
    # Reductions.
    Spec("sum", ag.sum, _axis_keywords(np.sum), reduction()),
    Spec("mean", ag.mean, _axis_keywords(np.mean), reduction()),
    Spec("max", ag.max, _axis_keywords(np.max), reduction(distinct_arrays)),
    Spec("min", ag.min, _axis_keywords(np.min), reduction(distinct_arrays)),
    # Linear algebra.
    Spec("matmul", ag.matmul, np.matmul, matmul_arguments),
    # Shape.
    Spec("reshape", ag.reshape, np.reshape, reshape_arguments),
    Spec("transpose", ag.transpose, np.transpose, transpose_arguments),
    Spec("swapaxes", ag.swapaxes, np.swapaxes, swapaxes_arguments),
    Spec("matrix_transpose", ag.matrix_transpose, np.matrix_transpose,
         unary(shape=ags.shapes(min_dims=2))),
    Spec("expand_dims", ag.expand_dims, np.expand_dims, expand_dims_arguments),
    Spec("squeeze", ag.squeeze, np.squeeze, squeeze_arguments),
    Spec("broadcast_to", ag.broadcast_to, np.broadcast_to, broadcast_to_arguments),
    Spec("getitem", ag.getitem, lambda x, index: x[index], getitem_arguments),
    Spec("scatter_add", ag.scatter_add, _scatter_add_reference, scatter_add_arguments),
    Spec("concatenate", _ends(lambda xs, axis: ag.concatenate(xs, axis=axis)),
         _ends(lambda xs, axis: np.concatenate(xs, axis=axis)), concatenate_arguments, fan_out=(0, 1)),
    Spec("stack", _ends(lambda xs, axis: ag.stack(xs, axis=axis)),
         _ends(lambda xs, axis: np.stack(xs, axis=axis)), stack_arguments, fan_out=(0, 1)),
]

# The rest of the vocabulary, one file per kind (each imports Spec and the strategies above).
import specs_elementwise  # noqa: E402
import specs_linalg  # noqa: E402
import specs_nn  # noqa: E402
import specs_shapes  # noqa: E402

PRIMITIVES += specs_elementwise.ROWS + specs_shapes.ROWS + specs_linalg.ROWS + specs_nn.ROWS

SPECS_BY_NAME = {spec.name: spec for spec in PRIMITIVES}
