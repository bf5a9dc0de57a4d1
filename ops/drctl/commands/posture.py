"""`drctl posture`: what each posture costs beside the RTO/RPO it buys, from the plan, arithmetic shown."""
from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    app.command(name="posture")(posture)


def posture(
    stack: Annotated[str, typer.Option(help="The dr stack to assess.")] = "dr",
    set_: Annotated[list[str] | None, typer.Option("--set", help="KEY=VALUE config override.")] = None,
    instance_hour_usd: Annotated[float, typer.Option(help="Price of one Aurora instance-hour.")] = 0.26,
    reindex_docs_per_second: Annotated[float, typer.Option(help="RB-N-04's rate in B (a drill's measured docs/s).",
                                                           min=1)] = 5000.0,
    node_hour_usd: Annotated[float, typer.Option(help="Price of one EKS worker node-hour.")] = 0.096,
    declare_minutes: Annotated[float, typer.Option(help="Time to declare a regional disaster.")] = 10.0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Cost of region B per posture next to the RTO/RPO it buys against the DR matrix."""
    from ops.drctl.terminal import stdout_console
    from rich.table import Table

    from ops.drctl.planning.assess import Assumptions, assess
    from ops.drctl.planning.costs import HOURS_PER_MONTH, NOT_COUNTED
    from stacks.settings import ConfigError

    try:
        settings, rows = assess(stack, list(set_ or []), Assumptions(instance_hour_usd=instance_hour_usd,
                                                                     node_hour_usd=node_hour_usd,
                                                                     declare_minutes=declare_minutes,
                                                                     reindex_docs_per_second=reindex_docs_per_second))
    except ConfigError as exc:
        print(f"invalid config: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
    if as_json:
        print(json.dumps([{**asdict(r), "rto_minutes": r.rto_minutes, "rto_minutes_by_tier": r.rto_minutes_by_tier,
                           "usd_month": r.usd_month} for r in rows], indent=2))
        return
    console = stdout_console()
    o = settings.objectives
    table = Table(title=f"Region B by posture — objectives: critical RTO {o.critical.rto_minutes} min / RPO "
                        f"{o.critical.rpo_minutes} min, standard RTO {o.standard.rto_minutes} min / RPO "
                        f"{o.standard.rpo_minutes} min")
    for column in ("posture", "Aurora instances in B", "EKS nodes in B", "compute USD/month",
                   "standing USD/month", "USD/month", "RTO critical", "RTO standard", "RPO critical", "RPO standard",
                   "critical",
                   "standard"):
        table.add_column(column, no_wrap=column == "posture")
    for r in rows:
        table.add_row(r.posture, str(r.instances_b), str(r.nodes_b), f"{r.compute_usd_month:,.0f}",
                      f"{r.standing_usd_month:,.0f}", f"{r.usd_month:,.0f}",
                      f"{r.rto_minutes:g} min", f"{r.rto_minutes_by_tier['standard']:g} min",
                      f"{r.rpo_minutes['critical']:g} min", f"{r.rpo_minutes['standard']:g} min",
                      "met" if r.meets["critical"] else "[red]NOT met[/red]",
                      "met" if r.meets["standard"] else "[red]NOT met[/red]")
    console.print(table)
    for r in rows:
        steps = " + ".join(f"{s.minutes:g} {s.name}" for s in r.rto_steps)
        console.print(f"[bold]{r.posture}[/bold]: RTO critical = {steps} = {r.rto_minutes:g} min")
        for s in r.rto_steps:
            console.print(f"    {s.name}: {s.why}")
        extra = " + ".join(f"{s.minutes:g} {s.name}" for s in r.standard_rto_steps)
        if extra:
            console.print(f"  RTO standard = {r.rto_minutes:g} + {extra} = {r.rto_minutes_by_tier['standard']:g} min")
            for s in r.standard_rto_steps:
                console.print(f"    {s.name}: {s.why}")
        for tier in ("critical", "standard"):
            console.print(f"    RPO {tier}: {r.rpo_why[tier]}")
        standing = ", ".join(f"{line.item} {line.quantity:g} {line.unit} ${line.usd_month:,.2f}"
                             for line in r.standing)
        console.print(f"    standing in B: {standing}")
    console.print("compute: Aurora instance-hours (--instance-hour-usd) and EKS node-hours (--node-hour-usd) in B, "
                  f"{HOURS_PER_MONTH} h/month. standing: what else B bills per hour or month, counted from the plans "
                  "at list prices (ops/drctl/planning/costs.py). Not counted, they scale with data alike in every "
                  f"posture: {NOT_COUNTED}.")
