"""Operands in, errors out: what ``primitives.py`` needs that is not maths.

Turning user values into Tensors (Python numbers stay "weak" as in NumPy 2), checking
axes, indices and sequences, and wording the errors in the user's terms (shapes,
dtypes, the op's name). The fast paths in ``primitives.py`` let NumPy do the checking
and come here only when it refuses, so wording an error costs the common case nothing.
"""

from __future__ import annotations

import builtins
import operator
import sys

import numpy as np

from autograd.tensors import Tensor, constant, numeric_array

WEAK_NUMBERS = (float, int)  # Python numbers: their dtype follows the other operand


def describe(value) -> str:
    """How errors name a value: 'shape (2, 3) float32'."""
    data = value._data if isinstance(value, Tensor) else np.asarray(value)
    return f"shape {data.shape} {data.dtype}"


def raw(value):
    """The array inside a Tensor (for constants a VJP computes, such as masks)."""
    return value._data if isinstance(value, Tensor) else value


# ---------------------------------------------------------------------------
# Values into Tensors.
# ---------------------------------------------------------------------------

def as_tensor(value, like=None, name="the input") -> Tensor:
    """A constant Tensor for a non-Tensor operand (an ndarray is copied: a later write to
    it must not change a gradient). Junk raises a TypeError naming ``name``. A (nested)
    list or tuple that holds tensors is stacked on the tape (``ag.sum([x, 2 * x])``).

    Python numbers stay "weak" as in NumPy 2: ``x_float32 * 2.0`` is float32. We get
    that by turning the number into a NumPy scalar of the dtype NumPy would pick.
    """
    if isinstance(value, Tensor):
        return value
    if type(value) in WEAK_NUMBERS and like is not None:
        return constant(weak_number(value, like))
    if isinstance(value, (list, tuple)):  # holding tensors: stacked on the tape, not read
        from autograd.numpy import _holds_tensor, _recorded_array  # (it imports this module)

        if _holds_tensor(value):
            return _recorded_array(value, None, 0, "array")
    return constant(numeric_array(value, name=name))


def weak_number(number, like):
    """The Python ``number`` as a NumPy scalar of the dtype NumPy 2 gives it next to the
    Tensor ``like``: float32 stays float32; an int tensor meeting a float becomes float."""
    dtype = like._data.dtype
    try:
        if dtype.kind != "f":
            dtype = np.result_type(dtype, number)
        return dtype.type(number)
    except OverflowError:
        raise ValueError(
            f"the Python int {number} does not fit in dtype {dtype}, the dtype of the other "
            f"operand ({describe(like)}); convert that one first, e.g. x.astype(np.float64)"
        ) from None


def pair(a, b):
    """Both operands as Tensors; a Python number is weak against the other operand.
    Callers prefix errors with the op's name (in an except clause: free when nothing fails)."""
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            return a, b
        if type(b) in WEAK_NUMBERS:  # the common case first: x * 2.0
            return a, constant(weak_number(b, a))
        return a, as_tensor(b, a, "an operand")
    if not isinstance(b, Tensor) and type(b) not in WEAK_NUMBERS:
        b = as_tensor(b, None, "an operand")  # first, so a number in ``a`` is weak against it
    a = as_tensor(a, b if isinstance(b, Tensor) else None, "an operand")
    return a, (b if isinstance(b, Tensor) else as_tensor(b, a, "an operand"))


def tensor_sequence(tensors, op):
    """The tensors of a join as a tuple of Tensors, with errors naming the position of junk."""
    if not isinstance(tensors, (list, tuple)):
        if tensors is None or isinstance(tensors, (str, bytes, dict)) or not hasattr(tensors, "__iter__"):
            raise TypeError(f"{op}: expected a sequence (list or tuple) of tensors, got "
                            f"{type(tensors).__name__} {tensors!r:.60}")
        tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{op}: expected at least one tensor, got an empty sequence")
    for t in tensors:
        if not isinstance(t, Tensor):
            return _converted_sequence(tensors, op)
    return tuple(tensors)


def _converted_sequence(items, op):
    """Join items that are not all Tensors, converted as NumPy converts them. Arrays and
    lists become arrays. A Python number is weak in ``concatenate`` (``[x_float32, 0.0]``
    joins as float32) but strong in ``stack``, which makes it a float64 array first."""
    weak = op == "concatenate"
    items = [t if isinstance(t, Tensor) or (weak and type(t) in WEAK_NUMBERS)
             else as_tensor(t, name=f"{op}: tensors[{i}]") for i, t in enumerate(items)]
    dtype = np.result_type(*(t._data.dtype if isinstance(t, Tensor) else t for t in items))
    try:
        return tuple(t if isinstance(t, Tensor) else constant(dtype.type(t)) for t in items)
    except OverflowError:
        raise ValueError(f"{op}: a Python int in the sequence does not fit in dtype {dtype}, "
                         "the dtype of the other tensors") from None


def plain_index(index):
    """The index with Tensors replaced by their arrays and every array copied: the VJP keeps
    the index, and a later write to the caller's index array must not move the gradient."""
    if isinstance(index, tuple):
        return tuple(_plain_index_part(i) for i in index)
    if isinstance(index, list):
        array = np.array(index)
        # An empty list selects nothing, as in NumPy (np.array([]) alone would be float).
        return array.astype(np.intp) if array.size == 0 and array.dtype.kind == "f" else array
    return _plain_index_part(index)


def _plain_index_part(part):
    if isinstance(part, Tensor):
        part = part._data
    if isinstance(part, np.ndarray):
        return part.copy()
    return part


_BASIC = (int, np.integer, slice, type(None), type(Ellipsis))


def is_basic_index(index):
    """Basic indexing (ints, slices, None, ...) never selects one element twice."""
    if isinstance(index, tuple):
        return builtins.all(isinstance(i, _BASIC) and not isinstance(i, bool) for i in index)
    return isinstance(index, _BASIC) and not isinstance(index, bool)


def clip_bound(bound, name):
    """A clip bound: None or a Python number as it is (numbers stay weak), else a Tensor's
    array or a copied numeric array."""
    if type(bound) in (float, int, type(None)):
        return bound
    return as_tensor(bound, name=f"clip: {name}")._data


# ---------------------------------------------------------------------------
# Axes and shapes.
# ---------------------------------------------------------------------------

def reduced_axes(ndim, axis, op):
    """Normalise ``axis`` (None, int or tuple) to a tuple of non-negative axes."""
    axes = range(ndim) if axis is None else axis if isinstance(axis, tuple) else (axis,)
    result = []
    for a in axes:  # (type(a) is not int: a bool is not an axis)
        if type(a) is not int and not isinstance(a, np.integer) or not -ndim <= a < ndim:
            raise axis_error(op, axis, ndim)
        result.append(int(a) % ndim)
    return tuple(result)


def scalar_axis(x, axis):
    """NumPy lets sum/max/min of a 0-d array take ``axis=0`` or ``-1`` (ints only): no axis."""
    if x.ndim == 0 and type(axis) is int and axis in (0, -1):
        return None
    return axis


def kept_shape(shape, axis, op="sum"):
    """``shape`` reduced over ``axis`` with the reduced axes kept as 1."""
    if axis is None:
        return (1,) * len(shape)
    axes = reduced_axes(len(shape), axis, op)
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def axis_error(op, axis, ndim):
    """A TypeError for an axis that is not made of ints, else an AxisError for its range."""
    axes = axis if isinstance(axis, tuple) else (axis,)
    if builtins.any(isinstance(a, bool) or not isinstance(a, (int, np.integer)) for a in axes):
        return TypeError(f"{op}: axis must be None, an int or a tuple of ints, got {axis!r:.60}")
    return np.exceptions.AxisError(
        f"{op}: axis {axis!r} is out of range for a tensor with {ndim} dimensions")


def int_tuple(value, op, name):
    """``value`` (an int or a sequence of ints) as a tuple of ints; else a TypeError naming ``name``.
    Error paths only: the fast paths let NumPy check, and come here when it refuses."""
    items = value if isinstance(value, (tuple, list)) else (value,)
    try:
        return tuple(operator.index(i) for i in items)
    except TypeError:
        raise TypeError(f"{op}: {name} must be an int or a tuple of ints, got {value!r:.60}") from None


def shape_arguments(shape, more):
    """``reshape(x, 2, -1)`` and ``reshape(x, (2, -1))`` alike: the shape as a tuple."""
    if more:
        return (shape, *more)
    return tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)


# ---------------------------------------------------------------------------
# Errors in the user's terms.
# ---------------------------------------------------------------------------

def binary_error(op, a, b, error):
    """The error for a failed ``a, b = pair(a, b); forward(...)``: if both operands are
    Tensors by now, the forward failed; otherwise converting an operand did."""
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        return operation_error(op, a, b)
    return type(error)(f"{op}: {error}")


def operation_error(op, *operands):
    """The error for a forward that NumPy refused, in terms of the user's operands."""
    shapes = " and ".join(str(x.shape) for x in operands)
    described = " and ".join(describe(x) for x in operands)
    try:
        np.broadcast_shapes(*(x.shape for x in operands))
    except ValueError:
        return ValueError(f"{op}: operands with shapes {shapes} cannot be broadcast together "
                          "(NumPy broadcasting: trailing axes must be equal or 1)")
    kinds = {x.dtype.kind for x in operands}
    if op == "pow" and kinds <= set("iub"):
        return ValueError(f"pow: an integer tensor cannot be raised to a negative integer power "
                          f"({described}); make the base floating point, e.g. x.astype(np.float64)")
    if "b" in kinds:
        return TypeError(f"{op} is not defined for bool tensors ({described}); convert with "
                         "x.astype(np.float64), or use logical operations (&, |, ~) on masks")
    return TypeError(f"{op} is not defined for operands of {described}")


def join_error(op, tensors, axis, new_axis):
    """Why NumPy refused to join: the axis (type or range), 0-d inputs, or the shapes."""
    shapes = [t.shape for t in tensors]
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        return TypeError(f"{op}: axis must be an int, got {axis!r:.60}")
    ndim = tensors[0].ndim + new_axis
    if not new_axis and builtins.any(t.ndim == 0 for t in tensors):
        return ValueError(f"{op}: zero-dimensional (0-d) tensors cannot be concatenated, got "
                          f"shapes {shapes}; use ag.stack, or reshape them to (1,)")
    if not -ndim <= axis < ndim:
        return ValueError(f"{op}: axis {axis} is out of range for a result with {ndim} "
                          f"dimensions (input shapes {shapes})")
    if new_axis:
        return ValueError(f"{op}: all tensors need the same shape, got {shapes}")
    return ValueError(f"{op} along axis {axis}: shapes {shapes} must have the same number of "
                      "dimensions and agree on every other axis")


def numpy_name(function):
    """How errors name a NumPy function or ufunc: 'np.exp', 'np.linalg.norm', 'scipy.special.erf'."""
    name = getattr(function, "__name__", repr(function))
    module = getattr(function, "__module__", None)
    if isinstance(function, np.ufunc):  # ufuncs do not know their module: find who exports it
        if getattr(np, name, None) is function:
            return f"np.{name}"
        module = next((module_name for module_name, loaded in list(sys.modules.items())
                       if loaded is not None and not module_name.startswith("_")
                       and not module_name.split(".")[-1].startswith("_")
                       and getattr(loaded, name, None) is function), None)
        if module is None:
            return f"the ufunc {name!r}"
    if module == "numpy" or (module or "").startswith("numpy."):
        module = "np" + module[len("numpy"):]
    return f"{module}.{name}" if module else name
