"""RTO/RPO arithmetic and report judgement on hand-built probe timelines."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ops.drctl.cli import app
from ops.drctl.drills import measure, report
from ops.drctl.sandbox.probes import ProbeResult

A, B = "us-east-1", "us-west-2"


def beat(seq: int, t: float, ok: bool, region: str | None) -> ProbeResult:
    return ProbeResult("heartbeat", seq, t, t + 0.01, ok, 201 if ok else None, region, "primary")


def test_rto_runs_from_the_first_failure_to_the_first_good_write_in_b() -> None:
    results = [beat(1, 9.0, True, A), beat(2, 10.2, False, None), beat(3, 10.4, False, B),
               beat(4, 11.0, True, A), beat(5, 11.5, True, B)]
    rto = measure.rto(results, disaster_at=10.0, region_b=B)
    assert rto.seconds == 1.31 and rto.first_failure_at == 10.2 and rto.failed_requests == 2


def test_rpo_is_newest_acknowledged_minus_newest_present_and_lists_lost_keys() -> None:
    results = [beat(n, 10 + n * 0.05, True, A) for n in range(1, 11)] + [beat(11, 10.6, False, None)]
    rpo = measure.rpo(results, [], region_a=A, heartbeats_in_b=set(range(1, 8)), orders_in_b=set(),
                      order_id=str)
    assert rpo.lost_heartbeats == [8, 9, 10] and rpo.seconds == 0.15 and rpo.acked_by_a == 10
    assert measure.rpo(results, [], region_a=A, heartbeats_in_b=set(range(1, 11)), orders_in_b=set(),
                       order_id=str).seconds == 0


def _run(run_id: str, promote_s: float) -> dict:
    return {"scenario": "Q2", "variant": "unplanned", "origin": "sandbox", "run_id": run_id, "status": "done",
            "started_at": 1.0, "steps": [{"name": "failover/promote", "seconds": promote_s, "expected_seconds": 1.5}]}


def test_variances_against_expected_time_and_previous_drill(tmp_path: Path) -> None:
    assert report.variances(_run("b", 0.4), _run("a", 0.3)) == []
    found = report.variances(_run("b", 1.8), _run("a", 0.3))
    assert found == ["step failover/promote took 1.80 s, expected at most 1.5 s",
                     "step failover/promote took 1.80 s, 0.30 s in the previous drill (a)"]


def test_drill_run_refuses_what_it_cannot_run(tmp_path: Path) -> None:
    for args in (["Q5"], ["Q2", "--no-sandbox"], ["Q1", "--planned"]):
        result = CliRunner().invoke(app, ["drill", "run", *args, "--report-dir", str(tmp_path)])
        assert result.exit_code == 2, result.output
        assert "bad input" in result.output
    assert not any(tmp_path.iterdir())


def test_failback_interruption_runs_from_the_last_good_write_in_b_to_the_first_in_a_failures_or_not() -> None:
    results = [beat(1, 20.0, True, B), beat(2, 20.3, True, B), beat(3, 20.5, False, B), beat(4, 20.9, True, A),
               beat(5, 21.0, True, A)]
    cut = measure.write_interruption(results, since=20.2, old_region=B, new_region=A)
    assert cut.seconds == 0.6 and cut.last_good_old_at == 20.3 + 0.01 and cut.failed_requests == 1
    quiet = [r for r in results if r.ok]  # a switchover may fail no request: the pause is still measured
    assert measure.write_interruption(quiet, since=20.2, old_region=B, new_region=A).seconds == 0.6
    assert measure.write_interruption(results[:3], since=20.2, old_region=B, new_region=A).seconds is None


def test_a_sandbox_drill_reports_apart_from_the_accounts_evidence_and_out_of_git(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's main job must leave the checkout clean, and a rehearsal is not a quarter's evidence."""
    from ops.core.paths import DRILL_REPORT_DIR, REPO_ROOT, SANDBOX_DRILL_REPORT_DIR
    from ops.drctl.drills import run as drill_run

    asked: dict = {}

    def stop_at_once(scenario: str, **kwargs: object) -> None:
        asked.update(kwargs, scenario=scenario)
        raise KeyboardInterrupt

    monkeypatch.setattr(drill_run, "drill", stop_at_once)
    assert CliRunner().invoke(app, ["drill", "run", "Q2"]).exit_code == 130
    assert asked["report_dir"] == SANDBOX_DRILL_REPORT_DIR
    ignored = subprocess.run(["git", "check-ignore", "-q", str(SANDBOX_DRILL_REPORT_DIR / "2026-Q2.md")],
                             cwd=REPO_ROOT)
    kept = subprocess.run(["git", "check-ignore", "-q", str(DRILL_REPORT_DIR / "2026-Q2.md")], cwd=REPO_ROOT)
    assert (ignored.returncode, kept.returncode) == (0, 1)


def test_the_previous_drill_is_one_of_the_same_posture(tmp_path: Path) -> None:
    runs = [{**_run("pl", 0.3), "started_at": 1.0, "sandbox": {"posture": "pilot-light"}},
            {**_run("ws", 0.2), "started_at": 2.0, "sandbox": {"posture": "warm-standby"}}]
    (tmp_path / "2026-Q2.json").write_text(json.dumps({"runs": runs}))
    now = {**_run("new", 0.3), "started_at": 3.0, "sandbox": {"posture": "pilot-light"}}
    assert report.previous_run(tmp_path, now)["run_id"] == "pl"
    assert report.previous_run(tmp_path, {**now, "sandbox": {"posture": "active-active"}}) is None
