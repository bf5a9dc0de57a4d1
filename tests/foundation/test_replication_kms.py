"""S3 replication of SSE-KMS objects with S3 Bucket Keys, as the S3 user guide says it must be granted, and an
alarm on every failed replication operation (a FAILED object publishes no latency, so the lag alarms stay quiet).

AWS S3 user guide, "Replicating objects created with SSE-KMS", section "Amazon S3 Bucket Keys and replication":
"To use replication with an S3 Bucket Key, the AWS KMS key policy for the CMK used to encrypt the object replica
must include kms:Decrypt permissions for the calling principal" and "When an S3 Bucket Key is enabled for the source
or destination bucket, the encryption context will be the bucket Amazon Resource Name (ARN) and not the object ARN".
"""
from __future__ import annotations

import json

from components.storage import REPLICATION_RULE_ID
from ops.drctl.planning.mockplan import Plan
from stacks.config_files import load_stack_settings

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def replication_policies(plan: Plan) -> dict[str, dict]:
    """The replication roles' policies by the name of the replication component (replication-<bucket>-<dir>)."""
    return {r.name.removesuffix("-policy"): json.loads(r.inputs["policy"]) for r in plan.by_type(ROLE_POLICY)
            if r.name.startswith("replication-")}


def statements(policy: dict) -> dict[str, dict]:
    return {s["Sid"]: s for s in policy["Statement"]}


def test_both_sides_use_bucket_keys(primary_plan: Plan) -> None:
    """The premise: every bucket encrypts with an S3 Bucket Key, so KMS sees the bucket ARN as context."""
    configs = primary_plan.by_type(SSE)
    assert configs and all(rule["bucketKeyEnabled"] is True for c in configs for rule in c.inputs["rules"])


def check_direction(policy: dict, source: str, destination: str, source_key: str, destination_key: str,
                    source_region: str, destination_region: str) -> None:
    found = statements(policy)
    decrypt = found["DecryptSource"]
    assert decrypt["Action"] == ["kms:Decrypt"] and decrypt["Resource"] == [source_key]
    assert decrypt["Condition"]["StringLike"] == {
        "kms:ViaService": f"s3.{source_region}.amazonaws.com",
        "kms:EncryptionContext:aws:s3:arn": [f"arn:aws:s3:::{source}"]}  # the bucket ARN, not {arn}/*
    replica = found["EncryptReplica"]
    assert set(replica["Action"]) == {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"}
    assert replica["Resource"] == [destination_key]
    assert replica["Condition"]["StringLike"] == {
        "kms:ViaService": f"s3.{destination_region}.amazonaws.com",
        "kms:EncryptionContext:aws:s3:arn": [f"arn:aws:s3:::{destination}"]}


def test_a_to_b_grants_what_bucket_keys_need(primary_plan: Plan) -> None:
    policies = replication_policies(primary_plan)
    for spec in load_stack_settings("primary").buckets:
        check_direction(policies[f"replication-{spec.name}-a-to-b"], f"{spec.name}-us-east-1",
                        f"{spec.name}-us-west-2", primary_plan.outputs["kmsPrimaryKeyArn"],
                        primary_plan.outputs["kmsReplicaKeyArn"], "us-east-1", "us-west-2")


def test_b_to_a_grants_what_bucket_keys_need(primary_plan: Plan, dr_plans: dict) -> None:
    for (posture, failover), plan in dr_plans.items():
        policies = replication_policies(plan)
        if not failover:
            assert policies == {}, posture
            continue
        for spec in load_stack_settings("dr").buckets:
            check_direction(policies[f"replication-{spec.name}-b-to-a"], f"{spec.name}-us-west-2",
                            f"{spec.name}-us-east-1", primary_plan.outputs["kmsReplicaKeyArn"],
                            primary_plan.outputs["kmsPrimaryKeyArn"], "us-west-2", "us-east-1")


def failure_alarms(plan: Plan) -> dict[str, dict]:
    return {r.name: r for r in plan.by_type(ALARM) if r.inputs["metricName"] == "OperationsFailedReplication"}


def check_failure_alarm(alarm, source: str, destination: str, region: str, topic_arn: str) -> None:
    assert alarm.region == region  # S3 publishes replication metrics in the source bucket's region
    assert alarm.inputs["namespace"] == "AWS/S3"
    assert alarm.inputs["dimensions"] == {"SourceBucket": source, "DestinationBucket": destination,
                                          "RuleId": REPLICATION_RULE_ID}
    # One failed operation is already a lost object: no waiting for 3 bad minutes out of 5.
    assert (alarm.inputs["statistic"], alarm.inputs["comparisonOperator"], alarm.inputs["threshold"]) == \
        ("Sum", "GreaterThanThreshold", 0)
    assert alarm.inputs["evaluationPeriods"] == alarm.inputs["datapointsToAlarm"] == 1
    assert alarm.inputs["alarmActions"] == [topic_arn]


def test_failed_replication_alarms_in_each_direction(primary_plan: Plan, dr_plans: dict) -> None:
    buckets = load_stack_settings("primary").buckets
    found = failure_alarms(primary_plan)
    assert set(found) == {f"replication-alarms-a-s3-{b.name}-a-to-b-failed" for b in buckets}
    for spec in buckets:
        check_failure_alarm(found[f"replication-alarms-a-s3-{spec.name}-a-to-b-failed"], f"{spec.name}-us-east-1",
                            f"{spec.name}-us-west-2", "us-east-1", primary_plan.outputs["alertsTopicArn"])
    for (posture, failover), plan in dr_plans.items():
        found = failure_alarms(plan)
        if not failover:  # B replicates nothing while A writes
            assert found == {}, posture
            continue
        assert set(found) == {f"replication-alarms-b-s3-{b.name}-b-to-a-failed" for b in buckets}, posture
        for spec in buckets:
            check_failure_alarm(found[f"replication-alarms-b-s3-{spec.name}-b-to-a-failed"],
                                f"{spec.name}-us-west-2", f"{spec.name}-us-east-1", "us-west-2",
                                plan.outputs["alertsTopicArn"])


def test_every_replication_rule_publishes_the_metric_its_alarm_watches(primary_plan: Plan, dr_plans: dict) -> None:
    """OperationsFailedReplication exists only for rules with replication metrics (or RTC) enabled."""
    for plan in (primary_plan, *dr_plans.values()):
        for config in plan.by_type(REPLICATION):
            (rule,) = config.inputs["rules"]
            assert rule["id"] == REPLICATION_RULE_ID
            assert rule["destination"]["metrics"]["status"] == "Enabled"
