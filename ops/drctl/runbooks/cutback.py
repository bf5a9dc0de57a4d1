"""RB-N-08 CloudFront/DNS invalidation & cutback (seed 000): invalidate the critical paths after restores, then
move Route53 back to region A — only once A's health check has been healthy for a while, so a flapping region
does not get traffic back. B stays warm (nothing here scales it down).

Cutback moves traffic only: it refuses (exit 2, nothing changed) unless region A's cluster is the writer of the
global database and A's health check passes. While B writes, A is a read-only secondary, so the writer must come
back first (`drctl failback`, a switchover); the check is repeated right before DNS moves.
"""
from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ops.actions import aurora, cloudfront, route53
from ops.actions.aws import error_code
from ops.core.errors import BadInput
from ops.drctl.runbooks.engine import RunContext, Runbook, Step, now_iso
from ops.drctl.runbooks.steps import dns_preflight, dns_step, endpoint_health, global_cluster_or_bad_input

NAME = "RB-N-08 CDN invalidation & cutback"


def _preflight(ctx: RunContext) -> dict[str, Any]:
    p = ctx.params
    try:
        ctx.client("cloudfront", "us-east-1").get_distribution(Id=p["distribution_id"])
    except ClientError as exc:
        if error_code(exc) == "NoSuchDistribution":
            raise BadInput(f"--distribution {p['distribution_id']}: no such CloudFront distribution") from None
        raise
    writer = _a_writes_or_why(ctx)
    if writer["refusal"]:
        raise BadInput(writer["refusal"])
    dns = dns_preflight(ctx, p["change_set"])
    a_health = endpoint_health(ctx, dns["health_checks"], p["dns"]["primary_endpoint"])
    if not a_health["healthy"]:
        raise BadInput(f"cutback refused: the health check of {p['dns']['primary_endpoint']} (region A) is failing "
                       f"({'; '.join(a_health['reports']) or 'no reports'}); DNS stays on B")
    return {"started_at": now_iso(), **dns, "writer": writer["writer"], "a_health": a_health}


def _a_writes_or_why(ctx: RunContext) -> dict[str, Any]:
    """{"writer", "refusal"}: refusal is None when region A's cluster is the global database's writer, else why
    cutback must not move traffic to A (A's RDS API unreachable, no writer, or another region writes)."""
    p = ctx.params
    wanted = p["primary_cluster_id"]
    try:
        cluster_a = aurora.describe_cluster(ctx.client("rds", p["primary_region"], max_attempts=2), wanted)
    except (ClientError, BotoCoreError) as exc:
        return {"writer": None, "refusal": f"cutback refused: region A's RDS API does not answer ({exc})"}
    if cluster_a is None:
        return {"writer": None, "refusal": f"cutback refused: region A's cluster {wanted} does not exist"}
    global_cluster = global_cluster_or_bad_input(ctx, p["primary_region"])
    writer = aurora.writer_arn(global_cluster)
    if writer != cluster_a["DBClusterArn"] or global_cluster.get("Status") != "available":
        state = f"{writer or 'no cluster'} writes" + (
            "" if global_cluster.get("Status") == "available" else f", global cluster {global_cluster.get('Status')}")
        return {"writer": writer, "refusal": (
            f"cutback refused: region A's cluster {wanted} is not the writer of global cluster "
            f"{p['global_cluster_id']} ({state}); DNS to A would send traffic to a read-only region. Switch the "
            "writer back first: drctl failback")}
    return {"writer": writer, "refusal": None}


def _invalidate(ctx: RunContext) -> dict[str, Any]:
    p = ctx.params
    ids = cloudfront.invalidate_paths(ctx.client("cloudfront", "us-east-1"), p["distribution_id"], p["paths"],
                                      caller_reference=p["caller_reference"], wait_timeout_s=p["timeout_s"],
                                      poll_s=p["poll_s"])
    return {"invalidations": ids, "paths": len(p["paths"])}


def _wait_a_healthy(ctx: RunContext) -> dict[str, Any]:
    p = ctx.params
    check = ctx.results["preflight"]["health_checks"][p["dns"]["primary_endpoint"]]
    healthy = route53.wait_healthy_for(ctx.client("route53", p["primary_region"]), check,
                                       healthy_for_s=p["healthy_for_seconds"], timeout_s=p["healthy_timeout_s"],
                                       poll_s=p["poll_s"])
    writer = _a_writes_or_why(ctx)  # again: the writer may have moved while A was waited on
    if writer["refusal"]:
        raise RuntimeError(writer["refusal"])
    return {**healthy, "writer": writer["writer"]}


def _validate(params: dict[str, Any]) -> None:
    try:
        cloudfront.validate_paths(params["paths"])
    except ValueError as exc:
        raise BadInput(f"--paths: {exc}") from None
    if params["healthy_timeout_s"] < params["healthy_for_seconds"]:
        raise BadInput(f"--healthy-timeout {params['healthy_timeout_s']} is shorter than --healthy-for-seconds "
                       f"{params['healthy_for_seconds']}")


def runbook() -> Runbook:
    return Runbook(name=NAME, validate=_validate, steps=[
        Step("preflight", "distribution, A writes, zone, health checks, A healthy now", _preflight,
             read_only=True),
        Step("invalidate", "CloudFront: invalidate the critical paths", _invalidate,
             would_call=lambda ctx: cloudfront.plan_calls(ctx.params["distribution_id"], ctx.params["paths"],
                                                          ctx.params["caller_reference"])),
        Step("wait-a-healthy", "A's health check healthy long enough, A still the writer", _wait_a_healthy,
             would_call=lambda ctx: [f"route53:GetHealthCheckStatus until healthy for "
                                     f"{ctx.params['healthy_for_seconds']} s (at most "
                                     f"{ctx.params['healthy_timeout_s']} s)"]),
        dns_step("dns", "Route53: API record back to A", "change_set", "change_set_path"),
    ])
