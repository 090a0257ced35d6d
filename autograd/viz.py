"""The tape made visible (issue 7)."""
