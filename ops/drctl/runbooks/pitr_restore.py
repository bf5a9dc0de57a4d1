"""RB-N-02 Aurora point-in-time restore (seed 000 N.5 `aurora_pitr_restore.sh`): restore the source cluster to a
time (or the latest restorable time) as a NEW cluster `dr-core-YYYYmmddHHMM`, add a writer, wait until both are
available, print the endpoint. The source is never touched.

Parameters (plain values; the CLI derives them): source_cluster_id, region, restore_to (ISO 8601 UTC or None),
new_cluster_id (named from the run's start, kept in the journal so a resume reuses it), instance_class (None:
the source writer's class, else fallback_instance_class), fallback_instance_class, timeout_s, poll_s.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from ops.actions import rds_restore
from ops.actions.aurora import describe_cluster
from ops.core.errors import BadInput
from ops.core.times import parse_time
from ops.drctl.runbooks.engine import Runbook, RunContext, Step
from ops.drctl.runbooks.restore_steps import after_restore_steps, rds_client, restore_step

NAME = "RB-N-02 Aurora point-in-time restore"


def _preflight(ctx: RunContext) -> dict[str, Any]:
    p = ctx.params
    rds = rds_client(ctx)
    source = describe_cluster(rds, p["source_cluster_id"])
    if source is None:
        raise BadInput(f"--cluster {p['source_cluster_id']}: no DB cluster of that name in {p['region']}")
    try:
        earliest, latest = rds_restore.restorable_window(source)
    except LookupError as exc:
        raise BadInput(f"--cluster {p['source_cluster_id']}: {exc}") from None
    if p["restore_to"] is not None:
        moment = datetime.fromisoformat(p["restore_to"])
        if not earliest <= moment <= latest:
            raise BadInput(f"--to {p['restore_to']} is outside the restorable window of "
                           f"{p['source_cluster_id']}: {earliest.isoformat()} to {latest.isoformat()}")
    try:
        rds_restore.check_name_free(describe_cluster(rds, p["new_cluster_id"]), "DB cluster", p["new_cluster_id"],
                                    ctx.run_id)
    except rds_restore.NameTaken as exc:
        raise BadInput(f"new cluster name: {exc}") from None
    writer = rds_restore.writer_instance(rds, source)
    instance_class, chosen_by = _instance_class(p, writer)
    return {
        "source": source["DBClusterIdentifier"], "engine": source["Engine"],
        "engine_version": source.get("EngineVersion"), "global_cluster": source.get("GlobalClusterIdentifier"),
        "earliest_restorable_time": earliest.isoformat(), "latest_restorable_time": latest.isoformat(),
        "restore_to": p["restore_to"] or f"latest (about {latest.isoformat()})",
        "instance_class": instance_class, "instance_class_from": chosen_by,
        "restore_request": rds_restore.restore_request(source=source, new_cluster_id=p["new_cluster_id"],
                                                       restore_to=p["restore_to"], run_id=ctx.run_id),
        "writer_request": rds_restore.writer_request(
            cluster_id=p["new_cluster_id"], instance_class=instance_class, engine=source["Engine"],
            run_id=ctx.run_id, publicly_accessible=bool((writer or {}).get("PubliclyAccessible", False))),
    }


def _instance_class(params: dict[str, Any], writer: dict[str, Any] | None) -> tuple[str, str]:
    if params.get("instance_class"):
        return params["instance_class"], "--instance-class"
    if writer is not None:
        return writer["DBInstanceClass"], f"source writer {writer['DBInstanceIdentifier']}"
    return params["fallback_instance_class"], "stack setting aurora.instanceClass (source has no writer)"


_restore = restore_step(rds_restore.restore_cluster)


def _plan_restore(ctx: RunContext) -> list[str]:
    return [rds_restore.describe_call("RestoreDBClusterToPointInTime", ctx.results["preflight"]["restore_request"])]


def _validate(params: dict[str, Any]) -> None:
    if params["restore_to"] is not None:
        parse_time(params["restore_to"], "--to")


def runbook() -> Runbook:
    return Runbook(name=NAME, validate=_validate, steps=[
        Step("preflight", "source cluster, restorable window, new name free, writer class", _preflight,
             read_only=True),
        Step("restore", "RDS: restore the source to the point in time as a new cluster", _restore,
             would_call=_plan_restore),
        *after_restore_steps(),
    ])
