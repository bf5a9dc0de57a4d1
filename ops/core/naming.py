"""Names both the Pulumi program and the toolkit spell: one definition each."""
from __future__ import annotations


def bucket_name(base: str, region: str) -> str:
    return f"{base}-{region}"
