"""In-place mutation guard: changing an array that backward needs is an error, not a wrong gradient.

The contract (PyTorch's version-counter semantics): if a tensor saved for backward has
its ``.data`` reassigned or updated with an augmented assignment (``x.data += 1``,
``x.data = x.data + 1``, what optimizers do) before backward runs, backward raises
``RuntimeError`` naming the op and saying "modified in place". Updating leaf parameters
*after* backward keeps working, and so does a parameter update between
``backward(retain_graph=True)`` and a fresh forward pass.

Not tracked, as with PyTorch's ``.data`` and ``.numpy()``: writes *into* the array
(``x.data[0] = 5``, ``x.data[...] = v``, through ``x.numpy()`` or ``x.detach().data``).
Catching those would need read-only saved arrays, which would break the optimizer
update after ``backward(retain_graph=True)`` that the contract above keeps working.
"""

import numpy as np
import pytest

import autograd as ag
from autograd.tape import gradients


def leaf(values):
    return ag.tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


def assert_names_op(error, *op_names):
    message = str(error.value)
    assert "modified in place" in message, message
    assert any(name in message for name in op_names), f"expected one of {op_names} in: {message}"


# Each row: how to mutate a leaf that the op saved for backward. The forward is
# `op(x, w)`; the op's VJP for the other input reads the mutated array.
def add_one_in_place(t):
    t.data += 1


def rebind_data(t):
    t.data = t.data + 1


MUTATIONS = [add_one_in_place, rebind_data]

# (op name in the message, forward with x and w leaves; the VJP of x reads w or x)
SAVING_OPS = [
    ("mul", lambda x, w: (x * w).sum(), "w"),
    ("div", lambda x, w: (x / w).sum(), "w"),
    ("matmul", lambda x, w: (x @ w).sum(), "w"),
    ("log", lambda x, w: ag.log(x).sum(), "x"),
    ("pow", lambda x, w: (x ** 3).sum(), "x"),
    ("maximum", lambda x, w: ag.maximum(x, w).sum(), "w"),
]


@pytest.mark.parametrize("mutate", MUTATIONS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("op_name, forward, mutated", SAVING_OPS, ids=[row[0] for row in SAVING_OPS])
def test_backward_after_mutating_a_saved_leaf_raises(op_name, forward, mutated, mutate):
    x = leaf([1.0, 2.0, 3.0])
    w = leaf([0.5, 1.5, 2.5])
    loss = forward(x, w)
    mutate(x if mutated == "x" else w)
    with pytest.raises(RuntimeError) as error:
        loss.backward()
    assert_names_op(error, op_name)


@pytest.mark.parametrize("mutate", MUTATIONS, ids=lambda m: m.__name__)
def test_mutating_a_saved_intermediate_raises(mutate):
    # exp saves its output; mul saves both inputs. Changing y breaks either gradient.
    x = leaf([0.1, 0.2, 0.3])
    y = ag.exp(x)
    loss = (y * y).sum()
    mutate(y)
    with pytest.raises(RuntimeError) as error:
        loss.backward()
    assert_names_op(error, "exp", "mul")


def test_mutating_a_saved_output_raises():
    # sqrt's VJP reads its own output: g / (2 sqrt x)
    x = leaf([4.0, 9.0])
    root = ag.sqrt(x)
    loss = root.sum()
    root.data *= 10
    with pytest.raises(RuntimeError) as error:
        loss.backward()
    assert_names_op(error, "sqrt", "sum")   # sum recorded root as its input


def test_mutation_is_caught_by_functional_gradients_too():
    x = leaf([1.0, 2.0])
    w = leaf([3.0, 4.0])
    loss = (x * w).sum()
    w.data += 100.0
    with pytest.raises(RuntimeError) as error:
        gradients(loss, [x])
    assert_names_op(error, "mul")


def test_mutation_deep_in_a_long_chain_is_caught():
    x = leaf([0.5, 0.25])
    w = leaf([2.0, 2.0])
    h = x * w                       # the mul that saves w is the first node of the tape
    for _ in range(50):
        h = ag.tanh(h) + 0.1
    loss = h.sum()
    w.data += 1
    with pytest.raises(RuntimeError) as error:
        loss.backward()
    assert_names_op(error, "mul")


def test_mutation_is_caught_in_a_second_order_graph():
    x = leaf([1.0, 2.0])
    (first,) = gradients((x ** 3).sum(), [x], create_graph=True)   # 3 x^2, recorded
    x.data += 1
    with pytest.raises(RuntimeError) as error:
        first.sum().backward()
    assert_names_op(error, "pow", "mul")


# --- no false alarms ---------------------------------------------------------

def test_reading_data_is_not_a_mutation():
    x = leaf([1.0, 2.0, 3.0])
    w = leaf([4.0, 5.0, 6.0])
    loss = (x * w).sum()
    _ = x.data.sum(), w.data[0], np.asarray(w), w.numpy(), repr(w), w.detach(), w.shape
    x.grad = None
    loss.backward()
    np.testing.assert_array_equal(x.grad, [4.0, 5.0, 6.0])
    np.testing.assert_array_equal(w.grad, [1.0, 2.0, 3.0])


def test_mutating_the_source_array_does_not_reach_the_tape():
    # ag.tensor copies its input, so the caller's array is not saved for backward.
    source = np.array([1.0, 2.0, 3.0])
    w = ag.tensor(source, requires_grad=True)
    x = leaf([1.0, 1.0, 1.0])
    loss = (x * w).sum()
    source += 100
    loss.backward()
    np.testing.assert_array_equal(x.grad, [1.0, 2.0, 3.0])


def test_ndarray_operand_mutated_after_forward_never_gives_a_silently_wrong_gradient():
    # A plain ndarray mixed into an op is saved for backward too. Changing it
    # afterwards must either be caught, or not matter (the op kept its own copy);
    # a gradient computed from the new values would be silently wrong.
    weights = np.array([1.0, 2.0, 3.0])
    x = leaf([1.0, 1.0, 1.0])
    loss = (x * weights).sum()
    weights[:] = [7.0, 8.0, 9.0]
    try:
        loss.backward()
    except RuntimeError as error:
        assert "modified in place" in str(error)
    else:
        np.testing.assert_array_equal(x.grad, [1.0, 2.0, 3.0])


def test_rebinding_a_python_name_is_not_a_mutation():
    x = leaf([1.0, 2.0])
    y = x * 3
    y += 1                          # Tensor has no __iadd__: a new tensor, the graph is intact
    y = y * x
    y.sum().backward()
    np.testing.assert_allclose(x.grad, 6 * np.array([1.0, 2.0]) + 1)


def test_mutating_a_tensor_the_graph_does_not_save_is_harmless_after_backward():
    x = leaf([1.0, 2.0])
    w = leaf([3.0, 4.0])
    loss = (x * w).sum()
    loss.backward()
    w.data += 1                     # after backward: the saved values were already used
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


# --- optimizer-style updates ------------------------------------------------------

def train_steps(parameters, inputs, targets, steps, lr=0.1):
    losses = []
    w, b = parameters
    for _ in range(steps):
        prediction = ag.tanh(inputs @ w + b)
        loss = ((prediction - targets) ** 2).mean()
        loss.backward()
        losses.append(loss.item())
        for p in parameters:
            p.data -= lr * p.grad
            p.grad = None
    return losses


def test_sgd_updates_after_backward_keep_working():
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(16, 3))
    targets = np.tanh(inputs @ np.array([[0.5], [-1.0], [0.25]]))
    w = ag.tensor(rng.normal(size=(3, 1)) * 0.1, requires_grad=True)
    b = ag.tensor(np.zeros(1), requires_grad=True)
    losses = train_steps([w, b], inputs, targets, steps=60)
    assert losses[-1] < 0.1 * losses[0]


def test_in_place_update_after_backward_gives_the_same_gradient_as_a_fresh_copy():
    rng = np.random.default_rng(1)
    inputs = rng.normal(size=(8, 3))
    targets = rng.normal(size=(8, 1))
    w = ag.tensor(rng.normal(size=(3, 1)), requires_grad=True)
    b = ag.tensor(np.ones(1), requires_grad=True)
    train_steps([w, b], inputs, targets, steps=3)
    # compare the next gradient with the one of fresh leaves holding the same values
    fresh_w, fresh_b = ag.tensor(w.data.copy(), requires_grad=True), ag.tensor(b.data.copy(), requires_grad=True)
    for p_w, p_b in [(w, b), (fresh_w, fresh_b)]:
        ((ag.tanh(inputs @ p_w + p_b) - targets) ** 2).mean().backward()
    np.testing.assert_array_equal(w.grad, fresh_w.grad)
    np.testing.assert_array_equal(b.grad, fresh_b.grad)


def test_retain_graph_then_update_then_fresh_forward_works():
    w = leaf([1.0, -2.0])
    x = np.array([3.0, 4.0])
    loss = ((x * w) ** 2).sum()
    loss.backward(retain_graph=True)
    np.testing.assert_allclose(w.grad, 2 * x * x * np.array([1.0, -2.0]))
    w.data -= 0.01 * w.grad
    w.grad = None
    fresh = ((x * w) ** 2).sum()
    fresh.backward()
    np.testing.assert_allclose(w.grad, 2 * x * x * w.data)


def test_retained_graph_is_stale_after_a_parameter_update():
    # The first graph saved the old w; running it again would mix old and new values.
    w = leaf([1.0, -2.0])
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    w.data -= 0.1 * w.grad
    with pytest.raises(RuntimeError) as error:
        loss.backward()
    assert_names_op(error, "mul")


def test_retain_graph_without_mutation_backward_twice_accumulates():
    w = leaf([1.0, 2.0])
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_array_equal(w.grad, 4 * np.array([1.0, 2.0]))


def test_no_grad_update_on_leaves_used_by_no_live_graph_is_fine():
    w = leaf([1.0, 2.0])
    with ag.no_grad():
        w.data -= 1
        unrecorded = w * 2          # nothing recorded: nothing can go stale
    unrecorded.data += 1
    assert not unrecorded.requires_grad
    (w * w).sum().backward()
    np.testing.assert_array_equal(w.grad, [0.0, 2.0])


# --- gradients are private arrays ---------------------------------------------

GRADIENT_PATHS = [
    ("add", lambda a, b: a + b),
    ("broadcast add", lambda a, b: a + b.reshape(1, 2)),
    ("reshape", lambda a, b: a.reshape(1, 2) * 1.0 + b.reshape(1, 2)),
    ("transpose", lambda a, b: (a.reshape(2, 1) + b.reshape(2, 1)).T),
    ("getitem", lambda a, b: a[::1] + b[:]),
]


@pytest.mark.parametrize("name, forward", GRADIENT_PATHS, ids=[row[0] for row in GRADIENT_PATHS])
def test_gradients_share_memory_with_neither_the_seed_nor_each_other(name, forward):
    # .grad is written in place by users (p.grad *= 0.5); it must not alias anything.
    a = leaf([1.0, 2.0])
    b = leaf([3.0, 4.0])
    out = forward(a, b)
    seed = np.ones(out.shape)
    out.backward(seed)
    assert not np.shares_memory(a.grad, b.grad)
    assert not np.shares_memory(a.grad, seed) and not np.shares_memory(b.grad, seed)
    seed[...] = 100.0
    a.grad *= 0
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])
