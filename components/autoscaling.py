"""Autoscaling and disruption on a region's cluster: a HorizontalPodAutoscaler and a PodDisruptionBudget per
service, metrics-server for the HPAs, and the Kubernetes Cluster Autoscaler for the node group. components/compute.py
calls these with itself as the parent; the counts come resolved from the posture table (ops/core/posture.py).

- Who owns a Deployment's replicas. Where a service runs (the posture's count > 0) its HPA does: the Deployment
  omits `spec.replicas` (Kubernetes' advice for HPA targets) and the HPA's minReplicas is the posture's count, so a
  config flip moves the floor and the HPA moves the pods. Were Pulumi to declare replicas too, pulumi-kubernetes'
  server-side apply forces its value over kube-controller-manager's on every apply of the Deployment, scaling a
  loaded service back to the floor at each image bump. Where the count is 0 (B in pilot light, B's standard
  services in warm standby) the Deployment declares `replicas: 0` and has no HPA: minReplicas must be >= 1 without
  the alpha HPAScaleToZero gate, and an HPA whose target is at 0 does nothing (ScalingDisabled) anyway.
  The flips between the two: 0 -> running drops the field Pulumi alone owned, so the API server defaults it to 1 and
  the new HPA lifts it to its floor within a sync period (15 s); running -> 0 force-applies 0 over the HPA's count,
  and the HPA, deleted at the end of the update, is disabled meanwhile (its target is at 0). Pulumi awaits the
  Deployment's rollout, not the HPA's floor: the rest of the floor follows in seconds.
- ARC's failover and the HPAs. The Region switch plan names B's HPAs to its EKS block, which patches each with
  `behavior.scaleDown.selectPolicy: Disabled` "to prevent any automatic scaledown during or after the execution"
  (ARC developer guide): without it the HPA, with no traffic in B yet, takes ARC's replicas straight back to its
  floor (its scale-down window holds the highest recent recommendation, which was the floor) and the plan's step
  waits for pods that are gone. After the execution the patch stays, so the HPAs declare the default (`Max`) with
  `pulumi.com/patchForce`, and the posture row they were applied for (`dr-platform/scaling-row`): every config
  flip changes that row, so the failover's and the failback's `pulumi up` apply each HPA (even one whose floor
  stays, e.g. production 2 = warm standby's 2) and take the field back; B scales down again after failback.
- Disruption budgets that never block a drain. A critical service keeps minAvailable = floor - 1 (>= 1: config
  refuses a critical service under 2 replicas, and the posture table runs 2 in warm standby), so at its floor one
  pod can always be evicted while the others serve; with minAvailable = floor every drain waits forever and an EKS
  managed node group update fails with PodEvictionFailure. A standard service keeps maxUnavailable 1. Pods that are
  not Ready may always be evicted (unhealthyPodEvictionPolicy AlwaysAllow), so a crash-looping pod cannot wedge a
  drain either.
- The Cluster Autoscaler adds nodes between the node group's floor (min, the posture's count) and its ceiling
  (max, the posture's eks_max_nodes), and `pulumi up` leaves what it added (components/compute.py): it discovers
  the group by the tags EKS puts on the group's Auto Scaling group and changes only its desired capacity. AWS
  credentials through EKS Pod Identity; its policy may scale only this cluster's node group (tag conditions) and
  describe what it must. It runs only where the group has nodes (it runs on them). Its image comes from the
  region's ECR, mirrored from registry.k8s.io; its calls reach Auto Scaling, EC2 and EKS through the VPC's
  interface endpoints (components/network.py): the nodes have no egress.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
from pulumi_kubernetes.apps.v1 import Deployment, DeploymentSpecArgs
from pulumi_kubernetes.autoscaling.v2 import (
    CrossVersionObjectReferenceArgs,
    HorizontalPodAutoscaler,
    HorizontalPodAutoscalerBehaviorArgs,
    HPAScalingRulesArgs,
    HorizontalPodAutoscalerSpecArgs,
    MetricSpecArgs,
    MetricTargetArgs,
    ResourceMetricSourceArgs,
)
from pulumi_kubernetes.core.v1 import (
    ContainerArgs,
    EnvVarArgs,
    PodSpecArgs,
    PodTemplateSpecArgs,
    ResourceRequirementsArgs,
    ServiceAccount,
)
from pulumi_kubernetes.meta.v1 import LabelSelectorArgs, ObjectMetaArgs
from pulumi_kubernetes.policy.v1 import PodDisruptionBudget, PodDisruptionBudgetSpecArgs
from pulumi_kubernetes.rbac.v1 import (
    ClusterRole,
    ClusterRoleBinding,
    PolicyRuleArgs,
    Role,
    RoleBinding,
    RoleRefArgs,
    SubjectArgs,
)

from components.workloads import RESTRICTED_CONTAINER, Workload, restricted_pod

CPU_TARGET_PERCENT = 70  # of the pods' CPU requests (components/workloads.py SERVICE_RESOURCES)
METRICS_SERVER_ADDON = "metrics-server"  # an EKS community add-on: its image comes from AWS's ECR, in-region
AUTOSCALER_NAMESPACE = "kube-system"
AUTOSCALER_SERVICE_ACCOUNT = "cluster-autoscaler"
AUTOSCALER_RESOURCES = ResourceRequirementsArgs(requests={"cpu": "100m", "memory": "600Mi"},
                                                limits={"cpu": "100m", "memory": "600Mi"})
NOBODY = 65534  # the upstream manifest's user


@dataclass(frozen=True)
class Budget:
    """A PodDisruptionBudget's spec: exactly one of the two is set."""

    min_available: int | None = None
    max_unavailable: int | None = None


def disruption_budget(tier: str, floor: int) -> Budget:
    """The budget of a service running at `floor` replicas: critical keeps all but one (>= 1), standard loses one."""
    if tier != "critical":
        return Budget(max_unavailable=1)
    if floor < 2:
        raise ValueError(f"a critical service at {floor} replica(s) has no budget that keeps one serving and still "
                         "lets a drain evict one: run at least 2")
    return Budget(min_available=floor - 1)


# pulumi-kubernetes: force this resource's declared fields over another manager's (server-side apply conflicts)
PATCH_FORCE = "pulumi.com/patchForce"
SCALING_ROW = "dr-platform/scaling-row"  # the posture table's row the HPA was applied for


def service_scaling(name: str, w: Workload, namespace: str, target: Deployment,
                    opts: Callable[..., pulumi.ResourceOptions], metrics: list[pulumi.Resource],
                    scaling_row: str = "production") -> tuple[HorizontalPodAutoscaler, PodDisruptionBudget]:
    """The HPA (floor: the posture's count; ceiling: the service's maxReplicas) and the PDB of a running service."""
    selector = {"app.kubernetes.io/name": w.name}
    hpa = HorizontalPodAutoscaler(
        f"{name}-{w.name}-hpa", metadata=ObjectMetaArgs(name=w.name, namespace=namespace, labels=selector,
                                                        annotations={PATCH_FORCE: "true", SCALING_ROW: scaling_row}),
        spec=HorizontalPodAutoscalerSpecArgs(
            scale_target_ref=CrossVersionObjectReferenceArgs(api_version="apps/v1", kind="Deployment", name=w.name),
            min_replicas=w.replicas, max_replicas=max(w.max_replicas, w.replicas),
            # Kubernetes' default, declared so that the next `pulumi up` takes back what ARC's failover patched
            # (scale-down Disabled, components/region_switch.py): else B kept production's pods after failback.
            behavior=HorizontalPodAutoscalerBehaviorArgs(scale_down=HPAScalingRulesArgs(select_policy="Max")),
            metrics=[MetricSpecArgs(type="Resource", resource=ResourceMetricSourceArgs(
                name="cpu", target=MetricTargetArgs(type="Utilization", average_utilization=CPU_TARGET_PERCENT)))]),
        opts=opts(target, *metrics))
    budget = disruption_budget(w.tier, w.replicas)
    pdb = PodDisruptionBudget(
        f"{name}-{w.name}-pdb", metadata=ObjectMetaArgs(name=w.name, namespace=namespace, labels=selector),
        spec=PodDisruptionBudgetSpecArgs(
            selector=LabelSelectorArgs(match_labels=selector), min_available=budget.min_available,
            max_unavailable=budget.max_unavailable, unhealthy_pod_eviction_policy="AlwaysAllow"),
        opts=opts(target))
    return hpa, pdb


def typesense_budget(name: str, namespace: str, statefulset: pulumi.Resource,
                     opts: Callable[..., pulumi.ResourceOptions]) -> PodDisruptionBudget:
    """Typesense's Raft keeps a majority through a drain: one pod at a time (at 1 replica the drain still proceeds,
    and B's search is briefly down, as it would be at any restart)."""
    selector = {"app.kubernetes.io/name": "typesense"}
    return PodDisruptionBudget(
        f"{name}-typesense-pdb", metadata=ObjectMetaArgs(name="typesense", namespace=namespace, labels=selector),
        spec=PodDisruptionBudgetSpecArgs(selector=LabelSelectorArgs(match_labels=selector), max_unavailable=1,
                                         unhealthy_pod_eviction_policy="AlwaysAllow"),
        opts=opts(statefulset))


def autoscaler_policy(region: str, account_id: str, cluster_name: str, nodegroup_name: str) -> str:
    """The Cluster Autoscaler's AWS permissions (its README's policy for auto-discovery on EKS), least privilege:
    reads where IAM has no resource-level permissions, the one node group's description, and scaling only the Auto
    Scaling group EKS tags with this cluster's and this node group's names."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "ReadScalingState", "Effect": "Allow",
         "Action": ["autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances",
                    "autoscaling:DescribeLaunchConfigurations", "autoscaling:DescribeScalingActivities",
                    "ec2:DescribeImages", "ec2:DescribeInstanceTypes", "ec2:DescribeLaunchTemplateVersions",
                    "ec2:GetInstanceTypesFromInstanceRequirements"],
         "Resource": "*"},
        {"Sid": "ReadTheNodeGroup", "Effect": "Allow", "Action": ["eks:DescribeNodegroup"],
         "Resource": f"arn:aws:eks:{region}:{account_id}:nodegroup/{cluster_name}/{nodegroup_name}/*"},
        {"Sid": "ScaleOnlyThisNodeGroup", "Effect": "Allow",
         "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
         "Resource": f"arn:aws:autoscaling:{region}:{account_id}:autoScalingGroup:*:autoScalingGroupName/*",
         "Condition": {"StringEquals": {"aws:ResourceTag/eks:cluster-name": cluster_name,
                                        "aws:ResourceTag/eks:nodegroup-name": nodegroup_name}}},
    ]})


def autoscaler_command(cluster_name: str, nodegroup_name: str) -> list[str]:
    """Auto-discovery by the tags EKS puts on a managed node group's Auto Scaling group; the group's min and max
    (the posture's floor and ceiling, which EKS copies from the node group) bound what it does."""
    return ["./cluster-autoscaler", "--cloud-provider=aws", "--stderrthreshold=info", "--v=2",
            ("--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,"
             f"k8s.io/cluster-autoscaler/{cluster_name},eks:nodegroup-name={nodegroup_name}"),
            "--expander=least-waste", "--balance-similar-node-groups",
            # Typesense's data is on EBS claims, the search feed's emptyDir is scratch: neither pins a node
            "--skip-nodes-with-local-storage=false"]


# The upstream example manifest's RBAC (cluster-autoscaler/cloudprovider/aws/examples/cluster-autoscaler-autodiscover)
AUTOSCALER_CLUSTER_RULES = [
    PolicyRuleArgs(api_groups=[""], resources=["events", "endpoints"], verbs=["create", "patch"]),
    PolicyRuleArgs(api_groups=[""], resources=["pods/eviction"], verbs=["create"]),
    PolicyRuleArgs(api_groups=[""], resources=["pods/status"], verbs=["update"]),
    PolicyRuleArgs(api_groups=[""], resources=["endpoints"], resource_names=["cluster-autoscaler"],
                   verbs=["get", "update"]),
    PolicyRuleArgs(api_groups=[""], resources=["nodes"], verbs=["watch", "list", "get", "update"]),
    PolicyRuleArgs(api_groups=[""], resources=["namespaces", "pods", "services", "replicationcontrollers",
                                               "persistentvolumeclaims", "persistentvolumes"],
                   verbs=["watch", "list", "get"]),
    PolicyRuleArgs(api_groups=["policy"], resources=["poddisruptionbudgets"], verbs=["watch", "list"]),
    PolicyRuleArgs(api_groups=["apps"], resources=["statefulsets", "replicasets", "daemonsets"],
                   verbs=["watch", "list", "get"]),
    PolicyRuleArgs(api_groups=["storage.k8s.io"], resources=["storageclasses", "csinodes", "csidrivers",
                                                             "csistoragecapacities", "volumeattachments"],
                   verbs=["watch", "list", "get"]),
    PolicyRuleArgs(api_groups=["batch"], resources=["jobs"], verbs=["get", "list", "watch", "patch"]),
    PolicyRuleArgs(api_groups=["coordination.k8s.io"], resources=["leases"], verbs=["create"]),
    PolicyRuleArgs(api_groups=["coordination.k8s.io"], resources=["leases"], resource_names=["cluster-autoscaler"],
                   verbs=["get", "update"]),
]
AUTOSCALER_NAMESPACE_RULES = [
    PolicyRuleArgs(api_groups=[""], resources=["configmaps"], verbs=["create", "list", "watch"]),
    PolicyRuleArgs(api_groups=[""], resources=["configmaps"],
                   resource_names=["cluster-autoscaler-status", "cluster-autoscaler-priority-expander"],
                   verbs=["delete", "get", "update", "watch"]),
]


@dataclass
class AutoscalerArgs:
    region: str
    provider: aws.Provider
    # Known at plan time: the policy and the command name them.
    cluster_name_literal: str
    nodegroup_name: str
    cluster_name: pulumi.Input[str]
    account_id: pulumi.Input[str]
    pod_identity_agent: pulumi.Resource  # the eks-pod-identity-agent add-on


class ClusterAutoscalerIdentity:
    """The autoscaler's role, its policy and its Pod Identity association: AWS objects, free, declared in every
    posture so that the flip which adds nodes only has to add the pod."""

    def __init__(self, parent: pulumi.Resource, name: str, args: AutoscalerArgs, trust_policy: str) -> None:
        self.args = args
        opts = pulumi.ResourceOptions(parent=parent, provider=args.provider)
        self.role = aws.iam.Role(f"{name}-cluster-autoscaler-role",
                                 name=f"{args.cluster_name_literal}-cluster-autoscaler",
                                 assume_role_policy=trust_policy, opts=opts)
        self.policy = aws.iam.RolePolicy(
            f"{name}-cluster-autoscaler-policy", name="scale-this-node-group", role=self.role.name,
            policy=pulumi.Output.from_input(args.account_id).apply(lambda account: autoscaler_policy(
                args.region, account, args.cluster_name_literal, args.nodegroup_name)),
            opts=opts)
        self.association = aws.eks.PodIdentityAssociation(
            f"{name}-cluster-autoscaler-identity", cluster_name=args.cluster_name, namespace=AUTOSCALER_NAMESPACE,
            service_account=AUTOSCALER_SERVICE_ACCOUNT, role_arn=self.role.arn,
            opts=pulumi.ResourceOptions(parent=parent, provider=args.provider,
                                        depends_on=[args.pod_identity_agent, self.policy]))


def cluster_autoscaler(name: str, identity: ClusterAutoscalerIdentity, image: pulumi.Input[str],
                       k8s_opts: Callable[..., pulumi.ResourceOptions], node_group: pulumi.Resource) -> Deployment:
    """The autoscaler's service account, RBAC and Deployment in kube-system (one replica: it elects a leader)."""
    args = identity.args
    labels = {"app.kubernetes.io/name": "cluster-autoscaler"}
    meta = {"name": "cluster-autoscaler", "labels": labels}
    account = ServiceAccount(f"{name}-cluster-autoscaler-sa", metadata=ObjectMetaArgs(
        namespace=AUTOSCALER_NAMESPACE, **meta), opts=k8s_opts())
    cluster_role = ClusterRole(f"{name}-cluster-autoscaler-clusterrole", metadata=ObjectMetaArgs(**meta),
                               rules=AUTOSCALER_CLUSTER_RULES, opts=k8s_opts())
    role = Role(f"{name}-cluster-autoscaler-status-role",
                metadata=ObjectMetaArgs(namespace=AUTOSCALER_NAMESPACE, **meta), rules=AUTOSCALER_NAMESPACE_RULES, opts=k8s_opts())
    subject = [SubjectArgs(kind="ServiceAccount", name=AUTOSCALER_SERVICE_ACCOUNT, namespace=AUTOSCALER_NAMESPACE)]
    bindings = [
        ClusterRoleBinding(f"{name}-cluster-autoscaler-clusterrolebinding", metadata=ObjectMetaArgs(**meta),
                           role_ref=RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="ClusterRole",
                                                name="cluster-autoscaler"),
                           subjects=subject, opts=k8s_opts(cluster_role)),
        RoleBinding(f"{name}-cluster-autoscaler-status-rolebinding",
                    metadata=ObjectMetaArgs(namespace=AUTOSCALER_NAMESPACE, **meta),
                    role_ref=RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="Role",
                                         name="cluster-autoscaler"),
                    subjects=subject, opts=k8s_opts(role)),
    ]
    return Deployment(
        f"{name}-cluster-autoscaler", metadata=ObjectMetaArgs(namespace=AUTOSCALER_NAMESPACE, **meta),
        spec=DeploymentSpecArgs(
            replicas=1, selector=LabelSelectorArgs(match_labels=labels),
            template=PodTemplateSpecArgs(
                metadata=ObjectMetaArgs(labels=labels),
                spec=PodSpecArgs(
                    priority_class_name="system-cluster-critical", service_account_name=AUTOSCALER_SERVICE_ACCOUNT,
                    security_context=restricted_pod(run_as_user=NOBODY, fs_group=NOBODY),
                    containers=[ContainerArgs(
                        name="cluster-autoscaler", image=image, security_context=RESTRICTED_CONTAINER,
                        command=autoscaler_command(args.cluster_name_literal, args.nodegroup_name),
                        env=[EnvVarArgs(name="AWS_REGION", value=args.region)],
                        resources=AUTOSCALER_RESOURCES)]))),
        # credentials exist before the pod asks for them: the association and its policy, and the RBAC
        opts=k8s_opts(node_group, account, identity.association, identity.policy, *bindings))
