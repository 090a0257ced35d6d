"""cross_entropy and softmax against hostile inputs: memory layouts, index dtypes, float16
batches, confident float32 rows, bad axes.

Every fused path is exercised on purpose, not by luck of the sizes:

* ``fused.index_cross_entropy``, the lean path (2-D logits, int targets, no weight or
  smoothing, at most ``_BLOCK_BYTES`` of logits): *narrow* (<= 32 classes, worked
  classes-first) and *wide* (more classes, row by row);
* ``fused.softmax_cross_entropy``, the blocked sweep: large logits, and everything with
  weights, label smoothing, probability targets or K-dim logits. Its block size is
  shrunk here (``_BLOCK_BYTES`` patched) so that small drawn arrays cross several blocks,
  some taking ``exp(z)`` directly and some shifted by their row maxima.

The reference for values and gradients is written out below in float64 NumPy from
PyTorch's formulas, so it depends on neither path under test.
"""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import autograd as ag
from autograd import fused as fused_module
from autograd.tape import gradients

REDUCTIONS = ("mean", "sum", "none")
TOLERANCE = {np.dtype(np.float32): dict(rtol=2e-4, atol=2e-5),
             np.dtype(np.float64): dict(rtol=1e-10, atol=1e-12)}


# ---------------------------------------------------------------------------
# A float64 reference, independent of both code paths
# ---------------------------------------------------------------------------

def reference(logits, target, weight=None, ignore_index=-100, reduction="mean",
              label_smoothing=0.0):
    """(loss, d loss / d logits) in float64 from PyTorch's formulas.

    logits (C,), (N, C) or (N, C, d...); target class indices (the logits' shape without
    the class axis) or probabilities (the logits' shape). The gradient is for a unit
    cotangent (all ones for ``reduction="none"``): per position ``r * (p * sum(Y) - Y)``
    with ``Y`` the weighted, smoothed target and ``r`` 1 or 1 / norm for "mean".
    """
    z = np.asarray(logits, np.float64)
    axis = 0 if z.ndim == 1 else 1
    classes = z.shape[axis]
    moved_shape = np.moveaxis(z, axis, -1).shape
    rows = np.moveaxis(z, axis, -1).reshape(-1, classes)
    w = np.ones(classes) if weight is None else np.asarray(weight, np.float64)
    eps = float(label_smoothing)
    if np.asarray(target).dtype.kind == "f":
        y = np.moveaxis(np.asarray(target, np.float64), axis, -1).reshape(-1, classes)
        effective = ((1 - eps) * y + eps / classes) * w
        norm = len(rows)
    else:
        t = np.asarray(target).reshape(-1)
        keep = t != ignore_index  # in the target's own dtype: uint64 may hold 2**64 - 1
        safe = np.where(keep, t, 0).astype(np.int64)
        effective = np.zeros_like(rows)
        effective[np.arange(len(rows)), safe] = (1 - eps) * w[safe]
        effective += eps / classes * w
        effective *= keep[:, None]
        norm = (w[safe] * keep).sum()
    shift = rows.max(axis=1, keepdims=True)
    log_p = rows - shift - np.log(np.exp(rows - shift).sum(axis=1, keepdims=True))
    row_losses = -np.where(effective != 0, effective * log_p, 0).sum(axis=1)
    row_gradient = np.exp(log_p) * effective.sum(axis=1, keepdims=True) - effective
    if reduction == "none":
        loss = row_losses.reshape(moved_shape[:-1])
    elif reduction == "sum":
        loss = row_losses.sum()
    else:
        loss, row_gradient = row_losses.sum() / norm, row_gradient / norm
    return loss, np.moveaxis(row_gradient.reshape(moved_shape), -1, axis)


# ---------------------------------------------------------------------------
# Memory layouts
# ---------------------------------------------------------------------------

LAYOUTS = ("C", "F", "mT", "step 2", "negative strides", "tanh(F)")


def laid_out(values, layout):
    """(leaf, logits): a leaf tensor and logits computed from it on the tape, whose array
    has ``layout``. "F" is ``leaf.T`` (every axis reversed), "mT" swaps the last two axes,
    "step 2" takes every other entry of a larger leaf, "negative strides" reverses every
    axis with ``[::-1]``, "tanh(F)" is an elementwise op on ``leaf.T`` (which keeps F order).
    The logits' values are ``values`` except for "tanh(F)": use ``logits.data``."""
    ndim = values.ndim
    if layout == "C":
        leaf = ag.tensor(values, requires_grad=True)
        return leaf, leaf
    if layout == "F":
        leaf = ag.tensor(values.T.copy(), requires_grad=True)
        return leaf, leaf.T
    if layout == "mT":
        leaf = ag.tensor(np.swapaxes(values, -1, -2).copy(), requires_grad=True)
        return leaf, leaf.mT
    if layout == "step 2":
        big = np.zeros(tuple(2 * n for n in values.shape), values.dtype)
        every_other = (slice(None, None, 2),) * ndim
        big[every_other] = values
        leaf = ag.tensor(big, requires_grad=True)
        return leaf, leaf[every_other]
    if layout == "negative strides":
        backwards = (slice(None, None, -1),) * ndim
        leaf = ag.tensor(values[backwards].copy(), requires_grad=True)
        return leaf, leaf[backwards]
    if layout == "tanh(F)":
        leaf = ag.tensor(values.T / 5, requires_grad=True)
        return leaf, 5 * ag.tanh(leaf.T)
    raise ValueError(layout)


def check_layout(logits, layout):
    """The test really hands cross_entropy an array of that layout."""
    data = logits.data
    if min(data.shape) > 1 and data.ndim >= 2:
        if layout == "C":
            assert data.flags.c_contiguous
        else:
            assert not data.flags.c_contiguous, layout
    if layout == "negative strides":
        assert all(s < 0 for s in data.strides) or data.size <= 1


PATHS = ("narrow", "wide", "sweep", "weights", "smoothing", "probabilities", "k-dim")


@st.composite
def layout_cases(draw, paths=PATHS, dtypes=(np.float32, np.float64)):
    """(values, target, options, block_bytes) covering every fused path.

    ``block_bytes`` replaces ``fused._BLOCK_BYTES`` during the call (None: unchanged):
    the plain "sweep" path needs it small, so the lean path hands over to the blocked
    sweep, with several blocks. Some rows get +100 on every logit, so that a block of
    the sweep has to be shifted instead of exponentiated directly.
    """
    path = draw(st.sampled_from(paths))
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    rows = draw(st.integers(1, 24))
    if path == "narrow":
        classes = draw(st.integers(1, fused_module._NARROW_CLASSES))
    elif path == "wide":
        classes = draw(st.integers(fused_module._NARROW_CLASSES + 1, 80))
    else:
        classes = draw(st.integers(1, 50))
    shape = (rows, classes)
    if path == "k-dim":
        shape = draw(st.sampled_from([(classes,), (rows, classes, 3), (rows, classes, 2, 3)]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    values = (rng.standard_normal(shape) * draw(st.sampled_from([1.0, 3.0]))).astype(dtype)
    if len(shape) >= 2 and draw(st.booleans()):
        values[rng.integers(0, shape[0])] += 100  # beyond direct exp in float32 as a block
    axis = 0 if len(shape) == 1 else 1
    positions = shape[:axis] + shape[axis + 1:]
    options = {"reduction": draw(st.sampled_from(REDUCTIONS))}
    if path == "probabilities":
        target = rng.uniform(0, 1, shape).astype(dtype)
    else:
        target = rng.integers(0, classes, positions)
        if draw(st.booleans()):  # some positions ignored (never all of them)
            ignored = np.array(rng.uniform(size=positions) < 0.3)
            ignored.flat[0] = False
            target = np.where(ignored, -100, target)
    if path == "weights":
        options["weight"] = rng.uniform(0.1, 3, classes).astype(dtype)
    if path == "smoothing":
        options["label_smoothing"] = draw(st.sampled_from([0.1, 0.5, 1.0]))
    small_blocks = [1, 64 * dtype.itemsize, 1000]  # a row per block, a few rows, several
    block_bytes = None
    if path == "sweep":
        block_bytes = draw(st.sampled_from(small_blocks))
    elif path not in ("narrow", "wide"):
        block_bytes = draw(st.sampled_from([None] + small_blocks))
    return values, target, options, block_bytes


def cross_entropy_with_blocks(logits, target, options, block_bytes, fused):
    if block_bytes is None:
        return ag.cross_entropy(logits, target, fused=fused, **options)
    with mock.patch.object(fused_module, "_BLOCK_BYTES", block_bytes):
        return ag.cross_entropy(logits, target, fused=fused, **options)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("path", PATHS)
@given(data=st.data())
def test_every_fused_path_gives_the_reference_gradient_for_every_layout(path, layout, data):
    """Fused and composed, C- and F-ordered, sliced and reversed logits: the gradient with
    respect to the logits is ``r * (p * sum(Y) - Y)`` (softmax - onehot for plain class
    indices), the same for both paths, and the loss is the reference loss."""
    values, target, options, block_bytes = data.draw(layout_cases(paths=(path,)))
    if layout == "mT" and values.ndim < 2:
        layout = "negative strides"
    results = {}
    for fused in (True, False):
        leaf, logits = laid_out(values, layout)
        check_layout(logits, layout)
        loss = cross_entropy_with_blocks(logits, target, options, block_bytes, fused)
        cotangent = None if loss.ndim == 0 else np.ones(loss.shape, values.dtype)
        (gradient,) = gradients(loss, [logits], grad=cotangent)
        expected_loss, expected_gradient = reference(logits.data, target, **options)
        tolerance = TOLERANCE[values.dtype]
        assert gradient.dtype == values.dtype and gradient.shape == values.shape
        np.testing.assert_allclose(loss.data, expected_loss, **tolerance)
        np.testing.assert_allclose(gradient, expected_gradient, **tolerance,
                                   err_msg=f"fused={fused}, layout {layout}")
        results[fused] = gradient
    np.testing.assert_allclose(results[True], results[False], **TOLERANCE[values.dtype])


@pytest.mark.parametrize("layout", ["F", "step 2", "negative strides", "tanh(F)"])
@pytest.mark.parametrize("shape", [(8, 40), (40, 8), (300, 1000)], ids=["wide", "narrow", "sweep"])
def test_leaf_gradient_through_a_view_of_the_logits(layout, shape):
    """The leaf's .grad after backward() (the gradient goes on through the view): fused
    equals composed. (300, 1000) float64 is over the block size: the real blocked sweep."""
    values = np.random.default_rng(7).standard_normal(shape)
    target = np.arange(shape[0]) % shape[1]
    grads = []
    for fused in (True, False):
        leaf, logits = laid_out(values, layout)
        ag.cross_entropy(logits, target, fused=fused).backward()
        grads.append(leaf.grad)
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12, atol=1e-15)
    if layout == "F":
        np.testing.assert_allclose(grads[0].T, reference(values, target)[1], rtol=1e-12,
                                   atol=1e-15)


def test_transposed_logits_reported_case_matches_torch():
    """The reported case: s.T of a (40, 8) leaf, 40 classes, 8 rows, mean."""
    S = np.random.default_rng(0).standard_normal((40, 8))
    s = ag.tensor(S, requires_grad=True)
    ag.cross_entropy(s.T, np.arange(8)).backward()
    expected = reference(S.T, np.arange(8))[1].T
    np.testing.assert_allclose(s.grad, expected, rtol=1e-12, atol=1e-15)
    torch = pytest.importorskip("torch")
    t = torch.tensor(S, requires_grad=True)
    torch.nn.functional.cross_entropy(t.T, torch.arange(8)).backward()
    np.testing.assert_allclose(s.grad, t.grad.numpy(), rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------------------
# Class indices of every integer dtype
# ---------------------------------------------------------------------------

SIGNED = (np.int8, np.int16, np.int32, np.int64)
UNSIGNED = (np.uint8, np.uint16, np.uint32, np.uint64)


def class_counts(dtype):
    """Class counts for targets of ``dtype``: a few, and for 8 and 16 bits the counts past
    the points where -100 and -1 read as unsigned (2**bits - 100, 2**bits - 1) are < C."""
    bits = np.dtype(dtype).itemsize * 8
    if bits > 16:
        return [5, 300]
    wrap = 2**bits
    return [5, 2 ** (bits - 1), wrap - 99, wrap, wrap + 44]


def index_cases(dtypes):
    return [(dtype, classes, logits_dtype) for dtype in dtypes for classes in class_counts(dtype)
            for logits_dtype in (np.float32, np.float64)]


def case_id(case):
    dtype, classes, logits_dtype = case
    return f"{np.dtype(dtype).name}-{classes}-{np.dtype(logits_dtype).name}"


def random_logits(rows, classes, dtype, seed=0):
    """(rows, classes) logits. With 65,580 classes 3 float32 rows stay under the block size
    (the lean path) and float64 ones go over it (the blocked sweep)."""
    return np.random.default_rng(seed).standard_normal((rows, classes)).astype(dtype)


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
@pytest.mark.parametrize("case", index_cases(SIGNED), ids=case_id)
@settings(max_examples=10)
@given(data=st.data())
def test_negative_class_index_is_rejected_for_every_signed_dtype(case, fused, data):
    """A negative target that is not ``ignore_index`` is an error, however many classes
    (int8 -100 with 300 classes used to be read as class 156 ... and -1 as class 299)."""
    dtype, classes, logits_dtype = case
    limits = np.iinfo(dtype)
    rows = data.draw(st.integers(1, 3))
    ignore_index = data.draw(st.sampled_from([-100, -1, 0]))
    value = data.draw(st.integers(int(limits.min), -1).filter(lambda v: v != ignore_index))
    position = data.draw(st.integers(0, rows - 1))
    target = np.zeros(rows, dtype)
    target[position] = value
    with pytest.raises(ValueError) as raised:
        ag.cross_entropy(random_logits(rows, classes, logits_dtype), target,
                         ignore_index=ignore_index, fused=fused)
    assert f"target[{position}] = {value}" in str(raised.value)
    assert f"{classes} classes" in str(raised.value)


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
@pytest.mark.parametrize("case", index_cases(SIGNED + UNSIGNED), ids=case_id)
@settings(max_examples=10)
@given(data=st.data())
def test_ignore_index_and_large_classes_for_every_integer_dtype(case, fused, data):
    """Targets of any integer dtype, ``ignore_index`` -100, -1, a class, or the dtype's
    largest value, classes up to the largest the dtype holds: the loss and gradient of
    the reference (ignored rows: zero gradient), the same as with int64 targets."""
    dtype, classes, logits_dtype = case
    limits = np.iinfo(dtype)
    rows = 3
    ignore_index = data.draw(st.sampled_from([-100, -1, 0, int(limits.max)]))
    largest_class = min(classes - 1, int(limits.max))
    choices = sorted({0, largest_class, largest_class // 2})
    if limits.min <= ignore_index <= limits.max:
        choices.append(ignore_index)
    values = data.draw(st.lists(st.sampled_from(choices), min_size=rows, max_size=rows))
    assume(any(v != ignore_index for v in values))  # "mean" over nothing is NaN
    target = np.array(values, dtype)
    reduction = data.draw(st.sampled_from(REDUCTIONS))
    logits = random_logits(rows, classes, logits_dtype)
    x = ag.tensor(logits, requires_grad=True)
    loss = ag.cross_entropy(x, target, ignore_index=ignore_index, reduction=reduction,
                            fused=fused)
    loss.backward(None if loss.ndim == 0 else np.ones(rows, logits_dtype))
    expected_loss, expected_gradient = reference(logits, target, ignore_index=ignore_index,
                                                 reduction=reduction)
    tolerance = TOLERANCE[np.dtype(logits_dtype)]
    np.testing.assert_allclose(loss.data, expected_loss, **tolerance)
    np.testing.assert_allclose(x.grad, expected_gradient, **tolerance)
    ignored = target == ignore_index
    assert not x.grad[ignored].any()
    as_int64 = np.where(ignored, -100, target.astype(np.int64))  # kept entries are classes
    with_int64 = ag.cross_entropy(logits, as_int64, reduction=reduction, fused=fused)
    np.testing.assert_allclose(loss.data, with_int64.data, **tolerance)


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
@pytest.mark.parametrize("dtype", SIGNED + UNSIGNED)
def test_class_index_at_the_class_count_is_rejected_for_every_dtype(dtype, fused):
    """target == C (and the dtype's largest value) is out of range, also next to ignored rows."""
    classes = 100
    for value in (classes, int(np.iinfo(dtype).max)):
        target = np.array([1, value, 2], dtype)
        for ignore_index in (-100, 1):
            with pytest.raises(ValueError, match=rf"target\[1\] = {value} "):
                ag.cross_entropy(random_logits(3, classes, np.float64), target,
                                 ignore_index=ignore_index, fused=fused)


def test_int8_reported_case():
    """The report: int8 [5, -100, 7] with 300 classes ignores row 1 (no gradient on row 0,
    class 200 = -100 + 256 + ...), and [5, -1, 7] is an error, not class 299."""
    logits = random_logits(3, 300, np.float64)
    x = ag.tensor(logits, requires_grad=True)
    loss = ag.cross_entropy(x, np.array([5, -100, 7], np.int8))
    loss.backward()
    expected_loss, expected_gradient = reference(logits, np.array([5, -100, 7]))
    np.testing.assert_allclose(loss.item(), expected_loss, rtol=1e-12)
    np.testing.assert_allclose(x.grad, expected_gradient, rtol=1e-10, atol=1e-15)
    assert not x.grad[1].any()
    with pytest.raises(ValueError, match=r"target\[1\] = -1 "):
        ag.cross_entropy(logits, np.array([5, -1, 7], np.int8))


# ---------------------------------------------------------------------------
# float16: more rows than float16 can count
# ---------------------------------------------------------------------------

FLOAT16_CASES = {
    # name: (logits shape, scale of the logits, options); 70,000 > 65,504, float16's max
    "lean narrow": ((70000, 3), 1.0, {}),
    "lean narrow, ignored rows": ((70000, 7), 1.0, {"ignore": True}),
    "sweep, exp directly": ((70000, 40), 1.0, {}),
    "sweep, shifted": ((70000, 40), 4.0, {}),
    "weight": ((70000, 3), 1.0, {"weight": np.array([0.5, 1.0, 2.0], np.float16)}),
    "label smoothing": ((70000, 3), 1.0, {"label_smoothing": 0.2}),
    "probabilities": ((70000, 3), 1.0, {"probabilities": True}),
    "k-dim": ((35000, 3, 2), 1.0, {}),
}


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", FLOAT16_CASES)
def test_float16_loss_over_more_rows_than_float16_can_count(name, reduction, fused):
    """The mean of 70,000 float16 row losses: the count (and the sum of the losses, about
    77,000) overflow float16, so both are formed in a wider type, as np.mean does, and
    only the loss is returned in float16. Values and gradients against float64."""
    shape, scale, options = FLOAT16_CASES[name]
    options = dict(options)
    rng = np.random.default_rng(5)
    logits = (rng.standard_normal(shape) * scale).astype(np.float16)
    positions = shape[:1] + shape[2:]
    if options.pop("probabilities", False):
        target = rng.dirichlet(np.ones(shape[1]), positions[0]).astype(np.float16)
    else:
        target = rng.integers(0, shape[1], positions)
        if options.pop("ignore", False):
            target[::3] = -100
    x = ag.tensor(logits, requires_grad=True)
    # No float16 overflow on the way; a sum of about 77,000 is inf in float16, rightly.
    with np.errstate(over="ignore" if reduction == "sum" else "raise", invalid="raise"):
        loss = ag.cross_entropy(x, target, reduction=reduction, fused=fused, **options)
        loss.backward(None if loss.ndim == 0 else np.ones(loss.shape, np.float16))
    expected_loss, expected_gradient = reference(logits, target, reduction=reduction, **options)
    assert loss.dtype == np.float16 and x.grad.dtype == np.float16
    # Tolerances from float16's unit roundoff u = 2**-11 (11 significant bits) and its
    # subnormal spacing 2**-24. The gradient entries of the mean, about 1e-5, are
    # subnormals: within a few spacings. Row losses and the "sum"/"none" gradients are
    # float16 arithmetic on the shifted logits: within a few roundings of the operands.
    u, subnormal = 2.0**-11, 2.0**-24
    weight = options.get("weight")
    largest_weight = 1.0 if weight is None else float(np.max(weight))
    if reduction == "mean":
        assert np.isfinite(loss.item())
        np.testing.assert_allclose(loss.item(), expected_loss, rtol=4 * u)
        np.testing.assert_allclose(x.grad, expected_gradient, rtol=0, atol=4 * subnormal)
        return
    if reduction == "sum":  # about 77,000: inf in float16, as the float64 sum cast to it
        with np.errstate(over="ignore"):
            np.testing.assert_array_equal(loss.data, np.float16(expected_loss))
    else:
        moved = np.moveaxis(logits.astype(np.float64), 1, -1)
        operands = np.abs(moved - moved.max(axis=-1, keepdims=True)).max(axis=-1)
        operands += np.log(shape[1]) + 1
        np.testing.assert_array_less(np.abs(loss.data - expected_loss),
                                     8 * u * largest_weight * operands)
    np.testing.assert_allclose(x.grad, expected_gradient, rtol=0, atol=8 * u * largest_weight)


# ---------------------------------------------------------------------------
# Confident rows: a loss -log p is never negative
# ---------------------------------------------------------------------------

CONFIDENT_PATHS = ("narrow", "wide", "sweep", "weights", "ignore_index", "k-dim", "smoothing",
                   "probabilities")


@st.composite
def confident_cases(draw, path):
    """(logits, target, options, block_bytes): rows whose target logit leads the others by
    a drawn margin, so p[target] is within a few ulps of 1 and the loss is tiny. The
    margins stay where the sweep exponentiates blocks directly (row sums below
    sqrt(max): about 43 in float32), and sometimes go beyond (shifted blocks)."""
    dtype = np.dtype(draw(st.sampled_from([np.float32, np.float64])))
    rows = draw(st.integers(1, 64))
    if path == "narrow":
        classes = draw(st.integers(2, fused_module._NARROW_CLASSES))
    elif path == "wide":
        classes = draw(st.integers(fused_module._NARROW_CLASSES + 1, 80))
    else:
        classes = draw(st.integers(2, 60))
    direct_limit = 40.0 if dtype == np.float32 else 300.0
    margin = draw(st.floats(5.0, direct_limit) | st.floats(direct_limit, 2 * direct_limit))
    shape = (rows, classes, 2) if path == "k-dim" else (rows, classes)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    logits = rng.uniform(-3, 3, shape)
    positions = shape[:1] + shape[2:]
    target = rng.integers(0, classes, positions)
    np.put_along_axis(logits, np.expand_dims(target, 1),
                      np.take_along_axis(logits, np.expand_dims(target, 1), 1) + margin, 1)
    logits = logits.astype(dtype)
    options = {}
    if path == "weights":
        options["weight"] = rng.uniform(0, 3, classes).astype(dtype)
    if path == "ignore_index":
        target[1::3] = -100  # never every row: "mean" over nothing is NaN
    if path == "smoothing":
        options["label_smoothing"] = draw(st.sampled_from([1e-6, 0.01, 0.5]))
    if path == "probabilities":
        target = np.moveaxis(np.eye(classes, dtype=dtype)[target], -1, 1)
    block_bytes = None
    if path == "sweep":
        block_bytes = draw(st.sampled_from([1, 64 * dtype.itemsize, 1000]))
    elif path not in ("narrow", "wide"):
        block_bytes = draw(st.sampled_from([None, 64 * dtype.itemsize]))
    return logits, target, options, block_bytes


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
@pytest.mark.parametrize("path", CONFIDENT_PATHS)
@given(data=st.data())
def test_confident_losses_are_never_negative(path, fused, data):
    """Every row loss (reduction="none") is >= 0, and so are "mean" and "sum"; each row
    loss is as close to the float64 one as the dtype allows: a few units of round-off u
    of the logits' magnitude (log of a rounded row sum, z - max). The direct exp(z) of
    the blocked sweep used to give log(sum) - z[target] < 0 for about half such rows."""
    logits, target, options, block_bytes = data.draw(confident_cases(path))
    u = np.finfo(logits.dtype).eps / 2
    x = ag.tensor(logits)
    rows = cross_entropy_with_blocks(x, target, {**options, "reduction": "none"}, block_bytes,
                                     fused).data
    assert rows.dtype == logits.dtype
    assert (rows >= 0).all(), f"negative row losses: {rows[rows < 0]}"
    exact = reference(logits, target, reduction="none", **options)[0]
    largest_weight = float(np.max(options.get("weight", 1.0)))
    # -log p of any class is at most 2 max|z| + log C: the size of what is rounded.
    scale = 1 + 2 * np.abs(logits).max(axis=1).astype(np.float64) + np.log(logits.shape[1])
    row_bound = 16 * u * largest_weight * scale
    np.testing.assert_array_less(np.abs(rows - exact), row_bound)
    for reduction, bound in (("mean", 16 * u * scale.max()), ("sum", row_bound.sum())):
        value = cross_entropy_with_blocks(x, target, {**options, "reduction": reduction},
                                          block_bytes, fused).item()
        assert value >= 0
        expected = reference(logits, target, reduction=reduction, **options)[0]
        assert abs(value - expected) <= bound  # a weighted mean of the rows' -log p


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
def test_confident_float32_reported_case(fused):
    """The report: 8192 x 40 float32 (over the block size: the blocked sweep), confident
    rows. The mean was -1.2e-8, with 60% of the rows negative."""
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((8192, 40))
    target = rng.integers(0, 40, 8192)
    logits[np.arange(8192), target] += 25
    logits = logits.astype(np.float32)
    rows = ag.cross_entropy(logits, target, reduction="none", fused=fused).data
    mean = ag.cross_entropy(logits, target, fused=fused).item()
    assert (rows >= 0).all() and mean >= 0
    exact = reference(logits, target)[0]
    composed = ag.cross_entropy(logits, target, fused=False).item()
    # no less accurate than the composed float32 loss (which never goes below 0)
    assert abs(mean - exact) <= abs(composed - exact) + 4 * 2.0**-24 * exact


# ---------------------------------------------------------------------------
# softmax, log_softmax, logsumexp: the axis
# ---------------------------------------------------------------------------

SOFTMAX_OPS = {"softmax": ag.softmax, "log_softmax": ag.log_softmax, "logsumexp": ag.logsumexp}
BAD_AXES = [((2, 3), 2), ((2, 3), -3), ((2, 3), 5), ((2, 3), (0, 2)), ((4,), 1), ((4,), -2),
            ((2, 3, 4), 3), ((), 1), ((), -2), ((), (0,))]


@pytest.mark.parametrize("shape, axis", BAD_AXES)
@pytest.mark.parametrize("name", SOFTMAX_OPS)
def test_out_of_range_axis_names_the_op_the_axis_and_the_shape(name, shape, axis):
    """An AxisError (a ValueError and IndexError, as NumPy's) in our words, not NumPy's
    from deep inside fromnumeric. A 0-d tensor has no axis to name in a tuple, as in
    np.sum(np.float64(1), axis=(0,))."""
    x = ag.tensor(np.ones(shape), requires_grad=True)
    with pytest.raises(np.exceptions.AxisError) as raised:
        SOFTMAX_OPS[name](x, axis=axis)
    message = str(raised.value)
    assert message.startswith(f"{name}: ")
    assert repr(axis) in message and str(shape) in message
    assert "out of bounds for array of dimension" not in message  # NumPy's wording


@pytest.mark.parametrize("axis", [1.0, "0", [0], True, (0, 1.5)])
@pytest.mark.parametrize("name", SOFTMAX_OPS)
def test_axis_of_the_wrong_type_names_the_op(name, axis):
    with pytest.raises(TypeError, match=rf"^{name}: axis must be"):
        SOFTMAX_OPS[name](ag.tensor(np.ones((2, 3))), axis=axis)


@pytest.mark.parametrize("name", SOFTMAX_OPS)
def test_repeated_axis_names_the_op(name):
    with pytest.raises(ValueError, match=rf"^{name}: axis \(1, -1\) .*repeat"):
        SOFTMAX_OPS[name](ag.tensor(np.ones((2, 3))), axis=(1, -1))


ZERO_D = {  # value and gradient at x = 2.5, for axis 0 and -1 as for axis=None
    "softmax": (1.0, 0.0),       # exp(x) / exp(x)
    "log_softmax": (0.0, 0.0),   # x - x
    "logsumexp": (2.5, 1.0),     # log(exp(x))
}


@pytest.mark.parametrize("axis", [0, -1, None])
@pytest.mark.parametrize("name", SOFTMAX_OPS)
def test_zero_dimensional_input_with_axis_0_or_minus_1(name, axis):
    """NumPy's reductions take axis 0 and -1 on a 0-d array (np.sum(np.float64(2.5),
    axis=0) is 2.5), and so does PyTorch (torch.softmax(tensor(2.5), dim=0) is 1): the
    softmax of a single number is 1, its log 0, its logsumexp the number. 0-d result."""
    x = ag.tensor(2.5, requires_grad=True)
    kwargs = {"keepdims": True} if name == "logsumexp" else {}
    out = SOFTMAX_OPS[name](x, axis=axis, **kwargs)
    value, gradient = ZERO_D[name]
    assert out.shape == () and out.item() == value
    out.backward()
    assert x.grad.shape == () and x.grad == gradient


@pytest.mark.parametrize("axis", [0, -1])
@pytest.mark.parametrize("name", SOFTMAX_OPS)
def test_zero_dimensional_input_matches_torch(name, axis):
    x = ag.tensor(2.5, requires_grad=True)
    out = SOFTMAX_OPS[name](x, axis=axis)
    out.backward()
    assert (out.item(), x.grad) == ZERO_D[name]  # the known values, with or without torch
    torch = pytest.importorskip("torch")
    t = torch.tensor(2.5, dtype=torch.float64, requires_grad=True)
    expected = getattr(torch, name)(t, axis)
    expected.backward()
    assert out.item() == expected.item() and x.grad == t.grad.item()
