"""Optimizers (issue 5)."""
