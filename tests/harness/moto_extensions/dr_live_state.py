"""What `drctl verify` reads that moto 5.2.5 does not keep, added with AWS's documented semantics.

- DynamoDB global tables, version 2019.11.21 (UpdateTable ReplicaUpdates; DescribeTable Replicas): moto ignores
  ReplicaUpdates. Here `Create {RegionName}` makes the replica, a table of the same key schema, attributes, billing
  mode and stream in that region's backend (AWS requires the stream with NEW_AND_OLD_IMAGES: ValidationException
  otherwise), and `Delete {RegionName}` removes it. Every member's DescribeTable lists the other members as
  Replicas [{RegionName, ReplicaStatus}]; a replica is ACTIVE at once (AWS: CREATING for a few minutes). PITR is
  per replica (UpdateContinuousBackups in the replica's region), as on AWS. `set_replica_status` (harness only)
  stands for what AWS reports when a replica goes wrong (CREATION_FAILED, INACCESSIBLE_ENCRYPTION_CREDENTIALS...).
- S3 replication status (HeadObject/GetObject `x-amz-replication-status`): moto stores a replication configuration
  but never replicates and reports no status. Here an object PUT into a bucket with an Enabled rule whose prefix
  filter matches its key starts PENDING (what S3 reports until it has replicated it), and
  `set_replication_status` (harness only) records S3's outcome for the key's current version: COMPLETED or FAILED.
- Metrics AWS services publish (AuroraGlobalDBReplicationLag): `publish_aws_metric` (harness only) adds a datum to
  the region's CloudWatch backend as the service would (through moto's CloudWatchMetricProvider hook, which its
  own services use); PutMetricData would refuse an `AWS/` namespace on AWS.
- GetBucketReplication: moto answers every rule with DeleteMarkerReplication Disabled and an empty prefix filter,
  whatever was put. Here each rule comes back as PutBucketReplication stored it (AWS returns the configuration
  as set), DeleteMarkerReplication Disabled only where the rule left it out.
- AWS Backup copies of DynamoDB tables and S3 buckets: `register_copy` (harness only) leaves in a vault what a
  finished copy job leaves, for any resource type (backup_recovery_points.register_recovery_point makes Aurora's,
  whose recovery point must be a real cluster snapshot for a restore).
- SES Easy DKIM status (GetIdentityDkimAttributes): moto reports every domain identity's DKIM Success at once; on
  AWS it is Pending until SES finds the three CNAME records, and Failed when it gives up (72 h).
  `set_dkim_status` (harness only) stands for what SES found in that region's DNS.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from moto.backup.models import backup_backends
from moto.cloudwatch.models import MetricDatum, cloudwatch_backends
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.common_models import CloudWatchMetricProvider
from moto.dynamodb.exceptions import MockValidationException
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler, DynamoResult
from moto.s3.models import FakeKey, S3Backend, s3_backends
from moto.ses.models import SESBackend, ses_backends
from moto.s3.responses import S3Response
from moto.core.responses import ActionResult

from tests.harness.moto_extensions.backup_recovery_points import _recovery_points

_original_update_table = DynamoHandler.update_table
_original_describe = Table.describe
_original_response_dict = FakeKey.response_dict
_original_put_object = S3Backend.put_object
_original_get_bucket_replication = S3Response.get_bucket_replication

REPLICATION_STATUSES = ("PENDING", "COMPLETED", "FAILED", "REPLICA")


# ---- DynamoDB global tables ------------------------------------------------------------------------------------

def _group(table: Table) -> dict[str, dict[str, Any]]:
    """region → {"table", "status"}: the replication group this table belongs to (shared by every member)."""
    if "_dr_group" not in table.__dict__:
        table.__dict__["_dr_group"] = {table.region_name: {"table": table, "status": "ACTIVE"}}
    return table.__dict__["_dr_group"]


def _create_replica(table: Table, region: str) -> None:
    group = _group(table)
    if region in group:
        raise MockValidationException(f"Failed to create the new replica of table with name: '{table.name}' "
                                      f"because one or more replicas already existed as tables.")
    stream = table.stream_specification or {}
    if not (stream.get("StreamEnabled") and stream.get("StreamViewType") == "NEW_AND_OLD_IMAGES"):
        raise MockValidationException("Table must have streams enabled with NEW_AND_OLD_IMAGES to add a replica")
    backend = dynamodb_backends[table.account_id][region]
    replica = backend.create_table(
        name=table.name, schema=table.schema, throughput=table.throughput, attr=table.attr, global_indexes=None,
        indexes=None, streams=dict(stream), billing_mode=table.billing_mode, sse_specification=None, tags=[],
        deletion_protection_enabled=None, warm_throughput=None)
    group[region] = {"table": replica, "status": "ACTIVE"}
    replica.__dict__["_dr_group"] = group


def _delete_replica(table: Table, region: str) -> None:
    group = _group(table)
    if region not in group or region == table.region_name:
        raise MockValidationException(f"Replica for table {table.name} in {region} does not exist")
    dynamodb_backends[table.account_id][region].tables.pop(table.name, None)
    del group[region]


def _update_table(self: DynamoHandler) -> Any:
    updates = self.body.get("ReplicaUpdates")
    if updates:
        table = self.dynamodb_backend.get_table(self.body["TableName"])
        for update in updates:
            if "Create" in update:
                _create_replica(table, update["Create"]["RegionName"])
            elif "Delete" in update:
                _delete_replica(table, update["Delete"]["RegionName"])
        rest = {k: v for k, v in self.body.items() if k not in ("TableName", "ReplicaUpdates")}
        if not rest:
            return DynamoResult(table.describe())
    return _original_update_table(self)


def _describe(self: Table, base_key: str = "TableDescription") -> dict[str, Any]:
    result = _original_describe(self, base_key=base_key)
    group = self.__dict__.get("_dr_group")
    if group and len(group) > 1:
        result[base_key]["Replicas"] = [{"RegionName": region, "ReplicaStatus": member["status"]}
                                        for region, member in sorted(group.items()) if region != self.region_name]
    return result


def set_replica_status(table: str, region: str, status: str, *, source_region: str = "us-east-1",
                       account_id: str = DEFAULT_ACCOUNT_ID) -> None:
    """Report the replica of `table` in `region` with ReplicaStatus `status` (as AWS would when it fails)."""
    group = _group(dynamodb_backends[account_id][source_region].get_table(table))
    group[region]["status"] = status


# ---- S3 replication status -------------------------------------------------------------------------------------

def _rule_prefix(rule: dict[str, Any]) -> str | None:
    filter_ = rule.get("Filter") or {}
    if "Prefix" in rule:
        return rule.get("Prefix") or ""
    if "Prefix" in filter_:
        return filter_.get("Prefix") or ""
    if "And" in filter_:
        return (filter_["And"] or {}).get("Prefix") or ""
    return ""


def _replicates(bucket: Any, key: str) -> bool:
    config = getattr(bucket, "replication", None) or {}
    rules = config.get("Rule") or []
    rules = [rules] if isinstance(rules, dict) else rules
    return any(rule.get("Status") == "Enabled" and key.startswith(_rule_prefix(rule) or "") for rule in rules)


def _put_object(self: S3Backend, bucket_name: str, key_name: str, *args: Any, **kwargs: Any) -> FakeKey:
    key = _original_put_object(self, bucket_name, key_name, *args, **kwargs)
    if _replicates(self.get_bucket(bucket_name), key_name):
        key.__dict__["_dr_replication_status"] = "PENDING"
    return key


def _response_dict(self: FakeKey) -> dict[str, Any]:
    headers = _original_response_dict.fget(self)  # type: ignore[attr-defined]
    status = self.__dict__.get("_dr_replication_status")
    if status:
        headers["x-amz-replication-status"] = status
    return headers


def _get_bucket_replication(self: S3Response) -> Any:
    self.data["Action"] = "GetBucketReplication"
    replication = self.backend.get_bucket_replication(self.bucket_name)
    if not replication:
        return _original_get_bucket_replication(self)  # ReplicationConfigurationNotFoundError, as moto raises it
    rules = [{"DeleteMarkerReplication": {"Status": "Disabled"}, **rule} for rule in replication["Rule"]]
    return self.serialized(ActionResult({"ReplicationConfiguration": {"Role": replication["Role"],
                                                                      "Rules": rules}}))


def set_replication_status(bucket: str, key: str, status: str, *, account_id: str = DEFAULT_ACCOUNT_ID) -> None:
    """S3's replication outcome for the current version of `key` (COMPLETED once copied, FAILED when it cannot be;
    S3 does not retry a FAILED object)."""
    if status not in REPLICATION_STATUSES:
        raise ValueError(f"{status!r}: S3 reports one of {', '.join(REPLICATION_STATUSES)}")
    backend = s3_backends[account_id]["aws"]
    backend.get_object(bucket, key).__dict__["_dr_replication_status"] = status


# ---- metrics AWS publishes, and backup copies ------------------------------------------------------------------

class _PublishedByAws(CloudWatchMetricProvider):
    """moto's hook for metrics AWS services publish: each region's CloudWatch backend asks its providers."""

    @staticmethod
    def get_cloudwatch_metrics(account_id: str, region: str) -> list[MetricDatum]:
        return _published(cloudwatch_backends[account_id][region])


def _published(backend: Any) -> list[MetricDatum]:
    # Kept on the backend instance, so moto's reset (new backends) forgets them.
    return backend.__dict__.setdefault("_dr_published_by_aws", [])


def publish_aws_metric(region: str, namespace: str, metric: str, dimensions: dict[str, str], value: float, *,
                       timestamp: datetime | None = None, unit: str | None = None,
                       account_id: str = DEFAULT_ACCOUNT_ID) -> None:
    """One datapoint of an AWS service's metric in `region` (default: a minute ago, inside any recent window)."""
    moment = timestamp or datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=60)
    moment = moment.astimezone(timezone.utc).replace(tzinfo=None)  # moto compares naive UTC times
    _published(cloudwatch_backends[account_id][region]).append(MetricDatum(
        namespace=namespace, name=metric, value=float(value),
        dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()], timestamp=moment, unit=unit))


def register_copy(region: str, vault_name: str, resource_type: str, resource_arn: str, *, creation_date: datetime,
                  status: str = "COMPLETED", account_id: str = DEFAULT_ACCOUNT_ID) -> dict[str, Any]:
    """A copy job's recovery point of `resource_arn` (which a copy keeps: the source's ARN) in the vault."""
    vault = backup_backends[account_id][region].describe_backup_vault(vault_name)
    service = {"DynamoDB": "dynamodb", "S3": "backup", "Aurora": "rds"}.get(resource_type, "backup")
    point: dict[str, Any] = {
        "RecoveryPointArn": f"arn:aws:{service}:{region}:{account_id}:recovery-point:{uuid.uuid4()}",
        "BackupVaultName": vault.backup_vault_name, "BackupVaultArn": vault.backup_vault_arn,
        "ResourceArn": resource_arn, "ResourceType": resource_type, "Status": status,
        "CreationDate": creation_date, "IsEncrypted": True, "VaultType": "BACKUP_VAULT"}
    if status == "COMPLETED":
        point["CompletionDate"] = creation_date
    _recovery_points(backup_backends[account_id][region]).append(point)
    vault.num_of_recovery_points += 1
    return point


def backdate_copies(region: str, resource_arn: str, created: datetime, *,
                    account_id: str = DEFAULT_ACCOUNT_ID) -> int:
    """Make every recovery point of `resource_arn` in the region's vaults as old as `created` (no copy job ran
    since); the number changed."""
    points = [p for p in _recovery_points(backup_backends[account_id][region]) if p["ResourceArn"] == resource_arn]
    for point in points:
        point["CreationDate"] = created
        if "CompletionDate" in point:
            point["CompletionDate"] = created
    return len(points)


_original_dkim_attributes = SESBackend.get_identity_dkim_attributes


def set_dkim_status(region: str, domain: str, status: str, *, account_id: str = DEFAULT_ACCOUNT_ID) -> None:
    """What SES reports of the domain's DKIM records in this region: Pending, Failed, TemporaryFailure, Success."""
    backend = ses_backends[account_id][region]
    backend._drctl_dkim = {**getattr(backend, "_drctl_dkim", {}), domain: status}


def _dkim_attributes(self: SESBackend, identities: list[str]) -> dict[str, dict[str, Any]]:
    found = _original_dkim_attributes(self, identities)
    for identity, status in getattr(self, "_drctl_dkim", {}).items():
        if identity in found:
            found[identity]["DkimVerificationStatus"] = status
    return found


def install() -> None:
    SESBackend.get_identity_dkim_attributes = _dkim_attributes  # type: ignore[method-assign]
    DynamoHandler.update_table = _update_table  # type: ignore[method-assign]
    Table.describe = _describe  # type: ignore[method-assign]
    S3Backend.put_object = _put_object  # type: ignore[method-assign]
    FakeKey.response_dict = property(_response_dict)  # type: ignore[assignment]
    S3Response.get_bucket_replication = _get_bucket_replication  # type: ignore[method-assign]
