"""``linear_cross_entropy``: a language model's output layer without its (N, V) logits.

For hidden states ``h`` (N, d), the output layer's weight ``W`` (V, d) and bias ``b``
(V,), the logits are ``z = h Wᵀ + b`` (N, V). With the effective target ``Y~`` of
``fused.index_target`` (class weights, ignored rows and label smoothing folded in) and
``r`` the cotangent of each row's loss,

    loss_m = total_m * lse_m - sum_c Y~[m, c] z[m, c]        (total_m = sum_c Y~[m, c])
    G = d loss / d z = r * (p * total - Y~)                   (p = softmax(z), row by row)
    dh = G W,   dW = Gᵀ h,   db = sum_m G[m]

Each of the three is a sum over rows, so the work goes a block of rows at a time: one
GEMM gives the block's logits (rows x V, the only large buffer), a pass over them in
cache-sized pieces turns them into the block's ``G``, and two more GEMMs add its share
to ``dh`` and ``dW``. The full logits never exist.

Why rows, and the gradients in the forward pass (measured at N=4096, d=256, V=32768
float32, one BLAS thread; see benchmarks/linear_ce.py): a row block holds whole rows,
so its log-sum-exp is exact at once and the three GEMMs of the floor are all there is.
Chunking the vocabulary instead needs every row's log-sum-exp before any ``p`` (an
online log-sum-exp gives it, but ``dW`` for a vocabulary chunk needs the final one),
hence a fourth GEMM that recomputes the logits: 1.33x the floor where the target is
1.15x. So the forward computes the loss and, when a backward pass may follow, the
gradients for a unit cotangent; the VJPs scale them by ``g`` (nothing to do for the
usual ``g = 1``). ``reduction="none"`` gets one cotangent per row, which cannot be
applied to a finished ``dW``: there the forward keeps only each row's log-sum-exp
(N floats) and the backward recomputes the logits block by block (four GEMMs in all),
as does a second backward through a retained graph.

Under ``create_graph`` (grad of grad, Hessians) the VJPs are built from Tensor
operations instead, so they can be differentiated again; they hold the full logits.
"""

from __future__ import annotations

import numbers

import numpy as np

from autograd import tape
from autograd.fused import index_target, stable_shift
from autograd.operands import as_tensor, describe
from autograd.tensors import Tensor, constant, record

__all__ = ["linear_cross_entropy", "default_chunk_rows"]

_OP = "linear_cross_entropy"
_REDUCTIONS = ("mean", "sum", "none")

# Sizes (measured on an AMD EPYC with AVX-512, 1 MiB L2 per core, 32 MiB L3, one BLAS
# thread, N=4096 and V=32768 float32; the curve is in benchmarks/README.md):
# - the elementwise passes over a block's logits (bias, max, exp, sum, scaling) run on
#   pieces of about this many bytes, which stay in L2 from the first pass to the last
#   (1 MiB: 0.16 s for all pieces at the size above, 256 KiB: 0.22 s, fewer calls);
_PIECE_BYTES = 1 << 20
# - a block of rows holds this many bytes of logits, the bulk of the peak memory above
#   the inputs and the gradients,
_BLOCK_BYTES = 32 << 20
# - but no fewer than this many rows: every block reads all of W (V x d) in each of its
#   GEMMs, for 2 x rows x V x d flops each, so the GEMMs' speed depends on the rows per
#   block alone (not on d: both the flops and the traffic grow with V x d). Time over
#   the three GEMMs alone, d=256: 128 rows 1.33x, 256 rows 1.13x, 512 rows 1.13x
#   (d=64: 1.40x, 1.31x, 1.28x; there the exponentials weigh more against the GEMMs).
_MIN_ROWS = 256
# - the accumulation dW += G_blockᵀ h_block goes through a temporary of this size
#   rather than a second (V, d) array (it costs 5% of that GEMM either way).
_ACCUMULATE_BYTES = 1 << 19


def default_chunk_rows(rows, classes, features, itemsize):
    """The rows per block ``chunk_size=None`` picks for N=``rows`` rows of ``features``
    (d) inputs, ``classes`` (V) classes and ``itemsize`` bytes per float.

    As many rows as 32 MiB of logits hold (``_BLOCK_BYTES``; 256 rows at V=32768
    float32), but at least 256 (``_MIN_ROWS``), below which the GEMMs slow down, and at
    most N. ``features`` does not enter: the GEMMs' speed per block was measured to
    depend on the rows alone (see ``_MIN_ROWS``). The elementwise work on a block runs
    on L2-sized pieces of it (``_PIECE_BYTES``) whatever the block's size.

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
    losses, log_sums, gradients = _sweep(hidden, matrix, bias, effective,
                                         row_factor if early else None,
                                         wanted if early else (), chunk_rows)
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
                              wanted, chunk_rows, log_sums)[2]
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

def _sweep(hidden, matrix, bias, target, row_factor, wanted, chunk_rows, log_sums=None):
    """One pass over the rows of ``hidden`` (N, d), ``chunk_rows`` at a time.

    Returns (row losses (N,) float64, log-sum-exp per row (N,) float64, gradients), the
    gradients being a tuple (dh (N, d), dW (V, d), db (V,) if ``bias`` is given) with
    None for each input not ``wanted``, for row cotangents ``row_factor`` (N,); no
    gradients if ``row_factor`` is None. With ``log_sums`` given (a backward pass after
    the forward), ``p`` comes straight from ``exp(z - lse)`` and no losses are formed.
    """
    rows, features = hidden.shape
    classes = matrix.shape[0]
    dtype = hidden.dtype
    gradient = row_factor is not None
    want = tuple(wanted) + (False,) * (3 - len(wanted))
    d_hidden = np.empty_like(hidden) if gradient and want[0] else None
    d_matrix = ((np.empty_like if rows else np.zeros_like)(matrix)   # no rows: no blocks
                if gradient and want[1] else None)
    d_bias = np.zeros(classes, dtype) if gradient and want[2] and bias is not None else None
    forward = log_sums is None
    losses = np.empty(rows) if forward else None
    if forward:
        log_sums = np.empty(rows)
    step = max(1, min(rows, chunk_rows))
    buffer = np.empty((step, classes), dtype)
    accumulate = _accumulator(classes, features, dtype) if d_matrix is not None else None
    transposed = matrix.T
    for start in range(0, rows, step):
        block = slice(start, min(rows, start + step))
        h = hidden[block]
        z = buffer[:h.shape[0]]
        np.matmul(h, transposed, out=z)
        part = _rows_of(target, block)
        _softmax_pieces(z, bias, part, None if not gradient else row_factor[block],
                        None if losses is None else losses[block], log_sums[block], forward)
        if not gradient:
            continue
        if d_hidden is not None:
            np.matmul(z, matrix, out=d_hidden[block])
        if d_matrix is not None:
            accumulate(d_matrix, z, h, first=start == 0)
        if d_bias is not None:
            d_bias += z.sum(axis=0)
    gradients = (d_hidden, d_matrix) + (() if bias is None else (d_bias,))
    return losses, log_sums, gradients


def _softmax_pieces(z, bias, target, row_cotangent, losses, log_sums, forward):
    """Logits of a block (rows, V) into ``r * (p * total - Y~)`` in place (if
    ``row_cotangent`` is given), a few rows at a time so each piece stays in cache through
    all its passes; the forward also writes the row losses and log-sum-exps."""
    rows, classes = z.shape
    dtype = z.dtype
    step = max(1, _PIECE_BYTES // max(1, classes * z.itemsize))
    kept_everywhere = bool(target.keep.all())
    ones = np.ones(classes, dtype) if forward else None
    for start in range(0, rows, step):
        piece = slice(start, start + step)
        values = z[piece]
        part = target if step >= rows else _rows_of(target, piece)
        if bias is not None:
            values += bias
        if forward:
            shift = stable_shift(values, 1)
            values -= shift
            dots = _target_dot(part, values)
            np.exp(values, out=values)
            sums = values @ ones   # BLAS: 3x faster than np.sum along rows here
            logs = np.log(sums, dtype=np.float64)
            losses[piece] = part.total * logs - dots
            log_sums[piece] = logs + shift[:, 0]
        else:
            values -= log_sums[piece].astype(dtype)[:, None]
            np.exp(values, out=values)
            sums = None
        if row_cotangent is None:
            continue
        r = row_cotangent[piece]
        scale = r * part.total if sums is None else r * part.total / sums
        values *= scale.astype(dtype, copy=False)[:, None]
        if part.spread is not None:
            values -= np.multiply.outer(r, part.spread)
        picked_rows = np.arange(len(values))
        values[picked_rows, part.classes] -= r * part.class_weight
        if not kept_everywhere:
            values[~part.keep] = 0     # exactly 0, even where a logit is not finite


def _accumulator(classes, features, dtype):
    """``accumulate(out, g, h, first)``: out (V, d) = (or +=) gᵀ h for g (rows, V), h
    (rows, d), through a temporary of a few vocabulary rows rather than a (V, d) one."""
    step = max(1, _ACCUMULATE_BYTES // max(1, features * np.dtype(dtype).itemsize))
    temporary = np.empty((min(step, classes), features), dtype)

    def accumulate(out, g, h, first):
        if first:
            np.matmul(g.T, h, out=out)
            return
        for start in range(0, classes, step):
            part = slice(start, start + step)
            piece = temporary[:out[part].shape[0]]
            np.matmul(g[:, part].T, h, out=piece)
            out[part] += piece

    return accumulate


def _rows_of(target, block):
    """The EffectiveTarget of the rows in ``block`` (``spread`` and ``norm`` are shared)."""
    return target._replace(**{name: getattr(target, name)[block]
                              for name in ("keep", "total", "classes", "class_weight")})


def _target_dot(target, shifted):
    """sum_c Y~[m, c] * shifted[m, c] per row (float64), without building Y~."""
    picked = shifted[np.arange(len(shifted)), target.classes].astype(np.float64)
    dot = target.class_weight * picked
    if target.spread is not None:
        dot = dot + shifted @ target.spread
    return np.where(target.keep, dot, 0)


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
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{_OP}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, numbers.Real):
        raise TypeError(f"{_OP}: label_smoothing must be a number in [0, 1], "
                        f"got {label_smoothing!r}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{_OP}: label_smoothing must be in [0, 1], got {label_smoothing!r}")
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, numbers.Integral):
        raise TypeError(f"{_OP}: ignore_index must be an int, got {ignore_index!r}")
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
