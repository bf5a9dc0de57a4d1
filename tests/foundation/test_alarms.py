"""Replication alarms: every replicated store alarms in the region its lag metric is published in, at half its
tier's RPO (S3: or at RTC's 15 minutes, if sooner), into that region's encrypted alerts topic that CloudWatch may
use."""
from __future__ import annotations

import json

from components.storage import REPLICATION_RULE_ID, RTC_MINUTES
from ops.drctl.planning.mockplan import Plan, plan_stack
from stacks.config_files import load_stack_settings

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"


def alarms(plan: Plan) -> dict[str, dict]:
    """The replication alarms (the canary's alarm is test_canary.py's)."""
    return {r.name: r for r in plan.by_type(ALARM) if r.inputs["namespace"] != "CloudWatchSynthetics"}


def test_primary_alarms_on_s3_and_dynamodb_lag_at_half_the_tier_rpo(primary_plan: Plan) -> None:
    settings = load_stack_settings("primary")
    found = alarms(primary_plan)
    # per bucket a lag alarm and a failed-replication alarm (test_replication_kms.py), per table a lag alarm
    assert len(found) == 2 * len(settings.buckets) + len(settings.tables)
    replication = {r.inputs["bucket"]: r.inputs["rules"][0]["id"]
                   for r in primary_plan.by_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig")}
    for spec in settings.buckets:
        alarm = found[f"replication-alarms-a-s3-{spec.name}-a-to-b"]
        assert (alarm.inputs["namespace"], alarm.inputs["metricName"]) == ("AWS/S3", "ReplicationLatency")
        source, destination = f"{spec.name}-us-east-1", f"{spec.name}-us-west-2"
        assert alarm.inputs["dimensions"] == {"SourceBucket": source, "DestinationBucket": destination,
                                              "RuleId": REPLICATION_RULE_ID}
        assert replication[source] == REPLICATION_RULE_ID  # the metric's RuleId is the rule that exists
        # seconds: whichever comes first of half the RPO and the 15 minutes RTC promises (a standard bucket's half
        # RPO is 30 min, and an object late past RTC's promise is news worth paging for)
        half_rpo_s = settings.objectives.for_tier(spec.tier).rpo_minutes * 60 / 2
        assert alarm.inputs["threshold"] == min(half_rpo_s, RTC_MINUTES * 60)
        assert alarm.region == "us-east-1"  # S3 publishes replication metrics in the source region
    for spec in settings.tables:
        alarm = found[f"replication-alarms-a-dynamodb-{spec.name}-a-to-b"]
        assert (alarm.inputs["namespace"], alarm.inputs["metricName"]) == ("AWS/DynamoDB", "ReplicationLatency")
        assert alarm.inputs["dimensions"] == {"TableName": spec.name, "ReceivingRegion": "us-west-2"}
        assert alarm.inputs["threshold"] == settings.objectives.for_tier(spec.tier).rpo_minutes * 60_000 / 2  # ms
        assert alarm.region == "us-east-1"


def test_every_alarm_pages_through_its_regions_encrypted_topic(primary_plan: Plan, dr_plans: dict) -> None:
    for plan in (primary_plan, *dr_plans.values()):
        (topic,) = plan.by_type(TOPIC)
        key = next(k for k in plan.by_type("aws:kms/key:Key") if k.parent == topic.parent)
        assert topic.inputs["kmsMasterKeyId"].startswith(f"arn:aws:kms:{topic.region}:")
        statements = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}
        cloudwatch = statements["CloudWatchPublishesAlarmsToTheTopic"]
        assert cloudwatch["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
        assert set(cloudwatch["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}  # nothing more
        assert "Condition" not in cloudwatch  # as AWS documents it (test_alert_subscribers.py)
        assert plan.outputs["alertsTopicArn"].endswith(f":dr-platform-replication-alerts-{topic.region}")
        for alarm in plan.by_type(ALARM):
            assert alarm.region == topic.region
            assert alarm.inputs["alarmActions"] == alarm.inputs["okActions"] == [plan.outputs["alertsTopicArn"]]
            if alarm.inputs["namespace"] == "CloudWatchSynthetics":
                continue  # the canary's alarm fires on a low SuccessPercent and on silence (test_canary.py)
            assert alarm.inputs["treatMissingData"] == "notBreaching"  # no writes is not lag
            assert alarm.inputs["comparisonOperator"] == "GreaterThanThreshold"


def test_dr_alarms_on_the_secondarys_lag_until_b_writes(dr_plans: dict) -> None:
    for (posture, failover), plan in dr_plans.items():
        found = alarms(plan)
        if failover:  # B is the writer: B -> A replication is watched instead
            assert "replication-alarms-b-aurora-us-west-2" not in found, posture
            assert {f"replication-alarms-b-s3-{b}-b-to-a{kind}" for b in ("creator-media", "creator-kyc-documents")
                    for kind in ("", "-failed")} == set(found), posture
            media = found["replication-alarms-b-s3-creator-media-b-to-a"]
            assert media.inputs["dimensions"]["SourceBucket"] == "creator-media-us-west-2"
            assert media.inputs["dimensions"]["DestinationBucket"] == "creator-media-us-east-1"
        else:
            (aurora,) = found.values()
            assert aurora.name == "replication-alarms-b-aurora-us-west-2"
            assert (aurora.inputs["namespace"], aurora.inputs["metricName"]) == \
                ("AWS/RDS", "AuroraGlobalDBReplicationLag")
            assert aurora.inputs["dimensions"] == {"DBClusterIdentifier": "dr-core-us-west-2"}
            assert aurora.inputs["threshold"] == 5 * 60_000 / 2  # half the critical RPO, in ms


def test_thresholds_follow_the_objectives() -> None:
    plan = plan_stack("dr", ["objectives.critical.rpoMinutes=2", "objectives.critical.rtoMinutes=60"])
    (aurora,) = alarms(plan).values()
    assert aurora.inputs["threshold"] == 60_000
