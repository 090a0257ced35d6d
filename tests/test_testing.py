"""autograd.testing itself: gradcheck catches wrong gradients, strategies draw what they promise."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given

import autograd as ag
from autograd.tensor import Tensor
from autograd.testing import GradcheckError, gradcheck, strategies as ags


def _exp_with_vjp(vjp):
    """exp whose gradient rule is ``vjp``: lets us plant a wrong gradient."""
    def f(x):
        return Tensor._from_op(np.exp(x.data), (x,), (vjp,), "planted")
    return f


correct_exp = _exp_with_vjp(lambda g, out, x: g * out)
wrong_exp = _exp_with_vjp(lambda g, out, x: g * out * 1.01)


def test_gradcheck_passes_a_correct_gradient_with_full_jacobian():
    assert gradcheck(lambda a, b: (a * b).sum(axis=0), np.ones((3, 2)), np.arange(2.0)) is True


def test_gradcheck_passes_a_correct_gradient_with_projections():
    x = np.random.default_rng(0).standard_normal((150, 150))
    assert gradcheck(correct_exp, x) is True


def test_gradcheck_names_the_worst_entry():
    x = np.array([[0.0, 1.0], [2.0, -1.0]])
    with pytest.raises(GradcheckError) as caught:
        gradcheck(lambda a, b: wrong_exp(b) * a, np.ones(2), x)
    error = caught.value
    assert error.input_index == 1
    assert error.index == (1, 0)            # exp(2) is the largest entry: the largest error
    assert error.output_index == (1, 0)
    assert error.analytic == pytest.approx(1.01 * np.exp(2.0))
    assert error.numeric == pytest.approx(np.exp(2.0), rel=1e-6)
    assert "input 1" in str(error) and "analytic" in str(error) and "numeric" in str(error)
    assert isinstance(error, AssertionError)


def test_gradcheck_projections_catch_a_wrong_gradient():
    x = np.random.default_rng(1).standard_normal((150, 150))
    with pytest.raises(GradcheckError, match="projection") as caught:
        gradcheck(wrong_exp, x)
    assert caught.value.input_index == 0


def test_gradcheck_catches_a_gradient_of_the_wrong_shape():
    summed = lambda x: Tensor._from_op(x.data.sum(), (x,), (lambda g, out, x: g,), "bad_sum")
    with pytest.raises(GradcheckError, match="shape"):
        gradcheck(summed, np.ones(3))


def test_gradcheck_accepts_tensors_arrays_and_constants_without_touching_them():
    x = ag.tensor([1.0, 2.0], dtype=np.float32, requires_grad=True)
    y = np.array([3.0, 4.0])
    index = np.array([1, 0, 1])
    before = (x.data.copy(), y.copy())
    assert gradcheck(lambda x, y, index, axis: (x * y)[index].sum(axis=axis), x, y, index, 0)
    np.testing.assert_array_equal(x.data, before[0])
    np.testing.assert_array_equal(y, before[1])
    assert x.grad is None and x.dtype == np.float32


def test_gradcheck_with_an_output_independent_of_the_input():
    assert gradcheck(lambda x, y: y * 2, np.ones(2), np.ones(3))


def test_gradcheck_needs_a_floating_input():
    with pytest.raises(ValueError, match="no floating-point input"):
        gradcheck(lambda i: i, np.arange(3))


def test_gradcheck_reports_nan_gradients():
    nan_gradient = _exp_with_vjp(lambda g, out, x: g * np.nan)
    with pytest.raises(GradcheckError, match="nan"):
        gradcheck(nan_gradient, np.ones(2))


def test_importing_testing_does_not_import_hypothesis():
    code = "import sys, autograd.testing; assert 'hypothesis' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@given(ags.arrays(np.float32, away_from=(0.0, 1.0), margin=0.1))
def test_arrays_keep_away_from_points(x):
    assert x.dtype == np.float32 and x.ndim <= 3
    assert np.all(np.isfinite(x)) and np.all(np.abs(x) <= 5)
    assert np.all(np.abs(x) >= 0.099) and np.all(np.abs(x - 1) >= 0.099)


@given(ags.arrays(np.float32, min_value=0.1, max_value=3.0))
def test_arrays_bounds_need_not_be_representable(x):
    assert np.all((x >= np.float32(0.1)) & (x <= 3.0))


@given(ags.tensors(shape=(2, 3)), ags.tensors(np.int64, requires_grad=True))
def test_tensors(x, i):
    assert isinstance(x, Tensor) and x.shape == (2, 3) and x.requires_grad
    assert i.dtype == np.int64 and not i.requires_grad


@given(ags.broadcastable_shapes(3))
def test_broadcastable_shapes(shapes):
    assert len(shapes) == 3
    np.broadcast_shapes(*shapes)


@given(ags.broadcastable_arrays(2, min_dims=1))
def test_broadcastable_arrays(arrays):
    a, b = arrays
    assert min(a.ndim, b.ndim) >= 1
    assert (a + b).shape == np.broadcast_shapes(a.shape, b.shape)
