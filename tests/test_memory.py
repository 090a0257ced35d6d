"""Memory: training does not leak, and a graph dies with its output (no cycles, no gc needed)."""

import gc
import tracemalloc
import weakref

import numpy as np
import pytest

import autograd as ag


@pytest.fixture
def gc_disabled():
    """Only reference counting may free memory inside the test: proves the graph has no cycles."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def make_model(rng):
    sizes = [(4, 16), (16, 16), (16, 1)]
    params = []
    for fan_in, fan_out in sizes:
        bound = 1 / np.sqrt(fan_in)
        params.append(ag.tensor(rng.uniform(-bound, bound, (fan_in, fan_out)), requires_grad=True))
        params.append(ag.tensor(np.zeros(fan_out), requires_grad=True))
    return params


def forward(params, inputs):
    h = inputs
    for i in range(0, len(params) - 2, 2):
        h = ag.tanh(h @ params[i] + params[i + 1])
    return h @ params[-2] + params[-1]


def sgd_step(params, inputs, targets, lr=0.05):
    loss = ((forward(params, inputs) - targets) ** 2).mean()
    loss.backward()
    for p in params:
        p.data -= lr * p.grad
        p.grad = None
    return loss.item()


def test_traced_memory_stays_flat_over_300_training_steps(gc_disabled):
    rng = np.random.default_rng(0)
    params = make_model(rng)
    inputs = rng.normal(size=(32, 4))
    targets = np.sin(inputs.sum(axis=1, keepdims=True))
    losses = []
    tracemalloc.start()
    try:
        for _ in range(200):
            losses.append(sgd_step(params, inputs, targets))
        after_200, _ = tracemalloc.get_traced_memory()
        for _ in range(100):
            losses.append(sgd_step(params, inputs, targets))
        after_300, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    growth = after_300 - after_200
    # One step allocates ~50 KB of activations and gradients; a leak of even one
    # activation per step would add > 100 * 4 KB. Allow a little interpreter noise.
    assert growth < 32 * 1024, f"traced memory grew by {growth} bytes over the last 100 steps"
    assert losses[-1] < losses[0]


def test_memory_is_flat_when_graphs_are_dropped_without_backward(gc_disabled):
    rng = np.random.default_rng(1)
    params = make_model(rng)
    inputs = rng.normal(size=(32, 4))
    tracemalloc.start()
    try:
        for _ in range(50):
            forward(params, inputs).sum()
        before, _ = tracemalloc.get_traced_memory()
        for _ in range(100):
            forward(params, inputs).sum()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert after - before < 32 * 1024, f"grew by {after - before} bytes"


def test_dropping_the_output_frees_the_graph_without_gc(gc_disabled):
    x = ag.tensor(np.ones((3, 4)), requires_grad=True)
    hidden = ag.tanh(x * 2)
    output = (hidden ** 2).sum()
    watch_hidden, watch_output = weakref.ref(hidden), weakref.ref(output)
    del hidden
    assert watch_hidden() is not None, "the output's graph must keep its intermediates alive"
    del output
    assert watch_output() is None
    assert watch_hidden() is None, "the graph outlived its output: a reference cycle?"
    assert x.grad is None and x.requires_grad        # the leaf itself is untouched


def test_backward_releases_intermediates_while_the_output_is_still_held(gc_disabled):
    x = ag.tensor(np.ones(5), requires_grad=True)
    hidden = ag.exp(x)
    output = (hidden * 3).sum()
    watch = weakref.ref(hidden)
    del hidden
    output.backward()
    assert watch() is None, "backward without retain_graph must release the saved values"
    np.testing.assert_allclose(x.grad, 3 * np.e * np.ones(5))


def test_retain_graph_keeps_intermediates_until_the_output_is_dropped(gc_disabled):
    x = ag.tensor(np.ones(5), requires_grad=True)
    hidden = ag.exp(x)
    output = (hidden * 3).sum()
    watch = weakref.ref(hidden)
    del hidden
    output.backward(retain_graph=True)
    assert watch() is not None
    del output
    assert watch() is None


def test_create_graph_gradients_do_not_leak_the_graph(gc_disabled):
    x = ag.tensor(np.array([0.5, 1.5]), requires_grad=True)
    y = (x ** 3).sum()
    watch = weakref.ref(y)
    (first,) = ag.tape.gradients(y, [x], create_graph=True)
    first.sum().backward()
    np.testing.assert_allclose(x.grad, 6 * x.data)
    del y, first
    assert watch() is None


def test_graph_objects_are_not_found_by_the_cycle_collector():
    # Build and drop many graphs with gc enabled: nothing should end up in a cycle.
    gc.collect()
    x = ag.tensor(np.ones(8), requires_grad=True)
    for _ in range(20):
        loss = ag.tanh(ag.exp(x) @ np.ones((8, 2))).sum()
        loss.backward()
        del loss
    for _ in range(20):
        ag.sigmoid(x[::2] * x[1::2]).sum()
    assert gc.collect() == 0
