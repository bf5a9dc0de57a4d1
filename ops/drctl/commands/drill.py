"""`drctl drill`: the quarterly drill plan, and drill evidence recorded from a runbook run's journal."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

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


@drill_app.command("run")
def run(
    scenario: Annotated[str, typer.Argument(help="The quarter's scenario: Q1 (Aurora PITR), Q2 (region "
                                                 "failover A→B), Q3 (Typesense total loss), Q4 (S3 mass "
                                                 "undelete with CDN purge) or annual (Q2 and a full failback, "
                                                 "both legs judged in one report).")],
    planned: Annotated[bool, typer.Option(help="Planned switchover (A healthy, RPO 0) instead of killing A.")] = False,
    sandbox: Annotated[bool, typer.Option(help="Run on the local region pair (the default; see --account).")] = True,
    account: Annotated[bool, typer.Option(help="Run the quarter's AWS FIS experiment on the real account instead "
                                               "(Q2 so far): dry-run unless --execute.")] = False,
    execute: Annotated[bool, typer.Option(help="With --account: start the experiment. Without it: dry-run, which "
                                               "reads the template and lists the calls only.")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="With --account --execute: do not ask for confirmation.")] = False,
    resume: Annotated[str | None, typer.Option(help="With --account: follow this run id's experiment from its "
                                                    "journal (never starts a second one).")] = None,
    timeout: Annotated[float, typer.Option(help="With --account: bound on following the experiment, seconds.",
                                           min=1)] = 3600,
    poll: Annotated[float, typer.Option(help="With --account: seconds between polls.", min=0.01)] = 15,
    failback: Annotated[bool, typer.Option(help="Fail back to A afterwards and check A and B hold the same "
                                                "data.")] = True,
    stack: Annotated[str, typer.Option(help="Stack whose settings and objectives the drill uses.")] = "dr",
    posture: Annotated[str | None, typer.Option(help="The sandbox's B at this posture's row (pilot-light, "
                                                     "warm-standby, active-active) instead of the stack file's.")]
    = None,
    report_dir: Annotated[Path | None, typer.Option(help="Where the report goes (default ops/dr/drill_reports, and "
                                                         "ops/dr/drill_reports/sandbox for a sandbox drill).")] = None,
    journal_dir: Annotated[Path | None, typer.Option(help="Where the runbooks' journals go (default ops/dr/runs).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the drill's JSON record.")] = False,
) -> None:
    """Run a drill end to end on the sandbox and write its evidence (markdown, JSON twin, PNG timeline)."""
    import json
    import signal
    from dataclasses import replace

    from ops.core.posture import Posture
    from ops.drctl.drills.run import drill
    from ops.drctl.drills.scenarios import Q1Options, Q2Options, Q3Options, Q4Options
    from ops.drctl.runbooks.drills import DEFAULT_REPORT_DIR, SANDBOX_REPORT_DIR
    from ops.drctl.runbooks.engine import DEFAULT_JOURNAL_DIR

    scenario = "annual" if scenario.lower() == "annual" else scenario.upper()
    if posture is not None and (account or resume):
        print("bad input: --posture: the account runs the posture it is deployed at; --posture is the sandbox's",
              file=sys.stderr)
        raise typer.Exit(2)
    if posture is not None and posture not in {p.value for p in Posture}:
        print(f"bad input: --posture {posture!r}: expected one of {', '.join(p.value for p in Posture)}",
              file=sys.stderr)
        raise typer.Exit(2)
    if account or resume:
        _on_account(scenario, stack=stack, execute=execute, yes=yes, resume=resume, timeout_s=timeout, poll_s=poll,
                    report_dir=report_dir or DEFAULT_REPORT_DIR, journal_dir=journal_dir, as_json=as_json)
    if execute or yes:
        print("bad input: --execute/--yes: a sandbox drill changes nothing real; they go with --account",
              file=sys.stderr)
        raise typer.Exit(2)
    if scenario not in ("Q1", "Q2", "Q3", "Q4", "annual"):
        print(f"bad input: scenario {scenario!r}: the sandbox runs Q1 (Aurora PITR), Q2 (region failover "
              "A→B), Q3 (Typesense total loss), Q4 (S3 mass undelete) and annual (Q2 and a full failback)",
              file=sys.stderr)
        raise typer.Exit(2)
    if planned and scenario not in ("Q2", "annual"):
        print("bad input: --planned: only Q2 and the annual drill have a planned variant", file=sys.stderr)
        raise typer.Exit(2)
    if not failback and scenario == "annual":
        print("bad input: --no-failback: the annual drill is the failover and the failback", file=sys.stderr)
        raise typer.Exit(2)
    if not sandbox:
        print("bad input: --no-sandbox: a drill against a real account is `--account` (its AWS FIS experiment), "
              "or a real runbook run (drctl failover --execute) recorded with `drctl drill record`", file=sys.stderr)
        raise typer.Exit(2)
    # SIGTERM as Ctrl-C: the region pair is stopped either way
    signal.signal(signal.SIGTERM, signal.default_int_handler)

    def at_posture(options: Any) -> Any:  # each scenario's options, with B at --posture (None: the stack file's)
        return replace(options, sandbox=replace(options.sandbox, posture=posture))

    try:
        evidence = drill(scenario, report_dir=report_dir or SANDBOX_REPORT_DIR, journal_dir=journal_dir or
                         DEFAULT_JOURNAL_DIR, stack=stack,
                         q2=at_posture(Q2Options(planned=planned, failback=failback)), q1=at_posture(Q1Options()),
                         q3=at_posture(Q3Options()), q4=at_posture(Q4Options()),
                         on_ready=lambda where: print(f"region pair up: {json.dumps(where)}", flush=True))
    except KeyboardInterrupt:
        print("interrupted: every server the sandbox started has been stopped", file=sys.stderr)
        raise typer.Exit(130) from None
    result = evidence.run
    if as_json:
        print(json.dumps({k: v for k, v in result.items() if k != "probes"}, indent=1, default=str))
    rto, rpo = result["measured"].get("rto") or {}, result["measured"].get("rpo") or {}
    lost = {"Q2": f"{len(rpo.get('lost_heartbeats', []))} heartbeats lost",
            "annual": f"{len(rpo.get('lost_heartbeats', []))} heartbeats lost",
            "Q1": f"{len(rpo.get('lost_orders', []))} orders at T missing from the restore",
            "Q3": f"{rpo.get('documents_missing')} documents missing",
            "Q4": f"{len(rpo.get('objects_missing') or [])} objects not restored"}[result["scenario"]]
    at = result["sandbox"].get("posture")
    print(f"{result['scenario']} {result['variant']} drill ({result['origin']}{f', B at {at}' if at else ''}): "
          f"{result['status']}; "
          f"RTO {rto.get('seconds', 'n/a')} s"
          f"{' (detection included)' if result['scenario'] in ('Q2', 'annual') else ''}, "
          f"RPO {rpo.get('seconds', 'n/a')} s ({lost})")
    back = result["measured"].get("failback") if result["scenario"] == "annual" else None
    if back:
        back_rto, back_rpo = back.get("rto") or {}, back.get("rpo") or {}
        print(f"failback leg: RTO {back_rto.get('seconds', 'n/a')} s (write interruption), RPO "
              f"{back_rpo.get('seconds', 'n/a')} s ({len(back_rpo.get('lost_heartbeats', []))} heartbeats lost)")
    if result.get("error"):
        print(f"error: {result['error']}", file=sys.stderr)
    for variance in result["variances"]:
        print(f"variance: {variance}")
    print(f"report: {evidence.markdown} (JSON {evidence.twin.name}, timeline {evidence.timeline.name})")
    met = all(j["rto_met"] is not False and j["rpo_met"] is not False for j in result["judged"])
    raise typer.Exit(0 if result["status"] == "done" and met else 1)


def _on_account(scenario: str, *, stack: str, execute: bool, yes: bool, resume: str | None, timeout_s: float,
                poll_s: float, report_dir: Path, journal_dir: Path | None, as_json: bool) -> None:
    """The quarter's FIS experiment as a runbook (ops/drctl/drills/account.py); exits with the run's code."""
    from ops.core import naming
    from ops.drctl.commands.options import bad_input, resume_if_asked, start
    from ops.drctl.drills.account import runbook
    from ops.drctl.drills.run import objectives
    from stacks.config_files import load_stack_settings
    from stacks.settings import ConfigError

    resume_if_asked(resume, yes, journal_dir, as_json, lambda params: runbook())
    side = naming.FIS_DRILL_REGIONS.get(scenario)
    if side is None:
        raise bad_input(f"scenario {scenario!r}: FIS injects {', '.join(naming.FIS_DRILL_REGIONS)} on the account; "
                        "Q1 and Q4 are data faults FIS does not inject (docs/drills.md): run them on the sandbox")
    try:
        settings = load_stack_settings(stack)
    except ConfigError as exc:
        raise bad_input(str(exc)) from None
    region = settings.primary_region if side == "a" else settings.dr_region
    params = {"scenario": scenario, "region": region, "stack": stack, "environment": settings.environment,
              "timeout_s": timeout_s, "poll_s": poll_s,
              "settle_timeout_s": timeout_s, "report_dir": str(report_dir), "objectives": objectives(stack)}
    start(runbook(), params, execute=execute, yes=yes, what=f"start the {scenario} FIS experiment in {region}",
          journal_dir=journal_dir, as_json=as_json)


@drill_app.command("record")
def record(
    run_id: Annotated[str, typer.Argument(help="Run id of an executed runbook (ops/dr/runs/<id>.json).")],
    tier: Annotated[str, typer.Option(help="Objective tier the drill is judged against.")] = "critical",
    stack: Annotated[str, typer.Option(help="Stack whose objectives apply.")] = "dr",
    variance: Annotated[list[str] | None, typer.Option("--variance", help="What differed from the runbook.")] = None,
    follow_up: Annotated[list[str] | None, typer.Option("--follow-up", help="Action item.")] = None,
    journal_dir: Annotated[Path | None, typer.Option(help="Where run journals are.")] = None,
    report_dir: Annotated[Path | None, typer.Option(help="Where drill reports go (default ops/dr/drill_reports, "
                                                         "and ops/dr/drill_reports/sandbox with --sandbox).")] = None,
    quarter: Annotated[str | None, typer.Option(help="The quarter whose drill this run is, Q1-Q4 (default: the "
                                                     "quarter of the run's date); another scenario is refused.")] = None,
    sandbox: Annotated[bool, typer.Option(help="The run is a sandbox drill's (emulated), and the report says so; "
                                               "without it an emulated run is refused.")] = False,
) -> None:
    """Write the drill's evidence to ops/dr/drill_reports/YYYY-QX.md; exit 1 if an objective was missed."""
    from ops.drctl.runbooks.drills import (
        DEFAULT_REPORT_DIR,
        SANDBOX_REPORT_DIR,
        append_report,
        check_recordable,
        emulated_note,
        outcome,
        render_report,
    )
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
    try:
        wanted = check_recordable(journal, journal_dir or DEFAULT_JOURNAL_DIR, quarter=quarter, sandbox=sandbox)
    except ValueError as exc:
        print(f"bad input: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
    section = render_report(journal, result, list(variance or []), list(follow_up or []))
    path = append_report(report_dir or (SANDBOX_REPORT_DIR if sandbox else DEFAULT_REPORT_DIR),
                         f"{result.quarter[:4]}-Q{wanted}",
                         emulated_note(section) if sandbox else section)
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
