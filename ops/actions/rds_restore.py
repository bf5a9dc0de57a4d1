"""Aurora restores (RB-N-02): a new cluster from a source cluster's continuous backups (point in time) or from a
DB cluster snapshot, plus a writer.

RestoreDBClusterToPointInTime takes the engine and engine version from the backup; everything else a restore
should keep (subnet group, security groups, parameter group, KMS key, IAM auth, deletion protection, copy-tags,
Serverless v2 scaling, log exports, port, tags) is NOT inherited — AWS documents that the new cluster gets the
default security group — so `restore_request` copies each from the source explicitly. The API restores storage
only: the writer instance is a separate CreateDBInstance once the cluster is available.

Restoring a member of a global database yields a standalone regional cluster (not a member), which is what a
PITR is for: a copy to inspect or to repoint the application at, beside the untouched original.

RestoreDBClusterFromSnapshot likewise takes engine, engine version, port, master user and storage from the snapshot
and nothing of the network: the subnet group and security groups come from a cluster of the restore's region
(`placement_of`) or, when none exists there, from the network the Pulumi program names (`network_placement`).
An encrypted snapshot restores encrypted with its own key unless another is given.

Idempotency: every resource made here carries the tag `drctl:run-id=<run id>`. A re-run or resume finds its own
cluster/instance and does not create it again; a same-named resource without that tag belongs to someone else
and is refused (`NameTaken`).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import ClientError

from ops.actions.aurora import cluster_instances, describe_cluster, describe_instance, wait_cluster_available
from ops.actions.aws import error_code
from ops.actions.polling import poll_until
from ops.core import naming

RUN_TAG = "drctl:run-id"
SOURCE_TAG = "drctl:restored-from"


class NameTaken(RuntimeError):
    """A cluster or instance with the new name exists and was not created by this run."""


def restorable_window(cluster: dict[str, Any]) -> tuple[datetime, datetime]:
    """[EarliestRestorableTime, LatestRestorableTime] of a cluster as DescribeDBClusters reports it, in UTC."""
    try:
        earliest, latest = cluster["EarliestRestorableTime"], cluster["LatestRestorableTime"]
    except KeyError:
        raise LookupError(f"DB cluster {cluster.get('DBClusterIdentifier')} reports no restorable window "
                          "(automated backups off?)") from None
    return earliest.astimezone(timezone.utc), latest.astimezone(timezone.utc)


def writer_instance(rds: Any, cluster: dict[str, Any]) -> dict[str, Any] | None:
    """The cluster's writer instance (DescribeDBInstances), or None for a headless cluster."""
    writer_id = next((m["DBInstanceIdentifier"] for m in cluster.get("DBClusterMembers", [])
                      if m.get("IsClusterWriter")), None)
    if writer_id is None:
        return None
    return next((i for i in cluster_instances(rds, cluster["DBClusterIdentifier"])
                 if i["DBInstanceIdentifier"] == writer_id), None)


def copied_settings(source: dict[str, Any]) -> dict[str, Any]:
    """The RestoreDBClusterToPointInTime parameters that keep the source's configuration (JSON-safe)."""
    settings: dict[str, Any] = {
        "Port": source.get("Port"),
        "DBSubnetGroupName": source.get("DBSubnetGroup"),
        "VpcSecurityGroupIds": [g["VpcSecurityGroupId"] for g in source.get("VpcSecurityGroups", [])],
        "DBClusterParameterGroupName": source.get("DBClusterParameterGroup"),
        "KmsKeyId": source.get("KmsKeyId") if source.get("StorageEncrypted") else None,
        "EnableIAMDatabaseAuthentication": bool(source.get("IAMDatabaseAuthenticationEnabled")),
        "DeletionProtection": bool(source.get("DeletionProtection")),
        "CopyTagsToSnapshot": bool(source.get("CopyTagsToSnapshot")),
        "EnableCloudwatchLogsExports": list(source.get("EnabledCloudwatchLogsExports", [])),
        "ServerlessV2ScalingConfiguration": source.get("ServerlessV2ScalingConfiguration"),
    }
    return {key: value for key, value in settings.items() if value not in (None, [], "")}


def restore_tags(kept_from: dict[str, Any] | None, *, run_id: str, restored_from: str) -> list[dict[str, str]]:
    """The cluster's own tags (not an earlier run's drctl: tags) plus this run's id and what it was restored from."""
    kept = [t for t in (kept_from or {}).get("TagList", []) if not t["Key"].startswith("drctl:")]
    return [*kept, {"Key": RUN_TAG, "Value": run_id}, {"Key": SOURCE_TAG, "Value": restored_from}]


def restore_request(*, source: dict[str, Any], new_cluster_id: str, restore_to: str | None,
                    run_id: str) -> dict[str, Any]:
    """The exact RestoreDBClusterToPointInTime parameters: `restore_to` ISO 8601 UTC, or None for the latest."""
    when: dict[str, Any] = ({"RestoreToTime": restore_to} if restore_to else {"UseLatestRestorableTime": True})
    return {"DBClusterIdentifier": new_cluster_id, "SourceDBClusterIdentifier": source["DBClusterIdentifier"],
            **when, **copied_settings(source),
            "Tags": restore_tags(source, run_id=run_id, restored_from=source["DBClusterIdentifier"])}


# ---- restore from a DB cluster snapshot ----------------------------------------------------------------------

# What a snapshot does not carry and a cluster of the restore's region does: where the cluster lives and how it
# is configured. Engine, version, port and master user come from the snapshot; the key is chosen separately.
PLACEMENT_KEYS = ("DBSubnetGroupName", "VpcSecurityGroupIds", "DBClusterParameterGroupName",
                  "EnableCloudwatchLogsExports", "ServerlessV2ScalingConfiguration")


def snapshot_arn_parts(snapshot_id: str) -> tuple[str, str] | None:
    """(region, snapshot name) of a DB cluster snapshot ARN; None for a plain identifier.

    The name is everything after `:cluster-snapshot:`: AWS Backup's names contain colons (`awsbackup:job-...`)."""
    if not snapshot_id.startswith("arn:"):
        return None
    prefix, found, name = snapshot_id.partition(":cluster-snapshot:")
    parts = prefix.split(":")
    if not found or not name or len(parts) < 5 or parts[2] != "rds":
        raise ValueError(f"{snapshot_id!r} is not a DB cluster snapshot ARN "
                         "(arn:aws:rds:REGION:ACCOUNT:cluster-snapshot:NAME)")
    return parts[3], name


def describe_cluster_snapshot(rds: Any, snapshot_id: str) -> dict[str, Any] | None:
    """One DB cluster snapshot by identifier or ARN, or None when the region has none of that name."""
    arn_parts = snapshot_arn_parts(snapshot_id)
    name = arn_parts[1] if arn_parts else snapshot_id
    query: dict[str, Any] = {"DBClusterSnapshotIdentifier": name}
    if name.startswith("rds:"):  # AWS: an automated snapshot's identifier is only found with its SnapshotType
        query["SnapshotType"] = "automated"
    try:
        found = rds.describe_db_cluster_snapshots(**query)["DBClusterSnapshots"]
    except ClientError as exc:
        if error_code(exc) == "DBClusterSnapshotNotFoundFault":
            return None
        raise
    return dict(found[0]) if found else None


def cluster_snapshots_of(rds: Any, cluster_ids: list[str]) -> list[dict[str, Any]]:
    """Every automated or manual DB cluster snapshot in the client's region taken of one of `cluster_ids`, any state.

    Without SnapshotType AWS documents only the account's automated and manual snapshots, and no `awsbackup` type
    for cluster snapshots: AWS Backup's recovery points (and their copies into another region) are found with
    AWS Backup's API instead (ops/actions/backup_points.py)."""
    wanted = {cluster_id.lower() for cluster_id in cluster_ids}
    pages = rds.get_paginator("describe_db_cluster_snapshots").paginate(
        Filters=[{"Name": "db-cluster-id", "Values": list(cluster_ids)}])
    return [dict(snapshot) for page in pages for snapshot in page["DBClusterSnapshots"]
            if snapshot.get("DBClusterIdentifier", "").lower() in wanted]  # the filter, checked


def is_available(snapshot: dict[str, Any]) -> bool:
    return snapshot.get("Status") == "available" and bool(snapshot.get("SnapshotCreateTime"))


def placement_of(cluster: dict[str, Any]) -> dict[str, Any]:
    """The RestoreDBClusterFromSnapshot parameters that put the new cluster where `cluster` is, configured alike."""
    settings = copied_settings(cluster)
    return {key: settings[key] for key in PLACEMENT_KEYS if key in settings}


def network_placement(rds: Any, ec2: Any, *, subnet_group: str, security_group: str) -> dict[str, Any]:
    """The DB subnet group and, in its VPC, the security group of these names; LookupError naming a missing one."""
    try:
        group = rds.describe_db_subnet_groups(DBSubnetGroupName=subnet_group)["DBSubnetGroups"][0]
    except ClientError as exc:
        if error_code(exc) != "DBSubnetGroupNotFoundFault":
            raise
        raise LookupError(f"DB subnet group {subnet_group} does not exist") from None
    found = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [security_group]},
                                                 {"Name": "vpc-id", "Values": [group["VpcId"]]}])
    if not found["SecurityGroups"]:
        raise LookupError(f"security group {security_group} does not exist in {group['VpcId']} "
                          f"(the VPC of DB subnet group {subnet_group})")
    return {"DBSubnetGroupName": subnet_group, "VpcSecurityGroupIds": [found["SecurityGroups"][0]["GroupId"]]}


def snapshot_restore_request(*, snapshot: dict[str, Any], new_cluster_id: str, placement: dict[str, Any],
                             kms_key_id: str | None, run_id: str,
                             kept_tags_from: dict[str, Any] | None = None) -> dict[str, Any]:
    """The exact RestoreDBClusterFromSnapshot parameters. `kms_key_id` None: the snapshot's key when it is
    encrypted (named here so the dry-run shows it; AWS would choose the same). IAM auth, deletion protection and
    copy-tags are always on, as on every cluster the Pulumi program makes (components/aurora.py)."""
    key = kms_key_id or (snapshot.get("KmsKeyId") if snapshot.get("StorageEncrypted") else None)
    request: dict[str, Any] = {
        "DBClusterIdentifier": new_cluster_id, "SnapshotIdentifier": snapshot["DBClusterSnapshotArn"],
        "Engine": snapshot["Engine"], "EngineVersion": snapshot.get("EngineVersion"), **placement,
        "KmsKeyId": key, "EnableIAMDatabaseAuthentication": True, "DeletionProtection": True,
        "CopyTagsToSnapshot": True,
        "Tags": restore_tags(kept_tags_from, run_id=run_id, restored_from=snapshot["DBClusterSnapshotArn"]),
    }
    return {name: value for name, value in request.items() if value not in (None, [], "")}


def writer_request(*, cluster_id: str, instance_class: str, engine: str, run_id: str,
                   publicly_accessible: bool = False) -> dict[str, Any]:
    return {"DBInstanceIdentifier": naming.restored_writer_id(cluster_id), "DBClusterIdentifier": cluster_id,
            "DBInstanceClass": instance_class, "Engine": engine, "PubliclyAccessible": publicly_accessible,
            "Tags": [{"Key": RUN_TAG, "Value": run_id}]}


def _tag(resource: dict[str, Any], key: str) -> str | None:
    return next((t["Value"] for t in resource.get("TagList", []) if t["Key"] == key), None)


def check_name_free(existing: dict[str, Any] | None, kind: str, name: str, run_id: str) -> bool:
    """True when `existing` is this run's own resource (already made); False when the name is free."""
    if existing is None:
        return False
    owner = _tag(existing, RUN_TAG)
    if owner != run_id:
        raise NameTaken(f"{kind} {name} already exists and was not created by this run "
                        f"({RUN_TAG}={owner or 'absent'}, this run {run_id})")
    return True


def restore_cluster(rds: Any, request: dict[str, Any], *, run_id: str) -> dict[str, Any]:
    """RestoreDBClusterToPointInTime unless this run already did it. Returns {"cluster", "created"}."""
    return _restore_once(rds, request, run_id=run_id,
                         restore=lambda: rds.restore_db_cluster_to_point_in_time(**_api_form(request)))


def restore_cluster_from_snapshot(rds: Any, request: dict[str, Any], *, run_id: str) -> dict[str, Any]:
    """RestoreDBClusterFromSnapshot unless this run already did it. Returns {"cluster", "created"}."""
    return _restore_once(rds, request, run_id=run_id, restore=lambda: rds.restore_db_cluster_from_snapshot(**request))


def _restore_once(rds: Any, request: dict[str, Any], *, run_id: str, restore: Callable[[], Any]) -> dict[str, Any]:
    name = request["DBClusterIdentifier"]
    if check_name_free(describe_cluster(rds, name), "DB cluster", name, run_id):
        return {"cluster": name, "created": False}
    try:
        restore()
    except ClientError as exc:
        # A retried request whose first attempt did reach RDS: the cluster is ours if it carries our tag.
        if error_code(exc) != "DBClusterAlreadyExistsFault":
            raise
        check_name_free(describe_cluster(rds, name), "DB cluster", name, run_id)
    return {"cluster": name, "created": True}


def create_writer(rds: Any, request: dict[str, Any], *, run_id: str) -> dict[str, Any]:
    """CreateDBInstance for the writer unless this run already made it. Returns {"instance", "created"}."""
    name = request["DBInstanceIdentifier"]
    existing = describe_instance(rds, name)
    if check_name_free(existing, "DB instance", name, run_id):
        if existing and existing.get("DBClusterIdentifier") != request["DBClusterIdentifier"]:
            raise NameTaken(f"DB instance {name} belongs to {existing.get('DBClusterIdentifier')}")
        return {"instance": name, "created": False}
    try:
        rds.create_db_instance(**request)
    except ClientError as exc:
        if error_code(exc) != "DBInstanceAlreadyExists":
            raise
        check_name_free(describe_instance(rds, name), "DB instance", name, run_id)
    return {"instance": name, "created": True}


def wait_restored(rds: Any, cluster_id: str, *, timeout_s: float, poll_s: float) -> dict[str, Any]:
    """Wait (bounded) until the cluster is available."""
    cluster = wait_cluster_available(rds, cluster_id, timeout_s=timeout_s, poll_s=poll_s)
    return {"cluster": cluster_id, "status": cluster["Status"], "engine": cluster.get("Engine"),
            "engine_version": cluster.get("EngineVersion")}


def wait_writer(rds: Any, cluster_id: str, instance_id: str, *, timeout_s: float, poll_s: float) -> dict[str, Any]:
    """Wait (bounded) until the writer instance is available and writes for the cluster; returns the endpoints."""
    def writer_ready() -> dict[str, Any]:
        instance = describe_instance(rds, instance_id) or {}
        cluster = describe_cluster(rds, cluster_id) or {}
        writes = any(m["DBInstanceIdentifier"] == instance_id and m.get("IsClusterWriter")
                     for m in cluster.get("DBClusterMembers", []))
        return {"instance": instance.get("DBInstanceStatus"), "cluster": cluster.get("Status"), "writer": writes,
                "endpoint": cluster.get("Endpoint"), "reader_endpoint": cluster.get("ReaderEndpoint"),
                "port": cluster.get("Port")}

    state = poll_until(writer_ready, lambda s: s["instance"] == "available" and s["cluster"] == "available"
                       and s["writer"], timeout_s=timeout_s, poll_s=poll_s,
                       what=f"DB instance {instance_id} to be available as the writer of {cluster_id}")
    return {"cluster": cluster_id, "writer": instance_id, "endpoint": state["endpoint"],
            "reader_endpoint": state["reader_endpoint"], "port": state["port"]}


def _api_form(request: dict[str, Any]) -> dict[str, Any]:
    """Journal form → boto3 form: the restore time travels as ISO 8601 text in the journal."""
    if "RestoreToTime" in request:
        return {**request, "RestoreToTime": datetime.fromisoformat(request["RestoreToTime"])}
    return request


def describe_call(operation: str, request: dict[str, Any], *, service: str = "rds") -> str:
    """One API call as a dry-run prints it: `rds:Operation(Key=value, ...)`."""
    shown = ", ".join(f"{key}={_show(value)}" for key, value in request.items())
    return f"{service}:{operation}({shown})"


def _show(value: Any) -> str:
    if isinstance(value, list) and value and isinstance(value[0], dict) and "Key" in value[0]:
        return "[" + ", ".join(f"{t['Key']}={t['Value']}" for t in value) + "]"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)
