"""Q2's FIS experiment template (stacks/drills.py): in region A, on A's own resources, stopped by A's replication
alarms, logged to an encrypted group, run by a role that may do only the template's actions on its targets."""
from __future__ import annotations

import json

from ops.core import naming
from ops.drctl.planning.mockplan import Plan, PlannedResource, _computed, plan_stack

TEMPLATE = "aws:fis/experimentTemplate:ExperimentTemplate"


def arn(resource: PlannedResource) -> str:
    """The ARN the mocks gave the resource: what the template and the role were built from."""
    return _computed(resource.type, resource.name, resource.inputs, resource.region or "")["arn"]


def template_of(plan: Plan):
    (template,) = plan.by_type(TEMPLATE)
    return template


def sibling(plan: Plan, of, type_: str):
    (found,) = [r for r in plan.by_type(type_) if r.parent == of.parent]
    return found


def test_q2_injects_one_az_of_region_a_into_its_own_resources(primary_plan: Plan) -> None:
    template = template_of(primary_plan)
    assert template.region == "us-east-1" and template.inputs["tags"][naming.FIS_DRILL_TAG] == "Q2"
    actions = {a["name"]: a for a in template.inputs["actions"]}
    assert {a["actionId"] for a in actions.values()} == {
        "aws:network:disrupt-connectivity", "aws:rds:failover-db-cluster", "aws:eks:terminate-nodegroup-instances"}
    targets = {t["name"]: t for t in template.inputs["targets"]}
    for action in actions.values():
        assert action["target"]["value"] in targets
    first_subnet = next(r for r in primary_plan.by_type("aws:ec2/subnet:Subnet") if r.name.endswith("-private-0"))
    assert targets["az-subnets"]["resourceType"] == "aws:ec2:subnet"
    assert targets["az-subnets"]["resourceArns"] == [arn(first_subnet)]
    (cluster,) = primary_plan.by_type("aws:rds/cluster:Cluster")
    assert targets["aurora-cluster"]["resourceArns"] == [arn(cluster)]
    (nodegroup,) = primary_plan.by_type("aws:eks/nodeGroup:NodeGroup")
    assert targets["eks-nodegroup"]["resourceArns"] == [arn(nodegroup)]
    assert {p["key"]: p["value"] for p in actions["az-network-down"]["parameters"]} == {"duration": "PT10M",
                                                                                          "scope": "all"}
    assert template.inputs["experimentOptions"]["emptyTargetResolutionMode"] == "fail"
    # the primary stack declares the drills that inject into region A, and only those
    assert set(primary_plan.outputs["drillTemplates"]) == {
        q for q, side in naming.FIS_DRILL_REGIONS.items() if side == "a"} == {"Q2"}


def test_q2_stops_when_any_of_region_as_replication_alarms_fires(primary_plan: Plan) -> None:
    template = template_of(primary_plan)
    (stop,) = template.inputs["stopConditions"]  # FIS allows 5: one composite of them all
    composite = sibling(primary_plan, template, "aws:cloudwatch/compositeAlarm:CompositeAlarm")
    assert stop == {"source": "aws:cloudwatch:alarm", "value": arn(composite)}
    alarms = [arn(a) for a in primary_plan.by_type("aws:cloudwatch/metricAlarm:MetricAlarm")]
    assert len(alarms) > 5
    assert sorted(composite.inputs["alarmRule"].split(" OR ")) == sorted(f'ALARM("{a}")' for a in alarms)
    # region B's stack injects nothing into A: its templates (Q3's, tests/foundation/test_drill_q3.py) act in B
    assert {t.region for t in plan_stack("dr", ["posture=warm-standby"]).by_type(TEMPLATE)} == {"us-west-2"}


def test_the_experiment_log_is_kms_encrypted_for_that_log_group_only(primary_plan: Plan) -> None:
    template = template_of(primary_plan)
    group = sibling(primary_plan, template, "aws:cloudwatch/logGroup:LogGroup")
    key = sibling(primary_plan, template, "aws:kms/key:Key")
    assert template.inputs["logConfiguration"]["cloudwatchLogsConfiguration"]["logGroupArn"] == (
        f"{arn(group)}:*")
    assert group.inputs["kmsKeyId"] == arn(key)
    (logs,) = [s for s in json.loads(key.inputs["policy"])["Statement"] if "Service" in s["Principal"]]
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert logs["Condition"]["StringEquals"]["kms:EncryptionContext:aws:logs:arn"].endswith(
        f":log-group:{group.inputs['name']}")


def test_the_role_runs_only_the_templates_actions_on_its_targets(primary_plan: Plan) -> None:
    template = template_of(primary_plan)
    role = sibling(primary_plan, template, "aws:iam/role:Role")
    assert template.inputs["roleArn"] == arn(role)
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {"Service": "fis.amazonaws.com"}
    assert role.inputs["tags"][naming.FIS_ACTIONS_TAG].split() == sorted(
        a["actionId"] for a in template.inputs["actions"])
    (inline,) = role.inputs["inlinePolicies"]
    target_arns = {arn for t in template.inputs["targets"] for arn in t["resourceArns"]}
    for statement in json.loads(inline["policy"])["Statement"]:
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for resource in resources:
            # a target, this VPC, or a pattern the statement narrows by tag; "*" only for reads FIS needs
            assert (resource in target_arns or ":vpc/" in resource or "Condition" in statement
                    or "ReplaceNetworkAclAssociation" in statement["Action"][0]
                    or (resource == "*" and all(a.split(":")[1].startswith(("Describe", "Get", "CreateLogDelivery",
                                                                       "PutResourcePolicy"))
                                           for a in statement["Action"]))), statement


def test_a_single_instance_cluster_has_no_writer_failover_to_inject() -> None:
    plan = plan_stack("primary", ["aurora.instances=1"])
    assert "aws:rds:failover-db-cluster" not in {a["actionId"] for a in template_of(plan).inputs["actions"]}
