"""Every primitive, driven by the table in specs.py: values against NumPy, gradients
against finite differences over drawn shapes (broadcasting pairs and 0-d included),
float32 in -> float32 out and gradients, fan-out, inputs left untouched. Then the
gradient rules that finite differences cannot see: ties, kinks, repeated indices.
"""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import autograd as ag
from autograd.testing import gradcheck
from specs import PRIMITIVES, SPECS_BY_NAME

from autograd import registry

table = pytest.mark.parametrize("spec", PRIMITIVES, ids=lambda spec: spec.name)


def _is_input(value):
    """Floating arrays are the differentiable inputs; the rest are constants."""
    return isinstance(value, np.ndarray) and value.dtype.kind == "f"


def _as_tensors(args):
    return [ag.tensor(a, requires_grad=True) if _is_input(a) else a for a in args]


def _run_backward(spec, args):
    """Forward on tensors that require grad, backward with a cotangent of ones."""
    tensors = _as_tensors(args)
    out = spec.function(*tensors)
    if out.requires_grad:
        out.backward(np.ones(out.shape, dtype=out.dtype))
    return out, [t for t in tensors if isinstance(t, ag.Tensor)]


@table
@given(data=st.data())
def test_value_matches_numpy(spec, data):
    args = data.draw(spec.arguments(np.float64), label="args")
    expected = spec.reference(*args)
    out = spec.function(*_as_tensors(args))
    assert isinstance(out, ag.Tensor)
    assert out.shape == np.shape(expected) and out.dtype == np.asarray(expected).dtype
    np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-12, atol=1e-14)


@table
@given(data=st.data())
def test_gradient_matches_finite_differences(spec, data):
    args = data.draw(spec.arguments(np.float64), label="args")
    assert gradcheck(spec.function, *args)


@table
@given(data=st.data())
def test_float32_in_float32_out_and_float32_gradients(spec, data):
    args = data.draw(spec.arguments(np.float32), label="args")
    out, inputs = _run_backward(spec, args)
    assert out.dtype == np.float32 == np.asarray(spec.reference(*args)).dtype
    out64, inputs64 = _run_backward(spec, [a.astype(np.float64) if _is_input(a) else a for a in args])
    np.testing.assert_allclose(np.asarray(out), np.asarray(out64), rtol=1e-5, atol=1e-5)
    for x, x64 in zip(inputs, inputs64):
        assert x.grad.dtype == np.float32 and x.grad.shape == x.shape
        np.testing.assert_allclose(x.grad, x64.grad, rtol=1e-4, atol=1e-4)


@table
@given(data=st.data())
def test_inputs_are_not_mutated(spec, data):
    args = data.draw(spec.arguments(np.float64), label="args")
    copies = [np.copy(a) if isinstance(a, np.ndarray) else a for a in args]
    out, inputs = _run_backward(spec, args)
    for arg, copy in zip(args, copies):  # neither the caller's arrays...
        if isinstance(arg, np.ndarray):
            np.testing.assert_array_equal(arg, copy)
    for x, copy in zip(inputs, [c for c in copies if _is_input(c)]):  # ...nor the tensors
        np.testing.assert_array_equal(x.data, copy)
        assert not np.shares_memory(x.grad, x.data) and not np.shares_memory(x.grad, out.data)


@pytest.mark.parametrize("spec", [s for s in PRIMITIVES if s.fan_out], ids=lambda spec: spec.name)
@given(data=st.data())
def test_fan_out_the_same_input_twice(spec, data):
    """f(x, x): both cotangents reach x and are summed."""
    args = data.draw(spec.arguments(np.float64), label="args")
    first, second = spec.fan_out

    def twice(*args):
        args = list(args)
        args[second] = args[first]
        return spec.function(*args)

    assert gradcheck(twice, *args)


@table
@given(data=st.data())
@settings(max_examples=10)
def test_fan_out_one_result_used_twice(spec, data):
    """y = f(x) feeding two consumers, and x feeding two separate ops."""
    args = data.draw(spec.arguments(np.float64), label="args")
    assert gradcheck(lambda *a: spec.function(*a) * spec.function(*a) + spec.function(*a), *args)


def test_matmul_fan_out_square():
    x = np.random.default_rng(0).standard_normal((3, 3))
    assert gradcheck(lambda x: x @ x @ x, x)


# ---------------------------------------------------------------------------
# Rules at the points finite differences cannot check.
# ---------------------------------------------------------------------------

def _grad(function, *values, dtype=np.float64):
    tensors = [ag.tensor(v, requires_grad=True, dtype=dtype) for v in values]
    function(*tensors).sum().backward()
    return [t.grad for t in tensors]


def test_getitem_repeated_advanced_indices_accumulate():
    (g,) = _grad(lambda x: x[[0, 2, 0, 0]] * np.array([1.0, 2.0, 3.0, 4.0]), [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(g, [8.0, 0.0, 2.0])
    (g,) = _grad(lambda x: x[np.array([[1, 1], [0, 1]]), np.array([[2, 2], [0, 2]])], np.ones((2, 3)))
    np.testing.assert_array_equal(g, [[1, 0, 0], [0, 0, 3]])


def test_getitem_basic_and_mask_indices():
    (g,) = _grad(lambda x: x[1:, ::2] * 2, np.ones((3, 4)))
    np.testing.assert_array_equal(g, [[0, 0, 0, 0], [2, 0, 2, 0], [2, 0, 2, 0]])
    (g,) = _grad(lambda x: x[x.data > 0], [-1.0, 2.0, 3.0])
    np.testing.assert_array_equal(g, [0, 1, 1])


@pytest.mark.parametrize("reduce", [ag.max, ag.min])
def test_reduction_ties_share_the_gradient_equally(reduce):
    (g,) = _grad(reduce, [3.0, -1.0, 3.0, -1.0, 3.0] if reduce is ag.max else [-1.0, 3.0, -1.0, 3.0, 5.0])
    np.testing.assert_allclose(g, [1 / 3, 0, 1 / 3, 0, 1 / 3] if reduce is ag.max else [0.5, 0, 0.5, 0, 0])
    (g,) = _grad(lambda x: reduce(x, axis=1, keepdims=True), [[2.0, 2.0], [1.0, 1.0]], dtype=np.float32)
    assert g.dtype == np.float32
    np.testing.assert_array_equal(g, [[0.5, 0.5], [0.5, 0.5]])


@pytest.mark.parametrize("binary", [ag.maximum, ag.minimum])
def test_elementwise_ties_share_the_gradient_equally(binary):
    g_a, g_b = _grad(binary, [1.0, 2.0, 3.0], [1.0, 0.0, 5.0])
    chosen_a = [0.5, 1.0, 0.0] if binary is ag.maximum else [0.5, 0.0, 1.0]
    np.testing.assert_array_equal(g_a, chosen_a)
    np.testing.assert_array_equal(g_b, 1 - np.array(chosen_a))


@pytest.mark.parametrize("name, function, expected", [
    ("relu", ag.relu, [0.0, 0.0, 1.0]),
    ("abs", ag.abs, [-1.0, 0.0, 1.0]),
    ("clip", lambda x: ag.clip(x, 0.0, 0.5), [0.0, 1.0, 0.0]),  # bounds count as inside
])
def test_gradient_at_kinks(name, function, expected):
    (g,) = _grad(function, [-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(g, expected)


def test_relu_gradient_at_zero_is_zero():
    (g,) = _grad(ag.relu, 0.0)
    assert g == 0.0


def test_pow_conventions_at_zero():
    g_base, g_exponent = _grad(ag.pow, [0.0, 2.0], [2.0, 0.0])
    np.testing.assert_array_equal(g_base, [0.0, 0.0])
    np.testing.assert_array_equal(g_exponent, [0.0, np.log(2.0)])


def test_where_does_not_leak_the_unchosen_branch():
    g_a, g_b = _grad(lambda a, b: ag.where(np.array([True, False]), a, b), [1.0, 1.0], [1.0, 1.0])
    np.testing.assert_array_equal(g_a, [1, 0])
    np.testing.assert_array_equal(g_b, [0, 1])


def test_table_covers_every_primitive_in_the_design():
    design = ("neg add sub mul div pow exp log sqrt abs tanh sigmoid relu maximum minimum where "
              "clip sum mean max min matmul reshape transpose expand_dims squeeze broadcast_to "
              "getitem concatenate stack").split()
    assert set(design) <= set(registry.builtin_names())


def test_table_has_a_row_for_every_registered_primitive():
    # The registry is the one list: a primitive (or composed function) without a row fails here.
    differentiable = set(registry.builtin_names("primitive")) | set(registry.builtin_names("composed"))
    assert differentiable - set(SPECS_BY_NAME) == set()
    assert set(SPECS_BY_NAME) - {"pow_number"} <= differentiable


@pytest.mark.parametrize("name", registry.builtin_names("constant"))
def test_functions_without_a_gradient_match_numpy_and_give_constants(name):
    entry = registry.builtin(name)
    numpy_function = entry.numpy[0]          # a ufunc, or a function (np.round)
    x = ag.tensor([-1.5, 0.0, 0.5, 2.0], requires_grad=True)
    binary = isinstance(numpy_function, np.ufunc) and numpy_function.nin == 2
    operands = (x, 0.5) if binary else (x,)
    for out in (entry.function(*operands), numpy_function(*operands)):   # ag.<name>, np.<name>
        assert isinstance(out, ag.Tensor) and not out.requires_grad
        np.testing.assert_array_equal(out.data, numpy_function(x.data, *operands[1:]))


# Hypothesis draws 0-d and broadcasting shapes too; these pin the corner cases down
# whatever it draws.
ELEMENTWISE_UNARY = ["neg", "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "clip"]
ELEMENTWISE_BINARY = ["add", "sub", "mul", "div", "pow", "maximum", "minimum"]


@pytest.mark.parametrize("name", ELEMENTWISE_UNARY)
def test_unary_on_0d(name):
    out = SPECS_BY_NAME[name].function(ag.tensor(0.75, requires_grad=True))
    assert out.shape == ()
    assert gradcheck(SPECS_BY_NAME[name].function, np.array(0.75))


@pytest.mark.parametrize("items", [
    lambda: [0.0, ag.tensor(np.float32(1.0))],                       # a Python float
    lambda: [ag.tensor(np.zeros(2, np.float32)), [1.0, 2.0]],         # a list
    lambda: [ag.tensor(np.zeros(2, np.int8)), np.array([1, 2], np.int16)],
])
def test_stack_promotes_as_numpy_stack_does(items):
    """np.stack turns every item into an array first, so a Python number is a strong
    float64 (unlike x * 2.0); ag.stack gives the same dtype."""
    raw = [np.asarray(item) for item in items()]
    assert ag.stack(items()).dtype == np.stack(raw).dtype


def test_concatenate_keeps_a_python_number_weak_as_numpy_does():
    x = ag.tensor(np.zeros(2, np.float32))
    got = ag.concatenate([x, 1.0], axis=None)
    assert got.dtype == np.concatenate([np.zeros(2, np.float32), 1.0], axis=None).dtype
    assert got.dtype == np.float32


def test_clip_with_array_bounds_that_broadcast_x_up():
    """Bounds of a larger shape broadcast x up, as np.clip does; x's gradient sums the
    output's (1 inside [low, high], 0 outside) back down to x's shape."""
    low, high = np.zeros((3, 1)), np.array([[1.0], [1.5], [3.0]])
    assert gradcheck(lambda x: ag.clip(x, low, high), np.array([0.5, 2.0]))
    x = ag.tensor([0.5, 2.0], requires_grad=True)
    ag.clip(x, low, high).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 1.0])  # 2.0 is inside only for high = 3
    scalar = ag.tensor(0.0, requires_grad=True)
    ag.clip(scalar, None, np.zeros(0)).backward(np.ones(0))  # an empty bound: empty output
    assert scalar.grad == 0.0 and scalar.grad.shape == ()


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("matrix_shape", [(5, 3), (2, 4, 3), (0, 3), (0, 0), (3, 0), (5, 1)])
def test_bias_gradient_sums_the_rows(dtype, matrix_shape):
    """A vector added to a matrix (the bias case, summed with BLAS for float32/64) gets
    the column sums of the cotangent, also for empty shapes and float16."""
    width = matrix_shape[-1]
    for bias_shape in {(width,), (1,)}:
        matrix = ag.tensor(np.ones(matrix_shape, dtype))
        bias = ag.tensor(np.zeros(bias_shape, dtype), requires_grad=True)
        cotangent = np.arange(np.prod(matrix_shape), dtype=dtype).reshape(matrix_shape)
        (matrix + bias).backward(cotangent)
        want = cotangent.sum(axis=tuple(range(len(matrix_shape) - 1)), dtype=np.float64)
        if bias_shape == (1,):
            want = want.sum(keepdims=True)
        assert bias.grad.dtype == dtype and bias.grad.shape == bias_shape
        np.testing.assert_allclose(bias.grad, want, rtol=1e-3 if dtype == np.float16 else 1e-6)


@pytest.mark.parametrize("name", ELEMENTWISE_BINARY)
@pytest.mark.parametrize("shape_a, shape_b", [((), ()), ((), (3,)), ((2, 1), (3,)), ((4, 1, 3), (2, 1))])
def test_binary_broadcasting_corners(name, shape_a, shape_b):
    rng = np.random.default_rng(0)
    a = rng.uniform(0.5, 2.0, shape_a)
    b = rng.uniform(0.5, 2.0, shape_b) + 0.03  # never tied with a
    assert gradcheck(SPECS_BY_NAME[name].function, a, b)


@pytest.mark.parametrize("exponent", [np.array(-1), np.int64(-1), np.array(2), np.int32(0)])
def test_pow_with_a_numpy_integer_exponent_promotes_as_np_power(exponent):
    # NumPy before 2.3 took a shortcut for ``float32_array ** np.int64(-1)`` (reciprocal,
    # float32) that np.power does not take (float64); ag.pow answers for np.power and
    # follows it on every NumPy.
    x = ag.tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    expected = np.power(x.data, exponent)
    out = ag.pow(x, exponent)
    assert out.dtype == expected.dtype == np.float64
    np.testing.assert_array_equal(out.data, expected)
    out.sum().backward()
    assert x.grad.dtype == np.float32
