"""Steps and checks that failover, failback (RB-N-01) and cutback (RB-N-08) share: the DNS preflight and flip,
an endpoint's health, the global cluster, the announcements to --notify-topic and the smoke checks."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ops.actions import aurora, route53, sns
from ops.core.errors import BadInput
from ops.drctl.runbooks.engine import RunContext, Step
from ops.drctl.runbooks.smoke import run_checks


def dns_preflight(ctx: RunContext, batch: dict[str, Any]) -> dict[str, Any]:
    """Zone id and the health checks a change set needs; BadInput naming what is missing."""
    client = ctx.client("route53", ctx.params["primary_region"])
    try:
        zone_id = route53.hosted_zone_id(client, ctx.params["dns"]["zone_name"])
    except LookupError as exc:
        raise BadInput(f"dns.zoneName: {exc}") from None
    checks = route53.health_checks_by_endpoint(client)
    wanted = {e: checks[e] for e in route53.endpoints_in(batch) if e in checks}
    missing = sorted(set(route53.endpoints_in(batch)) - set(wanted))
    if missing:
        raise BadInput(f"dns: no Route53 health check on endpoint(s) {', '.join(missing)}")
    return {"zone_id": zone_id, "health_checks": wanted}


def endpoint_health(ctx: RunContext, health_checks: dict[str, str], endpoint: str) -> dict[str, Any]:
    healthy, reports = route53.health_status(ctx.client("route53", ctx.params["primary_region"]),
                                             health_checks[endpoint])
    return {"healthy": healthy, "reports": reports}


def dns_step(name: str, description: str, batch_param: str, path_param: str) -> Step:
    """Write the change set file (regenerated from settings), resolve health checks, UPSERT, wait INSYNC."""
    def action(ctx: RunContext) -> dict[str, Any]:
        batch, pre = ctx.params[batch_param], ctx.results["preflight"]
        path = Path(ctx.params[path_param])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(route53.render(batch))
        applied = route53.apply_change_batch(
            ctx.client("route53", ctx.params["primary_region"]), pre["zone_id"],
            route53.resolve(batch, pre["health_checks"]), timeout_s=ctx.params["timeout_s"],
            poll_s=ctx.params["poll_s"])
        return {**applied, "change_set": str(path)}

    def would_call(ctx: RunContext) -> list[str]:
        batch = ctx.params[batch_param]
        upserts = ", ".join(f"UPSERT {c['ResourceRecordSet']['SetIdentifier']}→"
                            f"{c['ResourceRecordSet']['ResourceRecords'][0]['Value']}" for c in batch["Changes"])
        return [f"write {ctx.params[path_param]}",
                f"route53:ChangeResourceRecordSets(HostedZoneId={ctx.results['preflight']['zone_id']}, "
                f"{upserts}) unless already in place", "route53:GetChange until INSYNC"]

    return Step(name, description, action, would_call=would_call)


def announce_step(name: str, subject: Callable[[RunContext], str], message: Callable[[RunContext], str]) -> Step:
    """Publish to --notify-topic (subscribers: the comms lead, chat, status-page owner); skipped without one.
    A resume after a crash between publishing and journalling sends the message again: at least once."""
    def action(ctx: RunContext) -> dict[str, Any]:
        topic = ctx.params.get("notify_topic_arn")
        if not topic:
            return {"skipped": "no --notify-topic"}
        line = sns.subject_line(subject(ctx))
        message_id = sns.publish(ctx.client("sns", sns.topic_region(topic)), topic, line,
                                 f"{message(ctx)}\n\nrun {ctx.run_id} (journal ops/dr/runs/{ctx.run_id}.json)")
        return {"topic": topic, "message_id": message_id, "subject": line}

    def would_call(ctx: RunContext) -> list[str]:
        topic = ctx.params.get("notify_topic_arn")
        return [f"sns:Publish(TopicArn={topic}, Subject={sns.subject_line(subject(ctx))!r})"] if topic else [
            "skipped: no --notify-topic"]

    return Step(name, "tell the topic's subscribers", action, would_call=would_call)


def validate_notify_topic(params: dict[str, Any]) -> None:
    topic = params.get("notify_topic_arn")
    if topic:
        try:
            sns.topic_region(topic)
        except ValueError as exc:
            raise BadInput(f"--notify-topic: {exc}") from None


def smoke_step() -> Step:
    def action(ctx: RunContext) -> dict[str, Any]:
        url = ctx.params.get("smoke_url")
        if not url:
            return {"skipped": "no --smoke-url"}
        results = run_checks(url, ctx.params["smoke_paths"], ctx.params["smoke_timeout_s"])
        failed = [f"{r.url} → {r.status or r.error}" for r in results if not r.ok]
        if failed:
            raise RuntimeError(f"smoke checks failed: {'; '.join(failed)}")
        return {"checked": [r.url for r in results], "slowest_s": max(r.seconds for r in results)}

    def would_call(ctx: RunContext) -> list[str]:
        url = ctx.params.get("smoke_url")
        return [f"GET {url.rstrip('/')}{p}" for p in ctx.params["smoke_paths"]] if url else ["skipped: no --smoke-url"]

    return Step("smoke", "HTTP checks of the critical paths", action, would_call=would_call)


def global_cluster_or_bad_input(ctx: RunContext, region: str) -> dict[str, Any]:
    try:
        return aurora.describe_global_cluster(ctx.client("rds", region), ctx.params["global_cluster_id"])
    except LookupError as exc:
        raise BadInput(f"aurora.globalClusterId: {exc}") from None


def region_cluster_status(ctx: RunContext, region: str, cluster_id: str) -> str:
    """The cluster's status, 'missing', or 'unreachable' when the region's API does not answer."""
    try:
        found = aurora.describe_cluster(ctx.client("rds", region, max_attempts=2), cluster_id)
    except (ClientError, BotoCoreError) as exc:
        ctx.log(f"region {region} RDS API: {exc}")
        return "unreachable"
    return "missing" if found is None else str(found.get("Status"))
