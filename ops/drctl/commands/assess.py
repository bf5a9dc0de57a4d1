"""`drctl assess`: the DR matrix over every posture and failover state of the dr stacks; exit 1 on a breach."""
from __future__ import annotations

import sys
from typing import Annotated

import typer

EXIT_BREACH = 1
EXIT_INVALID_CONFIG = 2


def register(app: typer.Typer) -> None:
    app.command(name="assess")(assess)


def assess(
    stack: Annotated[list[str] | None, typer.Option("--stack", help="A dr stack to assess (repeatable; default: "
                                                    "every dr stack file in the project).")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="KEY=VALUE config override, e.g. "
                                                   "objectives.critical.rpoMinutes=1. Repeatable.")] = None,
) -> None:
    """Estimated RTO and RPO of every stack × posture × failover state against the DR matrix: each breach names
    the store or step, the tier and the numbers (exit 1); what CI gates on (tests/planning_gate)."""
    from ops.core.posture import Posture
    from ops.drctl.planning.assess import matrix_breaches, shipped_dr_stacks
    from stacks.settings import ConfigError

    try:
        stacks = list(stack or shipped_dr_stacks())
        breaches = matrix_breaches(stacks, list(set_ or []))
    except ConfigError as exc:
        print(f"invalid config: {exc}", file=sys.stderr)
        raise typer.Exit(EXIT_INVALID_CONFIG) from None
    scope = f"stack {', '.join(stacks)}, {len(Posture)} postures × failover false/true"
    if breaches:
        print(f"DR matrix NOT met ({scope}): {len(breaches)} breaches")
        for line in breaches:
            print(f"  {line}")
        raise typer.Exit(EXIT_BREACH)
    print(f"DR matrix met: {scope}. `drctl posture` shows the arithmetic.")
