"""Higher-order derivatives: nested transforms, known closed forms, and a second-order
property test (gradcheck of each primitive's gradient) over the primitives table."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd as ag
from autograd.primitives import _raw
from autograd.tensors import Tensor
from autograd.testing import GradcheckError, gradcheck, strategies as ags
from specs import PRIMITIVES

scalars = st.floats(-3, 3, allow_nan=False, allow_infinity=False)


def softmax_matrix(p):
    """The seeds' softmax Jacobian diag(p) - p pᵀ."""
    return np.diag(p) - np.outer(p, p)


def reference_softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


# ---------------------------------------------------------------------------
# Nesting to any order: closed forms.
# ---------------------------------------------------------------------------

@given(scalars)
def test_third_derivative_of_x_exp_x(x):
    f = lambda x: x * ag.exp(x)
    d3 = ag.grad(ag.grad(ag.grad(f)))(x)
    assert float(d3) == pytest.approx((x + 3) * np.exp(x), rel=1e-12, abs=1e-12)


@given(scalars)
def test_derivatives_of_x_exp_x_up_to_order_five(x):
    derivative = lambda x: x * ag.exp(x)
    for order in range(1, 6):                        # d^n/dx^n x e^x = (x + n) e^x
        derivative = ag.grad(derivative)
        assert float(derivative(x)) == pytest.approx((x + order) * np.exp(x), rel=1e-12, abs=1e-12)


@given(scalars)
def test_third_derivative_of_tanh(x):
    t = np.tanh(x)
    d3 = ag.grad(ag.grad(ag.grad(ag.tanh)))(x)
    assert float(d3) == pytest.approx(-2 * (1 - t * t) * (1 - 3 * t * t), rel=1e-9, abs=1e-12)


@given(scalars, scalars)
def test_mixed_partials(x, y):
    f = lambda x, y: x ** 2 * y ** 3
    d_dy_d_dx = ag.grad(ag.grad(f, argnums=0), argnums=1)(x, y)
    d_dx_d_dy = ag.grad(ag.grad(f, argnums=1), argnums=0)(x, y)
    assert float(d_dy_d_dx) == pytest.approx(6 * x * y ** 2, abs=1e-12)
    assert float(d_dx_d_dy) == pytest.approx(6 * x * y ** 2, abs=1e-12)


def test_inner_transform_closing_over_the_outer_variable():
    # d/dx [ d/dy (x y^2) at y = 3 ] = d/dx (6 x) = 6
    outer = ag.grad(lambda x: ag.grad(lambda y: x * y ** 2)(3.0))
    assert float(outer(2.0)) == pytest.approx(6.0)


def test_vjp_and_value_and_grad_nest_inside_grad():
    def through_vjp(x):
        _, pull = ag.vjp(lambda x: x ** 3, x)
        return pull(ag.tensor(1.0))[0]               # 3 x^2

    assert float(ag.grad(through_vjp)(2.0)) == pytest.approx(12.0)
    second = ag.grad(lambda x: ag.value_and_grad(lambda x: x ** 4)(x)[1])   # 12 x^2
    assert float(second(2.0)) == pytest.approx(48.0)


@given(ags.arrays(np.float64, shape=(3,)))
def test_jacobian_of_jacobian_is_the_hessian(x):
    f = lambda x: (ag.tanh(x) * x[::-1]).sum()
    twice = ag.jacobian(ag.jacobian(f))(x)
    assert twice.shape == (3, 3)
    np.testing.assert_allclose(np.asarray(twice), np.asarray(ag.hessian(f)(x)),
                               rtol=1e-12, atol=1e-12)


@given(ags.arrays(np.float64, shape=(2,)))
def test_third_order_tensor_of_a_cubic(x):
    # f = x0^2 x1 + x1^3: the only nonzero third derivatives are d3/dx0 dx0 dx1 = 2 and d3/dx1^3 = 6
    f = lambda x: x[0] ** 2 * x[1] + x[1] ** 3
    T = np.asarray(ag.jacobian(ag.hessian(f))(x))
    expected = np.zeros((2, 2, 2))
    expected[0, 0, 1] = expected[0, 1, 0] = expected[1, 0, 0] = 2
    expected[1, 1, 1] = 6
    np.testing.assert_allclose(T, expected, atol=1e-12)


def test_grad_of_hvp_is_third_order():
    # hvp(f)(x, v) = 6 x v for f = x^3 (scalar x); d/dx of that is 6 v
    third = ag.grad(lambda x: ag.hvp(lambda x: x ** 3)(x, 2.0))(1.5)
    assert float(third) == pytest.approx(12.0)


# ---------------------------------------------------------------------------
# Softmax and cross-entropy: the seeds' matrix diag(p) - p pᵀ.
# ---------------------------------------------------------------------------

@given(ags.arrays(np.float64, shape=st.integers(1, 6).map(lambda n: (n,))))
def test_jacobian_of_softmax(z):
    J = ag.jacobian(ag.softmax)(z)
    np.testing.assert_allclose(np.asarray(J), softmax_matrix(reference_softmax(z)), atol=1e-12)


def test_jacobian_of_softmax_over_rows_is_block_diagonal():
    z = np.array([[1.0, -2.0, 0.5], [3.0, 3.0, -1.0]])
    J = np.asarray(ag.jacobian(lambda z: ag.softmax(z, axis=1))(z))
    assert J.shape == (2, 3, 2, 3)
    for i in range(2):
        expected = softmax_matrix(reference_softmax(z[i]))
        np.testing.assert_allclose(J[i, :, i, :], expected, atol=1e-12)
    np.testing.assert_array_equal(J[0, :, 1, :], 0.0)
    np.testing.assert_array_equal(J[1, :, 0, :], 0.0)


@given(ags.arrays(np.float64, shape=st.integers(1, 6).map(lambda n: (n,))))
def test_hessian_of_logsumexp(z):
    H = ag.hessian(ag.logsumexp)(z)
    np.testing.assert_allclose(np.asarray(H), softmax_matrix(reference_softmax(z)), atol=1e-12)


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
@given(data=st.data())
def test_hessian_of_cross_entropy_for_one_row_of_logits(fused, data):
    batch, classes = data.draw(st.integers(1, 3)), data.draw(st.integers(2, 5))
    logits = data.draw(ags.arrays(np.float64, shape=(batch, classes)))
    target = np.array(data.draw(
        st.lists(st.integers(0, classes - 1), min_size=batch, max_size=batch)))
    row = data.draw(st.integers(0, batch - 1))

    def loss_of_row(z):   # the loss as a function of row `row` of the logits only
        rows = [z[None] if i == row else logits[i:i + 1] for i in range(batch)]
        return ag.cross_entropy(ag.concatenate(rows, axis=0), target, reduction="sum", fused=fused)

    H = ag.hessian(loss_of_row)(logits[row])
    # the one-hot target drops out: the Hessian is the softmax Jacobian of that row
    np.testing.assert_allclose(np.asarray(H), softmax_matrix(reference_softmax(logits[row])),
                               atol=1e-12)


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
def test_hessian_of_mean_cross_entropy_on_an_unbatched_row(fused):
    z = np.array([2.0, -1.0, 0.5, 0.0])
    H = ag.hessian(lambda z: ag.cross_entropy(z, np.array(2), fused=fused))(z)
    np.testing.assert_allclose(np.asarray(H), softmax_matrix(reference_softmax(z)), atol=1e-12)


# ---------------------------------------------------------------------------
# Every primitive's VJP is differentiable: gradcheck of the gradient function.
# ---------------------------------------------------------------------------

TWICE_DIFFERENTIABLE = [spec for spec in PRIMITIVES if spec.twice_differentiable]


def gradient_function(function, arguments):
    """(*arguments, v) -> the gradient of <function(*arguments), v>, flattened and joined.

    Floating arrays among ``arguments`` are differentiated; the rest (axes, indices,
    masks) are passed through. Differentiating this function checks every second
    derivative, including the dependence on the cotangent ``v``.
    """
    floating = [i for i, a in enumerate(arguments)
                if isinstance(a, (np.ndarray, np.generic)) and a.dtype.kind == "f"]

    def first_order(*arguments_and_v):
        *call_arguments, v = arguments_and_v

        def of_floating(*values):
            full = list(call_arguments)
            for i, value in zip(floating, values):
                full[i] = value
            return function(*full)

        _, pull_back = ag.vjp(of_floating, *(call_arguments[i] for i in floating))
        return ag.concatenate([g.reshape(-1) for g in pull_back(v)])

    return first_order


@pytest.mark.parametrize("spec", TWICE_DIFFERENTIABLE, ids=repr)
@settings(max_examples=15)
@given(data=st.data())
def test_second_order_gradcheck(spec, data):
    arguments = data.draw(spec.arguments(np.float64))
    output_shape = np.shape(spec.reference(*arguments))
    v = np.asarray(data.draw(ags.arrays(np.float64, shape=output_shape)))
    assert gradcheck(gradient_function(spec.function, arguments), *arguments, v,
                     full_jacobian_limit=0, projections=3)


@pytest.mark.parametrize("spec", TWICE_DIFFERENTIABLE, ids=repr)
@settings(max_examples=6)
@given(data=st.data())
def test_third_order_gradcheck(spec, data):
    arguments = data.draw(spec.arguments(np.float64))
    output_shape = np.shape(spec.reference(*arguments))
    v = np.asarray(data.draw(ags.arrays(np.float64, shape=output_shape)))
    second = gradient_function(spec.function, arguments)
    u = np.asarray(data.draw(ags.arrays(np.float64, shape=np.shape(second(*arguments, v)))))
    assert gradcheck(gradient_function(second, (*arguments, v)), *arguments, v, u,
                     full_jacobian_limit=0, projections=2)


def test_second_order_check_catches_a_vjp_that_is_not_differentiable():
    # cube whose VJP reads the raw array: right first derivative, second derivative lost
    def cube(x):
        return Tensor._from_op(x.data ** 3, (x,), (lambda g, out, x: g * 3 * _raw(x) ** 2,), "cube")

    x = np.array([0.5, -1.0, 2.0])
    assert gradcheck(cube, x)
    with pytest.raises(GradcheckError):
        gradcheck(gradient_function(cube, (x,)), x, np.ones(3), full_jacobian_limit=0)


@settings(max_examples=10)
@given(ags.arrays(np.float64, shape=(2, 3)), ags.arrays(np.float64, shape=(3, 4)))
def test_hessian_and_hvp_match_torch(x, w):
    torch = pytest.importorskip("torch")
    target = np.array([1, 3])

    def loss(x, w):   # a tiny network: tanh layer, then cross-entropy
        return ag.cross_entropy(ag.tanh(ag.matmul(x, w)), target)

    def torch_loss(x, w):
        return torch.nn.functional.cross_entropy(torch.tanh(x @ w), torch.as_tensor(target))

    (Hxx, Hxw), (Hwx, Hww) = ag.hessian(loss, argnums=(0, 1))(x, w)
    expected = torch.func.hessian(torch_loss, argnums=(0, 1))(
        torch.as_tensor(x), torch.as_tensor(w))
    for ours, theirs in zip((Hxx, Hxw, Hwx, Hww), (*expected[0], *expected[1])):
        np.testing.assert_allclose(np.asarray(ours), theirs.numpy(), rtol=1e-9, atol=1e-12)
    v = np.ones_like(w)
    hv = ag.hvp(loss, argnums=1)(x, w, v)
    np.testing.assert_allclose(np.asarray(hv), np.tensordot(np.asarray(Hww), v, axes=2),
                               rtol=1e-9, atol=1e-12)
