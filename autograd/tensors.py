"""The Tensor: an ndarray, an optional gradient, and (if recorded) its place on the tape.

Operators and methods are bound at the bottom of this file to the primitives in
``primitives.py``, where every forward sits next to its VJP.
"""

from __future__ import annotations

import threading

import numpy as np

from autograd import tape

_grad_mode, _next_sequence_number = tape._mode, tape.next_sequence_number

__all__ = ["Tensor", "tensor", "numeric_array", "record", "constant", "tracing"]


class _Tracing(threading.local):
    depth = 0  # how many transforms (ag.grad, ...) are running their function in this thread


# Counted by transforms.py. While a transform runs f, a tensor that requires grad must not
# become a plain number or array without a word: the transform would see no dependence
# and hand back a zero gradient (``grad(lambda x: np.array([x, x ** 2]).sum())``).
tracing = _Tracing()


def _check_can_require_grad(dtype):
    if dtype.kind != "f":
        raise TypeError(
            f"only floating-point tensors can require grad, got dtype {dtype}. "
            "Create it from floats (ag.tensor([1.0, 2.0])) or pass dtype=np.float64 / np.float32."
        )


_NUMERIC_KINDS = "fiub"  # float, signed and unsigned int, bool: what a Tensor can hold


def numeric_dtype(dtype, name="dtype") -> np.dtype:
    """``dtype`` as a NumPy dtype a Tensor can hold (float, int, uint or bool), else a TypeError."""
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved is None or resolved.kind not in _NUMERIC_KINDS:
        raise TypeError(f"{name} must be a float, integer or bool dtype (np.float32, np.float64, "
                        f"np.int64, bool...), got {dtype!r}")
    return resolved


def numeric_array(value, dtype=None, name="data", copy=True):
    """``value`` (a number, a nested list of numbers, an ndarray) as an array of numbers.

    The one door through which user values enter the engine. A ragged list, a string,
    None, bytes, complex numbers or an object array raise a TypeError naming ``name``
    (NumPy would make an object array, a NaN or a string array out of some of them).
    Arrays are copied unless ``copy=False``, so later writes to the caller's array
    cannot reach the tape. Casting to ``dtype`` refuses values the dtype cannot hold
    (NaN or 1e30 into int64) instead of storing garbage.

    >>> numeric_array([[1, 2], [3, 4]], dtype=np.float32).shape
    (2, 2)
    """
    if isinstance(value, (np.ndarray, np.generic)):
        array = value
        if type(value) is not np.ndarray and isinstance(value, np.ndarray):
            array = _plain_array(value, name)
    else:
        try:
            array = np.array(value)  # a new array: nothing to copy later
        except (ValueError, TypeError, OverflowError):  # ragged lists, mostly
            array = None
        if array is None or array.dtype.kind not in _NUMERIC_KINDS:
            if _has_huge_int(value):  # NumPy makes an object array of it
                raise ValueError(
                    f"{name}: a Python int in {_sketch(value)} does not fit in any NumPy integer "
                    "dtype (int64 or uint64); pass it as a float (float(n)) if an "
                    "approximation will do") from None
            raise TypeError(
                f"{name} must be a number, a numeric array or a rectangular (not ragged) nested "
                f"list of numbers (bool, int or float), got {_sketch(value)}") from None
    if array.dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(f"{name} must hold numbers (bool, int or float), got an array of shape "
                        f"{array.shape} and dtype {array.dtype}")
    if dtype is not None and array.dtype != dtype:
        dtype = numeric_dtype(dtype)
        if dtype.kind in "iu" and array.dtype.kind in "fiu" and array.size and not _fits(array, dtype):
            raise ValueError(f"{name} has values that dtype {dtype} cannot hold (NaN, inf or out "
                             f"of range): got an array of shape {array.shape} and dtype "
                             f"{array.dtype} with values from {array.min()} to {array.max()}")
        return array.astype(dtype)  # a new array
    if copy and array is value and isinstance(array, np.ndarray):
        return array.copy()
    return array


def _has_huge_int(value, depth=0):
    """Whether ``value`` (a number or nested lists of them) holds an int beyond uint64/int64."""
    if type(value) is int:
        return not -(1 << 63) <= value < (1 << 64)
    if isinstance(value, (list, tuple)) and depth < 32:
        return any(_has_huge_int(item, depth + 1) for item in value)
    return False


def _plain_array(value, name):
    """An ndarray subclass as a plain ndarray (copied), so its own semantics cannot leak in:
    ``np.matrix`` would make ``*`` a matrix product. Masked arrays are refused: dropping
    the mask would silently give masked entries a value and a gradient."""
    if isinstance(value, np.ma.MaskedArray):
        raise TypeError(f"{name}: a masked array is not supported (its mask would be lost and "
                        "masked entries would get gradients); pass m.filled(fill_value), or "
                        "the data and the mask separately (ag.where(~m.mask, x, 0))")
    return np.array(value, subok=False)


def _fits(array, dtype):
    """Whether every value of a numeric ``array`` can be stored in the integer ``dtype``."""
    limits = np.iinfo(dtype)
    if array.dtype.kind == "f":
        if not np.isfinite(array).all():
            return False
        return limits.min <= array.min() and array.max() < limits.max + 1.0  # float(max) rounds up
    return limits.min <= array.min() and array.max() <= limits.max


def _sketch(value):
    """A short description of a rejected value for an error message."""
    return f"{type(value).__name__} {value!r:.80}"


class Tensor:
    """An n-d array (0-d included) that can record the operations applied to it.

    >>> x = Tensor([[1.0, 2.0]], requires_grad=True)
    >>> y = (x.exp().sum(axis=1) / 3).log().sum()
    >>> y.backward()
    >>> x.grad.shape
    (1, 2)

    Attributes:

    - ``data``: the NumPy array; 0-d data is a NumPy scalar (``np.float64(2.0)``), which
      behaves as a 0-d array.
    - ``grad``: filled by ``backward`` for leaves that require grad: an array of the
      tensor's shape and dtype (a NumPy scalar for 0-d), accumulated across calls until
      you set it to ``None``.
    - ``requires_grad``: whether operations on this tensor are recorded so that its
      gradient can be computed (only floating-point tensors can; ``requires_grad_()``
      sets it on a leaf).
    - ``is_leaf``: True unless a recorded operation produced this tensor.
    - ``shape``, ``dtype``, ``ndim``, ``size``, ``T``, ``mT``: as for NumPy arrays.

    NumPy interop: ``np.asarray(x)``, ``float(x)`` and ``int(x)`` give the plain values,
    except while a transform (``ag.grad``, ``ag.jacobian``...) runs its function on a
    tensor that requires grad: there they raise, since the value would leave the tape
    and the gradient would be zero without a word. Say that you want the raw value with
    ``x.data``, ``x.detach()``, ``x.item()`` or ``with ag.no_grad():``; build arrays of
    tensors with ``autograd.numpy.array`` or ``ag.stack``.
    """

    # A dict, so that help(Tensor) documents the public slot (the others are internal).
    __slots__ = {
        "_data": "the array (a NumPy scalar when 0-d); public as ``data``",
        "_grad": "the accumulated gradient; public as ``grad``",
        "requires_grad": "Whether operations on this tensor are recorded so that its gradient "
                         "can be computed (floating-point tensors only). Set it on a leaf with "
                         "``requires_grad_()`` or ``ag.tensor(..., requires_grad=True)``.",
        "_parents": "the input tensors of the node that made this one (empty for a leaf)",
        "_vjps": "one VJP per parent (None for a leaf)",
        "_seq": "the node's place on the tape (-1 for a leaf)",
        "_op": "the primitive's name, for printing the tape",
        "_version": "counts writes to ``data``, so a graph that saved it can refuse to run",
        "__weakref__": None,
    }
    __array_priority__ = 1000

    def __init__(self, data, requires_grad=False, dtype=None):
        if isinstance(data, Tensor):
            data = data._data
        array = numeric_array(data, dtype, "tensor data")  # a copy: later changes to `data` cannot reach the tape
        if requires_grad:
            _check_can_require_grad(array.dtype)
        # 0-d data is kept as a NumPy scalar, as NumPy's own 0-d results are: scalar
        # arithmetic is several times faster than 0-d array arithmetic.
        _fill(self, array[()] if array.ndim == 0 else array, bool(requires_grad), (), None, -1,
              None)

    # The one conversion of user values (tape.py converts backward's grad with it too).
    _numeric_array = staticmethod(numeric_array)

    # -- array attributes ---------------------------------------------------
    @property
    def data(self):
        """The NumPy array. Assigning to it (``x.data = a``, ``x.data -= lr * g``) is tracked:
        a graph that saved the old values refuses to run backward instead of giving a wrong
        gradient. Writes into the array itself (``x.data[0] = 1``) are not tracked."""
        return self._data

    @data.setter
    def data(self, value):
        if type(value) is not np.ndarray or value.dtype.kind not in _NUMERIC_KINDS:
            value = numeric_array(value, name="data", copy=False)
        if self.requires_grad and value.dtype.kind != "f":
            raise TypeError(f"data of a tensor that requires grad must be floating-point, got "
                            f"dtype {value.dtype}")
        self._data = value
        self._version = tape.record_write(value)  # the tape time of this write

    @property
    def grad(self):
        """The accumulated gradient: None, or an array of this tensor's shape and dtype (a
        Tensor after ``backward(create_graph=True)``). Assigning casts to the tensor's dtype
        (so a float32 parameter keeps float32 gradients) and refuses another shape."""
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None and not (type(value) is np.ndarray and value.dtype == self.dtype
                                      and value.shape == self.shape and value.ndim):
            if isinstance(value, Tensor):
                if value.dtype != self.dtype:
                    value = value.astype(self.dtype)
            else:
                value = numeric_array(value, dtype=self.dtype, name="grad", copy=False)
            if value.shape != self.shape:
                raise ValueError(f"grad must have the tensor's shape {self.shape}, got shape "
                                 f"{value.shape}")
            if value.ndim == 0 and isinstance(value, np.ndarray):
                value = value[()]  # a NumPy scalar, as .data is for a 0-d tensor
        self._grad = value

    shape = property(lambda self: self._data.shape, doc="Tuple of dimensions, as in NumPy.")
    dtype = property(lambda self: self._data.dtype, doc="NumPy dtype of the data.")
    ndim = property(lambda self: self._data.ndim, doc="Number of dimensions.")
    size = property(lambda self: self._data.size, doc="Number of elements.")

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` on a leaf, in place; returns the tensor (PyTorch's spelling).

        >>> w = Tensor([1.0, 2.0]).requires_grad_()
        >>> w.requires_grad
        True
        """
        if self._vjps is not None:
            raise RuntimeError("requires_grad_() on a tensor computed by the tape: only leaves "
                               "(tensors you created) can change it; use y.detach() for a "
                               "constant copy of a computed tensor")
        if requires_grad:
            _check_can_require_grad(self.dtype)
        self.requires_grad = bool(requires_grad)
        return self

    def _in_place(self, name):
        if self.requires_grad and self._vjps is None:
            raise TypeError(
                f"in-place {name} on a leaf tensor that requires grad: `w {name} ...` would "
                "replace w by a computed tensor (no longer a leaf, so its .grad stays None). "
                f"Update the data instead: `w.data {name} lr * w.grad` (tracked), or use an "
                "optimizer (ag.optim.SGD([w], lr).step())")

    def __iadd__(self, other):
        self._in_place("+=")
        return self + other

    def __isub__(self, other):
        self._in_place("-=")
        return self - other

    def __imul__(self, other):
        self._in_place("*=")
        return self * other

    def __itruediv__(self, other):
        self._in_place("/=")
        return self / other

    def __ipow__(self, other):
        self._in_place("**=")
        return self ** other

    def __imatmul__(self, other):
        self._in_place("@=")
        return self @ other

    @property
    def is_leaf(self) -> bool:
        """True unless this tensor was produced by a recorded operation."""
        return self._vjps is None

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._data)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    __hash__ = object.__hash__  # identity: tensors key the tape's dictionaries

    def __bool__(self):  # control flow (``if x > 0``) reads a value but carries no gradient
        return bool(self._data)

    def __float__(self):
        if tracing.depth and self.requires_grad and _grad_mode.enabled:
            _refuse_detaching(self, "float()")
        return float(self._data)

    def __int__(self):
        if tracing.depth and self.requires_grad and _grad_mode.enabled:
            _refuse_detaching(self, "int()")
        return int(self._data)

    # -- NumPy interop ------------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        if tracing.depth and self.requires_grad and _grad_mode.enabled:
            _refuse_detaching(self, "a NumPy array (np.array, np.asarray)")
        if copy:
            return np.array(self._data, dtype=dtype)
        return np.asarray(self._data, dtype=dtype)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return _dispatch.ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, function, types, args, kwargs):
        return _dispatch.function(function, args, kwargs)

    def item(self):
        """The single element as a Python number."""
        return self._data.item()

    def numpy(self):
        """The data as an ndarray (shared, not copied; no gradient flows through it)."""
        return np.asarray(self._data)

    def tolist(self):
        """The data as (nested) Python lists of numbers; a number for a 0-d tensor."""
        return np.asarray(self._data).tolist()

    def detach(self):
        """A tensor sharing this one's data, cut from the tape (a write through either
        one's ``.data`` is seen by graphs that saved the other)."""
        return constant(self._data)

    def argmax(self, axis=None):
        """Indices of the maxima along ``axis`` (a plain int array: no gradient)."""
        return np.argmax(self._data, axis=axis)

    def argmin(self, axis=None):
        """Indices of the minima along ``axis`` (a plain int array: no gradient)."""
        return np.argmin(self._data, axis=axis)

    def __setitem__(self, index, value):
        raise TypeError(
            "Tensors do not support item assignment (it would silently change saved values); "
            "build a new tensor with ag.where / ag.concatenate, or write to x.data outside any "
            "graph")

    # -- autograd -------------------------------------------------------------
    def backward(self, grad=None, retain_graph=False, create_graph=False):
        """Accumulate the gradient of this tensor into ``.grad`` of every leaf it depends on.

        A scalar output is seeded with 1; otherwise pass ``grad``, the gradient of the
        final result with respect to this tensor (same shape). The saved values are
        freed afterwards unless ``retain_graph=True``.

        ``create_graph=True`` records the backward pass too, so ``.grad`` becomes a Tensor on
        the tape that can be differentiated again. That makes a reference cycle, as in
        PyTorch: each leaf holds its ``.grad``, whose graph holds the leaf. Python's cycle
        collector frees it once the leaf is unreachable (not immediately); set
        ``leaf.grad = None`` when you are done, or use ``ag.grad`` / ``tape.gradients``,
        which return the gradients without storing them on the leaves.
        """
        tape.backward(self, grad, retain_graph, create_graph)

    def __repr__(self):
        body = np.array2string(np.asarray(self._data), separator=", ", prefix="Tensor(")
        extras = [f"dtype={self.dtype}"]
        if self.requires_grad:
            extras.append("requires_grad=True")
        if self._op is not None and self._vjps is not None:
            extras.append(f"op={self._op}")
        return f"Tensor({body}, {', '.join(extras)})"


def _refuse_detaching(x, into):
    """A transform is differentiating f, and f turns ``x`` (which requires grad) into ``into``:
    the value would leave the tape and its gradient would be lost without a word."""
    raise TypeError(
        f"a tensor that requires grad ({x.shape} {x.dtype}) was converted to {into} inside a "
        "function being differentiated (ag.grad, ag.jacobian, ...): the result would leave the "
        "tape and its gradient would be zero without a word. This also happens when a plain "
        "NumPy function reads a list of tensors, or `a[i] = x` writes into an ndarray. Use "
        "`import autograd.numpy as np` (np.array([x, 2 * x]) records a stack), or ag.stack / "
        "ag.concatenate / ag.where to build arrays. If you want the raw value, say so: x.data, "
        "x.detach(), x.item(), or compute it under `with ag.no_grad():`")


def _fill(out, data, requires_grad, parents, vjps, seq, op):
    """Set every slot of a new tensor (the one place that lists them)."""
    out._data = data
    out._grad = None
    out.requires_grad = requires_grad
    out._parents = parents
    out._vjps = vjps
    out._seq = seq
    out._op = op
    out._version = -1
    return out


_new = Tensor.__new__


def record(data, parents, vjps, op):
    """The output of a primitive: the one place that decides whether it is recorded.

    ``data`` is the forward's result, ``parents`` the input Tensors, ``vjps`` one VJP per
    parent (``vjp(g, out, *inputs)``, see tape.py) or a ``tape.JointVJP``, ``op`` the name
    the tape and errors show. Recorded (a node on the tape) when grad mode is on and some
    parent requires grad; otherwise a constant.
    """
    if _grad_mode.enabled:
        for parent in parents:
            if parent.requires_grad:  # (the _fill call costs ~25 ns over inline assignments)
                return _fill(_new(Tensor), data, True, parents, vjps, _next_sequence_number(), op)
    return _fill(_new(Tensor), data, False, (), None, -1, None)


def constant(data):
    """Wrap an array or NumPy scalar as a Tensor without copying; never requires grad."""
    return _fill(_new(Tensor), data, False, (), None, -1, None)


Tensor._from_op = staticmethod(record)      # the names the rest of the package uses
Tensor._constant = staticmethod(constant)


def tensor(data, requires_grad=False, dtype=None) -> Tensor:
    """Create a tensor from a number, a (nested) list or an ndarray; the data is copied.

    >>> x = tensor([1.0, 2.0], requires_grad=True)
    """
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


# NumPy calls on Tensors, operators and methods: each goes to a registered primitive
# (primitives.py); dispatch.py builds the tables from the registry and binds the methods.
from autograd import dispatch as _dispatch  # noqa: E402  (it needs the class above)

_dispatch.bind(Tensor)
