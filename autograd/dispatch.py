"""NumPy on Tensors, and the Tensor methods: both derived from the registry.

``np.exp(x)``, ``np.sum(x, axis=0)`` and ``ndarray * x`` reach ``Tensor.__array_ufunc__``
/ ``__array_function__``, which come here: a NumPy function or ufunc that a registered
entry answers for runs that entry; one without a gradient rule is refused when an input
requires grad (nothing leaves the tape without a word), and otherwise runs on the plain
arrays. ``bind`` attaches every registered method, operator and property to ``Tensor``.

The tables are built once, at import, from ``registry.entries()``.
"""

from __future__ import annotations

import builtins
import difflib
import functools
import inspect

import numpy as np

# Importing these registers the built-ins: every module that holds primitive blocks.
from autograd import primitives, assembly, contractions, linalg  # noqa: F401,E402
from autograd import registry
from autograd.operands import numpy_name
from autograd.tensors import Tensor, constant

__all__ = ["ufunc", "function", "bind"]


def _tables():
    ufuncs, functions = {}, {}
    for entry in registry.entries(builtin_only=True):
        for numpy_callable in entry.numpy:
            table = ufuncs if isinstance(numpy_callable, np.ufunc) else functions
            if numpy_callable in table:
                raise ValueError(f"registry: {numpy_name(numpy_callable)} is claimed by both "
                                 f"{table[numpy_callable].name} and {entry.name}")
            table[numpy_callable] = entry
    return ufuncs, functions


_UFUNC_ENTRIES, _FUNCTION_ENTRIES = _tables()
_UFUNCS = {u: e.function for u, e in _UFUNC_ENTRIES.items()}
_CONSTANT_UFUNCS = {u for u, e in _UFUNC_ENTRIES.items() if e.kind == "constant"}
_FUNCTIONS = {f: e.function for f, e in _FUNCTION_ENTRIES.items()}

# NumPy functions without a gradient that are fine on tensors that require grad: they
# return plain arrays or booleans that carry no gradient (argmax, comparisons, shapes...).
_CONSTANT_FUNCTIONS = {
    "argmax", "argmin", "argsort", "allclose", "isclose", "array_equal", "shape", "ndim",
    "size", "count_nonzero", "nonzero", "any", "all", "result_type", "array_repr", "array_str",
    "may_share_memory", "shares_memory", "copyto", "zeros_like",
    "ones_like", "empty_like", "full_like",
}


def _unwrap(value):
    """Replace Tensors (also inside lists and tuples) by their arrays; report if any required grad."""
    if isinstance(value, Tensor):
        return value._data, value.requires_grad
    if isinstance(value, (list, tuple)):
        items = [_unwrap(v) for v in value]
        return type(value)(v for v, _ in items), builtins.any(r for _, r in items)
    return value, False


def _holds_tensor(value):
    if isinstance(value, tuple):
        return builtins.any(isinstance(v, Tensor) for v in value)
    return isinstance(value, Tensor)


def ufunc(numpy_ufunc, method, inputs, kwargs):
    """``Tensor.__array_ufunc__``: a registered ufunc runs its primitive."""
    if method == "__call__" and not kwargs and numpy_ufunc in _UFUNCS:
        return _UFUNCS[numpy_ufunc](*inputs)
    if _holds_tensor(kwargs.get("out")):
        raise TypeError(
            f"{numpy_name(numpy_ufunc)}(..., out=...) cannot write into a Tensor: backward may "
            "have saved its values, and overwriting them would change gradients without a word. "
            "Use the result instead (y = np.add(a, b)), or assign to x.data outside any graph "
            "(tracked: a graph that saved x then refuses to run)")
    arrays, tracked = _unwrap(inputs)
    if tracked and not (method == "__call__" and numpy_ufunc in _CONSTANT_UFUNCS):
        if method == "__call__" and numpy_ufunc in _UFUNCS:
            hint = (" For where=..., select afterwards: ag.where(mask, np.add(x, 1), fallback)."
                    if "where" in kwargs else "")
            raise TypeError(
                f"{numpy_name(numpy_ufunc)} on a tensor that requires grad takes no keyword "
                f"arguments; got {', '.join(f'{k}=' for k in kwargs)}.{hint} out= and dtype= "
                "would take the result off the tape: cast with x.astype(dtype) first")
        raise TypeError(
            f"{numpy_name(numpy_ufunc)}{'' if method == '__call__' else '.' + method} has no "
            "gradient rule in autograd and an input "
            f"requires grad{_nearest_supported(numpy_ufunc, method)}; apply it to x.data for a "
            "constant result")
    kwargs = {k: _unwrap(v)[0] for k, v in kwargs.items()}
    result = getattr(numpy_ufunc, method)(*arrays, **kwargs)
    if "out" in kwargs:  # NumPy wrote into the caller's array(s) and returns them: so do we
        return result
    return constant(result) if isinstance(result, (np.ndarray, np.generic)) else result


def function(numpy_function, args, kwargs):
    """``Tensor.__array_function__``: a registered NumPy function runs its primitive."""
    implementation = _FUNCTIONS.get(numpy_function)
    if implementation is not None:
        try:
            return implementation(*args, **kwargs)
        except TypeError as error:
            _explain_arguments(numpy_function, implementation, args, kwargs, error)
            raise
    if numpy_function is np.copyto and _holds_tensor(args[0] if args else kwargs.get("dst")):
        raise TypeError(
            "np.copyto cannot write into a Tensor: backward may have saved its values, and "
            "overwriting them would change gradients without a word. Assign to x.data instead "
            "(x.data = new_values: tracked), outside any graph")
    arrays, tracked = _unwrap(args)
    keywords, tracked_keywords = _unwrap(tuple(kwargs.values()))
    if tracked or tracked_keywords:
        if numpy_function.__name__ not in _CONSTANT_FUNCTIONS:
            raise TypeError(
                f"{numpy_name(numpy_function)} has no gradient rule in autograd and an input "
                f"requires grad{_nearest_supported(numpy_function)}; apply it to x.data (or "
                "x.detach()) for a constant result")
    return numpy_function(*arrays, **dict(zip(kwargs, keywords)))


# ufunc methods that a registered reduction or scan does: np.add.reduce(x) -> ag.sum.
_METHOD_EQUIVALENTS = {
    ("add", "reduce"): "sum", ("multiply", "reduce"): "prod", ("maximum", "reduce"): "max",
    ("minimum", "reduce"): "min", ("add", "accumulate"): "cumsum",
    ("multiply", "accumulate"): "cumprod",
}


def _nearest_supported(numpy_callable, method="__call__"):
    """``" (nearest supported: ag.cumsum)"`` for a NumPy function or ufunc (method) without
    a gradient rule, naming the registered function closest to it, or ``""`` if none is
    close: the same name without NumPy's ``nan`` prefix, else a close spelling
    (np.linalg.eigvals -> ag.linalg.eigvalsh) within the same namespace."""
    parts = numpy_name(numpy_callable).split(".")  # np.nancumsum, np.linalg.eigvals
    if parts[0] != "np":
        return ""
    namespace, name = ".".join(parts[1:-1]), parts[-1]
    if method != "__call__":
        match = _METHOD_EQUIVALENTS.get((name, method))
        return f" (nearest supported: ag.{match})" if match else ""
    names = {key.rpartition(".")[2]: key for key in registry.builtin_names()
             if key.rpartition(".")[0] == namespace}
    stem = name[3:] if name.startswith("nan") else name
    close = [stem] if stem in names else difflib.get_close_matches(stem, names, n=1, cutoff=0.75)
    return f" (nearest supported: ag.{names[close[0]]})" if close else ""


def _explain_arguments(numpy_function, implementation, args, kwargs, error):
    """Raise a TypeError naming the NumPy function if ``args``/``kwargs`` do not fit the
    autograd implementation's signature (a keyword NumPy has that we do not support)."""
    signature = inspect.signature(implementation)
    try:
        signature.bind(*args, **kwargs)
    except TypeError as mismatch:
        raise TypeError(f"{numpy_name(numpy_function)} on tensors: {mismatch} (supported "
                        f"arguments: {', '.join(signature.parameters)})") from None


# ---------------------------------------------------------------------------
# Tensor methods, operators and properties.
# ---------------------------------------------------------------------------

def _reflected(function, name):
    """``__rsub__(self, other)`` as ``function(other, self)``, with a name and a docstring."""
    @functools.wraps(function)
    def method(self, other):
        return function(other, self)

    method.__name__ = method.__qualname__ = name
    symbol = _OPERATORS.get(name, name)
    method.__doc__ = f"``other {symbol} self``, as ``{function.__name__}(other, self)``."
    return method


_OPERATORS = {"__rsub__": "-", "__rtruediv__": "/", "__rpow__": "**", "__rmatmul__": "@",
              "__rmod__": "%"}


def bind(cls):
    """Attach every registered method, reflected operator and property to ``cls`` (Tensor)."""
    for entry in registry.entries(builtin_only=True):
        for name in entry.methods:
            setattr(cls, name, entry.function)
        for name in entry.reflected:
            setattr(cls, name, _reflected(entry.function, name))
        for name in entry.properties:
            summary = (entry.function.__doc__ or "").strip().split("\n")[0]
            setattr(cls, name, property(entry.function, doc=f"``x.{name}``: {summary}"))
