"""The elementwise, reduction and scan vocabulary (issue 14) beyond what the spec table
checks: NumPy dispatch and operators, erf/erfc accuracy in the tails, NaN handling of
fmax/fmin, the conventions at points finite differences cannot see (zeros of prod and
cumprod, ties of sort), and the options of var/std/average/diff/gradient.
"""

import math

import numpy as np
import pytest

import autograd as ag
from autograd.testing import gradcheck
from specs import SPECS_BY_NAME  # noqa: F401  (imports specs first: specs_elementwise needs it)
import specs_elementwise


def _grad(function, *values, dtype=np.float64):
    tensors = [ag.tensor(v, requires_grad=True, dtype=dtype) for v in values]
    function(*tensors).sum().backward()
    return [t.grad for t in tensors]


UNARY = ["sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh",
         "arctanh", "square", "reciprocal", "cbrt", "log2", "log10", "log1p", "exp2", "expm1",
         "sinc", "deg2rad", "radians", "rad2deg", "degrees"]
BINARY = ["logaddexp", "logaddexp2", "hypot", "arctan2", "fmax", "fmin", "remainder", "fmod"]


def test_every_row_of_this_file_is_in_the_table():
    names = [row.name for row in specs_elementwise.ROWS]
    assert len(names) == len(set(names)) and set(names) <= set(SPECS_BY_NAME)
    assert set(UNARY + BINARY + ["erf", "erfc"]) <= set(names)


@pytest.mark.parametrize("name", UNARY)
def test_numpy_ufuncs_on_tensors_record_the_primitive(name):
    x = ag.tensor([0.25, 0.5], requires_grad=True)
    out = getattr(np, name)(x)
    assert isinstance(out, ag.Tensor) and out.requires_grad
    np.testing.assert_allclose(out.data, getattr(np, name)(x.data), rtol=1e-15)
    out.sum().backward()
    assert x.grad.shape == (2,) and np.all(np.isfinite(x.grad))


@pytest.mark.parametrize("name", BINARY)
def test_binary_ufuncs_on_tensors_and_python_numbers_keep_float32(name):
    x = ag.tensor(np.array([0.75, 1.5], np.float32), requires_grad=True)
    out = getattr(np, name)(x, 0.5)
    assert isinstance(out, ag.Tensor) and out.dtype == np.float32
    np.testing.assert_allclose(out.data, getattr(np, name)(x.data, np.float32(0.5)), rtol=1e-6)


def test_integers_become_float64_and_float32_stays_float32():
    for name in ["sin", "log1p", "erf", "erfc", "cbrt"]:
        function = getattr(ag, name)
        assert function(ag.tensor([1, 2])).dtype == np.float64
        assert function(ag.tensor(np.ones(2, np.float32))).dtype == np.float32
    assert ag.reciprocal(ag.tensor([1, 2])).dtype == np.reciprocal(np.array([1, 2])).dtype


def test_modulo_operators():
    x = ag.tensor([5.5, -5.5], requires_grad=True)
    np.testing.assert_array_equal((x % 2.0).data, [1.5, 0.5])
    np.testing.assert_array_equal((7.0 % x).data, 7.0 % x.data)
    np.testing.assert_array_equal(np.remainder(x, 2.0).data, [1.5, 0.5])
    np.testing.assert_array_equal(np.fmod(x, 2.0).data, [1.5, -1.5])
    (g_a, g_b) = _grad(lambda a, b: a % b, [5.5, -5.5], [2.0, 2.0])
    np.testing.assert_array_equal(g_a, [1, 1])
    np.testing.assert_array_equal(g_b, [-2, 3])     # -floor(a / b)
    (g_a, g_b) = _grad(ag.fmod, [5.5, -5.5], [2.0, 2.0])
    np.testing.assert_array_equal(g_b, [-2, 2])     # -trunc(a / b)
    (g,) = _grad(lambda b: 7.0 % b, [2.0])          # __rmod__: 7 = 3 * 2 + 1
    np.testing.assert_array_equal(g, [-3])


def test_fmax_fmin_send_the_gradient_to_the_number_beside_a_nan():
    for function, numbers in ((ag.fmax, [1.0, 3.0, 2.0]), (ag.fmin, [1.0, 3.0, 2.0])):
        g_a, g_b = _grad(function, [np.nan, 3.0, 2.0], [1.0, np.nan, 2.0])
        np.testing.assert_array_equal(function(np.array([np.nan, 3.0, 2.0]),
                                               np.array([1.0, np.nan, 2.0])).data, numbers)
        np.testing.assert_array_equal(g_a, [0, 1, 0.5])
        np.testing.assert_array_equal(g_b, [1, 0, 0.5])
    g_a, g_b = _grad(ag.fmin, [1.0, 4.0], [2.0, 3.0])
    np.testing.assert_array_equal(g_a, [1, 0])


# ---------------------------------------------------------------------------
# erf and erfc against math.erf / math.erfc, to float64 round-off.
# ---------------------------------------------------------------------------

ERF_POINTS = np.concatenate([np.linspace(-6, 6, 4001), np.geomspace(1e-300, 27, 3000),
                             -np.geomspace(1e-300, 27, 3000), [0.0, 0.5, 1.0, 1.5, 2.5, 5.0]])


def _relative_error(got, expected):
    nonzero = expected != 0
    assert np.all(got[~nonzero] == 0)
    return np.max(np.abs(got[nonzero] - expected[nonzero]) / np.abs(expected[nonzero]))


def test_erf_matches_math_erf_to_round_off():
    expected = np.array([math.erf(v) for v in ERF_POINTS])
    assert _relative_error(ag.erf(ERF_POINTS).data, expected) < 2e-15


def test_erfc_has_small_relative_error_far_in_the_tail():
    expected = np.array([math.erfc(v) for v in ERF_POINTS])
    normal = expected > 1e-300   # past that math.erfc's result is subnormal: few digits left
    assert _relative_error(ag.erfc(ERF_POINTS[normal]).data, expected[normal]) < 5e-15
    for v, tolerance in ((5.0, 1e-15), (10.0, 1e-15), (26.0, 1e-15)):
        assert abs(float(ag.erfc(v).data) / math.erfc(v) - 1) < tolerance
    assert abs(float(ag.erfc(5.0).data) - 1.5374597944280349e-12) < 1e-26


def test_erf_and_erfc_at_infinities_nan_and_in_float32():
    special = np.array([np.inf, -np.inf, np.nan, 40.0, -40.0])
    np.testing.assert_array_equal(ag.erf(special).data, [1, -1, np.nan, 1, -1])
    np.testing.assert_array_equal(ag.erfc(special).data, [0, 2, np.nan, 0, 2])
    x = np.linspace(-9, 9, 1001, dtype=np.float32)
    for function, reference in ((ag.erf, math.erf), (ag.erfc, math.erfc)):
        out = function(x)
        expected = np.array([reference(float(v)) for v in x])
        assert out.dtype == np.float32
        np.testing.assert_allclose(out.data, expected.astype(np.float32), rtol=1e-7, atol=1e-45)


def test_erf_gradients_are_the_gaussian_to_any_order():
    x = np.array([-2.0, -0.3, 0.0, 0.7, 3.0])
    gauss = 2 / math.sqrt(math.pi) * np.exp(-x * x)
    (g,) = _grad(ag.erf, x)
    np.testing.assert_allclose(g, gauss, rtol=1e-15)
    (g,) = _grad(ag.erfc, x)
    np.testing.assert_allclose(g, -gauss, rtol=1e-15)
    second = ag.grad(lambda t: ag.grad(lambda s: ag.erf(s).sum())(t).sum())(x)
    np.testing.assert_allclose(np.asarray(second), -2 * x * gauss, rtol=1e-12, atol=1e-300)


def test_exact_gelu_from_erf_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.linspace(-6, 6, 49)

    def gelu(x):
        return x * 0.5 * (1 + ag.erf(x / math.sqrt(2)))

    value = gelu(ag.tensor(x))
    expected = x * 0.5 * (1 + np.array([math.erf(v / math.sqrt(2)) for v in x]))
    np.testing.assert_allclose(value.data, expected, rtol=1e-14, atol=1e-300)
    (g,) = _grad(gelu, x)
    t = torch.tensor(x, requires_grad=True)
    torch.nn.functional.gelu(t).sum().backward()
    np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-12, atol=1e-15)
    assert gradcheck(gelu, x)


# ---------------------------------------------------------------------------
# sinc near 0, where its closed-form derivative cancels.
# ---------------------------------------------------------------------------

def test_sinc_gradient_near_and_at_zero():
    x = np.array([0.0, 1e-9, -1e-4, 0.3, 0.49999, 0.5, 2.0])
    (g,) = _grad(ag.sinc, x)
    px = np.pi * x
    with np.errstate(invalid="ignore", divide="ignore"):
        closed = np.where(x == 0, 0.0, (np.cos(px) * px - np.sin(px)) / (px * x))
    series = -np.pi ** 2 * x / 3 + np.pi ** 4 * x ** 3 / 30
    expected = np.where(np.abs(x) < 1e-3, series, closed)
    np.testing.assert_allclose(g, expected, rtol=1e-13, atol=1e-300)
    # second derivative at 0 is -pi^2 / 3
    h = ag.grad(lambda t: ag.grad(lambda s: ag.sinc(s))(t))(0.0)
    np.testing.assert_allclose(float(np.asarray(h)), -np.pi ** 2 / 3, rtol=1e-12)


def test_where_with_the_condition_alone_gives_constant_indices():
    x = ag.tensor([[0.0, 1.5], [2.0, 0.0]], requires_grad=True)
    for indices in (ag.where(x.data > 0), np.where(x > 0), ag.where(x > 0)):
        assert isinstance(indices, tuple) and len(indices) == 2
        for got, want in zip(indices, np.where(x.data > 0)):
            np.testing.assert_array_equal(np.asarray(got), want)
    (g,) = _grad(lambda t: t[ag.where(t > 1)] * 3, [[0.0, 1.5], [2.0, 0.0]])
    np.testing.assert_array_equal(g, [[0, 3], [3, 0]])
    with pytest.raises(TypeError, match="both a and b"):
        ag.where(x > 0, x)
