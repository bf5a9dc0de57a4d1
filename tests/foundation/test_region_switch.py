"""The ARC Region switch plan of the dr stack: its steps follow the posture table (pilot light creates B's writer
capacity before the approval, warm standby has an instance to promote; the cache's promotion where B keeps a
Global Datastore member, in both workflows), the failover and failback workflows differ as they must, its trigger is the detection alarm planned in B, everything it needs lives in B, its Lambda package
holds what its handlers import, its roles may do only what its steps do, and a first `pulumi up` creates what the
plan refers to before the plan."""
from __future__ import annotations

import ast
import json
import sys
from typing import Any

import pulumi
import pytest

from components.region_switch import (APPROVAL_STEP, AURORA_STEP, DATA_STORES_STEP, DEPLOYMENTS_STEP, DNS_STEP,
                                      NODE_CAPACITY_STEP, PACKAGED_MODULES, PLAN_TYPE, PREPARE_STEP, SERVE_STEP,
                                      WRITER_CAPACITY_STEP, AuroraTarget, DetectionAlarm, EksTarget,
                                      ExtraRecoveryStep, RegionSwitch, RegionSwitchArgs, custom_action_step,
                                      store_step_name)
from ops.core.paths import REPO_ROOT
from ops.core.posture import CacheB, Posture, capacity
from ops.drctl.planning.mockplan import Plan, PlannedResource
from ops.drctl.planning.steps import step_order
from stacks.config_files import load_stack_settings

A, B = "us-east-1", "us-west-2"
LAMBDA = "aws:lambda/function:Function"
CACHE_STEP = "elasticache-global-dr-cache"
CACHE_FUNCTIONS = [f"arn:aws:lambda:{A}:123456789012:function:dr-platform-cache-promotion-{A}",
                   f"arn:aws:lambda:{B}:123456789012:function:dr-platform-cache-promotion-{B}"]


def the_plan(plan: Plan) -> PlannedResource:
    (arc,) = plan.by_type(PLAN_TYPE)
    return arc


def workflow(arc: PlannedResource, region: str) -> list[dict[str, Any]]:
    (found,) = [w for w in arc.inputs["workflows"] if w["workflowTargetRegion"] == region]
    return found["steps"]


def names(steps: list[dict[str, Any]]) -> list[str]:
    return [s["name"] for s in steps]


def inner(steps: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    (step,) = [s for s in steps if s["name"] == name]
    return step["parallelConfigs"][0]["steps"]


@pytest.mark.parametrize("posture", [p.value for p in Posture])
@pytest.mark.parametrize("failover", [False, True])
def test_the_failover_workflow_follows_the_posture_table(dr_plans: dict, posture: str, failover: bool) -> None:
    settings = load_stack_settings("dr")
    now = capacity(Posture(posture), failover, settings.aurora.instances, settings.compute.production())
    target = capacity(Posture(posture), True, settings.aurora.instances, settings.compute.production())
    plan = dr_plans[(posture, failover)]
    steps = workflow(the_plan(plan), B)
    headless = now.aurora_instances_b == 0 and not failover
    gates = now.eks_nodes_b == 0  # B serves nothing before its compute is up: the promotion waits for it
    growing = [*([NODE_CAPACITY_STEP] if now.eks_nodes_b < target.eks_nodes_b else []), DEPLOYMENTS_STEP]
    alongside = [*([WRITER_CAPACITY_STEP] if headless else []), *(growing if gates else [])]
    last = DNS_STEP if gates else SERVE_STEP  # where B serves, DNS moves beside B's growth, not after it
    if alongside:  # the approval in parallel with what the writer role waits for
        assert names(steps) == [PREPARE_STEP, DATA_STORES_STEP, last]
        assert names(inner(steps, PREPARE_STEP)) == [*alongside, APPROVAL_STEP]
    else:
        assert names(steps) == [APPROVAL_STEP, DATA_STORES_STEP, last]
    member = now.cache_b is CacheB.SECONDARY  # B keeps a Global Datastore member: the plan promotes it
    stores = names(inner(steps, DATA_STORES_STEP))
    assert stores == [AURORA_STEP, *([CACHE_STEP] if member else [])]
    beside = [] if gates else names(inner(steps, SERVE_STEP))
    assert beside == ([] if gates else [DNS_STEP, *growing])  # warm standby: traffic and growth together
    prepared = alongside + beside
    functions = {f.inputs["name"]: f.inputs for f in plan.by_type(LAMBDA)}
    if member:
        cache = functions.pop(f"dr-platform-cache-promotion-{B}")
        assert cache["handler"] == "ops.actions.arc_custom_actions.cache_promotion"
        assert cache["environment"]["variables"] == {"GLOBAL_GROUP_ID": "ldgnf-dr-cache",
                                                     "REPLICATION_GROUP_ID": f"dr-cache-{B}"}
        (step,) = [s for s in inner(steps, DATA_STORES_STEP) if s["name"] == CACHE_STEP]
        (config,) = step["customActionLambdaConfigs"]
        assert [f["arn"] for f in config["lambdas"]] == CACHE_FUNCTIONS  # one per region (ARC): A's and B's
        assert config["regionToRun"] == "activatingRegion" and config["ungracefuls"] == [{"behavior": "skip"}]
    if headless:
        writer = functions[f"dr-platform-{WRITER_CAPACITY_STEP}-{B}"]
        assert writer["environment"]["variables"] == {"CLUSTER_ID": f"dr-core-{B}", "INSTANCE_CLASS":
                                                      settings.aurora.instance_class,
                                                      "WRITER_INSTANCES": str(target.aurora_instances_b)}
        assert writer["handler"] == "ops.actions.arc_custom_actions.writer_capacity"
    if NODE_CAPACITY_STEP in prepared:
        variables = functions[f"dr-platform-{NODE_CAPACITY_STEP}-{B}"]["environment"]["variables"]
        assert variables["DESIRED_NODES"] == str(target.eks_nodes_b)
    assert len(functions) == len({WRITER_CAPACITY_STEP, NODE_CAPACITY_STEP} & set(prepared))
    aurora = inner(steps, DATA_STORES_STEP)[0]
    config = aurora["globalAuroraConfigs"][0]
    assert aurora["name"] == AURORA_STEP and config["behavior"] == "switchoverOnly"  # graceful: RPO 0
    assert config["ungracefuls"] == [{"ungraceful": "failover"}]  # A gone: FailoverGlobalCluster, data loss
    assert config["databaseClusterArns"] == [f"arn:aws:rds:{A}:123456789012:cluster:dr-core-{A}",
                                             f"arn:aws:rds:{B}:123456789012:cluster:dr-core-{B}"]


def test_pilot_light_creates_bs_writer_and_warm_standby_does_not(dr_plans: dict) -> None:
    pilot = workflow(the_plan(dr_plans[("pilot-light", False)]), B)
    warm = workflow(the_plan(dr_plans[("warm-standby", False)]), B)
    assert names(inner(pilot, PREPARE_STEP)) == [WRITER_CAPACITY_STEP, NODE_CAPACITY_STEP, DEPLOYMENTS_STEP,
                                                 APPROVAL_STEP]
    assert names(warm)[0] == APPROVAL_STEP  # nothing to wait for: its instance is promoted, its 2 nodes serve
    assert names(inner(warm, DATA_STORES_STEP)) == [AURORA_STEP, CACHE_STEP]
    assert names(inner(warm, SERVE_STEP)) == [DNS_STEP, NODE_CAPACITY_STEP, DEPLOYMENTS_STEP]
    assert WRITER_CAPACITY_STEP not in str(warm)
    assert "elasticache" not in json.dumps(pilot)  # no member in B: nothing to promote (its cold cache is pulumi up's)


def _scaled(steps: list[dict[str, Any]]) -> dict[tuple[str, str], str | None]:
    """(Deployment, region) → the HPA the plan names to ARC for it, in the failover's Deployments step."""
    (step,) = [s for s in [*steps, *(i for s in steps for c in s.get("parallelConfigs") or [] for i in c["steps"])]
               if s["name"] == DEPLOYMENTS_STEP]
    return {(r["name"], r["resourceName"]): r.get("hpaName")
            for group in step["eksResourceScalingConfigs"][0]["scalingResources"] for r in group["resources"]}


@pytest.mark.parametrize("posture", ["pilot-light", "warm-standby", "active-active"])
def test_arc_is_told_bs_hpas_so_they_cannot_take_back_the_replicas_it_adds(dr_plans: dict, posture: str) -> None:
    """ARC's EKS block "patches the HorizontalPodAutoscaler to prevent any automatic scaledown during or after the
    execution" when its hpaName is given (ARC developer guide): else B's HPA, with no traffic yet, scales ARC's
    replicas back to its floor and the step waits for pods that are gone. Named exactly where B runs the HPA (the
    posture runs the service in B), in B's entry only: A's are the source, and pilot light's B has none."""
    plan = dr_plans[(posture, False)]
    scaled = _scaled(workflow(the_plan(plan), B))
    # the dr stack's Kubernetes objects are all on B's cluster
    hpas_in_b = {h.inputs["metadata"]["name"] for h in plan.by_type("kubernetes:autoscaling/v2:HorizontalPodAutoscaler")}
    assert {d for (d, region), hpa in scaled.items() if hpa} == hpas_in_b
    assert all(hpa in (None, d) and (hpa is None or region == B) for (d, region), hpa in scaled.items())
    assert bool(hpas_in_b) == (posture != "pilot-light")


def test_every_flip_applies_bs_hpas_so_pulumi_takes_back_what_arc_disabled(dr_plans: dict,
                                                                           primary_plan: Plan) -> None:
    """ARC's patch (scaleDown Disabled) outlives the execution: the HPAs declare Kubernetes' default with
    pulumi.com/patchForce, and carry the posture row they were applied for, so that the failover's and the
    failback's `pulumi up` apply every one of them, including users', whose floor is 2 both warm and failed over."""
    def hpas(plan: Plan) -> dict[str, dict[str, Any]]:
        return {h.inputs["metadata"]["name"]: h.inputs
                for h in plan.by_type("kubernetes:autoscaling/v2:HorizontalPodAutoscaler")}

    warm, failed_over = hpas(dr_plans[("warm-standby", False)]), hpas(dr_plans[("warm-standby", True)])
    for plan_hpas in (warm, failed_over, hpas(primary_plan)):
        for hpa in plan_hpas.values():
            assert hpa["spec"]["behavior"] == {"scaleDown": {"selectPolicy": "Max"}}
            assert hpa["metadata"]["annotations"]["pulumi.com/patchForce"] == "true"
    assert warm["users"]["spec"]["minReplicas"] == failed_over["users"]["spec"]["minReplicas"] == 2
    assert {name: hpa["metadata"]["annotations"]["dr-platform/scaling-row"] for name, hpa in warm.items()} == {
        name: "warm-standby" for name in warm}
    assert {h["metadata"]["annotations"]["dr-platform/scaling-row"] for h in failed_over.values()} == {
        "warm-standby-failed-over"}
    assert {h["metadata"]["annotations"]["dr-platform/scaling-row"] for h in hpas(primary_plan).values()} == {
        "production"}


def test_the_failback_is_a_planned_switchover_without_capacity_or_approval(dr_plans: dict) -> None:
    settings = load_stack_settings("dr")
    for (posture, failover), plan in dr_plans.items():
        steps = workflow(the_plan(plan), A)
        assert names(steps) == [DATA_STORES_STEP, DNS_STEP]  # A always runs production; a person starts it
        member = capacity(Posture(posture), failover, settings.aurora.instances).cache_b is CacheB.SECONDARY
        aurora, *stores = inner(steps, DATA_STORES_STEP)
        assert "ungracefuls" not in aurora["globalAuroraConfigs"][0]  # a failback never loses data
        assert names(stores) == ([CACHE_STEP] if member else [])  # the cache moves back to A's member too
        # the same step as the failover's: ARC runs the activating region's function (A's, here)
        assert stores == [s for s in inner(workflow(the_plan(plan), B), DATA_STORES_STEP) if s["name"] == CACHE_STEP]


def test_the_trigger_is_bs_canary_alarm_and_only_while_a_writes(dr_plans: dict) -> None:
    for (posture, failover), plan in dr_plans.items():
        arc = the_plan(plan)
        assert arc.inputs["recoveryApproach"] == "activePassive" and arc.inputs["primaryRegion"] == A
        assert arc.inputs["regions"] == [A, B] and arc.region == B
        if failover:
            assert not arc.inputs.get("triggers") and not arc.inputs.get("associatedAlarms")
            continue
        (alarm,) = arc.inputs["associatedAlarms"]
        (canary_alarm,) = [a for a in plan.by_type("aws:cloudwatch/metricAlarm:MetricAlarm")
                           if a.inputs["namespace"] == "CloudWatchSynthetics"]
        assert alarm["alarmType"] == "trigger"
        assert alarm["resourceIdentifier"] == f"arn:aws:cloudwatch:{B}:123456789012:alarm:{canary_alarm.inputs['name']}"
        (trigger,) = arc.inputs["triggers"]
        assert trigger["action"] == "activate" and trigger["targetRegion"] == B
        assert trigger["conditions"] == [{"associatedAlarmName": alarm["mapBlockKey"], "condition": "red"}]


def test_everything_the_plan_needs_is_in_b(dr_plan: Plan) -> None:
    """The dr stack must not need region A's APIs: the plan, its Lambdas, their logs and B's access entry are B's;
    A's cluster is named by ARN only (the primary stack grants its access entry)."""
    regional = [r for r in dr_plan.resources if r.name.startswith("region-switch") and r.region not in (None, "global")]
    assert {r.type for r in regional} >= {PLAN_TYPE, LAMBDA, "aws:cloudwatch/logGroup:LogGroup"}
    assert {r.region for r in regional} == {B}
    (entry,) = dr_plan.by_type("aws:eks/accessEntry:AccessEntry")
    (association,) = [r for r in dr_plan.by_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
                      if "region-switch" in r.name]
    assert entry.inputs["clusterName"] == f"platform-{B}"
    assert association.inputs["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonARCRegionSwitchScalingPolicy"
    assert association.inputs["accessScope"] == {"type": "namespace", "namespaces": ["platform"]}


def _imports(path: str) -> set[str]:
    tree = ast.parse((REPO_ROOT / path).read_text())
    found = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    return found | {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}


def test_the_lambda_package_holds_everything_its_handlers_import(dr_plan: Plan) -> None:
    for function in dr_plan.by_type(LAMBDA):
        archive = function.inputs["code"]["archive"]
        assert set(archive) == {*PACKAGED_MODULES, "tenacity"}
        assert archive["tenacity"] == {"directory": "tenacity"}
        module = function.inputs["handler"].rsplit(".", 1)[0]
        assert f"{module.replace('.', '/')}.py" in archive
        for path in PACKAGED_MODULES:
            assert archive[path]["sha256"] and archive[path]["file"] == path
            for name in _imports(path):
                top = name.split(".")[0]
                if top == "ops":
                    assert f"{name.replace('.', '/')}.py" in archive or f"{name.replace('.', '/')}/__init__.py" in archive
                else:  # the Lambda runtime has boto3/botocore; tenacity is packaged; the rest is the standard library
                    assert top in {"boto3", "botocore", "tenacity", "__future__"} | sys.stdlib_module_names, name
    from ops.actions import arc_custom_actions
    assert callable(arc_custom_actions.writer_capacity) and callable(arc_custom_actions.node_capacity)
    assert callable(arc_custom_actions.cache_promotion)


def policy_of(plan: Plan, name: str) -> dict[str, Any]:
    (found,) = [r for r in plan.by_type("aws:iam/rolePolicy:RolePolicy") if r.name == name]
    return json.loads(found.inputs["policy"])


def actions(policy: dict[str, Any]) -> set[str]:
    return {a for s in policy["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}


def test_the_roles_may_do_only_what_the_steps_do(dr_plans: dict) -> None:
    pilot, failed_over = dr_plans[("pilot-light", False)], dr_plans[("pilot-light", True)]
    assert actions(policy_of(pilot, "region-switch-execution-policy")) == {
        "iam:SimulatePrincipalPolicy", "arc-region-switch:GetPlan", "arc-region-switch:GetPlanExecution",
        "arc-region-switch:ListPlanExecutions", "rds:DescribeGlobalClusters", "rds:DescribeDBClusters",
        "rds:FailoverGlobalCluster", "rds:SwitchoverGlobalCluster", "eks:DescribeCluster",
        "eks:ListAssociatedAccessPolicies", "route53:ListResourceRecordSets", "lambda:GetFunction",
        "lambda:InvokeFunction", "cloudwatch:DescribeAlarms", "cloudwatch:DescribeAlarmHistory",
        "arc-region-switch:StartPlanExecution", "servicequotas:GetServiceQuota", "eks:ListNodegroups",
        "eks:ListFargateProfiles", "eks:DescribeNodegroup"}
    statements = {s["Sid"]: s for s in policy_of(pilot, "region-switch-execution-policy")["Statement"]}
    # Evaluation simulates the execution role and the approver's; Aurora's reads as AWS's sample has them
    assert statements["PlanEvaluationSimulatesTheRoles"]["Resource"] == [
        "arn:aws:iam::123456789012:role/dr-platform-region-switch",
        "arn:aws:iam::123456789012:role/dr-platform-region-switch-approver"]
    assert statements["AuroraReadTheGlobalDatabase"]["Resource"] == "*"
    # Service quota checks (on for a new plan) read both regions' node groups, and nothing they could change
    assert statements["QuotaChecksReadTheNodeGroups"]["Resource"] == [
        f"arn:aws:eks:{A}:123456789012:nodegroup/platform-{A}/*/*",
        f"arn:aws:eks:{B}:123456789012:nodegroup/platform-{B}/*/*"]
    assert not {a for a in actions(policy_of(pilot, "region-switch-execution-policy"))
                if a.startswith("servicequotas:") and a != "servicequotas:GetServiceQuota"}
    # A trigger starts the plan as the execution role (ARC developer guide, "Plan execution role trust policy": it
    # assumes the role "to read the CloudWatch alarms that the triggers use and to start the plan execution when
    # the trigger conditions are met"; plan evaluation warns when StartPlanExecution is missing): on this plan only.
    start = next(s for s in policy_of(pilot, "region-switch-execution-policy")["Statement"]
                 if s["Sid"] == "TriggersStartThisPlan")
    assert (start["Action"], start["Resource"]) == (
        "arc-region-switch:StartPlanExecution", "arn:aws:arc-region-switch::123456789012:plan/dr-platform:*")
    # failed over: no Lambda to run, no trigger alarm to read, no trigger to start anything
    assert not actions(policy_of(failed_over, "region-switch-execution-policy")) & {
        "lambda:InvokeFunction", "cloudwatch:DescribeAlarms", "arc-region-switch:StartPlanExecution"}
    move = next(s for s in policy_of(pilot, "region-switch-execution-policy")["Statement"]
                if s["Sid"] == "AuroraMoveTheWriter")
    assert move["Resource"] == ["arn:aws:rds::123456789012:global-cluster:dr-core",
                                f"arn:aws:rds:{A}:123456789012:cluster:dr-core-{A}",
                                f"arn:aws:rds:{B}:123456789012:cluster:dr-core-{B}"]
    approval = policy_of(pilot, "region-switch-approval-policy")["Statement"]
    assert [(s["Action"], s["Resource"]) for s in approval] == [
        ("arc-region-switch:ApprovePlanExecutionStep", "arn:aws:arc-region-switch::123456789012:plan/dr-platform:*")]
    writer = policy_of(pilot, f"region-switch-{WRITER_CAPACITY_STEP}-action")
    assert actions(writer) == {"rds:CreateDBInstance", "rds:DescribeDBInstances"}
    assert writer["Statement"][0]["Resource"] == [f"arn:aws:rds:{B}:123456789012:cluster:dr-core-{B}",
                                                  f"arn:aws:rds:{B}:123456789012:db:dr-core-{B}-*"]
    nodes = policy_of(pilot, f"region-switch-{NODE_CAPACITY_STEP}-action")
    assert actions(nodes) == {"eks:DescribeNodegroup", "eks:UpdateNodegroupConfig"}
    assert nodes["Statement"][0]["Resource"] == f"arn:aws:eks:{B}:123456789012:nodegroup/platform-{B}/general/*"
    assert not [p for p in pilot.by_type("aws:iam/rolePolicy:RolePolicy") if "cache" in p.name]  # no member in B


@pytest.mark.parametrize("posture", ["warm-standby", "active-active"])
def test_the_cache_promotion_may_only_read_and_fail_over_the_global_datastore(dr_plans: dict, primary_plan: Plan,
                                                                           posture: str) -> None:
    """Each region's function (B's here, A's in the primary stack) may describe and fail over A's Global Datastore and
    nothing else; the execution role may invoke both, and nothing in the dr stack is outside B."""
    plan = dr_plans[(posture, False)]
    only = [{"Sid": "PromoteThisRegionsMember", "Effect": "Allow",
             "Action": ["elasticache:DescribeGlobalReplicationGroups", "elasticache:FailoverGlobalReplicationGroup"],
             "Resource": "arn:aws:elasticache::123456789012:globalreplicationgroup:ldgnf-dr-cache"}]
    assert policy_of(plan, "region-switch-cache-promotion-action")["Statement"] == only
    assert policy_of(primary_plan, "cache-promotion-action")["Statement"] == only
    run = next(s for s in policy_of(plan, "region-switch-execution-policy")["Statement"]
               if s["Sid"] == "RunTheCustomActions")
    assert set(CACHE_FUNCTIONS) <= set(run["Resource"]) and run["Action"] == ["lambda:GetFunction",
                                                                                "lambda:InvokeFunction"]
    (function,) = [f for f in plan.by_type(LAMBDA) if f.name == "region-switch-cache-promotion"]
    assert function.region == B
    (a_function,) = [f for f in primary_plan.by_type(LAMBDA) if f.name == "cache-promotion"]
    assert a_function.region == A and a_function.inputs["environment"]["variables"] == {
        "GLOBAL_GROUP_ID": "ldgnf-dr-cache", "REPLICATION_GROUP_ID": f"dr-cache-{A}"}
    assert primary_plan.outputs["cachePromotionFunctionArn"] == CACHE_FUNCTIONS[0]


def test_a_first_pulumi_up_creates_what_the_plan_refers_to_before_the_plan(dr_plan: Plan) -> None:
    """ARC evaluates a plan when it is created: its clusters, node group, Deployments, records, alarm, Lambdas and
    B's access entry must exist by then, and so must the execution role's permissions and the approver role's
    (evaluation checks that it may approve: its policy names the plan by name, not by the ARN ARC picks)."""
    order = step_order(Plan(stack="dr", config={}), dr_plan)
    (plan,) = [s for s in order.steps if s.resource.type == PLAN_TYPE]
    before = {"aws:rds/cluster:Cluster", "aws:eks/cluster:Cluster", "aws:eks/nodeGroup:NodeGroup",
              "kubernetes:apps/v1:Deployment", "aws:route53/record:Record", "aws:cloudwatch/metricAlarm:MetricAlarm",
              LAMBDA, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "aws:iam/rolePolicy:RolePolicy"}
    waited = [s for s in order.steps if s.resource.type in before
              and (s.resource.region == B or s.resource.name.startswith(("region-switch", "api-dns")))]
    assert {s.resource.name for s in waited} >= {"region-switch-execution-policy", "region-switch-approval-policy",
                                                 "region-switch-eks-scaling", "region-switch-writer-capacity",
                                                 "api-dns-primary"}
    for step in waited:
        assert order.happens_after(plan, step), step.resource.name
    for function in (s for s in order.steps if s.resource.type == LAMBDA):
        for grant in (s for s in order.steps if s.resource.name.startswith(function.resource.name + "-")):
            assert order.happens_after(function, grant), grant.resource.name


@pulumi.runtime.test
def test_an_extra_store_step_joins_both_workflows_and_the_execution_role(mocks) -> None:
    """How the cache's promotion plugs in: its steps beside Aurora's, its statements in the execution role."""
    import pulumi_aws as aws

    provider = aws.Provider("b", region=B)
    promote = custom_action_step(store_step_name("elasticache-global:dr-cache"), "promote the cache in B",
                                 [f"arn:aws:lambda:{r}:123456789012:function:promote-cache" for r in (A, B)])
    demote = {**promote, "description": "promote the cache in A"}
    statement = {"Sid": "PromoteTheCache", "Effect": "Allow", "Action": "elasticache:FailoverGlobalReplicationGroup",
                 "Resource": "arn:aws:elasticache::123456789012:globalreplicationgroup:ldgnf-dr-cache"}
    args = RegionSwitchArgs(
        plan_name="dr-platform", primary_region=A, recovery_region=B, account_id="123456789012", provider=provider,
        execution_role_name="dr-platform-region-switch",
        execution_role_arn="arn:aws:iam::123456789012:role/dr-platform-region-switch",
        kms_key_arn=f"arn:aws:kms:{B}:123456789012:key/mrk-1",
        aurora=AuroraTarget(global_cluster_id="dr-core", global_cluster_arn="arn:aws:rds::1:global-cluster:dr-core",
                            cluster_arns={A: "arn-a", B: "arn-b"}, recovery_cluster_id=f"dr-core-{B}",
                            instance_class="db.r6g.large"),
        eks=EksTarget(cluster_names={A: f"platform-{A}", B: f"platform-{B}"}, nodegroup_name="general",
                      namespace="platform", deployments=["payments"]),
        hosted_zone_id="Z1", record_name="api.example.com", record_set_regions={"primary": A, "secondary": B},
        writer_instances_to_create=0, nodes_to_reach=0,
        trigger_alarms=[DetectionAlarm("probe", f"arn:aws:cloudwatch:{B}:1:alarm:probe")],
        stores_with_a_role=["aurora-global:dr-core", "elasticache-global:dr-cache"],
        extra_steps=[ExtraRecoveryStep("elasticache-global:dr-cache", promote, demote, [statement])])
    switch = RegionSwitch("rs", args)
    policy = json.loads(RegionSwitch.execution_policy(args, "123456789012", "role-arn", "global-arn",
                                                      ["arn-a", "arn-b"], [], "Z1", [], "approver-arn"))
    assert statement in policy["Statement"]

    def check(_: Any) -> None:
        (plan,) = mocks.of_type(PLAN_TYPE)
        for region, description in ((B, "promote the cache in B"), (A, "promote the cache in A")):
            (flow,) = [w for w in plan.inputs["workflows"] if w["workflowTargetRegion"] == region]
            stores = inner(flow["steps"], DATA_STORES_STEP)
            assert [s["name"] for s in stores][:2] == [AURORA_STEP, "elasticache-global-dr-cache"]
            assert stores[1]["description"] == description
        assert plan.inputs["tags"] == {"dr-platform:stores-with-a-role": "aurora-global:dr-core elasticache-global:dr-cache"}
        from policy.rules import violations
        assert violations(PLAN_TYPE, plan.inputs, B) == []

    return pulumi.Output.all(switch.plan_arn, switch.approval_role_arn).apply(check)


def test_the_primary_stack_makes_the_execution_role_and_as_access_entry_first(primary_plan: Plan,
                                                                             dr_plan: Plan) -> None:
    """EKS refuses an access entry for a principal that does not exist, and the primary stack is deployed first:
    the role and A's entry are made there; the dr stack's plan runs as that role."""
    (role,) = [r for r in primary_plan.by_type("aws:iam/role:Role") if r.inputs.get("name") == "dr-platform-region-switch"]
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust == [{"Effect": "Allow", "Principal": {"Service": "arc-region-switch.amazonaws.com"},
                      "Action": "sts:AssumeRole"}]
    assert not [p for p in primary_plan.by_type("aws:iam/rolePolicy:RolePolicy") if "region-switch" in p.name]
    order = step_order(Plan(stack="primary", config={}), primary_plan)
    (entry,) = [s for s in order.steps if s.resource.type == "aws:eks/accessEntry:AccessEntry"]
    (association,) = [s for s in order.steps if s.resource.name == "region-switch-eks-scaling"]
    (created,) = order.of(role.name)
    (cluster,) = [s for s in order.steps if s.resource.type == "aws:eks/cluster:Cluster"]
    assert entry.resource.region == A and entry.resource.inputs["clusterName"] == f"platform-{A}"
    assert order.happens_after(entry, created) and order.happens_after(entry, cluster)
    assert order.happens_after(association, entry)
    assert association.resource.inputs["accessScope"] == {"type": "namespace", "namespaces": ["platform"]}
    arn = "arn:aws:iam::123456789012:role/dr-platform-region-switch"
    assert the_plan(dr_plan).inputs["executionRole"] == arn
    (policy,) = [p for p in dr_plan.by_type("aws:iam/rolePolicy:RolePolicy") if p.name == "region-switch-execution-policy"]
    assert policy.inputs["role"] == "dr-platform-region-switch"


def test_each_lambda_keeps_its_environment_under_bs_key_and_may_only_log_and_decrypt_it(dr_plan: Plan) -> None:
    (canary,) = dr_plan.by_type("aws:synthetics/canary:Canary")
    key_b = canary.inputs["artifactConfig"]["s3Encryption"]["kmsKeyArn"]  # B's replica of the data key
    assert f":{B}:" in key_b
    for function in dr_plan.by_type(LAMBDA):
        assert function.inputs["kmsKeyArn"] == key_b
        runtime = policy_of(dr_plan, f"{function.name}-runtime")["Statement"]
        assert [s["Action"] for s in runtime] == [["logs:CreateLogStream", "logs:PutLogEvents"], "kms:Decrypt"]
        assert runtime[0]["Resource"] == f"arn:aws:logs:{B}:123456789012:log-group:/aws/lambda/{function.inputs['name']}:*"
        assert runtime[1]["Resource"] == function.inputs["kmsKeyArn"]
        assert runtime[1]["Condition"] == {"StringEquals": {
            "kms:EncryptionContext:LambdaFunctionName": function.inputs["name"]}}
