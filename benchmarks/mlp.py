"""mlp: one training step (forward + backward) of a small classifier.

64 -> 128 -> 10 with ReLU and softmax cross-entropy, batch 128, float32. Against
NumPy by hand (forward, then the manual backward starting from ``p - y``) and
PyTorch eager if installed. No optimizer update: only the gradients. ``matmuls alone``
(not a step) does the step's five matrix products and nothing else, into arrays made
once: the floor under any NumPy version of the step.
Targets: tapegrad <= 1.3x NumPy by hand; tapegrad compiled (``ag.compile``) <= 0.8x.
"""

from __future__ import annotations

import numpy as np

import autograd as ag
from benchmarks import harness, overhead

NAME = "mlp"
TARGET = 1.3
COMPILED = overhead.COMPILED
COMPILED_TARGET = 0.8  # issue 16 (jax.jit: 0.82x)
BLAS_SUMS = "NumPy by hand, BLAS bias sums"
FLOOR = "matmuls alone"
BATCH, SIZES = 128, (64, 128, 10)


def _data(dtype=np.float32):
    rng = np.random.default_rng(0)
    n_in, n_hidden, n_out = SIZES
    bound1, bound2 = 1 / np.sqrt(n_in), 1 / np.sqrt(n_hidden)
    params = [rng.uniform(-bound1, bound1, (n_in, n_hidden)), rng.uniform(-bound1, bound1, n_hidden),
              rng.uniform(-bound2, bound2, (n_hidden, n_out)), rng.uniform(-bound2, bound2, n_out)]
    inputs = rng.standard_normal((BATCH, n_in))
    labels = rng.integers(0, n_out, BATCH)
    return [p.astype(dtype) for p in params], inputs.astype(dtype), labels


def make_variants():
    params, inputs, labels = _data()
    w1, b1, w2, b2 = params
    rows = np.arange(BATCH)

    ones = np.ones(BATCH, np.float32)

    def by_hand(column_sums):
        def numpy_by_hand():
            hidden = inputs @ w1 + b1
            active = np.maximum(hidden, 0)
            logits = active @ w2 + b2
            shifted = logits - logits.max(axis=1, keepdims=True)
            exps = np.exp(shifted)
            sums = exps.sum(axis=1, keepdims=True)
            loss = (np.log(sums[:, 0]) - shifted[rows, labels]).mean()
            grad_logits = exps / sums                 # p
            grad_logits[rows, labels] -= 1            # p - y
            grad_logits /= BATCH                      # mean over the batch
            grad_w2 = active.T @ grad_logits
            grad_b2 = column_sums(grad_logits)
            grad_hidden = (grad_logits @ w2.T) * (hidden > 0)
            grad_w1 = inputs.T @ grad_hidden
            grad_b1 = column_sums(grad_hidden)
            return loss, grad_w1, grad_b1, grad_w2, grad_b2

        return numpy_by_hand

    # The reference sums bias gradients as written by hand; the second one as tapegrad
    # does (ones @ g, through BLAS), to show how much of the ratio that choice is worth.
    variants = {"NumPy by hand": by_hand(lambda g: g.sum(axis=0)),
                BLAS_SUMS: by_hand(lambda g: ones @ g)}

    tensors = [ag.tensor(p, requires_grad=True) for p in params]
    x = ag.tensor(inputs)

    def tapegrad():
        for t in tensors:
            t.grad = None
        tw1, tb1, tw2, tb2 = tensors
        loss = ag.cross_entropy((x @ tw1 + tb1).relu() @ tw2 + tb2, labels)
        loss.backward()
        return (loss.data, *(t.grad for t in tensors))

    notes = []
    try:
        tapegrad()
        variants = {"tapegrad": tapegrad, COMPILED: overhead.compile_step(tapegrad), **variants}
    except NotImplementedError:
        notes.append("ag.cross_entropy is not implemented yet: tapegrad column skipped")

    torch = harness.optional_import("torch")
    if torch is not None:
        torch_params = [torch.tensor(p, requires_grad=True) for p in params]
        torch_x, torch_labels = torch.tensor(inputs), torch.tensor(labels)
        functional = torch.nn.functional

        def torch_eager():
            for p in torch_params:
                p.grad = None
            tw1, tb1, tw2, tb2 = torch_params
            logits = functional.relu(torch_x @ tw1 + tb1) @ tw2 + tb2
            loss = functional.cross_entropy(logits, torch_labels)
            loss.backward()
            return (loss.detach(), *(p.grad for p in torch_params))

        variants["torch"] = torch_eager
    else:
        notes.append("torch not installed: its column is skipped")
    return variants, notes


def matmul_floor(dtype=np.float32, seed=1):
    """A function of no arguments doing the step's five matrix products and nothing else,
    in the layouts the compiled program uses: x W1 and h W2 forward; g W2ᵀ, hᵀ g and
    xᵀ dh backward (transposed operands as ``.T`` views), into arrays made once."""
    rng = np.random.default_rng(seed)
    n_in, n_hidden, n_out = SIZES
    x, w1, w2 = (rng.standard_normal(s).astype(dtype)
                 for s in ((BATCH, n_in), (n_in, n_hidden), (n_hidden, n_out)))
    h, g, dh = (rng.standard_normal(s).astype(dtype)
                for s in ((BATCH, n_hidden), (BATCH, n_out), (BATCH, n_hidden)))
    products = [(x, w1), (h, w2), (g, w2.T), (h.T, g), (x.T, dh)]
    work = [(a, b, np.empty((a.shape[0], b.shape[1]), dtype)) for a, b in products]

    def matmuls_alone():
        for a, b, out in work:
            np.matmul(a, b, out=out)

    matmuls_alone.shapes = [(a.shape, b.shape) for a, b in products]
    return matmuls_alone


def run(config):
    variants, notes = make_variants()
    reference = variants["NumPy by hand"]()
    for name, function in variants.items():
        for got, want in zip(function(), reference):
            np.testing.assert_allclose(np.asarray(got), want, rtol=2e-4, atol=1e-6,
                                       err_msg=f"mlp: {name} disagrees with NumPy by hand")
    variants[FLOOR] = matmul_floor()
    times = harness.compare_times(variants, config)
    value = harness.paired_ratio(times, "tapegrad", "NumPy by hand")
    compiled = harness.paired_ratio(times, COMPILED, "NumPy by hand")
    if BLAS_SUMS in times:
        notes.append(f"tapegrad / {BLAS_SUMS} = "
                     f"{harness.paired_ratio(times, 'tapegrad', BLAS_SUMS):.2f}x (not the target's "
                     "reference: it sums bias gradients with ones @ g, as tapegrad does)")
    if "torch" in times:
        torch_ratio = harness.paired_ratio(times, "torch", "NumPy by hand")
        notes.append(f"torch / NumPy by hand = {torch_ratio:.2f}x")
    floor = harness.paired_ratio(times, FLOOR, "NumPy by hand")
    notes.append(f"{FLOOR}: the step's 5 matrix products and nothing else, the floor under any "
                 f"NumPy step: {FLOOR} / NumPy by hand = {harness.format_ratio(floor)}")
    detail = ", ".join(f"{name} {entry['median'] * 1e6:.0f} µs" for name, entry in times.items())
    case = f"batch {BATCH}, {'->'.join(map(str, SIZES))}, float32"
    return {
        "suite": NAME,
        "description": "One training step (forward+backward) of a 64->128->10 ReLU MLP with "
                       "cross-entropy, batch 128, float32.",
        "columns": list(times),
        "rows": [{"case": case, "times": times,
                  "extra": {"tapegrad / NumPy": harness.format_ratio(value),
                            "compiled / NumPy": harness.format_ratio(compiled),
                            "matmuls alone / NumPy": harness.format_ratio(floor)}}],
        "extra_columns": ["tapegrad / NumPy", "compiled / NumPy", "matmuls alone / NumPy"],
        "targets": [harness.target_row(case, "tapegrad / NumPy by hand (time)", value,
                                       f"<= {TARGET:g}x", harness.check(value, TARGET), detail),
                    harness.target_row(case, "compiled / NumPy by hand (time)", compiled,
                                       f"<= {COMPILED_TARGET:g}x",
                                       harness.check(compiled, COMPILED_TARGET), detail)],
        "notes": notes,
    }
