"""``compile(fn)``: trace a training step once, replay it as one flat NumPy program.

How it works. The first call with a given signature is a *recording call*: every Tensor
alive in the process has its ``.data`` (and a non-None ``.grad``) swapped for a
``Traced`` array, a stand-in that holds the real array and writes one line of Python
per NumPy call made on it (``v7 = np.multiply(v3, v5)``). The call runs ``fn`` for
real, so its results are the eager ones; forward, ``.backward()`` and transforms such
as ``ag.value_and_grad`` all end up as NumPy calls on traced arrays. The lines become
the source of one function (``compiled.code``), exec'd once; later calls with the same
signature run it: it reads the current ``.data`` and ``.grad`` of every tensor the
recording read, and writes ``.grad`` as eager did.

What is checked, so that a replay never uses a stale value:

- the signature: structure, shapes and dtypes of the arguments, Python numbers among
  them (by value), grad mode; at each replay, for every tensor the program reads or
  writes: ``requires_grad``, shape and dtype of ``.data``, whether ``.grad`` is None
  (and its shape and dtype). A mismatch records again.
- Python values read from traced arrays during recording (``bool``, ``float``,
  ``int``, ``.item()``, ``.tolist()``, comparisons in ``if``, ``math.isfinite``)
  become guards: the replay computes them again and, if one differs, the call is
  recorded again (after 3 such misses for one signature, that signature runs eager).
  Data-dependent shapes (boolean masks, ``nonzero``) are guarded the same way.
- anything the tracer cannot follow makes the call run eager, with a
  ``CompileWarning`` saying why, and that signature stays eager: a traced value
  turned into a plain ndarray by NumPy itself (``plain[i] = traced``, the buffer
  protocol), ``.data`` assigned or written in place inside ``fn`` (an optimizer step
  inside ``fn``), draws from any NumPy random generator but ``ag.manual_seed``'s (the
  states of all live bit generators are compared), ``.grad`` holding a Tensor
  (``create_graph=True``), a Tensor computed inside ``fn`` kept alive outside its
  outputs (a cache in an attribute: it would not be updated by a replay).
- rebinding: the program holds the Tensor objects fn read. At recording, every path
  from fn to them is noted (fn's closure cells, the globals its code names, a bound
  method's ``__self__``, default arguments, then the attributes of objects (nn.Module
  included), list and tuple items, dict values under str/int keys, and so on through the
  functions found there, up to 12 steps); a replay first checks each step of those paths
  by identity and the lists and dicts on them by length, and records again on a
  mismatch: ``model.fc.weight = ag.tensor(...)``, ``w = ag.tensor(...)`` for a closure or
  global ``w``, ``layers[1] = Linear(...)``, ``layers.append(...)`` are seen. NOT seen
  (the replay uses the old tensor): a tensor fn reaches only through a Python module's
  attribute (``config.w``), a class attribute, ``__slots__``, a set, deque, generator or
  other container than list/tuple/dict, a container of more than 10,000 items, an object
  more than 12 steps away (or beyond the first 20,000 objects looked at), or code of
  autograd/NumPy itself; assign ``.data`` instead (as optimizers do) or pass the tensor
  as an argument.
- tensor arguments: a replay refuses (and records again) when one is a tensor the
  program also reads directly, when the same tensor is passed twice where the recording
  had two, and, for an argument that something else refers to (a closure, a module),
  when it is not the same tensor as at recording.

Random numbers drawn from the ``ag.manual_seed`` generator (``creation.generator()``,
used by dropout) are drawn again at each replay, from the same generator, so a
compiled step draws the same numbers as the eager one would.

The passes (``PASSES``, each can be switched off) give eager's numbers bit for bit but
two: ``matmul_sum`` computes a weight's gradient over leading axes (``x`` of shape
(B, T, D) times a matrix) as one GEMM over all B*T rows where eager sums B GEMMs, so
its result differs from eager's by float round-off (~1e-7 relative in float32);
``sparse_adds`` adds only the filled part of an index's zero cotangent, so an entry
that is -0.0 elsewhere stays -0.0 where eager's ``x + 0.0`` gives +0.0. The passes that
pick a cheaper form (``transposed_operands``, ``transposed_products``, ``dot_calls``) do
so only where the recorded values give the same bits. ``late_guards`` (off by default)
changes no number but tests ReLU's cotangent for inf/NaN through its bias sum: a finite
cotangent whose column sums overflow fails that guard (the call is recorded again, and
after 3 misses runs eagerly), where eager's own test passes, and an inf/NaN one warns
(inf * 0) before the guard sends the call back to recording.

Semantics that differ from eager (as with ``jax.jit``/``torch.jit.trace``): Python
control flow that does not read a traced value (a flag, a step counter) is frozen
at recording; plain NumPy arrays that ``fn`` reads from closures or globals (not the
data of a Tensor, not an argument) are taken as constants, and so is what ``fn``
computes from them with plain NumPy: writing into such an array between calls is NOT
seen by a replay (pass it as an argument, or hold it in a Tensor); Python side effects
of ``fn`` (``print``, appending to a list) happen at recording only; Tensors returned by
``fn`` come back as constant tensors (no graph: call ``.backward()`` inside ``fn``).
Recording is not thread-safe with respect to other threads using the same tensors.
"""

from __future__ import annotations

import builtins
import collections
import gc
import itertools
import math
import numbers
import re
import sys
import functools
import inspect
import threading
import types
import warnings
import weakref

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from autograd import creation as _creation
from autograd import tape as _tape
from autograd.tensors import Tensor, constant as _constant

__all__ = ["compile", "CompileWarning"]


class CompileWarning(UserWarning):
    """``ag.compile`` ran a call eagerly instead of replaying; the message says why."""


class _Untraceable(Exception):
    """The recording cannot be trusted: run eagerly (the message is the reason)."""


class _GuardFailure(Exception):
    """A replay saw a Python value (a branch, a shape) different from the recording's."""


class _Mismatch(Exception):
    """A tensor the program reads or writes is not in the state the recording saw."""


_MAX_GUARD_MISSES = 3
_CACHE_SIZE = 8
_lock = threading.RLock()
_active = threading.local()  # .recording: the _Recording of this thread, if any


def _current():
    return getattr(_active, "recording", None)


# ---------------------------------------------------------------------------
# The traced array.
# ---------------------------------------------------------------------------

class Traced(NDArrayOperatorsMixin):
    """A stand-in for an ndarray during a recording call: the real value and its name."""

    __slots__ = ("_v", "_name", "_rec", "_source")
    __array_priority__ = 2000

    def __init__(self, value, name, recording, source=None):
        self._v = value
        self._name = name          # None for an input not read yet
        self._rec = recording
        self._source = source      # for inputs: the line that reads it

    # -- names ---------------------------------------------------------------
    def _ref(self):
        rec = self._rec
        if not rec.open or _current() is not rec:
            raise RuntimeError(
                "a value computed while ag.compile was recording was used outside that "
                "recording (kept in an attribute or a list?): its replayed value would be stale")
        if self._name is None:
            self._name = rec.fresh()
            rec.emit(f"{self._name} = {rec.source(self._source)}")
            rec.reals[self._name] = self._v  # (an input: its layout, for the passes)
        return self._name

    # -- static attributes (fixed by the signature) ---------------------------
    shape = property(lambda self: self._v.shape)
    dtype = property(lambda self: self._v.dtype)
    ndim = property(lambda self: self._v.ndim)
    size = property(lambda self: self._v.size)
    itemsize = property(lambda self: self._v.itemsize)
    nbytes = property(lambda self: self._v.nbytes)
    strides = property(lambda self: np.asarray(self._v).strides)
    flags = property(lambda self: np.asarray(self._v).flags)
    base = None  # tape.memory_owner walks .base: a traced array is its own owner

    @property
    def T(self):
        return self._rec.method(self, "T", None, None, attribute=True)

    @property
    def mT(self):
        return self._rec.method(self, "mT", None, None, attribute=True)

    def __len__(self):
        if self._v.ndim == 0:
            raise TypeError("len() of unsized object")
        return len(self._v)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    # -- NumPy protocols -------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        for x in inputs:
            if isinstance(x, Tensor):
                return NotImplemented  # the Tensor's own __array_ufunc__ takes it
        return self._rec.ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, function, types, args, kwargs):
        for t in types:
            if issubclass(t, Tensor):
                return NotImplemented
        return self._rec.function(function, args, kwargs)

    def __array__(self, dtype=None, copy=None):
        self._rec.fail("a traced value was turned into a plain NumPy array (np.asarray by NumPy "
                       "itself, e.g. plain_array[i] = traced, or a C extension): the replay "
                       "could not follow it")

    def __getitem__(self, index):
        return self._rec.getitem(self, index)

    def __setitem__(self, index, value):
        self._rec.setitem(self, index, value)

    def __getattr__(self, name):
        if name.startswith("__") or not callable(getattr(np.ndarray, name, None)):
            raise AttributeError(f"compile: the attribute {name!r} of an array is not supported "
                                 "while recording")
        return lambda *args, **kwargs: self._rec.method(self, name, args, kwargs)

    # -- Python values: guards -------------------------------------------------
    def __bool__(self):
        return self._rec.guard(self, "bool", bool(self._v))

    def __float__(self):
        return self._rec.guard(self, "float", float(self._v))

    def __int__(self):
        return self._rec.guard(self, "int", int(self._v))

    def __index__(self):
        return self._rec.guard(self, "operator.index", int(self._v.__index__()))

    def __complex__(self):
        return self._rec.guard(self, "complex", complex(self._v))

    def item(self, *args):
        return self._rec.guard(self, "item", self._v.item(*args), args)

    def tolist(self):
        return self._rec.guard(self, "tolist", self._v.tolist())

    def __repr__(self):
        return f"Traced({self._v!r})"

    def __reduce__(self):
        self._rec.fail("a traced value was pickled or copied")

    __copy__ = __deepcopy__ = lambda self, *args: self._rec.method(self, "copy", (), {})


_PLAIN_LITERALS = (bool, int, str, type(None), type(Ellipsis))


# ---------------------------------------------------------------------------
# A recording: the lines, the constants, the inputs.
# ---------------------------------------------------------------------------

# NumPy functions whose results' shapes follow from their inputs' shapes (no guard).
_STATIC_FUNCTIONS = {getattr(np, name) for name in (
    "sum", "mean", "prod", "max", "min", "amax", "amin", "reshape", "transpose", "moveaxis",
    "swapaxes", "expand_dims", "squeeze", "broadcast_to", "concatenate", "stack", "vstack",
    "hstack", "dot", "matmul", "tensordot", "einsum", "outer", "inner", "zeros_like",
    "ones_like", "empty_like", "full_like", "where", "clip", "take_along_axis", "put_along_axis",
    "cumsum", "cumprod", "diff", "tile", "repeat", "flip", "roll", "pad", "copyto", "ravel",
    "atleast_1d", "atleast_2d", "atleast_3d", "broadcast_arrays", "tril", "triu", "diagonal",
    "trace", "var", "std", "sort", "argsort", "argmax", "argmin", "any", "all", "isclose",
    "take", "split", "array_split", "linspace", "kron", "cross", "round", "around", "shape",
    "ndim", "size", "result_type", "average", "logaddexp", "var", "ptp", "nansum", "nanmean",
    "partition", "dstack", "column_stack", "block", "apply_along_axis", "einsum_path",
    "may_share_memory", "shares_memory", "copy", "asarray", "astype") if hasattr(np, name)}
_STATIC_METHODS = {
    "sum", "mean", "prod", "max", "min", "reshape", "transpose", "swapaxes", "squeeze", "astype",
    "copy", "ravel", "flatten", "T", "mT", "dot", "clip", "cumsum", "cumprod", "round", "var",
    "std", "any", "all", "argmax", "argmin", "view", "conj", "take", "repeat", "diagonal",
    "trace", "sort", "argsort", "fill", "ptp", "__getitem__",
}
_ALLOCATING_FUNCTIONS = {getattr(np, name) for name in (
    "matmul", "dot", "where", "concatenate", "stack", "einsum", "tensordot", "outer",
    "zeros_like", "ones_like", "empty_like", "full_like", "sum", "mean", "prod", "cumsum",
    "cumprod", "clip", "take_along_axis", "take", "tile", "repeat", "pad", "diff")
    if hasattr(np, name)}
_ALLOCATING_METHODS = {"sum", "mean", "prod", "max", "min", "copy", "dot", "cumsum",
                       "cumprod", "std", "var", "clip", "take", "repeat"}
_SCALAR_OPERATORS = {np.add: "+", np.subtract: "-", np.multiply: "*", np.true_divide: "/",
                     np.power: "**", np.negative: "-"}
_BINARY = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
           "/": lambda a, b: a / b, "**": lambda a, b: a ** b}


def _has_bool_array(index):
    if isinstance(index, tuple):
        return any(_has_bool_array(i) for i in index)
    if isinstance(index, (Traced, np.ndarray)):
        return index.dtype == bool
    if isinstance(index, list):
        return True  # a list index may hold booleans: guard its shape
    return False


class _Recording:
    def __init__(self):
        self.lines = []
        self.ns = {"np": np, "_creation": _creation, "_GuardFailure": _GuardFailure}
        self.count = 0
        self.const_ids = {}
        self.open = True
        self.failure = None
        self.guards = 0
        self.input_owners = set()   # ids of the memory every input lives in
        self.thread = threading.get_ident()
        self.seen = {}    # id -> every real array a traced array held (kept alive: ids stay)
        self.owned = {}   # names of arrays that own fresh memory -> their dtype
        self.sizes = {}   # name -> bytes, as recorded
        self.reals = {}   # name -> its array at recording (for the buffer-reuse pass)
        self.bookkeeping = set()  # ids of containers that hold the arguments

    # -- bookkeeping -------------------------------------------------------------
    def fresh(self):
        self.count += 1
        return f"v{self.count}"

    def emit(self, line):
        self.lines.append(line)

    def source(self, where):
        """The expression that reads an input: ("a", i, attr) an argument, ("t", tensor, attr)."""
        kind, what, attr = where
        base = f"_A[{what}]" if kind == "a" else self.const(what, "t")
        return base + (f".{attr}" if attr else "")

    def fail(self, reason):
        if self.failure is None:
            self.failure = reason
        raise _Untraceable(reason)

    def const(self, value, hint="c"):
        key = id(value)
        name = self.const_ids.get(key)
        if name is None:
            name = f"_{hint}{len(self.const_ids)}"
            self.const_ids[key] = name
            self.ns[name] = value
        return name

    def expr(self, value):
        """Python source for ``value``: a traced array's name, a literal or a constant."""
        if isinstance(value, Traced):
            return value._ref()
        if type(value) in _PLAIN_LITERALS:
            return repr(value)
        if type(value) is float:
            return repr(value) if math.isfinite(value) else self.const(value)
        if type(value) is tuple:
            inner = ", ".join(self.expr(v) for v in value)
            return f"({inner},)" if len(value) == 1 else f"({inner})"
        if type(value) is list:
            return "[" + ", ".join(self.expr(v) for v in value) + "]"
        if type(value) is dict and all(type(k) is str for k in value):
            return "{" + ", ".join(f"{k!r}: {self.expr(v)}" for k, v in value.items()) + "}"
        if type(value) is slice:
            parts = (self.expr(value.start), self.expr(value.stop), self.expr(value.step))
            return f"slice({', '.join(parts)})"
        if isinstance(value, np.dtype):
            return f"np.dtype({str(value)!r})" if value.isbuiltin else self.const(value, "dt")
        if isinstance(value, type) and getattr(np, value.__name__, None) is value:
            return f"np.{value.__name__}"
        if isinstance(value, np.ufunc) and getattr(np, value.__name__, None) is value:
            return f"np.{value.__name__}"
        if isinstance(value, Tensor):
            self.fail("a Tensor was passed to a NumPy call on traced arrays")
        if isinstance(value, np.ndarray):
            if _tape.memory_owner(value) is not value and isinstance(
                    _tape.memory_owner(value), Traced):
                self.fail("a view of a traced value escaped the trace")
        return self.const(value)

    def call_expr(self, head, args, kwargs):
        parts = [self.expr(a) for a in args]
        parts += [f"{k}={self.expr(v)}" for k, v in (kwargs or {}).items()]
        return f"{head}({', '.join(parts)})"

    def func_name(self, function):
        name = getattr(function, "__name__", None)
        if name and getattr(np, name, None) is function:
            return f"np.{name}"
        for sub in ("linalg", "fft"):
            if name and getattr(getattr(np, sub), name, None) is function:
                return f"np.{sub}.{name}"
        return self.const(function, "f")

    # -- values in and out ----------------------------------------------------
    def check(self):
        if not self.open or _current() is not self:
            raise RuntimeError("a value computed while ag.compile was recording was used after "
                               "the recording ended (kept in an attribute or a list?)")

    def wrap(self, real, expr_text, static=True, fresh=False):
        """Emit ``vN = expr`` and give the traced results (arrays), else guard the value."""
        if isinstance(real, (np.ndarray, np.generic)):
            name = self.fresh()
            self.emit(f"{name} = {expr_text}")
            # ``fresh``: the call always allocates its result, whatever its inputs' layout
            # (a reshape that copied here may give a view of an argument at replay)
            if fresh and isinstance(real, np.ndarray) and id(real) not in self.seen:
                flags = real.flags
                if flags.owndata and flags.writeable and not any(
                        real is v for v in self.ns.values()):
                    self.owned[name] = real.dtype  # a new buffer no other name shares
            self.seen[id(real)] = real
            self.sizes[name] = real.nbytes
            self.reals[name] = real
            if not static and isinstance(real, np.ndarray):
                self.emit(f"if {name}.shape != {real.shape!r}: raise _GuardFailure")
                self.guards += 1
            return Traced(real, name, self)
        if type(real) in (tuple, list) and real and all(
                isinstance(r, (np.ndarray, np.generic)) for r in real):
            name = self.fresh()
            self.emit(f"{name} = {expr_text}")
            if not static:
                self.emit(f"if len({name}) != {len(real)}: raise _GuardFailure")
            items = [self.wrap(r, f"{name}[{i}]", static) for i, r in enumerate(real)]
            return type(real)(items)
        if real is None:
            self.emit(expr_text)
            return None
        if isinstance(real, (np.dtype, type)):
            return real  # dtypes follow from the signature's dtypes
        if isinstance(real, (numbers.Number, tuple, list)) or real is NotImplemented:
            if real is NotImplemented:
                return real
            name = self.fresh()
            self.emit(f"{name} = {expr_text}")
            self._guard_line(name, real)
            return real
        self.fail(f"a NumPy call gave a {type(real).__name__}, which compile cannot follow")

    def _guard_line(self, name, value):
        if isinstance(value, float) and math.isnan(value):
            self.emit(f"if {name} == {name}: raise _GuardFailure")
        else:
            self.emit(f"if {name} != {self.expr(value)}: raise _GuardFailure")
        self.guards += 1

    def guard(self, traced, how, value, args=()):
        self.check()
        name = traced._ref()
        if how in ("item", "tolist"):
            source = f"{name}.{how}({', '.join(self.expr(a) for a in args)})"
        else:
            source = f"{how}({name})"
        if how == "operator.index":
            self.ns.setdefault("operator", __import__("operator"))
        if how == "bool":
            self.emit(f"if {source} is not {value!r}: raise _GuardFailure")
            self.guards += 1
            return value
        out = self.fresh()
        self.emit(f"{out} = {source}")
        self._guard_line(out, value)
        return value

    @staticmethod
    def unwrap(value):
        if isinstance(value, Traced):
            return value._v
        if type(value) in (tuple, list):
            return type(value)(_Recording.unwrap(v) for v in value)
        if type(value) is dict:
            return {k: _Recording.unwrap(v) for k, v in value.items()}
        if type(value) is slice:
            return slice(*(_Recording.unwrap(v) for v in (value.start, value.stop, value.step)))
        return value

    def check_write(self, target, what):
        if not isinstance(target, Traced):
            self.fail(f"{what} writes into a plain NumPy array with a traced value")
        owner = _tape.memory_owner(target._v)
        if any(owner is value for value in self.ns.values()):
            self.fail(f"{what} writes in place into an array that is a constant of the program")
        if id(owner) in self.input_owners:
            self.fail(f"{what} writes in place into a tensor's .data or .grad, or an argument "
                      "(an optimizer step inside fn?)")

    # -- the operations ----------------------------------------------------------
    def ufunc(self, ufunc, method, inputs, kwargs):
        self.check()
        out = kwargs.get("out")
        if out is not None:
            for target in (out if isinstance(out, tuple) else (out,)):
                self.check_write(target, f"np.{ufunc.__name__}(..., out=)")
        if method == "at":
            self.check_write(inputs[0], f"np.{ufunc.__name__}.at")
        if method == "__call__" and not kwargs and ufunc in _SCALAR_OPERATORS and all(
                isinstance(x._v if isinstance(x, Traced) else x, (np.generic, float, int))
                and not isinstance(x, bool) for x in inputs):
            # NumPy scalars: the operator takes NumPy's scalar fast path (the same
            # arithmetic, ~10x cheaper than a ufunc call on 0-d values)
            symbol = _SCALAR_OPERATORS[ufunc]
            values = self.unwrap(inputs)
            if len(inputs) == 2:
                real = _BINARY[symbol](*values)
                text = f"{self.expr(inputs[0])} {symbol} {self.expr(inputs[1])}"
            else:
                real = -values[0]
                text = f"-{self.expr(inputs[0])}"
            if isinstance(real, np.generic):
                return self.wrap(real, text, fresh=True)
        real = getattr(ufunc, method)(*self.unwrap(inputs), **self.unwrap(kwargs))
        head = f"{self.func_name(ufunc)}" + ("" if method == "__call__" else f".{method}")
        text = self.call_expr(head, inputs, kwargs)
        if method == "at":
            self.emit(text)
            return None
        if out is not None:
            self.emit(text)
            outs = out if isinstance(out, tuple) else (out,)
            return outs[0] if len(outs) == 1 else outs
        return self.wrap(real, text, fresh=method in ("__call__", "reduce", "outer",
                                                      "accumulate"))

    def function(self, function, args, kwargs):
        self.check()
        name = getattr(function, "__name__", "")
        if name in ("copyto", "put", "place", "putmask", "put_along_axis", "fill_diagonal"):
            self.check_write(args[0], f"np.{name}")
        out = kwargs.get("out")
        if out is None and len(args) > 1:
            out = _positional_out(function, args, kwargs)
        if out is not None:
            self.check_write(out, f"np.{name}(..., out=)")
        real = function(*self.unwrap(args), **self.unwrap(kwargs))
        text = self.call_expr(self.func_name(function), args, kwargs)
        if out is not None:  # a statement: its write is kept even if nothing reads its value
            self.emit(text)
            return out
        return self.wrap(real, text, static=function in _STATIC_FUNCTIONS,
                         fresh=function in _ALLOCATING_FUNCTIONS)

    def method(self, traced, name, args, kwargs, attribute=False):
        self.check()
        if name == "sum" and not args and PASSES["bias_sums"]:
            summed = self._unbroadcast_sum(traced, kwargs)
            if summed is not None:
                return summed
        real_self = traced._v
        if attribute:
            return self.wrap(getattr(real_self, name), f"{traced._ref()}.{name}")
        if name in ("fill", "sort", "put", "partition", "resize", "itemset", "setfield",
                    "setflags", "byteswap"):
            self.check_write(traced, f".{name}()")
        out = (kwargs or {}).get("out")
        if out is not None:
            self.check_write(out, f".{name}(..., out=)")
        real = getattr(real_self, name)(*self.unwrap(args), **self.unwrap(kwargs))
        text = self.call_expr(f"{traced._ref()}.{name}", args, kwargs)
        if out is not None:  # a statement: its write is kept even if nothing reads its value
            self.emit(text)
            return out
        return self.wrap(real, text, static=name in _STATIC_METHODS,
                         fresh=name in _ALLOCATING_METHODS and not (kwargs or {}).get(
                             "copy", True) is False)

    def _unbroadcast_sum(self, traced, kwargs):
        """``primitives.unbroadcast`` sums a cotangent's leading axes as it does for an
        ndarray (its Tensor branch is what a traced array meets): a bias's rows with BLAS
        (``ones @ g``), else ``np.add.reduce``. Same calls as eager, so the same round-off."""
        frame = sys._getframe(3)  # unbroadcast -> Traced.__getattr__'s lambda -> method
        if frame.f_code is not _unbroadcast_code():
            return None
        shape = frame.f_locals.get("shape")
        leading = traced.ndim - len(shape) if isinstance(shape, tuple) else 0
        if leading <= 0 or kwargs != {"axis": tuple(range(leading))}:
            return None
        from autograd import primitives
        if len(shape) == 1:
            ones = primitives._ones(math.prod(traced.shape[:-1]), traced.dtype)
            if ones is not None:
                operand = traced if leading == 1 else traced.reshape(len(ones), shape[0])
                return np.matmul(ones, operand)
        return np.add.reduce(traced, axis=0 if leading == 1 else tuple(range(leading)))

    def getitem(self, traced, index):
        self.check()
        real = traced._v[self.unwrap(index)]
        text = f"{traced._ref()}[{self.expr(index)}]"
        return self.wrap(real, text, static=not _has_bool_array(index))

    def setitem(self, traced, index, value):
        self.check()
        self.check_write(traced, "item assignment")
        traced._v[self.unwrap(index)] = self.unwrap(value)
        self.emit(f"{traced._ref()}[{self.expr(index)}] = {self.expr(value)}")


@functools.lru_cache(maxsize=None)
def _signature(function):
    try:
        return inspect.signature(function)
    except (TypeError, ValueError):
        return None


def _positional_out(function, args, kwargs):
    """The ``out`` a NumPy function was given by position (``np.take(a, i, None, buf)``)."""
    signature = _signature(function)
    if signature is None or "out" not in signature.parameters:
        return None
    try:
        return signature.bind(*args, **kwargs).arguments.get("out")
    except TypeError:
        return None


# ---------------------------------------------------------------------------
# NumPy's creation functions and conversions, while recording (this thread only).
# ---------------------------------------------------------------------------

_CONVERSIONS = ("array", "asarray", "asanyarray", "ascontiguousarray")
_CREATIONS = ("zeros", "ones", "empty", "full")
_originals = {name: getattr(np, name) for name in _CONVERSIONS + _CREATIONS}


def _contains_traced(value, depth=0):
    if isinstance(value, Traced):
        return True
    if type(value) in (list, tuple) and depth < 3:
        return any(_contains_traced(v, depth + 1) for v in value)
    return False


def _make_conversion(name):
    original = _originals[name]

    def conversion(*args, **kwargs):
        rec = _current()
        if rec is None or not (args and _contains_traced(args[0])):
            return original(*args, **kwargs)
        if kwargs.get("like") is not None:
            rec.fail(f"np.{name}(like=...) on a traced value")
        real = original(*rec.unwrap(args), **rec.unwrap(kwargs))
        text = rec.call_expr(f"np.{name}", args, kwargs)
        if name != "array" and not kwargs.get("copy") and real is rec.unwrap(args[0]):
            return args[0]
        return rec.wrap(real, text, fresh=name == "array" and kwargs.get("copy", True) is True)

    conversion.__name__ = name
    return conversion


def _make_creation(name):
    original = _originals[name]

    def creation(*args, **kwargs):
        rec = _current()
        if rec is None or kwargs.get("like") is not None:
            return original(*args, **kwargs)
        # Only the engine's own buffers are traced (the VJPs fill np.zeros/np.empty with
        # traced values); C extensions such as np.random's call np.empty too and write
        # into it through the buffer protocol: they must get a real array.
        frame = sys._getframe(1)
        caller = frame.f_globals.get("__name__", "")
        if not caller.startswith("autograd.") or caller == __name__ or \
                frame.f_code in _cached_codes():
            return original(*args, **kwargs)  # (a cached helper's array outlives the recording)
        real = original(*rec.unwrap(args), **rec.unwrap(kwargs))
        return rec.wrap(real, rec.call_expr(f"np.{name}", args, kwargs), fresh=True)

    creation.__name__ = name
    return creation


_CACHED_CODES = None


def _unbroadcast_code():
    from autograd import primitives
    return primitives.unbroadcast.__code__



def _cached_codes():
    """Code of the engine's functools.lru_cache'd helpers (``primitives._ones``): an array
    they create is kept for later calls, so it must stay a real array."""
    global _CACHED_CODES
    if _CACHED_CODES is None:
        codes = set()
        for name, module in list(sys.modules.items()):
            if module is None or not (name == "autograd" or name.startswith("autograd.")):
                continue
            for value in list(vars(module).values()):
                wrapped = getattr(value, "__wrapped__", None)
                if hasattr(value, "cache_info") and hasattr(wrapped, "__code__"):
                    codes.add(wrapped.__code__)
        _CACHED_CODES = codes
    return _CACHED_CODES


_MATH_TESTS = ("isfinite", "isnan", "isinf")
_math_originals = {name: getattr(math, name) for name in _MATH_TESTS}


def _make_math_test(name):
    original, ufunc = _math_originals[name], getattr(np, name)

    def test(x):
        rec = _current()
        if rec is None or not isinstance(x, Traced):
            return original(x)
        # The guard is on the test's outcome, not on the number (which changes every step).
        return bool(rec.ufunc(ufunc, "__call__", (x,), {}))

    test.__name__ = name
    return test


_math_replacements = {name: _make_math_test(name) for name in _MATH_TESTS}
_default_rng = np.random.default_rng


def _recording_default_rng(*args, **kwargs):
    rec = _current()
    if rec is not None and (args[0] if args else kwargs.get("seed")) is None:
        rec.fail("fn makes an unseeded np.random.default_rng(): its numbers would be frozen "
                 "in the program (draw from autograd.creation.generator() instead)")
    return _default_rng(*args, **kwargs)
_replacements = {name: _make_conversion(name) for name in _CONVERSIONS}
_replacements.update({name: _make_creation(name) for name in _CREATIONS})
_patch_depth = 0


def _patch_numpy():
    global _patch_depth
    with _lock:
        if _patch_depth == 0:
            for name, function in _replacements.items():
                setattr(np, name, function)
            for name, function in _math_replacements.items():
                setattr(math, name, function)
            np.random.default_rng = _recording_default_rng
        _patch_depth += 1


def _unpatch_numpy():
    global _patch_depth
    with _lock:
        _patch_depth -= 1
        if _patch_depth == 0:
            for name, function in _originals.items():
                setattr(np, name, function)
            for name, function in _math_originals.items():
                setattr(math, name, function)
            np.random.default_rng = _default_rng


class _GeneratorProxy:
    """Stands for the ``ag.manual_seed`` generator while recording: each draw is a line that
    draws again at replay (from the generator current then)."""

    def __init__(self, real, rec):
        self._real, self._rec = real, rec

    def __getattr__(self, name):
        attribute = getattr(self._real, name)
        if not callable(attribute):
            return attribute
        rec = self._rec

        def draw(*args, **kwargs):
            real = attribute(*rec.unwrap(args), **rec.unwrap(kwargs))
            return rec.wrap(real, rec.call_expr(f"_creation.generator().{name}", args, kwargs))

        return draw


# ---------------------------------------------------------------------------
# Arguments: flattening and signatures.
# ---------------------------------------------------------------------------

def _flatten(value, leaves):
    """Structure of ``value`` (hashable), its array-like leaves appended to ``leaves``."""
    kind = type(value)
    if kind in (tuple, list):
        return (kind.__name__, tuple(_flatten(v, leaves) for v in value))
    if kind is dict:
        return ("dict", tuple((k, _flatten(v, leaves)) for k, v in value.items()))
    if isinstance(value, Tensor):
        leaves.append(value)
        grad = value._grad
        if grad is not None:
            grad = (type(grad).__name__, np.shape(grad),
                    "T" if isinstance(grad, Tensor) else np.asarray(grad).dtype.str)
        return ("T", np.shape(value._data), value.dtype.str, value.requires_grad, grad)
    if isinstance(value, (np.ndarray, np.generic)):
        leaves.append(value)
        return ("A", type(value).__name__, value.shape, value.dtype.str)
    if kind in (bool, int, float, complex, str, type(None)):
        return ("P", kind.__name__, value)
    return ("O", _Opaque(value))


class _Opaque:
    """An argument that is neither a container, an array nor a Python number: keyed by id,
    and kept alive by the program's cache key so that the id stays its own."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __hash__(self):
        return id(self.value)

    def __eq__(self, other):
        return type(other) is _Opaque and other.value is self.value


def _rebuild(value, leaves):
    """``value`` with its array-like leaves (in ``_flatten``'s order) taken from ``leaves``."""
    kind = type(value)
    if kind in (tuple, list):
        return kind(_rebuild(v, leaves) for v in value)
    if kind is dict:
        return {k: _rebuild(v, leaves) for k, v in value.items()}
    if isinstance(value, (Tensor, np.ndarray, np.generic)):
        return next(leaves)
    return value


# ---------------------------------------------------------------------------
# The compiled function.
# ---------------------------------------------------------------------------

_NO_ARGUMENTS = ("tuple", (("tuple", ()), ("dict", ())))


class _Program:
    __slots__ = ("code", "source", "run", "replay", "misses", "guards", "lines", "draws")


_EAGER = "eager"


class Compiled:
    """What ``compile(fn)`` returns: call it as ``fn``; ``.code`` is the last program's source."""

    def __init__(self, fn):
        self.fn = fn
        self._cache = collections.OrderedDict()
        self._last = None
        self.__wrapped__ = fn
        self.__doc__ = getattr(fn, "__doc__", None)
        self.stats = {"recorded": 0, "replayed": 0, "eager": 0, "guard_misses": 0}

    @property
    def code(self):
        """The source of the program the last recording made (forward and backward)."""
        if self._last is None:
            raise RuntimeError("compiled.code: call the compiled function once first")
        return self._last.code

    def __call__(self, *args, **kwargs):
        if not (args or kwargs):  # the fast path: a step with no arguments, replayed
            program = self._cache.get(_tape._mode.enabled)  # (its key: the grad mode alone)
            if type(program) is _Program and not program.draws:
                try:
                    result = program.run(())
                except (_Mismatch, _GuardFailure) as miss:
                    return self._call(args, kwargs, miss)
                self.stats["replayed"] += 1
                return result
        return self._call(args, kwargs)

    def _call(self, args, kwargs, miss=None):
        leaves = []
        if args or kwargs:
            structure = _flatten((args, kwargs), leaves)
            key = (_tape._mode.enabled, structure)
        else:
            structure, key = _NO_ARGUMENTS, _tape._mode.enabled
        if len(leaves) > 1:
            ids = [id(leaf) for leaf in leaves]
            if len(set(ids)) != len(ids):  # the same tensor or array twice: its own program
                key += (tuple(ids.index(i) for i in ids),)
        program = self._cache.get(key)
        if program is _EAGER:
            self.stats["eager"] += 1
            return self.fn(*args, **kwargs)
        if program is not None:
            drawn = _creation._generator.bit_generator.state if program.draws else None
            try:
                if miss is not None:  # the fast path's replay missed already
                    raise miss
                result = program.run(leaves)
            except _Mismatch:
                pass
            except _GuardFailure:
                if drawn is not None:  # the call runs again: it must draw the same numbers
                    _creation._generator.bit_generator.state = drawn
                self.stats["guard_misses"] += 1
                program.misses += 1
                if program.misses >= _MAX_GUARD_MISSES:
                    warnings.warn(f"ag.compile({_name(self.fn)}): a Python value read from a "
                                  f"tensor (a branch, a float(), a shape) changed "
                                  f"{program.misses} times between calls with this signature; "
                                  "running it eagerly from now on", CompileWarning, stacklevel=3)
                    self._store(key, _EAGER)
                    self.stats["eager"] += 1
                    return self.fn(*args, **kwargs)
            else:
                self.stats["replayed"] += 1
                return result
        return self._record(key, args, kwargs, leaves, structure,
                            misses=program.misses if isinstance(program, _Program) else 0)

    def _store(self, key, program):
        self._cache[key] = program
        self._cache.move_to_end(key)
        while len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)

    # -- recording ---------------------------------------------------------------
    def _record(self, key, args, kwargs, leaves, structure, misses=0):
        with _lock:
            if _current() is not None:
                # a compiled function called inside another's recording: just trace through
                return self.fn(*args, **kwargs)
            outcome = _record_call(self.fn, args, kwargs, leaves, structure)
        kind, value = outcome
        if kind == "eager":
            warnings.warn(f"ag.compile({_name(self.fn)}): running eagerly: {value}",
                          CompileWarning, stacklevel=4)
            self._store(key, _EAGER)
            self.stats["eager"] += 1
            return self.fn(*args, **kwargs)
        program, result = value
        program.misses = misses
        self._store(key, program)
        self._last = program
        self.stats["recorded"] += 1
        return result


def _name(fn):
    return getattr(fn, "__qualname__", None) or repr(fn)


def _live_tensors():
    # (type(o), not isinstance: some objects compute __class__, and warn when they do)
    return [o for o in gc.get_objects() if issubclass(type(o), Tensor)]


def _record_call(fn, args, kwargs, leaves, structure):
    """Run ``fn`` once with traced arrays. Returns ("eager", reason) or ("ok", (program,
    result)); re-raises an exception of ``fn`` after putting every tensor back."""
    rec = _Recording()
    tensors = _live_tensors()
    saved = [(t, t._data, t._grad, t._version) for t in tensors]
    arg_index = {id(leaf): i for i, leaf in enumerate(leaves)}
    data_traced, grad_traced = {}, {}
    # Every tensor's data and grad become inputs of the program (read lazily: only those
    # used get a line). Tensors among the arguments are read through the argument list.
    for t in tensors:
        position = arg_index.get(id(t))
        where = ("t", t) if position is None else ("a", position)
        rec.input_owners.add(id(_tape.memory_owner(t._data)))
        rec.seen[id(t._data)] = t._data
        data_traced[id(t)] = Traced(t._data, None, rec, (*where, "_data"))
        if t._grad is not None and not isinstance(t._grad, Tensor):
            rec.input_owners.add(id(_tape.memory_owner(t._grad)))
            rec.seen[id(t._grad)] = t._grad
            grad_traced[id(t)] = Traced(t._grad, None, rec, (*where, "_grad"))
    array_args = []
    for i, leaf in enumerate(leaves):
        if not isinstance(leaf, Tensor):
            rec.input_owners.add(id(_tape.memory_owner(leaf)))
            rec.seen[id(leaf)] = leaf
            array_args.append(Traced(leaf, None, rec, ("a", i, None)))
    rec.bookkeeping = _containers((args, kwargs), {id(leaves), id(tensors), id(saved)})
    rec.bookkeeping.update(id(entry) for entry in saved)
    previous_mode = _tape._mode.enabled
    previous_generator = _creation._generator
    np_state = np.random.get_state(legacy=False)
    generators = _generator_states(previous_generator)
    own_state = previous_generator.bit_generator.state if isinstance(
        previous_generator, np.random.Generator) else None
    last_write = _tape._last_write
    error = None
    _active.recording = rec
    _patch_numpy()
    patched = True
    try:
        for t in tensors:
            t._data = data_traced[id(t)]
            if id(t) in grad_traced:
                t._grad = grad_traced[id(t)]
        _creation._generator = _GeneratorProxy(previous_generator, rec)
        traced_arrays = iter(array_args)
        new_leaves = [leaf if isinstance(leaf, Tensor) else next(traced_arrays) for leaf in leaves]
        call_args, call_kwargs = _rebuild((args, kwargs), iter(new_leaves))
        rec.bookkeeping |= _containers((call_args, call_kwargs), {id(new_leaves)})
        try:
            result = fn(*call_args, **call_kwargs)
        except _Untraceable as untraceable:
            error = untraceable
        except BaseException:
            rec.open = False
            raise
        _unpatch_numpy()
        patched = False
        _creation._generator = previous_generator
        if error is None and rec.failure is not None:
            error = _Untraceable(rec.failure)  # raised inside fn and caught by fn's code
        if error is None and _tape._last_write != last_write:
            error = _Untraceable("fn assigns to a tensor's .data (an optimizer step inside fn?)")
        if error is None and _tape._mode.enabled != previous_mode:
            error = _Untraceable("fn leaves grad mode changed")
        if error is None and _generators_drawn(generators, _generator_states(previous_generator)):
            error = _Untraceable("fn draws from a NumPy random generator other than "
                                 "ag.manual_seed's: the numbers would be frozen in the program "
                                 "(draw from autograd.creation.generator() instead)")
        if error is None and not _same_state(np_state, np.random.get_state(legacy=False)):
            error = _Untraceable("fn draws from NumPy's global np.random state; the numbers "
                                 "would be frozen (use ag.manual_seed's generator, "
                                 "creation.generator())")
        if error is None:
            try:
                program, outcome = _finish(rec, fn, tensors, data_traced, grad_traced, saved,
                                           result, leaves, _opaque_arguments((args, kwargs)))
            except _Untraceable as untraceable:
                error = untraceable
    finally:
        if patched:
            _unpatch_numpy()
        _active.recording = None
        _creation._generator = previous_generator
        _tape._mode.enabled = previous_mode
        rec.open = False
        for t, data, grad, version in saved:  # emptied by _finish when it succeeded
            t._data, t._grad, t._version = data, grad, version
    if error is not None:
        # The call runs again eagerly: the numbers the attempt drew are drawn again.
        if own_state is not None:
            previous_generator.bit_generator.state = own_state
        np.random.set_state(np_state)
        return "eager", str(error)
    return "ok", (program, outcome)


def _generator_states(own):
    """{id: state} of every NumPy bit generator alive but ag.manual_seed's."""
    skip = id(own.bit_generator) if isinstance(own, np.random.Generator) else None
    return {id(o): repr(o.state) for o in gc.get_objects()
            if issubclass(type(o), np.random.BitGenerator) and id(o) != skip}


def _generators_drawn(before, after):
    """Whether a generator alive before fn advanced (ones made inside fn are seeded:
    ``np.random.default_rng()`` without a seed refuses while recording)."""
    return any(before.get(key, state) != state for key, state in after.items())


def _same_state(a, b):
    a, b = a["state"], b["state"]
    return a["pos"] == b["pos"] and np.array_equal(a["key"], b["key"])


def _finish(rec, fn, tensors, data_traced, grad_traced, saved, result, leaves, opaque=()):
    """Check what fn left behind, write the program's ending, build it; put real values back."""
    writes = []     # (tensor expression, value expression)
    checks = []
    real_grads = {}
    for t, data, grad, version in saved:
        traced_data = data_traced[id(t)]
        if t._data is not traced_data or t._version != version:
            rec.fail("fn assigns to a tensor's .data")
        new_grad = t._grad
        old_traced = grad_traced.get(id(t))
        read = traced_data._name is not None or (old_traced is not None and
                                                 old_traced._name is not None)
        if old_traced is not None and new_grad is old_traced:
            real_grads[id(t)] = grad
            changed = False
        elif new_grad is grad and old_traced is None:
            changed = False  # None, or a Tensor-valued .grad left alone
        else:
            changed = True
            if new_grad is None:
                real_grads[id(t)] = None
                value = "None"
            elif isinstance(new_grad, Traced):
                if new_grad._rec is not rec:
                    rec.fail("a .grad holds a value from another recording")
                real_grads[id(t)] = new_grad._v
                value = new_grad._ref()
            elif isinstance(new_grad, (np.ndarray, np.generic)):
                real_grads[id(t)] = new_grad
                value = rec.const(new_grad)
            elif isinstance(new_grad, Tensor):
                rec.fail("a .grad holds a Tensor (backward(create_graph=True)); compile handles "
                         "first-order .grad and ag.grad/ag.value_and_grad (nested too)")
            else:
                rec.fail(f"a .grad holds a {type(new_grad).__name__}")
        if read or changed:
            where = rec.source(traced_data._source[:2] + (None,))
            grad_read = old_traced is not None and old_traced._name is not None
            checks.append(_state_check(rec, where, t, data, grad, grad_read))
            if changed:
                writes.append(f"{where}._grad = {value}")
    # The outputs: traced arrays and tensors computed inside fn come back as values.
    output_parts = []
    real_result = _outputs(rec, result, output_parts)
    # A tensor computed inside fn and kept alive elsewhere would not be updated by a replay.
    _check_no_leftovers(rec, tensors, _reachable(result))
    del result
    checks = _alias_checks(rec, leaves, tensors) + _reach_checks(rec, fn, opaque) + checks
    statements = _optimize(checks + rec.lines + writes + [f"return {output_parts[0]}"],
                           rec.owned, rec.sizes, rec.reals, rec.ns)
    body = [f"    {line}" for line in statements]
    source = "def _replay(_A):\n" + "\n".join(body) + "\n"
    rec.ns.update(_constant=_constant)
    namespace = dict(rec.ns)
    code = builtins.compile(source, f"<ag.compile {_name(fn)}>", "exec")
    exec(code, namespace)
    program = _Program()
    program.code = _readable(source, rec)
    program.source = source  # what runs (code is it made readable); benchmarks.profile times it
    program.lines = len(rec.lines)
    program.guards = rec.guards
    program.run = program.replay = namespace["_replay"]
    if any(name.startswith("_p") and name[2:].isdigit() for name in namespace):
        program.run = _locked(program.run)  # its buffers are shared by the calls
    program.misses = 0
    program.draws = any("_creation.generator()" in line for line in statements)
    for t, data, grad, version in saved:
        t._data = data
        t._grad = real_grads.get(id(t), grad)
        t._version = version
    saved.clear()
    return program, real_result


def _locked(replay):
    """``replay`` holding a lock: a program with persistent buffers (the ``buffers`` pass)
    runs in one thread at a time (threads replaying it concurrently wait)."""
    lock = threading.Lock()

    def run(leaves):
        with lock:
            return replay(leaves)

    return run


# Optimisation passes on the program's lines (each can be switched off to measure it):
# dce: dead-code elimination; reuse: elementwise results written into a dying operand
# (out=); copies: backward's copy before adopting a cotangent as .grad elided, or made with
# ndarray.copy; free: del of dead buffers >= FREE_BYTES; bias_sums: eager's BLAS bias sums
# while recording; checks: the state check of a .grad fn never reads is "is None" only;
# reductions: a.sum()/np.max(a) as the ufunc reduction they call; fold: constant folding;
# matmul_2d: (..., m, k) @ (k, n) as one GEMM; matmul_sum: a weight's gradient over
# leading axes as one GEMM instead of a GEMM per index and a sum; sparse_adds: a zero
# cotangent with one part filled (an index's VJP), added to another: that part added only;
# scalar_operands: np.maximum(a, 0) against a constant array of zeros (NumPy's fast loop);
# masked_fills: np.where(constant mask, a, c) as np.copyto(a, c, where=~mask) in place;
# finite_guards: eager's all-finite test (np.isfinite(g).all(), _select's) as one BLAS
# dot with zeros, a 0-d one as math.isfinite; bool_masks (off: 2 µs faster alone, but
# measured no faster in the mlp step, 0.795x against 0.798x of NumPy by hand without it,
# the cast's new 64 KiB buffer eats the gain): a float array times a bool mask of its
# shape multiplies by the mask cast to float first (NumPy's fast loop);
# transposed_operands: a GEMM reads the transposed view ``vB.T`` instead of its C-ordered
# copy (same bits: checked at recording); late_guards (off: an inf/NaN cotangent then meets
# the mask's zeros before the guard, and inf * 0 warns, or raises under np.seterr, where
# eager's test runs first and its np.where path is silent; 0.798x against 0.804x of NumPy by
# hand without it): finite_guards' test of ReLU's cotangent moved after the product's bias
# sum, on the (n,) sum instead of the (m, n) array;
# transposed_products: (a @ w + b).T.copy() computed as w.T @ a.T + b[:, None], C-ordered
# already (the lean cross-entropy's classes-first logits; same bits: checked at recording);
# relu_masks: ReLU's backward mask np.greater(h, 0) read from the ReLU's output r (r > 0
# exactly where h > 0, NaN included), so that h dies at the ReLU and reuse writes r into
# it (one 64 KiB buffer less at 128x128);
# dot_calls: np.matmul of a vector and a matrix as np.dot, the same BLAS GEMV with less of
# NumPy's overhead (same bits: checked at recording);
# buffers (off: measured no faster on the transformer step, 0.90x against 0.87x of NumPy
# by hand without it, and it serialises replays): large temporaries written into buffers
# allocated once, shared by names whose lifetimes do not overlap.
PASSES = {"dce": True, "reuse": True, "copies": True, "free": True, "bias_sums": True,
          "checks": True, "reductions": True, "fold": True, "matmul_2d": True,
          "matmul_sum": True, "sparse_adds": True, "scalar_operands": True,
          "masked_fills": True, "finite_guards": True, "bool_masks": False,
          "transposed_operands": True, "late_guards": False, "transposed_products": True,
          "relu_masks": True, "dot_calls": True, "buffers": False,
          "one_hots": True, "aliases": True}
_NAME = re.compile(r"\bv\d+\b")
_COPY = re.compile(r"(v\d+) = np\.array\((v\d+), dtype=np\.dtype\('(\w+)'\)\)")


def _elide_copies(lines, owned):
    """``vB = np.array(vA, dtype=d)`` (backward's copy before adopting a cotangent as .grad)
    becomes ``vB = vA`` when vA is a new buffer of dtype d that no other line reads or
    writes: nothing else holds it, so handing it out is what eager's adoption does."""
    counts = collections.Counter(name for line in lines for name in set(_NAME.findall(line)))
    out = []
    for line in lines:
        match = _COPY.fullmatch(line)
        if match:
            target, source, dtype = match.groups()
            if source in owned and str(owned[source]) == dtype and counts[source] == 2:
                line = f"{target} = {source}"
        out.append(line)
    return out


_ARRAY_COPY = re.compile(r"(v\d+) = np\.array\((v\d+|_f\d+), dtype=np\.dtype\('(\w+)'\)\)")


def _copy_methods(lines, reals, namespace):
    """``vB = np.array(vA, dtype=d)`` of an ndarray vA of dtype d becomes
    ``vB = vA.copy(order='K')``: the same copy (layout kept), a third of the call's cost."""
    out = []
    for line in lines:
        match = _ARRAY_COPY.fullmatch(line)
        if match:
            target, source, dtype = match.groups()
            real = namespace.get(source) if source.startswith("_f") else reals.get(source)
            if type(real) is np.ndarray and str(real.dtype) == dtype:
                line = f"{target} = {source}.copy(order='K')"
        out.append(line)
    return out


_REDUCTION_METHOD = re.compile(r"(v\d+) = (v\d+)\.(sum|max|min)\(((?:axis|keepdims|dtype)=.*)\)")
_REDUCTION_FUNCTION = re.compile(
    r"(v\d+) = np\.(sum|max|min|amax|amin)\((v\d+), ((?:axis|keepdims|dtype)=.*)\)")
_REDUCING_UFUNC = {"sum": "add", "max": "maximum", "min": "minimum", "amax": "maximum",
                   "amin": "minimum"}


_ALL_ANY = re.compile(r"(v\d+) = (v\d+)\.(all|any)\(\)")


def _direct_reductions(lines, reals):
    """``a.sum(axis=..)``, ``np.max(a, axis=..)`` of an ndarray become the ufunc reduction
    NumPy calls for them (``np.add.reduce(a, axis=..)``): the same computation, without
    NumPy's Python-level wrapper (~0.3 µs a call)."""
    out = []
    for line in lines:
        match = _ALL_ANY.fullmatch(line)
        if match and type(reals.get(match.group(2))) is np.ndarray and \
                reals[match.group(2)].dtype == bool:
            target, source, how = match.groups()
            ufunc = "logical_and" if how == "all" else "logical_or"
            out.append(f"{target} = np.{ufunc}.reduce({source}, axis=None)")
            continue
        match = _REDUCTION_METHOD.fullmatch(line)
        if match:
            target, source, how, rest = match.groups()
        else:
            match = _REDUCTION_FUNCTION.fullmatch(line)
            if match:
                target, how, source, rest = match.groups()
        if match and type(reals.get(source)) is np.ndarray and "axis=" in rest and (
                how == "sum" or "dtype=" not in rest):
            line = f"{target} = np.{_REDUCING_UFUNC[how]}.reduce({source}, {rest})"
        out.append(line)
    return out


_MATMUL = re.compile(r"(v\d+) = np\.matmul\((v\d+), (v\d+)\)")
_MATMUL_T = re.compile(r"(v\d+) = (v\d+)\.mT")
_ADD_REDUCE = re.compile(r"(v\d+) = np\.add\.reduce\((v\d+), axis=(.*)\)")


def _contiguous(value):
    return type(value) is np.ndarray and value.flags.c_contiguous


def _matmul_2d(lines, reals):
    """``vR = np.matmul(vA, vB)`` with vA (..., m, k) C-contiguous and vB a matrix: one
    GEMM over all rows, ``np.matmul(vA.reshape(-1, k), vB, out=vR.reshape(-1, n))`` into a
    new buffer, instead of NumPy's loop of one GEMM per leading index (each row of the
    result is the same dot products: the same values)."""
    out = []
    for line in lines:
        match = _MATMUL.fullmatch(line)
        if match:
            result, left, right = match.groups()
            a, b, r = reals.get(left), reals.get(right), reals.get(result)
            if (_contiguous(a) and a.ndim >= 3 and type(b) is np.ndarray and b.ndim == 2
                    and _contiguous(r) and r.dtype.isbuiltin):
                k, n = a.shape[-1], b.shape[-1]
                line = (f"{result} = np.empty({r.shape!r}, np.dtype({str(r.dtype)!r})); "
                        f"np.matmul({left}.reshape(-1, {k}), {right}, "
                        f"out={result}.reshape(-1, {n}))")
        out.append(line)
    return out


def _matmul_sums(lines, reals, owned):
    """A weight's gradient over leading axes, ``vP = np.matmul(vX.mT, vG)`` then
    ``vS = np.add.reduce(vP, axis=<leading axes>)`` (a GEMM per leading index, then their
    sum), becomes one GEMM over all rows: ``np.matmul(vX.reshape(-1, k).T,
    vG.reshape(-1, n))``. The same sum in another order: equal to float round-off."""
    uses = collections.Counter(name for line in lines for name in _NAME.findall(line))
    transposes = {}
    for line in lines:
        match = _MATMUL_T.fullmatch(line)
        if match:
            transposes[match.group(1)] = match.group(2)
    products = {}
    for i, line in enumerate(lines):
        match = _MATMUL.fullmatch(line)
        if match and match.group(2) in transposes:
            products[match.group(1)] = (i, transposes[match.group(2)], match.group(3))
    out, dropped = list(lines), set()
    for i, line in enumerate(lines):
        match = _ADD_REDUCE.fullmatch(line)
        if not match or match.group(2) not in products or uses[match.group(2)] != 2:
            continue
        result, product, axes = match.groups()
        j, x, g = products[product]
        vx, vg, vs = reals.get(x), reals.get(g), reals.get(result)
        if not (_contiguous(vx) and _contiguous(vg) and type(vs) is np.ndarray):
            continue
        leading = vx.ndim - 2
        wanted = "0" if leading == 1 else repr(tuple(range(leading)))
        if (leading < 1 or vg.ndim != vx.ndim or vx.shape[:-1] != vg.shape[:-1]
                or axes not in (wanted, repr(tuple(range(leading))))
                or vs.shape != (vx.shape[-1], vg.shape[-1])):
            continue
        out[j] = None
        dropped.add(product)
        out[i] = (f"{result} = np.matmul({x}.reshape(-1, {vx.shape[-1]}).T, "
                  f"{g}.reshape(-1, {vg.shape[-1]}))")
        owned[result] = vs.dtype
    return [line for line in out if line is not None]


_ZEROS = re.compile(r"(v\d+) = np\.zeros_like\((v\d+), shape=(\([\d, ]*\))\)")
_FILL = re.compile(r"(v\d+)\[(\d+|\(\d+(?:, \d+)*,?\))\] = (v\d+)")
_ADD_OUT = re.compile(r"(v\d+) = np\.add\((v\d+), (v\d+), out=(v\d+)\)")


def _sparse_adds(lines, reals):
    """Zero cotangents skipped: an index's VJP makes a zero array with one part filled
    (``vB = np.zeros_like(..); vB[i] = vQ``); added to another cotangent
    (``vC = np.add(vA, vB, out=vA)``), only that part changes: ``vA[i] += vQ`` instead
    (no zero array, one add over the part, not the whole; the same sums)."""
    uses = collections.Counter(name for line in lines for name in _NAME.findall(line))
    zeros, fills = {}, {}
    for i, line in enumerate(lines):
        match = _ZEROS.fullmatch(line)
        if match:
            zeros[match.group(1)] = i
            continue
        match = _FILL.fullmatch(line)
        if match and match.group(1) in zeros and match.group(1) not in fills and \
                zeros[match.group(1)] == i - 1:
            fills[match.group(1)] = (i, match.group(2), match.group(3))
    out = list(lines)
    for i, line in enumerate(lines):
        match = _ADD_OUT.fullmatch(line)
        if not match:
            continue
        result, first, second, target = match.groups()
        if target == second:
            first, second = second, first
        if target != first or second not in fills or uses[second] != 3:
            continue  # (vB: made, filled, added; nothing else reads it)
        a, b = reals.get(first), reals.get(second)
        if not (type(a) is np.ndarray and type(b) is np.ndarray and a.shape == b.shape
                and a.dtype == b.dtype):
            continue
        j, index, part = fills[second]
        if index.count(",") + (not index.rstrip(")").endswith(",")) >= a.ndim:
            continue  # the part is one element: no view to add into
        out[zeros[second]] = out[j] = None
        out[i] = (f"{result} = {first}; _part = {first}[{index}]; "
                  f"np.add(_part, {part}, out=_part)")
    return [line for line in out if line is not None]


_MAX_SCALAR = re.compile(
    r"(v\d+) = np\.(maximum|minimum|fmax|fmin)\((v\d+|[-\w.]+), (v\d+|[-\w.]+)\)")


def _scalar_operands(lines, reals, namespace):
    """``np.maximum(vA, 0)`` (ReLU) with ``vA`` a contiguous array: the 0 becomes a constant
    array of vA's shape and dtype. NumPy has no fast loop for a broadcast scalar in
    maximum/minimum: two contiguous arrays run about 3x faster (float32 128x128: 6.8 µs
    against 2.2 µs), and each element is the same maximum of the same two numbers."""
    out = []
    for line in lines:
        match = _MAX_SCALAR.fullmatch(line)
        if match:
            result, ufunc, first, second = match.groups()
            array, scalar = (first, second) if _NAME.fullmatch(first) else (second, first)
            a, r = reals.get(array), reals.get(result)
            value = namespace.get(scalar) if scalar.startswith("_c") else scalar
            if isinstance(value, str):
                try:
                    value = float(value) if any(c in value for c in ".en") else int(value)
                except ValueError:
                    value = None
            if (_NAME.fullmatch(array) and not _NAME.fullmatch(scalar) and _contiguous(a)
                    and type(r) is np.ndarray and r.shape == a.shape and r.dtype == a.dtype
                    and isinstance(value, (int, float, np.generic)) and np.ndim(value) == 0
                    and not isinstance(value, (bool, np.bool_))):
                name = f"_z{len(namespace)}"
                constant = np.full(a.shape, value, a.dtype)
                constant.flags.writeable = False
                if np.array_equal(getattr(np, ufunc)(a, value), getattr(np, ufunc)(a, constant),
                                  equal_nan=True):
                    namespace[name] = constant
                    operands = (array, name) if array == first else (name, array)
                    line = f"{result} = np.{ufunc}({operands[0]}, {operands[1]})"
        out.append(line)
    return out


_WHERE = re.compile(r"(v\d+) = np\.where\((_[fc]\d+), (v\d+|_c\d+), (v\d+|_c\d+)\)")


def _masked_fills(lines, owned, reals, namespace):
    """``vR = np.where(mask, vA, c)`` for a constant mask (a causal mask), a 0-d constant
    ``c`` and a new buffer ``vA`` read by no later line: ``np.copyto(vA, c, where=~mask)``,
    written in place (the same entries; float32 (8, 4, 64, 64): 148 µs -> 62 µs)."""
    last = {}
    for i, line in enumerate(lines):
        for name in _NAME.findall(line):
            last[name] = i
    out = list(lines)
    for i, line in enumerate(lines):
        match = _WHERE.fullmatch(line)
        if not match:
            continue
        result, mask_name, first, second = match.groups()
        array, fill, keep = (first, second, True) if first.startswith("v") else \
            (second, first, False)
        mask, value = namespace.get(mask_name), namespace.get(fill)
        a, r = reals.get(array), reals.get(result)
        if not (array.startswith("v") and fill.startswith("_c") and type(mask) is np.ndarray
                and mask.dtype == bool and isinstance(value, (np.ndarray, np.generic, float))
                and np.ndim(value) == 0 and array in owned and last.get(array) == i
                and type(a) is np.ndarray and type(r) is np.ndarray and a.shape == r.shape
                and a.dtype == r.dtype and np.result_type(a, value) == a.dtype):
            continue
        if any(_tape.memory_owner(reals[n]) is a for n, j in last.items()
               if j > i and n != array and n in reals):
            continue  # a view of it is still read later
        where = mask if not keep else ~mask
        where_name = f"_m{len(namespace)}"
        namespace[where_name] = where
        out[i] = f"np.copyto({array}, {fill}, where={where_name}); {result} = {array}"
        owned[result] = a.dtype
    return out


_ISFINITE = re.compile(r"(v\d+) = np\.isfinite\((v\d+)\)")
_ALL_OF = re.compile(r"(v\d+) = np\.logical_and\.reduce\((v\d+), axis=None\)")
_BOOL_GUARD = re.compile(r"if bool\((v\d+)\) is not (True|False): raise _GuardFailure")


@functools.lru_cache(maxsize=None)
def _dot_sees_nonfinite(char):
    """Whether ``np.vdot(a, zeros)`` is NaN for every array ``a`` of dtype ``char`` holding an
    inf or a NaN (inf * 0 and NaN * 0 are NaN, finite * 0 is 0: IEEE says so, and this
    checks that the BLAS behind NumPy does every product), and 0 for the largest finite
    numbers. Checked once per dtype, at a few sizes and positions."""
    dtype = np.dtype(char)
    for size in (1, 7, 64, 1000, 4099):
        zeros = np.zeros(size, dtype)
        for bad in (np.inf, -np.inf, np.nan):
            for where in {0, size // 2, size - 1}:
                a = np.ones(size, dtype)
                a[where] = bad
                if math.isfinite(np.vdot(a, zeros)):
                    return False
        if np.vdot(np.full(size, np.finfo(dtype).max, dtype), zeros) != 0:
            return False
    return True


def _finite_guards(lines, reals, namespace):
    """Eager's test that an array is finite everywhere (``_select`` before its product)::

        vB = np.isfinite(vA); vC = np.logical_and.reduce(vB, axis=None)
        if bool(vC) is not True: raise _GuardFailure

    becomes ``if not _isfinite(np.vdot(vA, zeros)): raise _GuardFailure`` for a float32 or
    float64 ``vA``: the dot is NaN exactly when an entry is inf or NaN, in one BLAS pass
    with no bool temporary (float32 128x128: 4.2 µs -> 2.0 µs). A 0-d test,
    ``vB = np.isfinite(vA)`` then its guard, becomes ``math.isfinite(vA)`` (1.2 µs ->
    0.1 µs). The same outcome for every input: the guard fails when eager's would."""
    uses = collections.Counter(name for line in lines for name in _NAME.findall(line))
    out = list(lines)
    for i, line in enumerate(lines):
        match = _ISFINITE.fullmatch(line)
        if not match or uses[match.group(1)] != 2:
            continue
        test, source = match.groups()
        a = reals.get(source)
        if not isinstance(a, (np.ndarray, np.generic)) or a.dtype.char not in "efd":
            continue
        if np.ndim(a) == 0:
            guard = _BOOL_GUARD.fullmatch(lines[i + 1]) if i + 1 < len(lines) else None
            if guard and guard.group(1) == test:
                negate = "not " if guard.group(2) == "True" else ""
                out[i] = None
                out[i + 1] = f"if {negate}_isfinite({source}): raise _GuardFailure"
            continue
        if i + 2 >= len(lines) or a.dtype.char not in "fd" or type(a) is not np.ndarray:
            continue
        every, guard = _ALL_OF.fullmatch(lines[i + 1]), _BOOL_GUARD.fullmatch(lines[i + 2])
        if not (every and guard and every.group(2) == test and guard.group(1) == every.group(1)
                and uses[every.group(1)] == 2 and _dot_sees_nonfinite(a.dtype.char)):
            continue
        zeros = np.zeros(a.size, a.dtype)
        zeros.flags.writeable = False
        name = f"_z{len(namespace)}"
        namespace[name] = zeros
        negate = "not " if guard.group(2) == "True" else ""
        out[i] = out[i + 1] = None
        out[i + 2] = f"if {negate}_isfinite(np.vdot({source}, {name})): raise _GuardFailure"
    namespace.setdefault("_isfinite", math.isfinite)
    return [line for line in out if line is not None]


_MULTIPLY = re.compile(r"(v\d+) = np\.multiply\((v\d+), (v\d+)((?:, out=v\d+)?)\)")
BOOL_MASK_SIZE = 1024  # smaller products keep their bool operand (the cast costs a call)


def _bool_masks(lines, reals):
    """``np.multiply(vG, vM)`` of a float32/float64 array and a bool mask of the same shape
    (ReLU's backward, ``g * (x > 0)``): the mask is cast to vG's dtype first,
    ``np.multiply(vG, vM.astype(np.float32))``. NumPy casts the bool operand to the float
    either way, but inside the ufunc that runs a buffered loop: float32 128x128, 5.9 µs
    against 1.8 + 2.1 µs. The same products, bit for bit."""
    out = []
    for line in lines:
        match = _MULTIPLY.fullmatch(line)
        if match:
            result, first, second, rest = match.groups()
            a, b = reals.get(first), reals.get(second)
            if type(a) is np.ndarray and type(b) is np.ndarray and a.shape == b.shape \
                    and a.size >= BOOL_MASK_SIZE:
                if a.dtype == bool and b.dtype.char in "fd":
                    first = f"{first}.astype(np.{b.dtype.name})"
                elif b.dtype == bool and a.dtype.char in "fd":
                    second = f"{second}.astype(np.{a.dtype.name})"
                line = f"{result} = np.multiply({first}, {second}{rest})"
        out.append(line)
    return out


_DOT_GUARD = re.compile(r"if not _isfinite\(np\.vdot\((v\d+), (_z\d+)\)\): raise _GuardFailure")
_MASK_OPERAND = re.compile(r"(v\d+)(?:\.astype\(np\.\w+\))?")
_MASK_PRODUCT = re.compile(
    r"(v\d+) = np\.multiply\((v\d+(?:\.astype\(np\.\w+\))?), (v\d+(?:\.astype\(np\.\w+\))?)"
    r"((?:, out=v\d+)?)\)")
_ONES_MATMUL = re.compile(r"(v\d+) = np\.matmul\((_c\d+), (v\d+)\)")


def _late_guards(lines, reals, namespace, owned):
    """ReLU's backward as finite_guards and bool_masks leave it, followed by the bias sum::

        if not _isfinite(np.vdot(vG, zeros)): raise _GuardFailure
        vP = np.multiply(vG, vM, out=vG)          # vM: a 0/1 mask of vG's shape
        vS = np.matmul(ones, vP)                  # the bias gradient, (n,)

    tests the (n,) sum instead, after it: ``if not _isfinite(np.vdot(vS, zeros_n))``
    (float32 128x128: 2.6 µs -> 0.6 µs). It never passes where eager's test would fail:
    an inf or NaN in vG gives vP an inf (mask 1) or a NaN (mask 0: inf * 0), and the
    column sum holding it is inf or NaN. The one difference: a finite vG whose column
    sums overflow fails this guard where eager's passes; the call is then recorded again
    (and after 3 such misses runs eagerly), never replayed wrong. Only when the three lines
    are adjacent and vG is a new buffer of the program: nothing outside it is written
    before the guard. Off by default: with an inf/NaN in vG the product computes inf * 0
    before the guard fails, which warns (or raises under ``np.seterr``) where eager is
    silent."""
    out = list(lines)
    for i in range(len(lines) - 2):
        guard = _DOT_GUARD.fullmatch(lines[i])
        product = _MASK_PRODUCT.fullmatch(lines[i + 1])
        total = _ONES_MATMUL.fullmatch(lines[i + 2])
        if not (guard and product and total):
            continue
        source, zeros_name = guard.groups()
        result, first, second, rest = product.groups()
        mask_text = second if first == source else first if second == source else None
        mask = _MASK_OPERAND.fullmatch(mask_text or "")
        g, m = reals.get(source), reals.get(mask.group(1)) if mask else None
        ones, summed = namespace.get(total.group(2)), reals.get(total.group(3))
        if not (mask and source in owned and rest in ("", f", out={source}")
                and total.group(3) == result and type(g) is np.ndarray and g.ndim == 2
                and type(m) is np.ndarray and m.dtype == bool and m.shape == g.shape
                and type(ones) is np.ndarray and ones.shape == g.shape[:1]
                and ones.dtype == g.dtype and bool(np.all(ones == 1))
                and type(summed) is np.ndarray and summed.dtype == g.dtype):
            continue
        sums = reals.get(total.group(1))
        if type(sums) is not np.ndarray or sums.shape != g.shape[1:]:
            continue
        zeros = np.zeros(sums.size, sums.dtype)
        zeros.flags.writeable = False
        name = f"_z{len(namespace)}"
        namespace[name] = zeros
        if not any(zeros_name in line for j, line in enumerate(out) if j != i and line):
            namespace.pop(zeros_name, None)
        out[i] = None
        out[i + 2] = (f"{lines[i + 2]}\nif not _isfinite(np.vdot({total.group(1)}, {name})): "
                      "raise _GuardFailure")
    return [part for line in out if line is not None for part in line.split("\n")]


_TRANSPOSE = re.compile(r"(v\d+) = (v\d+)\.m?T")
_PLAIN_COPY = re.compile(r"(v\d+) = (v\d+)\.copy\(\)")


def _transposed_operands(lines, reals):
    """``vT = vB.T; vC = vT.copy()`` (the lean cross-entropy's gradient, back to rows
    first) read by ``np.matmul`` as one of two matrices: the GEMM reads ``vT`` itself
    (BLAS takes a transposed operand for free; float32 (128, 10) GEMMs 6.2 -> 5.6 µs and
    4.9 -> 4.4 µs), and the copy goes when nothing else reads it. Only when the product
    has the same bits (checked on the recorded values: OpenBLAS sums in the same order) and
    no line between the copy and the GEMM touches vB's memory."""
    transposed = {}
    for line in lines:
        match = _TRANSPOSE.fullmatch(line)
        if match:
            transposed[match.group(1)] = match.group(2)
    copies = {}  # copy name -> (its line, the view it copies)
    for i, line in enumerate(lines):
        match = _PLAIN_COPY.fullmatch(line)
        if match and match.group(2) in transposed:
            copies[match.group(1)] = (i, match.group(2))
    if not copies:
        return lines
    out = list(lines)
    for i, line in enumerate(lines):
        match = _MATMUL.fullmatch(line)
        if not match:
            continue
        result, first, second = match.groups()
        for k, name in ((1, first), (2, second)):
            if name not in copies:
                continue
            start, view = copies[name]
            a, b = reals.get(first), reals.get(second)
            v, base = reals.get(view), reals.get(transposed[view])
            if not all(type(x) is np.ndarray for x in (a, b, v, base)) or a.ndim != 2 \
                    or b.ndim != 2 or v.shape != reals[name].shape:
                continue
            owner = _tape.memory_owner(base)
            aliases = {n for n, r in reals.items() if isinstance(r, np.ndarray)
                       and _tape.memory_owner(r) is owner} | {view, transposed[view]}
            if any(set(_NAME.findall(lines[j])) & aliases for j in range(start + 1, i)):
                continue
            x, y = (v, b) if k == 1 else (a, v)
            if not np.array_equal(np.matmul(a, b), np.matmul(x, y)):
                continue
            first, second = (view, second) if k == 1 else (first, view)
            out[i] = f"{result} = np.matmul({first}, {second})"
    uses = collections.Counter(n for line in out for n in _NAME.findall(line))
    return [line for line in out
            if not ((m := _PLAIN_COPY.fullmatch(line)) and m.group(1) in copies
                    and uses[m.group(1)] == 1)]


_ADD_OUT = re.compile(r"(v\d+) = np\.add\((v\d+), (v\d+), out=(v\d+)\)")
_DATA_READ = re.compile(r"v\d+ = _t\d+\._data")


def _transposed_products(lines, reals):
    """A linear layer's output copied classes-first (the lean cross-entropy's
    ``z.T.copy()``)::

        vP = np.matmul(vA, vW); vS = np.add(vP, vB, out=vP); vT = vS.T; vC = vT.copy()

    becomes ``vC = np.matmul(vW.T, vA.T); np.add(vC, vB[:, None], out=vC)``: the GEMM
    writes the transposed product C-ordered, and the copy goes (float32 (128, 128) @
    (128, 10): 8.2 -> 7.3 µs). Only when vP, vS, vT are read nowhere else, nothing but
    tensor reads lies between, and the recorded values give the same bits (OpenBLAS sums
    (a @ w).T and w.T @ a.T in the same order for most shapes, not all)."""
    uses = collections.Counter(n for line in lines for n in _NAME.findall(line))
    out = list(lines)
    for i, line in enumerate(lines):
        product = _MATMUL.fullmatch(line)
        if not product:
            continue
        p, a_name, w_name = product.groups()
        j = i + 1
        while j < len(lines) and _DATA_READ.fullmatch(lines[j]):
            j += 1
        if j + 2 >= len(lines):
            continue
        add = _ADD_OUT.fullmatch(lines[j])
        view = _TRANSPOSE.fullmatch(lines[j + 1])
        copy = _PLAIN_COPY.fullmatch(lines[j + 2])
        if not (add and view and copy and add.group(2) == p == add.group(4)
                and view.group(2) == add.group(1) and copy.group(2) == view.group(1)
                and uses[p] == 3 and uses[add.group(1)] == 2 and uses[view.group(1)] == 2):
            continue
        bias_name, result = add.group(3), copy.group(1)
        a, w, b = reals.get(a_name), reals.get(w_name), reals.get(bias_name)
        if not (all(type(x) is np.ndarray for x in (a, w, b)) and a.ndim == w.ndim == 2
                and b.shape == w.shape[1:] and a.dtype == w.dtype == b.dtype
                and a.dtype.char in "fd"):
            continue
        flipped = np.matmul(w.T, a.T)
        np.add(flipped, b[:, None], out=flipped)
        if not np.array_equal(flipped, (np.matmul(a, w) + b).T):
            continue
        out[i] = out[j] = out[j + 1] = None
        out[j + 2] = (f"{result} = np.matmul({w_name}.T, {a_name}.T); "
                      f"np.add({result}, {bias_name}[:, None], out={result})")
    return [line for line in out if line is not None]


_RELU = re.compile(r"(v\d+) = np\.maximum\((v\d+|_z\d+|0|0\.0), (v\d+|_z\d+|0|0\.0)\)")
_POSITIVE = re.compile(r"(v\d+) = np\.greater\((v\d+), (?:0|0\.0)\)")


def _relu_masks(lines, reals, namespace):
    """``vR = np.maximum(vH, zeros)`` (ReLU) and later ``vM = np.greater(vH, 0)`` (its
    backward's mask): the mask is read from vR, ``np.greater(vR, 0)``. The same bools: vR
    is vH where vH > 0, a zero where vH <= 0, NaN where vH is NaN (NaN > 0 is False either
    way). vH may then die at the ReLU, whose result ``reuse`` writes into it (float32
    128x128: one 64 KiB buffer less, measured 0.983x of the step's time). Only when no line
    between writes into vR or a view of it."""
    relus = {}  # input name -> (line index, output name)
    out = list(lines)
    for i, line in enumerate(lines):
        match = _RELU.fullmatch(line)
        if match:
            result, first, second = match.groups()
            source, zero = (first, second) if first.startswith("v") else (second, first)
            if zero.startswith("v"):  # np.maximum(vA, vB): not a ReLU
                continue
            value = namespace.get(zero) if zero.startswith("_z") else float(zero)
            if (source.startswith("v") and np.all(np.asarray(value) == 0)
                    and type(reals.get(result)) is np.ndarray):
                relus[source] = (i, result)
            continue
        match = _POSITIVE.fullmatch(line)
        if not match or match.group(2) not in relus:
            continue
        start, result = relus[match.group(2)]
        owner = _tape.memory_owner(reals[result])
        aliases = {n for n, r in reals.items() if isinstance(r, np.ndarray)
                   and _tape.memory_owner(r) is owner}
        safe = True
        for between in lines[start + 1:i]:
            for name in set(_NAME.findall(between)) & aliases:
                view = _TRANSPOSE.fullmatch(between)
                if not (_read_only_use(between, name) or (view and name in view.groups())):
                    safe = False
        if safe:
            out[i] = f"{match.group(1)} = np.greater({result}, 0)"
    return out


_ANY_MATMUL = re.compile(r"(v\d+) = np\.matmul\((v\d+|_c\d+), (v\d+|_c\d+)\)")


def _dot_calls(lines, reals, namespace):
    """``vR = np.matmul(A, B)`` of a float32/float64 vector and matrix (bias sums
    ``ones @ g``, the lean cross-entropy's class sums): ``np.dot(A, B)``. Both call the same
    BLAS GEMV; np.dot skips the generalised ufunc's machinery: float32 ones(128) @
    (128, 10) 1.8 -> 1.3 µs, ones(128) @ (128, 128) 2.4 -> 1.9 µs. Only where the two give
    the same bits on the recorded values. (Matrix products stay np.matmul: np.dot's gain
    there is within noise, 6.9 -> 6.4 µs for (128, 128) @ (128, 10) but none at
    (128, 64) @ (64, 128).)"""
    out = []
    for line in lines:
        match = _ANY_MATMUL.fullmatch(line)
        if match:
            result, first, second = match.groups()
            a, b = ((namespace if n.startswith("_c") else reals).get(n) for n in (first, second))
            if (type(a) is np.ndarray and type(b) is np.ndarray and a.dtype == b.dtype
                    and a.dtype.char in "fd" and sorted((a.ndim, b.ndim)) == [1, 2]
                    and type(reals.get(result)) is np.ndarray
                    and np.array_equal(np.dot(a, b), np.matmul(a, b))):
                line = f"{result} = np.dot({first}, {second})"
        out.append(line)
    return out


_GATHERED = re.compile(r"(v\d+) = (v\d+)\[(_c\d+)\]")
_SCALAR_SHIFT = re.compile(r"np\.(subtract|add)\((v\d+), ([-+]?[0-9][0-9.e+-]*), "
                           r"out=\(\2,\)\)")
_SCATTERED = re.compile(r"(v\d+)\[(_c\d+)\] = (v\d+)")
ONE_HOT_SIZE = 4096  # larger arrays keep the gather and scatter (the dense op costs O(size))


def _dense_one_hots(lines, reals, namespace):
    """``vA = vF[idx]; np.subtract(vA, s, out=(vA,)); vF[idx] = vA`` with a constant index
    array and a small float vF (the lean cross-entropy's ``p - y`` on the flat gradient):
    one ``np.subtract(vF, M, out=(vF,))`` with the constant M = s at idx, 0 elsewhere
    (float32 (1280,) with 128 targets: 1.3 -> 0.5 µs). The same bits: x - 0 is x for
    every x (-0.0 and NaN included), and an index given twice gets one subtraction in both
    forms."""
    uses = collections.Counter(n for line in lines for n in _NAME.findall(line))
    out = list(lines)
    for i in range(len(lines) - 2):
        gather, shift, scatter = (p.fullmatch(lines[i + k]) for k, p in
                                  enumerate((_GATHERED, _SCALAR_SHIFT, _SCATTERED)))
        if not (gather and shift and scatter):
            continue
        part, flat, index = gather.groups()
        if (shift.group(2) != part or scatter.groups() != (flat, index, part)
                or uses[part] != 4):
            continue
        f, idx = reals.get(flat), namespace.get(index)
        if not (type(f) is np.ndarray and f.ndim == 1 and f.dtype.char in "fd"
                and f.size <= ONE_HOT_SIZE and type(idx) is np.ndarray and idx.ndim == 1
                and idx.dtype.kind in "iu"):
            continue
        dense = np.zeros(f.shape, f.dtype)
        dense[idx] = float(shift.group(3))
        dense.flags.writeable = False
        name = next(n for k in itertools.count(len(namespace))
                    if (n := f"_c{k}") not in namespace)
        namespace[name] = dense
        out[i] = out[i + 2] = None
        out[i + 1] = f"np.{shift.group(1)}({flat}, {name}, out=({flat},))"
    return [line for line in out if line is not None]


_ALIAS = re.compile(r"(v\d+) = (v\d+)")


def _aliases(lines):
    """``vB = vA`` (left by ``copies``): vB's readers read vA, and the line goes (~0.1 µs a
    line with its ``del``; a plain rename: both names hold one object)."""
    assigned = collections.Counter(line.partition(" = ")[0] for line in lines)
    renames = {}
    out = []
    for line in lines:
        match = _ALIAS.fullmatch(line)
        if match and assigned[match.group(1)] == 1 and assigned[match.group(2)] == 1:
            renames[match.group(1)] = renames.get(match.group(2), match.group(2))
            continue
        if renames:
            line = _NAME.sub(lambda m: renames.get(m.group(0), m.group(0)), line)
        out.append(line)
    return out


BUFFER_BYTES = 1 << 16  # smaller temporaries come from NumPy's allocator as they are
_FRESH_CALL = re.compile(r"(v\d+) = np\.(\w+)\(([^()]*)\)")
_FRESH_LINE = re.compile(r"v\d+ = (np\.\w+\.(reduce|accumulate)\(|np\.matmul\(|v\d+\.copy\()")
_EMPTY_2D = re.compile(r"(v\d+) = np\.empty\([^;]*\); (np\.matmul\(.*\))")


def _persistent_buffers(lines, reals, namespace):
    """Temporaries of at least BUFFER_BYTES that a ufunc or a matmul allocates are written
    (``out=``) into buffers made once, when the program is built, instead of new memory
    at every call (large new arrays cost page faults: the kernel hands out fresh zeroed
    pages). Only for values that never leave the program (not returned, not a ``.grad``,
    nor anything that may be a view of them); names whose lifetimes do not overlap share
    a buffer. The program then replays in one thread at a time."""
    parent = {}

    def find(name):
        while parent.get(name, name) != name:
            name = parent[name]
        return name

    def union(a, b):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[ra] = rb

    candidates = {}  # line index -> (name, how)
    last = {}
    for i, line in enumerate(lines):
        names = _NAME.findall(line)
        for name in names:
            last[name] = i
        target, sep, rest = line.partition(" = ")
        if not (sep and _NAME.fullmatch(target)):
            for name in names[1:]:  # a statement (out=, [...] =, copyto): may alias any
                union(names[0], name)
            continue
        real = reals.get(target)
        big = (type(real) is np.ndarray and real.nbytes >= BUFFER_BYTES
               and real.flags.c_contiguous and real.dtype.isbuiltin)
        call = _FRESH_CALL.fullmatch(line)
        matmul_2d = _EMPTY_2D.fullmatch(line)
        if call and isinstance(getattr(np, call.group(2), None), np.ufunc) and \
                "=" not in call.group(3):
            if big and getattr(np, call.group(2)).nout == 1:
                candidates[i] = (target, "call")
            continue
        if call and call.group(2) == "matmul" and "=" not in call.group(3):
            if big:
                candidates[i] = (target, "call")
            continue
        if matmul_2d and big:
            candidates[i] = (target, "empty")
            continue
        if _FRESH_LINE.match(line) and "out=" not in line:
            continue  # a new array, no view of its operands
        for name in names:  # anything else may alias its operands
            union(target, name)
    escaping = set()
    for line in lines:
        if line.startswith("return") or "._grad = " in line:
            escaping.update(find(n) for n in _NAME.findall(line))
    ends = collections.defaultdict(int)
    for name, i in last.items():
        ends[find(name)] = max(ends[find(name)], i)
    pool = collections.defaultdict(list)   # (shape, dtype) -> [(free from line, buffer)]
    out = list(lines)
    for i in sorted(candidates):
        name, how = candidates[i]
        root = find(name)
        if root in escaping:
            continue
        real = reals[name]
        key = (real.shape, real.dtype.str)
        free = [entry for entry in pool[key] if entry[0] < i]
        if free:  # the one freed last: still in cache
            entry = max(free, key=lambda e: e[0])
            pool[key].remove(entry)
            buffer_name = entry[1]
        else:
            buffer_name = f"_p{len(namespace)}"
            namespace[buffer_name] = np.empty(real.shape, real.dtype)
        pool[key].append((ends[root], buffer_name))
        if how == "call":
            out[i] = f"{lines[i][:-1]}, out={buffer_name})"
        else:
            out[i] = f"{name} = {buffer_name}; " + _EMPTY_2D.fullmatch(lines[i]).group(2)
    return out


_VIEWING = {"reshape", "transpose", "broadcast_to", "broadcast_arrays", "squeeze",
            "expand_dims", "ravel", "swapaxes", "moveaxis", "atleast_1d", "atleast_2d",
            "atleast_3d", "split", "array_split", "diagonal", "real", "imag", "asarray",
            "asanyarray", "ascontiguousarray", "copyto", "put", "place", "putmask",
            "fill_diagonal", "put_along_axis", "flip", "roll"}


def _fold_constants(lines, namespace, owned):
    """Constant folding: a line that reads only constants and names folded before it (the
    seed ``ones`` of a backward, a causal mask) runs once, when the program is built; its
    name becomes a constant ``_fN``. A name is folded only if no line of the program
    writes into it, returns it, makes it a ``.grad`` or may take a view of it (those could
    change the constant between calls, or hand it out)."""
    producers = {}   # folded name -> indices of the lines that make it (and fill it)
    for i, line in enumerate(lines):
        target, sep, rest = line.partition(" = ")
        names = _NAME.findall(rest if sep else line)
        pure = (sep and "_A" not in rest and "generator()" not in rest and ";" not in line
                and not re.search(r"\b_t\d", rest) and all(n in producers for n in names))
        if pure and _NAME.fullmatch(target) and target not in producers:
            producers[target] = [i]
        elif pure and re.fullmatch(r"v\d+\[.*\]", target):
            base = target.partition("[")[0]
            if base in producers and not any(n in producers for n in
                                             _NAME.findall(target.partition("[")[2])):
                producers[base].append(i)  # fills a folded buffer (np.empty, then [...] =)
    while producers:
        owner = {i: name for name, indices in producers.items() for i in indices}
        bad = set()
        for i, line in enumerate(lines):
            for name in {n for n in _NAME.findall(line) if n in producers}:
                if owner.get(i) == name:
                    continue
                if owner.get(i) is not None:  # a folded line reading it: checked below
                    continue
                if not _read_only_use(line, name):
                    bad.add(name)
        # what is computed from a name that is not folded is not folded either
        for name, indices in producers.items():
            if name not in bad and any(n in bad or n not in producers
                                       for i in indices for n in _NAME.findall(lines[i])
                                       if n != name):
                bad.add(name)
        if not bad:
            break
        producers = {n: i for n, i in producers.items() if n not in bad}
    if not producers:
        return lines
    dropped = sorted(i for indices in producers.values() for i in indices)
    scope = dict(namespace)
    try:
        exec("\n".join(lines[i] for i in dropped), scope)
    except Exception:
        return lines  # (a constant computation that fails at build time: leave it to replays)
    renames = {name: f"_f{name[1:]}" for name in producers}
    for name, constant in renames.items():
        namespace[constant] = scope[name]
        owned.pop(name, None)
    dropped = set(dropped)

    def rename(line):
        return _NAME.sub(lambda m: renames.get(m.group(0), m.group(0)), line)

    return [rename(line) for i, line in enumerate(lines) if i not in dropped]


_SAFE_METHODS = ("copy", "sum", "mean", "max", "min", "all", "any", "dot", "astype")


def _read_only_use(line, name):
    """Whether ``line`` only reads the array ``name`` (no write into it, no view of it, not
    handed out as a result or a ``.grad``)."""
    if line.startswith("return"):
        return False
    if line.startswith("if "):
        return True
    target, sep, rest = line.partition(" = ")
    if not sep:  # a statement: a ufunc with out=, np.copyto, ...
        rest, target = line, ""
        first = re.match(r"np\.[\w.]+\((v\d+)", line)
        if first and first.group(1) == name:
            return False
    elif not (_NAME.fullmatch(target) or re.fullmatch(r"v\d+\[.*\]", target)):
        return False  # ``_t0._grad = ...``
    if name in _NAME.findall(target) and target.partition("[")[0] == name:
        return False  # written into
    if rest == name or re.search(rf"out=\(?{name}\b", rest):
        return False
    if rest.startswith(name + "."):
        return rest.startswith(tuple(f"{name}.{m}(" for m in _SAFE_METHODS))
    if rest.startswith(name + "["):
        return False  # a basic index is a view
    head = re.match(r"np\.([\w]+)", rest)
    return not (head and head.group(1) in _VIEWING)


FREE_BYTES = 1 << 14  # smaller buffers are not worth a ``del`` line


_ELEMENTWISE = {"add", "subtract", "multiply", "divide", "true_divide", "maximum", "minimum",
                "exp", "log", "tanh", "negative", "sqrt", "square", "absolute", "sin", "cos",
                "power", "where"} - {"where"}
_UFUNC_LINE = re.compile(r"(v\d+) = np\.(\w+)\(([^()]*)\)")


def _reuse_buffers(lines, owned, reals):
    """``vR = np.add(vA, vB)`` becomes ``vR = np.add(vA, vB, out=vA)`` when vA is a new
    buffer of the result's shape and dtype, read by no later line, and no name still in
    use is a view of it: the result is written where vA was (no allocation). Replays make
    the same buffers and views as the recording, so what holds there holds at replay."""
    last = {}
    for i, line in enumerate(lines):
        for name in _NAME.findall(line):
            last[name] = i
    out = list(lines)
    reused = set()
    for i, line in enumerate(lines):
        match = _UFUNC_LINE.fullmatch(line)
        if not match or match.group(2) not in _ELEMENTWISE:
            continue
        result, _, arguments = match.groups()
        operands = [a.strip() for a in arguments.split(",")]
        if any("=" in a for a in operands):
            continue
        real = reals.get(result)
        if not isinstance(real, np.ndarray) or real.ndim == 0:
            continue
        for operand in operands:
            source = reals.get(operand)
            if (operand not in owned or operand in reused or last.get(operand) != i
                    or not isinstance(source, np.ndarray) or source.shape != real.shape
                    or source.dtype != real.dtype or source is real):
                continue
            if any(_tape.memory_owner(reals[n]) is source for n, j in last.items()
                   if j > i and n != operand and n in reals):
                continue  # a view of it is still read later
            out[i] = f"{result} = np.{match.group(2)}({arguments}, out={operand})"
            reused.add(operand)
            owned[result] = real.dtype  # the result holds that same new buffer
            break
    return out


def _optimize(lines, owned=None, sizes=None, reals=None, namespace=None):
    """Dead-code elimination (a ``vN = ...`` line whose name is never read, unless it draws
    random numbers) and freeing (``del`` after a name's last read, so NumPy's allocator
    reuses the memory of dead buffers, as eager's freed graph does)."""
    if PASSES["dce"]:
        while True:
            used = collections.Counter()
            for line in lines:
                target, _, rest = line.partition(" = ")
                names = _NAME.findall(rest if _NAME.fullmatch(target) else line)
                used.update(names)
            kept = [line for line in lines
                    if not (_NAME.fullmatch(line.partition(" = ")[0]) and
                            not used[line.partition(" = ")[0]] and "generator()" not in line)]
            if len(kept) == len(lines):
                break
            lines = kept
    if PASSES["reductions"] and reals:
        lines = _direct_reductions(lines, reals)
    if PASSES["matmul_sum"] and reals:
        lines = _matmul_sums(lines, reals, owned)
    if PASSES["matmul_2d"] and reals:
        lines = _matmul_2d(lines, reals)
    if PASSES["fold"] and namespace is not None:
        lines = _fold_constants(lines, namespace, owned)
    if PASSES["scalar_operands"] and reals and namespace is not None:
        lines = _scalar_operands(lines, reals, namespace)
    if PASSES["relu_masks"] and reals and namespace is not None:
        lines = _relu_masks(lines, reals, namespace)
    if PASSES["reuse"] and owned and reals:
        lines = _reuse_buffers(lines, owned, reals)
    if PASSES["masked_fills"] and owned and reals and namespace is not None:
        lines = _masked_fills(lines, owned, reals, namespace)
    if PASSES["sparse_adds"] and reals:
        lines = _sparse_adds(lines, reals)
    if PASSES["finite_guards"] and reals and namespace is not None:
        lines = _finite_guards(lines, reals, namespace)
    if PASSES["bool_masks"] and reals:
        lines = _bool_masks(lines, reals)
    if PASSES["copies"] and owned:
        lines = _elide_copies(lines, owned)
        lines = _copy_methods(lines, reals, namespace or {})
    if PASSES["aliases"]:
        lines = _aliases(lines)
    # (after copies: the guard's read of the bias sum must not make it copied)
    if PASSES["late_guards"] and PASSES["finite_guards"] and reals and namespace is not None:
        lines = _late_guards(lines, reals, namespace, owned or {})
    if PASSES["transposed_operands"] and reals:
        lines = _transposed_operands(lines, reals)
    if PASSES["transposed_products"] and reals:
        lines = _transposed_products(lines, reals)
    if PASSES["dot_calls"] and reals and namespace is not None:
        lines = _dot_calls(lines, reals, namespace)
    if PASSES["one_hots"] and reals and namespace is not None:
        lines = _dense_one_hots(lines, reals, namespace)
    if PASSES["buffers"] and reals and namespace is not None:
        lines = _persistent_buffers(lines, reals, namespace)
    if not PASSES["free"]:
        return lines
    last = {}
    for i, line in enumerate(lines):
        for name in _NAME.findall(line):
            last[name] = i
    dying = collections.defaultdict(list)
    for name, i in last.items():
        if sizes is None or sizes.get(name, 0) >= FREE_BYTES:
            dying[i].append(name)
    out = []
    for i, line in enumerate(lines):
        out.append(line)
        if line.startswith("return"):
            continue
        if dying.get(i):
            out.append("del " + ", ".join(sorted(dying[i], key=lambda n: int(n[1:]))))
    return out


def _alias_checks(rec, leaves, tensors):
    """Lines that refuse a replay whose tensor arguments alias the program's other tensors
    differently from the recording (reads and .grad writes would go to the wrong one)."""
    positions = [i for i, leaf in enumerate(leaves) if isinstance(leaf, Tensor)]
    if not positions:
        return []
    lines = []
    held = [v for v in rec.ns.values() if isinstance(v, Tensor)]
    if held:
        rec.ns["_held"] = frozenset(id(t) for t in held)
        ids = ", ".join(f"id(_A[{i}])" for i in positions)
        lines.append(f"if not _held.isdisjoint(({ids},)): raise _Mismatch")
    # A tensor argument the rest of the program may reach otherwise (a closure, a module):
    # its reads were all attributed to the argument, so the replay needs that same tensor.
    for i in positions:
        if _referenced_elsewhere(leaves[i], rec.bookkeeping):
            name = rec.const(weakref.ref(leaves[i]), "w")
            lines.append(f"if _A[{i}] is not {name}(): raise _Mismatch")
    rec.ns["_Mismatch"] = _Mismatch
    return lines


def _opaque_arguments(value, found=None, depth=0):
    """The arguments that are neither containers, arrays, tensors nor Python values (a
    model passed to the step): their identity is part of the signature."""
    found = [] if found is None else found
    if type(value) in (tuple, list) and depth < 16:
        for item in value:
            _opaque_arguments(item, found, depth + 1)
    elif type(value) is dict and depth < 16:
        for item in value.values():
            _opaque_arguments(item, found, depth + 1)
    elif not isinstance(value, (Tensor, np.ndarray, np.generic, bool, int, float, complex, str,
                                type(None))):
        found.append(value)
    return found


_WALK_DEPTH = 12      # edges from fn to a tensor it reads, at most
_WALK_NODES = 20000   # objects looked at, at most, per recording
_WALK_ITEMS = 10000   # a list, tuple, dict or object with more items is not looked into
_NOT_WALKED = (type, types.ModuleType, np.ndarray, np.generic, np.dtype, str, bytes, int,
               float, complex, bool, type(None), Tensor, weakref.ref, types.BuiltinFunctionType,
               np.random.Generator, np.random.BitGenerator)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _code_names(code, found=None):
    """The global (and attribute) names ``code`` and the code nested in it use."""
    found = set() if found is None else found
    found.update(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _code_names(const, found)
    return found


def _engine_function(function):
    module = getattr(function, "__module__", None) or ""
    return module == "autograd" or module.startswith(("autograd.", "numpy"))


def _edges(value):
    """(holder, accessor, child) for what ``value`` holds that fn may reach a tensor
    through: ``holder`` is the object the accessor applies to (``value`` itself, or an
    object it holds that cannot be rebound: a function's closure cell, its globals)."""
    kind = type(value)
    if kind in (list, tuple, dict) and len(value) > _WALK_ITEMS:
        return []
    if kind is list or kind is tuple:
        return [(value, f"[{i}]", item) for i, item in enumerate(value)]
    if kind is dict:
        return [(value, f"[{key!r}]", item) for key, item in value.items()
                if type(key) in (str, int)]
    if isinstance(value, types.FunctionType):
        if _engine_function(value):
            return []
        code, out = value.__code__, []
        for cell, name in zip(value.__closure__ or (), code.co_freevars):
            try:
                out.append((cell, ".cell_contents", cell.cell_contents))
            except ValueError:  # an empty cell (a name bound later)
                pass
        namespace = value.__globals__
        for name in sorted(_code_names(code)):
            if name in namespace:
                out.append((namespace, f"[{name!r}]", namespace[name]))
        if value.__defaults__:
            out.append((value, ".__defaults__", value.__defaults__))
        if value.__kwdefaults__:
            out.append((value, ".__kwdefaults__", value.__kwdefaults__))
        return out
    if isinstance(value, types.MethodType):
        return [(value, ".__self__", value.__self__), (value, ".__func__", value.__func__)]
    if isinstance(value, functools.partial):
        return [(value, ".func", value.func), (value, ".args", value.args),
                (value, ".keywords", value.keywords)]
    if isinstance(value, Compiled):
        return [(value, ".fn", value.fn)]
    attributes = getattr(value, "__dict__", None)
    if type(attributes) is not dict or kind.__module__.startswith("numpy") or \
            len(attributes) > _WALK_ITEMS:
        return []
    out = []
    for name, item in attributes.items():
        if type(name) is str and _IDENTIFIER.match(name) and not hasattr(kind, name):
            out.append((value, f".{name}", item))
        elif type(name) is str:
            out.append((value, f".__dict__[{name!r}]", item))
    return out


def _reach_checks(rec, fn, opaque):
    """Lines that refuse a replay (it records again) when fn no longer reaches the tensors
    the program holds: from fn (its closure cells, the globals its code names, and so on
    through the functions, modules, objects, lists and dicts found there) and from the
    arguments that are objects, every path to a tensor the program reads is checked,
    edge by edge, by identity (``model.fc.weight = new`` or ``w = new`` between calls is
    seen), and the lists and dicts on those paths by length (an appended layer)."""
    targets = {id(v): v for v in rec.ns.values() if isinstance(v, Tensor)}
    if not targets:
        return []
    parents = {}   # id(node) -> [(id(parent), holder, accessor)], the edges into it
    nodes = {}     # id(node) -> node (kept alive during the walk: ids stay unique)
    roots = [fn, *opaque]
    level = []
    for root in roots:
        if id(root) not in nodes:
            nodes[id(root)] = root
            parents[id(root)] = []
            level.append(root)
    depth, looked = 0, 0
    while level and depth < _WALK_DEPTH and looked < _WALK_NODES:
        following = []
        for node in level:
            looked += 1
            try:
                edges = _edges(node)
            except Exception:  # an object whose attributes cannot be listed: not followed
                continue
            for holder, accessor, child in edges:
                key = id(child)
                if key in targets:
                    parents.setdefault(key, []).append((id(node), holder, accessor))
                    nodes[key] = child
                    continue
                if key in nodes or issubclass(type(child), _NOT_WALKED):
                    continue
                nodes[key] = child
                parents[key] = [(id(node), holder, accessor)]
                following.append(child)
        level, depth = following, depth + 1
    # The edges on a path from a root to a target; the lists and dicts on them.
    needed, sized, pending = [], [], [k for k in targets if k in parents]
    done = set()
    while pending:
        key = pending.pop()
        if key in done:
            continue
        done.add(key)
        node = nodes[key]
        if type(node) in (list, dict) and key not in targets:
            sized.append(node)
        for parent, holder, accessor in parents[key]:
            needed.append((holder, accessor, node))
            pending.append(parent)
    if not needed:
        return []
    parts = [f"{rec.const(holder, 'o')}{accessor} is not {rec.const(node, 'o')}"
             for holder, accessor, node in needed]
    parts += [f"len({rec.const(node, 'o')}) != {len(node)}" for node in sized]
    rec.ns["_Mismatch"] = _Mismatch
    return ["try:",
            "    if " + " or ".join(parts) + ": raise _Mismatch",
            "except (LookupError, AttributeError, ValueError, TypeError):",
            "    raise _Mismatch"]


def _referenced_elsewhere(tensor, bookkeeping):
    """Whether something other than frames, the arguments' containers and compile's own
    lists refers to ``tensor`` (a closure cell, a module's or an object's attribute, a list
    kept somewhere). A tuple or list that only frames hold (a call's arguments) does not
    count."""
    referrers = gc.get_referrers(tensor)
    for referrer in referrers:
        if type(referrer).__name__ == "frame" or id(referrer) in bookkeeping:
            continue
        if type(referrer) in (tuple, list):
            holders = gc.get_referrers(referrer)
            if all(h is referrers or type(h).__name__ == "frame" or id(h) in bookkeeping
                   for h in holders):
                continue
        return True
    return False


def _containers(value, found, depth=0):
    if type(value) in (tuple, list, dict) and depth < 16:
        found.add(id(value))
        for item in (value.values() if type(value) is dict else value):
            _containers(item, found, depth + 1)
    return found


def _reachable(result):
    """ids of the tensors in fn's result and of the graph behind them."""
    seen, pending = set(), []

    def visit(value, depth=0):
        if isinstance(value, Tensor):
            pending.append(value)
        elif type(value) in (tuple, list) and depth < 8:
            for item in value:
                visit(item, depth + 1)
        elif type(value) is dict and depth < 8:
            for item in value.values():
                visit(item, depth + 1)

    visit(result)
    while pending:
        t = pending.pop()
        if id(t) not in seen:
            seen.add(id(t))
            pending.extend(t._parents)
            if isinstance(t._grad, Tensor):
                pending.append(t._grad)
    return seen


def _check_no_leftovers(rec, tensors, reachable):
    """Tensors made during the recording that are still alive, outside fn's result, hold
    traced arrays: give them their real values, and refuse if any is really kept (an
    attribute, a list): a replay would not update it."""
    known = {id(t) for t in tensors}
    candidates, inside = [], []
    for o in gc.get_objects():
        if not issubclass(type(o), Tensor) or id(o) in known:
            continue
        if (type(o._data) is Traced and o._data._rec is rec) or \
                (type(o._grad) is Traced and o._grad._rec is rec):
            (inside if id(o) in reachable else candidates).append(o)
    kept = []
    if candidates:
        references = [weakref.ref(o) for o in candidates]
        del candidates
        gc.collect()  # reference cycles that are garbage already are not kept
        kept = [o for o in (r() for r in references) if o is not None]
    for o in inside + kept:
        if type(o._data) is Traced:
            o._data = o._data._v  # a constant snapshot from now on
        if type(o._grad) is Traced:
            o._grad = o._grad._v
    if kept:
        rec.fail(f"fn keeps {len(kept)} tensor(s) it computed outside its result (in an "
                 f"attribute, a list, a cache; the first has shape {kept[0].shape}): a replay "
                 "would not update them")


def _state_check(rec, where, t, data, grad, grad_read=True):
    parts = [f"{where}.requires_grad is not {t.requires_grad!r}",
             f"{where}._data.shape != {np.shape(data)!r}",
             f"{where}._data.dtype is not {rec.const(data.dtype, 'dt')}"]
    if grad is None:
        parts.append(f"{where}._grad is not None")
    elif not grad_read and PASSES["checks"]:
        # fn never read this .grad's value (it set it to None first): only whether it is
        # None can matter (``if p.grad is None`` in fn's code)
        parts.append(f"{where}._grad is None")
    else:
        parts.append(f"type({where}._grad) is not {rec.const(type(grad), 'ty')}")  # (not None)
        parts.append(f"{where}._grad.shape != {np.shape(grad)!r}")
        parts.append(f"{where}._grad.dtype is not {rec.const(grad.dtype, 'dt')}")
    rec.ns["_Mismatch"] = _Mismatch
    return "if " + " or ".join(parts) + ": raise _Mismatch"


def _outputs(rec, value, parts):
    """The real value of fn's result for this call, and (in parts[0]) its replay expression."""
    kind = type(value)
    if kind in (tuple, list):
        reals, texts = [], []
        for item in value:
            sub = []
            reals.append(_outputs(rec, item, sub))
            texts.append(sub[0])
        if kind is tuple:
            parts.append("(" + "".join(f"{t}, " for t in texts) + ")")
            return tuple(reals)
        parts.append("[" + ", ".join(texts) + "]")
        return reals
    if kind is dict:
        reals, texts = {}, []
        for k, item in value.items():
            sub = []
            reals[k] = _outputs(rec, item, sub)
            texts.append(f"{rec.expr(k)}: {sub[0]}")
        parts.append("{" + ", ".join(texts) + "}")
        return reals
    if isinstance(value, Tensor):
        data = value._data
        if isinstance(data, Traced):
            if data._rec is not rec:
                rec.fail("fn returned a value from another recording")
            if data._source is not None:  # a tensor from before the call, returned as it is
                parts.append(rec.source(data._source[:2] + (None,)))
                return value
            parts.append(f"_constant({data._ref()})")
            return _constant(data._v)
        parts.append(f"_constant({rec.const(data)})")
        return _constant(data)
    if isinstance(value, Traced):
        parts.append(value._ref())
        return value._v
    if isinstance(value, (numbers.Number, str, type(None), np.ndarray, np.generic)):
        parts.append(rec.expr(value) if not isinstance(value, np.ndarray) else rec.const(value))
        return value
    rec.fail(f"fn returned a {type(value).__name__}; compile returns numbers, arrays, "
             "tensors and tuples/lists/dicts of them")


def _readable(source, rec):
    """The program's source with a header naming the constants it refers to."""
    header = ["# ag.compile: the replayed program (forward, then backward)"]
    held = sorted(n for n in rec.ns if re.fullmatch(r"_o\d+", n))
    if held:
        header.append(f"# {held[0]}..: the {len(held)} objects (cells, globals, modules, lists) "
                      "through which fn reaches its tensors, checked at each call")
    for name in sorted(n for n in rec.ns if n.startswith("_") and n[1:2] in "ctfdzmp"
                       and not re.fullmatch(r"_o\d+", n)):
        value = rec.ns[name]
        if isinstance(value, Tensor):
            header.append(f"# {name}: Tensor{value.shape} {value.dtype}")
        elif isinstance(value, np.ndarray):
            header.append(f"# {name}: constant array {value.shape} {value.dtype}")
        else:
            header.append(f"# {name}: {value!r:.60}")
    return "\n".join(header) + "\n" + source


def compile(fn):
    """Trace ``fn`` once per signature, replay it as one flat NumPy program.

    ``fn`` may build a loss, call ``.backward()`` or use ``ag.grad``/``ag.value_and_grad``,
    and read parameters held in closures or modules. The first call with a signature
    (argument structure, shapes, dtypes, Python numbers, grad mode; requires_grad and
    .grad-is-None of the tensors read) runs ``fn`` for real while recording its NumPy
    calls; later calls replay them, reading the current ``.data`` and ``.grad`` and writing
    ``.grad`` as eager does. Python values read from tensors become guards; what cannot be
    traced runs eagerly with a ``CompileWarning`` (see the module docstring).
    Tensors in the result come back as constants (no graph).

    >>> import autograd as ag
    >>> from autograd.compiler import compile
    >>> w = ag.tensor([1.0, 2.0], requires_grad=True)
    >>> @compile
    ... def step(x):
    ...     loss = (x * w).sum()
    ...     loss.backward()
    ...     return loss
    >>> float(step(ag.tensor([3.0, 4.0])).data), w.grad
    (11.0, array([3., 4.]))
    >>> float(step(ag.tensor([1.0, 1.0])).data), w.grad   # replayed; .grad accumulates
    (3.0, array([4., 5.]))
    >>> "np.multiply" in step.code
    True
    """
    if not callable(fn):
        raise TypeError(f"compile expects a function, got {type(fn).__name__}")
    return Compiled(fn)
