"""linear_cross_entropy: equal to cross_entropy of the materialised logits, gradients
against finite differences and PyTorch, no (N, V) allocation, errors in the user's terms."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd as ag
from autograd.linear_ce import default_chunk_rows
from autograd.tape import gradients
from autograd.testing import gradcheck

REDUCTIONS = ("mean", "sum", "none")
TOLERANCE = {np.float32: dict(rtol=2e-4, atol=2e-5), np.float64: dict(rtol=1e-9, atol=1e-11)}


def make(rng, leading, features, classes, dtype, bias=True, ignored=0.0, weighted=False):
    """Inputs of one call: h (*leading, d), W (V, d), b (V,) or None, target, weight."""
    h = rng.standard_normal((*leading, features)).astype(dtype)
    matrix = (rng.standard_normal((classes, features)) / np.sqrt(features)).astype(dtype)
    b = rng.standard_normal(classes).astype(dtype) if bias else None
    target = rng.integers(0, classes, leading)
    if ignored:
        target[rng.random(leading) < ignored] = -100
    weight = rng.uniform(0.2, 2.0, classes).astype(dtype) if weighted else None
    return h, matrix, b, target, weight


def unfused(h, matrix, target, b=None, **options):
    """The reference: cross_entropy of the materialised logits, classes last."""
    logits = h @ matrix.T
    if b is not None:
        logits = logits + b
    classes = matrix.shape[0]
    loss = ag.cross_entropy(ag.reshape(logits, (-1, classes)), np.reshape(target, -1), **options)
    if options.get("reduction") == "none":
        loss = ag.reshape(loss, np.shape(target))
    return loss


def value_and_gradients(loss_fn, h, matrix, b, cotangent):
    tensors = [ag.tensor(h, requires_grad=True), ag.tensor(matrix, requires_grad=True)]
    if b is not None:
        tensors.append(ag.tensor(b, requires_grad=True))
    loss = loss_fn(*tensors)
    grads = gradients(loss, tensors, grad=None if loss.ndim == 0 else cotangent)
    return loss.data, grads


def assert_matches_unfused(h, matrix, b, target, options, chunk_size, seed=0):
    dtype = h.dtype.type
    cotangent = np.random.default_rng(seed).standard_normal(np.shape(target)).astype(dtype)

    def ours(x, w, *bias):
        return ag.linear_cross_entropy(x, w, target, *bias, chunk_size=chunk_size, **options)

    def reference(x, w, *bias):
        return unfused(x, w, target, *bias, **options)

    got_loss, got = value_and_gradients(ours, h, matrix, b, cotangent)
    want_loss, want = value_and_gradients(reference, h, matrix, b, cotangent)
    assert np.asarray(got_loss).dtype == h.dtype
    assert np.shape(got_loss) == np.shape(want_loss)
    np.testing.assert_allclose(got_loss, want_loss, **TOLERANCE[dtype], err_msg="loss")
    for name, g, w in zip(("input", "linear_weight", "linear_bias"), got, want):
        assert g.shape == w.shape and g.dtype == h.dtype, name
        np.testing.assert_allclose(g, w, **TOLERANCE[dtype], err_msg=f"gradient of {name}")


# ---------------------------------------------------------------------------
# Equal to the unfused loss: a table of options, then Hypothesis over all of them.
# ---------------------------------------------------------------------------

OPTION_TABLE = [
    dict(reduction=reduction, weight=weighted, label_smoothing=smoothing, ignored=ignored)
    for reduction in REDUCTIONS for weighted in (False, True)
    for smoothing in (0.0, 0.3) for ignored in (0.0, 0.4)
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("chunk_size", [1, 4, 5, 13, None])   # 13 rows: one block
@pytest.mark.parametrize("case", OPTION_TABLE,
                         ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_every_option_matches_unfused(case, chunk_size, dtype):
    rng = np.random.default_rng(7)
    h, matrix, b, target, weight = make(rng, (13,), 6, 11, dtype, ignored=case["ignored"],
                                        weighted=case["weight"])
    options = dict(reduction=case["reduction"], label_smoothing=case["label_smoothing"],
                   weight=weight)
    assert_matches_unfused(h, matrix, b, target, options, chunk_size)


@st.composite
def calls(draw):
    """Small shapes with 0-3 leading axes, every option, chunk sizes that do and do not
    divide the rows."""
    leading = tuple(draw(st.lists(st.integers(1, 4), min_size=0, max_size=3)))
    features = draw(st.integers(1, 5))
    classes = draw(st.integers(1, 9))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    bias = draw(st.booleans())
    ignored = draw(st.sampled_from([0.0, 0.5, 1.0]))
    weighted = draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    h, matrix, b, target, weight = make(np.random.default_rng(seed), leading, features,
                                        classes, dtype, bias, ignored, weighted)
    options = dict(reduction=draw(st.sampled_from(REDUCTIONS)), weight=weight,
                   label_smoothing=draw(st.sampled_from([0.0, 0.1, 1.0])),
                   ignore_index=-100)
    chunk_size = draw(st.one_of(st.none(), st.integers(1, 7)))
    return h, matrix, b, target, options, chunk_size


@given(calls())
def test_matches_unfused_for_drawn_calls(call):
    h, matrix, b, target, options, chunk_size = call
    assert_matches_unfused(h, matrix, b, target, options, chunk_size)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [60.0, 1e3, -1e3])
def test_extreme_logits_match_unfused(scale, dtype):
    """Logits far beyond exp's range in some blocks (the shifted path) and ordinary ones in
    others (exp taken as it is), with smoothing, weights and ignored rows."""
    rng = np.random.default_rng(int(abs(scale)))
    h, matrix, b, target, weight = make(rng, (12,), 4, 9, dtype, ignored=0.2, weighted=True)
    h[:5] *= scale
    options = dict(reduction="sum", label_smoothing=0.1, weight=weight)
    assert_matches_unfused(h, matrix, b, target, options, chunk_size=5)
    loss = ag.linear_cross_entropy(h, matrix, target, b, chunk_size=5, **options)
    assert np.isfinite(loss.item()) and loss.item() >= 0


def test_confident_rows_never_give_a_negative_loss():
    rng = np.random.default_rng(13)
    h = rng.standard_normal((64, 8)).astype(np.float32)
    matrix = rng.standard_normal((50, 8)).astype(np.float32)
    target = np.argmax(h @ matrix.T, axis=1)            # the most likely class: loss near 0
    losses = ag.linear_cross_entropy(h * 6, matrix, target, reduction="none", chunk_size=16)
    assert (losses.data >= 0).all()
    single = ag.linear_cross_entropy(h, matrix[:1], np.zeros(64, int), reduction="none")
    assert (single.data == 0).all()                       # one class: exactly log 1


def test_two_dimensional_input_is_cross_entropy_of_the_logits_itself():
    rng = np.random.default_rng(3)
    h, matrix, b, target, _ = make(rng, (9,), 4, 7, np.float64)
    ours = ag.linear_cross_entropy(h, matrix, target, b, chunk_size=2, reduction="none")
    want = ag.cross_entropy(h @ matrix.T + b, target, reduction="none")
    np.testing.assert_allclose(ours.data, want.data, rtol=1e-12)


def test_one_dimensional_input_has_a_0d_target():
    rng = np.random.default_rng(4)
    h, matrix, b, _, _ = make(rng, (), 4, 6, np.float64)
    for reduction in REDUCTIONS:
        loss = ag.linear_cross_entropy(h, matrix, np.array(5), b, reduction=reduction)
        want = ag.cross_entropy(h @ matrix.T + b, np.array(5), reduction=reduction)
        assert loss.shape == ()
        np.testing.assert_allclose(loss.data, want.data, rtol=1e-12)


def test_known_value_and_gradient():
    """Zero weights: every class equally likely, loss log V, dW[c] = mean_m (1/V - y) h_m."""
    h = ag.tensor([[1.0, 2.0], [3.0, -1.0]], requires_grad=True)
    matrix = ag.tensor(np.zeros((4, 2)), requires_grad=True)
    bias = ag.tensor(np.zeros(4), requires_grad=True)
    loss = ag.linear_cross_entropy(h, matrix, np.array([0, 2]), bias, chunk_size=1)
    loss.backward()
    assert loss.item() == pytest.approx(np.log(4))
    np.testing.assert_allclose(matrix.grad[0], (0.25 - 1) / 2 * np.array([1, 2])
                               + 0.25 / 2 * np.array([3, -1]))
    np.testing.assert_allclose(bias.grad, [-0.25, 0.25, -0.25, 0.25])
    np.testing.assert_allclose(h.grad, 0)   # W = 0: dh = (P - Y) W = 0


# ---------------------------------------------------------------------------
# Gradients: finite differences, PyTorch, second order.
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing, weighted", [(0.0, False), (0.2, True)])
def test_gradients_match_finite_differences(reduction, smoothing, weighted):
    rng = np.random.default_rng(11)
    h, matrix, b, target, weight = make(rng, (2, 3), 3, 5, np.float64, ignored=0.3,
                                        weighted=weighted)

    def loss(x, w, bias):
        return ag.linear_cross_entropy(x, w, target, bias, weight=weight, reduction=reduction,
                                       label_smoothing=smoothing, chunk_size=4)

    assert gradcheck(loss, h, matrix, b)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_matches_torch(reduction):
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    rng = np.random.default_rng(5)
    h, matrix, b, target, weight = make(rng, (3, 4), 6, 10, np.float64, ignored=0.25,
                                        weighted=True)
    options = dict(reduction=reduction, label_smoothing=0.1)
    x = ag.tensor(h, requires_grad=True)
    w = ag.tensor(matrix, requires_grad=True)
    bias = ag.tensor(b, requires_grad=True)
    loss = ag.linear_cross_entropy(x, w, target, bias, weight=weight, chunk_size=5, **options)
    cotangent = rng.standard_normal(loss.shape)
    loss.backward(cotangent if loss.ndim else None)

    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (h, matrix, b))
    logits = functional.linear(tx, tw, tb).reshape(-1, 10)
    tloss = functional.cross_entropy(logits, torch.tensor(target.reshape(-1)),
                                     weight=torch.tensor(weight), **options)
    if reduction == "none":
        tloss = tloss.reshape(target.shape)
    tloss.backward(torch.tensor(cotangent) if loss.ndim else None)
    np.testing.assert_allclose(loss.data, tloss.detach().numpy(), rtol=1e-10, atol=1e-12)
    for ours, theirs in ((x, tx), (w, tw), (bias, tb)):
        np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-9, atol=1e-12)
    # Without torch the same values are pinned by test_every_option_matches_unfused and
    # finite differences; here a finite difference keeps this test meaningful on its own.
    step = 1e-6
    bumped = matrix.copy()
    bumped[1, 2] += step
    lowered = matrix.copy()
    lowered[1, 2] -= step

    def scalar(m):
        value = ag.linear_cross_entropy(h, m, target, b, weight=weight, **options).data
        return float(np.sum(value * cotangent)) if reduction == "none" else float(value)

    numeric = (scalar(bumped) - scalar(lowered)) / (2 * step)
    assert w.grad[1, 2] == pytest.approx(numeric, rel=1e-5, abs=1e-8)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_second_order_matches_unfused(reduction):
    """Under create_graph the VJPs are recorded: a gradient of the gradient norm agrees."""
    rng = np.random.default_rng(8)
    h, matrix, b, target, weight = make(rng, (5,), 3, 4, np.float64, ignored=0.2, weighted=True)
    options = dict(weight=weight, reduction=reduction, label_smoothing=0.1)

    def outer(function):
        def f(x, w, bias):
            loss = function(x, w, target, bias, **options)
            if loss.ndim:
                loss = (loss * np.linspace(0.5, 1.5, loss.size).reshape(loss.shape)).sum()
            dx, dw, db = ag.grad(lambda a, c, e: f_inner(function, a, c, e), argnums=(0, 1, 2))(
                x, w, bias)
            return (dx * dx).sum() + (dw * dw).sum() + (db * db).sum() + loss
        return f

    def f_inner(function, x, w, bias):
        loss = function(x, w, target, bias, **options)
        if loss.ndim:
            loss = (loss * np.linspace(0.5, 1.5, loss.size).reshape(loss.shape)).sum()
        return loss

    ours = ag.grad(outer(lambda *a, **k: ag.linear_cross_entropy(*a, chunk_size=2, **k)),
                   argnums=(0, 1, 2))(h, matrix, b)
    want = ag.grad(outer(unfused), argnums=(0, 1, 2))(h, matrix, b)
    for got, expected in zip(ours, want):
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


def test_second_order_matches_finite_differences():
    rng = np.random.default_rng(9)
    h, matrix, b, target, _ = make(rng, (4,), 2, 3, np.float64)

    def first(x, w, bias):
        (dw,) = [ag.grad(lambda c: ag.linear_cross_entropy(x, c, target, bias), argnums=0)(w)]
        return dw

    assert gradcheck(first, h, matrix, b)


def test_only_the_inputs_that_require_grad_get_gradients():
    rng = np.random.default_rng(2)
    h, matrix, b, target, _ = make(rng, (6,), 3, 5, np.float64)
    w = ag.tensor(matrix, requires_grad=True)
    loss = ag.linear_cross_entropy(h, w, target, b, chunk_size=4)   # h, b: plain arrays
    loss.backward()
    want = ag.tensor(matrix, requires_grad=True)
    unfused(h, want, target, b).backward()
    np.testing.assert_allclose(w.grad, want.grad, rtol=1e-12)


def test_backward_twice_through_a_retained_graph():
    rng = np.random.default_rng(6)
    h, matrix, b, target, _ = make(rng, (7,), 3, 5, np.float64, ignored=0.3)
    x, w, bias = (ag.tensor(a, requires_grad=True) for a in (h, matrix, b))
    loss = ag.linear_cross_entropy(x, w, target, bias, chunk_size=3, label_smoothing=0.2)
    loss.backward(retain_graph=True)
    first = [x.grad.copy(), w.grad.copy(), bias.grad.copy()]
    loss.backward(np.float64(2.0))    # recomputed from the saved log-sum-exps, scaled by 2
    for tensor, once in zip((x, w, bias), first):
        np.testing.assert_allclose(tensor.grad, 3 * once, rtol=1e-12, atol=1e-15)


def test_no_rows_and_a_transposed_weight():
    rng = np.random.default_rng(12)
    matrix = np.asfortranarray(rng.standard_normal((5, 3)))     # a W.T-like layout
    for rows in (0, 4):
        h = rng.standard_normal((2, rows, 3))
        target = rng.integers(0, 5, (2, rows))
        for reduction in REDUCTIONS:
            assert_matches_unfused(h, matrix, None, target, dict(reduction=reduction), 3)
    x, w = ag.tensor(np.zeros((0, 3)), requires_grad=True), ag.tensor(matrix, requires_grad=True)
    ag.linear_cross_entropy(x, w, np.zeros(0, int), reduction="sum").backward()
    assert w.grad.shape == (5, 3) and not w.grad.any()


def test_mean_over_nothing_is_nan_with_zero_gradient():
    rng = np.random.default_rng(1)
    h, matrix, b, _, _ = make(rng, (4,), 3, 5, np.float64)
    x, w = ag.tensor(h, requires_grad=True), ag.tensor(matrix, requires_grad=True)
    loss = ag.linear_cross_entropy(x, w, np.full(4, -100), b)
    loss.backward()
    assert np.isnan(loss.item())
    assert not x.grad.any() and not w.grad.any()


def test_loss_only_without_grad_mode():
    rng = np.random.default_rng(1)
    h, matrix, b, target, _ = make(rng, (4,), 3, 5, np.float32)
    x = ag.tensor(h, requires_grad=True)
    with ag.no_grad():
        loss = ag.linear_cross_entropy(x, matrix, target, b)
    assert not loss.requires_grad and loss.dtype == np.float32
    np.testing.assert_allclose(loss.data, unfused(h, matrix, target, b).data, rtol=1e-5)


def test_inputs_are_not_modified():
    rng = np.random.default_rng(1)
    h, matrix, b, target, _ = make(rng, (6,), 3, 5, np.float64, ignored=0.3)
    copies = [a.copy() for a in (h, matrix, b, target)]
    x, w, bias = (ag.tensor(a, requires_grad=True) for a in (h, matrix, b))
    ag.linear_cross_entropy(x, w, target, bias, chunk_size=2).backward()
    for original, tensor in zip(copies, (x.data, w.data, bias.data, target)):
        np.testing.assert_array_equal(original, tensor)


# ---------------------------------------------------------------------------
# Memory: the (N, V) logits are never allocated.
# ---------------------------------------------------------------------------

def peak_traced_bytes(function):
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        result = function()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del result
    return peak - before


def test_forward_and_backward_never_hold_the_logits():
    rows, features, classes = 512, 16, 8192
    rng = np.random.default_rng(0)
    h, matrix, b, target, _ = make(rng, (rows,), features, classes, np.float64, ignored=0.1)
    logits_bytes = rows * classes * 8
    gradient_bytes = h.nbytes + matrix.nbytes + b.nbytes
    x, w, bias = (ag.tensor(a, requires_grad=True) for a in (h, matrix, b))

    def step(function):
        def run():
            x.grad = w.grad = bias.grad = None
            function(x, w, target, bias).backward()
            return x.grad, w.grad, bias.grad
        return run

    ours = peak_traced_bytes(step(lambda *a: ag.linear_cross_entropy(
        *a, label_smoothing=0.1, chunk_size=32)))
    materialised = peak_traced_bytes(step(lambda *a: unfused(*a, label_smoothing=0.1)))
    assert materialised > logits_bytes          # the measurement sees the logits when they exist
    # One block of 32 rows is 1/16 of the logits (2 MiB); the rest are temporaries of at
    # most 1 MiB each (a cache-sized piece of the block, the dW accumulation's buffer).
    assert ours - gradient_bytes < 0.2 * logits_bytes, (ours, logits_bytes)


def test_default_chunk_rows():
    assert default_chunk_rows(4096, 32768, 256, 4) == 256          # 32 MiB of logits
    assert default_chunk_rows(4096, 8192, 256, 4) == 1024
    assert default_chunk_rows(4096, 131072, 256, 4) == 256          # at least 256 rows
    assert default_chunk_rows(10, 5, 3, 8) == 10                    # never more than N
    for rows, classes, features in [(1, 1, 1), (4096, 262144, 4096), (7, 10**6, 1)]:
        assert 1 <= default_chunk_rows(rows, classes, features, 4) <= rows


# ---------------------------------------------------------------------------
# Errors in the user's terms.
# ---------------------------------------------------------------------------

def _call(h=None, w=None, t=None, b=None, **options):
    h = np.ones((4, 3)) if h is None else h
    w = np.ones((5, 3)) if w is None else w
    t = np.zeros(4, int) if t is None else t
    return ag.linear_cross_entropy(h, w, t, b, **options)


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(h=np.ones((4, 2))), ValueError, ["input", "(4, 2)", "d = 3"]),
    (dict(w=np.ones(3)), ValueError, ["linear_weight", "(V, d)"]),
    (dict(b=np.ones(4)), ValueError, ["linear_bias", "(5,)"]),
    (dict(t=np.zeros(3, int)), ValueError, ["target", "(3,)", "(4,)"]),
    (dict(t=np.full(4, 5)), ValueError, ["target[0] = 5", "V = 5"]),
    (dict(t=np.zeros(4)), TypeError, ["class indices", "cross_entropy"]),
    (dict(h=np.ones((4, 3), np.float32)), TypeError, ["float32", "float64", "one dtype"]),
    (dict(h=np.ones((4, 3), int)), TypeError, ["input", "float32 or float64", "int"]),
    (dict(h=np.float64(1)), ValueError, ["0-d", "(..., d)"]),
    (dict(reduction="avg"), ValueError, ["reduction", "'avg'"]),
    (dict(label_smoothing=1.5), ValueError, ["label_smoothing", "1.5"]),
    (dict(chunk_size=0), ValueError, ["chunk_size", "0"]),
    (dict(weight=np.ones(4)), ValueError, ["weight", "(5,)", "(4,)"]),
])
def test_errors_name_what_was_expected_and_given(kwargs, error, words):
    weight = kwargs.pop("weight", None)
    with pytest.raises(error) as info:
        _call(weight=weight, **kwargs)
    message = str(info.value)
    assert message.startswith("linear_cross_entropy:")
    for word in words:
        assert word in message, (word, message)


def test_a_target_that_requires_grad_is_refused():
    with pytest.raises(TypeError, match="detach"):
        _call(t=ag.tensor(np.zeros(4), requires_grad=True))


@settings(max_examples=10)
@given(st.integers(1, 6), st.integers(1, 6))
def test_float32_stays_float32(rows, classes):
    rng = np.random.default_rng(rows * 7 + classes)
    h, matrix, b, target, _ = make(rng, (rows,), 3, classes, np.float32)
    x, w, bias = (ag.tensor(a, requires_grad=True) for a in (h, matrix, b))
    loss = ag.linear_cross_entropy(x, w, target, bias, chunk_size=2)
    loss.backward()
    assert loss.dtype == np.float32
    assert {x.grad.dtype, w.grad.dtype, bias.grad.dtype} == {np.dtype(np.float32)}
    with ag.no_grad():
        wide = ag.linear_cross_entropy(h.astype(np.float64), matrix.astype(np.float64), target,
                                       b.astype(np.float64))
    assert loss.item() == pytest.approx(wide.item(), rel=1e-5)
