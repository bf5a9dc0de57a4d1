"""Q3's FIS experiment template (stacks/drills.py): region B's Typesense pods deleted by `aws:eks:pod-delete`,
declared wherever the posture table runs Typesense in B, stopped by B's canary alarm, run by a role that may only
read B's cluster, and given in B's cluster exactly what FIS's pod actions need (FIS user guide, eks-pod-actions)."""
from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pytest

from components.drill_faults import DrillExperiment, DrillExperimentArgs, FaultAction, FaultTarget
from ops.core import naming
from ops.core.posture import Posture, capacity
from ops.drctl.planning.mockplan import Plan, PlannedResource, _computed, plan_stack
from stacks.config_files import load_stack_settings

TEMPLATE = "aws:fis/experimentTemplate:ExperimentTemplate"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
B = "us-west-2"


def arn(resource: PlannedResource) -> str:
    return _computed(resource.type, resource.name, resource.inputs, resource.region or "")["arn"]


def q3(plan: Plan) -> PlannedResource:
    (template,) = [t for t in plan.by_type(TEMPLATE) if t.inputs["tags"][naming.FIS_DRILL_TAG] == "Q3"]
    return template


def sibling(plan: Plan, of: PlannedResource, type_: str) -> PlannedResource:
    (found,) = [r for r in plan.by_type(type_) if r.parent == of.parent]
    return found


@pytest.fixture(scope="module")
def warm(dr_plans: dict[tuple[str, bool], Plan]) -> Plan:
    return dr_plans[("warm-standby", False)]


def test_the_template_exists_exactly_where_the_posture_table_runs_typesense_in_b(
        dr_plans: dict[tuple[str, bool], Plan]) -> None:
    settings = load_stack_settings("dr")
    for (posture, failover), plan in dr_plans.items():
        runs = capacity(Posture(posture), failover, settings.aurora.instances, settings.compute.production(),
                        cache_nodes=settings.cache.nodes).typesense_replicas_b > 0
        templates = plan.by_type(TEMPLATE)
        assert bool(templates) is runs, (posture, failover)
        assert set(plan.outputs["drillTemplates"]) == ({"Q3"} if runs else set())
    assert not dr_plans[("pilot-light", False)].by_type(TEMPLATE)  # nothing to delete: no Typesense pod in B
    assert dr_plans[("pilot-light", True)].by_type(TEMPLATE)  # failed over, B runs production search
    # no Kubernetes objects (a first deploy), no pods to target and no namespace for FIS's service account
    assert not plan_stack("dr", ["posture=warm-standby", "compute.workloads=false"]).by_type(TEMPLATE)


def test_every_typesense_pod_in_b_is_deleted_at_once_through_the_pod_target_parameters(warm: Plan) -> None:
    template = q3(warm)
    assert template.region == B
    (action,) = template.inputs["actions"]
    assert action["actionId"] == "aws:eks:pod-delete" and action["target"] == {"key": "Pods",
                                                                                "value": "typesense-pods"}
    (target,) = template.inputs["targets"]
    # aws:eks:pod takes no ARNs or tags: the cluster, namespace and label selector identify the pods
    assert target["resourceType"] == "aws:eks:pod" and target["selectionMode"] == "ALL"
    assert "resourceArns" not in target and "resourceTags" not in target
    (cluster,) = warm.by_type("aws:eks/cluster:Cluster")
    (typesense,) = warm.by_type(STATEFUL_SET)
    parameters = target["parameters"]
    assert parameters["clusterIdentifier"] == cluster.inputs["name"] and cluster.region == B
    assert parameters["namespace"] == typesense.inputs["metadata"]["namespace"]
    assert parameters["selectorType"] == "labelSelector"
    selected = dict(term.split("=", 1) for term in parameters["selectorValue"].split(","))
    pod_labels = typesense.inputs["spec"]["template"]["metadata"]["labels"]
    assert selected.items() <= pod_labels.items()
    # nothing else in B carries those labels on its pods: the selector takes Typesense only
    others = [w for w in warm.by_type("kubernetes:apps/v1:Deployment")
              if selected.items() <= w.inputs["spec"]["template"]["metadata"]["labels"].items()]
    assert others == []
    params = {p["key"]: p["value"] for p in action["parameters"]}
    assert params["gracePeriodSeconds"] == "0"  # a loss, not a shutdown: the sandbox's Q3 SIGKILLs
    # FIS's pod runs in a namespace that enforces `restricted`: it is asked for the same
    (namespace,) = [n for n in warm.by_type("kubernetes:core/v1:Namespace")
                    if n.inputs["metadata"]["name"] == parameters["namespace"]]
    assert params["fisPodSecurityPolicy"] == namespace.inputs["metadata"]["labels"][
        "pod-security.kubernetes.io/enforce"] == "restricted"


def test_fis_is_given_the_service_account_role_and_user_the_user_guide_lists(warm: Plan) -> None:
    template = q3(warm)
    (action,) = template.inputs["actions"]
    service_account = {p["key"]: p["value"] for p in action["parameters"]}["kubernetesServiceAccount"]
    namespace = template.inputs["targets"][0]["parameters"]["namespace"]
    account = sibling(warm, template, "kubernetes:core/v1:ServiceAccount")
    assert account.inputs["metadata"] == {**account.inputs["metadata"], "name": service_account,
                                          "namespace": namespace}
    role = sibling(warm, template, "kubernetes:rbac.authorization.k8s.io/v1:Role")
    assert role.inputs["metadata"]["namespace"] == namespace  # a Role, not a ClusterRole: this namespace only
    assert [(r["apiGroups"], r["resources"], r["verbs"]) for r in role.inputs["rules"]] == [
        ([""], ["configmaps"], ["get", "create", "patch", "delete"]),
        ([""], ["pods"], ["create", "list", "get", "delete", "deletecollection"]),
        ([""], ["pods/ephemeralcontainers"], ["update"]),
        ([""], ["pods/exec"], ["create"]),
        (["apps"], ["deployments"], ["get"]),
    ]
    binding = sibling(warm, template, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")
    assert binding.inputs["metadata"]["namespace"] == namespace
    assert binding.inputs["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                         "name": role.inputs["metadata"]["name"]}
    entry = sibling(warm, template, "aws:eks/accessEntry:AccessEntry")
    (cluster,) = warm.by_type("aws:eks/cluster:Cluster")
    # the template's role is the Kubernetes user the binding names, in B's cluster
    assert entry.inputs["principalArn"] == template.inputs["roleArn"]
    assert entry.inputs["clusterName"] == cluster.inputs["name"] and entry.inputs["type"] == "STANDARD"
    assert cluster.inputs["accessConfig"]["authenticationMode"] in ("API", "API_AND_CONFIG_MAP")
    assert sorted(binding.inputs["subjects"], key=lambda s: s["kind"]) == [
        {"kind": "ServiceAccount", "name": service_account, "namespace": namespace},
        {"kind": "User", "name": entry.inputs["userName"], "apiGroup": "rbac.authorization.k8s.io"}]


def test_it_stops_on_bs_canary_alarm_the_detection_of_as_loss(warm: Plan) -> None:
    template = q3(warm)
    (stop,) = template.inputs["stopConditions"]
    composite = sibling(warm, template, "aws:cloudwatch/compositeAlarm:CompositeAlarm")
    assert stop == {"source": "aws:cloudwatch:alarm", "value": arn(composite)} and composite.region == B
    (canary,) = [a for a in warm.by_type("aws:cloudwatch/metricAlarm:MetricAlarm")
                 if a.inputs["namespace"] == "CloudWatchSynthetics"]
    assert canary.region == B
    assert composite.inputs["alarmRule"] == f'ALARM("{arn(canary)}")'


def test_the_role_only_reads_bs_cluster_and_the_pods_subnets(warm: Plan) -> None:
    template = q3(warm)
    role = sibling(warm, template, "aws:iam/role:Role")
    assert template.inputs["roleArn"] == arn(role)
    assert role.inputs["tags"][naming.FIS_ACTIONS_TAG] == "aws:eks:pod-delete"
    (inline,) = role.inputs["inlinePolicies"]
    statements = json.loads(inline["policy"])["Statement"]
    (cluster,) = warm.by_type("aws:eks/cluster:Cluster")
    granted = {a: s["Resource"] for s in statements for a in s["Action"]}
    assert granted.pop("eks:DescribeCluster") == [arn(cluster)]
    assert granted.pop("ec2:DescribeSubnets") == "*"  # Describe* takes no ARN
    assert set(granted) == {"tag:GetResources", "logs:CreateLogDelivery", "logs:PutResourcePolicy",
                            "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"}  # every experiment's


def test_only_the_targeted_typesense_has_a_writable_root_filesystem(warm: Plan, primary_plan: Plan) -> None:
    """FIS monitors a pod fault only in pods whose root filesystem is writable (the user guide's limitation)."""
    def context(plan: Plan) -> dict:
        (typesense,) = plan.by_type(STATEFUL_SET)
        (container,) = typesense.inputs["spec"]["template"]["spec"]["containers"]
        return container["securityContext"]

    assert context(warm)["readOnlyRootFilesystem"] is False
    assert {k: v for k, v in context(warm).items() if k != "readOnlyRootFilesystem"} == {
        "allowPrivilegeEscalation": False, "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}}
    assert context(primary_plan)["readOnlyRootFilesystem"] is True  # A is no drill's target


@pulumi.runtime.test
def test_a_pod_fault_without_its_cluster_access_is_refused(mocks) -> None:
    """FIS's pod actions cannot run without the service account and user the cluster gives it: declaring one
    without PodFaultAccess fails at once rather than deploying a template every experiment of which fails."""
    pods = FaultTarget("pods", "aws:eks:pod", parameters={"clusterIdentifier": "c", "namespace": "n",
                                                          "selectorType": "labelSelector", "selectorValue": "a=b"})
    action = FaultAction("pods-deleted", "aws:eks:pod-delete", "Pods", pods, "pods deleted",
                         parameters={"kubernetesServiceAccount": "sa"},
                         context={"cluster_arn": "arn:aws:eks:us-west-2:123456789012:cluster/c"})
    with pytest.raises(ValueError, match="pod_access is required"):
        DrillExperiment("drill-qx", DrillExperimentArgs(
            scenario="QX", description="d", region=B, actions=[action], stop_alarm_arns=[],
            account_id="123456789012", provider=aws.Provider("b", region=B)))
    assert not mocks.of_type(TEMPLATE) and not mocks.of_type("aws:iam/role:Role")
