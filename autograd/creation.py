"""Creating tensors: NumPy's creation functions with ``requires_grad=``, and the seeded generator.

``ag.zeros((2, 3), requires_grad=True)`` is ``ag.tensor(np.zeros((2, 3)), requires_grad=True)``.
Shapes and dtypes follow NumPy (float64 unless ``dtype=`` says otherwise); ``randn`` and
``rand`` also take PyTorch's spelling of a shape as separate ints (``ag.randn(2, 3)``).
Random tensors come from one ``np.random.Generator``, reseeded by ``ag.manual_seed``,
the same one layers initialise from (``ag.nn.Linear``), so one seed fixes a whole run.

>>> import autograd as ag
>>> w = ag.zeros((2, 3), requires_grad=True)
>>> w.shape, w.dtype, w.requires_grad
((2, 3), dtype('float64'), True)
>>> _ = ag.manual_seed(0)
>>> a = ag.randn(2, 3)
>>> _ = ag.manual_seed(0)
>>> bool((a.data == ag.randn((2, 3)).data).all())
True
"""

from __future__ import annotations

import numpy as np

from autograd.tensors import Tensor

__all__ = ["manual_seed", "generator", "zeros", "ones", "full", "empty", "arange", "linspace",
           "eye", "randn", "rand", "zeros_like", "ones_like", "full_like"]

_generator = np.random.default_rng()


def manual_seed(seed):
    """Reseed the generator that ``randn``, ``rand`` and layer initialisation draw from;
    returns the new ``np.random.Generator``.

    >>> import autograd as ag, numpy as np
    >>> _ = ag.manual_seed(0)
    >>> a = ag.nn.Linear(4, 2).weight.data
    >>> _ = ag.manual_seed(0)
    >>> np.array_equal(a, ag.nn.Linear(4, 2).weight.data)
    True
    """
    global _generator
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"manual_seed expects a non-negative integer, got {seed!r}")
    _generator = np.random.default_rng(int(seed))
    return _generator


def generator():
    """The ``np.random.Generator`` that ``manual_seed`` last seeded.

    >>> g = manual_seed(0)
    >>> generator() is g
    True
    """
    return _generator


def _made(array, requires_grad):
    return Tensor(array, requires_grad=requires_grad)


def zeros(shape, dtype=np.float64, requires_grad=False):
    """A tensor of zeros of ``shape`` (an int or a tuple), float64 unless ``dtype=``.

    >>> zeros((2, 3))
    Tensor([[0., 0., 0.],
            [0., 0., 0.]], dtype=float64)
    >>> zeros(2, requires_grad=True).requires_grad
    True
    """
    return _made(np.zeros(shape, dtype), requires_grad)


def ones(shape, dtype=np.float64, requires_grad=False):
    """A tensor of ones of ``shape`` (an int or a tuple), float64 unless ``dtype=``.

    >>> ones(2, dtype=np.float32)
    Tensor([1., 1.], dtype=float32)
    """
    return _made(np.ones(shape, dtype), requires_grad)


def full(shape, fill_value, dtype=None, requires_grad=False):
    """A tensor of ``shape`` filled with ``fill_value`` (dtype: NumPy's choice for it).

    >>> full(2, 0.5).data
    array([0.5, 0.5])
    """
    return _made(np.full(shape, fill_value, dtype), requires_grad)


def empty(shape, dtype=np.float64, requires_grad=False):
    """A tensor of ``shape`` whose values are whatever the memory held (fill it before use).

    >>> e = empty((2, 3), dtype=np.float32)
    >>> e.shape, e.dtype
    ((2, 3), dtype('float32'))
    """
    return _made(np.empty(shape, dtype), requires_grad)


def arange(start, stop=None, step=1, dtype=None, requires_grad=False):
    """Evenly spaced values in [start, stop), as ``np.arange`` (integers unless a float is given).

    >>> arange(3).data, arange(0.0, 1.0, 0.5).data
    (array([0, 1, 2]), array([0. , 0.5]))
    """
    values = np.arange(start, stop, step, dtype) if stop is not None else np.arange(start, dtype=dtype)
    return _made(values, requires_grad)


def linspace(start, stop, num=50, endpoint=True, dtype=None, requires_grad=False):
    """``num`` evenly spaced values from ``start`` to ``stop`` (both included unless
    ``endpoint=False``), shape ``(num,)``, as ``np.linspace``.

    >>> linspace(0.0, 1.0, 5)
    Tensor([0.  , 0.25, 0.5 , 0.75, 1.  ], dtype=float64)
    """
    return _made(np.linspace(start, stop, num, endpoint=endpoint, dtype=dtype), requires_grad)


def eye(n, m=None, k=0, dtype=np.float64, requires_grad=False):
    """The ``(n, m)`` identity (``m`` defaults to ``n``), with ones on diagonal ``k``
    (``k > 0`` above the main diagonal).

    >>> eye(2, 3, k=1)
    Tensor([[0., 1., 0.],
            [0., 0., 1.]], dtype=float64)
    """
    return _made(np.eye(n, m, k, dtype), requires_grad)


def _shape(sizes):
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        return tuple(sizes[0])
    return sizes


def randn(*shape, dtype=np.float64, requires_grad=False):
    """Standard normal samples of ``shape`` (``randn(2, 3)`` or ``randn((2, 3))``), from the
    generator ``manual_seed`` seeds (drawn in float64, then cast to ``dtype``).

    >>> import autograd as ag
    >>> _ = ag.manual_seed(0)
    >>> x = randn(2, 3, dtype=np.float32)
    >>> x.shape, x.dtype
    ((2, 3), dtype('float32'))
    >>> _ = ag.manual_seed(0)
    >>> bool(np.array_equal(x.data, randn((2, 3)).data.astype(np.float32)))
    True
    """
    return _made(_generator.standard_normal(_shape(shape)).astype(dtype, copy=False), requires_grad)


def rand(*shape, dtype=np.float64, requires_grad=False):
    """Uniform samples in [0, 1) of ``shape`` (``rand(2, 3)`` or ``rand((2, 3))``), from
    the generator ``manual_seed`` seeds.

    >>> import autograd as ag
    >>> _ = ag.manual_seed(0)
    >>> u = rand(1000)
    >>> u.shape, bool(((0 <= u.data) & (u.data < 1)).all())
    ((1000,), True)
    """
    return _made(_generator.random(_shape(shape)).astype(dtype, copy=False), requires_grad)


def _like(x):
    return x.data if isinstance(x, Tensor) else x


def zeros_like(x, dtype=None, requires_grad=False):
    """Zeros of ``x``'s shape and dtype (a Tensor or an array), unless ``dtype=``.

    >>> zeros_like(Tensor(np.ones((2, 2), np.float32)))
    Tensor([[0., 0.],
            [0., 0.]], dtype=float32)
    """
    return _made(np.zeros_like(_like(x), dtype), requires_grad)


def ones_like(x, dtype=None, requires_grad=False):
    """Ones of ``x``'s shape and dtype (a Tensor or an array), unless ``dtype=``.

    >>> ones_like(np.zeros(3), requires_grad=True)
    Tensor([1., 1., 1.], dtype=float64, requires_grad=True)
    """
    return _made(np.ones_like(_like(x), dtype), requires_grad)


def full_like(x, fill_value, dtype=None, requires_grad=False):
    """``fill_value`` everywhere, in ``x``'s shape and dtype (so an integer ``x`` truncates
    a float fill, as NumPy does), unless ``dtype=``.

    >>> full_like(Tensor([1.0, 2.0]), 7.0)
    Tensor([7., 7.], dtype=float64)
    >>> full_like(np.arange(3), 2.5, dtype=np.float64)
    Tensor([2.5, 2.5, 2.5], dtype=float64)
    """
    return _made(np.full_like(_like(x), fill_value, dtype), requires_grad)
