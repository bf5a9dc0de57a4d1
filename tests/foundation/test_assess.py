"""Cost beside RTO/RPO, read from the plans of each posture."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from scripts.drctl import app
from scripts.planning.assess import HOURS_PER_MONTH, Assumptions, assess

def test_warmer_postures_cost_more_and_recover_faster() -> None:
    _, rows = assess("dr", assumptions=Assumptions(instance_hour_usd=0.5))
    by = {r.posture: r for r in rows}
    assert [by[p].instances_b for p in ("pilot-light", "warm-standby", "active-active")] == [0, 1, 2]
    assert by["warm-standby"].compute_usd_month == HOURS_PER_MONTH * 0.5
    assert by["pilot-light"].rto_minutes - by["warm-standby"].rto_minutes == Assumptions().instance_create_minutes
    detect = next(s for s in by["pilot-light"].rto_steps if s.name == "detect")
    assert detect.minutes == 0.5  # read from the planned health check: 10 s × 3


def test_s3_rtc_bound_is_reported_against_the_critical_rpo() -> None:
    _, rows = assess("dr")
    assert all(r.rpo_minutes["critical"] == 15 and not r.meets["critical"] for r in rows)
    assert all(r.meets["standard"] for r in rows)
    _, rows = assess("dr", assumptions=Assumptions(s3_rtc_minutes=4))  # e.g. measured replication latency
    warm = {r.posture: r for r in rows}["warm-standby"]
    assert warm.meets["critical"] and warm.rpo_minutes["critical"] == 4


def test_cli_json() -> None:
    result = CliRunner().invoke(app, ["posture", "--json", "--instance-hour-usd", "1"])
    assert result.exit_code == 0, result.output
    rows = {r["posture"]: r for r in json.loads(result.stdout)}
    assert rows["active-active"]["compute_usd_month"] == 2 * HOURS_PER_MONTH
    assert rows["pilot-light"]["rto_minutes"] > rows["warm-standby"]["rto_minutes"]


def test_cli_bad_config_exits_2() -> None:
    result = CliRunner().invoke(app, ["posture", "--set", "aurora.instances=0"])
    assert result.exit_code == 2 and "aurora.instances" in result.output
