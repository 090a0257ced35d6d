"""Benchmarks for tapegrad: ``python -m benchmarks [--quick] [--suite NAME]``.

Suites (one module each): overhead, scalar, mlp, depth, softmax_ce. Each module
has ``run(config) -> dict`` returning its measurements and its target rows; the
shared timing/memory rules are in ``harness``, the tables in ``report``, the
figures in ``plots``.
"""
