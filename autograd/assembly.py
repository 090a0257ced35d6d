"""Shape and assembly primitives: flip, roll, pad, tile, split, diag, tril...  (see primitives.py for how a block is written)."""

from __future__ import annotations
