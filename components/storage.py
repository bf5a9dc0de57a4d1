"""S3 buckets that survive a region: versioned, SSE-KMS with the multi-Region key, no public access, TLS only,
old versions expired, and replicated to the other region with Replication Time Control (15 min) and metrics,
delete markers included, by a role that can do nothing else."""
from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.alarms import LagAlarm
from components.base import child, data, service_trust

NONCURRENT_VERSION_DAYS = 90
RTC_MINUTES = 15  # S3 Replication Time Control: 99.99% of objects within 15 minutes
REPLICATION_RULE_ID = "replicate-everything"  # also the RuleId dimension of S3's replication metrics


def tls_only_policy(bucket_arn: str, cloudfront_reader_arn: str | None = None) -> str:
    """TLS-only access; with `cloudfront_reader_arn`, that one distribution may read objects through its origin
    access control (the service principal, pinned to the distribution by AWS:SourceArn)."""
    statements: list[dict] = [{
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]
    if cloudfront_reader_arn:
        statements.append({
            "Sid": "AllowCloudFrontOriginAccessControl", "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject",
            "Resource": f"{bucket_arn}/*", "Condition": {"StringEquals": {"AWS:SourceArn": cloudfront_reader_arn}}})
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


@dataclass
class SecureBucketArgs:
    bucket_name: str
    kms_key_arn: pulumi.Input[str]
    provider: aws.Provider
    tier: str
    # The CloudFront distribution that reads this bucket through origin access control (components/cdn.py).
    cloudfront_reader_arn: pulumi.Input[str] | None = None


def private_encrypted_versioned(owner: pulumi.Resource, name: str, bucket: aws.s3.Bucket,
                                kms_key_arn: pulumi.Input[str], provider: aws.Provider,
                                cloudfront_reader_arn: pulumi.Input[str] | None = None) -> aws.s3.BucketVersioning:
    """What every bucket of the platform has, as children of `owner` named `<name>-...`: versioning, SSE-KMS with
    the region's key and a Bucket Key, all public access blocked, TLS-only access. Returns the versioning (what a
    lifecycle rule or replication must wait for)."""
    versioning = aws.s3.BucketVersioning(f"{name}-versioning", bucket=bucket.id,
                                         versioning_configuration={"status": "Enabled"},
                                         opts=child(owner, provider))
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-sse", bucket=bucket.id,
        rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms",
                                                            "kms_master_key_id": kms_key_arn},
                "bucket_key_enabled": True}],
        opts=child(owner, provider))
    public_block = aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access", bucket=bucket.id, block_public_acls=True, block_public_policy=True,
        ignore_public_acls=True, restrict_public_buckets=True, opts=child(owner, provider))
    # One policy per bucket: a CloudFront reader's grant goes into this one (a second BucketPolicy would replace it).
    policy = (bucket.arn.apply(tls_only_policy) if cloudfront_reader_arn is None else
              pulumi.Output.all(bucket.arn, cloudfront_reader_arn).apply(lambda v: tls_only_policy(v[0], v[1])))
    aws.s3.BucketPolicy(f"{name}-tls-only", bucket=bucket.id, policy=policy,
                        opts=child(owner, provider, depends_on=[public_block]))
    return versioning


class SecureBucket(pulumi.ComponentResource):
    arn: pulumi.Output[str]
    name: pulumi.Output[str]

    def __init__(self, name: str, args: SecureBucketArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("dr-platform:storage:SecureBucket", name, None, opts)
        p = args.provider
        bucket = aws.s3.Bucket(name, bucket=args.bucket_name, force_destroy=False, tags={"tier": args.tier},
                               opts=data(self, p))
        # Replication requires versioning on both sides; everything else hangs off the versioned bucket.
        versioning = private_encrypted_versioned(self, name, bucket, args.kms_key_arn, p,
                                                 args.cloudfront_reader_arn)
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle", bucket=bucket.id,
            rules=[{"id": "expire-noncurrent-versions", "status": "Enabled", "filter": {},
                    "noncurrent_version_expiration": {"noncurrent_days": NONCURRENT_VERSION_DAYS},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 7}}],
            opts=child(self, p, depends_on=[versioning]))
        self.arn = bucket.arn
        self.name = bucket.bucket
        self.regional_domain_name = bucket.bucket_regional_domain_name
        self.versioning = versioning
        self.register_outputs({"arn": self.arn, "name": self.name})


def failed_replication_alarm(bucket: str, direction: str, source_bucket: pulumi.Input[str],
                             destination_bucket: pulumi.Input[str]) -> LagAlarm:
    """Any failed replication operation of the rule pages at once: the object is missing in the other region, and
    S3 does not retry a FAILED object. The metric lives in the source's region (replication metrics are on)."""
    return LagAlarm(name=f"s3-{bucket}-{direction}-failed", namespace="AWS/S3", metric="OperationsFailedReplication",
                    dimensions={"SourceBucket": source_bucket, "DestinationBucket": destination_bucket,
                                "RuleId": REPLICATION_RULE_ID},
                    threshold=0, statistic="Sum", evaluation_periods=1, datapoints_to_alarm=1,
                    what="replication-failed",
                    description=f"S3 {bucket} replication {direction} failed for at least one object (not retried: "
                                "fix the cause, then re-replicate with S3 Batch Replication)")


def replication_role_policy(source_arn: str, destination_arn: str, source_key_arn: str,
                            destination_key_arn: str, source_region: str, destination_region: str) -> str:
    """Least privilege for S3 replication of SSE-KMS objects, as AWS documents it.

    Both buckets use S3 Bucket Keys, so (S3 user guide, "Amazon S3 Bucket Keys and replication") KMS sees the
    bucket ARN as encryption context, not the object's, and the replica key also needs kms:Decrypt (S3 verifies
    the destination's bucket key with it). Without either, every object ends up FAILED, with no lag to alarm on."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "ReadReplicationConfig", "Effect": "Allow",
         "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"], "Resource": [source_arn]},
        {"Sid": "ReadSourceVersions", "Effect": "Allow",
         "Action": ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"],
         "Resource": [f"{source_arn}/*"]},
        {"Sid": "WriteReplicas", "Effect": "Allow",
         "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
         "Resource": [f"{destination_arn}/*"]},
        {"Sid": "DecryptSource", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [source_key_arn],
         "Condition": {"StringLike": {"kms:ViaService": f"s3.{source_region}.amazonaws.com",
                                      "kms:EncryptionContext:aws:s3:arn": [source_arn]}}},
        {"Sid": "EncryptReplica", "Effect": "Allow",
         "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], "Resource": [destination_key_arn],
         "Condition": {"StringLike": {"kms:ViaService": f"s3.{destination_region}.amazonaws.com",
                                      "kms:EncryptionContext:aws:s3:arn": [destination_arn]}}},
    ]})


@dataclass
class BucketReplicationArgs:
    source_bucket: pulumi.Input[str]
    source_arn: pulumi.Input[str]
    source_key_arn: pulumi.Input[str]
    source_region: str
    destination_arn: pulumi.Input[str]
    destination_key_arn: pulumi.Input[str]
    destination_region: str
    provider: aws.Provider  # the source bucket's region
    depends_on: list[pulumi.Resource] | None = None


class BucketReplication(pulumi.ComponentResource):
    """Replication of one bucket into another region: the primary stack runs A → B; after failover the dr stack
    runs B → A, so failback finds everything written in B."""

    def __init__(self, name: str, args: BucketReplicationArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("dr-platform:storage:BucketReplication", name, None, opts)
        role = aws.iam.Role(f"{name}-role", description="S3 replication for dr-platform",
                            assume_role_policy=service_trust("s3.amazonaws.com"),
                            opts=child(self, args.provider))
        policy = aws.iam.RolePolicy(
            f"{name}-policy", role=role.id,
            policy=pulumi.Output.all(args.source_arn, args.destination_arn, args.source_key_arn,
                                     args.destination_key_arn).apply(
                lambda a: replication_role_policy(a[0], a[1], a[2], a[3], args.source_region,
                                                  args.destination_region)),
            opts=child(self, args.provider))
        aws.s3.BucketReplicationConfig(
            f"{name}-config", bucket=args.source_bucket, role=role.arn,
            rules=[{
                "id": REPLICATION_RULE_ID, "status": "Enabled", "priority": 1, "filter": {},
                "delete_marker_replication": {"status": "Enabled"},
                "source_selection_criteria": {"sse_kms_encrypted_objects": {"status": "Enabled"},
                                              "replica_modifications": {"status": "Enabled"}},
                "destination": {
                    "bucket": args.destination_arn, "storage_class": "STANDARD",
                    "encryption_configuration": {"replica_kms_key_id": args.destination_key_arn},
                    "replication_time": {"status": "Enabled", "time": {"minutes": RTC_MINUTES}},
                    "metrics": {"status": "Enabled", "event_threshold": {"minutes": RTC_MINUTES}},
                },
            }],
            opts=child(self, args.provider, depends_on=[policy, *(args.depends_on or [])]))
        self.register_outputs({})
