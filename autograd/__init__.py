"""tapegrad: a small reverse-mode automatic differentiation engine on NumPy.

    import autograd as ag
    x = ag.tensor([[1.0, 2.0]], requires_grad=True)
    y = (x.exp().sum(axis=1) / 3).log().sum()
    y.backward()
    x.grad
"""

from autograd import _installation  # HIPS autograd shares the name: refuse a mixed folder
_installation.check()
from autograd.tape import enable_grad, is_grad_enabled, no_grad
from autograd.tensors import Tensor, tensor
from autograd import registry as _registry

# Every registered primitive (and composed or constant function) is ``ag.<name>``: the
# registry is the one list of them (see autograd/registry.py).
globals().update(_registry.exports())
from autograd.functional import cross_entropy, log_softmax, logsumexp, softmax
from autograd.transforms import (
    elementwise_grad, grad, hessian, hvp, jacobian, value_and_grad, vjp,
)
from autograd.creation import (
    arange, empty, eye, full, full_like, linspace, manual_seed, ones, ones_like, rand, randn,
    zeros, zeros_like,
)
from autograd.linear_ce import linear_cross_entropy
from autograd.compiler import compile
from autograd import linalg, nn, optim, viz

__version__ = "0.1.0"
