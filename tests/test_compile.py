"""ag.compile: compiled == eager (loss and every .grad), guards, fallbacks, refusals."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, HealthCheck

import autograd as ag
from autograd.compiler import CompileWarning, compile

RTOL = 1e-12


def twin(build):
    """Two independent copies of what ``build()`` returns (same seed)."""
    ag.manual_seed(0)
    first = build()
    ag.manual_seed(0)
    second = build()
    return first, second


def assert_same(a, b, rtol=RTOL):
    a = a.data if isinstance(a, ag.Tensor) else a
    b = b.data if isinstance(b, ag.Tensor) else b
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=1e-14)


def assert_grads(params_a, params_b, rtol=RTOL):
    for p, q in zip(params_a, params_b):
        assert (p.grad is None) == (q.grad is None)
        if p.grad is not None:
            assert p.grad.dtype == q.grad.dtype and np.shape(p.grad) == np.shape(q.grad)
            assert_same(p.grad, q.grad, rtol)


def digits():
    rng = np.random.default_rng(1)
    return rng.standard_normal((64, 64)), rng.integers(0, 10, 64)


def test_digits_mlp_adam_matches_eager():
    def build():
        model = ag.nn.Sequential(ag.nn.Linear(64, 32), ag.nn.ReLU(), ag.nn.Linear(32, 10))
        return model, ag.optim.Adam(model.parameters(), lr=1e-2)

    (m1, o1), (m2, o2) = twin(build)
    X, y = digits()

    def step_for(model, opt):
        def step(xb, yb):
            opt.zero_grad()
            loss = ag.cross_entropy(model(ag.tensor(xb)), yb)
            loss.backward()
            return loss
        return step

    eager, compiled = step_for(m1, o1), compile(step_for(m2, o2))
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)
        for i in range(6):
            xb, yb = X[8 * i: 8 * i + 32], y[8 * i: 8 * i + 32]
            assert_same(eager(xb, yb), compiled(xb, yb))
            assert_grads(m1.parameters(), m2.parameters())
            o1.step()
            o2.step()
    assert compiled.stats["replayed"] >= 3
    assert "np.matmul" in compiled.code and "np.exp" in compiled.code
    # eager code still works on the same model afterwards (no traced array left in a cache)
    step_for(m2, o2)(X[:32], y[:32])
    step_for(m1, o1)(X[:32], y[:32])
    assert_grads(m1.parameters(), m2.parameters())
    import math
    from autograd import compiler
    assert math.isfinite is compiler._math_originals["isfinite"]


def test_float32_mlp_and_changed_batch_size_records_again():
    def build():
        return [ag.tensor(ag.randn(8, 5).data.astype(np.float32), requires_grad=True),
                ag.tensor(np.zeros(5, np.float32), requires_grad=True)]

    p1, p2 = twin(build)
    rng = np.random.default_rng(2)

    def step_for(params):
        w, b = params

        def step(x):
            for p in params:
                p.grad = None
            loss = ((ag.tensor(x) @ w + b).tanh() ** 2).mean()
            loss.backward()
            return loss
        return step

    eager, compiled = step_for(p1), compile(step_for(p2))
    for batch in (4, 4, 4, 7, 7, 4):
        x = rng.standard_normal((batch, 8)).astype(np.float32)
        assert_same(eager(x), compiled(x), 1e-6)
        assert_grads(p1, p2, 1e-6)
        assert p2[0].grad.dtype == np.float32
        for p, q in zip(p1, p2):
            p.data = p.data - 0.1 * p.grad
            q.data = q.data - 0.1 * q.grad
    # (first call, then the grads-not-None state once per shape: 4, 7)
    assert compiled.stats["recorded"] >= 3 and compiled.stats["replayed"] >= 2


def test_broadcasting_indexing_where_reductions():
    def build():
        return [ag.tensor(ag.randn(4, 3).data, requires_grad=True),
                ag.tensor(ag.randn(3).data, requires_grad=True)]

    p1, p2 = twin(build)
    idx = np.array([0, 2, 2, 3])

    def step_for(params):
        a, b = params

        def step(x):
            h = a * x[:, None] + b                      # broadcasting
            h = ag.where(h > 0, h, 0.1 * h)             # where on a comparison
            picked = h[idx, 1:]                         # fancy + slice indexing, repeats
            loss = picked.max(axis=0).sum() + (h ** 2).mean(axis=1).prod() + h.T[1].sum()
            loss.backward()                             # accumulates: no zero_grad
            return loss, h
        return step

    eager, compiled = step_for(p1), compile(step_for(p2))
    rng = np.random.default_rng(3)
    for i in range(5):
        x = rng.standard_normal(4)
        (l1, h1), (l2, h2) = eager(x), compiled(x)
        assert_same(l1, l2)
        assert_same(h1, h2)
        assert_grads(p1, p2)
        for p, q in zip(p1, p2):
            p.data -= 0.01 * p.grad                     # in place, between calls
            q.data -= 0.01 * q.grad
    assert compiled.stats["replayed"] >= 3


def test_value_and_grad_of_several_arguments():
    def f(w, b, x):
        return (ag.tanh(x @ w + b) ** 2).sum()

    vg = ag.value_and_grad(f, argnum=(0, 1))
    compiled = compile(vg)
    rng = np.random.default_rng(4)
    w, b = rng.standard_normal((3, 2)), rng.standard_normal(2)
    for i in range(4):
        x = rng.standard_normal((5, 3))
        (v1, (gw1, gb1)), (v2, (gw2, gb2)) = vg(w, b, x), compiled(w, b, x)
        assert_same(v1, v2)
        assert_same(gw1, gw2)
        assert_same(gb1, gb2)
        w, b = w - 0.1 * np.asarray(gw1), b - 0.1 * np.asarray(gb1)
    assert compiled.stats["replayed"] >= 2


def test_grads_accumulate_across_calls_and_fresh_after_zero_grad():
    w1, w2 = twin(lambda: ag.tensor([1.0, -2.0, 3.0], requires_grad=True))

    def step_for(w):
        def step(x):
            loss = (w * x).sum() ** 2
            loss.backward()
            return loss
        return step

    eager, compiled = step_for(w1), compile(step_for(w2))
    x = np.array([0.5, 1.5, -1.0])
    for i in range(3):
        assert_same(eager(x), compiled(x))
        assert_same(w1.grad, w2.grad)
    before = w2.grad
    w1.grad = w2.grad = None                               # fresh after zero_grad
    assert_same(eager(x), compiled(x))
    assert_same(w1.grad, w2.grad)
    assert w2.grad is not before
    assert_same(eager(x), compiled(x))
    assert_same(w1.grad, w2.grad)
    # the .grad handed out is never a buffer the next replay writes into
    kept = w2.grad.copy()
    held = w2.grad
    compiled(x)
    np.testing.assert_array_equal(held, kept)


def test_data_dependent_branch_is_a_guard():
    w = ag.tensor([1.0, 2.0], requires_grad=True)

    def step(x):
        w.grad = None
        y = (w * x).sum()
        if y > 0:                       # bool() of a traced value: a guard
            loss = y * 2
        else:
            loss = -y
        loss.backward()
        return loss

    compiled = compile(step)
    for x, want_grad in [([1.0, 1.0], [2.0, 2.0]), ([1.0, 1.0], [2.0, 2.0]),
                         ([-1.0, -1.0], [1.0, 1.0]), ([2.0, 0.0], [4.0, 0.0])]:
        loss = compiled(np.array(x))
        np.testing.assert_allclose(w.grad, want_grad)
        assert float(loss.data) == float(step(np.array(x)).data)
    assert compiled.stats["guard_misses"] >= 1
    assert "raise _GuardFailure" in compiled.code


def test_float_of_traced_value_is_guarded():
    w = ag.tensor([1.0, 2.0], requires_grad=True)

    def step(x):
        w.grad = None
        scale = float((w * x).sum().data)   # a Python number read from a traced value
        loss = (w * scale).sum()
        loss.backward()
        return loss

    compiled = compile(step)
    for x in ([1.0, 1.0], [1.0, 1.0], [3.0, 1.0]):
        loss = compiled(np.array(x))
        s = float(np.dot(w.data, x))
        np.testing.assert_allclose(w.grad, [s, s])
        np.testing.assert_allclose(float(loss.data), s * 3.0)


def test_value_escaping_the_trace_falls_back_with_a_warning():
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    sink = np.zeros(2)

    def step(x):
        w.grad = None
        y = w * x
        sink[:] = y.data          # a traced value copied into a plain array by NumPy
        loss = (y * ag.tensor(sink)).sum()
        loss.backward()
        return loss

    compiled = compile(step)
    with pytest.warns(CompileWarning, match="plain NumPy array"):
        compiled(np.array([1.0, 1.0]))
    loss = compiled(np.array([2.0, 3.0]))           # eager from now on: fresh values
    np.testing.assert_allclose(float(loss.data), 4.0 + 36.0)
    np.testing.assert_allclose(w.grad, [2.0 * 2, 3.0 * 6])  # sink is a constant copy
    assert w.grad is not None and compiled.stats["eager"] >= 1


def test_optimizer_step_inside_fn_is_refused():
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    opt = ag.optim.SGD([w], lr=0.1)

    def step(x):
        opt.zero_grad()
        loss = (w * x).sum()
        loss.backward()
        opt.step()
        return loss

    compiled = compile(step)
    with pytest.warns(CompileWarning, match=r"\.data"):
        compiled(np.array([1.0, 1.0]))
    np.testing.assert_allclose(w.data, [0.9, 1.9])   # one step, not two
    compiled(np.array([1.0, 1.0]))
    np.testing.assert_allclose(w.data, [0.8, 1.8])


def test_global_numpy_random_is_refused_and_generator_draws_are_redrawn():
    w = ag.tensor(np.ones(200), requires_grad=True)

    def legacy():
        w.grad = None
        (w * np.random.random(200)).sum().backward()

    with pytest.warns(CompileWarning, match="random"):
        compile(legacy)()

    def dropout_step():
        w.grad = None
        loss = ag.nn.functional.dropout(w, 0.5, training=True).sum()
        loss.backward()
        return loss

    compiled = compile(dropout_step)
    ag.manual_seed(5)
    eager_grads = []
    for i in range(3):
        dropout_step()
        eager_grads.append(w.grad.copy())
    ag.manual_seed(5)
    for i in range(3):
        compiled()
        np.testing.assert_array_equal(w.grad, eager_grads[i])   # same draws as eager
    assert not np.array_equal(eager_grads[1], eager_grads[2])
    assert compiled.stats["replayed"] >= 1 and "generator()" in compiled.code


def test_exception_during_recording_leaves_nothing_behind():
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    w.grad = np.array([5.0, 5.0])
    data = w.data

    def step(x, fail):
        loss = (w * x).sum()
        loss.backward()
        if fail:
            raise ValueError("boom")
        return loss

    compiled = compile(step)
    with ag.no_grad():
        pass
    with pytest.raises(ValueError, match="boom"):
        compiled(np.array([1.0, 1.0]), True)
    assert ag.is_grad_enabled()
    assert w.data is data and type(w.data) is np.ndarray
    np.testing.assert_array_equal(w.grad, [5.0, 5.0])
    assert type(w.grad) is np.ndarray
    from autograd import compiler
    assert all(getattr(np, name) is f for name, f in compiler._originals.items())
    assert compiled._last is None
    compiled(np.array([1.0, 1.0]), False)
    np.testing.assert_array_equal(w.grad, [6.0, 6.0])


def test_exception_under_no_grad_keeps_grad_mode():
    def step(x):
        with ag.no_grad():
            raise KeyError("inside")

    compiled = compile(step)
    with pytest.raises(KeyError):
        compiled(np.ones(2))
    assert ag.is_grad_enabled()


def test_second_order_through_nested_grad():
    def f(x):
        return (x ** 3).sum() + (x[0] * x[1]) ** 2

    d2 = ag.grad(lambda x: (ag.grad(f)(x) ** 2).sum())
    compiled = compile(d2)
    rng = np.random.default_rng(6)
    for i in range(3):
        x = rng.standard_normal(3)
        assert_same(d2(x), compiled(x))
    assert compiled.stats["replayed"] >= 1


def test_create_graph_grad_is_refused():
    w = ag.tensor([1.0, 2.0], requires_grad=True)

    def step():
        w.grad = None
        (w ** 3).sum().backward(create_graph=True)
        return w.grad

    with pytest.warns(CompileWarning, match="create_graph"):
        compile(step)()
    assert isinstance(w.grad, ag.Tensor)


def test_changed_requires_grad_records_again():
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    v = ag.tensor([3.0, 4.0], requires_grad=True)

    def step():
        for p in (w, v):
            p.grad = None
        loss = (w * v).sum()
        loss.backward()
        return loss

    compiled = compile(step)
    compiled()
    compiled()
    v.requires_grad_(False)
    compiled()
    assert v.grad is None
    np.testing.assert_allclose(w.grad, [3.0, 4.0])
    v.requires_grad_(True)
    compiled()
    np.testing.assert_allclose(v.grad, [1.0, 2.0])


def test_code_is_valid_python_with_the_expected_calls():
    x = ag.tensor(np.arange(4.0), requires_grad=True)

    def step():
        x.grad = None
        loss = (ag.exp(x) * 2 + 1).sum()
        loss.backward()
        return loss

    compiled = compile(step)
    with pytest.raises(RuntimeError, match="call the compiled function"):
        compiled.code
    compiled()
    code = compiled.code
    __builtins__  # noqa: B018
    compile_source = __import__("builtins").compile
    compile_source(code, "<code>", "exec")
    for call in ("np.exp", "np.multiply", "np.add", "._data", "._grad ="):
        assert call in code
    lines = [line for line in code.splitlines() if line.startswith("    v")]
    assert len(lines) >= 5


def test_outputs_are_fresh_arrays():
    w = ag.tensor([1.0, 2.0], requires_grad=True)

    def step():
        w.grad = None
        y = w * 3
        y.sum().backward()
        return y

    compiled = compile(step)
    first = compiled()
    kept = first.data.copy()
    w.data = np.array([5.0, 5.0])
    second = compiled()
    np.testing.assert_array_equal(first.data, kept)
    np.testing.assert_array_equal(second.data, [15.0, 15.0])


# -- random programs: compiled == eager ------------------------------------------------

from tests import test_random_programs as trp  # noqa: E402


@settings(deadline=None, suppress_health_check=list(HealthCheck))
@given(trp.programs("smooth"))
def test_random_programs_compiled_equal_eager(program):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        (t1, _), (t2, _) = program.leaves(np.float64), program.leaves(np.float64)

        def step_for(tensors):
            def step():
                loss = program.loss(program.run(list(tensors), np.float64), np.float64)
                loss.backward()
                return loss
            return step

        eager, compiled = step_for(t1), compile(step_for(t2))
        for i in range(4):
            with warnings.catch_warnings():
                warnings.simplefilter("error", CompileWarning)
                l2 = compiled()
            l1 = eager()
            np.testing.assert_allclose(np.asarray(l1.data), np.asarray(l2.data), rtol=1e-10,
                                       atol=1e-12, equal_nan=True)
            for a, b in zip(t1, t2):
                assert (a.grad is None) == (b.grad is None)
                if a.grad is not None:
                    np.testing.assert_allclose(a.grad, b.grad, rtol=1e-10, atol=1e-12,
                                               equal_nan=True)
            if i == 2:
                # the first call records with .grad None, the second with .grad set, the
                # third replays the same data
                assert compiled.stats["replayed"] >= 1
            for a, b in zip(t1, t2):
                if i >= 2:  # new values: a replay, or a guard that records again
                    a.data = a.data * 0.97 + 0.01
                    b.data = b.data * 0.97 + 0.01


def test_tensor_kept_outside_the_result_is_refused():
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    cache = []

    def step(x):
        w.grad = None
        h = w * x
        cache.append(h)          # a replay would not refresh it
        loss = h.sum()
        loss.backward()
        return loss

    compiled = compile(step)
    with pytest.warns(CompileWarning, match="keeps 1 tensor"):
        compiled(np.array([1.0, 1.0]))
    compiled(np.array([2.0, 3.0]))
    np.testing.assert_allclose(cache[-1].data, [2.0, 6.0])
    assert all(type(t.data) is np.ndarray for t in cache)


def test_tensor_argument_aliasing_a_closure_tensor_records_again():
    w = ag.tensor([1.0, 2.0], requires_grad=True)

    def step(a):
        loss = (a * w).sum()
        loss.backward()
        return loss

    other = ag.tensor([3.0, 4.0], requires_grad=True)
    compiled = compile(step)
    for _ in range(3):
        compiled(other)
    w.grad = other.grad = None
    compiled(w)                     # now the argument is w itself: d/dw (w*w).sum() = 2w
    np.testing.assert_allclose(w.grad, [2.0, 4.0])
    compiled(w)
    np.testing.assert_allclose(w.grad, [4.0, 8.0])


def test_same_tensor_twice_records_again():
    def step(a, b):
        loss = (a * b).sum()
        loss.backward()
        return loss

    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = ag.tensor([3.0, 4.0], requires_grad=True)
    compiled = compile(step)
    for _ in range(3):
        compiled(x, y)
    x.grad = None
    compiled(x, x)
    np.testing.assert_allclose(x.grad, [2.0, 4.0])


def test_unseeded_generator_inside_fn_is_refused():
    w = ag.tensor(np.ones(3), requires_grad=True)
    rng = np.random.default_rng(0)

    def step():
        w.grad = None
        (w * rng.standard_normal(3)).sum().backward()

    with pytest.warns(CompileWarning, match="random"):
        compile(step)()


def test_unseeded_generator_made_inside_fn_is_refused():
    w = ag.tensor(np.ones(3), requires_grad=True)

    def step():
        w.grad = None
        (w * np.random.default_rng().standard_normal(3)).sum().backward()

    with pytest.warns(CompileWarning, match="unseeded"):
        compile(step)()
    assert np.random.default_rng is not None and np.random.default_rng(0).integers(5) >= 0


def test_dropout_clip_grad_norm_and_guard_misses_draw_as_eager():
    # Dropout draws from the manual_seed generator; clip_grad_norm_ reads Python values of
    # the gradient norm (guards that miss, so some calls record again): a miss must not
    # make the compiled run draw different numbers than eager.
    def build():
        model = ag.nn.Sequential(ag.nn.Linear(8, 16), ag.nn.ReLU(), ag.nn.Dropout(0.3),
                                 ag.nn.Linear(16, 3))
        return model, ag.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    (m1, o1), (m2, o2) = twin(build)
    X, y = np.random.default_rng(0).standard_normal((20, 8)), np.arange(20) % 3

    def step_for(model, opt):
        def step(xb, yb):
            opt.zero_grad()
            loss = ag.cross_entropy(model(ag.tensor(xb)), yb)
            loss.backward()
            norm = ag.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
            return loss, norm
        return step

    eager, compiled = step_for(m1, o1), compile(step_for(m2, o2))
    ag.manual_seed(1)
    expected = []
    for _ in range(5):
        loss, norm = eager(X, y)
        expected.append((loss, norm, [p.grad.copy() for p in m1.parameters()]))
        o1.step()
    ag.manual_seed(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CompileWarning)  # a signature may go eager: fine
        for loss_e, norm_e, grads_e in expected:
            loss, norm = compiled(X, y)
            assert_same(loss, loss_e)
            assert_same(norm, norm_e)
            for p, g in zip(m2.parameters(), grads_e):
                assert_same(p.grad, g)
            o2.step()
    assert compiled.stats["replayed"] >= 1


def test_argument_layout_change_never_writes_into_the_argument():
    # Recorded with a strided argument (reshape copies), replayed with a contiguous one
    # (reshape is a view of it): no pass may take that buffer for its own.
    w = ag.tensor(np.arange(6.0), requires_grad=True)

    def step(x):
        w.grad = None
        flat = np.exp(np.reshape(x, -1))
        loss = (w * (flat + 1.0)).sum()
        loss.backward()
        return loss

    compiled = compile(step)
    strided = np.arange(12.0).reshape(2, 6)[:, ::2] / 10
    for _ in range(3):
        compiled(strided)
    contiguous = np.ascontiguousarray(strided) + 0.5
    kept = contiguous.copy()
    for _ in range(2):
        loss = compiled(contiguous)
        np.testing.assert_array_equal(contiguous, kept)
        np.testing.assert_allclose(w.grad, np.exp(kept.reshape(-1)) + 1.0)
        np.testing.assert_allclose(float(loss.data), w.data @ (np.exp(kept.reshape(-1)) + 1))
    assert compiled.stats["replayed"] >= 2


# -- rebinding: a replay never uses a tensor fn no longer reaches ---------------------------

def run_and_compare(compiled, eager, params_compiled, params_eager, inputs):
    """Each call of ``compiled`` equals ``eager``'s (loss and the .grad of every param)."""
    for x in inputs:
        assert_same(eager(x), compiled(x))
        assert_grads(params_eager(), params_compiled())


def test_rebinding_a_module_parameter_records_again():
    def build():
        return ag.nn.Sequential(ag.nn.Linear(3, 4), ag.nn.Tanh(), ag.nn.Linear(4, 2))

    m1, m2 = twin(build)

    def step_for(model):
        def step(x):
            for p in model.parameters():
                p.grad = None
            loss = (model(ag.tensor(x)) ** 2).sum()
            loss.backward()
            return loss
        return step

    eager, compiled = step_for(m1), compile(step_for(m2))
    xs = [np.full((5, 3), 0.1 * i) + np.eye(5, 3) for i in range(3)]
    run_and_compare(compiled, eager, m2.parameters, m1.parameters, xs)
    assert compiled.stats["replayed"] >= 1
    new = np.linspace(-1.0, 1.0, 8).reshape(m1[2].weight.shape)
    for model in (m1, m2):        # a new Tensor, same shape and dtype: not seen before
        model[2].weight = ag.tensor(new.copy(), requires_grad=True)
    recorded = compiled.stats["recorded"]
    run_and_compare(compiled, eager, m2.parameters, m1.parameters, xs)
    assert compiled.stats["recorded"] > recorded
    assert m2[2].weight.grad is not None


def test_replacing_a_module_in_a_module_list_records_again():
    def build():
        return ag.nn.ModuleList([ag.nn.Linear(3, 3) for _ in range(2)])

    l1, l2 = twin(build)

    def step_for(layers):
        def step(x):
            h = ag.tensor(x)
            for layer in layers:
                h = layer(h).tanh()
            loss = h.sum()
            loss.backward()
            return loss
        return step

    eager, compiled = step_for(l1), compile(step_for(l2))
    xs = [np.ones((2, 3)) * i for i in range(3)]
    run_and_compare(compiled, eager, l2.parameters, l1.parameters, xs)
    twins = twin(lambda: ag.nn.Linear(3, 3, bias=True))
    l1[1], l2[1] = twins
    run_and_compare(compiled, eager, l2.parameters, l1.parameters, xs)
    assert twins[1].weight.grad is not None
    # a module appended to the list fn iterates over: its parameters are read too
    extra = twin(lambda: ag.nn.Linear(3, 3))
    l1.append(extra[0])
    l2.append(extra[1])
    run_and_compare(compiled, eager, l2.parameters, l1.parameters, xs)
    assert extra[1].weight.grad is not None


def test_rebinding_a_closure_tensor_records_again():
    w = ag.tensor([1.0, 2.0], requires_grad=True)

    def step(x):
        loss = (x * w).sum()
        loss.backward()
        return loss

    compiled = compile(step)
    for _ in range(3):
        compiled(np.array([1.0, 1.0]))
    old = w
    w = ag.tensor([5.0, 7.0], requires_grad=True)  # the closure cell now holds a new tensor
    loss = compiled(np.array([1.0, 2.0]))
    assert float(loss.data) == 19.0
    np.testing.assert_allclose(w.grad, [1.0, 2.0])
    np.testing.assert_allclose(old.grad, [3.0, 3.0])   # the old one is left alone
    compiled(np.array([1.0, 2.0]))
    np.testing.assert_allclose(w.grad, [2.0, 4.0])


_GLOBAL_W = ag.tensor([1.0, 2.0], requires_grad=True)


def _global_step(x):
    loss = (x * _GLOBAL_W).sum()
    loss.backward()
    return loss


def _helper_scaled(x):
    return x * _GLOBAL_W


def _step_through_helper(x):
    loss = _helper_scaled(x).sum()
    loss.backward()
    return loss


@pytest.mark.parametrize("step", [_global_step, _step_through_helper],
                         ids=["read by fn", "read by a function fn calls"])
def test_rebinding_a_global_tensor_records_again(step):
    global _GLOBAL_W
    saved = _GLOBAL_W
    try:
        _GLOBAL_W = ag.tensor([1.0, 2.0], requires_grad=True)
        compiled = compile(step)
        for _ in range(3):
            compiled(np.array([1.0, 1.0]))
        _GLOBAL_W = ag.tensor([-1.0, 3.0], requires_grad=True)
        assert float(compiled(np.array([2.0, 1.0])).data) == 1.0
        np.testing.assert_allclose(_GLOBAL_W.grad, [2.0, 1.0])
        assert float(compiled(np.array([2.0, 1.0])).data) == 1.0
        np.testing.assert_allclose(_GLOBAL_W.grad, [4.0, 2.0])
    finally:
        _GLOBAL_W = saved


def test_rebinding_a_tensor_in_a_list_the_closure_holds_records_again():
    params = [ag.tensor([1.0, 2.0], requires_grad=True), ag.tensor(0.5, requires_grad=True)]
    state = {"scale": ag.tensor(2.0)}

    def step(x):
        w, b = params
        loss = ((x * w + b) * state["scale"]).sum()
        loss.backward()
        return loss

    compiled = compile(step)
    for _ in range(3):
        compiled(np.array([1.0, 1.0]))
    params[0] = ag.tensor([3.0, 4.0], requires_grad=True)
    assert float(compiled(np.array([1.0, 1.0])).data) == 16.0
    np.testing.assert_allclose(params[0].grad, [2.0, 2.0])
    state["scale"] = ag.tensor(1.0)     # a constant tensor in a dict, rebound
    assert float(compiled(np.array([1.0, 1.0])).data) == 8.0
    np.testing.assert_allclose(params[0].grad, [3.0, 3.0])


def test_rebinding_through_a_bound_method_and_a_default_argument_records_again():
    class Scaler:
        def __init__(self):
            self.w = ag.tensor([1.0, 2.0], requires_grad=True)

        def step(self, x, shift=ag.tensor(1.0)):
            loss = (x * self.w + shift).sum()
            loss.backward()
            return loss

    scaler = Scaler()
    compiled = compile(scaler.step)
    for _ in range(3):
        compiled(np.array([1.0, 1.0]))
    scaler.w = ag.tensor([2.0, 3.0], requires_grad=True)
    assert float(compiled(np.array([1.0, 1.0])).data) == 7.0
    np.testing.assert_allclose(scaler.w.grad, [1.0, 1.0])
    Scaler.step.__defaults__ = (ag.tensor(-1.0),)
    assert float(compiled(np.array([1.0, 1.0])).data) == 3.0
    assert compiled.stats["recorded"] == 4 and compiled.stats["replayed"] == 1


def test_the_reach_check_is_one_line_of_identity_tests():
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    layers = [w]

    def step(x):
        loss = (x * layers[0]).sum()
        loss.backward()
        return loss

    compiled = compile(step)
    compiled(np.array([1.0, 1.0]))
    check = next(line for line in compiled.code.splitlines() if "cell_contents" in line)
    assert " is not _t" in check and "len(" in check and check.strip().endswith("raise _Mismatch")


# -- the passes: each one switched off alone, compiled == eager -----------------------------

NEW_PASSES = ("checks", "reductions", "fold", "matmul_2d", "matmul_sum", "sparse_adds",
              "scalar_operands", "masked_fills", "finite_guards", "bool_masks",
              "transposed_operands", "late_guards", "transposed_products", "relu_masks",
              "dot_calls", "buffers", "one_hots", "aliases")


def attention_block():
    """A small block on (2, 5, 4) float64 inputs: linear layers over 3-d activations,
    causal attention, layer norm, cross-entropy. Returns (step, parameters)."""
    rng = np.random.default_rng(3)
    shapes = {"w_qkv": (4, 12), "b_qkv": (12,), "w_out": (4, 7), "b_out": (7,),
              "ln_w": (4,), "ln_b": (4,)}
    params = {k: ag.tensor(rng.standard_normal(s) * 0.5, requires_grad=True)
              for k, s in shapes.items()}
    x = ag.tensor(rng.standard_normal((2, 5, 4)), requires_grad=True)
    targets = rng.integers(0, 7, 10)
    F = ag.nn.functional

    def step():
        for t in (x, *params.values()):
            t.grad = None
        p = params
        h = F.layer_norm(x, (4,), p["ln_w"], p["ln_b"])
        q, k, v = (h @ p["w_qkv"] + p["b_qkv"]).reshape(2, 5, 3, 1, 4).transpose(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        y = x + a.transpose(0, 2, 1, 3).reshape(2, 5, 4)
        loss = ag.cross_entropy((y @ p["w_out"] + p["b_out"]).reshape(10, 7), targets)
        loss.backward()
        return (loss.data, x.grad, *(t.grad for t in params.values()))

    return step, [x, *params.values()]


@pytest.mark.parametrize("switched_off", [None, *NEW_PASSES, "all", "buffers everywhere"])
def test_each_pass_keeps_compiled_equal_to_eager(switched_off, monkeypatch):
    from autograd import compiler
    if switched_off == "buffers everywhere":  # every temporary in a buffer of its own or
        monkeypatch.setattr(compiler, "BUFFER_BYTES", 0)  # shared: lifetimes stress-tested
        monkeypatch.setitem(compiler.PASSES, "buffers", True)   # (off by default)
        switched_off = "none"
    for name in (NEW_PASSES if switched_off == "all" else
                 [switched_off] if switched_off not in (None, "none") else []):
        monkeypatch.setitem(compiler.PASSES, name, False)
    eager, _ = attention_block()
    step, params = attention_block()
    compiled = compile(step)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)
        for i in range(4):
            for got, want in zip(compiled(), eager()):
                assert_same(got, want, rtol=1e-11)
            for t in params:          # an optimizer step between calls
                t.data = t.data - 0.1 * t.grad
            _sgd(eager)
    assert compiled.stats["replayed"] >= 2 and compiled.stats["eager"] == 0
    code = compiled.code
    if switched_off is None:
        assert "reshape(-1, 4).T" in code           # matmul_sum: one GEMM for a weight's grad
        assert ", out=v" in code and "np.empty(" in code   # matmul_2d
        assert ".sum(" not in code                   # reductions
        assert "_part = " in code and "zeros_like" in code   # sparse_adds: one zero array
        # (the causal mask's folding and masked_fills: since ac5513e, attention adds a
        # cached 0/-inf mask instead of recording np.where; no np.where is left)
        assert "np.where(" not in code
    if switched_off == "matmul_sum":
        assert "reshape(-1, 4).T" not in code
    if switched_off == "none":
        assert "out=_p" in code


def test_a_program_with_buffers_replays_in_one_thread_at_a_time(monkeypatch):
    import threading
    from autograd import compiler
    monkeypatch.setattr(compiler, "BUFFER_BYTES", 0)
    monkeypatch.setitem(compiler.PASSES, "buffers", True)
    w = ag.tensor(np.linspace(-1.0, 1.0, 64).reshape(8, 8))

    def f(x):
        h = ag.tanh(x @ w)
        for _ in range(4):
            h = ag.tanh(h @ w) * x + h
        return (h * h).sum()

    compiled = compile(ag.value_and_grad(f))
    inputs = [np.full((4, 8), 0.1 * i) for i in range(8)]
    wants = [ag.value_and_grad(f)(x) for x in inputs]
    compiled(inputs[0])
    compiled(inputs[1])
    assert "out=_p" in compiled.code
    errors = []

    def worker(order):
        for _ in range(100):
            for i in order:
                value, grad = compiled(inputs[i])
                if not (np.allclose(value.data, wants[i][0].data, rtol=1e-12)
                        and np.allclose(grad, wants[i][1], rtol=1e-12)):
                    errors.append(i)

    threads = [threading.Thread(target=worker, args=(order,))
               for order in (list(range(8)), list(range(8))[::-1])]
    import sys
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switch inside replays (without the lock: wrong)
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors, errors
    assert compiled.stats["replayed"] >= 1000, compiled.stats


def _sgd(step):
    """The same update as the compiled side's, on the eager step's parameters."""
    x = step.__closure__[step.__code__.co_freevars.index("x")].cell_contents
    params = step.__closure__[step.__code__.co_freevars.index("params")].cell_contents
    for t in (x, *params.values()):
        t.data = t.data - 0.1 * t.grad


def test_folded_constants_are_never_handed_out():
    # d loss / d b is the backward's seed (ones): folded, so .grad must be a fresh copy
    x, w, b = (ag.tensor(np.arange(3.0) + i, requires_grad=True) for i in range(3))

    def step():
        x.grad = w.grad = b.grad = None
        loss = (x * w + b).sum()
        loss.backward()
        return loss

    compiled = compile(step)
    for _ in range(4):
        compiled()
        np.testing.assert_array_equal(b.grad, np.ones(3))
        b.grad *= 5.0               # the user scales it in place (clipping, say)
        np.testing.assert_allclose(w.grad, x.data)
    assert compiled.stats["replayed"] >= 2
    assert "_f" in compiled.code and "np.empty" not in compiled.code


def test_a_grad_fn_only_tests_for_none_is_still_checked():
    # fn never reads w.grad's value (it sets it to None), but branches on `is None`
    w = ag.tensor([1.0, 2.0], requires_grad=True)

    def step(x):
        fresh = w.grad is None
        w.grad = None
        loss = (x * w).sum() * (2.0 if fresh else 1.0)
        loss.backward()
        return loss

    compiled = compile(step)
    x = np.array([1.0, 1.0])
    assert [float(compiled(x).data) for _ in range(3)] == [6.0, 3.0, 3.0]
    assert "_grad is None" in compiled.code
    w.grad = None
    assert float(compiled(x).data) == 6.0
    np.testing.assert_allclose(w.grad, [2.0, 2.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_against_a_constant_zeros_array_is_eagers_relu(dtype):
    # scalar_operands: np.maximum(h, 0) becomes np.maximum(h, zeros): the same numbers,
    # NaN, infinities and signed zeros included
    w = ag.tensor(np.linspace(-1.0, 1.0, 12).reshape(3, 4).astype(dtype), requires_grad=True)

    def step(x):
        w.grad = None
        loss = ((x @ w).relu() * 2.0).sum()
        loss.backward()
        return (x @ w).relu()

    compiled = compile(step)
    special = np.array([[np.nan, -0.0, np.inf, -np.inf, 0.0, -1.0]], dtype).T
    for i in range(3):
        x = np.full((6, 3), 0.5 + i, dtype) * special[:, :1] if i == 2 else \
            np.arange(18, dtype=dtype).reshape(6, 3) - 8
        with np.errstate(invalid="ignore"):
            got, want = compiled(x), step(x)
        np.testing.assert_array_equal(np.signbit(got.data), np.signbit(want.data))
        np.testing.assert_array_equal(got.data, want.data)
    assert "_z" in compiled.code


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("passes_on", [True, False])
def test_relu_backward_guard_and_mask_passes_keep_eagers_gradient(dtype, passes_on, monkeypatch):
    # finite_guards: ReLU's backward tests its cotangent for inf/NaN (eager's _select) as
    # one dot with zeros; bool_masks: the product with the bool mask multiplies by the
    # mask cast to float. A cotangent with inf or NaN makes the guard fail (recorded
    # again: eager's np.where path), and every call gives eager's bits, signed zeros too.
    from autograd import compiler
    # late_guards: the test moved after the bias gradient, on the (32,) column sums.
    for name in ("finite_guards", "bool_masks", "late_guards"):
        monkeypatch.setitem(compiler.PASSES, name, passes_on)
    rng = np.random.default_rng(5)
    w = ag.tensor(rng.standard_normal((8, 32)).astype(dtype), requires_grad=True)
    bias = ag.tensor(rng.standard_normal(32).astype(dtype), requires_grad=True)

    def step(x, c):
        w.grad = bias.grad = None
        loss = ((x @ w + bias).relu() * c).sum()
        loss.backward()
        return loss.data, w.grad, bias.grad

    compiled = compile(step)
    x = ag.tensor(rng.standard_normal((40, 8)).astype(dtype), requires_grad=True)
    finite = rng.standard_normal((40, 32)).astype(dtype)
    with_inf, with_nan = finite.copy(), finite.copy()
    with_inf[3, 4] = np.inf
    with_nan[7, 1] = np.nan
    for c in (finite, finite, with_inf, with_nan, finite, finite):  # 2 guard misses
        with np.errstate(invalid="ignore"):
            x.grad = w.grad = bias.grad = None        # the state the recording saw
            got = compiled(x, ag.tensor(c))
            got_x = x.grad
            x.grad = None
            want = step(x, ag.tensor(c))
            want_x = x.grad
        for a, b in zip((*got, got_x), (*want, want_x)):
            np.testing.assert_array_equal(a, b)
            np.testing.assert_array_equal(np.signbit(a), np.signbit(b))
    assert compiled.stats["replayed"] >= 3 and compiled.stats["guard_misses"] >= 2
    code = compiled.code
    assert ("np.vdot(" in code) is passes_on and ("np.logical_and.reduce(" in code) is not passes_on
    assert (f".astype(np.{np.dtype(dtype).name})" in code) is passes_on
    late = re.search(r"(v\d+) = np\.(?:matmul|dot)\(_c\d+, v\d+\)\n +if not _isfinite\(np\.vdot\("
                     r"(v\d+), _z\d+\)\)", code)
    assert (late is not None and late.group(1) == late.group(2)) is passes_on


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemms_read_the_cross_entropys_transposed_gradient(dtype):
    # the lean cross-entropy's (C, M) buffer comes back as its rows-first .T view (no
    # copy, in eager as in the replay); the GEMMs of the layer below and the bias sum
    # read that view, with eager's bits
    (eager, eager_params), (step, params) = (small_classifier(dtype) for _ in range(2))
    compiled = compile(step)
    for _ in range(4):
        np.testing.assert_array_equal(compiled(), eager())
        for p, q in zip(params, eager_params):
            np.testing.assert_array_equal(p.grad, q.grad)
            p.data = p.data - 0.1 * p.grad
            q.data = q.data - 0.1 * q.grad
    assert compiled.stats["replayed"] >= 2
    code = compiled.code
    views = set(re.findall(r"(v\d+) = v\d+\.T\n", code))
    gemms = re.findall(r"= np\.(?:matmul|dot)\((v\d+), (v\d+)\)", code)
    assert any(name in views for pair in gemms for name in pair)
    sums = re.findall(r"np\.dot\(_c\d+, (v\d+)\)", code)      # dot_calls: the bias sums
    read = set(sums) & views                                  # one of them reads the view
    assert read and not re.search(r"(?:{})\.copy\(".format("|".join(read)), code)


def test_a_zero_d_finite_guard_is_a_math_isfinite():
    # the lean cross-entropy tests its row maxima with math.isfinite(sum): recorded as
    # np.isfinite(v), replayed as math.isfinite(v); an inf logit still fails the guard
    # (recorded again: the general path, which compile runs eagerly), with eager's results
    w = ag.tensor(np.linspace(-1.0, 1.0, 15).reshape(3, 5), requires_grad=True)
    labels = np.array([0, 4, 2, 1])

    def step(x):
        w.grad = None
        loss = ag.cross_entropy(x @ w, labels)
        loss.backward()
        return loss.data, w.grad

    compiled = compile(step)
    x = np.arange(12.0).reshape(4, 3) / 7
    bad = x.copy()
    bad[2, 1] = np.inf
    for _ in range(3):
        w.grad = None                    # the state the recording saw
        got = compiled(x)
        for a, b in zip(got, step(x)):
            np.testing.assert_array_equal(a, b)
    assert compiled.stats["replayed"] == 2
    assert "_isfinite(v" in compiled.code and "np.isfinite(" not in compiled.code
    w.grad = None
    with np.errstate(invalid="ignore"), pytest.warns(CompileWarning, match="eagerly"):
        got = compiled(bad)
    with np.errstate(invalid="ignore"):
        want = step(bad)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
    assert np.isnan(got[0]) and compiled.stats["guard_misses"] == 1


@pytest.mark.parametrize("char", "fd")
def test_a_dot_with_zeros_sees_every_inf_and_nan(char):
    # what finite_guards relies on: the BLAS behind NumPy does every product of the dot
    from autograd import compiler
    assert compiler._dot_sees_nonfinite(char)
    zeros = np.zeros(3000, char)
    for position in (0, 1, 17, 1499, 2999):
        for bad in (np.inf, -np.inf, np.nan):
            a = np.full(3000, 2.5, char)
            a[position] = bad
            assert np.isnan(np.vdot(a, zeros))
    assert np.vdot(np.full(3000, np.finfo(char).max, char), zeros) == 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transposed_products_only_where_the_bits_agree(dtype):
    # transposed_products on the lines the lean cross-entropy's classes-first copy of a
    # linear layer leaves: rewritten to w.T @ a.T + b[:, None] exactly when that gives the
    # bits of (a @ w + b).T on these values; the rewritten lines compute them
    from autograd import compiler
    rng = np.random.default_rng(4)
    a, w, b = (rng.standard_normal(s).astype(dtype) for s in ((128, 128), (128, 10), (10,)))
    lines = ["v8 = np.matmul(v6, v7)", "v9 = _t4._data", "v10 = np.add(v8, v9, out=v8)",
             "v11 = v10.T", "v12 = v11.copy()", "v13 = np.exp(v12)"]
    reals = {"v6": a, "v7": w, "v9": b, "v8": a @ w, "v10": a @ w, "v11": (a @ w).T,
             "v12": (a @ w).T.copy()}
    got = compiler._transposed_products(lines, reals)
    want = (a @ w + b).T
    flipped = np.matmul(w.T, a.T) + b[:, None]
    if np.array_equal(flipped, want):
        assert got == ["v9 = _t4._data",
                       "v12 = np.matmul(v7.T, v6.T); np.add(v12, v9[:, None], out=v12)",
                       "v13 = np.exp(v12)"]
        scope = {"np": np, "v6": a, "v7": w, "v9": b}
        exec(got[1], scope)
        np.testing.assert_array_equal(scope["v12"], want)
        assert scope["v12"].flags.c_contiguous
    else:
        assert got == lines
    # v10 read again later: not rewritten
    assert compiler._transposed_products(lines + ["v14 = np.sum(v10)"], reals)[:5] == lines[:5]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("on", [True, False])
def test_relu_mask_read_from_the_relus_output_is_eagers_mask(dtype, on, monkeypatch):
    # relu_masks: ReLU's backward mask np.greater(h, 0) becomes np.greater(relu(h), 0):
    # the same bools for NaN, +-0, +-inf, tiny and ordinary values, so h.grad keeps
    # eager's bits; the ReLU then writes into h's dying buffer
    from autograd import compiler
    monkeypatch.setitem(compiler.PASSES, "relu_masks", on)
    special = np.array([np.nan, -0.0, 0.0, np.inf, -np.inf, 1e-45, -1e-45, 2.5, -3.0],
                       dtype)
    h = ag.tensor(np.resize(special, (6, 9)), requires_grad=True)
    w = ag.tensor(np.linspace(-1.0, 2.0, 9).astype(dtype), requires_grad=True)
    c = np.linspace(0.5, 1.5, 54).reshape(6, 9).astype(dtype)

    def step():
        h.grad = w.grad = None
        pre = h * w                       # a new buffer, dying at the ReLU
        loss = (pre.relu() * c).sum()
        loss.backward()
        return loss.data, h.grad, w.grad

    compiled = compile(step)
    with np.errstate(invalid="ignore"):
        want = [g.copy() for g in step()]
        for _ in range(3):
            got = compiled()
            for a, b in zip(got, want):
                np.testing.assert_array_equal(a, b)
                np.testing.assert_array_equal(np.signbit(a), np.signbit(b))
    assert compiled.stats["replayed"] == 2
    relu = re.search(r"(v\d+) = np\.maximum\((v\d+), _z\d+(, out=v\d+)?\)", compiled.code)
    mask = re.search(r"= np\.greater\((v\d+), 0\)", compiled.code)
    assert relu and mask and (mask.group(1) == relu.group(1)) is on
    assert bool(relu.group(3)) is on       # reuse: the ReLU writes into h * w's buffer
    # np.maximum of two arrays is not a ReLU (a Hypothesis example once crashed the pass)
    from autograd.compiler import _relu_masks
    lines = ["v3 = np.maximum(v2, v2)", "v4 = np.greater(v2, 0)"]
    assert _relu_masks(lines, {"v2": np.ones(3), "v3": np.ones(3)}, {}) == lines


def test_a_numpy_call_writing_with_out_is_kept():
    # np.take(..., out=buf) and a.sum(out=...) write into buffers of the program: their
    # results are not read, but the writes are (dead-code elimination must keep them)
    w = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)

    def step(idx):
        buf = np.zeros_like(w.data)
        np.take(w.data, idx, out=buf)
        again = np.zeros_like(w.data)
        np.take(w.data, idx, None, again)   # out by position
        buf = buf + 0.5 * again
        total = np.zeros_like(w.data, shape=())
        (buf * np.array([1.0, 10.0, 100.0])).sum(out=total)
        return total

    compiled = compile(step)
    for idx in ([2, 0, 1], [1, 2, 0], [0, 0, 1], [2, 2, 2]):
        assert float(compiled(np.array(idx))) == float(step(np.array(idx)))
    assert compiled.stats["replayed"] >= 3


def small_classifier(dtype, rows=32, classes=4, seed=2):
    """The README's MLP shape in small: (step, parameters) of a ReLU layer, a linear layer
    and cross-entropy over ``classes`` (repeated labels: 4 classes for 32 rows)."""
    rng = np.random.default_rng(seed)
    shapes = [(6, 16), (16,), (16, classes), (classes,)]
    params = [ag.tensor(rng.standard_normal(s).astype(dtype) * 0.5, requires_grad=True)
              for s in shapes]
    x = ag.tensor(rng.standard_normal((rows, 6)).astype(dtype))
    labels = rng.integers(0, classes, rows)

    def step():
        for t in params:
            t.grad = None
        w1, b1, w2, b2 = params
        loss = ag.cross_entropy((x @ w1 + b1).relu() @ w2 + b2, labels)
        loss.backward()
        return loss.data

    return step, params


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows, classes", [(32, 4), (128, 10), (200, 30)])
@pytest.mark.parametrize("on", [True, False])
def test_one_hots_subtract_a_constant_one_hot_with_eagers_bits(dtype, rows, classes, on,
                                                               monkeypatch):
    # one_hots: the lean cross-entropy's p - y (gather the targets' entries, subtract
    # 1/N, scatter them back) becomes one subtraction of a constant (C*M,) array that is
    # 1/N at the targets and 0 elsewhere, when C*M <= ONE_HOT_SIZE; bit for bit
    from autograd import compiler
    monkeypatch.setitem(compiler.PASSES, "one_hots", on)
    (eager, eager_params), (step, params) = (small_classifier(dtype, rows, classes)
                                             for _ in range(2))
    compiled = compile(step)
    for _ in range(3):
        np.testing.assert_array_equal(compiled(), eager())
        for p, q in zip(params, eager_params):
            np.testing.assert_array_equal(p.grad, q.grad)
            p.data = p.data - 0.1 * p.grad
            q.data = q.data - 0.1 * q.grad
    assert compiled.stats["replayed"] >= 1
    dense = on and rows * classes <= compiler.ONE_HOT_SIZE
    assert bool(re.search(r"np\.subtract\((v\d+), _c\d+, out=\(\1,\)\)", compiled.code)) is dense
    assert bool(re.search(r"v\d+\[_c\d+\] = v\d+", compiled.code)) is not dense


def test_one_hots_constant_holds_each_target_once():
    # the dense constant is built by assignment, so a class index given twice (many rows
    # of one class, in the flat classes-first layout: distinct positions) and the exact
    # 1/N land where eager's scatter puts them
    from autograd import compiler
    rng = np.random.default_rng(0)
    buffer = rng.random(12).astype(np.float32)
    index = np.array([3, 7, 3, 0])
    namespace = {"_c0": index}
    lines = ["v2 = v1[_c0]", "np.subtract(v2, 0.25, out=(v2,))", "v1[_c0] = v2"]
    out = compiler._dense_one_hots(lines, {"v1": buffer}, namespace)
    assert len(out) == 1
    scope = {"np": np, **namespace, "v1": buffer.copy()}
    exec(out[0], scope)
    want = buffer.copy()
    part = want[index]
    np.subtract(part, 0.25, out=(part,))
    want[index] = part
    np.testing.assert_array_equal(scope["v1"], want)


def test_aliases_leave_no_renaming_lines():
    # aliases: ``vB = vA`` (a cotangent adopted as .grad) goes; .grad reads vA itself
    step, params = small_classifier(np.float32)
    compiled = compile(step)
    compiled()
    assert not re.search(r"^ +v\d+ = v\d+$", compiled.code, re.M)
    assert re.search(r"_t\d+\._grad = v\d+", compiled.code)
