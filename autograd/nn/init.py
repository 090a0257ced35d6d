"""PyTorch's parameter initialisations, in place on a Tensor's data.

Each function fills the tensor it is given and returns it, drawing from the generator
that ``ag.manual_seed`` seeds (autograd/creation.py), so one seed fixes a whole run. The
fans follow PyTorch: for a weight of shape ``(out, in, *kernel)``, ``fan_in = in *
prod(kernel)`` and ``fan_out = out * prod(kernel)``; the gains are ``calculate_gain``'s.
Writes go into the existing array and are tracked like ``p.data = ...``: a graph that
saved the old values refuses backward.

    >>> import autograd as ag, numpy as np
    >>> from autograd.nn import init
    >>> _ = ag.manual_seed(0)
    >>> w = init.kaiming_uniform_(ag.zeros((64, 32), requires_grad=True), nonlinearity="relu")
    >>> bool(np.abs(w.data).max() <= np.sqrt(6 / 32))
    True
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from autograd import creation
from autograd.tensors import Tensor

__all__ = ["calculate_gain", "uniform_", "normal_", "constant_", "ones_", "zeros_",
           "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_"]


def _fill(tensor, values, op):
    """Write ``values`` into ``tensor`` (a Tensor or an ndarray) in place; returns it."""
    if isinstance(tensor, Tensor):
        data = tensor.data
        if np.dtype(data.dtype).kind != "f":
            raise TypeError(f"{op}: expected a floating tensor, got dtype {data.dtype}")
        if type(data) is np.ndarray and data.flags.writeable:
            data[...] = values
        else:
            data = np.asarray(values, data.dtype).reshape(np.shape(data))
        tensor.data = data  # a tracked write: a new version of the tensor
        return tensor
    if isinstance(tensor, np.ndarray) and tensor.dtype.kind == "f":
        tensor[...] = values
        return tensor
    raise TypeError(f"{op}: expected a floating Tensor or ndarray, got {type(tensor).__name__}")


def _shape(tensor):
    return tuple(np.shape(tensor.data if isinstance(tensor, Tensor) else tensor))


def _calculate_fans(tensor, op):
    shape = _shape(tensor)
    if len(shape) < 2:
        raise ValueError(f"{op}: fan in and fan out need a tensor with at least 2 dimensions "
                         f"(out, in, *kernel), got shape {shape}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for ``nonlinearity``, as PyTorch: 1 for linear, conv and sigmoid,
    5/3 for tanh, sqrt(2) for relu, sqrt(2 / (1 + slope^2)) for leaky_relu (slope ``param``,
    default 0.01), 3/4 for selu.

    >>> from autograd.nn import init
    >>> init.calculate_gain("tanh"), round(init.calculate_gain("relu"), 4)
    (1.6666666666666667, 1.4142)
    """
    linear = {"linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d", "sigmoid"}
    if nonlinearity in linear:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, bool) or not isinstance(param, (int, float)):
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        else:
            slope = param
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def uniform_(tensor, a=0.0, b=1.0):
    """Fill with samples from U(a, b).

    >>> import autograd as ag
    >>> from autograd.nn import init
    >>> bool((init.uniform_(ag.zeros(5), -1, 1).data >= -1).all())
    True
    """
    return _fill(tensor, creation.generator().uniform(a, b, _shape(tensor)), "uniform_")


def normal_(tensor, mean=0.0, std=1.0):
    """Fill with samples from N(mean, std^2); any shape, filled in place and returned.

    >>> import autograd as ag
    >>> from autograd.nn import init
    >>> _ = ag.manual_seed(0)
    >>> w = init.normal_(ag.zeros(10000), mean=2.0, std=0.5)
    >>> round(float(w.data.mean()), 2), round(float(w.data.std()), 2)
    (2.0, 0.5)
    """
    return _fill(tensor, creation.generator().normal(mean, std, _shape(tensor)), "normal_")


def constant_(tensor, val):
    """Fill with ``val``; any shape, filled in place and returned.

    >>> import autograd as ag
    >>> from autograd.nn import init
    >>> init.constant_(ag.zeros((2, 2)), 0.5)
    Tensor([[0.5, 0.5],
            [0.5, 0.5]], dtype=float64)
    """
    return _fill(tensor, val, "constant_")


def ones_(tensor):
    """Fill with ones; a Tensor or a float ndarray, filled in place and returned.

    >>> import numpy as np
    >>> from autograd.nn import init
    >>> init.ones_(np.zeros(3))
    array([1., 1., 1.])
    """
    return _fill(tensor, 1.0, "ones_")


def zeros_(tensor):
    """Fill with zeros; the tensor keeps ``requires_grad``.

    >>> import autograd as ag
    >>> from autograd.nn import init
    >>> init.zeros_(ag.ones(3, requires_grad=True))
    Tensor([0., 0., 0.], dtype=float64, requires_grad=True)
    """
    return _fill(tensor, 0.0, "zeros_")


def xavier_uniform_(tensor, gain=1.0):
    """Glorot uniform: U(-a, a) with a = gain sqrt(6 / (fan_in + fan_out)); a weight of
    shape ``(out, in, *kernel)``, at least 2-D.

    >>> import autograd as ag, math
    >>> from autograd.nn import init
    >>> _ = ag.manual_seed(0)
    >>> w = init.xavier_uniform_(ag.zeros((300, 200)))
    >>> bool(abs(w.data).max() <= math.sqrt(6 / (200 + 300)))
    True
    """
    fan_in, fan_out = _calculate_fans(tensor, "xavier_uniform_")
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor, gain=1.0):
    """Glorot normal: N(0, std^2) with std = gain sqrt(2 / (fan_in + fan_out)); a weight
    of shape ``(out, in, *kernel)``, at least 2-D.

    >>> import autograd as ag, math
    >>> from autograd.nn import init
    >>> _ = ag.manual_seed(0)
    >>> w = init.xavier_normal_(ag.zeros((300, 200)))
    >>> round(float(w.data.std()), 3), round(math.sqrt(2 / (200 + 300)), 3)
    (0.063, 0.063)
    """
    fan_in, fan_out = _calculate_fans(tensor, "xavier_normal_")
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)))


def _kaiming_std(tensor, a, mode, nonlinearity, op):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{op}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fans(tensor, op)
    if 0 in _shape(tensor):
        return None
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    """He uniform: U(-bound, bound) with bound = gain sqrt(3 / fan), gain from
    ``calculate_gain(nonlinearity, a)``. ``a=sqrt(5)`` gives PyTorch's layer default,
    bound 1 / sqrt(fan_in). A tensor with no elements is left as it is (with a warning).
    A weight of shape ``(out, in, *kernel)``, at least 2-D.

    >>> import autograd as ag, math
    >>> from autograd.nn import init
    >>> _ = ag.manual_seed(0)
    >>> w = init.kaiming_uniform_(ag.zeros((16, 8, 3, 3)), a=math.sqrt(5))
    >>> bool(abs(w.data).max() <= 1 / math.sqrt(8 * 3 * 3))
    True
    """
    std = _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_uniform_")
    if std is None:
        warnings.warn("kaiming_uniform_: initializing a zero-element tensor is a no-op",
                      stacklevel=2)
        return tensor
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    """He normal: N(0, std^2) with std = gain / sqrt(fan), gain from
    ``calculate_gain(nonlinearity, a)``; a weight of shape ``(out, in, *kernel)``, at least
    2-D. A tensor with no elements is left as it is (with a warning).

    >>> import autograd as ag, math
    >>> from autograd.nn import init
    >>> _ = ag.manual_seed(0)
    >>> w = init.kaiming_normal_(ag.zeros((256, 128)), nonlinearity="relu")
    >>> round(float(w.data.std()), 3), round(math.sqrt(2 / 128), 3)
    (0.125, 0.125)
    """
    std = _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_normal_")
    if std is None:
        warnings.warn("kaiming_normal_: initializing a zero-element tensor is a no-op",
                      stacklevel=2)
        return tensor
    return normal_(tensor, 0.0, std)
