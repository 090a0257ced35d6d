"""transformer: one training step (forward + backward) of a pre-LayerNorm transformer block.

The block and its loss, for activations x (B, T, D) and next-token targets (B, T):

    h = x + (causal multi-head self-attention of layer_norm(x)) Wo + bo
    y = h + gelu(layer_norm(h) W1 + b1) W2 + b2           (MLP 4 D wide)
    loss = cross_entropy(y Wv + bv, targets)                (V = 256 tokens, mean)

with queries, keys and values from one product ``layer_norm(x) Wqkv + bqkv``, H heads of
D / H, and the gradients of the loss with respect to x and all 14 parameters. Full runs:
B = 8, T = 64, D = 128, H = 4, V = 256, float32 (the issue's case); --quick a smaller
block (B = 2, T = 32, D = 64). Variants:

* NumPy by hand: the forward and its backward derived by hand (``numpy_step``), the
  reference; every variant's loss and gradients are checked against it before timing;
* tapegrad: ``nn.functional``'s fused ``layer_norm`` and ``scaled_dot_product_attention``
  primitives, ``gelu``, ``cross_entropy``;
* tapegrad composed: the same step with layer norm and attention written from
  elementwise ops, reductions, ``matmul`` and ``softmax`` (how it looked before the fused
  primitives), to show what fusing them is worth;
* tapegrad compiled: ``ag.compile`` of the tapegrad step (recorded once, then the flat
  NumPy program replayed; autograd/compiler.py);
* torch: PyTorch eager, the same functions from ``torch.nn.functional`` (when installed);
* matmuls alone: the step's 21 matrix products and nothing else (``matmul_floor``), on
  arrays of the step's shapes and layouts, written into arrays made once: the least any
  NumPy step of this block does, the floor under the compiled ratio (not a step: it is
  not checked against NumPy by hand).

GELU is the tanh form (``gelu(approximate="tanh")``, as in GPT-2) in every variant: NumPy
has no erf, and a by-hand step with a hand-written erf would measure that erf.
Targets: tapegrad <= 1.2x NumPy by hand; tapegrad compiled <= 0.75x (issue 16).
"""

from __future__ import annotations

import math

import numpy as np

import autograd as ag
import autograd.nn.functional as F
from benchmarks import harness, overhead

NAME = "transformer"
TARGET = 1.2
COMPILED = overhead.COMPILED
COMPILED_TARGET = 0.75
CASE = {"batch": 8, "length": 64, "width": 128, "heads": 4, "vocabulary": 256}
QUICK_CASE = {"batch": 2, "length": 32, "width": 64, "heads": 4, "vocabulary": 256}
EPS = 1e-5
GELU_C = math.sqrt(2 / math.pi)
# Every parameter: name -> shape, in terms of the width D and vocabulary V. Matrices are
# (in, out): the block computes x @ W + b.
PARAMETERS = {
    "ln1_weight": ("D",), "ln1_bias": ("D",),
    "qkv_weight": ("D", "3D"), "qkv_bias": ("3D",),
    "proj_weight": ("D", "D"), "proj_bias": ("D",),
    "ln2_weight": ("D",), "ln2_bias": ("D",),
    "fc_weight": ("D", "4D"), "fc_bias": ("4D",),
    "out_weight": ("4D", "D"), "out_bias": ("D",),
    "head_weight": ("D", "V"), "head_bias": ("V",),
}
GRADIENTS = ("x", *PARAMETERS)     # the order every variant returns its gradients in


def make_data(batch, length, width, heads, vocabulary, dtype=np.float32, seed=0):
    """(x, targets, {name: array}): PyTorch-like initial weights, layer-norm weights near 1."""
    rng = np.random.default_rng(seed)
    sizes = {"D": width, "3D": 3 * width, "4D": 4 * width, "V": vocabulary}
    params = {}
    for name, symbols in PARAMETERS.items():
        shape = tuple(sizes[symbol] for symbol in symbols)
        if name.startswith("ln"):
            centre = 1.0 if name.endswith("weight") else 0.0
            params[name] = centre + 0.1 * rng.standard_normal(shape)
        else:
            fan_in = sizes[PARAMETERS[name.replace("bias", "weight")][0]]
            bound = 1 / math.sqrt(fan_in)
            params[name] = rng.uniform(-bound, bound, shape)
    x = rng.standard_normal((batch, length, width))
    targets = rng.integers(0, vocabulary, (batch, length))
    return x.astype(dtype), targets, {name: p.astype(dtype) for name, p in params.items()}


# ---------------------------------------------------------------------------
# NumPy by hand.
# ---------------------------------------------------------------------------

def _layer_norm(x, weight, bias):
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    inverse_std = 1 / np.sqrt((centred * centred).mean(axis=-1, keepdims=True) + EPS)
    normalised = centred * inverse_std
    return normalised * weight + bias, (normalised, inverse_std)


def _layer_norm_backward(dy, weight, saved):
    # y = n w + b with n = (x - mean) / std:
    # dx = (dn - mean(dn) - n mean(dn n)) / std, dn = dy w.
    normalised, inverse_std = saved
    width = dy.shape[-1]
    dn = dy * weight
    dx = inverse_std * (dn - dn.mean(axis=-1, keepdims=True)
                        - normalised * (dn * normalised).mean(axis=-1, keepdims=True))
    rows = dy.reshape(-1, width)
    return dx, (rows * normalised.reshape(-1, width)).sum(axis=0), rows.sum(axis=0)


def _linear_backward(dy, x, weight):
    """y = x W + b over leading axes: (dx, dW, db)."""
    rows_x, rows_dy = x.reshape(-1, x.shape[-1]), dy.reshape(-1, dy.shape[-1])
    return dy @ weight.T, rows_x.T @ rows_dy, rows_dy.sum(axis=0)


def numpy_step(x, targets, params, heads):
    """Loss and the gradients (in ``GRADIENTS`` order) of the block, by hand in NumPy."""
    p = params
    batch, length, width = x.shape
    size = width // heads
    scale = 1 / math.sqrt(size)
    rows = batch * length

    # Forward: attention branch.
    h1, ln1 = _layer_norm(x, p["ln1_weight"], p["ln1_bias"])
    qkv = h1 @ p["qkv_weight"] + p["qkv_bias"]                       # (B, T, 3D)
    q, k, v = qkv.reshape(batch, length, 3, heads, size).transpose(2, 0, 3, 1, 4)
    weights = (q @ k.transpose(0, 1, 3, 2)) * scale                   # (B, H, T, T)
    above = np.triu_indices(length, 1)                               # keys after the query
    weights[..., above[0], above[1]] = -np.inf
    weights -= weights.max(axis=-1, keepdims=True)
    np.exp(weights, out=weights)
    weights /= weights.sum(axis=-1, keepdims=True)
    attended = weights @ v                                            # (B, H, T, size)
    merged = attended.transpose(0, 2, 1, 3).reshape(batch, length, width)
    h = x + merged @ p["proj_weight"] + p["proj_bias"]
    # MLP branch.
    h2, ln2 = _layer_norm(h, p["ln2_weight"], p["ln2_bias"])
    u = h2 @ p["fc_weight"] + p["fc_bias"]                            # (B, T, 4D)
    th = np.tanh(GELU_C * (u + 0.044715 * u * u * u))
    g = 0.5 * u * (1 + th)
    y = h + g @ p["out_weight"] + p["out_bias"]
    # Output layer and mean cross-entropy.
    logits = y.reshape(rows, width) @ p["head_weight"] + p["head_bias"]   # (N, V)
    logits -= logits.max(axis=1, keepdims=True)
    flat_targets = targets.reshape(-1)
    picked = logits[np.arange(rows), flat_targets]
    np.exp(logits, out=logits)
    sums = logits.sum(axis=1)
    loss = np.mean(np.log(sums) - picked)

    # Backward: dL/dlogits = (softmax - onehot) / N.
    d_logits = logits
    d_logits /= sums[:, None] * rows
    d_logits[np.arange(rows), flat_targets] -= 1 / rows
    grads = {}
    dy, grads["head_weight"], grads["head_bias"] = _linear_backward(
        d_logits, y.reshape(rows, width), p["head_weight"])
    dy = dy.reshape(batch, length, width)
    dg, grads["out_weight"], grads["out_bias"] = _linear_backward(dy, g, p["out_weight"])
    # gelu(u) = u (1 + tanh(c (u + a u^3))) / 2:
    # gelu'(u) = (1 + th) / 2 + u (1 - th^2) c (1 + 3 a u^2) / 2.
    du = dg * (0.5 * (1 + th) + 0.5 * u * (1 - th * th) * GELU_C * (1 + 3 * 0.044715 * u * u))
    dh2, grads["fc_weight"], grads["fc_bias"] = _linear_backward(du, h2, p["fc_weight"])
    dh_ln, grads["ln2_weight"], grads["ln2_bias"] = _layer_norm_backward(
        dh2, p["ln2_weight"], ln2)
    dh = dy + dh_ln                                                   # residual + branch
    d_merged, grads["proj_weight"], grads["proj_bias"] = _linear_backward(
        dh, merged, p["proj_weight"])
    d_attended = d_merged.reshape(batch, length, heads, size).transpose(0, 2, 1, 3)
    # a = P v:  dP = da vᵀ, dv = Pᵀ da;  P = softmax(s): ds = P (dP - rowsum(dP P)).
    d_weights = d_attended @ v.transpose(0, 1, 3, 2)
    dv = weights.transpose(0, 1, 3, 2) @ d_attended
    d_scores = weights * (d_weights - (d_weights * weights).sum(axis=-1, keepdims=True))
    d_scores *= scale
    dq = d_scores @ k                                                 # s = q kᵀ scale
    dk = d_scores.transpose(0, 1, 3, 2) @ q
    d_qkv = np.stack([dq, dk, dv]).transpose(1, 3, 0, 2, 4).reshape(batch, length, 3 * width)
    dh1, grads["qkv_weight"], grads["qkv_bias"] = _linear_backward(d_qkv, h1, p["qkv_weight"])
    dx_ln, grads["ln1_weight"], grads["ln1_bias"] = _layer_norm_backward(
        dh1, p["ln1_weight"], ln1)
    grads["x"] = dh + dx_ln
    return (loss, *(grads[name] for name in GRADIENTS))


# ---------------------------------------------------------------------------
# tapegrad, fused and composed.
# ---------------------------------------------------------------------------

def _composed_layer_norm(x, weight, bias):
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    variance = (centred * centred).mean(axis=-1, keepdims=True)
    return centred / ag.sqrt(variance + EPS) * weight + bias


def _composed_attention(q, k, v, mask):
    scores = (q @ k.transpose(0, 1, 3, 2)) * (1 / math.sqrt(q.shape[-1])) + mask
    return ag.softmax(scores, axis=-1) @ v


def tapegrad_block(x, targets, p, heads, composed=False):
    """The block's mean loss as a tapegrad Tensor (call ``.backward()`` on it)."""
    batch, length, width = x.shape
    if composed:
        mask = np.triu(np.full((length, length), -np.inf, dtype=x.dtype), 1)
        layer_norm = _composed_layer_norm
        attention = lambda q, k, v: _composed_attention(q, k, v, mask)  # noqa: E731
    else:
        layer_norm = lambda t, w, b: F.layer_norm(t, (width,), w, b, EPS)  # noqa: E731
        attention = lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True)  # noqa: E731
    qkv = layer_norm(x, p["ln1_weight"], p["ln1_bias"]) @ p["qkv_weight"] + p["qkv_bias"]
    q, k, v = qkv.reshape(batch, length, 3, heads, width // heads).transpose(2, 0, 3, 1, 4)
    merged = attention(q, k, v).transpose(0, 2, 1, 3).reshape(batch, length, width)
    h = x + merged @ p["proj_weight"] + p["proj_bias"]
    u = layer_norm(h, p["ln2_weight"], p["ln2_bias"]) @ p["fc_weight"] + p["fc_bias"]
    y = h + F.gelu(u, approximate="tanh") @ p["out_weight"] + p["out_bias"]
    logits = y.reshape(batch * length, width) @ p["head_weight"] + p["head_bias"]
    return ag.cross_entropy(logits, targets.reshape(-1))


def tapegrad_step(x_data, targets, params, heads, composed=False):
    """A function of no arguments: one step, returning (loss, *gradients) as arrays."""
    x = ag.tensor(x_data, requires_grad=True)
    tensors = {name: ag.tensor(value, requires_grad=True) for name, value in params.items()}
    leaves = [x, *tensors.values()]

    def step():
        for leaf in leaves:
            leaf.grad = None
        loss = tapegrad_block(x, targets, tensors, heads, composed)
        loss.backward()
        return (loss.data, x.grad, *(tensors[name].grad for name in PARAMETERS))

    return step


def torch_step(torch, x_data, targets, params, heads):
    functional = torch.nn.functional
    x = torch.tensor(x_data, requires_grad=True)
    p = {name: torch.tensor(value, requires_grad=True) for name, value in params.items()}
    flat_targets = torch.tensor(targets.reshape(-1))
    leaves = [x, *p.values()]
    batch, length, width = x_data.shape

    def step():
        for leaf in leaves:
            leaf.grad = None
        qkv = functional.layer_norm(x, (width,), p["ln1_weight"], p["ln1_bias"], EPS)
        qkv = qkv @ p["qkv_weight"] + p["qkv_bias"]
        q, k, v = qkv.reshape(batch, length, 3, heads, width // heads).permute(2, 0, 3, 1, 4)
        attended = functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        h = x + attended.transpose(1, 2).reshape(batch, length, width) @ p["proj_weight"] \
            + p["proj_bias"]
        u = functional.layer_norm(h, (width,), p["ln2_weight"], p["ln2_bias"], EPS)
        u = u @ p["fc_weight"] + p["fc_bias"]
        y = h + functional.gelu(u, approximate="tanh") @ p["out_weight"] + p["out_bias"]
        logits = y.reshape(batch * length, width) @ p["head_weight"] + p["head_bias"]
        loss = functional.cross_entropy(logits, flat_targets)
        loss.backward()
        return (loss.detach().numpy(), *(leaf.grad.numpy() for leaf in leaves))

    return step


def make_variants(case, dtype=np.float32):
    """{name: step} for ``case`` (a dict like ``CASE``), each returning (loss, *gradients)
    in ``GRADIENTS`` order; and notes."""
    x, targets, params = make_data(**case, dtype=dtype)
    heads = case["heads"]
    variants = {
        "tapegrad": tapegrad_step(x, targets, params, heads),
        "NumPy by hand": lambda: numpy_step(x, targets, params, heads),
        "tapegrad composed": tapegrad_step(x, targets, params, heads, composed=True),
        COMPILED: overhead.compile_step(tapegrad_step(x, targets, params, heads)),
    }
    notes = []
    torch = harness.optional_import("torch")
    if torch is not None:
        variants["torch"] = torch_step(torch, x, targets, params, heads)
    else:
        notes.append("torch not installed: its column is skipped")
    return variants, notes


FLOOR = "matmuls alone"


def matmul_floor(batch, length, width, heads, vocabulary, dtype=np.float32, seed=1):
    """A function of no arguments doing the block step's matrix products and nothing else.

    With N = B*T rows, the 2-D products as ``ag.compile``'s program does them (one GEMM
    over all rows; a gradient's transposed operand a ``.T`` view): forward h1 Wqkv,
    merged Wproj, h2 Wfc, g Wout, y Wv; backward, for each of these five x W, dy Wᵀ and
    xᵀ dy. The attention's per-head products over (B, H, T, T/S): q kᵀ and P v forward;
    dA vᵀ, Pᵀ dA, dS k and dSᵀ q backward. Results go into arrays made once (``out=``).
    """
    rng = np.random.default_rng(seed)
    rows, size = batch * length, width // heads

    def array(*shape):
        return rng.standard_normal(shape).astype(dtype)

    layers = [(width, 3 * width), (width, width), (width, 4 * width), (4 * width, width),
              (width, vocabulary)]                       # (in, out) of the five x @ W
    products = []
    for fan_in, fan_out in layers:
        x, weight, dy = array(rows, fan_in), array(fan_in, fan_out), array(rows, fan_out)
        products += [(x, weight), (dy, weight.T), (x.T, dy)]
    heads_shape = (batch, heads, length)
    q, k, v, d_attended = (array(*heads_shape, size) for _ in range(4))
    weights, d_scores = array(*heads_shape, length), array(*heads_shape, length)
    products += [(q, k.transpose(0, 1, 3, 2)), (weights, v),
                 (d_attended, v.transpose(0, 1, 3, 2)), (weights.transpose(0, 1, 3, 2), d_attended),
                 (d_scores, k), (d_scores.transpose(0, 1, 3, 2), q)]
    work = [(a, b, np.empty(a.shape[:-1] + b.shape[-1:], dtype)) for a, b in products]

    def matmuls_alone():
        for a, b, out in work:
            np.matmul(a, b, out=out)

    matmuls_alone.shapes = [(a.shape, b.shape) for a, b in products]
    return matmuls_alone


def check_agreement(variants, rtol=2e-3, atol=2e-5):
    """Every variant's loss and gradients equal NumPy by hand's (float32 round-off)."""
    reference = variants["NumPy by hand"]()
    for name, step in variants.items():
        for label, got, want in zip(("loss", *GRADIENTS), step(), reference):
            np.testing.assert_allclose(np.asarray(got), want, rtol=rtol, atol=atol,
                                       err_msg=f"transformer: {name}'s {label} disagrees "
                                               "with NumPy by hand")


def run(config):
    case = QUICK_CASE if config.quick else CASE
    variants, notes = make_variants(case)
    check_agreement(variants)
    variants[FLOOR] = matmul_floor(**case)
    times = harness.compare_times(variants, config)
    value = harness.paired_ratio(times, "tapegrad", "NumPy by hand")
    ratios = {"tapegrad / NumPy": value,
              "composed / NumPy": harness.paired_ratio(times, "tapegrad composed",
                                                       "NumPy by hand"),
              "compiled / NumPy": harness.paired_ratio(times, COMPILED, "NumPy by hand"),
              "torch / NumPy": harness.paired_ratio(times, "torch", "NumPy by hand"),
              "matmuls alone / NumPy": harness.paired_ratio(times, FLOOR, "NumPy by hand")}
    compiled = ratios["compiled / NumPy"]
    notes.append("GELU is the tanh form in every variant (NumPy has no erf)")
    notes.append(f"{FLOOR}: the step's 21 matrix products and nothing else, the floor under "
                 f"any NumPy step of this block: {FLOOR} / NumPy by hand = "
                 f"{harness.format_ratio(ratios['matmuls alone / NumPy'])}")
    detail = ", ".join(f"{name} {entry['median'] * 1e3:.2f} ms" for name, entry in times.items())
    label = (f"B={case['batch']} T={case['length']} D={case['width']} H={case['heads']} "
             f"V={case['vocabulary']} float32")
    return {
        "suite": NAME,
        "description": "One training step (forward+backward) of a pre-LayerNorm transformer "
                       "block (causal 4-head self-attention, tanh-GELU MLP 4x wide) with a "
                       "256-token output layer and cross-entropy, float32.",
        "columns": list(times),
        "rows": [{"case": label, "times": times,
                  "extra": {name: harness.format_ratio(r) for name, r in ratios.items()}}],
        "extra_columns": list(ratios),
        "targets": [harness.target_row(label, "tapegrad / NumPy by hand (time)", value,
                                       f"<= {TARGET:g}x", harness.check(value, TARGET),
                                       detail),
                    harness.target_row(label, "compiled / NumPy by hand (time)", compiled,
                                       f"<= {COMPILED_TARGET:g}x",
                                       harness.check(compiled, COMPILED_TARGET), detail)],
        "notes": notes,
    }
