"""Threads: grad mode is per thread, and concurrent graphs get the same gradients as a sequential run."""

import threading

import numpy as np

import autograd as ag
from autograd.tape import is_grad_enabled

TIMEOUT = 60  # seconds; a generous bound so a deadlock fails instead of hanging the suite


def run_threads(targets):
    threads = [threading.Thread(target=target) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a thread did not finish"


def test_no_grad_in_one_thread_does_not_turn_off_recording_in_another():
    inside_no_grad = threading.Event()
    other_done = threading.Event()
    seen = {}

    def quiet():
        with ag.no_grad():
            inside_no_grad.set()
            other_done.wait(TIMEOUT)
            x = ag.tensor([1.0], requires_grad=True)
            seen["quiet enabled"] = is_grad_enabled()
            seen["quiet recorded"] = (x * 2).requires_grad

    def loud():
        inside_no_grad.wait(TIMEOUT)      # the other thread is inside no_grad right now
        x = ag.tensor([1.0], requires_grad=True)
        seen["loud enabled"] = is_grad_enabled()
        seen["loud recorded"] = (x * 2).requires_grad
        other_done.set()

    run_threads([quiet, loud])
    assert seen == {"quiet enabled": False, "quiet recorded": False,
                    "loud enabled": True, "loud recorded": True}


def test_a_new_thread_starts_with_grad_enabled_even_if_its_parent_is_in_no_grad():
    seen = []
    with ag.no_grad():
        run_threads([lambda: seen.append(is_grad_enabled())])
        assert not is_grad_enabled()
    assert seen == [True]
    assert is_grad_enabled()


def test_no_grad_decorator_restores_each_threads_own_mode():
    @ag.no_grad()
    def predict(x):
        return x * 2

    barrier = threading.Barrier(4, timeout=TIMEOUT)
    seen = []
    lock = threading.Lock()

    def worker(start_disabled):
        context = ag.no_grad() if start_disabled else ag.enable_grad()
        with context:
            barrier.wait()
            for _ in range(200):
                predict(ag.tensor([1.0], requires_grad=True))
            with lock:
                seen.append((start_disabled, is_grad_enabled()))

    run_threads([lambda flag=flag: worker(flag) for flag in (True, False, True, False)])
    assert sorted(seen) == [(False, True), (False, True), (True, False), (True, False)]


def model_gradients(seed, steps=20, barrier=None):
    """Forward + backward of a small two-layer model; returns the gradients of each step."""
    rng = np.random.default_rng(seed)
    inputs = rng.normal(size=(8, 5))
    targets = rng.normal(size=(8, 2))
    w1 = ag.tensor(rng.normal(size=(5, 6)), requires_grad=True)
    w2 = ag.tensor(rng.normal(size=(6, 2)), requires_grad=True)
    history = []
    for _ in range(steps):
        if barrier is None:
            hidden = ag.tanh(inputs @ w1)
        elif seed % 2:
            with ag.no_grad():           # odd threads sit in no_grad while the even ones record
                barrier.wait()
                barrier.wait()
            hidden = ag.tanh(inputs @ w1)
        else:
            barrier.wait()
            hidden = ag.tanh(inputs @ w1)
            barrier.wait()
        loss = ((hidden @ w2 - targets) ** 2).mean() + 0.01 * (w1 * w1).sum()
        loss.backward()
        history.append((loss.item(), w1.grad.copy(), w2.grad.copy()))
        for p in (w1, w2):
            p.data -= 0.1 * p.grad
            p.grad = None
    return history


def test_concurrent_training_gives_the_same_gradients_as_a_sequential_run():
    seeds = [0, 1, 2, 3, 4, 5]
    expected = {seed: model_gradients(seed) for seed in seeds}
    barrier = threading.Barrier(len(seeds), timeout=TIMEOUT)
    results, errors = {}, []

    def worker(seed):
        try:
            results[seed] = model_gradients(seed, barrier=barrier)
        except BaseException as error:  # surfaced below: a thread's exception is otherwise lost
            errors.append(error)
            barrier.abort()

    run_threads([lambda seed=seed: worker(seed) for seed in seeds])
    assert not errors, errors
    for seed in seeds:
        for (loss, g1, g2), (expected_loss, e1, e2) in zip(results[seed], expected[seed], strict=True):
            assert loss == expected_loss
            np.testing.assert_array_equal(g1, e1)
            np.testing.assert_array_equal(g2, e2)


def test_threads_sharing_a_leaf_each_get_the_gradient_of_their_own_graph():
    # One shared leaf, a separate graph per thread; gradients() leaves .grad alone.
    shared = ag.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    count = 8
    barrier = threading.Barrier(count, timeout=TIMEOUT)
    lock = threading.Lock()
    gradients = []

    def worker(k):
        barrier.wait()
        loss = (shared * shared * k).sum()
        (grad,) = ag.tape.gradients(loss, [shared])
        with lock:
            gradients.append((k, grad))

    run_threads([lambda k=k: worker(k) for k in range(1, count + 1)])
    assert sorted(k for k, _ in gradients) == list(range(1, count + 1))
    for k, grad in gradients:
        np.testing.assert_array_equal(grad, 2 * k * shared.data)
