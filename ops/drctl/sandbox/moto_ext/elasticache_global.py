"""ElastiCache Global Datastores for moto, with AWS's documented semantics (ElastiCache API Reference:
CreateGlobalReplicationGroup, DescribeGlobalReplicationGroups, FailoverGlobalReplicationGroup, CreateReplicationGroup
with GlobalReplicationGroupId). moto 5.2.5 has none of them: it accepts GlobalReplicationGroupId on a replication
group and marks it SECONDARY, nothing more.

- CreateGlobalReplicationGroup(GlobalReplicationGroupIdSuffix, PrimaryReplicationGroupId) in the primary's region:
  the id is AWS's region prefix + "-" + suffix (us-east-1 `ldgnf-`, us-west-2 `sgaui-`, ...); the primary must exist
  in that region (ReplicationGroupNotFoundFault) and belong to no other Global Datastore; it becomes the PRIMARY
  member, and the group takes its node type, engine and version.
- CreateReplicationGroup with GlobalReplicationGroupId, in another region: the group must exist
  (GlobalReplicationGroupNotFoundFault), the region must not hold a member already, and NodeType may not be given
  (InvalidParameterCombination: the secondary inherits it). It joins as a SECONDARY with the primary's node type.
- DescribeGlobalReplicationGroups answers in every region; Members only with ShowMemberInfo. A settled group with
  its primary as the only member reports `primary-only`, with a secondary `available` (the states the API
  reference names: InvalidGlobalReplicationGroupState is "not available or in primary-only state").
- FailoverGlobalReplicationGroup(GlobalReplicationGroupId, PrimaryRegion, PrimaryReplicationGroupId): the group must
  be `available` (InvalidGlobalReplicationGroupState while a change runs), the target a SECONDARY member in
  PrimaryRegion (InvalidParameterValue otherwise, also when it is already primary). The group reports `modifying`
  for `TRANSITION_SECONDS`, then the roles swap: the target PRIMARY, every other member SECONDARY.
- DeleteGlobalReplicationGroup(GlobalReplicationGroupId, RetainPrimaryReplicationGroup): only once the primary is
  the one member left (InvalidGlobalReplicationGroupState while secondaries remain), and only retaining the primary
  (InvalidParameterValue for false), which stays as a standalone replication group.
Not modelled: DisassociateGlobalReplicationGroup, scaling through the group.
"""
from __future__ import annotations

import time
from typing import Any

from moto.core.responses import ActionResult
from moto.elasticache.exceptions import ElastiCacheException
from moto.elasticache.models import ElastiCacheBackend, ReplicationGroup, elasticache_backends
from moto.elasticache.responses import ElastiCacheResponse

TRANSITION_SECONDS = 0.3  # how long a failover stays in progress (AWS: a few minutes)
REGION_PREFIX = {"us-east-1": "ldgnf", "us-east-2": "fpkhr", "us-west-1": "virxk", "us-west-2": "sgaui"}
_original_create_replication_group = ElastiCacheBackend.create_replication_group


class GlobalReplicationGroupNotFoundFault(ElastiCacheException):
    code = "GlobalReplicationGroupNotFoundFault"


class InvalidGlobalReplicationGroupState(ElastiCacheException):
    code = "InvalidGlobalReplicationGroupState"


class InvalidParameterValue(ElastiCacheException):
    code = "InvalidParameterValue"


class InvalidParameterCombination(ElastiCacheException):
    code = "InvalidParameterCombination"


def _groups(account_id: str) -> dict[str, dict[str, Any]]:
    """Global Datastores live beside moto's us-east-1 backend, so a moto reset forgets them with everything else."""
    backend = elasticache_backends[account_id]["us-east-1"]
    if not hasattr(backend, "_dr_global_groups"):
        backend._dr_global_groups = {}  # type: ignore[attr-defined]
    return backend._dr_global_groups  # type: ignore[attr-defined]


def _settle(group: dict[str, Any]) -> None:
    pending = group.get("pending")
    if pending is None or time.monotonic() < pending["done_at"]:
        return
    for (region, group_id), replication_group in group["members"].items():
        role = "PRIMARY" if (region, group_id) == pending["target"] else "SECONDARY"
        replication_group.global_replication_group_member_role = role
    group["status"], group["pending"] = "available", None


def _group(account_id: str, global_id: str) -> dict[str, Any]:
    group = _groups(account_id).get(global_id)
    if group is None:
        raise GlobalReplicationGroupNotFoundFault(f"Global replication group {global_id} not found.")
    _settle(group)
    return group


def _status(group: dict[str, Any]) -> str:
    return "primary-only" if group["status"] == "available" and len(group["members"]) == 1 else group["status"]


def _described(group: dict[str, Any], show_members: bool) -> dict[str, Any]:
    primary = next(rg for rg in group["members"].values() if rg.global_replication_group_member_role == "PRIMARY")
    answer = {"GlobalReplicationGroupId": group["id"], "GlobalReplicationGroupDescription": group["description"],
              "Status": _status(group), "CacheNodeType": primary.cache_node_type, "Engine": primary.engine,
              "EngineVersion": primary.engine_version, "ClusterEnabled": False,
              "AuthTokenEnabled": bool(primary.auth_token_enabled),
              "TransitEncryptionEnabled": bool(primary.transit_encryption_enabled),
              "AtRestEncryptionEnabled": bool(primary.at_rest_encryption_enabled),
              "ARN": f"arn:aws:elasticache::{group['account']}:globalreplicationgroup:{group['id']}"}
    if show_members:
        answer["Members"] = [{"ReplicationGroupId": group_id, "ReplicationGroupRegion": region,
                              "Role": rg.global_replication_group_member_role,
                              "AutomaticFailover": rg.automatic_failover, "Status": "associated"}
                             for (region, group_id), rg in group["members"].items()]
    return answer


def _create_global_replication_group(self: ElastiCacheResponse) -> ActionResult:
    suffix = self._get_param("GlobalReplicationGroupIdSuffix")
    primary_id = self._get_param("PrimaryReplicationGroupId")
    region = self.region
    primary = self.elasticache_backend.describe_replication_groups(primary_id)[0]
    if primary.global_replication_group_id:
        raise InvalidParameterValue(f"Replication group {primary_id} already belongs to "
                                    f"{primary.global_replication_group_id}.")
    global_id = f"{REGION_PREFIX.get(region, 'xxxxx')}-{suffix}"
    groups = _groups(self.current_account)
    if global_id in groups:
        raise InvalidParameterValue(f"Global replication group {global_id} already exists.")
    primary.global_replication_group_id = global_id
    primary.global_replication_group_member_role = "PRIMARY"
    groups[global_id] = {"id": global_id, "account": self.current_account, "status": "available", "pending": None,
                         "description": self._get_param("GlobalReplicationGroupDescription") or "",
                         "members": {(region, primary_id): primary}}
    return ActionResult({"GlobalReplicationGroup": _described(groups[global_id], show_members=True)})


def _create_replication_group(self: ElastiCacheBackend, **kwargs: Any) -> ReplicationGroup:
    global_id = kwargs.get("global_replication_group_id")
    if not global_id:
        return _original_create_replication_group(self, **kwargs)
    group = _group(self.account_id, global_id)
    if kwargs.get("cache_node_type"):
        raise InvalidParameterCombination("CacheNodeType cannot be specified for a secondary replication group: it "
                                          "inherits the global replication group's.")
    if any(region == self.region_name for region, _ in group["members"]):
        raise InvalidParameterValue(f"Global replication group {global_id} already has a member in "
                                    f"{self.region_name}.")
    primary = next(rg for rg in group["members"].values() if rg.global_replication_group_member_role == "PRIMARY")
    created = _original_create_replication_group(self, **{**kwargs, "cache_node_type": primary.cache_node_type,
                                                          "engine": kwargs.get("engine") or primary.engine,
                                                          "engine_version": primary.engine_version})
    group["members"][(self.region_name, created.replication_group_id)] = created
    return created


def _describe_global_replication_groups(self: ElastiCacheResponse) -> ActionResult:
    global_id = self._get_param("GlobalReplicationGroupId")
    show_members = self._get_bool_param("ShowMemberInfo") or False
    if global_id:
        found = [_group(self.current_account, global_id)]
    else:
        found = list(_groups(self.current_account).values())
        for group in found:
            _settle(group)
    return ActionResult({"GlobalReplicationGroups": [_described(g, show_members) for g in found]})


def _failover_global_replication_group(self: ElastiCacheResponse) -> ActionResult:
    global_id = self._get_param("GlobalReplicationGroupId")
    target = (self._get_param("PrimaryRegion"), self._get_param("PrimaryReplicationGroupId"))
    group = _group(self.current_account, global_id)
    if group["status"] != "available":
        raise InvalidGlobalReplicationGroupState(
            f"Global replication group {global_id} is {group['status']}: a change is already running.")
    if target not in group["members"]:
        raise InvalidParameterValue(f"Replication group {target[1]} in {target[0]} is not a member of {global_id}.")
    if group["members"][target].global_replication_group_member_role == "PRIMARY":
        raise InvalidParameterValue(f"Replication group {target[1]} is already the primary of {global_id}.")
    group["status"] = "modifying"
    group["pending"] = {"target": target, "done_at": time.monotonic() + TRANSITION_SECONDS}
    return ActionResult({"GlobalReplicationGroup": _described(group, show_members=True)})


def _delete_global_replication_group(self: ElastiCacheResponse) -> ActionResult:
    global_id = self._get_param("GlobalReplicationGroupId")
    group = _group(self.current_account, global_id)
    if not self._get_bool_param("RetainPrimaryReplicationGroup"):
        raise InvalidParameterValue("RetainPrimaryReplicationGroup must be true.")
    if len(group["members"]) > 1 or group["status"] != "available":
        raise InvalidGlobalReplicationGroupState(
            f"Global replication group {global_id} still has secondary members or a change running.")
    described = _described(group, show_members=False)
    for replication_group in group["members"].values():
        replication_group.global_replication_group_id = ""
        replication_group.global_replication_group_member_role = ""
    del _groups(self.current_account)[global_id]
    return ActionResult({"GlobalReplicationGroup": {**described, "Status": "deleting"}})


def install() -> None:
    ElastiCacheBackend.create_replication_group = _create_replication_group  # type: ignore[method-assign]
    for name, action in (("create_global_replication_group", _create_global_replication_group),
                         ("describe_global_replication_groups", _describe_global_replication_groups),
                         ("failover_global_replication_group", _failover_global_replication_group),
                         ("delete_global_replication_group", _delete_global_replication_group)):
        setattr(ElastiCacheResponse, name, action)

