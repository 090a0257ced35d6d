"""autograd.testing itself: gradcheck catches wrong gradients, strategies draw what they promise."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given

import autograd as ag
from autograd.tensors import Tensor
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
        gradcheck(wrong_exp, x, per_entry=False)
    assert caught.value.input_index == 0
    # By default the per-entry pass then names the worst entry and counts the wrong ones.
    with pytest.raises(GradcheckError, match="22500 of 22500 entries of input 0") as caught:
        gradcheck(wrong_exp, x)
    worst = caught.value.index
    # (u is ±1 and each entry reaches one output: the analytic entry is ±1.01 exp(x))
    assert abs(caught.value.analytic) == pytest.approx(1.01 * np.exp(x[worst]), rel=1e-6)


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


# ---------------------------------------------------------------------------
# Large inputs: one wrong Jacobian entry among many is still caught
# ---------------------------------------------------------------------------

def _exp_wrong_at(index, factor=1.01):
    """exp whose VJP is off by ``factor`` at one flat ``index`` of the input (right elsewhere)."""
    def vjp(g, out, x):
        result = g * out
        result.flat[index] *= factor
        return result
    return _exp_with_vjp(vjp)


@pytest.mark.parametrize("size", [150, 1_000, 10_000])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_projection_mode_catches_a_one_percent_error_in_one_entry(size, seed):
    # Before the fix 4 random projections u . J . v diluted one wrong entry among n by
    # about sqrt(n): above ~141 entries a 1% error fell under rtol=1e-3 and passed.
    rng = np.random.default_rng(100 + seed)
    x = rng.uniform(-1.0, 1.0, size)
    index = int(rng.integers(size))
    assert size * size > 20_000               # the elementwise Jacobian is too big to form
    with pytest.raises(GradcheckError) as caught:
        gradcheck(_exp_wrong_at(index), x, seed=seed)
    error = caught.value
    assert error.input_index == 0 and error.index == (index,)
    assert error.analytic == pytest.approx(1.01 * error.numeric, rel=1e-6)
    assert f"input 0[{index}]" in str(error)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_projection_mode_catches_one_wrong_entry_that_reaches_several_outputs(seed):
    # Each input entry reaches 4 outputs (through a matmul): the wrong entry's share of
    # what a random cotangent pulls back is about 1/2, still well above rtol.
    rng = np.random.default_rng(seed)
    x, weight = rng.uniform(-1.0, 1.0, (60, 50)), rng.uniform(0.5, 1.5, (50, 4))
    index = int(rng.integers(x.size))
    wrong = _exp_wrong_at(index)
    with pytest.raises(GradcheckError) as caught:
        gradcheck(lambda x: wrong(x) @ weight, x, seed=seed)
    assert caught.value.index == tuple(int(i) for i in np.unravel_index(index, x.shape))


def test_a_scalar_output_of_a_large_input_is_checked_entry_by_entry():
    # inputs x 1 output over full_jacobian_limit: the unit cotangent compares every entry.
    x = np.random.default_rng(3).uniform(-1.0, 1.0, 3_000)
    wrong = _exp_wrong_at(1_234)
    with pytest.raises(GradcheckError, match=r"d output\[\] / d input 0\[1234\]") as caught:
        gradcheck(lambda x: wrong(x).sum(), x, full_jacobian_limit=1_000)
    assert caught.value.index == (1_234,) and caught.value.output_index == ()
    assert gradcheck(lambda x: correct_exp(x).sum(), x, full_jacobian_limit=1_000)


@pytest.mark.parametrize("size", [150, 2_000])
@pytest.mark.parametrize("seed", [0, 1])
def test_projection_mode_passes_correct_gradients(size, seed):
    x = np.random.default_rng(200 + seed).uniform(-2.0, 2.0, size)
    assert gradcheck(correct_exp, x, seed=seed) is True
    y = np.random.default_rng(seed).uniform(0.5, 1.5, (size // 50, 50))
    assert gradcheck(lambda a, b: (a * correct_exp(b)) @ np.ones((50, 3)), y, y + 1, seed=seed)


def test_per_entry_false_keeps_the_cheap_projections_only():
    x = np.random.default_rng(0).uniform(-1.0, 1.0, 10_000)
    # The documented trade-off: projections alone miss one wrong entry among many...
    assert gradcheck(_exp_wrong_at(7), x, per_entry=False) is True
    # ...but still catch an error spread over every entry.
    with pytest.raises(GradcheckError, match="projection"):
        gradcheck(wrong_exp, x, per_entry=False)


def test_an_error_within_every_entry_tolerance_can_still_fail_a_projection():
    # Each entry of uᵀJ is off by 0.9 atol (passes), but a projection adds them up.
    x = np.full(10_000, -30.0)                       # exp(x) ~ 1e-13: rtol adds nothing
    off_by_a_little = _exp_with_vjp(lambda g, out, x: g * out + 0.9e-5 * g)
    with pytest.raises(GradcheckError, match="Every entry of uᵀJ is within tolerance"):
        gradcheck(off_by_a_little, x)


def test_strategies_without_hypothesis_name_the_extra():
    import subprocess
    import sys

    code = ("import sys; sys.modules['hypothesis'] = None\n"
            "import autograd.testing as t\n"
            "try:\n    t.strategies\nexcept ModuleNotFoundError as e:\n    print(e)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert '.[testing]' in result.stdout and "Hypothesis" in result.stdout
    assert "gradcheck" in dir(__import__("autograd.testing", fromlist=["gradcheck"]))


def test_nn_lists_what_it_offers_not_its_imports():
    import autograd as ag

    names = dir(ag.nn)
    assert "Linear" in names and "manual_seed" in names
    assert not {"np", "os", "math"} & set(names)
