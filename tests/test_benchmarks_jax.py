"""benchmarks.jax_reference: jax.jit beside NumPy by hand (JAX optional, never required)."""

from __future__ import annotations

import pytest

from benchmarks import harness, jax_reference, transformer


def test_without_jax_it_says_how_to_get_it_and_exits_2(monkeypatch, capsys):
    real = harness.optional_import
    monkeypatch.setattr(harness, "optional_import",
                        lambda name: None if name == "jax" else real(name))
    assert jax_reference.main([]) == 2
    assert "pip install jax jaxlib" in capsys.readouterr().err


def test_jitted_steps_equal_numpy_by_hand():
    jax = pytest.importorskip("jax")
    from benchmarks import mlp
    jax_reference._agree("mlp", jax_reference.mlp_step(jax)(),
                         mlp.make_variants()[0]["NumPy by hand"]())
    block, by_hand = jax_reference.transformer_step(jax, transformer.QUICK_CASE)
    jax_reference._agree("transformer", block(), by_hand())
