"""An ElastiCache Global Datastore in moto's server the way the Pulumi program lays it out: A's replication group
`dr-cache-us-east-1` is the primary of `ldgnf-dr-cache`, B's `dr-cache-us-west-2` its secondary (warm standby)."""
from __future__ import annotations

from ops.actions.aws import client
from ops.core import cache, naming

PRIMARY, DR = "us-east-1", "us-west-2"
NAME = "dr-cache"
GROUP_A, GROUP_B = naming.cache_member_id(NAME, PRIMARY), naming.cache_member_id(NAME, DR)
TOKEN = "not-a-secret-token-0123456789"


def _group(region: str, group_id: str, **extra: object) -> None:
    client("elasticache", region).create_replication_group(
        ReplicationGroupId=group_id, ReplicationGroupDescription="dr-platform cache", Engine=cache.ENGINE,
        NumCacheClusters=2, AutomaticFailoverEnabled=True, MultiAZEnabled=True, TransitEncryptionEnabled=True,
        AtRestEncryptionEnabled=True, AuthToken=TOKEN, **extra)


def build_cache(secondary: bool = True) -> str:
    """A's primary and its Global Datastore (and B's secondary); returns the Global Datastore's id."""
    _group(PRIMARY, GROUP_A, CacheNodeType="cache.m7g.large", EngineVersion="8.0")
    global_id = client("elasticache", PRIMARY).create_global_replication_group(
        GlobalReplicationGroupIdSuffix=NAME, PrimaryReplicationGroupId=GROUP_A,
    )["GlobalReplicationGroup"]["GlobalReplicationGroupId"]
    if secondary:
        add_member(global_id)
    return global_id


def add_member(global_id: str) -> None:
    """B's secondary joins the Global Datastore (warm standby)."""
    _group(DR, GROUP_B, GlobalReplicationGroupId=global_id)


def cold_group(group_id: str) -> None:
    """A standalone group in B (pilot light's failover: a cold cache outside the Global Datastore)."""
    _group(DR, group_id, CacheNodeType="cache.m7g.large", EngineVersion="8.0")
