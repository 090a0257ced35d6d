"""cross_entropy: PyTorch's semantics, fused == composed, gradients, edge cases, errors."""

from __future__ import annotations

import math
import tracemalloc
from dataclasses import dataclass, field

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag
from autograd.tape import gradients
from autograd.testing import gradcheck
from autograd.testing import strategies as ags

REDUCTIONS = ("mean", "sum", "none")
TOLERANCE = {np.float32: dict(rtol=2e-4, atol=2e-5), np.float64: dict(rtol=1e-10, atol=1e-12)}


@dataclass
class Case:
    """One call of cross_entropy: logits, target and every option."""

    logits: np.ndarray
    target: np.ndarray
    options: dict = field(default_factory=dict)

    @property
    def classes(self):
        return self.logits.shape[0 if self.logits.ndim == 1 else 1]

    def loss(self, logits, fused=True, **overrides):
        return ag.cross_entropy(logits, self.target, **{**self.options, **overrides, "fused": fused})

    def finite(self):
        """False when the loss is NaN (e.g. "mean" over a total weight of zero)."""
        return bool(np.isfinite(np.asarray(self.loss(self.logits).data)).all())

    def value_and_gradient(self, fused, cotangent=None):
        x = ag.tensor(self.logits, requires_grad=True)
        loss = self.loss(x, fused)
        (g,) = gradients(loss, [x], grad=cotangent)
        return loss.data, g


@st.composite
def cases(draw, dtypes=(np.float64,), kinds=("indices", "probabilities"), max_dims=4,
          reductions=REDUCTIONS):
    """Logits (C,), (N, C) or (N, C, d...), a target of either kind and drawn options."""
    ndim = draw(st.integers(1, max_dims))
    classes = draw(st.integers(1, 5))
    if ndim == 1:
        shape = (classes,)
    else:
        spatial = draw(st.lists(st.integers(1, 3), min_size=ndim - 2, max_size=ndim - 2))
        shape = (draw(st.integers(1, 4)), classes, *spatial)
    dtype = draw(st.sampled_from(dtypes))
    logits = draw(ags.arrays(dtype, shape, min_value=-5, max_value=5))
    positions = shape[:0] if ndim == 1 else (shape[0], *shape[2:])
    options = {"reduction": draw(st.sampled_from(reductions))}
    if draw(st.sampled_from(kinds)) == "indices":
        # ignore_index may be a real class, out of range, or left at PyTorch's -100.
        ignore_index = draw(st.sampled_from([-100, 0, classes, -1]))
        values = list(range(classes)) + [ignore_index]
        target = draw(hnp.arrays(np.int64, positions, elements=st.sampled_from(values)))
        options["ignore_index"] = ignore_index
    else:  # soft targets, deliberately not normalised
        target = draw(ags.arrays(dtype, shape, min_value=0, max_value=2))
    if draw(st.booleans()):
        options["weight"] = draw(ags.arrays(dtype, (classes,), min_value=0, max_value=3))
    options["label_smoothing"] = draw(st.sampled_from([0.0, 1.0]) | st.floats(0, 1))
    return Case(logits, target, options)


def cotangent_for(case, rng_seed=0):
    """A cotangent for the loss: None for a 0-d loss, else a fixed pseudo-random array."""
    if case.options.get("reduction") != "none":
        return None
    shape = case.logits.shape[:0] if case.logits.ndim == 1 else np.delete(case.logits.shape, 1)
    return np.random.default_rng(rng_seed).standard_normal(tuple(shape)).astype(case.logits.dtype)


# ---------------------------------------------------------------------------
# Two paths, one answer
# ---------------------------------------------------------------------------

@given(cases(dtypes=(np.float32, np.float64)))
def test_fused_equals_composed_in_value_and_gradient(case):
    cotangent = cotangent_for(case)
    value, grad = case.value_and_gradient(True, cotangent)
    value_composed, grad_composed = case.value_and_gradient(False, cotangent)
    tolerance = TOLERANCE[case.logits.dtype.type]
    assert np.shape(value) == np.shape(value_composed)
    assert np.asarray(value).dtype == case.logits.dtype == grad.dtype == grad_composed.dtype
    np.testing.assert_allclose(value, value_composed, equal_nan=True, **tolerance)
    np.testing.assert_allclose(grad, grad_composed, equal_nan=True, **tolerance)


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
@settings(max_examples=25)
@given(case=cases(max_dims=3))
def test_gradcheck(fused, case):
    assume(case.finite())  # a zero total weight makes "mean" NaN
    assert gradcheck(lambda z: case.loss(z, fused), case.logits)


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
@settings(max_examples=10)
@given(case=cases(max_dims=2, reductions=("mean", "sum")))
def test_hessian_matches_finite_differences(fused, case):
    """Differentiate the gradient again (create_graph): compare with differences of gradients."""
    assume(case.finite())
    x = ag.tensor(case.logits, requires_grad=True)
    (g,) = gradients(case.loss(x, fused), [x], create_graph=True)
    flat = g.reshape(-1)
    hessian = np.array([gradients(flat[k], [x], retain_graph=True)[0].ravel()
                        for k in range(g.size)])

    eps = 1e-6
    numeric = np.empty_like(hessian)
    for j in range(case.logits.size):
        step = np.zeros(case.logits.size)
        step[j] = eps
        step = step.reshape(case.logits.shape)
        plus, minus = (first_order_gradient(case, case.logits + s) for s in (step, -step))
        numeric[:, j] = ((plus - minus) / (2 * eps)).ravel()
    np.testing.assert_allclose(hessian, numeric, atol=1e-6, rtol=1e-5)
    np.testing.assert_allclose(hessian, hessian.T, atol=1e-12)  # a Hessian is symmetric


def first_order_gradient(case, z):
    x = ag.tensor(z, requires_grad=True)
    return gradients(case.loss(x, fused=True), [x])[0]


def test_fused_hessian_equals_composed_hessian():
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((3, 4))
    case = Case(logits, np.array([1, -100, 3]),
                dict(weight=np.array([0.5, 2.0, 1.0, 1.5]), label_smoothing=0.2))
    hessians = []
    for fused in (True, False):
        x = ag.tensor(logits, requires_grad=True)
        (g,) = gradients(case.loss(x, fused), [x], create_graph=True)
        hessians.append(np.array([gradients(g.reshape(-1)[k], [x], retain_graph=True)[0].ravel()
                                  for k in range(g.size)]))
    np.testing.assert_allclose(hessians[0], hessians[1], atol=1e-14)
    assert np.abs(hessians[0][4:8]).max() == 0  # the ignored row has no curvature


# ---------------------------------------------------------------------------
# The classic results
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
@given(case=cases(max_dims=2, kinds=("indices",)))
def test_one_hot_gradient_is_p_minus_y(fused, case):
    logits = np.atleast_2d(case.logits)
    target = np.clip(np.atleast_1d(case.target), 0, case.classes - 1)
    x = ag.tensor(logits, requires_grad=True)
    ag.cross_entropy(x, target, reduction="sum", fused=fused).backward()
    p = ag.softmax(logits, axis=1).data
    one_hot = np.eye(case.classes)[target]
    np.testing.assert_allclose(x.grad, p - one_hot, atol=1e-15)
    # ... and with probability targets that are exactly one-hot, the same.
    x.grad = None
    ag.cross_entropy(x, one_hot, reduction="sum", fused=fused).backward()
    np.testing.assert_allclose(x.grad, p - one_hot, atol=1e-15)


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
@given(logits=ags.arrays(shape=ags.shapes(min_dims=2, max_dims=2)), data=st.data())
def test_unnormalised_soft_targets_give_p_times_sum_y_minus_y(fused, logits, data):
    y = data.draw(ags.arrays(shape=logits.shape, min_value=0, max_value=3))
    x = ag.tensor(logits, requires_grad=True)
    ag.cross_entropy(x, y, reduction="sum", fused=fused).backward()
    p = ag.softmax(logits, axis=1).data
    np.testing.assert_allclose(x.grad, p * y.sum(axis=1, keepdims=True) - y, atol=1e-14)


@given(cases(), st.floats(-1e3, 1e3))
def test_shift_invariance(case, shift):
    """Adding a constant to every logit of a position changes neither loss nor gradient."""
    axis = 0 if case.logits.ndim == 1 else 1
    shifts = np.cos(np.arange(case.logits.size)).reshape(case.logits.shape) * shift
    shifted = case.logits + shifts.take([0], axis=axis)  # one constant per position
    cotangent = cotangent_for(case)
    for fused in (True, False):
        value, grad = case.value_and_gradient(fused, cotangent)
        moved = Case(shifted, case.target, case.options)
        value_shifted, grad_shifted = moved.value_and_gradient(fused, cotangent)
        scale = 1e-12 * (1 + abs(shift)) * (1 + np.abs(case.target).sum())
        np.testing.assert_allclose(value_shifted, value, atol=scale * 10, rtol=1e-9, equal_nan=True)
        np.testing.assert_allclose(grad_shifted, grad, atol=scale, equal_nan=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(case=cases(max_dims=3))
def test_extreme_logits_stay_finite(dtype, case):
    """Logits of magnitude 1e4: every option gives finite values and gradients."""
    logits = (np.sign(case.logits) * 1e4).astype(dtype)
    target = case.target.astype(dtype) if case.target.dtype.kind == "f" else case.target
    options = dict(case.options)
    if "weight" in options:
        options["weight"] = options["weight"].astype(dtype)
    extreme = Case(logits, target, options)
    assume(extreme.finite())  # a total weight of zero makes "mean" NaN by definition
    cotangent = cotangent_for(extreme)
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # exp may underflow to 0
        results = [extreme.value_and_gradient(fused, cotangent) for fused in (True, False)]
    for value, grad in results:
        assert np.isfinite(value).all() and np.isfinite(grad).all()
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-5)
    # rtol as for the values: the default 1e-7 is below float32's ulp (1.2e-7), and the
    # two paths round differently (a weight of 1e-12 makes gradients of 7e10 here).
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blocked_sweep_shifts_only_the_blocks_that_need_it(dtype):
    """Over the cache-block size the fused loss works block by block: exp(z) as it is where
    every row sum of a block stays in range, shifted by the row maxima where one does not
    (a row far beyond exp's range, a row of -inf). Both agree with the composed loss,
    with no floating-point warning or error."""
    rows, classes = 600, 1000  # 2.4 MB in float32: three blocks of 262 rows
    rng = np.random.default_rng(0)
    logits = (rng.standard_normal((rows, classes)) * 3).astype(dtype)
    logits[300] *= 1e3                 # block 2: exp overflows without the shift
    logits[550] = -np.inf              # block 3: a row of -inf ...
    logits[550, 5] = 0.0               # ... except one class
    target = rng.integers(0, classes, rows)
    target[550] = 5
    case = Case(logits, target, {"reduction": "mean"})
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        results = [case.value_and_gradient(fused) for fused in (True, False)]
    (value, grad), (value_composed, grad_composed) = results
    tolerance = TOLERANCE[dtype]
    np.testing.assert_allclose(value, value_composed, **tolerance)
    np.testing.assert_allclose(grad, grad_composed, **tolerance)
    assert np.isfinite(grad).all() and grad.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_evaluation_gives_the_training_loss_when_blocks_need_the_shift(dtype):
    """Without a gradient to keep, the blocked sweep works in one block-sized scratch
    buffer, shifted blocks and the short last block included: the loss is the same."""
    rows, classes = 600, 1000
    rng = np.random.default_rng(1)
    logits = (rng.standard_normal((rows, classes)) * 3).astype(dtype)
    logits[300] *= 1e3                 # block 2 needs the shift
    logits[599] = -np.inf              # the short last block: a row of -inf ...
    logits[599, 7] = 1.0               # ... except one class
    target = rng.integers(0, classes, rows)
    target[599] = 7
    for reduction in REDUCTIONS:
        x = ag.tensor(logits, requires_grad=True)
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            trained = ag.cross_entropy(x, target, reduction=reduction).data
            with ag.no_grad():
                evaluated = ag.cross_entropy(x, target, reduction=reduction).data
        np.testing.assert_array_equal(evaluated, trained)
        composed = ag.cross_entropy(logits, target, reduction=reduction, fused=False).data
        np.testing.assert_allclose(evaluated, composed, **TOLERANCE[dtype])


def test_evaluation_holds_no_logits_sized_buffer():
    """Under no_grad (or logits that need no gradient) the fused loss needs only a
    cache-sized block of exponentials at a time: its peak memory is a small fraction of
    the logits', where a training call's is the gradient it returns (1x)."""
    rows, classes = 2048, 1000
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((rows, classes)).astype(np.float32)
    target = rng.integers(0, classes, rows)
    x = ag.tensor(logits, requires_grad=True)

    def peak(function):
        function()  # warm-up
        tracemalloc.start()
        try:
            function()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    def evaluate():
        with ag.no_grad():
            return ag.cross_entropy(x, target)

    frozen = ag.tensor(logits)  # requires no gradient (an ndarray argument would be copied)
    evaluation = peak(evaluate)
    constant = peak(lambda: ag.cross_entropy(frozen, target))
    training = peak(lambda: ag.cross_entropy(x, target))
    assert training >= logits.nbytes
    assert evaluation < 0.2 * logits.nbytes and constant < 0.2 * logits.nbytes, (
        evaluation, constant, logits.nbytes)


def _confident_rows(rng, rows, classes, dtype):
    """Rows of one term 1 and classes - 1 terms each just under half an ulp of 1: a
    running sum that starts at the 1 drops them all, a pairwise sum keeps them."""
    u = np.finfo(dtype).eps / 2
    values = (0.9 * u * rng.uniform(0.5, 1.0, (rows, classes))).astype(dtype)
    values[np.arange(rows), rng.integers(0, classes, rows)] = 1
    return values


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(classes=st.integers(1, 3000) | st.sampled_from([1000, 4096, 32000, 32768, 50000, 50257]),
       rows=st.integers(1, 9), confident=st.booleans(), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=60, deadline=None)
def test_row_sums_are_as_accurate_as_the_pairwise_sum(dtype, classes, rows, confident, seed):
    """The fused op adds its rows with BLAS (two short runs per row, or NumPy's pairwise
    sum where C has no divisor near sqrt(C)): the relative error stays within the
    pairwise sum's 16 u, also in confident rows, where one BLAS product over the whole
    row (a few dozen running sums) errs by 40 u at 1000 classes and 170 u at 4096."""
    from autograd import fused

    rng = np.random.default_rng(seed)
    if confident:
        values = _confident_rows(rng, rows, classes, dtype)
    else:
        values = np.exp(3 * rng.standard_normal((rows, classes))).astype(dtype)
    out = np.empty(rows, dtype)
    fused._row_summer(classes, np.dtype(dtype), rows)(values, out)
    exact = np.array([math.fsum(row) for row in values.astype(np.float64)])
    u = np.finfo(dtype).eps / 2
    error = np.abs(out.astype(np.float64) - exact) / exact
    pairwise = np.abs(np.add.reduce(values, axis=1).astype(np.float64) - exact) / exact
    assert (error <= np.maximum(16 * u, 2 * pairwise)).all(), (error.max() / u, pairwise.max() / u)


@pytest.mark.parametrize("margin", [0.0, 10.0, 15.0])
def test_float32_loss_is_as_accurate_as_the_composed_one(margin):
    """The fused float32 loss against the float64 loss of the same logits: no worse than
    the composed float32 loss (with a factor of 3 for luck), also for confident
    predictions, where the loss is small and a careless log(sum) - z would cancel."""
    rng = np.random.default_rng(1)
    # the blocked sweep (row sums in 2 and 3 BLAS stages) and the lean path
    for rows, classes in ((600, 1000), (64, 50000), (64, 10)):
        logits = rng.standard_normal((rows, classes)).astype(np.float32)
        target = rng.integers(0, classes, rows)
        logits[np.arange(rows), target] += margin
        exact = ag.cross_entropy(ag.tensor(logits.astype(np.float64)), target).item()
        fused = ag.cross_entropy(ag.tensor(logits), target).item()
        composed = ag.cross_entropy(ag.tensor(logits), target, fused=False).item()
        assert abs(fused - exact) <= 3 * abs(composed - exact) + 4 * 2.0**-24 * exact


def test_known_extreme_value():
    for fused in (True, False):
        loss = ag.cross_entropy(ag.tensor([[1e4, -1e4]], dtype=np.float32), [1], fused=fused)
        assert loss.dtype == np.float32 and loss.item() == 2e4


@given(cases(max_dims=4), st.data())
def test_k_dimensional_equals_flattened(case, data):
    """(N, C, d1, ...) equals the (N * d1 * ..., C) case with the class axis moved last."""
    assume(case.logits.ndim >= 3)
    classes = case.classes
    flat_logits = np.moveaxis(case.logits, 1, -1).reshape(-1, classes)
    flat_target = (np.moveaxis(case.target, 1, -1).reshape(-1, classes)
                   if case.target.dtype.kind == "f" else case.target.reshape(-1))
    flat = Case(flat_logits, flat_target, case.options)
    cotangent = cotangent_for(case)
    flat_cotangent = None if cotangent is None else cotangent.reshape(-1)
    for fused in (True, False):
        value, grad = case.value_and_gradient(fused, cotangent)
        flat_value, flat_grad = flat.value_and_gradient(fused, flat_cotangent)
        np.testing.assert_allclose(np.reshape(flat_value, np.shape(value)), value, rtol=1e-12,
                                   atol=1e-14, equal_nan=True)
        np.testing.assert_allclose(np.moveaxis(flat_grad.reshape(grad.shape[:1] + grad.shape[2:]
                                                                 + (classes,)), -1, 1),
                                   grad, rtol=1e-12, atol=1e-14, equal_nan=True)


# ---------------------------------------------------------------------------
# PyTorch's conventions, spelled out
# ---------------------------------------------------------------------------

LOGITS = np.array([[2.0, 0.5, -1.0], [0.0, 1.0, 0.0], [1.0, -2.0, 3.0], [0.3, 0.2, 0.1]])
LOG_P = LOGITS - np.log(np.exp(LOGITS).sum(axis=1, keepdims=True))
TARGET = np.array([0, 2, -100, 1])
WEIGHT = np.array([0.2, 1.0, 3.0])
KEPT = [0, 1, 3]


def by_hand(weight=None, reduction="mean", smoothing=0.0):
    """PyTorch's formulas written out with NumPy for LOGITS/TARGET."""
    w = np.ones(3) if weight is None else weight
    nll = np.zeros(4)
    smooth = np.zeros(4)
    for n in KEPT:
        nll[n] = -w[TARGET[n]] * LOG_P[n, TARGET[n]]
        smooth[n] = -(w * LOG_P[n]).sum()
    per_position = (1 - smoothing) * nll + smoothing / 3 * smooth
    if reduction == "none":
        return per_position
    if reduction == "sum":
        return per_position.sum()
    return per_position.sum() / sum(w[TARGET[n]] for n in KEPT)


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
@pytest.mark.parametrize("weight", [None, WEIGHT], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
def test_index_targets_follow_pytorch_formulas(fused, weight, reduction, smoothing):
    loss = ag.cross_entropy(LOGITS, TARGET, weight=weight, reduction=reduction,
                            label_smoothing=smoothing, fused=fused)
    np.testing.assert_allclose(loss.data, by_hand(weight, reduction, smoothing), rtol=1e-13)


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
def test_probability_targets_mean_divides_by_positions_not_weights(fused):
    y = np.array([[0.2, 0.3, 0.5], [1.0, 1.0, 0.0], [0.0, 0.0, 2.0], [0.1, 0.1, 0.1]])
    loss = ag.cross_entropy(LOGITS, y, weight=WEIGHT, ignore_index=0, fused=fused)
    expected = -(WEIGHT * y * LOG_P).sum() / 4
    np.testing.assert_allclose(loss.data, expected, rtol=1e-13)
    smoothed = ag.cross_entropy(LOGITS, y, label_smoothing=0.3, reduction="sum", fused=fused)
    np.testing.assert_allclose(smoothed.data, -((0.7 * y + 0.1) * LOG_P).sum(), rtol=1e-13)


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
@pytest.mark.parametrize("weight", [None, WEIGHT], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("smoothing", [0.0, 0.4])
def test_all_ignored_mean_is_nan_with_zero_gradient(fused, weight, smoothing):
    x = ag.tensor(LOGITS, requires_grad=True)
    target = np.full(4, 7)
    with np.errstate(all="raise"):  # no 0/0 warning either
        loss = ag.cross_entropy(x, target, weight=weight, ignore_index=7,
                                label_smoothing=smoothing, fused=fused)
        loss.backward()
    assert np.isnan(loss.item())
    assert x.grad.tolist() == np.zeros_like(LOGITS).tolist()
    summed = ag.cross_entropy(LOGITS, target, ignore_index=7, reduction="sum", fused=fused)
    assert summed.item() == 0.0


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
def test_one_dimensional_logits(fused):
    x = ag.tensor(LOGITS[0], requires_grad=True)
    loss = ag.cross_entropy(x, 2, fused=fused)
    loss.backward()
    assert loss.shape == () and np.isclose(loss.item(), -LOG_P[0, 2])
    np.testing.assert_allclose(x.grad, np.exp(LOG_P[0]) - [0, 0, 1], atol=1e-15)
    assert ag.cross_entropy(LOGITS[0], 1, reduction="none", fused=fused).shape == ()
    assert ag.cross_entropy(LOGITS[0], np.ones(3), reduction="none", fused=fused).shape == ()


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
def test_empty_batch(fused):
    logits = np.zeros((0, 3))
    assert np.isnan(ag.cross_entropy(logits, np.zeros(0, int), fused=fused).item())
    assert ag.cross_entropy(logits, np.zeros(0, int), reduction="sum", fused=fused).item() == 0
    assert ag.cross_entropy(logits, np.zeros((0, 3)), reduction="none", fused=fused).shape == (0,)


def test_second_backward_through_retained_graph_recomputes():
    x = ag.tensor(LOGITS, requires_grad=True)
    loss = ag.cross_entropy(x, TARGET, weight=WEIGHT, label_smoothing=0.1)
    loss.backward(retain_graph=True)
    first = x.grad.copy()
    loss.backward()
    np.testing.assert_allclose(x.grad, 2 * first, rtol=1e-15)


INDEX_DTYPES = (np.int8, np.uint8, np.int16, np.uint16, np.int32, np.int64, np.uint64)


@st.composite
def plain_index_cases(draw):
    """The lean path's case: logits (N, C), any integer target dtype, no weight or smoothing.

    Both layouts (C up to 32 is handled classes-first, wider row by row) and sizes where a
    class times the row count no longer fits the target's own dtype (uint8: 10 * 30 > 255).
    """
    rows, classes = draw(st.integers(1, 40)), draw(st.sampled_from([1, 2, 10, 32, 33, 70]))
    dtype = draw(st.sampled_from((np.float32, np.float64)))
    logits = draw(ags.arrays(dtype, (rows, classes), min_value=-5, max_value=5))
    index_dtype = draw(st.sampled_from(INDEX_DTYPES))
    ignore_index = draw(st.sampled_from([-100, 0, classes - 1]))
    values = list(range(classes))
    limits = np.iinfo(index_dtype)
    if limits.min <= ignore_index <= limits.max and draw(st.booleans()):
        values.append(ignore_index)  # some rows ignored (when the dtype can hold the index)
    target = draw(hnp.arrays(index_dtype, (rows,), elements=st.sampled_from(values)))
    reduction = draw(st.sampled_from(REDUCTIONS))
    return Case(logits, target, {"reduction": reduction, "ignore_index": ignore_index})


@given(plain_index_cases())
def test_lean_index_path_equals_composed_for_every_index_dtype(case):
    """The fast path for 2-D logits and class indices: same loss and gradient as the loss
    built from primitives, for small and unsigned index dtypes, both memory layouts."""
    assume(case.finite())
    cotangent = cotangent_for(case)
    value, grad = case.value_and_gradient(True, cotangent)
    value_composed, grad_composed = case.value_and_gradient(False, cotangent)
    tolerance = TOLERANCE[case.logits.dtype.type]
    assert np.asarray(value).dtype == grad.dtype == case.logits.dtype
    np.testing.assert_allclose(value, value_composed, **tolerance)
    np.testing.assert_allclose(grad, grad_composed, **tolerance)


@given(plain_index_cases())
def test_lean_index_path_backward_twice_and_after_the_target_changes(case):
    """A retained graph recomputes the same gradient; writing into the caller's target
    array after the forward changes neither the loss's gradient nor a second backward."""
    assume(case.finite())
    x = ag.tensor(case.logits, requires_grad=True)
    loss = case.loss(x)
    seed = cotangent_for(case)
    loss.backward(seed, retain_graph=True)
    first = x.grad.copy()
    case.target[...] = 0
    x.grad = None
    loss.backward(seed)
    np.testing.assert_allclose(x.grad, first, **TOLERANCE[case.logits.dtype.type])


@pytest.mark.parametrize("options", [{}, {"label_smoothing": 0.3, "weight": WEIGHT}])
def test_fused_scales_its_gradient_by_the_incoming_cotangent(options):
    """The forward leaves the gradient for g = 1; any other g scales it."""
    x = ag.tensor(LOGITS, requires_grad=True)
    (unit,) = gradients(ag.cross_entropy(x, TARGET, **options), [x])
    (scaled,) = gradients(2.5 * ag.cross_entropy(x, TARGET, **options), [x])
    np.testing.assert_allclose(scaled, 2.5 * unit, rtol=1e-15)
    with ag.no_grad():  # nothing recorded, same value
        value = ag.cross_entropy(x, TARGET, **options)
    assert value.requires_grad is False
    assert value.item() == ag.cross_entropy(x, TARGET, **options).item()


@given(cases(dtypes=(np.float32, np.float64)))
def test_inputs_are_not_modified(case):
    logits, target = case.logits.copy(), case.target.copy()
    weight = case.options.get("weight")
    weight_copy = None if weight is None else weight.copy()
    for fused in (True, False):
        case.value_and_gradient(fused, cotangent_for(case))
    np.testing.assert_array_equal(case.logits, logits)
    np.testing.assert_array_equal(case.target, target)
    if weight is not None:
        np.testing.assert_array_equal(weight, weight_copy)


def test_fused_is_one_node_and_holds_no_dense_one_hot():
    """The fused path records one primitive; its peak memory stays near two logits arrays."""
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((512, 1000)).astype(np.float32)
    x = ag.tensor(logits, requires_grad=True)
    target = rng.integers(0, 1000, 512)
    loss = ag.cross_entropy(x, target)
    assert loss._op == "softmax_cross_entropy" and loss._parents[0] is x
    del loss
    tracemalloc.start()
    try:
        ag.cross_entropy(x, target).backward()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the buffer that becomes the gradient, plus the copy backward stores in x.grad
    assert peak <= 2.2 * logits.nbytes


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------

GOOD = np.zeros((2, 3))
BAD_INPUTS = [
    # (logits, target, options, error, words the message must contain)
    (GOOD, np.array([0, 3]), {}, ValueError, ["target[1] = 3", "(2, 3)", "3 classes"]),
    (GOOD, np.array([-1, 0]), {}, ValueError, ["target[0] = -1", "ignore_index=-100"]),
    (GOOD, np.array([0, -100]), {"ignore_index": 5}, ValueError, ["target[1] = -100"]),
    (np.zeros((2, 3, 2)), np.array([[0, 1], [2, 9]]), {}, ValueError, ["target[1, 1] = 9"]),
    (GOOD, np.array([0, 1, 2]), {}, ValueError, ["(3,)", "(2, 3)", "expected shape (2,)"]),
    (GOOD, np.zeros((2, 3), int), {}, ValueError, ["(2, 3)", "float target"]),
    (GOOD, np.zeros(2), {}, ValueError, ["(2,)", "(2, 3)", "integer target"]),
    (GOOD, np.zeros((3, 2)), {}, ValueError, ["(3, 2)", "(2, 3)"]),
    (GOOD, np.array([True, False]), {}, TypeError, ["bool", "(2,)"]),
    (GOOD, np.array([0, 1]), {"weight": np.ones(4)}, ValueError, ["(3,)", "(4,)"]),
    (GOOD, np.array([0, 1]), {"weight": np.ones((3, 1))}, ValueError, ["(3, 1)"]),
    (np.zeros((2, 3), int), np.array([0, 1]), {}, TypeError, ["floating", "int"]),
    (np.float64(1.0), np.array(0), {}, ValueError, ["0-d"]),
    (np.zeros((2, 0)), np.array([0, 1]), {}, ValueError, ["no classes", "(2, 0)"]),
    (GOOD, np.array([0, 1]), {"reduction": "avg"}, ValueError, ["'avg'", "'mean'"]),
    (GOOD, np.array([0, 1]), {"label_smoothing": 1.5}, ValueError, ["[0, 1]", "1.5"]),
    (GOOD, np.array([0, 1]), {"label_smoothing": "0.1"}, TypeError, ["'0.1'"]),
    (GOOD, np.array([0, 1]), {"ignore_index": 1.5}, TypeError, ["ignore_index", "1.5"]),
    (GOOD, ag.tensor([[0.5, 0.5, 0.0]] * 2, requires_grad=True), {}, TypeError,
     ["target requires grad", "detach"]),
    (GOOD, np.array([0, 1]), {"weight": ag.tensor(np.ones(3), requires_grad=True)}, TypeError,
     ["weight requires grad"]),
]


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
@pytest.mark.parametrize("logits, target, options, error, words", BAD_INPUTS)
def test_bad_input_raises_with_clear_message(fused, logits, target, options, error, words):
    with pytest.raises(error) as raised:
        ag.cross_entropy(logits, target, fused=fused, **options)
    message = str(raised.value)
    for word in words:
        assert word in message, f"{word!r} missing from: {message}"


# ---------------------------------------------------------------------------
# Against PyTorch itself, when it is installed
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


@settings(max_examples=60)
@given(case=cases(dtypes=(np.float64,)))
def test_matches_torch(torch, case):
    z = torch.tensor(case.logits, requires_grad=True)
    options = dict(case.options)
    if "weight" in options:
        options["weight"] = torch.tensor(options["weight"])
    loss = torch.nn.functional.cross_entropy(z, torch.tensor(case.target), **options)
    cotangent = cotangent_for(case)
    loss.backward(None if cotangent is None else torch.tensor(cotangent))
    for fused in (True, False):
        value, grad = case.value_and_gradient(fused, cotangent)
        np.testing.assert_allclose(value, loss.detach().numpy(), rtol=1e-10, atol=1e-12,
                                   equal_nan=True)
        np.testing.assert_allclose(grad, z.grad.numpy(), rtol=1e-10, atol=1e-12, equal_nan=True)
