"""Regression tests for what adversarial testing found in the core (tape, Tensor, primitives).

Each test names the wrong result it pins down; every one of them failed before its fix.
"""

import gc
import threading
import warnings
import weakref

import numpy as np
import pytest
from hypothesis import given, strategies as st

import autograd as ag
from autograd.tape import gradients

INF = np.inf


def leaf(values, dtype=np.float64):
    return ag.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


def grad_of(function, values, dtype=np.float64):
    x = leaf(values, dtype)
    function(x).sum().backward()
    return x.grad


# ---------------------------------------------------------------------------
# Concurrent backward into one shared leaf.
# ---------------------------------------------------------------------------

def test_concurrent_backward_into_a_shared_parameter_loses_no_update():
    w = ag.tensor(np.ones(50_000), requires_grad=True)
    xs = np.linspace(0.5, 1.5, 50_000)
    threads, rounds = 4, 60
    start = threading.Barrier(threads)

    def work():
        start.wait()
        for _ in range(rounds):
            (w * xs).sum().backward()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    np.testing.assert_allclose(w.grad, threads * rounds * xs, rtol=1e-12)


# ---------------------------------------------------------------------------
# A cotangent that is infinite where the input is in a flat region.
# ---------------------------------------------------------------------------

FLAT_REGIONS = [
    # (name, function whose derivative is 0 at the first entry, values, expected gradient)
    ("relu", lambda x: ag.sqrt(ag.relu(x)), [-1.0, 4.0], [0.0, 0.25]),
    ("clip", lambda x: ag.sqrt(ag.clip(x, 0.0, 9.0)), [-1.0, 4.0, 16.0], [0.0, 0.25, 0.0]),
    ("clip, array bounds", lambda x: ag.sqrt(ag.clip(x, np.zeros(3), np.full(3, 9.0))),
     [-1.0, 4.0, 16.0], [0.0, 0.25, 0.0]),
    ("maximum", lambda x: ag.sqrt(ag.maximum(x, np.zeros(2))), [-1.0, 4.0], [0.0, 0.25]),
    ("minimum", lambda x: ag.sqrt(-ag.minimum(x, np.zeros(2))), [1.0, -4.0], [0.0, -0.25]),
    ("maximum, broadcast", lambda x: ag.sqrt(ag.maximum(x, 0.0)), [-1.0, 4.0], [0.0, 0.25]),
    ("max", lambda x: ag.sqrt(ag.max(x, axis=0, keepdims=True) - 2.0), [2.0, 1.0], [INF, 0.0]),
    ("min", lambda x: ag.sqrt(3.0 - ag.min(x, axis=0)), [3.0, 4.0], [-INF, 0.0]),
    ("abs at 0", lambda x: ag.sqrt(ag.abs(x)), [0.0, 4.0], [0.0, 0.25]),
    ("where", lambda x: ag.sqrt(ag.where(x > 0, x, 0.0)), [-1.0, 4.0], [0.0, 0.25]),
    ("x ** 0", lambda x: ag.sqrt(x ** 0 - 1.0) + x, [2.0, 3.0], [1.0, 1.0]),
]


@pytest.mark.parametrize("name, function, values, expected", FLAT_REGIONS,
                         ids=[row[0] for row in FLAT_REGIONS])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_an_infinite_cotangent_in_a_flat_region_gives_zero_not_nan(name, function, values,
                                                                     expected, dtype):
    with np.errstate(divide="ignore"):
        got = grad_of(function, values, dtype)
    np.testing.assert_array_equal(got, np.asarray(expected, dtype=dtype))


def test_flat_region_gradients_stay_differentiable_to_second_order():
    # d/dx sum(relu(x)^3) = 3 relu(x)^2; d2 = 6 relu(x): masks must still be recorded
    second = ag.grad(lambda x: ag.grad(lambda y: (ag.relu(y) ** 3).sum())(x).sum())
    np.testing.assert_allclose(second(np.array([-1.0, 2.0])).data, [0.0, 12.0])
    second = ag.grad(lambda x: ag.grad(lambda y: (ag.clip(y, 0.0, 1.0) ** 2).sum())(x).sum())
    np.testing.assert_allclose(second(np.array([-1.0, 0.5, 2.0])).data, [0.0, 2.0, 0.0])


def test_flat_region_matches_pytorch():
    torch = pytest.importorskip("torch")
    x = torch.tensor([-1.0, 4.0], dtype=torch.float64, requires_grad=True)
    torch.sqrt(torch.relu(x)).sum().backward()
    with np.errstate(divide="ignore"):  # sqrt'(0) = inf is the point of the test
        ours = grad_of(lambda t: ag.sqrt(ag.relu(t)), [-1.0, 4.0])
    np.testing.assert_array_equal(ours, x.grad.numpy())


# ---------------------------------------------------------------------------
# Writes through .data seen by every graph that saved a view of the same memory.
# ---------------------------------------------------------------------------

VIEWS = [
    ("reshape", lambda c: c.reshape(3)),
    ("slice", lambda c: c[0:3]),
    ("transpose", lambda c: c.T),
    ("expand_dims", lambda c: ag.expand_dims(c, 0)[0]),
    ("detach", lambda c: c.detach()),
    ("broadcast_to", lambda c: ag.broadcast_to(c, (2, 3))[1]),
]


@pytest.mark.parametrize("name, view", VIEWS, ids=[row[0] for row in VIEWS])
def test_a_write_to_data_invalidates_graphs_that_saved_a_view_of_it(name, view):
    c = ag.tensor([1.0, 2.0, 3.0])
    w = leaf([1.0, 1.0, 1.0])
    loss = (view(c) * w).sum()
    c.data += 1
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()


def test_a_write_to_a_detached_view_invalidates_the_original_graph():
    w = leaf([1.0, 2.0])
    loss = (w * w).sum()
    alias = w.detach()
    alias.data *= 3
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()


def test_writes_to_unrelated_memory_do_not_invalidate_a_graph():
    c = ag.tensor([1.0, 2.0, 3.0])
    other = ag.tensor([5.0, 5.0, 5.0])
    w = leaf([1.0, 1.0, 1.0])
    loss = (c.reshape(3) * w).sum()
    other.data += 1
    loss.backward()
    np.testing.assert_array_equal(w.grad, [1.0, 2.0, 3.0])


def test_rebinding_data_to_a_new_array_still_invalidates_the_graph():
    w = leaf([1.0, 2.0])
    loss = (w * w).sum()
    w.data = np.array([5.0, 5.0])
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()


# ---------------------------------------------------------------------------
# Index arrays are copied, as operand arrays are.
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("make_index", [
    lambda idx: idx, lambda idx: (idx,), lambda idx: (idx, slice(None)),
], ids=["array", "tuple", "tuple with slice"])
def test_a_later_write_to_the_index_array_does_not_change_the_gradient(make_index):
    x = leaf(np.arange(9.0).reshape(3, 3))
    idx = np.array([0, 0])
    out = x[make_index(idx)].sum()
    idx[:] = [1, 2]
    out.backward()
    expected = np.zeros((3, 3))
    expected[0] = 2.0
    np.testing.assert_array_equal(x.grad, expected)


def test_a_later_write_to_a_boolean_mask_does_not_change_the_gradient():
    x = leaf([1.0, 2.0, 3.0])
    mask = np.array([True, False, False])
    out = x[mask].sum()
    mask[:] = [False, True, True]
    out.backward()
    np.testing.assert_array_equal(x.grad, [1.0, 0.0, 0.0])


# ---------------------------------------------------------------------------
# float16 means over more elements than float16 can count.
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("axis", [None, 0])
def test_float16_mean_over_more_than_65504_elements(axis):
    x = ag.tensor(np.ones(70_000, np.float16), requires_grad=True)
    m = x.mean(axis=axis)
    assert m.dtype == np.float16
    assert m.item() == np.mean(np.ones(70_000, np.float16)) == 1.0
    m.backward()
    assert x.grad.dtype == np.float16
    # 1/70000 is subnormal in float16: the nearest float16 is what a float32 mean gives
    np.testing.assert_array_equal(x.grad, np.float16(np.float32(1) / np.float32(70_000)))


# ---------------------------------------------------------------------------
# np.matrix and masked arrays at the one door.
# ---------------------------------------------------------------------------

def test_matrix_operands_are_plain_arrays_elementwise():
    x = leaf(np.eye(2))
    with pytest.warns(PendingDeprecationWarning):  # NumPy discourages np.matrix; users have them
        m = np.matrix([[1.0, 2.0], [3.0, 4.0]])
    for out in (x * m, m * x):
        assert type(out.data) is np.ndarray
        np.testing.assert_array_equal(out.data, np.eye(2) * np.asarray(m))
    (x * m).sum().backward()
    np.testing.assert_array_equal(x.grad, np.asarray(m))
    assert type(ag.tensor(m).data) is np.ndarray


def test_masked_arrays_are_refused_with_a_clear_error():
    masked = np.ma.masked_array([1.0, 2.0], mask=[False, True])
    with pytest.raises(TypeError, match="masked array"):
        ag.tensor(masked)
    with pytest.raises(TypeError, match="masked array"):
        leaf([1.0, 2.0]) * masked


# ---------------------------------------------------------------------------
# tape.gradients walks through an input that depends on another input.
# ---------------------------------------------------------------------------

def test_gradients_with_respect_to_an_input_and_a_function_of_it():
    x = leaf(2.0)
    y = 3 * x
    out = x + 2 * y                   # d/dx = 1 + 2 * 3 = 7 through both paths; d/dy = 2
    dx, dy = gradients(out, [x, y])
    assert float(dx) == 7.0 and float(dy) == 2.0
    y = 3 * x
    dy, dx = gradients(3 * x + y * y, [y, x], retain_graph=True)
    assert float(dy) == 12.0 and float(dx) == 3.0 + 2 * 6.0 * 3


def test_gradients_through_a_chain_of_inputs_to_second_order():
    x = leaf(2.0)
    y = x * x
    z = y * x                         # x^3
    dx, dy, dz = gradients(z, [x, y, z], create_graph=True)
    assert float(dx.data) == 12.0 and float(dy.data) == 2.0 and float(dz.data) == 1.0
    (second,) = gradients(dx, [x])
    assert float(second) == 12.0      # d/dx 3x^2 = 6x


# ---------------------------------------------------------------------------
# Writing into a tensor through NumPy's out= and copyto.
# ---------------------------------------------------------------------------

def test_ufunc_out_into_a_tensor_is_refused():
    x = leaf([1.0, 2.0])
    saved = x * x
    with pytest.raises(TypeError, match="out="):
        np.add(np.ones(2), 1.0, out=x)
    with pytest.raises(TypeError, match="out="):
        np.multiply(x, 2.0, out=(x,))
    saved.sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])


def test_copyto_into_a_tensor_is_refused():
    x = leaf([1.0, 2.0])
    with pytest.raises(TypeError, match="copyto"):
        np.copyto(x, np.zeros(2))
    destination = np.zeros(2)
    np.copyto(destination, x)          # reading from a tensor is fine
    np.testing.assert_array_equal(destination, [1.0, 2.0])


# ---------------------------------------------------------------------------
# Joins with many inputs.
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("join", [ag.stack, ag.concatenate])
def test_join_of_many_inputs_has_correct_gradients(join):
    parts = [leaf([float(i), 1.0]) for i in range(3000)]
    out = join(parts)
    (out * out).sum().backward()
    for i, part in enumerate(parts[::97]):
        np.testing.assert_array_equal(part.grad, [2.0 * 97 * i, 2.0])


# ---------------------------------------------------------------------------
# Reductions of empty and 0-d tensors, as NumPy does them.
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("reduce", [ag.max, ag.min, ag.sum, ag.mean])
def test_reducing_an_empty_axis_of_a_non_empty_result_follows_numpy(reduce):
    x = ag.tensor(np.zeros((0, 3)), requires_grad=True)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = reduce(x, axis=1)
    assert out.shape == (0,)
    out.sum().backward()
    assert x.grad.shape == (0, 3)


@pytest.mark.parametrize("reduce", [ag.max, ag.min])
def test_reducing_to_something_from_nothing_is_an_error(reduce):
    with pytest.raises(ValueError, match="empty"):
        reduce(ag.tensor(np.zeros((0, 3))), axis=0)
    with pytest.raises(ValueError, match="empty"):
        reduce(ag.tensor(np.zeros((0, 3))))


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min"])
@pytest.mark.parametrize("axis", [0, -1, 1, (0,), (-1,), (), None])
def test_axes_of_a_0d_tensor_follow_numpy(name, axis):
    # NumPy takes axis 0 and -1 (ints, not tuples) on 0-d for sum/max/min, refuses them for mean.
    x = ag.tensor(3.0, requires_grad=True)
    try:
        expected = getattr(np, name)(np.array(3.0), axis=axis)
    except np.exceptions.AxisError:
        with pytest.raises(np.exceptions.AxisError, match=name):
            getattr(ag, name)(x, axis=axis)
        return
    out = getattr(ag, name)(x, axis=axis)
    assert out.shape == () and out.item() == expected
    out.backward()
    assert x.grad == 1.0


# ---------------------------------------------------------------------------
# create_graph leaves a documented cycle, which the collector frees.
# ---------------------------------------------------------------------------

def test_create_graph_cycle_is_documented_and_collected():
    assert "reference cycle" in ag.Tensor.backward.__doc__
    x = leaf([1.0, 2.0])
    (x ** 3).sum().backward(create_graph=True)
    probe = weakref.ref(x)
    del x
    gc.collect()
    assert probe() is None


# ---------------------------------------------------------------------------
# no_grad on generator functions.
# ---------------------------------------------------------------------------

def test_no_grad_decorator_covers_a_generator_body():
    w = leaf([1.0])

    @ag.no_grad()
    def outputs():
        for k in range(3):
            yield w * k

    produced = list(outputs())
    assert [t.requires_grad for t in produced] == [False, False, False]
    assert ag.is_grad_enabled()


def test_no_grad_generator_does_not_leak_its_mode_between_steps():
    w = leaf([1.0])

    @ag.no_grad()
    def gen():
        yield w * 2
        yield w * 3

    steps = gen()
    first = next(steps)
    assert ag.is_grad_enabled()        # the caller records between steps
    assert (w * 1).requires_grad
    second = next(steps)
    assert not first.requires_grad and not second.requires_grad

    @ag.enable_grad()
    def loud():
        yield w * 2

    with ag.no_grad():
        assert next(loud()).requires_grad


# ---------------------------------------------------------------------------
# Errors that say what happened.
# ---------------------------------------------------------------------------

def test_a_huge_python_int_says_it_does_not_fit():
    with pytest.raises((TypeError, ValueError), match="does not fit"):
        ag.tensor(2 ** 64)
    with pytest.raises((TypeError, ValueError), match="does not fit"):
        ag.tensor([1, 2 ** 70])


def test_numpy_spellings_on_tensors():
    x = leaf([-2.0, 0.5, 3.0])
    clipped = np.clip(x, min=-1.0, max=1.0)
    np.testing.assert_array_equal(clipped.data, [-1.0, 0.5, 1.0])
    clipped.sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 0.0])
    x32 = leaf([1.0, 2.0], np.float32)
    total = np.sum(x32, dtype=np.float64)
    assert total.dtype == np.float64 and total.item() == 3.0
    total.backward()
    assert x32.grad.dtype == np.float32
    assert np.mean(x32, dtype=np.float64).dtype == np.float64
    (indices,) = np.where(x > 0)
    np.testing.assert_array_equal(indices, [1, 2])
    with pytest.raises(TypeError, match="where="):
        np.add(x, 1.0, where=np.array([True, False, True]))


@pytest.mark.parametrize("function, name", [
    (np.linalg.eig, "np.linalg.eig"),       # (slogdet and cumsum have gradients)
    (np.fft.fft, "np.fft.fft"),
    (np.nancumsum, "np.nancumsum"),
])
def test_unsupported_functions_are_named_by_module(function, name):
    with pytest.raises(TypeError, match=name.replace(".", r"\.")):
        function(leaf(np.eye(2)))


def test_a_foreign_ufunc_is_not_called_numpys():
    foreign = np.frompyfunc(lambda v: v, 1, 1)   # a ufunc NumPy does not export
    with pytest.raises(TypeError) as error:
        foreign(leaf([1.0]))
    assert "np." not in str(error.value).split("(")[0]


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_an_assigned_grad_takes_the_tensors_dtype(dtype):
    w = leaf([1.0, 2.0], dtype)
    w.grad = np.array([1.0, 1.0])           # float64
    assert w.grad.dtype == dtype
    (w * w).sum().backward()
    assert w.grad.dtype == dtype
    np.testing.assert_array_equal(w.grad, np.array([3.0, 5.0], dtype))


def test_an_assigned_grad_of_the_wrong_shape_is_refused():
    w = leaf([1.0, 2.0])
    with pytest.raises(ValueError, match="shape"):
        w.grad = np.ones(3)
    w.grad = None
    assert w.grad is None


@given(st.lists(st.integers(-5, 5), min_size=1, max_size=6))
def test_getitem_with_an_index_list_accumulates_repeats(indices):
    x = leaf(np.arange(11.0))
    x[np.array(indices)].sum().backward()
    expected = np.zeros(11)
    np.add.at(expected, np.array(indices), 1.0)
    np.testing.assert_array_equal(x.grad, expected)


# ---------------------------------------------------------------------------
# A gradient adopted without a copy is never shared with anything else.
# ---------------------------------------------------------------------------

SHARING = [
    ("a + b", lambda a, b: a + b),
    ("a - b", lambda a, b: a - b),
    ("(a + b) reshaped", lambda a, b: (a + b).reshape(2, 3)),
    ("stack", lambda a, b: ag.stack([a, b])),
    ("concatenate", lambda a, b: ag.concatenate([a, b])),
    ("a + a + b", lambda a, b: a + a + b),
    ("where", lambda a, b: ag.where(np.array([True, False] * 3), a, b)),
    ("a * 1 + b.T.T", lambda a, b: a * 1.0 + b.T.T),
]


@pytest.mark.parametrize("name, function", SHARING, ids=[row[0] for row in SHARING])
@pytest.mark.parametrize("seeded", [False, True])
def test_adopted_gradients_share_memory_with_nothing(name, function, seeded):
    a, b = leaf(np.arange(6.0)), leaf(np.ones(6))
    out = function(a, b)
    seed = np.ones(out.shape) if seeded else None
    (out if seeded else out.sum()).backward(seed)
    others = [a.data, b.data] + ([seed] if seeded else [])
    assert not np.shares_memory(a.grad, b.grad)
    for grad in (a.grad, b.grad):
        assert grad.flags.writeable
        assert not any(np.shares_memory(grad, other) for other in others)
    before = b.grad.copy()
    a.grad += 1                                   # writing one gradient leaves the other alone
    np.testing.assert_array_equal(b.grad, before)


def test_an_empty_index_list_selects_nothing_as_in_numpy():
    x = leaf([1.0, 2.0])
    out = x[[]]
    assert out.shape == np.zeros(2)[[]].shape == (0,)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])


@pytest.mark.parametrize("call, named, suggested", [
    (lambda x: np.spacing(x), "np.spacing", None),               # nothing close: no suggestion
    (lambda x: np.nancumsum(x), "np.nancumsum", "ag.cumsum"),
    (lambda x: np.nanprod(x), "np.nanprod", "ag.prod"),
    (lambda x: np.linalg.eigvals(x), "np.linalg.eigvals", "ag.linalg.eigvalsh"),
])
def test_a_function_without_a_gradient_rule_suggests_the_nearest_supported_one(call, named,
                                                                              suggested):
    with pytest.raises(TypeError) as error:
        call(leaf(np.eye(2)))
    message = str(error.value)
    assert message.startswith(f"{named} has no gradient rule"), message
    if suggested is None:
        assert "nearest" not in message and "of that name" not in message, message
    else:
        assert f"nearest supported: {suggested}" in message, message
