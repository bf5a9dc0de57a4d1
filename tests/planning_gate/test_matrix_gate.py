"""The DR matrix gates CI: every shipped dr stack × posture × failover state meets its objectives, and an objective
tighter than the platform can meet fails naming the store or step, the tier and the numbers."""
from __future__ import annotations

import itertools

import pytest
from typer.testing import CliRunner

from ops.core.posture import Posture
from ops.drctl.cli import app
from ops.drctl.planning.assess import assess, matrix_breaches, shipped_dr_stacks

# A tier's objective is set whole: both keys (Objective has no per-key defaults).
CRITICAL = ["objectives.critical.rtoMinutes=60"]
SHIPPED = list(itertools.product(shipped_dr_stacks(), (False, True)))


@pytest.mark.parametrize(("stack", "failover"), SHIPPED, ids=[f"{s}-failover={f}" for s, f in SHIPPED])
def test_shipped_stacks_meet_the_matrix_in_every_posture(stack: str, failover: bool) -> None:
    _, rows = assess(stack, failover=failover)
    assert [r.posture for r in rows] == [p.value for p in Posture]
    breaches = [line for r in rows for line in r.breaches]
    assert breaches == [], "the DR matrix is not met:\n" + "\n".join(breaches)
    assert all(r.meets == {"critical": True, "standard": True} for r in rows)


def test_a_tighter_rpo_objective_fails_naming_store_tier_and_numbers() -> None:
    breaches = matrix_breaches(overrides=[*CRITICAL, "objectives.critical.rpoMinutes=0"])
    aurora = [b for b in breaches if "Aurora global cluster dr-core" in b]
    dynamodb = [b for b in breaches if "DynamoDB payments-idempotency" in b]
    assert len(aurora) == len(dynamodb) == 2 * len(Posture)  # every posture, both failover states
    assert aurora[0].startswith("critical tier RPO: Aurora global cluster dr-core expected figure (no SLA) 1 s > "
                                "objective 0 min (expected ~1 s, no guaranteed bound) [stack dr, posture pilot-light")
    assert not any(b.startswith("standard tier") for b in breaches)  # the standard objective still holds


def test_an_rtc_bound_over_the_objective_names_the_bucket_and_the_guarantee() -> None:
    # S3 RTC's 15 min is an SLA bound: a 10 min standard RPO cannot be signed off, however fast it usually is.
    breaches = matrix_breaches(overrides=["objectives.standard.rtoMinutes=240", "objectives.standard.rpoMinutes=10"])
    media = [b for b in breaches if "S3 creator-media-us-east-1" in b]
    assert len(media) == len(Posture)  # steady state: A's buckets replicate to B
    assert media[0].startswith("standard tier RPO: S3 creator-media-us-east-1 guaranteed bound 15 min > objective "
                               "10 min (guaranteed ≤ 15 min, expected ~15 s)")
    assert any("S3 creator-media-us-west-2 guaranteed bound 15 min" in b and "failover true" in b
               for b in breaches)  # failed over: B's buckets replicate back to A


def test_a_tighter_rto_objective_fails_naming_the_largest_step() -> None:
    breaches = matrix_breaches(overrides=["objectives.critical.rtoMinutes=16", "objectives.critical.rpoMinutes=5"])
    line = ("critical tier RTO 20 min > objective 16 min (largest step: writer capacity in B 12 min; 3 detect (alarm) + "
            "1 plan starts + 12 writer capacity in B + 0 nodes and pods in B + 0 approval + 1 promote Aurora + 0 cold "
            "cache in B + 1 DNS + 2 smoke checks) [stack {}, posture pilot-light, failover false]")
    # every shipped dr stack: stage's pair is gated like production's (the same steps, so the same estimate)
    assert breaches == [line.format("dr"), line.format("stage-dr")]  # warmer postures
    # (13 min) and failing back (14.5 min: no trigger into A, a person declares) hold


def test_rpo_terms_show_the_guaranteed_bound_beside_the_expected_figure() -> None:
    _, rows = assess("dr")
    terms = {t.store: t for t in rows[0].rpo_terms}
    rtc = terms["S3 creator-kyc-documents-us-east-1"]
    assert (rtc.guaranteed_minutes, rtc.expected_minutes, rtc.bound_minutes) == (15, 0.25, 15)  # read from the plan
    aurora = terms["Aurora global cluster dr-core"]
    assert aurora.guaranteed_minutes is None and aurora.bound_minutes == aurora.expected_minutes == 1 / 60
    assert rows[0].rpo_minutes == {"critical": round(1 / 60, 3), "standard": 15}
    assert rows[0].rpo_expected_minutes == {"critical": round(1 / 60, 3), "standard": 0.25}


def test_drctl_assess_exits_1_on_a_breach_and_0_when_met() -> None:
    runner = CliRunner()
    breach = runner.invoke(app, ["assess", "--set", "objectives.critical.rtoMinutes=60", "--set", "objectives.critical.rpoMinutes=0"])
    assert breach.exit_code == 1, breach.output
    assert ("critical tier RPO: DynamoDB payments-idempotency expected figure (no SLA) 1 s > objective 0 min"
            in breach.output)
    met = runner.invoke(app, ["assess"])
    assert met.exit_code == 0, met.output
    assert "DR matrix met: stack dr, stage-dr, 3 postures × failover false/true" in met.output


def test_drctl_posture_check_exits_1_on_a_breach() -> None:
    result = CliRunner().invoke(app, ["posture", "--check", "--set", "objectives.critical.rtoMinutes=16", "--set",
                                          "objectives.critical.rpoMinutes=5"])
    assert result.exit_code == 1
    assert "critical tier RTO 20 min > objective 16 min (largest step: writer capacity in B 12 min" in result.output


def test_drctl_assess_bad_config_exits_2_naming_the_key() -> None:
    result = CliRunner().invoke(app, ["assess", "--set", 'objectives.critical={"rtoMinutes": 60, "rpoMinutes": -1}'])
    assert result.exit_code == 2 and "objectives.critical.rpoMinutes" in result.output


def test_a_store_tier_the_primary_stack_plans_differently_fails_the_gate() -> None:
    # The KYC bucket declared critical in the dr stack only: the primary stack tags and alarms it as standard.
    critical_kyc = ('buckets=[{"name": "creator-kyc-documents", "tier": "critical"}, '
                    '{"name": "creator-media", "tier": "standard"}]')
    breaches = matrix_breaches(overrides=[critical_kyc])
    assert ("creator-kyc-documents-us-east-1: tier critical here but standard in the primary stack's plan: declare "
            "the same tier in both stack files [stack dr, posture pilot-light, failover false]") in breaches
    assert ("critical tier RPO: S3 creator-kyc-documents-us-east-1 guaranteed bound 15 min > objective 5 min "
            "(guaranteed ≤ 15 min, expected ~15 s) [stack dr, posture pilot-light, failover false]") in breaches


def test_a_replication_rule_without_rtc_has_no_guaranteed_bound() -> None:
    from dataclasses import replace

    from ops.drctl.planning.assess import Assumptions, _rpo_terms
    from ops.drctl.planning.mockplan import Plan, plan_stack
    from stacks.config_files import load_stack_settings

    primary = plan_stack("primary")

    def one_rule_without_rtc(resource):  # a copy: the planned resource itself is cached for the session
        if (resource.type != "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
                or resource.inputs["bucket"] != "creator-media-us-east-1"):
            return resource
        rule = resource.inputs["rules"][0]
        plain = {**rule, "id": "no-rtc",
                 "destination": {k: v for k, v in rule["destination"].items() if k != "replicationTime"}}
        return replace(resource, inputs={**resource.inputs, "rules": [rule, plain]})

    edited = Plan(primary.stack, primary.config, [one_rule_without_rtc(r) for r in primary.resources])
    terms = {t.store: t for t in _rpo_terms(load_stack_settings("dr"), "us-east-1", [edited], Assumptions())}
    media = terms["S3 creator-media-us-east-1"]
    assert media.guaranteed_minutes is None and media.expected_minutes == 15 and "no time bound" in media.source
    assert terms["S3 creator-kyc-documents-us-east-1"].guaranteed_minutes == 15
