"""Hostile inputs: every public entry point gives NumPy's answer or an error in our words.

Hypothesis throws wrong shapes, wrong dtypes, NaN/inf, empty tensors (N = 0),
out-of-range axes, object arrays, mixed and ragged lists, strings and None at the
public API. Each call must end one of two ways:

* a result equal to what NumPy computes from the same arrays (values, shape and
  dtype), whose backward gives gradients of the inputs' shapes and dtypes; or
* a ValueError / TypeError (IndexError for indexing) whose message is written for
  the user: it names a shape, dtype, axis or argument, and is not NumPy's or
  Python's internal wording ("operands could not be broadcast", "unsupported
  operand type(s)", ...).

Junk (strings, None, bytes, object arrays, ragged lists) in a numeric position must
always raise, even where NumPy would quietly accept it (``np.where(None, a, b)``).
No call may hang: each runs under an alarm.
"""

import contextlib
import operator
import re
import signal
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag
from autograd import Tensor

# ---------------------------------------------------------------------------
# What an acceptable error looks like.
# ---------------------------------------------------------------------------

INTERNAL_PHRASES = (
    "operands could not be broadcast", "unsupported operand type", "could not convert",
    "setting an array element with a sequence", "inhomogeneous", "did not contain a loop",
    "cannot be interpreted as an integer", "invalid literal", "not supported between instances",
    "object is not iterable", "object is not subscriptable", "has no attribute",
    "ufunc", "Cannot cast", "an integer is required", "too large to convert",
    "numpy boolean", "Integers to negative integer powers",
)
USER_WORDS = ("shape", "dtype", "data type", "axis", "axes", "index", "dimension",
              "expected", "got", "grad", "tensor")
SHAPE_TUPLE = re.compile(r"\(\)|\(\d+,")  # "(2, 3)", "(4,)" or "()" in a message


def assert_speaks_user_language(error, allowed=(ValueError, TypeError)):
    message = str(error)
    assert isinstance(error, allowed), f"{type(error).__name__} is not one of {allowed}: {message}"
    for phrase in INTERNAL_PHRASES:
        assert phrase not in message, f"NumPy/Python internals leak out: {type(error).__name__}: {message}"
    assert any(word in message.lower() for word in USER_WORDS) or SHAPE_TUPLE.search(message), (
        f"the message names no shape, dtype, axis or argument: {type(error).__name__}: {message}")


class Hang(Exception):
    pass


@contextlib.contextmanager
def no_hang(seconds=10):
    def on_alarm(signum, frame):
        raise Hang(f"call did not return within {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(autouse=True)
def quiet_floating_point_warnings():
    # NaN, inf and empty reductions are the point here; NumPy's warnings are expected.
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


# ---------------------------------------------------------------------------
# Strategies. Every drawn argument is a pair (value, is_junk).
# ---------------------------------------------------------------------------

NUMERIC_DTYPES = [np.float64, np.float32, np.int64, np.bool_]
SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)


def elements_for(dtype):
    if dtype == np.float32:
        return st.floats(width=32, allow_nan=True, allow_infinity=True)
    if dtype == np.float64:
        return st.one_of(st.floats(-10, 10), st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0]))
    if dtype == np.int64:
        return st.integers(-5, 5)
    return st.booleans()


@st.composite
def numeric_arrays(draw, shape=None, dtypes=NUMERIC_DTYPES):
    dtype = draw(st.sampled_from(dtypes))
    shape = draw(SHAPES) if shape is None else shape
    return draw(hnp.arrays(dtype, shape, elements=elements_for(dtype)))


@st.composite
def tensors(draw, shape=None, dtypes=NUMERIC_DTYPES):
    array = draw(numeric_arrays(shape, dtypes))
    requires_grad = array.dtype.kind == "f" and draw(st.booleans())
    return ag.tensor(array, requires_grad=requires_grad)


JUNK = [
    "a", "1.5", b"x", {}, 1j, object(),
    np.array([1, "a"], dtype=object), np.array([1.0, 2.0], dtype=object),
    [1, "a"], [1.0, None], [[1.0, 2.0], [3.0]], np.array(["x", "y"]),
]
junk_but_none = st.sampled_from(JUNK).map(lambda value: (value, True))  # where None means "absent"
junk = st.one_of(junk_but_none, st.just((None, True)))
not_a_sequence = st.sampled_from(["ab", b"xy", None, 1j, {}]).map(lambda value: (value, True))


def fine(strategy):
    return strategy.map(lambda value: (value, False))


def operands(shape=None):
    """Something that should work as a numeric operand, or junk."""
    numeric = st.one_of(
        tensors(shape),
        numeric_arrays(shape),
        numeric_arrays(shape).map(lambda a: a.tolist()),
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(-5, 5),
        st.booleans(),
    )
    return st.one_of(fine(numeric), junk)


def tensor_operands(shape=None):
    """For methods and operators: the receiver is always a Tensor."""
    return fine(tensors(shape))


small_ints = st.integers(-4, 4)
axis_values = st.one_of(
    fine(st.none()), fine(small_ints), fine(st.tuples(small_ints)),
    fine(st.lists(small_ints, max_size=3).map(tuple)), fine(st.just(np.int64(1))),
    st.sampled_from(["a", 1.5, [0, 1], b"x"]).map(lambda v: (v, True)),
)
int_axis_values = st.one_of(fine(small_ints), fine(st.just(np.int64(-1))),
                            st.sampled_from(["a", 1.5, b"x"]).map(lambda v: (v, True)))
shape_values = st.one_of(
    fine(st.lists(st.integers(-2, 4), max_size=4).map(tuple)), fine(st.integers(-2, 6)),
    st.sampled_from(["a", None, 1.5, ("a", 2), (2.0, 3)]).map(lambda v: (v, True)),
)
index_values = st.one_of(
    fine(small_ints), fine(st.none()), fine(st.just(Ellipsis)),
    fine(st.builds(slice, st.none() | small_ints, st.none() | small_ints, st.none() | st.integers(-2, 2))),
    fine(st.tuples(small_ints | st.builds(slice, st.none() | small_ints), small_ints)),
    fine(st.lists(small_ints, max_size=4)),
    fine(hnp.arrays(np.int64, st.integers(0, 3), elements=small_ints)),
    fine(hnp.arrays(np.bool_, SHAPES)),
    fine(hnp.arrays(np.int64, st.integers(0, 3), elements=small_ints).map(ag.tensor)),
    st.sampled_from(["a", 1.5, [0.5], np.array([1.0]), (0, "a"), [1, "a"]]).map(lambda v: (v, True)),
)


# ---------------------------------------------------------------------------
# The check shared by every row.
# ---------------------------------------------------------------------------

def plain(value):
    """The NumPy view of an argument: tensors become their arrays (also inside lists)."""
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    return value


def tensors_in(value):
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in tensors_in(v)]
    return []


def assert_same_as_numpy(result, expected):
    expected = np.asarray(expected)
    actual = np.asarray(result)
    assert actual.shape == expected.shape, f"shape {actual.shape}, NumPy gives {expected.shape}"
    assert actual.dtype == expected.dtype, f"dtype {actual.dtype}, NumPy gives {expected.dtype}"
    if actual.dtype.kind == "f":
        rtol = 1e-4 if actual.dtype.itemsize <= 4 else 1e-9
        atol = 1e-35 if actual.dtype.itemsize <= 4 else 1e-300
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True)
    else:
        np.testing.assert_array_equal(actual, expected)


def check(call, reference, drawn, errors=(ValueError, TypeError)):
    """Run ``call`` on the drawn (value, is_junk) arguments and judge the outcome."""
    values = [value for value, _ in drawn]
    got_junk = any(is_junk for _, is_junk in drawn)
    try:
        with no_hang():
            result = call(*values)
    except Hang:
        raise
    except Exception as error:  # judged: it must be one of ours, and NumPy must refuse too
        assert_speaks_user_language(error, errors)
        if not got_junk:
            try:
                expected = reference(*[plain(v) for v in values])
            except Exception:
                return  # NumPy refuses as well: our error is the right outcome
            arguments = ", ".join(f"{v!r:.60}" for v in values)
            raise AssertionError(
                f"raised {type(error).__name__} ({error}) where NumPy gives a result of shape "
                f"{np.shape(expected)}; arguments ({arguments})") from None
        return
    arguments = ", ".join(f"{v!r:.60}" for v in values)
    assert not got_junk, f"accepted a non-numeric argument and returned {result!r:.80} for ({arguments})"
    assert isinstance(result, Tensor), f"returned {type(result).__name__}, not a Tensor"
    try:
        expected = reference(*[plain(v) for v in values])
    except Exception as error:
        raise AssertionError(f"returned a result where NumPy raises {type(error).__name__}: {error}; "
                             f"arguments ({arguments})") from None
    assert_same_as_numpy(result, expected)
    if result.requires_grad:
        leaves = [t for v in values for t in tensors_in(v) if t.requires_grad]
        for t in leaves:
            t.grad = None
        with no_hang():
            result.backward(np.ones(result.shape, dtype=result.dtype))
        for t in leaves:
            if t.grad is not None:
                assert t.grad.shape == t.shape and t.grad.dtype == t.dtype, (
                    f"gradient {t.grad.shape} {t.grad.dtype} for a tensor {t.shape} {t.dtype}")


# ---------------------------------------------------------------------------
# The tables: (name, call, NumPy reference).
# ---------------------------------------------------------------------------

def numpy_sigmoid(x):
    """1 / (1 + e^-x) as NumPy computes it: e^-x needs np.negative, which refuses bool (so
    does torch.sigmoid); others in float64, cast back to the input's float dtype."""
    x = np.asarray(x)
    if x.dtype == bool:
        return np.negative(x)  # raises, as NumPy does for -x on bool
    wide = 1 / (1 + np.exp(-x.astype(np.float64)))
    return wide.astype(np.result_type(x.dtype, np.float16)) if x.dtype.kind == "f" else wide


UNARY = [
    ("exp", ag.exp, np.exp), ("log", ag.log, np.log), ("sqrt", ag.sqrt, np.sqrt),
    ("abs", ag.abs, np.abs), ("tanh", ag.tanh, np.tanh),
    ("sigmoid", ag.sigmoid, numpy_sigmoid),
    ("relu", ag.relu, lambda x: np.maximum(x, 0)),
    ("neg", lambda x: -x, np.negative),
    ("np.exp on a tensor", np.exp, np.exp),
]


@pytest.mark.parametrize("name, call, reference", UNARY, ids=[row[0] for row in UNARY])
@given(data=st.data())
def test_unary(name, call, reference, data):
    strategy = tensor_operands() if name in ("neg", "np.exp on a tensor") else operands()
    check(call, reference, [data.draw(strategy)])


def shape_pair(draw_shape=SHAPES):
    """Two shapes that often broadcast and sometimes do not."""
    return st.one_of(
        st.tuples(draw_shape, draw_shape),
        hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3).map(
            lambda result: result.input_shapes),
    )


BINARY = [
    ("add", operator.add, np.add), ("sub", operator.sub, np.subtract),
    ("mul", operator.mul, np.multiply), ("div", operator.truediv, np.true_divide),
    ("pow", operator.pow, np.power), ("matmul", operator.matmul, np.matmul),
    ("lt", operator.lt, np.less), ("eq", operator.eq, np.equal),
    ("ag.maximum", ag.maximum, np.maximum), ("ag.minimum", ag.minimum, np.minimum),
    ("ag.matmul", ag.matmul, np.matmul),
]


@pytest.mark.parametrize("name, call, reference", BINARY, ids=[row[0] for row in BINARY])
@given(data=st.data())
def test_binary(name, call, reference, data):
    first_shape, second_shape = data.draw(shape_pair())
    tensor = data.draw(fine(tensors(first_shape)))
    other = data.draw(st.one_of(operands(second_shape), fine(tensors(second_shape))))
    if data.draw(st.booleans(), label="tensor on the right"):
        tensor, other = other, tensor
    check(call, reference, [tensor, other])


REDUCTIONS = [
    ("sum", lambda x, axis, keepdims: x.sum(axis=axis, keepdims=keepdims), np.sum),
    ("mean", lambda x, axis, keepdims: x.mean(axis=axis, keepdims=keepdims), np.mean),
    ("max", lambda x, axis, keepdims: x.max(axis=axis, keepdims=keepdims), np.max),
    ("min", lambda x, axis, keepdims: x.min(axis=axis, keepdims=keepdims), np.min),
    ("ag.sum", lambda x, axis, keepdims: ag.sum(x, axis=axis, keepdims=keepdims), np.sum),
    ("ag.mean", lambda x, axis, keepdims: ag.mean(x, axis, keepdims), np.mean),
    ("ag.max", lambda x, axis, keepdims: ag.max(x, axis, keepdims), np.max),
]


@pytest.mark.parametrize("name, call, reference", REDUCTIONS, ids=[row[0] for row in REDUCTIONS])
@given(data=st.data())
def test_reductions(name, call, reference, data):
    x = data.draw(operands() if name.startswith("ag.") else tensor_operands())
    axis = data.draw(axis_values)
    keepdims = data.draw(fine(st.booleans()))
    check(call, lambda x, axis, keepdims: reference(x, axis=axis, keepdims=keepdims), [x, axis, keepdims])


SHAPE_OPS = [
    ("reshape", ag.reshape, np.reshape, shape_values),
    ("x.reshape", lambda x, s: x.reshape(s), np.reshape, shape_values),
    ("transpose", ag.transpose, np.transpose, st.one_of(fine(st.none()), axis_values)),
    ("expand_dims", ag.expand_dims, np.expand_dims, int_axis_values),
    ("squeeze", ag.squeeze, np.squeeze, axis_values),
    ("broadcast_to", ag.broadcast_to, np.broadcast_to, shape_values),
    ("getitem", operator.getitem, operator.getitem, index_values),
]


@pytest.mark.parametrize("name, call, reference, argument", SHAPE_OPS, ids=[row[0] for row in SHAPE_OPS])
@given(data=st.data())
def test_shape_ops(name, call, reference, argument, data):
    x = data.draw(operands() if name in ("reshape", "transpose", "squeeze") else tensor_operands())
    errors = (ValueError, TypeError, IndexError) if name == "getitem" else (ValueError, TypeError)
    check(call, reference, [x, data.draw(argument)], errors)


def test_swapaxes_and_expand_dims_name_the_axis():
    x = ag.tensor(np.ones((2, 3)), requires_grad=True)
    for call in (lambda: ag.swapaxes(x, 0, 5), lambda: ag.expand_dims(x, 5)):
        with pytest.raises(ValueError) as error:
            call()
        assert_speaks_user_language(error.value)


JOINS = [("concatenate", ag.concatenate, np.concatenate), ("stack", ag.stack, np.stack)]


@pytest.mark.parametrize("name, call, reference", JOINS, ids=[row[0] for row in JOINS])
@given(data=st.data())
def test_joins(name, call, reference, data):
    shape = data.draw(SHAPES)
    count = data.draw(st.integers(0, 3))
    parts = [data.draw(st.one_of(operands(shape), operands(), fine(tensors(shape)))) for _ in range(count)]
    sequence = ([value for value, _ in parts], any(is_junk for _, is_junk in parts))
    sequence = data.draw(st.one_of(st.just(sequence), not_a_sequence, fine(tensors())))
    no_axis = fine(st.none()) if name == "concatenate" else st.just((None, True))
    axis = data.draw(st.one_of(int_axis_values, no_axis))
    check(call, lambda tensors, axis: reference(tensors, axis=axis), [sequence, axis])


@given(data=st.data())
def test_where(data):
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3))
    condition_shape, a_shape, b_shape = shapes.input_shapes
    condition = data.draw(st.one_of(
        fine(hnp.arrays(np.bool_, condition_shape)), operands(condition_shape), junk))
    a = data.draw(operands(a_shape))
    b = data.draw(st.one_of(operands(b_shape), operands()))
    check(ag.where, np.where, [condition, a, b])


@given(data=st.data())
def test_clip(data):
    x = data.draw(operands())
    bounds = st.one_of(fine(st.none()), fine(st.floats(-3, 3)), fine(st.integers(-3, 3)),
                       operands().filter(lambda drawn: drawn[0] is not None), junk_but_none)
    low, high = data.draw(bounds), data.draw(bounds)
    check(ag.clip, np.clip, [x, low, high])


@given(data=st.data())
def test_tensor_constructor(data):
    values = data.draw(st.one_of(operands(), fine(numeric_arrays())))
    dtype = data.draw(st.one_of(
        fine(st.sampled_from([None, np.float32, np.float64, np.int64, np.bool_, "float32"])),
        st.sampled_from(["banana", object, str, np.complex128]).map(lambda v: (v, True))))
    requires_grad = data.draw(fine(st.booleans()))

    def reference(values, requires_grad, dtype):
        result = np.array(values, dtype=dtype)
        if requires_grad and result.dtype.kind != "f":
            raise TypeError("integer tensors cannot require grad")
        return result

    check(lambda v, r, d: ag.tensor(v, requires_grad=r, dtype=d), reference,
          [values, requires_grad, dtype])


@given(data=st.data())
def test_backward_with_a_hostile_gradient(data):
    x = ag.tensor(data.draw(numeric_arrays(dtypes=[np.float64, np.float32])), requires_grad=True)
    output = x * 2
    grad_shape = data.draw(st.one_of(st.just(x.shape), SHAPES))
    grad = data.draw(st.one_of(fine(st.none()), operands(grad_shape).filter(lambda d: d[0] is not None),
                               junk_but_none))
    value, is_junk = grad
    try:
        with no_hang():
            output.backward(value)
    except Hang:
        raise
    except RuntimeError as error:  # only for a missing gradient on a non-scalar output
        assert value is None and x.ndim > 0 and "scalar" in str(error), str(error)
        return
    except Exception as error:
        assert_speaks_user_language(error)
        return
    assert not is_junk, f"backward accepted the gradient {value!r:.80}"
    seed = np.ones(x.shape) if value is None else np.asarray(plain(value))
    assert seed.shape == x.shape, f"backward accepted a gradient of shape {seed.shape} for {x.shape}"
    assert x.grad.dtype == x.dtype and x.grad.shape == x.shape
    np.testing.assert_array_equal(x.grad, (2 * seed).astype(x.dtype))


@settings(max_examples=10)
@given(data=st.data())
def test_training_step_on_empty_batches(data):
    # N = 0: a mean loss is NaN (0/0) like NumPy and PyTorch, a sum loss is 0 with zero gradients.
    features = data.draw(st.integers(1, 3))
    w = ag.tensor(np.ones((features, 2)), requires_grad=True)
    batch = ag.tensor(np.ones((0, features)))
    scores = batch @ w
    assert scores.shape == (0, 2)
    total = ag.tanh(scores).sum()
    total.backward()
    assert total.item() == 0.0
    np.testing.assert_array_equal(w.grad, np.zeros((features, 2)))
    w.grad = None
    average = ((batch @ w) ** 2).mean()
    average.backward()
    assert np.isnan(average.item())
    assert w.grad.shape == w.shape


# ---------------------------------------------------------------------------
# Pinned cases: every problem the property tests above found, as one row each.
# (name, call, NumPy reference, [(argument, is_junk), ...])
# ---------------------------------------------------------------------------

def floats(*values, dtype=np.float64):
    return ag.tensor(np.array(values, dtype=dtype), requires_grad=True)


RAGGED = [[1.0, 2.0], [3.0]]
PINNED = [
    ("ragged list to a function", ag.exp, np.exp, [(RAGGED, True)]),
    ("ragged list as an operand", operator.add, np.add, [(floats(1.0), False), (RAGGED, True)]),
    ("ragged list to ag.tensor", ag.tensor, np.array, [(RAGGED, True)]),
    ("None to ag.tensor with a float dtype", lambda v: ag.tensor(v, dtype=np.float32),
     lambda v: np.array(v, dtype=np.float32), [(None, True)]),
    ("NaN into an integer tensor", lambda v: ag.tensor(v, dtype=np.int64),
     lambda v: np.array(v, dtype=np.int64), [([np.nan], False)]),
    ("comparison of shapes that do not broadcast", operator.lt, np.less,
     [(floats(1.0, 2.0), False), (floats(1.0, 2.0, 3.0), False)]),
    ("equality of shapes that do not broadcast", operator.eq, np.equal,
     [(floats(1.0, 2.0), False), (ag.tensor(np.zeros((0, 3))), False)]),
    ("string as the where condition", ag.where, np.where, [("a", True), (1.0, False), (2.0, False)]),
    ("None as the where condition", ag.where, np.where, [(None, True), (1.0, False), (2.0, False)]),
    ("where keeps a Python float weak against a float32 array", ag.where, np.where,
     [(np.array(False), False), (0.0, False), (np.zeros((), np.float32), False)]),
    ("dict as a clip bound", ag.clip, np.clip, [(floats(1.0), False), (None, False), ({}, True)]),
    ("list with None as a clip bound", ag.clip, np.clip,
     [(floats(1.0), False), ([1.0, None], True), (None, False)]),
    ("clip bound of a shape that does not broadcast", ag.clip, np.clip,
     [(floats(1.0, 2.0), False), (np.zeros(3), False), (None, False)]),
    ("clip of a bool tensor without bounds", ag.clip, np.clip,
     [(ag.tensor([True]), False), (None, False), (None, False)]),
    ("bytes as the tensors to concatenate", ag.concatenate, np.concatenate, [(b"xy", True)]),
    ("None as the tensors to concatenate", ag.concatenate, np.concatenate, [(None, True)]),
    ("stack along axis None", lambda ts, axis: ag.stack(ts, axis=axis),
     lambda ts, axis: np.stack(ts, axis=axis), [([floats(1.0)], False), (None, True)]),
    ("slice step zero", operator.getitem, operator.getitem, [(floats(1.0, 2.0), False), (slice(None, None, 0), False)]),
    ("sigmoid of a bool", ag.sigmoid, numpy_sigmoid, [(True, False)]),
    ("negating a bool tensor", operator.neg, np.negative, [(ag.tensor([True, False]), False)]),
    ("subtracting bool tensors", operator.sub, np.subtract,
     [(ag.tensor([True]), False), (ag.tensor([False]), False)]),
    ("integer tensor to a negative integer power", operator.pow, np.power,
     [(ag.tensor([1, 2]), False), (-1, False)]),
    ("integer tensor plus a huge Python int", operator.add, np.add,
     [(ag.tensor([1, 2]), False), (2 ** 70, False)]),
    ("string as a reshape shape", ag.reshape, np.reshape, [(floats(1.0), False), ("a", True)]),
    ("None as a reshape shape", lambda x, s: x.reshape(s), np.reshape, [(floats(1.0), False), (None, True)]),
    ("string as transpose axes", ag.transpose, np.transpose, [(floats(1.0, 2.0), False), ("ab", True)]),
    ("string as the squeeze axis", ag.squeeze, np.squeeze, [(floats(1.0), False), ("a", True)]),
    ("string as the expand_dims axis", ag.expand_dims, np.expand_dims, [(floats(1.0), False), ("a", True)]),
    ("float as the expand_dims axis", ag.expand_dims, np.expand_dims, [(floats(1.0), False), (1.5, True)]),
    ("string as a broadcast_to shape", ag.broadcast_to, np.broadcast_to, [(floats(1.0), False), ("a", True)]),
    ("string as the sum axis", lambda x, axis: x.sum(axis=axis), lambda x, axis: np.sum(x, axis=axis),
     [(floats(1.0), False), ("a", True)]),
    ("sum of an empty tensor, keepdims", lambda x: x.sum(keepdims=True),
     lambda x: np.sum(x, keepdims=True), [(ag.tensor(np.zeros(0), requires_grad=True), False)]),
    ("mean of an empty tensor, keepdims", lambda x: x.mean(axis=1, keepdims=True),
     lambda x: np.mean(x, axis=1, keepdims=True), [(ag.tensor(np.zeros((0, 3)), requires_grad=True), False)]),
    ("string as the backward gradient", lambda y, g: y.backward(g) or ag.tensor(0.0),
     lambda y, g: np.asarray(g, dtype=np.float64), [(floats(1.0) * 2, False), ("a", True)]),
]


@pytest.mark.parametrize("name, call, reference, drawn", PINNED, ids=[row[0] for row in PINNED])
def test_pinned_hostile_case(name, call, reference, drawn):
    errors = (ValueError, TypeError, IndexError) if call is operator.getitem else (ValueError, TypeError)
    check(call, reference, drawn, errors)


JOIN_AXIS_OUT_OF_RANGE = [
    ("stack", lambda: ag.stack([floats(1.0), floats(2.0)], axis=5)),
    ("concatenate", lambda: ag.concatenate([floats(1.0), floats(2.0)], axis=5)),
    ("concatenate 0-d", lambda: ag.concatenate([floats(1.0)[0], floats(2.0)[0]])),
]


@pytest.mark.parametrize("name, call", JOIN_AXIS_OUT_OF_RANGE, ids=[row[0] for row in JOIN_AXIS_OUT_OF_RANGE])
def test_join_errors_blame_the_axis_not_the_shapes(name, call):
    # the shapes agree; the message must say the axis is the problem
    with pytest.raises(ValueError) as error:
        call()
    assert_speaks_user_language(error.value)
    assert re.search(r"axis|dimension", str(error.value)) and re.search(
        r"out of (range|bounds)|0-d|zero-dimensional", str(error.value)), str(error.value)


# ---------------------------------------------------------------------------
# cross_entropy: hostile logits, targets, weights and options.
# ---------------------------------------------------------------------------

def numpy_cross_entropy(logits, target, weight=None, ignore_index=-100, reduction="mean",
                        label_smoothing=0.0, fused=True):
    """PyTorch's F.cross_entropy written in NumPy (float64), for comparison."""
    z = np.asarray(logits)
    if z.dtype.kind != "f" or z.ndim == 0 or not 0.0 <= label_smoothing <= 1.0:
        raise ValueError("bad logits or label_smoothing")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError("bad reduction")
    z = np.moveaxis(z.astype(np.float64), 0 if z.ndim == 1 else 1, -1)   # classes last
    classes = z.shape[-1]
    shift = z.max(axis=-1, keepdims=True) if z.size else 0.0
    shifted = z - np.where(np.isfinite(shift), shift, 0.0)   # an infinite logit is not shifted away
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    w = np.ones(classes) if weight is None else np.asarray(weight, dtype=np.float64)
    if w.shape != (classes,):
        raise ValueError("bad weight")
    target = np.asarray(target)
    eps = label_smoothing
    if target.dtype.kind == "f":
        if np.moveaxis(target, 0 if target.ndim == 1 else 1, -1).shape != z.shape:
            raise ValueError("bad target shape")
        y = np.moveaxis(target.astype(np.float64), 0 if target.ndim == 1 else 1, -1)
        y = y * (1 - eps) + eps / classes
        losses = -(w * y * log_p).sum(axis=-1)
        denominator = losses.size
    elif target.dtype.kind in "iu":
        if target.shape != z.shape[:-1]:
            raise ValueError("bad target shape")
        keep = target != ignore_index
        if np.any((target[keep] < 0) | (target[keep] >= classes)):
            raise ValueError("target out of range")
        safe = np.where(keep, target, 0)
        picked_w = np.where(keep, w[safe], 0.0)
        nll = np.where(keep, -picked_w * np.take_along_axis(log_p, safe[..., None], -1)[..., 0], 0.0)
        smooth = np.where(keep, -(w * log_p).sum(axis=-1), 0.0)
        losses = (1 - eps) * nll + eps / classes * smooth if eps else nll
        denominator = picked_w.sum()
    else:
        raise TypeError("bad target dtype")
    if reduction == "none":
        return losses.astype(logits.dtype)
    total = losses.sum()
    return np.asarray(total / denominator if reduction == "mean" else total, dtype=logits.dtype)


@given(data=st.data())
def test_cross_entropy(data):
    batch = data.draw(st.integers(0, 3), label="N")
    classes = data.draw(st.integers(1, 4), label="C")
    layout = data.draw(st.sampled_from(["(N, C)", "(C,)", "(N, C, d)"]))
    logits_shape = {"(N, C)": (batch, classes), "(C,)": (classes,), "(N, C, d)": (batch, classes, 2)}[layout]
    index_shape = {"(N, C)": (batch,), "(C,)": (), "(N, C, d)": (batch, 2)}[layout]
    logits = data.draw(st.one_of(
        fine(tensors(logits_shape, dtypes=[np.float64, np.float32])),
        fine(tensors(dtypes=[np.float64, np.int64])),          # a random, usually wrong, shape
        junk))
    target = data.draw(st.one_of(
        fine(hnp.arrays(np.int64, index_shape, elements=st.integers(-1, classes))),
        fine(hnp.arrays(np.int64, index_shape, elements=st.sampled_from([-100, 0]))),
        fine(hnp.arrays(np.float64, logits_shape, elements=st.floats(0, 1))),
        fine(numeric_arrays()),
        junk))
    weight = data.draw(st.one_of(
        fine(st.none()), fine(hnp.arrays(np.float64, classes, elements=st.floats(0, 2))),
        fine(numeric_arrays()), junk_but_none))
    reduction = data.draw(st.one_of(fine(st.sampled_from(["mean", "sum", "none"])),
                                    st.sampled_from(["banana", None, 1]).map(lambda v: (v, True))))
    smoothing = data.draw(st.one_of(fine(st.sampled_from([0.0, 0.1, 1.0])),
                                    fine(st.sampled_from([-0.5, 1.5, np.nan])),
                                    st.sampled_from(["a", None]).map(lambda v: (v, True))))
    fused = data.draw(fine(st.booleans()))

    def call(logits, target, weight, reduction, label_smoothing, fused):
        return ag.cross_entropy(logits, target, weight=weight, reduction=reduction,
                                label_smoothing=label_smoothing, fused=fused)

    def reference(logits, target, weight, reduction, label_smoothing, fused):
        if not isinstance(label_smoothing, float) or np.isnan(label_smoothing):
            raise ValueError("bad label_smoothing")
        return numpy_cross_entropy(logits, target, weight, -100, reduction, label_smoothing)

    check(call, reference, [logits, target, weight, reduction, smoothing, fused])
