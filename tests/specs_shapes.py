"""Rows of the primitives table (tests/specs.py) for the shapes vocabulary: assembly.py
(flips, rolls, repeats, pads, stacks, splits, diagonals, triangles, select) and
contractions.py (einsum, tensordot, dot, vdot, inner, outer, kron, cross).

They import ``Spec`` and the argument strategies from specs.py, which appends
``ROWS`` to ``PRIMITIVES``; a row's name is the primitive's registry key.

Arguments that are not floating arrays (axes, counts, subscripts, bool conditions) are
constants the tests pass through; functions that return several tensors (the splits)
are wrapped so that each piece reaches the output with its own weight.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag
from autograd.testing import strategies as ags
from specs import Spec, unary

# ---------------------------------------------------------------------------
# Argument strategies.
# ---------------------------------------------------------------------------


def _axis(ndim):
    return st.integers(-ndim, ndim - 1)


@st.composite
def ravel_arguments(draw, dtype):
    return draw(ags.arrays(dtype)), draw(st.sampled_from(["C", "F", "A"]))


@st.composite
def moveaxis_arguments(draw, dtype):
    x = draw(ags.arrays(dtype))
    if x.ndim and draw(st.booleans()):  # one axis, as ints
        return x, draw(_axis(x.ndim)), draw(_axis(x.ndim))
    source = draw(hnp.valid_tuple_axes(x.ndim))
    destination = draw(hnp.valid_tuple_axes(x.ndim, min_size=len(source), max_size=len(source)))
    return x, source, destination


@st.composite
def rollaxis_arguments(draw, dtype):
    x = draw(ags.arrays(dtype, ags.shapes(min_dims=1)))
    return x, draw(_axis(x.ndim)), draw(st.integers(-x.ndim, x.ndim))


@st.composite
def flip_arguments(draw, dtype):
    x = draw(ags.arrays(dtype))
    options = [st.none(), hnp.valid_tuple_axes(x.ndim)]
    if x.ndim:
        options.append(_axis(x.ndim))
    return x, draw(st.one_of(options))


@st.composite
def rot90_arguments(draw, dtype):
    x = draw(ags.arrays(dtype, ags.shapes(min_dims=2)))
    axes = draw(hnp.valid_tuple_axes(x.ndim, min_size=2, max_size=2))
    return x, draw(st.integers(-5, 5)), axes


@st.composite
def roll_arguments(draw, dtype):
    x = draw(ags.arrays(dtype))
    shift = st.integers(-7, 7)
    kind = draw(st.sampled_from(["none", "int", "tuple"] if x.ndim else ["none"]))
    if kind == "none":  # the flattened tensor; a tuple of shifts adds up
        return x, draw(shift | st.tuples(shift, shift)), None
    if kind == "int":
        return x, draw(shift), draw(_axis(x.ndim))
    axes = draw(st.lists(_axis(x.ndim), min_size=1, max_size=3).map(tuple))  # repeats add up
    return x, draw(shift | st.tuples(*[shift] * len(axes))), axes


@st.composite
def repeat_arguments(draw, dtype):
    x = draw(ags.arrays(dtype))
    axis = draw(st.none() | (_axis(x.ndim) if x.ndim else st.none()))
    length = x.size if axis is None else x.shape[axis]
    counts = st.integers(0, 3)
    repeats = draw(counts | st.lists(counts, min_size=length, max_size=length))
    return x, repeats, axis


@st.composite
def tile_arguments(draw, dtype):
    x = draw(ags.arrays(dtype))
    reps = draw(st.integers(1, 3) | st.lists(st.integers(0, 3), max_size=4).map(tuple))
    return x, reps


@st.composite
def pad_arguments(draw, dtype):
    x = draw(ags.arrays(dtype))
    width = st.integers(0, 3)
    pad_width = draw(st.one_of(width, st.tuples(width, width),
                               st.tuples(*[st.tuples(width, width)] * x.ndim) if x.ndim else width))
    mode = draw(st.sampled_from(["constant", "edge", "reflect", "symmetric", "wrap"]))
    constant_values = draw(st.sampled_from([0.0, -1.5, ((1.0, 2.0),) * x.ndim or 0.5]))
    return x, pad_width, mode, constant_values


def _pad(pad):
    def function(x, pad_width, mode, constant_values):
        if mode == "constant":
            return pad(x, pad_width, mode, constant_values=constant_values)
        return pad(x, pad_width, mode)
    return function


def _joined(dtype, shape, axis, count):
    """``count`` arrays of ``shape`` except along ``axis``, where each has its own length."""
    def part(length):
        grown = list(shape)
        grown[axis] = length
        return ags.arrays(dtype, tuple(grown))
    return st.lists(st.integers(1, 3).flatmap(part), min_size=count, max_size=count)


@st.composite
def hstack_arguments(draw, dtype):
    count = draw(st.integers(2, 3))
    if draw(st.booleans()):  # 1-D and 0-d: joined along axis 0
        return tuple(draw(ags.arrays(dtype, draw(st.sampled_from([(), (1,), (2,), (3,)]))))
                     for _ in range(count))
    shape = draw(ags.shapes(min_dims=2))
    return tuple(draw(_joined(dtype, shape, 1, count)))


@st.composite
def vstack_arguments(draw, dtype):
    count = draw(st.integers(2, 3))
    if draw(st.booleans()):  # rows (n,) and matrices (k, n); 0-d when n == 1
        n = draw(st.integers(1, 3))
        shapes = [(n,), (2, n), (1, n)] + ([()] if n == 1 else [])
        return tuple(draw(ags.arrays(dtype, draw(st.sampled_from(shapes)))) for _ in range(count))
    shape = draw(ags.shapes(min_dims=2))
    return tuple(draw(_joined(dtype, shape, 0, count)))


@st.composite
def dstack_arguments(draw, dtype):
    count = draw(st.integers(2, 3))
    m, n = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    shapes = [(m, n), (m, n, 2), (m, n, 1)] + ([(n,)] if m == 1 else []) + \
        ([()] if m == n == 1 else [])
    return tuple(draw(ags.arrays(dtype, draw(st.sampled_from(shapes)))) for _ in range(count))


@st.composite
def column_stack_arguments(draw, dtype):
    count = draw(st.integers(2, 3))
    m = draw(st.integers(1, 3))
    shapes = [(m,), (m, 1), (m, 2)] + ([()] if m == 1 else [])
    return tuple(draw(ags.arrays(dtype, draw(st.sampled_from(shapes)))) for _ in range(count))


def _stacked(function):
    return lambda *arrays: function(list(arrays))


@st.composite
def append_arguments(draw, dtype):
    if draw(st.booleans()):
        return draw(ags.arrays(dtype)), draw(ags.arrays(dtype)), None
    shape = draw(ags.shapes(min_dims=1))
    axis = draw(_axis(len(shape)))
    x, values = draw(_joined(dtype, shape, axis, 2))
    return x, values, axis


@st.composite
def split_arguments(draw, dtype, equal=True, min_dims=1, axis_of_ndim=None):
    """An array, sections (a count, equal pieces if ``equal``) or indices, and an axis
    (drawn; for hsplit/vsplit/dsplit, ``axis_of_ndim`` gives theirs and none is returned)."""
    x = draw(ags.arrays(dtype, ags.shapes(min_dims=min_dims)))
    axis = draw(_axis(x.ndim)) if axis_of_ndim is None else axis_of_ndim(x.ndim)
    length = x.shape[axis]
    if draw(st.booleans()):  # indices: any ints, out of order and out of range too
        sections = draw(st.lists(st.integers(-length - 1, length + 1), max_size=3))
    elif equal:
        sections = draw(st.sampled_from([n for n in range(1, length + 1) if length % n == 0]))
    else:
        sections = draw(st.integers(1, length + 2))
    return (x, sections) if axis_of_ndim else (x, sections, axis)


def _split_arguments(axis_of_ndim, min_dims):
    return lambda dtype: split_arguments(dtype, min_dims=min_dims, axis_of_ndim=axis_of_ndim)


def _weighted_pieces(split, concatenate):
    """The pieces joined again, piece i times i + 1 (so each piece's gradient differs)."""
    def function(x, sections, *axis):
        pieces = split(x, sections, *axis)
        along = axis[0] if axis else 0
        return concatenate([piece * float(i + 1) for i, piece in enumerate(pieces)], along)
    return function


def _weighted_pieces_along(split, concatenate, axis_of_ndim):
    def function(x, sections):
        pieces = split(x, sections)
        return concatenate([piece * float(i + 1) for i, piece in enumerate(pieces)],
                           axis_of_ndim(x.ndim))
    return function


@st.composite
def diagonal_arguments(draw, dtype):
    x = draw(ags.arrays(dtype, ags.shapes(min_dims=2)))
    axis1, axis2 = draw(hnp.valid_tuple_axes(x.ndim, min_size=2, max_size=2))
    return x, draw(st.integers(-3, 3)), axis1, axis2


@st.composite
def diag_arguments(draw, dtype):
    x = draw(ags.arrays(dtype, ags.shapes(min_dims=1, max_dims=2)))
    return x, draw(st.integers(-3, 3))


@st.composite
def triangle_arguments(draw, dtype):
    return draw(ags.arrays(dtype, ags.shapes(min_dims=1))), draw(st.integers(-3, 3))


@st.composite
def select_arguments(draw, dtype):
    """(conditions, *choices, default): bool conditions and choices that broadcast, and a
    default that is a Python number or an array."""
    count = draw(st.integers(2, 3))
    shapes = draw(ags.broadcastable_shapes(2 * count + 1))
    conditions = tuple(draw(hnp.arrays(np.bool_, shape)) for shape in shapes[:count])
    choices = [draw(ags.arrays(dtype, shape)) for shape in shapes[count:2 * count]]
    default = draw(st.sampled_from([0, 0.5]) | ags.arrays(dtype, shapes[-1]))
    return (conditions, *choices, default)


def _select(select):
    return lambda conditions, *rest: select(list(conditions), list(rest[:-1]), rest[-1])


# ---------------------------------------------------------------------------
# Contractions.
# ---------------------------------------------------------------------------

@st.composite
def einsum_arguments(draw, dtype):
    """Random subscripts over the indices 'ijkl' (and 'A' in upper case): 1-3 operands,
    repeated indices within an operand (diagonals), indices summed away, '...' with
    batch shapes that broadcast, length-1 axes that broadcast against a longer one,
    explicit or implicit output."""
    letters = "ijkA"
    sizes = {c: draw(st.integers(1, 3)) for c in letters}
    count = draw(st.integers(1, 3))
    ellipsis = draw(st.booleans())
    batch = draw(ags.broadcastable_shapes(count, max_dims=2, max_side=3)) if ellipsis else None
    inputs, arrays = [], []
    for n in range(count):
        labels = "".join(draw(st.lists(st.sampled_from(letters), max_size=3)))
        shape = []
        for position, c in enumerate(labels):
            first = labels.index(c)
            # a length-1 axis broadcasts (not on a diagonal: its axes must agree)
            one = labels.count(c) == 1 and sizes[c] > 1 and draw(st.integers(0, 5)) == 0
            shape.append(shape[first] if first < position else 1 if one else sizes[c])
        if ellipsis:
            cut = draw(st.integers(0, len(labels)))
            labels = labels[:cut] + "..." + labels[cut:]
            shape = shape[:cut] + list(batch[n]) + shape[cut:]
        inputs.append(labels)
        arrays.append(draw(ags.arrays(dtype, tuple(shape))))
    subscripts = ",".join(inputs)
    if draw(st.booleans()):  # explicit: some of the indices, each once, in any order
        named = sorted(set("".join(inputs)) - set("."))
        output = "".join(draw(st.permutations(named))[:draw(st.integers(0, len(named)))])
        if ellipsis:
            cut = draw(st.integers(0, len(output)))
            output = output[:cut] + "..." + output[cut:]
        subscripts += "->" + output
    return (subscripts, *arrays)


@st.composite
def tensordot_arguments(draw, dtype):
    """Summed axes (their count, lengths and places in each operand) and free axes; axes
    given as an int N (the last N of a, the first N of b) or as a pair of lists."""
    summed = draw(st.lists(st.integers(1, 3), max_size=2))
    free_a = draw(st.lists(st.integers(1, 3), max_size=2))
    free_b = draw(st.lists(st.integers(1, 3), max_size=2))
    if draw(st.booleans()):
        a = draw(ags.arrays(dtype, tuple(free_a + summed)))
        b = draw(ags.arrays(dtype, tuple(summed + free_b)))
        return a, b, len(summed)
    order_a = draw(st.permutations(range(len(free_a) + len(summed))))
    order_b = draw(st.permutations(range(len(free_b) + len(summed))))
    # axis p of a holds entry order_a[p] of free_a + summed
    shape_a = tuple((free_a + summed)[k] for k in order_a)
    shape_b = tuple((summed + free_b)[k] for k in order_b)
    axes_a = [order_a.index(len(free_a) + s) for s in range(len(summed))]
    axes_b = [order_b.index(s) for s in range(len(summed))]
    negative = draw(st.booleans())  # negative axes too
    if negative:
        axes_a = [p - len(shape_a) for p in axes_a]
    return draw(ags.arrays(dtype, shape_a)), draw(ags.arrays(dtype, shape_b)), (axes_a, axes_b)


@st.composite
def dot_arguments(draw, dtype):
    """0-d with anything, vectors, matrices and stacks of them: a's last axis against
    b's second-to-last (its only one if 1-D)."""
    k = draw(st.integers(1, 3))
    ndim_a, ndim_b = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    if ndim_a == 0 or ndim_b == 0:
        return draw(ags.arrays(dtype, ags.shapes(max_dims=ndim_a))), \
            draw(ags.arrays(dtype, ags.shapes(max_dims=ndim_b)))
    shape_a = draw(ags.shapes(min_dims=ndim_a - 1, max_dims=ndim_a - 1, max_side=3)) + (k,)
    if ndim_b == 1:
        shape_b = (k,)
    else:
        shape_b = draw(ags.shapes(min_dims=ndim_b - 2, max_dims=ndim_b - 2, max_side=3))
        shape_b += (k, draw(st.integers(1, 3)))
    return draw(ags.arrays(dtype, shape_a)), draw(ags.arrays(dtype, shape_b))


@st.composite
def vdot_arguments(draw, dtype):
    """Two arrays of the same size, shapes free."""
    a = draw(ags.arrays(dtype, ags.shapes(max_side=3)))
    shape = draw(st.sampled_from([a.shape, a.shape[::-1], (a.size,), (1, a.size)]))
    return a, draw(ags.arrays(dtype, shape))


@st.composite
def inner_arguments(draw, dtype):
    """Last axes of equal length (or a 0-d operand)."""
    k = draw(st.integers(1, 3))
    def shape():
        return st.just(()) | ags.shapes(max_dims=2, max_side=3).map(lambda s: s + (k,))
    return draw(ags.arrays(dtype, draw(shape()))), draw(ags.arrays(dtype, draw(shape())))


def two_arrays(max_side=3, max_dims=3):
    def arguments(dtype):
        shape = ags.shapes(max_dims=max_dims, max_side=max_side)
        return st.tuples(ags.arrays(dtype, shape), ags.arrays(dtype, shape))
    return arguments


@st.composite
def cross_arguments(draw, dtype):
    """3-vectors along axisa of a and axisb of b, other axes broadcasting; the result's
    vectors along axisc."""
    batch_a, batch_b = draw(ags.broadcastable_shapes(2, max_dims=2, max_side=3))
    at_a = draw(st.integers(0, len(batch_a)))
    at_b = draw(st.integers(0, len(batch_b)))
    a = draw(ags.arrays(dtype, batch_a[:at_a] + (3,) + batch_a[at_a:]))
    b = draw(ags.arrays(dtype, batch_b[:at_b] + (3,) + batch_b[at_b:]))
    ndim_c = max(len(batch_a), len(batch_b)) + 1
    axisa = draw(st.sampled_from([at_a, at_a - a.ndim]))
    axisb = draw(st.sampled_from([at_b, at_b - b.ndim]))
    return a, b, axisa, axisb, draw(_axis(ndim_c))


def _cross(cross):
    return lambda a, b, axisa, axisb, axisc: cross(a, b, axisa=axisa, axisb=axisb, axisc=axisc)


# ---------------------------------------------------------------------------
# The rows.
# ---------------------------------------------------------------------------

ROWS: list = [
    # Flattening and moving axes.
    Spec("ravel", ag.ravel, np.ravel, ravel_arguments),
    Spec("flatten", ag.flatten, lambda x, order: x.flatten(order), ravel_arguments),
    Spec("moveaxis", ag.moveaxis, np.moveaxis, moveaxis_arguments),
    Spec("rollaxis", ag.rollaxis, np.rollaxis, rollaxis_arguments),
    # Flips and rolls.
    Spec("flip", ag.flip, np.flip, flip_arguments),
    Spec("fliplr", ag.fliplr, np.fliplr, unary(shape=ags.shapes(min_dims=2))),
    Spec("flipud", ag.flipud, np.flipud, unary(shape=ags.shapes(min_dims=1))),
    Spec("rot90", ag.rot90, np.rot90, rot90_arguments),
    Spec("roll", ag.roll, np.roll, roll_arguments),
    # Repeating, tiling, padding.
    Spec("repeat", ag.repeat, np.repeat, repeat_arguments),
    Spec("tile", ag.tile, np.tile, tile_arguments),
    Spec("pad", _pad(ag.pad), _pad(np.pad), pad_arguments),
    # At least n-d, stacks.
    Spec("atleast_1d", ag.atleast_1d, np.atleast_1d, unary()),
    Spec("atleast_2d", ag.atleast_2d, np.atleast_2d, unary()),
    Spec("atleast_3d", ag.atleast_3d, np.atleast_3d, unary()),
    Spec("hstack", _stacked(ag.hstack), _stacked(np.hstack), hstack_arguments, fan_out=(0, 1)),
    Spec("vstack", _stacked(ag.vstack), _stacked(np.vstack), vstack_arguments, fan_out=(0, 1)),
    Spec("dstack", _stacked(ag.dstack), _stacked(np.dstack), dstack_arguments, fan_out=(0, 1)),
    Spec("column_stack", _stacked(ag.column_stack), _stacked(np.column_stack),
         column_stack_arguments, fan_out=(0, 1)),
    Spec("append", ag.append, np.append, append_arguments, fan_out=(0, 1)),
    # Splits: the pieces, weighted, joined again.
    Spec("split", _weighted_pieces(ag.split, ag.concatenate),
         _weighted_pieces(np.split, np.concatenate), split_arguments),
    Spec("array_split", _weighted_pieces(ag.array_split, ag.concatenate),
         _weighted_pieces(np.array_split, np.concatenate),
         lambda dtype: split_arguments(dtype, equal=False)),
    Spec("hsplit", _weighted_pieces_along(ag.hsplit, ag.concatenate, lambda n: 1 if n > 1 else 0),
         _weighted_pieces_along(np.hsplit, np.concatenate, lambda n: 1 if n > 1 else 0),
         _split_arguments(lambda n: 1 if n > 1 else 0, 1)),
    Spec("vsplit", _weighted_pieces_along(ag.vsplit, ag.concatenate, lambda n: 0),
         _weighted_pieces_along(np.vsplit, np.concatenate, lambda n: 0),
         _split_arguments(lambda n: 0, 2)),
    Spec("dsplit", _weighted_pieces_along(ag.dsplit, ag.concatenate, lambda n: 2),
         _weighted_pieces_along(np.dsplit, np.concatenate, lambda n: 2),
         _split_arguments(lambda n: 2, 3)),
    # Diagonals, triangles, select.
    Spec("diagonal", ag.diagonal, np.diagonal, diagonal_arguments),
    Spec("diag", ag.diag, np.diag, diag_arguments),
    Spec("trace", ag.trace, np.trace, diagonal_arguments),
    Spec("tril", ag.tril, np.tril, triangle_arguments),
    Spec("triu", ag.triu, np.triu, triangle_arguments),
    Spec("select", _select(ag.select), _select(np.select), select_arguments, fan_out=(1, 2)),
    # Contractions.
    Spec("einsum", ag.einsum, np.einsum, einsum_arguments),
    Spec("tensordot", ag.tensordot, np.tensordot, tensordot_arguments),
    Spec("dot", ag.dot, np.dot, dot_arguments),
    Spec("vdot", ag.vdot, np.vdot, vdot_arguments, fan_out=(0, 1)),
    Spec("inner", ag.inner, np.inner, inner_arguments, fan_out=(0, 1)),
    Spec("outer", ag.outer, np.outer, two_arrays(), fan_out=(0, 1)),
    Spec("kron", ag.kron, np.kron, two_arrays(max_side=2), fan_out=(0, 1)),
    Spec("cross", _cross(ag.cross), _cross(np.cross), cross_arguments),
]
