"""Functional transforms: grad, value_and_grad, vjp, jacobian, hessian, hvp (issue 4)."""


def grad(f, argnums=0):
    raise NotImplementedError


def value_and_grad(f, argnums=0):
    raise NotImplementedError


def vjp(f, *args):
    raise NotImplementedError


def jacobian(f, argnums=0):
    raise NotImplementedError


def hessian(f, argnums=0):
    raise NotImplementedError


def hvp(f, argnums=0):
    raise NotImplementedError
