"""`drctl policy`: the CrossGuard rules over the offline plan of every stack × posture × failover."""
from __future__ import annotations

import json
import sys
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    app.command(name="policy")(policy)


def policy(
    stack: Annotated[list[str] | None, typer.Argument(help="Stacks to check (default: every shipped stack, "
                                                                 "primary dr stage-primary stage-dr).")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="KEY=VALUE override for every variant, and for "
                                                   "the primary plan a dr variant reads.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Check the DR policies on every posture and failover state; exit 1 on any violation."""
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    from ops.drctl.planning.policy_check import check_variants
    from ops.drctl.terminal import stdout_console
    from policy.rules import RULES
    from stacks.settings import ConfigError

    try:
        results = check_variants(tuple(stack) if stack else None, list(set_ or []))
    except ConfigError as exc:
        print(exc.report(), file=sys.stderr)
        raise typer.Exit(2) from None
    found = [v for result in results for v in result.violations]
    if as_json:
        print(json.dumps({"variants": len(results), "violations": [vars(v) for v in found],
                          "results": [r.to_json() for r in results]}, indent=2))
        raise typer.Exit(1 if found else 0)
    console = stdout_console()
    for result in results:  # which rules ran where: a rule that matched nothing proves nothing
        console.print(f"{result.stack} {result.variant}: {len(result.violations)} violations, "
                      f"{len(result.rules)} rules ran")
        console.print(Padding(Text(", ".join(f"{name} ({count})" for name, count in result.rules.items())),
                              (0, 0, 0, 2), expand=False))
    summary = Table(title="rules over all variants", title_justify="left")
    for column in ("rule", "variants", "resources checked", "violations"):
        summary.add_column(column)
    for rule in RULES:
        counts = [r.rules[rule.name] for r in results if rule.name in r.rules]
        summary.add_row(rule.name, f"{len(counts)}/{len(results)}", str(sum(counts)),
                        str(sum(v.rule == rule.name for v in found)))
    console.print(summary)
    if found:
        table = Table(title=f"{len(found)} policy violations")
        for column in ("stack", "variant", "rule", "resource", "message"):
            table.add_column(column)
        for v in found:
            table.add_row(v.stack, v.variant, v.rule, v.urn.split("::")[-1], v.message)
        console.print(table)
    console.print(f"{len(results)} stack variants checked, {len(found)} violations")
    raise typer.Exit(1 if found else 0)
