"""AWS Backup recovery points of Aurora clusters, for RB-N-02's `--latest`.

DescribeDBClusterSnapshots without SnapshotType returns only automated and manual snapshots, and RDS documents no
`awsbackup` type for cluster snapshots, so the recovery points AWS Backup makes of an Aurora cluster, and the copies
its copy action puts in region B's vault, are found with AWS Backup's own ListRecoveryPointsByBackupVault
(ByResourceType=Aurora). For Aurora a recovery point's RecoveryPointArn is the DB cluster snapshot's ARN
(`arn:aws:rds:REGION:ACCOUNT:cluster-snapshot:awsbackup:...`), which RestoreDBClusterFromSnapshot takes; its
ResourceArn is the backed-up cluster's, and a copy keeps it (the source cluster, in the source's region).
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from botocore.exceptions import ClientError

from ops.actions.aws import error_code

AURORA = "Aurora"  # ByResourceType's value for Aurora clusters
RESTORABLE_STATUS = "COMPLETED"  # PARTIAL, DELETING, EXPIRED, CREATING, ... are not restored from
PAGE_SIZE = 100  # MaxResults per ListRecoveryPointsByBackupVault page (the API allows 1-1000); read at call time


class VaultNotFound(LookupError):
    """The backup vault does not exist in the client's region."""


class VaultUnreadable(LookupError):
    """The caller may not list the vault's recovery points (AccessDenied)."""


def cluster_name(cluster_arn_or_id: str) -> str:
    """`dr-core-us-east-1` of `arn:aws:rds:us-east-1:ACCOUNT:cluster:dr-core-us-east-1` (or of itself), lowercased
    as RDS stores identifiers."""
    return cluster_arn_or_id.rsplit(":cluster:", 1)[-1].lower()


def aurora_recovery_points(backup: Any, vault_name: str, cluster_ids: Iterable[str]) -> list[dict[str, Any]]:
    """Every Aurora recovery point in the vault, any status, whose source cluster is one of `cluster_ids` (ids or
    ARNs). Matched on the cluster's name, not its whole ARN: a copy in region B names the cluster in region A, and
    the names carry their region already. VaultNotFound when the vault does not exist."""
    wanted = {cluster_name(cluster_id) for cluster_id in cluster_ids}
    points = _list_recovery_points(backup, vault_name, ByResourceType=AURORA)
    return [point for point in points if cluster_name(point.get("ResourceArn", "")) in wanted]


def is_restorable(point: dict[str, Any]) -> bool:
    return point.get("Status") == RESTORABLE_STATUS and bool(point.get("CreationDate"))



def recovery_points(backup: Any, vault_name: str) -> list[dict[str, Any]]:
    """Every recovery point in the vault, of any resource type and status (ListRecoveryPointsByBackupVault, all
    pages). VaultNotFound / VaultUnreadable as for `aurora_recovery_points`."""
    return _list_recovery_points(backup, vault_name)


def _list_recovery_points(backup: Any, vault_name: str, **filters: str) -> list[dict[str, Any]]:
    """ListRecoveryPointsByBackupVault, all pages, with the vault's absence or unreadability named."""
    pages = backup.get_paginator("list_recovery_points_by_backup_vault").paginate(
        BackupVaultName=vault_name, PaginationConfig={"PageSize": PAGE_SIZE}, **filters)
    try:
        return [dict(point) for page in pages for point in page.get("RecoveryPoints", [])]
    except ClientError as exc:
        code = error_code(exc)
        if code == "ResourceNotFoundException":
            raise VaultNotFound(f"backup vault {vault_name} does not exist") from None
        if code in ("AccessDeniedException", "AccessDenied"):
            raise VaultUnreadable(f"backup vault {vault_name}: {code} on ListRecoveryPointsByBackupVault") from None
        raise


def resource_name(resource_arn: str) -> str:
    """The backed-up resource's name in its ARN: a cluster id (lowercased), a table name, a bucket name. A copy in
    another region keeps the source's ARN, so matching on names that carry their region (or are global) is exact."""
    if ":cluster:" in resource_arn:
        return cluster_name(resource_arn)
    if ":table/" in resource_arn:
        return resource_arn.split(":table/", 1)[1].split("/", 1)[0]
    if resource_arn.startswith("arn:aws") and ":s3:::" in resource_arn:
        return resource_arn.split(":::", 1)[1].split("/", 1)[0]
    return resource_arn.rsplit(":", 1)[-1]
