"""CloudFront origin groups as cache-behaviour targets.

moto 5.2.5 keeps a distribution's OriginGroups but checks the default cache behaviour's TargetOriginId against
the origins only, so a distribution whose behaviour targets an origin group (what origin failover is) is refused
with NoSuchOrigin. AWS accepts it when (CloudFront API reference, OriginGroup / OriginGroupMembers; Developer
Guide, "Optimize high availability with CloudFront origin failover"):
- every behaviour targets an origin or an origin group of the distribution;
- an origin group has exactly two members, each an origin of the distribution, and failover status codes;
- a behaviour that targets an origin group allows GET and HEAD, or GET, HEAD and OPTIONS, only (origin failover
  covers no other method).
A violation answers InvalidArgument (NoSuchOrigin for a target that is neither). The check runs before moto's
own, which is then given the group's primary origin as the target and the group back afterwards, so moto stores
the configuration as sent. `origin_groups(distribution_id)` reads the stored groups (moto does not render them).
"""
from __future__ import annotations

from typing import Any

from moto.cloudfront import models
from moto.cloudfront.exceptions import CloudFrontException, OriginDoesNotExist
from moto.core import DEFAULT_ACCOUNT_ID

_original_init = models.DistributionConfig.__init__
READ_ONLY_METHOD_SETS = ({"GET", "HEAD"}, {"GET", "HEAD", "OPTIONS"})


class InvalidArgument(CloudFrontException):
    def __init__(self, message: str) -> None:
        super().__init__("InvalidArgument", message)


def _items(container: Any) -> list[Any]:
    items = (container or {}).get("Items") or []
    return list(items.values())[0] if isinstance(items, dict) else list(items)  # XML's nested element, or a list


def _check(config: dict[str, Any]) -> dict[str, str]:
    """AWS's rules for origin groups; returns group id → primary origin id."""
    origins = {o["Id"] for o in _items(config.get("Origins"))}
    groups: dict[str, str] = {}
    for group in _items(config.get("OriginGroups")):
        members = [m["OriginId"] for m in _items(group.get("Members"))]
        if len(members) != 2 or not set(members) <= origins:
            raise InvalidArgument(f"origin group {group['Id']}: needs exactly two members, each an origin of the "
                                  f"distribution (got {members})")
        if not _items((group.get("FailoverCriteria") or {}).get("StatusCodes")):
            raise InvalidArgument(f"origin group {group['Id']}: failover criteria need status codes")
        groups[group["Id"]] = members[0]
    behaviours = [config.get("DefaultCacheBehavior") or {}, *_items(config.get("CacheBehaviors"))]
    for behaviour in behaviours:
        target = behaviour.get("TargetOriginId")
        if target not in origins and target not in groups:
            raise OriginDoesNotExist
        methods = set(_items(behaviour.get("AllowedMethods"))) or {"GET", "HEAD"}
        if target in groups and methods not in READ_ONLY_METHOD_SETS:
            raise InvalidArgument(f"cache behaviour on origin group {target} allows {sorted(methods)}: origin "
                                  "groups take GET, HEAD (and OPTIONS) only")
    return groups


def _init(self: Any, config: dict[str, Any]) -> None:
    groups = _check(config)
    default = config.get("DefaultCacheBehavior") or {}
    cache_behaviours = _items(config.get("CacheBehaviors"))
    targets = [default.get("TargetOriginId"), *(b.get("TargetOriginId") for b in cache_behaviours)]
    for behaviour in (default, *cache_behaviours):  # moto checks targets against origins only
        behaviour["TargetOriginId"] = groups.get(behaviour.get("TargetOriginId"), behaviour.get("TargetOriginId"))
    _original_init(self, config)
    built = [self.DefaultCacheBehavior, *(self.CacheBehaviors.get("Items") or [])]
    for behaviour, target in zip(built, targets, strict=True):
        behaviour.target_origin_id = target


def origin_groups(distribution_id: str, account_id: str = DEFAULT_ACCOUNT_ID) -> list[dict[str, Any]]:
    """The stored origin groups: [{"Id", "Members": [origin ids], "StatusCodes": [...]}]."""
    backend = models.cloudfront_backends[account_id]["aws"]
    config = backend.distributions[distribution_id].distribution_config
    return [{"Id": g["Id"], "Members": [m["OriginId"] for m in _items(g.get("Members"))],
             "StatusCodes": [int(c) for c in _items(g["FailoverCriteria"]["StatusCodes"])]}
            for g in _items(config.OriginGroups)]


def install() -> None:
    models.DistributionConfig.__init__ = _init  # type: ignore[method-assign]
