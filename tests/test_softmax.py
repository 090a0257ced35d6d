"""softmax, log_softmax, logsumexp: values, gradients from the tape, stability, Jacobian."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd as ag
from autograd.tape import gradients
from autograd.testing import gradcheck
from autograd.testing import strategies as ags

TOLERANCE = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}


@st.composite
def array_and_axis(draw, dtype=np.float64, min_dims=1, **options):
    x = draw(ags.arrays(dtype, min_dims=min_dims, max_dims=3, **options))
    axis = draw(st.integers(-x.ndim, x.ndim - 1))
    return x, axis


def reference_logsumexp(x, axis, keepdims=False):
    """float64 NumPy reference (inputs are bounded, so no shift is needed)."""
    return np.log(np.sum(np.exp(x.astype(np.float64)), axis=axis, keepdims=keepdims))


# ---------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------

@given(array_and_axis(dtype=st.sampled_from([np.float32, np.float64])))
def test_values_match_numpy_reference(case):
    x, axis = case
    lse = reference_logsumexp(x, axis, keepdims=True)
    tolerance = TOLERANCE[x.dtype.type]
    p = ag.softmax(x, axis=axis)
    log_p = ag.log_softmax(x, axis=axis)
    assert p.dtype == x.dtype and log_p.dtype == x.dtype and p.shape == x.shape
    np.testing.assert_allclose(p.data, np.exp(x - lse), **tolerance)
    np.testing.assert_allclose(log_p.data, x - lse, **tolerance)
    np.testing.assert_allclose(p.data.sum(axis=axis), 1.0, **tolerance)
    np.testing.assert_allclose(ag.logsumexp(x, axis=axis).data, lse.squeeze(axis), **tolerance)


@given(ags.arrays(min_dims=1, max_dims=3), st.data())
def test_logsumexp_axis_none_tuple_and_keepdims(x, data):
    axes = data.draw(st.lists(st.integers(0, x.ndim - 1), min_size=1, unique=True).map(tuple)
                     | st.none())
    keepdims = data.draw(st.booleans())
    result = ag.logsumexp(x, axis=axes, keepdims=keepdims)
    expected = reference_logsumexp(x, axes, keepdims)
    assert result.shape == expected.shape
    np.testing.assert_allclose(result.data, expected, rtol=1e-12, atol=1e-14)


def test_docstring_values():
    np.testing.assert_allclose(ag.softmax(ag.tensor([[1.0, 2.0, 3.0]])).data,
                               [[0.09003057, 0.24472847, 0.66524096]], rtol=1e-7)
    assert ag.log_softmax(ag.tensor([0.0, 1e4])).data.tolist() == [-1e4, 0.0]
    np.testing.assert_allclose(ag.logsumexp(ag.tensor([[1000.0, 1000.0]]), axis=1).data,
                               [1000 + np.log(2)], rtol=1e-15)


def test_accepts_arrays_and_promotes_integers():
    assert isinstance(ag.softmax(np.array([1.0, 2.0])), ag.Tensor)
    p = ag.softmax(np.array([0, 0]))
    assert p.dtype == np.float64 and p.data.tolist() == [0.5, 0.5]


# ---------------------------------------------------------------------------
# Stability
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [1e2, 1e3, 1e4, -1e4])
def test_extreme_logits_finite_values_and_gradients(dtype, scale):
    x = ag.tensor(np.array([[1.0, -1.0, 0.0], [1.0, 1.0, 1.0], [-1.0, 0.5, 1.0]]) * scale,
                  dtype=dtype, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow anywhere
        outputs = [ag.softmax(x), ag.log_softmax(x), ag.logsumexp(x)]
        cotangents = [np.linspace(-1, 1, out.size).reshape(out.shape) for out in outputs]
        grads = [gradients(out, [x], grad=g.astype(dtype))[0]
                 for out, g in zip(outputs, cotangents)]
    for value in outputs:
        assert value.dtype == dtype and np.isfinite(value.data).all()
    for g in grads:
        assert g.dtype == dtype and np.isfinite(g).all()
    # The row of equal entries stays exactly uniform.
    np.testing.assert_allclose(outputs[0].data[1], 1 / 3, rtol=1e-6)
    np.testing.assert_allclose(outputs[2].data[1], scale + np.log(3), rtol=1e-6)


def test_logsumexp_of_all_minus_infinity_is_minus_infinity():
    with np.errstate(divide="ignore"):
        result = ag.logsumexp(ag.tensor([[-np.inf, -np.inf], [0.0, -np.inf]]), axis=1)
    assert result.data.tolist() == [-np.inf, 0.0]


@given(array_and_axis(), st.floats(-1e3, 1e3))
def test_shift_invariance(case, shift):
    x, axis = case
    x_tensor = ag.tensor(x, requires_grad=True)
    shifted = ag.tensor(x + shift, requires_grad=True)
    cotangent = np.cos(np.arange(x.size)).reshape(x.shape)
    for function in (ag.softmax, ag.log_softmax):
        a, b = function(x_tensor, axis=axis), function(shifted, axis=axis)
        np.testing.assert_allclose(b.data, a.data, atol=1e-9 * (1 + abs(shift)))
        ga = gradients(a, [x_tensor], grad=cotangent)[0]
        gb = gradients(b, [shifted], grad=cotangent)[0]
        np.testing.assert_allclose(gb, ga, atol=1e-9 * (1 + abs(shift)))


# ---------------------------------------------------------------------------
# Gradients
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("function", [ag.softmax, ag.log_softmax, ag.logsumexp])
@given(case=array_and_axis())
def test_gradcheck(function, case):
    x, axis = case
    assert gradcheck(lambda t: function(t, axis=axis), x)


@given(array_and_axis())
def test_logsumexp_gradient_is_softmax(case):
    x, axis = case
    t = ag.tensor(x, requires_grad=True)
    ag.logsumexp(t, axis=axis).sum().backward()
    np.testing.assert_allclose(t.grad, ag.softmax(x, axis=axis).data, rtol=1e-12, atol=1e-15)


def jacobian_rows(output, x):
    """d output[k] / d x for every entry k of output, as an (output.size, x.size) matrix."""
    rows = []
    flat = output.reshape(-1)
    for k in range(output.size):
        rows.append(gradients(flat[k], [x], retain_graph=True)[0].ravel())
    return np.array(rows)


@given(ags.arrays(shape=ags.shapes(min_dims=1, max_dims=2)))
def test_softmax_jacobian_is_diag_p_minus_p_pT(x):
    t = ag.tensor(x, requires_grad=True)
    p = ag.softmax(t, axis=-1)
    jacobian = jacobian_rows(p, t)
    rows = p.data.reshape(-1, x.shape[-1])
    blocks = [np.diag(row) - np.outer(row, row) for row in rows]
    expected = np.zeros_like(jacobian)
    size = x.shape[-1]
    for i, block in enumerate(blocks):  # rows are independent: block diagonal
        expected[i * size:(i + 1) * size, i * size:(i + 1) * size] = block
    np.testing.assert_allclose(jacobian, expected, atol=1e-15)


@given(ags.arrays(shape=ags.shapes(min_dims=1, max_dims=1, max_side=5)))
def test_logsumexp_hessian_is_softmax_jacobian(x):
    t = ag.tensor(x, requires_grad=True)
    (g,) = gradients(ag.logsumexp(t), [t], create_graph=True)
    hessian = jacobian_rows(g, t)
    p = ag.softmax(x).data
    np.testing.assert_allclose(hessian, np.diag(p) - np.outer(p, p), atol=1e-14)
