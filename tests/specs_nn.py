"""Rows of the primitives table (tests/specs.py) for the fused nn primitives (conv2d, max_pool2d, layer_norm, ...).

They import ``Spec`` and the argument strategies from specs.py, which appends
``ROWS`` to ``PRIMITIVES``; a row's name is the primitive's registry key.
"""

from __future__ import annotations

ROWS: list = []
