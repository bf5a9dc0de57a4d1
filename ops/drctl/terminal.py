"""The rich console every command prints its tables with."""
from __future__ import annotations

import sys

from rich.console import Console


def stdout_console() -> Console:
    # emoji=False: AWS data is printed verbatim, and rich would turn an ARN's ":secret:" into an emoji.
    # A fixed width off a terminal keeps piped and logged tables from wrapping at 80 columns.
    return Console(width=None if sys.stdout.isatty() else 160, emoji=False)
