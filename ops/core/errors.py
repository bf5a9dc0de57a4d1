"""The one exception that means "exit 2, nothing changed"."""
from __future__ import annotations


class BadInput(ValueError):
    """Input that cannot be acted on; the message names the offending option, key or value. Whoever raises it has
    changed nothing, and every drctl command turns it into exit 2 (the runbook engine, consistency, stripe-replay
    and the commands' own checks alike)."""
