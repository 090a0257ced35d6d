"""Optimizers with PyTorch's update rules and parameter groups: SGD, Adam, AdamW, RMSprop.

An optimizer holds ``param_groups``, a list of dicts, each with its ``"params"`` (a list of
Tensors) and its own hyperparameters (``"lr"``, ``"weight_decay"``, ...); a group that leaves
one out gets the value given to the constructor. ``step()`` reads each ``.grad`` and updates
``.data`` in place (so every reference to the array stays valid); parameters whose ``.grad`` is
None are skipped, as in PyTorch. Each update is a tracked write, like ``p.data -= lr * g``: a
graph recorded before the step (and kept with ``retain_graph=True``) refuses to run backward
through the old values.

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

Hyperparameters live in the groups: ``opt.param_groups[0]["lr"] = 1e-4`` changes the
learning rate (what the schedulers of ``ag.optim.lr_scheduler`` do).

The arithmetic follows PyTorch's CPU kernels operation by operation (``lerp`` for Adam's
first moment, ``(value * a) / b + p`` for ``addcdiv``...), so trajectories agree with
``torch.optim`` to a few units in the last place over hundreds of steps. They cannot agree
to the bit: PyTorch fuses multiply-adds (one rounding instead of two) and its float32
``sqrt`` is not correctly rounded, NumPy does neither.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from autograd.tensors import Tensor

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop"]


def _check_number(owner, name, value, low=0.0, high=math.inf, high_inclusive=True):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a real number, got {value!r}")
    above_high = value > high if high_inclusive else value >= high
    if not value >= low or above_high:  # `not >=` also rejects NaN
        interval = f"[{low}, {high}{']' if high_inclusive else ')'}"
        raise ValueError(f"{owner}: {name} must be in {interval}, got {value!r}")
    return float(value)


def _check_betas(owner, name, betas):
    try:
        beta1, beta2 = betas
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: {name} must be a pair (beta1, beta2), got {betas!r}") from None
    return (_check_number(owner, f"{name}[0]", beta1, high=1.0, high_inclusive=False),
            _check_number(owner, f"{name}[1]", beta2, high=1.0, high_inclusive=False))


def _writable(data):
    """``data`` itself if the update can write into it, else a writable copy.

    A 0-d parameter holds a NumPy scalar (immutable), and ``.data`` may have been set to a
    read-only array (``np.broadcast_to``); both are replaced by a new array.
    """
    if type(data) is np.ndarray and data.flags.writeable:
        return data
    return np.array(data)


def _lerp_(start, end, weight):
    """``start += weight * (end - start)`` in place, in the two forms of ``torch.lerp``.

    PyTorch switches to ``end - (end - start) * (1 - weight)`` for weights of 1/2 and more
    (exact at weight 1); the weight is rounded to the arrays' dtype first, as its kernel does.
    """
    weight = start.dtype.type(weight)
    difference = end - start
    if abs(weight) < 0.5:
        difference *= weight
        start += difference
    else:
        difference *= 1 - weight
        np.subtract(end, difference, out=start)


class Optimizer:
    """Base class: ``param_groups`` (list of dicts) and ``state`` (a dict per parameter).

    ``params`` is an iterable of Tensors, or of dicts ``{"params": [...], "lr": ...}`` (one
    parameter group each; keys left out take the constructor's values, ``defaults``).
    A subclass validates hyperparameters in ``_check_hyperparameter`` and updates one
    parameter in ``_update(data, grad, state, group)``.

    >>> import autograd as ag, numpy as np
    >>> w, b = ag.tensor([1.0], requires_grad=True), ag.tensor([0.0], requires_grad=True)
    >>> opt = ag.optim.SGD([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=0.1)
    >>> [group["lr"] for group in opt.param_groups]
    [0.1, 0.5]
    >>> w.grad, b.grad = np.ones(1), np.ones(1)
    >>> opt.step(); w.data, b.data
    (array([0.9]), array([-0.5]))
    """

    def __init__(self, params, defaults):
        owner = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"{owner} expects an iterable of Tensors (e.g. model.parameters() "
                            f"or [w, b]), got a single Tensor of {params.shape}; wrap it: [w]")
        if isinstance(params, dict):
            raise TypeError(f"{owner} expects an iterable of Tensors or of parameter groups; got "
                            "a single dict: wrap it in a list, [{'params': ..., 'lr': ...}]")
        try:
            params = list(params)
        except TypeError:
            raise TypeError(f"{owner} expects an iterable of Tensors (e.g. model.parameters()), "
                            f"got {type(params).__name__}") from None
        if not params:
            raise ValueError(f"{owner} got an empty parameter list")
        self.defaults = {name: self._check_hyperparameter(owner, name, value)
                         for name, value in defaults.items()}
        self.param_groups = []
        self.state = {}  # Tensor (hashed by identity) -> dict, filled at its first step
        self._step_calls = 0  # read by the schedulers (a step before the first opt.step())
        if isinstance(params[0], dict):
            for group in params:
                self.add_param_group(group)
        else:
            self.add_param_group({"params": params})

    def add_param_group(self, param_group):
        """Append a group ``{"params": [...], **hyperparameters}``; missing keys take the defaults.

        The dict is copied. A Tensor already in another group is refused.

        >>> import autograd as ag
        >>> opt = ag.optim.Adam([ag.tensor([1.0], requires_grad=True)], lr=1e-3)
        >>> opt.add_param_group({"params": [ag.tensor([2.0], requires_grad=True)], "lr": 1e-2})
        >>> [group["lr"] for group in opt.param_groups]
        [0.001, 0.01]
        """
        owner = type(self).__name__
        index = len(self.param_groups)
        where = f"{owner}: param group {index}"
        if not isinstance(param_group, dict):
            raise TypeError(f"{where} must be a dict {{'params': [...], ...}}, got "
                            f"{type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{where} has no 'params' entry (keys: {sorted(param_group)})")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(f"{where}: 'params' is a set, whose order changes between runs; "
                            "pass a list")
        else:
            try:
                params = list(params)
            except TypeError:
                raise TypeError(f"{where}: 'params' must be an iterable of Tensors, got "
                                f"{type(params).__name__}") from None
        # A lone group is named as before ("parameter 3 is ..."); later ones say which group.
        prefix = owner if index == 0 else where
        unique = {}
        for position, parameter in enumerate(params):
            if not isinstance(parameter, Tensor):
                raise TypeError(f"{prefix}: parameter {position} is a {type(parameter).__name__}, "
                                "expected a Tensor")
            if parameter.dtype.kind != "f":
                raise TypeError(f"{prefix}: parameter {position} has dtype {parameter.dtype}; "
                                "only floating-point tensors can be optimized")
            if not parameter.is_leaf:
                raise ValueError(f"{prefix}: parameter {position} is the result of an operation "
                                 "(not a leaf); optimize the tensors it was computed from")
            unique.setdefault(id(parameter), parameter)  # a parameter listed twice steps once
        taken = {id(p) for group in self.param_groups for p in group["params"]}
        if taken.intersection(unique):
            raise ValueError(f"{where}: some parameters are already in another parameter group")
        group = {"params": list(unique.values())}
        for name, value in param_group.items():
            if name != "params":
                group[name] = (self._check_hyperparameter(where, name, value)
                               if name in self.defaults else value)
        for name, value in self.defaults.items():
            group.setdefault(name, value)
        self.param_groups.append(group)

    def _check_hyperparameter(self, owner, name, value):
        """The validated value of one hyperparameter (raise with ``owner`` in the message)."""
        return value

    def zero_grad(self, set_to_none=True):
        """Clear ``.grad`` of every parameter: None (default), or zeros if ``set_to_none=False``."""
        for group in self.param_groups:
            for parameter in group["params"]:
                if set_to_none or parameter.grad is None:
                    parameter.grad = None
                else:
                    parameter.grad = np.zeros(parameter.shape, dtype=parameter.dtype)

    def step(self, closure=None):
        """Update every parameter that has a gradient, with its group's hyperparameters.

        ``closure``, if given, is called first (it recomputes the loss and its gradients,
        e.g. ``zero_grad(); loss = f(); loss.backward(); return loss``) and its result is
        returned, as in PyTorch.
        """
        loss = None if closure is None else closure()
        self._step_calls += 1
        for group in self.param_groups:
            for parameter in group["params"]:
                if parameter.grad is None:
                    continue
                grad = parameter.grad
                grad = np.asarray(grad.data if isinstance(grad, Tensor) else grad)
                if grad.shape != parameter.shape:
                    raise ValueError(f"{type(self).__name__}.step: a parameter of shape "
                                     f"{parameter.shape} has a .grad of shape {grad.shape}")
                data = _writable(parameter.data)
                if grad.dtype != data.dtype:
                    grad = grad.astype(data.dtype)
                self._update(data, grad, self.state.setdefault(parameter, {}), group)
                # Hand the updated array back through the .data setter: that is what records
                # the write (a new version), so a graph that saved the old values refuses
                # backward instead of differentiating the new ones, exactly as after
                # ``p.data -= ...``. It is the same array, so nothing is copied.
                parameter.data = data
        return loss

    def _update(self, data, grad, state, group):
        """Write the new values into ``data``; ``grad`` must not be modified (it is ``.grad``)."""
        raise NotImplementedError

    def state_dict(self):
        """A snapshot: ``{"state": {index: {...}}, "param_groups": [{..., "params": [index]}]}``.

        Parameters are numbered across the groups in order, as in PyTorch; arrays are copied.

        >>> import autograd as ag, numpy as np
        >>> w = ag.tensor([1.0, 2.0], requires_grad=True)
        >>> opt = ag.optim.SGD([w], lr=0.1, momentum=0.9)
        >>> w.grad = np.ones(2); opt.step()
        >>> sorted(opt.state_dict()["state"][0]), opt.state_dict()["param_groups"][0]["params"]
        (['momentum_buffer'], [0])
        """
        index_of, groups = {}, []
        for group in self.param_groups:
            packed = {name: value for name, value in group.items() if name != "params"}
            packed["params"] = []
            for parameter in group["params"]:
                index_of[id(parameter)] = len(index_of)
                packed["params"].append(index_of[id(parameter)])
            groups.append(packed)
        state = {index_of[id(parameter)]: {name: np.array(value) if isinstance(value, np.ndarray)
                                           else value for name, value in entry.items()}
                 for parameter, entry in self.state.items() if entry}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore hyperparameters and state saved by ``state_dict`` (same group sizes)."""
        owner = f"{type(self).__name__}.load_state_dict"
        try:
            saved_groups, saved_state = state_dict["param_groups"], state_dict["state"]
        except (TypeError, KeyError):
            raise ValueError(f"{owner}: expected a dict with 'state' and 'param_groups' (what "
                             "state_dict() returns)") from None
        ours = [len(group["params"]) for group in self.param_groups]
        theirs = [len(group["params"]) for group in saved_groups]
        if ours != theirs:
            raise ValueError(f"{owner}: the saved groups hold {theirs} parameters, this "
                             f"optimizer's hold {ours}")
        parameters = [p for group in self.param_groups for p in group["params"]]
        state = {}
        for index, entry in saved_state.items():
            parameter = parameters[int(index)]
            state[parameter] = {name: np.array(value, dtype=parameter.dtype)
                                if isinstance(value, np.ndarray) else value
                                for name, value in entry.items()}
        for group, saved in zip(self.param_groups, saved_groups):
            group.update({name: value for name, value in saved.items() if name != "params"})
        self.state = state

    def __getattr__(self, name):
        # Only reached when normal lookup fails: point at the groups for a hyperparameter.
        defaults = self.__dict__.get("defaults", {})
        if name in defaults:
            raise AttributeError(f"{type(self).__name__} keeps {name!r} per parameter group: "
                                 f"read or set opt.param_groups[i][{name!r}]")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name, value):
        if name in self.__dict__.get("defaults", {}):
            raise AttributeError(f"{type(self).__name__} keeps {name!r} per parameter group: set "
                                 f"it with `for group in opt.param_groups: group[{name!r}] = "
                                 f"{value!r}`")
        super().__setattr__(name, value)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for index, group in enumerate(self.param_groups):
            settings = ", ".join(f"{k}={v!r}" for k, v in group.items() if k != "params")
            lines.append(f"  group {index}: {len(group['params'])} parameters, {settings}")
        return "\n".join(lines + [")"])


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 decay.

    Per parameter p with gradient g, as in ``torch.optim.SGD``:

        g = g + weight_decay * p
        buf = g (first step),  buf = momentum * buf + (1 - dampening) * g (later steps)
        g = g + momentum * buf if nesterov else buf       (only when momentum != 0)
        p = p - lr * g

    >>> import autograd as ag, numpy as np
    >>> w = ag.tensor([1.0, 2.0], requires_grad=True)
    >>> opt = ag.optim.SGD([w], lr=0.1, momentum=0.9)
    >>> w.grad = np.array([1.0, -1.0]); opt.step()
    >>> w.data
    array([0.9, 2.1])
    """

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    def add_param_group(self, param_group):
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            where = "SGD" if len(self.param_groups) == 1 else \
                f"SGD: param group {len(self.param_groups) - 1}"
            self.param_groups.pop()
            raise ValueError(f"{where}: nesterov=True needs a momentum > 0 and dampening=0, got "
                             f"momentum={group['momentum']}, dampening={group['dampening']}")

    def _check_hyperparameter(self, owner, name, value):
        if name == "nesterov":
            return bool(value)
        return _check_number(owner, name, value)

    def _update(self, data, grad, state, group):
        lr, momentum, weight_decay = group["lr"], group["momentum"], group["weight_decay"]
        if weight_decay != 0:
            grad = grad + weight_decay * data
        if momentum != 0:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = state["momentum_buffer"] = np.array(grad, dtype=data.dtype)
            else:
                buffer *= momentum
                buffer += (1 - group["dampening"]) * grad
            grad = grad + momentum * buffer if group["nesterov"] else buffer
        data -= lr * grad


class Adam(Optimizer):
    """Adam with bias correction, as in ``torch.optim.Adam`` (L2 weight decay, optional AMSGrad).

    Per parameter p with gradient g, at its t-th update (t counts from 1):

        g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        v_max = max(v_max, v)                      (amsgrad=True: v_max replaces v below)
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    >>> import autograd as ag, numpy as np
    >>> w = ag.tensor([1.0, 2.0], requires_grad=True)
    >>> opt = ag.optim.Adam([w], lr=0.1)
    >>> w.grad = np.array([1e-3, -5.0]); opt.step()   # step 1 moves each entry by ~lr
    >>> w.data.round(4)
    array([0.9, 2.1])
    """

    _decoupled_weight_decay = False  # AdamW: decay the weights, not the gradient

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad))

    def _check_hyperparameter(self, owner, name, value):
        if name == "betas":
            return _check_betas(owner, name, value)
        if name == "amsgrad":
            return bool(value)
        return _check_number(owner, name, value)

    def _update(self, data, grad, state, group):
        lr, weight_decay, eps = group["lr"], group["weight_decay"], group["eps"]
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(data)
            state["exp_avg_sq"] = np.zeros_like(data)
        if group["amsgrad"] and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = np.zeros_like(data)
        state["step"] += 1
        step, exp_avg, exp_avg_sq = state["step"], state["exp_avg"], state["exp_avg_sq"]
        if weight_decay != 0:
            if self._decoupled_weight_decay:
                data *= 1 - lr * weight_decay
            else:
                grad = grad + weight_decay * data
        _lerp_(exp_avg, grad, 1 - beta1)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        if group["amsgrad"]:
            second_moment = np.maximum(state["max_exp_avg_sq"], exp_avg_sq,
                                       out=state["max_exp_avg_sq"])
        else:
            second_moment = exp_avg_sq
        step_size = lr / (1 - beta1 ** step)
        denominator = np.sqrt(second_moment)
        denominator /= (1 - beta2 ** step) ** 0.5
        denominator += eps
        update = -step_size * exp_avg
        update /= denominator
        data += update


class AdamW(Adam):
    """Adam with decoupled weight decay, as in ``torch.optim.AdamW``.

    The same moments as ``Adam`` but the decay shrinks the weights instead of entering the
    gradient: ``p = p * (1 - lr * weight_decay)`` first, then the Adam step on the raw g.

    >>> import autograd as ag, numpy as np
    >>> w = ag.tensor([2.0], requires_grad=True)
    >>> opt = ag.optim.AdamW([w], lr=0.1, weight_decay=0.5)
    >>> w.grad = np.zeros(1); opt.step()        # no gradient: only the decay, 2 * (1 - 0.05)
    >>> w.data
    array([1.9])
    """

    _decoupled_weight_decay = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad)


class RMSprop(Optimizer):
    """RMSprop, as in ``torch.optim.RMSprop`` (optional momentum, centering and L2 decay).

    Per parameter p with gradient g:

        g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g**2
        avg = sqrt(v - m**2) with m = alpha * m + (1 - alpha) * g   (centered=True)
        avg = sqrt(v)                                                (centered=False)
        buf = momentum * buf + g / (avg + eps);  p = p - lr * buf    (momentum > 0)
        p = p - lr * g / (avg + eps)                                 (momentum = 0)

    >>> import autograd as ag, numpy as np
    >>> w = ag.tensor([1.0], requires_grad=True)
    >>> opt = ag.optim.RMSprop([w], lr=0.01, alpha=0.75, eps=0.0)
    >>> w.grad = np.array([3.0]); opt.step()    # v = 0.25 * 9, step lr * 3 / 1.5
    >>> w.data
    array([0.98])
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered))

    def _check_hyperparameter(self, owner, name, value):
        if name == "centered":
            return bool(value)
        if name == "alpha":
            return _check_number(owner, name, value, high=1.0)
        return _check_number(owner, name, value)

    def _update(self, data, grad, state, group):
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        weight_decay, momentum = group["weight_decay"], group["momentum"]
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(data)
        state["step"] += 1
        if weight_decay != 0:
            grad = grad + weight_decay * data
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * grad * grad
        if group["centered"]:
            grad_avg = state.get("grad_avg")
            if grad_avg is None:
                grad_avg = state["grad_avg"] = np.zeros_like(data)
            _lerp_(grad_avg, grad, 1 - alpha)
            average = square_avg - grad_avg * grad_avg
            # v >= m**2 holds exactly (Jensen) but rounding can break it by an ulp: PyTorch
            # would take the sqrt of a negative (NaN), a zero is what was meant.
            np.maximum(average, 0, out=average)
            np.sqrt(average, out=average)
        else:
            average = np.sqrt(square_avg)
        average += eps
        if momentum > 0:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = state["momentum_buffer"] = np.zeros_like(data)
            buffer *= momentum
            buffer += grad / average
            data -= lr * buffer
        else:
            update = -lr * grad
            update /= average
            data += update
