"""The toolkit finds the program's resources by name through the AWS API (in an outage it cannot ask the program):
each name it looks up is read here from the plan of the real program, so the two cannot drift apart."""
from __future__ import annotations

import pytest

from ops.drctl.commands.failover import FAILOVER_CHANGE_SET, RESTORE_CHANGE_SET, change_sets, failed_over_nodegroups
from ops.drctl.commands.restore import backup_vault_name, network_names
from ops.drctl.planning.mockplan import Plan, plan_stack
from stacks.config_files import load_stack_settings

CLUSTER = "aws:rds/cluster:Cluster"


@pytest.mark.parametrize("stack", ["primary", "dr"])
def test_restores_place_the_new_cluster_in_the_planned_network(stack: str, primary_plan: Plan,
                                                                 dr_plan: Plan) -> None:
    plan, settings = {"primary": primary_plan, "dr": dr_plan}[stack], load_stack_settings(stack)
    region = settings.primary_region if stack == "primary" else settings.dr_region
    (cluster,) = plan.by_type(CLUSTER)
    groups = {r.name: r.inputs["name"] for r in plan.by_type("aws:ec2/securityGroup:SecurityGroup")}
    subnet_group, security_group = network_names(region)
    assert cluster.inputs["dbSubnetGroupName"] == subnet_group
    assert [groups[g] for g in cluster.inputs["vpcSecurityGroupIds"]] == [security_group]


def test_snapshot_restore_looks_in_the_planned_backup_vaults(primary_plan: Plan) -> None:
    settings = load_stack_settings("primary")
    vaults = {r.region: r.inputs["name"] for r in primary_plan.by_type("aws:backup/vault:Vault")}
    assert vaults == {region: backup_vault_name(settings, region)
                      for region in (settings.primary_region, settings.dr_region)}


def test_failover_scales_the_planned_node_group_to_its_failover_size(dr_plans: dict) -> None:
    (nodes,) = dr_plans[("pilot-light", True)].by_type("aws:eks/nodeGroup:NodeGroup")
    size = nodes.inputs["scalingConfig"]["desiredSize"]
    planned = f"{nodes.inputs['clusterName']}/{nodes.inputs['nodeGroupName']}={size}"
    assert failed_over_nodegroups(load_stack_settings("dr")) == [planned]


def _routing(record_set: dict) -> tuple:
    return (record_set["ResourceRecords"][0]["Value"], record_set.get("Failover"), record_set.get("Weight"))


def _planned_routing(record) -> tuple:
    failover = record.inputs.get("failoverRoutingPolicies") or [{}]
    weighted = record.inputs.get("weightedRoutingPolicies") or [{}]
    return (record.inputs["records"][0], failover[0].get("type"), weighted[0].get("weight"))


@pytest.mark.parametrize("routing", ["failover", "weighted"])
def test_the_committed_change_sets_upsert_the_planned_records(routing: str) -> None:
    overrides = [f"dns.routing={routing}"]
    sets = change_sets(load_stack_settings("dr", overrides))
    for failover, change_set in ((True, FAILOVER_CHANGE_SET), (False, RESTORE_CHANGE_SET)):
        plan = plan_stack("dr", [*overrides, f"failover={str(failover).lower()}"])
        planned = {r.inputs["setIdentifier"]: _planned_routing(r) for r in plan.by_type("aws:route53/record:Record")
                   if "setIdentifier" in r.inputs}  # the API's records; the mail records never move
        changed = {c["ResourceRecordSet"]["SetIdentifier"]: _routing(c["ResourceRecordSet"])
                   for c in sets[change_set]["Changes"]}
        assert changed == planned, (routing, change_set)


# ---- the stage pair: `drctl ... --stack stage-dr` must find stage's resources by the names stage's plan gives ----

def test_stage_restores_and_failovers_use_the_names_stage_plans() -> None:
    settings = load_stack_settings("stage-dr")
    plan = plan_stack("stage-dr")
    (cluster,) = plan.by_type(CLUSTER)
    groups = {r.name: r.inputs["name"] for r in plan.by_type("aws:ec2/securityGroup:SecurityGroup")}
    subnet_group, security_group = network_names(settings.dr_region, settings.names)
    assert (subnet_group, security_group) == ("stage-network-us-west-2-db", "stage-network-us-west-2-db")
    assert cluster.inputs["dbSubnetGroupName"] == subnet_group
    assert [groups[g] for g in cluster.inputs["vpcSecurityGroupIds"]] == [security_group]
    assert cluster.inputs["clusterIdentifier"] == settings.aurora.cluster_id(settings.dr_region) == (
        "stage-dr-core-us-west-2")
    vaults = {r.region: r.inputs["name"] for r in plan_stack("stage-primary").by_type("aws:backup/vault:Vault")}
    assert vaults == {region: backup_vault_name(settings, region)
                      for region in (settings.primary_region, settings.dr_region)}
    (nodes,) = plan_stack("stage-dr", ["failover=true"]).by_type("aws:eks/nodeGroup:NodeGroup")
    size = nodes.inputs["scalingConfig"]["desiredSize"]
    planned = f"{nodes.inputs['clusterName']}/{nodes.inputs['nodeGroupName']}={size}"
    assert failed_over_nodegroups(settings) == [planned] and planned.startswith("stage-platform-us-west-2/")


def test_stage_change_sets_move_stage_records_only() -> None:
    sets = change_sets(load_stack_settings("stage-dr"))
    for change_set in (FAILOVER_CHANGE_SET, RESTORE_CHANGE_SET):
        names = {c["ResourceRecordSet"]["Name"] for c in sets[change_set]["Changes"]}
        values = {r["Value"] for c in sets[change_set]["Changes"] for r in c["ResourceRecordSet"]["ResourceRecords"]}
        assert names == {"api.stage.example.com"}
        assert values <= {"api-a.origin.stage.example.com", "api-b.origin.stage.example.com"}
