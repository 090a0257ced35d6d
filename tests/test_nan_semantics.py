"""NaN and inf in gradients: what leaks where, and PyTorch parity at the singular points.

Semantics pinned here (and written up in the README):

* ``where(c, a, b)`` sends the cotangent only into the chosen branch; the other
  branch receives exact zeros. A NaN/inf *value* in the unused branch never reaches
  the result or the gradient of ``where`` itself.
* But the unused branch was still computed, and its own VJP multiplies that zero
  by its local derivative: ``0 * inf = nan``. So ``where(x > 0, sqrt(x), 0)`` has
  a NaN gradient at x <= 0, exactly like PyTorch and JAX. The fix is the "double
  where": make the unused branch's input safe (``sqrt(where(x > 0, x, 1))``).
* Singular points follow PyTorch: sqrt'(0) = inf, log'(0) = inf, (x ** 0.5)'(0) = inf,
  (x ** 0)' = 0 everywhere, (x ** 2)'(0) = 0, abs'(0) = relu'(0) = 0,
  d(a ** b)/db = 0 at a = 0.
"""

import warnings

import numpy as np
import pytest

import autograd as ag

NAN, INF = np.nan, np.inf


@pytest.fixture(autouse=True)
def quiet_floating_point_warnings():
    # The values below are meant to hit 0/0 and x/0; NumPy's RuntimeWarnings are expected.
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def gradient(function, values, dtype=np.float64):
    x = ag.tensor(np.asarray(values, dtype=dtype), requires_grad=True)
    function(x).sum().backward()
    assert x.grad.dtype == dtype
    return x.grad


def assert_same(actual, expected):
    np.testing.assert_array_equal(actual, np.asarray(expected, dtype=actual.dtype))


# (name, our function, input values, expected gradient) — the expected values are
# PyTorch 2.x's; test_matches_pytorch below re-derives them when torch is installed.
SINGULAR_POINTS = [
    ("sqrt at 0", ag.sqrt, [0.0, 4.0], [INF, 0.25]),
    ("sqrt below 0", ag.sqrt, [-1.0], [NAN]),
    ("log at 0", ag.log, [0.0, 1.0], [INF, 1.0]),
    ("log below 0", ag.log, [-1.0], [-1.0]),
    ("x ** 0.5 at 0", lambda x: x ** 0.5, [0.0, 4.0], [INF, 0.25]),
    ("x ** -1 at 0", lambda x: x ** -1.0, [0.0], [-INF]),
    ("x ** 2 at 0", lambda x: x ** 2, [0.0], [0.0]),
    ("x ** 1 at 0", lambda x: x ** 1, [0.0], [1.0]),
    ("x ** 0 at 0", lambda x: x ** 0, [0.0, 3.0], [0.0, 0.0]),
    ("x ** tensor(0.5) at 0", lambda x: x ** ag.tensor(0.5), [0.0], [INF]),
    ("x ** tensor(0.0) at 0", lambda x: x ** ag.tensor(0.0), [0.0], [0.0]),
    ("0 ** x at x >= 0", lambda x: ag.tensor(0.0) ** x, [0.0, 1.0], [0.0, 0.0]),
    ("x ** x at 0", lambda x: x ** x, [0.0], [0.0]),
    ("(-2) ** x", lambda x: ag.tensor(-2.0) ** x, [2.0], [NAN]),
    ("sqrt(x * x) at 0", lambda x: ag.sqrt(x * x), [0.0], [NAN]),
    ("abs at 0", ag.abs, [0.0], [0.0]),
    ("relu at 0", ag.relu, [0.0], [0.0]),
    ("x / x at 0", lambda x: x / x, [0.0], [NAN]),
    ("x * 0 at inf", lambda x: x * 0, [INF], [0.0]),
    ("exp at -inf", ag.exp, [-INF], [0.0]),
    ("tanh at inf", ag.tanh, [INF, -INF], [0.0, 0.0]),
    ("sigmoid at +-inf", ag.sigmoid, [INF, -INF], [0.0, 0.0]),
    ("clip at inf and nan", lambda x: ag.clip(x, -1, 1), [INF, -INF, NAN], [0.0, 0.0, 0.0]),
    ("sum with nan", lambda x: x.sum(), [NAN, 1.0], [1.0, 1.0]),
    ("tanh at nan", ag.tanh, [NAN], [NAN]),
    ("log(exp(x)) overflow", lambda x: ag.log(ag.exp(x)), [1000.0], [NAN]),
]

WHERE_CASES = [
    # the unused branch's own VJP computes 0 * inf or 0 / 0: NaN leaks, as in PyTorch
    ("where(x > 0, sqrt(x), 0)", lambda x: ag.where(x > 0, ag.sqrt(x), 0.0),
     [-1.0, 0.0, 4.0], [NAN, NAN, 0.25]),
    ("where(x > 0, log(x), 0)", lambda x: ag.where(x > 0, ag.log(x), 0.0),
     [-1.0, 0.0, 4.0], [-0.0, NAN, 0.25]),
    ("where(x != 0, 1 / x, 0)", lambda x: ag.where(x != 0, 1 / x, 0.0),
     [0.0, 2.0], [NAN, -0.25]),
    ("where(x > 0, x, inf * x)", lambda x: ag.where(x > 0, x, INF * x),
     [-1.0, 4.0], [INF, NAN]),
    # the double-where pattern keeps every gradient finite
    ("where(x > 0, sqrt(where(x > 0, x, 1)), 0)",
     lambda x: ag.where(x > 0, ag.sqrt(ag.where(x > 0, x, 1.0)), 0.0),
     [-1.0, 0.0, 4.0], [0.0, 0.0, 0.25]),
    # a NaN / inf constant in the unused branch does not reach the gradient
    ("where(x > 0, x, nan)", lambda x: ag.where(x > 0, x, NAN), [-1.0, 2.0], [0.0, 1.0]),
    ("where(x > 0, inf, x)", lambda x: ag.where(x > 0, INF, x), [-1.0, 2.0], [1.0, 0.0]),
    ("where(x > 0, exp(x), exp(-x)) overflow", lambda x: ag.where(x > 0, ag.exp(x), ag.exp(-x)),
     [800.0, -800.0], [INF, -INF]),
    # comparisons with NaN are False, so NaN inputs take the second branch
    ("where(x > 0, x, -x) at nan", lambda x: ag.where(x > 0, x, -x), [NAN], [-1.0]),
]

# Where we knowingly differ from PyTorch at NaN inputs (both are defensible; the
# forward is NaN in every case). Pinned so a change is deliberate.
NAN_DIFFERENCES = [
    # (name, function, values, ours, PyTorch's)
    ("relu at nan", ag.relu, [NAN], [0.0], [1.0]),
    ("abs at nan", ag.abs, [NAN], [NAN], [0.0]),
    ("max with a nan", lambda x: x.max(), [1.0, NAN, 2.0], [NAN, NAN, NAN], [0.0, 1.0, 0.0]),
    ("min with a nan", lambda x: x.min(), [1.0, NAN, 2.0], [NAN, NAN, NAN], [0.0, 1.0, 0.0]),
    ("maximum(x, 0) at nan", lambda x: ag.maximum(x, 0.0), [NAN, 1.0], [0.0, 1.0], [1.0, 1.0]),
    ("minimum(x, 0) at nan", lambda x: ag.minimum(x, 0.0), [NAN, -1.0], [0.0, 1.0], [1.0, 1.0]),
]


@pytest.mark.parametrize("name, function, values, expected", SINGULAR_POINTS + WHERE_CASES,
                         ids=[row[0] for row in SINGULAR_POINTS + WHERE_CASES])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gradient_at_singular_points(name, function, values, expected, dtype):
    assert_same(gradient(function, values, dtype), expected)


@pytest.mark.parametrize("name, function, values, ours, torch_value", NAN_DIFFERENCES,
                         ids=[row[0] for row in NAN_DIFFERENCES])
def test_documented_nan_differences(name, function, values, ours, torch_value):
    assert_same(gradient(function, values), ours)


def test_where_never_sends_gradient_into_the_unused_branch():
    a = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = ag.tensor([NAN, INF, -INF], requires_grad=True)
    out = ag.where(np.array([True, True, True]), a, b)
    out.backward(np.array([NAN, 1.0, INF]))   # even a non-finite cotangent stays on its side
    assert_same(a.grad, [NAN, 1.0, INF])
    assert_same(b.grad, [0.0, 0.0, 0.0])
    assert_same(out.data, [1.0, 2.0, 3.0])


def test_where_gradient_broadcasts_back_to_each_branch_shape():
    a = ag.tensor(2.0, requires_grad=True)
    b = ag.tensor([[NAN], [INF]], requires_grad=True)
    condition = np.array([[True, False, True], [False, False, True]])
    ag.where(condition, a, b).sum().backward()
    assert_same(a.grad, 3.0)
    assert_same(b.grad, [[1.0], [2.0]])


def test_second_order_sqrt_at_zero_matches_the_formula():
    # d2/dx2 sqrt x = -1/4 x^-3/2: -inf at 0, like PyTorch's double backward.
    second = ag.grad(ag.grad(lambda x: ag.sqrt(x)))
    assert second(ag.tensor(0.0)).item() == -INF
    assert second(ag.tensor(4.0)).item() == pytest.approx(-1 / 32)


def torch_gradient(torch, function, values):
    x = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    function(x).sum().backward()
    return x.grad.numpy()


def test_matches_pytorch():
    torch = pytest.importorskip("torch")
    nan_const = torch.tensor(NAN, dtype=torch.float64)
    zero = torch.tensor(0.0, dtype=torch.float64)
    torch_functions = {
        "sqrt at 0": torch.sqrt, "log at 0": torch.log, "log below 0": torch.log,
        "sqrt below 0": torch.sqrt,
        "x ** 0.5 at 0": lambda x: x ** 0.5, "x ** 0 at 0": lambda x: x ** 0,
        "x ** tensor(0.5) at 0": lambda x: x ** torch.tensor(0.5, dtype=torch.float64),
        "0 ** x at x >= 0": lambda x: zero ** x, "x ** x at 0": lambda x: x ** x,
        "abs at 0": torch.abs, "relu at 0": torch.relu, "x / x at 0": lambda x: x / x,
        "where(x > 0, sqrt(x), 0)": lambda x: torch.where(x > 0, torch.sqrt(x), zero),
        "where(x > 0, log(x), 0)": lambda x: torch.where(x > 0, torch.log(x), zero),
        "where(x != 0, 1 / x, 0)": lambda x: torch.where(x != 0, 1 / x, zero),
        "where(x > 0, x, inf * x)": lambda x: torch.where(x > 0, x, INF * x),
        "where(x > 0, sqrt(where(x > 0, x, 1)), 0)":
            lambda x: torch.where(x > 0, torch.sqrt(torch.where(x > 0, x, 1.0)), zero),
        "where(x > 0, x, nan)": lambda x: torch.where(x > 0, x, nan_const),
        "relu at nan": torch.relu, "abs at nan": torch.abs,
        "max with a nan": lambda x: x.max(), "min with a nan": lambda x: x.min(),
        "maximum(x, 0) at nan": lambda x: torch.maximum(x, zero),
        "minimum(x, 0) at nan": lambda x: torch.minimum(x, zero),
    }
    rows = {row[0]: row for row in SINGULAR_POINTS + WHERE_CASES}
    differences = {row[0]: row for row in NAN_DIFFERENCES}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, torch_function in torch_functions.items():
            if name in rows:
                _, _, values, expected = rows[name]
            else:
                _, _, values, _, expected = differences[name]
            np.testing.assert_array_equal(torch_gradient(torch, torch_function, values),
                                          np.asarray(expected, dtype=np.float64), err_msg=name)
