"""`drctl policy`: the CrossGuard rules over the offline plan of every stack × posture × failover."""
from __future__ import annotations

import json
import sys
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    app.command(name="policy")(policy)


def policy(
    stack: Annotated[list[str] | None, typer.Argument(help="Stacks to check (default: primary dr).")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="KEY=VALUE override for every variant.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Check the DR policies on every posture and failover state; exit 1 on any violation."""
    from ops.drctl.terminal import stdout_console
    from rich.table import Table

    from ops.drctl.planning.policy_check import check_all
    from stacks.settings import ConfigError

    try:
        checked, found = check_all(tuple(stack or ("primary", "dr")), list(set_ or []))
    except ConfigError as exc:
        print(f"invalid config: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
    if as_json:
        print(json.dumps({"variants": checked, "violations": [vars(v) for v in found]}, indent=2))
    else:
        console = stdout_console()
        if found:
            table = Table(title=f"{len(found)} policy violations")
            for column in ("stack", "variant", "rule", "resource", "message"):
                table.add_column(column)
            for v in found:
                table.add_row(v.stack, v.variant, v.rule, v.urn.split("::")[-1], v.message)
            console.print(table)
        console.print(f"{checked} stack variants checked, {len(found)} violations")
    raise typer.Exit(1 if found else 0)
