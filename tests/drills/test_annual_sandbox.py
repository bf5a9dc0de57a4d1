"""The annual drill on the sandbox for real: Q2's failover and its full failback, both legs measured from the
probes and judged in one report section."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ops.drctl.cli import app
from ops.drctl.drills.run import drill
from ops.drctl.drills.scenarios import EXPECTED_SECONDS, Q2Options
from ops.drctl.sandbox.region_pair import SandboxOptions

pytestmark = pytest.mark.slow


def test_annual_drill_measures_failover_and_failback_legs_in_one_report(tmp_path: Path) -> None:
    refused = CliRunner().invoke(app, ["drill", "run", "annual", "--no-failback", "--report-dir", str(tmp_path)])
    assert refused.exit_code == 2 and "--no-failback" in refused.output and not any(tmp_path.iterdir())
    evidence = drill("annual", report_dir=tmp_path / "reports", journal_dir=tmp_path / "runs",
                     q2=Q2Options(load_seconds=0.5, after_seconds=0.3,
                                  sandbox=SandboxOptions(with_search=False, with_stripe=False)))
    run = evidence.run
    assert run["status"] == "done", run["error"]
    assert evidence.markdown.name.endswith("-annual.md") and evidence.twin.name.endswith("-annual.json")
    failover, failback = run["measured"], run["measured"]["failback"]
    beats = run["probes"]["heartbeat"] + run["probes"]["availability"]
    answered = {r["answered_at"] for r in beats if r["ok"]}
    # failover leg: first failed request → first good write through DNS to B, detection inside it
    assert run["marks"]["detected"] - run["marks"]["disaster"] < failover["rto"]["seconds"] < 5
    assert failover["rto"]["first_good_b_at"] in answered and failover["rpo"]["acked_by_a"] > 0
    # failback leg: the switchover's write interruption, between two writes the probes saw acknowledged...
    rto = failback["rto"]
    assert 0 < rto["seconds"] < EXPECTED_SECONDS["failback runbook"], rto  # inside the runbook's time
    assert {rto["last_good_old_at"], rto["first_good_new_at"]} <= answered
    assert any(r["ok"] and r["region"] == "us-east-1" and r["answered_at"] == rto["first_good_new_at"]
               and r["record"] is not None and r["sent_at"] > run["marks"]["recovered"] for r in beats)
    # ...and nothing B acknowledged is missing in A
    assert failback["rpo"]["seconds"] == 0 and failback["rpo"]["lost_heartbeats"] == []
    assert failback["rpo"]["acked_by_a"] > 0  # heartbeats B acknowledged, all found in A
    # both legs judged against the matrix, in one section of the annual report
    assert {(j["leg"], j["tier"]) for j in run["judged"]} == {(leg, tier) for leg in ("failover", "failback")
                                                              for tier in ("critical", "standard")}
    text = evidence.markdown.read_text()
    assert text.count("\n## ") == 1 and "Failover leg, measured RTO" in text and "Failback leg, measured RPO" in text
    assert f"| failback | critical | < 60 min | {rto['seconds']:g} s met | < 5 min | 0 s met |" in text
    # `drill record`: both legs are RB-N-01 runs, so the quarter rules file them as Q2's drill (emulated), and
    # refuse them as another quarter's
    for leg in ("failover", "failback"):
        record = ["drill", "record", run["journals"][leg], "--journal-dir", str(tmp_path / "runs"), "--report-dir",
                  str(tmp_path / "recorded"), "--sandbox"]
        wrong = CliRunner().invoke(app, [*record, "--quarter", "Q1"])
        assert wrong.exit_code == 2 and "not Q1's drill" in wrong.output
        assert CliRunner().invoke(app, [*record, "--quarter", "Q2"]).exit_code == 0
    (recorded,) = (tmp_path / "recorded").glob("*.md")
    assert recorded.name.endswith("-Q2.md") and recorded.read_text().count("\n## ") == 2
    assert json.loads(evidence.twin.read_text())["runs"][0]["run_id"] == run["run_id"]
