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


# Where the erf/erfc evaluation changes course: erf switches from its series to 1 - erfc at
# |x| = 1.5 and is +-1 from |x| = 6 (to round-off from 5.93); erfc is 1 - the series on
# -1.5 < x < 0.5, 2 from x = -6, clamps |x| at 28 (it underflows before 27.3) and goes
# subnormal past 26.55.
ERF_SWITCHES = [0.5, 1.0, 1.5, 5.93, 6.0, 26.55, 27.3, 28.0]


def _either_side(points):
    near = [[np.nextafter(b, 0), b, np.nextafter(b, np.inf), b * (1 - 1e-9), b * (1 + 1e-9)]
            for b in points]
    values = np.array(near).ravel()
    return np.concatenate([values, -values])


def test_erf_and_erfc_either_side_of_where_they_change_formula():
    x = _either_side(ERF_SWITCHES)
    expected = np.array([math.erf(v) for v in x])
    assert _relative_error(ag.erf(x).data, expected) < 2e-15
    expected = np.array([math.erfc(v) for v in x])
    got = ag.erfc(x).data
    normal = expected > 1e-300
    assert _relative_error(got[normal], expected[normal]) < 5e-15
    assert np.all(np.abs(got[~normal] - expected[~normal]) < 1e-305)   # subnormal or 0
    assert np.all(got[x >= 27.3] == 0) and np.all(got[x < 0] > 1)


def test_erf_keeps_the_sign_of_zero_and_subnormal_arguments():
    for dtype in (np.float64, np.float32):
        zeros = np.array([0.0, -0.0], dtype)
        out = ag.erf(zeros).data
        assert out.dtype == dtype and np.all(out == 0)
        np.testing.assert_array_equal(np.signbit(out), [False, True])
        np.testing.assert_array_equal(ag.erfc(zeros).data, [1, 1])
    tiny = np.array([5e-324, -5e-324, 1e-320, 1e-310, -2.2250738585072014e-308, 1e-300])
    np.testing.assert_array_max_ulp(ag.erf(tiny).data, np.array([math.erf(v) for v in tiny]), 1)
    np.testing.assert_array_equal(ag.erfc(tiny).data, 1.0)
    tiny = np.array([1e-45, -1e-45, 3e-42, 1e-40, -1e-38], np.float32)
    expected = np.array([math.erf(float(v)) for v in tiny]).astype(np.float32)
    np.testing.assert_array_max_ulp(ag.erf(tiny).data, expected, 1)


def test_erf_and_erfc_at_huge_arguments_without_overflow():
    for dtype in (np.float64, np.float32):
        huge = np.array([30.0, 1e4, 1e30, np.finfo(dtype).max, np.inf], dtype)
        x = np.concatenate([huge, -huge])
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            erf, erfc = ag.erf(x).data, ag.erfc(x).data
        np.testing.assert_array_equal(erf, np.sign(x))
        np.testing.assert_array_equal(erfc, np.where(x > 0, 0.0, 2.0))
        assert erf.dtype == erfc.dtype == dtype


def test_erf_and_erfc_over_several_blocks_and_any_layout():
    # erf/erfc run over blocks of _ERF_BLOCK elements: here one block of series points only,
    # one past erf's range, one mixed with NaN and infinities, and a short last block.
    from autograd import primitives

    block = primitives._ERF_BLOCK
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(-1.49, 1.49, block), rng.uniform(6, 40, block),
                        rng.standard_normal(block) * 5, [np.nan, np.inf, -np.inf],
                        rng.uniform(-3, 3, 45)])
    x = x * rng.choice([-1.0, 1.0], x.size)
    before = x.copy()
    for function, reference in ((ag.erf, math.erf), (ag.erfc, math.erfc)):
        expected = np.array([reference(v) for v in x])
        single = x.astype(np.float32)
        expected_single = np.array([reference(float(v)) for v in single]).astype(np.float32)
        for layout in (lambda v: v, lambda v: v.reshape(-1, 100).T):   # .T: not contiguous
            got = function(layout(x)).data
            np.testing.assert_allclose(got, layout(expected), rtol=5e-15, atol=1e-300)
            got = function(layout(single)).data
            assert got.dtype == np.float32
            np.testing.assert_allclose(got, layout(expected_single), rtol=1e-7, atol=1e-45)
    np.testing.assert_array_equal(x, before)     # the input is only read


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


# ---------------------------------------------------------------------------
# prod and cumprod with zeros: the gradient is the product of the other entries.
# ---------------------------------------------------------------------------

def _numeric_hessian(f, x, eps=1e-4):
    x = np.asarray(x, float).ravel()
    n = x.size
    hessian = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            def at(di, dj):
                y = x.copy()
                y[i] += di
                y[j] += dj
                return f(y)
            hessian[i, j] = (at(eps, eps) - at(eps, -eps) - at(-eps, eps)
                             + at(-eps, -eps)) / (4 * eps * eps)
    return hessian


@pytest.mark.parametrize("values, expected", [
    ([2.0, 3.0, 4.0], [12.0, 8.0, 6.0]),        # no zero: prod / x
    ([2.0, 0.0, 4.0], [0.0, 8.0, 0.0]),         # one zero: only it gets the others' product
    ([0.0, 3.0, 0.0], [0.0, 0.0, 0.0]),         # two zeros: every product of others holds one
    ([0.0], [1.0]),
])
def test_prod_gradient_with_zeros(values, expected):
    (g,) = _grad(ag.prod, values)
    np.testing.assert_array_equal(g, expected)
    assert gradcheck(ag.prod, np.array(values))


def test_prod_gradient_with_zeros_along_axes_and_its_hessian():
    x = np.array([[[1.5, 0.0], [2.0, -1.0]], [[0.0, 0.0], [3.0, 0.5]]])
    for axis in (None, 0, 1, 2, (0, 2), (2, 1)):
        assert gradcheck(lambda t: ag.prod(t, axis=axis, keepdims=True), x)
        assert gradcheck(lambda t: ag.prod(t, axis=axis), x)
    row = np.array([2.0, 0.0, 3.0, -1.0])
    hessian = ag.hessian(lambda t: ag.prod(t))(row)
    np.testing.assert_allclose(np.asarray(hessian), _numeric_hessian(np.prod, row), atol=1e-6)


def test_prod_matches_torch_with_zeros():
    torch = pytest.importorskip("torch")
    x = np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 1.0], [1.0, 2.0, 3.0]])
    (g,) = _grad(lambda t: ag.prod(t, axis=1), x)
    t = torch.tensor(x, requires_grad=True)
    t.prod(dim=1).sum().backward()
    np.testing.assert_array_equal(g, t.grad.numpy())
    np.testing.assert_array_equal(g, [[0, 6, 0], [0, 0, 0], [6, 3, 2]])


def test_cumprod_gradient_with_zeros_to_second_order():
    x = np.array([2.0, 0.0, 3.0, 0.0, 5.0])
    (g,) = _grad(ag.cumprod, x)
    np.testing.assert_array_equal(g, [1.0, 2.0 + 6.0, 0.0, 0.0, 0.0])
    weights = np.arange(1.0, 6.0)
    hessian = ag.hessian(lambda t: (ag.cumprod(t) * weights).sum())(x)
    expected = _numeric_hessian(lambda y: (np.cumprod(y) * weights).sum(), x)
    np.testing.assert_allclose(np.asarray(hessian), expected, atol=1e-6)
    matrix = np.array([[0.0, 2.0, 0.0], [1.0, 0.0, 4.0]])
    for axis in (0, 1, None):
        assert gradcheck(lambda t: ag.cumprod(t, axis=axis), matrix)


def _exact_cumprod_hessian(x, weights):
    """d2/dx_a dx_b of sum_j w_j prod_{k<=j} x_k: sum over j >= max(a, b) of w_j times the
    product of the other entries up to j (exact: each a product of exact numbers)."""
    n = len(x)
    hessian = np.zeros((n, n))
    for a in range(n):
        for b in range(n):
            if a != b:
                hessian[a, b] = sum(weights[j] * np.prod([x[k] for k in range(j + 1) if k not in (a, b)])
                                    for j in range(max(a, b), n))
    return hessian


@pytest.mark.parametrize("zero", [True, False], ids=["with_a_zero", "no_zero"])
@pytest.mark.parametrize("tiny", [1e-6, 1e-12, 1e-200, 0.0])
def test_cumprod_second_derivative_is_accurate_next_to_a_zero(tiny, zero):
    # The first-order rule divides by x; differentiated again that becomes two terms of
    # size 1/x that cancel, so a small entry (not only an exact zero) must not go through it.
    x = np.array([1.5, tiny, 0.0 if zero else 0.75, 2.0, -0.5])
    weights = np.array([0.5, -1.0, 2.0, 1.5, 3.0])
    hessian = np.asarray(ag.hessian(lambda t: (ag.cumprod(t) * weights).sum())(x))
    np.testing.assert_allclose(hessian, _exact_cumprod_hessian(x, weights), rtol=1e-14, atol=1e-300)


@pytest.mark.parametrize("tiny", [1e-6, 1e-12, 1e-200])
def test_prod_second_derivative_is_accurate_next_to_a_tiny_entry(tiny):
    # the division rule out / x_i, differentiated again, gave entries of 3e184 at 1e-200
    x = np.array([1.5, tiny, 0.75, 2.0])
    hessian = np.asarray(ag.hessian(ag.prod)(x))
    expected = [[0.0 if a == b else np.prod([x[k] for k in range(4) if k not in (a, b)])
                 for b in range(4)] for a in range(4)]
    np.testing.assert_allclose(hessian, expected, rtol=1e-14, atol=0)


@pytest.mark.parametrize("function", [ag.prod, ag.cumprod], ids=["prod", "cumprod"])
def test_product_gradients_survive_underflow_and_overflow_of_the_product(function):
    # prod(x) underflows to 0 (or overflows to inf) though no entry is zero; the products of
    # the others, which the gradient is, are ordinary numbers
    for x in (np.array([1e-200, 1e-200, 1e200]), np.array([1e200, 1e200, 1e-200])):
        with np.errstate(over="ignore"):   # the forward overflows, as NumPy's does; so does x0 x1
            (g,) = _grad(function, x)
            if function is ag.prod:
                expected = [x[1] * x[2], x[0] * x[2], x[0] * x[1]]
            else:   # sum_j of d out_j / d x_i
                expected = [1 + x[1] + x[1] * x[2], x[0] + x[0] * x[2], x[0] * x[1]]
        np.testing.assert_allclose(g, expected, rtol=1e-15)


def test_cumprod_third_order_next_to_zeros_found_by_hypothesis():
    # the dev profile's falsifying example: finite differences step to x1 = +-1e-6, where
    # the second-order graph of the division rule lost 1e-10 of 1.3
    from test_higher_order import gradient_function
    x, v, u = np.array([1.0, 0.0, 0.0]), np.array([0.0, 0.89029013, 0.0]), np.full(3, 1.5)
    second = gradient_function(ag.cumprod, (x, None))
    assert gradcheck(gradient_function(second, (x, None, v)), x, None, v, u,
                     full_jacobian_limit=0, projections=2)


def test_cumprod_and_cumsum_match_torch():
    torch = pytest.importorskip("torch")
    x = np.array([[1.5, 0.0, -2.0, 0.0], [0.5, 2.0, 0.0, 3.0]])
    for ours, theirs in ((ag.cumprod, torch.cumprod), (ag.cumsum, torch.cumsum)):
        cotangent = np.arange(8.0).reshape(2, 4)
        t_ours = ag.tensor(x, requires_grad=True)
        ours(t_ours, axis=1).backward(cotangent)
        t = torch.tensor(x, requires_grad=True)
        theirs(t, dim=1).backward(torch.tensor(cotangent))
        np.testing.assert_allclose(t_ours.grad, t.grad.numpy(), rtol=1e-15)


def test_scans_flatten_without_an_axis_and_keep_float32():
    x = ag.tensor(np.arange(6, dtype=np.float32).reshape(2, 3), requires_grad=True)
    for function in (np.cumsum, np.cumprod):
        out = function(x)
        assert out.shape == (6,) and out.dtype == np.float32
        np.testing.assert_array_equal(out.data, function(x.data))
    assert np.cumsum(ag.tensor(2.0), axis=0).shape == (1,)
    np.testing.assert_array_equal(x.cumsum(axis=1).data, x.data.cumsum(axis=1))
    np.testing.assert_array_equal(x.cumprod(axis=0).data, x.data.cumprod(axis=0))
    assert np.cumsum(ag.tensor([True, True])).dtype == np.cumsum(np.array([True, True])).dtype


# ---------------------------------------------------------------------------
# var, std, average, nan-reductions.
# ---------------------------------------------------------------------------

def test_var_and_std_options_match_numpy():
    x = np.random.default_rng(1).standard_normal((3, 4, 2))
    t = ag.tensor(x)
    for kwargs in (dict(), dict(axis=1), dict(axis=(0, 2), ddof=1), dict(axis=-1, keepdims=True),
                   dict(ddof=2), dict(axis=0, correction=1)):
        for name in ("var", "std"):
            np.testing.assert_allclose(getattr(ag, name)(t, **kwargs).data,
                                       getattr(np, name)(x, **kwargs), rtol=1e-13)
            np.testing.assert_allclose(getattr(np, name)(t, **kwargs).data,
                                       getattr(np, name)(x, **kwargs), rtol=1e-13)
    np.testing.assert_allclose(t.var(0, None, None, 1).data, x.var(0, ddof=1), rtol=1e-13)
    np.testing.assert_allclose(t.std(axis=1).data, x.std(axis=1), rtol=1e-13)
    assert ag.var(ag.tensor([1, 2, 4])).dtype == np.float64
    assert ag.std(ag.tensor(np.ones(3, np.float32))).dtype == np.float32
    with pytest.raises(ValueError, match="ddof or correction"):
        ag.var(t, ddof=1, correction=1)


def test_var_and_std_gradients_match_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(2).standard_normal((3, 5))
    for name in ("var", "std"):
        (g,) = _grad(lambda t: getattr(ag, name)(t, axis=1, ddof=1), x)
        t = torch.tensor(x, requires_grad=True)
        getattr(torch, name)(t, dim=1, correction=1).sum().backward()
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-12)
        assert gradcheck(lambda t: getattr(ag, name)(t, axis=0), x)


def test_average_with_weights_along_an_axis_and_returned():
    a = np.arange(6.0).reshape(2, 3)
    w = np.array([1.0, 2.0, 3.0])
    got, total = ag.average(ag.tensor(a), axis=1, weights=w, returned=True)
    want, want_total = np.average(a, axis=1, weights=w, returned=True)
    np.testing.assert_allclose(got.data, want, rtol=1e-15)
    np.testing.assert_array_equal(total.data, want_total)
    got, total = np.average(ag.tensor(a), axis=0, returned=True)
    np.testing.assert_array_equal(total.data, np.average(a, axis=0, returned=True)[1])
    # gradient in a: w / sum(w); in the weights: (a - average) / sum(w)
    g_a, g_w = _grad(lambda a, w: ag.average(a, weights=w), [1.0, 2.0, 4.0], [1.0, 1.0, 2.0])
    np.testing.assert_allclose(g_a, [0.25, 0.25, 0.5])
    np.testing.assert_allclose(g_w, (np.array([1.0, 2.0, 4.0]) - 2.75) / 4)
    assert gradcheck(lambda a, w: ag.average(a, axis=(0, 1), weights=w), a, np.ones((2, 3)) + a)
    with pytest.raises(ZeroDivisionError, match="sum to zero"):
        ag.average(ag.tensor(a), axis=1, weights=[1.0, -1.0, 0.0])
    with pytest.raises(TypeError, match="axis"):
        ag.average(ag.tensor(a), weights=w)
    with pytest.raises(ValueError, match=r"weights of shape \(2,\)"):
        ag.average(ag.tensor(a), axis=1, weights=[1.0, 2.0])


def test_nansum_and_nanmean_give_nan_entries_no_gradient():
    x = [[1.0, np.nan, 3.0], [np.nan, 2.0, 2.0]]
    for function, expected in ((ag.nansum, [4.0, 4.0]), (ag.nanmean, [2.0, 2.0])):
        out = function(ag.tensor(x), axis=1)
        np.testing.assert_array_equal(out.data, expected)
        (g,) = _grad(lambda t: function(t, axis=1), x)
        share = 1.0 if function is ag.nansum else 0.5
        np.testing.assert_array_equal(g, [[share, 0, share], [0, share, share]])
    assert ag.nansum(ag.tensor([1, 2])).data == 3


def test_amax_amin_are_max_min():
    x = np.array([[3.0, -1.0], [3.0, 5.0]])
    for alias, original in ((ag.amax, ag.max), (ag.amin, ag.min)):
        for axis in (None, 0, 1):
            np.testing.assert_array_equal(alias(x, axis=axis).data, original(x, axis=axis).data)
        np.testing.assert_array_equal(_grad(alias, x)[0], _grad(original, x)[0])
    assert np.amax(ag.tensor(x, requires_grad=True)).requires_grad


def test_ptp_is_max_minus_min():
    (g,) = _grad(lambda t: ag.ptp(t, axis=1), [[1.0, 4.0, 2.0], [0.0, -2.0, 5.0]])
    np.testing.assert_array_equal(g, [[-1, 1, 0], [0, -1, 1]])


def test_out_arguments_are_refused():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    for function in (ag.prod, ag.cumsum, ag.cumprod, ag.var, ag.std, ag.nansum, ag.take):
        with pytest.raises(TypeError, match="out="):
            function(x, *([[0]] if function is ag.take else []), out=np.zeros(2))


# ---------------------------------------------------------------------------
# sort, partition, take, take_along_axis: the gradient follows the entries.
# ---------------------------------------------------------------------------

def test_sort_gradient_goes_back_through_the_permutation():
    x = np.array([[3.0, 1.0, 2.0], [0.0, -1.0, 5.0]])
    weights = np.array([10.0, 20.0, 30.0])
    (g,) = _grad(lambda t: ag.sort(t) * weights, x)
    np.testing.assert_array_equal(g, [[30, 10, 20], [20, 10, 30]])
    (g,) = _grad(lambda t: np.sort(t, axis=0, kind="quicksort") * np.array([[10.0], [20.0]]), x)
    np.testing.assert_array_equal(g, [[20, 20, 10], [10, 10, 20]])
    (g,) = _grad(lambda t: ag.sort(t, axis=None) * np.arange(6.0), x)
    np.testing.assert_array_equal(g, [[4, 2, 3], [1, 0, 5]])
    # ties: a stable sort, so the first of equal entries goes first
    (g,) = _grad(lambda t: ag.sort(t) * weights, [1.0, 1.0, 0.0])
    np.testing.assert_array_equal(g, [20, 30, 10])
    with pytest.raises(np.exceptions.AxisError):
        ag.sort(ag.tensor(1.0))


def test_partition_values_are_numpys_and_the_gradient_follows_them():
    x = np.array([5.0, 1.0, 4.0, 2.0, 3.0, 0.0])
    for kth in (0, 2, -1, (1, 3)):
        out = ag.partition(ag.tensor(x), kth)
        np.testing.assert_array_equal(out.data, np.partition(x, kth))
        (g,) = _grad(lambda t: ag.partition(t, kth) * np.arange(6.0), x)
        # each input entry gets the weight of the place it went to (the values are distinct)
        places = [np.flatnonzero(out.data == value)[0] for value in x]
        np.testing.assert_array_equal(g, places)


def test_take_modes_and_repeated_indices():
    x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    t = ag.tensor(x)
    for kwargs in (dict(), dict(axis=1), dict(axis=0), dict(axis=1, mode="wrap"),
                   dict(axis=1, mode="clip")):
        indices = [[0, 4], [-1, 2]] if "mode" in kwargs else [[0, 1], [-1, 1]]
        np.testing.assert_array_equal(ag.take(t, indices, **kwargs).data,
                                      np.take(x, indices, **kwargs))
    np.testing.assert_array_equal(t.take(3).data, x.take(3))
    (g,) = _grad(lambda t: ag.take(t, [2, 2, 0, 2], axis=1), x)
    np.testing.assert_array_equal(g, [[1, 0, 3], [1, 0, 3]])
    with pytest.raises(IndexError):
        ag.take(t, [7], axis=1)
    with pytest.raises(IndexError, match="integers"):
        ag.take(t, [0.5])


def test_take_along_axis_with_argsort_and_broadcast_indices():
    x = np.array([[3.0, 1.0, 2.0], [0.0, 5.0, -1.0]])
    order = np.argsort(x, axis=1)
    out = np.take_along_axis(ag.tensor(x, requires_grad=True), order, axis=1)
    np.testing.assert_array_equal(out.data, np.sort(x, axis=1))
    (g,) = _grad(lambda t: ag.take_along_axis(t, np.array([[0, 0]]), axis=1), x)   # broadcast rows
    np.testing.assert_array_equal(g, [[2, 0, 0], [2, 0, 0]])
    flat = np.array([5, 0])
    np.testing.assert_array_equal(ag.take_along_axis(ag.tensor(x), flat, axis=None).data,
                                  np.take_along_axis(x, flat, axis=None))
    with pytest.raises(ValueError, match="dimensions"):
        ag.take_along_axis(ag.tensor(x), np.array([0]), axis=1)


# ---------------------------------------------------------------------------
# diff and gradient.
# ---------------------------------------------------------------------------

def test_diff_with_prepend_append_and_orders():
    x = np.array([[1.0, 4.0, 9.0], [2.0, 3.0, 7.0]])
    for kwargs in (dict(), dict(n=2), dict(n=4), dict(axis=0), dict(prepend=0.0),
                   dict(append=[[1.0], [2.0]]), dict(n=2, prepend=1.5, append=-1.0), dict(n=0)):
        got = np.diff(ag.tensor(x), **kwargs)
        want = np.diff(x, **kwargs)
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_array_equal(got.data, want)
    assert gradcheck(lambda t, p: ag.diff(t, n=2, prepend=p, append=2.0), x,
                     np.array([[0.5], [1.0]]))
    assert ag.diff(ag.tensor(np.ones(3, np.float32))).dtype == np.float32
    np.testing.assert_array_equal(ag.diff(ag.tensor([True, False, False])).data,
                                  np.diff([True, False, False]))
    with pytest.raises(ValueError, match="at least one dimension"):
        ag.diff(ag.tensor(1.0))
    with pytest.raises(ValueError, match="non-negative"):
        ag.diff(ag.tensor([1.0, 2.0]), n=-1)


def test_gradient_over_several_axes_and_edge_orders():
    x = np.random.default_rng(3).standard_normal((4, 5))
    for args, kwargs in (((), {}), ((0.5,), {}), ((0.5, 2.0), {}), ((), dict(axis=1)),
                         ((), dict(edge_order=2)), ((3.0,), dict(axis=(1, 0), edge_order=2))):
        got = np.gradient(ag.tensor(x), *args, **kwargs)
        want = np.gradient(x, *args, **kwargs)
        if isinstance(want, tuple):   # several axes: a tuple, as NumPy 2 gives
            assert type(got) is tuple and len(got) == len(want)
        else:
            got, want = (got,), (want,)
        for g, w in zip(got, want):
            assert isinstance(g, ag.Tensor)
            np.testing.assert_allclose(g.data, w, rtol=1e-13, atol=1e-15)
    assert gradcheck(lambda t: ag.gradient(t, 0.5, axis=0, edge_order=2), x)
    assert ag.gradient(ag.tensor([1, 4, 9])).dtype == np.float64
    with pytest.raises(ValueError, match="at least 3"):
        ag.gradient(ag.tensor([1.0, 2.0]), edge_order=2)
    with pytest.raises(TypeError, match="uniform spacing"):
        ag.gradient(ag.tensor([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 3.0]))
