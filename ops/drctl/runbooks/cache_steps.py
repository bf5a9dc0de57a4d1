"""The cache's role change in RB-N-01 (failover and failback): the same `promote_cache` (FailoverGlobalReplicationGroup)
the Pulumi writer change runs, so the API path and `pulumi up` move the cache alike.

The runbook's `cache` parameter (ops/drctl/commands/failover.py) says whether B keeps a Global Datastore member
(the posture table's failover row promotes one) and names both regions' replication groups. The Global Datastore's
id carries an AWS-chosen prefix, so it is read from the target group itself, in the target region: during A's outage
B needs nothing of A. Without a member in B (pilot light) there is nothing to promote: `pulumi up --stack dr` with
`failover: true` creates B's cold cache, and the failback's `pulumi up` removes it.
"""
from __future__ import annotations

from typing import Any

from ops.actions import elasticache
from ops.core.errors import BadInput
from ops.drctl.runbooks.engine import RunContext, Step


def _target(ctx: RunContext, to: str) -> tuple[str, str] | None:
    """(region, replication group) the cache's primary moves to, or None when B keeps no member."""
    cache = ctx.params.get("cache")  # absent from journals written before the cache existed
    if not cache or not cache.get("member_in_b"):
        return None
    if to == "dr":
        return ctx.params["dr_region"], cache["dr_group_id"]
    return ctx.params["primary_region"], cache["primary_group_id"]


def _global_group(ctx: RunContext, region: str, group_id: str) -> str:
    try:
        found = elasticache.global_group_of(ctx.client("elasticache", region), group_id)
    except LookupError as exc:
        raise BadInput(f"cache: {exc} in {region} (the posture table keeps a Global Datastore member there)") from None
    if found is None:
        raise BadInput(f"cache: replication group {group_id} in {region} belongs to no Global Datastore")
    return found


def cache_promotion_step(to: str) -> Step:
    """Make the `to` region's ("dr" or "primary") replication group the cache's primary."""
    def action(ctx: RunContext) -> dict[str, Any]:
        target = _target(ctx, to)
        if target is None:
            return {"changed": False, "note": "B keeps no Global Datastore member: nothing to promote"}
        region, group_id = target
        client = ctx.client("elasticache", region)
        result = elasticache.promote_cache(client, global_group_id=_global_group(ctx, region, group_id),
                                           target_group_id=group_id, timeout_s=ctx.params["timeout_s"],
                                           poll_s=ctx.params["poll_s"])
        return {**result, "region": region}

    def would_call(ctx: RunContext) -> list[str]:
        target = _target(ctx, to)
        if target is None:
            return ["none: B keeps no Global Datastore member (pilot light: pulumi up brings a cold cache)"]
        region, group_id = target
        global_id = _global_group(ctx, region, group_id)
        now = elasticache.describe_global_group(ctx.client("elasticache", region), global_id)
        if elasticache.primary_group(now) == group_id:
            return [f"none: {group_id} is already the primary of {global_id}"]
        return [elasticache.planned_promotion_call(global_id, group_id, region),
                "elasticache:DescribeGlobalReplicationGroups until it is primary and the datastore available"]

    where = "B" if to == "dr" else "A"
    return Step(f"promote-cache-{where.lower()}", f"cache: make {where}'s replication group the Global Datastore "
                "primary", action, would_call=would_call)
