"""Aurora global database role changes for moto, with AWS's documented semantics (RDS API Reference:
FailoverGlobalCluster, SwitchoverGlobalCluster, RemoveFromGlobalCluster, DescribeGlobalClusters).

moto 5.2.5 keeps every global cluster in the us-east-1 backend (`RDSResponse.global_backend`) while each member
cluster lives in its own region's backend. Added here:
- SwitchoverGlobalCluster(GlobalClusterIdentifier, TargetDbClusterIdentifier): planned, RPO 0.
- FailoverGlobalCluster(GlobalClusterIdentifier, TargetDbClusterIdentifier, AllowDataLoss, Switchover):
  AllowDataLoss → failover; otherwise (Switchover or neither) a switchover. Both true → InvalidParameterCombination.
  In both, the target must be a secondary member (its ARN; InvalidDBClusterStateFault when it is already the
  writer), the global cluster must be `available` (InvalidGlobalClusterStateFault while another role change
  runs); unknown ids → GlobalClusterNotFoundFault / DBClusterNotFoundFault. The old primary stays a member as a
  secondary (IsWriter false): AWS demotes it on switchover, and after a failover rejoins it as a secondary once
  its region recovers.
- Role changes take time on AWS: the global cluster reports Status `switching-over` / `failing-over` with a
  FailoverState until the change completes, then the roles swap. Here that lasts `TRANSITION_SECONDS`.
- RemoveFromGlobalCluster detaches the member in whatever region it lives (moto only looked in the caller's
  region, where the global cluster never is): the cluster becomes standalone and writable.
- DescribeGlobalClusters honours GlobalClusterIdentifier (GlobalClusterNotFoundFault when unknown).
- A cluster created under the id of a just-renamed one gets its own automated snapshot name (see below).

The data plane: a region pair (ops/drctl/sandbox/region_pair.py) registers itself for a global cluster id with
`register_data_plane`. A role change of that global cluster then does the real work in a worker thread (the
failover promotes B's PostgreSQL standby at the point it had replayed, the switchover fences A, waits until B has
replayed A's last WAL and promotes B); the global cluster reports the change in progress until the worker is
done, and the roles swap only if it succeeded (a failed data-plane change leaves the roles as they were, the
error in `last_data_plane_error`). Without a registered data plane a role change lasts `TRANSITION_SECONDS`.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Protocol

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.rds.exceptions import (DBClusterNotFoundError, InvalidDBClusterStateFault, InvalidParameterCombination,
                                 RDSClientError)
from moto.rds.models import DBCluster, GlobalCluster, rds_backends
from moto.rds.responses import RDSResponse

TRANSITION_SECONDS = 0.3  # how long a role change stays in progress (AWS: about a minute)


class DataPlane(Protocol):
    def change_writer(self, source_cluster_id: str, target_cluster_id: str, *, data_loss: bool) -> None:
        """Make the target cluster's database the writer (blocking); raise when that is not possible."""


_data_planes: dict[str, DataPlane] = {}
last_data_plane_error: dict[str, str] = {}


def register_data_plane(global_cluster_id: str, plane: DataPlane) -> None:
    _data_planes[global_cluster_id] = plane


def unregister_data_plane(global_cluster_id: str) -> None:
    _data_planes.pop(global_cluster_id, None)
    last_data_plane_error.pop(global_cluster_id, None)


def _pending(global_cluster: GlobalCluster) -> dict[str, Any] | None:
    return getattr(global_cluster, "_dr_pending", None)


def _settle(global_cluster: GlobalCluster) -> None:
    """Complete a role change whose time has come: the target becomes the writer, the old writer a secondary."""
    pending = _pending(global_cluster)
    if pending is None:
        return
    worker = pending.get("worker")
    if worker is not None:
        if worker.is_alive():
            return
        if pending.get("error"):  # the data plane could not change roles: nothing changed
            global_cluster.status = "available"
            global_cluster._dr_pending = None  # type: ignore[attr-defined]
            return
    elif time.monotonic() < pending["done_at"]:
        return
    for member in global_cluster.members:
        member.is_writer = member is pending["target"]
    global_cluster.status = "available"
    global_cluster._dr_pending = None  # type: ignore[attr-defined]


def _failover_state(self: GlobalCluster) -> dict[str, Any] | None:
    pending = _pending(self)
    if pending is None:
        return None
    return {"Status": "pending", "FromDbClusterArn": pending["source"].db_cluster_arn,
            "ToDbClusterArn": pending["target"].db_cluster_arn, "IsDataLossAllowed": pending["data_loss"]}


def _global_cluster(account_id: str, identifier: str) -> GlobalCluster:
    clusters = rds_backends[account_id]["us-east-1"].global_clusters
    if identifier not in clusters:
        raise RDSClientError("GlobalClusterNotFoundFault", f"Global cluster {identifier} not found.")
    global_cluster = clusters[identifier]
    _settle(global_cluster)
    return global_cluster


def _cluster_by_arn(account_id: str, arn: str) -> DBCluster:
    parts = arn.split(":")
    if len(parts) < 7 or parts[2] != "rds" or parts[5] != "cluster":
        raise DBClusterNotFoundError(arn, f"DBCluster {arn} not found (TargetDbClusterIdentifier must be an ARN).")
    region = parts[3]
    if region not in rds_backends[account_id]:
        raise DBClusterNotFoundError(arn)
    return rds_backends[account_id][region].describe_db_clusters(parts[6])[0]


def change_writer(account_id: str, identifier: str, target_arn: str, *, data_loss: bool) -> GlobalCluster:
    global_cluster = _global_cluster(account_id, identifier)
    target = _cluster_by_arn(account_id, target_arn)
    if target not in global_cluster.members:
        raise InvalidDBClusterStateFault(f"DB cluster {target_arn} is not a member of global cluster {identifier}.")
    if global_cluster.status != "available":
        raise RDSClientError(
            "InvalidGlobalClusterStateFault",
            f"Global cluster {identifier} is in state {global_cluster.status}; a role change is already running.")
    if target.is_writer:
        raise InvalidDBClusterStateFault(f"DB cluster {target_arn} is already the primary of {identifier}.")
    source = next(m for m in global_cluster.members if m.is_writer)
    global_cluster.status = "failing-over" if data_loss else "switching-over"
    pending: dict[str, Any] = {"source": source, "target": target, "data_loss": data_loss,
                               "done_at": time.monotonic() + TRANSITION_SECONDS}
    plane = _data_planes.get(identifier)
    if plane is not None:
        def work() -> None:
            try:
                plane.change_writer(source.db_cluster_identifier, target.db_cluster_identifier, data_loss=data_loss)
            except Exception as exc:  # reported through the global cluster's state, as AWS would
                pending["error"] = f"{type(exc).__name__}: {exc}"
                last_data_plane_error[identifier] = pending["error"]
        pending["worker"] = threading.Thread(target=work, name=f"role-change-{identifier}", daemon=True)
    global_cluster._dr_pending = pending  # type: ignore[attr-defined]
    if plane is not None:
        pending["worker"].start()
    return global_cluster


def _switchover_global_cluster(self: RDSResponse) -> ActionResult:
    params = self.params
    return ActionResult({"GlobalCluster": change_writer(
        self.current_account, params["GlobalClusterIdentifier"], params["TargetDbClusterIdentifier"],
        data_loss=False)})


def _failover_global_cluster(self: RDSResponse) -> ActionResult:
    params = self.params
    allow_data_loss, switchover = bool(params.get("AllowDataLoss")), bool(params.get("Switchover"))
    if allow_data_loss and switchover:
        raise InvalidParameterCombination("AllowDataLoss can't be specified together with Switchover.")
    return ActionResult({"GlobalCluster": change_writer(
        self.current_account, params["GlobalClusterIdentifier"], params["TargetDbClusterIdentifier"],
        data_loss=allow_data_loss)})


def _describe_global_clusters(self: RDSResponse) -> ActionResult:
    identifier = self.params.get("GlobalClusterIdentifier")
    if identifier:
        return ActionResult({"GlobalClusters": [_global_cluster(self.current_account, identifier)]})
    clusters = self.global_backend.describe_global_clusters()
    for global_cluster in clusters:
        _settle(global_cluster)
    return ActionResult({"GlobalClusters": clusters})


def _remove_from_global_cluster(self: RDSResponse) -> ActionResult:
    params = self.params
    global_cluster = _global_cluster(self.current_account, params["GlobalClusterIdentifier"])
    member_id = params["DbClusterIdentifier"]
    cluster = (_cluster_by_arn(self.current_account, member_id) if member_id.startswith("arn:")
               else self.backend.describe_db_clusters(member_id)[0])
    if cluster not in global_cluster.members:
        raise InvalidDBClusterStateFault(
            f"DB cluster {member_id} is not a member of global cluster {params['GlobalClusterIdentifier']}.")
    global_cluster.members.remove(cluster)
    cluster.global_cluster_identifier = None
    cluster.is_writer = True  # a detached secondary is promoted to a standalone, writable cluster
    return ActionResult({"GlobalCluster": global_cluster})


def _save_automated_backup(self: DBCluster) -> None:
    """moto names a cluster's automated snapshot `rds:<cluster id>-<minute>`, so a cluster created under the id of
    one renamed a moment ago (the failback's rejoin) collides with the old cluster's snapshot. On AWS automated
    snapshots belong to the cluster resource and never collide; give the newcomer a distinct name."""
    base = f"rds:{self.db_cluster_identifier}-{utcnow().strftime('%Y-%m-%d-%H-%M')}"
    snapshot_id, n = base, 1
    while snapshot_id in self.backend.cluster_snapshots:
        snapshot_id, n = f"{base}-{n}", n + 1
    self.backend.create_auto_cluster_snapshot(self.db_cluster_identifier, snapshot_id)


def install() -> None:
    DBCluster.save_automated_backup = _save_automated_backup  # type: ignore[method-assign]
    GlobalCluster.failover_state = property(_failover_state)  # type: ignore[attr-defined]
    RDSResponse.switchover_global_cluster = _switchover_global_cluster  # type: ignore[attr-defined]
    RDSResponse.failover_global_cluster = _failover_global_cluster  # type: ignore[attr-defined]
    RDSResponse.describe_global_clusters = _describe_global_clusters  # type: ignore[method-assign]
    RDSResponse.remove_from_global_cluster = _remove_from_global_cluster  # type: ignore[method-assign]
