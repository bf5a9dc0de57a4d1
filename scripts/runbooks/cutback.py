"""RB-N-08 CloudFront/DNS invalidation & cutback (seed 000): invalidate the critical paths after restores, then
move Route53 back to region A — only once A's health check has been healthy for a while, so a flapping region
does not get traffic back. B stays warm (nothing here scales it down).
"""
from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from scripts.actions import cloudfront, route53
from scripts.runbooks.engine import BadInput, RunContext, Runbook, Step, now_iso
from scripts.runbooks.failover import dns_preflight, dns_step, endpoint_health

NAME = "RB-N-08 CDN invalidation & cutback"
DEFAULT_CRITICAL_PATHS = ("/index.html", "/api/v1/*", "/static/app/*")


def _preflight(ctx: RunContext) -> dict[str, Any]:
    p = ctx.params
    try:
        ctx.client("cloudfront", "us-east-1").get_distribution(Id=p["distribution_id"])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NoSuchDistribution":
            raise BadInput(f"--distribution {p['distribution_id']}: no such CloudFront distribution") from None
        raise
    dns = dns_preflight(ctx, p["change_set"])
    return {"started_at": now_iso(), **dns,
            "a_health": endpoint_health(ctx, dns["health_checks"], p["dns"]["primary_endpoint"])}


def _invalidate(ctx: RunContext) -> dict[str, Any]:
    p = ctx.params
    ids = cloudfront.invalidate_paths(ctx.client("cloudfront", "us-east-1"), p["distribution_id"], p["paths"],
                                      caller_reference=p["caller_reference"], wait_timeout_s=p["timeout_s"],
                                      poll_s=p["poll_s"])
    return {"invalidations": ids, "paths": len(p["paths"])}


def _wait_a_healthy(ctx: RunContext) -> dict[str, Any]:
    p = ctx.params
    check = ctx.results["preflight"]["health_checks"][p["dns"]["primary_endpoint"]]
    return route53.wait_healthy_for(ctx.client("route53", p["primary_region"]), check,
                                    healthy_for_s=p["healthy_for_seconds"], timeout_s=p["healthy_timeout_s"],
                                    poll_s=p["poll_s"])


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
        Step("preflight", "distribution, zone, health checks, A's health now", _preflight, read_only=True),
        Step("invalidate", "CloudFront: invalidate the critical paths", _invalidate,
             would_call=lambda ctx: cloudfront.plan_calls(ctx.params["distribution_id"], ctx.params["paths"],
                                                          ctx.params["caller_reference"])),
        Step("wait-a-healthy", "A's health check healthy long enough", _wait_a_healthy,
             would_call=lambda ctx: [f"route53:GetHealthCheckStatus until healthy for "
                                     f"{ctx.params['healthy_for_seconds']} s (at most "
                                     f"{ctx.params['healthy_timeout_s']} s)"]),
        dns_step("dns", "Route53: API record back to A", "change_set", "change_set_path"),
    ])
