"""Shape and assembly: ravel, moveaxis, flip, roll, repeat, tile, pad, the stacks and
splits, diagonals and triangles, select  (see primitives.py for how a block is written).

Most are compositions of primitives that already have VJPs (``reshape``, ``transpose``,
``getitem``, ``concatenate``, ``broadcast_to``, ``where``, ``scatter_add``): the tape
differentiates them, and their values are NumPy's to the bit, since they move entries
and never compute new ones. Four are primitives because their VJP is a cheaper
rearrangement than the composition's would be: ``flip`` and ``roll`` (the cotangent
flipped or rolled back: a view or one copy, where a ``getitem`` would scatter into
zeros), ``repeat`` with one count (a reshape and a sum) and ``pad`` (a slice).

Operands that are not Tensors are converted as NumPy converts them (a Python float
becomes a float64 array: ``np.hstack([x32, 1.0])`` is float64).
"""

from __future__ import annotations

import itertools
import operator

import numpy as np

from autograd.operands import as_tensor, describe, reduced_axes
from autograd.primitives import (
    broadcast_to, concatenate, getitem, reshape, scatter_add, transpose, where,
)
from autograd.primitives import sum as total  # (the builtin sum stays visible)
from autograd.registry import register
from autograd.tensors import Tensor, constant, record

__all__ = [
    "ravel", "flatten", "moveaxis", "rollaxis", "flip", "fliplr", "flipud", "rot90", "roll",
    "repeat", "tile", "pad", "atleast_1d", "atleast_2d", "atleast_3d", "hstack", "vstack",
    "dstack", "column_stack", "append", "split", "array_split", "hsplit", "vsplit", "dsplit",
    "diag", "diagonal", "trace", "tril", "triu", "select",
]


def _axis(x, axis, op):
    """One axis of ``x`` as a non-negative int (an AxisError or TypeError naming ``op``)."""
    if isinstance(axis, tuple):
        raise TypeError(f"{op}: axis must be an int, got {axis!r:.60}")
    return reduced_axes(x.ndim, axis, op)[0]


def _int(value, op, name):
    """An int argument (an offset, a count); a TypeError naming ``op`` and ``name`` if not."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{op}: {name} must be an int, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{op}: {name} must be an int, got {value!r:.60}") from None


def _count(value, op, name):
    """A non-negative int argument (a count or a length)."""
    value = _int(value, op, name)
    if value < 0:
        raise ValueError(f"{op}: {name} must be >= 0, got {value}")
    return value


# ---------------------------------------------------------------------------
# Flattening and moving axes (composed: reshape, transpose).
# ---------------------------------------------------------------------------

def ravel(x, order="C"):
    """``x`` as a 1-D tensor of its ``x.size`` entries, row-major (``order="C"``) or
    column-major (``"F"``; ``"A"``: column-major for a Fortran-ordered array).

    >>> ravel(Tensor([[1.0, 2.0], [3.0, 4.0]]), order="F")
    Tensor([1., 3., 2., 4.], dtype=float64)
    """
    x = as_tensor(x)
    if order == "A":
        flags = np.asarray(x._data).flags
        order = "F" if flags.f_contiguous and not flags.c_contiguous else "C"
    if order == "C":
        return reshape(x, -1)
    if order == "F":
        return reshape(transpose(x), -1)
    raise ValueError(f"ravel: order must be 'C', 'F' or 'A', got {order!r}")


register(ravel, kind="composed", numpy=np.ravel, methods="ravel")


def flatten(x, order="C"):
    """``x.flatten()``: as ``ravel`` (NumPy's flatten copies; Tensors are not written in
    place, so sharing is safe).

    >>> Tensor([[1.0, 2.0], [3.0, 4.0]]).flatten().shape
    (4,)
    """
    return ravel(x, order)


register(flatten, kind="composed", methods="flatten")


def _axes(ndim, axes, op, name, repeats=False):
    """``axes`` (an int or a sequence of ints) as a tuple of non-negative axes; a repeated
    axis is an error unless ``repeats`` (``roll`` adds up the shifts of a repeated axis)."""
    items = axes if isinstance(axes, (tuple, list)) else (axes,)
    if any(isinstance(a, bool) or not isinstance(a, (int, np.integer)) for a in items):
        raise TypeError(f"{op}: {name} must be an int or a sequence of ints, got {axes!r:.60}")
    if any(not -ndim <= a < ndim for a in items):
        raise np.exceptions.AxisError(f"{op}: {name} {axes!r} is out of range for a tensor with "
                                      f"{ndim} dimensions (axes from {-ndim} to {ndim - 1})")
    result = reduced_axes(ndim, tuple(int(a) for a in items), op)
    if not repeats and len(set(result)) != len(result):
        raise ValueError(f"{op}: repeated axis in {name} {axes!r}")
    return result


def moveaxis(x, source, destination):
    """Move axes ``source`` (an int or a sequence) to positions ``destination``; the
    others keep their order. A transpose.

    >>> moveaxis(Tensor(np.zeros((2, 3, 4))), 0, -1).shape
    (3, 4, 2)
    """
    x = as_tensor(x)
    source = _axes(x.ndim, source, "moveaxis", "source")
    destination = _axes(x.ndim, destination, "moveaxis", "destination")
    if len(source) != len(destination):
        raise ValueError(f"moveaxis: source {source} and destination {destination} need the "
                         "same number of axes")
    order = [n for n in range(x.ndim) if n not in source]
    for position, axis in sorted(zip(destination, source)):
        order.insert(position, axis)
    return transpose(x, tuple(order))


register(moveaxis, kind="composed", numpy=np.moveaxis)


def rollaxis(x, axis, start=0):
    """Move ``axis`` to just before position ``start`` (NumPy's older ``moveaxis``).

    >>> rollaxis(Tensor(np.zeros((2, 3, 4))), 2).shape
    (4, 2, 3)
    """
    x = as_tensor(x)
    axis = _axis(x, axis, "rollaxis")
    start = _int(start, "rollaxis", "start")
    if not -x.ndim <= start <= x.ndim:
        raise np.exceptions.AxisError(f"rollaxis: start {start} is out of range for a tensor "
                                      f"with {x.ndim} dimensions (from {-x.ndim} to {x.ndim})")
    if start < 0:
        start += x.ndim
    if axis < start:
        start -= 1
    order = [n for n in range(x.ndim) if n != axis]
    order.insert(start, axis)
    return transpose(x, tuple(order))


register(rollaxis, kind="composed", numpy=np.rollaxis)


# ---------------------------------------------------------------------------
# Flips and rolls: the VJP undoes the move.
# ---------------------------------------------------------------------------

def flip(x, axis=None):
    """Reverse the order of entries along ``axis`` (None: every axis; int or tuple).

    >>> flip(Tensor([[1.0, 2.0], [3.0, 4.0]]), 1)
    Tensor([[2., 1.],
            [4., 3.]], dtype=float64)
    """
    x = as_tensor(x)
    if axis is not None:
        axis = _axes(x.ndim, axis, "flip", "axis")
    return record(np.flip(x._data, axis), (x,), flip_vjps(axis), "flip")


def flip_vjps(axis):
    return (lambda g, out, x: np.flip(g, axis),)    # a flip is its own inverse


register(flip, flip_vjps, numpy=np.flip, methods="flip")


def fliplr(x):
    """Reverse the columns (axis 1): shape ``(m, n, ...)`` in, the same shape out; at
    least 2-D. The gradient is the cotangent flipped back.

    >>> fliplr(Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    Tensor([[3., 2., 1.],
            [6., 5., 4.]], dtype=float64)
    """
    x = as_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"fliplr: needs a tensor with at least 2 dimensions, got shape {x.shape}")
    return flip(x, 1)


register(fliplr, kind="composed", numpy=np.fliplr)


def flipud(x):
    """Reverse the rows (axis 0): shape ``(m, ...)`` in, the same shape out; at least
    1-D. The gradient is the cotangent flipped back.

    >>> flipud(Tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))
    Tensor([[5., 6.],
            [3., 4.],
            [1., 2.]], dtype=float64)
    """
    x = as_tensor(x)
    if x.ndim < 1:
        raise ValueError("flipud: needs a tensor with at least 1 dimension, got a 0-d tensor")
    return flip(x, 0)


register(flipud, kind="composed", numpy=np.flipud)


def rot90(x, k=1, axes=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane of ``axes``, from the first axis
    towards the second (flips and a transpose).

    >>> rot90(Tensor([[1.0, 2.0], [3.0, 4.0]]))
    Tensor([[2., 4.],
            [1., 3.]], dtype=float64)
    """
    x = as_tensor(x)
    if not isinstance(axes, (tuple, list)) or len(axes) != 2:
        raise ValueError(f"rot90: axes must name 2 axes, got {axes!r:.60}")
    if x.ndim < 2:
        raise ValueError(f"rot90: needs a tensor with at least 2 dimensions, got shape {x.shape}")
    first, second = _axes(x.ndim, tuple(axes), "rot90", "axes")
    k = _int(k, "rot90", "k") % 4
    if k == 0:
        return x
    if k == 2:
        return flip(x, (first, second))
    order = list(range(x.ndim))
    order[first], order[second] = order[second], order[first]
    if k == 1:
        return transpose(flip(x, second), tuple(order))
    return flip(transpose(x, tuple(order)), second)


register(rot90, kind="composed", numpy=np.rot90)


def _shifts(shift, op):
    if isinstance(shift, (tuple, list, np.ndarray)):
        return tuple(_shift(s, op) for s in np.ravel(shift))
    return _shift(shift, op)


def _shift(value, op):
    return _int(value, op, "shift (an int or a tuple of ints)")


def roll(x, shift, axis=None):
    """Shift entries cyclically by ``shift`` along ``axis`` (None: over the flattened
    tensor, shape kept); tuples roll several axes.

    >>> roll(Tensor([1.0, 2.0, 3.0]), 1)
    Tensor([3., 1., 2.], dtype=float64)
    """
    x = as_tensor(x)
    shift = _shifts(shift, "roll")
    if axis is not None:
        axis = _axes(x.ndim, axis, "roll", "axis", repeats=True) \
            if isinstance(axis, (tuple, list)) else _axis(x, axis, "roll")
    try:
        data = np.roll(x._data, shift, axis)
    except ValueError:
        raise ValueError(f"roll: shift {shift} and axis {axis} do not match (one shift, or one "
                         "per axis)") from None
    back = tuple(-s for s in shift) if isinstance(shift, tuple) else -shift
    return record(data, (x,), roll_vjps(back, axis), "roll")


def roll_vjps(back, axis):
    return (lambda g, out, x: np.roll(g, back, axis),)   # roll back by the same amount


register(roll, roll_vjps, numpy=np.roll, methods="roll")


# ---------------------------------------------------------------------------
# Repeating and tiling.
# ---------------------------------------------------------------------------

def repeat(x, repeats, axis=None):
    """Repeat each entry ``repeats`` times along ``axis`` (None: of the flattened tensor);
    ``repeats`` is one count or one count per entry along the axis.

    >>> repeat(Tensor([1.0, 2.0]), 2)
    Tensor([1., 1., 2., 2.], dtype=float64)
    >>> repeat(Tensor([[1.0, 2.0]]), [1, 3], axis=1)
    Tensor([[1., 2., 2., 2.]], dtype=float64)
    """
    x = as_tensor(x)
    if axis is None:
        x, axis = ravel(x), 0
    else:
        axis = _axis(x, axis, "repeat")
    counts = np.asarray(repeats)
    if counts.size == 0 and counts.ndim == 1:  # (no entries to repeat: ``[]`` is float)
        counts = counts.astype(np.intp)
    if counts.dtype.kind not in "iu" or counts.ndim > 1:
        raise TypeError(f"repeat: repeats must be an int or a 1-D sequence of ints, got "
                        f"{repeats!r:.60}")
    if (counts < 0).any():
        raise ValueError(f"repeat: repeats must be >= 0, got {repeats!r:.60}")
    n = x.shape[axis]
    if counts.size == 1:
        count = int(counts.reshape(()))
        data = np.repeat(x._data, count, axis)
        return record(data, (x,), repeat_vjps(axis, count), "repeat")
    if counts.size != n:
        raise ValueError(f"repeat: {counts.size} repeats for an axis of length {n} (axis "
                         f"{axis} of shape {x.shape}): give one count, or one per entry")
    # Counts that differ: a gather, whose VJP scatter-adds
    index = (slice(None),) * axis + (np.repeat(np.arange(n), counts),)
    return getitem(x, index)


def repeat_vjps(axis, count):
    def repeat_vjp(g, out, x):  # each entry's copies sit side by side: add them up
        shape = x.shape
        split = shape[:axis] + (shape[axis], count) + shape[axis + 1:]
        return g.reshape(split).sum(axis=axis + 1)
    return (repeat_vjp,)


register(repeat, repeat_vjps, numpy=np.repeat, methods="repeat")


def tile(x, reps):
    """``x`` repeated as blocks ``reps`` times along each axis (``reps`` and the shape
    are padded with leading 1s to the same length): a broadcast, then a reshape.

    >>> tile(Tensor([1.0, 2.0]), (2, 2))
    Tensor([[1., 2., 1., 2.],
            [1., 2., 1., 2.]], dtype=float64)
    """
    x = as_tensor(x)
    if isinstance(reps, np.ndarray):
        reps = reps.tolist()
    reps = tuple(reps) if isinstance(reps, (tuple, list)) else (reps,)
    reps = tuple(_count(r, "tile", "reps") for r in reps)
    ndim = max(len(reps), x.ndim)
    reps = (1,) * (ndim - len(reps)) + reps
    shape = (1,) * (ndim - x.ndim) + x.shape
    blocks = reshape(x, tuple(n for m in shape for n in (1, m)))
    spread = broadcast_to(blocks, tuple(n for r, m in zip(reps, shape) for n in (r, m)))
    return reshape(spread, tuple(r * m for r, m in zip(reps, shape)))


register(tile, kind="composed", numpy=np.tile)


# ---------------------------------------------------------------------------
# Padding.
# ---------------------------------------------------------------------------

# Modes whose every entry is a copy of an input entry: a gather (see pad).
_GATHER_MODES = ("edge", "reflect", "symmetric", "wrap")


def _pad_widths(x, pad_width):
    widths = np.asarray(pad_width)
    if widths.dtype.kind not in "iu":
        raise TypeError(f"pad: pad_width must be ints, got {pad_width!r:.60}")
    try:
        widths = np.broadcast_to(widths, (x.ndim, 2))
    except ValueError:
        raise ValueError(f"pad: pad_width {pad_width!r:.60} does not fit a tensor of shape "
                         f"{x.shape}: give one int, a (before, after) pair, or a pair per "
                         "axis") from None
    if (widths < 0).any():
        raise ValueError(f"pad: pad_width must be >= 0, got {pad_width!r:.60}")
    if not x.ndim:  # nothing to pad (np.pad refuses an empty array of widths)
        return 0
    return widths.astype(np.intp)


def pad(x, pad_width, mode="constant", *, constant_values=0, reflect_type="even"):
    """Pad ``x`` with ``pad_width`` entries before and after each axis (an int, a
    ``(before, after)`` pair, or one pair per axis): with ``constant_values``
    (``mode="constant"``, constants), or with copies of ``x``'s own entries
    (``"edge"``, ``"reflect"``, ``"symmetric"``, ``"wrap"``). Shape: each axis grows by
    its ``before + after``.

    >>> pad(Tensor([1.0, 2.0]), 1, constant_values=9.0)
    Tensor([9., 1., 2., 9.], dtype=float64)
    >>> pad(Tensor([1.0, 2.0, 3.0]), (0, 2), mode="reflect")
    Tensor([1., 2., 3., 2., 1.], dtype=float64)
    """
    x = as_tensor(x)
    widths = _pad_widths(x, pad_width)
    if mode == "constant":
        if isinstance(constant_values, Tensor):
            if constant_values.requires_grad:
                raise TypeError("pad: constant_values is a constant and gets no gradient; it "
                                "is a tensor that requires grad. Pad with 0 and add it "
                                "(ag.pad(x, w) + ag.pad(zeros, w, constant_values=c)), or pass "
                                "c.detach()")
            constant_values = constant_values._data
        try:
            data = np.pad(x._data, widths, mode="constant", constant_values=constant_values)
        except (ValueError, TypeError):
            raise ValueError(f"pad: constant_values {constant_values!r:.60} do not fit a tensor "
                             f"of shape {x.shape}: give one value, a (before, after) pair, or "
                             "a pair per axis") from None
        inside = tuple(slice(int(before), int(before) + n)
                       for (before, _), n in zip(widths if x.ndim else (), x.shape))
        return record(data, (x,), pad_vjps(inside), "pad")
    if mode in _GATHER_MODES:
        if reflect_type != "even":
            raise ValueError(f"pad: reflect_type={reflect_type!r} computes new values; only "
                             "'even' (copies of entries) is supported")
        options = {"reflect_type": reflect_type} if mode in ("reflect", "symmetric") else {}
        # Pad the entries' positions the same way: each output entry is a copy of one input
        # entry, so the pad is a gather (and its VJP a scatter-add).
        positions = np.arange(x.size).reshape(x.shape)
        try:
            source = np.pad(positions, widths, mode=mode, **options)
        except ValueError:
            raise ValueError(f"pad: mode {mode!r} cannot pad an empty axis (shape "
                             f"{x.shape})") from None
        return getitem(reshape(x, -1), source)
    raise ValueError(f"pad: mode {mode!r} is not supported; the supported modes are "
                     f"'constant', {', '.join(repr(m) for m in _GATHER_MODES)}")


def pad_vjps(inside):
    return (lambda g, out, x: g[inside],)      # the padding's cotangent goes nowhere


register(pad, pad_vjps, numpy=np.pad)


# ---------------------------------------------------------------------------
# atleast_nd, stacks and splits (composed: reshape, concatenate, getitem).
# ---------------------------------------------------------------------------

def _at_least(op, arrays, shape_of):
    results = []
    for i, value in enumerate(arrays):
        x = as_tensor(value, name=f"{op}: argument {i}")
        shape = shape_of(x.shape)
        results.append(x if shape == x.shape else reshape(x, shape))
    return results[0] if len(results) == 1 else tuple(results)


def atleast_1d(*arrays):
    """Each argument with at least one axis (0-d becomes shape (1,)); one tensor for one
    argument, else a tuple.

    >>> atleast_1d(Tensor(2.0)).shape
    (1,)
    """
    return _at_least("atleast_1d", arrays, lambda s: s if len(s) >= 1 else (1,))


register(atleast_1d, kind="composed", numpy=np.atleast_1d)


def atleast_2d(*arrays):
    """Each argument with at least two axes: 0-d becomes (1, 1), (n,) becomes (1, n).

    >>> atleast_2d(Tensor([1.0, 2.0])).shape
    (1, 2)
    """
    return _at_least("atleast_2d", arrays, lambda s: s if len(s) >= 2 else (1,) * (2 - len(s)) + s)


register(atleast_2d, kind="composed", numpy=np.atleast_2d)


def _three_dims(shape):
    if len(shape) >= 3:
        return shape
    return {0: (1, 1, 1), 1: (1, *shape, 1), 2: (*shape, 1)}[len(shape)]


def atleast_3d(*arrays):
    """Each argument with at least three axes: 0-d becomes (1, 1, 1), (n,) becomes
    (1, n, 1) and (m, n) becomes (m, n, 1).

    >>> atleast_3d(Tensor([1.0, 2.0])).shape
    (1, 2, 1)
    """
    return _at_least("atleast_3d", arrays, _three_dims)


register(atleast_3d, kind="composed", numpy=np.atleast_3d)


def _sequence(values, op):
    """The items of a stack as Tensors, converted as NumPy converts them (a Python float
    is a float64 array). A Tensor or an array is a sequence of its rows, as in NumPy."""
    if isinstance(values, (Tensor, np.ndarray)) and np.ndim(values):
        values = [values[i] for i in range(len(values))]
    if not isinstance(values, (list, tuple)):
        raise TypeError(f"{op}: expected a sequence (list or tuple) of tensors, got "
                        f"{type(values).__name__} {values!r:.60}")
    if not values:
        raise ValueError(f"{op}: expected at least one tensor, got an empty sequence")
    return [as_tensor(v, name=f"{op}: tensors[{i}]") for i, v in enumerate(values)]


def _as_list(result):
    return list(result) if isinstance(result, tuple) else [result]


def _join(op, given, parts, axis, how):
    """``concatenate(parts, axis)``, with an error in terms of ``op`` and the shapes given."""
    try:
        return concatenate(parts, axis=axis)
    except ValueError:
        raise ValueError(f"{op}: tensors of shapes {[t.shape for t in given]} cannot be joined "
                         f"along axis {axis} ({how}, shapes {[t.shape for t in parts]}); they "
                         "must agree on every other axis") from None


def hstack(tensors):
    """Join along axis 1 (axis 0 for 1-D tensors), after ``atleast_1d``.

    >>> hstack([Tensor([1.0]), Tensor([2.0, 3.0])])
    Tensor([1., 2., 3.], dtype=float64)
    """
    given = _sequence(tensors, "hstack")
    parts = _as_list(atleast_1d(*given))
    if len({t.ndim for t in parts}) > 1:
        raise ValueError(f"hstack: tensors of shapes {[t.shape for t in given]} mix 1-D (or 0-d) "
                         "and higher-dimensional tensors; they need the same number of dimensions")
    return _join("hstack", given, parts, 0 if parts[0].ndim == 1 else 1, "as atleast_1d")


register(hstack, kind="composed", numpy=np.hstack)


def vstack(tensors):
    """Join along axis 0 after ``atleast_2d`` (1-D tensors become rows).

    >>> vstack([Tensor([1.0, 2.0]), Tensor([3.0, 4.0])]).shape
    (2, 2)
    """
    given = _sequence(tensors, "vstack")
    return _join("vstack", given, _as_list(atleast_2d(*given)), 0, "as atleast_2d")


register(vstack, kind="composed", numpy=np.vstack)


def dstack(tensors):
    """Join along axis 2 after ``atleast_3d``.

    >>> dstack([Tensor([1.0, 2.0]), Tensor([3.0, 4.0])]).shape
    (1, 2, 2)
    """
    given = _sequence(tensors, "dstack")
    return _join("dstack", given, _as_list(atleast_3d(*given)), 2, "as atleast_3d")


register(dstack, kind="composed", numpy=np.dstack)


def column_stack(tensors):
    """Join as columns: 1-D tensors (and 0-d) become columns (n, 1), 2-D ones join as
    they are, along axis 1.

    >>> column_stack([Tensor([1.0, 2.0]), Tensor([3.0, 4.0])])
    Tensor([[1., 3.],
            [2., 4.]], dtype=float64)
    """
    given = _sequence(tensors, "column_stack")
    parts = [reshape(t, (-1, 1)) if t.ndim < 2 else t for t in given]
    return _join("column_stack", given, parts, 1, "1-D and 0-d ones as columns")


register(column_stack, kind="composed", numpy=np.column_stack)


def append(x, values, axis=None):
    """``values`` joined after ``x`` along ``axis`` (None: both flattened first).

    >>> append(Tensor([1.0, 2.0]), [[3.0]])
    Tensor([1., 2., 3.], dtype=float64)
    """
    x = as_tensor(x, name="append: x")
    values = as_tensor(values, name="append: values")
    if axis is None:
        return concatenate([ravel(x), ravel(values)], axis=0)
    if x.ndim != values.ndim:
        raise ValueError(f"append along axis {axis}: x of shape {x.shape} and values of shape "
                         f"{values.shape} need the same number of dimensions (axis=None "
                         "flattens both)")
    return _join("append", (x, values), (x, values), axis, "x then values")


register(append, kind="composed", numpy=np.append)


def _pieces(op, x, indices_or_sections, axis, equal):
    """The slices of ``x`` along ``axis`` that split and array_split return."""
    x = as_tensor(x)
    if x.ndim == 0:
        raise ValueError(f"{op}: cannot split a 0-d tensor")
    axis = _axis(x, axis, op)
    length = x.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)) \
            and not isinstance(indices_or_sections, bool):
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError(f"{op}: the number of sections must be > 0, got {sections}")
        if equal and length % sections:
            raise ValueError(f"{op}: {sections} sections do not divide axis {axis} of length "
                             f"{length} equally (shape {x.shape}); give indices, or use "
                             "array_split for unequal pieces")
        each, longer = divmod(length, sections)
        sizes = [each + 1] * longer + [each] * (sections - longer)
        bounds = [0, *itertools.accumulate(sizes)]
    else:
        indices = np.asarray(indices_or_sections)
        if indices.ndim != 1 or (indices.size and indices.dtype.kind not in "iu"):
            raise TypeError(f"{op}: indices_or_sections must be an int or a 1-D sequence of "
                            f"ints, got {indices_or_sections!r:.60}")
        # Slices from one index to the next, as NumPy's: out of order or out of range give
        # empty or clipped pieces
        bounds = [0, *(int(i) for i in indices), length]
    before = (slice(None),) * axis
    # Each piece is a getitem: its VJP puts the piece's cotangent into zeros of x's shape
    return [getitem(x, before + (slice(start, stop),)) for start, stop in zip(bounds, bounds[1:])]


def array_split(x, indices_or_sections, axis=0):
    """Split ``x`` along ``axis`` into a list of tensors: N pieces as equal as they can
    be (the first ``length % N`` one longer), or at the given indices. Each piece is
    a slice of ``x``: gradients flow back from whichever pieces are used.

    >>> [p.shape for p in array_split(Tensor(np.zeros(5)), 3)]
    [(2,), (2,), (1,)]
    """
    return _pieces("array_split", x, indices_or_sections, axis, equal=False)


register(array_split, kind="composed", numpy=np.array_split)


def split(x, indices_or_sections, axis=0):
    """As ``array_split``, but N sections must divide the axis exactly.

    >>> [p.data.tolist() for p in split(Tensor([1.0, 2.0, 3.0, 4.0]), [1, 3])]
    [[1.0], [2.0, 3.0], [4.0]]
    """
    return _pieces("split", x, indices_or_sections, axis, equal=True)


register(split, kind="composed", numpy=np.split)


def _split_along(op, x, indices_or_sections, min_ndim, axis):
    x = as_tensor(x)
    if x.ndim < min_ndim:
        raise ValueError(f"{op}: needs a tensor with at least {min_ndim} dimensions, got shape "
                         f"{x.shape}")
    return _pieces(op, x, indices_or_sections, axis, equal=True)


def hsplit(x, indices_or_sections):
    """``split`` along axis 1 (axis 0 for 1-D tensors): a list of tensors whose
    widths add up to ``x.shape[1]``; N sections must divide it exactly.

    >>> [p.shape for p in hsplit(Tensor(np.zeros((2, 4))), 2)]
    [(2, 2), (2, 2)]
    >>> [p.data.tolist() for p in hsplit(Tensor([1.0, 2.0, 3.0]), [1])]
    [[1.0], [2.0, 3.0]]
    """
    x = as_tensor(x)
    return _split_along("hsplit", x, indices_or_sections, 1, 1 if x.ndim > 1 else 0)


def vsplit(x, indices_or_sections):
    """``split`` along axis 0 (at least 2-D): a list of tensors whose heights add up
    to ``x.shape[0]``; N sections must divide it exactly.

    >>> [p.data.tolist() for p in vsplit(Tensor([[1.0, 2.0], [3.0, 4.0]]), 2)]
    [[[1.0, 2.0]], [[3.0, 4.0]]]
    """
    return _split_along("vsplit", x, indices_or_sections, 2, 0)


def dsplit(x, indices_or_sections):
    """``split`` along axis 2 (at least 3-D): a list of tensors whose depths add up
    to ``x.shape[2]``; N sections must divide it exactly.

    >>> [p.shape for p in dsplit(Tensor(np.zeros((2, 3, 6))), [1, 4])]
    [(2, 3, 1), (2, 3, 3), (2, 3, 2)]
    """
    return _split_along("dsplit", x, indices_or_sections, 3, 2)


register(hsplit, kind="composed", numpy=np.hsplit)
register(vsplit, kind="composed", numpy=np.vsplit)
register(dsplit, kind="composed", numpy=np.dsplit)


# ---------------------------------------------------------------------------
# Diagonals and triangles.
# ---------------------------------------------------------------------------

def diagonal(x, offset=0, axis1=0, axis2=1):
    """The diagonal ``x[i, i + offset]`` of the planes spanned by ``axis1`` and ``axis2``:
    those axes go, and a last axis of the diagonal's length comes (as NumPy). A gather.

    >>> diagonal(Tensor(np.arange(6.0).reshape(2, 3)), 1)
    Tensor([1., 5.], dtype=float64)
    """
    x = as_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"diagonal: needs a tensor with at least 2 dimensions, got shape "
                         f"{x.shape}")
    first, second = reduced_axes(x.ndim, (axis1, axis2), "diagonal")
    if first == second:
        raise ValueError(f"diagonal: axis1 and axis2 must differ, got {axis1} and {axis2}")
    offset = _int(offset, "diagonal", "offset")
    rows, columns = x.shape[first], x.shape[second]
    length = max(0, min(rows, columns - offset) if offset >= 0 else min(rows + offset, columns))
    index = [slice(None)] * x.ndim
    index[first] = np.arange(length) + max(-offset, 0)
    index[second] = np.arange(length) + max(offset, 0)
    gathered = getitem(x, tuple(index))
    # NumPy puts two index arrays side by side where they stand, and in front otherwise
    landed = min(first, second) if abs(first - second) == 1 else 0
    return moveaxis(gathered, landed, -1)


register(diagonal, kind="composed", numpy=np.diagonal, methods="diagonal")


def diag(x, k=0):
    """For a 1-D ``x``: the square matrix with ``x`` on diagonal ``k`` (zeros elsewhere);
    for a 2-D ``x``: its diagonal ``k``.

    >>> diag(Tensor([1.0, 2.0]))
    Tensor([[1., 0.],
            [0., 2.]], dtype=float64)
    """
    x = as_tensor(x)
    k = _int(k, "diag", "k")
    if x.ndim == 2:
        return diagonal(x, k)
    if x.ndim != 1:
        raise ValueError(f"diag: needs a 1-D tensor (to build a matrix) or a 2-D one (to take "
                         f"its diagonal), got shape {x.shape}")
    n = x.shape[0]
    size = n + abs(k)
    start = k if k >= 0 else -k * size
    # In the flattened matrix, diagonal k is every (size + 1)-th entry from ``start``
    place = slice(start, start + n * (size + 1), size + 1)
    return reshape(scatter_add(x, place, (size * size,)), (size, size))


register(diag, kind="composed", numpy=np.diag, methods="diag")


def trace(x, offset=0, axis1=0, axis2=1, dtype=None):
    """The sum of ``diagonal(x, offset, axis1, axis2)``: 0-d for a matrix, else the
    remaining axes.

    >>> trace(Tensor(np.arange(4.0).reshape(2, 2)))
    Tensor(3., dtype=float64)
    """
    x = as_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"trace: needs a tensor with at least 2 dimensions, got shape {x.shape}")
    return total(diagonal(x, offset, axis1, axis2), axis=-1, dtype=dtype)


register(trace, kind="composed", numpy=np.trace, methods="trace")


def _triangle(op, x, k, lower):
    x = as_tensor(x)
    if x.ndim < 1:
        raise ValueError(f"{op}: needs a tensor with at least 1 dimension, got a 0-d tensor")
    k = _int(k, op, "k")
    rows, columns = x.shape[-2:] if x.ndim >= 2 else (x.shape[0], x.shape[0])
    # Entries on or below diagonal k (tril), on or above it (triu); NumPy's masks
    below = np.tri(rows, columns, k if lower else k - 1, dtype=bool)
    zero = constant(np.zeros((), x.dtype))
    return where(below, x, zero) if lower else where(below, zero, x)


def tril(x, k=0):
    """The lower triangle of the last two axes: entries above diagonal ``k`` set to 0
    (a 1-D tensor is broadcast to a square first, as in NumPy).

    >>> tril(Tensor(np.ones((2, 2))))
    Tensor([[1., 0.],
            [1., 1.]], dtype=float64)
    """
    return _triangle("tril", x, k, lower=True)


def triu(x, k=0):
    """The upper triangle of the last two axes: entries below diagonal ``k`` set to 0.

    >>> triu(Tensor(np.ones((2, 2))))
    Tensor([[1., 1.],
            [0., 1.]], dtype=float64)
    """
    return _triangle("triu", x, k, lower=False)


register(tril, kind="composed", numpy=np.tril, methods="tril")
register(triu, kind="composed", numpy=np.triu, methods="triu")


def select(condlist, choicelist, default=0):
    """The entry of the first choice whose condition holds, else ``default`` (all
    broadcast together). Conditions are bool constants; the gradient reaches the chosen
    entries only.

    >>> select([np.array([True, False, False]), np.array([True, True, False])],
    ...        [Tensor([1.0, 2.0, 3.0]), Tensor([10.0, 20.0, 30.0])], default=-1.0)
    Tensor([ 1., 20., -1.], dtype=float64)
    """
    if not isinstance(condlist, (list, tuple)) or not isinstance(choicelist, (list, tuple)):
        raise TypeError("select: condlist and choicelist must be lists (of conditions, of choices)")
    if len(condlist) != len(choicelist):
        raise ValueError(f"select: {len(condlist)} conditions but {len(choicelist)} choices; "
                         "give one choice per condition")
    if not condlist:
        raise ValueError("select: needs at least one condition")
    conditions = []
    for i, condition in enumerate(condlist):
        condition = as_tensor(condition, name=f"select: condlist[{i}]")
        if condition.dtype != np.bool_:
            raise TypeError(f"select: condlist[{i}] must be a bool array, got "
                            f"{describe(condition)}")
        conditions.append(condition)
    # NumPy's dtype: that of every choice and the default together, Python numbers weak
    # (np.select([c], [x_float32], 0.5) is float32)
    names = [f"choicelist[{i}]" for i in range(len(choicelist))] + ["default"]
    values = [value if type(value) in (int, float) else as_tensor(value, name=f"select: {name}")
              for value, name in zip([*choicelist, default], names)]
    dtype = np.result_type(*(v.dtype if isinstance(v, Tensor) else v for v in values))
    try:
        *choices, result = [v if isinstance(v, Tensor) else constant(np.asarray(v, dtype))
                            for v in values]
    except OverflowError:  # (NumPy wraps it around silently)
        raise ValueError(f"select: a Python int among the choices or the default does not fit "
                         f"in {dtype}, the dtype of the other choices") from None
    for condition, choice in zip(reversed(conditions), reversed(choices)):
        result = where(condition, choice, result)
    return result


register(select, kind="composed", numpy=np.select)
