"""Optimizers: SGD and Adam with PyTorch's update rules.

An optimizer holds a list of parameter Tensors. ``step()`` reads each ``.grad``
and updates ``.data`` in place (so every reference to the array stays valid);
parameters whose ``.grad`` is None are skipped, as in PyTorch. Each update is a
tracked write, like ``p.data -= lr * g``: a graph recorded before the step (and
kept with ``retain_graph=True``) refuses to run backward through the old values.

    >>> import autograd as ag, numpy as np
    >>> w = ag.tensor([3.0, -2.0], requires_grad=True)
    >>> opt = ag.optim.SGD([w], lr=0.25)            # or model.parameters()
    >>> for _ in range(20):
    ...     opt.zero_grad()
    ...     loss = (w * w).sum()
    ...     loss.backward()
    ...     opt.step()
    >>> bool(abs(w.data).max() < 1e-5)
    True

Hyperparameters are plain attributes (``opt.lr = 1e-4`` changes the learning rate).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from autograd.tensors import Tensor

__all__ = ["Optimizer", "SGD", "Adam"]


def _check_number(owner, name, value, low=0.0, high=math.inf, high_inclusive=True):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a real number, got {value!r}")
    above_high = value > high if high_inclusive else value >= high
    if not value >= low or above_high:  # `not >=` also rejects NaN
        interval = f"[{low}, {high}{']' if high_inclusive else ')'}"
        raise ValueError(f"{owner}: {name} must be in {interval}, got {value!r}")
    return float(value)


def _writable(data):
    """``data`` itself if the update can write into it, else a writable copy.

    A 0-d parameter holds a NumPy scalar (immutable), and ``.data`` may have been set to a
    read-only array (``np.broadcast_to``); both are replaced by a new array.
    """
    if type(data) is np.ndarray and data.flags.writeable:
        return data
    return np.array(data)


class Optimizer:
    """Base class: keeps the parameters and one state dict per parameter."""

    def __init__(self, params):
        owner = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"{owner} expects an iterable of Tensors (e.g. model.parameters() "
                            f"or [w, b]), got a single Tensor of {params.shape}; wrap it: [w]")
        try:
            params = list(params)
        except TypeError:
            raise TypeError(f"{owner} expects an iterable of Tensors (e.g. model.parameters()), "
                            f"got {type(params).__name__}") from None
        if not params:
            raise ValueError(f"{owner} got an empty parameter list")
        unique = {}
        for index, parameter in enumerate(params):
            if not isinstance(parameter, Tensor):
                raise TypeError(f"{owner}: parameter {index} is a {type(parameter).__name__}, "
                                "expected a Tensor")
            if parameter.dtype.kind != "f":
                raise TypeError(f"{owner}: parameter {index} has dtype {parameter.dtype}; only "
                                "floating-point tensors can be optimized")
            unique.setdefault(id(parameter), parameter)  # a parameter listed twice steps once
        self.params = list(unique.values())
        self.state = [{} for _ in self.params]

    def zero_grad(self):
        """Set ``.grad`` of every parameter to None (the next backward starts fresh)."""
        for parameter in self.params:
            parameter.grad = None

    def step(self):
        """Update every parameter that has a gradient."""
        for parameter, state in zip(self.params, self.state):
            if parameter.grad is None:
                continue
            grad = parameter.grad
            grad = np.asarray(grad.data if isinstance(grad, Tensor) else grad)
            if grad.shape != parameter.shape:
                raise ValueError(f"{type(self).__name__}.step: a parameter of shape "
                                 f"{parameter.shape} has a .grad of shape {grad.shape}")
            data = _writable(parameter.data)
            self._update(data, grad, state)
            # Hand the updated array back through the .data setter: that is what records the
            # write (a new version), so a graph that saved the old values refuses backward
            # instead of differentiating the new ones, exactly as after ``p.data -= ...``.
            # It is the same array, so nothing is copied.
            parameter.data = data

    def _update(self, data, grad, state):
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, Nesterov momentum and L2 decay.

    Per parameter p with gradient g, as in ``torch.optim.SGD`` (no dampening):

        g = g + weight_decay * p
        buf = g (first step),  buf = momentum * buf + g (later steps)
        g = g + momentum * buf if nesterov else buf       (only when momentum != 0)
        p = p - lr * g

    >>> import autograd as ag, numpy as np
    >>> w = ag.tensor([1.0, 2.0], requires_grad=True)
    >>> opt = ag.optim.SGD([w], lr=0.1, momentum=0.9)
    >>> w.grad = np.array([1.0, -1.0]); opt.step()
    >>> w.data
    array([0.9, 2.1])
    """

    def __init__(self, params, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(params)
        self.lr = _check_number("SGD", "lr", lr)
        self.momentum = _check_number("SGD", "momentum", momentum)
        self.weight_decay = _check_number("SGD", "weight_decay", weight_decay)
        if nesterov and self.momentum == 0:
            raise ValueError("SGD: nesterov=True needs a momentum > 0")
        self.nesterov = bool(nesterov)

    def _update(self, data, grad, state):
        if self.weight_decay:
            grad = grad + self.weight_decay * data
        if self.momentum:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = state["momentum_buffer"] = np.array(grad, dtype=data.dtype)
            else:
                buffer *= self.momentum
                buffer += grad
            grad = grad + self.momentum * buffer if self.nesterov else buffer
        data -= self.lr * grad


class Adam(Optimizer):
    """Adam with bias correction, as in ``torch.optim.Adam`` (L2 weight decay, no amsgrad).

    Per parameter p with gradient g, at its t-th update (t counts from 1):

        g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    >>> import autograd as ag, numpy as np
    >>> w = ag.tensor([1.0, 2.0], requires_grad=True)
    >>> opt = ag.optim.Adam([w], lr=0.1)
    >>> w.grad = np.array([1e-3, -5.0]); opt.step()   # step 1 moves each entry by ~lr
    >>> w.data.round(4)
    array([0.9, 2.1])
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params)
        self.lr = _check_number("Adam", "lr", lr)
        try:
            beta1, beta2 = betas
        except (TypeError, ValueError):
            raise ValueError(f"Adam: betas must be a pair (beta1, beta2), got {betas!r}") from None
        self.betas = (_check_number("Adam", "betas[0]", beta1, high=1.0, high_inclusive=False),
                      _check_number("Adam", "betas[1]", beta2, high=1.0, high_inclusive=False))
        self.eps = _check_number("Adam", "eps", eps)
        self.weight_decay = _check_number("Adam", "weight_decay", weight_decay)

    def _update(self, data, grad, state):
        beta1, beta2 = self.betas
        if self.weight_decay:
            grad = grad + self.weight_decay * data
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(data)
            state["exp_avg_sq"] = np.zeros_like(data)
        state["step"] += 1
        step, exp_avg, exp_avg_sq = state["step"], state["exp_avg"], state["exp_avg_sq"]
        exp_avg *= beta1
        exp_avg += (1 - beta1) * grad
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        step_size = self.lr / (1 - beta1 ** step)
        denominator = np.sqrt(exp_avg_sq) / math.sqrt(1 - beta2 ** step) + self.eps
        data -= step_size * exp_avg / denominator
