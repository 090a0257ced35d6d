"""``linear_cross_entropy``: a language model's output layer without its (N, V) logits.

For hidden states ``h`` (N, d), the output layer's weight ``W`` (V, d) and bias ``b``
(V,), the logits are ``z = h Wᵀ + b`` (N, V). With the effective target ``Y~`` of
``fused.index_target`` (class weights, ignored rows and label smoothing folded in) and
``r`` the cotangent of each row's loss,

    loss_m = total_m * lse_m - sum_c Y~[m, c] z[m, c]        (total_m = sum_c Y~[m, c])
    G = d loss / d z = r * (p * total - Y~)                   (p = softmax(z), row by row)
    dh = G W,   dW = Gᵀ h,   db = sum_m G[m]

Each of the three is a sum over rows, so the work goes a block of rows at a time: one
GEMM gives the block's logits, held transposed as (V, rows) (the only large buffer); one
pass over cache-sized pieces of it takes their exponentials and column sums; and the
softmax's normalisation, one factor per row, goes to the small side of the two GEMMs
that add the block's share to ``dh`` and ``dW`` (see ``_sweep``). The full logits never
exist, and nothing but exp and its sums passes over the block.

Why rows, and the gradients in the forward pass (measured at N=4096, d=256, V=32768
float32, one BLAS thread; see benchmarks/linear_ce.py): a row block holds whole rows,
so its log-sum-exp is exact at once and the three GEMMs of the floor are all there is.
Chunking the vocabulary instead needs every row's log-sum-exp before any ``p`` (an
online log-sum-exp gives it, but ``dW`` for a vocabulary chunk needs the final one),
hence a fourth GEMM that recomputes the logits: 1.33x the floor where the target is
1.15x. So the forward computes the loss and, when a backward pass may follow, the
gradients for a unit cotangent; the VJPs scale them by ``g`` (nothing to do for the
usual ``g = 1``). ``reduction="none"`` gets one cotangent per row, which cannot be
applied to a finished ``dW``: there the forward computes the losses alone (one GEMM)
and the backward goes over the blocks again with the cotangents (three more), as does
a second backward through a retained graph.

Layout (same measurements, GEMM seconds summed over 16 blocks of 256 rows): the
logits as ``W @ h_blockᵀ`` into a (V, rows) buffer take 0.76 s against 0.88 s for
``h_block @ Wᵀ`` into (rows, V); ``dW`` as ``E @ h`` 0.73 s against 0.79 s; ``dh`` as
``(Wᵀ E)ᵀ`` 0.83 s against 0.78 s. With the one-factor-per-row normalisation (no
scaling pass) the whole is 1.10x the three GEMMs on whole arrays, against 1.13x for
rows-first blocks with the gradient formed in place.

Under ``create_graph`` (grad of grad, Hessians) the VJPs are built from Tensor
operations instead, so they can be differentiated again; they hold the full logits.
"""

from __future__ import annotations

import numbers

import numpy as np

from autograd import tape
from autograd.fused import check_loss_options, index_target, stable_shift
from autograd.operands import as_tensor, describe
from autograd.tensors import Tensor, constant, record

__all__ = ["linear_cross_entropy", "default_chunk_rows"]

_OP = "linear_cross_entropy"

# Sizes (measured on an AMD EPYC with AVX-512, 1 MiB L2 per core, 32 MiB L3, one BLAS
# thread, N=4096 and V=32768 float32; the curve is in benchmarks/README.md):
# - the passes over a block's logits (bias, exp, sums) run on pieces of about this many
#   bytes, which stay in L2 from the first pass to the last (1 MiB: 0.16 s for all
#   pieces at the size above, 256 KiB: 0.22 s, for its more calls);
_PIECE_BYTES = 1 << 20
# - a block of rows holds this many bytes of logits, the bulk of the peak memory above
#   the inputs and the gradients,
_BLOCK_BYTES = 32 << 20
# - but no fewer than this many rows: every block reads all of W (V x d) in each of its
#   GEMMs, for 2 x rows x V x d flops each, so the GEMMs' speed depends mostly on the
#   rows per block, less on d (both the flops and the traffic grow with V x d). Time over
#   the three GEMMs alone on whole arrays, d=256: 128 rows 1.17x, 256 rows 1.07x, 512
#   rows 1.00x, 1024 rows 1.00x; d=64: 1.03x, 0.93x, 0.91x, 0.91x (below 1: the
#   whole-array GEMMs stream a 512 MiB buffer, the blocks stay in cache). 512 rows would
#   be 64 MiB of logits here, 1/8 of them: over the 0.1x memory target.
_MIN_ROWS = 256
# - the accumulation dW += E_block (c * h_block) goes through a temporary of this size
#   rather than a second (V, d) array.
_ACCUMULATE_BYTES = 1 << 19


def default_chunk_rows(rows, classes, features, itemsize):
    """The rows per block ``chunk_size=None`` picks for N=``rows`` rows of ``features``
    (d) inputs, ``classes`` (V) classes and ``itemsize`` bytes per float.

    As many rows as 32 MiB of logits hold (``_BLOCK_BYTES``; 256 rows at V=32768
    float32), but at least 256 (``_MIN_ROWS``), below which the GEMMs slow down, and at
    most N. ``features`` (d) does not enter: the GEMMs' speed per block was measured to
    depend mostly on the rows (see ``_MIN_ROWS``); the cache enters through the pieces:
    the passes over a block run on L2-sized pieces of it (``_PIECE_BYTES``), whatever
    the block's size.

    >>> default_chunk_rows(4096, 32768, 256, 4)
    256
    >>> default_chunk_rows(4096, 8192, 256, 4)
    1024
    >>> default_chunk_rows(100, 10, 8, 8)
    100
    """
    by_memory = _BLOCK_BYTES // max(1, classes * itemsize)
    return max(1, min(rows, max(by_memory, _MIN_ROWS)))


def linear_cross_entropy(input, linear_weight, target, linear_bias=None, weight=None,
                         ignore_index=-100, reduction="mean", label_smoothing=0.0,
                         chunk_size=None):
    """Cross-entropy of the logits ``input @ linear_weight.T + linear_bias`` against class
    indices, without ever holding those logits: the output layer and the loss as one op.

    Shapes: ``input`` (..., d) (float32 or float64), ``linear_weight`` (V, d) (as
    ``nn.Linear.weight``), ``linear_bias`` (V,) or None, ``target`` (...) integer class
    indices, ``weight`` (V,) class weights or None. The class axis is the logits' last
    one: the result equals ``ag.cross_entropy((input @ linear_weight.T +
    linear_bias).reshape(-1, V), target.reshape(-1), weight, ignore_index, reduction,
    label_smoothing)``, with ``"none"`` giving the losses in ``target``'s shape (for 2-D
    ``input`` that is ``cross_entropy(input @ linear_weight.T + linear_bias, target,
    ...)`` itself), and so the same options: ``ignore_index`` rows add 0 and leave
    ``"mean"``'s denominator (the sum of ``weight[target]`` over the kept rows, their
    count without ``weight``; NaN with a zero gradient when nothing is kept),
    ``label_smoothing``, ``reduction`` in ``"mean" | "sum" | "none"``.

    One node on the tape, with gradients for ``input``, ``linear_weight`` and
    ``linear_bias``. The work runs over blocks of ``chunk_size`` rows (None: see
    ``default_chunk_rows``), each holding one (rows, V) buffer; nothing of shape (N, V)
    is ever allocated, except under ``create_graph`` (differentiating the gradient
    again), where the VJPs are built from Tensor operations on the full logits. When a
    backward pass may follow (grad mode on, an input that requires grad, ``"mean"`` or
    ``"sum"``), the forward already computes the gradients, so it costs about what
    forward and backward cost together; evaluate under ``ag.no_grad()`` to get the loss
    alone (one GEMM instead of three).

    Raises ``TypeError`` for non-float inputs, mixed dtypes or a target that is not of
    integer dtype, and ``ValueError`` for shapes that do not fit or class indices out
    of range.

    >>> import autograd as ag, numpy as np
    >>> h = ag.tensor(np.ones((2, 3)), requires_grad=True)
    >>> W = ag.tensor(np.zeros((4, 3)), requires_grad=True)
    >>> loss = ag.linear_cross_entropy(h, W, np.array([0, 3]), chunk_size=1)
    >>> round(loss.item(), 4)                # log 4: all four classes equally likely
    1.3863
    >>> loss.backward()
    >>> W.grad[0]                            # (mean over rows of (p - y)) h: (0.25 - 0.5) * 1
    array([-0.25, -0.25, -0.25])
    """
    input, linear_weight, linear_bias = _checked_operands(input, linear_weight, linear_bias)
    dtype = input.dtype
    rows_shape = input.shape[:-1]
    classes_count, features = linear_weight.shape
    _check_options(reduction, label_smoothing, ignore_index, chunk_size)
    classes = _checked_target(target, rows_shape, classes_count, ignore_index)
    weight = None if weight is None else _checked_weight(weight, classes_count, dtype)

    effective = index_target(classes.reshape(-1), classes_count, weight, ignore_index,
                             float(label_smoothing), dtype)
    row_factor = _row_factor(effective, reduction, dtype)
    parents = (input, linear_weight) if linear_bias is None else (input, linear_weight,
                                                                  linear_bias)
    recording = tape.is_grad_enabled()
    wanted = tuple(recording and parent.requires_grad for parent in parents)
    hidden = input._data.reshape(-1, features)
    matrix = linear_weight._data
    bias = None if linear_bias is None else linear_bias._data
    rows = hidden.shape[0]
    chunk_rows = (default_chunk_rows(rows, classes_count, features, dtype.itemsize)
                  if chunk_size is None else int(chunk_size))

    # Gradients for a unit cotangent in the forward pass, when one scalar ``g`` will
    # scale them; for "none" only the log-sum-exp of every row (see the module notes).
    early = any(wanted) and reduction != "none"
    losses, gradients = _sweep(hidden, matrix, bias, effective,
                               row_factor if early else None, wanted if early else (),
                               chunk_rows)
    losses = np.where(effective.keep, losses, 0)
    if reduction == "none":
        data = losses.astype(dtype).reshape(rows_shape)
    else:
        total = losses.sum()
        if reduction == "mean":
            total = total * np.nan if effective.norm == 0 else total / effective.norm
        data = dtype.type(total)
    if not any(wanted):
        return record(data, parents, (None,) * len(parents), _OP)

    saved = dict(enumerate(gradients)) if early else {}
    if saved.get(0) is not None:
        saved[0] = saved[0].reshape(input.shape)
    pending = {}   # gradients computed together for the cotangent in pending["g"]

    def pullback(index, g, inputs):
        if pending.get("g") is g and index in pending:  # computed with another input's
            return pending.pop(index)
        if isinstance(g, Tensor) or any(isinstance(x, Tensor) for x in inputs):
            computed = _differentiable_gradients(g, inputs, effective, row_factor, wanted)
        elif saved.get(index) is not None:            # first backward: the forward's work
            return _scaled(saved.pop(index), g)
        else:                                          # "none", or a retained graph again
            r = row_factor * np.reshape(g, -1) if np.ndim(g) else row_factor * g
            h = inputs[0].reshape(-1, features)
            bias_now = inputs[2] if len(inputs) > 2 else None
            computed = _sweep(h, inputs[1], bias_now, effective, r.astype(dtype, copy=False),
                              wanted, chunk_rows)[1]
        pending.clear()
        pending.update((i, c) for i, c in enumerate(computed) if c is not None and i != index)
        pending["g"] = g
        result = computed[index]
        if index == 0:
            result = result.reshape(inputs[0].shape)
        return result

    vjps = tuple((lambda i: lambda g, out, *inputs: pullback(i, g, inputs))(i)
                 for i in range(len(parents)))
    return record(data, parents, vjps, _OP)


# ---------------------------------------------------------------------------
# The work: blocks of rows.
# ---------------------------------------------------------------------------

def _sweep(hidden, matrix, bias, target, row_factor, wanted, chunk_rows):
    """One pass over the rows of ``hidden`` (N, d), ``chunk_rows`` at a time.

    Returns (row losses (N,) float64, gradients), the gradients a tuple (dh (N, d), dW
    (V, d), and db (V,) if ``bias`` is given) with None for each input not ``wanted``,
    for the row cotangents ``row_factor`` (N,); no gradients if ``row_factor`` is None.

    A block's logits are held transposed, (V, rows): ``W @ h_blockᵀ`` is the fastest
    of the layouts for that GEMM, and the passes then run over contiguous pieces of the
    vocabulary (``_exponentials``). Every column j of the buffer becomes ``exp(z_j -
    shift_j)`` with one shift per row of the problem (0 unless the logits are extreme),
    so the softmax's normalisation is one factor per column, ``c_j = r_j total_j /
    sum_j``, which the gradient GEMMs take on their small side: ``dW = E (c * h)``, ``dh
    = c * (Eᵀ W)``, ``db = E c``. The one-hot term goes into E at the N target entries
    (``E[y_j, j] -= w_j sum_j / total_j``) and the smoothing term as rank-one
    corrections, so nothing but the exponentials and their sums passes over the buffer.
    """
    rows, features = hidden.shape
    classes = matrix.shape[0]
    dtype = hidden.dtype
    gradient = row_factor is not None
    want = tuple(wanted) + (False,) * (3 - len(wanted))
    want_hidden, want_matrix = gradient and want[0], gradient and want[1]
    want_bias = gradient and want[2] and bias is not None
    d_hidden = np.empty_like(hidden) if want_hidden else None
    d_matrix = np.zeros_like(matrix) if want_matrix else None
    d_bias = np.zeros(classes, dtype) if want_bias else None
    losses = np.empty(rows)
    step = max(1, min(rows, chunk_rows))
    buffer = np.empty((classes, step), dtype)
    spread = target.spread
    spread_matrix = spread @ matrix if spread is not None and want_hidden else None
    smoothing_rows = np.zeros(features) if spread is not None and want_matrix else None
    smoothing_total = 0.0
    for start in range(0, rows, step):
        block = slice(start, min(rows, start + step))
        h = hidden[block]
        count = h.shape[0]
        columns = (buffer if count == step else      # the last block may be shorter
                   buffer.reshape(-1)[:classes * count].reshape(classes, count))
        part = _rows_of(target, block)
        shift, sums, picked, spread_dots = _exponentials(h, matrix, bias, part, columns)
        losses[block] = _losses(columns, part, shift, sums, picked, spread_dots)
        if not gradient:
            continue
        r = row_factor[block]
        scale = (r * part.total / sums).astype(dtype, copy=False)      # c, one per column
        _one_hot_in_place(columns, part, r, scale, sums)
        if want_hidden:
            np.multiply((matrix.T @ columns).T, scale[:, None], out=d_hidden[block])
            if spread_matrix is not None:
                d_hidden[block] -= np.multiply.outer(r, spread_matrix).astype(dtype)
        if want_matrix or want_bias:
            _add_products(d_matrix, d_bias, columns, h, scale)
        if smoothing_rows is not None:
            smoothing_rows += r @ h
        smoothing_total += float(r.sum())
        _exact_rows(d_hidden, d_matrix, d_bias, matrix, h, part, r, scale, block)
    if spread is not None:
        if smoothing_rows is not None:   # a rank-one update, a few rows of dW at a time
            step = max(1, _ACCUMULATE_BYTES // max(1, 8 * features))
            for start in range(0, classes, step):
                part = slice(start, start + step)
                d_matrix[part] -= np.multiply.outer(spread[part], smoothing_rows).astype(dtype)
        if d_bias is not None:
            d_bias -= (smoothing_total * spread).astype(dtype)
    gradients = (d_hidden, d_matrix) + (() if bias is None else (d_bias,))
    return losses, gradients


def _exponentials(h, matrix, bias, target, columns):
    """Fill ``columns`` (V, rows) with ``exp(z - shift)`` for the logits z = W hᵀ + b of
    one block; return (shift (rows,) float64, column sums (rows,), z at the targets
    (rows,) float64, ``spread · z`` (rows,) float64 or None).

    The shift is 0 when every column sum of ``exp(z)`` lies in [sqrt(tiny), sqrt(max)]
    of the dtype (row maxima within about ±43 in float32, the usual case), which skips
    a pass for the maxima and one subtracting them; otherwise the block is recomputed
    and shifted by its column maxima (``stable_shift``), which keeps exp finite for any
    logits. The work runs on contiguous pieces of the vocabulary that stay in L2.
    """
    classes, count = columns.shape
    dtype = columns.dtype
    np.matmul(matrix, h.T, out=columns)
    positions = np.arange(count)
    spread = target.spread
    step = max(1, _PIECE_BYTES // max(1, count * columns.itemsize))
    ones = np.ones(min(step, classes), dtype)
    info = np.finfo(dtype)
    for attempt in (0, 1):
        if bias is not None:
            columns += bias[:, None]
        shift = np.zeros(count) if attempt == 0 else stable_shift(columns, 0)[0]
        picked = columns[target.classes, positions].astype(np.float64)
        sums = np.zeros(count, dtype)
        spread_dots = None if spread is None else np.zeros(count)
        for start in range(0, classes, step):
            piece = columns[start:start + step]
            if attempt:
                piece -= shift.astype(dtype)
            if spread is not None:
                spread_dots += spread[start:start + step] @ piece
            with np.errstate(over="ignore"):
                np.exp(piece, out=piece)
                sums += ones[:len(piece)] @ piece
        if attempt or count == 0 or (np.sqrt(info.tiny) <= sums.min()
                                     and sums.max() <= np.sqrt(info.max)):
            break
        np.matmul(matrix, h.T, out=columns)   # extreme logits: again, shifted
    if attempt and spread is not None:
        spread_dots += float(spread.sum(dtype=np.float64)) * shift   # dots of unshifted z
    return shift, sums, picked, spread_dots


def _losses(columns, target, shift, sums, picked, spread_dots):
    """Row losses (rows,) in float64 from a block's exponentials (before the one-hot
    edit): ``w * -log p[y]`` plus, with smoothing, ``sum_c spread_c (lse - z_c)``.

    ``-log p[y]`` is ``log(sum) - log(E[y])`` with the same rounded ``E[y]`` that went
    into the sum (as ``fused._direct_losses`` does): its rounding cancels, so one class
    gives exactly 0 and a confident row stays >= 0; where ``E[y]`` is not a normal
    number, ``shift + log(sum) - z[y]`` is used instead.
    """
    positions = np.arange(columns.shape[1])
    tiny = np.finfo(columns.dtype).tiny
    exp_picked = columns[target.classes, positions]
    log_sums = np.log(sums, dtype=np.float64)
    log_picked = np.where(exp_picked >= tiny,
                          np.log(np.maximum(exp_picked, tiny), dtype=np.float64), picked - shift)
    nll = np.maximum(log_sums - log_picked, 0)          # NaN stays NaN
    losses = np.where(target.keep, target.class_weight * nll, 0)
    if spread_dots is not None:
        smooth = (target.total - target.class_weight) * (shift + log_sums) - spread_dots
        if target.spread.min() >= 0:   # then the term is >= 0: only rounding goes below
            smooth = np.maximum(smooth, 0)
        losses = losses + np.where(target.keep, smooth, 0)
    return losses


def _one_hot_in_place(columns, target, r, scale, sums):
    """Subtract the target's one-hot part of ``Y~`` from E at the N target entries, in
    units of E: ``scale * E - r * w * onehot = scale * (E - r * w / scale * onehot)``,
    where ``r * w / scale = w * sum / total``."""
    positions = np.arange(columns.shape[1])
    with np.errstate(divide="ignore", invalid="ignore"):
        amount = np.where(scale != 0, target.class_weight * sums / target.total, 0)
    current = columns[target.classes, positions].astype(np.float64)
    columns[target.classes, positions] = current - np.where(target.keep, amount, 0)


def _exact_rows(d_hidden, d_matrix, d_bias, matrix, h, target, r, scale, block):
    """Rows whose one-hot part ``_one_hot_in_place`` could not carry (a zero column
    factor next to a nonzero target weight: weights summing to 0 with smoothing), added
    to the gradients directly."""
    missing = (scale == 0) & (r * target.class_weight != 0)
    if not missing.any():
        return
    amount = (r * target.class_weight)[missing].astype(h.dtype)
    classes = target.classes[missing]
    if d_hidden is not None:
        d_hidden[block][missing] -= amount[:, None] * matrix[classes]
    if d_matrix is not None:
        np.subtract.at(d_matrix, classes, amount[:, None] * h[missing])
    if d_bias is not None:
        np.subtract.at(d_bias, classes, amount)


def _add_products(d_matrix, d_bias, columns, h, scale):
    """dW += E (scale * h) and db += E scale for a block's E (V, rows), through one
    product with h's rows scaled and the scale as one more column, a few vocabulary
    rows at a time (a temporary of those rows, not a second (V, d) array)."""
    classes, count = columns.shape
    features = h.shape[1]
    width = (features if d_matrix is not None else 0) + (1 if d_bias is not None else 0)
    right = np.empty((count, width), h.dtype)
    if d_matrix is not None:
        np.multiply(h, scale[:, None], out=right[:, :features])
    if d_bias is not None:
        right[:, -1] = scale
    step = max(1, _ACCUMULATE_BYTES // max(1, width * h.itemsize))
    temporary = np.empty((min(step, classes), width), h.dtype)
    for start in range(0, classes, step):
        part = slice(start, start + step)
        piece = temporary[:len(columns[part])]
        np.matmul(columns[part], right, out=piece)
        if d_matrix is not None:
            d_matrix[part] += piece[:, :features]
        if d_bias is not None:
            d_bias[part] += piece[:, -1]


def _rows_of(target, block):
    """The EffectiveTarget of the rows in ``block`` (``spread`` and ``norm`` are shared)."""
    return target._replace(**{name: getattr(target, name)[block]
                              for name in ("keep", "total", "classes", "class_weight")})


def _row_factor(target, reduction, dtype):
    """d(loss)/d(row loss) per row (N,), before the incoming cotangent ``g``: 1 or
    1/norm on kept rows, 0 on ignored ones (NaN on kept rows for a mean over nothing)."""
    keep = target.keep
    if reduction != "mean":
        return keep.astype(dtype)
    if target.norm == 0:
        return np.where(keep, np.nan, 0).astype(dtype)
    return (keep / target.norm).astype(dtype)


def _scaled(gradient, g):
    """A gradient for a unit cotangent, scaled in place by the actual scalar ``g``."""
    if gradient is not None and g != 1:
        gradient *= g
    return gradient


def _differentiable_gradients(g, inputs, target, row_factor, wanted):
    """The three gradients from Tensor operations on the full logits, recorded on the
    tape so that they can be differentiated again (``create_graph``)."""
    from autograd.functional import softmax

    input, matrix = as_tensor(inputs[0]), as_tensor(inputs[1])
    bias = as_tensor(inputs[2]) if len(inputs) > 2 else None
    features = matrix.shape[1]
    hidden = input.reshape(-1, features)
    rows, classes = hidden.shape[0], matrix.shape[0]
    logits = hidden @ matrix.T
    if bias is not None:
        logits = logits + bias
    p = softmax(logits, axis=1)
    dense = np.zeros((rows, classes), row_factor.dtype)
    dense[np.arange(rows), target.classes] = target.class_weight
    if target.spread is not None:
        dense += target.keep[:, None] * target.spread
    r = (g.reshape(-1) if g.ndim else g) * constant(row_factor)
    gradient = p * (r * constant(target.total.astype(row_factor.dtype))).reshape(rows, 1)
    gradient = gradient - r.reshape(rows, 1) * constant(dense)
    d_hidden = (gradient @ matrix).reshape(input.shape) if wanted[0] else None
    d_matrix = gradient.T @ hidden if wanted[1] else None
    result = (d_hidden, d_matrix)
    if bias is not None:
        result += (gradient.sum(axis=0) if wanted[2] else None,)
    return result


# ---------------------------------------------------------------------------
# Checks, in the user's terms.
# ---------------------------------------------------------------------------

def _checked_operands(input, linear_weight, linear_bias):
    input = as_tensor(input, name=f"{_OP}: input")
    linear_weight = as_tensor(linear_weight, name=f"{_OP}: linear_weight")
    if linear_bias is not None:
        linear_bias = as_tensor(linear_bias, name=f"{_OP}: linear_bias")
    for name, value in (("input", input), ("linear_weight", linear_weight),
                        ("linear_bias", linear_bias)):
        if value is not None and value.dtype not in (np.float32, np.float64):
            raise TypeError(f"{_OP}: {name} must be float32 or float64, got {describe(value)}"
                            + (" (cast it with ag.astype(x, np.float32))"
                               if value.dtype.kind == "f" else ""))
    if input.ndim == 0:
        raise ValueError(f"{_OP}: input must have shape (..., d) (hidden states, features "
                         f"last), got a 0-d tensor ({describe(input)})")
    if linear_weight.ndim != 2:
        raise ValueError(f"{_OP}: linear_weight must have shape (V, d) (one row per class, "
                         f"as nn.Linear.weight), got {describe(linear_weight)}")
    classes, features = linear_weight.shape
    if input.shape[-1] != features:
        raise ValueError(
            f"{_OP}: input {describe(input)} has {input.shape[-1]} features in its last axis "
            f"but linear_weight {describe(linear_weight)} expects d = {features} (shape (V, d))")
    if classes == 0:
        raise ValueError(f"{_OP}: linear_weight has no classes (shape {linear_weight.shape})")
    if linear_bias is not None and linear_bias.shape != (classes,):
        raise ValueError(f"{_OP}: linear_bias must have shape ({classes},), one entry per row "
                         f"of linear_weight {linear_weight.shape}, got {describe(linear_bias)}")
    dtypes = {value.dtype for value in (input, linear_weight, linear_bias) if value is not None}
    if len(dtypes) > 1:
        names = ", ".join(f"{name} {value.dtype}" for name, value in
                          (("input", input), ("linear_weight", linear_weight),
                           ("linear_bias", linear_bias)) if value is not None)
        raise TypeError(f"{_OP}: input, linear_weight and linear_bias must share one dtype, "
                        f"got {names}; cast one of them (ag.astype(x, np.float32))")
    return input, linear_weight, linear_bias


def _check_options(reduction, label_smoothing, ignore_index, chunk_size):
    check_loss_options(_OP, reduction, label_smoothing, ignore_index)
    if chunk_size is not None and (isinstance(chunk_size, bool)
                                   or not isinstance(chunk_size, numbers.Integral)
                                   or chunk_size < 1):
        raise ValueError(f"{_OP}: chunk_size must be None or a positive int (rows per "
                         f"block), got {chunk_size!r}")


def _data(value, name):
    if isinstance(value, Tensor):
        if value.requires_grad:
            raise TypeError(f"{_OP}: {name} requires grad, but the loss is not differentiated "
                            f"with respect to {name}; pass {name}.detach()")
        return np.asarray(value.data)
    return np.asarray(value)


def _checked_target(target, rows_shape, classes, ignore_index):
    target = _data(target, "target")
    if target.dtype.kind not in "iu":
        hint = (" (class probabilities are not supported: they would need an (N, V) target; "
                "use ag.cross_entropy(input @ linear_weight.T, target))"
                if target.dtype.kind == "f" else "")
        raise TypeError(f"{_OP}: target must hold class indices (integer dtype, shape "
                        f"{rows_shape}), got {describe(target)}{hint}")
    if target.shape != rows_shape:
        raise ValueError(f"{_OP}: target of shape {target.shape} does not fit input of shape "
                         f"{rows_shape + ('d',)}: expected target shape {rows_shape}, the "
                         "input's shape without its last (feature) axis")
    bad = ((target < 0) | (target >= classes)) & (target != ignore_index)
    if bad.any():
        position = tuple(int(i) for i in np.argwhere(bad)[0])
        where = f"target[{', '.join(map(str, position))}]" if position else "target"
        raise ValueError(
            f"{_OP}: {where} = {int(target[position])} is not a class index for "
            f"linear_weight with V = {classes} rows: expected 0 <= index < {classes} or "
            f"ignore_index={ignore_index} ({int(bad.sum())} bad entries in all)")
    return target


def _checked_weight(weight, classes, dtype):
    weight = _data(weight, "weight")
    if weight.dtype.kind not in "fiu":
        raise TypeError(f"{_OP}: weight must be numeric, got {describe(weight)}")
    if weight.shape != (classes,):
        raise ValueError(f"{_OP}: weight must have shape ({classes},), one entry per class "
                         f"(row of linear_weight), got shape {weight.shape}")
    return weight.astype(dtype, copy=False)
