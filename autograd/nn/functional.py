"""The maths of the layers as functions: ``import autograd.nn.functional as F``.

Names, shapes, defaults and semantics are PyTorch's (``torch.nn.functional``): images are
NCHW, a convolution weight is ``(out_channels, in_channels / groups, kh, kw)``.

Fused primitives (one node on the tape, their own VJPs, registered under the namespace
``"nn.functional"``): ``conv2d``, ``max_pool2d``, ``layer_norm``,
``scaled_dot_product_attention``, ``binary_cross_entropy_with_logits``, ``softplus`` and
``gelu``.
Their first-order VJPs work on the arrays the forward saved; under ``create_graph`` they
are built from recorded operations, so they can be differentiated again:

- the convolution's VJPs are two more bilinear maps, the input gradient (a transposed
  convolution) and the weight gradient (a correlation); the three maps are each other's
  VJPs, so every order of derivative is one of them;
- max pooling's VJP scatters the cotangent to the chosen positions (``scatter_add``,
  whose VJP is a gather);
- layer norm, attention and the logistic loss recompute their statistics from the
  inputs with Tensor operations; gelu its derivative.

Everything else is composed of primitives, and the tape differentiates it. The composed
forms of the fused five (``_composed_conv2d`` ...) are kept for tests and timings.

    >>> import autograd as ag, numpy as np
    >>> import autograd.nn.functional as F
    >>> x = ag.tensor(np.ones((1, 1, 4, 4)), requires_grad=True)
    >>> F.conv2d(x, ag.tensor(np.ones((2, 1, 3, 3))), padding=1).shape
    (1, 2, 4, 4)
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from autograd import creation, primitives
from autograd.functional import cross_entropy, softmax
from autograd.operands import as_tensor, describe, raw
from autograd.primitives import (
    abs, exp, getitem, log, matmul, relu, reshape, scatter_add, sigmoid, stack,
    tanh, transpose, unbroadcast, where,
)
from autograd.registry import register
from autograd.tape import JointVJP, is_grad_enabled
from autograd.tensors import Tensor, constant, record

__all__ = [
    "conv2d", "max_pool2d", "avg_pool2d", "embedding", "layer_norm", "dropout", "gelu",
    "silu", "leaky_relu", "elu", "softplus", "relu", "tanh", "sigmoid", "linear",
    "scaled_dot_product_attention", "nll_loss", "mse_loss", "l1_loss", "huber_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy",
]

_NAMESPACE = "nn.functional"
_REDUCTIONS = ("mean", "sum", "none")


# ---------------------------------------------------------------------------
# Checking arguments (errors name the function, what it expected and what it got).
# ---------------------------------------------------------------------------

def _floating(x, op, name="input"):
    """``x`` as a Tensor of a floating dtype, or a TypeError naming ``op``."""
    x = as_tensor(x, name=f"{op}: {name}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: {name} must have a floating dtype, got {describe(x)}")
    return x


def _int_pair(value, op, name, minimum):
    """An int or a pair of ints as a pair, each at least ``minimum``."""
    items = value if isinstance(value, (tuple, list)) else (value,)
    if len(items) == 1:
        items = (items[0], items[0])
    if len(items) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer))
                              for v in items):
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    if any(v < minimum for v in items):
        raise ValueError(f"{op}: {name} must be at least {minimum}, got {value!r}")
    return int(items[0]), int(items[1])


def _reduction(reduction, op):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    return reduction


def _reduced(losses, reduction):
    if reduction == "sum":
        return losses.sum()
    if reduction == "mean":
        return losses.mean()
    return losses


def _batched(x, op, what="(N, C, H, W) or (C, H, W)"):
    """A 4-d view of an image batch and whether it was unbatched (3-d)."""
    if x.ndim == 3:
        return reshape(x, (1, *x.shape)), True
    if x.ndim != 4:
        raise ValueError(f"{op}: expected input of shape {what}, got {describe(x)}")
    return x, False


def _sigmoid_any(z):
    """sigmoid on an array (plain NumPy) or on a Tensor (recorded)."""
    return sigmoid(z) if isinstance(z, Tensor) else primitives._stable_sigmoid(z)


def _softplus_any(z):
    """log(1 + e^z) without overflow, on an array or on a Tensor (recorded)."""
    if isinstance(z, Tensor):
        return softplus(z, 1.0, math.inf)   # recorded, smooth (its VJP is g sigmoid(z))
    return np.logaddexp(0, z)


def _joint(vjps, wanted):
    """The VJPs of a node: a tuple for one or two inputs, one JointVJP for more, which
    skips the inputs that do not require grad (``wanted``: a flag per input)."""
    if len(vjps) <= 2:
        return tuple(vjps)
    return JointVJP(lambda g, out, inputs: [vjp(g, out, *inputs) if needed else None
                                            for vjp, needed in zip(vjps, wanted)])


def _wanted(inputs):
    return tuple(t.requires_grad for t in inputs)


# ---------------------------------------------------------------------------
# Convolution: three bilinear maps, each the VJP of the others.
#
#   y  = conv(x, w)          y[n, o, p, q] = sum_{c,i,j} xpad[n, c, s p + d i, s q + d j] w[o, c, i, j]
#   gx = conv_input(g, w)    <conv(x, w), g> = <x, conv_input(g, w)>   (a transposed convolution)
#   gw = conv_weight(x, g)   <conv(x, w), g> = <w, conv_weight(x, g)>  (a correlation)
#
# The forward and the weight gradient unfold the padded input into its windows
# (sliding_window_view, then one copy: im2col) and multiply by the weight with one
# batched matmul per call (a batch of one per group). The input gradient multiplies the
# cotangent by the weight the same way and adds each kernel offset's share back into the
# padded input: a loop over the kh * kw offsets, never over pixels.
# ---------------------------------------------------------------------------

class _Geometry(NamedTuple):
    stride: tuple
    padding: tuple       # ((top, bottom), (left, right))
    dilation: tuple
    groups: int
    kernel: tuple        # (kh, kw)
    size: tuple          # (H, W) of the input before padding


def _padded(x, padding, fill=0):
    (top, bottom), (left, right) = padding
    if not (top or bottom or left or right):
        return x
    return np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=fill)


def _windows(xp, geometry):
    """(N, C, OH, OW, kh, kw): the windows of the padded input, a strided view."""
    (sh, sw), (dh, dw), (kh, kw) = geometry.stride, geometry.dilation, geometry.kernel
    view = sliding_window_view(xp, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(2, 3))
    return view[:, :, ::sh, ::sw, ::dh, ::dw]


def _columns(x, geometry):
    """(G, N * OH * OW, C/G * kh * kw): the unfolded input (im2col), and (OH, OW)."""
    windows = _windows(_padded(x, geometry.padding), geometry)
    n, c, oh, ow, kh, kw = windows.shape
    groups = geometry.groups
    grouped = windows.reshape(n, groups, c // groups, oh, ow, kh, kw)
    columns = grouped.transpose(1, 0, 3, 4, 2, 5, 6).reshape(groups, n * oh * ow, -1)
    return columns, (oh, ow)


def _grouped_matmul(a, b):
    """a (G, n, k) @ b (G, k, m), one 2-D product per group: NumPy's stacked matmul does not
    call BLAS for every layout (a batch of one (1, 32, 8192) @ (1, 8192, 144) in float32
    took 154 ms against 0.7 ms for the 2-D product)."""
    if a.shape[0] == 1:
        return (a[0] @ b[0])[None]
    out = np.empty((a.shape[0], a.shape[1], b.shape[2]), np.result_type(a, b))
    for group in range(a.shape[0]):
        np.matmul(a[group], b[group], out=out[group])
    return out


def _conv_forward(x, w, geometry, unfolded=None):
    columns, (oh, ow) = _columns(x, geometry) if unfolded is None else unfolded
    groups, n, out_channels = geometry.groups, x.shape[0], w.shape[0]
    y = _grouped_matmul(columns, w.reshape(groups, out_channels // groups, -1).transpose(0, 2, 1))
    return y.reshape(groups, n, oh, ow, -1).transpose(1, 0, 4, 2, 3).reshape(n, out_channels, oh, ow)


def _conv_input_forward(g, w, geometry):
    n, out_channels, oh, ow = g.shape
    groups = geometry.groups
    per_group = out_channels // groups
    (sh, sw), (dh, dw), (kh, kw) = geometry.stride, geometry.dilation, geometry.kernel
    (top, bottom), (left, right) = geometry.padding
    height, width = geometry.size
    channels = w.shape[1]  # per group
    g_rows = g.reshape(n, groups, per_group, oh, ow).transpose(1, 0, 3, 4, 2).reshape(
        groups, n * oh * ow, per_group)
    pieces = _grouped_matmul(g_rows, w.reshape(groups, per_group, -1)).reshape(
        groups, n, oh, ow, channels, kh, kw).transpose(1, 0, 4, 5, 6, 2, 3)
    gxp = np.zeros((n, groups, channels, height + top + bottom, width + left + right), g.dtype)
    for i in range(kh):
        for j in range(kw):
            gxp[:, :, :, i * dh: i * dh + sh * (oh - 1) + 1: sh,
                j * dw: j * dw + sw * (ow - 1) + 1: sw] += pieces[:, :, :, i, j]
    gx = gxp.reshape(n, groups * channels, *gxp.shape[3:])
    if top or bottom or left or right:
        gx = np.ascontiguousarray(gx[:, :, top: top + height, left: left + width])
    return gx


def _conv_weight_forward(x, g, geometry, unfolded=None):
    columns, (oh, ow) = _columns(x, geometry) if unfolded is None else unfolded
    n, out_channels = g.shape[:2]
    groups = geometry.groups
    # g as (G, N * OH * OW, O/G), multiplied transposed: OpenBLAS's threaded sgemm took
    # 155 ms of CPU for a C-ordered (32, 8192) @ (8192, 144), 5 ms for the transposed
    # operand (1.1-1.3 ms either way on one thread)
    g_rows = g.reshape(n, groups, out_channels // groups, oh, ow).transpose(1, 0, 3, 4, 2).reshape(
        groups, n * oh * ow, out_channels // groups)
    kh, kw = geometry.kernel
    return _grouped_matmul(g_rows.transpose(0, 2, 1), columns).reshape(out_channels, -1, kh, kw)


def _bilinear(forward, a, b, geometry, vjps, op):
    """``forward(a, b, geometry)``: plain on arrays, recorded when either is a Tensor."""
    if not (isinstance(a, Tensor) or isinstance(b, Tensor)):
        return forward(a, b, geometry)
    a, b = as_tensor(a), as_tensor(b)
    return record(forward(a._data, b._data, geometry), (a, b), vjps(geometry), op)


def _conv(x, w, geometry):
    return _bilinear(_conv_forward, x, w, geometry, _conv_vjps, "conv2d")


def _conv_input(g, w, geometry):
    return _bilinear(_conv_input_forward, g, w, geometry, _conv_input_vjps, "conv2d_input_vjp")


def _conv_weight(x, g, geometry):
    return _bilinear(_conv_weight_forward, x, g, geometry, _conv_weight_vjps, "conv2d_weight_vjp")


@functools.lru_cache(maxsize=64)
def _conv_vjps(geometry, wanted=(True, True)):
    """(x, w) or, with a third flag, (x, w, bias)."""
    vjps = (lambda g, out, x, w, *b: _conv_input(g, w, geometry),
            lambda g, out, x, w, *b: _conv_weight(x, g, geometry))
    if len(wanted) == 3:
        vjps += (lambda g, out, x, w, b: g.sum(axis=(0, 2, 3)),)
    return _joint(vjps, wanted)


def _conv_saved_vjps(geometry, wanted, unfolded):
    """The VJPs of one conv2d call whose weight needs a gradient: first-order backward
    reuses the forward's unfolded input (im2col) instead of unfolding it again."""
    def weight_vjp(g, out, x, w, *b):
        if type(g) is np.ndarray and type(x) is np.ndarray:
            return _conv_weight_forward(x, g, geometry, unfolded)
        return _conv_weight(x, g, geometry)
    vjps = (lambda g, out, x, w, *b: _conv_input(g, w, geometry), weight_vjp)
    if len(wanted) == 3:
        vjps += (lambda g, out, x, w, b: g.sum(axis=(0, 2, 3)),)
    return _joint(vjps, wanted)


@functools.lru_cache(maxsize=64)
def _conv_input_vjps(geometry):
    return (lambda gg, out, g, w: _conv(gg, w, geometry),
            lambda gg, out, g, w: _conv_weight(gg, g, geometry))


@functools.lru_cache(maxsize=64)
def _conv_weight_vjps(geometry):
    return (lambda gw, out, x, g: _conv_input(g, gw, geometry),
            lambda gw, out, x, g: _conv(x, gw, geometry))


def _conv_padding(padding, kernel, dilation, stride, op):
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0), (0, 0))
        if padding == "same":
            if stride != (1, 1):
                raise ValueError(f"{op}: padding='same' needs stride 1, got stride {stride}")
            sides = []
            for k, d in zip(kernel, dilation):
                total = d * (k - 1)
                sides.append((total // 2, total - total // 2))  # the extra one at the end
            return tuple(sides)
        raise ValueError(f"{op}: padding must be an int, a pair of ints, 'valid' or 'same', "
                         f"got {padding!r}")
    ph, pw = _int_pair(padding, op, "padding", 0)
    return ((ph, ph), (pw, pw))


def _check_window(op, x, geometry, what="kernel"):
    (top, bottom), (left, right) = geometry.padding
    span = [d * (k - 1) + 1 for k, d in zip(geometry.kernel, geometry.dilation)]
    padded = (x.shape[2] + top + bottom, x.shape[3] + left + right)
    if padded[0] < span[0] or padded[1] < span[1]:
        raise ValueError(
            f"{op}: the {what} spans {tuple(span)} (kernel {geometry.kernel}, dilation "
            f"{geometry.dilation}) but the padded input is only {padded} (input "
            f"{describe(x)}, padding {geometry.padding})")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation, as PyTorch): one fused primitive.

    Shapes: input (N, C, H, W) or (C, H, W); weight (O, C / groups, kh, kw); bias (O,);
    output (N, O, OH, OW) with ``OH = (H + pad_top + pad_bottom - dilation * (kh - 1) - 1)
    // stride + 1`` (likewise OW). ``stride``, ``padding``, ``dilation``: an int or a pair;
    ``padding`` may also be ``"valid"`` (0) or ``"same"`` (stride 1; the odd pixel of an
    even total goes at the end, as in PyTorch).

    >>> import autograd as ag, numpy as np
    >>> import autograd.nn.functional as F
    >>> x = ag.tensor(np.arange(16.0).reshape(1, 1, 4, 4))
    >>> F.conv2d(x, ag.tensor(np.ones((1, 1, 2, 2))), stride=2).data
    array([[[[10., 18.],
             [42., 50.]]]])
    """
    op = "conv2d"
    x = _floating(input, op)
    w = _floating(weight, op, "weight")
    x4, unbatched = _batched(x, op)
    if w.ndim != 4:
        raise ValueError(f"{op}: weight must have shape (out_channels, in_channels / groups, kh, "
                         f"kw), got {describe(w)}")
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive integer, got {groups!r}")
    channels, out_channels = x4.shape[1], w.shape[0]
    if channels % groups or out_channels % groups:
        raise ValueError(f"{op}: in_channels ({channels}) and out_channels ({out_channels}) must "
                         f"both be divisible by groups ({groups})")
    if w.shape[1] * groups != channels:
        raise ValueError(
            f"{op}: weight of shape {w.shape} with groups={groups} expects input with "
            f"{w.shape[1] * groups} channels, got input of shape {x.shape} ({channels} channels)")
    stride = _int_pair(stride, op, "stride", 1)
    dilation = _int_pair(dilation, op, "dilation", 1)
    kernel = tuple(w.shape[2:])
    geometry = _Geometry(stride, _conv_padding(padding, kernel, dilation, stride, op), dilation,
                         int(groups), kernel, tuple(x4.shape[2:]))
    _check_window(op, x4, geometry)
    inputs = (x4, w)
    if bias is not None:
        b = _floating(bias, op, "bias")
        if b.shape != (out_channels,):
            raise ValueError(f"{op}: bias must have shape ({out_channels},) (one per output "
                             f"channel), got {describe(b)}")
        inputs += (b,)
    unfolded = _columns(x4._data, geometry)
    data = _conv_forward(x4._data, w._data, geometry, unfolded)
    if bias is not None:
        data += inputs[2]._data.reshape(-1, 1, 1)
    wanted = _wanted(inputs)
    if w.requires_grad and is_grad_enabled():  # keep the unfolded input for the weight's VJP
        vjps = _conv_saved_vjps(geometry, wanted, unfolded)
    else:
        vjps = _conv_vjps(geometry, wanted)
    out = record(data, inputs, vjps, op)
    return reshape(out, out.shape[1:]) if unbatched else out


register(conv2d, _conv_vjps, namespace=_NAMESPACE)


def _composed_conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """conv2d from primitives (pad by concatenating zeros, kh * kw slices, stack, matmul):
    the same values and gradients as ``conv2d``, many nodes instead of one."""
    x, w = as_tensor(input), as_tensor(weight)
    (sh, sw), (dh, dw) = _int_pair(stride, "conv2d", "stride", 1), _int_pair(dilation, "conv2d", "dilation", 1)
    ph, pw = _int_pair(padding, "conv2d", "padding", 0)
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    if ph:
        zeros = constant(np.zeros((n, c, ph, wd), x.dtype))
        x = primitives.concatenate([zeros, x, zeros], axis=2)
    if pw:
        zeros = constant(np.zeros((n, c, h + 2 * ph, pw), x.dtype))
        x = primitives.concatenate([zeros, x, zeros], axis=3)
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    slices = [x[:, :, i * dh: i * dh + sh * (oh - 1) + 1: sh, j * dw: j * dw + sw * (ow - 1) + 1: sw]
              for i in range(kh) for j in range(kw)]
    columns = stack(slices, axis=-1)  # (N, C, OH, OW, kh*kw)
    columns = reshape(columns, (n, groups, cg, oh, ow, kh * kw))
    columns = reshape(transpose(columns, (1, 0, 3, 4, 2, 5)), (groups, n * oh * ow, cg * kh * kw))
    weights = transpose(reshape(w, (groups, o // groups, cg * kh * kw)), (0, 2, 1))
    y = reshape(matmul(columns, weights), (groups, n, oh, ow, o // groups))
    y = reshape(transpose(y, (1, 0, 4, 2, 3)), (n, o, oh, ow))
    return y if bias is None else y + reshape(as_tensor(bias), (o, 1, 1))


# ---------------------------------------------------------------------------
# Pooling.
# ---------------------------------------------------------------------------

def _pool_geometry(op, x4, kernel_size, stride, padding, dilation=1):
    kernel = _int_pair(kernel_size, op, "kernel_size", 1)
    stride = kernel if stride is None or stride == () else _int_pair(stride, op, "stride", 1)
    ph, pw = _int_pair(padding, op, "padding", 0)
    if ph > kernel[0] // 2 or pw > kernel[1] // 2:
        raise ValueError(f"{op}: padding should be at most half of the kernel size, got padding "
                         f"{(ph, pw)} for kernel_size {kernel}")
    dilation = _int_pair(dilation, op, "dilation", 1)
    geometry = _Geometry(stride, ((ph, ph), (pw, pw)), dilation, x4.shape[1], kernel,
                         tuple(x4.shape[2:]))
    _check_window(op, x4, geometry, "pooling window")
    return geometry


def _no_ceil_mode(op, ceil_mode):
    if ceil_mode:
        raise NotImplementedError(f"{op}: ceil_mode=True is not supported (output sizes are "
                                  "rounded down)")


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """The maximum over each window: one fused primitive.

    Shapes: (N, C, H, W) or (C, H, W) -> (N, C, OH, OW) with ``OH = (H + 2 padding -
    dilation (k - 1) - 1) // stride + 1``. ``stride`` defaults to ``kernel_size``; the
    padding (at most half the kernel) is -inf. The gradient goes to the first maximum of
    each window in row-major order, as in PyTorch (overlapping windows add up).

    >>> import autograd as ag, numpy as np
    >>> import autograd.nn.functional as F
    >>> F.max_pool2d(ag.tensor(np.arange(16.0).reshape(1, 1, 4, 4)), 2).data
    array([[[[ 5.,  7.],
             [13., 15.]]]])
    """
    op = "max_pool2d"
    _no_ceil_mode(op, ceil_mode)
    if return_indices:
        raise NotImplementedError(f"{op}: return_indices=True is not supported")
    x = _floating(input, op)
    x4, unbatched = _batched(x, op)
    geometry = _pool_geometry(op, x4, kernel_size, stride, padding, dilation)
    (sh, sw), (dh, dw), (kh, kw) = geometry.stride, geometry.dilation, geometry.kernel
    windows = _windows(_padded(x4._data, geometry.padding, -np.inf), geometry)
    n, c, oh, ow = windows.shape[:4]
    flat = windows.reshape(n, c, oh, ow, kh * kw)
    chosen = flat.argmax(axis=-1)
    data = np.take_along_axis(flat, chosen[..., None], axis=-1)[..., 0]
    padded_width = x4.shape[3] + 2 * geometry.padding[1][0]
    rows = (np.arange(oh) * sh)[:, None] + (chosen // kw) * dh
    columns = np.arange(ow) * sw + (chosen % kw) * dw
    out = record(data, (x4,), _max_pool_vjps(rows * padded_width + columns, geometry), op)
    return reshape(out, out.shape[1:]) if unbatched else out


def _max_pool_vjps(positions, geometry):
    """Scatter the cotangent to the chosen positions (flat indices into the padded planes)."""
    n, c = positions.shape[:2]
    (top, _), (left, _) = geometry.padding
    height, width = geometry.size
    padded = (height + 2 * top, width + 2 * left)
    plane = padded[0] * padded[1]
    index = (positions.reshape(n * c, -1) + (np.arange(n * c) * plane)[:, None]).ravel()
    overlapping = any(s < d * (k - 1) + 1 for s, k, d in
                      zip(geometry.stride, geometry.kernel, geometry.dilation))

    def max_pool_vjp(g, out, x):
        size = n * c * plane
        if isinstance(g, Tensor):
            spread = scatter_add(reshape(g, -1), index, (size,))
        elif overlapping:  # one input may win several windows: add up (bincount is fast)
            spread = np.bincount(index, weights=g.ravel(), minlength=size).astype(g.dtype, copy=False)
        else:
            spread = np.zeros(size, g.dtype)
            spread[index] = g.ravel()
        spread = spread.reshape(n, c, *padded)
        if top or left:
            spread = spread[:, :, top: top + height, left: left + width]
        return spread
    return (max_pool_vjp,)


register(max_pool2d, _max_pool_vjps, namespace=_NAMESPACE)


def _composed_max_pool2d(input, kernel_size, stride=None):
    """max_pool2d from primitives (kh * kw slices, stack, max) without padding; tied maxima
    share the gradient (ag.max's rule) where the fused one picks the first."""
    x = as_tensor(input)
    kh, kw = _int_pair(kernel_size, "max_pool2d", "kernel_size", 1)
    sh, sw = (kh, kw) if stride is None else _int_pair(stride, "max_pool2d", "stride", 1)
    oh, ow = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
    slices = [x[:, :, i: i + sh * (oh - 1) + 1: sh, j: j + sw * (ow - 1) + 1: sw]
              for i in range(kh) for j in range(kw)]
    return primitives.max(stack(slices, axis=-1), axis=-1)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """The mean over each window (composed: a grouped ``conv2d`` with a constant weight).

    Shapes as ``max_pool2d``; the padding is zeros, counted in the mean unless
    ``count_include_pad=False``; ``divisor_override`` replaces the count.

    >>> import autograd as ag, numpy as np
    >>> import autograd.nn.functional as F
    >>> F.avg_pool2d(ag.tensor(np.arange(16.0).reshape(1, 1, 4, 4)), 2).data
    array([[[[ 2.5,  4.5],
             [10.5, 12.5]]]])
    """
    op = "avg_pool2d"
    _no_ceil_mode(op, ceil_mode)
    x = _floating(input, op)
    x4, unbatched = _batched(x, op)
    geometry = _pool_geometry(op, x4, kernel_size, stride, padding)
    kh, kw = geometry.kernel
    channels = x4.shape[1]
    sums = _conv(x4, constant(np.ones((channels, 1, kh, kw), x.dtype)), geometry)
    if divisor_override is not None:
        if isinstance(divisor_override, bool) or not isinstance(divisor_override, (int, np.integer)) \
                or divisor_override < 1:
            raise ValueError(f"{op}: divisor_override must be a positive integer, got "
                             f"{divisor_override!r}")
        out = sums / x.dtype.type(divisor_override)
    elif count_include_pad:
        out = sums / x.dtype.type(kh * kw)
    else:
        ones = np.ones((1, 1, *x4.shape[2:]), x.dtype)
        counts = _conv_forward(ones, np.ones((1, 1, kh, kw), x.dtype), geometry._replace(groups=1))
        out = sums / counts
    return reshape(out, out.shape[1:]) if unbatched else out


# ---------------------------------------------------------------------------
# Normalisation.
#
# Float32/float64 arrays take a fast path (the Tensor path, under create_graph, is the
# composed formula below): the input is seen as a (rows, n) matrix and every sum over a
# row is a matrix-vector product (BLAS) instead of NumPy's reduction, which pays a call
# per row; the one outer product, rstd ⊗ weight, is a rank-2 GEMM against a zero column
# (exact products, ~3x faster than the broadcast product). Forward, with c = x - mean:
#     y = c * (rstd ⊗ w) + b;   saved: c, rstd, rstd ⊗ w
# backward, from dy = g (every sum over a row or over the rows a BLAS product):
#     dw = Σ_rows rstd * (g c);   db = Σ_rows g;
#     dx = g (rstd ⊗ w) - rstd mean(g w) - c rstd² mean(g w xhat)
#        (= rstd (g w - mean(g w) - xhat mean(g w xhat)), xhat = c rstd, rearranged).
# ---------------------------------------------------------------------------

_FAST_DTYPES = ("f", "d")   # dtype.char of the arrays the BLAS fast paths take


def _layer_norm_statistics(x, axes, eps):
    """(x - mean) / sqrt(var + eps) and 1 / sqrt(var + eps) over ``axes``, for arrays or Tensors."""
    centred = x - x.mean(axis=axes, keepdims=True)
    rstd = ((centred * centred).mean(axis=axes, keepdims=True) + eps) ** -0.5
    return centred * rstd, rstd


@functools.lru_cache(maxsize=32)
def _filled(count, value, dtype):
    """A read-only vector of ``count`` copies of ``value`` (a BLAS operand for row sums)."""
    vector = np.full(count, value, dtype)
    vector.flags.writeable = False
    return vector


def _outer(u, v):
    """u (m,) ⊗ v (n,) -> (m, n): one GEMM of rank 2, ``[u 0] @ [v; 0]`` (each entry is
    u_i v_j rounded once, as the broadcast product; ~3x faster than it at 512 x 128)."""
    left = np.zeros_like(u, shape=(u.shape[0], 2))
    left[:, 0] = u
    right = np.zeros_like(v, shape=(2, v.shape[0]))
    right[0] = v
    return left @ right


def _layer_norm_fast(x, shape, w, b, eps):
    """(y, saved) of the fast path for a float32/float64 array ``x`` with weight ``w`` and
    bias ``b`` arrays of its dtype (or None); None when it does not apply."""
    n = math.prod(shape)
    rows = x.size // n if n else 0
    dtype = x.dtype
    if dtype.char not in _FAST_DTYPES or not rows or any(
            t is not None and t.dtype != dtype for t in (w, b)):
        return None
    ones = _filled(n, 1.0, dtype)
    x2 = x.reshape(rows, n)
    mean = x2 @ ones
    mean /= n
    c = np.subtract(x2, mean[:, None])
    y = np.multiply(c, c)
    rstd = y @ ones                      # n var
    rstd /= n
    rstd += eps
    rstd **= -0.5
    scale = None
    if w is not None:
        scale = _outer(rstd, w.reshape(n))
        np.multiply(c, scale, out=y)
    else:
        np.multiply(c, rstd[:, None], out=y)
    if b is not None:
        y += b.reshape(n)
    return y.reshape(x.shape), (c, rstd, scale)


def _layer_norm_fast_grads(g, saved, w, wanted):
    """[dx, dw, db] (None where not wanted) of the fast path, from its saved arrays; None
    if ``g`` is not of their dtype."""
    c, rstd, scale = saved
    rows, n = c.shape
    dtype = c.dtype
    if np.result_type(g) != dtype:
        return None
    g2 = g.reshape(rows, n)
    want_x, want_w, want_b = wanted
    grads = [None, None, None]
    gc = np.multiply(g2, c) if want_x or want_w else None
    if want_w:
        grads[1] = rstd @ gc
    if want_b:
        grads[2] = _filled(rows, 1.0, dtype) @ g2
    if want_x:
        wv = _filled(n, 1.0, dtype) if w is None else w.reshape(n)
        shift = g2 @ wv                  # n mean(g w)
        shift *= rstd
        shift /= n                       # rstd mean(g w)
        slope = gc @ wv                  # n mean(g w c)
        slope *= rstd
        slope /= n                       # mean(g w xhat)
        slope *= rstd
        slope *= rstd                    # rstd² mean(g w xhat)
        dx = np.multiply(g2, scale) if scale is not None else np.multiply(g2, rstd[:, None])
        np.multiply(c, slope[:, None], out=gc)
        dx -= gc
        dx -= shift[:, None]
        grads[0] = dx
    return grads


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the trailing ``normalized_shape`` axes: ``(x - mean) / sqrt(var + eps)
    * weight + bias`` with the biased variance, as PyTorch. One fused primitive.

    Shapes: input (..., *normalized_shape); weight and bias ``normalized_shape`` (or None);
    output as input.

    >>> import autograd as ag, numpy as np
    >>> import autograd.nn.functional as F
    >>> F.layer_norm(ag.tensor([[1.0, 2.0, 3.0]]), (3,)).data.round(4)
    array([[-1.2247,  0.    ,  1.2247]])
    """
    op = "layer_norm"
    x = _floating(input, op)
    shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
    k = len(shape)
    if not k or x.ndim < k or tuple(x.shape[x.ndim - k:]) != shape:
        raise ValueError(f"{op}: normalized_shape {shape} must match the last axes of the input, "
                         f"got input of {describe(x)}")
    inputs = [x]
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None:
            value = _floating(value, op, name)
            if value.shape != shape:
                raise ValueError(f"{op}: {name} must have shape normalized_shape {shape}, got "
                                 f"{describe(value)}")
        inputs.append(value)
    axes = tuple(range(x.ndim - k, x.ndim))
    arrays = [None if t is None else t._data for t in inputs]
    fast = _layer_norm_fast(arrays[0], shape, arrays[1], arrays[2], eps)
    if fast is not None:
        data, saved = fast
    else:
        xhat, rstd = _layer_norm_statistics(arrays[0], axes, eps)
        data = xhat
        if weight is not None:
            data = data * arrays[1]
        if bias is not None:
            data = data + arrays[2]
        if data is xhat:
            data = xhat.copy()  # the saved statistics stay ours
        saved = (None, xhat, rstd)     # (no fast-path arrays), the statistics
    present = tuple(t for t in inputs if t is not None)
    vjps = _layer_norm_vjps(axes, eps, weight is not None, bias is not None, _wanted(present),
                            saved)
    return record(data, present, vjps, op)


def _layer_norm_vjps(axes, eps, has_weight, has_bias, wanted, saved=None):
    leading = tuple(range(axes[0]))
    fast = saved is not None and saved[0] is not None

    def statistics(x):
        if saved is not None and not fast and not isinstance(x, Tensor):
            return saved[1:]
        return _layer_norm_statistics(x, axes, eps)

    def composed_x(g, x, w):
        # d/dx of xhat . gh, gh = g * w: rstd (gh - mean(gh) - xhat mean(gh xhat))
        xhat, rstd = statistics(x)
        gh = g * w if has_weight else g
        return rstd * (gh - gh.mean(axis=axes, keepdims=True)
                       - xhat * (gh * xhat).mean(axis=axes, keepdims=True))

    def summed(value):
        return value.sum(axis=leading) if leading else value

    def grads(g, x, w, need):
        """[dx, dw, db] for the inputs ``need`` flags (x, weight, bias)."""
        arrays = not (isinstance(g, Tensor) or isinstance(x, Tensor) or isinstance(w, Tensor))
        if fast and arrays:
            got = _layer_norm_fast_grads(g, saved, w, need)
            if got is not None:
                shape = np.shape(x)
                if got[0] is not None:
                    got[0] = got[0].reshape(shape)
                for i in (1, 2):
                    if got[i] is not None:
                        got[i] = got[i].reshape(shape[axes[0]:])
                return got
        return [composed_x(g, x, w) if need[0] else None,
                summed(g * statistics(x)[0]) if need[1] else None,
                summed(g) if need[2] else None]

    need = (wanted[0], has_weight and wanted[1], has_bias and wanted[-1])
    if has_weight and has_bias:
        return JointVJP(lambda g, out, inputs: grads(g, inputs[0], inputs[1], need))
    vjps = [lambda g, out, x, *rest: grads(g, x, rest[0] if has_weight else None,
                                           (True, False, False))[0]]
    if has_weight:
        vjps.append(lambda g, out, x, w: grads(g, x, w, (False, True, False))[1])
    if has_bias:
        vjps.append(lambda g, out, x, b: grads(g, x, None, (False, False, True))[2])
    return tuple(vjps)


register(layer_norm, _layer_norm_vjps, namespace=_NAMESPACE)


def _composed_layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """layer_norm from primitives (mean, sub, mul, pow, ...), for tests and timings."""
    x = as_tensor(input)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    xhat, _ = _layer_norm_statistics(x, axes, eps)
    y = xhat if weight is None else xhat * weight
    return y if bias is None else y + bias


# ---------------------------------------------------------------------------
# Attention.
#
# Query, key and value arrays of one dtype, float32 or float64, take a fast path (the
# Tensor path, under create_graph, is the composed softmax below). The matmul writes the
# scaled scores straight into a buffer laid out (key, *batch, query): the matmul's view of
# it is (*batch, S, L), the transposed scores. Softmax's reductions over the keys (max,
# sum) then run along the first axis, as whole-array elementwise passes, and the
# per-query vectors (max, sum) broadcast along it at full speed; along a short last axis
# NumPy pays a call per row instead (the max over 64 keys: ~5x slower). A boolean mask is
# added as 0 / -inf in that layout (the causal one cached, full size when small).
# Backward, softmax's VJP gS = P (gP - rowsum(gP P)) with gP = g vᵀ, written transposed
# into a new buffer the same way; rowsum(gP P) = rowsum(g out) (out = P v), a product of
# (L, Ev) arrays and one BLAS matrix-vector product instead of an (L, S) product and a
# reduction. A row whose largest score is not finite (a row that sees no key, inf/NaN
# scores) sends the call to the composed-order path (as before the fast path), so such
# rows give what they gave: zeros for a row that sees nothing, NaN where PyTorch has NaN.
# ---------------------------------------------------------------------------

_MATERIALISED_MASK = 1 << 20   # elements: a causal mask this small is cached full size


def _attention_weights(scores):
    """softmax over the last axis of an array; rows that are all -inf give 0 (as PyTorch)."""
    top = np.max(scores, axis=-1, keepdims=True)
    empty = ~np.isfinite(top)
    if empty.any():
        top = np.where(empty, 0, top)
    weights = np.exp(scores - top)
    total = weights.sum(axis=-1, keepdims=True)
    if empty.any():
        total = np.where(total == 0, 1, total)
    weights /= total
    return weights


def _to_layout(mask, batch):
    """A mask (..., L, S) that broadcasts to (*batch, L, S), as (S, ..., L): the fast path's
    layout (leading axes of size 1 added)."""
    mask = mask.reshape((1,) * (len(batch) + 2 - mask.ndim) + tuple(mask.shape))
    return mask.transpose((mask.ndim - 1, *range(mask.ndim - 2), mask.ndim - 2))


@functools.lru_cache(maxsize=8)
def _causal_additive(length, source, batch, dtype):
    """The causal mask as 0 (query i sees key j <= i) / -inf, in the layout (S, *batch, L),
    read-only: full size when it has at most ``_MATERIALISED_MASK`` entries (adding it is
    then one pass), else (S, 1, ..., 1, L)."""
    allowed = np.tril(np.ones((length, source), bool))
    mask = _to_layout(np.where(allowed, dtype.type(0), dtype.type(-np.inf)), batch)
    if mask.size * math.prod(batch) <= _MATERIALISED_MASK:
        mask = np.broadcast_to(mask, (source, *batch, length))
    mask = np.ascontiguousarray(mask)
    mask.flags.writeable = False
    return mask


def _attention_orders(batch):
    """Axes orders turning the buffer (S, *batch, L) into (*batch, S, L) and (*batch, L, S)."""
    axes = tuple(range(1, len(batch) + 1))
    return (*axes, 0, len(batch) + 1), (*axes, len(batch) + 1, 0)


def _attention_fast(q, k, v, mask, scale, batch):
    """(out, weights in the layout (S, *batch, L)) for arrays of one float dtype, ``mask``
    already in that layout (or None); None when a row's largest score is not finite."""
    length, source = q.shape[-2], k.shape[-2]
    transposed, _ = _attention_orders(batch)
    weights = np.empty_like(q, shape=(source, *batch, length), order="C")
    np.matmul(k, np.swapaxes(q, -1, -2), out=weights.transpose(transposed))
    if scale != 1:
        weights *= scale
    if mask is not None:
        weights += mask
    top = np.maximum.reduce(weights, axis=0)
    if not np.isfinite(top).all():
        return None
    weights -= top
    np.exp(weights, out=weights)
    weights /= np.add.reduce(weights, axis=0)
    out = np.matmul(weights.transpose(_attention_orders(batch)[1]), v)
    return out, weights


def _attention_fast_grads(g, out, inputs, weights, batch, scale, wanted):
    """The cotangents of q, k, v (and a float mask) from the fast path's weights."""
    q, k, v = inputs[:3]
    transposed, _ = _attention_orders(batch)
    grads = [None] * len(inputs)
    if wanted[2]:
        grads[2] = unbroadcast(np.matmul(weights.transpose(transposed), g), v.shape)
    if not (wanted[0] or wanted[1] or wanted[3:] == (True,)):
        return grads
    dtype = weights.dtype
    width = out.shape[-1]
    both = np.multiply(g, out, out=np.empty_like(out, order="C"))
    rowsum = (both.reshape(-1, width) @ _filled(width, 1.0, dtype)).reshape(out.shape[:-1])
    gs = np.empty_like(weights)                     # (gS)ᵀ, in the weights' layout
    np.matmul(v, np.swapaxes(g, -1, -2), out=gs.transpose(transposed))
    gs -= rowsum
    gs *= weights
    gs_t = gs.transpose(transposed)                 # (*batch, S, L)
    if wanted[0]:
        gq = np.matmul(np.swapaxes(gs_t, -1, -2), k)
        if scale != 1:
            gq *= scale
        grads[0] = unbroadcast(gq, q.shape)
    if wanted[1]:
        gk = np.matmul(gs_t, q)
        if scale != 1:
            gk *= scale
        grads[1] = unbroadcast(gk, k.shape)
    if len(inputs) > 3 and wanted[3]:
        grads[3] = np.ascontiguousarray(unbroadcast(np.swapaxes(gs_t, -1, -2), inputs[3].shape))
    return grads


def _attention_mask(op, attn_mask, is_causal, scores_shape, dtype):
    """(bool mask or None, additive float Tensor or None) for the scores of ``scores_shape``."""
    length, source = scores_shape[-2:]
    if is_causal:
        if attn_mask is not None:
            raise ValueError(f"{op}: pass attn_mask or is_causal=True, not both")
        return np.tril(np.ones((length, source), bool)), None
    if attn_mask is None:
        return None, None
    mask = as_tensor(attn_mask, name=f"{op}: attn_mask")
    try:
        broadcast = np.broadcast_shapes(mask.shape, scores_shape)
    except ValueError:
        broadcast = None
    if broadcast != tuple(scores_shape):
        raise ValueError(f"{op}: attn_mask of shape {mask.shape} does not broadcast to the "
                         f"attention scores of shape {tuple(scores_shape)} (..., L, S)")
    if mask.dtype == np.bool_:
        return mask._data, None
    if mask.dtype.kind != "f":
        raise TypeError(f"{op}: attn_mask must be bool (True = attend) or floating (added to the "
                        f"scores), got {describe(mask)}")
    return None, mask


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """softmax(q kᵀ * scale + mask) v over the last two axes: one fused primitive.

    Shapes: query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev); batch
    axes broadcast. ``scale`` defaults to 1 / sqrt(E). ``attn_mask`` broadcasts to
    (..., L, S): bool (True takes part) or floating (added to the scores; it gets a
    gradient if it requires one). ``is_causal`` masks the upper triangle (query i sees keys
    0..i). A query that sees no key gives zeros, as in PyTorch. ``dropout_p > 0`` drops
    attention weights with the ``ag.manual_seed`` generator (composed, not fused).

    >>> import autograd as ag, numpy as np
    >>> import autograd.nn.functional as F
    >>> q = ag.tensor(np.zeros((1, 2, 4)))
    >>> v = ag.tensor([[[1.0], [3.0]]])
    >>> F.scaled_dot_product_attention(q, q, v, is_causal=True).data
    array([[[1.],
            [2.]]])
    """
    op = "scaled_dot_product_attention"
    q, k, v = (_floating(t, op, name) for t, name in ((query, "query"), (key, "key"), (value, "value")))
    if enable_gqa:
        raise NotImplementedError(f"{op}: enable_gqa=True is not supported")
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise ValueError(f"{op}: query, key and value need at least 2 dimensions (..., L, E), "
                         f"got {q.shape}, {k.shape} and {v.shape}")
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(f"{op}: expected query (..., L, E), key (..., S, E) and value (..., S, "
                         f"Ev), got {q.shape}, {k.shape} and {v.shape}")
    try:
        batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except ValueError:
        raise ValueError(f"{op}: the batch axes of query {q.shape}, key {k.shape} and value "
                         f"{v.shape} do not broadcast") from None
    scores_shape = (*batch, q.shape[-2], k.shape[-2])
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    boolean, additive = _attention_mask(op, attn_mask, is_causal, scores_shape, q.dtype)
    if not 0 <= dropout_p <= 1:
        raise ValueError(f"{op}: dropout_p must be in [0, 1], got {dropout_p!r}")
    if dropout_p:
        return _composed_attention(q, k, v, boolean, additive, scale, dropout_p)
    inputs = (q, k, v) if additive is None else (q, k, v, additive)
    dtype = q.dtype
    fast = None
    if (dtype.char in _FAST_DTYPES and all(t.dtype == dtype for t in inputs)
            and all(scores_shape) and q.shape[-1] and v.shape[-1]
            and (boolean is None or is_causal or boolean.any(axis=-1).all())):
        if is_causal:
            mask = _causal_additive(*scores_shape[-2:], batch, dtype)
        elif boolean is not None:
            mask = np.where(_to_layout(boolean, batch), dtype.type(0), dtype.type(-np.inf))
        else:
            mask = None if additive is None else _to_layout(additive._data, batch)
        fast = _attention_fast(q._data, k._data, v._data, mask, scale, batch)
    if fast is not None:
        data, saved = fast[0], (fast[1], batch)
    else:
        scores = (q._data @ k._data.mT) * scale
        if additive is not None:
            scores = scores + additive._data
        if boolean is not None:
            scores = np.where(boolean, scores, -np.inf)
        weights = _attention_weights(scores)
        data = weights @ v._data
        saved = (weights, None)
    return record(data, inputs, _attention_vjps(boolean, scale, _wanted(inputs), saved), op)


def _attention_vjps(boolean, scale, wanted, saved=None):
    """The pullback; ``saved``: (weights, None) as the composed path computed them, or
    (weights in the fast path's layout, the batch shape)."""
    def pullback(g, out, inputs):
        q, k, v = inputs[:3]
        additive = inputs[3] if len(inputs) > 3 else None
        if saved is not None and not any(isinstance(t, Tensor) for t in (g, *inputs)):
            weights, batch = saved
            if batch is not None:
                if np.result_type(g) == weights.dtype:
                    return _attention_fast_grads(g, out, inputs, weights, batch, scale, wanted)
                weights = weights.transpose(_attention_orders(batch)[1])
        else:  # recomputed from Tensor operations: differentiable again
            weights = _attention_probabilities(q, k, additive, boolean, scale)
        gv = unbroadcast(weights.mT @ g, v.shape) if wanted[2] else None
        if not (wanted[0] or wanted[1] or wanted[3:] == (True,)):
            return [None, None, gv] + [None] * (len(inputs) - 3)
        gp = g @ v.mT
        gs = weights * (gp - (gp * weights).sum(axis=-1, keepdims=True))  # softmax's VJP
        grads = [unbroadcast((gs @ k) * scale, q.shape) if wanted[0] else None,
                 unbroadcast((gs.mT @ q) * scale, k.shape) if wanted[1] else None, gv]
        if additive is not None:
            grads.append(unbroadcast(gs, additive.shape) if wanted[3] else None)
        return grads
    return JointVJP(pullback)


def _attention_probabilities(q, k, additive, boolean, scale):
    """The attention weights as recorded operations (the composed path)."""
    scores = (as_tensor(q) @ as_tensor(k).mT) * scale
    if additive is not None:
        scores = scores + additive
    if boolean is None:
        return softmax(scores, axis=-1)
    empty = ~boolean.any(axis=-1, keepdims=True)
    scores = where(boolean, scores, -np.inf)
    if empty.any():  # rows with no key: 0, not NaN
        scores = where(empty, 0.0, scores)
        return where(boolean, softmax(scores, axis=-1), 0.0)
    return softmax(scores, axis=-1)


register(scaled_dot_product_attention, _attention_vjps, namespace=_NAMESPACE)


def _composed_attention(q, k, v, boolean=None, additive=None, scale=None, dropout_p=0.0):
    """Attention from primitives (matmul, mul, where, softmax, matmul)."""
    q, k, v = as_tensor(q), as_tensor(k), as_tensor(v)
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    weights = _attention_probabilities(q, k, additive, boolean, scale)
    if dropout_p:
        weights = dropout(weights, dropout_p)
    return weights @ v


# ---------------------------------------------------------------------------
# Activations.
# ---------------------------------------------------------------------------

def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (PyTorch's rule);
    one primitive, finite for any x. Shape: as input.

    >>> import autograd as ag
    >>> import autograd.nn.functional as F
    >>> F.softplus(ag.tensor([-100.0, 0.0, 100.0])).data
    array([3.72007598e-44, 6.93147181e-01, 1.00000000e+02])
    """
    x = _floating(input, "softplus")
    beta, threshold = float(beta), float(threshold)
    scaled = x._data * beta
    linear = scaled > threshold
    data = np.where(linear, x._data, np.logaddexp(0, scaled) / beta).astype(x.dtype, copy=False)
    return record(data, (x,), _softplus_vjps(beta, threshold), "softplus")


def _softplus_vjps(beta, threshold):
    def softplus_vjp(g, out, x):  # d/dx = sigmoid(beta x), 1 where linear
        return where(raw(x) * beta > threshold, g, g * _sigmoid_any(x * beta))
    return (softplus_vjp,)


register(softplus, _softplus_vjps, namespace=_NAMESPACE)


# GELU: one fused primitive. x Phi(x), Phi the standard normal CDF, exact (erf) or with
# PyTorch's tanh approximation. The forward writes into two new buffers in place: the
# output and, when a gradient will be asked for, the derivative d = gelu'(x); the
# first-order VJP multiplies g into d in place (no new array; a second backward through a
# retained graph computes d again). Composed, the tanh form took ~10 nodes forward and
# ~15 passes over x's size backward, each into a new array.
_GELU_A = 0.044715
_GELU_C = math.sqrt(2 / math.pi)
_ROOT_HALF = 1 / math.sqrt(2)
_ROOT_TWO_PI_INVERSE = 1 / math.sqrt(2 * math.pi)
_GELU_MODES = ("none", "tanh")


def _gelu_arrays(x, approximate, derivative):
    """(gelu(x), gelu'(x) or None) for an array ``x``, in new arrays of x's dtype and shape.

    tanh: t = tanh(c (x + a x^3)); gelu = x (1 + t) / 2;
          gelu' = (1 + t) (1 + (1 - t) c x (1 + 3 a x^2)) / 2
          (= (1 + t) / 2 + x (1 - t^2) c (1 + 3 a x^2) / 2, with 1 + t and 1 - t each
          formed from t: no cancellation in 1 - t^2 where t is near -1 or 1).
    erf:  Phi = (1 + erf(x / sqrt 2)) / 2; gelu = x Phi; gelu' = Phi + x e^(-x^2/2) / sqrt(2 pi).
    """
    if approximate == "tanh":
        out = np.empty_like(x)
        np.multiply(x, x, out=out)     # the composed form's order: c (x + a (x x x))
        out *= x
        out *= _GELU_A
        out += x
        out *= _GELU_C
        np.tanh(out, out=out)          # t
        d = None
        if derivative:
            d = np.multiply(x, x, out=np.empty_like(x))
            d *= 3 * _GELU_A
            d += 1
            d *= _GELU_C
            d *= x                     # c x (1 + 3 a x^2)
            d *= np.subtract(1, out, out=np.empty_like(x))
            d += 1
        out += 1                       # 1 + t
        if derivative:
            d *= out
            d *= 0.5
        out *= x
        out *= 0.5
        return out, d
    scaled = np.multiply(x, _ROOT_HALF, out=np.empty_like(x))
    out = primitives._erf_forward(0, scaled).reshape(np.shape(x))
    out = np.asarray(out)
    out += 1
    out *= 0.5                         # Phi
    d = None
    if derivative:
        d = np.multiply(x, x, out=scaled)
        d *= -0.5
        np.exp(d, out=d)
        d *= x
        d *= _ROOT_TWO_PI_INVERSE      # x phi(x)
        d += out
    out *= x
    return out, d


def _gelu_derivative(x, approximate):
    """gelu'(x) from recorded operations (x a Tensor): differentiable again, to any order."""
    if approximate == "tanh":
        t = tanh(_GELU_C * (x + _GELU_A * (x * x * x)))
        return 0.5 * (1 + t) * (1 + (1 - t) * (_GELU_C * x * (1 + 3 * _GELU_A * (x * x))))
    phi = exp(-0.5 * (x * x)) * _ROOT_TWO_PI_INVERSE
    return 0.5 * (1 + primitives.erf(x * _ROOT_HALF)) + x * phi


def gelu(input, approximate="none"):
    """x * Phi(x) with Phi the standard normal CDF: ``0.5 x (1 + erf(x / sqrt 2))``, or with
    ``approximate="tanh"``, ``0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))``. One
    fused primitive. Shape: as input.

    >>> import autograd as ag
    >>> import autograd.nn.functional as F
    >>> F.gelu(ag.tensor([-1.0, 0.0, 1.0])).data.round(6)
    array([-0.158655,  0.      ,  0.841345])
    """
    x = _floating(input, "gelu")
    if approximate not in _GELU_MODES:
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    data = x._data
    needed = x.requires_grad and is_grad_enabled()
    out, d = _gelu_arrays(np.asarray(data), approximate, needed)
    if not out.ndim:
        out = out[()]                  # a NumPy scalar, as a 0-d tensor's data is
    return record(out, (x,), _gelu_vjps(approximate, d), "gelu")


def _gelu_vjps(approximate, saved=None):
    kept = [saved]   # the forward's gelu'(x): the first call writes g * gelu'(x) into it

    def gelu_vjp(g, out, x):
        derivative = kept[0]
        if derivative is not None and not isinstance(x, Tensor):
            if isinstance(g, Tensor):
                return g * derivative
            if np.result_type(g, derivative) == derivative.dtype and derivative.shape == np.shape(g):
                kept[0] = None   # a second backward (retain_graph) computes it again
                return np.multiply(g, derivative, out=derivative)
            return np.multiply(g, derivative)
        if isinstance(x, Tensor) or isinstance(g, Tensor):
            return g * _gelu_derivative(as_tensor(x), approximate)
        return np.multiply(g, _gelu_arrays(np.asarray(x), approximate, True)[1])
    return (gelu_vjp,)


register(gelu, _gelu_vjps, namespace=_NAMESPACE)


def _composed_gelu(input, approximate="none"):
    """gelu from primitives (erf or tanh, mul, add), for tests and timings."""
    x = as_tensor(input)
    if approximate == "none":
        return 0.5 * x * (1 + primitives.erf(x * _ROOT_HALF))
    inner = _GELU_C * (x + _GELU_A * (x * x * x))
    return 0.5 * x * (1 + tanh(inner))


def silu(input):
    """x * sigmoid(x) (also called swish). Composed.

    >>> import autograd as ag
    >>> import autograd.nn.functional as F
    >>> F.silu(ag.tensor([0.0, 1.0])).data.round(4)
    array([0.    , 0.7311])
    """
    x = _floating(input, "silu")
    return x * sigmoid(x)


def leaky_relu(input, negative_slope=0.01):
    """x where x > 0, else negative_slope * x (the slope also at 0, as PyTorch). Composed.

    >>> import autograd as ag
    >>> import autograd.nn.functional as F
    >>> F.leaky_relu(ag.tensor([-2.0, 3.0])).data
    array([-0.02,  3.  ])
    """
    x = _floating(input, "leaky_relu")
    return where(x.data > 0, x, x * float(negative_slope))


def elu(input, alpha=1.0):
    """x where x > 0, else alpha (e^x - 1). Composed (exp never sees the positive side).

    >>> import autograd as ag
    >>> import autograd.nn.functional as F
    >>> F.elu(ag.tensor([-1.0, 2.0])).data.round(4)
    array([-0.6321,  2.    ])
    """
    x = _floating(input, "elu")
    positive = x.data > 0
    return where(positive, x, float(alpha) * (exp(where(positive, 0.0, x)) - 1))


def linear(input, weight, bias=None):
    """x @ weight.T + bias. Shapes: x (..., in), weight (out, in), bias (out,) -> (..., out).

    >>> import autograd as ag, numpy as np
    >>> import autograd.nn.functional as F
    >>> F.linear(ag.tensor([[1.0, 2.0]]), ag.tensor([[1.0, 1.0]]), ag.tensor([0.5])).data
    array([[3.5]])
    """
    x, w = as_tensor(input, name="linear: input"), as_tensor(weight, name="linear: weight")
    if w.ndim not in (1, 2) or x.ndim == 0 or x.shape[-1] != w.shape[-1]:
        raise ValueError(f"linear: expected input (..., in_features) and weight (out_features, "
                         f"in_features), got input {x.shape} and weight {w.shape}")
    y = matmul(x, transpose(w) if w.ndim == 2 else w)
    return y if bias is None else y + bias


# ---------------------------------------------------------------------------
# Embedding and dropout.
# ---------------------------------------------------------------------------

def embedding(input, weight, padding_idx=None):
    """Rows of ``weight`` (num_embeddings, dim) at integer ``input`` (any shape) -> (*input.shape,
    dim). Repeated indices add up their gradients; the row ``padding_idx`` gets none.

    >>> import autograd as ag, numpy as np
    >>> import autograd.nn.functional as F
    >>> F.embedding(np.array([2, 0]), ag.tensor(np.arange(6.0).reshape(3, 2))).data
    array([[4., 5.],
           [0., 1.]])
    """
    op = "embedding"
    w = _floating(weight, op, "weight")
    if w.ndim != 2:
        raise ValueError(f"{op}: weight must have shape (num_embeddings, embedding_dim), got "
                         f"{describe(w)}")
    indices = np.asarray(raw(input))
    if indices.dtype.kind not in "iu":
        raise TypeError(f"{op}: indices must be integers, got {describe(indices)}")
    count = w.shape[0]
    if indices.size and (indices.min() < 0 or indices.max() >= count):
        bad = indices[(indices < 0) | (indices >= count)].ravel()[0]
        raise IndexError(f"{op}: index {bad} is out of range for {count} embeddings (weight "
                         f"{describe(w)}); indices must lie in [0, {count})")
    indices = indices.copy()
    rows = getitem(w, indices)
    if padding_idx is None:
        return rows
    padding_idx = int(padding_idx) % count if -count <= int(padding_idx) < count else None
    if padding_idx is None:
        raise ValueError(f"{op}: padding_idx must lie in [-{count}, {count})")
    keep = (indices != padding_idx)[..., None]
    return where(keep, rows, constant(w.data[indices]))


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each entry with probability ``p`` and scale the rest by 1 / (1 - p) while
    ``training``; the identity otherwise. The mask comes from the ``ag.manual_seed`` generator.

    >>> import autograd as ag
    >>> import autograd.nn.functional as F
    >>> _ = ag.manual_seed(0)
    >>> F.dropout(ag.ones(4), p=0.5).data
    array([2., 0., 0., 0.])
    """
    if isinstance(p, bool) or not isinstance(p, (int, float, np.floating, np.integer)) or not 0 <= p <= 1:
        raise ValueError(f"dropout: p (the probability of an element being zeroed) must be "
                         f"between 0 and 1, got {p!r}")
    x = _floating(input, "dropout")
    if not training or p == 0:
        return x
    keep = creation.generator().random(x.shape) >= p
    if p == 1:
        return x * constant(np.zeros(x.shape, x.dtype))
    return x * constant((keep * (1 / (1 - p))).astype(x.dtype))


# ---------------------------------------------------------------------------
# Losses.
# ---------------------------------------------------------------------------

def _same_shapes(op, x, y, first="input", second="target"):
    if x.shape != y.shape:
        raise ValueError(f"{op}: {second} must have the shape of {first}, got {first} "
                         f"{x.shape} and {second} {y.shape}")


def mse_loss(input, target, reduction="mean"):
    """Mean (or sum, or none) of (input - target)^2; input and target of one shape.

    >>> import autograd as ag
    >>> import autograd.nn.functional as F
    >>> F.mse_loss(ag.tensor([1.0, 3.0]), ag.tensor([0.0, 0.0])).item()
    5.0
    """
    x, y = as_tensor(input, name="mse_loss: input"), as_tensor(target, name="mse_loss: target")
    _same_shapes("mse_loss", x, y)
    difference = x - y
    return _reduced(difference * difference, _reduction(reduction, "mse_loss"))


def l1_loss(input, target, reduction="mean"):
    """Mean (or sum, or none) of |input - target|; its gradient at 0 is 0.

    >>> import autograd as ag
    >>> import autograd.nn.functional as F
    >>> F.l1_loss(ag.tensor([1.0, -3.0]), ag.tensor([0.0, 0.0])).item()
    2.0
    """
    x, y = as_tensor(input, name="l1_loss: input"), as_tensor(target, name="l1_loss: target")
    _same_shapes("l1_loss", x, y)
    return _reduced(abs(x - y), _reduction(reduction, "l1_loss"))


def huber_loss(input, target, reduction="mean", delta=1.0):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta), d = input - target.

    >>> import autograd as ag
    >>> import autograd.nn.functional as F
    >>> F.huber_loss(ag.tensor([0.5, 3.0]), ag.tensor([0.0, 0.0]), reduction="none").data
    array([0.125, 2.5  ])
    """
    op = "huber_loss"
    x, y = as_tensor(input, name=f"{op}: input"), as_tensor(target, name=f"{op}: target")
    _same_shapes(op, x, y)
    if not delta > 0:
        raise ValueError(f"{op}: delta must be positive, got {delta!r}")
    delta = float(delta)
    difference = x - y
    size = abs(difference)
    quadratic = raw(size) < delta
    losses = where(quadratic, 0.5 * difference * difference, delta * (size - 0.5 * delta))
    return _reduced(losses, _reduction(reduction, op))


def _weighted(losses, weight, op, shape):
    if weight is None:
        return losses
    weight = as_tensor(weight, name=f"{op}: weight")
    try:
        if np.broadcast_shapes(weight.shape, shape) != tuple(shape):
            raise ValueError
    except ValueError:
        raise ValueError(f"{op}: weight of shape {weight.shape} does not broadcast to the input "
                         f"shape {tuple(shape)}") from None
    return losses * weight


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """-w (y log x + (1 - y) log(1 - x)) for probabilities x in [0, 1], each log clamped at
    -100 as in PyTorch (at x = 0 or 1 exactly the clamped side has gradient 0). Composed.

    >>> import autograd as ag
    >>> import autograd.nn.functional as F
    >>> round(F.binary_cross_entropy(ag.tensor([0.5]), ag.tensor([1.0])).item(), 4)
    0.6931
    """
    op = "binary_cross_entropy"
    x, y = _floating(input, op), as_tensor(target, name=f"{op}: target")
    _same_shapes(op, x, y)
    values = x.data
    if values.size and not ((values >= 0) & (values <= 1)).all():
        raise ValueError(f"{op}: every input must lie in [0, 1] (probabilities; use "
                         f"binary_cross_entropy_with_logits for logits), got values from "
                         f"{values.min()} to {values.max()}")

    def clamped_log(z):
        inside = raw(z) > np.exp(-100.0)
        return where(inside, log(where(inside, z, 1.0)), -100.0)

    losses = -(y * clamped_log(x) + (1 - y) * clamped_log(1 - x))
    return _reduced(_weighted(losses, weight, op, x.shape), _reduction(reduction, op))


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                     pos_weight=None):
    """Logistic loss of logits x against targets y in [0, 1], one fused primitive:

        loss = -w [pos_weight y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))]
             =  w [pos_weight y softplus(-x) + (1 - y) softplus(x)]

    computed without overflow or cancellation (finite for logits of ±1e4; at x = -100,
    y = 0 the loss is e^-100, not 0). ``weight`` broadcasts to the input,
    ``pos_weight`` to its last axis (one per class). Gradients for input, target, weight
    and pos_weight.

    >>> import autograd as ag
    >>> import autograd.nn.functional as F
    >>> F.binary_cross_entropy_with_logits(ag.tensor([100.0, -100.0]), ag.tensor([0.0, 1.0]),
    ...                                    reduction="none").data
    array([100., 100.])
    """
    op = "binary_cross_entropy_with_logits"
    x = _floating(input, op)
    y = as_tensor(target, name=f"{op}: target")
    _same_shapes(op, x, y)
    reduction = _reduction(reduction, op)
    inputs = [x, y]
    for name, value in (("weight", weight), ("pos_weight", pos_weight)):
        if value is not None:
            value = as_tensor(value, name=f"{op}: {name}")
            try:
                fits = np.broadcast_shapes(value.shape, x.shape) == x.shape
            except ValueError:
                fits = False
            if not fits:
                raise ValueError(f"{op}: {name} of shape {value.shape} does not broadcast to the "
                                 f"input shape {x.shape}")
        inputs.append(value)
    present = tuple(t for t in inputs if t is not None)
    arrays = [None if t is None else t._data for t in inputs]
    softplus_pair = (np.logaddexp(0, -arrays[0]), np.logaddexp(0, arrays[0]))
    data = _logistic_losses(*arrays, softplus_pair=softplus_pair)
    if reduction != "none":
        data = data.sum() if reduction == "sum" else data.mean()
    data = np.asarray(data, x.dtype) if np.ndim(data) == 0 else data.astype(x.dtype, copy=False)
    vjps = _logistic_vjps(reduction, x.shape, weight is not None, pos_weight is not None,
                          _wanted(present), softplus_pair)
    return record(data[()] if data.ndim == 0 else data, present, vjps, op)


def _logistic_losses(x, y, weight=None, pos_weight=None, softplus_pair=None):
    """The elementwise loss ``(1 - y) softplus(x) + pos_weight y softplus(-x)``, on arrays or
    Tensors: two terms that are never negative, so nothing cancels (e^-100 stays e^-100).
    ``softplus_pair`` is (softplus(-x), softplus(x)) when already computed."""
    negative, positive = softplus_pair or (_softplus_any(-x), _softplus_any(x))
    if pos_weight is not None:
        negative = pos_weight * negative
    losses = (1 - y) * positive + y * negative
    return losses if weight is None else losses * weight


def _logistic_vjps(reduction, shape, has_weight, has_pos_weight, wanted, saved=None):
    """``saved``: (softplus(-x), softplus(x)) from the forward, for first-order backward:
    sigmoid(x) = exp(-softplus(-x)) and sigmoid(-x) = exp(-softplus(x)), both exact."""
    count = math.prod(shape)

    def unpack(inputs):
        x, y = inputs[:2]
        rest = list(inputs[2:])
        weight = rest.pop(0) if has_weight else None
        pos_weight = rest.pop(0) if has_pos_weight else None
        return x, y, weight, pos_weight

    def softplus_pair(x, g):
        if saved is not None and type(x) is np.ndarray and not isinstance(g, Tensor):
            return saved
        return _softplus_any(-x), _softplus_any(x)

    def sigmoid_pair(x, g):
        if saved is not None and type(x) is np.ndarray and not isinstance(g, Tensor):
            return np.exp(-saved[0]), np.exp(-saved[1])
        return _sigmoid_any(x), _sigmoid_any(-x)

    def scaled(g, d, weight, x):
        """g * d * weight in the input's shape (g is a scalar unless reduction is "none")."""
        if reduction == "mean":
            g = g / count
        d = d if weight is None else d * weight
        d = d * g
        return d if d.shape == x.shape else d * np.ones_like(raw(x))

    def x_vjp(g, out, *inputs):   # w [(1 - y) sigmoid(x) - pw y sigmoid(-x)]
        x, y, weight, pos_weight = unpack(inputs)
        positive, negative = sigmoid_pair(x, g)
        if pos_weight is not None:
            negative = pos_weight * negative
        return scaled(g, (1 - y) * positive - y * negative, weight, x)

    def y_vjp(g, out, *inputs):   # w [pw softplus(-x) - softplus(x)]
        x, y, weight, pos_weight = unpack(inputs)
        negative, positive = softplus_pair(x, g)
        if pos_weight is not None:
            negative = pos_weight * negative
        return unbroadcast(scaled(g, negative - positive, weight, x), y.shape)

    def weight_vjp(g, out, *inputs):   # the unweighted loss
        x, y, weight, pos_weight = unpack(inputs)
        losses = _logistic_losses(x, y, None, pos_weight, softplus_pair(x, g))
        return unbroadcast(scaled(g, losses, None, x), weight.shape)

    def pos_weight_vjp(g, out, *inputs):   # w y softplus(-x)
        x, y, weight, pos_weight = unpack(inputs)
        return unbroadcast(scaled(g, y * softplus_pair(x, g)[0], weight, x), pos_weight.shape)

    vjps = [x_vjp, y_vjp] + [weight_vjp] * has_weight + [pos_weight_vjp] * has_pos_weight
    return _joint(vjps, wanted)


register(binary_cross_entropy_with_logits, _logistic_vjps, namespace=_NAMESPACE)


def _composed_binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                               pos_weight=None):
    """The logistic loss from primitives (relu, abs, exp, log, mul, ...)."""
    x, y = as_tensor(input), as_tensor(target)
    losses = _logistic_losses(x, y, weight, pos_weight)
    return _reduced(losses, reduction)


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """-w[t] input[t] for class indices ``target``: the loss after ``log_softmax``.

    Shapes: input (N, C), (C,) or (N, C, d1, ...); target (N,), () or (N, d1, ...) of
    integers in [0, C) or ``ignore_index``; weight (C,). ``"mean"`` divides by the summed
    weights of the targets kept (PyTorch's rule; NaN when all are ignored, gradient 0).

    >>> import autograd as ag, numpy as np
    >>> import autograd.nn.functional as F
    >>> F.nll_loss(ag.tensor([[-1.0, -2.0], [-3.0, -4.0]]), np.array([1, 0])).item()
    2.5
    """
    op = "nll_loss"
    x = _floating(input, op)
    reduction = _reduction(reduction, op)
    target = np.asarray(raw(target))
    if target.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold class indices (integers), got {describe(target)}")
    if x.ndim == 0:
        raise ValueError(f"{op}: input must have shape (C,), (N, C) or (N, C, d1, ...), got "
                         f"{describe(x)}")
    classes = x.shape[0] if x.ndim == 1 else x.shape[1]
    expected = () if x.ndim == 1 else (x.shape[0], *x.shape[2:])
    if target.shape != expected:
        raise ValueError(f"{op}: input of shape {x.shape} needs a target of shape {expected}, got "
                         f"{describe(target)}")
    flat_target = target.reshape(-1)
    keep = flat_target != ignore_index
    bad = keep & ((flat_target < 0) | (flat_target >= classes))
    if bad.any():
        raise IndexError(f"{op}: target {flat_target[bad][0]} is out of range for {classes} "
                         f"classes (input {x.shape}); expected [0, {classes}) or ignore_index "
                         f"{ignore_index}")
    rows = x.reshape(1, classes) if x.ndim == 1 else reshape(
        transpose(x, (0, *range(2, x.ndim), 1)), (-1, classes))
    safe = np.where(keep, flat_target, 0)
    picked = getitem(rows, (np.arange(len(safe)), safe))
    if weight is None:
        target_weight = keep.astype(x.dtype)
    else:
        weight = as_tensor(weight, name=f"{op}: weight")
        if weight.shape != (classes,):
            raise ValueError(f"{op}: weight must have shape ({classes},), one per class, got "
                             f"{describe(weight)}")
        target_weight = getitem(weight, safe) * keep.astype(x.dtype)
    losses = -(picked * target_weight)
    if reduction == "none":
        return reshape(losses, target.shape)
    total = losses.sum()
    if reduction == "sum":
        return total
    denominator = raw(target_weight).sum()
    if denominator == 0:  # every target ignored: NaN, as PyTorch's 0/0, with a zero gradient
        return total * 0 + np.nan
    return total / (target_weight.sum() if isinstance(target_weight, Tensor) else denominator)
