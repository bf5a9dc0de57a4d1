"""Detection that survives region A: the dr stack's canary runs in B, probes A's endpoint on its critical paths,
keeps its artifacts under B's key, holds a least-privilege role, and alarms in B into B's alerts topic."""
from __future__ import annotations

import base64
import io
import json
import zipfile

import pytest
from typer.testing import CliRunner

from components.canary import NAMESPACE, PROBE_OF_A, SCRIPT_PATH
from ops.drctl.cli import app
from ops.drctl.planning.mockplan import Plan, plan_stack
from stacks.config_files import load_stack_settings

CANARY = "aws:synthetics/canary:Canary"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def canary_of(plan: Plan):
    (canary,) = plan.by_type(CANARY)
    return canary


def sibling(plan: Plan, canary, type_: str):
    (found,) = [r for r in plan.by_type(type_) if r.parent == canary.parent]
    return found


def script_of(plan: Plan, canary) -> str:
    code = sibling(plan, canary, "aws:s3/bucketObjectv2:BucketObjectv2")
    assert code.inputs["key"] == canary.inputs["s3Key"]
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(code.inputs["contentBase64"]))) as archive:
        return archive.read(SCRIPT_PATH).decode()


def test_the_canary_runs_in_b_probing_as_endpoint_on_the_health_path_every_minute(dr_plans: dict) -> None:
    settings = load_stack_settings("dr")
    for plan in dr_plans.values():  # every posture, and after failover (then it watches A recover)
        canary = canary_of(plan)
        assert canary.region == settings.dr_region
        assert canary.inputs["name"] == PROBE_OF_A and len(PROBE_OF_A) <= 21
        assert canary.inputs["runtimeVersion"].startswith("syn-nodejs-puppeteer-")
        assert canary.inputs["handler"] == "canary.handler" and canary.inputs["startCanary"] is True
        assert canary.inputs["schedule"] == {"expression": "rate(1 minute)"}
        script = script_of(plan, canary)
        assert f"const HOST = {json.dumps(settings.dns.primary_endpoint)};" in script
        assert f"const PATHS = {json.dumps([settings.dns.health_check_path])};" in script
        assert "require('https')" in script and "port: 443" in script


def test_configured_paths_and_rate_reach_the_canary() -> None:
    plan = plan_stack("dr", ['detection.canaryPaths=["/healthz", "/v1/payments/health"]',
                             "detection.canaryRateMinutes=5"])
    canary = canary_of(plan)
    assert canary.inputs["schedule"] == {"expression": "rate(5 minutes)"}
    assert 'const PATHS = ["/healthz", "/v1/payments/health"];' in script_of(plan, canary)
    (alarm,) = [a for a in plan.by_type(ALARM) if a.inputs["namespace"] == NAMESPACE]
    assert alarm.inputs["period"] == 300  # one datapoint per run


def test_artifacts_are_encrypted_with_bs_key_in_a_private_versioned_expiring_bucket(primary_plan: Plan,
                                                                                     dr_plan: Plan) -> None:
    b_key = primary_plan.outputs["kmsReplicaKeyArn"]
    assert ":us-west-2:" in b_key
    canary = canary_of(dr_plan)
    assert canary.inputs["artifactConfig"] == {"s3Encryption": {"encryptionMode": "SSE_KMS", "kmsKeyArn": b_key}}
    bucket = sibling(dr_plan, canary, "aws:s3/bucket:Bucket")
    assert bucket.region == "us-west-2"
    assert canary.inputs["artifactS3Location"].startswith(f"s3://{bucket.inputs['bucket']}/runs/{PROBE_OF_A}/")
    sse = sibling(dr_plan, canary, "aws:s3/bucketServerSideEncryptionConfiguration:"
                                   "BucketServerSideEncryptionConfiguration")
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms",
                                                                             "kmsMasterKeyId": b_key}
    versioning = sibling(dr_plan, canary, "aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}
    block = sibling(dr_plan, canary, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(block.inputs[f] is True for f in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                                  "restrictPublicBuckets"))
    lifecycle = sibling(dr_plan, canary, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    (expiry,) = lifecycle.inputs["rules"]
    assert expiry["status"] == "Enabled" and expiry["expiration"]["days"] > 0
    code = sibling(dr_plan, canary, "aws:s3/bucketObjectv2:BucketObjectv2")
    assert (code.inputs["serverSideEncryption"], code.inputs["kmsKeyId"]) == ("aws:kms", b_key)


def test_the_execution_role_may_do_only_what_a_canary_needs(primary_plan: Plan, dr_plan: Plan) -> None:
    canary = canary_of(dr_plan)
    role = sibling(dr_plan, canary, "aws:iam/role:Role")
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "lambda.amazonaws.com"} and trust["Action"] == "sts:AssumeRole"
    assert role.inputs["name"] == f"dr-platform-{PROBE_OF_A}-us-west-2"
    assert sibling(dr_plan, canary, "aws:iam/rolePolicy:RolePolicy").inputs["role"] == role.inputs["name"]
    assert not [r for r in dr_plan.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                if r.parent == canary.parent]  # no managed policy widens it
    statements = json.loads(sibling(dr_plan, canary, "aws:iam/rolePolicy:RolePolicy").inputs["policy"])["Statement"]
    bucket_arn = sibling(dr_plan, canary, "aws:s3/bucket:Bucket").inputs["bucket"]
    grants = {s["Sid"]: s for s in statements}
    assert all(s["Effect"] == "Allow" and "*" not in json.dumps(s["Action"]) for s in statements)
    assert grants["WriteArtifacts"]["Action"] == "s3:PutObject"
    assert grants["WriteArtifacts"]["Resource"].endswith(f"{bucket_arn}/runs/{PROBE_OF_A}/*")
    assert grants["FindTheArtifactBucket"]["Action"] == "s3:GetBucketLocation"
    assert grants["EncryptArtifacts"]["Resource"] == primary_plan.outputs["kmsReplicaKeyArn"]
    assert grants["WriteRunLogs"]["Resource"].startswith("arn:aws:logs:us-west-2:")
    metrics = grants["PublishCanaryMetrics"]
    assert metrics["Action"] == "cloudwatch:PutMetricData"
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": NAMESPACE}}
    assert set(grants) == {"WriteArtifacts", "FindTheArtifactBucket", "EncryptArtifacts", "WriteRunLogs",
                           "PublishCanaryMetrics"}  # no X-Ray: tracing is off
    assert canary.inputs["runConfig"]["activeTracing"] is False


def test_a_failing_or_silent_canary_alarms_in_b_into_bs_alerts_topic(dr_plans: dict) -> None:
    for plan in dr_plans.values():
        canary = canary_of(plan)
        (alarm,) = [a for a in plan.by_type(ALARM) if a.inputs["namespace"] == NAMESPACE]
        (topic,) = [t for t in plan.by_type("aws:sns/topic:Topic") if "replication-alerts" in t.inputs["name"]]
        assert alarm.region == topic.region == "us-west-2"
        assert alarm.parent == topic.parent  # the dr stack's ReplicationAlarms owns both
        assert alarm.inputs["metricName"] == "SuccessPercent"
        assert alarm.inputs["dimensions"] == {"CanaryName": canary.inputs["name"]}
        assert alarm.inputs["comparisonOperator"] == "LessThanThreshold" and alarm.inputs["threshold"] == 100
        assert alarm.inputs["treatMissingData"] == "breaching"  # a canary that stops running must not go quiet
        topic_arn = plan.outputs["alertsTopicArn"]
        assert alarm.inputs["alarmActions"] == [topic_arn] and alarm.inputs["okActions"] == [topic_arn]


@pytest.mark.parametrize(("override", "key"), [
    ('detection.canaryPaths=["healthz"]', "detection.canaryPaths[0]"),
    ('detection.canaryPaths=["/ok", "/a b"]', "detection.canaryPaths[1]"),
    ("detection.canaryRateMinutes=0", "detection.canaryRateMinutes"),
    ("detection.canaryRateMinutes=61", "detection.canaryRateMinutes"),
    ("detection.canaryEvery=5", "detection.canaryEvery"),
])
def test_bad_detection_config_exits_2_naming_the_key(override: str, key: str) -> None:
    result = CliRunner().invoke(app, ["plan", "dr", "--set", override])
    assert result.exit_code == 2, result.output
    assert f"dr-platform:{key}:" in result.output
