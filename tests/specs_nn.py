"""Rows of the primitives table (tests/specs.py) for the fused nn primitives (conv2d, max_pool2d, layer_norm, ...).

They import ``Spec`` and the argument strategies from specs.py, which appends
``ROWS`` to ``PRIMITIVES``; a row's name is the primitive's registry key.

The references are plain NumPy written independently of ``autograd.nn.functional``
(a convolution as a sum over kernel offsets, pooling window by window). Convolution
inputs are multiples of 1/8 so every product and sum is exact: the value test can ask
for agreement to the last bit whatever order the sums run in. Pooling inputs are
distinct (no tied maxima within finite-difference reach), layer-norm rows have a spread
(their variance is never near 0).
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

import autograd.nn.functional as F
from autograd.testing import strategies as ags
from specs import Spec, distinct_arrays, grid_arrays

ROWS: list = []


# ---------------------------------------------------------------------------
# conv2d
# ---------------------------------------------------------------------------

def _conv2d_reference(x, w, b, stride, padding, dilation, groups):
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    n, channels, height, width = xp.shape
    out_channels, per_group, kh, kw = w.shape
    oh = (height - dilation * (kh - 1) - 1) // stride + 1
    ow = (width - dilation * (kw - 1) - 1) // stride + 1
    out = np.zeros((n, out_channels, oh, ow), np.result_type(x, w))
    per_out = out_channels // groups
    for o in range(out_channels):
        group = o // per_out
        for c in range(per_group):
            for i in range(kh):
                for j in range(kw):
                    rows = slice(i * dilation, i * dilation + stride * (oh - 1) + 1, stride)
                    cols = slice(j * dilation, j * dilation + stride * (ow - 1) + 1, stride)
                    out[:, o] += xp[:, group * per_group + c, rows, cols] * w[o, c, i, j]
    if b is not None:
        out += b.reshape(-1, 1, 1)
    return out


@st.composite
def conv2d_arguments(draw, dtype):
    groups = draw(st.sampled_from([1, 1, 2]))
    channels, out_channels = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride, padding, dilation = draw(st.integers(1, 2)), draw(st.integers(0, 1)), draw(st.integers(1, 2))
    height = draw(st.integers(max(1, dilation * (kh - 1) + 1 - 2 * padding), 5))
    width = draw(st.integers(max(1, dilation * (kw - 1) + 1 - 2 * padding), 5))
    x = draw(grid_arrays(dtype, (draw(st.integers(1, 2)), channels, height, width)))
    w = draw(grid_arrays(dtype, (out_channels, channels // groups, kh, kw)))
    b = draw(st.none() | grid_arrays(dtype, (out_channels,)))
    return x, w, b, stride, padding, dilation, groups


ROWS.append(Spec("nn.functional.conv2d", F.conv2d, _conv2d_reference, conv2d_arguments))


# ---------------------------------------------------------------------------
# max_pool2d
# ---------------------------------------------------------------------------

def _max_pool2d_reference(x, kernel, stride, padding):
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)),
                constant_values=-np.inf)
    oh = (xp.shape[2] - kernel) // stride + 1
    ow = (xp.shape[3] - kernel) // stride + 1
    out = np.empty(x.shape[:2] + (oh, ow), x.dtype)
    for p in range(oh):
        for q in range(ow):
            window = xp[:, :, p * stride: p * stride + kernel, q * stride: q * stride + kernel]
            out[:, :, p, q] = window.max(axis=(2, 3))
    return out


@st.composite
def max_pool2d_arguments(draw, dtype):
    kernel = draw(st.integers(1, 3))
    stride = draw(st.integers(1, 3))
    padding = draw(st.integers(0, kernel // 2))
    side = st.integers(max(1, kernel - 2 * padding), 4)
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(side), draw(side))
    return draw(distinct_arrays(dtype, shape)), kernel, stride, padding


ROWS.append(Spec("nn.functional.max_pool2d", F.max_pool2d, _max_pool2d_reference,
                 max_pool2d_arguments))


# ---------------------------------------------------------------------------
# layer_norm
# ---------------------------------------------------------------------------

def _layer_norm_reference(x, normalized_shape, weight, bias, eps=1e-5):
    axes = tuple(range(x.ndim - len(normalized_shape), x.ndim))
    centred = x - x.mean(axis=axes, keepdims=True)
    y = centred * ((centred * centred).mean(axis=axes, keepdims=True) + eps) ** -0.5
    if weight is not None:
        y = y * weight
    return y if bias is None else y + bias


@st.composite
def layer_norm_arguments(draw, dtype):
    normalized = draw(ags.shapes(min_dims=1, max_dims=2, min_side=2, max_side=3))
    leading = draw(ags.shapes(max_dims=2, max_side=3).filter(lambda s: np.prod(s) <= 3))
    x = draw(distinct_arrays(dtype, leading + normalized))
    weight = draw(st.none() | ags.arrays(dtype, normalized))
    bias = draw(st.none() | ags.arrays(dtype, normalized))
    return x, normalized, weight, bias


ROWS.append(Spec("nn.functional.layer_norm", F.layer_norm, _layer_norm_reference,
                 layer_norm_arguments))


# ---------------------------------------------------------------------------
# scaled_dot_product_attention
# ---------------------------------------------------------------------------

def _attention_reference(q, k, v, mask, is_causal, scale):
    scale = 1 / float(np.sqrt(q.shape[-1])) if scale is None else scale
    scores = (q @ np.swapaxes(k, -1, -2)) * scale
    allowed = np.ones(scores.shape[-2:], bool)
    if is_causal:
        allowed = np.tril(allowed)
    if mask is not None and mask.dtype == bool:
        allowed = allowed & mask
    elif mask is not None:
        scores = scores + mask
    scores = np.where(allowed, scores, -np.inf)
    top = scores.max(axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0)
    weights = np.exp(scores - top)
    total = weights.sum(axis=-1, keepdims=True)
    weights = weights / np.where(total == 0, 1, total)   # a row that sees nothing: 0
    return weights @ v


@st.composite
def attention_arguments(draw, dtype):
    batch = draw(ags.shapes(max_dims=2, max_side=2))
    length, source = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    embed, value_dim = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    q = draw(ags.arrays(dtype, batch + (length, embed), min_value=-2, max_value=2))
    k = draw(ags.arrays(dtype, batch + (source, embed), min_value=-2, max_value=2))
    v = draw(ags.arrays(dtype, batch + (source, value_dim)))
    kind = draw(st.sampled_from(["none", "causal", "bool", "float"]))
    mask = None
    if kind == "bool":
        from hypothesis.extra import numpy as hnp
        mask = draw(hnp.arrays(np.bool_, (length, source)))
    elif kind == "float":
        mask = draw(ags.arrays(dtype, (length, source), min_value=-2, max_value=2))
    scale = draw(st.none() | st.sampled_from([0.5, 1.5]))
    return q, k, v, mask, kind == "causal", scale


ROWS.append(Spec(
    "nn.functional.scaled_dot_product_attention",
    lambda q, k, v, mask, is_causal, scale: F.scaled_dot_product_attention(
        q, k, v, attn_mask=mask, is_causal=is_causal, scale=scale),
    _attention_reference, attention_arguments))


# ---------------------------------------------------------------------------
# binary_cross_entropy_with_logits, softplus
# ---------------------------------------------------------------------------

def _logistic_reference(x, y, weight, reduction, pos_weight):
    log_weight = 1 if pos_weight is None else 1 + (pos_weight - 1) * y
    losses = (1 - y) * x + log_weight * (np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0))
    if weight is not None:
        losses = losses * weight
    return {"mean": np.mean, "sum": np.sum, "none": lambda a: a}[reduction](losses)


@st.composite
def logistic_arguments(draw, dtype):
    shape = draw(ags.shapes(min_dims=1, max_dims=2))
    x = draw(ags.arrays(dtype, shape, min_value=-8, max_value=8))
    y = draw(ags.arrays(dtype, shape, min_value=0, max_value=1))
    weight = draw(st.none() | ags.arrays(dtype, st.sampled_from([shape, shape[-1:]]),
                                         min_value=0.1, max_value=2))
    pos_weight = draw(st.none() | ags.arrays(dtype, shape[-1:], min_value=0.1, max_value=3))
    return x, y, weight, draw(st.sampled_from(["mean", "sum", "none"])), pos_weight


ROWS.append(Spec("nn.functional.binary_cross_entropy_with_logits",
                 F.binary_cross_entropy_with_logits, _logistic_reference, logistic_arguments))

_SOFTPLUS_SETTINGS = [(1.0, 20.0), (2.0, 3.0), (0.5, 1.0)]


def _softplus_reference(x, beta, threshold):
    return np.where(x * beta > threshold, x, np.logaddexp(0, x * beta) / beta).astype(x.dtype)


@st.composite
def softplus_arguments(draw, dtype):
    beta, threshold = draw(st.sampled_from(_SOFTPLUS_SETTINGS))
    # PyTorch's switch to x at beta x > threshold is a jump: stay away from it
    x = draw(ags.arrays(dtype, away_from=(threshold / beta,), margin=0.1))
    return x, beta, threshold


ROWS.append(Spec("nn.functional.softplus", F.softplus, _softplus_reference, softplus_arguments))


# ---------------------------------------------------------------------------
# gelu: exact (erf) and tanh forms, on contiguous and non-contiguous layouts
# ---------------------------------------------------------------------------

def _laid_out(x, layout):
    """x (an array or a Tensor) as a view: itself, transposed, or every other column."""
    if layout == "transposed":
        return x.T
    if layout == "strided":
        return x[..., ::2]
    return x


_ERF = np.vectorize(math.erf, otypes=[np.float64])


def _gelu_reference(x, approximate, layout):
    x = _laid_out(x, layout)
    wide = x.astype(np.float64)
    if approximate == "tanh":
        value = 0.5 * wide * (1 + np.tanh(math.sqrt(2 / math.pi) * (wide + 0.044715 * wide ** 3)))
    else:
        value = 0.5 * wide * (1 + _ERF(wide / math.sqrt(2)))
    return np.asarray(value).astype(x.dtype)


@st.composite
def gelu_arguments(draw, dtype):
    x = draw(ags.arrays(dtype, min_value=-6, max_value=6))
    layouts = ["contiguous"] + (["transposed", "strided"] if x.ndim else [])
    return x, draw(st.sampled_from(["none", "tanh"])), draw(st.sampled_from(layouts))


ROWS.append(Spec("nn.functional.gelu",
                 lambda x, approximate, layout: F.gelu(_laid_out(x, layout), approximate),
                 _gelu_reference, gelu_arguments))
