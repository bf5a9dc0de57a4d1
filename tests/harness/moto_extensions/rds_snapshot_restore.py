"""Aurora restore from a DB cluster snapshot for moto, with AWS's documented semantics (RDS API Reference:
RestoreDBClusterFromSnapshot, DBClusterSnapshot).

moto 5.2.5 has the operation but builds the new cluster by copying every attribute of the snapshot's source
cluster and laying the request's truthy parameters over it. Restoring a snapshot of a global database member
therefore fails with a 500 (a member keeps no master password, KeyError '_master_user_password'), and even where
it works the copy keeps what AWS does not restore: the source's global membership (the copy would join `dr-core`),
its subnet group and security groups (which live in the source's region), its parameter group and tags. This
module replaces it with what AWS documents:
- the new cluster gets the snapshot's engine version, port, master user and database name, and the request's
  DB subnet group (else `default`), VPC security groups (else the default group: none listed here), parameter
  group, IAM auth, deletion protection, copy-tags, log exports and Tags; nothing else from the source;
- KmsKeyId: the request's key, else the snapshot's when the snapshot is encrypted (unencrypted stays so);
- a standalone regional cluster, never a member of the source's global database;
- DBClusterAlreadyExistsFault when the identifier is taken (moto replaced the cluster silently);
- InvalidDBClusterSnapshotStateFault unless the snapshot is `available`;
- the snapshot must be in the region of the call (AWS restores only from a snapshot in its own region: copy it
  first); an ARN naming another region is DBClusterSnapshotNotFoundFault (moto looked in that region).

moto's snapshots are `available` the moment they are made; `set_cluster_snapshot_status` lets a test show one
still being taken (`creating`), a state AWS reports for minutes.
"""
from __future__ import annotations

from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.rds.exceptions import DBClusterSnapshotNotFoundError, InvalidDBClusterSnapshotStateFault
from moto.rds.models import DBCluster, DBClusterSnapshot, RDSBackend, rds_backends

from tests.harness.moto_extensions.rds_pitr import _credentials_holder, cluster_already_exists

# Request parameters the new cluster takes as given (moto's snake_case names).
_FROM_REQUEST = ("db_subnet_group_name", "vpc_security_group_ids", "db_cluster_parameter_group_name",
                 "enable_iam_database_authentication", "deletion_protection", "copy_tags_to_snapshot", "tags",
                 "enable_cloudwatch_logs_exports", "serverless_v2_scaling_configuration", "availability_zones",
                 "backtrack_window")


def _snapshot_in_region(backend: RDSBackend, snapshot_id: str) -> DBClusterSnapshot:
    if snapshot_id.startswith("arn:"):
        region, name = snapshot_id.split(":")[3], snapshot_id.split(":cluster-snapshot:", 1)[-1]
        if region != backend.region_name:
            raise DBClusterSnapshotNotFoundError(snapshot_id)
        snapshot_id = name
    return backend.get_db_cluster_snapshot(snapshot_id.lower())


def _restore_from_snapshot(self: RDSBackend, from_snapshot_id: str, overrides: dict[str, Any]) -> DBCluster:
    identifier = overrides["db_cluster_identifier"]
    if identifier.lower() in self.clusters:
        raise cluster_already_exists(identifier)
    snapshot = _snapshot_in_region(self, from_snapshot_id)
    if snapshot.status != "available":
        raise InvalidDBClusterSnapshotStateFault(
            f"DBClusterSnapshot {snapshot.db_cluster_snapshot_identifier} is {snapshot.status}, not available")
    holder = _credentials_holder(self.account_id, snapshot.cluster)
    kms_key = overrides.get("kms_key_id") or (snapshot.kms_key_id if snapshot.storage_encrypted else None)
    props: dict[str, Any] = {
        "db_cluster_identifier": identifier, "engine": overrides.get("engine") or snapshot.engine,
        "engine_version": overrides.get("engine_version") or snapshot.engine_version,
        "port": overrides.get("port") or snapshot.port, "database_name": snapshot.cluster.database_name,
        "master_username": holder.master_username,
        # RDS API calls never reveal passwords; the restored copy gets a stand-in where moto kept none.
        "master_user_password": vars(holder).get("_master_user_password") or "restored-from-snapshot",
        "storage_encrypted": kms_key is not None, "kms_key_id": kms_key,
        **{key: overrides[key] for key in _FROM_REQUEST if overrides.get(key) is not None},
    }
    return self.create_db_cluster(props)


def set_cluster_snapshot_status(region: str, snapshot_id: str, status: str,
                                account_id: str = DEFAULT_ACCOUNT_ID) -> None:
    """Put a DB cluster snapshot in `status` (e.g. `creating`) as AWS reports one still being taken."""
    rds_backends[account_id][region].get_db_cluster_snapshot(snapshot_id).status = status


def install() -> None:
    RDSBackend.restore_db_cluster_from_snapshot = _restore_from_snapshot  # type: ignore[method-assign]
