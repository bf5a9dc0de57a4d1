"""`drctl verify --stack dr` against moto: a world where everything is right passes every check, and each check,
made to fail once, fails alone and says why (exit 1). Every call it makes is checked against the operator policy
(the `aws` fixture's runbook_calls)."""
from __future__ import annotations

from tests.runbooks_verify.conftest import Drctl, World, verify_json


def test_a_world_where_everything_is_right_passes_every_check(world: World, drctl: Drctl) -> None:
    code, report = verify_json(drctl)
    failed = [c for c in report["checks"] if not c["ok"]]
    assert failed == [], [f"{c['check']} {c['resource']}: {c['detail']}" for c in failed]
    assert code == 0 and report["ok"] is True
    assert {c["check"] for c in report["checks"]} == {
        "aurora-pitr", "aurora-global-cluster", "aurora-replication-lag", "s3-versioning", "s3-replication-rule",
        "s3-replication-status", "dynamodb-replica", "dynamodb-pitr", "backup-copy", "health-check", "alarm"}


def test_the_report_is_a_line_per_check_naming_where_the_names_came_from(world: World, drctl: Drctl) -> None:
    code, output = drctl("verify")
    lines = output.splitlines()
    assert code == 0
    assert lines[0].startswith("drctl verify --stack dr: names from the stack settings (Pulumi.dr.yaml)")
    checks = [line for line in lines if line.startswith(("PASS", "FAIL"))]
    assert len(checks) == len(verify_json(drctl)[1]["checks"]) and all(line.startswith("PASS") for line in checks)
    assert "PASS  aurora-replication-lag dr-core-us-west-2 (us-west-2): worst lag 0.8 s" in output
    assert lines[-1] == f"{len(checks)}/{len(checks)} checks passed"
