"""Fused primitives with their own VJP: softmax cross-entropy.

Every option of ``cross_entropy`` (class weights, ignored positions, label smoothing,
soft targets) comes down to an *effective target* ``Y~`` of shape (M, C) and a
normaliser. With ``p = softmax(z)`` row by row,

    loss_m = -sum_c Y~[m, c] log p[m, c] = (sum_c Y~[m, c]) log Z_m - sum_c Y~[m, c] z'[m, c]
    dloss_m / dz[m, c] = p[m, c] * sum_c' Y~[m, c'] - Y~[m, c]

where ``z' = z - max`` and ``Z_m = sum_c exp(z'[m, c])``. The second line is the
classic ``p - y`` once ``Y~`` sums to 1; it is never assumed to.

``Y~`` is described, not built: index targets keep one class and one weight per row
(plus, with label smoothing, one row vector ``spread`` shared by every kept row), so
no dense one-hot is ever made. Probability targets carry ``Y~`` itself.

Speed: the forward makes one pass over the logits, a cache-sized block of rows at a
time: it writes ``z - max`` into one new buffer, reads what the loss needs, exponentiates
in place and, when a backward pass may follow, finishes the block as the gradient for
a unit cotangent. The VJP only scales that buffer by ``g`` (nothing to do for the usual
``g = 1``) and hands it over; a second backward through a retained graph recomputes it.
Under ``create_graph`` the VJP is built from Tensor operations instead, so it can be
differentiated again.

``index_cross_entropy`` is the same primitive for the common case (2-D logits, class
indices, no weight, no smoothing) at small and medium sizes, where fixed per-call costs
dominate: no effective target is built unless a higher-order or repeated backward asks
for one, no blocking, and for up to 32 classes the work runs classes-first, because NumPy
reduces along short rows slowly.
"""

from __future__ import annotations

import functools
import math
import numbers
from typing import NamedTuple, Optional

import numpy as np

from autograd import tape
from autograd.primitives import _as_tensor, _ones, describe, scatter_add
from autograd.tensors import Tensor

__all__ = ["EffectiveTarget", "accumulator", "check_loss_options", "index_cross_entropy",
           "index_target",
           "probability_target", "reduce_losses", "softmax_cross_entropy", "stable_shift"]


def accumulator(dtype):
    """The dtype in which to sum and divide values of floating ``dtype``: float32 for
    float16, else ``dtype`` itself (np.mean's rule). float16 stops at 65,504, so a
    float16 count or sum of more rows than that would be inf, and the mean NaN or 0.
    """
    dtype = np.dtype(dtype)
    return _FLOAT32 if dtype.itemsize < 4 else dtype


_FLOAT32 = np.dtype(np.float32)


REDUCTIONS = ("mean", "sum", "none")


def check_loss_options(op, reduction, label_smoothing, ignore_index):
    """The options ``cross_entropy`` and ``linear_cross_entropy`` share, checked in the
    user's terms (``op`` names the function): a TypeError or ValueError, or nothing."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, numbers.Real):
        raise TypeError(f"{op}: label_smoothing must be a number in [0, 1], "
                        f"got {label_smoothing!r}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing!r}")
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, numbers.Integral):
        raise TypeError(f"{op}: ignore_index must be an int, got {ignore_index!r}")


def stable_shift(data, axis):
    """The maximum of ``data`` along ``axis`` (keepdims), with non-finite maxima set to 0.

    Subtracting it keeps ``exp`` from overflowing. A slice whose maximum is ``±inf`` or
    NaN is shifted by 0 so that ``inf - inf`` does not turn a ``-inf`` row into NaN.
    """
    shift = np.max(data, axis=axis, keepdims=True, initial=-np.inf)
    if not np.isfinite(shift).all():
        shift = np.where(np.isfinite(shift), shift, 0).astype(shift.dtype, copy=False)
    return shift


class EffectiveTarget(NamedTuple):
    """``Y~`` (M, C) for M rows of C classes, and the ``"mean"`` denominator.

    Index targets set ``classes``/``class_weight`` (``Y~[m, classes[m]] += class_weight[m]``)
    and, with label smoothing, ``spread`` (``Y~[m, :] += spread`` on kept rows).
    Probability targets set ``dense`` (``Y~`` itself).
    """

    keep: np.ndarray                    # (M,) bool: False where the target is ignored
    total: np.ndarray                   # (M,) sum_c Y~[m, c]
    norm: object                        # denominator of "mean" (a float64 NumPy scalar)
    classes: Optional[np.ndarray] = None        # (M,) class per row (0 where ignored)
    class_weight: Optional[np.ndarray] = None   # (M,) Y~ at that class (0 where ignored)
    spread: Optional[np.ndarray] = None         # (C,) added to every kept row
    dense: Optional[np.ndarray] = None          # (M, C)


def index_target(classes, num_classes, weight=None, ignore_index=-100, label_smoothing=0.0,
                 dtype=np.float64):
    """``Y~`` for class indices (M,): ``(1-eps) w[y] onehot(y) + eps/C w``, 0 where ignored.

    ``norm`` is the sum of ``w[y]`` over kept rows (their count without ``weight``),
    PyTorch's denominator for both the plain and the smoothing term, in float64 (a
    float16 count overflows past 65,504 rows).

    >>> index_target(np.array([2, -100]), 3).class_weight
    array([1., 0.])
    """
    dtype = np.dtype(dtype)
    keep = classes != ignore_index
    safe_classes = np.where(keep, classes, 0).astype(np.intp, copy=False)
    target_weight = keep.astype(dtype) if weight is None else np.where(keep, weight[safe_classes], 0)
    target_weight = target_weight.astype(dtype, copy=False)
    norm = target_weight.sum(dtype=np.float64)
    class_weight = target_weight
    spread = None
    total = class_weight
    if label_smoothing:
        class_weight = dtype.type(1 - label_smoothing) * target_weight
        class_weights = np.ones(num_classes, dtype) if weight is None else weight
        spread = (dtype.type(label_smoothing / num_classes) * class_weights).astype(dtype)
        total = class_weight + keep * spread.sum(dtype=dtype)
    return EffectiveTarget(keep=keep, total=total, norm=norm, classes=safe_classes,
                           class_weight=class_weight, spread=spread)


def probability_target(probabilities, weight=None, label_smoothing=0.0, dtype=np.float64):
    """``Y~ = w * ((1-eps) y + eps/C)`` for probability targets (M, C); ``norm`` is M (float64).

    >>> probability_target(np.array([[0.5, 0.5]])).total
    array([1.])
    """
    dtype = np.dtype(dtype)
    y = probabilities.astype(dtype, copy=False)
    rows, num_classes = y.shape
    if label_smoothing:
        y = dtype.type(1 - label_smoothing) * y + dtype.type(label_smoothing / num_classes)
    if weight is not None:
        y = y * weight.astype(dtype, copy=False)
    return EffectiveTarget(keep=np.ones(rows, bool), total=y.sum(axis=1), norm=np.float64(rows),
                           dense=y)


# Rows per block: a block of this many bytes stays in cache while it is shifted, read,
# exponentiated, summed and (if needed) turned into the gradient, instead of one pass
# over the whole array for each step.
_NARROW_CLASSES = 32  # up to here classes-first is faster (measured at 128 rows: 2..100 classes)
_BLOCK_BYTES = 1 << 20  # measured best among 64 KiB .. 4 MiB (and unblocked) on 4096x1000, 64x50000


def _sweep(z, target, row_factor=None):
    """One blocked pass over logits (M, C): (buffer, row losses before ``keep``, float64).

    Per block of rows: the exponentials go into the buffer and are summed, and the row
    losses ``total * log(sum) - dot`` are formed, with ``dot = sum_c Y~[m, c] x[m, c]``
    for the logits ``x`` that were exponentiated. With ``row_factor`` the block is then
    overwritten, still in cache, with the gradient for a unit cotangent,
    ``row_factor * (p * total - Y~)``, so the VJP only has to scale it. Without it, the
    buffer is a block-sized scratch (the forward of an evaluation needs no gradient).

    Class-index targets without label smoothing take ``exp(z)`` as it is
    (``_direct_sweep``) wherever every row sum of a block lies in [sqrt(tiny),
    sqrt(max)] of the dtype (row maxima within about ±43 in float32): that skips the
    pass finding the row maxima and the pass subtracting them. Any other block (or
    target) is shifted by its row maxima first (``stable_shift``), which keeps exp
    finite for any logits.

    No row loss of a target ``Y~ >= 0`` comes out below 0: shifted, ``total * log(sum)``
    is >= 0 (the row maximum adds exp(0) = 1 to the sum) and ``dot`` <= 0, so nothing
    cancels; directly, ``-log p[y]`` is ``log(sum) - log(exp(z[y]))``, and the rounded sum
    is at least the rounded ``exp(z[y])`` in it (see ``_direct_losses``).
    """
    rows, num_classes = z.shape
    step = max(1, _BLOCK_BYTES // max(1, num_classes * z.itemsize))
    # C order: a block of rows is contiguous in cache
    buffer = np.empty(z.shape if row_factor is not None else (min(step, rows), num_classes),
                      z.dtype)
    losses = np.empty(rows)
    starts = range(0, rows, step)
    if target.dense is None and target.spread is None and num_classes and rows:
        starts = _direct_sweep(z, target, row_factor, buffer, losses, step)
    for start in starts:  # shifted by the row maxima: blocks the direct sweep left
        block = slice(start, start + step)
        values = buffer[block] if row_factor is not None else buffer[:len(z[block])]
        part = target if step >= rows else _rows_of(target, block)  # one block: as it is
        np.subtract(z[block], stable_shift(z[block], 1), out=values)
        dots = _target_dot(part, values)
        np.exp(values, out=values)
        sums = values.sum(axis=1)
        losses[block] = part.total * np.log(sums, dtype=np.float64) - dots
        if row_factor is not None:
            _gradient_in_place(values, sums, row_factor[block], part)
    return buffer, losses


def _direct_sweep(z, target, row_factor, buffer, losses, step):
    """``_sweep`` for class indices without smoothing, with ``exp(z)`` unshifted: fills
    ``losses`` and (with ``row_factor``) ``buffer``, and returns the starts of the blocks
    that a row sum out of range sends to the shifted way (usually none).

    Per block, while it is in cache, about 8 NumPy calls on whole blocks: ``exp``, the
    row sums (``_row_summer``: BLAS, 2-3 calls), the gather of ``exp(z[y])``, and for the
    gradient the row factors ``row_factor * total / sum``, one scaling by them and the
    one-hot term at the targets. The losses are formed once for all rows after the
    loop. (Before, some 30 calls per block, ~0.5 ms of Python over 16 blocks at
    4096x1000 float32; and NumPy's row sums cost 3x BLAS's.)
    """
    rows, num_classes = z.shape
    sums = np.empty(rows, z.dtype)
    picked_exp = np.empty(rows, z.dtype)
    # The targets' flat positions in their block (C order: class y of row m at m * C + y)
    local = np.add(_steps(rows, num_classes), target.classes, dtype=np.intp, casting="unsafe")
    if rows > step:
        local -= np.arange(rows) // step * (step * num_classes)
    add_rows = _row_summer(num_classes, z.dtype, min(step, rows))
    if row_factor is not None:
        # r * total in at least float32: the factor of a mean over many float16 rows
        # (1/70,000 divided by a row sum) would be a subnormal with a bit or two left.
        scale = row_factor.astype(accumulator(z.dtype), copy=False) * target.total
        factors = np.empty_like(scale)[:, None]
        one_hot = row_factor * target.class_weight
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # out of range:
        for start in range(0, rows, step):                               # redone below
            block = slice(start, start + step)
            values = buffer[block] if row_factor is not None else buffer[:len(sums[block])]
            np.exp(z[block], out=values)
            add_rows(values, sums[block])
            flat_values = values.reshape(-1)
            picked_exp[block] = flat_values[local[block]]
            if row_factor is not None:
                np.divide(scale[block, None], sums[block, None], out=factors[block])
                np.multiply(values, factors[block], out=values)
                flat_values[local[block]] -= one_hot[block]
        info = _finfo(z.dtype)
        in_range = info.sqrt_tiny <= sums.min() and sums.max() <= info.sqrt_max  # NaN: False
        losses[:] = _direct_losses(target, z, picked_exp, sums)
    if in_range:
        return ()
    bad = ~((info.sqrt_tiny <= sums) & (sums <= info.sqrt_max))
    return [start for start in range(0, rows, step) if bad[start:start + step].any()]


class _Limits(NamedTuple):
    tiny: object
    sqrt_tiny: object
    sqrt_max: object


@functools.lru_cache(maxsize=None)
def _finfo(dtype):
    """The smallest normal number of ``dtype`` and the range [sqrt(tiny), sqrt(max)] in
    which a row sum lets exp(z) be used unshifted (see ``_sweep``)."""
    info = np.finfo(dtype)
    return _Limits(info.tiny, np.sqrt(info.tiny), np.sqrt(info.max))


def _row_summer(num_classes, dtype, rows):
    """``add_rows(values, out)``: the row sums of a C-ordered block (r, C), r <= ``rows``,
    into ``out`` (r,), faster than NumPy's pairwise sum and at least as accurate.

    ``np.add.reduce(values, axis=1)`` costs 3x BLAS's ``values @ ones`` at 1000 classes,
    but BLAS keeps a few dozen running sums, each of C/32 or so terms: next to a large
    term (a confident row) the small ones are rounded away, 85 u at 1000 classes and
    100-340 u at 4096-50,000 where the pairwise sum errs by 8-14 u (u = half an ulp;
    measured in float32 on rows of one 1 and terms just under u). So a row is added in
    BLAS products over runs of at most ``_RUN`` = 64 entries: C = k1 * k2 * ... with
    every k <= 64 (the largest divisor, a multiple of 8 first: 1000 = 40 * 25, 50,000 =
    40 * 50 * 25), summing groups of k1, then groups of k2 of those sums, and so on:
    4-8 u. On a block in cache that takes 0.6x the pairwise sum's time; right after exp
    wrote the block, 0.7-0.9x (measured at 4096x1000 and 64x50000 float32).
    Rows of up to 64 classes are one product; C that does not split so (a prime factor
    above 64, as 50,257) and dtypes BLAS does not have (float16) take ``np.add.reduce``.
    """
    runs = _summing_plan(num_classes, dtype)
    if runs is None:
        return lambda values, out: np.add.reduce(values, axis=1, out=out)
    ones = [_ones(run, dtype) for run in runs]
    # The partial sums of each stage but the last go, in turn, to the front of one
    # scratch (the first stage's size) and to the part after it (the second stage's), so
    # that no stage writes where it reads.
    first = rows * num_classes // runs[0]
    scratch = np.empty(first + first // runs[1] if len(runs) > 2 else first, dtype)

    def add_rows(values, out):
        part = values.reshape(-1)
        offset = 0
        for run, vector in zip(runs[:-1], ones):
            size = part.size // run
            target = scratch[offset:offset + size]
            part = np.matmul(part.reshape(-1, run), vector, out=target)
            offset = first if offset == 0 else 0
        np.matmul(part.reshape(-1, runs[-1]), ones[-1], out=out)

    return add_rows


@functools.lru_cache(maxsize=64)
def _summing_plan(num_classes, dtype):
    """The run lengths of ``_row_summer``'s stages, or None (NumPy's pairwise sum)."""
    if dtype.char not in "fd" or not dtype.isnative:
        return None
    runs, left = [], num_classes
    while left > _RUN:
        divisors = [d for d in range(_RUN, 7, -1) if left % d == 0]
        if not divisors:
            return None
        # The first stage reads the whole row: BLAS is fastest on runs of a multiple of 8
        # (measured after exp at 1000 classes: 40 * 25 1.33x np.exp alone, 50 * 20 1.45x).
        run = next((d for d in divisors if d % 8 == 0), divisors[0]) if not runs else divisors[0]
        runs.append(run)
        left //= run
    runs.append(left)
    return tuple(runs)


_RUN = 64  # longest run of a row that one BLAS product adds up (see _row_summer)


def _rows_of(target, block):
    """The EffectiveTarget of the rows in ``block`` (``spread`` and ``norm`` are shared)."""
    return target._replace(**{name: getattr(target, name)[block]
                              for name in ("keep", "total", "classes", "class_weight", "dense")
                              if getattr(target, name) is not None})


def _direct_losses(target, z, exp_picked, sums):
    """Row losses ``w[y] * -log p[y]`` (M,) in float64 for logits z (M, C) exponentiated
    without a shift: ``exp_picked`` = exp(z[y]) and ``sums`` the row sums of exp(z),
    both rounded in z's dtype.

    ``-log p[y]`` is ``log(sum / exp(z[y]))``, with the same rounded ``exp(z[y])`` that
    went into the sum. In a confident row it is most of the sum, and its rounding error
    (up to an ulp) would otherwise stay in ``log(sum) - z[y]``, which is why that came
    out below 0 for about half of such float32 rows. This way the error cancels, the
    result is as accurate as the shifted form's, and since the rounded sum of
    non-negative terms is at least each of them, the quotient (formed in float64, where
    it loses nothing that matters) is >= 1 and the loss >= 0 (clamped as well, for a libm
    whose log(1 + tiny) were negative). Where exp(z[y]) is not a normal number (z[y] far
    below the row's maximum), its rounding is coarse; the loss there is large and
    ``log(sum) - z[y]`` is used.
    """
    tiny = _finfo(exp_picked.dtype).tiny
    # log(sum / exp(z[y])) in float64: the quotient of a sum and one of its terms is >= 1
    nll = np.divide(sums, np.maximum(exp_picked, tiny), dtype=np.float64)
    np.log(nll, out=nll)
    if exp_picked.min() < tiny:  # coarse: log(sum) - z[y] instead
        coarse = np.flatnonzero(exp_picked < tiny)
        nll[coarse] = (np.log(sums[coarse], dtype=np.float64)
                       - z[coarse, target.classes[coarse]].astype(np.float64))
    np.maximum(nll, 0, out=nll)
    nll = np.where(target.keep, nll, 0)  # an ignored row adds nothing, even next to -inf
    return target.class_weight * nll


def _target_dot(target, shifted):
    """sum_c Y~[m, c] * shifted[m, c] for every row, without building Y~."""
    if target.dense is not None:
        dot = np.einsum("mc,mc->m", target.dense, shifted)
    else:
        picked = shifted[np.arange(len(shifted)), target.classes]
        dot = target.class_weight * picked
        if target.spread is not None:
            dot += shifted @ target.spread
    return np.where(target.keep, dot, 0)  # an ignored row adds nothing, even next to -inf


def reduce_losses(losses, reduction, norm):
    """The loss from per-position ``losses``: as they are (``"none"``), summed (``"sum"``)
    or summed and divided by ``norm`` (``"mean"``; NaN with a zero gradient if ``norm`` is
    0, as PyTorch's 0/0, without a warning).

    The one reducer of both paths: ``losses`` is a Tensor on the composed path (the tape
    differentiates what is done here) and the fused primitive's float64 array of row
    losses on the fused path. Summed and divided in ``accumulator`` of their dtype
    (float32 for float16, as np.mean does: float16 overflows past 65,504), then cast
    back, so a Tensor loss keeps the logits' dtype (the cast's VJP takes the gradient back
    to it as well); the fused caller casts its float64 result itself.

    >>> reduce_losses(np.array([1.0, 2.0, 0.0]), "mean", 2)
    np.float64(1.5)
    """
    if reduction == "none":
        return losses
    dtype = losses.dtype
    wide = accumulator(dtype)
    if wide != dtype:
        losses = losses.astype(wide)
    total = losses.sum()
    if reduction == "mean":
        total = total * np.nan if norm == 0 else total / norm
    return total if wide == dtype else total.astype(dtype)


def _row_factor(target, reduction, dtype):
    """d(loss)/d(row loss) per row, before multiplying by the incoming cotangent ``g``."""
    keep = target.keep.astype(dtype)
    if reduction != "mean":
        return keep
    if target.norm == 0:  # the loss is NaN; ignored rows still get exactly zero gradient
        return np.where(target.keep, np.nan, 0).astype(dtype)
    return (target.keep / target.norm).astype(dtype)  # 1/norm in float64, rounded once


def softmax_cross_entropy(logits, target, reduction="mean"):
    """Fused softmax + cross-entropy of logits (M, C) against an ``EffectiveTarget``.

    Returns a 0-d tensor (``"mean"``, ``"sum"``) or one loss per row, shape (M,)
    (``"none"``). One node on the tape; its VJP is
    ``g * (p * sum_c Y~ - Y~) / norm`` (``norm`` only for ``"mean"``): the forward
    leaves it for ``g = 1`` in its one buffer, and the VJP scales that buffer in place.
    Use ``autograd.cross_entropy`` for the user-facing options; this is the primitive
    underneath (``index_cross_entropy`` its lean twin for the common case).

    >>> import autograd as ag
    >>> z = ag.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    >>> loss = softmax_cross_entropy(z, index_target(np.array([2]), 3))
    >>> loss.backward()
    >>> z.grad.round(3)                      # softmax(z) - onehot(2)
    array([[ 0.09 ,  0.245, -0.335]])
    """
    logits = _as_tensor(logits)
    if logits.ndim != 2:
        raise ValueError(f"softmax_cross_entropy: logits must be (M, C), got {describe(logits)}")
    dtype = logits.dtype
    row_factor = _row_factor(target, reduction, dtype)
    # Only compute the gradient if a backward pass can ask for it.
    needs_gradient = tape.is_grad_enabled() and logits.requires_grad
    gradient, row_losses = _sweep(logits.data, target, row_factor if needs_gradient else None)
    # Reduced in float64 (the row losses' dtype), returned in the logits' dtype.
    row_losses = np.where(target.keep, row_losses, 0)
    data = reduce_losses(row_losses, reduction, target.norm).astype(dtype)
    saved = [gradient] if needs_gradient else []

    def softmax_cross_entropy_vjp(g, out, z):
        if isinstance(g, Tensor) or isinstance(z, Tensor):
            return _differentiable_gradient(g, z, target, row_factor)
        if saved:  # first backward: the forward's buffer becomes the result
            return _scaled(saved.pop(), g)
        return _scaled(_sweep(z, target, row_factor)[0], g)  # again, through a retained graph

    return Tensor._from_op(data, (logits,), (softmax_cross_entropy_vjp,), "softmax_cross_entropy")


def index_cross_entropy(logits, classes, reduction="mean", keep=None):
    """``softmax_cross_entropy`` for the common case, with as few NumPy calls as possible.

    Logits (M, C) as a Tensor, ``classes`` (M,) integers already checked to lie in
    ``[0, C)`` wherever ``keep`` (M,) bool is True (``keep=None``: everywhere; at least
    one row must be kept), no weight, no label smoothing. Rows where ``keep`` is False
    are ignored, as ``ignore_index`` rows. Same values and gradients as
    ``softmax_cross_entropy`` with the matching ``index_target``, which it falls back
    to for large arrays (they gain from its cache blocking) and for rows whose maximum
    is not finite (they need its care).

    Steps: the targets' flat positions (``_flat_targets``), ``exp(z - max)`` into one
    buffer (``_exponentials``), the loss (``_index_loss``), and, if a backward may
    follow, the buffer turned into the gradient for a unit cotangent
    (``_index_gradient_in_place``), which the VJP hands over.

    >>> import autograd as ag
    >>> z = ag.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    >>> index_cross_entropy(z, np.array([2])).backward()
    >>> z.grad.round(3)                      # softmax(z) - onehot(2)
    array([[ 0.09 ,  0.245, -0.335]])
    """
    z = logits.data
    rows_count, num_classes = z.shape
    if z.nbytes > _BLOCK_BYTES:  # large: blocking pays (softmax_cross_entropy's sweep)
        classes = classes.astype(np.intp, copy=False)
        found = classes if keep is None else np.where(keep, classes, -1)
        return softmax_cross_entropy(
            logits, index_target(found, num_classes, ignore_index=-1, dtype=z.dtype), reduction)
    if keep is not None:
        classes = np.where(keep, classes, 0)  # ignored rows point at class 0
    # Reductions along short contiguous rows are slow in NumPy; with the classes on the
    # first axis they become element-wise passes over all rows, several times faster.
    narrow = num_classes <= _NARROW_CLASSES
    targets = _flat_targets(classes, rows_count, num_classes, narrow)

    def general_target():   # the EffectiveTarget of the general primitive, when needed
        starts = _steps(rows_count, 1 if narrow else num_classes)
        found = (targets - starts) // rows_count if narrow else targets - starts
        return index_target(found if keep is None else np.where(keep, found, -1),
                            num_classes, ignore_index=-1, dtype=z.dtype)

    exponentials = _exponentials(z, targets, narrow)
    if exponentials is None:  # a row maximum that is not finite
        return softmax_cross_entropy(logits, general_target(), reduction)
    buffer, flat, picked, sums = exponentials
    data, scale = _index_loss(picked, sums, keep, reduction, z.dtype)
    saved = []
    if tape.is_grad_enabled() and logits.requires_grad:
        _index_gradient_in_place(buffer, flat, sums, targets, keep, scale)
        saved.append(buffer.T if narrow else buffer)

    def index_cross_entropy_vjp(g, out, z):
        if saved and not (isinstance(g, Tensor) or isinstance(z, Tensor)):
            return _scaled(saved.pop(), g)  # first backward: the forward's buffer
        # Higher order, or again through a retained graph: the general primitive's path.
        target = general_target()
        row_factor = _row_factor(target, reduction, z.dtype)
        if isinstance(g, Tensor) or isinstance(z, Tensor):
            return _differentiable_gradient(g, z, target, row_factor)
        return _scaled(_sweep(z, target, row_factor)[0], g)

    return Tensor._from_op(data, (logits,), (index_cross_entropy_vjp,), "softmax_cross_entropy")


def _flat_targets(classes, rows_count, num_classes, narrow):
    """Flat positions (M,) of the target entries in the buffer: (C, M) if ``narrow``
    (class c of row m at c * M + m), else (M, C) (at m * C + c).

    1-D indexing is several times cheaper than 2-D. In the index dtype: a uint8 class
    times the row length would overflow. Being a new array, it also keeps the classes
    safe from later writes to the caller's array.
    """
    if narrow:
        targets = np.multiply(classes, rows_count, dtype=np.intp, casting="unsafe")
        targets += _steps(rows_count, 1)
        return targets
    return np.add(_steps(rows_count, num_classes), classes, dtype=np.intp, casting="unsafe")


def _exponentials(z, targets, narrow):
    """``exp(z - max)`` in one new C-ordered buffer ((C, M) if ``narrow``, else (M, C)):
    (buffer, its flat view, ``z - max`` at the targets (M,), the row sums), or None if a
    row maximum is inf or NaN (``softmax_cross_entropy``'s ``stable_shift`` handles those).

    The row sums are (M,) if ``narrow`` (they broadcast over the (C, M) buffer), else
    (M, 1). Each is >= 1: the row's maximum contributes exp(0).
    """
    class_axis = 0 if narrow else 1
    source = z.T.copy() if narrow else z   # narrow: a new C-ordered (C, M) array
    shift = np.maximum.reduce(source, axis=class_axis, keepdims=True)
    # The maxima's sum is not finite if one of them is inf or NaN (summed in float32 for
    # float16: 65,505 maxima near 1 would overflow float16 itself).
    wide = np.float32 if z.itemsize < 4 else None
    if not math.isfinite(np.add.reduce(shift, axis=None, dtype=wide)):
        return None
    # The buffer must be C-ordered whatever the logits' layout (z.T, z[::2], tanh(h.T)):
    # the flat target positions count in C order, and ``flat`` must be a view, so that
    # writing through it reaches the buffer (of an F-ordered array, reshape(-1) would
    # return a copy, and the gradient would silently miss its -onehot term).
    buffer = np.subtract(source, shift, out=source if narrow else None, order="C")
    flat = buffer.reshape(-1)
    picked = flat[targets]                 # z - max at the target
    np.exp(buffer, out=buffer)
    if narrow:
        ones = _ones(buffer.shape[0], buffer.dtype)
        sums = np.add.reduce(buffer, axis=0) if ones is None else ones @ buffer
    else:
        sums = np.add.reduce(buffer, axis=1, keepdims=True)
    return buffer, flat, picked, sums


def _index_loss(picked, sums, keep, reduction, dtype):
    """(the loss in the logits' ``dtype``, d(loss)/d(row loss) of a kept row).

    Row losses are ``log(sum) - (z - max)[y]``; log sums >= 0 and picked <= 0, so the
    difference adds magnitudes and nothing cancels. Sums over rows of float16 run in
    float32. A -inf logit gives p = 0, or an infinite loss if it is the target.
    """
    wide = np.float32 if dtype.itemsize < 4 else None
    log_sums = np.log(sums)
    kept = len(picked)
    if keep is None and reduction != "none":
        data = np.add.reduce(log_sums, axis=None, dtype=wide) - np.add.reduce(picked, dtype=wide)
    else:
        row_losses = log_sums.reshape(-1)
        row_losses -= picked
        if keep is not None:
            row_losses = np.where(keep, row_losses, row_losses.dtype.type(0))
            kept = int(np.count_nonzero(keep))
        data = row_losses if reduction == "none" else np.add.reduce(row_losses, dtype=wide)
    if reduction != "mean":
        return (data if wide is None or reduction == "none" else data.astype(dtype)), 1
    data = data / kept                     # a Python int keeps the (wide) dtype
    return (data if wide is None else data.astype(dtype)), 1 / kept


def _index_gradient_in_place(buffer, flat, sums, targets, keep, scale):
    """Turn ``buffer`` (exp(z - max)) into ``r * (p - onehot)`` for a unit cotangent, with
    the row factor ``r`` = ``scale`` on kept rows and 0 on ignored ones."""
    dtype = buffer.dtype.type
    if keep is None:
        row_scale = scale
        np.divide(scale, sums, out=sums)
    else:
        row_scale = np.where(keep, dtype(scale), dtype(0))
        np.divide(row_scale.reshape(sums.shape), sums, out=sums)
    buffer *= sums                         # row_scale * p
    flat[targets] -= row_scale             # row_scale * (p - onehot)


def _steps(count, step):
    """``arange(count) * step`` as an intp array not to be written to (short ones are
    kept for the next call: batches repeat their sizes)."""
    if count > 1 << 16:
        return np.arange(count, dtype=np.intp) * step
    return _kept_steps(count, step)


@functools.lru_cache(maxsize=32)
def _kept_steps(count, step):
    steps = np.arange(count, dtype=np.intp) * step
    steps.flags.writeable = False
    return steps


def _scaled(gradient, g):
    """``gradient`` for a unit cotangent, scaled in place by the actual cotangent ``g``."""
    if getattr(g, "ndim", 0):      # "none": one cotangent per row
        gradient *= g.reshape(-1, 1)
    elif g != 1:                   # a 0-d loss is usually seeded with exactly 1
        gradient *= g
    return gradient


def _gradient_in_place(buffer, row_sums, row_cotangent, target):
    """Overwrite ``buffer`` (exp(z - max), rows of a block) with ``r * (p * total - Y~)``.

    The row factor ``r * total / sum`` is formed in at least float32: in float16 the
    factor of a mean over many rows (1/70,000 divided by a row sum) is a subnormal with
    only a bit or two left, and it would spoil every gradient entry of its row.
    """
    if target.dense is None and target.spread is None:
        wide = row_cotangent.astype(accumulator(row_cotangent.dtype), copy=False)
        buffer *= (wide * target.total / row_sums)[:, None]
    else:
        buffer *= (target.total / row_sums)[:, None]   # p * total
        buffer -= target.dense if target.dense is not None else target.spread
        buffer *= row_cotangent[:, None]
    if target.classes is not None:
        rows = np.arange(len(buffer))
        buffer[rows, target.classes] -= row_cotangent * target.class_weight
    return buffer


def _differentiable_gradient(g, z, target, row_factor):
    """The same gradient built from Tensor operations, so it can be differentiated again.

    Used under ``create_graph`` (Hessians, nested grad); ``p`` is ``functional.softmax``
    of the logits, recorded on the tape (imported here: functional imports this module).
    """
    from autograd.functional import softmax

    z = _as_tensor(z)
    rows, num_classes = z.shape
    p = softmax(z, axis=1)
    r = g * row_factor                    # (M,) cotangent of each row's loss (Tensor or array)
    gradient = p * (r * target.total).reshape(rows, 1)
    if target.dense is not None:
        gradient = gradient - r.reshape(rows, 1) * target.dense
    if target.spread is not None:
        gradient = gradient - r.reshape(rows, 1) * target.spread
    if target.classes is not None:
        picked = scatter_add(r * target.class_weight, (np.arange(rows), target.classes),
                             (rows, num_classes))
        gradient = gradient - picked
    return gradient
