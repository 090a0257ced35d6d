"""Optimizers and learning-rate schedules, with PyTorch's names and update rules.

    optimizers.py    ``SGD``, ``Adam``, ``AdamW``, ``RMSprop`` (and the ``Optimizer`` base)
    lr_scheduler.py  ``StepLR``, ``CosineAnnealingLR``, ``LambdaLR``, ``LinearLR``

    >>> import autograd as ag, numpy as np
    >>> w = ag.tensor([1.0, -1.0], requires_grad=True)
    >>> opt = ag.optim.AdamW([w], lr=0.1)
    >>> schedule = ag.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    >>> for _ in range(4):
    ...     opt.zero_grad()
    ...     (w * w).sum().backward()
    ...     opt.step()
    ...     schedule.step()
    >>> schedule.get_last_lr()
    [0.025]
"""

from autograd.optim import lr_scheduler
from autograd.optim.optimizers import SGD, Adam, AdamW, Optimizer, RMSprop

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "lr_scheduler"]


def __dir__():  # what the package offers, not the modules it imports
    return sorted(__all__)
