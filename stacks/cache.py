"""The cache's place in each stack (components/cache.py): A's Global Datastore primary, B's member as the posture
table says, and what the writer change needs to promote B's member. Kept here so primary.py and dr.py stay short."""
from __future__ import annotations

import pulumi

from components.cache import (
    CachePlacement,
    CachePrimary,
    CachePrimaryArgs,
    CacheRegionB,
    CacheRegionBArgs,
    CacheSettingsArgs,
)
from components.failover import CacheRoleArgs
from components.network import Network
from components.region_switch import CachePromotion, CachePromotionArgs
from ops.core import naming
from ops.core.posture import CacheB, Capacity, Region
from stacks.settings import Settings


def cache_args(settings: Settings) -> CacheSettingsArgs:
    c = settings.cache
    return CacheSettingsArgs(name=c.name, node_type=c.node_type, engine_version=c.engine_version)


def primary_cache(settings: Settings, provider_a, network: Network, key_arn: pulumi.Input[str],
                  replica_key_arn: pulumi.Input[str], account: pulumi.Input[str]) -> CachePrimary:
    a = settings.primary_region
    cache = CachePrimary("cache", CachePrimaryArgs(
        settings=cache_args(settings), nodes=settings.cache.nodes,
        placement=CachePlacement(region=a, provider=provider_a, vpc_id=network.vpc_id,
                                 vpc_cidr=settings.network.primary_cidr, subnet_ids=network.subnet_ids,
                                 kms_key_arn=key_arn),
        secret_replica_region=settings.dr_region, secret_replica_kms_key_arn=replica_key_arn))
    # The dr stack reads these; the ARC Region switch plan's promotion step names the Global Datastore.
    pulumi.export("cacheGlobalGroupId", cache.global_group_id)
    pulumi.export("cacheReplicationGroupId", cache.replication_group_id)
    pulumi.export("cacheEndpoint", cache.endpoint)
    pulumi.export("cacheAuthSecretArn", cache.secret_arn)
    # A's half of the ARC plan's cache step (ARC runs the activating region's function: this one on a failback).
    # Made whatever the dr stack's posture, as this stack cannot know it; it does nothing until ARC invokes it.
    promotion = CachePromotion("cache-promotion", CachePromotionArgs(
        region=a, account_id=account, global_group_id=cache.global_group_id,
        replication_group_id=cache.replication_group_id, kms_key_arn=key_arn, provider=provider_a,
        function_prefix=settings.names.project))
    pulumi.export("cachePromotionFunctionArn", promotion.function_arn)
    return cache


def dr_cache(settings: Settings, cap: Capacity, primary: pulumi.StackReference, provider_b, network: Network,
             replica_key_arn: pulumi.Input[str], after: list[pulumi.Resource]) -> CacheRegionB | None:
    """B's replication group as the posture table's cache rows say (none in pilot light), changed only after
    `after`."""
    a, b = settings.primary_region, settings.dr_region
    pulumi.export("cacheB", cap.cache_b.value)
    pulumi.export("cacheNodesB", cap.cache_nodes_b)
    pulumi.export("cacheGlobalGroupId", primary.require_output("cacheGlobalGroupId"))
    if cap.cache_b is CacheB.NONE:
        return None
    # The AUTH secret's replica in B keeps the primary's name and suffix; only the region differs.
    secret_b = primary.require_output("cacheAuthSecretArn").apply(lambda arn: arn.replace(f":{a}:", f":{b}:", 1))
    cache = CacheRegionB("cache-b", CacheRegionBArgs(
        settings=cache_args(settings), role=cap.cache_b, nodes=cap.cache_nodes_b,
        placement=CachePlacement(region=b, provider=provider_b, vpc_id=network.vpc_id,
                                 vpc_cidr=settings.network.dr_cidr, subnet_ids=network.subnet_ids,
                                 kms_key_arn=replica_key_arn),
        global_group_id=primary.require_output("cacheGlobalGroupId"), auth_secret_arn=secret_b, after=after))
    pulumi.export("cacheReplicationGroupIdB", cache.replication_group_id)
    pulumi.export("cacheEndpointB", cache.endpoint)
    return cache


def cache_role(settings: Settings, cap: Capacity, primary: pulumi.StackReference,
               cache_b: CacheRegionB | None) -> CacheRoleArgs | None:
    """What the writer change promotes of the cache: the writer region's Global Datastore member, where B has one.
    When B writes, the target is B's group's output (`cache_b`, built first), so the promotion runs after B's group
    exists and is resized (the writer also waits for B's Aurora instances, which take as long). When A writes, A's
    group by name: B's group is built after the writer then, so it shrinks only once A's is primary again."""
    if cap.cache_b is not CacheB.SECONDARY:
        return None
    if cap.writer_region is Region.B:
        assert cache_b is not None, "B's member is built before the writer when B writes"
        target: pulumi.Input[str] = cache_b.replication_group_id
    else:
        target = naming.cache_member_id(settings.cache.name, settings.primary_region)
    return CacheRoleArgs(global_group_id=primary.require_output("cacheGlobalGroupId"), target_group_id=target)
