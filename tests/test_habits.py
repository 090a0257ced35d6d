"""PyTorch habits that carry over (issue: a newcomer's first hour, items 10 and 11)."""

import numpy as np
import pytest

import autograd as ag


def test_no_grad_decorates_without_parentheses():
    w = ag.tensor([1.0], requires_grad=True)

    @ag.no_grad
    def predict(x):
        return x * 2

    @ag.enable_grad
    def loud(x):
        return x * 2

    assert predict.__name__ == "predict"
    assert not predict(w).requires_grad
    assert ag.is_grad_enabled()
    with ag.no_grad():
        assert loud(w).requires_grad
    with pytest.raises(TypeError, match="no_grad"):
        ag.no_grad(3)


@pytest.mark.parametrize("make, shape, dtype", [
    (lambda **k: ag.zeros((2, 3), **k), (2, 3), np.float64),
    (lambda **k: ag.ones(4, **k), (4,), np.float64),
    (lambda **k: ag.full((2,), 0.5, **k), (2,), np.float64),
    (lambda **k: ag.empty((1, 2), **k), (1, 2), np.float64),
    (lambda **k: ag.arange(0.0, 1.0, 0.25, **k), (4,), np.float64),
    (lambda **k: ag.linspace(0, 1, 5, **k), (5,), np.float64),
    (lambda **k: ag.eye(3, **k), (3, 3), np.float64),
    (lambda **k: ag.randn(2, 3, **k), (2, 3), np.float64),
    (lambda **k: ag.rand((3,), **k), (3,), np.float64),
    (lambda **k: ag.zeros_like(np.ones((2, 2), np.float32), **k), (2, 2), np.float32),
    (lambda **k: ag.ones_like(ag.tensor([1.0, 2.0]), **k), (2,), np.float64),
    (lambda **k: ag.full_like(np.ones(3), 7.0, **k), (3,), np.float64),
])
def test_creation_functions_take_requires_grad(make, shape, dtype):
    t = make(requires_grad=True)
    assert isinstance(t, ag.Tensor) and t.shape == shape and t.dtype == dtype and t.requires_grad
    (t * t).sum().backward()
    assert t.grad.shape == shape and t.grad.dtype == dtype
    assert not make().requires_grad


def test_creation_values_match_numpy():
    np.testing.assert_array_equal(ag.arange(3).data, np.arange(3))
    np.testing.assert_array_equal(ag.eye(2, 3, k=1).data, np.eye(2, 3, k=1))
    np.testing.assert_array_equal(ag.linspace(0, 1, 3).data, [0.0, 0.5, 1.0])
    assert ag.zeros(3, dtype=np.float32).dtype == np.float32
    with pytest.raises(TypeError, match="floating-point"):
        ag.arange(3, requires_grad=True)


def test_random_tensors_follow_manual_seed():
    ag.manual_seed(5)
    first = ag.randn(3).data, ag.rand(2).data, ag.nn.Linear(2, 2).weight.data
    ag.manual_seed(5)
    second = ag.randn(3).data, ag.rand(2).data, ag.nn.Linear(2, 2).weight.data
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert ag.randn(2, 3, dtype=np.float32).dtype == np.float32


def test_requires_grad_underscore():
    w = ag.tensor([1.0, 2.0])
    assert w.requires_grad_() is w and w.requires_grad
    (w * 3).sum().backward()
    np.testing.assert_array_equal(w.grad, [3.0, 3.0])
    assert not w.requires_grad_(False).requires_grad
    with pytest.raises(TypeError, match="floating-point"):
        ag.tensor([1, 2]).requires_grad_()
    with pytest.raises(RuntimeError, match="leaves"):
        (ag.tensor([1.0], requires_grad=True) * 2).requires_grad_()


@pytest.mark.parametrize("update", [
    lambda w: w.__isub__(0.1), lambda w: w.__iadd__(1.0), lambda w: w.__imul__(2.0),
    lambda w: w.__itruediv__(2.0), lambda w: w.__ipow__(2.0),
])
def test_in_place_arithmetic_on_a_leaf_that_requires_grad_says_what_to_do(update):
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"w\.data .* lr \* w\.grad"):
        update(w)


def test_the_sgd_habit_fails_at_the_first_step_with_the_fix():
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    with pytest.raises(TypeError, match="leaf tensor that requires grad"):
        w -= 0.1 * w.grad
    w.data -= 0.1 * w.grad            # the fix the message names works
    np.testing.assert_allclose(w.data, [0.8, 1.6])


def test_in_place_arithmetic_on_computed_and_constant_tensors_rebinds_as_python_does():
    x = ag.tensor(2.0, requires_grad=True)
    c = x * 1.0
    c += c + 1                          # micrograd's README expression
    c = c * 1.0
    c *= 2
    c.backward()
    assert float(x.grad) == 4.0
    k = ag.tensor([1.0])
    k += 1
    np.testing.assert_array_equal(k.data, [2.0])


def test_0d_gradients_are_numpy_scalars_like_data():
    a = ag.tensor(-4.0, requires_grad=True)
    b = ag.tensor(2.0, requires_grad=True)
    (a * b + b ** 3).backward()
    for t in (a, b):
        assert type(t.grad) is type(t.data) is np.float64
    assert repr(a.grad) == "np.float64(2.0)"
    (a * b).backward()                  # accumulation keeps the scalar type
    assert type(a.grad) is np.float64 and a.grad == 4.0
    a.grad = np.array(1.0)              # an assigned 0-d array becomes a scalar too
    assert type(a.grad) is np.float64
    f32 = ag.tensor(np.float32(1.0), requires_grad=True)
    (f32 * 3).backward()
    assert type(f32.grad) is np.float32
