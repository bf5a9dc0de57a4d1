"""`drctl posture`: what each posture costs beside the RTO/RPO it buys, from the plan, arithmetic shown;
`drctl posture set NAME`: the flip written into the stack file, with its plan diff, step order and deltas."""
from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from ops.drctl.terminal import HELP_SETTINGS, HelpGroup

EXIT_BREACH = 1  # `--check`: the DR matrix is not met
EXIT_REFUSED = 2  # bad input, or a flip that would break the matrix: nothing written

posture_app = typer.Typer(help="Cost of region B per posture next to the RTO/RPO it buys; `set` flips it.",
                          cls=HelpGroup, rich_markup_mode=None, context_settings=HELP_SETTINGS,
                          invoke_without_command=True)

Stack = Annotated[str, typer.Option(help="The dr stack (reads Pulumi.<stack>.yaml).")]
InstanceHourUsd = Annotated[float, typer.Option(help="Price of one Aurora instance-hour.")]
NodeHourUsd = Annotated[float, typer.Option(help="Price of one EKS worker node-hour.")]


def register(app: typer.Typer) -> None:
    app.add_typer(posture_app, name="posture")


@posture_app.callback()
def posture(
    ctx: typer.Context,
    stack: Stack = "dr",
    set_: Annotated[list[str] | None, typer.Option("--set", help="KEY=VALUE config override.")] = None,
    instance_hour_usd: InstanceHourUsd = 0.26,
    reindex_docs_per_second: Annotated[float, typer.Option(help="RB-N-04's rate in B (a drill's measured docs/s).",
                                                           min=1)] = 5000.0,
    node_hour_usd: NodeHourUsd = 0.096,
    declare_minutes: Annotated[float, typer.Option(help="Time to declare a regional disaster where no ARC plan "
                                                   "trigger does (failing back into A).")] = 10.0,
    approval_minutes: Annotated[float, typer.Option(help="Time until the ARC plan's failover is approved after the "
                                                    "page (a drill's measured figure).", min=0)] = 5.0,
    trigger_minutes: Annotated[float, typer.Option(help="Time from the detection alarm to the ARC plan's execution "
                                                   "starting.", min=0)] = 1.0,
    services_wait_for_cache: Annotated[bool, typer.Option(
        "--services-wait-for-cache", help="Count the cache's promotion or cold start in the RTO: for services that "
        "cannot serve without it (the contract is that they can: a miss reads Aurora).")] = False,
    check: Annotated[bool, typer.Option("--check", help="Exit 1 when a posture breaks the DR matrix "
                                        "(each breach named).")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Cost of region B per posture next to the RTO/RPO it buys against the DR matrix."""
    if ctx.invoked_subcommand is not None:
        return
    from ops.drctl.terminal import stdout_console

    from ops.drctl.planning.assess import Assumptions, assess
    from stacks.settings import ConfigError

    try:
        settings, rows = assess(stack, list(set_ or []), Assumptions(instance_hour_usd=instance_hour_usd,
                                                                     node_hour_usd=node_hour_usd,
                                                                     declare_minutes=declare_minutes,
                                                                     approval_minutes=approval_minutes,
                                                                     trigger_minutes=trigger_minutes,
                                                                     services_wait_for_cache=services_wait_for_cache,
                                                                     reindex_docs_per_second=reindex_docs_per_second))
    except ConfigError as exc:
        print(f"invalid config: {exc}", file=sys.stderr)
        raise typer.Exit(EXIT_REFUSED) from None
    if as_json:
        print(json.dumps([_row_json(r) for r in rows], indent=2))
    else:
        print_table(stdout_console(), settings, rows)
    breaches = [line for r in rows for line in r.breaches]
    if check and breaches:
        print("DR matrix NOT met:\n" + "\n".join(f"  {line}" for line in breaches), file=sys.stderr)
        raise typer.Exit(EXIT_BREACH)


def _row_json(r: Any) -> dict[str, Any]:
    return {**asdict(r), "rto_minutes": r.rto_minutes, "rto_minutes_by_tier": r.rto_minutes_by_tier,
            "usd_month": r.usd_month}


def print_table(console: Any, settings: Any, rows: list[Any]) -> None:
    from rich.table import Table

    from ops.drctl.planning.costs import HOURS_PER_MONTH, NOT_COUNTED

    o = settings.objectives
    table = Table(title=f"Region B by posture — objectives: critical RTO {o.critical.rto_minutes} min / RPO "
                        f"{o.critical.rpo_minutes} min, standard RTO {o.standard.rto_minutes} min / RPO "
                        f"{o.standard.rpo_minutes} min")
    for column in ("posture", "Aurora instances in B", "EKS nodes in B", "compute USD/month",
                   "standing USD/month", "USD/month", "RTO critical", "RTO standard", "RPO critical", "RPO standard",
                   "critical",
                   "standard"):
        table.add_column(column, no_wrap=column == "posture" or column.startswith("RPO"))
    for r in rows:
        table.add_row(r.posture, str(r.instances_b), str(r.nodes_b), f"{r.compute_usd_month:,.0f}",
                      f"{r.standing_usd_month:,.0f}", f"{r.usd_month:,.0f}",
                      f"{r.rto_minutes:g} min", f"{r.rto_minutes_by_tier['standard']:g} min",
                      _rpo_cell(r, "critical"), _rpo_cell(r, "standard"),
                      "met" if r.meets["critical"] else "[red]NOT met[/red]",
                      "met" if r.meets["standard"] else "[red]NOT met[/red]")
    console.print(table)
    console.print("RPO: the guaranteed bound (an AWS SLA, e.g. S3 RTC) where the store has one, else the expected "
                  "figure; (~expected) beside it. The verdict compares the first.")
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
            console.print(f"    RPO {tier}: worst {r.rpo_why[tier]}")
        for line in r.breaches:
            console.print(f"    [red]breach[/red]: {line}", highlight=False)
        standing = ", ".join(f"{line.item} {line.quantity:g} {line.unit} ${line.usd_month:,.2f}"
                             for line in r.standing)
        console.print(f"    standing in B: {standing}")
    if rows:
        console.print("RPO terms (every posture alike):")
        for t in rows[0].rpo_terms:
            console.print(f"    {t.store} ({t.tier}): {t.figures} — {t.source}", highlight=False, soft_wrap=True)
    console.print("compute: Aurora instance-hours (--instance-hour-usd) and EKS node-hours (--node-hour-usd) in B, "
                  f"{HOURS_PER_MONTH} h/month. standing: what else B bills per hour or month, counted from the plans "
                  "at list prices (ops/drctl/planning/costs.py). Not counted, they scale with data alike in every "
                  f"posture: {NOT_COUNTED}.")


def _minutes(value: float) -> str:
    return f"{value * 60:g} s" if 0 < value < 1 else f"{value:g} min"


def _rpo_cell(r: Any, tier: str) -> str:
    """The tier's worst bound and, after `~`, its worst expected figure (from the terms: no rounding shown)."""
    terms = [t for t in r.rpo_terms if t.tier == tier]
    bound = max((t.bound_minutes for t in terms), default=0.0)
    expected = max((t.expected_minutes for t in terms), default=0.0)
    return f"{_minutes(bound)} (~{_minutes(expected)})"


def _refuse_while_failed_over(file_name: str, stack: str, current: str, removed: list) -> None:
    """Failed over, B serves from what the posture's failover row gave it (pilot light: a cold cache of its own;
    warm standby: its promoted Global Datastore member). Another posture's row would rebuild that under the traffic,
    and join a datastore whose primary region is down: the posture changes in the steady state only."""
    deleted = [f"{r.type.rsplit(':', 1)[-1]} {r.name}" for r in removed]
    print(f"refused: {file_name} says failover: true, so region B is serving from what {current}'s failover row "
          f"gave it; fail back first (failover: false, then pulumi up --stack {stack}), then change the posture"
          + (f". This switch would delete {', '.join(deleted)}" if deleted else "") + f". {file_name} untouched.",
          file=sys.stderr)
    raise typer.Exit(EXIT_REFUSED)


@posture_app.command("set")
def set_posture(
    name: Annotated[str, typer.Argument(help="The posture: pilot-light, warm-standby or active-active.")],
    stack: Stack = "dr",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the flip; write nothing.")] = False,
    accept_breach: Annotated[bool, typer.Option("--accept-breach", help="Write it although its estimate breaks "
                                                "the DR matrix (said so in the output).")] = False,
    instance_hour_usd: InstanceHourUsd = 0.26,
    node_hour_usd: NodeHourUsd = 0.096,
    project_dir: Annotated[Path | None, typer.Option(help="Where Pulumi.<stack>.yaml is (default: the "
                                                     "project).", file_okay=False, exists=True)] = None,
) -> None:
    """Write the posture flip into Pulumi.<stack>.yaml (one line; every other byte kept) and show its plan diff,
    step order, monthly cost delta and RTO/RPO delta, then the `pulumi up` to run. Exit 2, writing nothing, for an
    unknown posture, one whose estimate breaks the DR matrix (unless --accept-breach), or a stack that is failed
    over (fail back first)."""
    from ops.core.posture import Posture
    from ops.drctl.planning.assess import Assumptions, assess_posture
    from ops.drctl.planning.diff import diff_plans
    from ops.drctl.planning.mockplan import plan_stack
    from ops.drctl.planning.render import render_diff, render_steps
    from ops.drctl.planning.steps import step_order
    from ops.drctl.terminal import stdout_console
    from stacks.config_files import set_stack_config, stack_file_values, stack_values
    from stacks.settings import PROJECT_DIR, ConfigError, Role, parse

    known = [p.value for p in Posture]
    if name not in known:
        print(f"unknown posture {name!r}: one of {', '.join(known)}; nothing written", file=sys.stderr)
        raise typer.Exit(EXIT_REFUSED)
    directory = project_dir or PROJECT_DIR
    path = directory / f"Pulumi.{stack}.yaml"
    console = stdout_console()
    assumptions = Assumptions(instance_hour_usd=instance_hour_usd, node_hour_usd=node_hour_usd)
    try:
        values = stack_file_values(stack, directory)  # what the file holds now: the plans follow it
        settings = parse(stack_values(stack, values))
        if settings.role is not Role.DR:
            raise ConfigError("stack", f"{path.name} is a {settings.role} stack: only a dr stack has a posture")
        current = settings.posture.value
        if current == name:
            console.print(f"{path.name}: posture is already {name}; nothing to change")
            return
        primary_plan = plan_stack(settings.primary_stack.rsplit("/", 1)[-1])
        before = plan_stack(stack, values)
        after = plan_stack(stack, {**values, "posture": name})
        if settings.failover:
            _refuse_while_failed_over(path.name, stack, current, diff_plans(before, after).removed)
        # The matrix must hold in the new posture both as it stands and once failed over.
        other_state = plan_stack(stack, {**values, "posture": name, "failover": not settings.failover})
    except ConfigError as exc:
        print(f"invalid config: {exc}; nothing written", file=sys.stderr)
        raise typer.Exit(EXIT_REFUSED) from None
    old = assess_posture(current, settings, before, primary_plan, assumptions, stack)
    new = assess_posture(name, settings, after, primary_plan, assumptions, stack)
    flipped = assess_posture(name, settings, other_state, primary_plan, assumptions, stack)
    changes = diff_plans(before, after)
    flip = [f"posture={name}"]

    console.print(f"[bold]{path.name}[/bold]: posture {current} → {name} (failover "
                  f"{str(settings.failover).lower()})", highlight=False)
    render_diff(console, stack, flip, changes)
    render_steps(console, stack, flip, step_order(before, after, changes))
    delta = round(new.usd_month - old.usd_month, 2)
    console.print(f"monthly cost in B: ${old.usd_month:,.2f} → ${new.usd_month:,.2f} ({delta:+,.2f} USD/month; "
                  f"compute {new.compute_usd_month - old.compute_usd_month:+,.2f}, standing "
                  f"{new.standing_usd_month - old.standing_usd_month:+,.2f})", highlight=False)
    for tier in ("critical", "standard"):
        objective = new.objectives[tier]
        rto_old, rto_new = old.rto_minutes_by_tier[tier], new.rto_minutes_by_tier[tier]
        console.print(f"{tier}: RTO {rto_old:g} → {rto_new:g} min ({rto_new - rto_old:+g}; objective "
                      f"{objective['rto_minutes']:g}), RPO {_rpo_cell(old, tier)} → {_rpo_cell(new, tier)} "
                      f"(objective {objective['rpo_minutes']:g} min)", highlight=False)
    breaches = [*new.breaches, *flipped.breaches]
    for line in breaches:
        console.print(f"[red]breach[/red]: {line}", highlight=False)
    if breaches and not accept_breach:
        console.print(f"refused: {name} breaks the DR matrix (above); {path.name} untouched. "
                      "--accept-breach writes it anyway.", highlight=False)
        raise typer.Exit(EXIT_REFUSED)
    if breaches:
        console.print(f"[bold red]breach accepted (--accept-breach)[/bold red]: {name} does not meet the DR matrix",
                      highlight=False)
    if dry_run:
        console.print(f"dry run: {path.name} unchanged. Without --dry-run this writes "
                      f"`dr-platform:posture: {name}`, then run: pulumi up --stack {stack}", highlight=False)
        return
    try:
        set_stack_config(path, "posture", name)
    except ConfigError as exc:
        print(f"cannot write {path.name}: {exc}; nothing written", file=sys.stderr)
        raise typer.Exit(EXIT_REFUSED) from None
    console.print(f"wrote {path}: dr-platform:posture: {name}. Next: pulumi up --stack {stack}", highlight=False)
