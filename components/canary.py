"""Detection that survives the region it watches: a CloudWatch Synthetics canary in region B probes region A's
critical paths over HTTPS and alarms in B into B's alerts topic. Route53's health-check metrics live only in
us-east-1 (region A), so an alarm on them would go quiet exactly when A is down; the canary's SuccessPercent is
published in B.

Its artifacts (screenshots, HAR files, logs) go to a bucket of its own in B: SSE-KMS with B's key, versioned, no
public access, TLS only, expired after ARTIFACT_DAYS. The execution role may do what AWS's canary docs list and
nothing else: write under its artifact prefix, find the bucket's region, write its Lambda's logs, use the key for
those writes, and put metrics into the CloudWatchSynthetics namespace only. No X-Ray: tracing is off.
"""
from __future__ import annotations

import base64
import io
import json
import zipfile
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.alarms import LagAlarm
from components.base import child, data
from components.storage import private_encrypted_versioned
from ops.core import naming
from ops.core.environments import PROJECT

# A current Node.js runtime (CloudWatch Synthetics runtime versions, 2025): its `synthetics` library makes one
# step per path, so a failing path is named in the run's report.
RUNTIME_VERSION = "syn-nodejs-puppeteer-10.0"
HANDLER = "canary.handler"  # nodejs/node_modules/canary.js, exporting handler
SCRIPT_PATH = "nodejs/node_modules/canary.js"
NAMESPACE = "CloudWatchSynthetics"
PROBE_OF_A = naming.CANARY_OF_A  # the canary's name, its metric's CanaryName
ARTIFACT_DAYS = 30  # a month of runs is enough to read an incident back
TIMEOUT_SECONDS = 30
SUCCESS_THRESHOLD_PERCENT = 100  # one failed run of the minute is a failed minute
EVALUATION_PERIODS = 3
DATAPOINTS_TO_ALARM = 3  # three failed minutes in a row: a blip does not declare an outage


@dataclass
class CanaryArgs:
    name: str  # the canary's own name: 1-21 chars of [0-9a-z_-]
    region: str  # where the canary runs (B)
    target_host: str  # A's endpoint
    paths: list[str]
    rate_minutes: int
    bucket_name: pulumi.Input[str]  # bucket names are global: the stack adds region and account
    kms_key_arn: pulumi.Input[str]  # B's key
    account_id: pulumi.Input[str]
    provider: aws.Provider
    role_prefix: str = PROJECT  # its role's `<prefix>-<name>-<region>` (IAM names are the account's)


def probe_script(host: str, paths: list[str]) -> str:
    """One HTTPS GET per path; any status outside 2xx fails the step and so the run."""
    return f"""const synthetics = require('Synthetics');
const log = require('SyntheticsLogger');
const https = require('https');

const HOST = {json.dumps(host)};
const PATHS = {json.dumps(paths)};

function get(path) {{
  return new Promise((resolve, reject) => {{
    const request = https.request({{hostname: HOST, port: 443, path, method: 'GET', timeout: 10000}}, (response) => {{
      response.resume();
      if (response.statusCode >= 200 && response.statusCode < 300) {{
        resolve(response.statusCode);
      }} else {{
        reject(new Error(`${{path}} answered ${{response.statusCode}}`));
      }}
    }});
    request.on('timeout', () => request.destroy(new Error(`${{path}} timed out`)));
    request.on('error', reject);
    request.end();
  }});
}}

exports.handler = async () => {{
  for (const path of PATHS) {{
    await synthetics.executeStep(`GET ${{path}}`, async () => log.info(`${{path}}: ${{await get(path)}}`));
  }}
}};
"""


def code_zip(script: str) -> str:
    """The script zipped where the Node.js runtime looks for it, base64; a fixed timestamp keeps it reproducible."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo(SCRIPT_PATH, date_time=(2020, 1, 1, 0, 0, 0)), script)
    return base64.b64encode(buffer.getvalue()).decode()


def execution_role_policy(bucket_arn: str, prefix: str, key_arn: str, region: str, account_id: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "WriteArtifacts", "Effect": "Allow", "Action": "s3:PutObject",
         "Resource": f"{bucket_arn}/{prefix}/*"},
        {"Sid": "FindTheArtifactBucket", "Effect": "Allow", "Action": "s3:GetBucketLocation", "Resource": bucket_arn},
        {"Sid": "EncryptArtifacts", "Effect": "Allow", "Action": "kms:GenerateDataKey", "Resource": key_arn},
        {"Sid": "WriteRunLogs", "Effect": "Allow",
         "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": f"arn:aws:logs:{region}:{account_id}:log-group:/aws/lambda/cwsyn-*"},
        {"Sid": "PublishCanaryMetrics", "Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*",
         "Condition": {"StringEquals": {"cloudwatch:namespace": NAMESPACE}}},
    ]})


def schedule_expression(rate_minutes: int) -> str:
    return f"rate({rate_minutes} minute{'s' if rate_minutes > 1 else ''})"


class RegionCanary(pulumi.ComponentResource):
    canary_name: pulumi.Output[str]
    alarm: LagAlarm

    def __init__(self, name: str, args: CanaryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("dr-platform:canary:RegionCanary", name, None, opts)
        p = args.provider
        # The runs are an outage's evidence: kept like data, the lifecycle rule bounds what they cost.
        bucket = aws.s3.Bucket(f"{name}-artifacts", bucket=args.bucket_name, force_destroy=False,
                               opts=data(self, p))
        versioning = private_encrypted_versioned(self, f"{name}-artifacts", bucket, args.kms_key_arn, p)
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-artifacts-lifecycle", bucket=bucket.id,
            rules=[{"id": "expire-canary-artifacts", "status": "Enabled", "filter": {},
                    "expiration": {"days": ARTIFACT_DAYS},
                    "noncurrent_version_expiration": {"noncurrent_days": 1},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 1}}],
            opts=child(self, p, depends_on=[versioning]))
        code = aws.s3.BucketObjectv2(
            f"{name}-code", bucket=bucket.id, key=f"code/{args.name}.zip",
            content_base64=code_zip(probe_script(args.target_host, args.paths)),
            server_side_encryption="aws:kms", kms_key_id=args.kms_key_arn, opts=child(self, p))

        role_name = f"{args.role_prefix}-{args.name}-{args.region}"
        role = aws.iam.Role(f"{name}-role", name=role_name, assume_role_policy=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                    "Principal": {"Service": "lambda.amazonaws.com"}}]}),
            opts=child(self, p))
        prefix = f"runs/{args.name}"
        role_policy = aws.iam.RolePolicy(
            f"{name}-role-policy", role=role.id,
            policy=pulumi.Output.all(bucket.arn, args.kms_key_arn, args.account_id).apply(
                lambda v: execution_role_policy(v[0], prefix, v[1], args.region, v[2])),
            opts=child(self, p))

        canary = aws.synthetics.Canary(
            f"{name}-canary", name=args.name, runtime_version=RUNTIME_VERSION, handler=HANDLER,
            s3_bucket=bucket.bucket, s3_key=code.key, s3_version=code.version_id,
            execution_role_arn=role.arn, artifact_s3_location=bucket.bucket.apply(lambda b: f"s3://{b}/{prefix}/"),
            artifact_config={"s3_encryption": {"encryption_mode": "SSE_KMS", "kms_key_arn": args.kms_key_arn}},
            schedule={"expression": schedule_expression(args.rate_minutes)},
            run_config={"timeout_in_seconds": TIMEOUT_SECONDS, "active_tracing": False},
            start_canary=True, success_retention_period=ARTIFACT_DAYS, failure_retention_period=ARTIFACT_DAYS,
            opts=child(self, p, depends_on=[role_policy]))

        self.canary_name = canary.name
        # The alarm itself belongs to the region's alerts component, which owns the topic (stacks/dr.py).
        self.alarm = LagAlarm(
            name=f"canary-{args.name}", namespace=NAMESPACE, metric="SuccessPercent",
            dimensions={"CanaryName": canary.name}, threshold=SUCCESS_THRESHOLD_PERCENT, statistic="Average",
            period=args.rate_minutes * 60, evaluation_periods=EVALUATION_PERIODS,
            datapoints_to_alarm=DATAPOINTS_TO_ALARM, comparison="LessThanThreshold",
            # No datapoint means the canary did not run: as good as a failed probe, the signal must not go quiet.
            treat_missing_data="breaching", what="probe-failed",
            description=f"Canary in {args.region} cannot reach {args.target_host} ({', '.join(args.paths)}): "
                        "region A may be down")
        self.register_outputs({"canaryName": self.canary_name})
