"""`drctl drill`: the quarterly drill plan, and drill evidence recorded from a runbook run's journal."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ops.drctl.terminal import HELP_SETTINGS, HelpGroup

drill_app = typer.Typer(help="Quarterly DR drills (seed 000 N.6): plan and evidence.", no_args_is_help=True,
                        cls=HelpGroup, rich_markup_mode=None, context_settings=HELP_SETTINGS)


def register(app: typer.Typer) -> None:
    app.add_typer(drill_app, name="drill")


@drill_app.command("plan")
def plan() -> None:
    """The quarterly drill plan."""
    from ops.drctl.runbooks.drills import QUARTERLY_PLAN
    for quarter, drill in QUARTERLY_PLAN.items():
        print(f"Q{quarter}: {drill}")


@drill_app.command("record")
def record(
    run_id: Annotated[str, typer.Argument(help="Run id of an executed runbook (ops/dr/runs/<id>.json).")],
    tier: Annotated[str, typer.Option(help="Objective tier the drill is judged against.")] = "critical",
    stack: Annotated[str, typer.Option(help="Stack whose objectives apply.")] = "dr",
    variance: Annotated[list[str] | None, typer.Option("--variance", help="What differed from the runbook.")] = None,
    follow_up: Annotated[list[str] | None, typer.Option("--follow-up", help="Action item.")] = None,
    journal_dir: Annotated[Path | None, typer.Option(help="Where run journals are.")] = None,
    report_dir: Annotated[Path | None, typer.Option(help="Where drill reports go.")] = None,
) -> None:
    """Write the drill's evidence to ops/dr/drill_reports/YYYY-QX.md; exit 1 if an objective was missed."""
    from ops.drctl.runbooks.drills import DEFAULT_REPORT_DIR, append_report, outcome, render_report
    from ops.drctl.runbooks.engine import DEFAULT_JOURNAL_DIR, BadInput, Journal
    from stacks.config_files import load_stack_settings
    from stacks.settings import ConfigError

    try:
        objective = load_stack_settings(stack).objectives.for_tier(tier)
        journal = Journal.load(_journal_path(journal_dir or DEFAULT_JOURNAL_DIR, run_id).parent, run_id)
        result = outcome(journal, objective.rto_minutes, objective.rpo_minutes)
    except (BadInput, ConfigError, ValueError) as exc:
        print(f"bad input: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
    path = append_report(report_dir or DEFAULT_REPORT_DIR, result.quarter,
                         render_report(journal, result, list(variance or []), list(follow_up or [])))
    print(f"{result.runbook}: RTO {result.rto_seconds:g} s ({'met' if result.rto_met else 'NOT met'}) → {path}")
    raise typer.Exit(0 if result.rto_met and result.rpo_met is not False else 1)


def _journal_path(directory: Path, run_id: str) -> Path:
    """The run's journal, or BadInput naming the run, where it looked and what is there instead."""
    from ops.drctl.runbooks.engine import BadInput

    path = directory / f"{run_id}.json"
    if path.is_file():
        return path
    runs = sorted((p.stem for p in directory.glob("*.json")), reverse=True) if directory.is_dir() else []
    there = (f"runs there, newest first: {', '.join(runs[:5])}{', ...' if len(runs) > 5 else ''}" if runs
             else "no journals there")
    raise BadInput(f"run {run_id}: no journal {path} ({there}; --journal-dir says where journals are)")
