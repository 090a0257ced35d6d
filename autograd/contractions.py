"""Contractions: dot, tensordot, einsum, outer, kron, cross  (see primitives.py for how a block is written)."""

from __future__ import annotations
