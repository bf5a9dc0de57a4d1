"""What drctl shows on the terminal: the rich console its tables print to, and its help layout."""
from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from typer.core import TyperGroup

# Help wraps at the terminal's width (click takes min(terminal, this) - 2), not at click's default 80.
HELP_SETTINGS: dict[str, Any] = {"max_content_width": 10_000}


def stdout_console() -> Console:
    # emoji=False: AWS data is printed verbatim, and rich would turn an ARN's ":secret:" into an emoji.
    # A fixed width off a terminal keeps piped and logged tables from wrapping at 80 columns.
    return Console(width=None if sys.stdout.isatty() else 160, emoji=False)


class HelpGroup(TyperGroup):
    """Plain click help (the app sets rich_markup_mode=None): rich's option tables cut long words with an ellipsis
    at 80 columns. The command list shows each command's whole first sentence, wrapped, where click would cut it
    to one line."""

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = [(name, command.get_short_help_str(limit=10**6)) for name in self.list_commands(ctx)
                if (command := self.get_command(ctx, name)) is not None and not command.hidden]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
