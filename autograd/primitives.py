"""Every primitive: its NumPy forward and its vector-Jacobian products, side by side.

A primitive wraps its inputs as tensors, runs the forward on their arrays and hands
``_record`` the result, the inputs and one VJP per input. A VJP maps the cotangent
``g`` of the output (plus the output and the inputs) to the cotangent of one input:

    vjp(g, out, *inputs) -> same shape as that input

VJPs use only arithmetic, methods that NumPy arrays and Tensors share (``sum``,
``reshape``, ``transpose``) and NumPy functions that Tensors dispatch back to this
module. First-order backward calls them with plain arrays (fast); under
``create_graph`` they get Tensors and are themselves recorded, which is how
``grad(grad(f))`` works. Anything a VJP needs that is constant (a tie mask, an
index) is computed from raw arrays with ``_raw``.

Broadcasting binary ops send their cotangent through the one ``unbroadcast``.
"""

from __future__ import annotations

import builtins
import functools
import math
import operator

import numpy as np

from autograd.tape import JointVJP
from autograd.tensor import Tensor, numeric_array

_record = Tensor._from_op
_constant = Tensor._constant


# ---------------------------------------------------------------------------
# Helpers shared by every primitive.
# ---------------------------------------------------------------------------

def describe(value) -> str:
    """How errors name a value: 'shape (2, 3) float32'."""
    data = value._data if isinstance(value, Tensor) else np.asarray(value)
    return f"shape {data.shape} {data.dtype}"


_WEAK_NUMBERS = (float, int)


def _as_tensor(value, like=None, name="the input") -> Tensor:
    """A constant Tensor for a non-Tensor operand (an ndarray is copied: a later write to
    it must not change a gradient). Junk raises a TypeError naming ``name``.

    Python numbers stay "weak" as in NumPy 2: ``x_float32 * 2.0`` is float32. We get
    that by turning the number into a NumPy scalar of the dtype NumPy would pick.
    """
    if isinstance(value, Tensor):
        return value
    if type(value) in _WEAK_NUMBERS and like is not None:
        return _constant(_weak_number(value, like))
    return _constant(numeric_array(value, name=name))


def _weak_number(number, like):
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


def _pair(a, b):
    """Both operands as Tensors; a Python number is weak against the other operand.
    Callers prefix errors with the op's name (in an except clause: free when nothing fails)."""
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            return a, b
        if type(b) in _WEAK_NUMBERS:  # the common case first: x * 2.0
            return a, _constant(_weak_number(b, a))
        return a, _as_tensor(b, a, "an operand")
    if not isinstance(b, Tensor) and type(b) not in _WEAK_NUMBERS:
        b = _as_tensor(b, None, "an operand")  # first, so a number in ``a`` is weak against it
    a = _as_tensor(a, b if isinstance(b, Tensor) else None, "an operand")
    return a, (b if isinstance(b, Tensor) else _as_tensor(b, a, "an operand"))


def _binary_error(op, a, b, error):
    """The error for a failed ``a, b = _pair(a, b); forward(...)``: if both operands are
    Tensors by now, the forward failed; otherwise converting an operand did."""
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        return _operation_error(op, a, b)
    return type(error)(f"{op}: {error}")


def _operation_error(op, *operands):
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


def _raw(value):
    """The array inside a Tensor (for constants a VJP computes, such as masks)."""
    return value._data if isinstance(value, Tensor) else value


def unbroadcast(g, shape):
    """Sum the cotangent ``g`` of a broadcast result back down to an input's ``shape``."""
    g_shape = g.shape
    if g_shape == shape:
        return g
    leading = len(g_shape) - len(shape)
    if 1 in shape:
        stretched = tuple(leading + i for i, n in enumerate(shape)
                          if n == 1 and g_shape[leading + i] != 1)
        if stretched:
            g = g.sum(axis=stretched, keepdims=True)
    if not leading:
        return g
    if type(g) is not np.ndarray:  # a Tensor, under create_graph
        return g.sum(axis=tuple(range(leading)))
    if len(shape) == 1:  # a bias: add up the rows of a matrix with BLAS
        ones = _ones(math.prod(g_shape[:-1]), g.dtype)
        if ones is not None:
            return ones @ (g if leading == 1 else g.reshape(len(ones), shape[0]))
    # Summing the leading axes away (not keepdims + reshape) gives an array that owns its
    # memory, which backward can adopt as a leaf's .grad without a copy (a bias, say).
    return np.add.reduce(g, axis=0 if leading == 1 else tuple(range(leading)))


@functools.lru_cache(maxsize=16)
def _ones(count, dtype):
    """A read-only vector of ``count`` ones, to add up a matrix's rows (``ones @ m``) with
    BLAS; None if BLAS does not apply (dtype) or ``count`` is large.

    Against ``np.add.reduce(m, axis=0)`` in float32: 2.6x faster at 128x128 and 2.9x at
    128x10 (bias gradients), 1.3x at 10x128 (the lean cross-entropy's class sums), and
    no less accurate: along axis 0 NumPy also adds the rows one after another. (Not for
    sums along rows: there BLAS's running sums drop small terms next to a large one,
    where NumPy's pairwise sum does not.)
    """
    if dtype.char not in "fd" or count > 1 << 16:
        return None
    ones = np.ones(count, dtype)
    ones.flags.writeable = False
    return ones


def _binary(forward, a, b, vjps, op):
    """Apply a broadcasting binary ``forward``; ``vjps`` comes from ``_binary_vjps``."""
    try:
        a, b = _pair(a, b)
        data = forward(a._data, b._data)
    except (ValueError, TypeError, OverflowError) as error:
        raise _binary_error(op, a, b, error) from None
    same_shape, broadcast = vjps
    return _record(data, (a, b), same_shape if a._data.shape == b._data.shape else broadcast, op)


def _binary_vjps(vjp_a, vjp_b):
    """The VJP pairs of a binary op: as written, for inputs of one shape (no broadcasting
    happened), and wrapped in ``unbroadcast`` for inputs of different shapes."""
    # An operand that passes through (either side of a + b) skips one call per step.
    broadcast_a = ((lambda g, out, a, b: unbroadcast(g, a.shape)) if vjp_a is _passes else
                   (lambda g, out, a, b: unbroadcast(vjp_a(g, out, a, b), a.shape)))
    broadcast_b = ((lambda g, out, a, b: unbroadcast(g, b.shape)) if vjp_b is _passes else
                   (lambda g, out, a, b: unbroadcast(vjp_b(g, out, a, b), b.shape)))
    return (vjp_a, vjp_b), (broadcast_a, broadcast_b)


def _passes(g, out, a, b):
    """The VJP of an operand that reaches the output unchanged (either side of a + b)."""
    return g


def _unary(function, x, vjps, op):
    if not isinstance(x, Tensor):
        x = _as_tensor(x, name=f"{op}: x")
    try:
        return _record(function(x._data), (x,), vjps, op)
    except TypeError:  # bool input to an op NumPy refuses for bool (negative, sigmoid)
        raise _operation_error(op, x) from None


# ---------------------------------------------------------------------------
# Elementwise, binary (broadcasting).
# ---------------------------------------------------------------------------

def add(a, b):
    """a + b, broadcasting."""
    return _binary(operator.add, a, b, ADD_VJPS, "add")


ADD_VJPS = _binary_vjps(_passes, _passes)


def sub(a, b):
    """a - b, broadcasting."""
    return _binary(operator.sub, a, b, SUB_VJPS, "sub")


SUB_VJPS = _binary_vjps(_passes, lambda g, out, a, b: -g)


def mul(a, b):
    """a * b, broadcasting."""
    return _binary(operator.mul, a, b, MUL_VJPS, "mul")


MUL_VJPS = _binary_vjps(lambda g, out, a, b: g * b,
                        lambda g, out, a, b: g * a)


def div(a, b):
    """a / b, broadcasting."""
    return _binary(operator.truediv, a, b, DIV_VJPS, "div")


DIV_VJPS = _binary_vjps(lambda g, out, a, b: g / b,             # d(a/b)/da = 1/b
                        lambda g, out, a, b: -g * out / b)      # d(a/b)/db = -(a/b)/b


def pow(a, b):
    """a ** b, broadcasting. A number as exponent takes a shorter path."""
    if type(b) in (int, float) and isinstance(a, Tensor):
        exponent = b

        def power_vjp(g, out, a):  # d(a^c)/da = c a^(c-1); exactly 0 when c == 0
            if exponent == 0:  # selected, not g * 0: an infinite g must give 0, not NaN
                return np.where(True, 0, g)
            return g * exponent * a ** (exponent - 1)

        try:
            return _record(a._data ** _weak_number(b, a), (a,), (power_vjp,), "pow")
        except ValueError:  # an integer base to a negative power; a huge int exponent names itself
            raise _operation_error("pow", a, _as_tensor(b, a)) from None
    return _binary(operator.pow, a, b, POW_VJPS, "pow")


def _pow_base_vjp(g, out, a, b):
    # d(a^b)/da = b a^(b-1), taken as 0 at a == b == 0 (where it reads 0 * inf). Masking
    # only there keeps the rule differentiable in b at b == 0 (second order).
    undefined = (_raw(b) == 0) & (_raw(a) == 0)
    return np.where(undefined, 0, g * b * a ** (b - 1))


def _pow_exponent_vjp(g, out, a, b):
    # d(a^b)/db = a^b log a, taken as 0 where a == 0 and b >= 0 (0^b is flat there)
    flat = (_raw(a) == 0) & (_raw(b) >= 0)
    return np.where(flat, 0, g * out * np.log(np.where(flat, 1, a)))


POW_VJPS = _binary_vjps(_pow_base_vjp, _pow_exponent_vjp)


def _tie_share(g, a, b):
    """The cotangent where ``a`` wins, half of it on ties, 0 where ``b`` wins (ties split the
    gradient equally). Selected, not multiplied by a 0/1 mask: an infinite ``g`` where ``a``
    loses must give 0, not inf * 0 = NaN."""
    a, b = _raw(a), _raw(b)
    return np.where(a > b, g, np.where(a == b, g * 0.5, 0))


def maximum(a, b):
    """Elementwise maximum; on ties each input gets half the gradient."""
    return _binary(np.maximum, a, b, MAXIMUM_VJPS, "maximum")


MAXIMUM_VJPS = _binary_vjps(lambda g, out, a, b: _tie_share(g, a, b),
                            lambda g, out, a, b: _tie_share(g, b, a))


def minimum(a, b):
    """Elementwise minimum; on ties each input gets half the gradient."""
    return _binary(np.minimum, a, b, MINIMUM_VJPS, "minimum")


MINIMUM_VJPS = _binary_vjps(lambda g, out, a, b: _tie_share(g, b, a),
                            lambda g, out, a, b: _tie_share(g, a, b))


_MISSING = object()


def where(condition, a=_MISSING, b=_MISSING):
    """Elementwise ``a`` where ``condition`` is true, else ``b`` (broadcasting).

    The gradient flows only into the chosen entries. Like PyTorch, a NaN or inf in
    the branch that is not chosen does not reach the gradient of ``where`` itself,
    but it can still poison the gradient of whatever computed that branch
    (``where(x > 0, log(x), 0)`` has a NaN gradient at x < 0 through ``log``).

    With the condition alone, as ``np.where(condition)``: the indices where it is true
    (a tuple of int arrays, constants).
    """
    condition = _as_tensor(condition, name="where: condition")._data.astype(bool, copy=False)
    if a is _MISSING and b is _MISSING:
        return np.nonzero(condition)
    if a is _MISSING or b is _MISSING:
        raise TypeError("where: pass both a and b (where(condition, a, b)), or neither "
                        "(where(condition): the indices where it is true)")
    try:
        a, b = _pair(a, b)
        data = np.where(condition, a._data, b._data)
    except (ValueError, TypeError) as error:
        if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
            raise _binary_error("where", a, b, error) from None
        raise ValueError(
            f"where: condition {np.shape(condition)}, a {a.shape} and b {b.shape} cannot be "
            "broadcast together"
        ) from None
    vjps = (lambda g, out, a, b: unbroadcast(np.where(condition, g, 0), a.shape),
            lambda g, out, a, b: unbroadcast(np.where(condition, 0, g), b.shape))
    return _record(data, (a, b), vjps, "where")


# ---------------------------------------------------------------------------
# Elementwise, unary.
# ---------------------------------------------------------------------------

def neg(x):
    """-x"""
    return _unary(np.negative, x, NEG_VJPS, "neg")


NEG_VJPS = (lambda g, out, x: -g,)


def exp(x):
    """e ** x"""
    return _unary(np.exp, x, EXP_VJPS, "exp")


EXP_VJPS = (lambda g, out, x: g * out,)          # d/dx e^x = e^x, the output


def log(x):
    """Natural logarithm."""
    return _unary(np.log, x, LOG_VJPS, "log")


LOG_VJPS = (lambda g, out, x: g / x,)            # d/dx log x = 1/x


def sqrt(x):
    """Square root."""
    return _unary(np.sqrt, x, SQRT_VJPS, "sqrt")


SQRT_VJPS = (lambda g, out, x: g * 0.5 / out,)   # d/dx sqrt x = 1 / (2 sqrt x); inf at 0


def abs(x):
    """Absolute value; its gradient at 0 is 0."""
    return _unary(np.abs, x, ABS_VJPS, "abs")


def _abs_vjp(g, out, x):  # d/dx |x| = sign(x): 0 at 0 (selected: inf there gives 0, not NaN)
    x = _raw(x)
    return np.where(x > 0, g, np.where(x < 0, -g, x * 0))  # x * 0: NaN stays NaN


ABS_VJPS = (_abs_vjp,)


def tanh(x):
    """Hyperbolic tangent."""
    return _unary(np.tanh, x, TANH_VJPS, "tanh")


TANH_VJPS = (lambda g, out, x: g * (1 - out * out),)      # 1 - tanh^2


def _stable_sigmoid(x):
    return np.exp(-np.logaddexp(0, -x))  # 1 / (1 + e^-x) without overflow


def sigmoid(x):
    """Logistic sigmoid 1 / (1 + e^-x), finite for any x."""
    return _unary(_stable_sigmoid, x, SIGMOID_VJPS, "sigmoid")


SIGMOID_VJPS = (lambda g, out, x: g * out * (1 - out),)   # s (1 - s)


def relu(x):
    """max(x, 0); its gradient at 0 is 0."""
    return _unary(_relu_forward, x, RELU_VJPS, "relu")


def _relu_forward(x):
    return np.maximum(x, 0)


RELU_VJPS = (lambda g, out, x: np.where(_raw(x) > 0, g, 0),)   # select: inf * 0 would be NaN


def clip(x, a_min=None, a_max=None):
    """Limit values to [a_min, a_max] (constants); gradient 1 inside, 0 outside."""
    x = _as_tensor(x)
    low = a_min if type(a_min) in _PLAIN_BOUNDS else _clip_bound(a_min, "a_min")
    high = a_max if type(a_max) in _PLAIN_BOUNDS else _clip_bound(a_max, "a_max")
    try:
        data = np.clip(x._data, low, high)
    except (ValueError, TypeError, OverflowError):
        bounds = [b for b in (low, high) if b is not None]
        try:
            np.broadcast_shapes(x.shape, *(np.shape(b) for b in bounds))
        except ValueError:
            raise ValueError(f"clip: bounds of shapes {[np.shape(b) for b in bounds]} cannot be "
                             f"broadcast to x of {describe(x)}") from None
        raise TypeError(f"clip: cannot clip x of {describe(x)} to a_min={a_min!r:.40} and "
                        f"a_max={a_max!r:.40}" + ("; a bool tensor needs a bound" if not bounds else ""))

    def clip_vjp(g, out, x):  # array bounds may broadcast x to the output's larger shape
        inside = np.ones(np.shape(_raw(out)), dtype=bool)
        if low is not None:
            inside &= _raw(x) >= low
        if high is not None:
            inside &= _raw(x) <= high
        return unbroadcast(np.where(inside, g, 0), np.shape(_raw(x)))  # select, never inf * 0

    return _record(data, (x,), (clip_vjp,), "clip")


def _numpy_clip(a, a_min=None, a_max=None, out=None, *, min=None, max=None):
    """``np.clip`` on tensors, with NumPy 2's ``min=``/``max=`` spellings of the bounds."""
    if out is not None:
        raise TypeError("np.clip on tensors does not take out=: use the result")
    if (min is not None and a_min is not None) or (max is not None and a_max is not None):
        raise TypeError("np.clip: pass each bound once (a_min or min, a_max or max)")
    return clip(a, a_min if min is None else min, a_max if max is None else max)


_PLAIN_BOUNDS = (float, int, type(None))  # passed to np.clip as they are (numbers stay weak)


def _clip_bound(bound, name):
    """A clip bound that is not None or a Python number: a Tensor's array or a copied numeric array."""
    return _as_tensor(bound, name=f"clip: {name}")._data


# ---------------------------------------------------------------------------
# Reductions.
# ---------------------------------------------------------------------------

def _reduced_axes(ndim, axis, op):
    """Normalise ``axis`` (None, int or tuple) to a tuple of non-negative axes."""
    axes = range(ndim) if axis is None else axis if isinstance(axis, tuple) else (axis,)
    result = []
    for a in axes:  # (type(a) is not int: a bool is not an axis)
        if type(a) is not int and not isinstance(a, np.integer) or not -ndim <= a < ndim:
            raise _axis_error(op, axis, ndim)
        result.append(int(a) % ndim)
    return tuple(result)


def _axis_error(op, axis, ndim):
    """A TypeError for an axis that is not made of ints, else an AxisError for its range."""
    axes = axis if isinstance(axis, tuple) else (axis,)
    if builtins.any(isinstance(a, bool) or not isinstance(a, (int, np.integer)) for a in axes):
        return TypeError(f"{op}: axis must be None, an int or a tuple of ints, got {axis!r:.60}")
    return np.exceptions.AxisError(
        f"{op}: axis {axis!r} is out of range for a tensor with {ndim} dimensions")


def _int_tuple(value, op, name):
    """``value`` (an int or a sequence of ints) as a tuple of ints; else a TypeError naming ``name``.
    Error paths only: the fast paths let NumPy check, and come here when it refuses."""
    items = value if isinstance(value, (tuple, list)) else (value,)
    try:
        return tuple(operator.index(i) for i in items)
    except TypeError:
        raise TypeError(f"{op}: {name} must be an int or a tuple of ints, got {value!r:.60}") from None


def _kept_shape(shape, axis, op="sum"):
    if axis is None:
        return (1,) * len(shape)
    axes = _reduced_axes(len(shape), axis, op)
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _spread(g, kept, shape):
    """Broadcast a reduction's cotangent back over the input ``shape``.

    ``kept`` is the output shape with the reduced axes kept as 1; None when ``g`` already
    broadcasts as it is (``keepdims=True``, or a full reduction to 0-d).
    """
    if kept is not None:
        g = g.reshape(kept)
    if isinstance(g, Tensor):
        return broadcast_to(g, shape)
    spread = np.empty(shape, dtype=g.dtype)  # faster than np.broadcast_to for small arrays
    spread[...] = g
    return spread


def _scalar_axis(x, axis):
    """NumPy lets sum/max/min of a 0-d array take ``axis=0`` or ``-1`` (ints only): no axis."""
    if x.ndim == 0 and type(axis) is int and axis in (0, -1):
        return None
    return axis


def sum(x, axis=None, keepdims=False, dtype=None):
    """Sum over ``axis`` (None: all axes; int or tuple), NumPy style; ``dtype`` casts first."""
    x = _as_tensor(x)
    if dtype is not None:
        x = x.astype(dtype)
    axis = _scalar_axis(x, axis)
    if axis is not None:
        _reduced_axes(x.ndim, axis, "sum")

    def sum_vjp(g, out, x):  # every input entry receives the cotangent of its sum
        kept = None if keepdims or axis is None else _kept_shape(x.shape, axis)
        return _spread(g, kept, x.shape)

    return _record(x._data.sum(axis=axis, keepdims=keepdims), (x,), (sum_vjp,), "sum")


def mean(x, axis=None, keepdims=False, dtype=None):
    """Mean over ``axis``; composed as sum / count. float16 is summed and divided in float32
    (as NumPy does: a float16 count overflows past 65,504); ``dtype`` casts first."""
    x = _as_tensor(x)
    count = 1
    for i in _reduced_axes(x.ndim, axis, "mean"):
        count *= x.shape[i]
    if dtype is not None:
        return mean(x.astype(dtype), axis, keepdims)
    if x.dtype == np.float16:
        return mean(x.astype(np.float32), axis, keepdims).astype(np.float16)
    return div(sum(x, axis=axis, keepdims=keepdims), count)


def _extremum(reduce, x, axis, keepdims, op):
    x = _as_tensor(x)
    axis = _scalar_axis(x, axis)
    kept = _kept_shape(x.shape, axis, op)
    try:
        data = reduce(x._data, axis=axis, keepdims=keepdims)
    except ValueError:  # reducing an empty axis to a result that is not empty
        raise ValueError(f"{op}: cannot reduce an empty tensor ({describe(x)}) along axis "
                         f"{axis}: the maximum or minimum of nothing is undefined") from None

    def extremum_vjp(g, out, x):  # the winners share the cotangent equally
        winners = _raw(x) == np.reshape(_raw(out), kept)
        share = (winners / winners.sum(axis=axis, keepdims=True)).astype(_raw(x).dtype)
        # Selected, not multiplied: an infinite cotangent gives 0 to the losers, not NaN.
        return np.where(winners, _spread(g, kept, x.shape), 0) * share

    return _record(data, (x,), (extremum_vjp,), op)


def max(x, axis=None, keepdims=False):
    """Maximum over ``axis``; tied maxima share the gradient equally."""
    return _extremum(np.max, x, axis, keepdims, "max")


def min(x, axis=None, keepdims=False):
    """Minimum over ``axis``; tied minima share the gradient equally."""
    return _extremum(np.min, x, axis, keepdims, "min")


# ---------------------------------------------------------------------------
# Linear algebra.
# ---------------------------------------------------------------------------

def _matmul_a_vjp(g, out, a, b):
    if b.ndim == 1:                           # out (..., n) = a (..., n, k) @ b (k,)
        ga = g.reshape(g.shape + (1,)) * b    # outer product (..., n, 1) * (k,)
    else:
        if a.ndim == 1:                       # treat a as (1, k), out (..., m) as (..., 1, m)
            g = g.reshape(g.shape[:-1] + (1, g.shape[-1]))
        ga = g @ b.mT                         # dL/dA = G Bᵀ
        if a.ndim == 1:
            ga = ga.reshape(ga.shape[:-2] + (ga.shape[-1],))
    return unbroadcast(ga, a.shape)


def _matmul_b_vjp(g, out, a, b):
    if a.ndim == 1:                           # out (..., m) = a (k,) @ b (..., k, m)
        if b.ndim == 1:
            gb = g * a
        else:
            gb = a.reshape(a.shape + (1,)) * g.reshape(g.shape[:-1] + (1, g.shape[-1]))
    else:
        if b.ndim == 1:                       # treat b as (k, 1), out (..., n) as (..., n, 1)
            g = g.reshape(g.shape + (1,))
        gb = a.mT @ g                         # dL/dB = Aᵀ G
        if b.ndim == 1:
            gb = gb.reshape(gb.shape[:-1])
    return unbroadcast(gb, b.shape)


MATMUL_VJPS = (_matmul_a_vjp, _matmul_b_vjp)


def matmul(a, b):
    """Matrix product with NumPy's rules: 1-D operands, 2-D, and broadcast batches (..., n, k) @ (..., k, m)."""
    try:
        a, b = _pair(a, b)
        data = np.matmul(a._data, b._data)
    except (ValueError, TypeError) as error:
        if not (isinstance(a, Tensor) and isinstance(b, Tensor)) or isinstance(error, TypeError):
            raise _binary_error("matmul", a, b, error) from None
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(
                f"matmul needs operands with at least 1 dimension, got shapes {a.shape} and "
                f"{b.shape}; use * to multiply by a scalar"
            ) from None
        inner_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
        raise ValueError(
            f"matmul: shapes {a.shape} and {b.shape} do not match: the last axis of the first "
            f"({a.shape[-1]}) must equal the {'first' if b.ndim == 1 else 'second-to-last'} axis "
            f"of the second ({inner_b}), and batch axes {a.shape[:-2]} and {b.shape[:-2]} must "
            "broadcast"
        ) from None
    return _record(data, (a, b), MATMUL_VJPS, "matmul")


# ---------------------------------------------------------------------------
# Shape.
# ---------------------------------------------------------------------------

def _shape_arguments(shape, more):
    if more:
        return (shape, *more)
    return tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)


def reshape(x, shape, *more):
    """Reshape (``x.reshape(2, -1)`` or ``reshape(x, (2, -1))``)."""
    x = _as_tensor(x)
    shape = _shape_arguments(shape, more)
    try:
        data = x._data.reshape(shape)
    except (ValueError, TypeError):
        shape = _int_tuple(shape, "reshape", "shape")
        raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} (size {x.size}) "
                         f"into shape {shape}") from None
    return _record(data, (x,), RESHAPE_VJPS, "reshape")


RESHAPE_VJPS = (lambda g, out, x: g.reshape(x.shape),)


def transpose(x, axes=None, *more):
    """Permute axes; no ``axes`` reverses them (like ``x.T``)."""
    x = _as_tensor(x)
    if axes is None:
        data = x._data.transpose()
        inverse = None
    else:
        axes = _shape_arguments(axes, more)
        try:
            data = x._data.transpose(axes)
        except (ValueError, TypeError):
            _int_tuple(axes, "transpose", "axes")
            raise ValueError(f"transpose: axes {axes} are not a permutation of the "
                             f"{x.ndim} axes of a tensor of shape {x.shape}") from None
        inverse = tuple(np.argsort([int(a) % x.ndim for a in axes]))
    vjps = (lambda g, out, x: g.transpose(inverse),)
    return _record(data, (x,), vjps, "transpose")


def swapaxes(x, axis1, axis2):
    """Exchange two axes (a transpose)."""
    x = _as_tensor(x)
    order = list(range(x.ndim))
    axis1, axis2 = _reduced_axes(x.ndim, (axis1, axis2), "swapaxes")
    order[axis1], order[axis2] = order[axis2], order[axis1]
    return transpose(x, tuple(order))


def expand_dims(x, axis):
    """Insert axes of length 1 at ``axis`` (int or tuple)."""
    x = _as_tensor(x)
    try:
        return _record(np.expand_dims(x._data, axis), (x,), RESHAPE_VJPS, "expand_dims")
    except (ValueError, TypeError):
        axes = _int_tuple(axis, "expand_dims", "axis")
        raise ValueError(f"expand_dims: axis {axis} is out of range or repeated: the result has "
                         f"{x.ndim + len(axes)} dimensions (a tensor of shape {x.shape} plus "
                         f"{len(axes)} new)") from None


def squeeze(x, axis=None):
    """Remove axes of length 1 (all of them, or those in ``axis``)."""
    x = _as_tensor(x)
    try:
        data = np.squeeze(x._data, axis)
    except (ValueError, TypeError):
        _reduced_axes(x.ndim, axis, "squeeze")  # a wrong type or range names itself
        raise ValueError(f"squeeze: axis {axis} of a tensor of shape {x.shape} does not have "
                         "length 1") from None
    return _record(data, (x,), RESHAPE_VJPS, "squeeze")


def broadcast_to(x, shape):
    """Broadcast to ``shape`` (a read-only view forward; sums back in the VJP)."""
    x = _as_tensor(x)
    shape = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)
    try:
        data = np.broadcast_to(x._data, shape)
    except (ValueError, TypeError):
        shape = _int_tuple(shape, "broadcast_to", "shape")
        raise ValueError(f"broadcast_to: a tensor of shape {x.shape} cannot be broadcast to "
                         f"shape {shape}") from None
    return _record(data, (x,), BROADCAST_TO_VJPS, "broadcast_to")


BROADCAST_TO_VJPS = (lambda g, out, x: unbroadcast(g, x.shape),)


def _plain_index(index):
    """The index with Tensors replaced by their arrays and every array copied: the VJP keeps
    the index, and a later write to the caller's index array must not move the gradient."""
    if isinstance(index, tuple):
        return tuple(_plain_index_part(i) for i in index)
    if isinstance(index, list):
        return np.array(index)
    return _plain_index_part(index)


def _plain_index_part(part):
    if isinstance(part, Tensor):
        part = part._data
    if isinstance(part, np.ndarray):
        return part.copy()
    return part


_BASIC = (int, np.integer, slice, type(None), type(Ellipsis))


def _is_basic(index):
    """Basic indexing (ints, slices, None, ...) never selects one element twice."""
    if isinstance(index, tuple):
        return builtins.all(isinstance(i, _BASIC) and not isinstance(i, bool) for i in index)
    return isinstance(index, _BASIC) and not isinstance(index, bool)


def getitem(x, index):
    """``x[index]``: basic and advanced indexing; the VJP scatter-adds, so repeats accumulate."""
    x = _as_tensor(x)
    index = _plain_index(index)
    try:
        data = x._data[index]
    except IndexError as error:
        raise IndexError(f"index {index!r} is invalid for a tensor of shape {x.shape}: {error}") from None
    except ValueError:  # a slice with step 0
        raise ValueError(f"index {index!r} is invalid for a tensor of shape {x.shape}: a slice "
                         "step cannot be zero") from None
    vjps = (lambda g, out, x: scatter_add(g, index, x.shape),)
    return _record(data, (x,), vjps, "getitem")


def scatter_add(g, index, shape):
    """Zeros of ``shape`` with ``g`` added at ``index`` (the transpose of ``getitem``).

    On arrays it is plain NumPy; on Tensors it is recorded, with ``getitem`` as its VJP.
    """
    values = _raw(g)
    result = np.zeros(shape, dtype=values.dtype)
    if _is_basic(index):
        result[index] = values
    else:
        np.add.at(result, index, values)
    if not isinstance(g, Tensor):
        return result
    return _record(result, (g,), (lambda gg, out, g: gg[index],), "scatter_add")


def _tensor_sequence(tensors, op):
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
    items = [t if isinstance(t, Tensor) or (weak and type(t) in _WEAK_NUMBERS)
             else _as_tensor(t, name=f"{op}: tensors[{i}]") for i, t in enumerate(items)]
    dtype = np.result_type(*(t._data.dtype if isinstance(t, Tensor) else t for t in items))
    try:
        return tuple(t if isinstance(t, Tensor) else _constant(dtype.type(t)) for t in items)
    except OverflowError:
        raise ValueError(f"{op}: a Python int in the sequence does not fit in dtype {dtype}, "
                         "the dtype of the other tensors") from None


def _join_error(op, tensors, axis, new_axis):
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


def concatenate(tensors, axis=0):
    """Join tensors along an existing axis."""
    tensors = _tensor_sequence(tensors, "concatenate")
    if axis is None:
        return concatenate([reshape(t, -1) for t in tensors], 0)
    try:
        data = np.concatenate([t._data for t in tensors], axis=axis)
    except (ValueError, TypeError):
        raise _join_error("concatenate", tensors, axis, new_axis=False) from None
    axis = axis % data.ndim
    parts, start = [], 0
    for t in tensors:
        parts.append((slice(None),) * axis + (slice(start, start + t.shape[axis]),))
        start += t.shape[axis]
    return _record(data, tensors, _pieces_vjp(parts, tensors), "concatenate")


def _pieces_vjp(parts, tensors):
    """The VJP of a join: input i gets ``g[parts[i]]``, its own piece of the cotangent (one
    call for all inputs, so a join of n tensors costs O(n) in backward, not O(n^2))."""
    wanted = [t.requires_grad for t in tensors]
    return JointVJP(lambda g, out, inputs: [g[part] if wanted_here else None
                                            for part, wanted_here in zip(parts, wanted)])


def stack(tensors, axis=0):
    """Join same-shape tensors along a new axis."""
    tensors = _tensor_sequence(tensors, "stack")
    try:
        data = np.stack([t._data for t in tensors], axis=axis)
    except (ValueError, TypeError):
        raise _join_error("stack", tensors, axis, new_axis=True) from None
    axis = axis % data.ndim
    parts = [(slice(None),) * axis + (i,) for i in range(len(tensors))]
    return _record(data, tensors, _pieces_vjp(parts, tensors), "stack")


# ---------------------------------------------------------------------------
# Non-differentiable helpers: results are constants.
# ---------------------------------------------------------------------------

def _comparison(ufunc):
    """A comparison operator: broadcasting, its result a constant bool tensor."""
    def compare(a, b):
        try:
            a, b = _pair(a, b)
            return _constant(ufunc(a._data, b._data))
        except (ValueError, TypeError, OverflowError) as error:
            raise _binary_error(ufunc.__name__, a, b, error) from None

    compare.__name__ = ufunc.__name__
    return compare


# ---------------------------------------------------------------------------
# NumPy calls on Tensors (np.exp(x), np.sum(x), ndarray * x) come back here.
# ---------------------------------------------------------------------------

less, less_equal, greater, greater_equal, equal, not_equal = (
    _comparison(ufunc) for ufunc in (np.less, np.less_equal, np.greater, np.greater_equal,
                                     np.equal, np.not_equal))

_UFUNCS = {
    np.less: less, np.less_equal: less_equal, np.greater: greater,
    np.greater_equal: greater_equal, np.equal: equal, np.not_equal: not_equal,
    np.add: add, np.subtract: sub, np.multiply: mul, np.true_divide: div, np.power: pow,
    np.negative: neg, np.exp: exp, np.log: log, np.sqrt: sqrt, np.absolute: abs,
    np.tanh: tanh, np.maximum: maximum, np.minimum: minimum, np.matmul: matmul,
}
# Piecewise constant: their gradient is zero, so the result is a constant tensor.
_CONSTANT_UFUNCS = {
    np.sign, np.floor, np.ceil, np.rint, np.trunc, np.isnan, np.isinf, np.isfinite,
    np.logical_and, np.logical_or, np.logical_not, np.logical_xor, np.signbit,
}
_FUNCTIONS = {
    np.sum: sum, np.mean: mean, np.max: max, np.amax: max, np.min: min, np.amin: min,
    np.reshape: reshape, np.transpose: transpose, np.swapaxes: swapaxes,
    np.expand_dims: expand_dims, np.squeeze: squeeze, np.broadcast_to: broadcast_to,
    np.where: where, np.concatenate: concatenate, np.stack: stack, np.clip: _numpy_clip,
}


def _unwrap(value):
    """Replace Tensors (also inside lists and tuples) by their arrays; report if any required grad."""
    if isinstance(value, Tensor):
        return value._data, value.requires_grad
    if isinstance(value, (list, tuple)):
        items = [_unwrap(v) for v in value]
        return type(value)(v for v, _ in items), builtins.any(r for _, r in items)
    return value, False


def dispatch_ufunc(ufunc, method, inputs, kwargs):
    if method == "__call__" and not kwargs and ufunc in _UFUNCS:
        return _UFUNCS[ufunc](*inputs)
    if _holds_tensor(kwargs.get("out")):
        raise TypeError(
            f"{numpy_name(ufunc)}(..., out=...) cannot write into a Tensor: backward may have "
            "saved its values, and overwriting them would change gradients without a word. Use "
            "the result instead (y = np.add(a, b)), or assign to x.data outside any graph "
            "(tracked: a graph that saved x then refuses to run)")
    arrays, tracked = _unwrap(inputs)
    if tracked and not (method == "__call__" and ufunc in _CONSTANT_UFUNCS):
        if method == "__call__" and ufunc in _UFUNCS:
            hint = (" For where=..., select afterwards: ag.where(mask, np.add(x, 1), fallback)."
                    if "where" in kwargs else "")
            raise TypeError(
                f"{numpy_name(ufunc)} on a tensor that requires grad takes no keyword arguments; "
                f"got {', '.join(f'{k}=' for k in kwargs)}.{hint} out= and dtype= would take "
                "the result off the tape: cast with x.astype(dtype) first")
        raise TypeError(
            f"{numpy_name(ufunc)} ({method}) has no gradient rule in autograd and an input "
            "requires grad; use the autograd function of that name, or apply it to x.data "
            "for a constant result"
        )
    kwargs = {k: _unwrap(v)[0] for k, v in kwargs.items()}
    result = getattr(ufunc, method)(*arrays, **kwargs)
    return _constant(result) if isinstance(result, (np.ndarray, np.generic)) else result


def _holds_tensor(value):
    if isinstance(value, tuple):
        return builtins.any(isinstance(v, Tensor) for v in value)
    return isinstance(value, Tensor)


def dispatch_function(function, args, kwargs):
    if function in _FUNCTIONS:
        implementation = _FUNCTIONS[function]
        try:
            return implementation(*args, **kwargs)
        except TypeError as error:
            _explain_arguments(function, implementation, args, kwargs, error)
            raise
    if function is np.copyto and _holds_tensor(args[0] if args else kwargs.get("dst")):
        raise TypeError(
            "np.copyto cannot write into a Tensor: backward may have saved its values, and "
            "overwriting them would change gradients without a word. Assign to x.data instead "
            "(x.data = new_values: tracked), outside any graph")
    arrays, tracked = _unwrap(args)
    keywords, tracked_keywords = _unwrap(tuple(kwargs.values()))
    if tracked or tracked_keywords:
        if function.__name__ not in _CONSTANT_FUNCTIONS:
            raise TypeError(
                f"{numpy_name(function)} has no gradient rule in autograd and an input requires "
                "grad; apply it to x.data (or x.detach()) for a constant result"
            )
    return function(*arrays, **dict(zip(kwargs, keywords)))


def _explain_arguments(function, implementation, args, kwargs, error):
    """Raise a TypeError naming the NumPy function if ``args``/``kwargs`` do not fit the
    autograd implementation's signature (a keyword NumPy has that we do not support)."""
    import inspect

    try:
        inspect.signature(implementation).bind(*args, **kwargs)
    except TypeError as mismatch:
        supported = [name for name in inspect.signature(implementation).parameters]
        raise TypeError(f"{numpy_name(function)} on tensors: {mismatch} (supported arguments: "
                        f"{', '.join(supported)})") from None


def numpy_name(function):
    """How errors name a NumPy function or ufunc: 'np.exp', 'np.linalg.norm', 'scipy.special.erf'."""
    import sys

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


# NumPy functions that are fine on tensors that require grad: they return plain arrays
# or booleans that carry no gradient (argmax, comparisons, shape queries...).
_CONSTANT_FUNCTIONS = {
    "argmax", "argmin", "argsort", "allclose", "isclose", "array_equal", "shape", "ndim",
    "size", "count_nonzero", "nonzero", "any", "all", "result_type", "array_repr", "array_str",
    "may_share_memory", "shares_memory", "round", "around", "copyto", "zeros_like",
    "ones_like", "empty_like", "full_like",
}


# ---------------------------------------------------------------------------
# Tensor operators and methods.
# ---------------------------------------------------------------------------

def _immutable(self, index, value):
    raise TypeError(
        "Tensors do not support item assignment (it would silently change saved values); "
        "build a new tensor with ag.where / ag.concatenate, or write to x.data outside any graph"
    )


def bind_methods(cls):
    """Attach operators and methods to Tensor; each is one of the primitives above."""
    methods = {
        "__add__": add, "__radd__": add, "__mul__": mul, "__rmul__": mul,
        "__sub__": sub, "__rsub__": lambda self, other: sub(other, self),
        "__truediv__": div, "__rtruediv__": lambda self, other: div(other, self),
        "__pow__": pow, "__rpow__": lambda self, other: pow(other, self),
        "__matmul__": matmul, "__rmatmul__": lambda self, other: matmul(other, self),
        "__neg__": neg, "__pos__": lambda self: self, "__abs__": abs,
        "__getitem__": getitem, "__setitem__": _immutable,
        "__lt__": less, "__le__": less_equal, "__gt__": greater, "__ge__": greater_equal,
        "__eq__": equal, "__ne__": not_equal,
        "exp": exp, "log": log, "sqrt": sqrt, "abs": abs, "tanh": tanh, "sigmoid": sigmoid,
        "relu": relu, "clip": clip, "sum": sum, "mean": mean, "max": max, "min": min,
        "reshape": reshape, "transpose": transpose, "swapaxes": swapaxes,
        "expand_dims": expand_dims, "squeeze": squeeze, "broadcast_to": broadcast_to,
        "matmul": matmul, "maximum": maximum, "minimum": minimum,
        "argmax": lambda self, axis=None: np.argmax(self._data, axis=axis),
        "argmin": lambda self, axis=None: np.argmin(self._data, axis=axis),
        "astype": lambda self, dtype: _constant(self._data.astype(dtype)) if not self.requires_grad
        else _cast(self, dtype),
    }
    for name, function in methods.items():
        setattr(cls, name, function)
    cls.T = property(transpose, doc="The tensor with its axes reversed.")
    cls.mT = property(lambda self: swapaxes(self, -1, -2),
                      doc="The tensor with its last two axes swapped (a batch of transposes).")


def _cast(x, dtype):
    """Change the floating dtype; the gradient is cast back."""
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"astype: a tensor that requires grad can only be cast to a floating "
                        f"dtype, got {dtype}")
    source = x.dtype
    return _record(x._data.astype(dtype), (x,), (lambda g, out, x: g.astype(source),), "astype")
