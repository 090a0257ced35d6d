"""Neural-network layers with PyTorch's names, shapes and defaults.

    modules.py     the layers (``Module``, ``Linear``, ``Sequential``, ...)
    functional.py  the same maths as functions (``import autograd.nn.functional as F``)
    init.py        PyTorch's initialisations (``kaiming_uniform_``, ``zeros_``, ...)
    utils.py       helpers around training (``clip_grad_norm_``)

    >>> import autograd as ag
    >>> _ = ag.manual_seed(0)
    >>> ag.nn.Linear(3, 2)(ag.zeros((4, 3))).shape
    (4, 2)
"""

from autograd.nn import functional, init, utils
from autograd.nn.modules import *  # noqa: F401,F403 (the layers are the package's names)
from autograd.nn.modules import __all__ as _module_names

__all__ = list(_module_names) + ["functional", "init", "utils"]


def __dir__():  # what the package offers, not the modules it imports
    return sorted(__all__)
