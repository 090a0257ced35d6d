"""The registry: every primitive, declared once.

An entry says what an operation is called, the function that runs it, how it is
differentiated, the NumPy functions and ufuncs it answers for when NumPy is called on a
Tensor (``np.exp(x)``), and the Tensor methods and operators bound to it. Everything
else is derived from the entries when ``autograd`` is imported, never kept by hand:

    dispatch.py      NumPy's ufuncs and functions on Tensors -> the registered function
    Tensor           methods, operators, reflected operators (``__rsub__``), properties
    autograd.<name>  the exports of the package
    tests            the check that every primitive has a row in ``tests/specs.py``

Kinds of entry:

    "primitive"  records a node with its own VJPs (one per differentiable input)
    "composed"   written with other primitives; the tape differentiates it (``mean``)
    "constant"   has no gradient: its result is a constant (comparisons, ``sign``,
                 ``floor``): piecewise constant, so the zero gradient is the true one

Built-ins are registered by ``primitives.py``; users add theirs with
``autograd.extend.primitive`` and ``defvjp``, which land here too (not exported).
Nothing here runs per call: the tables are built once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

__all__ = ["Entry", "register", "entries", "builtin", "builtin_names", "exports", "namespace"]

KINDS = ("primitive", "composed", "constant")


@dataclass
class Entry:
    """One registered operation (see the module docstring)."""

    name: str
    function: Callable
    kind: str = "primitive"
    vjps: object = None          # how the node is differentiated: a tuple of VJPs, a maker, ...
    numpy: tuple = ()            # NumPy ufuncs and functions that dispatch to ``function``
    methods: tuple = ()          # Tensor methods and operators: ``method(self, *args)``
    reflected: tuple = ()        # reflected operators: ``__rsub__(self, other) = f(other, self)``
    properties: tuple = ()       # Tensor properties: ``x.T = f(x)``
    builtin: bool = True         # False for users' primitives (autograd.extend)
    makers: dict = field(default_factory=dict)  # users' primitives: argnum -> VJP maker
    namespace: str | None = None  # "linalg": exported as ``ag.linalg.<name>``, not ``ag.<name>``

    @property
    def key(self):
        """The name the registry knows it by: ``"exp"``, or ``"linalg.inv"`` in a namespace."""
        return f"{self.namespace}.{self.name}" if self.namespace else self.name


_ENTRIES: list[Entry] = []
_BUILTIN: dict[str, Entry] = {}


def register(function, vjps=None, *, kind="primitive", numpy=(), methods=(), reflected=(),
             properties=(), name=None, builtin=True, namespace=None):
    """Add ``function`` to the registry and return its entry.

    ``numpy``, ``methods``, ``reflected`` and ``properties`` take one item or a tuple.
    Built-in names are unique (a second ``exp`` is a bug); users' names need not be.
    ``namespace`` files the entry under a sub-namespace (``"linalg"`` for ``ag.linalg.inv``):
    its key is ``"linalg.inv"`` and ``exports()`` leaves it out of ``ag.<name>``.

    >>> import numpy as np
    >>> from autograd.registry import builtin
    >>> builtin("exp").numpy == (np.exp,)
    True
    """
    if kind not in KINDS:
        raise ValueError(f"register: kind must be one of {KINDS}, got {kind!r}")
    entry = Entry(name=name or function.__name__, function=function, kind=kind, vjps=vjps,
                  numpy=_tuple(numpy), methods=_tuple(methods), reflected=_tuple(reflected),
                  properties=_tuple(properties), builtin=builtin, namespace=namespace)
    if builtin:
        if entry.key in _BUILTIN:
            raise ValueError(f"register: a built-in primitive named {entry.key!r} exists already")
        _BUILTIN[entry.key] = entry
    _ENTRIES.append(entry)
    return entry


def _tuple(value):
    if value is None:
        return ()
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def entries(builtin_only=False):
    """Every entry, in registration order (the built-ins first: primitives.py is imported first)."""
    return [e for e in _ENTRIES if e.builtin or not builtin_only]


def builtin(name):
    """The built-in entry called ``name`` (``"linalg.inv"`` in a namespace; KeyError if none)."""
    return _BUILTIN[name]


def builtin_names(kind=None):
    """Keys of the built-in entries (of one ``kind`` if given), in registration order."""
    return [name for name, e in _BUILTIN.items() if kind is None or e.kind == kind]


def exports():
    """{name: function} for every built-in: what ``import autograd as ag`` offers as ``ag.<name>``
    (namespaced entries are their module's: ``ag.linalg.inv``)."""
    return {e.name: e.function for e in _BUILTIN.values() if e.namespace is None}


def namespace(name):
    """{name: function} of the built-ins filed under ``name`` (``namespace("linalg")``)."""
    return {e.name: e.function for e in _BUILTIN.values() if e.namespace == name}
