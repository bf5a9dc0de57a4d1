"""The ARC plan's custom-action Lambdas against moto: they run the failover runbook's own actions, a rerun (ARC
retries a failed step every minute) creates nothing twice, and a step whose capacity is not ready yet fails, so ARC
reruns it instead of moving on."""
from __future__ import annotations

import pytest

from ops.actions import arc_custom_actions
from ops.actions.arc_custom_actions import CapacityNotReady, node_capacity, writer_capacity
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
