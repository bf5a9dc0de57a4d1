"""The runbook engine's contract: dry-run changes nothing, journal per run, resume skips done steps, exit codes."""
from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from ops.drctl.runbooks.engine import (EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, BadInput, Journal, Runbook, Step,
                                     run)


def _book(calls: list[str], fail_at: str | None = None) -> Runbook:
    def act(name: str):
        def action(ctx):
            if name == fail_at:
                raise RuntimeError(f"{name} broke")
            calls.append(name)
            return {"seen": sorted(ctx.results)}
        return action

    def validate(params):
        if params.get("region") == "mars-1":
            raise BadInput("--region mars-1 is not in allowedRegions")

    return Runbook(name="RB-TEST", validate=validate, steps=[
        Step("preflight", "look around", act("preflight"), read_only=True),
        Step("change", "change something", act("change"), would_call=lambda ctx: ["svc:DoThing(x=1)"]),
        Step("verify", "check it", act("verify"), read_only=True),
    ])


def quiet() -> Console:
    return Console(file=open("/dev/null", "w"))


def test_dry_run_runs_read_only_steps_and_only_plans_changes(tmp_path: Path) -> None:
    calls: list[str] = []
    assert run(_book(calls), {}, execute=False, journal_dir=tmp_path, console=quiet()) == EXIT_OK
    assert calls == ["preflight", "verify"]
    journal = Journal.model_validate_json(next(tmp_path.glob("*.json")).read_text())
    assert journal.status == "planned"
    assert journal.step("change").state == "planned"
    assert journal.step("change").would_call == ["svc:DoThing(x=1)"]


def test_failed_step_exits_1_and_resume_skips_done_steps(tmp_path: Path) -> None:
    calls: list[str] = []
    assert run(_book(calls, fail_at="verify"), {}, execute=True, journal_dir=tmp_path,
               console=quiet()) == EXIT_FAILED
    run_id = next(tmp_path.glob("*.json")).stem
    assert calls == ["preflight", "change"]
    calls.clear()
    assert run(_book(calls), {}, execute=True, resume=run_id, journal_dir=tmp_path, console=quiet()) == EXIT_OK
    assert calls == ["verify"]
    journal = Journal.load(tmp_path, run_id)
    assert journal.status == "done"
    assert journal.step("verify").result == {"seen": ["change", "preflight"]}


def test_bad_input_exits_2_before_any_step(tmp_path: Path, capsys) -> None:
    calls: list[str] = []
    code = run(_book(calls), {"region": "mars-1"}, execute=True, journal_dir=tmp_path, console=quiet(),
               as_json=True)
    assert code == EXIT_BAD_INPUT and calls == []
    assert "mars-1" in json.loads(capsys.readouterr().out)["error"]


def test_resume_of_unknown_run_is_bad_input(tmp_path: Path) -> None:
    assert run(_book([]), {}, execute=True, resume="nope", journal_dir=tmp_path, console=quiet()) == EXIT_BAD_INPUT


def test_results_and_errors_are_printed_verbatim(tmp_path: Path, capsys) -> None:
    # AWS data must survive rich: an ARN's ":secret:" is not an emoji, an error's "[bold]" is not markup.
    arn = "arn:aws:secretsmanager:us-west-2:123456789012:secret:dr-core-master-AbC"

    def broken(ctx):
        raise RuntimeError("engine [bold]version[/bold] 15.4 unknown")

    book = Runbook(name="RB-TEXT", steps=[
        Step("read", "read a secret", lambda ctx: {"secret": arn}, read_only=True),
        Step("break", "fails", broken),
    ])
    assert run(book, {}, execute=True, journal_dir=tmp_path) == EXIT_FAILED
    shown = capsys.readouterr().err.replace("\n", "").replace("│", "").replace(" ", "")
    assert ":secret:dr-core-master-AbC" in shown
    assert "engine[bold]version[/bold]15.4unknown" in shown


def test_the_summary_names_the_journal_where_it_was_written(tmp_path: Path) -> None:
    import io

    for fail_at in (None, "change"):
        out = io.StringIO()
        journal_dir = tmp_path / f"elsewhere-{fail_at}"
        run(_book([], fail_at=fail_at), {}, execute=True, journal_dir=journal_dir,
            console=Console(file=out, width=400))
        (written,) = journal_dir.glob("*.json")
        assert f"journal: {written}" in out.getvalue()
        assert "ops/dr/runs" not in out.getvalue()


def test_a_checkpoint_is_journaled_and_a_resumed_step_starts_from_it(tmp_path: Path) -> None:
    started_from: list[dict] = []

    def long_step(ctx):
        started_from.append(ctx.progress)
        done = ctx.progress.get("done", 0)
        for item in range(done, 4):
            ctx.checkpoint({"done": item + 1}, f"item-{item + 1}")
            if item == 1 and len(started_from) == 1:
                raise RuntimeError("lost the connection")
        return {"done": 4}

    book = Runbook(name="RB-TEST-LONG", steps=[Step("long", "four items", long_step)])
    assert run(book, {}, execute=True, journal_dir=tmp_path, console=quiet()) == EXIT_FAILED
    run_id = next(tmp_path.glob("*.json")).stem
    assert Journal.load(tmp_path, run_id).step("long").result == {"done": 2}  # the failed attempt's checkpoint
    assert run(book, {}, execute=True, resume=run_id, journal_dir=tmp_path, console=quiet()) == EXIT_OK
    assert started_from == [{}, {"done": 2}]
    assert Journal.load(tmp_path, run_id).step("long").result == {"done": 4}


def test_a_runbook_summary_sits_beside_the_journal_in_json(tmp_path: Path, capsys) -> None:
    book = Runbook(name="RB-TEST-SUMMARY", steps=[Step("count", "count", lambda ctx: {"n": 3}, read_only=True)],
                   summary=lambda journal: {"counted": journal.step("count").result["n"]})
    assert run(book, {}, execute=False, journal_dir=tmp_path, console=quiet(), as_json=True) == EXIT_OK
    printed = json.loads(capsys.readouterr().out)
    assert printed["counted"] == 3 and printed["runbook"] == "RB-TEST-SUMMARY" and printed["status"] == "planned"
