"""Helpers around a training step: clip the gradients by their total norm or by value.

    >>> import autograd as ag, numpy as np
    >>> w = ag.tensor([0.0, 0.0], requires_grad=True)
    >>> w.grad = np.array([3.0, 4.0])
    >>> float(ag.nn.utils.clip_grad_norm_([w], max_norm=1.0))   # the norm before clipping
    5.0
    >>> w.grad.round(6)
    array([0.6, 0.8])
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from autograd.tensors import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _parameters_with_grad(owner, parameters):
    """The Tensors of ``parameters`` (one Tensor or an iterable) whose ``.grad`` is set."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    else:
        try:
            parameters = list(parameters)
        except TypeError:
            raise TypeError(f"{owner} expects a Tensor or an iterable of Tensors (e.g. "
                            f"model.parameters()), got {type(parameters).__name__}") from None
    for index, parameter in enumerate(parameters):
        if not isinstance(parameter, Tensor):
            raise TypeError(f"{owner}: parameter {index} is a {type(parameter).__name__}, "
                            "expected a Tensor")
    return parameters, [p for p in parameters if p.grad is not None]


def _array(grad):
    return np.asarray(grad.data if isinstance(grad, Tensor) else grad)


def _vector_norm(values, norm_type):
    """The ``norm_type``-norm of all entries of ``values`` (an array), as a NumPy scalar."""
    values = np.abs(values.ravel())
    if norm_type == math.inf:
        return values.max(initial=0)
    if norm_type == 2:
        return np.sqrt(np.dot(values, values))
    if norm_type == 1:
        return values.sum()
    return (values ** norm_type).sum() ** (1 / norm_type)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale the gradients so that their total norm is at most ``max_norm``; return that norm.

    The total norm is the ``norm_type``-norm of all gradient entries together (the norm of
    the per-parameter norms), measured before clipping; ``norm_type`` may be ``math.inf``
    (largest magnitude) or any positive number. Every gradient is multiplied by
    ``min(1, max_norm / (total + 1e-6))``, as ``torch.nn.utils.clip_grad_norm_`` does.
    Parameters whose ``.grad`` is None are skipped. Returns a 0-d Tensor (no grad) of the
    gradients' dtype; 0.0 if there is no gradient. With ``error_if_nonfinite=True`` a NaN or
    infinite total raises ``RuntimeError`` instead of scaling by it.

    >>> import autograd as ag, numpy as np
    >>> a, b = ag.tensor([0.0, 0.0], requires_grad=True), ag.tensor([0.0], requires_grad=True)
    >>> a.grad, b.grad = np.array([1.0, -3.0]), np.array([2.0])
    >>> ag.nn.utils.clip_grad_norm_([a, b], max_norm=10.0, norm_type=float("inf")).item()
    3.0
    >>> a.grad                                  # below max_norm: unchanged
    array([ 1., -3.])
    """
    owner = "clip_grad_norm_"
    is_iterator = hasattr(parameters, "__next__") and not isinstance(parameters, Tensor)
    parameters, with_grad = _parameters_with_grad(owner, parameters)
    if isinstance(max_norm, bool) or not isinstance(max_norm, numbers.Real) or not max_norm >= 0:
        raise ValueError(f"{owner}: max_norm must be a number >= 0, got {max_norm!r}")
    if isinstance(norm_type, bool) or not isinstance(norm_type, numbers.Real) or not norm_type > 0:
        raise ValueError(f"{owner}: norm_type must be a positive number or math.inf, got "
                         f"{norm_type!r}")
    norm_type = float(norm_type)
    if not with_grad:
        if is_iterator and not parameters:
            warnings.warn(f"{owner}: the parameters are an empty (or already consumed) "
                          "iterator; no gradient was clipped", UserWarning, stacklevel=2)
        return Tensor(0.0)
    grads = [_array(p.grad) for p in with_grad]
    dtype = np.result_type(*grads)
    with np.errstate(over="ignore", invalid="ignore"):  # an inf or NaN total is reported
        norms = np.array([_vector_norm(grad, norm_type) for grad in grads], dtype=dtype)
        total = _vector_norm(norms, norm_type).astype(dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"{owner}: the total norm of order {norm_type} of the gradients is "
                           f"{total}, so they cannot be clipped (error_if_nonfinite=False scales "
                           "them by it anyway)")
    # PyTorch evaluates max_norm / (total + 1e-6) as a reciprocal times max_norm (its
    # __rtruediv__); the same two roundings give the same coefficient.
    one = dtype.type(1.0)
    coefficient = min(one / (total + dtype.type(1e-6)) * dtype.type(max_norm), one)
    for parameter, grad in zip(with_grad, grads):
        scale = grad.dtype.type(coefficient)
        # A new array, not an in-place write: .grad may be shared with another reference.
        # An infinite total makes the scale 0 and inf * 0 a NaN, as in PyTorch.
        with np.errstate(invalid="ignore"):
            parameter.grad = parameter.grad * scale if isinstance(parameter.grad, Tensor) \
                else grad * scale
    return Tensor(total)


def clip_grad_value_(parameters, clip_value):
    """Clip every gradient entry into ``[-clip_value, clip_value]`` (None grads are skipped).

    >>> import autograd as ag, numpy as np
    >>> w = ag.tensor([0.0, 0.0, 0.0], requires_grad=True)
    >>> w.grad = np.array([-5.0, 0.5, 2.0])
    >>> ag.nn.utils.clip_grad_value_([w], 1.0); w.grad
    array([-1. ,  0.5,  1. ])
    """
    owner = "clip_grad_value_"
    _, with_grad = _parameters_with_grad(owner, parameters)
    if isinstance(clip_value, bool) or not isinstance(clip_value, numbers.Real) \
            or not clip_value >= 0:
        raise ValueError(f"{owner}: clip_value must be a number >= 0, got {clip_value!r}")
    for parameter in with_grad:
        grad = _array(parameter.grad)
        parameter.grad = np.clip(grad, -grad.dtype.type(clip_value), grad.dtype.type(clip_value))
