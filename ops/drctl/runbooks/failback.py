"""RB-N-01 failback B→A (seed 004 §7): planned, in a maintenance window, once region A is back.

preflight (read-only: A's cluster exists and its endpoint is healthy) → bring A back as a secondary (after an
unplanned failover AWS rejoins the old primary by itself when its region recovers; if it was detached, a new
secondary is created and the detached cluster kept under another name) → wait until A's replication lag is
under the threshold (bounded) → switchover to A (RPO 0) → A's cache group the Global Datastore primary again → `failover: false` written back into the stack file
(A writes again: a later `pulumi up` must not promote B) → Route53 back to A → smoke checks against A → keep B
warm (recorded as a tag on B's cluster; nothing in B is scaled down — seed 000 RB-N-08: keep B warm for 24–48 h;
the next `pulumi up --stack dr` scales B to its posture's row, so run it after that time).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from ops.actions import aurora
from ops.actions.polling import WaitTimeout, poll_until
from ops.core import naming
from ops.core.errors import BadInput
from ops.drctl.runbooks.cache_steps import cache_promotion_step
from ops.drctl.runbooks.engine import Runbook, RunContext, Step, now_iso
from ops.drctl.runbooks.steps import (
    announce_step,
    dns_preflight,
    dns_step,
    endpoint_health,
    global_cluster_or_bad_input,
    region_cluster_status,
    smoke_step,
    validate_notify_topic,
)

NAME = "RB-N-01 failback B→A"
KEEP_WARM_TAG = "drctl:keep-warm-until"


def _preflight(ctx: RunContext) -> dict[str, Any]:
    p = ctx.params
    rds_a = ctx.client("rds", p["primary_region"])
    global_cluster = global_cluster_or_bad_input(ctx, p["primary_region"])
    status = region_cluster_status(ctx, p["primary_region"], p["primary_cluster_id"])
    if status in ("missing", "unreachable"):
        raise BadInput(f"region A's cluster {p['primary_cluster_id']} is {status}: restore region A first "
                       "(pulumi up --stack primary), then fail back")
    cluster_a = aurora.describe_cluster(rds_a, p["primary_cluster_id"]) or {}
    dns = dns_preflight(ctx, p["change_set"])
    a_endpoint = endpoint_health(ctx, dns["health_checks"], p["dns"]["primary_endpoint"])
    if not a_endpoint["healthy"] and not p["force"]:
        raise BadInput(f"region A's endpoint {p['dns']['primary_endpoint']} is not healthy "
                       f"({'; '.join(a_endpoint['reports']) or 'no reports'}): add --force to fail back anyway")
    arn_a = cluster_a["DBClusterArn"]
    return {"started_at": now_iso(), "writer": aurora.writer_arn(global_cluster), "arn_a": arn_a,
            "a_is_member": arn_a in aurora.member_arns(global_cluster), "a_health": a_endpoint, **dns}


def _rejoin(ctx: RunContext) -> dict[str, Any]:
    p, pre = ctx.params, ctx.results["preflight"]
    rds_a = ctx.client("rds", p["primary_region"])
    rejoined: dict[str, Any] = {"rejoined": False}
    global_cluster = aurora.describe_global_cluster(rds_a, p["global_cluster_id"])
    if pre["arn_a"] not in aurora.member_arns(global_cluster):
        engine_version = str(global_cluster.get("EngineVersion", ""))
        rejoined = {"rejoined": True, **aurora.rejoin_as_secondary(
            rds_a, global_cluster_id=p["global_cluster_id"], cluster_id=p["primary_cluster_id"],
            engine_version=engine_version, detached_suffix=f"detached-{datetime.now(timezone.utc):%Y%m%d%H%M}",
            timeout_s=p["timeout_s"], poll_s=p["poll_s"])}
    arn_a = (aurora.describe_cluster(rds_a, p["primary_cluster_id"]) or {})["DBClusterArn"]
    scaled = aurora.scale_instances(rds_a, cluster_id=p["primary_cluster_id"], count=p["production_instances"],
                                    instance_class=p["instance_class"], timeout_s=p["timeout_s"],
                                    poll_s=p["poll_s"])
    return {**rejoined, "arn_a": arn_a, **scaled}


def _rejoin_plan(ctx: RunContext) -> list[str]:
    p, pre = ctx.params, ctx.results["preflight"]
    calls = [] if pre["a_is_member"] else [
        f"rds:ModifyDBCluster(DBClusterIdentifier={p['primary_cluster_id']}, NewDBClusterIdentifier="
        f"{p['primary_cluster_id']}-detached-<timestamp>) — the detached cluster is kept",
        f"rds:CreateDBCluster(DBClusterIdentifier={p['primary_cluster_id']}, "
        f"GlobalClusterIdentifier={p['global_cluster_id']}, region={p['primary_region']})"]
    missing = (aurora.missing_instance_ids(ctx.client("rds", p["primary_region"]), p["primary_cluster_id"],
                                           p["production_instances"]) if pre["a_is_member"] else
               [naming.instance_id(p["primary_cluster_id"], n) for n in range(p["production_instances"])])
    return calls + [f"rds:CreateDBInstance(DBInstanceIdentifier={i}, DBClusterIdentifier={p['primary_cluster_id']})"
                    for i in missing] or [f"none: {p['primary_cluster_id']} is a member with its instances"]


def _wait_lag(ctx: RunContext) -> dict[str, Any]:
    p = ctx.params
    cloudwatch = ctx.client("cloudwatch", p["primary_region"])
    first = aurora.replication_lag(cloudwatch, p["primary_cluster_id"])
    if first is None:
        return {"replication_lag_seconds_note": "CloudWatch reports no AuroraGlobalDBReplicationLag for A (not "
                "measured); the switchover itself synchronizes A before changing roles (RPO 0)"}
    try:
        lag = poll_until(lambda: aurora.replication_lag(cloudwatch, p["primary_cluster_id"]),
                         lambda value: value is not None and value <= p["max_lag_seconds"],
                         timeout_s=p["lag_timeout_s"], poll_s=p["poll_s"],
                         what=f"A's replication lag to fall under {p['max_lag_seconds']} s")
    except WaitTimeout as exc:
        raise RuntimeError(f"{exc}; fail back later or raise --max-lag-seconds") from None
    return {"replication_lag_seconds": lag}


def _switchover(ctx: RunContext) -> dict[str, Any]:
    p = ctx.params
    result = aurora.promote_secondary(ctx.client("rds", p["primary_region"]),
                                      global_cluster_id=p["global_cluster_id"],
                                      target_cluster_arn=ctx.results["rejoin-a"]["arn_a"], mode="planned",
                                      timeout_s=p["timeout_s"], poll_s=p["poll_s"])
    return {**result, "rpo_seconds": 0.0}


def _switchover_plan(ctx: RunContext) -> list[str]:
    pre = ctx.results["preflight"]
    if pre["writer"] == pre["arn_a"]:
        return [f"none: {pre['arn_a']} already writes"]
    return [aurora.planned_promotion_call(ctx.params["global_cluster_id"], pre["arn_a"], "planned")]


def _flip_back(ctx: RunContext) -> dict[str, Any]:
    """`failover: false` in the stack file (a line edit, every other byte kept): A writes again, so the failover
    step must not be in the next `pulumi up`."""
    from stacks.config_files import set_stack_config  # lazily: only when the run acts

    path = Path(ctx.params["stack_file"])
    return {"stack_file": str(path), "changed": ["failover"] if set_stack_config(path, "failover", False) else []}


def _keep_b_warm(ctx: RunContext) -> dict[str, Any]:
    p = ctx.params
    until = (datetime.now(timezone.utc) + timedelta(hours=p["keep_b_warm_hours"])).isoformat(timespec="seconds")
    rds_b = ctx.client("rds", p["dr_region"])
    cluster_b = aurora.describe_cluster(rds_b, p["dr_cluster_id"])
    if cluster_b is not None:
        rds_b.add_tags_to_resource(ResourceName=cluster_b["DBClusterArn"], Tags=[{"Key": KEEP_WARM_TAG,
                                                                                  "Value": until}])
    note = (f"B keeps its capacity until {until}; {Path(p['stack_file']).name} says failover: false, so the next "
            f"`pulumi up --stack {p['stack']}` scales B to its posture's row: run it after that time")
    ctx.console.print(f"next: {note}")
    return {"keep_warm_until": until, "scaled_down": False, "note": note}


def _started_message(ctx: RunContext) -> str:
    p = ctx.params
    return (f"Failing back {p['global_cluster_id']} and {p['dns']['fqdn']} from {p['dr_region']} to "
            f"{p['primary_region']} (planned switchover, no data loss) once A's replication lag is under "
            f"{p['max_lag_seconds']:g} s. Writes pause for about a minute during the switchover.")


def _finished_message(ctx: RunContext) -> str:
    p = ctx.params
    return (f"{p['dns']['fqdn']} points at {p['primary_region']} again, whose Aurora cluster is the writer. "
            f"{p['dr_region']} stays warm for {p['keep_b_warm_hours']:g} h.")


def _validate(params: dict[str, Any]) -> None:
    validate_notify_topic(params)
    if not 0 <= params["max_lag_seconds"] <= 3600:
        raise BadInput(f"--max-lag-seconds {params['max_lag_seconds']}: expected 0..3600")
    if not 0 <= params["keep_b_warm_hours"] <= 24 * 14:
        raise BadInput(f"--keep-b-warm-hours {params['keep_b_warm_hours']}: expected 0..336")


def runbook() -> Runbook:
    return Runbook(name=NAME, validate=_validate, steps=[
        Step("preflight", "A's cluster exists and its endpoint is healthy", _preflight, read_only=True),
        announce_step("announce", lambda ctx: f"{NAME}: failing back to {ctx.params['primary_region']}",
                      _started_message),
        Step("rejoin-a", "A back in the global database as a secondary, with instances", _rejoin,
             would_call=_rejoin_plan),
        Step("wait-lag", "A's replication lag under the threshold", _wait_lag,
             would_call=lambda ctx: ["cloudwatch:GetMetricStatistics(AuroraGlobalDBReplicationLag) until under "
                                     f"{ctx.params['max_lag_seconds']} s"]),
        Step("switchover", "Aurora: make A the writer (planned, RPO 0)", _switchover, would_call=_switchover_plan),
        cache_promotion_step("primary"),  # the cache's primary follows the writer back to A
        Step("flip-back", "failover: false in the stack file (A writes)", _flip_back,
             would_call=lambda ctx: [f"write {ctx.params['stack_file']}: failover: false (line edit, every other "
                                     "byte kept)"]),
        dns_step("dns", "Route53: API record back to A", "change_set", "change_set_path"),
        smoke_step(),
        Step("keep-b-warm", "record how long B stays warm; no scale-down", _keep_b_warm,
             would_call=lambda ctx: [f"rds:AddTagsToResource({ctx.params['dr_cluster_id']}, {KEEP_WARM_TAG}=now+"
                                     f"{ctx.params['keep_b_warm_hours']}h)"]),
        announce_step("announce-result", lambda ctx: f"{NAME}: {ctx.params['primary_region']} serves again",
                      _finished_message),
    ])
