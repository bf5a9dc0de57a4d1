"""Drill evidence from a real engine run's journal."""
from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from ops.drctl.cli import app
from ops.drctl.runbooks.engine import Journal, Runbook, Step, run


def _run(journal_dir: Path, *, lag: float | None, execute: bool = True) -> str:
    def promote(ctx):
        time.sleep(0.05)
        return {} if lag is None else {"replication_lag_seconds": lag}
    book = Runbook("RB-N-01 region failover", [Step("promote", "promote B", promote),
                                                Step("verify", "check", lambda ctx: {"ok": True}, read_only=True)])
    assert run(book, {}, execute=execute, journal_dir=journal_dir, console=Console(file=open("/dev/null", "w"))) == 0
    return next(journal_dir.glob("*.json")).stem


def test_record_writes_quarter_report_with_measured_rto_and_rpo(tmp_path: Path) -> None:
    runs, reports = tmp_path / "runs", tmp_path / "reports"
    run_id = _run(runs, lag=0.8)
    args = ["drill", "record", run_id, "--journal-dir", str(runs), "--report-dir", str(reports),
            "--variance", "DNS TTL was 300 s, not 60 s", "--follow-up", "lower TTL", "--quarter", "Q2"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    (report,) = reports.glob("*.md")
    journal = Journal.load(runs, run_id)
    assert report.name == f"{journal.created_at[:4]}-Q2.md"  # the region failover is Q2's drill
    text = report.read_text()
    assert f"run {run_id}" in text and "RPO measured: 0.8 s (objective 5 min): met" in text
    assert "DNS TTL was 300 s" in text and "| promote | done |" in text
    rto = float(text.split("RTO achieved: ")[1].split(" s")[0])
    assert 0.05 <= rto < 5
    CliRunner().invoke(app, args)  # recording twice does not duplicate the section
    assert report.read_text().count(f"run {run_id}") == 1


def test_missed_rpo_exits_1(tmp_path: Path) -> None:
    run_id = _run(tmp_path / "runs", lag=600)
    result = CliRunner().invoke(app, ["drill", "record", run_id, "--journal-dir", str(tmp_path / "runs"),
                                      "--report-dir", str(tmp_path / "reports"), "--quarter", "Q2"])
    assert result.exit_code == 1
    assert "**NOT met**" in next((tmp_path / "reports").glob("*.md")).read_text()


def test_dry_run_and_unknown_run_are_bad_input(tmp_path: Path) -> None:
    run_id = _run(tmp_path / "runs", lag=None, execute=False)
    for target in (run_id, "no-such-run"):
        result = CliRunner().invoke(app, ["drill", "record", target, "--journal-dir", str(tmp_path / "runs"),
                                          "--report-dir", str(tmp_path / "reports")])
        assert result.exit_code == 2
    assert not (tmp_path / "reports").exists()


def test_an_unknown_run_is_named_with_where_it_was_looked_for(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    known = _run(runs, lag=None)
    result = CliRunner().invoke(app, ["drill", "record", "20260101T000000Z-abcdef", "--journal-dir", str(runs),
                                      "--report-dir", str(tmp_path / "reports")])
    assert result.exit_code == 2
    assert "--resume" not in result.output
    assert "20260101T000000Z-abcdef" in result.output and str(runs) in result.output
    assert known in result.output  # what is there instead, newest first
    assert not (tmp_path / "reports").exists()


def test_an_unknown_run_in_an_empty_or_missing_directory_says_so(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["drill", "record", "nope", "--journal-dir", str(tmp_path / "none"),
                                      "--report-dir", str(tmp_path / "reports")])
    assert result.exit_code == 2
    assert "run nope" in result.output and str(tmp_path / "none") in result.output
    assert "--journal-dir" in result.output
