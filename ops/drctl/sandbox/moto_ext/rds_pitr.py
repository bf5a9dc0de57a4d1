"""Aurora point-in-time restore for moto, with AWS's documented semantics (RDS API Reference:
RestoreDBClusterToPointInTime).

moto 5.2.5 has the operation and reports EarliestRestorableTime / LatestRestorableTime in DescribeDBClusters
(the cluster's creation time and "now"), and refuses RestoreToTime together with UseLatestRestorableTime. It
lacks, and this module adds:
- DBClusterAlreadyExistsFault when the new cluster's identifier is taken (moto silently replaced the cluster).
- RestoreToTime must lie within the source's restorable window [EarliestRestorableTime, LatestRestorableTime]
  (AWS: "any point in time before LatestRestorableTime for up to BackupRetentionPeriod days"). Outside it the
  restore is refused with InvalidRestoreFault, the documented fault for a restore that cannot be performed (the
  exact code AWS uses for this case is not stated in the reference).
- The restored cluster is a standalone regional cluster: restoring a global database member does not add the
  new cluster to the global database (moto copied the membership, so the restore joined `dr-core` as a reader).
  A secondary member carries no master user of its own; the restored copy has the writer's (same storage).
- RDS API calls do not reveal passwords, so the restored copy gets a stand-in where moto kept none.

The data plane: a region pair registers a restorer for a source cluster (`register_restorer`); the restore then
really happens, a PostgreSQL point-in-time recovery of the source's base backup and WAL archive into a new server
(the restored cluster's data), before the API answers.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from moto.rds.exceptions import RDSClientError
from moto.rds.models import DBCluster, RDSBackend, rds_backends

_original_restore = RDSBackend.restore_db_cluster_to_point_in_time
# source cluster id -> restore(new cluster id, restore time or None for the latest restorable time)
_restorers: dict[str, Callable[[str, datetime | None], None]] = {}


def register_restorer(source_cluster_id: str, restore: Callable[[str, datetime | None], None]) -> None:
    _restorers[source_cluster_id] = restore


def unregister_restorer(source_cluster_id: str) -> None:
    _restorers.pop(source_cluster_id, None)


def cluster_already_exists(identifier: str) -> RDSClientError:
    """What RDS answers a restore into a taken cluster identifier (moto replaces the cluster silently)."""
    return RDSClientError("DBClusterAlreadyExistsFault", f"DB cluster already exists: {identifier}")


def _utc(value: datetime | str) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _check_window(source: DBCluster, restore_to_time: datetime | str) -> None:
    moment = _utc(restore_to_time)
    earliest, latest = _utc(source.earliest_restorable_time), _utc(source.latest_restorable_time)
    if not earliest <= moment <= latest:
        raise RDSClientError(
            "InvalidRestoreFault",
            f"RestoreToTime {moment.isoformat()} is outside the restorable window of "
            f"{source.db_cluster_identifier}: {earliest.isoformat()} to {latest.isoformat()}")


def _credentials_holder(account_id: str, source: DBCluster) -> DBCluster:
    """The cluster whose master user the restored copy gets: a secondary's is the global writer's."""
    if source.master_username or not source.global_cluster_identifier:
        return source
    for backend in rds_backends[account_id].values():
        global_cluster = backend.global_clusters.get(source.global_cluster_identifier)
        if global_cluster is not None:
            return next((m for m in global_cluster.members if m.master_username), source)
    return source


def _restore(self: RDSBackend, db_cluster_identifier: str, source_db_cluster_identifier: str,
             restore_type: str = "full-copy", restore_to_time: Any = None, use_latest_restorable_time: bool = False,
             **overrides: Any) -> DBCluster:
    if db_cluster_identifier.lower() in self.clusters:
        raise cluster_already_exists(db_cluster_identifier)
    source = self.describe_db_clusters(db_cluster_identifier=source_db_cluster_identifier)[0]
    if restore_to_time is not None and not use_latest_restorable_time:
        _check_window(source, restore_to_time)
    holder = _credentials_holder(self.account_id, source)
    # moto copies every attribute of the source, then applies the overrides: drop the membership, and give the
    # master user (moto keeps no password for global members; none is readable through the API, so a stand-in).
    standalone = {"global_cluster_identifier": None, "replication_source_identifier": None,
                  "master_username": holder.master_username,
                  "master_user_password": vars(holder).get("_master_user_password", "restored-from-backup")}
    restorer = _restorers.get(source.db_cluster_identifier)
    if restorer is not None:
        restorer(db_cluster_identifier, None if use_latest_restorable_time or restore_to_time is None
                 else _utc(restore_to_time))
    return _original_restore(self, db_cluster_identifier, source_db_cluster_identifier, restore_type=restore_type,
                             restore_to_time=restore_to_time, use_latest_restorable_time=use_latest_restorable_time,
                             **{**overrides, **standalone})


def install() -> None:
    RDSBackend.restore_db_cluster_to_point_in_time = _restore  # type: ignore[method-assign]
