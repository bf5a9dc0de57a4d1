"""RB-N-02 Aurora restore from a snapshot (seed's `ops/dr/aurora_restore_from_snapshot.sh`): restore a DB cluster
snapshot — a daily AWS Backup recovery point copied into region B, an automated or a manual snapshot — as a NEW
cluster `dr-core-YYYYmmddHHMM` in the snapshot's region, add a writer, wait until both are available, print the
endpoint. Nothing existing is touched.

Why beside PITR: a logical corruption replicates to the global secondary within a second, and a point-in-time
restore needs the source cluster's region; a snapshot in region B needs neither.

Parameters (plain values; the CLI derives them): snapshot (id or ARN, or None with latest), latest,
source_cluster_ids (the global database's clusters whose snapshots --latest considers), region,
regional_cluster_id (the global database's cluster in `region`, whose settings the new cluster copies when it
exists), backup_vault (the AWS Backup vault in `region` --latest also looks in) and backup_vault_given (the operator
named it: a missing vault is then bad input, not a note), subnet_group_name / security_group_name (the Pulumi
program's names for the region's network, used when no cluster to copy exists), kms_key (None: the snapshot's),
instance_class, new_cluster_id (named from the run's start, kept in the journal so a resume reuses it), timeout_s,
poll_s.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ops.actions import backup_points, rds_restore
from ops.actions.aurora import describe_cluster
from ops.core.errors import BadInput
from ops.drctl.runbooks.engine import RunContext, Runbook, Step
from ops.drctl.runbooks.restore_steps import after_restore_steps, rds_client, restore_step

NAME = "RB-N-02 Aurora restore from snapshot"


@dataclass(frozen=True)
class _Candidate:
    """A snapshot --latest could restore: from RDS's listing (already described) or an AWS Backup recovery point."""
    created: datetime
    snapshot_from: str  # "rds-snapshot" | "aws-backup"
    arn: str  # the DB cluster snapshot's ARN (for Aurora, also the recovery point's)
    snapshot: dict[str, Any] | None = None


def _chosen_snapshot(ctx: RunContext) -> tuple[dict[str, Any], dict[str, Any]]:
    """The snapshot to restore and how it was found (preflight result fields); BadInput naming the option when
    there is none to use."""
    p, rds = ctx.params, rds_client(ctx)
    if p["snapshot"]:
        snapshot = rds_restore.describe_cluster_snapshot(rds, p["snapshot"])
        if snapshot is None:
            raise BadInput(f"--snapshot {p['snapshot']}: no DB cluster snapshot of that name in {p['region']}")
        if snapshot.get("Status") != "available":
            raise BadInput(f"--snapshot {p['snapshot']} is {snapshot.get('Status')}, not available: wait for it "
                           "or choose another")
        return snapshot, {"snapshot_from": "rds-snapshot", "recovery_point_arn": None, "chosen_by": "--snapshot"}
    return _latest(ctx)


def _latest(ctx: RunContext) -> tuple[dict[str, Any], dict[str, Any]]:
    """--latest: the newest of the global database's available RDS snapshots and COMPLETED AWS Backup recovery
    points in the region's vault, by creation time.

    Matched on the source cluster's identifier, not on current membership (DescribeGlobalClusters): in the
    disaster this is for, region A's API may be down, and copies (AWS Backup's included) keep the source cluster's
    identifier. Not on engine alone: earlier restores (dr-core-2026...) are aurora-postgresql too, and their
    snapshots are not production's."""
    p, rds = ctx.params, rds_client(ctx)
    clusters = p["source_cluster_ids"]
    listed = rds_restore.cluster_snapshots_of(rds, clusters)
    points, backup_lookup = _backup_recovery_points(ctx)
    candidates = {s["DBClusterSnapshotArn"]: _Candidate(s["SnapshotCreateTime"], "rds-snapshot",
                                                        s["DBClusterSnapshotArn"], s)
                  for s in listed if rds_restore.is_available(s)}
    # A snapshot both APIs report is AWS Backup's: the recovery point is what the operator will look for.
    candidates.update({pt["RecoveryPointArn"]: _Candidate(pt["CreationDate"], "aws-backup", pt["RecoveryPointArn"])
                       for pt in points if backup_points.is_restorable(pt)})
    not_available = [f"{s['DBClusterSnapshotIdentifier']} ({s.get('Status')})" for s in listed
                     if not rds_restore.is_available(s)]
    not_available += [f"{_snapshot_name(pt['RecoveryPointArn'])} (recovery point {pt.get('Status')})"
                      for pt in points if not backup_points.is_restorable(pt)]
    for candidate in sorted(candidates.values(), key=lambda c: c.created, reverse=True):
        snapshot = candidate.snapshot or _described(rds, candidate.arn, p["region"])
        if snapshot is not None and snapshot.get("Status") == "available":
            return snapshot, {
                "snapshot_from": candidate.snapshot_from,
                "recovery_point_arn": candidate.arn if candidate.snapshot_from == "aws-backup" else None,
                "chosen_by": f"--latest: newest available of {len(listed)} RDS snapshot(s) and {len(points)} AWS "
                             f"Backup recovery point(s) of {', '.join(clusters)}",
                "not_available": not_available, **backup_lookup}
        # A recovery point whose snapshot RDS does not (yet, or any more) report as available: try the next.
        not_available.append(f"{_snapshot_name(candidate.arn)} ({(snapshot or {}).get('Status', 'not found')})")
    raise BadInput(f"--latest: no available DB cluster snapshot of {' or '.join(clusters)} in {p['region']}"
                   + (f"; not available: {', '.join(not_available)}" if not_available else "")
                   + (f"; {backup_lookup['backup_vault_note']}" if backup_lookup.get("backup_vault_note") else ""))


def _backup_recovery_points(ctx: RunContext) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The global database's Aurora recovery points in the region's backup vault, and what the preflight result
    says of the lookup. A vault the operator did not name may not exist in the region (another stack layout, a
    region without the copy vault): noted, and --latest goes on with RDS snapshots alone."""
    p = ctx.params
    vault = p.get("backup_vault")  # absent from journals written before AWS Backup was looked at
    looked_in = [rds_restore.describe_call("DescribeDBClusterSnapshots", {
        "Filters": [f"db-cluster-id={','.join(p['source_cluster_ids'])}"]})]
    if not vault:
        return [], {"backup_vault": None, "backup_vault_note": "no backup vault given: RDS snapshots only",
                    "looked_in": looked_in}
    looked_in.append(rds_restore.describe_call("ListRecoveryPointsByBackupVault", {
        "BackupVaultName": vault, "ByResourceType": backup_points.AURORA}, service="backup"))
    try:
        points = backup_points.aurora_recovery_points(ctx.client("backup", p["region"]), vault,
                                                      p["source_cluster_ids"])
    except (backup_points.VaultNotFound, backup_points.VaultUnreadable) as exc:
        # At 3 a.m. a missing vault or a role without backup:List* must not stand between the operator and the
        # RDS snapshots; a vault named on purpose is a different matter: that run stops and says why.
        if p.get("backup_vault_given"):
            if isinstance(exc, backup_points.VaultNotFound):
                raise BadInput(f"--backup-vault {vault}: no backup vault of that name in {p['region']}") from None
            raise
        note = f"{exc} in {p['region']}: RDS snapshots only"
        ctx.log(note)
        return [], {"backup_vault": vault, "backup_vault_note": note, "looked_in": looked_in}
    return points, {"backup_vault": vault, "backup_vault_note": None, "looked_in": looked_in}


def _described(rds: Any, snapshot_arn: str, region: str) -> dict[str, Any] | None:
    """The snapshot of a recovery point as DescribeDBClusterSnapshots reports it; None when it is in another
    region (RDS restores only in the snapshot's own region) or RDS does not know it."""
    try:
        arn_parts = rds_restore.snapshot_arn_parts(snapshot_arn)
    except ValueError:  # not a DB cluster snapshot: nothing RestoreDBClusterFromSnapshot takes
        return None
    if arn_parts is None or arn_parts[0] != region:
        return None
    return rds_restore.describe_cluster_snapshot(rds, snapshot_arn)


def _snapshot_name(snapshot_arn: str) -> str:
    return snapshot_arn.partition(":cluster-snapshot:")[2] or snapshot_arn


def _placement(ctx: RunContext, snapshot: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None, str]:
    """Where the new cluster goes: copied from a cluster in the region (the snapshot's source if it is here, else
    the global database's regional cluster), else the network the Pulumi program makes for the region."""
    p, rds = ctx.params, rds_client(ctx)
    for cluster_id in dict.fromkeys([snapshot["DBClusterIdentifier"], p["regional_cluster_id"]]):
        cluster = describe_cluster(rds, cluster_id)
        if cluster is not None:
            return rds_restore.placement_of(cluster), cluster, f"DB cluster {cluster_id}"
    try:
        placement = rds_restore.network_placement(rds, ctx.client("ec2", p["region"]),
                                                  subnet_group=p["subnet_group_name"],
                                                  security_group=p["security_group_name"])
    except LookupError as exc:
        raise BadInput(f"--region {p['region']}: no cluster to copy settings from "
                       f"({' or '.join(dict.fromkeys([snapshot['DBClusterIdentifier'], p['regional_cluster_id']]))})"
                       f" and the region's network is missing: {exc}") from None
    return placement, None, f"network {p['subnet_group_name']} / {p['security_group_name']} (Pulumi names)"


def _preflight(ctx: RunContext) -> dict[str, Any]:
    p = ctx.params
    snapshot, found = _chosen_snapshot(ctx)
    try:
        rds_restore.check_name_free(describe_cluster(rds_client(ctx), p["new_cluster_id"]), "DB cluster",
                                    p["new_cluster_id"], ctx.run_id)
    except rds_restore.NameTaken as exc:
        raise BadInput(f"new cluster name: {exc}") from None
    placement, template, placed_by = _placement(ctx, snapshot)
    request = rds_restore.snapshot_restore_request(
        snapshot=snapshot, new_cluster_id=p["new_cluster_id"], placement=placement, kms_key_id=p["kms_key"],
        run_id=ctx.run_id, kept_tags_from=template)
    return {
        # Where it was found first: the table of a run shows the first few hundred characters of a result.
        "snapshot": snapshot["DBClusterSnapshotIdentifier"], **found,
        "snapshot_arn": snapshot["DBClusterSnapshotArn"],
        "snapshot_type": snapshot.get("SnapshotType"), "snapshot_source": snapshot.get("DBClusterIdentifier"),
        "snapshot_time": _iso(snapshot.get("SnapshotCreateTime")),
        "engine": snapshot["Engine"], "engine_version": snapshot.get("EngineVersion"),
        "kms_key": request.get("KmsKeyId"), "kms_key_from": "--kms-key" if p["kms_key"] else "snapshot",
        "settings_from": placed_by, "instance_class": p["instance_class"],
        "restore_request": request,
        "writer_request": rds_restore.writer_request(cluster_id=p["new_cluster_id"],
                                                     instance_class=p["instance_class"],
                                                     engine=snapshot["Engine"], run_id=ctx.run_id),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(timezone.utc).isoformat() if moment else None


_restore = restore_step(rds_restore.restore_cluster_from_snapshot)


def _plan_restore(ctx: RunContext) -> list[str]:
    return [rds_restore.describe_call("RestoreDBClusterFromSnapshot", ctx.results["preflight"]["restore_request"])]


def runbook() -> Runbook:
    return Runbook(name=NAME, steps=[
        Step("preflight", "snapshot available, new name free, where the cluster goes, KMS key", _preflight,
             read_only=True),
        Step("restore", "RDS: restore the snapshot as a new cluster", _restore, would_call=_plan_restore),
        *after_restore_steps(),
    ])
