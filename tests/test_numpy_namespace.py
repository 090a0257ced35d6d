"""autograd.numpy: NumPy's namespace where every function with a gradient rule records,
np.array / np.asarray / np.r_ / np.c_ of tensors are stacked on the tape, and nothing
leaves the tape silently (tensors.py refuses conversions while a transform runs f)."""

import numpy
import pytest

import autograd as ag
import autograd.numpy as anp
import autograd.numpy.linalg as anp_linalg
import autograd.numpy.random as npr
from autograd import registry
from autograd.tensors import Tensor


def numeric_derivative(f, x, eps=1e-6):
    """Central differences of a scalar f at the float array x."""
    x = numpy.asarray(x, dtype=float)
    grad = numpy.zeros_like(x)
    for i in numpy.ndindex(x.shape):
        step = numpy.zeros_like(x)
        step[i] = eps
        grad[i] = (f(x + step) - f(x - step)) / (2 * eps)
    return grad


def _claims():
    """(numpy name, registered function) for every top-level NumPy callable an entry claims."""
    pairs = []
    for entry in registry.entries(builtin_only=True):
        for claimed in entry.numpy:
            name = getattr(claimed, "__name__", None)
            if name and getattr(numpy, name, None) is claimed:
                pairs.append((name, entry.function))
    return pairs


# ---------------------------------------------------------------------------
# What each name resolves to.
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name, function", _claims(), ids=[n for n, _ in _claims()])
def test_every_claimed_numpy_name_is_the_registered_function(name, function):
    assert getattr(anp, name) is function


def test_the_table_of_claims_is_not_empty_and_holds_the_basics():
    names = dict(_claims())
    for name in ["exp", "log", "tanh", "sum", "matmul", "concatenate", "stack", "where"]:
        assert names[name] is getattr(ag, name)
    assert anp.add is ag.add and anp.multiply is ag.mul and anp.negative is ag.neg
    assert anp.absolute is ag.abs and anp.abs is ag.abs


def test_registered_names_that_numpy_lacks_are_offered_too():
    assert anp.sigmoid is ag.sigmoid and anp.relu is ag.relu
    assert anp.astype is ag.astype


@pytest.mark.parametrize("name", ["pi", "e", "inf", "nan", "newaxis", "float32", "float64",
                                  "int64", "bool_", "ndarray", "dtype", "finfo", "zeros",
                                  "ones", "arange", "linspace", "eye", "argmax", "argsort",
                                  "allclose", "isclose", "histogram", "searchsorted"])
def test_constants_types_and_functions_without_a_rule_pass_through_unchanged(name):
    assert getattr(anp, name) is getattr(numpy, name)


def test_an_unknown_name_is_an_attribute_error_naming_the_module():
    with pytest.raises(AttributeError, match=r"autograd.numpy.*no_such_function"):
        anp.no_such_function  # noqa: B018


def test_dir_lists_numpy_and_the_registry():
    names = dir(anp)
    assert {"sin", "pi", "array", "r_", "linalg", "random", "sigmoid"} <= set(names)


def test_star_import_brings_numpy_names_resolved_as_attributes_are():
    namespace = {}
    exec("from autograd.numpy import *", namespace)
    assert namespace["sin"] is anp.sin and namespace["sum"] is ag.sum
    assert namespace["array"] is anp.array and namespace["pi"] == numpy.pi
    assert namespace["linalg"] is anp_linalg


def test_resolving_names_that_shadow_builtins_does_not_break_the_module():
    # anp.max / anp.any are cached as module globals; the module's own code must still
    # reach Python's max and any (r_ and array use them).
    assert anp.max is ag.max and anp.any is numpy.any
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    assert anp.r_["0,2", x, x].shape == (2, 2)
    assert anp.array([x, x]).shape == (2, 2)


def test_names_are_resolved_from_the_registry_at_first_use(monkeypatch):
    # An entry registered after autograd.numpy was imported is found (resolution is lazy).
    def fake_spacing(x):
        return x

    fake = registry.Entry(name="spacing", function=fake_spacing, numpy=(numpy.spacing,))
    original = registry.entries
    monkeypatch.setattr(registry, "entries", lambda builtin_only=False: original() + [fake])
    monkeypatch.delitem(anp.__dict__, "spacing", raising=False)
    try:
        assert anp.spacing is fake_spacing
    finally:
        anp.__dict__.pop("spacing", None)


def test_linalg_names_are_ag_linalg_and_the_rest_is_numpy_linalg():
    registered = registry.namespace("linalg")
    assert registered, "ag.linalg registers its functions under the namespace 'linalg'"
    for name, function in registered.items():
        assert getattr(anp.linalg, name) is function
        assert getattr(ag.linalg, name) is function
    assert anp.linalg is anp_linalg
    assert anp.linalg.LinAlgError is numpy.linalg.LinAlgError
    assert "inv" in dir(anp.linalg)


def test_np_linalg_inv_records_and_has_the_known_gradient():
    A = numpy.array([[2.0, 1.0], [0.5, 3.0]])
    # d/dA sum(inv(A)) = -inv(A)^T 1 1^T inv(A)^T
    g = ag.grad(lambda A: anp.sum(anp.linalg.inv(A)))(A)
    inverse = numpy.linalg.inv(A)
    ones = numpy.ones((2, 2))
    numpy.testing.assert_allclose(g.data, -(inverse.T @ ones @ inverse.T), rtol=1e-12)


def test_random_is_numpy_random():
    assert npr.RandomState is numpy.random.RandomState
    assert anp.random is npr
    assert npr.RandomState(0).randn(3).shape == (3,)
    assert "seed" in dir(npr)


# ---------------------------------------------------------------------------
# Recording: registered functions, array/asarray, r_/c_.
# ---------------------------------------------------------------------------

def test_a_registered_function_records_on_tensors_and_is_plain_on_arrays():
    x = ag.tensor([0.5, -1.0], requires_grad=True)
    y = anp.sum(anp.exp(x) * 2.0)
    y.backward()
    numpy.testing.assert_allclose(x.grad, 2 * numpy.exp([0.5, -1.0]))
    plain = anp.exp(numpy.array([0.0, 1.0]))
    numpy.testing.assert_allclose(numpy.asarray(plain), numpy.exp([0.0, 1.0]))


def test_jacobian_of_np_array_of_x_and_x_squared_is_1_and_6():
    # The example: with real NumPy this was [0, 0] without a word.
    J = ag.jacobian(lambda x: anp.array([x, x ** 2]))(3.0)
    numpy.testing.assert_allclose(J.data, [1.0, 6.0])


def test_np_array_of_nested_lists_of_tensors_is_stacked_with_numpy_shape_and_dtype():
    x = ag.tensor(2.0, requires_grad=True)
    m = anp.array([[x, 1.0], [3.0, x * x]])
    assert isinstance(m, Tensor) and m.shape == (2, 2) and m.dtype == numpy.float64
    numpy.testing.assert_array_equal(m.data, [[2.0, 1.0], [3.0, 4.0]])
    anp.sum(m).backward()
    assert float(x.grad) == pytest.approx(1.0 + 2 * 2.0)


def test_np_array_gradient_matches_finite_differences():
    def f(v):
        a, b = v[0], v[1]
        rows = anp.array([[a, b, a * b], [anp.sin(a), 1.0, b ** 3]])
        return anp.sum(anp.tanh(rows) * numpy.arange(1.0, 7.0).reshape(2, 3))

    x = numpy.array([0.3, -0.7])
    g = ag.grad(f)(x)
    numeric = numeric_derivative(lambda v: float(f(ag.tensor(v)).data), x)
    numpy.testing.assert_allclose(g.data, numeric, rtol=1e-6, atol=1e-8)


def test_np_array_keeps_float32_and_applies_dtype_and_ndmin():
    x = ag.tensor(numpy.float32(1.5), requires_grad=True)
    assert anp.array([x, x]).dtype == numpy.float32
    assert anp.array([x, 2 * x], dtype=numpy.float64).dtype == numpy.float64
    y = anp.array([x, x], ndmin=3)
    assert y.shape == (1, 1, 2)
    g = ag.grad(lambda x: anp.sum(anp.array([x, 3 * x], dtype=numpy.float64)))(
        numpy.float32(1.0))
    assert g.dtype == numpy.float32 and float(g.data) == 4.0


def test_np_array_of_a_tensor_and_of_plain_values():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    assert anp.array(x) is x
    plain = anp.array([[1, 2], [3, 4]])
    assert type(plain) is numpy.ndarray and plain.dtype == numpy.array([1]).dtype
    assert anp.array(3.0).shape == ()


def test_np_array_of_a_ragged_list_of_tensors_says_so():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"autograd.numpy.array: .*rectangular"):
        anp.array([x, ag.tensor([1.0])])


def test_np_asarray_keeps_a_tensor_and_stacks_lists():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    assert anp.asarray(x) is x
    assert anp.asanyarray(x) is x
    cast = anp.asarray(x, dtype=numpy.float32)
    assert cast.dtype == numpy.float32 and cast.requires_grad
    stacked = anp.asarray([x, 2 * x])
    assert stacked.shape == (2, 2) and stacked.requires_grad
    plain = anp.asarray([1.0, 2.0])
    assert type(plain) is numpy.ndarray


def test_r_concatenates_tensors_numbers_and_slices_on_the_tape():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = anp.r_[x, 0.0, 1:3, x * 2]
    numpy.testing.assert_array_equal(y.data, numpy.r_[[1.0, 2.0], 0.0, 1:3, [2.0, 4.0]])
    anp.sum(y * y).backward()
    # d/dx [x^2 + (2x)^2] = 2x + 8x
    numpy.testing.assert_allclose(x.grad, 10 * numpy.array([1.0, 2.0]))


def test_r_with_scalar_tensors_and_plain_values_matches_numpy():
    a = ag.tensor(3.0, requires_grad=True)
    y = anp.r_[a, numpy.array([4.0, 5.0]), a * a]
    numpy.testing.assert_array_equal(y.data, [3.0, 4.0, 5.0, 9.0])
    assert float(ag.grad(lambda a: anp.sum(anp.r_[a, 1.0, a * a]))(3.0)) == 7.0
    assert type(anp.r_[1:4]) is numpy.ndarray  # no tensors: NumPy's own


def test_r_with_a_directive_string():
    x = ag.tensor([[1.0, 2.0]], requires_grad=True)
    y = anp.r_["0,2", x, [3.0, 4.0]]
    numpy.testing.assert_array_equal(y.data, numpy.r_["0,2", [[1.0, 2.0]], [3.0, 4.0]])
    z = anp.r_["1", x, x]
    assert z.shape == (1, 4)


@pytest.mark.parametrize("directive", ["0", "0,2", "0,2,0", "1,2,0", "-1,2,0", "0,3,1",
                                       "-1,3,-1", "2,3,0"])
@pytest.mark.parametrize("pieces", [
    lambda x: [x, x * 2],
    lambda x: [x, [5.0, 6.0, 7.0]],
    lambda x: [x, numpy.ones(3), x],
], ids=["tensors", "tensor-list", "tensor-array-tensor"])
def test_r_directives_place_axes_as_numpy_does(directive, pieces):
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    plain = [p.data if isinstance(p, Tensor) else p for p in pieces(x)]
    try:
        expected = numpy.r_[(directive, *plain)]
    except ValueError:  # shapes that NumPy cannot join either
        with pytest.raises(ValueError):
            anp.r_[(directive, *pieces(x))]
        return
    got = anp.r_[(directive, *pieces(x))]
    assert got.shape == expected.shape
    numpy.testing.assert_array_equal(got.data, expected)
    weights = numpy.arange(expected.size, dtype=float).reshape(expected.shape)
    g = ag.grad(lambda x: anp.sum(anp.r_[(directive, *pieces(x))] * weights))(x.data)
    numeric = numeric_derivative(
        lambda v: float(numpy.sum(numpy.r_[(directive, *[p.data if isinstance(p, Tensor) else p
                                                         for p in pieces(ag.tensor(v))])]
                                  * weights)), x.data)
    numpy.testing.assert_allclose(g.data, numeric, rtol=1e-7, atol=1e-9)


def test_c_stacks_1d_tensors_as_columns():
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    m = anp.c_[x, x * x, numpy.zeros(3)]
    numpy.testing.assert_array_equal(m.data, numpy.c_[[1.0, 2.0, 3.0], [1.0, 4.0, 9.0],
                                                      numpy.zeros(3)])
    anp.sum(m).backward()
    numpy.testing.assert_allclose(x.grad, 1 + 2 * numpy.array([1.0, 2.0, 3.0]))
    assert type(anp.c_[numpy.ones(2), numpy.zeros(2)]) is numpy.ndarray


def test_a_list_of_tensors_to_a_join_is_recorded():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = anp.concatenate([x, anp.array([x[0], 5.0])])
    anp.sum(y).backward()
    numpy.testing.assert_allclose(x.grad, [2.0, 1.0])


# ---------------------------------------------------------------------------
# Nothing leaves the tape silently.
# ---------------------------------------------------------------------------

def test_a_numpy_function_without_a_rule_refuses_a_tensor_naming_itself():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"histogram has no gradient rule"):
        anp.histogram(x)
    with pytest.raises(TypeError, match=r"spacing.*no gradient rule"):
        anp.spacing(x)
    counts, _ = anp.histogram(x.detach(), bins=2)  # the raw values, asked for
    assert counts.sum() == 2


@pytest.mark.parametrize("convert", [
    lambda x: numpy.array([x, 2 * x]),          # real NumPy reading a list of tensors
    lambda x: numpy.asarray(x),
    lambda x: numpy.cumsum([x, x]),             # NumPy functions that call asarray inside
    lambda x: float(x),
], ids=["np.array-list", "np.asarray", "np.cumsum-list", "float"])
def test_converting_a_tensor_inside_a_transform_raises_naming_the_fix(convert):
    def f(x):
        return ag.sum(ag.tensor(numpy.asarray(convert(x), dtype=float))) + x

    with pytest.raises(TypeError, match=r"inside a function being differentiated.*"
                                        r"autograd.numpy.*x\.data, x\.detach\(\)"):
        ag.grad(f)(1.5)


def test_writing_a_tensor_into_an_ndarray_inside_a_transform_raises():
    # NumPy reads the element with float(), which refuses; NumPy re-raises it as a
    # ValueError caused by our TypeError (the traceback shows both).
    def f(x):
        a = numpy.zeros(2)
        a[0] = x
        return ag.sum(ag.tensor(a)) + x

    with pytest.raises((TypeError, ValueError)) as caught:
        ag.grad(f)(1.5)
    error = caught.value
    while not isinstance(error, TypeError):
        error = error.__cause__ or error.__context__
    assert "inside a function being differentiated" in str(error)
    assert "autograd.numpy" in str(error)


def test_the_raw_value_is_available_when_asked_for():
    def f(x):
        raw = [numpy.asarray(x.data), x.detach().numpy(), numpy.float64(x.item())]
        with ag.no_grad():
            raw.append(numpy.asarray(x))
            raw.append(float(x))
        assert all(float(r) == 1.5 for r in raw)
        assert bool(x > 1)           # control flow reads the value; fine
        return x * x

    assert float(ag.grad(f)(1.5)) == 3.0


def test_outside_transforms_numpy_interop_is_unchanged():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    numpy.testing.assert_array_equal(numpy.asarray(x), [1.0, 2.0])
    assert float(ag.tensor(2.0, requires_grad=True)) == 2.0


def test_fft_is_importable_and_refuses_tensors_that_require_grad():
    import autograd.numpy.fft as fft

    assert anp.fft is fft and fft.fft is numpy.fft.fft
    np_result = fft.rfft(numpy.array([1.0, 2.0, 3.0]))
    numpy.testing.assert_allclose(np_result, numpy.fft.rfft([1.0, 2.0, 3.0]))
    with pytest.raises(TypeError, match=r"np\.fft\.rfft has no gradient rule"):
        fft.rfft(ag.tensor([1.0, 2.0, 3.0], requires_grad=True))
