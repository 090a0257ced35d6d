"""The Tensor API: construction, attributes, NumPy interop, operators, repr, errors."""

import operator

import numpy as np
import pytest

import autograd as ag
from autograd import tape


# ---------------------------------------------------------------------------
# Construction and attributes.
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("data, shape, dtype", [
    (2.5, (), np.float64),
    (3, (), np.int64),
    (True, (), np.bool_),
    ([[1.0, 2.0]], (1, 2), np.float64),
    (np.zeros((2, 3), dtype=np.float32), (2, 3), np.float32),
])
def test_construction_from_numbers_lists_and_arrays(data, shape, dtype):
    x = ag.tensor(data)
    assert isinstance(x.data, (np.ndarray, np.generic))  # 0-d data may be a NumPy scalar
    assert isinstance(np.asarray(x), np.ndarray)
    assert x.shape == shape and x.dtype == dtype and x.ndim == len(shape)
    assert x.size == int(np.prod(shape))
    assert x.grad is None and not x.requires_grad and x.is_leaf
    assert ag.Tensor(data).shape == shape


def test_construction_copies_and_takes_a_dtype():
    source = np.array([1.0, 2.0])
    x = ag.Tensor(source, requires_grad=True)
    source[0] = 99.0
    assert x.data[0] == 1.0
    assert ag.tensor([1, 2], dtype=np.float32).dtype == np.float32
    assert ag.tensor(ag.tensor([1.0, 2.0])).shape == (2,)


@pytest.mark.parametrize("data", [[1, 2], np.array([True, False]), 3, np.arange(3, dtype=np.uint8)])
def test_integer_and_bool_tensors_cannot_require_grad(data):
    with pytest.raises(TypeError, match="dtype") as caught:
        ag.tensor(data, requires_grad=True)
    assert str(np.asarray(data).dtype) in str(caught.value)


def test_non_numeric_data_is_a_type_error():
    with pytest.raises(TypeError, match="numbers"):
        ag.tensor(["a", "b"])


def test_T_transposes_and_carries_gradient():
    x = ag.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert x.T.shape == (3, 2)
    (x.T * np.arange(2.0)).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 0, 0], [1, 1, 1]])


def test_mT_swaps_the_last_two_axes_as_numpy_does():
    data = np.arange(24.0).reshape(2, 3, 4)
    x = ag.tensor(data, requires_grad=True)
    np.testing.assert_array_equal(x.mT.data, data.mT)
    weights = np.arange(24.0).reshape(2, 4, 3)
    (x.mT * weights).sum().backward()
    np.testing.assert_array_equal(x.grad, weights.mT)
    with pytest.raises(ValueError, match="swapaxes"):
        ag.tensor([1.0, 2.0]).mT


def test_detach_item_numpy_asarray():
    x = ag.tensor([[1.0, 2.0]], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.is_leaf
    np.testing.assert_array_equal(d.data, [[2.0, 4.0]])
    assert isinstance(y.numpy(), np.ndarray)
    np.testing.assert_array_equal(np.asarray(y), [[2.0, 4.0]])
    total = y.sum()
    assert isinstance(total.item(), float) and total.item() == 6.0
    # 0-d results may hold NumPy scalars; np.asarray still gives an array
    assert isinstance(np.asarray(total), np.ndarray) and np.asarray(total).shape == ()
    assert float(total) == 6.0


def test_methods_follow_numpy():
    x = ag.tensor(np.arange(24.0).reshape(2, 3, 4) - 10, requires_grad=True)
    assert x.reshape(6, -1).shape == x.reshape((6, -1)).shape == (6, 4)
    assert x.transpose().shape == x.T.shape == (4, 3, 2)
    assert x.transpose((1, 0, 2)).shape == x.transpose(1, 0, 2).shape == (3, 2, 4)
    assert x.sum(axis=1, keepdims=True).shape == (2, 1, 4)
    assert x.max(axis=0).shape == (3, 4)
    for name in ["exp", "relu", "sigmoid", "tanh", "abs"]:
        np.testing.assert_allclose(getattr(x, name)().data, getattr(ag, name)(x).data)
    np.testing.assert_array_equal(abs(x).data, np.abs(x.data))
    assert x.mean().item() == pytest.approx(np.mean(x.data))


def test_numpy_functions_on_tensors_are_recorded():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = np.sum(np.exp(x) * 2)
    assert isinstance(y, ag.Tensor) and y.requires_grad
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * np.exp([1.0, 2.0]))


def test_tensors_do_not_support_item_assignment():
    x = ag.tensor([1.0, 2.0])
    with pytest.raises(TypeError, match="item assignment"):
        x[0] = 3.0


# ---------------------------------------------------------------------------
# Operators on both sides with numbers and ndarrays.
# ---------------------------------------------------------------------------

BINARY_OPERATORS = [
    (operator.add, lambda a, b: (np.ones_like(a), np.ones_like(b))),
    (operator.sub, lambda a, b: (np.ones_like(a), -np.ones_like(b))),
    (operator.mul, lambda a, b: (b, a)),
    (operator.truediv, lambda a, b: (1 / b, -a / b ** 2)),
    (operator.pow, lambda a, b: (b * a ** (b - 1), a ** b * np.log(a))),
]


@pytest.mark.parametrize("op, derivatives", BINARY_OPERATORS, ids=lambda v: getattr(v, "__name__", ""))
@pytest.mark.parametrize("other", [2.0, 3, np.array([0.5, 1.5, 2.5])], ids=["float", "int", "array"])
def test_operators_on_both_sides_carry_gradient(op, derivatives, other):
    values = np.array([1.0, 2.0, 3.0])
    for tensor_on_left in (True, False):
        x = ag.tensor(values, requires_grad=True)
        result = op(x, other) if tensor_on_left else op(other, x)
        assert isinstance(result, ag.Tensor) and result.requires_grad
        assert result.dtype == np.float64
        a, b = (values, np.asarray(other, float)) if tensor_on_left else (np.asarray(other, float), values)
        np.testing.assert_allclose(result.data, op(a, b))
        result.sum().backward()
        expected = derivatives(a, b)[0 if tensor_on_left else 1]
        np.testing.assert_allclose(x.grad, np.broadcast_to(expected, values.shape))


def test_ndarray_on_the_left_gives_a_tensor_not_an_object_array():
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for result in (np.ones(3) * x, np.ones(3) + x, np.ones(3) - x, np.ones(3) / x, np.ones((2, 3)) @ x):
        assert isinstance(result, ag.Tensor) and result.requires_grad and result.dtype == np.float64
    (np.ones((2, 3)) @ x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0, 2.0])


def test_matmul_operator_both_sides():
    w = np.arange(6.0).reshape(3, 2)
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x @ w).sum().backward()
    np.testing.assert_array_equal(x.grad, w.sum(axis=1))


def test_unary_operators():
    x = ag.tensor([1.0, -2.0], requires_grad=True)
    (-x + (+x) + abs(x)).sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, -1.0])


def test_python_numbers_are_weak_for_float32():
    x = ag.tensor([1.0, 2.0], dtype=np.float32, requires_grad=True)
    for result in (x * 2.0, 2.0 * x, x + 1, 1 - x, x / 3.0, 3.0 / x, x ** 2, 2 ** x, x ** 0.5):
        assert result.dtype == np.float32, result
    (x * 2.0).sum().backward()
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize("compare", [operator.lt, operator.le, operator.gt, operator.ge,
                                     operator.eq, operator.ne])
def test_comparisons_give_tensors_that_do_not_require_grad(compare):
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for result in (compare(x, 2.0), compare(2.0, x), compare(x, np.full(3, 2.0)), compare(x, x * 1)):
        assert isinstance(result, ag.Tensor) and not result.requires_grad
        assert result.dtype == np.bool_
    np.testing.assert_array_equal(compare(x, 2.0).data, compare(x.data, 2.0))


# ---------------------------------------------------------------------------
# repr.
# ---------------------------------------------------------------------------

def test_repr_shows_data_dtype_requires_grad_and_op():
    x = ag.tensor([1.5, 2.0], dtype=np.float32, requires_grad=True)
    text = repr(x * 2)
    assert "3." in text and "4." in text
    assert "float32" in text and "requires_grad=True" in text and "mul" in text
    plain = repr(ag.tensor([1, 2]))
    assert "int64" in plain and "requires_grad" not in plain


# ---------------------------------------------------------------------------
# Errors users see: what was expected, what was given, shapes and dtypes.
# ---------------------------------------------------------------------------

def test_matmul_shape_mismatch_names_both_shapes():
    a = ag.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(ValueError) as caught:
        a @ np.ones((4, 5))
    assert "(2, 3)" in str(caught.value) and "(4, 5)" in str(caught.value)
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(\)|0-d|dimension"):
        ag.matmul(a, 2.0)


@pytest.mark.parametrize("op", [ag.add, ag.sub, ag.mul, ag.div, ag.pow, ag.maximum, ag.minimum])
def test_non_broadcastable_shapes_name_both_shapes(op):
    with pytest.raises(ValueError, match="broadcast") as caught:
        op(ag.tensor(np.ones((2, 3)), requires_grad=True), np.ones((4,)))
    assert "(2, 3)" in str(caught.value) and "(4,)" in str(caught.value)


def test_other_shape_errors_name_shapes():
    x = ag.tensor(np.ones((2, 3)), requires_grad=True)
    cases = [
        (lambda: x.reshape(4, 2), "(2, 3)"),
        (lambda: ag.broadcast_to(x, (3, 3)), "(2, 3)"),
        (lambda: ag.concatenate([x, np.ones((2, 2))], axis=0), "(2, 2)"),
        (lambda: ag.stack([x, np.ones((3, 2))]), "(3, 2)"),
        (lambda: ag.where(np.ones(4, dtype=bool), x, 0.0), "(2, 3)"),
        (lambda: x.squeeze(0), "(2, 3)"),
        (lambda: x.transpose((0, 0)), "(2, 3)"),
        (lambda: x[5], "(2, 3)"),
    ]
    for make_error, shape in cases:
        with pytest.raises((ValueError, IndexError)) as caught:
            make_error()
        assert shape in str(caught.value), str(caught.value)


def test_backward_on_a_non_scalar_without_grad_names_the_shape():
    y = ag.tensor(np.ones((2, 3)), requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"scalar.*\(2, 3\)"):
        y.backward()


def test_backward_with_a_grad_of_the_wrong_shape_names_both_shapes():
    y = ag.tensor(np.ones((2, 3)), requires_grad=True) * 2
    with pytest.raises(ValueError) as caught:
        y.backward(np.ones(3))
    assert "(3,)" in str(caught.value) and "(2, 3)" in str(caught.value)


def test_backward_through_a_freed_graph_names_retain_graph():
    y = (ag.tensor([1.0], requires_grad=True) * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_backward_on_a_tensor_that_does_not_require_grad():
    with pytest.raises(RuntimeError, match="requires? grad"):
        ag.tensor(1.0).backward()
    x = ag.tensor(1.0, requires_grad=True)
    with ag.no_grad():
        y = x * 2
    with pytest.raises(RuntimeError, match="no_grad"):
        y.backward()


def test_grad_of_an_integer_tensor_names_the_dtype():
    with pytest.raises(TypeError, match="int64"):
        ag.tensor(np.arange(3), requires_grad=True)
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="int"):
        x.astype(np.int32)


def test_reduction_axis_out_of_range_names_the_axis():
    x = ag.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(np.exceptions.AxisError, match="axis 2"):
        x.sum(axis=2)


def test_numpy_functions_without_a_gradient_rule_refuse_tensors_that_require_grad():
    # np.spacing (a ufunc) and np.convolve (a function) have no gradient rule here.
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="spacing"):
        np.spacing(x)
    with pytest.raises(TypeError, match="convolve"):
        np.convolve(x, [1.0, 1.0])
    np.testing.assert_allclose(np.spacing(x.detach()).data, np.spacing([1.0, 2.0]))
    assert tape.is_grad_enabled()


def test_numpy_writing_into_an_array_with_out_keeps_the_array():
    # a -= t (t a constant tensor) is np.subtract(a, t, out=(a,)): NumPy returns ``a``, and
    # so must we; wrapping it would rebind ``a`` to a Tensor that shares its memory.
    a = np.array([5.0, 6.0])
    alias = a
    a -= ag.tensor([1.0, 2.0])
    assert type(a) is np.ndarray and a is alias
    np.testing.assert_array_equal(a, [4.0, 4.0])
    out = np.empty(2)
    assert np.add(np.ones(2), ag.tensor([1.0, 2.0]), out=out) is out
    with pytest.raises(TypeError, match="out="):       # a tensor that requires grad: refused
        a -= ag.tensor([1.0, 2.0], requires_grad=True)


def test_a_list_holding_tensors_is_stacked_on_the_tape_by_every_op():
    # ag.sum([x, 2 * x]) used to read the list as plain numbers: x.grad stayed None.
    x = ag.tensor(3.0, requires_grad=True)
    total = ag.sum([x, 2 * x])
    total.backward()
    assert total.item() == 9.0 and x.grad == 3.0
    y = ag.tensor([1.0, 2.0], requires_grad=True)
    (ag.tensor([1.0, 1.0]) * [[y], [y * y]]).sum().backward()    # a nested list, broadcast
    np.testing.assert_array_equal(y.grad, [3.0, 5.0])            # 1 + 2y


def test_requires_grad_is_documented_on_the_class():
    # help(ag.Tensor) showed requires_grad without a word (a slot has no docstring unless
    # __slots__ is a dict).
    import inspect
    import pydoc

    doc = inspect.getdoc(ag.Tensor.requires_grad)
    assert doc and "recorded" in doc and "requires_grad_()" in doc
    assert "Set it on a leaf with" in pydoc.render_doc(ag.Tensor)
