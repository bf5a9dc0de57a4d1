"""Readable tables of a plan and of a plan diff."""
from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ops.drctl.planning.diff import PlanDiff
from ops.drctl.planning.mockplan import Plan, PlannedResource
from ops.drctl.planning.steps import SYMBOLS, Action, StepOrder


def _short_type(type_: str) -> str:
    return type_.split(":")[-1] if type_.count(":") >= 2 else type_


def _root_component(resource: PlannedResource, by_urn: dict[str, PlannedResource]) -> str:
    while resource.parent and resource.parent in by_urn:
        resource = by_urn[resource.parent]
    return resource.name


def render_plan(console: Console, plan: Plan) -> None:
    by_urn = {r.urn: r for r in plan.resources}
    table = Table(title=f"plan: stack {plan.stack} — {len(plan.resources)} resources", show_lines=False)
    for column in ("component", "type", "name", "region", "notes"):
        table.add_column(column)
    rows = sorted(plan.resources, key=lambda r: (_root_component(r, by_urn), r.parent is not None, r.urn))
    last = None
    for r in rows:
        group = _root_component(r, by_urn)
        notes = ", ".join(filter(None, ["protected" if r.protect else "",
                                        "retain-on-delete" if r.retainOnDelete else "",
                                        f"ignores {', '.join(r.ignoreChanges)}" if r.ignoreChanges else ""]))
        table.add_row(group if group != last else "", _short_type(r.type), r.name, r.region or "-", notes,
                      end_section=False)
        last = group
    console.print(table)
    interesting = {k: v for k, v in plan.outputs.items() if not isinstance(v, (dict, list))}
    console.print("outputs: " + ", ".join(f"{k}={v}" for k, v in sorted(interesting.items())))


def render_diff(console: Console, stack: str, flip: list[str], diff: PlanDiff) -> None:
    console.print(f"[bold]pulumi up --stack {stack}[/bold] after [cyan]{' '.join(flip)}[/cyan]:")
    if diff.empty:
        console.print("no changes")
        return
    for r in diff.added:
        console.print(f"[green]+ {_short_type(r.type)} {r.name}[/green] ({r.region or '-'})")
    for r in diff.removed:
        console.print(f"[red]- {_short_type(r.type)} {r.name}[/red] ({r.region or '-'})")
    for c in diff.changed:
        console.print(f"[yellow]~ {_short_type(c.resource.type)} {c.resource.name}[/yellow]")
        for change in c.changes:
            console.print(f"    {change.path}: {change.old!r} → {change.new!r}")
    console.print(f"{len(diff.added)} to add, {len(diff.changed)} to change, {len(diff.removed)} to remove")


def render_steps(console: Console, stack: str, flip: list[str], order: StepOrder) -> None:
    """The flip's steps in the order `pulumi up` runs them; `after` names the steps each waits for."""
    console.print(f"[bold]pulumi up --stack {stack}[/bold] after [cyan]{' '.join(flip)}[/cyan], in the engine's order:")
    if not order.steps:
        console.print("no changes")
        return
    colors = {Action.CREATE: "green", Action.IMPORT: "cyan", Action.UPDATE: "yellow", Action.REPLACE: "magenta", Action.DELETE: "red",
              Action.DELETE_REPLACED: "red"}
    phase = 1
    for step in order.steps:
        if step.phase != phase:
            console.print("then the deletes, in reverse dependency order:")
            phase = step.phase
        r = step.resource
        waits = f"  after {', '.join(map(str, step.after))}" if step.after else ""
        console.print(f"{step.index:>3} [{colors[step.action]}]{SYMBOLS[step.action]} {step.action.value}"
                      f"[/{colors[step.action]}] {_short_type(r.type)} {r.name} ({r.region or '-'}){waits}",
                      highlight=False)
    console.print(f"{len(order.steps)} steps")
