"""Learning-rate schedules, PyTorch's: StepLR, CosineAnnealingLR, LambdaLR, LinearLR.

A scheduler rewrites ``group["lr"]`` of every parameter group of its optimizer. It counts
epochs in ``last_epoch``: the constructor remembers each group's starting rate in
``group["initial_lr"]`` (``base_lrs``) and performs the first step itself (``last_epoch``
goes from -1 to 0), so the rate of epoch 0 is in place before training starts. Then call
``scheduler.step()`` once per epoch (or per batch), *after* ``optimizer.step()``:

    >>> import autograd as ag, numpy as np
    >>> w = ag.tensor([1.0], requires_grad=True)
    >>> opt = ag.optim.SGD([w], lr=1.0)
    >>> schedule = ag.optim.lr_scheduler.LinearLR(opt, start_factor=0.25, total_iters=3)
    >>> rates = []
    >>> for epoch in range(5):
    ...     rates.append(schedule.get_last_lr()[0])
    ...     w.grad = np.ones(1); opt.step()
    ...     schedule.step()
    >>> rates
    [0.25, 0.5, 0.75, 1.0, 1.0]

Like PyTorch's, most schedules are recursive (each rate is computed from the current
``group["lr"]``, so a rate set by hand between steps carries on); the values agree with
``torch.optim.lr_scheduler`` to the last bit because the same float operations are done in
the same order. ``last_epoch=k`` resumes a schedule (the groups must hold ``initial_lr``).
"""

from __future__ import annotations

import math
import numbers
import warnings

from autograd.optim.optimizers import Optimizer

__all__ = ["LRScheduler", "StepLR", "CosineAnnealingLR", "LambdaLR", "LinearLR"]


def _check_integer(owner, name, value, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{owner}: {name} must be an integer, got {value!r}")
    if value < low:
        raise ValueError(f"{owner}: {name} must be >= {low}, got {value!r}")
    return int(value)


def _check_real(owner, name, value, low=-math.inf, high=math.inf, low_inclusive=True):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a real number, got {value!r}")
    above_low = value >= low if low_inclusive else value > low
    if not (above_low and value <= high):  # also rejects NaN
        interval = f"{'[' if low_inclusive else '('}{low}, {high}]"
        raise ValueError(f"{owner}: {name} must be in {interval}, got {value!r}")
    return float(value)


class LRScheduler:
    """Base class: holds ``optimizer``, ``base_lrs`` and ``last_epoch``; ``get_lr`` is the rule.

    A subclass sets its own attributes, then calls ``super().__init__(optimizer, last_epoch)``
    (which performs the initial step), and returns the new rate of every group from
    ``get_lr()`` (it reads ``self.last_epoch``, already advanced). Halving every epoch:

    >>> import autograd as ag
    >>> class Halving(ag.optim.lr_scheduler.LRScheduler):
    ...     def get_lr(self):
    ...         return [base * 0.5 ** self.last_epoch for base in self.base_lrs]
    >>> opt = ag.optim.SGD([ag.tensor([1.0], requires_grad=True)], lr=1.0)
    >>> schedule = Halving(opt)
    >>> for _ in range(3):
    ...     opt.step()
    ...     schedule.step()
    >>> schedule.last_epoch, schedule.get_last_lr(), opt.param_groups[0]["lr"]
    (3, [0.125], 0.125)
    """

    def __init__(self, optimizer, last_epoch=-1):
        owner = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{owner} expects an optimizer (ag.optim.SGD, Adam, ...) as its first "
                            f"argument, got {type(optimizer).__name__}")
        last_epoch = _check_integer(owner, "last_epoch", last_epoch, low=-1)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for index, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"{owner}: resuming at last_epoch={last_epoch} needs "
                                   f"'initial_lr' in param group {index} (load the optimizer's "
                                   "state_dict first, or start with last_epoch=-1)")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self._is_initial = True  # the constructor's own step
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self):
        """The rate of every parameter group at epoch ``last_epoch`` (subclasses define it)."""
        raise NotImplementedError

    def get_last_lr(self):
        """The rates the last ``step()`` wrote, one per parameter group (a new list)."""
        return list(self._last_lr)

    def step(self):
        """Advance one epoch: ``last_epoch += 1`` and write the new rate into every group."""
        if self._step_count == 1 and self.optimizer._step_calls == 0:
            warnings.warn(f"{type(self).__name__}.step() was called before the optimizer's "
                          "step(): the first rate of the schedule is skipped. Call "
                          "optimizer.step() first, then scheduler.step().",
                          UserWarning, stacklevel=2)
        self._step_count += 1
        self.last_epoch += 1
        rates = self.get_lr()
        for group, rate in zip(self.optimizer.param_groups, rates):
            group["lr"] = rate
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _current_lrs(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self):
        """Everything but the optimizer (restore with ``load_state_dict``)."""
        return {name: value for name, value in self.__dict__.items() if name != "optimizer"}

    def load_state_dict(self, state_dict):
        """Restore what ``state_dict`` returned."""
        self.__dict__.update(state_dict)

    def __repr__(self):
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, lr={self.get_last_lr()})"


class StepLR(LRScheduler):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs.

    ``lr = base_lr * gamma ** (epoch // step_size)``, computed recursively (one product
    every ``step_size`` epochs) as PyTorch does.

    >>> import autograd as ag, numpy as np
    >>> w = ag.tensor([1.0], requires_grad=True)
    >>> opt = ag.optim.SGD([w], lr=1.0)
    >>> schedule = ag.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    >>> rates = []
    >>> for epoch in range(6):
    ...     rates.append(opt.param_groups[0]["lr"])
    ...     w.grad = np.ones(1); opt.step(); schedule.step()
    >>> rates
    [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    """

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self.step_size = _check_integer("StepLR", "step_size", step_size, low=1)
        self.gamma = _check_real("StepLR", "gamma", gamma, low=0.0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]


class CosineAnnealingLR(LRScheduler):
    """Half a cosine from ``base_lr`` down to ``eta_min`` over ``T_max`` epochs (then back up).

    The closed form is ``eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2``;
    the rate is computed recursively from the current one, as PyTorch does (same values,
    and a rate changed by hand carries on along the curve).

    >>> import autograd as ag, numpy as np
    >>> w = ag.tensor([1.0], requires_grad=True)
    >>> opt = ag.optim.SGD([w], lr=1.0)
    >>> schedule = ag.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4)
    >>> rates = []
    >>> for epoch in range(5):
    ...     rates.append(round(opt.param_groups[0]["lr"], 6))
    ...     w.grad = np.ones(1); opt.step(); schedule.step()
    >>> rates
    [1.0, 0.853553, 0.5, 0.146447, 0.0]
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        self.T_max = _check_integer("CosineAnnealingLR", "T_max", T_max, low=1)
        self.eta_min = _check_real("CosineAnnealingLR", "eta_min", eta_min, low=0.0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        epoch, period, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current_lrs()
        if (epoch - 1 - period) % (2 * period) == 0:
            # Leaving the bottom of the cosine, where the ratio below would be 0/0: add the
            # first rise of the curve instead.
            return [group["lr"] + (base_lr - eta_min) * (1 - math.cos(math.pi / period)) / 2
                    for base_lr, group in zip(self.base_lrs, self.optimizer.param_groups)]
        ratio = ((1 + math.cos(math.pi * epoch / period))
                 / (1 + math.cos(math.pi * (epoch - 1) / period)))
        return [ratio * (group["lr"] - eta_min) + eta_min for group in self.optimizer.param_groups]


class LambdaLR(LRScheduler):
    """``lr = base_lr * lr_lambda(epoch)``; ``lr_lambda`` a function, or a list of one per group.

    >>> import autograd as ag, numpy as np
    >>> w = ag.tensor([1.0], requires_grad=True)
    >>> opt = ag.optim.SGD([w], lr=0.5)
    >>> schedule = ag.optim.lr_scheduler.LambdaLR(opt, lambda epoch: 1 / (epoch + 1))
    >>> w.grad = np.ones(1); opt.step(); schedule.step()
    >>> schedule.get_last_lr()
    [0.25]
    """

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        groups = getattr(optimizer, "param_groups", None)
        if isinstance(lr_lambda, (list, tuple)):
            if groups is not None and len(lr_lambda) != len(groups):
                raise ValueError(f"LambdaLR: expected one lr_lambda per parameter group "
                                 f"({len(groups)}), got {len(lr_lambda)}")
            functions = list(lr_lambda)
        else:
            functions = [lr_lambda] * (len(groups) if groups is not None else 1)
        for index, function in enumerate(functions):
            if not callable(function):
                raise TypeError(f"LambdaLR: lr_lambda must be a function of the epoch (or a list "
                                f"of them), got {type(function).__name__} at position {index}")
        self.lr_lambdas = functions
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base_lr * function(self.last_epoch)
                for function, base_lr in zip(self.lr_lambdas, self.base_lrs)]

    def state_dict(self):
        """As the base class, without the functions (they are code, not state)."""
        return {name: value for name, value in self.__dict__.items()
                if name not in ("optimizer", "lr_lambdas")}


class LinearLR(LRScheduler):
    """Scale the rate linearly from ``start_factor`` to ``end_factor`` over ``total_iters`` epochs.

    ``lr = base_lr * (start + (end - start) * min(epoch, total_iters) / total_iters)``, the
    usual warm-up; computed recursively from the current rate, as PyTorch does.

    >>> import autograd as ag, numpy as np
    >>> w = ag.tensor([1.0], requires_grad=True)
    >>> opt = ag.optim.SGD([w], lr=0.1)
    >>> schedule = ag.optim.lr_scheduler.LinearLR(opt)     # 1/3 -> 1 over 5 epochs
    >>> round(schedule.get_last_lr()[0], 6)
    0.033333
    """

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5,
                 last_epoch=-1):
        self.start_factor = _check_real("LinearLR", "start_factor", start_factor, low=0.0,
                                        high=1.0, low_inclusive=False)
        self.end_factor = _check_real("LinearLR", "end_factor", end_factor, low=0.0, high=1.0)
        self.total_iters = _check_integer("LinearLR", "total_iters", total_iters, low=1)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        epoch = self.last_epoch
        if epoch == 0:
            return [group["lr"] * self.start_factor for group in self.optimizer.param_groups]
        if self._is_initial or epoch > self.total_iters:
            return self._current_lrs()
        change = self.end_factor - self.start_factor
        factor = 1.0 + change / (self.total_iters * self.start_factor + (epoch - 1) * change)
        return [group["lr"] * factor for group in self.optimizer.param_groups]
