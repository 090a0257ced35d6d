"""jax.jit beside NumPy by hand: ``python -m benchmarks.jax_reference`` (needs JAX).

Issue 16 states its compiled targets next to what ``jax.jit`` reached on the machine the
targets were set on (mlp 0.82x, transformer 0.72x of NumPy by hand). This measures
``jax.jit(jax.value_and_grad(loss))`` of the ``mlp`` and ``transformer`` suites' steps
on this machine, with the same data, side by side with their NumPy-by-hand reference
(paired rounds, process CPU time, BLAS and XLA on one thread), after checking that JAX's
loss and gradients equal the reference's (float32 round-off). The transformer row also
times the suite's ``matmuls alone`` floor.

JAX is not a dependency (``pip install jax jaxlib`` in a separate environment does; the
package needs only NumPy); without it this prints how to get it and exits with status 2.
Not a suite of ``python -m benchmarks``: its numbers are a reference, not a target.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from benchmarks import harness, mlp, transformer


def _cross_entropy(jnp, logits, targets):
    shifted = logits - logits.max(axis=1, keepdims=True)
    picked = shifted[jnp.arange(shifted.shape[0]), targets]
    return jnp.mean(jnp.log(jnp.exp(shifted).sum(axis=1)) - picked)


def mlp_step(jax):
    """The ``mlp`` suite's step under jax.jit: a function of no arguments returning
    (loss, grad_w1, grad_b1, grad_w2, grad_b2) as NumPy arrays."""
    jnp = jax.numpy
    params, inputs, labels = mlp._data()

    def loss(ps, x, y):
        w1, b1, w2, b2 = ps
        return _cross_entropy(jnp, jnp.maximum(x @ w1 + b1, 0) @ w2 + b2, y)

    step = jax.jit(jax.value_and_grad(loss))
    ps, x, y = [jnp.asarray(p) for p in params], jnp.asarray(inputs), jnp.asarray(labels)

    def jax_jit():
        value, grads = jax.block_until_ready(step(ps, x, y))
        return (np.asarray(value), *(np.asarray(g) for g in grads))

    return jax_jit


def transformer_step(jax, case):
    """The ``transformer`` suite's block step for ``case`` under jax.jit: a function of no
    arguments returning (loss, *gradients) in ``transformer.GRADIENTS`` order."""
    jnp = jax.numpy
    x, targets, params = transformer.make_data(**case)
    batch, length, width, heads = (case[k] for k in ("batch", "length", "width", "heads"))
    size = width // heads

    def layer_norm(t, weight, bias):
        mean = t.mean(-1, keepdims=True)
        variance = ((t - mean) ** 2).mean(-1, keepdims=True)
        return (t - mean) / jnp.sqrt(variance + transformer.EPS) * weight + bias

    def loss(xx, p, tg):
        qkv = layer_norm(xx, p["ln1_weight"], p["ln1_bias"]) @ p["qkv_weight"] + p["qkv_bias"]
        q, k, v = qkv.reshape(batch, length, 3, heads, size).transpose(2, 0, 3, 1, 4)
        scores = (q @ k.transpose(0, 1, 3, 2)) / np.sqrt(size)
        scores = jnp.where(jnp.tril(jnp.ones((length, length), bool)), scores, -jnp.inf)
        attended = jax.nn.softmax(scores, axis=-1) @ v
        merged = attended.transpose(0, 2, 1, 3).reshape(batch, length, width)
        h = xx + merged @ p["proj_weight"] + p["proj_bias"]
        u = layer_norm(h, p["ln2_weight"], p["ln2_bias"]) @ p["fc_weight"] + p["fc_bias"]
        y = h + jax.nn.gelu(u, approximate=True) @ p["out_weight"] + p["out_bias"]
        logits = y.reshape(batch * length, width) @ p["head_weight"] + p["head_bias"]
        return _cross_entropy(jnp, logits, tg.reshape(-1))

    step = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))
    xx, p, tg = jnp.asarray(x), {k: jnp.asarray(v) for k, v in params.items()}, jnp.asarray(targets)

    def jax_jit():
        value, (grad_x, grads) = jax.block_until_ready(step(xx, p, tg))
        return (np.asarray(value), np.asarray(grad_x),
                *(np.asarray(grads[name]) for name in transformer.PARAMETERS))

    return jax_jit, lambda: transformer.numpy_step(x, targets, params, heads)


def _agree(name, got, want, rtol=2e-3, atol=2e-5):
    for i, (a, b) in enumerate(zip(got, want)):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol,
                                   err_msg=f"jax.jit's {name} output {i} disagrees with NumPy by hand")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.jax_reference")
    parser.add_argument("--quick", action="store_true", help="few samples, the small block")
    args = parser.parse_args(argv)
    # One XLA thread, as BLAS is pinned to one (set before JAX is imported).
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                                       "intra_op_parallelism_threads=1")
    jax = harness.optional_import("jax")
    if jax is None:
        print("python -m benchmarks.jax_reference needs JAX: pip install jax jaxlib "
              "(in a separate environment: it is not a dependency)", file=sys.stderr)
        return 2
    config = harness.Config.for_mode(args.quick)
    machine = harness.machine_info()
    print(f"{machine['date']}; {machine['cpu']}; AVX-512: {machine['avx512']}; Python "
          f"{machine['python']}; NumPy {machine['numpy']}; {machine.get('blas', '')}; "
          f"jax {jax.__version__}; engine at {machine['engine']}")
    with harness.single_threaded() as threads:
        print(f"threads: {threads}; XLA_FLAGS={os.environ['XLA_FLAGS']}")
        reference = mlp.make_variants()[0]["NumPy by hand"]
        jitted = mlp_step(jax)
        _agree("mlp", jitted(), reference())
        case = transformer.QUICK_CASE if args.quick else transformer.CASE
        block, by_hand = transformer_step(jax, case)
        _agree("transformer", block(), by_hand())
        rows = [("mlp step (batch 128, 64->128->10, float32)",
                 {"NumPy by hand": reference, "jax.jit": jitted}),
                (f"transformer step ({', '.join(f'{k}={v}' for k, v in case.items())})",
                 {"NumPy by hand": by_hand, "jax.jit": block,
                  transformer.FLOOR: transformer.matmul_floor(**case)})]
        for label, variants in rows:
            times = harness.compare_times(variants, config)
            parts = [f"{name} {times[name]['median'] * 1e3:.3f} ms" for name in variants]
            ratios = [f"{name} / NumPy by hand = "
                      f"{harness.format_ratio(harness.paired_ratio(times, name, 'NumPy by hand'))}"
                      for name in list(variants)[1:]]
            print(f"{label}: " + ", ".join(parts) + "; " + ", ".join(ratios))
    return 0


if __name__ == "__main__":
    sys.exit(main())
