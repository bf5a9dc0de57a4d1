"""The posture table: for each DR posture, with and without failover, every capacity in region B that differs.

This is the only place that knows what a posture means. Components take the resolved numbers; nothing else
branches on posture or failover. `PRODUCTION` stands for "the production count from config" so the table
stays a table of facts rather than a function.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Final


class Posture(StrEnum):
    PILOT_LIGHT = "pilot-light"
    WARM_STANDBY = "warm-standby"
    ACTIVE_ACTIVE = "active-active"


class Region(StrEnum):
    A = "A"
    B = "B"


PRODUCTION: Final = "production"
Count = int | str  # an int, or PRODUCTION


class CacheB(StrEnum):
    """What region B runs of the cache (components/cache.py)."""
    NONE = "none"
    SECONDARY = "secondary"  # a Global Datastore member: replicates A's primary, promoted by the writer change
    STANDALONE = "standalone"  # a cold cache of B's own, outside the Global Datastore (pilot light's failover)


@dataclass(frozen=True)
class PostureRow:
    aurora_instances_b: Count  # 0 = headless secondary: storage replicates, no compute billed
    dns_weight_a: int  # weighted routing; failover routing sends everything to `writer_region`
    dns_weight_b: int
    writer_region: Region  # where Aurora writes, where PRIMARY DNS points
    s3_replication_from: Region  # replication runs from the writer region so failback finds its data
    promote_aurora: bool  # the failover step exists (switchover/failover through the RDS API)
    eks_nodes_b: Count  # floor (min) of B's managed node group, where its desired size starts; 0 = control plane only
    eks_max_nodes_b: Count  # B's node group ceiling, what the cluster autoscaler may grow to (PRODUCTION: maxNodes)
    critical_replicas_b: Count  # replicas of each critical-tier Deployment in B
    standard_replicas_b: Count  # replicas of each standard-tier Deployment in B
    typesense_replicas_b: Count  # Typesense StatefulSet in B (odd when > 0: Raft needs a majority)
    search_feed_b: bool  # B's Typesense rebuilt from B's Aurora on a schedule (RB-N-04 as a CronJob)
    cache_b: CacheB = CacheB.NONE
    cache_nodes_b: Count = 0  # B's replication group: primary + replicas
    promote_cache: bool = False  # the writer change makes B's Global Datastore member the primary


# The compute rows, and why:
# - pilot-light keeps the EKS control plane (≈ $73/month, and the ~10-15 min it takes to create is the slowest
#   thing to make in a hurry) with an empty node group: desired 0, min 0. No node is billed, nothing runs. Every
#   Deployment and the Typesense StatefulSet exist at 0 replicas, so failover is a replica change, not a deploy.
# - warm-standby runs the smallest footprint that can take the critical paths at once: 2 nodes (two AZs, so one
#   AZ's loss does not empty B), 2 replicas of each critical service, standard services at 0 (their RTO is 4 h),
#   and 1 Typesense node (search answers, rebuilt from B's PostgreSQL with RB-N-04 before it is needed). Scaling
#   pods to production on running nodes takes seconds; more nodes come in minutes while B already serves.
#   Critical services run 2 replicas, not 1: one per AZ, and their disruption budget (minAvailable = replicas - 1,
#   components/autoscaling.py) keeps one serving while a drain evicts the other; at 1 replica a budget of
#   minAvailable 1 blocks every drain (node group updates fail with PodEvictionFailure).
# - the node group's ceiling (what the cluster autoscaler may add up to): 1 in pilot light (EKS's least max; no
#   autoscaler runs without nodes), one node of headroom in warm standby (B serves nothing yet; the headroom is for
#   a pod that does not fit), compute.maxNodes where B serves.
# - active-active serves real traffic from B (DNS 50/50), so B runs production everywhere.
# - the search feed: nothing replicates Typesense, so where B runs Typesense while A writes (warm standby, and
#   active-active where B's search serves real reads), a CronJob in B rebuilds B's index from B's own Aurora
#   reader on a schedule. Off in pilot light (no reader, no Typesense) and once B writes (the application feeds
#   B's index then, and a rebuild would race it).
# - failover (any posture): B is production.
# Region A always runs production. A posture's minimum never exceeds production: `capacity` caps it there, so a
# small production (1 node, 1 replica) is not outgrown by the standby; a ceiling is never below its floor. The
# replica counts are the services' HPA floors where they run (components/autoscaling.py).
_PILOT_LIGHT_COMPUTE: Final = dict(eks_nodes_b=0, eks_max_nodes_b=1, critical_replicas_b=0, standard_replicas_b=0,
                                   typesense_replicas_b=0, search_feed_b=False)
_WARM_STANDBY_COMPUTE: Final = dict(eks_nodes_b=2, eks_max_nodes_b=3, critical_replicas_b=2, standard_replicas_b=0,
                                    typesense_replicas_b=1, search_feed_b=True)
_ACTIVE_ACTIVE_COMPUTE: Final = dict(eks_nodes_b=PRODUCTION, eks_max_nodes_b=PRODUCTION,
                                     critical_replicas_b=PRODUCTION, standard_replicas_b=PRODUCTION,
                                     typesense_replicas_b=PRODUCTION, search_feed_b=True)
_FAILED_OVER_COMPUTE: Final = {**_ACTIVE_ACTIVE_COMPUTE, "search_feed_b": False}


def _normal(instances_b: Count, weight_b: int, compute: Mapping[str, Count],
            cache: Mapping[str, object] | None = None) -> PostureRow:
    return PostureRow(aurora_instances_b=instances_b, dns_weight_a=100 - weight_b, dns_weight_b=weight_b,
                      writer_region=Region.A, s3_replication_from=Region.A, promote_aurora=False, **compute,
                      **(cache or {}))  # type: ignore[arg-type]


# The cache rows, and why:
# - pilot light runs no cache in B (the cheapest nodes a Global Datastore takes are "large": ~$90/month each).
# - warm standby and active-active keep a Global Datastore secondary (2 nodes in two AZs: the secondary inherits
#   A's Multi-AZ automatic failover, which needs a replica; production nodes where B serves). Failover promotes it
#   through the same writer change as Aurora (FailoverGlobalReplicationGroup), at production size.
# - pilot light's failover creates a cold standalone cache in B at production size: a secondary cannot join a
#   Global Datastore whose primary region is down, and a cache holds nothing that Aurora cannot rebuild. It costs
#   the ~10-15 min a replication group takes to create, then a cold start: misses fall through to Aurora until the
#   working set is back. Nothing waits for it: services treat the cache as soft (docs/architecture.md#the-cache).
_PROMOTED_CACHE: Final = dict(cache_b=CacheB.SECONDARY, cache_nodes_b=PRODUCTION, promote_cache=True)

FAILED_OVER: Final = PostureRow(aurora_instances_b=PRODUCTION, dns_weight_a=0, dns_weight_b=100,
                                writer_region=Region.B, s3_replication_from=Region.B, promote_aurora=True,
                                **_FAILED_OVER_COMPUTE, **_PROMOTED_CACHE)
# The same failover, from a posture that kept no cache in B.
FAILED_OVER_COLD_CACHE: Final = replace(FAILED_OVER, cache_b=CacheB.STANDALONE, promote_cache=False)

POSTURE_TABLE: Final[dict[tuple[Posture, bool], PostureRow]] = {
    (Posture.PILOT_LIGHT, False): _normal(instances_b=0, weight_b=0, compute=_PILOT_LIGHT_COMPUTE),
    (Posture.WARM_STANDBY, False): _normal(instances_b=1, weight_b=0, compute=_WARM_STANDBY_COMPUTE,
                                           cache=dict(cache_b=CacheB.SECONDARY, cache_nodes_b=2)),
    # active-active: B serves reads locally (writes still go to A's writer via the global database)
    (Posture.ACTIVE_ACTIVE, False): _normal(instances_b=PRODUCTION, weight_b=50, compute=_ACTIVE_ACTIVE_COMPUTE,
                                            cache=dict(cache_b=CacheB.SECONDARY, cache_nodes_b=PRODUCTION)),
    (Posture.PILOT_LIGHT, True): FAILED_OVER_COLD_CACHE,
    (Posture.WARM_STANDBY, True): FAILED_OVER,
    (Posture.ACTIVE_ACTIVE, True): FAILED_OVER,
}


@dataclass(frozen=True)
class ServiceCount:
    """A configured service's production replicas; `tier` is "critical" or "standard"."""

    name: str
    tier: str
    replicas: int


@dataclass(frozen=True)
class ComputeProduction:
    """The production compute counts from config (what PRODUCTION means for the compute rows)."""

    nodes: int = 0
    services: Sequence[ServiceCount] = ()
    max_nodes: int = 0  # the node group's production ceiling (compute.maxNodes)
    typesense_replicas: int = 0


@dataclass(frozen=True)
class Capacity:
    """A posture row with PRODUCTION resolved against the config."""

    aurora_instances_a: int
    aurora_instances_b: int
    dns_weight_a: int
    dns_weight_b: int
    writer_region: Region
    s3_replication_from: Region
    promote_aurora: bool
    eks_nodes_a: int = 0
    eks_nodes_b: int = 0
    eks_max_nodes_a: int = 0  # node group ceilings: never below the floor (eks_nodes_*)
    eks_max_nodes_b: int = 0
    replicas_a: Mapping[str, int] = field(default_factory=dict)  # per service name
    replicas_b: Mapping[str, int] = field(default_factory=dict)
    typesense_replicas_a: int = 0
    typesense_replicas_b: int = 0
    search_feed_b: bool = False
    cache_nodes_a: int = 0
    cache_b: CacheB = CacheB.NONE
    cache_nodes_b: int = 0
    promote_cache: bool = False

    @property
    def headless_b(self) -> bool:
        """No instance in B to promote: B's writer must be created before B can write (pilot light)."""
        return self.aurora_instances_b == 0

    @property
    def serves_in_b(self) -> bool:
        """B's nodes run its services already, so traffic can move to B as soon as it writes and B grows under it
        (warm standby, active-active); without nodes B serves nothing until its compute is up (pilot light)."""
        return self.eks_nodes_b > 0


def node_group_max_size(floor: int, ceiling: int) -> int:
    """The node group's maxSize for the table's floor and ceiling: EKS requires max >= 1 even where min and desired
    are 0 (pilot light: control plane only). What the program declares and `drctl verify` expects."""
    return max(ceiling, floor, 1)


def capacity(posture: Posture, failover: bool, production_instances: int,
             compute: ComputeProduction = ComputeProduction(), cache_nodes: int = 0) -> Capacity:
    """The row resolved against the config; `cache_nodes` is A's cache size (cache.nodes), what PRODUCTION means for
    the cache rows."""
    row = POSTURE_TABLE[(Posture(posture), failover)]

    def resolve(count: Count, production: int) -> int:
        return production if count == PRODUCTION else min(int(count), production)

    per_tier = {"critical": row.critical_replicas_b, "standard": row.standard_replicas_b}
    nodes_b = resolve(row.eks_nodes_b, compute.nodes)
    return Capacity(aurora_instances_a=production_instances,
                    aurora_instances_b=resolve(row.aurora_instances_b, production_instances),
                    dns_weight_a=row.dns_weight_a, dns_weight_b=row.dns_weight_b,
                    writer_region=row.writer_region, s3_replication_from=row.s3_replication_from,
                    promote_aurora=row.promote_aurora,
                    eks_nodes_a=compute.nodes, eks_nodes_b=nodes_b,
                    eks_max_nodes_a=max(compute.max_nodes, compute.nodes),
                    eks_max_nodes_b=max(resolve(row.eks_max_nodes_b, compute.max_nodes), nodes_b),
                    replicas_a={s.name: s.replicas for s in compute.services},
                    replicas_b={s.name: resolve(per_tier[s.tier], s.replicas) for s in compute.services},
                    typesense_replicas_a=compute.typesense_replicas,
                    typesense_replicas_b=resolve(row.typesense_replicas_b, compute.typesense_replicas),
                    search_feed_b=row.search_feed_b,
                    cache_nodes_a=cache_nodes, cache_b=row.cache_b,
                    cache_nodes_b=resolve(row.cache_nodes_b, cache_nodes),
                    promote_cache=row.promote_cache)
