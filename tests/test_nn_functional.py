"""autograd.nn.functional against PyTorch, tables of configurations.

Every test first checks what it can without PyTorch (finite-difference gradients,
known values, agreement of the fused primitive with its composed form), then, when
PyTorch is installed, values and gradients against ``torch.nn.functional`` in float64
for one random cotangent, to round-off.
"""

import math

import numpy as np
import pytest

import autograd as ag
import autograd.nn.functional as F
from autograd import registry
from autograd.testing import gradcheck

RTOL, ATOL = 1e-10, 1e-12


def _rng(seed=0):
    return np.random.default_rng(seed)


def _ours(function, arrays):
    """function(*Tensors) with backward of a seeded random cotangent: (value, grads)."""
    tensors = [ag.tensor(a, requires_grad=True) if isinstance(a, np.ndarray) and a.dtype.kind == "f"
               else a for a in arrays]
    out = function(*tensors)
    cotangent = _rng(99).standard_normal(out.shape)
    out.backward(cotangent)
    return out.data, [t.grad for t in tensors if isinstance(t, ag.Tensor)], cotangent


def against_torch(ours, theirs, arrays, differentiable=None, rtol=RTOL, atol=ATOL):
    """Values and gradients of ``ours(*Tensors)`` and ``theirs(*torch tensors)``; the arrays
    at positions ``differentiable`` (default: all floating ones) are compared for gradients."""
    torch = pytest.importorskip("torch")
    value, grads, cotangent = _ours(ours, arrays)
    floating = [i for i, a in enumerate(arrays) if isinstance(a, np.ndarray) and a.dtype.kind == "f"]
    differentiable = floating if differentiable is None else differentiable
    converted = [torch.tensor(a, requires_grad=i in differentiable) if isinstance(a, np.ndarray)
                 else a for i, a in enumerate(arrays)]
    expected = theirs(*converted)
    np.testing.assert_allclose(value, expected.detach().numpy(), rtol=rtol, atol=atol)
    expected.backward(torch.tensor(cotangent))
    for position, grad in zip(floating, grads):
        if position in differentiable:
            np.testing.assert_allclose(grad, converted[position].grad.numpy(), rtol=rtol, atol=atol,
                                       err_msg=f"gradient of argument {position}")


def _torch_f():
    return pytest.importorskip("torch").nn.functional


# ---------------------------------------------------------------------------
# The registry: the fused primitives are filed under nn.functional, not exported as ag.<name>.
# ---------------------------------------------------------------------------

FUSED = ["conv2d", "max_pool2d", "layer_norm", "scaled_dot_product_attention",
         "binary_cross_entropy_with_logits", "softplus", "gelu"]


@pytest.mark.parametrize("name", FUSED)
def test_fused_primitives_are_registered_under_nn_functional(name):
    entry = registry.builtin(f"nn.functional.{name}")
    assert entry.kind == "primitive" and entry.function is getattr(F, name)
    assert name not in registry.exports() or registry.exports()[name] is not entry.function
    assert registry.namespace("nn.functional")[name] is getattr(F, name)


def test_one_node_per_fused_call():
    x = ag.tensor(_rng().standard_normal((2, 3, 5, 5)), requires_grad=True)
    w = ag.tensor(_rng(1).standard_normal((4, 3, 3, 3)), requires_grad=True)
    out = F.conv2d(x, w, ag.tensor(np.zeros(4), requires_grad=True))
    assert out._parents[0] is x and len(out._parents) == 3
    assert F.layer_norm(x, (5,))._parents == (x,)


# ---------------------------------------------------------------------------
# conv2d
# ---------------------------------------------------------------------------

CONV_CASES = [
    # (x shape, weight shape, bias, stride, padding, dilation, groups)
    ((2, 3, 7, 8), (4, 3, 3, 3), True, 1, 0, 1, 1),
    ((2, 3, 7, 8), (4, 3, 3, 2), True, 2, 1, 1, 1),
    ((1, 2, 9, 9), (3, 2, 3, 3), False, 1, 2, 2, 1),
    ((2, 4, 6, 7), (6, 2, 3, 3), True, 2, 1, 1, 2),
    ((1, 6, 8, 7), (3, 2, 2, 3), True, (2, 1), (1, 0), (1, 2), 3),
    ((2, 4, 5, 5), (4, 1, 3, 3), True, 1, 1, 1, 4),          # depthwise
    ((1, 2, 6, 6), (3, 2, 4, 3), True, 1, "same", (2, 1), 1),  # even kernel: extra pad at the end
    ((1, 2, 6, 6), (3, 2, 3, 3), True, 1, "valid", 1, 1),
    ((3, 5, 5), (2, 3, 3, 3), True, 1, 1, 1, 1),             # unbatched (C, H, W)
    ((2, 2, 4, 4), (3, 2, 1, 1), True, 1, 0, 1, 1),          # 1x1
]


@pytest.mark.parametrize("x_shape, w_shape, bias, stride, padding, dilation, groups", CONV_CASES)
def test_conv2d(x_shape, w_shape, bias, stride, padding, dilation, groups):
    rng = _rng(len(x_shape) + w_shape[0])
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(w_shape)]
    if bias:
        arrays.append(rng.standard_normal(w_shape[0]))

    def ours(x, w, b=None):
        return F.conv2d(x, w, b, stride, padding, dilation, groups)

    small = [a[..., :5, :5] if a.ndim >= 3 and min(x_shape[-2:]) > 5 else a for a in arrays]
    if min(x_shape[-2:]) <= 5 or padding != "same":
        assert gradcheck(ours, *arrays)
    else:
        assert gradcheck(ours, *small)
    if isinstance(padding, int) and isinstance(stride, int) and len(x_shape) == 4:
        composed = F._composed_conv2d(*arrays[:2], arrays[2] if bias else None, stride, padding,
                                      dilation, groups)
        np.testing.assert_allclose(ours(*arrays).data, composed.data, rtol=1e-12, atol=1e-12)
    against_torch(ours, lambda x, w, b=None: _torch_f().conv2d(x, w, b, stride, padding, dilation,
                                                               groups), arrays)


def test_conv2d_known_values_and_float32():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    sums = F.conv2d(x, np.ones((1, 1, 2, 2)), stride=2).data
    np.testing.assert_array_equal(sums, [[[[10, 18], [42, 50]]]])
    x32 = ag.tensor(x.astype(np.float32), requires_grad=True)
    w32 = ag.tensor(np.ones((2, 1, 3, 3), np.float32), requires_grad=True)
    out = F.conv2d(x32, w32, padding=1)
    out.sum().backward()
    assert out.dtype == x32.grad.dtype == w32.grad.dtype == np.float32
    # each input pixel is seen by as many windows as fit around it: 4 in the corners
    np.testing.assert_array_equal(x32.grad[0, 0], 2 * np.array([[4, 6, 6, 4], [6, 9, 9, 6],
                                                                 [6, 9, 9, 6], [4, 6, 6, 4]]))


def test_conv2d_second_order_matches_torch():
    rng = _rng(3)
    x, w = rng.standard_normal((1, 2, 5, 5)), rng.standard_normal((2, 2, 3, 3))

    def loss(x, w):
        return (F.conv2d(x, w, stride=2, padding=1) ** 2).sum()

    (hxx, hxw), (hwx, hww) = ag.hessian(loss, argnums=(0, 1))(x, w)
    assert gradcheck(lambda x, w: ag.grad(loss, argnums=0)(x, w), x, w)   # second order by FD
    flat = np.asarray(hxx).reshape(x.size, x.size)
    np.testing.assert_allclose(flat, flat.T, atol=1e-12)                  # a Hessian is symmetric
    torch = pytest.importorskip("torch")
    expected = torch.func.hessian(lambda x, w: (torch.nn.functional.conv2d(
        x, w, stride=2, padding=1) ** 2).sum(), argnums=(0, 1))(torch.tensor(x), torch.tensor(w))
    for ours, theirs in zip((hxx, hxw, hwx, hww), (*expected[0], *expected[1])):
        np.testing.assert_allclose(np.asarray(ours), theirs.numpy(), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("x_shape, w_shape, kwargs, message", [
    ((1, 3, 5, 5), (2, 2, 3, 3), {}, r"conv2d: weight of shape \(2, 2, 3, 3\) with groups=1 expects input with 2 channels, got input of shape \(1, 3, 5, 5\)"),
    ((3, 5), (2, 3, 3, 3), {}, r"conv2d: expected input of shape \(N, C, H, W\) or \(C, H, W\), got shape \(3, 5\)"),
    ((1, 3, 2, 2), (2, 3, 3, 3), {}, r"conv2d: the kernel spans \(3, 3\).*padded input is only \(2, 2\)"),
    ((1, 4, 5, 5), (3, 2, 3, 3), {"groups": 2}, r"conv2d: in_channels \(4\) and out_channels \(3\) must both be divisible by groups \(2\)"),
    ((1, 3, 5, 5), (2, 3, 3), {}, r"conv2d: weight must have shape"),
    ((1, 3, 5, 5), (2, 3, 3, 3), {"stride": 0}, r"conv2d: stride must be at least 1, got 0"),
    ((1, 3, 5, 5), (2, 3, 3, 3), {"padding": "same", "stride": 2}, r"padding='same' needs stride 1"),
    ((1, 3, 5, 5), (2, 3, 3, 3), {"bias": np.zeros(3)}, r"conv2d: bias must have shape \(2,\)"),
])
def test_conv2d_errors_name_the_op_and_shapes(x_shape, w_shape, kwargs, message):
    with pytest.raises(ValueError, match=message):
        F.conv2d(np.zeros(x_shape), np.zeros(w_shape), **kwargs)


def test_conv2d_refuses_integer_input():
    with pytest.raises(TypeError, match="conv2d: input must have a floating dtype"):
        F.conv2d(np.zeros((1, 1, 3, 3), int), np.zeros((1, 1, 2, 2)))


# ---------------------------------------------------------------------------
# Pooling
# ---------------------------------------------------------------------------

POOL_CASES = [
    # (x shape, kernel, stride, padding, dilation)
    ((2, 3, 8, 8), 2, None, 0, 1),
    ((2, 3, 7, 8), 3, 1, 1, 1),          # overlapping windows
    ((1, 2, 9, 7), 3, 2, 1, 2),
    ((1, 2, 7, 9), (2, 3), (1, 2), (1, 0), 1),
    ((3, 6, 6), 2, None, 0, 1),          # unbatched
]


@pytest.mark.parametrize("x_shape, kernel, stride, padding, dilation", POOL_CASES)
def test_max_pool2d(x_shape, kernel, stride, padding, dilation):
    x = _rng(1).permutation(np.prod(x_shape)).reshape(x_shape) / 8.0   # distinct: no ties

    def ours(x):
        return F.max_pool2d(x, kernel, stride, padding, dilation)

    assert gradcheck(ours, x)
    against_torch(ours, lambda x: _torch_f().max_pool2d(x, kernel, stride, padding, dilation), [x])


def test_max_pool2d_ties_go_to_the_first_maximum_and_match_the_composed_form_elsewhere():
    x = ag.tensor(np.ones((1, 1, 2, 2)), requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad[0, 0], [[1, 0], [0, 0]])   # PyTorch's choice
    x = _rng(2).permutation(64).reshape(1, 1, 8, 8) / 8.0
    np.testing.assert_array_equal(F.max_pool2d(x, 3, 2).data, F._composed_max_pool2d(x, 3, 2).data)
    torch = pytest.importorskip("torch")
    t = torch.ones((1, 1, 2, 2), dtype=torch.float64, requires_grad=True)
    torch.nn.functional.max_pool2d(t, 2).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy()[0, 0], [[1, 0], [0, 0]])


def test_max_pool2d_overlapping_windows_add_up_and_second_order():
    x = np.array([[[[0.0, 1.0, 0.5], [0.2, 0.3, 0.4], [0.1, 0.6, 0.7]]]])
    t = ag.tensor(x, requires_grad=True)
    F.max_pool2d(t, 2, 1).sum().backward()
    np.testing.assert_array_equal(t.grad[0, 0], [[0, 2, 0], [0, 0, 0], [0, 1, 1]])
    assert gradcheck(lambda x: ag.grad(lambda y: (F.max_pool2d(y, 2, 1) ** 2).sum())(x), x)


@pytest.mark.parametrize("x_shape, kernel, stride, padding, count_include_pad, divisor", [
    ((2, 3, 8, 8), 2, None, 0, True, None),
    ((2, 3, 7, 8), 3, 1, 1, True, None),
    ((2, 3, 7, 8), 3, 2, 1, False, None),
    ((1, 2, 6, 7), (2, 3), (2, 1), (1, 1), True, 5),
    ((3, 6, 6), 2, None, 0, True, None),
])
def test_avg_pool2d(x_shape, kernel, stride, padding, count_include_pad, divisor):
    x = _rng(4).standard_normal(x_shape)

    def ours(x):
        return F.avg_pool2d(x, kernel, stride, padding, count_include_pad=count_include_pad,
                            divisor_override=divisor)

    assert gradcheck(ours, x)
    against_torch(ours, lambda x: _torch_f().avg_pool2d(
        x, kernel, stride, padding, count_include_pad=count_include_pad, divisor_override=divisor), [x])


def test_pooling_known_values_and_errors():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    np.testing.assert_array_equal(F.max_pool2d(x, 2).data, [[[[5, 7], [13, 15]]]])
    np.testing.assert_array_equal(F.avg_pool2d(x, 2).data, [[[[2.5, 4.5], [10.5, 12.5]]]])
    with pytest.raises(ValueError, match=r"max_pool2d: padding should be at most half of the kernel size, got padding \(2, 2\) for kernel_size \(3, 3\)"):
        F.max_pool2d(x, 3, padding=2)
    with pytest.raises(ValueError, match=r"avg_pool2d: expected input of shape \(N, C, H, W\) or \(C, H, W\), got shape \(4, 4\)"):
        F.avg_pool2d(x[0, 0], 2)
    with pytest.raises(ValueError, match=r"max_pool2d: the pooling window spans \(5, 5\)"):
        F.max_pool2d(x, 5)
    with pytest.raises(NotImplementedError, match="ceil_mode"):
        F.max_pool2d(x, 2, ceil_mode=True)


# ---------------------------------------------------------------------------
# layer_norm
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("x_shape, normalized, affine", [
    ((4, 6), (6,), "both"), ((2, 3, 4, 5), (4, 5), "both"), ((3, 5), 5, "weight"),
    ((2, 3, 4), (3, 4), "none"), ((7,), (7,), "both"), ((2, 2, 8), (8,), "bias"),
])
def test_layer_norm(x_shape, normalized, affine):
    rng = _rng(5)
    shape = (normalized,) if isinstance(normalized, int) else normalized
    arrays = [rng.standard_normal(x_shape) * 3 + 1]
    weight = rng.standard_normal(shape) if affine in ("both", "weight") else None
    bias = rng.standard_normal(shape) if affine in ("both", "bias") else None
    extra = [a for a in (weight, bias) if a is not None]

    def call(layer_norm, x, *params):
        params = list(params)
        w = params.pop(0) if weight is not None else None
        b = params.pop(0) if bias is not None else None
        return layer_norm(x, shape, w, b, 1e-5)

    ours = lambda *a: call(F.layer_norm, *a)
    assert gradcheck(ours, *arrays, *extra)
    composed = call(F._composed_layer_norm, *[ag.tensor(a) for a in arrays + extra])
    np.testing.assert_allclose(ours(*arrays, *extra).data, composed.data, rtol=1e-12, atol=1e-12)
    against_torch(ours, lambda *a: call(_torch_f().layer_norm, *a), arrays + extra)


def test_layer_norm_known_values_second_order_and_errors():
    out = F.layer_norm(ag.tensor([[1.0, 2.0, 3.0]]), (3,), eps=0.0)
    np.testing.assert_allclose(out.data, [[-math.sqrt(1.5), 0.0, math.sqrt(1.5)]], rtol=1e-15)
    x, w = _rng(6).standard_normal((2, 4)), _rng(7).standard_normal(4)
    assert gradcheck(lambda x, w: ag.grad(lambda x, w: (F.layer_norm(x, 4, w) ** 3).sum(),
                                          argnums=(0, 1))(x, w)[0], x, w)
    with pytest.raises(ValueError, match=r"layer_norm: normalized_shape \(3,\) must match the last axes of the input, got input of shape \(2, 4\)"):
        F.layer_norm(x, 3)
    with pytest.raises(ValueError, match=r"layer_norm: weight must have shape normalized_shape \(4,\), got shape \(3,\)"):
        F.layer_norm(x, 4, np.ones(3))


# ---------------------------------------------------------------------------
# scaled_dot_product_attention
# ---------------------------------------------------------------------------

def _bool_mask(shape, seed=8):
    mask = _rng(seed).random(shape) > 0.4
    mask[..., 0, :] = False      # a query that sees no key at all
    return mask


ATTENTION_CASES = [
    # (q, k, v shapes, mask kind, scale)
    ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), "none", None),
    ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), "causal", None),
    ((2, 3, 6, 5), (2, 3, 6, 5), (2, 3, 6, 5), "causal", 0.3),
    ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), "bool", None),
    ((2, 4, 5), (2, 6, 5), (2, 6, 3), "float", 1.0),
    ((2, 4, 5), (1, 6, 5), (1, 6, 3), "float-batch", None),   # broadcast batch, a per-batch mask
    ((4, 5), (6, 5), (6, 3), "bool", 2.0),
]


def _mask(kind, q_shape, k_shape):
    scores = q_shape[:-2] + (q_shape[-2], k_shape[-2])
    if kind == "bool":
        return _bool_mask(scores[-2:])
    if kind == "float":
        return _rng(9).standard_normal(scores[-2:])
    if kind == "float-batch":
        return _rng(9).standard_normal(scores)
    return None


@pytest.mark.parametrize("q_shape, k_shape, v_shape, kind, scale", ATTENTION_CASES)
def test_scaled_dot_product_attention(q_shape, k_shape, v_shape, kind, scale):
    rng = _rng(10)
    arrays = [rng.standard_normal(q_shape), rng.standard_normal(k_shape), rng.standard_normal(v_shape)]
    mask = _mask(kind, q_shape, k_shape)
    causal = kind == "causal"
    float_mask = mask is not None and mask.dtype.kind == "f"
    if float_mask:
        arrays.append(mask)

    def ours(q, k, v, m=mask):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=m, is_causal=causal, scale=scale)

    assert gradcheck(ours, *arrays)    # the float mask gets a gradient too
    boolean = np.tril(np.ones((q_shape[-2], k_shape[-2]), bool)) if causal else (
        mask if mask is not None and not float_mask else None)
    composed = F._composed_attention(*arrays[:3], boolean, ag.tensor(mask) if float_mask else None,
                                     scale)
    np.testing.assert_allclose(ours(*arrays).data, composed.data, rtol=1e-12, atol=1e-12)
    torch = pytest.importorskip("torch")

    def theirs(q, k, v, m=None):
        m = m if float_mask else (None if mask is None else torch.tensor(mask))
        return torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=m,
                                                                is_causal=causal, scale=scale)

    against_torch(ours, theirs, arrays)


def test_attention_rows_that_see_nothing_are_zero_with_zero_gradient():
    q = ag.tensor(np.ones((2, 3)), requires_grad=True)
    mask = np.array([[False, False, False], [True, False, True]])
    out = F.scaled_dot_product_attention(q, np.ones((3, 3)), ag.tensor(np.eye(3)), attn_mask=mask)
    np.testing.assert_array_equal(out.data[0], 0)
    np.testing.assert_allclose(out.data[1], [0.5, 0, 0.5])      # equal scores: an even split
    out.sum().backward()
    assert np.isfinite(q.grad).all()


def test_attention_second_order():
    rng = _rng(11)
    q, k, v = rng.standard_normal((2, 3)), rng.standard_normal((4, 3)), rng.standard_normal((4, 2))

    def first(q, k, v):
        return ag.grad(lambda q, k, v: (F.scaled_dot_product_attention(q, k, v, is_causal=False)
                                        ** 2).sum(), argnums=(0, 1, 2))(q, k, v)[1]

    assert gradcheck(first, q, k, v)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"attn_mask": np.ones((3, 5), bool)}, ValueError, r"attn_mask of shape \(3, 5\) does not broadcast to the attention scores of shape \(2, 4, 6\)"),
    ({"attn_mask": np.ones((4, 6), bool), "is_causal": True}, ValueError, "pass attn_mask or is_causal=True, not both"),
    ({"attn_mask": np.ones((4, 6), int)}, TypeError, "attn_mask must be bool"),
    ({"dropout_p": 1.5}, ValueError, r"dropout_p must be in \[0, 1\]"),
])
def test_attention_errors(kwargs, error, message):
    q, k, v = np.zeros((2, 4, 5)), np.zeros((2, 6, 5)), np.zeros((2, 6, 3))
    with pytest.raises(error, match="scaled_dot_product_attention: " + message):
        F.scaled_dot_product_attention(q, k, v, **kwargs)
    with pytest.raises(ValueError, match=r"expected query \(\.\.\., L, E\), key \(\.\.\., S, E\)"):
        F.scaled_dot_product_attention(q, np.zeros((2, 6, 4)), v)


def test_attention_dropout_uses_the_seeded_generator():
    q = np.ones((4, 3))
    ag.manual_seed(3)
    a = F.scaled_dot_product_attention(q, q, np.eye(4)[:, :2], dropout_p=0.5).data
    ag.manual_seed(3)
    b = F.scaled_dot_product_attention(q, q, np.eye(4)[:, :2], dropout_p=0.5).data
    np.testing.assert_array_equal(a, b)
    assert set(np.unique(a)) <= {0.0, 0.5}          # weights 1/4, doubled or dropped


# ---------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------

ACTIVATIONS = [
    ("gelu", lambda x: F.gelu(x), lambda f, x: f.gelu(x)),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), lambda f, x: f.gelu(x, approximate="tanh")),
    ("silu", F.silu, lambda f, x: f.silu(x)),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.2), lambda f, x: f.leaky_relu(x, 0.2)),
    ("elu", lambda x: F.elu(x, 1.5), lambda f, x: f.elu(x, 1.5)),
    ("softplus", F.softplus, lambda f, x: f.softplus(x)),
    ("softplus_beta", lambda x: F.softplus(x, 2.0, 3.0), lambda f, x: f.softplus(x, 2.0, 3.0)),
    ("relu", F.relu, lambda f, x: f.relu(x)),
    ("tanh", F.tanh, lambda f, x: f.tanh(x)),
    ("sigmoid", F.sigmoid, lambda f, x: f.sigmoid(x)),
]


@pytest.mark.parametrize("name, ours, theirs", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activations(name, ours, theirs):
    x = np.linspace(-6, 6, 37) + 0.01     # never on a kink (0) or softplus's threshold
    x = np.concatenate([x, [-40.0, -12.0, 25.0, 60.0]])
    assert gradcheck(ours, x)
    if name not in ("relu", "leaky_relu", "elu"):   # smooth: second order too
        assert gradcheck(lambda x: ag.grad(lambda y: ours(y).sum())(x), x[::4])
    against_torch(ours, lambda x: theirs(_torch_f(), x), [x])


def test_activation_known_values():
    np.testing.assert_allclose(F.gelu(ag.tensor([1.0, -1.0])).data,
                               [0.8413447460685429, -0.15865525393145707], rtol=1e-15)
    np.testing.assert_allclose(F.gelu(ag.tensor([1.0]), "tanh").data, [0.8411919906082768], rtol=1e-15)
    np.testing.assert_allclose(F.silu(ag.tensor([2.0])).data, [2 / (1 + math.exp(-2))], rtol=1e-15)
    np.testing.assert_array_equal(F.softplus(ag.tensor([30.0, 1e4])).data, [30.0, 1e4])
    assert F.softplus(ag.tensor(-800.0)).item() == 0.0
    np.testing.assert_allclose(F.softplus(ag.tensor(-40.0)).item(), math.exp(-40), rtol=1e-15)
    x = ag.tensor([-1.0, 0.0, 1.0], requires_grad=True)
    F.leaky_relu(x, 0.1).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.1, 0.1, 1.0])   # the slope at 0, as PyTorch
    x.grad = None
    F.elu(x).sum().backward()
    np.testing.assert_allclose(x.grad, [math.exp(-1), 1.0, 1.0])
    with pytest.raises(ValueError, match="gelu: approximate must be 'none' or 'tanh', got 'fast'"):
        F.gelu(x, approximate="fast")


GELU_MODES = ["none", "tanh"]


@pytest.mark.parametrize("approximate", GELU_MODES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gelu_is_one_node_with_the_composed_values_and_gradients(approximate, dtype):
    x = (_rng().standard_normal((4, 6, 8)) * 3).astype(dtype)
    x[0, 0, :4] = [0.0, -30.0, 30.0, -1e-30]
    fused = ag.tensor(x, requires_grad=True)
    composed = ag.tensor(x, requires_grad=True)
    out = F.gelu(fused, approximate)
    assert out._parents == (fused,) and out._op == "gelu" and out.dtype == dtype
    reference = F._composed_gelu(composed, approximate)
    np.testing.assert_array_equal(out.data, reference.data)   # the same operations, in order
    cotangent = _rng(1).standard_normal(x.shape).astype(dtype)
    out.backward(cotangent)
    reference.backward(cotangent)
    assert fused.grad.dtype == dtype
    tolerance = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(fused.grad, composed.grad, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("approximate", GELU_MODES)
def test_gelu_on_views_retained_graphs_and_no_grad(approximate):
    x = ag.tensor(_rng().standard_normal((6, 5)), requires_grad=True)
    for view in (x.T, x[:, ::2], x[1]):
        assert gradcheck(lambda x: F.gelu(x, approximate), view.data)
        np.testing.assert_array_equal(F.gelu(view, approximate).data,
                                      F.gelu(ag.tensor(np.ascontiguousarray(view.data)),
                                             approximate).data)
    y = F.gelu(x.T, approximate).sum()
    y.backward(retain_graph=True)
    first = x.grad.copy()
    y.backward()             # the first backward used up the saved gelu'(x): computed again
    np.testing.assert_allclose(x.grad, 2 * first, rtol=1e-15)
    with ag.no_grad():
        assert not F.gelu(x, approximate).requires_grad
    scalar = F.gelu(ag.tensor(0.5, requires_grad=True), approximate)
    assert scalar.shape == () and isinstance(scalar.data, np.float64)


@pytest.mark.parametrize("approximate", GELU_MODES)
def test_gelu_derivatives_to_third_order(approximate):
    # at 0 both forms have gelu' = 1/2, gelu'' = sqrt(2 / pi), and gelu''' = 0
    # (gelu(x) - x / 2 is even)
    first = ag.grad(lambda x: F.gelu(x, approximate))
    second = ag.grad(first)
    third = ag.grad(second)
    assert float(first(0.0)) == pytest.approx(0.5, abs=1e-15)
    assert float(second(0.0)) == pytest.approx(math.sqrt(2 / math.pi), rel=1e-14)
    assert float(third(0.0)) == pytest.approx(0.0, abs=1e-14)

    def second_derivative(x):
        return ag.grad(lambda y: ag.grad(lambda z: F.gelu(z, approximate).sum())(y).sum())(x)

    x = _rng(2).standard_normal(5)
    assert gradcheck(second_derivative, x)
    torch = pytest.importorskip("torch")
    t = torch.tensor(x, requires_grad=True)
    (d1,) = torch.autograd.grad(torch.nn.functional.gelu(t, approximate=approximate).sum(), t,
                                create_graph=True)
    (d2,) = torch.autograd.grad(d1.sum(), t)
    np.testing.assert_allclose(second_derivative(x), d2.numpy(), rtol=1e-10, atol=1e-12)


def test_elu_of_large_inputs_is_finite_with_finite_gradients():
    x = ag.tensor([800.0, -800.0], requires_grad=True)
    F.elu(x).sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 0.0])


# ---------------------------------------------------------------------------
# linear, embedding, dropout
# ---------------------------------------------------------------------------

def test_linear():
    rng = _rng(12)
    arrays = [rng.standard_normal((2, 3, 4)), rng.standard_normal((5, 4)), rng.standard_normal(5)]
    assert gradcheck(F.linear, *arrays)
    np.testing.assert_allclose(F.linear(*arrays).data, arrays[0] @ arrays[1].T + arrays[2])
    with pytest.raises(ValueError, match=r"linear: expected input \(\.\.\., in_features\) and weight \(out_features, in_features\), got input \(2, 3, 4\) and weight \(5, 3\)"):
        F.linear(arrays[0], np.zeros((5, 3)))
    against_torch(F.linear, lambda x, w, b: _torch_f().linear(x, w, b), arrays)


def test_embedding():
    weight = _rng(13).standard_normal((6, 3))
    indices = np.array([[1, 4, 1], [0, 5, 1]])
    w = ag.tensor(weight, requires_grad=True)
    out = F.embedding(indices, w)
    np.testing.assert_array_equal(out.data, weight[indices])
    out.sum().backward()
    np.testing.assert_array_equal(w.grad[:, 0], [1, 3, 0, 0, 1, 1])   # repeats add up
    assert gradcheck(lambda w: F.embedding(indices, w), weight)
    w.grad = None
    F.embedding(indices, w, padding_idx=1).sum().backward()
    np.testing.assert_array_equal(w.grad[:, 0], [1, 0, 0, 0, 1, 1])   # padding row: no gradient
    against_torch(lambda w: F.embedding(indices, w, padding_idx=1),
                  lambda w: _torch_f().embedding(pytest.importorskip("torch").tensor(indices), w,
                                                 padding_idx=1), [weight])


@pytest.mark.parametrize("indices, error, message", [
    (np.array([0, 6]), IndexError, r"embedding: index 6 is out of range for 6 embeddings"),
    (np.array([-1]), IndexError, r"embedding: index -1 is out of range"),
    (np.array([0.0, 1.0]), TypeError, r"embedding: indices must be integers, got shape \(2,\) float64"),
])
def test_embedding_errors(indices, error, message):
    with pytest.raises(error, match=message):
        F.embedding(indices, np.zeros((6, 3)))


def test_dropout():
    x = ag.tensor(np.ones((200, 50)), requires_grad=True)
    ag.manual_seed(0)
    out = F.dropout(x, 0.3)
    ag.manual_seed(0)
    again = F.dropout(x, 0.3)
    np.testing.assert_array_equal(out.data, again.data)          # the seeded generator
    kept = out.data != 0
    np.testing.assert_allclose(out.data[kept], 1 / 0.7)
    assert abs(kept.mean() - 0.7) < 0.02
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, out.data)              # the gradient is the mask
    assert F.dropout(x, 0.3, training=False) is x and F.dropout(x, 0.0) is x
    np.testing.assert_array_equal(F.dropout(x, 1.0).data, 0)
    with pytest.raises(ValueError, match="dropout: p .* must be between 0 and 1, got 1.5"):
        F.dropout(x, 1.5)


# ---------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------

REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", ["plain", "weight", "pos_weight", "both"])
def test_binary_cross_entropy_with_logits(reduction, options):
    rng = _rng(14)
    x, y = rng.standard_normal((5, 3)) * 4, rng.random((5, 3))
    weight = rng.random((5, 3)) + 0.5 if options in ("weight", "both") else None
    pos_weight = rng.random(3) * 3 if options in ("pos_weight", "both") else None

    def ours(x, y):
        return F.binary_cross_entropy_with_logits(x, y, weight, reduction, pos_weight)

    assert gradcheck(ours, x, y)
    if weight is not None and pos_weight is not None:  # their gradients too (PyTorch has none)
        assert gradcheck(lambda x, y, w, p: F.binary_cross_entropy_with_logits(x, y, w, reduction, p),
                         x, y, weight, pos_weight)
    composed = F._composed_binary_cross_entropy_with_logits(x, y, weight, reduction, pos_weight)
    np.testing.assert_allclose(ours(x, y).data, composed.data, rtol=1e-12, atol=1e-13)
    torch = pytest.importorskip("torch")
    against_torch(ours, lambda x, y: torch.nn.functional.binary_cross_entropy_with_logits(
        x, y, None if weight is None else torch.tensor(weight), reduction=reduction,
        pos_weight=None if pos_weight is None else torch.tensor(pos_weight)), [x, y])


def test_binary_cross_entropy_with_logits_is_stable_at_large_logits():
    x = ag.tensor([100.0, -100.0, 100.0, -100.0, 1e4, -1e4], requires_grad=True)
    y = np.array([0.0, 1.0, 1.0, 0.0, 0.0, 1.0])
    losses = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    np.testing.assert_allclose(losses.data, [100, 100, math.exp(-100), math.exp(-100), 1e4, 1e4],
                               rtol=1e-14)
    losses.sum().backward()
    np.testing.assert_allclose(x.grad, [1, -1, -math.exp(-100), math.exp(-100), 1, -1], rtol=1e-14)
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: target must have the shape of input, got input \(6,\) and target \(5,\)"):
        F.binary_cross_entropy_with_logits(x, y[:5])
    with pytest.raises(ValueError, match=r"pos_weight of shape \(4,\) does not broadcast to the input shape \(6,\)"):
        F.binary_cross_entropy_with_logits(x, y, pos_weight=np.ones(4))
    against_torch(lambda x: F.binary_cross_entropy_with_logits(x, y, reduction="none"),
                  lambda x: _torch_f().binary_cross_entropy_with_logits(
                      x, pytest.importorskip("torch").tensor(y), reduction="none"),
                  [x.data.copy()], rtol=1e-14, atol=1e-40)  # PyTorch rounds e^-100 to 0


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy(reduction, weighted):
    rng = _rng(15)
    x, y = rng.uniform(0.05, 0.95, (4, 3)), rng.random((4, 3))
    weight = rng.random(3) + 0.5 if weighted else None

    def ours(x, y):
        return F.binary_cross_entropy(x, y, weight, reduction)

    assert gradcheck(ours, x, y)
    torch = pytest.importorskip("torch")
    against_torch(ours, lambda x, y: torch.nn.functional.binary_cross_entropy(
        x, y, None if weight is None else torch.tensor(weight), reduction=reduction), [x, y])


def test_binary_cross_entropy_clamps_the_log_at_minus_100_and_checks_the_range():
    losses = F.binary_cross_entropy(ag.tensor([0.0, 1.0]), ag.tensor([1.0, 0.0]), reduction="none")
    np.testing.assert_array_equal(losses.data, [100.0, 100.0])
    with pytest.raises(ValueError, match=r"binary_cross_entropy: every input must lie in \[0, 1\]"):
        F.binary_cross_entropy(ag.tensor([1.5]), ag.tensor([1.0]))


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss", "huber_loss_delta"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_losses(name, reduction):
    rng = _rng(16)
    x = rng.standard_normal((4, 5)) * 2
    y = x + rng.choice([-1, 1], x.shape) * rng.uniform(0.1, 3, x.shape)  # |x - y| never at 0
    delta = 0.7 if name.endswith("delta") else 1.0
    y = np.where(np.abs(np.abs(x - y) - delta) < 0.05, y + 0.2, y)      # nor at delta
    function = name.removesuffix("_delta")
    kwargs = {"delta": delta} if function == "huber_loss" else {}

    def ours(x, y):
        return getattr(F, function)(x, y, reduction=reduction, **kwargs)

    assert gradcheck(ours, x, y)
    against_torch(ours, lambda x, y: getattr(_torch_f(), function)(x, y, reduction=reduction,
                                                                   **kwargs), [x, y])


def test_regression_loss_known_values_and_errors():
    x, y = ag.tensor([1.0, 3.0]), ag.tensor([0.0, 0.0])
    assert F.mse_loss(x, y).item() == 5.0 and F.l1_loss(x, y, reduction="sum").item() == 4.0
    np.testing.assert_array_equal(F.huber_loss(x, y, reduction="none", delta=2.0).data, [0.5, 4.0])
    with pytest.raises(ValueError, match=r"mse_loss: target must have the shape of input, got input \(2,\) and target \(3,\)"):
        F.mse_loss(x, np.zeros(3))
    with pytest.raises(ValueError, match=r"l1_loss: reduction must be one of \('mean', 'sum', 'none'\), got 'avg'"):
        F.l1_loss(x, y, reduction="avg")


NLL_CASES = [
    ((5, 4), (5,), False, -100),
    ((5, 4), (5,), True, -100),
    ((5, 4), (5,), True, 2),            # an ignored class
    ((2, 4, 3, 2), (2, 3, 2), True, 1),  # spatial
    ((4,), (), False, -100),             # unbatched
]


@pytest.mark.parametrize("input_shape, target_shape, weighted, ignore_index", NLL_CASES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss(input_shape, target_shape, weighted, ignore_index, reduction):
    rng = _rng(17)
    classes = input_shape[0] if len(input_shape) == 1 else input_shape[1]
    x = rng.standard_normal(input_shape)
    target = rng.integers(0, classes, target_shape)
    weight = rng.random(classes) + 0.5 if weighted else None

    def ours(x):
        return F.nll_loss(x, target, weight, ignore_index, reduction)

    assert gradcheck(ours, x)
    torch = pytest.importorskip("torch")
    against_torch(ours, lambda x: torch.nn.functional.nll_loss(
        x, torch.tensor(target), None if weight is None else torch.tensor(weight),
        ignore_index=ignore_index, reduction=reduction), [x])


def test_nll_loss_known_values_all_ignored_and_errors():
    x = ag.tensor([[-1.0, -2.0], [-3.0, -4.0]], requires_grad=True)
    assert F.nll_loss(x, np.array([1, 0])).item() == 2.5
    assert F.nll_loss(x, np.array([1, 0]), weight=np.array([1.0, 3.0])).item() == (6 + 3) / 4
    out = F.nll_loss(x, np.array([-100, -100]))
    assert np.isnan(out.item())
    out.backward()
    np.testing.assert_array_equal(x.grad, 0)
    with pytest.raises(IndexError, match=r"nll_loss: target 2 is out of range for 2 classes"):
        F.nll_loss(x, np.array([2, 0]))
    with pytest.raises(TypeError, match="nll_loss: target must hold class indices"):
        F.nll_loss(x, np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match=r"nll_loss: input of shape \(2, 2\) needs a target of shape \(2,\), got shape \(3,\)"):
        F.nll_loss(x, np.array([1, 0, 1]))


def test_cross_entropy_is_ag_cross_entropy_and_nll_of_log_softmax():
    assert F.cross_entropy is ag.cross_entropy
    rng = _rng(18)
    z, target = rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    np.testing.assert_allclose(F.cross_entropy(z, target).data,
                               F.nll_loss(ag.log_softmax(ag.tensor(z), axis=1), target).data,
                               rtol=1e-14)


def test_public_names():
    for name in F.__all__:
        assert callable(getattr(F, name)), name


# ---------------------------------------------------------------------------
# The BLAS fast paths of layer_norm and attention (float32/float64 arrays of one dtype):
# against the composed forms in float64, in float32 to round-off, a second backward
# through a retained graph, non-contiguous inputs, and the rows they hand back.
# ---------------------------------------------------------------------------

def _fused_and_composed(fused, composed, arrays, dtype, seed=21):
    """(value, grads) of ``fused`` and of ``composed`` on ``arrays`` cast to ``dtype``."""
    results = []
    for function in (fused, composed):
        tensors = [ag.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
        out = function(*tensors)
        cotangent = _rng(seed).standard_normal(out.shape).astype(dtype)
        out.backward(cotangent)
        results.append((out.data, [t.grad for t in tensors]))
    return results


@pytest.mark.parametrize("x_shape, normalized, affine", [
    ((8, 16, 32), (32,), "both"), ((3, 4, 5, 6), (5, 6), "both"), ((6, 9), (9,), "weight"),
    ((4, 7), (7,), "bias"), ((5, 2, 8), (2, 8), "none"), ((12,), (12,), "both"),
])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_layer_norm_fast_path_matches_composed(x_shape, normalized, affine, dtype):
    rng = _rng(31)
    arrays = [rng.standard_normal(x_shape) * 2 + 5]          # a mean far from 0: centring matters
    if affine in ("both", "weight"):
        arrays.append(rng.standard_normal(normalized))
    if affine in ("both", "bias"):
        arrays.append(rng.standard_normal(normalized))

    def call(layer_norm, x, *params):
        w = params[0] if affine in ("both", "weight") else None
        b = params[-1] if affine in ("both", "bias") else None
        return layer_norm(x, normalized, w, b, 1e-5)

    (value, grads), (want, want_grads) = _fused_and_composed(
        lambda *t: call(F.layer_norm, *t), lambda *t: call(F._composed_layer_norm, *t), arrays, dtype)
    rtol, atol = (1e-11, 1e-11) if dtype == np.float64 else (2e-5, 2e-5)
    assert value.dtype == dtype and all(g.dtype == dtype for g in grads)
    np.testing.assert_allclose(value, want, rtol=rtol, atol=atol)
    for got, expected in zip(grads, want_grads):
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol * 10)


def test_layer_norm_fast_path_retained_graph_and_strided_input():
    rng = _rng(32)
    base = rng.standard_normal((6, 10, 4))
    x = ag.tensor(base, requires_grad=True)
    w, b = (ag.tensor(rng.standard_normal(6), requires_grad=True) for _ in range(2))
    out = F.layer_norm(x.transpose(2, 1, 0), (6,), w, b)      # a transposed (strided) view
    g = rng.standard_normal(out.shape)
    out.backward(g, retain_graph=True)
    first = [t.grad.copy() for t in (x, w, b)]
    for t in (x, w, b):
        t.grad = None
    out.backward(g)                                              # the saved arrays are intact
    for t, want in zip((x, w, b), first):
        np.testing.assert_array_equal(t.grad, want)
    assert gradcheck(lambda x, w, b: F.layer_norm(x.transpose(2, 1, 0), (6,), w, b),
                     base[:, :2, :2], rng.standard_normal(6), rng.standard_normal(6))


@pytest.mark.parametrize("shapes, kind", [
    (((2, 3, 8, 4), (2, 3, 8, 4), (2, 3, 8, 5)), "causal"),
    (((2, 3, 6, 4), (2, 3, 9, 4), (2, 3, 9, 2)), "causal"),      # more keys than queries
    (((9, 4), (6, 4), (6, 3)), "causal"),                          # more queries than keys
    (((2, 5, 4), (1, 7, 4), (7, 3)), "bool"),                      # broadcast batch axes
    (((3, 5, 4), (3, 7, 4), (3, 7, 2)), "float"),                  # a mask with a gradient
    (((2, 1, 5, 3), (4, 6, 3), (4, 6, 3)), "none"),
])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_attention_fast_path_matches_composed(shapes, kind, dtype):
    rng = _rng(33)
    arrays = [rng.standard_normal(shape) for shape in shapes]
    length, source = shapes[0][-2], shapes[1][-2]
    boolean = None
    if kind == "bool":
        boolean = rng.random((length, source)) > 0.5
        boolean[:, 0] = True                                       # every query sees a key
    if kind == "float":
        arrays.append(rng.standard_normal((length, source)))
    causal = kind == "causal"
    if causal:
        boolean = np.tril(np.ones((length, source), bool))

    def fused(q, k, v, *mask):
        attn_mask = mask[0] if mask else boolean if kind == "bool" else None
        return F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, is_causal=causal,
                                              scale=None if kind != "none" else 0.7)

    def composed(q, k, v, *mask):
        return F._composed_attention(q, k, v, boolean, mask[0] if mask else None,
                                     None if kind != "none" else 0.7)

    (value, grads), (want, want_grads) = _fused_and_composed(fused, composed, arrays, dtype)
    rtol, atol = (1e-11, 1e-12) if dtype == np.float64 else (1e-4, 2e-6)
    assert value.dtype == dtype and all(g.dtype == dtype for g in grads)
    np.testing.assert_allclose(value, want, rtol=rtol, atol=atol)
    for position, (got, expected) in enumerate(zip(grads, want_grads)):
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol * 10,
                                   err_msg=f"gradient of input {position}")


def test_attention_fast_path_retained_graph_strided_views_and_handed_back_rows():
    rng = _rng(34)
    qkv = ag.tensor(rng.standard_normal((2, 6, 3 * 8)), requires_grad=True)
    q, k, v = qkv.reshape(2, 6, 3, 2, 4).transpose(2, 0, 3, 1, 4)   # strided views, as in GPT
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    g = rng.standard_normal(out.shape).transpose(0, 2, 1, 3).copy().transpose(0, 2, 1, 3)
    out.backward(g, retain_graph=True)
    first = qkv.grad.copy()
    qkv.grad = None
    out.backward(g)
    np.testing.assert_array_equal(qkv.grad, first)
    assert gradcheck(lambda t: F.scaled_dot_product_attention(
        *t.reshape(1, 3, 3, 2, 2).transpose(2, 0, 3, 1, 4), is_causal=True),
        rng.standard_normal((1, 3, 12)))
    # A row with an infinite score goes to the composed path: the same values as before.
    scores_inf = np.array([[np.inf, 0.0], [1.0, 2.0]])
    qq = ag.tensor(scores_inf, requires_grad=True)
    with np.errstate(invalid="ignore"):
        got = F.scaled_dot_product_attention(qq, np.eye(2), np.eye(2), scale=1.0).data
        want = F._attention_weights(scores_inf) @ np.eye(2)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[1], want[1], rtol=1e-15)
