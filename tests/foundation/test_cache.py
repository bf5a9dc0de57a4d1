"""The cache in the offline plans: A's replication group and its Global Datastore, B's member as the posture table
says, encrypted at rest with each region's key and in transit, AUTH from the replicated secret, Multi-AZ with
automatic failover; the posture flips change exactly the table's cache rows; the engine's order creates a
secondary after the Global Datastore and promotes it only once B's group exists."""
from __future__ import annotations

import pytest

from ops.core import cache as facts
from ops.core.posture import POSTURE_TABLE, CacheB, Posture, capacity
from ops.drctl.planning.diff import diff_plans
from ops.drctl.planning.mockplan import Plan, PlannedResource
from ops.drctl.planning.steps import Action, step_order
from stacks.config_files import load_stack_settings

GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
GLOBAL = "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup"
SECRET = "aws:secretsmanager/secret:Secret"
WRITER = "pulumi-python:dynamic/aurora:WriterRegion"
PASSWORD = "random:index/randomPassword:RandomPassword"
# What a Global Datastore secondary may not name: it inherits them (the provider refuses them as conflicting)
INHERITED = ("nodeType", "engine", "engineVersion", "parameterGroupName", "atRestEncryptionEnabled",
             "transitEncryptionEnabled", "numNodeGroups", "securityGroupNames", "snapshotArns", "snapshotName")


def cache_resources(plan: Plan) -> list[PlannedResource]:
    return [r for r in plan.resources if "cache" in r.urn.split("::")[-1] or r.type.startswith("aws:elasticache")]


def b_group(plan: Plan) -> PlannedResource | None:
    groups = plan.by_type(GROUP)
    assert len(groups) <= 1
    return groups[0] if groups else None


def test_a_runs_a_multi_az_encrypted_authenticated_global_datastore_primary(primary_plan: Plan) -> None:
    settings = load_stack_settings("primary").cache
    (group,) = primary_plan.by_type(GROUP)
    i = group.inputs
    assert i["replicationGroupId"] == "dr-cache-us-east-1" and i["engine"] == facts.ENGINE == "valkey"
    assert i["atRestEncryptionEnabled"] is True and i["kmsKeyId"] == primary_plan.outputs["kmsPrimaryKeyArn"]
    assert i["transitEncryptionEnabled"] is True and i["authToken"] == "[secret]"  # generated, never in config
    assert i["multiAzEnabled"] is True and i["automaticFailoverEnabled"] is True
    assert i["numCacheClusters"] == settings.nodes >= 2 and i["nodeType"] == settings.node_type
    assert group.protect and group.retainOnDelete  # the Global Datastore's primary holds its data
    (datastore,) = primary_plan.by_type(GLOBAL)
    assert datastore.inputs["primaryReplicationGroupId"] == "dr-cache-us-east-1"
    assert group.urn in datastore.dependencies  # the Global Datastore is created after its primary
    assert primary_plan.outputs["cacheGlobalGroupId"] == "ldgnf-dr-cache"  # the ARC plan's promotion step reads it


def test_the_auth_token_is_generated_within_aws_rules_and_kept_in_a_secret_replicated_to_b(primary_plan: Plan) -> None:
    token = primary_plan.one(PASSWORD, "cache-auth-token").inputs
    assert 16 <= token["length"] <= 128 and set(token["overrideSpecial"]) <= set("!&#$^<>-")
    secret = primary_plan.one(SECRET, "cache-auth-secret")
    assert secret.inputs["name"] == "dr-cache/auth"
    assert secret.inputs["kmsKeyId"] == primary_plan.outputs["kmsPrimaryKeyArn"]
    assert secret.inputs["replicas"] == [{"kmsKeyId": primary_plan.outputs["kmsReplicaKeyArn"], "region": "us-west-2"}]
    assert secret.protect


EXPECTED_B = {  # (kind, nodes) of B's cache at production nodes 3
    ("pilot-light", False): (None, 0),
    ("warm-standby", False): (CacheB.SECONDARY, 2),
    ("active-active", False): (CacheB.SECONDARY, 3),
    ("pilot-light", True): (CacheB.STANDALONE, 3),
    ("warm-standby", True): (CacheB.SECONDARY, 3),
    ("active-active", True): (CacheB.SECONDARY, 3),
}


def test_the_table_says_what_b_runs_of_the_cache() -> None:
    for (posture, failover), (kind, nodes) in EXPECTED_B.items():
        cap = capacity(Posture(posture), failover, 2, cache_nodes=3)
        assert (cap.cache_b, cap.cache_nodes_b) == (kind or CacheB.NONE, nodes), (posture, failover)
        assert cap.cache_nodes_a == 3
        # the writer change promotes B's cache only where B has a Global Datastore member and B writes
        assert cap.promote_cache is (failover and kind is CacheB.SECONDARY)
    assert capacity(Posture.WARM_STANDBY, False, 2, cache_nodes=2).cache_nodes_b == 2  # never above production
    assert all(row.cache_nodes_b == 0 for row in POSTURE_TABLE.values() if row.cache_b is CacheB.NONE)


@pytest.mark.parametrize(("posture", "failover"), list(EXPECTED_B))
def test_b_runs_the_tables_cache_encrypted_with_bs_key_and_authenticated(
        dr_plans: dict, primary_plan: Plan, posture: str, failover: bool) -> None:
    plan = dr_plans[(posture, failover)]
    kind, nodes = EXPECTED_B[(posture, failover)]
    group = b_group(plan)
    assert plan.outputs["cacheB"] == (kind or CacheB.NONE).value and plan.outputs["cacheNodesB"] == nodes
    if kind is None:
        assert group is None and cache_resources(plan) == []  # pilot light: nothing of the cache in B
        return
    assert group is not None
    i = group.inputs
    assert i["numCacheClusters"] == nodes and i["multiAzEnabled"] is True and i["automaticFailoverEnabled"] is True
    assert i["kmsKeyId"] == primary_plan.outputs["kmsReplicaKeyArn"]  # B's own key, the multi-Region replica
    assert i["authToken"] == "[secret]"
    assert not group.protect  # posture flips create and delete it
    if kind is CacheB.SECONDARY:
        assert i["replicationGroupId"] == "dr-cache-us-west-2"
        assert i["globalReplicationGroupId"] == primary_plan.outputs["cacheGlobalGroupId"]
        assert [key for key in INHERITED if key in i] == []  # encryption, engine and node type come from A
    else:  # a cold cache of B's own: it names everything, encryption included
        assert i["replicationGroupId"] == "dr-cache-us-west-2-cold" and "globalReplicationGroupId" not in i
        assert i["atRestEncryptionEnabled"] is True and i["transitEncryptionEnabled"] is True
        assert i["nodeType"] == load_stack_settings("dr").cache.node_type and i["engine"] == "valkey"


def test_the_writer_names_bs_member_exactly_where_b_has_one(dr_plans: dict) -> None:
    for (posture, failover), (kind, _) in EXPECTED_B.items():
        inputs = dr_plans[(posture, failover)].one(WRITER, "aurora-writer").inputs
        if kind is CacheB.SECONDARY:
            assert inputs["cacheGlobalGroupId"] == "ldgnf-dr-cache"
            assert inputs["cacheTargetGroupId"] == ("dr-cache-us-west-2" if failover else "dr-cache-us-east-1")
        else:  # nothing to promote: no member in B (pilot light), or a cold cache outside the Global Datastore
            assert inputs.get("cacheGlobalGroupId") is None and inputs.get("cacheTargetGroupId") is None


def cache_changes(before: Plan, after: Plan) -> tuple[set[str], set[str], dict[str, set[str]]]:
    diff = diff_plans(before, after)
    def cached(r: PlannedResource) -> bool:
        return r in cache_resources(before) or r in cache_resources(after)
    return ({r.name for r in diff.added if cached(r)}, {r.name for r in diff.removed if cached(r)},
            {c.resource.name: {ch.path for ch in c.changes} for c in diff.changed if cached(c.resource)})


def test_pilot_light_to_warm_standby_to_failover_change_exactly_the_cache_rows(dr_plans: dict) -> None:
    pilot, warm, failed = (dr_plans[("pilot-light", False)], dr_plans[("warm-standby", False)],
                           dr_plans[("warm-standby", True)])
    added, removed, changed = cache_changes(pilot, warm)  # B gains a Global Datastore secondary of 2 nodes
    # and the ARC plan's cache step its promotion function in B (components/region_switch.py CachePromotion)
    assert added == {"cache-b", "dr-cache-us-west-2", "dr-cache-us-west-2-sg", "dr-cache-us-west-2-valkey",
                     *(f"region-switch-cache-promotion{part}" for part in ("", "-role", "-logs", "-action",
                                                                           "-runtime"))}
    assert removed == set() and changed == {}
    added, removed, changed = cache_changes(warm, failed)  # the same member, at production, promoted
    assert (added, removed) == (set(), set())
    assert changed == {"dr-cache-us-west-2": {"numCacheClusters"}}
    assert failed.one(WRITER, "aurora-writer").inputs["cacheTargetGroupId"] == "dr-cache-us-west-2"
    added, removed, changed = cache_changes(pilot, dr_plans[("pilot-light", True)])  # a cold cache, not a member
    assert added == {"cache-b", "dr-cache-us-west-2-cold", "dr-cache-us-west-2-cold-sg",
                     "dr-cache-us-west-2-cold-valkey"} and removed == set() and changed == {}


def test_promotion_runs_after_bs_cache_exists_and_is_resized(dr_plans: dict) -> None:
    for before in (dr_plans[("warm-standby", False)], dr_plans[("pilot-light", False)]):
        order = step_order(before, dr_plans[("warm-standby", True)])  # from pilot light: created in the same up
        (writer,) = [s for s in order.steps if s.resource.type == WRITER]
        (group,) = [s for s in order.steps if s.resource.type == GROUP]
        assert group.action is (Action.UPDATE if before is dr_plans[("warm-standby", False)] else Action.CREATE)
        assert order.happens_after(writer, group)


def test_a_cold_cache_holds_up_neither_dns_nor_aurora(dr_plans: dict) -> None:
    """Pilot light's failover creates B's cache empty: every read misses to Aurora whether it exists or not, so
    waiting for it (~15 min) buys nothing but an outage. DNS moves once B writes and B's services run, as under the
    ARC plan (whose DNS step has no cache before it); the group is created alongside."""
    order = step_order(dr_plans[("pilot-light", False)], dr_plans[("pilot-light", True)])
    (writer,) = [s for s in order.steps if s.resource.type == WRITER]
    (group,) = [s for s in order.steps if s.resource.type == GROUP]
    records = [s for s in order.steps if s.resource.type == "aws:route53/record:Record"]
    assert records and all(order.happens_after(record, writer) for record in records)
    assert not any(order.happens_after(record, group) for record in records)
    assert not order.happens_after(writer, group)


def test_failback_moves_the_cache_back_before_b_shrinks_it(dr_plans: dict) -> None:
    order = step_order(dr_plans[("warm-standby", True)], dr_plans[("warm-standby", False)])
    (writer,) = [s for s in order.steps if s.resource.type == WRITER]
    assert writer.resource.inputs["cacheTargetGroupId"] == "dr-cache-us-east-1"
    (group,) = [s for s in order.steps if s.resource.type == GROUP]  # 3 → 2 nodes, once A is primary again
    assert group.resource.inputs["numCacheClusters"] == 2 and order.happens_after(group, writer)
