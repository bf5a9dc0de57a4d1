"""Stacks: settings, and the two programs (primary in region A, dr in region B)."""
