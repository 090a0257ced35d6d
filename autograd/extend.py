"""Add your own primitive: ``primitive`` and ``defvjp``, with HIPS autograd's conventions.

    import numpy as np
    from autograd.extend import primitive, defvjp

    @primitive                      # the body sees plain ndarrays, never Tensors
    def logsumexp(x):
        m = np.max(x)
        return m + np.log(np.sum(np.exp(x - m)))

    # one maker per argument: (ans, *args, **kwargs) -> (g -> cotangent of that argument)
    defvjp(logsumexp, lambda ans, x: lambda g: g * np.exp(x - ans))

``logsumexp(t)`` on a Tensor that requires grad records one node on the tape, the same
kind of node a built-in records (``ag.viz.tape`` prints it by name); on plain arrays it
is the plain function, returning what the body returns.

The rule for higher order: **a VJP may only use differentiable operations if you want
grad of grad.** The maker runs when backward needs it, with what backward has: plain
arrays in a first-order pass, Tensors under ``create_graph`` (``ag.grad(ag.grad(f))``,
``ag.hessian``). Written with NumPy functions and operators, as above, it then records
itself and can be differentiated again: the Hessian of ``logsumexp`` is the softmax
Jacobian ``diag(p) - p pᵀ``::

    >>> import autograd as ag
    >>> @primitive
    ... def logsumexp(x):
    ...     m = np.max(x)
    ...     return m + np.log(np.sum(np.exp(x - m)))
    >>> defvjp(logsumexp, lambda ans, x: lambda g: g * np.exp(x - ans))
    >>> ag.hessian(logsumexp)(np.array([0.0, np.log(3.0)])).data.round(4)   # p = (1/4, 3/4)
    array([[ 0.1875, -0.1875],
           [-0.1875,  0.1875]])

A maker that leaves NumPy for plain Python (``float(x)``) or calls another ``@primitive``
without a VJP of its own works to first order only.

Arguments: positional arguments that are Tensors are the node's inputs; the maker of
argument ``i`` gives their cotangent. Other arguments (numbers, axes, arrays) are
passed to the body and to the makers as they are. Keyword arguments are never
differentiated (a Tensor there that requires grad is an error).
"""

from __future__ import annotations

import functools

import numpy as np

from autograd import registry, tape
from autograd.tensors import Tensor, constant, record

__all__ = ["primitive", "defvjp"]


def primitive(function):
    """Make ``function`` (ndarrays in, an ndarray or number out) a primitive of the tape.

    Returns a wrapper with the same name and docstring. Give it VJPs with ``defvjp``.
    """
    if not callable(function):
        raise TypeError(f"primitive: expected a function, got {type(function).__name__}")
    name = getattr(function, "__name__", type(function).__name__)

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        if not positions and not any(isinstance(v, Tensor) for v in kwargs.values()):
            return function(*args, **kwargs)       # plain arrays: the plain function
        plain_args = tuple(a._data if isinstance(a, Tensor) else a for a in args)
        plain_kwargs = {k: _keyword_value(name, k, v) for k, v in kwargs.items()}
        ans = _numeric_result(name, function(*plain_args, **plain_kwargs))
        parents = tuple(args[i] for i in positions)
        if not (tape.is_grad_enabled() and any(p.requires_grad for p in parents)):
            return constant(ans)
        vjps = tuple(_vjp(entry, name, i, positions, plain_args, plain_kwargs) for i in positions)
        return record(ans, parents, vjps, name)

    entry = registry.register(wrapper, name=name, builtin=False)
    wrapper.registry_entry = entry
    return wrapper


def defvjp(function, *makers, argnums=None):
    """Give the primitive ``function`` one VJP maker per argument.

    ``defvjp(f, maker_0, maker_1, ...)`` covers arguments 0, 1, ...; with ``argnums`` the
    makers cover those positions (``defvjp(f, maker, argnums=(1,))``). A maker is
    ``(ans, *args, **kwargs) -> (g -> cotangent)``: ``ans`` is the output, ``args`` the
    arguments as the body saw them, ``g`` the cotangent of the output; the cotangent it
    returns has the shape of that argument. ``None`` means the argument has no gradient
    (backward raises if one is needed). Calling ``defvjp`` again replaces the makers given.

    >>> @primitive
    ... def scale(x, factor):
    ...     return x * factor
    >>> defvjp(scale, lambda ans, x, factor: lambda g: g * factor, None)
    """
    entry = getattr(function, "registry_entry", None)
    if entry is None or entry.builtin:
        raise TypeError(f"defvjp: expected a function made with @primitive, got "
                        f"{getattr(function, '__name__', function)!r}; decorate it first")
    positions = tuple(range(len(makers))) if argnums is None else tuple(argnums)
    if len(positions) != len(makers):
        raise ValueError(f"defvjp({entry.name}): {len(makers)} makers for argnums {positions}")
    for position, maker in zip(positions, makers):
        if maker is not None and not callable(maker):
            raise TypeError(f"defvjp({entry.name}): the maker for argument {position} must be a "
                            f"function (ans, *args) -> (g -> cotangent) or None, got "
                            f"{type(maker).__name__}")
        entry.makers[position] = maker
    entry.vjps = dict(entry.makers)


def _keyword_value(name, key, value):
    if not isinstance(value, Tensor):
        return value
    if value.requires_grad and tape.is_grad_enabled():
        raise TypeError(f"{name}: keyword argument {key}= is a tensor that requires grad, but "
                        "keyword arguments are not differentiated; pass it positionally")
    return value._data


def _numeric_result(name, ans):
    if isinstance(ans, Tensor):
        raise TypeError(f"{name}: a @primitive body must return plain arrays or numbers, got a "
                        "Tensor (the body sees ndarrays; build Tensors outside it)")
    array = np.asarray(ans)
    if array.dtype.kind not in "fiub":
        raise TypeError(f"{name}: a @primitive must return a number or a numeric array, got "
                        f"{type(ans).__name__} of dtype {array.dtype}")
    return array[()] if array.ndim == 0 else (ans if isinstance(ans, np.ndarray) else array)


def _vjp(entry, name, position, positions, plain_args, kwargs):
    """The tape's ``vjp(g, out, *inputs)`` for argument ``position``, calling its maker."""
    def vjp(g, out, *inputs):
        maker = entry.makers.get(position)
        if maker is None:
            raise NotImplementedError(
                f"{name}: no VJP for argument {position}, which requires grad; give one with "
                f"defvjp({name}, ..., argnums=({position},))")
        arguments = list(plain_args)
        for i, value in zip(positions, inputs):  # arrays first order, Tensors under create_graph
            arguments[i] = value
        cotangent = maker(out, *arguments, **kwargs)(g)
        return _checked(cotangent, inputs[positions.index(position)], name, position)

    return vjp


def _checked(cotangent, given, name, position):
    """The maker's result with the shape and dtype of the argument it belongs to."""
    shape, dtype = np.shape(given._data if isinstance(given, Tensor) else given), _dtype(given)
    if np.shape(cotangent) != shape:
        raise ValueError(
            f"{name}: the VJP of argument {position} returned shape {np.shape(cotangent)}, but "
            f"the argument has shape {shape}; a VJP must return one cotangent entry per entry "
            "of its argument (sum over broadcast axes yourself)")
    if isinstance(cotangent, Tensor):
        return cotangent if cotangent.dtype == dtype else cotangent.astype(dtype)
    return np.array(cotangent, dtype=dtype)  # a copy: backward may hand it out as .grad


def _dtype(value):
    return value.dtype if isinstance(value, Tensor) else np.asarray(value).dtype
