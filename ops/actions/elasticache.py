"""ElastiCache Global Datastore actions: which member is primary, and the role change itself.

`promote_cache` is THE promotion of a cache region, shared by `drctl failover`/`failback` and the Pulumi writer
change (components/failover.py): FailoverGlobalReplicationGroup, which makes the named member the primary and every
other member a secondary. There is no planned/unplanned variant: replication is asynchronous either way (RPO = the
lag, typically under a second), and it is a cache. Roles change through this API, never by editing membership
(a member that leaves a Global Datastore is wiped when it joins again).

The call goes to the TARGET region's endpoint (the region of the member that becomes primary): during A's outage B
must promote itself without reaching A. PrimaryRegion and PrimaryReplicationGroupId name the new primary.
"""
from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from ops.actions.aws import described_one
from ops.actions.polling import poll_until

AVAILABLE = "available"
PRIMARY_ONLY = "primary-only"  # a Global Datastore whose primary is its only member, settled
PRIMARY_ROLE = "PRIMARY"


class CacheStateError(RuntimeError):
    """The Global Datastore is not in a state the requested change can start from; the message says why."""


def describe_global_group(elasticache: Any, global_group_id: str) -> dict[str, Any]:
    """The Global Datastore with its members (ShowMemberInfo); LookupError naming it when it does not exist."""
    return described_one(lambda: elasticache.describe_global_replication_groups(
        GlobalReplicationGroupId=global_group_id, ShowMemberInfo=True), "GlobalReplicationGroups",
        "GlobalReplicationGroupNotFoundFault", f"global replication group {global_group_id!r}")


def global_group_of(elasticache: Any, replication_group_id: str) -> str | None:
    """The Global Datastore a replication group belongs to (asked of the group's own region), or None when the
    group belongs to none; LookupError naming it when it does not exist."""
    group = described_one(lambda: elasticache.describe_replication_groups(ReplicationGroupId=replication_group_id),
                          "ReplicationGroups", "ReplicationGroupNotFoundFault",
                          f"replication group {replication_group_id!r}")
    info = group.get("GlobalReplicationGroupInfo") or {}
    return info.get("GlobalReplicationGroupId") or None


def global_group_named(elasticache: Any, suffix: str) -> dict[str, Any] | None:
    """The Global Datastore created with this id suffix (AWS prefixes the id with a region code: `ldgnf-dr-cache`),
    with its members; None when there is none."""
    for page in elasticache.get_paginator("describe_global_replication_groups").paginate(ShowMemberInfo=True):
        for group in page.get("GlobalReplicationGroups", []):
            if group["GlobalReplicationGroupId"].split("-", 1)[-1] == suffix:
                return group
    return None


def replication_group_status(elasticache: Any, replication_group_id: str) -> str:
    """A replication group's status (`available`, `creating`, ...); LookupError naming it when it does not exist."""
    return described_one(lambda: elasticache.describe_replication_groups(ReplicationGroupId=replication_group_id),
                         "ReplicationGroups", "ReplicationGroupNotFoundFault",
                         f"replication group {replication_group_id!r}").get("Status", "")


def primary_group(global_group: dict[str, Any]) -> str | None:
    """The replication group id of the member that takes writes, or None while no member is primary."""
    return next((m["ReplicationGroupId"] for m in global_group.get("Members", []) if m.get("Role") == PRIMARY_ROLE),
                None)


def member(global_group: dict[str, Any], replication_group_id: str) -> dict[str, Any] | None:
    return next((m for m in global_group.get("Members", []) if m.get("ReplicationGroupId") == replication_group_id),
                None)


def _settled_on(global_group: dict[str, Any], target_group_id: str) -> bool:
    return primary_group(global_group) == target_group_id and global_group.get("Status") == AVAILABLE


def promote_cache(elasticache: Any, *, global_group_id: str, target_group_id: str, timeout_s: float = 1800,
                  poll_s: float = 10) -> dict[str, Any]:
    """Make `target_group_id` the primary of the Global Datastore; `elasticache` is a client in the TARGET region.

    Idempotent: when the target is already primary, nothing is called ({"changed": False}). A change already
    running (a resumed run, or the answer to our own call lost: botocore's retry then meets
    InvalidGlobalReplicationGroupState) is waited for, and the roles it left are judged afresh.
    Returns {"changed", "primary", "previous_primary", "seconds"}; raises WaitTimeout after `timeout_s`."""
    started = time.monotonic()
    deadline = started + timeout_s
    current = describe_global_group(elasticache, global_group_id)
    previous = primary_group(current)
    target = member(current, target_group_id)
    if target is None:
        members = ", ".join(m["ReplicationGroupId"] for m in current.get("Members", [])) or "none"
        raise CacheStateError(f"{target_group_id} is not a member of global replication group {global_group_id} "
                              f"(members: {members})")
    changed = False
    while not _settled_on(current, target_group_id):
        if current.get("Status") != AVAILABLE:  # a change is running: wait for it, then look again
            current = _wait_available(elasticache, global_group_id, deadline, poll_s)
            continue
        if changed:  # we started one, it finished, and the target is still not primary
            raise CacheStateError(f"the failover of {global_group_id} to {target_group_id} ended with "
                                  f"{primary_group(current)} primary")
        _start_failover(elasticache, global_group_id, target_group_id, target["ReplicationGroupRegion"])
        changed = True
        current = poll_until(lambda: describe_global_group(elasticache, global_group_id),
                             lambda gg: _settled_on(gg, target_group_id) or gg.get("Status") == AVAILABLE
                             and primary_group(gg) != previous,
                             timeout_s=max(poll_s, deadline - time.monotonic()), poll_s=poll_s,
                             what=f"{target_group_id} to become the primary of {global_group_id}")
    return {"changed": changed or previous != target_group_id, "primary": target_group_id,
            "previous_primary": previous, "seconds": round(time.monotonic() - started, 3)}


def _wait_available(elasticache: Any, global_group_id: str, deadline: float, poll_s: float) -> dict[str, Any]:
    return poll_until(lambda: describe_global_group(elasticache, global_group_id),
                      lambda gg: gg.get("Status") == AVAILABLE, timeout_s=max(poll_s, deadline - time.monotonic()),
                      poll_s=poll_s, what=f"global replication group {global_group_id} to be available")


def _start_failover(elasticache: Any, global_group_id: str, target_group_id: str, target_region: str) -> None:
    """FailoverGlobalReplicationGroup. When the call fails, the Global Datastore's state decides: the target already
    primary, or a change running, means the server acted and its answer was lost, so the caller waits; anything
    else re-raises the error."""
    try:
        elasticache.failover_global_replication_group(GlobalReplicationGroupId=global_group_id,
                                                      PrimaryRegion=target_region,
                                                      PrimaryReplicationGroupId=target_group_id)
    except ClientError:
        now = describe_global_group(elasticache, global_group_id)
        if primary_group(now) != target_group_id and now.get("Status") == AVAILABLE:
            raise


def planned_promotion_call(global_group_id: str, target_group_id: str, target_region: str) -> str:
    """The API call `promote_cache` makes, as a dry run prints it."""
    return (f"elasticache:FailoverGlobalReplicationGroup(GlobalReplicationGroupId={global_group_id}, "
            f"PrimaryRegion={target_region}, PrimaryReplicationGroupId={target_group_id})")
