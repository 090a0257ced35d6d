"""User primitives: autograd.extend.primitive and defvjp, with HIPS autograd's conventions."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

import autograd as ag
from autograd import registry
from autograd.extend import defvjp, primitive
from autograd.testing import gradcheck, strategies as ags


@primitive
def logsumexp(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


defvjp(logsumexp, lambda ans, x: lambda g: g * np.exp(x - ans))


@primitive
def scaled_difference(a, b, scale=2.0):
    """scale * (a - b), broadcasting b (a scalar) over a."""
    return scale * (a - b)


defvjp(scaled_difference,
       lambda ans, a, b, scale=2.0: lambda g: g * scale,
       lambda ans, a, b, scale=2.0: lambda g: -np.sum(g * scale))


@primitive
def only_first(a, b):
    return a * b


defvjp(only_first, lambda ans, a, b: lambda g: g * b, None)


@primitive
def cube(x):
    return x ** 3


defvjp(cube, lambda ans, x: lambda g: g * 3 * x ** 2)


def softmax(x):
    e = np.exp(x - np.max(x))
    return e / e.sum()


@given(ags.arrays(np.float64, shape=st.integers(1, 6).map(lambda n: (n,))))
def test_first_order_matches_finite_differences(x):
    assert gradcheck(logsumexp, x)
    got = ag.grad(logsumexp)(x)
    np.testing.assert_allclose(got.data, softmax(x), rtol=1e-12, atol=1e-15)


@given(ags.arrays(np.float64, shape=st.integers(1, 5).map(lambda n: (n,))))
def test_second_order_is_the_softmax_jacobian(x):
    p = softmax(x)
    hessian = ag.hessian(logsumexp)(x)
    np.testing.assert_allclose(hessian.data, np.diag(p) - np.outer(p, p), atol=1e-12)
    assert gradcheck(lambda t: ag.grad(logsumexp)(t), x)


def test_third_order_of_a_polynomial_primitive():
    d3 = ag.grad(ag.grad(ag.grad(lambda x: cube(x))))
    assert float(d3(ag.tensor(2.0))) == 6.0


def test_two_arguments_with_a_static_keyword():
    a = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = ag.tensor(0.5, requires_grad=True)
    out = scaled_difference(a, b, scale=3.0)
    np.testing.assert_array_equal(out.data, 3.0 * (np.array([1.0, 2.0, 3.0]) - 0.5))
    out.sum().backward()
    np.testing.assert_array_equal(a.grad, [3.0, 3.0, 3.0])
    assert float(b.grad) == -9.0
    assert gradcheck(lambda u, v: scaled_difference(u, v, scale=3.0), np.ones(3), np.array(0.5))


def test_argnums_gives_makers_for_chosen_positions():
    @primitive
    def affine(w, x, b):
        return w * x + b

    defvjp(affine, lambda ans, w, x, b: lambda g: g * w, argnums=(1,))
    defvjp(affine, lambda ans, w, x, b: lambda g: g, argnums=(2,))
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    b = ag.tensor([0.0, 0.0], requires_grad=True)
    affine(np.array([3.0, 4.0]), x, b).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])
    with pytest.raises(NotImplementedError, match="argument 0"):
        w = ag.tensor([3.0, 4.0], requires_grad=True)
        affine(w, x, b).sum().backward()


def test_a_none_maker_means_no_gradient_and_backward_says_so():
    a = ag.tensor([1.0, 2.0], requires_grad=True)
    b = ag.tensor([3.0, 4.0])                      # no grad needed: fine
    only_first(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [3.0, 4.0])
    b = ag.tensor([3.0, 4.0], requires_grad=True)
    with pytest.raises(NotImplementedError, match=r"only_first: no VJP for argument 1"):
        only_first(a, b).sum().backward()


def test_on_plain_arrays_it_is_the_plain_function():
    x = np.array([1.0, 2.0])
    result = logsumexp(x)
    assert type(result) is np.float64
    assert result == logsumexp.__wrapped__(x)        # exactly what the body computes
    constant = logsumexp(ag.tensor(x))             # a Tensor that does not require grad
    assert isinstance(constant, ag.Tensor) and not constant.requires_grad
    with ag.no_grad():
        assert not logsumexp(ag.tensor(x, requires_grad=True)).requires_grad


def test_a_vjp_of_the_wrong_shape_names_the_primitive_and_argument():
    @primitive
    def total(x):
        return np.sum(x)

    defvjp(total, lambda ans, x: lambda g: g)      # forgot to broadcast back to x's shape
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"total: the VJP of argument 0 returned shape \(\), "
                                         r"but the argument has shape \(3,\)"):
        total(x).backward()


def test_cotangents_take_the_arguments_dtype_and_are_copies():
    @primitive
    def passthrough(x):
        return x.copy()

    defvjp(passthrough, lambda ans, x: lambda g: np.asarray(g, np.float64))
    x = ag.tensor(np.ones(3, np.float32), requires_grad=True)
    seed = np.ones(3, np.float32)
    passthrough(x).backward(seed)
    assert x.grad.dtype == np.float32
    assert not np.shares_memory(x.grad, seed)


def test_one_node_printed_like_a_builtin():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = logsumexp(x) * 2.0
    listing = ag.viz.tape(y)
    assert "logsumexp(v0)" in listing and "mul(" in listing
    assert y._parents[0]._op == "logsumexp"
    assert len(y._parents[0]._parents) == 1


def test_user_primitives_are_in_the_registry_but_not_exported():
    entry = logsumexp.registry_entry
    assert entry in registry.entries() and not entry.builtin
    assert entry not in registry.entries(builtin_only=True)
    assert ag.logsumexp is not logsumexp           # ag.logsumexp is the built-in composed one
    assert set(entry.makers) == {0}


def test_keyword_tensors_that_require_grad_are_refused():
    @primitive
    def shifted(x, shift=0.0):
        return x + shift

    defvjp(shifted, lambda ans, x, shift=0.0: lambda g: g)
    with pytest.raises(TypeError, match="keyword argument shift="):
        shifted(np.ones(2), shift=ag.tensor(1.0, requires_grad=True))
    out = shifted(ag.tensor([1.0, 2.0], requires_grad=True), shift=ag.tensor(1.0))
    np.testing.assert_array_equal(out.data, [2.0, 3.0])


def test_bad_uses_say_what_was_expected():
    with pytest.raises(TypeError, match="@primitive"):
        defvjp(np.exp, lambda ans, x: lambda g: g)
    with pytest.raises(TypeError, match="expected a function"):
        primitive(3)
    with pytest.raises(TypeError, match="maker for argument 0"):
        defvjp(cube, 3)
    with pytest.raises(ValueError, match="makers for argnums"):
        defvjp(cube, lambda ans, x: lambda g: g, argnums=(0, 1))

    @primitive
    def text(x):
        return "no"

    with pytest.raises(TypeError, match="numeric array"):
        text(ag.tensor([1.0], requires_grad=True))


def test_hips_style_code_runs_unchanged():
    # As written for HIPS autograd: numpy as np, a primitive, its VJP, grad of a loss.
    @primitive
    def relu(x):
        return np.maximum(x, 0.0)

    defvjp(relu, lambda ans, x: lambda g: g * (x > 0))

    def loss(w):
        return np.sum(relu(w * np.array([1.0, -1.0, 2.0])) ** 2)

    g = ag.grad(loss)(np.array([1.0, 1.0, 1.0]))
    np.testing.assert_allclose(g.data, [2.0, 0.0, 8.0])
