"""AWS Backup recovery points for moto, with AWS's documented semantics (AWS Backup API Reference:
ListRecoveryPointsByBackupVault, RecoveryPointByBackupVault; RDS API Reference: DescribeDBClusterSnapshots).

moto 5.2.5's backup backend has vaults and plans only: it runs no backup or copy jobs, keeps no recovery points and
has no route for ListRecoveryPointsByBackupVault. Added here:
- ListRecoveryPointsByBackupVault: GET /backup-vaults/{backupVaultName}/recovery-points/ with the query parameters
  resourceType (ByResourceType) and resourceArn (ByResourceArn), maxResults (1-1000) and nextToken; the answer is
  {"RecoveryPoints": [RecoveryPointByBackupVault...], "NextToken"} in registration order; an unknown vault is
  ResourceNotFoundException, a bad maxResults or nextToken InvalidParameterValueException.
- `register_recovery_point` (harness only): what a finished backup or copy job leaves in a vault. For Aurora the
  recovery point IS a DB cluster snapshot of the vault's region: its RecoveryPointArn is the snapshot's ARN
  (`...:cluster-snapshot:awsbackup:...`), so the snapshot must exist in moto's RDS backend first (make it with
  CreateDBClusterSnapshot/CopyDBClusterSnapshot under an `awsbackup:` name). ResourceArn is the backed-up cluster's
  ARN, which a cross-region copy keeps (the source cluster in the source region).
- DescribeDBClusterSnapshots: RDS documents that without SnapshotType only automated and manual snapshots are
  listed, and lists no `awsbackup` type for cluster snapshots; moto listed the snapshots made under an `awsbackup:`
  name with the manual ones. Here a listing that does not name the snapshot leaves them out, so only AWS Backup's
  API finds them; named by identifier or ARN (as a restore names them) they are still described.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import unquote

from moto.backup import urls as backup_urls
from moto.backup.exceptions import InvalidParameterValueException
from moto.backup.models import BackupBackend, backup_backends
from moto.backup.responses import BackupResponse
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.responses import ActionResult
from moto.rds.models import DBClusterSnapshot, RDSBackend, rds_backends
from moto.utilities.paginator import paginate

AWS_BACKUP_SNAPSHOT_PREFIX = "awsbackup:"  # how AWS Backup names the snapshots it makes and copies
MAX_RESULTS_LIMIT = 1000  # the API's documented range is 1-1000
PAGINATION_MODEL = {"list_recovery_points": {
    "input_token": "next_token", "limit_key": "max_results", "limit_default": MAX_RESULTS_LIMIT,
    "unique_attribute": "RecoveryPointArn", "fail_on_invalid_token": InvalidParameterValueException}}
_original_describe_cluster_snapshots = RDSBackend.describe_db_cluster_snapshots


def _recovery_points(backend: BackupBackend) -> list[dict[str, Any]]:
    # Kept on the backend instance, so moto's reset (new backends) forgets them with the vaults.
    return backend.__dict__.setdefault("_dr_recovery_points", [])


@paginate(pagination_model=PAGINATION_MODEL)
def list_recovery_points(backend: BackupBackend, vault_name: str, resource_type: str | None = None,
                         resource_arn: str | None = None) -> list[dict[str, Any]]:
    backend.describe_backup_vault(vault_name)  # ResourceNotFoundException for an unknown vault
    return [point for point in _recovery_points(backend) if point["BackupVaultName"] == vault_name
            and resource_type in (None, point["ResourceType"]) and resource_arn in (None, point["ResourceArn"])]


def _list_recovery_points_by_backup_vault(self: BackupResponse) -> ActionResult:
    vault_name = unquote(self.path.split("/backup-vaults/", 1)[1].split("/", 1)[0])
    query = {name: values[0] for name, values in self.querystring.items() if values}
    max_results = query.get("maxResults")
    if max_results is not None and not (max_results.isdigit() and 1 <= int(max_results) <= MAX_RESULTS_LIMIT):
        raise InvalidParameterValueException(f"maxResults {max_results} is not between 1 and {MAX_RESULTS_LIMIT}")
    points, next_token = list_recovery_points(
        self.backup_backend, vault_name=vault_name, resource_type=query.get("resourceType"),
        resource_arn=query.get("resourceArn"), max_results=int(max_results) if max_results else None,
        next_token=query.get("nextToken"))
    return ActionResult({"RecoveryPoints": points, **({"NextToken": next_token} if next_token else {})})


def register_recovery_point(region: str, vault_name: str, snapshot_id: str, *, status: str = "COMPLETED",
                            creation_date: datetime | None = None, resource_arn: str | None = None,
                            source_vault_arn: str | None = None,
                            account_id: str = DEFAULT_ACCOUNT_ID) -> dict[str, Any]:
    """Put the Aurora recovery point of the DB cluster snapshot `snapshot_id` (in `region`) in the vault, as a
    finished backup job (or, with `source_vault_arn`, a copy job from that vault) leaves it. CreationDate defaults
    to the snapshot's creation time, ResourceArn to its source cluster's ARN. Returns the point as listed."""
    vault = backup_backends[account_id][region].describe_backup_vault(vault_name)
    snapshot: DBClusterSnapshot = rds_backends[account_id][region].get_db_cluster_snapshot(snapshot_id.lower())
    created = creation_date or snapshot.snapshot_create_time
    point: dict[str, Any] = {
        "RecoveryPointArn": snapshot.db_cluster_snapshot_arn, "BackupVaultName": vault.backup_vault_name,
        "BackupVaultArn": vault.backup_vault_arn, "ResourceArn": resource_arn or snapshot.cluster.arn,
        "ResourceType": "Aurora", "ResourceName": snapshot.db_cluster_identifier, "Status": status,
        "CreationDate": created, "IsEncrypted": bool(snapshot.storage_encrypted),
        "VaultType": "BACKUP_VAULT",
    }
    if source_vault_arn:
        point["SourceBackupVaultArn"] = source_vault_arn
    if snapshot.storage_encrypted and snapshot.kms_key_id:
        point["EncryptionKeyArn"] = snapshot.kms_key_id
    if status == "COMPLETED":
        point["CompletionDate"] = created
    _recovery_points(backup_backends[account_id][region]).append(point)
    vault.num_of_recovery_points += 1
    return point


def _describe_cluster_snapshots(self: RDSBackend, db_cluster_identifier: str | None, db_snapshot_identifier: str,
                                snapshot_type: str | None = None, filters: Any = None) -> list[DBClusterSnapshot]:
    found = _original_describe_cluster_snapshots(self, db_cluster_identifier, db_snapshot_identifier,
                                                 snapshot_type, filters)
    if db_snapshot_identifier or (filters or {}).get("db-cluster-snapshot-id"):
        return found
    return [s for s in found if not s.db_cluster_snapshot_identifier.startswith(AWS_BACKUP_SNAPSHOT_PREFIX)]


def install() -> None:
    # moto builds the server's routes from urls.url_paths when the backup app is first made (after this runs).
    backup_urls.url_paths["{0}/backup-vaults/(?P<name>[^/]+)/recovery-points/$"] = backup_urls.response.dispatch
    BackupResponse.list_recovery_points_by_backup_vault = (  # type: ignore[attr-defined]
        _list_recovery_points_by_backup_vault)
    RDSBackend.describe_db_cluster_snapshots = _describe_cluster_snapshots  # type: ignore[method-assign]
