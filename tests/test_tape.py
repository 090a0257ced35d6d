"""The tape: deep graphs, who owns the graph, retain_graph, grad accumulation, grad mode."""

import threading
import weakref

import numpy as np
import pytest

import autograd as ag
from autograd import tape


# ---------------------------------------------------------------------------
# Walking the tape.
# ---------------------------------------------------------------------------

def test_backward_through_a_100000_node_chain_does_not_recurse():
    x = ag.tensor(0.5, requires_grad=True)
    y = x
    for _ in range(50_000):
        y = y * 1.0 + 0.0  # two nodes per step
    y.backward()
    assert x.grad == 1.0


def test_backward_through_a_100000_node_chain_with_retain_graph_and_gradients():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = -y
    (g,) = tape.gradients(y.sum(), [x], retain_graph=True)
    np.testing.assert_array_equal(g, [1.0, 1.0])  # an even number of negations


def test_diamond_sums_both_paths_in_tape_order():
    x = ag.tensor(3.0, requires_grad=True)
    a = x * x          # 2x
    b = a.exp()        # e^(x^2) 2x
    c = a * 2          # 4x
    (b + c + a).backward()
    assert x.grad == pytest.approx(np.exp(9.0) * 6 + 12 + 6)


def test_sequence_numbers_follow_recording_order():
    x = ag.tensor(1.0, requires_grad=True)
    a = x * 2
    b = a + 1
    c = b.exp()
    assert a._seq < b._seq < c._seq


# ---------------------------------------------------------------------------
# Who owns the graph.
# ---------------------------------------------------------------------------

def test_graph_is_freed_after_backward():
    x = ag.tensor(np.ones(3), requires_grad=True)
    hidden = x * 2
    y = (hidden.exp() * 3).sum()
    hidden_ref = weakref.ref(hidden)
    del hidden
    y.backward()
    assert hidden_ref() is None, "backward should release the saved intermediates"
    assert y.requires_grad  # the output itself survives, only the graph behind it goes


def test_graph_is_freed_when_the_output_is_dropped():
    x = ag.tensor(np.ones(3), requires_grad=True)
    hidden = x.tanh()
    y = (hidden * hidden).sum()
    hidden_ref = weakref.ref(hidden)
    del hidden
    assert hidden_ref() is not None  # the output still holds it
    del y
    assert hidden_ref() is None, "dropping the output should free its graph"
    assert x.grad is None


def test_a_leaf_does_not_keep_the_graph_alive():
    x = ag.tensor(np.ones(3), requires_grad=True)
    y_ref = weakref.ref((x * 2).sum())
    assert y_ref() is None


# ---------------------------------------------------------------------------
# retain_graph.
# ---------------------------------------------------------------------------

def test_second_backward_without_retain_graph_is_an_error_naming_retain_graph():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])  # the failed call added nothing


def test_backward_through_a_shared_freed_subgraph_is_an_error():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    shared = x.exp()
    shared.sum().backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        (shared * 2).sum().backward()


def test_retain_graph_allows_backward_twice_and_accumulates():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward(retain_graph=True)
    np.testing.assert_array_equal(x.grad, [4.0, 8.0])
    y.backward()  # the last one may release
    np.testing.assert_array_equal(x.grad, [6.0, 12.0])


# ---------------------------------------------------------------------------
# .grad: leaves accumulate, others keep nothing.
# ---------------------------------------------------------------------------

def test_grad_accumulates_across_backward_calls_and_resets_with_none():
    x = ag.tensor([1.0, -1.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [5.0, 1.0])
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_grad_has_the_shape_and_dtype_of_its_tensor():
    x = ag.tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    b = ag.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    (x * b * 2.0).sum().backward()
    assert x.grad.shape == (2, 3) and x.grad.dtype == np.float32
    assert b.grad.shape == (3,) and b.grad.dtype == np.float32
    np.testing.assert_array_equal(b.grad, [4.0, 4.0, 4.0])


def test_non_leaf_grads_are_not_kept():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    hidden = x * 2
    hidden.sum().backward()
    assert hidden.grad is None
    assert x.grad is not None


def test_grad_is_not_shared_with_other_arrays():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    x.sum().backward()
    first = x.grad
    x.sum().backward()
    np.testing.assert_array_equal(first, [1.0, 1.0])  # accumulation made a new array or added in its own
    assert not np.shares_memory(x.grad, x.data)


def test_backward_with_an_explicit_gradient_for_a_non_scalar():
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).backward(np.array([1.0, 0.0, -1.0]))
    np.testing.assert_array_equal(x.grad, [2.0, 0.0, -6.0])


def test_gradients_do_not_touch_dot_grad():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    (g,) = tape.gradients((x * x).sum(), [x])
    np.testing.assert_array_equal(g, [2.0, 4.0])
    assert x.grad is None


def test_is_leaf():
    x = ag.tensor([1.0], requires_grad=True)
    constant = ag.tensor([1.0])
    assert x.is_leaf and constant.is_leaf
    y = x * 2
    assert not y.is_leaf
    assert (constant * 2).is_leaf  # nothing to record
    assert y.detach().is_leaf
    with ag.no_grad():
        assert (x * 2).is_leaf


# ---------------------------------------------------------------------------
# Grad mode.
# ---------------------------------------------------------------------------

def test_no_grad_stops_recording_and_restores_the_mode():
    x = ag.tensor([1.0], requires_grad=True)
    with ag.no_grad():
        assert not tape.is_grad_enabled()
        y = x * 2
        with ag.enable_grad():
            z = x * 2
    assert tape.is_grad_enabled()
    assert not y.requires_grad and z.requires_grad


def test_no_grad_as_a_decorator_and_on_exceptions():
    x = ag.tensor([1.0], requires_grad=True)

    @ag.no_grad()
    def double(value):
        return value * 2

    @ag.no_grad()
    def fail():
        raise KeyError("boom")

    assert not double(x).requires_grad
    assert double.__name__ == "double"
    with pytest.raises(KeyError):
        fail()
    assert tape.is_grad_enabled()
    assert (x * 2).requires_grad


def test_no_grad_is_thread_local():
    x = ag.tensor([1.0], requires_grad=True)
    inside, release = threading.Event(), threading.Event()
    seen = {}

    def hold_no_grad():
        with ag.no_grad():
            seen["worker_recorded"] = (x * 2).requires_grad
            inside.set()
            release.wait(10)

    worker = threading.Thread(target=hold_no_grad)
    worker.start()
    assert inside.wait(10)
    seen["main_recorded"] = (x * 2).requires_grad  # while the worker sits in no_grad
    release.set()
    worker.join(10)
    assert seen == {"worker_recorded": False, "main_recorded": True}


def test_a_new_thread_starts_with_grad_enabled_even_under_no_grad():
    x = ag.tensor([1.0], requires_grad=True)
    seen = []
    with ag.no_grad():
        worker = threading.Thread(target=lambda: seen.append((x * 2).requires_grad))
        worker.start()
        worker.join(10)
    assert seen == [True]
