"""The cache's facts both sides need: the engine and the node types a Global Datastore accepts, with their list
prices (its names, which both sides spell, are in ops/core/naming.py).

Valkey, not Redis OSS: Global Datastore supports both, and node-based Valkey lists 20% below Redis OSS.
Global Datastore takes only large-and-above nodes of the M5, M6g, M7g, R5, R6g, R7g families (ElastiCache user
guide, "Global datastores: prerequisites and limitations"), every member with the same node type and engine
version, so the price list below is also the list of node types the config accepts.
"""
from __future__ import annotations

from typing import Final

ENGINE: Final = "valkey"
PORT: Final = 6379
# A's primary and replicas: two at least, so Multi-AZ with automatic failover has a replica in another AZ to promote
# (AWS refuses automatic failover on one node; a Global Datastore secondary inherits the setting).
MIN_NODES: Final = 2
# ElastiCache AUTH tokens: 16-128 printable characters, the only special characters ! & # $ ^ < > -
# (CreateReplicationGroup, AuthToken).
AUTH_TOKEN_SPECIALS: Final = "!&#$^<>-"
AUTH_TOKEN_LENGTH: Final = 64

# On-demand USD per node-hour, ElastiCache for Valkey node-based clusters, US East (N. Virginia) and US West
# (Oregon) list the same; source: https://aws.amazon.com/elasticache/pricing/ (Valkey = Redis OSS price - 20%).
NODE_HOUR_USD: Final[dict[str, float]] = {
    "cache.m5.large": 0.1248, "cache.m5.xlarge": 0.2496,
    "cache.m6g.large": 0.1192, "cache.m6g.xlarge": 0.2384,
    "cache.m7g.large": 0.1264, "cache.m7g.xlarge": 0.2528,
    "cache.r5.large": 0.1728, "cache.r5.xlarge": 0.3456,
    "cache.r6g.large": 0.1648, "cache.r6g.xlarge": 0.3288,
    "cache.r7g.large": 0.1752, "cache.r7g.xlarge": 0.3496,
}


def node_hour_usd(node_type: str) -> float:
    if node_type not in NODE_HOUR_USD:
        raise ValueError(f"no price for cache node type {node_type!r}: add it to ops/core/cache.py NODE_HOUR_USD")
    return NODE_HOUR_USD[node_type]

