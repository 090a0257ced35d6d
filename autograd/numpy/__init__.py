"""NumPy's namespace, where every function with a gradient rule records on the tape.

    import autograd.numpy as np        # as HIPS autograd users write it
    from autograd import grad

    def f(x):
        return np.sum(np.tanh(np.array([x, 2 * x])))

    grad(f)(0.5)                        # d/dx [tanh x + tanh 2x]

A name resolves, on first use, to:

1. the registered function that answers for ``numpy.<name>`` (an entry of
   ``autograd.registry`` whose ``numpy`` tuple holds it: ``np.sin``, ``np.dot``,
   ``np.concatenate``), else the registered function of that name (``np.astype``);
2. otherwise NumPy's own object, unchanged: constants and types (``np.pi``,
   ``np.float32``, ``np.newaxis``) and the functions without a gradient rule. Those
   stay safe on tensors: given a tensor that requires grad, NumPy hands the call to
   ``Tensor.__array_function__`` / ``__array_ufunc__``, which refuses it naming the
   function (autograd/dispatch.py), instead of differentiating it as a constant.

Defined here because NumPy's versions would read tensors as plain arrays:
``array`` and ``asarray`` (a (nested) list holding tensors becomes a recorded stack),
``r_`` and ``c_``. ``autograd.numpy.linalg`` is ``ag.linalg`` with NumPy's other
``linalg`` names behind it; ``autograd.numpy.random`` is ``numpy.random`` and
``autograd.numpy.fft`` is ``numpy.fft`` (no gradient rules: tensors that require grad are refused).

Joins (``np.concatenate``, ``np.stack``, ``np.hstack``...) take lists of tensors as
they are. Another function given a list that holds tensors (``np.sum([x, y])``) reads
it with NumPy's conversion: while a transform runs, that raises naming the fix
(tensors.py); write ``np.sum(np.array([x, y]))``.

Names are resolved lazily (module ``__getattr__``) and then kept, so every entry that
``import autograd`` registers is found, whichever module registers it.
"""

from __future__ import annotations

import builtins as _builtins
import importlib as _importlib

import numpy as _numpy

import autograd as _ag
from autograd import registry as _registry
from autograd.tensors import Tensor as _Tensor

_OWN = ["array", "asarray", "asanyarray", "r_", "c_", "linalg", "random", "fft"]


def __getattr__(name):
    if name == "__all__":  # ``from autograd.numpy import *`` brings NumPy's public names
        public = {n for n in getattr(_numpy, "__all__", ()) if not n.startswith("_")}
        return sorted(public | set(_OWN))
    if name.startswith("__"):
        raise AttributeError(f"module 'autograd.numpy' has no attribute {name!r}")
    value = _resolve(name, _numpy, _registry.exports(), "autograd.numpy", "numpy")
    # Resolved once; later lookups are plain attribute reads. (So this module's own code
    # spells the builtins NumPy shadows, any and max, as _builtins.any / _builtins.max.)
    globals()[name] = value
    return value


def __dir__():
    public = {name for name in globals() if not name.startswith("_")}
    return sorted(set(dir(_numpy)) | set(_registry.exports()) | set(_OWN) | public)


def _resolve(name, numpy_module, by_name, module_name, numpy_name):
    """What ``<module_name>.<name>`` is (see the module docstring): a registered function
    or ``numpy_module``'s object. Shared with autograd.numpy.linalg."""
    numpy_object = getattr(numpy_module, name, _MISSING)
    if numpy_object is not _MISSING:
        registered = _claimed_by(numpy_object)
        if registered is not None:
            return registered
    if name in by_name:
        return by_name[name]
    if numpy_object is _MISSING:
        raise AttributeError(f"module {module_name!r} has no attribute {name!r} (neither "
                             f"{numpy_name} nor autograd's registry has it)")
    return numpy_object


_MISSING = object()


def _claimed_by(numpy_object):
    """The registered function that answers for ``numpy_object``, or None."""
    for entry in _registry.entries(builtin_only=True):
        for claimed in entry.numpy:
            if claimed is numpy_object:
                return entry.function
    return None


# ---------------------------------------------------------------------------
# array and asarray: lists holding tensors become a recorded stack.
# ---------------------------------------------------------------------------

def _holds_tensor(value):
    if isinstance(value, _Tensor):
        return True
    if isinstance(value, (list, tuple)):
        return _builtins.any(_holds_tensor(item) for item in value)
    return False


def _plain(value):
    """``value`` with every tensor replaced by its data: what NumPy would be given."""
    if isinstance(value, _Tensor):
        return value.data
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _assembled(value):
    """A (nested) list holding tensors as a stack of stacks; pieces without tensors are
    constant arrays."""
    if isinstance(value, _Tensor):
        return value
    if isinstance(value, (list, tuple)) and _holds_tensor(value):
        return _ag.stack([_assembled(item) for item in value])
    return _numpy.asarray(value)


def _recorded_array(value, dtype, ndmin, name):
    # NumPy on the plain data decides the shape and dtype (and raises for a ragged list).
    try:
        reference = _numpy.array(_plain(value), dtype=dtype, ndmin=ndmin)
    except ValueError as error:
        raise ValueError(f"autograd.numpy.{name}: the (nested) list does not make a "
                         f"rectangular array: {error}") from None
    result = value if isinstance(value, _Tensor) else _assembled(value)
    if result.shape != reference.shape:  # ndmin's leading axes
        result = _ag.reshape(result, reference.shape)
    if result.dtype != reference.dtype:
        result = _ag.astype(result, reference.dtype)
    return result


def array(object, dtype=None, *, copy=True, order="K", subok=False, ndmin=0, like=None):
    """``numpy.array``, except that a Tensor or a (nested) list or tuple holding tensors
    gives a Tensor on the tape: the pieces are stacked (recorded), never read as plain
    numbers. Shape and dtype are NumPy's for the same values.

    >>> import autograd as ag
    >>> x = ag.tensor(3.0, requires_grad=True)
    >>> y = array([x, x ** 2])            # shape (2,): [x, x^2]
    >>> ag.jacobian(lambda x: array([x, x ** 2]))(3.0)
    Tensor([1., 6.], dtype=float64)
    """
    if not _holds_tensor(object):
        return _numpy.array(object, dtype=dtype, copy=copy, order=order, subok=subok,
                            ndmin=ndmin, like=like)
    _refuse_like(like, "array")
    return _recorded_array(object, dtype, ndmin, "array")


def asarray(a, dtype=None, order=None, *, device=None, copy=None, like=None):
    """``numpy.asarray``; a Tensor stays itself (cast if ``dtype`` differs), and a (nested)
    list or tuple holding tensors is stacked on the tape, as in :func:`array`.

    >>> import autograd as ag
    >>> x = ag.tensor([1.0, 2.0], requires_grad=True)
    >>> asarray(x) is x
    True
    """
    if not _holds_tensor(a):
        keywords = {} if device is None else {"device": device}
        return _numpy.asarray(a, dtype=dtype, order=order, copy=copy, like=like, **keywords)
    _refuse_like(like, "asarray")
    return _recorded_array(a, dtype, 0, "asarray")


asanyarray = asarray


def _refuse_like(like, name):
    if like is not None:
        raise TypeError(f"autograd.numpy.{name}: like= is not supported with tensors")


# ---------------------------------------------------------------------------
# r_ and c_: NumPy's index tricks, with tensors concatenated on the tape.
# ---------------------------------------------------------------------------

class _Concatenator:
    """``np.r_[...]`` / ``np.c_[...]``. Without tensors this is NumPy's own. With tensors,
    each piece is made as NumPy makes it (slices become ``arange``/``linspace``, numbers
    1-d arrays, a directive string such as ``'0,2,1'`` upgrades dimensions) and the
    pieces are joined by ``ag.concatenate``; shape and dtype are checked against NumPy's
    result for the same values."""

    def __init__(self, numpy_concatenator, directive):
        self._numpy = numpy_concatenator
        self._directive = directive  # c_ is r_['-1,2,0', ...]

    def __getitem__(self, key):
        items = key if isinstance(key, tuple) else (key,)
        if not _builtins.any(_holds_tensor(item) for item in items):
            return self._numpy[key]
        reference = self._numpy[tuple(_plain_piece(item) for item in items)]
        directive = self._directive
        if items and isinstance(items[0], str):
            directive, items = items[0], items[1:]
        axis, ndmin, trans1d = _parse_directive(directive)
        pieces = [_upgraded(item, ndmin, trans1d) if _holds_tensor(item)
                  else _numpy.r_[_directive_string(axis, ndmin, trans1d), item]
                  for item in items]
        result = _ag.concatenate(pieces, axis=axis)
        if result.shape != reference.shape:
            raise ValueError(f"autograd.numpy r_/c_: got shape {result.shape}, but NumPy makes "
                             f"{reference.shape} from the same values (a form not supported "
                             "with tensors: use ag.concatenate)")
        if result.dtype != reference.dtype:
            result = _ag.astype(result, reference.dtype)
        return result

    def __len__(self):
        return 0


def _plain_piece(item):
    if isinstance(item, _Tensor):
        return item.data
    if isinstance(item, (list, tuple)):
        return _numpy.array(_plain(item))
    return item


def _parse_directive(directive):
    """'axis,ndmin,trans1d' (NumPy's r_ string) as ints; matrix directives are refused."""
    if directive is None:
        return 0, 1, -1
    if directive in ("r", "c"):
        raise ValueError("autograd.numpy r_: the matrix directives 'r' and 'c' are not "
                         "supported with tensors (np.matrix is not either)")
    try:
        values = [int(part) for part in directive.split(",")]
    except ValueError:
        raise ValueError(f"autograd.numpy r_: unknown directive {directive!r}") from None
    axis, ndmin, trans1d = (values + [1, -1][len(values) - 1:])[:3] if len(values) < 3 \
        else values[:3]
    return axis, _builtins.max(ndmin, 1), trans1d


def _directive_string(axis, ndmin, trans1d):
    return f"{axis},{ndmin},{trans1d}"


def _upgraded(item, ndmin, trans1d):
    """A piece holding tensors with at least ``ndmin`` axes, placed as NumPy places them:
    ones are prepended, then the original axes move to position ``trans1d``."""
    piece = item if isinstance(item, _Tensor) else array(item)
    if piece.ndim >= ndmin:
        return piece
    original = piece.ndim
    piece = _ag.reshape(piece, (1,) * (ndmin - original) + piece.shape)
    if trans1d != -1:
        k1, k2 = trans1d, ndmin - original
        if k1 < 0:
            k1 += k2 + 1
        axes = list(range(ndmin))
        axes = axes[:k1] + axes[k2:] + axes[k1:k2]
        piece = _ag.transpose(piece, axes)
    return piece


r_ = _Concatenator(_numpy.r_, None)
c_ = _Concatenator(_numpy.c_, "-1,2,0")

# The submodules, as in NumPy (imported, not looked up: __getattr__ would answer NumPy's).
linalg = _importlib.import_module("autograd.numpy.linalg")
random = _importlib.import_module("autograd.numpy.random")
fft = _importlib.import_module("autograd.numpy.fft")
