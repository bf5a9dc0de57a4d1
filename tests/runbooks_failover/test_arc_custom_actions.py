"""The ARC plan's custom-action Lambdas against moto: they run the failover runbook's own actions, a rerun (ARC
retries a failed step every minute) creates nothing twice, and a step whose capacity is not ready yet fails, so ARC
reruns it instead of moving on. The cache's promotion runs against moto's server with the Global Datastore extension
(tests/harness/moto_extensions/elasticache_global.py: moto has no FailoverGlobalReplicationGroup of its own)."""
from __future__ import annotations

import pytest

from ops.actions import arc_custom_actions, elasticache
from ops.actions.arc_custom_actions import CapacityNotReady, cache_promotion, node_capacity, writer_capacity
from ops.actions.aws import client
from ops.drctl.runbooks import cache_steps
from tests.harness.cache import GROUP_A, GROUP_B, PRIMARY, build_cache
from tests.harness.moto_extensions import elasticache_global
from tests.runbooks_failover.conftest import DR, EKS_CLUSTER_B, GLOBAL_ID, NODEGROUP, World

CLUSTER_B = f"{GLOBAL_ID}-{DR}"


@pytest.fixture
def lambda_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the Lambda runtime and the Pulumi program set (components/region_switch.py)."""
    for key, value in {"AWS_REGION": DR, "CLUSTER_ID": CLUSTER_B, "WRITER_INSTANCES": "2",
                       "INSTANCE_CLASS": "db.r6g.large", "CLUSTER_NAME": EKS_CLUSTER_B, "NODEGROUP_NAME": NODEGROUP,
                       "DESIRED_NODES": "3"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(arc_custom_actions, "POLL_S", 0.05)
    monkeypatch.setattr(arc_custom_actions, "WAIT_WITHIN_INVOCATION_S", 10.0)


def test_writer_capacity_creates_bs_instances_once(world: World, lambda_environment: None, faults) -> None:
    assert world.instances(DR) == []  # pilot light: headless
    first = writer_capacity({}, None)
    assert first["created"] == [f"{CLUSTER_B}-0", f"{CLUSTER_B}-1"] and first["available"] == first["created"]
    again = writer_capacity({}, None)  # ARC's rerun
    assert again["created"] == [] and again["available"] == first["created"]
    assert faults.calls("rds", "CreateDBInstance") == 2


def test_writer_capacity_fails_while_an_instance_is_not_available(world: World, lambda_environment: None,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    writer_capacity({}, None)
    real = arc_custom_actions.cluster_instances

    def one_still_creating(rds, cluster_id):
        found = real(rds, cluster_id)
        return [{**found[0], "DBInstanceStatus": "creating"}, *found[1:]]

    monkeypatch.setattr(arc_custom_actions, "cluster_instances", one_still_creating)
    with pytest.raises(CapacityNotReady, match="1 of 2 instances available"):
        writer_capacity({}, None)


def test_node_capacity_scales_bs_node_group(world: World, lambda_environment: None) -> None:
    assert world.nodes_b() == 0
    result = node_capacity({}, None)
    assert result["nodegroup"] == f"{EKS_CLUSTER_B}/{NODEGROUP}" and result["changed"] is True
    assert world.nodes_b() == 3
    assert node_capacity({}, None)["changed"] is False


def cache_primary(global_id: str) -> str | None:
    return elasticache.primary_group(elasticache.describe_global_group(client("elasticache", DR), global_id))


def test_cache_promotion_makes_its_regions_member_primary_once(world: World, lambda_environment: None,
                                                              monkeypatch: pytest.MonkeyPatch, faults) -> None:
    global_id = build_cache()
    monkeypatch.setenv("GLOBAL_GROUP_ID", global_id)
    monkeypatch.setenv("REPLICATION_GROUP_ID", GROUP_B)
    result = cache_promotion({}, None)
    assert result == {**result, "global_group": global_id, "changed": True, "primary": GROUP_B,
                      "previous_primary": GROUP_A}
    assert cache_primary(global_id) == GROUP_B
    again = cache_promotion({}, None)  # ARC's rerun: already primary, nothing called
    assert again["changed"] is False and faults.calls("elasticache", "FailoverGlobalReplicationGroup") == 1
    # A's function (the failback's): the same handler, its own region and member
    monkeypatch.setenv("AWS_REGION", PRIMARY)
    monkeypatch.setenv("REPLICATION_GROUP_ID", GROUP_A)
    assert cache_promotion({}, None)["primary"] == GROUP_A and cache_primary(global_id) == GROUP_A


def test_cache_promotion_fails_while_the_role_change_runs_so_arc_reruns_it(world: World, lambda_environment: None,
                                                                          monkeypatch: pytest.MonkeyPatch,
                                                                          faults) -> None:
    global_id = build_cache()
    monkeypatch.setenv("GLOBAL_GROUP_ID", global_id)
    monkeypatch.setenv("REPLICATION_GROUP_ID", GROUP_B)
    monkeypatch.setattr(elasticache_global, "TRANSITION_SECONDS", 5.0)  # AWS: minutes; here longer than the wait
    monkeypatch.setattr(arc_custom_actions, "WAIT_WITHIN_INVOCATION_S", 0.5)
    with pytest.raises(CapacityNotReady, match=f"{GROUP_B} not primary yet"):
        cache_promotion({}, None)
    monkeypatch.setattr(elasticache_global, "TRANSITION_SECONDS", 0.3)
    monkeypatch.setattr(arc_custom_actions, "WAIT_WITHIN_INVOCATION_S", 10.0)
    assert cache_promotion({}, None)["primary"] == GROUP_B  # the rerun waits for the running change
    assert faults.calls("elasticache", "FailoverGlobalReplicationGroup") == 1  # and starts none of its own


def test_the_custom_action_runs_the_runbooks_own_promotion() -> None:
    """One action, two callers: the Lambda and `drctl failover` (and the Pulumi writer change) call the same
    function, not copies of it."""
    assert arc_custom_actions.promote_cache is elasticache.promote_cache is cache_steps.elasticache.promote_cache
