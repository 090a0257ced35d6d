"""Functional transforms: grad, value_and_grad, vjp, jacobian, hessian, hvp (API, first order)."""

import doctest
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd as ag
from autograd import tape, transforms
from autograd.transforms import IndependentOutputWarning
from autograd.tensors import Tensor
from autograd.testing import strategies as ags


def numeric_jacobian(f, x, eps=1e-6):
    """Central differences of f (arrays in, array out): shape out.shape + x.shape."""
    x = np.asarray(x, dtype=np.float64)
    out_shape = np.shape(f(x))
    columns = []
    for j in range(x.size):
        step = np.zeros(x.size)
        step[j] = eps
        step = step.reshape(x.shape)
        columns.append((np.asarray(f(x + step)) - np.asarray(f(x - step))) / (2 * eps))
    return np.stack(columns, axis=-1).reshape(out_shape + x.shape)


@pytest.fixture
def gradient_calls(monkeypatch):
    """Every call the transforms make to tape.gradients, as a list of keyword dicts."""
    calls = []
    original = tape.gradients

    def recording(output, inputs, grad=None, retain_graph=False, create_graph=False):
        calls.append(dict(retain_graph=retain_graph, create_graph=create_graph))
        return original(output, inputs, grad=grad, retain_graph=retain_graph,
                        create_graph=create_graph)

    monkeypatch.setattr(tape, "gradients", recording)
    return calls


# ---------------------------------------------------------------------------
# grad and value_and_grad.
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("make_input", [
    lambda: 1.5,                                  # Python float
    lambda: np.float64(1.5),                      # NumPy scalar
    lambda: np.array(1.5),                        # 0-d array
    lambda: ag.tensor(1.5),                       # Tensor that does not require grad
    lambda: ag.tensor(1.5, requires_grad=True),   # Tensor that does
], ids=["float", "numpy-scalar", "0d-array", "tensor", "tensor-requires-grad"])
def test_grad_accepts_floats_arrays_and_tensors(make_input):
    g = ag.grad(lambda x: x * x * x)(make_input())
    assert isinstance(g, Tensor)
    assert g.shape == () and g.dtype == np.float64
    assert float(np.asarray(g)) == pytest.approx(3 * 1.5 ** 2)


@given(ags.arrays(np.float64, max_dims=3))
def test_grad_matches_the_analytic_gradient(x):
    g = ag.grad(lambda x: (ag.tanh(x) * x).sum())(x)
    t = np.tanh(x)
    np.testing.assert_allclose(np.asarray(g), t + x * (1 - t * t), rtol=1e-12, atol=1e-12)
    assert g.shape == x.shape


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_grad_has_the_argument_dtype_and_shape(dtype):
    x = np.arange(6, dtype=dtype).reshape(2, 3)
    g = ag.grad(lambda x: (x * 2.0).sum())(x)
    assert g.dtype == dtype and g.shape == (2, 3)
    np.testing.assert_array_equal(np.asarray(g), np.full((2, 3), 2, dtype))


def test_grad_has_the_argument_dtype_when_f_widens_it():
    widen = lambda x: (x * x * np.ones(2)).sum()      # float32 * float64 array -> float64
    x = np.array([1.0, 2.0], dtype=np.float32)
    assert ag.grad(widen)(x).dtype == np.float32
    tracked = ag.tensor(x, requires_grad=True)
    g = ag.grad(widen)(tracked)                      # recorded path
    assert g.dtype == np.float32 and g.requires_grad


def test_grad_results_are_fresh_writable_arrays():
    # sum's VJP broadcasts (a read-only view); the user must get an array of their own.
    x = np.ones((2, 3))
    g = np.asarray(ag.grad(lambda x: x.sum())(x))
    g[0, 0] = 5.0
    assert x[0, 0] == 1.0


def test_grad_argnums_int_tuple_and_negative():
    f = lambda x, y, z: x * y * y * z
    assert float(ag.grad(f, argnums=1)(2.0, 3.0, 5.0)) == pytest.approx(2 * 2 * 3 * 5)
    assert float(ag.grad(f, argnums=-1)(2.0, 3.0, 5.0)) == pytest.approx(2 * 9)
    dx, dz = ag.grad(f, argnums=(0, 2))(2.0, 3.0, 5.0)
    assert (float(dx), float(dz)) == pytest.approx((45.0, 18.0))
    single_tuple = ag.grad(f, argnums=(1,))(2.0, 3.0, 5.0)
    assert isinstance(single_tuple, tuple) and len(single_tuple) == 1


def test_grad_passes_other_arguments_and_keywords_through_unchanged():
    seen = {}

    def f(x, label, scale=1.0):
        seen.update(label=label, scale=scale)
        return x * scale

    assert float(ag.grad(f)(2.0, "hello", scale=4.0)) == 4.0
    assert seen == {"label": "hello", "scale": 4.0}


def test_grad_leaves_inputs_and_their_grad_untouched():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    array = np.array([1.0, 2.0])
    ag.grad(lambda a, b: (a * b).sum(), argnums=(0, 1))(x, array)
    assert x.grad is None
    np.testing.assert_array_equal(array, [1.0, 2.0])
    np.testing.assert_array_equal(x.data, [1.0, 2.0])


def test_grad_of_a_function_that_ignores_its_argument_is_zero_with_a_warning():
    # The zero is the true gradient, but never silent: HIPS autograd warns the same way.
    with pytest.warns(IndependentOutputWarning, match="does not depend"):
        g = ag.grad(lambda x, y: (y * y).sum())(np.ones(3), np.ones(2))
    np.testing.assert_array_equal(np.asarray(g), np.zeros(3))
    with pytest.warns(IndependentOutputWarning):
        assert float(ag.grad(lambda x: 3.0)(1.0)) == 0.0


def test_grad_of_the_identity_is_one():
    assert float(ag.grad(lambda x: x)(4.0)) == 1.0


def test_value_and_grad():
    f = lambda w, x: ((w * x).sum() - 1.0) ** 2
    w, x = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    value, (dw, dx) = ag.value_and_grad(f, argnums=(0, 1))(w, x)
    assert isinstance(value, Tensor) and not value.requires_grad
    assert float(value) == pytest.approx(0.0)   # (3 - 2 - 1)^2
    value, dw = ag.value_and_grad(f)(w + 1, x)
    residual = ((w + 1) * x).sum() - 1
    assert float(value) == pytest.approx(residual ** 2)
    np.testing.assert_allclose(np.asarray(dw), 2 * residual * x)


@pytest.mark.parametrize("transform", [ag.grad, ag.value_and_grad, ag.hessian])
def test_non_scalar_output_is_a_clear_error(transform):
    with pytest.raises(ValueError, match=r"scalar.*shape \(3,\).*vjp.*jacobian"):
        transform(lambda x: x * 2)(np.ones(3))


def test_tuple_output_is_a_clear_error_for_grad():
    with pytest.raises(ValueError, match="tuple of 2"):
        ag.grad(lambda x: (x, x))(1.0)


def test_integer_argument_is_a_clear_error():
    with pytest.raises(TypeError, match=r"argument 0 .*floats.*int64"):
        ag.grad(lambda x: x * x)(np.array([1, 2]))


def test_argnums_out_of_range_is_a_clear_error():
    with pytest.raises(ValueError, match="argument 2.*2 positional"):
        ag.grad(lambda x, y: x * y, argnums=2)(1.0, 2.0)


@pytest.mark.parametrize("argnums", [1.0, "0", (), None, True])
def test_bad_argnums_type_is_a_clear_error(argnums):
    with pytest.raises(TypeError, match="argnums must be an int"):
        ag.grad(lambda x: x, argnums=argnums)


def test_f_returning_something_else_is_a_clear_error():
    with pytest.raises(TypeError, match="must return a Tensor.*NoneType"):
        ag.grad(lambda x: None)(1.0)


def test_transformed_functions_are_named_after_f():
    def loss(x):
        return x * x

    assert ag.grad(loss).__name__ == "grad(loss)"
    assert ag.hessian(loss).__name__ == "hessian(loss)"
    assert ag.grad(loss).__doc__ == loss.__doc__


# ---------------------------------------------------------------------------
# Fast path, and when the graph is kept.
# ---------------------------------------------------------------------------

def test_plain_first_order_call_records_no_vjps(gradient_calls):
    g = ag.grad(lambda x: (x * x).sum())(np.ones(3))
    assert gradient_calls == [dict(retain_graph=False, create_graph=False)]
    assert not g.requires_grad and g.is_leaf


def test_input_that_requires_grad_is_differentiable_through_the_result(gradient_calls):
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    g = ag.grad(lambda x: (x ** 3).sum())(x)         # 3 x^2
    assert gradient_calls[-1]["create_graph"] is True and g.requires_grad
    g.sum().backward()                               # d/dx sum 3x^2 = 6x
    np.testing.assert_allclose(x.grad, [6.0, 12.0])


def test_closure_that_requires_grad_makes_the_result_differentiable(gradient_calls):
    # A gradient penalty: || d f / d x ||^2 differentiated w.r.t. a closed-over weight.
    w = ag.tensor([1.0, -2.0], requires_grad=True)
    x = np.array([3.0, 0.5])
    g = ag.grad(lambda x: (w * x * x).sum())(x)      # 2 w x
    assert gradient_calls[-1]["create_graph"] is True
    (g * g).sum().backward()                         # d/dw sum 4 w^2 x^2 = 8 w x^2
    np.testing.assert_allclose(w.grad, 8 * w.data * x ** 2)


def test_under_no_grad_the_result_is_not_tracked_and_outer_graphs_survive(gradient_calls):
    w = ag.tensor([1.0, -2.0], requires_grad=True)
    hidden = w * 2                                   # a node the caller still owns
    with ag.no_grad():
        g = ag.grad(lambda x: (hidden * x).sum())(np.ones(2))
    assert gradient_calls[-1]["create_graph"] is False and not g.requires_grad
    np.testing.assert_allclose(np.asarray(g), [2.0, -4.0])
    hidden.sum().backward()                          # not freed by the transform's backward
    np.testing.assert_allclose(w.grad, [2.0, 2.0])


def test_closure_over_an_outer_node_keeps_its_graph():
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    hidden = w * w
    ag.grad(lambda x: (hidden * x).sum())(np.ones(2))
    hidden.sum().backward()
    np.testing.assert_allclose(w.grad, [2.0, 4.0])


def test_nesting_depth_recovers_after_an_exception_in_f():
    def failing(x):
        raise KeyError("boom")

    with pytest.raises(KeyError):
        ag.grad(failing)(1.0)
    assert transforms._nesting.depth == 0
    assert tape.is_grad_enabled()


def test_transforms_run_f_with_grad_enabled_even_under_no_grad():
    with ag.no_grad():
        assert float(ag.grad(lambda x: x * x)(3.0)) == 6.0


def test_nesting_depth_is_per_thread():
    depths = []

    def f(x):
        depths.append(transforms._nesting.depth)
        return x * x

    thread = threading.Thread(target=lambda: ag.grad(f)(1.0))
    thread.start()
    thread.join()
    ag.grad(ag.grad(f))(1.0)
    assert depths == [1, 2]
    assert transforms._nesting.depth == 0


# ---------------------------------------------------------------------------
# vjp.
# ---------------------------------------------------------------------------

@given(ags.arrays(np.float64, min_dims=1, max_dims=2), st.data())
def test_vjp_is_the_cotangent_times_the_jacobian(x, data):
    A = data.draw(ags.arrays(np.float64, shape=(3,) + x.shape))
    f = lambda x: (A * ag.tanh(x)).sum(axis=tuple(range(1, x.ndim + 1)))    # shape (3,)
    out, vjp_fn = ag.vjp(f, x)
    assert out.shape == (3,)
    v = data.draw(ags.arrays(np.float64, shape=(3,)))
    (pulled,) = vjp_fn(v)
    expected = np.tensordot(v, numeric_jacobian(lambda x: (A * np.tanh(x)).sum(
        axis=tuple(range(1, x.ndim + 1))), x), axes=1)
    np.testing.assert_allclose(np.asarray(pulled), expected, rtol=1e-6, atol=1e-7)


def test_vjp_over_several_arguments_and_repeated_calls():
    out, vjp_fn = ag.vjp(lambda a, b: a * b, np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    np.testing.assert_array_equal(np.asarray(out), [3.0, 8.0])
    for _ in range(2):                                 # the graph is kept for every call
        da, db = vjp_fn(np.array([1.0, 10.0]))
        np.testing.assert_array_equal(np.asarray(da), [3.0, 40.0])
        np.testing.assert_array_equal(np.asarray(db), [1.0, 20.0])


def test_vjp_cotangent_of_the_wrong_shape_is_a_clear_error():
    _, vjp_fn = ag.vjp(lambda x: x * 2, np.ones(3))
    with pytest.raises(ValueError, match=r"output \(3,\).*shape \(2,\)"):
        vjp_fn(np.ones(2))


def test_vjp_is_differentiable_in_its_cotangent():
    x = np.array([1.0, 2.0])
    v = ag.tensor([3.0, 5.0], requires_grad=True)
    _, vjp_fn = ag.vjp(lambda x: x * x, x)
    (pulled,) = vjp_fn(v)                              # v * 2x
    pulled.sum().backward()
    np.testing.assert_allclose(v.grad, 2 * x)


# ---------------------------------------------------------------------------
# jacobian, hessian, hvp.
# ---------------------------------------------------------------------------

@settings(max_examples=20)
@given(ags.arrays(np.float64, max_dims=2, max_side=3), ags.shapes(max_dims=2, max_side=3))
def test_jacobian_shape_is_output_shape_plus_input_shape(x, out_shape):
    weights = np.arange(1, int(np.prod(out_shape + x.shape)) + 1, dtype=float).reshape(
        out_shape + x.shape) / 10
    axes = tuple(range(len(out_shape), len(out_shape) + x.ndim))

    def f(x):
        return (weights * ag.sigmoid(x)).sum(axis=axes) if axes else weights * ag.sigmoid(x)

    J = ag.jacobian(f)(x)
    assert J.shape == out_shape + x.shape
    numeric = numeric_jacobian(lambda x: np.asarray(f(ag.tensor(x))), x)
    np.testing.assert_allclose(np.asarray(J), numeric, rtol=1e-6, atol=1e-8)


def test_jacobian_of_a_linear_map_is_its_matrix():
    A = np.arange(6.0).reshape(2, 3)
    J = ag.jacobian(lambda x: ag.matmul(A, x))(np.ones(3))
    np.testing.assert_array_equal(np.asarray(J), A)


def test_jacobian_with_several_arguments_and_outputs():
    def f(x, y):
        return x * y, (x * x).sum()

    x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    (Jxx, Jxy), (gx, gy) = ag.jacobian(f, argnums=(0, 1))(x, y)
    np.testing.assert_array_equal(np.asarray(Jxx), np.diag([3.0, 4.0]))
    np.testing.assert_array_equal(np.asarray(Jxy), np.diag([1.0, 2.0]))
    np.testing.assert_array_equal(np.asarray(gx), [2.0, 4.0])
    np.testing.assert_array_equal(np.asarray(gy), [0.0, 0.0])


def test_jacobian_of_an_empty_output():
    J = ag.jacobian(lambda x: x[:0])(np.ones(3))
    assert J.shape == (0, 3)


def test_jacobian_runs_one_backward_pass_per_output_entry(gradient_calls):
    ag.jacobian(lambda x: ag.tanh(x))(np.ones((2, 2)))
    assert len(gradient_calls) == 4
    assert all(not call["create_graph"] for call in gradient_calls)


@given(ags.arrays(np.float64, shape=(3, 3)), ags.arrays(np.float64, shape=(3,)))
def test_hessian_of_a_quadratic_form(A, x):
    H = ag.hessian(lambda x: ag.matmul(x, ag.matmul(A, x)))(x)
    np.testing.assert_allclose(np.asarray(H), A + A.T, rtol=1e-12, atol=1e-12)


def test_hessian_shape_and_symmetry_for_a_matrix_argument():
    x = np.array([[0.5, -1.0, 2.0], [1.5, 0.3, -0.2]])
    H = ag.hessian(lambda x: (ag.exp(x).sum(axis=1) ** 2).sum())(x)
    assert H.shape == (2, 3, 2, 3)
    flat = np.asarray(H).reshape(6, 6)
    np.testing.assert_allclose(flat, flat.T, rtol=1e-12)
    # rows do not interact: d2/dx[0,j] dx[1,k] = 0
    np.testing.assert_array_equal(np.asarray(H)[0, :, 1, :], 0.0)


def test_hessian_with_tuple_argnums_is_nested():
    f = lambda x, y: (x * x * y).sum()
    x, y = np.array([1.0, 2.0]), np.array([3.0, 5.0])
    (Hxx, Hxy), (Hyx, Hyy) = ag.hessian(f, argnums=(0, 1))(x, y)
    np.testing.assert_array_equal(np.asarray(Hxx), np.diag(2 * y))
    np.testing.assert_array_equal(np.asarray(Hxy), np.diag(2 * x))
    np.testing.assert_array_equal(np.asarray(Hyx), np.diag(2 * x))
    np.testing.assert_array_equal(np.asarray(Hyy), np.zeros((2, 2)))


@given(ags.arrays(np.float64, min_dims=1, max_dims=2, max_side=3), st.data())
def test_hvp_equals_the_hessian_times_v(x, data):
    v = data.draw(ags.arrays(np.float64, shape=x.shape))
    f = lambda x: (ag.tanh(x) * x.sum() + ag.exp(x / 4)).sum()
    H = np.asarray(ag.hessian(f)(x)).reshape(x.size, x.size)
    Hv = ag.hvp(f)(x, v)
    assert Hv.shape == x.shape
    np.testing.assert_allclose(np.asarray(Hv).ravel(), H @ v.ravel(), rtol=1e-10, atol=1e-10)


def test_hvp_never_forms_the_hessian(gradient_calls):
    # Two reverse passes whatever the size; forming H would take one per entry.
    x = np.linspace(-1, 1, 200)
    Hv = ag.hvp(lambda x: (x ** 4).sum())(x, np.ones(200))
    assert len(gradient_calls) == 2
    np.testing.assert_allclose(np.asarray(Hv), 12 * x ** 2)


def test_hvp_with_argnums():
    f = lambda scale, x, y: scale * (x * x * y).sum()
    x, y = np.array([1.0, 2.0]), np.array([3.0, 5.0])
    vx, vy = np.array([1.0, -1.0]), np.array([0.5, 2.0])
    hx, hy = ag.hvp(f, argnums=(1, 2))(2.0, x, y, (vx, vy))
    # H = 2 [[diag 2y, diag 2x], [diag 2x, 0]]
    np.testing.assert_allclose(np.asarray(hx), 2 * (2 * y * vx + 2 * x * vy))
    np.testing.assert_allclose(np.asarray(hy), 2 * (2 * x * vx))
    only_y = ag.hvp(f, argnums=2)(2.0, x, y, vy)
    np.testing.assert_array_equal(np.asarray(only_y), np.zeros(2))


def test_hvp_errors():
    f = lambda x, y: (x * y).sum()
    with pytest.raises(ValueError, match=r"argument 0, \(2,\).*\(3,\)"):
        ag.hvp(f)(np.ones(2), np.ones(2), np.ones(3))
    with pytest.raises(TypeError, match="tuple of 2"):
        ag.hvp(f, argnums=(0, 1))(np.ones(2), np.ones(2), np.ones(2))
    with pytest.raises(TypeError, match=r"hvp\(f\)\(x, v\)"):
        ag.hvp(f)()


def test_docstring_examples_run():
    failures, attempted = doctest.testmod(transforms, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert attempted >= 6 and failures == 0


# ---------------------------------------------------------------------------
# Repeated argnums: the same (full) gradient at every position that names the argument.
# torch.func refuses repeats ("argnums elements must be unique"); we answer them, as the
# derivative with respect to that argument, once per position.
# ---------------------------------------------------------------------------

def test_grad_with_a_repeated_argnum_gives_the_gradient_at_each_position():
    # Before the fix the first position got zeros: ([0, 0], [2, 4]).
    x = np.array([1.0, 2.0])
    first, second = ag.grad(lambda x: (x * x).sum(), argnums=(0, 0))(x)
    np.testing.assert_array_equal(np.asarray(first), [2.0, 4.0])
    np.testing.assert_array_equal(np.asarray(second), [2.0, 4.0])
    first.data[0] = 99.0                   # two results, not one array seen twice
    np.testing.assert_array_equal(np.asarray(second), [2.0, 4.0])


def test_repeats_mixed_with_other_argnums_and_negative_spellings():
    f = lambda x, y: (x * x * y).sum()
    x, y = np.array([1.0, 2.0]), np.array([3.0, 5.0])
    gy, gx, gx_again, gy_again = ag.grad(f, argnums=(1, 0, -2, -1))(x, y)
    np.testing.assert_allclose(np.asarray(gx), 2 * x * y)
    np.testing.assert_allclose(np.asarray(gx_again), 2 * x * y)
    np.testing.assert_allclose(np.asarray(gy), x * x)
    np.testing.assert_allclose(np.asarray(gy_again), x * x)


def test_value_and_grad_with_a_repeated_argnum():
    value, (a, b) = ag.value_and_grad(lambda x: (x ** 3).sum(), argnums=[0, 0])(
        np.array([1.0, 2.0]))
    assert float(value) == 9.0
    np.testing.assert_allclose(np.asarray(a), [3.0, 12.0])
    np.testing.assert_allclose(np.asarray(b), [3.0, 12.0])


def test_jacobian_with_a_repeated_argnum():
    x = np.array([1.0, 2.0, 3.0])
    J1, J2 = ag.jacobian(lambda x: x[:2] * x[1:], argnums=(0, 0))(x)
    expected = [[2.0, 1.0, 0.0], [0.0, 3.0, 2.0]]
    np.testing.assert_array_equal(np.asarray(J1), expected)
    np.testing.assert_array_equal(np.asarray(J2), expected)


def test_hessian_with_a_repeated_argnum_is_the_hessian_in_every_block():
    f = lambda x: x[0] ** 2 * x[1]
    H = np.array([[10.0, 6.0], [6.0, 0.0]])        # at (3, 5)
    blocks = ag.hessian(f, argnums=(0, 0))(np.array([3.0, 5.0]))
    assert len(blocks) == 2 and all(len(row) == 2 for row in blocks)
    for row in blocks:
        for block in row:
            np.testing.assert_allclose(np.asarray(block), H)


def test_hvp_with_a_repeated_argnum_sums_the_directions():
    # result[a] = sum_b H[a][b] v_b, and every block is the Hessian H = diag(6x).
    x, v1, v2 = np.array([1.0, 2.0]), np.array([1.0, 0.0]), np.array([0.0, 10.0])
    first, second = ag.hvp(lambda x: (x ** 3).sum(), argnums=(0, 0))(x, (v1, v2))
    np.testing.assert_allclose(np.asarray(first), 6 * x * (v1 + v2))
    np.testing.assert_allclose(np.asarray(second), 6 * x * (v1 + v2))


def test_a_repeated_argnum_nests_and_differentiates_through():
    # grad of (sum of the two repeated gradients): d/dx 2 * 3x^2 = 12 x
    x = ag.tensor(2.0, requires_grad=True)
    total = lambda x: sum(ag.grad(lambda y: y ** 3, argnums=(0, 0))(x))
    assert float(ag.grad(total)(x)) == pytest.approx(24.0)
    total(x).backward()
    assert float(x.grad) == pytest.approx(24.0)


def test_torch_func_refuses_repeated_argnums_which_we_answer():
    torch = pytest.importorskip("torch")
    from torch.func import grad as torch_grad
    with pytest.raises(RuntimeError, match="unique"):
        torch_grad(lambda x: (x * x).sum(), argnums=(0, 0))(torch.tensor([1.0, 2.0]))
    # Our answer is torch's gradient for the single argnum, at each position.
    single = torch_grad(lambda x: (x * x).sum())(torch.tensor([1.0, 2.0])).numpy()
    for g in ag.grad(lambda x: (x * x).sum(), argnums=(0, 0))(np.array([1.0, 2.0])):
        np.testing.assert_allclose(np.asarray(g), single)


# ---------------------------------------------------------------------------
# Errors in the user's terms (the cases the tests above did not cover).
# ---------------------------------------------------------------------------

RAGGED = [[1.0], [1.0, 2.0]]


@pytest.mark.parametrize("call", [
    lambda: ag.grad(lambda x: x.sum())(RAGGED),
    lambda: ag.jacobian(lambda x: x)(RAGGED),
    lambda: ag.vjp(lambda x: x, RAGGED),
], ids=["grad", "jacobian", "vjp"])
def test_a_ragged_argument_is_named_not_a_numpy_traceback(call):
    # Before: NumPy's "setting an array element with a sequence ... inhomogeneous shape".
    with pytest.raises(TypeError, match=r"argument 0 .*rectangular.*got list \[\[1\.0\]"):
        call()


@pytest.mark.parametrize("transform", [ag.grad, ag.value_and_grad, ag.jacobian, ag.hessian])
@pytest.mark.parametrize("value, described", [
    ("abc", "str"), (None, "NoneType"), (1j, "complex"),
], ids=["str", "None", "complex"])
def test_a_non_numeric_argument_says_what_was_given(transform, value, described):
    with pytest.raises(TypeError, match=rf"argument 0 .*{described}"):
        transform(lambda x: (x * x).sum())(value)


@pytest.mark.parametrize("transform", [ag.jacobian, ag.hessian, ag.hvp, ag.vjp])
def test_an_integer_argument_is_a_clear_error_for_every_transform(transform):
    x = np.array([1, 2])
    f = lambda x: (x * x).sum()
    call = {ag.hvp: lambda: ag.hvp(f)(x, np.ones(2)), ag.vjp: lambda: ag.vjp(f, x)}.get(
        transform, lambda: transform(f)(x))
    with pytest.raises(TypeError, match=r"argument 0 is differentiated.*floats.*int64"):
        call()


@pytest.mark.parametrize("output, described", [
    (lambda x: x.sum() > 0, "bool"),
    (lambda x: 0, "int64"),
    (lambda x: (x.sum() > 0) * 1, "int64"),
], ids=["comparison", "int literal", "int tensor"])
@pytest.mark.parametrize("transform", [ag.grad, ag.value_and_grad, ag.hessian])
def test_a_non_float_output_is_an_error_not_a_zero_gradient(transform, output, described):
    # Before the fix grad(lambda x: x.sum() > 0) returned zeros without a word (JAX and
    # torch both refuse: a comparison has no derivative).
    with pytest.raises(TypeError, match=rf"f must return a floating-point .*got .*{described}"):
        transform(output)(np.ones(2))


def test_a_non_float_output_is_an_error_for_jacobian_and_vjp():
    with pytest.raises(TypeError, match=r"jacobian: f must return a floating-point.*bool"):
        ag.jacobian(lambda x: x > 0)(np.ones(2))
    with pytest.raises(TypeError, match=r"vjp: f must return a floating-point.*int64"):
        ag.vjp(lambda x: (x > 0) * 1, np.ones(2))


def test_hvp_with_a_non_scalar_f_is_a_clear_error():
    with pytest.raises(ValueError, match=r"hvp: f must return a scalar.*shape \(2,\)"):
        ag.hvp(lambda x: x * 2)(np.ones(2), np.ones(2))


def test_argnums_out_of_range_names_the_transform_for_every_transform():
    f = lambda x: (x * x).sum()
    for name, call in [("value_and_grad", lambda: ag.value_and_grad(f, argnums=3)(1.0)),
                       ("jacobian", lambda: ag.jacobian(f, argnums=-2)(1.0)),
                       ("hessian", lambda: ag.hessian(f, argnums=1)(1.0))]:
        with pytest.raises(ValueError, match=rf"{name}: argnums asks for positional argument "
                                             r"-?\d, but f was called with 1 positional"):
            call()


def test_argnums_out_of_range_with_keyword_arguments_says_keywords_are_not_differentiated():
    with pytest.raises(ValueError, match=r"0 positional argument.*keyword arguments \(x\) are "
                                         r"passed to f unchanged.*positionally"):
        ag.grad(lambda x: (x * x).sum())(x=np.ones(2))


def test_hvp_argnums_out_of_range_counts_v_apart_from_f_s_arguments():
    # hvp(f)(x) forgot v: the one argument is taken as v, leaving f none.
    with pytest.raises(ValueError, match=r"hvp: argnums asks for positional argument 0, but f "
                                         r"was given 0 positional argument\(s\) \(hvp\(f\)\(\*args, "
                                         r"v\): the last one, v, is the vector\)"):
        ag.hvp(lambda x: (x * x).sum())(np.ones(2))


@pytest.mark.parametrize("bad, message", [
    ("ab", r"the cotangent .*got str 'ab'"),
    (RAGGED, r"the cotangent .*rectangular.*got list"),
], ids=["str", "ragged"])
def test_a_bad_cotangent_for_vjp_fn_says_what_was_given(bad, message):
    _, vjp_fn = ag.vjp(lambda x: x * 2, np.ones(2))
    with pytest.raises(TypeError, match=message):
        vjp_fn(bad)


@pytest.mark.parametrize("bad, message", [
    ("ab", r"hvp: v .*got str 'ab'"),
    (RAGGED, r"hvp: v .*rectangular.*got list"),
], ids=["str", "ragged"])
def test_a_bad_vector_for_hvp_says_what_was_given(bad, message):
    with pytest.raises(TypeError, match=message):
        ag.hvp(lambda x: (x * x).sum())(np.ones(2), bad)


@pytest.mark.parametrize("bad, message", [
    (RAGGED, r"hvp: argument 0 .*rectangular.*got list"),
    ("ab", r"hvp: argument 0 .*got str 'ab'"),
    (None, r"hvp: argument 0 .*got NoneType"),
], ids=["ragged", "str", "None"])
def test_a_bad_argument_for_hvp_is_named_before_v_is_checked(bad, message):
    # Before: NumPy's ragged-array ValueError, or "dtype must be ... got dtype('<U2')".
    with pytest.raises(TypeError, match=message):
        ag.hvp(lambda x: (x * x).sum())(bad, np.ones(2))
