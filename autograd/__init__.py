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
from autograd.tensor import Tensor, tensor
from autograd.primitives import (
    abs, add, broadcast_to, clip, concatenate, div, exp, expand_dims, getitem, log, matmul,
    max, maximum, mean, min, minimum, mul, neg, pow, relu, reshape, sigmoid, sqrt, squeeze,
    stack, sub, sum, swapaxes, tanh, transpose, where,
)
from autograd.functional import cross_entropy, log_softmax, logsumexp, softmax
from autograd.transforms import grad, hessian, hvp, jacobian, value_and_grad, vjp
from autograd import nn, optim, viz
from autograd.nn import manual_seed

__version__ = "0.1.0"
