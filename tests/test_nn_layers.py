"""The layers of autograd.nn and nn.init: PyTorch's shapes, defaults and initialisations.

Each layer is checked without PyTorch (shapes, known values, finite differences through
the layer's parameters) and, when PyTorch is installed, against the PyTorch layer given
the same weights: outputs and parameter gradients in float64, to round-off.
"""

import math
import warnings

import numpy as np
import pytest

import autograd as ag
from autograd import nn
from autograd.nn import init
from autograd.testing import gradcheck

RTOL, ATOL = 1e-10, 1e-12


def _rng(seed=0):
    return np.random.default_rng(seed)


def _torch():
    return pytest.importorskip("torch")


def _copy_into_torch(ours, theirs):
    """Copy our parameters into the PyTorch module with the same parameter names."""
    torch = _torch()
    theirs = theirs.double()   # before copying: float32 parameters would round ours
    mine = dict(ours.named_parameters())
    names = [name for name, _ in theirs.named_parameters()]
    assert names == list(mine), (names, list(mine))
    with torch.no_grad():
        for name, parameter in theirs.named_parameters():
            parameter.copy_(torch.tensor(mine[name].data))
    return theirs


def against_torch_module(ours, theirs, x, rtol=RTOL, atol=ATOL):
    """Same weights, same input: outputs, input gradients and parameter gradients agree."""
    torch = _torch()
    theirs = _copy_into_torch(ours, theirs)
    x_ours = ag.tensor(x, requires_grad=x.dtype.kind == "f")
    out = ours(x_ours)
    x_theirs = torch.tensor(x, requires_grad=x.dtype.kind == "f")
    expected = theirs(x_theirs)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=rtol, atol=atol)
    cotangent = _rng(77).standard_normal(out.shape)
    out.backward(cotangent)
    expected.backward(torch.tensor(cotangent))
    if x.dtype.kind == "f":
        np.testing.assert_allclose(x_ours.grad, x_theirs.grad.numpy(), rtol=rtol, atol=atol)
    for (name, parameter), (_, theirs_parameter) in zip(ours.named_parameters(),
                                                        theirs.named_parameters()):
        np.testing.assert_allclose(parameter.grad, theirs_parameter.grad.numpy(), rtol=rtol,
                                   atol=atol, err_msg=name)


def gradcheck_parameters(module, x):
    """Finite differences through the module's parameters, the input held constant."""
    parameters = module.parameters()
    return gradcheck(lambda *values: _call_with(module, parameters, values, x),
                     *[np.array(p.data) for p in parameters])


def _call_with(module, parameters, values, x):
    """module(x) with its parameters replaced by ``values`` (Tensors) for one call."""
    saved = {}
    for owner in module.modules():
        for attribute, value in list(vars(owner).items()):
            for parameter, replacement in zip(parameters, values):
                if value is parameter:
                    saved[(id(owner), attribute)] = (owner, attribute, value)
                    setattr(owner, attribute, replacement)
    try:
        return module(x)
    finally:
        for owner, attribute, value in saved.values():
            setattr(owner, attribute, value)


# ---------------------------------------------------------------------------
# Conv2d
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("arguments, x_shape", [
    (dict(in_channels=3, out_channels=4, kernel_size=3), (2, 3, 6, 6)),
    (dict(in_channels=4, out_channels=6, kernel_size=(2, 3), stride=2, padding=1, groups=2), (2, 4, 7, 6)),
    (dict(in_channels=2, out_channels=2, kernel_size=3, dilation=2, padding="same", bias=False), (1, 2, 7, 7)),
    (dict(in_channels=3, out_channels=2, kernel_size=1), (3, 4, 4)),    # unbatched
])
def test_conv2d_layer(arguments, x_shape):
    ag.manual_seed(0)
    layer = nn.Conv2d(**arguments)
    x = _rng(1).standard_normal(x_shape)
    k = layer.kernel_size
    assert layer.weight.shape == (arguments["out_channels"],
                                  arguments["in_channels"] // arguments.get("groups", 1), *k)
    assert (layer.bias is None) == (arguments.get("bias", True) is False)
    assert gradcheck_parameters(layer, x)
    against_torch_module(layer, _torch().nn.Conv2d(**arguments), x)


def test_conv2d_initialises_like_pytorch_and_is_reproducible():
    ag.manual_seed(0)
    layer = nn.Conv2d(8, 16, 3, groups=2)
    fan_in = 8 // 2 * 3 * 3
    bound = 1 / math.sqrt(fan_in)     # kaiming_uniform_(a=sqrt(5)) and the bias bound
    for tensor in (layer.weight, layer.bias):
        assert np.abs(tensor.data).max() <= bound and np.abs(tensor.data).max() > 0.5 * bound
        assert tensor.requires_grad and tensor.dtype == np.float64
    ag.manual_seed(0)
    np.testing.assert_array_equal(nn.Conv2d(8, 16, 3, groups=2).weight.data, layer.weight.data)
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    layer32 = nn.Conv2d(1, 2, 3, dtype=np.float32)
    assert layer32.weight.dtype == layer32.bias.dtype == np.float32
    assert layer32(np.zeros((1, 1, 4, 4), np.float32)).dtype == np.float32
    assert repr(layer) == "Conv2d(8, 16, kernel_size=(3, 3), stride=(1, 1), groups=2)"


@pytest.mark.parametrize("x_shape, message", [
    ((1, 2, 5, 5), r"Conv2d\(3, 4, kernel_size=\(3, 3\), stride=\(1, 1\)\) expects input of shape \(N, 3, H, W\) or \(3, H, W\), got shape \(1, 2, 5, 5\) float64"),
    ((3, 5), r"expects input of shape \(N, 3, H, W\) or \(3, H, W\), got shape \(3, 5\)"),
    ((1, 3, 2, 2), r"Conv2d\(3, 4.*conv2d: the kernel spans \(3, 3\)"),
])
def test_conv2d_layer_errors(x_shape, message):
    with pytest.raises(ValueError, match=message):
        nn.Conv2d(3, 4, 3)(np.zeros(x_shape))


def test_conv2d_layer_argument_errors():
    with pytest.raises(ValueError, match=r"Conv2d: in_channels \(3\) and out_channels \(4\) must be divisible by groups \(2\)"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="Conv2d: kernel_size must be at least 1, got 0"):
        nn.Conv2d(3, 4, 0)
    with pytest.raises(TypeError, match="Conv2d: dtype must be a floating dtype"):
        nn.Conv2d(3, 4, 3, dtype=np.int32)


# ---------------------------------------------------------------------------
# Pooling, activations, Flatten, Identity
# ---------------------------------------------------------------------------

PARAMETER_FREE = [
    ("MaxPool2d", lambda m: m.MaxPool2d(2), (2, 3, 6, 6)),
    ("MaxPool2d_overlap", lambda m: m.MaxPool2d(3, stride=1, padding=1), (1, 2, 5, 6)),
    ("AvgPool2d", lambda m: m.AvgPool2d(2), (2, 3, 6, 6)),
    ("AvgPool2d_pad", lambda m: m.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), (1, 2, 7, 6)),
    ("GELU", lambda m: m.GELU(), (4, 5)),
    ("GELU_tanh", lambda m: m.GELU(approximate="tanh"), (4, 5)),
    ("SiLU", lambda m: m.SiLU(), (4, 5)),
    ("LeakyReLU", lambda m: m.LeakyReLU(0.2), (4, 5)),
    ("ELU", lambda m: m.ELU(0.7), (4, 5)),
    ("Softplus", lambda m: m.Softplus(beta=2.0, threshold=5.0), (4, 5)),
    ("ReLU", lambda m: m.ReLU(), (4, 5)),
    ("Tanh", lambda m: m.Tanh(), (4, 5)),
    ("Sigmoid", lambda m: m.Sigmoid(), (4, 5)),
    ("Flatten", lambda m: m.Flatten(), (2, 3, 4, 5)),
    ("Flatten_range", lambda m: m.Flatten(0, 2), (2, 3, 4, 5)),
    ("Identity", lambda m: m.Identity(3, unused=True), (2, 3)),
]


@pytest.mark.parametrize("name, make, x_shape", PARAMETER_FREE, ids=[p[0] for p in PARAMETER_FREE])
def test_parameter_free_layers(name, make, x_shape):
    layer = make(nn)
    assert layer.parameters() == []
    x = _rng(2).permutation(np.prod(x_shape)).reshape(x_shape) / 7.0 - 3.01   # distinct, off kinks
    assert gradcheck(layer, x)
    against_torch_module(layer, make(_torch().nn), x)


def test_flatten_and_identity_known_shapes():
    x = ag.zeros((2, 3, 4, 5))
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(1, 2)(x).shape == (2, 12, 5)
    assert nn.Flatten(-2)(x).shape == (2, 3, 20)
    assert nn.Identity()(x) is x
    with pytest.raises(ValueError, match=r"Flatten\(start_dim=2, end_dim=1\): start_dim 2 and end_dim 1"):
        nn.Flatten(2, 1)(x)


def test_pooling_layers_known_values():
    x = ag.tensor(np.arange(16.0).reshape(1, 1, 4, 4))
    np.testing.assert_array_equal(nn.MaxPool2d(2)(x).data, [[[[5, 7], [13, 15]]]])
    np.testing.assert_array_equal(nn.AvgPool2d(2)(x).data, [[[[2.5, 4.5], [10.5, 12.5]]]])
    with pytest.raises(ValueError, match=r"MaxPool2d\(kernel_size=3, stride=None, padding=2\): max_pool2d: padding should be at most half"):
        nn.MaxPool2d(3, padding=2)(x)


# ---------------------------------------------------------------------------
# Embedding, LayerNorm, Dropout
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("padding_idx", [None, 2, -1])
def test_embedding_layer(padding_idx):
    ag.manual_seed(1)
    layer = nn.Embedding(7, 4, padding_idx=padding_idx)
    assert layer.weight.shape == (7, 4) and layer.parameters() == [layer.weight]
    if padding_idx is not None:
        np.testing.assert_array_equal(layer.weight.data[padding_idx], 0)
    indices = np.array([[0, 2, 6], [2, 2, 1]])
    np.testing.assert_array_equal(layer(indices).data, layer.weight.data[indices])
    layer(indices).sum().backward()
    counts = np.bincount(indices.ravel(), minlength=7).astype(float)
    if padding_idx is not None:
        counts[padding_idx] = 0                  # the padding row gets no gradient
    np.testing.assert_array_equal(layer.weight.grad[:, 0], counts)
    layer.weight.grad = None
    against_torch_module(layer, _torch().nn.Embedding(7, 4, padding_idx=padding_idx), indices)


def test_embedding_initialises_standard_normal():
    ag.manual_seed(0)
    weight = nn.Embedding(500, 100).weight.data
    assert abs(weight.mean()) < 0.01 and abs(weight.std() - 1) < 0.01


@pytest.mark.parametrize("indices, error, message", [
    (np.array([0, 7]), IndexError, r"Embedding\(7, 4\): embedding: index 7 is out of range for 7 embeddings"),
    (np.array([1.0]), TypeError, r"Embedding\(7, 4\): embedding: indices must be integers"),
])
def test_embedding_layer_errors(indices, error, message):
    with pytest.raises(error, match=message):
        nn.Embedding(7, 4)(indices)
    with pytest.raises(ValueError, match=r"Embedding: padding_idx must be an integer in \[-7, 7\), got 7"):
        nn.Embedding(7, 4, padding_idx=7)


@pytest.mark.parametrize("normalized_shape, x_shape, affine, bias", [
    (6, (3, 6), True, True), ((4, 5), (2, 3, 4, 5), True, True), (5, (2, 5), False, True),
    (5, (2, 5), True, False),
])
def test_layer_norm_layer(normalized_shape, x_shape, affine, bias):
    layer = nn.LayerNorm(normalized_shape, elementwise_affine=affine, bias=bias)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
    if affine:
        np.testing.assert_array_equal(layer.weight.data, np.ones(shape))
        layer.weight.data = _rng(3).standard_normal(shape)       # something to compare
        if bias:
            np.testing.assert_array_equal(layer.bias.data, np.zeros(shape))
            layer.bias.data = _rng(4).standard_normal(shape)
    assert len(layer.parameters()) == affine * (1 + bias)
    x = _rng(5).standard_normal(x_shape) * 2 + 1
    out = layer(x)
    if not affine:
        np.testing.assert_allclose(out.data.mean(axis=-1), 0, atol=1e-12)
        np.testing.assert_allclose(out.data.var(axis=-1), 1, rtol=1e-4)   # var/(var+eps)
    if layer.parameters():
        assert gradcheck_parameters(layer, x)
    against_torch_module(layer, _torch().nn.LayerNorm(normalized_shape, elementwise_affine=affine,
                                                      bias=bias), x)


def test_layer_norm_layer_error_names_the_layer_and_shapes():
    with pytest.raises(ValueError, match=r"LayerNorm\(\(4,\), eps=1e-05, elementwise_affine=True\) expects input of shape \(\.\.\., 4\), got shape \(2, 3\) float64"):
        nn.LayerNorm(4)(np.zeros((2, 3)))


def test_dropout_layer_trains_and_evaluates():
    layer = nn.Dropout(0.25)
    x = ag.tensor(np.ones((100, 40)), requires_grad=True)
    ag.manual_seed(5)
    out = layer(x)
    kept = out.data != 0
    np.testing.assert_allclose(out.data[kept], 1 / 0.75)
    assert abs(kept.mean() - 0.75) < 0.02
    ag.manual_seed(5)
    np.testing.assert_array_equal(layer(x).data, out.data)        # the seeded generator
    model = nn.Sequential(nn.Linear(40, 3), nn.Dropout(0.5))
    model.eval()
    assert not model[1].training
    assert model[1](x) is x                                         # identity in eval()
    model.train()
    assert model[1].training
    with pytest.raises(ValueError, match="Dropout: p .* must be between 0 and 1, got 1.5"):
        nn.Dropout(p=1.5)
    with pytest.raises(ValueError, match="between 0 and 1, got -0.1"):
        nn.Dropout(p=-0.1)


def test_layer_argument_errors():
    with pytest.raises(ValueError, match="GELU: approximate must be 'none' or 'tanh', got 'exact'"):
        nn.GELU("exact")
    with pytest.raises(ValueError, match="LayerNorm: normalized_shape entries must be an integer"):
        nn.LayerNorm((4, -1))
    with pytest.raises(ValueError, match="Embedding: num_embeddings must be an integer >= 0"):
        nn.Embedding(-2, 3)


# ---------------------------------------------------------------------------
# ModuleList and ModuleDict
# ---------------------------------------------------------------------------

def test_module_list():
    ag.manual_seed(0)
    layers = nn.ModuleList([nn.Linear(3, 3), nn.ReLU()])
    layers.append(nn.Linear(3, 2))
    layers.insert(0, nn.LayerNorm(3))
    assert len(layers) == 4 and isinstance(layers[0], nn.LayerNorm)
    assert [name for name, _ in layers.named_parameters()] == [
        "0.weight", "0.bias", "1.weight", "1.bias", "3.weight", "3.bias"]
    assert isinstance(layers[1:], nn.ModuleList) and len(layers[1:]) == 3
    x = ag.tensor(np.ones((2, 3)))
    for layer in layers:
        x = layer(x)
    assert x.shape == (2, 2)
    layers.train(False)
    assert all(not m.training for m in layers)
    with pytest.raises(TypeError, match="ModuleList: item 4 must be a Module, got function"):
        layers.append(lambda x: x)
    copy = nn.ModuleList([nn.LayerNorm(3), nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 2)])
    copy.load_state_dict(layers.state_dict())
    np.testing.assert_array_equal(copy[3].weight.data, layers[3].weight.data)
    torch = _torch()
    theirs = torch.nn.ModuleList([torch.nn.LayerNorm(3), torch.nn.Linear(3, 3), torch.nn.ReLU(),
                                  torch.nn.Linear(3, 2)])
    assert [n for n, _ in theirs.named_parameters()] == [n for n, _ in layers.named_parameters()]


def test_module_dict():
    heads = nn.ModuleDict({"classify": nn.Linear(4, 3)})
    heads["regress"] = nn.Linear(4, 1)
    assert list(heads) == ["classify", "regress"] and "regress" in heads and len(heads) == 2
    assert [name for name, _ in heads.named_parameters()] == [
        "classify.weight", "classify.bias", "regress.weight", "regress.bias"]
    assert heads["regress"](ag.zeros((5, 4))).shape == (5, 1)
    assert [k for k, _ in heads.items()] == list(heads.keys())
    del heads["classify"]
    assert list(heads.keys()) == ["regress"]
    with pytest.raises(TypeError, match="ModuleDict: the value for 'x' must be a Module, got int"):
        heads["x"] = 3
    with pytest.raises(TypeError, match="ModuleDict: keys must be strings, got int"):
        heads[0] = nn.ReLU()
    with pytest.raises(NotImplementedError, match="ModuleDict must define forward"):
        heads(ag.zeros(3))
    torch = _torch()
    theirs = torch.nn.ModuleDict({"regress": torch.nn.Linear(4, 1)})
    assert [n for n, _ in theirs.named_parameters()] == [n for n, _ in heads.named_parameters()]


# ---------------------------------------------------------------------------
# Whole models: a small CNN and a pre-LayerNorm attention block against PyTorch.
# ---------------------------------------------------------------------------

class SmallCNN(nn.Module):
    def __init__(self, torch_nn=nn):
        self.conv = torch_nn.Conv2d(1, 4, 3, padding=1)
        self.pool = torch_nn.MaxPool2d(2)
        self.conv2 = torch_nn.Conv2d(4, 6, 3, groups=2)
        self.flat = torch_nn.Flatten()
        self.head = torch_nn.Linear(6 * 2 * 2, 5)

    def forward(self, x):
        x = self.pool(nn.functional.relu(self.conv(x)))
        return self.head(self.flat(nn.functional.gelu(self.conv2(x))))


def test_a_small_cnn_matches_pytorch_and_passes_gradcheck():
    ag.manual_seed(0)
    model = SmallCNN()
    x = _rng(6).standard_normal((3, 1, 8, 8)) + 0.013
    target = np.array([0, 4, 2])
    assert gradcheck_parameters(_Loss(model, target), x)
    torch = _torch()

    class TorchCNN(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(1, 4, 3, padding=1)
            self.pool = torch.nn.MaxPool2d(2)
            self.conv2 = torch.nn.Conv2d(4, 6, 3, groups=2)
            self.flat = torch.nn.Flatten()
            self.head = torch.nn.Linear(24, 5)

        def forward(self, x):
            x = self.pool(torch.relu(self.conv(x)))
            return self.head(self.flat(torch.nn.functional.gelu(self.conv2(x))))

    theirs = _copy_into_torch(model, TorchCNN())
    loss = ag.cross_entropy(model(x), target)
    loss.backward()
    expected = torch.nn.functional.cross_entropy(theirs(torch.tensor(x)), torch.tensor(target))
    expected.backward()
    np.testing.assert_allclose(loss.item(), expected.item(), rtol=1e-12)
    for (name, p), (_, q) in zip(model.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)


class _Loss(nn.Module):
    def __init__(self, model, target):
        self.model, self.target = model, target

    def forward(self, x):
        return ag.cross_entropy(self.model(x), self.target)


class Block(nn.Module):
    """Pre-LayerNorm causal self-attention and a GELU MLP, each with a residual."""

    def __init__(self, width=8, heads=2):
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv, self.proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
        self.up, self.down = nn.Linear(width, 4 * width), nn.Linear(4 * width, width)
        self.drop = nn.Dropout(0.1)

    def forward(self, x):
        batch, length, width = x.shape
        qkv = self.qkv(self.norm1(x))
        q, k, v = (qkv[..., i * width:(i + 1) * width] for i in range(3))
        q, k, v = (t.reshape(batch, length, self.heads, -1).transpose((0, 2, 1, 3)) for t in (q, k, v))
        attended = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.drop(self.proj(attended.transpose((0, 2, 1, 3)).reshape(batch, length, width)))
        return x + self.drop(self.down(nn.functional.gelu(self.up(self.norm2(x)))))


def test_a_transformer_block_matches_pytorch():
    ag.manual_seed(0)
    block = Block().eval()
    x = _rng(7).standard_normal((2, 5, 8))
    torch = _torch()

    class TorchBlock(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.norm1, self.norm2 = torch.nn.LayerNorm(8), torch.nn.LayerNorm(8)
            self.qkv, self.proj = torch.nn.Linear(8, 24), torch.nn.Linear(8, 8)
            self.up, self.down = torch.nn.Linear(8, 32), torch.nn.Linear(32, 8)

        def forward(self, x):
            q, k, v = self.qkv(self.norm1(x)).split(8, dim=-1)
            q, k, v = (t.reshape(2, 5, 2, 4).transpose(1, 2) for t in (q, k, v))
            attended = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(attended.transpose(1, 2).reshape(2, 5, 8))
            return x + self.down(torch.nn.functional.gelu(self.up(self.norm2(x))))

    against_torch_module(block, TorchBlock(), x, rtol=1e-9, atol=1e-11)


# ---------------------------------------------------------------------------
# nn.init
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("nonlinearity, param", [
    ("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
    ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None),
])
def test_calculate_gain(nonlinearity, param):
    known = {"tanh": 5 / 3, "relu": math.sqrt(2), "selu": 0.75,
             "leaky_relu": math.sqrt(2 / (1 + (0.01 if param is None else param) ** 2))}
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(known.get(nonlinearity, 1))
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(
        _torch().nn.init.calculate_gain(nonlinearity, param), rel=1e-15)


INITS = [
    ("kaiming_uniform_", dict(), "uniform", lambda fi, fo: math.sqrt(6 / fi)),   # a=0: gain sqrt 2
    ("kaiming_uniform_", dict(a=math.sqrt(5)), "uniform", lambda fi, fo: 1 / math.sqrt(fi)),
    ("kaiming_uniform_", dict(mode="fan_out", nonlinearity="relu"), "uniform", lambda fi, fo: math.sqrt(6 / fo)),
    ("kaiming_normal_", dict(nonlinearity="relu"), "normal", lambda fi, fo: math.sqrt(2 / fi)),
    ("kaiming_normal_", dict(mode="fan_out", nonlinearity="tanh"), "normal", lambda fi, fo: 5 / 3 / math.sqrt(fo)),
    ("xavier_uniform_", dict(), "uniform", lambda fi, fo: math.sqrt(6 / (fi + fo))),
    ("xavier_uniform_", dict(gain=2.0), "uniform", lambda fi, fo: 2 * math.sqrt(6 / (fi + fo))),
    ("xavier_normal_", dict(), "normal", lambda fi, fo: math.sqrt(2 / (fi + fo))),
]


@pytest.mark.parametrize("name, kwargs, kind, scale", INITS)
@pytest.mark.parametrize("shape", [(300, 200), (64, 32, 3, 3)])
def test_initialisations_use_pytorch_fans_and_gains(name, kwargs, kind, scale, shape):
    fan_in, fan_out = shape[1] * math.prod(shape[2:]), shape[0] * math.prod(shape[2:])
    expected = scale(fan_in, fan_out)           # the bound (uniform) or the std (normal)
    ag.manual_seed(0)
    w = getattr(init, name)(ag.zeros(shape, requires_grad=True), **kwargs)
    assert w.requires_grad and w.shape == shape
    if kind == "uniform":
        assert np.abs(w.data).max() <= expected and np.abs(w.data).max() > 0.99 * expected
        np.testing.assert_allclose(w.data.std(), expected / math.sqrt(3), rtol=0.02)
    else:
        np.testing.assert_allclose(w.data.std(), expected, rtol=0.02)
    ag.manual_seed(0)
    np.testing.assert_array_equal(getattr(init, name)(ag.zeros(shape), **kwargs).data, w.data)
    torch = _torch()
    theirs = getattr(torch.nn.init, name)(torch.zeros(shape, dtype=torch.float64), **kwargs)
    np.testing.assert_allclose(w.data.std(), theirs.std().item(), rtol=0.03)
    if kind == "uniform":
        np.testing.assert_allclose(np.abs(w.data).max(), theirs.abs().max().item(), rtol=0.01)


def test_simple_initialisations_and_errors():
    w = ag.zeros((3, 4), requires_grad=True)
    np.testing.assert_array_equal(init.ones_(w).data, 1)
    np.testing.assert_array_equal(init.constant_(w, 0.5).data, 0.5)
    np.testing.assert_array_equal(init.zeros_(w).data, 0)
    ag.manual_seed(1)
    values = init.uniform_(ag.zeros(10_000), -2, 3).data
    assert values.min() >= -2 and values.max() < 3 and abs(values.mean() - 0.5) < 0.05
    values = init.normal_(ag.zeros(10_000), 1.0, 0.5).data
    assert abs(values.mean() - 1) < 0.02 and abs(values.std() - 0.5) < 0.02
    array = np.zeros((2, 3))
    assert init.ones_(array) is array and (array == 1).all()
    with pytest.raises(ValueError, match=r"xavier_uniform_: fan in and fan out need a tensor with at least 2 dimensions \(out, in, \*kernel\), got shape \(5,\)"):
        init.xavier_uniform_(ag.zeros(5))
    with pytest.raises(ValueError, match="kaiming_normal_: mode must be 'fan_in' or 'fan_out', got 'fan'"):
        init.kaiming_normal_(ag.zeros((2, 2)), mode="fan")
    with pytest.raises(ValueError, match="calculate_gain: unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(TypeError, match="ones_: expected a floating tensor, got dtype int64"):
        init.ones_(ag.tensor([1, 2]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        empty = init.kaiming_uniform_(ag.zeros((0, 3)))
    assert empty.shape == (0, 3) and "zero-element" in str(caught[0].message)


def test_initialising_is_a_tracked_write():
    w = ag.tensor(np.ones((2, 2)), requires_grad=True)
    loss = (w * w).sum()
    init.zeros_(w)
    with pytest.raises(RuntimeError):
        loss.backward()


def test_parameters_are_the_tensors_that_require_grad():
    model = nn.Sequential(nn.Embedding(5, 3), nn.LayerNorm(3), nn.Dropout(), nn.GELU(),
                          nn.Flatten(), nn.Identity())
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "1.weight", "1.bias"]
    assert all(p.requires_grad for p in model.parameters())
    assert set(nn.__all__) >= {"Conv2d", "MaxPool2d", "AvgPool2d", "Embedding", "LayerNorm",
                               "Dropout", "GELU", "SiLU", "LeakyReLU", "ELU", "Softplus",
                               "Flatten", "Identity", "ModuleList", "ModuleDict"}
