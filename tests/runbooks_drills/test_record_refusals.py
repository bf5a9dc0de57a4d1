"""`drctl drill record` refuses what is not drill evidence: a run that did not finish, a run of another
scenario than the quarter's, an emulated (sandbox) run presented as a real account's."""
from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from ops.drctl.cli import app
from ops.drctl.runbooks.drills import origin_path
from ops.drctl.runbooks.engine import Runbook, Step, run

QUIET = Console(file=open("/dev/null", "w"))


def _run(journal_dir: Path, name: str = "RB-N-01 region failover A→B", action=lambda ctx: {"rpo_seconds": 0.0}) -> str:
    book = Runbook(name, [Step("promote", "promote B", action)])
    run(book, {}, execute=True, journal_dir=journal_dir, console=QUIET)
    return next(journal_dir.glob("*.json")).stem


def _record(tmp_path: Path, run_id: str, *extra: str):
    return CliRunner().invoke(app, ["drill", "record", run_id, "--journal-dir", str(tmp_path / "runs"),
                                    "--report-dir", str(tmp_path / "reports"), *extra])


def test_a_failed_run_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    def broken(ctx):
        raise RuntimeError("promotion timed out")
    run_id = _run(tmp_path / "runs", action=broken)
    result = _record(tmp_path, run_id, "--quarter", "Q2")
    assert result.exit_code == 2
    assert f"run {run_id} is failed at step promote: RuntimeError: promotion timed out" in result.output
    assert "not drill evidence" in result.output
    assert not (tmp_path / "reports").exists()


def test_a_run_of_another_scenario_than_the_quarters_is_refused(tmp_path: Path) -> None:
    run_id = _run(tmp_path / "runs", name="RB-N-03 S3 mass undelete + CDN purge")
    result = _record(tmp_path, run_id, "--quarter", "Q2")
    assert result.exit_code == 2
    assert (f"run {run_id} is RB-N-03 S3 mass undelete + CDN purge, not Q2's drill (RB-N-01 region failover A→B)"
            in result.output)
    assert _record(tmp_path, run_id, "--quarter", "Q5").exit_code == 2
    assert not (tmp_path / "reports").exists()
    assert _record(tmp_path, run_id, "--quarter", "Q4").exit_code == 0  # it is Q4's drill


def test_an_emulated_run_is_refused_as_a_real_one_and_recorded_as_emulated(tmp_path: Path) -> None:
    run_id = _run(tmp_path / "runs")
    mark = origin_path(tmp_path / "runs", run_id)
    mark.parent.mkdir(parents=True)
    mark.write_text(json.dumps({"origin": "sandbox", "drill": "20261202T000000Z-abcdef",
                                "aws_endpoint": "http://127.0.0.1:5000"}))
    refused = _record(tmp_path, run_id, "--quarter", "Q2")
    assert refused.exit_code == 2
    assert f"run {run_id} is emulated: it ran on the sandbox's region pair (drill 20261202T000000Z-abcdef" in \
        refused.output
    assert not (tmp_path / "reports").exists()
    recorded = _record(tmp_path, run_id, "--quarter", "Q2", "--sandbox")
    assert recorded.exit_code == 0, recorded.output
    text = next((tmp_path / "reports").glob("*-Q2.md")).read_text()
    assert "- Origin: sandbox (emulated region pair on 127.0.0.1, moto's AWS API): not a real AWS account" in text


def test_a_real_run_cannot_be_recorded_as_emulated(tmp_path: Path) -> None:
    run_id = _run(tmp_path / "runs")
    result = _record(tmp_path, run_id, "--quarter", "Q2", "--sandbox")
    assert result.exit_code == 2
    assert "has no sandbox drill's mark" in result.output
