"""Aurora global database actions: who writes, how far behind the secondaries are, and the role change itself.

`promote_secondary` is THE promotion, shared by `drctl failover`/`failback` and the Pulumi failover step
(components/failover.py): SwitchoverGlobalCluster when planned (RPO 0: Aurora syncs the secondaries first),
FailoverGlobalCluster with AllowDataLoss when unplanned (the primary region is gone; RPO = replication lag).
Role changes go through this API, never by editing membership in IaC (that breaks a global database).
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from botocore.exceptions import ClientError

from ops.actions.aws import described_one, described_or_none
from ops.actions.polling import poll_until
from ops.core.naming import ENGINE, instance_id

PromotionMode = Literal["planned", "unplanned"]


class AuroraStateError(RuntimeError):
    """The global database is not in a state the requested change can start from; the message says why."""


def describe_global_cluster(rds: Any, global_cluster_id: str) -> dict[str, Any]:
    """The global cluster as DescribeGlobalClusters reports it; LookupError naming it when it does not exist."""
    return described_one(lambda: rds.describe_global_clusters(GlobalClusterIdentifier=global_cluster_id),
                         "GlobalClusters", "GlobalClusterNotFoundFault", f"global cluster {global_cluster_id!r}")


def writer_arn(global_cluster: dict[str, Any]) -> str | None:
    return next((m["DBClusterArn"] for m in global_cluster.get("GlobalClusterMembers", []) if m.get("IsWriter")),
                None)


def member_arns(global_cluster: dict[str, Any]) -> list[str]:
    return [m["DBClusterArn"] for m in global_cluster.get("GlobalClusterMembers", [])]


def describe_cluster(rds: Any, cluster_id: str) -> dict[str, Any] | None:
    """DescribeDBClusters for one cluster, or None when it does not exist."""
    return described_or_none(lambda: rds.describe_db_clusters(DBClusterIdentifier=cluster_id),
                             "DBClusters", "DBClusterNotFoundFault")


def cluster_instances(rds: Any, cluster_id: str) -> list[dict[str, Any]]:
    paginator = rds.get_paginator("describe_db_instances")
    pages = paginator.paginate(Filters=[{"Name": "db-cluster-id", "Values": [cluster_id]}])
    return [instance for page in pages for instance in page["DBInstances"]]


def replication_lag(cloudwatch: Any, cluster_id: str, *, window_s: int = 300) -> float | None:
    """The secondary's worst AuroraGlobalDBReplicationLag over the last `window_s`, in seconds.

    CloudWatch reports it (milliseconds, per secondary cluster, in the secondary's region). None means no
    datapoints: the cluster is the writer, is headless without a recent metric, or (moto) nothing publishes
    metrics. Global cluster members themselves carry no lag field, so there is nothing else to derive it from."""
    now = datetime.now(timezone.utc)
    stats = cloudwatch.get_metric_statistics(
        Namespace="AWS/RDS", MetricName="AuroraGlobalDBReplicationLag",
        Dimensions=[{"Name": "DBClusterIdentifier", "Value": cluster_id}],
        StartTime=now - timedelta(seconds=window_s), EndTime=now, Period=60, Statistics=["Maximum"])
    points = stats.get("Datapoints", [])
    return round(max(p["Maximum"] for p in points) / 1000.0, 3) if points else None


def wait_cluster_available(rds: Any, cluster_id: str, *, timeout_s: float = 1800, poll_s: float = 10) -> dict:
    return poll_until(lambda: describe_cluster(rds, cluster_id) or {},
                      lambda c: c.get("Status") == "available", timeout_s=timeout_s, poll_s=poll_s,
                      what=f"DB cluster {cluster_id} to be available")


def missing_instance_ids(rds: Any, cluster_id: str, count: int) -> list[str]:
    """Instance ids `<cluster>-<n>` (the names the Pulumi program gives) still needed to reach `count`."""
    existing = {i["DBInstanceIdentifier"] for i in cluster_instances(rds, cluster_id)}
    missing = max(0, count - len(existing))
    candidates = (instance_id(cluster_id, n) for n in range(count + len(existing)))
    return [name for name in candidates if name not in existing][:missing]


def describe_instance(rds: Any, instance_id: str) -> dict[str, Any] | None:
    """DescribeDBInstances for one instance, or None when it does not exist."""
    return described_or_none(lambda: rds.describe_db_instances(DBInstanceIdentifier=instance_id),
                              "DBInstances", "DBInstanceNotFound")


def create_cluster_instance(rds: Any, *, instance_id: str, cluster_id: str, instance_class: str,
                            engine: str = ENGINE) -> dict[str, Any]:
    """CreateDBInstance in `cluster_id`, idempotent by identifier. When the call fails but the instance exists in
    that cluster (a lost response: the server created it and botocore's retry met DBInstanceAlreadyExists, or
    the error reached us without a retry), that instance is the result. An instance of that id in another
    cluster is a real conflict (AuroraStateError)."""
    try:
        return dict(rds.create_db_instance(DBInstanceIdentifier=instance_id, DBClusterIdentifier=cluster_id,
                                           DBInstanceClass=instance_class, Engine=engine,
                                           PubliclyAccessible=False)["DBInstance"])
    except ClientError:
        existing = describe_instance(rds, instance_id)
        if existing is None:
            raise
        if existing.get("DBClusterIdentifier") != cluster_id:
            raise AuroraStateError(f"DB instance {instance_id} already exists in cluster "
                                   f"{existing.get('DBClusterIdentifier')}, not {cluster_id}") from None
        return existing


def add_instances(rds: Any, *, cluster_id: str, count: int, instance_class: str, engine: str = ENGINE) -> list[str]:
    """Create instances until the cluster has `count` (never removes any); returns the ids created, not waited for."""
    created = missing_instance_ids(rds, cluster_id, count)
    for name in created:
        create_cluster_instance(rds, instance_id=name, cluster_id=cluster_id, instance_class=instance_class,
                                engine=engine)
    return created


def available_instances(rds: Any, cluster_id: str) -> list[str]:
    """The cluster's instances whose status is `available`, sorted."""
    return sorted(i["DBInstanceIdentifier"] for i in cluster_instances(rds, cluster_id)
                  if i.get("DBInstanceStatus") == "available")


def wait_instances_available(rds: Any, *, cluster_id: str, count: int, timeout_s: float = 1800,
                             poll_s: float = 10) -> list[str]:
    """Until the cluster has `count` instances, every one available (a resumed run waits for what an earlier
    attempt created, too); returns their ids."""
    def statuses() -> dict[str, str | None]:
        return {i["DBInstanceIdentifier"]: i.get("DBInstanceStatus") for i in cluster_instances(rds, cluster_id)}

    seen = poll_until(statuses, lambda found: len(found) >= count and all(v == "available" for v in found.values()),
                      timeout_s=timeout_s, poll_s=poll_s, what=f"{count} available instances in {cluster_id}")
    return sorted(seen)


def scale_instances(rds: Any, *, cluster_id: str, count: int, instance_class: str, engine: str = ENGINE,
                    timeout_s: float = 1800, poll_s: float = 10) -> dict[str, Any]:
    """`add_instances`, then waited for until every instance of the cluster is available."""
    created = add_instances(rds, cluster_id=cluster_id, count=count, instance_class=instance_class, engine=engine)
    available = wait_instances_available(rds, cluster_id=cluster_id, count=count, timeout_s=timeout_s, poll_s=poll_s)
    return {"created": created, "instances": len(available)}


def promote_secondary(rds: Any, *, global_cluster_id: str, target_cluster_arn: str,
                      mode: PromotionMode, timeout_s: float = 1800, poll_s: float = 10) -> dict:
    """Make `target_cluster_arn` the writer of the global database; `rds` is a client in the TARGET region.

    Idempotent: when the target already writes, nothing is called ({"changed": False}); when a role change
    towards the target is already running (a resumed run), it is waited for rather than started again.
    Returns {"changed", "writer", "previous_writer", "seconds", "mode"}; raises WaitTimeout after `timeout_s`."""
    if mode not in ("planned", "unplanned"):
        raise ValueError(f"mode must be 'planned' or 'unplanned', not {mode!r}")
    started = time.monotonic()
    current = describe_global_cluster(rds, global_cluster_id)
    previous = writer_arn(current)
    if target_cluster_arn not in member_arns(current):
        raise AuroraStateError(f"{target_cluster_arn} is not a member of global cluster {global_cluster_id} "
                               f"(members: {', '.join(member_arns(current)) or 'none'})")
    in_progress = (current.get("FailoverState") or {}).get("ToDbClusterArn")
    if previous == target_cluster_arn and current.get("Status") == "available":
        return {"changed": False, "writer": previous, "previous_writer": previous, "seconds": 0.0, "mode": mode}
    if in_progress != target_cluster_arn:
        if current.get("Status") != "available":
            raise AuroraStateError(f"global cluster {global_cluster_id} is {current.get('Status')!r}"
                                   + (f" (a role change to {in_progress} is running)" if in_progress else ""))
        _start_role_change(rds, global_cluster_id, target_cluster_arn, mode)
    remaining = max(poll_s, timeout_s - (time.monotonic() - started))
    poll_until(lambda: describe_global_cluster(rds, global_cluster_id),
               lambda gc: writer_arn(gc) == target_cluster_arn and gc.get("Status") == "available",
               timeout_s=remaining, poll_s=poll_s,
               what=f"{target_cluster_arn} to become the writer of {global_cluster_id}")
    return {"changed": True, "writer": target_cluster_arn, "previous_writer": previous,
            "seconds": round(time.monotonic() - started, 3), "mode": mode}


def _start_role_change(rds: Any, global_cluster_id: str, target_cluster_arn: str, mode: PromotionMode) -> None:
    """Switchover/FailoverGlobalCluster. When the call fails, the global cluster's state decides: a role change
    towards the target already running or done means the server acted and its answer was lost (botocore's retry
    then meets InvalidGlobalClusterStateFault or InvalidDBClusterStateFault), so the caller waits for it; anything
    else re-raises the error."""
    try:
        if mode == "planned":
            rds.switchover_global_cluster(GlobalClusterIdentifier=global_cluster_id,
                                          TargetDbClusterIdentifier=target_cluster_arn)
        else:
            rds.failover_global_cluster(GlobalClusterIdentifier=global_cluster_id,
                                        TargetDbClusterIdentifier=target_cluster_arn, AllowDataLoss=True)
    except ClientError:
        now = describe_global_cluster(rds, global_cluster_id)
        towards = (now.get("FailoverState") or {}).get("ToDbClusterArn")
        if target_cluster_arn not in (writer_arn(now), towards):
            raise


def planned_promotion_call(global_cluster_id: str, target_cluster_arn: str, mode: PromotionMode) -> str:
    """The API call `promote_secondary` makes, as a dry-run prints it."""
    if mode == "planned":
        return (f"rds:SwitchoverGlobalCluster(GlobalClusterIdentifier={global_cluster_id}, "
                f"TargetDbClusterIdentifier={target_cluster_arn})")
    return (f"rds:FailoverGlobalCluster(GlobalClusterIdentifier={global_cluster_id}, "
            f"TargetDbClusterIdentifier={target_cluster_arn}, AllowDataLoss=true)")


def rejoin_as_secondary(rds: Any, *, global_cluster_id: str, cluster_id: str, engine_version: str,
                        detached_suffix: str, kms_key_id: str | None = None, timeout_s: float = 1800,
                        poll_s: float = 10) -> dict[str, Any]:
    """Bring a region back into the global database after its cluster was detached.

    AWS cannot re-attach a cluster that left a global database: its storage diverged. The documented way is a
    new secondary cluster created with GlobalClusterIdentifier, which replicates from the writer. The detached
    cluster is kept (renamed `<id>-<suffix>`, not deleted) so its data stays available for reconciliation.
    The caller checks first that `cluster_id` is not a member."""
    stale = describe_cluster(rds, cluster_id)
    renamed = None
    if stale is not None:
        renamed = f"{cluster_id}-{detached_suffix}"
        rds.modify_db_cluster(DBClusterIdentifier=cluster_id, NewDBClusterIdentifier=renamed, ApplyImmediately=True)
        wait_cluster_available(rds, renamed, timeout_s=timeout_s, poll_s=poll_s)
    # A secondary takes no master credentials; an encrypted one needs a KMS key of its own region.
    encryption = {"StorageEncrypted": True, "KmsKeyId": kms_key_id} if kms_key_id else {}
    rds.create_db_cluster(DBClusterIdentifier=cluster_id, GlobalClusterIdentifier=global_cluster_id,
                          Engine=ENGINE, EngineVersion=engine_version, DeletionProtection=True, **encryption)
    wait_cluster_available(rds, cluster_id, timeout_s=timeout_s, poll_s=poll_s)
    return {"recreated": cluster_id, "detached_kept_as": renamed}


def pitr_window(rds: Any, cluster_id: str) -> dict[str, Any]:
    """The cluster's continuous-backup settings and restorable window, read-only: BackupRetentionPeriod (days; Aurora
    always keeps continuous backups for 1-35 days) and [EarliestRestorableTime, LatestRestorableTime]. LookupError
    naming the cluster when it does not exist."""
    cluster = describe_cluster(rds, cluster_id)
    if cluster is None:
        raise LookupError(f"DB cluster {cluster_id!r} does not exist")
    return {"cluster_arn": cluster.get("DBClusterArn"), "status": cluster.get("Status"),
            "retention_days": int(cluster.get("BackupRetentionPeriod") or 0),
            "earliest": cluster.get("EarliestRestorableTime"), "latest": cluster.get("LatestRestorableTime")}
