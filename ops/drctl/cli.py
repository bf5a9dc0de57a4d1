"""`drctl`: the operations toolkit. Each module in ops/drctl/commands/ adds its commands via `register(app)`.

Command modules import their heavy dependencies (pulumi, boto3, psycopg) inside the command functions so that
`drctl --help` and every command start fast.
"""
from __future__ import annotations

import importlib
import pkgutil

import typer

import ops.drctl.commands
from ops.drctl.cli_input import DrctlGroup
from ops.drctl.terminal import HELP_SETTINGS

app = typer.Typer(
    name="drctl",
    help="dr-platform operations: offline plan, runbooks RB-N-01..08, data-plane checks, drills.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=DrctlGroup,
    rich_markup_mode=None,
    context_settings=HELP_SETTINGS,
)


@app.callback()
def _group() -> None:
    """dr-platform operations: offline plan, runbooks RB-N-01..08, data-plane checks, drills."""


for _module in sorted(pkgutil.iter_modules(ops.drctl.commands.__path__), key=lambda m: m.name):
    importlib.import_module(f"ops.drctl.commands.{_module.name}").register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
