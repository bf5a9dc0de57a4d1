"""Starting AWS states for RB-N-02 and RB-N-03, built with boto3 against moto's server, and a drctl runner.

Aurora: the global database `dr-core` with the writer `dr-core-us-east-1` configured the way a restore must keep
(own subnet group, security group, KMS key, IAM auth, deletion protection, copy-tags, tags) and a writer instance
of a class other than the stack default, so the tests can tell copied settings from defaults.

S3: the versioned bucket `media-us-east-1` with deletions on both sides of the `since` time (S3 reports
LastModified in whole seconds, so `since` is a whole second that the "before" deletions precede) and a
CloudFront distribution in front of it.
"""
from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ops.actions import aws as aws_clients
from ops.drctl.cli import app
from ops.drctl.runbooks.engine import Journal
from tests.harness.aurora import GLOBAL_ID, PRIMARY

SOURCE = f"{GLOBAL_ID}-{PRIMARY}"
WRITER_CLASS = "db.r6g.xlarge"  # the stack default is db.r6g.large: a copied class is visible
BUCKET = "media-us-east-1"
Drctl = Callable[..., tuple[int, str]]


@functools.lru_cache(maxsize=None)
def client(service: str, region: str):  # noqa: ANN201 (a boto3 client)
    """Clients for building and inspecting the AWS state, made once: a boto3 client costs 0.1-0.5 s to build, and
    the moto server (session-scoped) keeps its endpoint for the whole session."""
    return aws_clients.client(service, region)


@pytest.fixture
def drctl(tmp_path: Path) -> Drctl:
    """Run drctl in-process with journals in tmp_path/runs; returns (exit code, stdout+stderr)."""
    def invoke(*args: str) -> tuple[int, str]:
        result = CliRunner(env={"COLUMNS": "250"}).invoke(app, [*args, "--journal-dir", str(tmp_path / "runs")])
        return result.exit_code, result.output
    return invoke


def flat(output: str) -> str:
    """The output with rich's line wrapping undone, for matching messages."""
    return " ".join(output.split())


def journal_of(output: str) -> Journal:
    return Journal.model_validate(json.loads(output[output.index("{"):]))


@dataclass
class AuroraWorld:
    subnet_group: str
    security_group: str
    kms_key: str

    def clusters(self) -> dict[str, dict]:
        return {c["DBClusterIdentifier"]: c for c in client("rds", PRIMARY).describe_db_clusters()["DBClusters"]}


@pytest.fixture
def aurora(aws: str) -> AuroraWorld:
    ec2, rds, kms = client("ec2", PRIMARY), client("rds", PRIMARY), client("kms", PRIMARY)
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{n}.0/24", AvailabilityZone=f"{PRIMARY}{zone}")
               ["Subnet"]["SubnetId"] for n, zone in enumerate("ab")]
    rds.create_db_subnet_group(DBSubnetGroupName="dr-core-data", DBSubnetGroupDescription="data subnets",
                               SubnetIds=subnets)
    security_group = ec2.create_security_group(GroupName="dr-core-db", Description="db", VpcId=vpc)["GroupId"]
    kms_key = kms.create_key(Description="dr-core storage")["KeyMetadata"]["Arn"]
    rds.create_global_cluster(GlobalClusterIdentifier=GLOBAL_ID, Engine="aurora-postgresql", EngineVersion="15.8",
                              StorageEncrypted=True)
    rds.create_db_cluster(
        DBClusterIdentifier=SOURCE, GlobalClusterIdentifier=GLOBAL_ID, Engine="aurora-postgresql",
        EngineVersion="15.8", MasterUsername="dbadmin", MasterUserPassword="not-a-secret-1",
        DBSubnetGroupName="dr-core-data", VpcSecurityGroupIds=[security_group], StorageEncrypted=True,
        KmsKeyId=kms_key, EnableIAMDatabaseAuthentication=True, DeletionProtection=True, CopyTagsToSnapshot=True,
        Tags=[{"Key": "tier", "Value": "critical"}])
    for n in range(2):
        rds.create_db_instance(DBInstanceIdentifier=f"{SOURCE}-{n}", DBInstanceClass=WRITER_CLASS,
                               Engine="aurora-postgresql", DBClusterIdentifier=SOURCE)
    return AuroraWorld(subnet_group="dr-core-data", security_group=security_group, kms_key=kms_key)


@dataclass
class S3World:
    since: datetime
    distribution_id: str
    versions: dict[str, list[str]] = field(default_factory=dict)  # key → version ids, oldest first

    def current(self, key: str) -> str | None:
        """The current version id, or None when the key reads as deleted."""
        s3 = client("s3", PRIMARY)
        try:
            return s3.head_object(Bucket=BUCKET, Key=key)["VersionId"]
        except s3.exceptions.ClientError:
            return None

    def latest_markers(self) -> list[str]:
        pages = client("s3", PRIMARY).get_paginator("list_object_versions").paginate(Bucket=BUCKET)
        return sorted(m["Key"] for page in pages for m in page.get("DeleteMarkers", []) if m["IsLatest"])


# Keys and what happens to them; "after" deletions are at/after `since`.
RESTORED = ["media/a.jpg", "media/twice.jpg", "media/spaces & ü*?.jpg", *[f"media/bulk/{n:03}.txt" for n in range(24)]]
DELETED_BEFORE = "media/old.jpg"
DELETED_BEFORE_AND_AFTER = "media/again.jpg"
LIVE = "media/live.jpg"
OUTSIDE_PREFIX = "other/x.jpg"


def make_distribution(cloudfront) -> str:
    created = cloudfront.create_distribution(DistributionConfig={
        "CallerReference": "media-cdn", "Comment": "media", "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "s3", "DomainName": f"{BUCKET}.s3.amazonaws.com",
                                               "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "s3", "ViewerProtocolPolicy": "redirect-to-https",
                                 "MinTTL": 0, "ForwardedValues": {"QueryString": False,
                                                                  "Cookies": {"Forward": "none"}},
                                 "TrustedSigners": {"Enabled": False, "Quantity": 0}}})
    return str(created["Distribution"]["Id"])


@pytest.fixture
def media(aws: str) -> S3World:
    s3 = client("s3", PRIMARY)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    versions: dict[str, list[str]] = {}

    def put(key: str, times: int = 1) -> None:
        for n in range(times):
            versions.setdefault(key, []).append(
                s3.put_object(Bucket=BUCKET, Key=key, Body=f"{key} v{n}".encode())["VersionId"])

    for key in (*RESTORED, DELETED_BEFORE, DELETED_BEFORE_AND_AFTER, LIVE, OUTSIDE_PREFIX):
        put(key, 2 if key == "media/a.jpg" else 1)
    s3.delete_object(Bucket=BUCKET, Key=DELETED_BEFORE)
    s3.delete_object(Bucket=BUCKET, Key=DELETED_BEFORE_AND_AFTER)
    since = datetime.fromtimestamp(int(time.time()) + 1, timezone.utc)  # the next whole second
    time.sleep(max(0.0, since.timestamp() - time.time()) + 0.01)
    for key in (*RESTORED, DELETED_BEFORE_AND_AFTER, OUTSIDE_PREFIX):
        s3.delete_object(Bucket=BUCKET, Key=key)
    s3.delete_object(Bucket=BUCKET, Key="media/twice.jpg")  # a second marker on top of the first
    return S3World(since=since, distribution_id=make_distribution(client("cloudfront", PRIMARY)), versions=versions)
