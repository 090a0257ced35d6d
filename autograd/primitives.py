"""Every primitive: its forward, its vector-Jacobian products and its registration.

One block per primitive, always in this order:

    def exp(x): ...                          the forward: checks nothing it need not,
                                             runs NumPy, hands ``record`` the result,
                                             the input Tensors and the VJPs
    EXP_VJPS = (lambda g, out, x: ...,)      the VJPs, one per input, right below it: a
                                             tuple, or a maker ``exp_vjps(static args)``
                                             when the rule needs the call's static
                                             arguments (an axis, an index, bounds)
    register(exp, EXP_VJPS, numpy=np.exp, methods="exp")
                                             the entry in registry.py, from which NumPy
                                             dispatch, Tensor methods and ``ag.exp`` come

A VJP maps the cotangent ``g`` of the output (plus the output and the inputs) to the
cotangent of one input, ``vjp(g, out, *inputs) -> same shape as that input``. First-order
backward calls it with plain arrays; under ``create_graph`` it gets Tensors and is itself
recorded, which is how ``grad(grad(f))`` works. So VJPs use only arithmetic, methods
arrays and Tensors share (``sum``, ``reshape``, ``transpose``) and NumPy functions that
dispatch on their inputs (``np.where``, ``np.exp``): on Tensors those come back here.
A constant a VJP needs (a tie mask, an index) is computed from raw arrays with ``raw``.

Blocks are written for any array type that implements NumPy's protocols: creation goes
through ``*_like`` functions of an input (``np.zeros_like(g, shape=...)``), never
``np.zeros(shape)``, so a later array backend (CuPy, Dask) needs no change here. (The one
host-only piece is ``_ones``, a BLAS shortcut for NumPy arrays.)

Piecewise-flat rules *select* the cotangent (``np.where(mask, g, 0)``) rather than
multiply it by a 0/1 mask: an infinite cotangent in the flat region must give 0, not
``inf * 0 = NaN``. Broadcasting binary ops send their cotangent through ``unbroadcast``.
Conversion of operands and the wording of errors live in ``operands.py``.
"""

from __future__ import annotations

import builtins
import functools
import math
import operator

import numpy as np

from autograd.operands import (
    WEAK_NUMBERS, as_tensor, binary_error, clip_bound, describe, int_tuple,
    is_basic_index, join_error, kept_shape, operation_error, pair, plain_index, raw,
    reduced_axes, scalar_axis, shape_arguments, tensor_sequence, weak_number,
)
from autograd.registry import register
from autograd.tape import JointVJP
from autograd.tensors import Tensor, constant, numeric_dtype, record

# Names other modules import from here (kept while they move to operands.py).
_as_tensor, _raw = as_tensor, raw


# ---------------------------------------------------------------------------
# The shapes of the blocks: unary, broadcasting binary, and unbroadcast.
# ---------------------------------------------------------------------------

def _unary(function, x, vjps, op):
    if not isinstance(x, Tensor):
        x = as_tensor(x, name=f"{op}: x")
    try:
        return record(function(x._data), (x,), vjps, op)
    except TypeError:  # bool input to an op NumPy refuses for bool (negative, sigmoid)
        raise operation_error(op, x) from None


def _binary(forward, a, b, vjps, op):
    """Apply a broadcasting binary ``forward``; ``vjps`` comes from ``_binary_vjps``."""
    try:
        a, b = pair(a, b)
        data = forward(a._data, b._data)
    except (ValueError, TypeError, OverflowError) as error:
        raise binary_error(op, a, b, error) from None
    same_shape, broadcast = vjps
    return record(data, (a, b), same_shape if a._data.shape == b._data.shape else broadcast, op)


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


def _select(g, factor):
    """``g * factor`` for a constant ``factor`` that is 0 in flat regions (a 0/1 mask, tie
    shares), with an exact 0 wherever ``factor`` is 0, even where ``g`` is inf or NaN
    (``inf * 0`` would be NaN). The product is one fast pass; ``np.where`` is several
    times slower (float32 128x128: 46 us against 13 us for the mask and product), so it
    runs only when ``g`` is not finite everywhere."""
    if type(g) is not Tensor and (math.isfinite(g) if g.ndim == 0 else np.isfinite(g).all()):
        return g * factor
    with np.errstate(invalid="ignore"):  # the inf * 0 entries are the ones replaced
        return np.where(raw(factor) != 0, g * factor, 0)


# ---------------------------------------------------------------------------
# Elementwise, binary (broadcasting).
# ---------------------------------------------------------------------------

def add(a, b):
    """a + b, elementwise with broadcasting: shape ``np.broadcast_shapes(a.shape, b.shape)``.

    >>> add(Tensor([1.0, 2.0]), 10.0)
    Tensor([11., 12.], dtype=float64)
    """
    return _binary(operator.add, a, b, ADD_VJPS, "add")


ADD_VJPS = _binary_vjps(_passes, _passes)
register(add, ADD_VJPS, numpy=np.add, methods=("__add__", "__radd__"))  # b + a == a + b


def sub(a, b):
    """a - b, elementwise with broadcasting.
    Shapes broadcast: ``(2, 1)`` and ``(3,)`` give ``(2, 3)``.

    >>> sub(Tensor([[1.0], [2.0]]), Tensor([0.5, 1.0, 1.5]))
    Tensor([[ 0.5,  0. , -0.5],
            [ 1.5,  1. ,  0.5]], dtype=float64)
    """
    return _binary(operator.sub, a, b, SUB_VJPS, "sub")


SUB_VJPS = _binary_vjps(_passes, lambda g, out, a, b: -g)
register(sub, SUB_VJPS, numpy=np.subtract, methods="__sub__", reflected="__rsub__")


def mul(a, b):
    """a * b, elementwise with broadcasting.
    Shapes broadcast: ``(2, 1)`` and ``(3,)`` give ``(2, 3)``.

    >>> mul(Tensor([[1.0], [2.0]]), Tensor([1.0, 2.0, 3.0]))
    Tensor([[1., 2., 3.],
            [2., 4., 6.]], dtype=float64)
    """
    return _binary(operator.mul, a, b, MUL_VJPS, "mul")


MUL_VJPS = _binary_vjps(lambda g, out, a, b: g * b,     # d(ab)/da = b
                        lambda g, out, a, b: g * a)     # d(ab)/db = a
register(mul, MUL_VJPS, numpy=np.multiply, methods=("__mul__", "__rmul__"))  # b a == a b


def div(a, b):
    """a / b, elementwise with broadcasting (true division: integers give floats).

    >>> div(Tensor([1, 2, 3]), 2)
    Tensor([0.5, 1. , 1.5], dtype=float64)
    """
    return _binary(operator.truediv, a, b, DIV_VJPS, "div")


DIV_VJPS = _binary_vjps(lambda g, out, a, b: g / b,             # d(a/b)/da = 1/b
                        lambda g, out, a, b: -g * out / b)      # d(a/b)/db = -(a/b)/b
register(div, DIV_VJPS, numpy=np.true_divide, methods="__truediv__", reflected="__rtruediv__")


def pow(a, b):
    """a ** b, elementwise with broadcasting. A Python number as exponent takes a shorter
    path (one input on the tape, the exponent a constant).

    >>> pow(Tensor([1.0, 2.0, 3.0]), 2)
    Tensor([1., 4., 9.], dtype=float64)
    >>> pow(2.0, Tensor([0.0, 0.5, 3.0])).round(4)
    Tensor([1.    , 1.4142, 8.    ], dtype=float64)
    """
    if type(b) in WEAK_NUMBERS and isinstance(a, Tensor):
        try:
            return record(a._data ** weak_number(b, a), (a,), power_vjps(b), "pow")
        except ValueError:  # an integer base to a negative power; a huge int exponent names itself
            raise operation_error("pow", a, as_tensor(b, a)) from None
    return _binary(np.power, a, b, POW_VJPS, "pow")  # (not **: NumPy < 2.3 kept float32 for
    # float32 ** np.int64(-1) or (2), a shortcut np.power, which this answers for, never took)


def power_vjps(exponent):
    def power_vjp(g, out, a):  # d(a^c)/da = c a^(c-1)
        if exponent == 0:  # exactly 0 everywhere: selected, so an infinite g gives 0, not NaN
            return np.where(True, 0, g)
        return g * exponent * a ** (exponent - 1)
    return (power_vjp,)


def _pow_base_vjp(g, out, a, b):
    # d(a^b)/da = b a^(b-1), taken as 0 at a == b == 0 (where it reads 0 * inf). Masking
    # only there keeps the rule differentiable in b at b == 0 (second order).
    undefined = (raw(b) == 0) & (raw(a) == 0)
    return np.where(undefined, 0, g * b * a ** (b - 1))


def _pow_exponent_vjp(g, out, a, b):
    # d(a^b)/db = a^b log a, taken as 0 where a == 0 and b >= 0 (0^b is flat there)
    flat = (raw(a) == 0) & (raw(b) >= 0)
    return np.where(flat, 0, g * out * np.log(np.where(flat, 1, a)))


POW_VJPS = _binary_vjps(_pow_base_vjp, _pow_exponent_vjp)
register(pow, POW_VJPS, numpy=np.power, methods="__pow__", reflected="__rpow__")


def _tie_share(g, a, b):
    """The cotangent where ``a`` wins, half of it on ties, 0 where ``b`` wins (ties split the
    gradient equally)."""
    a, b = raw(a), raw(b)
    return _select(g, ((a > b) + (a == b) * 0.5).astype(raw(g).dtype, copy=False))


def maximum(a, b):
    """Elementwise maximum with broadcasting; on ties each input gets half the gradient.

    >>> import autograd as ag
    >>> x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> y = maximum(x, 2.0)
    >>> y
    Tensor([2., 2., 3.], dtype=float64, requires_grad=True, op=maximum)
    >>> y.sum().backward()
    >>> x.grad
    array([0. , 0.5, 1. ])
    """
    return _binary(np.maximum, a, b, MAXIMUM_VJPS, "maximum")


MAXIMUM_VJPS = _binary_vjps(lambda g, out, a, b: _tie_share(g, a, b),
                            lambda g, out, a, b: _tie_share(g, b, a))
register(maximum, MAXIMUM_VJPS, numpy=np.maximum, methods="maximum")


def minimum(a, b):
    """Elementwise minimum with broadcasting; on ties each input gets half the gradient.

    >>> minimum(Tensor([1.0, 2.0, 3.0]), Tensor([[2.0], [0.0]]))
    Tensor([[1., 2., 2.],
            [0., 0., 0.]], dtype=float64)
    """
    return _binary(np.minimum, a, b, MINIMUM_VJPS, "minimum")


MINIMUM_VJPS = _binary_vjps(lambda g, out, a, b: _tie_share(g, b, a),
                            lambda g, out, a, b: _tie_share(g, a, b))
register(minimum, MINIMUM_VJPS, numpy=np.minimum, methods="minimum")


_MISSING = object()


def where(condition, a=_MISSING, b=_MISSING):
    """Elementwise ``a`` where ``condition`` is true, else ``b`` (all three broadcast).

    The gradient flows only into the chosen entries. Like PyTorch, a NaN or inf in
    the branch that is not chosen does not reach the gradient of ``where`` itself,
    but it can still poison the gradient of whatever computed that branch
    (``where(x > 0, log(x), 0)`` has a NaN gradient at x < 0 through ``log``).

    With the condition alone, as ``np.where(condition)``: the indices where it is true
    (a tuple of int arrays, constants).

    >>> where(np.array([True, False]), Tensor([1.0, 2.0]), 0.0)
    Tensor([1., 0.], dtype=float64)
    """
    condition = as_tensor(condition, name="where: condition")._data.astype(bool, copy=False)
    if a is _MISSING and b is _MISSING:
        return np.nonzero(condition)
    if a is _MISSING or b is _MISSING:
        raise TypeError("where: pass both a and b (where(condition, a, b)), or neither "
                        "(where(condition): the indices where it is true)")
    try:
        a, b = pair(a, b)
        data = np.where(condition, a._data, b._data)
    except (ValueError, TypeError) as error:
        if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
            raise binary_error("where", a, b, error) from None
        raise ValueError(
            f"where: condition {np.shape(condition)}, a {a.shape} and b {b.shape} cannot be "
            "broadcast together"
        ) from None
    return record(data, (a, b), where_vjps(condition), "where")


def where_vjps(condition):
    return (lambda g, out, a, b: unbroadcast(np.where(condition, g, 0), a.shape),
            lambda g, out, a, b: unbroadcast(np.where(condition, 0, g), b.shape))


register(where, where_vjps, numpy=np.where)


def logaddexp(a, b):
    """log(e^a + e^b), elementwise with broadcasting, without overflow.

    >>> logaddexp(Tensor([0.0, 1000.0]), Tensor([0.0, 1000.0])).data.round(4).tolist()
    [0.6931, 1000.6931]
    """
    return _binary(np.logaddexp, a, b, LOGADDEXP_VJPS, "logaddexp")


LOGADDEXP_VJPS = _binary_vjps(lambda g, out, a, b: g * np.exp(a - out),   # e^a / (e^a + e^b)
                              lambda g, out, a, b: g * np.exp(b - out))
register(logaddexp, LOGADDEXP_VJPS, numpy=np.logaddexp)


def logaddexp2(a, b):
    """log2(2^a + 2^b), elementwise with broadcasting, without overflow.

    >>> logaddexp2(Tensor([0.0, 1.0]), Tensor([0.0, 3.0])).round(4)
    Tensor([1.    , 3.3219], dtype=float64)
    """
    return _binary(np.logaddexp2, a, b, LOGADDEXP2_VJPS, "logaddexp2")


LOGADDEXP2_VJPS = _binary_vjps(lambda g, out, a, b: g * np.exp2(a - out),   # 2^a / (2^a + 2^b)
                               lambda g, out, a, b: g * np.exp2(b - out))
register(logaddexp2, LOGADDEXP2_VJPS, numpy=np.logaddexp2)


def hypot(a, b):
    """sqrt(a^2 + b^2), elementwise with broadcasting, without overflow; the gradient at
    (0, 0) is NaN (the function has a cone point there).

    >>> hypot(Tensor([3.0, 5.0, 3e300]), Tensor([4.0, 12.0, 4e300])).data.tolist()
    [5.0, 13.0, 5e+300]
    """
    return _binary(np.hypot, a, b, HYPOT_VJPS, "hypot")


HYPOT_VJPS = _binary_vjps(lambda g, out, a, b: g * a / out,     # d/da |(a, b)| = a / |(a, b)|
                          lambda g, out, a, b: g * b / out)
register(hypot, HYPOT_VJPS, numpy=np.hypot)


def arctan2(a, b):
    """The angle of the point (b, a) in (-pi, pi]: arctan(a / b) in the right quadrant,
    elementwise with broadcasting (``a`` is y, ``b`` is x, as in NumPy).

    >>> (arctan2(Tensor([1.0, 1.0, -1.0]), Tensor([1.0, -1.0, -1.0])) / np.pi).round(4)
    Tensor([ 0.25,  0.75, -0.75], dtype=float64)
    """
    return _binary(np.arctan2, a, b, ARCTAN2_VJPS, "arctan2")


ARCTAN2_VJPS = _binary_vjps(lambda g, out, a, b: g * b / (a * a + b * b),   # x / (x^2 + y^2)
                            lambda g, out, a, b: -g * a / (a * a + b * b))  # -y / (x^2 + y^2)
register(arctan2, ARCTAN2_VJPS, numpy=np.arctan2)


def _nan_ignoring_share(g, a, b):
    """fmax/fmin's cotangent for ``a``, ``a`` being the winner's side: where ``a`` wins or
    ``b`` is NaN (and ``a`` not), half on ties, 0 elsewhere."""
    a, b = raw(a), raw(b)
    share = (a > b) + (a == b) * 0.5 + (np.isnan(b) & ~np.isnan(a))
    return _select(g, share.astype(raw(g).dtype, copy=False))


def fmax(a, b):
    """Elementwise maximum ignoring NaN (a NaN loses to a number), with broadcasting; the
    gradient goes to the chosen input, half to each on ties.

    >>> fmax(Tensor([1.0, np.nan, np.nan]), Tensor([2.0, 0.0, np.nan]))
    Tensor([ 2.,  0., nan], dtype=float64)
    """
    return _binary(np.fmax, a, b, FMAX_VJPS, "fmax")


FMAX_VJPS = _binary_vjps(lambda g, out, a, b: _nan_ignoring_share(g, a, b),
                         lambda g, out, a, b: _nan_ignoring_share(g, b, a))
register(fmax, FMAX_VJPS, numpy=np.fmax)


def fmin(a, b):
    """Elementwise minimum ignoring NaN, with broadcasting; gradient as ``fmax``.

    >>> fmin(Tensor([1.0, np.nan, np.nan]), Tensor([2.0, 0.0, np.nan]))
    Tensor([ 1.,  0., nan], dtype=float64)
    """
    return _binary(np.fmin, a, b, FMIN_VJPS, "fmin")


FMIN_VJPS = _binary_vjps(lambda g, out, a, b: _nan_ignoring_share(g, -raw(a), -raw(b)),
                         lambda g, out, a, b: _nan_ignoring_share(g, -raw(b), -raw(a)))
register(fmin, FMIN_VJPS, numpy=np.fmin)


def _quotient(out, a, b):
    """The integer q with out = a - q b (constant: out jumps where q changes)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.round((raw(a) - raw(out)) / raw(b))


def remainder(a, b):
    """a mod b with the sign of b (Python's ``%``, ``np.remainder``), with broadcasting.
    As a - q b with q = floor(a / b) constant: gradient 1 for a and -q for b.

    >>> remainder(Tensor([5.0, -5.0]), 3.0)
    Tensor([2., 1.], dtype=float64)
    """
    return _binary(np.remainder, a, b, REMAINDER_VJPS, "remainder")


REMAINDER_VJPS = _binary_vjps(_passes, lambda g, out, a, b: -g * _quotient(out, a, b))
register(remainder, REMAINDER_VJPS, numpy=np.remainder, methods="__mod__", reflected="__rmod__")


def fmod(a, b):
    """a mod b with the sign of a (C's fmod), with broadcasting: a - q b with q = trunc(a / b)
    constant, so gradient 1 for a and -q for b.

    >>> fmod(Tensor([5.0, -5.0]), 3.0)
    Tensor([ 2., -2.], dtype=float64)
    """
    return _binary(np.fmod, a, b, FMOD_VJPS, "fmod")


FMOD_VJPS = _binary_vjps(_passes, lambda g, out, a, b: -g * _quotient(out, a, b))
register(fmod, FMOD_VJPS, numpy=np.fmod)


# ---------------------------------------------------------------------------
# Elementwise, unary. Shape and dtype of the input (integers become float64, as in NumPy).
# ---------------------------------------------------------------------------

def neg(x):
    """-x, elementwise. Any shape; the same shape out.

    >>> neg(Tensor([1.0, -2.0]))
    Tensor([-1.,  2.], dtype=float64)
    """
    return _unary(np.negative, x, NEG_VJPS, "neg")


NEG_VJPS = (lambda g, out, x: -g,)
register(neg, NEG_VJPS, numpy=np.negative, methods="__neg__")


def positive(x):
    """+x: the tensor itself (``+x`` returns ``x``).

    >>> x = Tensor([1.0, -2.0])
    >>> positive(x) is x
    True
    """
    return as_tensor(x)


register(positive, kind="composed", numpy=np.positive, methods="__pos__")


def exp(x):
    """e ** x, elementwise. Any shape; the same shape out. The gradient is e ** x, the
    output.

    >>> exp(Tensor([0.0, 1.0])).data.round(4)
    array([1.    , 2.7183])
    """
    return _unary(np.exp, x, EXP_VJPS, "exp")


EXP_VJPS = (lambda g, out, x: g * out,)          # d/dx e^x = e^x, the output
register(exp, EXP_VJPS, numpy=np.exp, methods="exp")


def log(x):
    """Natural logarithm, elementwise (``-inf`` at 0, NaN below, as NumPy).
    Any shape; the same shape out. The gradient is 1 / x.

    >>> log(Tensor([1.0, np.e, 10.0])).round(4)
    Tensor([0.    , 1.    , 2.3026], dtype=float64)
    """
    return _unary(np.log, x, LOG_VJPS, "log")


LOG_VJPS = (lambda g, out, x: g / x,)            # d/dx log x = 1/x
register(log, LOG_VJPS, numpy=np.log, methods="log")


def sqrt(x):
    """Square root, elementwise; its gradient at 0 is inf, as in PyTorch.
    Any shape; the same shape out.

    >>> import autograd as ag
    >>> with np.errstate(divide="ignore"):
    ...     g = ag.elementwise_grad(sqrt)(Tensor([0.0, 4.0]))
    >>> sqrt(Tensor([0.0, 4.0])), g
    (Tensor([0., 2.], dtype=float64), Tensor([ inf, 0.25], dtype=float64))
    """
    return _unary(np.sqrt, x, SQRT_VJPS, "sqrt")


SQRT_VJPS = (lambda g, out, x: g * 0.5 / out,)   # d/dx sqrt x = 1 / (2 sqrt x)
register(sqrt, SQRT_VJPS, numpy=np.sqrt, methods="sqrt")


def abs(x):
    """Absolute value, elementwise; its gradient at 0 is 0. Any shape; the same shape out.

    >>> import autograd as ag
    >>> abs(Tensor([-2.0, 0.0, 3.0])), ag.elementwise_grad(abs)(Tensor([-2.0, 0.0, 3.0]))
    (Tensor([2., 0., 3.], dtype=float64), Tensor([-1.,  0.,  1.], dtype=float64))
    """
    return _unary(np.abs, x, ABS_VJPS, "abs")


def _abs_vjp(g, out, x):  # d/dx |x| = sign(x), 0 at 0 (a NaN input keeps its NaN)
    return _select(g, np.sign(raw(x)))


ABS_VJPS = (_abs_vjp,)
register(abs, ABS_VJPS, numpy=np.absolute, methods=("abs", "__abs__"))


def tanh(x):
    """Hyperbolic tangent, elementwise. Any shape; the same shape out.
    The gradient is 1 - tanh(x)^2.

    >>> tanh(Tensor([-1.0, 0.0, 2.0])).round(4)
    Tensor([-0.7616,  0.    ,  0.964 ], dtype=float64)
    """
    return _unary(np.tanh, x, TANH_VJPS, "tanh")


TANH_VJPS = (lambda g, out, x: g * (1 - out * out),)      # d/dx tanh x = 1 - tanh^2 x
register(tanh, TANH_VJPS, numpy=np.tanh, methods="tanh")


def _stable_sigmoid(x):
    return np.exp(-np.logaddexp(0, -x))  # 1 / (1 + e^-x) without overflow


def sigmoid(x):
    """Logistic sigmoid 1 / (1 + e^-x), elementwise, finite for any x.
    Any shape; the same shape out. The gradient is sigmoid(x) (1 - sigmoid(x)).

    >>> sigmoid(Tensor([-1000.0, 0.0, 2.0])).round(4)
    Tensor([0.    , 0.5   , 0.8808], dtype=float64)
    """
    return _unary(_stable_sigmoid, x, SIGMOID_VJPS, "sigmoid")


SIGMOID_VJPS = (lambda g, out, x: g * out * (1 - out),)   # s' = s (1 - s)
register(sigmoid, SIGMOID_VJPS, methods="sigmoid")


def _relu_forward(x):
    return np.maximum(x, 0)


def relu(x):
    """max(x, 0), elementwise; its gradient at 0 is 0. Any shape; the same shape out.

    >>> import autograd as ag
    >>> relu(Tensor([-1.0, 0.0, 2.0])), ag.elementwise_grad(relu)(Tensor([-1.0, 0.0, 2.0]))
    (Tensor([0., 0., 2.], dtype=float64), Tensor([0., 0., 1.], dtype=float64))
    """
    return _unary(_relu_forward, x, RELU_VJPS, "relu")


RELU_VJPS = (lambda g, out, x: _select(g, raw(x) > 0),)   # 1 where x > 0, else 0
register(relu, RELU_VJPS, methods="relu")


def clip(x, a_min=None, a_max=None, *, min=None, max=None):
    """Limit values to [a_min, a_max] (constants, broadcasting; None: no bound); gradient 1
    inside (boundaries included), 0 outside. ``min=``/``max=`` are NumPy 2's spellings.

    >>> clip(Tensor([-2.0, 0.5, 3.0]), -1.0, 1.0)
    Tensor([-1. ,  0.5,  1. ], dtype=float64)
    """
    if (min is not None and a_min is not None) or (max is not None and a_max is not None):
        raise TypeError("clip: pass each bound once (a_min or min, a_max or max)")
    x = as_tensor(x)
    low = clip_bound(a_min if min is None else min, "a_min")
    high = clip_bound(a_max if max is None else max, "a_max")
    try:
        data = np.clip(x._data, low, high)
    except (ValueError, TypeError, OverflowError):
        bounds = [b for b in (low, high) if b is not None]
        try:
            np.broadcast_shapes(x.shape, *(np.shape(b) for b in bounds))
        except ValueError:
            raise ValueError(f"clip: bounds of shapes {[np.shape(b) for b in bounds]} cannot be "
                             f"broadcast to x of {describe(x)}") from None
        raise TypeError(f"clip: cannot clip x of {describe(x)} to a_min={low!r:.40} and "
                        f"a_max={high!r:.40}" + ("; a bool tensor needs a bound" if not bounds else ""))
    return record(data, (x,), clip_vjps(low, high), "clip")


def clip_vjps(low, high):
    def clip_vjp(g, out, x):  # array bounds may broadcast x to the output's larger shape
        inside = np.ones_like(raw(out), dtype=bool)
        if low is not None:
            inside &= raw(x) >= low
        if high is not None:
            inside &= raw(x) <= high
        return unbroadcast(_select(g, inside), np.shape(raw(x)))
    return (clip_vjp,)


register(clip, clip_vjps, numpy=np.clip, methods="clip")


def astype(x, dtype):
    """``x`` cast to ``dtype`` (float, int, uint or bool; the gradient is cast back). A tensor
    that requires grad can only be cast to a floating dtype. Any shape; the same shape out.

    >>> astype(Tensor([1.7, -2.2]), np.int64)
    Tensor([ 1, -2], dtype=int64)
    >>> astype(Tensor([1.0, 2.0], requires_grad=True), np.float32)
    Tensor([1., 2.], dtype=float32, requires_grad=True, op=astype)
    """
    x = as_tensor(x)
    dtype = numeric_dtype(dtype, "astype: dtype")
    if not x.requires_grad:
        return constant(x._data.astype(dtype))
    if dtype.kind != "f":
        raise TypeError(f"astype: a tensor that requires grad can only be cast to a floating "
                        f"dtype, got {dtype}")
    return record(x._data.astype(dtype), (x,), astype_vjps(x.dtype), "astype")


def astype_vjps(source):
    return (lambda g, out, x: g.astype(source),)     # cast the cotangent back


register(astype, astype_vjps, methods="astype")


# ---------------------------------------------------------------------------
# Elementwise, unary: trigonometric, hyperbolic, powers, exponentials and logarithms.
# Each answers for its NumPy ufunc (``np.sin(x)`` on a tensor records ``sin``). The
# VJPs are written with the ufuncs themselves, so they differentiate again.
# ---------------------------------------------------------------------------

def sin(x):
    """Sine, elementwise (radians). Any shape; the same shape out. The gradient is cos(x).

    >>> sin(Tensor([0.0, np.pi / 2])).data.round(6)
    array([0., 1.])
    """
    return _unary(np.sin, x, SIN_VJPS, "sin")


SIN_VJPS = (lambda g, out, x: g * np.cos(x),)
register(sin, SIN_VJPS, numpy=np.sin)


def cos(x):
    """Cosine, elementwise (radians). Any shape; the same shape out.
    The gradient is -sin(x).

    >>> cos(Tensor([0.0, np.pi / 3, np.pi])).round(4)
    Tensor([ 1. ,  0.5, -1. ], dtype=float64)
    """
    return _unary(np.cos, x, COS_VJPS, "cos")


COS_VJPS = (lambda g, out, x: -g * np.sin(x),)
register(cos, COS_VJPS, numpy=np.cos)


def tan(x):
    """Tangent, elementwise (radians). Any shape; the same shape out.
    The gradient is 1 + tan(x)^2.

    >>> tan(Tensor([0.0, np.pi / 4])).round(4)
    Tensor([0., 1.], dtype=float64)
    """
    return _unary(np.tan, x, TAN_VJPS, "tan")


TAN_VJPS = (lambda g, out, x: g * (1 + out * out),)        # d/dx tan x = 1 + tan^2 x
register(tan, TAN_VJPS, numpy=np.tan)


def arcsin(x):
    """Inverse sine, elementwise: NaN outside [-1, 1]; infinite gradient at +-1.
    Any shape; the same shape out. The gradient is 1 / sqrt(1 - x^2).

    >>> arcsin(Tensor([0.0, 0.5, 1.0])).round(4)
    Tensor([0.    , 0.5236, 1.5708], dtype=float64)
    """
    return _unary(np.arcsin, x, ARCSIN_VJPS, "arcsin")


ARCSIN_VJPS = (lambda g, out, x: g / np.sqrt(1 - x * x),)  # 1 / sqrt(1 - x^2)
register(arcsin, ARCSIN_VJPS, numpy=np.arcsin)


def arccos(x):
    """Inverse cosine, elementwise: NaN outside [-1, 1]; infinite gradient at +-1.
    Any shape; the same shape out. The gradient is -1 / sqrt(1 - x^2).

    >>> arccos(Tensor([1.0, 0.5, -1.0])).round(4)
    Tensor([0.    , 1.0472, 3.1416], dtype=float64)
    """
    return _unary(np.arccos, x, ARCCOS_VJPS, "arccos")


ARCCOS_VJPS = (lambda g, out, x: -g / np.sqrt(1 - x * x),)  # -1 / sqrt(1 - x^2)
register(arccos, ARCCOS_VJPS, numpy=np.arccos)


def arctan(x):
    """Inverse tangent, elementwise. Any shape; the same shape out.
    The gradient is 1 / (1 + x^2).

    >>> arctan(Tensor([0.0, 1.0, np.inf])).round(4)
    Tensor([0.    , 0.7854, 1.5708], dtype=float64)
    """
    return _unary(np.arctan, x, ARCTAN_VJPS, "arctan")


ARCTAN_VJPS = (lambda g, out, x: g / (1 + x * x),)          # 1 / (1 + x^2)
register(arctan, ARCTAN_VJPS, numpy=np.arctan)


def sinh(x):
    """Hyperbolic sine, elementwise. Any shape; the same shape out. The gradient is cosh(x).

    >>> sinh(Tensor([0.0, 1.0])).round(4)
    Tensor([0.    , 1.1752], dtype=float64)
    """
    return _unary(np.sinh, x, SINH_VJPS, "sinh")


SINH_VJPS = (lambda g, out, x: g * np.cosh(x),)
register(sinh, SINH_VJPS, numpy=np.sinh)


def cosh(x):
    """Hyperbolic cosine, elementwise. Any shape; the same shape out.
    The gradient is sinh(x).

    >>> cosh(Tensor([0.0, 1.0])).round(4)
    Tensor([1.    , 1.5431], dtype=float64)
    """
    return _unary(np.cosh, x, COSH_VJPS, "cosh")


COSH_VJPS = (lambda g, out, x: g * np.sinh(x),)
register(cosh, COSH_VJPS, numpy=np.cosh)


def arcsinh(x):
    """Inverse hyperbolic sine, elementwise. Any shape; the same shape out.
    The gradient is 1 / sqrt(x^2 + 1).

    >>> arcsinh(Tensor([0.0, 1.0])).round(4)
    Tensor([0.    , 0.8814], dtype=float64)
    """
    return _unary(np.arcsinh, x, ARCSINH_VJPS, "arcsinh")


ARCSINH_VJPS = (lambda g, out, x: g / np.sqrt(x * x + 1),)  # 1 / sqrt(x^2 + 1)
register(arcsinh, ARCSINH_VJPS, numpy=np.arcsinh)


def arccosh(x):
    """Inverse hyperbolic cosine, elementwise: NaN below 1; infinite gradient at 1.
    Any shape; the same shape out. The gradient is 1 / sqrt(x^2 - 1).

    >>> arccosh(Tensor([1.0, 2.0])).round(4)
    Tensor([0.   , 1.317], dtype=float64)
    """
    return _unary(np.arccosh, x, ARCCOSH_VJPS, "arccosh")


ARCCOSH_VJPS = (lambda g, out, x: g / np.sqrt(x * x - 1),)  # 1 / sqrt(x^2 - 1)
register(arccosh, ARCCOSH_VJPS, numpy=np.arccosh)


def arctanh(x):
    """Inverse hyperbolic tangent, elementwise: +-inf at +-1, NaN beyond.
    Any shape; the same shape out. The gradient is 1 / (1 - x^2).

    >>> arctanh(Tensor([0.0, 0.5])).round(4)
    Tensor([0.    , 0.5493], dtype=float64)
    """
    return _unary(np.arctanh, x, ARCTANH_VJPS, "arctanh")


ARCTANH_VJPS = (lambda g, out, x: g / (1 - x * x),)         # 1 / (1 - x^2)
register(arctanh, ARCTANH_VJPS, numpy=np.arctanh)


def square(x):
    """x * x, elementwise (integers stay integers, as in NumPy).
    Any shape; the same shape out. The gradient is 2 x.

    >>> square(Tensor([-3.0, 0.5])), square(Tensor([3]))
    (Tensor([9.  , 0.25], dtype=float64), Tensor([9], dtype=int64))
    """
    return _unary(np.square, x, SQUARE_VJPS, "square")


SQUARE_VJPS = (lambda g, out, x: g * 2 * x,)
register(square, SQUARE_VJPS, numpy=np.square)


def reciprocal(x):
    """1 / x, elementwise (NumPy's rule: an integer tensor gives integers).
    Any shape; the same shape out. The gradient is -1 / x^2.

    >>> reciprocal(Tensor([2.0, -0.5]))
    Tensor([ 0.5, -2. ], dtype=float64)
    """
    return _unary(np.reciprocal, x, RECIPROCAL_VJPS, "reciprocal")


RECIPROCAL_VJPS = (lambda g, out, x: -g * out * out,)       # d/dx 1/x = -1/x^2
register(reciprocal, RECIPROCAL_VJPS, numpy=np.reciprocal)


def cbrt(x):
    """Cube root, elementwise (real, negative for negative x); infinite gradient at 0.
    Any shape; the same shape out. The gradient is 1 / (3 cbrt(x)^2).

    >>> cbrt(Tensor([-8.0, 27.0]))
    Tensor([-2.,  3.], dtype=float64)
    """
    return _unary(np.cbrt, x, CBRT_VJPS, "cbrt")


CBRT_VJPS = (lambda g, out, x: g / (3 * out * out),)        # 1 / (3 x^(2/3))
register(cbrt, CBRT_VJPS, numpy=np.cbrt)


def log2(x):
    """Base-2 logarithm, elementwise. Any shape; the same shape out.
    The gradient is 1 / (x log 2).

    >>> log2(Tensor([1.0, 8.0, 0.5]))
    Tensor([ 0.,  3., -1.], dtype=float64)
    """
    return _unary(np.log2, x, LOG2_VJPS, "log2")


LOG2_VJPS = (lambda g, out, x: g / (x * math.log(2)),)
register(log2, LOG2_VJPS, numpy=np.log2)


def log10(x):
    """Base-10 logarithm, elementwise. Any shape; the same shape out.
    The gradient is 1 / (x log 10).

    >>> log10(Tensor([1.0, 1000.0, 0.01]))
    Tensor([ 0.,  3., -2.], dtype=float64)
    """
    return _unary(np.log10, x, LOG10_VJPS, "log10")


LOG10_VJPS = (lambda g, out, x: g / (x * math.log(10)),)
register(log10, LOG10_VJPS, numpy=np.log10)


def log1p(x):
    """log(1 + x), elementwise, accurate for tiny x. Any shape; the same shape out.
    The gradient is 1 / (1 + x).

    >>> log1p(Tensor([0.0, 1e-20])).data.tolist(), float(np.log(1 + 1e-20))
    ([0.0, 1e-20], 0.0)
    """
    return _unary(np.log1p, x, LOG1P_VJPS, "log1p")


LOG1P_VJPS = (lambda g, out, x: g / (1 + x),)
register(log1p, LOG1P_VJPS, numpy=np.log1p)


def exp2(x):
    """2 ** x, elementwise. Any shape; the same shape out. The gradient is 2^x log 2.

    >>> exp2(Tensor([0.0, 3.0, -1.0]))
    Tensor([1. , 8. , 0.5], dtype=float64)
    """
    return _unary(np.exp2, x, EXP2_VJPS, "exp2")


EXP2_VJPS = (lambda g, out, x: g * out * math.log(2),)     # d/dx 2^x = 2^x log 2
register(exp2, EXP2_VJPS, numpy=np.exp2)


def expm1(x):
    """e ** x - 1, elementwise, accurate for tiny x. Any shape; the same shape out.
    The gradient is e^x.

    >>> expm1(Tensor([0.0, 1e-20])).data.tolist(), float(np.exp(1e-20) - 1)
    ([0.0, 1e-20], 0.0)
    """
    return _unary(np.expm1, x, EXPM1_VJPS, "expm1")


EXPM1_VJPS = (lambda g, out, x: g * (out + 1),)             # d/dx (e^x - 1) = e^x
register(expm1, EXPM1_VJPS, numpy=np.expm1)


# sinc'(x) = sum_k (-1)^k 2k pi^2k x^(2k-1) / (2k+1)!: the series for |x| < 1/2 (where
# the closed form cancels), to 12 terms (the 13th is below round-off there).
_SINC_SERIES = tuple((-1) ** k * 2 * k * math.pi ** (2 * k) / math.factorial(2 * k + 1)
                     for k in range(12, 0, -1))


def _sinc_derivative(x, out):
    # d/dx sin(pi x) / (pi x) = (cos(pi x) - sinc x) / x
    near_zero = np.abs(raw(x)) < 0.5
    safe = np.where(near_zero, 1, x)
    x2 = x * x
    series = _SINC_SERIES[0]
    for coefficient in _SINC_SERIES[1:]:
        series = series * x2 + coefficient
    return np.where(near_zero, series * x, (np.cos(math.pi * safe) - out) / safe)


def sinc(x):
    """sin(pi x) / (pi x), elementwise (1 at 0), NumPy's normalised sinc.
    Any shape; the same shape out.

    >>> sinc(Tensor([0.0, 0.5, 1.0])).round(4)
    Tensor([1.    , 0.6366, 0.    ], dtype=float64)
    """
    return _unary(np.sinc, x, SINC_VJPS, "sinc")


SINC_VJPS = (lambda g, out, x: g * _sinc_derivative(x, out),)
register(sinc, SINC_VJPS, numpy=np.sinc)


def deg2rad(x):
    """Degrees to radians, elementwise: x * pi / 180. Any shape; the same shape out.

    >>> deg2rad(Tensor([180.0, 90.0])).round(4)
    Tensor([3.1416, 1.5708], dtype=float64)
    """
    return _unary(np.deg2rad, x, DEG2RAD_VJPS, "deg2rad")


DEG2RAD_VJPS = (lambda g, out, x: g * (math.pi / 180),)
register(deg2rad, DEG2RAD_VJPS, numpy=np.deg2rad)


def radians(x):
    """Degrees to radians (NumPy's other name for ``deg2rad``).

    >>> radians(Tensor([180.0, 90.0])).round(4)
    Tensor([3.1416, 1.5708], dtype=float64)
    """
    return _unary(np.radians, x, DEG2RAD_VJPS, "radians")


register(radians, DEG2RAD_VJPS, numpy=np.radians)


def rad2deg(x):
    """Radians to degrees, elementwise: x * 180 / pi. Any shape; the same shape out.

    >>> rad2deg(Tensor([np.pi, np.pi / 2]))
    Tensor([180.,  90.], dtype=float64)
    """
    return _unary(np.rad2deg, x, RAD2DEG_VJPS, "rad2deg")


RAD2DEG_VJPS = (lambda g, out, x: g * (180 / math.pi),)
register(rad2deg, RAD2DEG_VJPS, numpy=np.rad2deg)


def degrees(x):
    """Radians to degrees (NumPy's other name for ``rad2deg``).

    >>> degrees(Tensor([np.pi, np.pi / 2]))
    Tensor([180.,  90.], dtype=float64)
    """
    return _unary(np.degrees, x, RAD2DEG_VJPS, "degrees")


register(degrees, RAD2DEG_VJPS, numpy=np.degrees)


# erf and erfc in float64 to round-off, without SciPy, from two polynomial tables made
# by tools/erf_coefficients.py (mpmath at 50 digits: Chebyshev interpolation, truncated
# where the tail is below 1e-17 relative, re-expanded in powers for Horner's rule; rerun
# it to regenerate them). Every element takes one of two fixed paths, no iteration:
# - the series x P(x^2) = erf x for |x| < 1.5, P of degree 14 fitted to erf(x)/x; it also
#   gives erfc = 1 - erf on -1.5 < x < 0.5 (erfc > 0.47 there: no cancellation).
# - erfc(a), a = |x|, any a >= 0: erfc a = erfcx(a) e^(-a^2) with the scaled
#   erfcx(a) = e^(a^2) erfc(a) = Q(u) / (a + 4), Q of degree 22 fitted to (a + 4) erfcx(a)
#   in u = (9/7 a - 4) / (a + 4), which maps [0, 28] onto [-1, 1] (the bounded map lets
#   one smooth polynomial serve the whole range; with the factor a + 4 the sum of the
#   terms' sizes stays within 6x the value, so Horner's rule loses no digits). a is
#   clamped to 28: erfc underflows to 0 before 27.3, and the clamp makes inf ordinary.
#   Then erfc(-a) = 2 - erfc(a), and erf = sign(x) (1 - erfc(a)) for 1.5 <= |x| < 6
#   (erfc <= 0.034 there: no cancellation).
# Past |x| = 6, erf is +-1 and erfc(x <= -6) is 2 to round-off. The elements are taken
# in blocks of _ERF_BLOCK; those needing erfc(a) are gathered from all blocks and done
# together. Measured against mpmath: <= 7e-16 relative for erfc (normal results;
# subnormal ones keep fewer digits), <= 3.6e-16 for erf; float32 goes through float64.
_ERF_SMALL = (1.5907780330074118e-13, -4.912993076014366e-12, 8.687894087309977e-11,
              -1.2083887531700816e-09, 1.4765894302474111e-08, -1.635988393528526e-07,
              1.6461490252933524e-06, -1.4925603250401504e-05, 0.00012055330462525657,
              -0.0008548326930890609, 0.005223977623219386, -0.026866170644809437,
              0.11283791670952684, -0.3761263890318368, 1.1283791670955126)
_ERFCX = (4.6999445341307673e-11, -1.9002597582002033e-10, -7.039837521628276e-10,
          2.8955540765839326e-09, 6.677999435537763e-09, -3.2717079616219754e-08,
          -4.789154970520042e-08, 3.72983748323455e-07, 9.661337905887664e-08,
          -4.210126497175711e-06, 6.459519842484975e-06, 3.603022150662438e-05,
          -0.00018162519265478957, 0.00013163401044959783, 0.002079364825887881,
          -0.012770193110838466, 0.04584426717010929, -0.12341773040273392,
          0.26930246944609687, -0.493523623858271, 0.7738494586491711,
          -1.048263418278384, 1.2312883822661311)
_ERFCX_MAP = (1.2857142857142858, 4.0, 4.0)  # u = (alpha a - beta) / (a + k)
_ERFCX_TOP = 28.0
_ERF_SMALL_TOP = 1.5   # _ERF_SMALL serves |x| < 1.5
# Blocks of this many elements: the few scratch arrays stay small and are reused block
# after block, so a call allocates (and page-faults) little beyond its result.
_ERF_BLOCK = 16384


def _horner_into(table, v, total):
    """total = sum table[i] v^(n - i) (highest power first), in place; returns total."""
    np.multiply(v, table[0], out=total)
    total += table[1]
    for c in table[2:]:
        total *= v
        total += c
    return total


def _exp_minus_square_into(a, out, head):
    # out = e^(-a^2) without the error of rounding a^2 (it grows like a^2 eps): a = h + l
    # with h a multiple of 1/16, so h^2 is exact and a^2 = h^2 + (a - h)(a + h).
    # Overwrites a and head.
    np.multiply(a, 16, out=head)
    np.rint(head, out=head)
    head *= 0.0625
    np.subtract(head, a, out=out)
    a += head
    out *= a
    np.exp(out, out=out)
    head *= head
    np.negative(head, out=head)
    np.exp(head, out=head)
    out *= head
    return out


def _erfc_of_magnitude_into(a, out, w, u):
    """out = erfc(a) for a float64 array a >= 0 (NaN stays NaN); a, w, u are scratch."""
    np.minimum(a, _ERFCX_TOP, out=a)
    alpha, beta, k = _ERFCX_MAP
    np.add(a, k, out=w)
    np.reciprocal(w, out=w)
    np.multiply(a, alpha, out=u)
    u -= beta
    u *= w
    _horner_into(_ERFCX, u, out)
    out *= w                                   # erfcx(a)
    out *= _exp_minus_square_into(a, u, w)
    return out


def _erf_block(which, x, out, scratch):
    """One block of a 1-d float64 x (out may be of another float dtype). Writes erf
    (which = 0) or erfc (which = 1) where the series serves -- erf: |x| < 1.5; erfc:
    -1.5 < x < 0.5, as 1 - erf x (erfc > 0.47 there: no cancellation) -- and where the
    value is flat (erf: +-1 for |x| >= 6; erfc: 2 for x <= -6). Returns the positions of
    the rest (and of NaN), which go through erfc in _erf_rest."""
    a, _, u, e, b, _, near, far = (v[:x.size] for v in scratch)
    if which:
        np.greater(x, -_ERF_SMALL_TOP, out=near)
        np.logical_and(near, np.less(x, 0.5, out=far), out=near)
        np.less_equal(x, -6, out=far)
    else:
        np.abs(x, out=a)
        np.less(a, _ERF_SMALL_TOP, out=near)
        np.greater_equal(a, 6, out=far)
    inside = np.flatnonzero(near)
    s = x if inside.size == x.size else np.take(x, inside, out=b[:inside.size])
    if inside.size:   # erf is odd: x P(x^2) keeps the sign, and -0.0
        n = inside.size
        np.multiply(s, s, out=u[:n])
        p = _horner_into(_ERF_SMALL, u[:n], e[:n])
        p *= s
        if which:
            np.subtract(1, p, out=p)
        if n == x.size:
            out[...] = p
            return inside[:0]
    if far.any():
        if which:
            out[...] = 2
        else:
            np.copysign(1, x, out=out)   # erf is +-1 to round-off from |x| = 5.93 on
        np.logical_or(near, far, out=near)
    if inside.size:
        out[inside] = p
    return np.flatnonzero(np.logical_not(near, out=near))


def _erf_rest(which, flat, out, positions, scratch):
    """out[positions] = erf or erfc of flat[positions] from erfc(|x|), gathered from all
    the blocks so that this longest evaluation runs on full blocks."""
    for start in range(0, positions.size, _ERF_BLOCK):
        where = positions[start:start + _ERF_BLOCK]
        x = np.asarray(flat.take(where), dtype=np.float64)
        a, w, u, e = (v[:x.size] for v in scratch[:4])
        q = _erfc_of_magnitude_into(np.abs(x, out=a), e, w, u)
        if which:   # erfc(-a) = 2 - erfc(a), as q + (2 - 2q) where x < 0 (q elsewhere)
            np.multiply(q, -2, out=w)
            w += 2
            w *= np.signbit(x, out=scratch[6][:x.size])
            q += w
        else:       # erf = sign(x) (1 - erfc|x|), for 1.5 <= |x| < 6: no cancellation
            np.subtract(1, q, out=q)
            np.copysign(q, x, out=q)
        out[where] = q


def _erf_forward(which, data):
    dtype = data.dtype if data.dtype.kind == "f" else np.dtype(np.float64)
    flat = np.asarray(data).reshape(-1)   # read only, never written
    out = np.empty(flat.shape, dtype)
    size = builtins.min(flat.size, _ERF_BLOCK)
    scratch = [np.empty(size) for _ in range(6)] + [np.empty(size, bool) for _ in range(2)]
    rest = []
    for start in range(0, flat.size, _ERF_BLOCK):
        x = flat[start:start + _ERF_BLOCK]
        if x.dtype != np.float64:   # float32 and the rest are computed in float64
            converted = scratch[5][:x.size]
            converted[...] = x
            x = converted
        rest.append(_erf_block(which, x, out[start:start + _ERF_BLOCK], scratch) + start)
    if rest:
        _erf_rest(which, flat, out, np.concatenate(rest), scratch)
    return out.reshape(np.shape(data))


def erf(x):
    """The error function 2/sqrt(pi) int_0^x e^(-t^2) dt, elementwise, to float64
    round-off (float32 in, float32 out; integers give float64).

    >>> erf(Tensor([0.0, 1.0])).data.round(6)
    array([0.      , 0.842701])
    """
    return _unary(functools.partial(_erf_forward, 0), x, ERF_VJPS, "erf")


_TWO_OVER_ROOT_PI = 2 / math.sqrt(math.pi)
ERF_VJPS = (lambda g, out, x: g * _TWO_OVER_ROOT_PI * np.exp(-x * x),)  # erf' = 2/sqrt(pi) e^(-x^2)
register(erf, ERF_VJPS)


def erfc(x):
    """The complementary error function 1 - erf(x), elementwise, with small relative error
    far in the tail (erfc(5) ~ 1.5e-12, erfc(26) ~ 5.7e-296).

    >>> float(erfc(Tensor(5.0)).data)  # doctest: +ELLIPSIS
    1.5374597944280...e-12
    """
    return _unary(functools.partial(_erf_forward, 1), x, ERFC_VJPS, "erfc")


ERFC_VJPS = (lambda g, out, x: -g * _TWO_OVER_ROOT_PI * np.exp(-x * x),)
register(erfc, ERFC_VJPS)


# ---------------------------------------------------------------------------
# Reductions. ``axis``: None (all axes), an int or a tuple; ``keepdims`` as in NumPy.
# ---------------------------------------------------------------------------

def _spread(g, kept, shape):
    """Broadcast a reduction's cotangent back over the input ``shape``.

    ``kept`` is the output shape with the reduced axes kept as 1; None when ``g`` already
    broadcasts as it is (``keepdims=True``, or a full reduction to 0-d).
    """
    if kept is not None:
        g = g.reshape(kept)
    if isinstance(g, Tensor):
        return broadcast_to(g, shape)
    # A new array filled by broadcasting: faster than np.broadcast_to for small arrays.
    # (np.empty for NumPy's own arrays: empty_like's dispatch costs ~1 us a call.)
    spread = (np.empty(shape, g.dtype) if isinstance(g, (np.ndarray, np.generic))
              else np.empty_like(g, shape=shape))
    spread[...] = g
    return spread


def sum(x, axis=None, keepdims=False, dtype=None):
    """Sum over ``axis``, NumPy style; ``dtype`` casts first.

    >>> sum(Tensor([[1.0, 2.0], [3.0, 4.0]]), axis=0)
    Tensor([4., 6.], dtype=float64)
    """
    x = as_tensor(x)
    if dtype is not None:
        x = astype(x, dtype)
    axis = scalar_axis(x, axis)
    if axis is not None:
        reduced_axes(x.ndim, axis, "sum")
    return record(x._data.sum(axis=axis, keepdims=keepdims), (x,), sum_vjps(axis, keepdims),
                  "sum")


def sum_vjps(axis, keepdims):
    def sum_vjp(g, out, x):  # every input entry receives the cotangent of its sum
        kept = None if keepdims or axis is None else kept_shape(x.shape, axis)
        return _spread(g, kept, x.shape)
    return (sum_vjp,)


register(sum, sum_vjps, numpy=np.sum, methods="sum")


def mean(x, axis=None, keepdims=False, dtype=None):
    """Mean over ``axis``, composed as sum / count. float16 is summed and divided in
    float32 (as NumPy does: a float16 count overflows past 65,504); ``dtype`` casts first.

    >>> mean(Tensor([1.0, 2.0, 6.0]))
    Tensor(3., dtype=float64)
    """
    x = as_tensor(x)
    count = 1
    for i in reduced_axes(x.ndim, axis, "mean"):
        count *= x.shape[i]
    if dtype is not None:
        return mean(astype(x, dtype), axis, keepdims)
    if x.dtype == np.float16:
        return astype(mean(astype(x, np.float32), axis, keepdims), np.float16)
    return div(sum(x, axis=axis, keepdims=keepdims), count)


register(mean, kind="composed", numpy=np.mean, methods="mean")


def _extremum(reduce, x, axis, keepdims, op):
    x = as_tensor(x)
    axis = scalar_axis(x, axis)
    kept = kept_shape(x.shape, axis, op)
    try:
        data = reduce(x._data, axis=axis, keepdims=keepdims)
    except ValueError:  # reducing an empty axis to a result that is not empty
        raise ValueError(f"{op}: cannot reduce an empty tensor ({describe(x)}) along axis "
                         f"{axis}: the maximum or minimum of nothing is undefined") from None
    return record(data, (x,), extremum_vjps(axis, kept), op)


def extremum_vjps(axis, kept):
    def extremum_vjp(g, out, x):  # the winners share the cotangent equally
        winners = raw(x) == np.reshape(raw(out), kept)
        share = (winners / winners.sum(axis=axis, keepdims=True)).astype(raw(x).dtype)
        return _select(_spread(g, kept, x.shape), share)  # losers: exactly 0
    return (extremum_vjp,)


def max(x, axis=None, keepdims=False):
    """Maximum over ``axis``; tied maxima share the gradient equally.
    Shape ``x.shape`` without the axes in ``axis`` (kept with length 1 if ``keepdims``).

    >>> import autograd as ag
    >>> x = Tensor([[1.0, 3.0, 3.0], [4.0, 0.0, 2.0]])
    >>> max(x, axis=1), max(x)
    (Tensor([3., 4.], dtype=float64), Tensor(4., dtype=float64))
    >>> ag.grad(lambda t: max(t, axis=1).sum())(x)
    Tensor([[0. , 0.5, 0.5],
            [1. , 0. , 0. ]], dtype=float64)
    """
    return _extremum(np.max, x, axis, keepdims, "max")


register(max, extremum_vjps, numpy=(np.max, np.amax), methods="max")


def min(x, axis=None, keepdims=False):
    """Minimum over ``axis``; tied minima share the gradient equally.
    Shape ``x.shape`` without the axes in ``axis`` (kept with length 1 if ``keepdims``).

    >>> x = Tensor([[1.0, 3.0, 3.0], [4.0, 0.0, 2.0]])
    >>> min(x, axis=0), min(x, axis=1, keepdims=True).shape
    (Tensor([1., 0., 2.], dtype=float64), (2, 1))
    """
    return _extremum(np.min, x, axis, keepdims, "min")


register(min, extremum_vjps, numpy=(np.min, np.amin), methods="min")


def amax(x, axis=None, keepdims=False):
    """``max`` under NumPy's other name (``np.amax`` reaches ``max`` itself).

    >>> amax(Tensor([[1.0, 5.0], [4.0, 2.0]]), axis=0)
    Tensor([4., 5.], dtype=float64)
    """
    return max(x, axis=axis, keepdims=keepdims)


register(amax, kind="composed")


def amin(x, axis=None, keepdims=False):
    """``min`` under NumPy's other name (``np.amin`` reaches ``min`` itself).

    >>> amin(Tensor([[1.0, 5.0], [4.0, 2.0]]), axis=0)
    Tensor([1., 2.], dtype=float64)
    """
    return min(x, axis=axis, keepdims=keepdims)


register(amin, kind="composed")


def _no_out(out, op):
    if out is not None:
        raise TypeError(f"{op}: out= cannot be a destination on tensors (backward may need the "
                        "values it would overwrite); use the result instead")


def prod(x, axis=None, dtype=None, out=None, keepdims=False):
    """Product over ``axis``, NumPy style (``dtype`` casts first). Its gradient is the
    product of the other entries, computed without dividing where ``x`` holds a zero.

    >>> prod(Tensor([[1.0, 2.0], [3.0, 4.0]]), axis=1)
    Tensor([ 2., 12.], dtype=float64)
    """
    _no_out(out, "prod")
    x = as_tensor(x)
    if dtype is not None:
        x = astype(x, dtype)
    axis = scalar_axis(x, axis)
    if axis is not None:
        reduced_axes(x.ndim, axis, "prod")
    return record(x._data.prod(axis=axis, keepdims=keepdims), (x,), prod_vjps(axis, keepdims),
                  "prod")


def prod_vjps(axis, keepdims):
    def prod_vjp(g, out, x):  # d/dx_i prod_k x_k = prod_{k != i} x_k
        # out / x_i where that is exact: first order, every product a normal number (no
        # zero, no underflow or overflow). Otherwise the products of the others, built
        # without a division (differentiated again, out / x_i would give two terms of
        # size 1/x_i that cancel).
        kept = kept_shape(x.shape, axis)
        g = _spread(g, None if keepdims or axis is None else kept, x.shape)
        if not isinstance(g, Tensor) and _all_normal(out):
            return g * (out.reshape(kept) / x)
        return g * _product_of_others(x, reduced_axes(x.ndim, axis, "prod"))
    return (prod_vjp,)


def _all_normal(values):
    """Whether every entry of a float array is a normal number (nonzero, finite, not
    subnormal): then a product divided by one of its factors is that of the others."""
    magnitude = np.abs(raw(values))
    limits = np.finfo(magnitude.dtype)
    return bool(magnitude.size == 0 or (magnitude.min() >= limits.tiny and magnitude.max() <= limits.max))


def _product_of_others(x, axes):
    """For each entry, the product of the other entries of its slice along ``axes``: the
    product of those before it times the product of those after it (exclusive cumulative
    products), exact with zeros and differentiable again."""
    rest = [i for i in range(x.ndim) if i not in axes]
    order = (*rest, *axes)
    moved = x.transpose(order)
    lined = moved.reshape(moved.shape[:len(rest)] + (-1,))
    one = np.ones_like(raw(lined)[..., :1])
    before = np.cumprod(np.concatenate([one, lined[..., :-1]], axis=-1), axis=-1)
    after = np.cumprod(np.concatenate([one, lined[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    return (before * after).reshape(moved.shape).transpose(tuple(int(i) for i in np.argsort(order)))


register(prod, prod_vjps, numpy=np.prod, methods="prod")


def _scan_axis(x, axis, op):
    """The one axis a scan or sort runs along, as a non-negative int."""
    if isinstance(axis, tuple):
        raise TypeError(f"{op}: axis must be an int or None, got the tuple {axis}")
    return reduced_axes(x.ndim, axis, op)[0]


def _reversed(axis):
    """The index that reverses ``axis``."""
    return (slice(None),) * axis + (slice(None, None, -1),)


def cumsum(x, axis=None, dtype=None, out=None):
    """Running sums along ``axis`` (None: of the flattened tensor), NumPy style.

    >>> cumsum(Tensor([1.0, 2.0, 3.0]))
    Tensor([1., 3., 6.], dtype=float64)
    """
    _no_out(out, "cumsum")
    x = as_tensor(x)
    if dtype is not None:
        x = astype(x, dtype)
    if axis is None or scalar_axis(x, axis) is None:
        return cumsum(reshape(x, -1), 0) if x.ndim != 1 else cumsum(x, 0)
    axis = _scan_axis(x, axis, "cumsum")
    return record(np.cumsum(x._data, axis=axis), (x,), cumsum_vjps(axis), "cumsum")


def cumsum_vjps(axis):
    backwards = _reversed(axis)
    # entry i is in every running sum j >= i: the cotangent's running sums from the end
    return (lambda g, out, x: np.cumsum(g[backwards], axis=axis)[backwards],)


register(cumsum, cumsum_vjps, numpy=np.cumsum, methods="cumsum")


def cumprod(x, axis=None, dtype=None, out=None):
    """Running products along ``axis`` (None: of the flattened tensor), NumPy style; the
    gradient is exact where ``x`` holds zeros.

    >>> cumprod(Tensor([1.0, 2.0, 3.0]))
    Tensor([1., 2., 6.], dtype=float64)
    """
    _no_out(out, "cumprod")
    x = as_tensor(x)
    if dtype is not None:
        x = astype(x, dtype)
    if axis is None or scalar_axis(x, axis) is None:
        return cumprod(reshape(x, -1), 0) if x.ndim != 1 else cumprod(x, 0)
    axis = _scan_axis(x, axis, "cumprod")
    return record(np.cumprod(x._data, axis=axis), (x,), cumprod_vjps(axis), "cumprod")


def cumprod_vjps(axis):
    backwards = _reversed(axis)

    def later_sums(v):  # sum over j >= i, for every i
        return np.cumsum(v[backwards], axis=axis)[backwards]

    def cumprod_vjp(g, out, x):
        # d out_j / d x_i = prod_{k <= j, k != i} x_k for j >= i, which is out_j / x_i where
        # that is exact: first order, every running product a normal number (no zero, no
        # underflow or overflow). Otherwise it is built from products only
        # (_division_free_cumprod_vjp): differentiated again, the division rule gives two
        # terms of size 1/x_i that cancel (1e-10 of the answer lost at x_i = 1e-6).
        if isinstance(g, Tensor) or not _all_normal(out):
            return _division_free_cumprod_vjp(g, x, axis)
        return later_sums(g * out) / x
    return (cumprod_vjp,)


def _division_free_cumprod_vjp(g, x, axis):
    """cumprod's VJP without a division: exact with zeros, underflow and overflow of the
    running products, differentiable again (NumPy calls: arrays or tensors alike).

    grad_i = (prod_{k < i} x_k) * r_i with r_i = sum_{j >= i} g_j prod_{i < k <= j} x_k,
    the reverse recurrence r_i = g_i + x_{i+1} r_{i+1}, solved in ceil(log2 n) doubling
    steps: after the step with span s, r_i sums the terms j < i + 2s and a_i is
    prod_{i < k <= i + 2s} x_k (0 past the end).
    """
    n = x.shape[axis]

    def shifted(v, s):  # v_{i+s} along axis, zeros past the end
        tail = np.zeros_like(raw(v)[(slice(None),) * axis + (slice(0, s),)])
        return np.concatenate([v[(slice(None),) * axis + (slice(s, None),)], tail], axis=axis)

    r, a, s = g, shifted(x, 1), 1
    while s < n:
        r = r + a * shifted(r, s)
        if 2 * s < n:
            a = a * shifted(a, s)
        s *= 2
    head = np.ones_like(raw(x)[(slice(None),) * axis + (slice(0, 1),)])
    before = np.cumprod(np.concatenate([head, x[(slice(None),) * axis + (slice(0, n - 1),)]],
                                       axis=axis), axis=axis)
    return before * r


register(cumprod, cumprod_vjps, numpy=np.cumprod, methods="cumprod")


def var(x, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, correction=None):
    """Variance over ``axis``: sum((x - mean x)^2) / (n - ddof), composed; integers give
    float64 (``correction`` is the array API's name for ``ddof``).

    >>> var(Tensor([1.0, 2.0, 3.0, 4.0]), ddof=1).data.round(4)
    np.float64(1.6667)
    """
    _no_out(out, "var")
    if correction is not None:
        if ddof != 0:
            raise ValueError("var: pass ddof or correction, not both")
        ddof = correction
    x = as_tensor(x)
    if dtype is not None or x.dtype.kind in "biu":
        x = astype(x, np.float64 if dtype is None else dtype)
    count = 1
    for i in reduced_axes(x.ndim, axis, "var"):
        count *= x.shape[i]
    centred = x - mean(x, axis=axis, keepdims=True)
    degrees_of_freedom = count - ddof if count > ddof else 0   # NumPy's: 0 gives inf or NaN
    return sum(centred * centred, axis=axis, keepdims=keepdims) / degrees_of_freedom


register(var, kind="composed", numpy=np.var, methods="var")


def std(x, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, correction=None):
    """Standard deviation over ``axis``: sqrt(var), composed (infinite gradient where all
    entries of a slice are equal, as sqrt at 0).

    >>> std(Tensor([1.0, 3.0]))
    Tensor(1., dtype=float64)
    """
    return sqrt(var(x, axis, dtype, out, ddof, keepdims, correction=correction))


register(std, kind="composed", numpy=np.std, methods="std")


def ptp(x, axis=None, out=None, keepdims=False):
    """Peak to peak, max - min over ``axis`` (composed; ties share as in max and min).
    Shape as ``max``'s.

    >>> ptp(Tensor([[1.0, 5.0], [4.0, 2.0]]), axis=1)
    Tensor([4., 2.], dtype=float64)
    """
    _no_out(out, "ptp")
    return sub(max(x, axis=axis, keepdims=keepdims), min(x, axis=axis, keepdims=keepdims))


register(ptp, kind="composed", numpy=np.ptp)


def average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    """Weighted mean over ``axis``: sum(a w) / sum(w), differentiable in ``a`` and in the
    ``weights`` (same shape as ``a``, or shaped as ``a``'s averaged axes). ``returned=True``
    also gives the sum of the weights, broadcast to the result's shape.

    >>> average(Tensor([1.0, 2.0, 4.0]), weights=[1.0, 1.0, 2.0])
    Tensor(2.75, dtype=float64)
    """
    a = as_tensor(a, name="average: a")
    if weights is None:
        result = mean(a, axis=axis, keepdims=keepdims)
        total = constant(np.full_like(result._data, a.size / builtins.max(result.size, 1)))
        return (result, total) if returned else result
    w = as_tensor(weights, name="average: weights")
    if a.shape != w.shape:
        if axis is None:
            raise TypeError(f"average: a ({describe(a)}) and weights ({describe(w)}) differ in "
                            "shape, so axis must say which axes the weights run along")
        axes = reduced_axes(a.ndim, axis, "average")
        along = tuple(a.shape[i] for i in axes)
        if w.shape != along:
            raise ValueError(f"average: weights of shape {w.shape} do not fit a of shape "
                             f"{a.shape} along axis {axis} (expected {along})")
        w = transpose(w, tuple(int(i) for i in np.argsort(axes))) if len(axes) > 1 else w
        w = reshape(w, tuple(n if i in axes else 1 for i, n in enumerate(a.shape)))
    floating = np.result_type(a.dtype, w.dtype, *(("f8",) if a.dtype.kind in "biu" else ()))
    a, w = (t if t.dtype == floating else astype(t, floating) for t in (a, w))
    total = sum(w, axis=axis, keepdims=keepdims)
    if (raw(total) == 0).any():
        raise ZeroDivisionError("average: the weights sum to zero along an averaged slice")
    result = sum(a * w, axis=axis, keepdims=keepdims) / total
    if not returned:
        return result
    return result, (total if total.shape == result.shape else broadcast_to(total, result.shape))


register(average, kind="composed", numpy=np.average)


def nansum(x, axis=None, dtype=None, out=None, keepdims=False):
    """Sum over ``axis`` with NaNs counted as 0 (they get a zero gradient).
    Shape as ``sum``'s.

    >>> nansum(Tensor([[1.0, np.nan], [2.0, 3.0]]), axis=1)
    Tensor([1., 5.], dtype=float64)
    """
    _no_out(out, "nansum")
    x = as_tensor(x)
    if x.dtype.kind == "f":
        x = where(np.isnan(x._data), 0, x)
    return sum(x, axis=axis, keepdims=keepdims, dtype=dtype)


register(nansum, kind="composed", numpy=np.nansum)


def nanmean(x, axis=None, dtype=None, out=None, keepdims=False):
    """Mean over ``axis`` of the entries that are not NaN (NaN for an all-NaN slice).
    Shape as ``mean``'s.

    >>> nanmean(Tensor([[1.0, np.nan], [2.0, 3.0]]), axis=1)
    Tensor([1. , 2.5], dtype=float64)
    """
    _no_out(out, "nanmean")
    x = as_tensor(x)
    if x.dtype.kind != "f":
        return mean(x, axis=axis, keepdims=keepdims, dtype=dtype)
    if dtype is not None:
        x = astype(x, dtype)
    missing = np.isnan(x._data)
    count = np.sum(~missing, axis=axis, keepdims=keepdims).astype(x.dtype)
    return sum(where(missing, 0, x), axis=axis, keepdims=keepdims) / count


register(nanmean, kind="composed", numpy=np.nanmean)


# ---------------------------------------------------------------------------
# Sorting and selecting along an axis: the gradient follows the entries where they went.
# ---------------------------------------------------------------------------

def sort(x, axis=-1, kind=None, order=None, *, stable=None):
    """Sorted copy along ``axis`` (None: of the flattened tensor). The gradient goes back
    through the permutation; equal entries keep their order (a stable sort), and ``kind``
    and ``stable`` are accepted and ignored: every kind gives the same values.

    >>> sort(Tensor([3.0, 1.0, 2.0]))
    Tensor([1., 2., 3.], dtype=float64)
    """
    if order is not None:
        raise TypeError("sort: order= (fields of structured arrays) is not supported on tensors")
    x = as_tensor(x)
    if axis is None:
        return sort(reshape(x, -1), 0)
    axis = _scan_axis(x, axis, "sort")
    permutation = np.argsort(x._data, axis=axis, kind="stable")
    return record(np.take_along_axis(x._data, permutation, axis=axis), (x,),
                  sort_vjps(permutation, axis), "sort")


def sort_vjps(permutation, axis):
    # out = x[permutation] along axis, so x's cotangent is g[inverse permutation]
    return (lambda g, out, x: np.take_along_axis(g, np.argsort(permutation, axis=axis), axis=axis),)


register(sort, sort_vjps, numpy=np.sort)


def partition(x, kth, axis=-1, kind="introselect", order=None):
    """NumPy's partition along ``axis`` (None: flattened): the entry at ``kth`` is where a
    sort would put it, smaller ones before, larger after. The values are NumPy's; the
    gradient follows each entry to its place. Same shape as ``x``.

    >>> p = partition(Tensor([5.0, 1.0, 4.0, 2.0, 3.0]), 2)
    >>> float(p.data[2]), bool((p.data[:2] < 3).all()), bool((p.data[3:] > 3).all())
    (3.0, True, True)
    """
    if order is not None:
        raise TypeError("partition: order= (fields of structured arrays) is not supported on "
                        "tensors")
    x = as_tensor(x)
    if axis is None:
        return partition(reshape(x, -1), kth, 0)
    axis = _scan_axis(x, axis, "partition")
    data = np.partition(x._data, kth, axis=axis, kind=kind)
    # the input entry behind each output entry: the one of the same rank (stable ranks
    # match equal entries one to one)
    ranks = np.argsort(np.argsort(data, axis=axis, kind="stable"), axis=axis)
    source = np.take_along_axis(np.argsort(x._data, axis=axis, kind="stable"), ranks, axis=axis)
    return record(data, (x,), sort_vjps(source, axis), "partition")


register(partition, sort_vjps, numpy=np.partition)


def _integer_indices(indices, op):
    indices = np.asarray(raw(indices))
    if indices.dtype.kind not in "iu":
        raise IndexError(f"{op}: indices must be integers, got {indices.dtype} "
                         f"(shape {indices.shape})")
    return indices


def take(x, indices, axis=None, out=None, mode="raise"):
    """Entries at ``indices`` along ``axis`` (None: of the flattened tensor), as
    ``np.take``; composed as indexing, so repeated indices add up their gradients.
    ``mode``: "raise" (out of range is an IndexError), "wrap" or "clip".

    >>> take(Tensor([10.0, 20.0, 30.0]), [2, 0, 2])
    Tensor([30., 10., 30.], dtype=float64)
    """
    _no_out(out, "take")
    x = as_tensor(x)
    indices = _integer_indices(indices, "take")
    if axis is None:
        x, axis = reshape(x, -1), 0
    else:
        axis = _scan_axis(x, axis, "take")
    length = x.shape[axis]
    if mode == "wrap":
        indices = indices % length
    elif mode == "clip":
        indices = np.clip(indices, 0, length - 1)
    elif mode != "raise":
        raise ValueError(f"take: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")
    return getitem(x, (slice(None),) * axis + (indices,))


register(take, kind="composed", numpy=np.take, methods="take")


def take_along_axis(x, indices, axis=-1):
    """``np.take_along_axis``: along ``axis``, the entries at ``indices`` (same number of
    dimensions as ``x``; the other axes broadcast), composed as indexing.

    >>> take_along_axis(Tensor([[1.0, 2.0], [3.0, 4.0]]), np.array([[1], [0]]), axis=1)
    Tensor([[2.],
            [3.]], dtype=float64)
    """
    x = as_tensor(x)
    indices = _integer_indices(indices, "take_along_axis")
    if axis is None:
        if indices.ndim != 1:
            raise ValueError(f"take_along_axis: with axis=None the indices must be 1-D, got "
                             f"shape {indices.shape}")
        x, axis = reshape(x, -1), 0
    if indices.ndim != x.ndim:
        raise ValueError(f"take_along_axis: indices (shape {indices.shape}) must have as many "
                         f"dimensions as x ({describe(x)})")
    axis = _scan_axis(x, axis, "take_along_axis")
    # NumPy's fancy index: arange along every other axis, shaped to broadcast with indices
    index = tuple(indices if i == axis else
                  np.arange(n).reshape((1,) * i + (n,) + (1,) * (x.ndim - i - 1))
                  for i, n in enumerate(x.shape))
    return getitem(x, index)


register(take_along_axis, kind="composed", numpy=np.take_along_axis)


# ---------------------------------------------------------------------------
# Differences along an axis (composed of slices and subtraction).
# ---------------------------------------------------------------------------

def diff(x, n=1, axis=-1, prepend=_MISSING, append=_MISSING):
    """The ``n``-th difference along ``axis``: x[1:] - x[:-1], ``n`` times, after joining
    ``prepend`` and ``append`` (numbers broadcast to one slice) as NumPy does.

    >>> diff(Tensor([1.0, 4.0, 9.0, 16.0]), n=2)
    Tensor([2., 2.], dtype=float64)
    """
    x = as_tensor(x)
    if type(n) is not int and not isinstance(n, np.integer) or n < 0:
        raise ValueError(f"diff: the order n must be a non-negative int, got {n!r:.40}")
    if n == 0:
        return x
    if x.ndim == 0:
        raise ValueError("diff: x must have at least one dimension, got a 0-d tensor")
    axis = _scan_axis(x, axis, "diff")
    if prepend is not _MISSING or append is not _MISSING:
        one_slice = x.shape[:axis] + (1,) + x.shape[axis + 1:]

        def end(value):  # a number stands for a whole slice of it
            value = as_tensor(value, name="diff: prepend/append")
            return broadcast_to(value, one_slice) if value.ndim == 0 else value

        x = concatenate([*([end(prepend)] if prepend is not _MISSING else []), x,
                         *([end(append)] if append is not _MISSING else [])], axis)
    if x.dtype == np.bool_:
        return constant(np.diff(x._data, n=n, axis=axis))
    later = (slice(None),) * axis + (slice(1, None),)
    earlier = (slice(None),) * axis + (slice(None, -1),)
    for _ in range(n):
        x = x[later] - x[earlier]
    return x


register(diff, kind="composed", numpy=np.diff)


def gradient(f, *spacing, axis=None, edge_order=1):
    """``np.gradient`` with uniform spacing (one number, or one per axis): central
    differences inside, one-sided differences of first or second order (``edge_order``)
    at the ends. One tensor for one axis, else a tuple of them (NumPy 2).

    >>> gradient(Tensor([1.0, 2.0, 4.0, 8.0]))
    Tensor([1. , 1.5, 3. , 4. ], dtype=float64)
    """
    f = as_tensor(f, name="gradient: f")
    axes = reduced_axes(f.ndim, axis, "gradient")
    if len(set(axes)) != len(axes):
        raise ValueError(f"gradient: axis {axis} repeats an axis")
    if len(spacing) == 0:
        spacing = (1.0,) * len(axes)
    elif len(spacing) == 1 and np.ndim(raw(spacing[0])) == 0:
        spacing = spacing * len(axes)
    elif len(spacing) != len(axes):
        raise TypeError(f"gradient: give one spacing for all axes or one per axis ({len(axes)}), "
                        f"got {len(spacing)}")
    if builtins.any(np.ndim(raw(h)) != 0 for h in spacing):
        raise TypeError("gradient: only uniform spacing (numbers) is supported on tensors, not "
                        "arrays of coordinates")
    if edge_order not in (1, 2):
        raise ValueError(f"gradient: edge_order must be 1 or 2, got {edge_order!r}")
    if f.dtype.kind in "biu":
        f = astype(f, np.float64)
    results = []
    for ax, h in zip(axes, spacing):
        h = float(raw(h))
        if f.shape[ax] < edge_order + 1:
            raise ValueError(f"gradient: axis {ax} has {f.shape[ax]} entries; edge_order="
                             f"{edge_order} needs at least {edge_order + 1}")

        def part(start, stop, ax=ax):
            return f[(slice(None),) * ax + (slice(start, stop),)]

        inside = (part(2, None) - part(None, -2)) / (2.0 * h)
        if edge_order == 1:
            first = (part(1, 2) - part(0, 1)) / h
            last = (part(-1, None) - part(-2, -1)) / h
        else:   # second-order one-sided: (-3 f0 + 4 f1 - f2) / 2h and its mirror
            first = (-1.5 / h) * part(0, 1) + (2.0 / h) * part(1, 2) + (-0.5 / h) * part(2, 3)
            last = (0.5 / h) * part(-3, -2) + (-2.0 / h) * part(-2, -1) + (1.5 / h) * part(-1, None)
        results.append(concatenate([first, inside, last], axis=ax))
    return results[0] if len(results) == 1 else tuple(results)


register(gradient, kind="composed", numpy=np.gradient)


# ---------------------------------------------------------------------------
# Linear algebra.
# ---------------------------------------------------------------------------

def matmul(a, b):
    """Matrix product with NumPy's rules: 1-D operands, 2-D, and broadcast batches
    ``(..., n, k) @ (..., k, m) -> (..., n, m)``.

    >>> matmul(Tensor([[1.0, 2.0]]), Tensor([[3.0], [4.0]]))
    Tensor([[11.]], dtype=float64)
    """
    try:
        a, b = pair(a, b)
        data = np.matmul(a._data, b._data)
    except (ValueError, TypeError) as error:
        if not (isinstance(a, Tensor) and isinstance(b, Tensor)) or isinstance(error, TypeError):
            raise binary_error("matmul", a, b, error) from None
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
    return record(data, (a, b), MATMUL_VJPS, "matmul")


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
register(matmul, MATMUL_VJPS, numpy=np.matmul, methods=("matmul", "__matmul__"),
         reflected="__rmatmul__")


# ---------------------------------------------------------------------------
# Shape: the VJP undoes the rearrangement (reshape back, inverse permutation, sum back).
# ---------------------------------------------------------------------------

def reshape(x, shape, *more):
    """Reshape (``x.reshape(2, -1)`` or ``reshape(x, (2, -1))``); same size, same order.

    >>> reshape(Tensor([1.0, 2.0, 3.0, 4.0]), (2, -1)).shape
    (2, 2)
    """
    x = as_tensor(x)
    shape = shape_arguments(shape, more)
    try:
        data = x._data.reshape(shape)
    except (ValueError, TypeError):
        shape = int_tuple(shape, "reshape", "shape")
        raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} (size {x.size}) "
                         f"into shape {shape}") from None
    return record(data, (x,), RESHAPE_VJPS, "reshape")


RESHAPE_VJPS = (lambda g, out, x: g.reshape(x.shape),)
register(reshape, RESHAPE_VJPS, numpy=np.reshape, methods="reshape")


def transpose(x, axes=None, *more):
    """Permute axes; no ``axes`` reverses them (like ``x.T``).

    >>> transpose(Tensor(np.zeros((2, 3, 4))), (1, 0, 2)).shape
    (3, 2, 4)
    """
    x = as_tensor(x)
    if axes is None:
        data = x._data.transpose()
        inverse = None
    else:
        axes = shape_arguments(axes, more)
        try:
            data = x._data.transpose(axes)
        except (ValueError, TypeError):
            int_tuple(axes, "transpose", "axes")
            raise ValueError(f"transpose: axes {axes} are not a permutation of the "
                             f"{x.ndim} axes of a tensor of shape {x.shape}") from None
        inverse = tuple(np.argsort([int(a) % x.ndim for a in axes]))
    return record(data, (x,), transpose_vjps(inverse), "transpose")


def transpose_vjps(inverse):
    return (lambda g, out, x: g.transpose(inverse),)   # the inverse permutation


register(transpose, transpose_vjps, numpy=np.transpose, methods="transpose", properties="T")


def swapaxes(x, axis1, axis2):
    """Exchange two axes (composed: a transpose).
    Shape ``x.shape`` with the two entries exchanged.

    >>> swapaxes(Tensor(np.zeros((2, 3, 4))), 0, 2).shape
    (4, 3, 2)
    """
    x = as_tensor(x)
    order = list(range(x.ndim))
    axis1, axis2 = reduced_axes(x.ndim, (axis1, axis2), "swapaxes")
    order[axis1], order[axis2] = order[axis2], order[axis1]
    return transpose(x, tuple(order))


register(swapaxes, kind="composed", numpy=np.swapaxes, methods="swapaxes")


def matrix_transpose(x):
    """The last two axes swapped: a batch of transposes (``x.mT``; composed).
    Shape ``(..., m, n)`` in, ``(..., n, m)`` out.

    >>> matrix_transpose(Tensor(np.zeros((5, 2, 3)))).shape
    (5, 3, 2)
    >>> matrix_transpose(Tensor([[1.0, 2.0]]))
    Tensor([[1.],
            [2.]], dtype=float64)
    """
    return swapaxes(x, -1, -2)


register(matrix_transpose, kind="composed", numpy=np.matrix_transpose, properties="mT")


def expand_dims(x, axis):
    """Insert axes of length 1 at ``axis`` (int or tuple).
    The result has ``x.ndim + len(axis)`` dimensions.

    >>> x = Tensor(np.zeros((2, 3)))
    >>> expand_dims(x, 0).shape, expand_dims(x, (1, -1)).shape
    ((1, 2, 3), (2, 1, 3, 1))
    """
    x = as_tensor(x)
    try:
        return record(np.expand_dims(x._data, axis), (x,), RESHAPE_VJPS, "expand_dims")
    except (ValueError, TypeError):
        axes = int_tuple(axis, "expand_dims", "axis")
        raise ValueError(f"expand_dims: axis {axis} is out of range or repeated: the result has "
                         f"{x.ndim + len(axes)} dimensions (a tensor of shape {x.shape} plus "
                         f"{len(axes)} new)") from None


register(expand_dims, RESHAPE_VJPS, numpy=np.expand_dims, methods="expand_dims")


def squeeze(x, axis=None):
    """Remove axes of length 1 (all of them, or those in ``axis``).

    >>> x = Tensor(np.zeros((1, 2, 1, 3)))
    >>> squeeze(x).shape, squeeze(x, 2).shape
    ((2, 3), (1, 2, 3))
    """
    x = as_tensor(x)
    try:
        data = np.squeeze(x._data, axis)
    except (ValueError, TypeError):
        reduced_axes(x.ndim, axis, "squeeze")  # a wrong type or range names itself
        raise ValueError(f"squeeze: axis {axis} of a tensor of shape {x.shape} does not have "
                         "length 1") from None
    return record(data, (x,), RESHAPE_VJPS, "squeeze")


register(squeeze, RESHAPE_VJPS, numpy=np.squeeze, methods="squeeze")


def broadcast_to(x, shape):
    """Broadcast to ``shape`` (a read-only view forward; sums back in the VJP).
    NumPy's broadcasting rules: ``(3,)`` to ``(2, 3)``, ``(2, 1)`` to ``(2, 4)``.

    >>> broadcast_to(Tensor([1.0, 2.0, 3.0]), (2, 3))
    Tensor([[1., 2., 3.],
            [1., 2., 3.]], dtype=float64)
    """
    x = as_tensor(x)
    shape = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)
    try:
        data = np.broadcast_to(x._data, shape)
    except (ValueError, TypeError):
        shape = int_tuple(shape, "broadcast_to", "shape")
        raise ValueError(f"broadcast_to: a tensor of shape {x.shape} cannot be broadcast to "
                         f"shape {shape}") from None
    return record(data, (x,), BROADCAST_TO_VJPS, "broadcast_to")


BROADCAST_TO_VJPS = (lambda g, out, x: unbroadcast(g, x.shape),)
register(broadcast_to, BROADCAST_TO_VJPS, numpy=np.broadcast_to, methods="broadcast_to")


def getitem(x, index):
    """``x[index]``: basic and advanced indexing as NumPy; the VJP scatter-adds, so
    repeated indices accumulate. Index arrays are copied (a later write to them cannot
    move the gradient).

    >>> getitem(Tensor([1.0, 2.0, 3.0]), [0, 0, 2])
    Tensor([1., 1., 3.], dtype=float64)
    """
    x = as_tensor(x)
    index = plain_index(index)
    try:
        data = x._data[index]
    except IndexError as error:
        raise IndexError(f"index {index!r} is invalid for a tensor of shape {x.shape}: {error}") from None
    except ValueError:  # a slice with step 0
        raise ValueError(f"index {index!r} is invalid for a tensor of shape {x.shape}: a slice "
                         "step cannot be zero") from None
    return record(data, (x,), getitem_vjps(index), "getitem")


def getitem_vjps(index):
    return (lambda g, out, x: scatter_add(g, index, x.shape),)


register(getitem, getitem_vjps, methods="__getitem__")


def scatter_add(g, index, shape):
    """Zeros of ``shape`` with ``g`` added at ``index`` (the transpose of ``getitem``).

    On arrays it is plain NumPy; on Tensors it is recorded, with ``getitem`` as its VJP.

    >>> scatter_add(Tensor([1.0, 2.0, 3.0]), [0, 0, 2], (4,))
    Tensor([3., 0., 3., 0.], dtype=float64)
    >>> scatter_add(np.ones(2), (slice(None), 1), (2, 3))
    array([[0., 1., 0.],
           [0., 1., 0.]])
    """
    values = raw(g)
    result = np.zeros_like(values, shape=shape)
    if is_basic_index(index):
        result[index] = values
    else:
        np.add.at(result, index, values)
    if not isinstance(g, Tensor):
        return result
    return record(result, (g,), scatter_add_vjps(index), "scatter_add")


def scatter_add_vjps(index):
    return (lambda gg, out, g: gg[index],)   # the transpose of a scatter is a gather


register(scatter_add, scatter_add_vjps)


def _pieces_vjp(parts, tensors):
    """The VJPs of a join: input i gets ``g[parts[i]]``, its own piece of the cotangent. For
    three or more inputs one JointVJP call cuts them all, so a join of n tensors costs O(n)
    in backward, not O(n^2) (a VJP per input would be handed all n inputs)."""
    if len(parts) <= 2:
        return tuple(lambda g, out, *inputs, part=part: g[part] for part in parts)
    wanted = [t.requires_grad for t in tensors]
    return JointVJP(lambda g, out, inputs: [g[part] if wanted_here else None
                                            for part, wanted_here in zip(parts, wanted)])


def concatenate(tensors, axis=0):
    """Join tensors along an existing axis (``axis=None`` flattens them first).

    >>> concatenate([Tensor([1.0]), Tensor([2.0, 3.0])])
    Tensor([1., 2., 3.], dtype=float64)
    """
    tensors = tensor_sequence(tensors, "concatenate")
    if axis is None:
        return concatenate([reshape(t, -1) for t in tensors], 0)
    try:
        data = np.concatenate([t._data for t in tensors], axis=axis)
    except (ValueError, TypeError):
        raise join_error("concatenate", tensors, axis, new_axis=False) from None
    axis = axis % data.ndim
    parts, start = [], 0
    for t in tensors:
        parts.append((slice(None),) * axis + (slice(start, start + t.shape[axis]),))
        start += t.shape[axis]
    return record(data, tensors, _pieces_vjp(parts, tensors), "concatenate")


register(concatenate, _pieces_vjp, numpy=np.concatenate)


def stack(tensors, axis=0):
    """Join same-shape tensors along a new axis.

    >>> stack([Tensor([1.0, 2.0]), Tensor([3.0, 4.0])]).shape
    (2, 2)
    """
    tensors = tensor_sequence(tensors, "stack")
    try:
        data = np.stack([t._data for t in tensors], axis=axis)
    except (ValueError, TypeError):
        raise join_error("stack", tensors, axis, new_axis=True) from None
    axis = axis % data.ndim
    parts = [(slice(None),) * axis + (i,) for i in range(len(tensors))]
    return record(data, tensors, _pieces_vjp(parts, tensors), "stack")


register(stack, _pieces_vjp, numpy=np.stack)


# ---------------------------------------------------------------------------
# Without a gradient: comparisons and piecewise-constant functions. Their results are
# constants; the zero gradient of a piecewise-constant function is the true one.
# ---------------------------------------------------------------------------

# The example in each constant ufunc's docstring: its operands as the example writes
# them, and as NumPy takes them. The output shown is computed from NumPy at import, so
# the doctest checks that the tensor function gives NumPy's values and dtype.
_CONSTANT_EXAMPLES = {
    "classify": ("Tensor([1.0, np.nan, -np.inf])", (np.array([1.0, np.nan, -np.inf]),)),
    "logical": ("Tensor([True, True, False, False]), Tensor([True, False, True, False])",
                (np.array([True, True, False, False]), np.array([True, False, True, False]))),
    "logical_not": ("Tensor([True, False])", (np.array([True, False]),)),
    "compare": ("Tensor([1.0, 2.0, 3.0]), 2.0", (np.array([1.0, 2.0, 3.0]), 2.0)),
    "unary": ("Tensor([-1.5, -0.0, 0.5, 2.5])", (np.array([-1.5, -0.0, 0.5, 2.5]),)),
}
_OPERATORS = {"__lt__": "<", "__le__": "<=", "__gt__": ">", "__ge__": ">=", "__eq__": "==",
              "__ne__": "!="}


def _constant_doc(function, ufunc, methods):
    """The docstring of a constant ufunc: what it is, its operator, a computed example."""
    name = function.__name__
    if name in ("isnan", "isinf", "isfinite"):
        kind = "classify"
    elif name in ("logical_and", "logical_or", "logical_xor", "logical_not"):
        kind = "logical_not" if ufunc.nin == 1 else "logical"
    else:
        kind = "compare" if ufunc.nin == 2 else "unary"
    written, operands = _CONSTANT_EXAMPLES[kind]
    shown = repr(constant(ufunc(*operands))).replace("\n", "\n    ")
    operators = [_OPERATORS[m] for m in ((methods,) if isinstance(methods, str) else methods)
                 if m in _OPERATORS]
    spelled = f" ``a {operators[0]} b`` on tensors calls it." if operators else ""
    if ufunc.nin == 2:
        what = ("elementwise with broadcasting: a constant tensor of\n    the broadcast "
                "shape (no gradient; NumPy's dtypes).")
    else:
        what = ("elementwise: a constant tensor of ``x``'s shape\n    (no gradient; "
                "NumPy's dtypes).")
    return (f"np.{ufunc.__name__} on tensors, {what}{spelled}\n\n"
            f"    >>> {name}({written})\n    {shown}\n    ")


def _constant_ufunc(ufunc, name=None, methods=(), reflected=()):
    """Register ``ufunc`` on tensors as a function whose result is a constant tensor."""
    name = name or ufunc.__name__

    def function(*operands):
        if ufunc.nin == 2 and len(operands) == 2:
            a, b = operands
            try:
                a, b = pair(a, b)
                return constant(ufunc(a._data, b._data))
            except (ValueError, TypeError, OverflowError) as error:
                raise binary_error(name, a, b, error) from None
        return constant(ufunc(*(raw(as_tensor(x, name=f"{name}: x")) for x in operands)))

    function.__name__ = function.__qualname__ = name
    function.__doc__ = _constant_doc(function, ufunc, methods)
    register(function, kind="constant", numpy=ufunc, methods=methods, reflected=reflected)
    return function


less = _constant_ufunc(np.less, methods="__lt__")
less_equal = _constant_ufunc(np.less_equal, methods="__le__")
greater = _constant_ufunc(np.greater, methods="__gt__")
greater_equal = _constant_ufunc(np.greater_equal, methods="__ge__")
equal = _constant_ufunc(np.equal, methods="__eq__")
not_equal = _constant_ufunc(np.not_equal, methods="__ne__")
sign = _constant_ufunc(np.sign)
floor = _constant_ufunc(np.floor)
ceil = _constant_ufunc(np.ceil)
rint = _constant_ufunc(np.rint)
trunc = _constant_ufunc(np.trunc)
isnan = _constant_ufunc(np.isnan)
isinf = _constant_ufunc(np.isinf)
isfinite = _constant_ufunc(np.isfinite)
signbit = _constant_ufunc(np.signbit)
logical_and = _constant_ufunc(np.logical_and)
logical_or = _constant_ufunc(np.logical_or)
logical_xor = _constant_ufunc(np.logical_xor)
logical_not = _constant_ufunc(np.logical_not)


def round(x, decimals=0):
    """``x`` rounded to ``decimals`` places (halves to even), as np.round: a constant tensor
    (piecewise constant: no gradient).

    >>> round(Tensor([0.5, 1.5, 2.5, 1.234]))
    Tensor([0., 2., 2., 1.], dtype=float64)
    >>> round(Tensor([1.234]), 2)
    Tensor([1.23], dtype=float64)
    """
    return constant(np.round(as_tensor(x, name="round: x")._data, decimals))


register(round, kind="constant", numpy=(np.round, np.around), methods="round")
