"""Composed functions: softmax, log_softmax, logsumexp and cross_entropy.

``softmax``, ``log_softmax`` and ``logsumexp`` are built from primitives only, so the
tape derives their gradients. For stability they subtract the maximum along ``axis``
first, as a *constant*: softmax is shift-invariant, so the shift's true gradient
contribution is exactly zero and leaving it off the tape changes nothing but speed.

``cross_entropy`` follows ``torch.nn.functional.cross_entropy``. With ``fused=True``
(the default) it runs the single primitive in ``fused.py``; with ``fused=False`` it
builds the same loss from ``log_softmax``, indexing, multiply, sum and divide.
"""

from __future__ import annotations

import functools

import numpy as np

from autograd.fused import (
    REDUCTIONS as _REDUCTIONS, accumulator, check_loss_options, index_cross_entropy,
    index_target, probability_target, reduce_losses, softmax_cross_entropy, stable_shift,
)
from autograd.primitives import (
    _as_tensor, describe, exp, getitem, log, reshape, sub, sum, transpose, where,
)
from autograd.tensors import Tensor, numeric_array

__all__ = ["softmax", "log_softmax", "logsumexp", "cross_entropy"]

def _floating(x):
    """x as a Tensor; integer and bool input is promoted to float64, as np.exp would."""
    x = _as_tensor(x)
    if x.dtype.kind != "f":
        x = Tensor._constant(x.data.astype(np.float64))
    return x


def _checked_axis(op, x, axis):
    """``axis`` of a reduction over the Tensor ``x`` as NumPy reads it, or an error in the
    user's terms naming ``op``, the axis and the shape (not NumPy's, from deep inside).

    ``axis`` is None, an int in [-ndim, ndim) or a tuple of distinct such ints. A 0-d
    ``x`` takes the int 0 or -1, as NumPy's reductions do (``np.sum(np.float64(2.5),
    axis=0)``; PyTorch's softmax of a 0-d tensor takes dim 0 or -1 as well), and no tuple
    (``np.sum(np.float64(2.5), axis=(0,))`` is an AxisError); for a 0-d ``x`` the int
    means all of it, so it is returned as None.
    """
    ndim = x.ndim
    if axis is None or type(axis) is int and -ndim <= axis < ndim:  # the usual case, first
        return axis
    axes = axis if isinstance(axis, tuple) else (axis,)
    if any(isinstance(a, bool) or not isinstance(a, (int, np.integer)) for a in axes):
        raise TypeError(f"{op}: axis must be None, an int or a tuple of ints, got {axis!r:.60}")
    if ndim == 0 and not isinstance(axis, tuple) and axis in (0, -1):
        return None
    if not all(-ndim <= a < ndim for a in axes):
        expected = ("None, 0 or -1 (no tuple)" if ndim == 0 else
                    f"None or axes in [-{ndim}, {ndim})")
        raise np.exceptions.AxisError(
            f"{op}: axis {axis!r} is out of range for a tensor of shape {x.shape} "
            f"({ndim} dimension{'' if ndim == 1 else 's'}): expected {expected}")
    if len({int(a) % ndim for a in axes}) < len(axes):
        raise ValueError(f"{op}: axis {axis!r} repeats an axis of a tensor of shape {x.shape}")
    return axis


def _shifted(x, axis):
    """x minus its maximum along ``axis``, the maximum taken as a constant (keepdims shape)."""
    shift = stable_shift(x.data, axis)
    return sub(x, Tensor._constant(shift)), shift


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along ``axis``: entries in [0, 1] that sum to 1 along ``axis``.

    Shape: same as ``x``. ``axis`` is an int (or a tuple of ints). Finite for any
    finite logits (the row maximum is subtracted first); its Jacobian per row is
    ``diag(p) - p pᵀ``.

    >>> import autograd as ag
    >>> ag.softmax(ag.tensor([[1.0, 2.0, 3.0]])).data.round(3)
    array([[0.09 , 0.245, 0.665]])
    """
    x = _floating(x)
    axis = _checked_axis("softmax", x, axis)
    shifted, _ = _shifted(x, axis)
    unnormalised = exp(shifted)
    return unnormalised / sum(unnormalised, axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    """log(softmax(x)) along ``axis``, computed as ``x - max - log(sum(exp(x - max)))``.

    Shape: same as ``x``. Never takes the log of a rounded-to-zero probability, so it
    stays finite for logits as far apart as 1e4 even in float32.

    >>> import autograd as ag
    >>> ag.log_softmax(ag.tensor([0.0, 1e4])).data
    array([-10000.,      0.])
    """
    x = _floating(x)
    axis = _checked_axis("log_softmax", x, axis)
    shifted, _ = _shifted(x, axis)
    return shifted - log(sum(exp(shifted), axis=axis, keepdims=True))


def logsumexp(x, axis=-1, keepdims=False):
    """log(sum(exp(x))) along ``axis`` without overflow.

    Shape: ``x``'s shape with ``axis`` removed (kept as length 1 when ``keepdims``);
    ``axis=None`` reduces everything. Its gradient is ``softmax(x, axis)``. A slice
    that is all ``-inf`` gives ``-inf``.

    >>> import autograd as ag
    >>> ag.logsumexp(ag.tensor([[1000.0, 1000.0]]), axis=1).data.round(4)
    array([1000.6931])
    """
    x = _floating(x)
    axis = _checked_axis("logsumexp", x, axis)
    shifted, shift = _shifted(x, axis)
    total = sum(exp(shifted), axis=axis, keepdims=keepdims)
    return log(total) + Tensor._constant(shift.reshape(total.shape))


# ---------------------------------------------------------------------------
# cross_entropy
# ---------------------------------------------------------------------------

def cross_entropy(logits, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0, fused=True):
    """Softmax cross-entropy with PyTorch's semantics (``torch.nn.functional.cross_entropy``).

    Shapes (class axis 1, or 0 for 1-D logits):

    ===================  ============================  ===========================
    logits               class-index target (int)      class-probability target
    ===================  ============================  ===========================
    ``(C,)``             ``()``                        ``(C,)``
    ``(N, C)``           ``(N,)``                      ``(N, C)``
    ``(N, C, d1, ...)``  ``(N, d1, ...)``              ``(N, C, d1, ...)``
    ===================  ============================  ===========================

    - Index targets: ``l = -w[y] log p[y]``; positions where ``target == ignore_index``
      contribute 0, and ``"mean"`` divides by the sum of ``w[y]`` over the others (their
      count without ``weight``). If every position is ignored, ``"mean"`` is NaN (0/0)
      and the gradient is zero.
    - Probability targets: ``l = -sum_c w[c] y[c] log p[c]``; they need not sum to 1,
      ``ignore_index`` does not apply, and ``"mean"`` divides by the number of positions.
    - ``label_smoothing=eps``: index targets give ``(1 - eps) * nll + eps / C * smooth``
      with ``smooth = -sum_c w[c] log p[c]``; probability targets become
      ``(1 - eps) * y + eps / C``.
    - ``reduction``: ``"mean"`` and ``"sum"`` give a 0-d tensor, ``"none"`` one loss per
      position (the target's shape for index targets).
    - ``weight`` (``(C,)``) and ``target`` are data: no gradient flows into them.
    - ``fused=True`` runs one primitive whose VJP is ``(p * sum_c y~ - y~) / norm``
      (``p - y`` for one-hot targets); ``fused=False`` composes the same loss from
      primitives. Both give the same values and gradients.

    Raises ``TypeError`` for non-float logits or a target of the wrong kind and
    ``ValueError`` for shapes that do not fit or class indices out of range.

    >>> import autograd as ag, numpy as np
    >>> logits = ag.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 0.0]], requires_grad=True)
    >>> loss = ag.cross_entropy(logits, np.array([0, 2]))
    >>> loss.backward()                      # logits.grad == (softmax(logits) - one_hot) / 2
    >>> round(loss.item(), 4)
    0.8964
    """
    logits, target, kind, weight, keep = _validated(logits, target, weight, ignore_index,
                                                    reduction, label_smoothing, fused)
    if kind == "plain":
        return index_cross_entropy(logits, target, reduction, keep)
    label_smoothing = float(label_smoothing)
    if fused:
        return _fused_cross_entropy(logits, target, kind, weight, ignore_index, reduction,
                                    label_smoothing)
    return _composed_cross_entropy(logits, target, kind, weight, ignore_index, reduction,
                                   label_smoothing)


def _validated(logits, target, weight, ignore_index, reduction, label_smoothing, fused_flag):
    """Check every argument of ``cross_entropy``: (logits Tensor, target array, kind,
    weight array or None, keep), or an error in the user's terms.

    ``kind`` is ``"plain"`` for the common, valid call that ``fused.index_cross_entropy``
    serves (logits a 2-D float Tensor (N, C) with N, C > 0; target an integer ndarray (N,)
    of classes in [0, C) or ``ignore_index``, at least one not ignored; no weight, no
    smoothing, ``fused=True``), found with cheap checks and one max over the target
    first; ``keep`` then marks the positions not ignored (None: all of them). Anything
    else is checked in full and gets ``"indices"`` or ``"probabilities"`` (``keep`` None).
    """
    if (fused_flag is True and weight is None and type(logits) is Tensor
            and type(target) is np.ndarray and reduction in _REDUCTIONS
            and type(label_smoothing) in (float, int) and label_smoothing == 0
            and type(ignore_index) is int and target.dtype.kind in "iu"):
        shape = logits.shape
        if (len(shape) == 2 and target.shape == shape[:1] and shape[0] and shape[1]
                and logits.dtype.kind == "f"):
            classes = shape[1]
            if not 0 <= ignore_index < classes and _all_class_indices(target, classes):
                return logits, target, "plain", None, None
            keep = target != ignore_index
            kept = target[keep]
            if kept.size and _all_class_indices(kept, classes):
                return logits, target, "plain", None, keep
    # The full checks, one argument at a time.
    logits = _as_tensor(logits)
    if logits.dtype.kind != "f":
        raise TypeError(f"cross_entropy: logits must be floating point, got {describe(logits)}")
    if logits.ndim == 0:
        raise ValueError("cross_entropy: logits must have shape (C,), (N, C) or (N, C, d1, ...), "
                         f"got a 0-d tensor ({describe(logits)})")
    axis = 0 if logits.ndim == 1 else 1
    if logits.shape[axis] == 0:
        raise ValueError(f"cross_entropy: logits have no classes (axis {axis} has length 0): "
                         f"{describe(logits)}")
    _check_options(reduction, label_smoothing, ignore_index, fused_flag)
    target, kind = _checked_target(target, logits, ignore_index)
    weight = None if weight is None else _checked_weight(weight, logits)
    return logits, target, kind, weight, None


def _all_class_indices(indices, classes):
    """True if every entry of the non-empty integer array ``indices`` is in [0, classes).

    One max, over the indices seen as unsigned (same bits): a negative index of a signed
    dtype of b bits reads as ``index + 2**b``, at least ``2**(b-1)``, while its largest
    non-negative value is ``2**(b-1) - 1``. So the bound is ``min(classes, 2**(b-1))``:
    against ``classes`` alone, int8 -100 would pass as 156 once there are more than 156
    classes (and -1 as 255), int16 -100 past 65,436 classes.
    """
    if indices.dtype.kind == "i":
        unsigned, half = _unsigned_view(indices.dtype)
        indices = indices.view(unsigned)
        if classes > half:
            classes = half
    return np.maximum.reduce(indices, axis=None) < classes


@functools.lru_cache(maxsize=None)
def _unsigned_view(dtype):
    """(the unsigned dtype of the same size and byte order, 2**(bits-1)) for a signed ``dtype``."""
    return np.dtype(dtype.str.replace("i", "u")), 1 << (8 * dtype.itemsize - 1)




def _composed_cross_entropy(logits, target, kind, weight, ignore_index, reduction, smoothing):
    """The loss from primitives, written as PyTorch states it; the tape finds the gradient."""
    axis = 0 if logits.ndim == 1 else 1
    classes = logits.shape[axis]
    log_p = log_softmax(logits, axis=axis)
    weight_along_classes = None
    if weight is not None:
        weight_along_classes = weight.reshape((classes,) + (1,) * (logits.ndim - axis - 1))

    if kind == "probabilities":
        y = target
        if smoothing:
            y = (1 - smoothing) * y + smoothing / classes
        if weight_along_classes is not None:
            y = y * weight_along_classes
        per_position = -sum(log_p * y.astype(logits.dtype, copy=False), axis=axis)
        return reduce_losses(per_position, reduction, per_position.size)

    keep = target != ignore_index
    safe_target = np.where(keep, target, 0)
    grid = list(np.indices(target.shape, sparse=True))
    grid.insert(axis, safe_target)
    picked = getitem(log_p, tuple(grid))                # log p[n, y_n, d...]
    target_weight = np.ones(target.shape, logits.dtype) if weight is None else weight[safe_target]
    per_position = -(picked * target_weight)
    if smoothing:
        smooth = -sum(log_p if weight is None else log_p * weight_along_classes, axis=axis)
        per_position = (1 - smoothing) * per_position + (smoothing / classes) * smooth
    per_position = where(keep, per_position, 0)          # ignored positions: 0, and no gradient
    denominator = target_weight[keep].sum(dtype=accumulator(logits.dtype))
    return reduce_losses(per_position, reduction, denominator)


def _fused_cross_entropy(logits, target, kind, weight, ignore_index, reduction, smoothing):
    """Move the class axis last, flatten to (positions, C) and run the fused primitive."""
    axis = 0 if logits.ndim == 1 else 1
    classes = logits.shape[axis]
    positions_shape = logits.shape[:axis] + logits.shape[axis + 1:]
    if logits.ndim > 2:
        order = (0,) + tuple(range(2, logits.ndim)) + (1,)
        logits = transpose(logits, order)
    rows = logits if logits.ndim == 2 else reshape(logits, (-1, classes))
    if kind == "probabilities":
        if target.ndim > 2:
            target = np.moveaxis(target, 1, -1)
        effective = probability_target(target.reshape(-1, classes), weight, smoothing,
                                             rows.dtype)
    else:
        effective = index_target(target.reshape(-1), classes, weight, ignore_index,
                                       smoothing, rows.dtype)
    loss = softmax_cross_entropy(rows, effective, reduction)
    if reduction == "none":
        loss = reshape(loss, positions_shape)
    return loss


def _check_options(reduction, label_smoothing, ignore_index, fused_flag):
    check_loss_options("cross_entropy", reduction, label_smoothing, ignore_index)
    if not isinstance(fused_flag, (bool, np.bool_)):
        raise TypeError(f"cross_entropy: fused must be True or False, got {fused_flag!r}")


def _checked_target(target, logits, ignore_index):
    """(target array, ``"indices"`` or ``"probabilities"``) for the logits' shape."""
    axis = 0 if logits.ndim == 1 else 1
    classes = logits.shape[axis]
    target = _data_argument(target, "target")
    positions_shape = logits.shape[:axis] + logits.shape[axis + 1:]
    if target.dtype.kind in "iu":
        kind = "indices"
        if target.shape != positions_shape:
            hint = (" (for class probabilities pass a float target)"
                    if target.shape == logits.shape else "")
            raise ValueError(
                f"cross_entropy: class-index target of shape {target.shape} does not fit logits "
                f"of shape {logits.shape}: expected shape {positions_shape}, the logits' shape "
                f"without the class axis {axis}{hint}")
        # One max settles the usual case; only otherwise look for entries not ignored.
        if target.size and not _all_class_indices(target, classes):
            bad = ((target < 0) | (target >= classes)) & (target != ignore_index)
            if bad.any():
                position = tuple(int(i) for i in np.argwhere(bad)[0])
                value = int(target[position])
                where_text = f"target[{', '.join(map(str, position))}]" if position else "target"
                raise ValueError(
                    f"cross_entropy: {where_text} = {value} is not a class index for logits of "
                    f"shape {logits.shape} with {classes} classes: expected 0 <= index < {classes} "
                    f"or ignore_index={ignore_index} ({int(bad.sum())} bad entries in all)")
    elif target.dtype.kind == "f":
        kind = "probabilities"
        if target.shape != logits.shape:
            hint = (" (for class indices pass an integer target)"
                    if target.shape == positions_shape else "")
            raise ValueError(
                f"cross_entropy: class-probability target of shape {target.shape} does not fit "
                f"logits of shape {logits.shape}: a float target must have the logits' "
                f"shape{hint}")
        target = target.astype(logits.dtype, copy=False)
    else:
        raise TypeError(
            f"cross_entropy: target must hold class indices (integer dtype, shape "
            f"{positions_shape}) or class probabilities (float dtype, shape {logits.shape}); "
            f"got {describe(target)}")

    return target, kind


def _checked_weight(weight, logits):
    """The class weights (C,) as an array of the logits' dtype."""
    classes = logits.shape[0 if logits.ndim == 1 else 1]
    weight = _data_argument(weight, "weight")
    if weight.dtype.kind not in "fiu":
        raise TypeError(f"cross_entropy: weight must be numeric, got {describe(weight)}")
    if weight.shape != (classes,):
        raise ValueError(f"cross_entropy: weight must have shape ({classes},), one entry per "
                         f"class of logits {logits.shape}, got shape {weight.shape}")
    return weight.astype(logits.dtype, copy=False)


def _data_argument(value, name):
    """The array behind ``target`` or ``weight``; these are data, not differentiated."""
    if isinstance(value, Tensor):
        if value.requires_grad:
            raise TypeError(
                f"cross_entropy: {name} requires grad, but the loss is not differentiated with "
                f"respect to {name}; pass {name}.detach()")
        return np.asarray(value.data)
    return numeric_array(value, name=f"cross_entropy: {name}", copy=False)
