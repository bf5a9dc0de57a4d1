"""The FIS drill templates each stack declares (components/drill_faults.py).

Q2 (region failover A→B) in the primary stack: FIS cannot take a region down, but it can take region A's first AZ
away the way an AZ outage does, in one experiment: the AZ's subnet cut off (`aws:network:disrupt-connectivity`,
scope all), the Aurora writer failed over to a reader (`aws:rds:failover-db-cluster`, when A has one) and a third
of A's nodes terminated (`aws:eks:terminate-nodegroup-instances`, one AZ's share). A should absorb it; the stop
conditions are A's replication alarms (a drill must not cost the RPO), FIS stopping the experiment and putting the
network back when one fires.

Q3 (B's Typesense lost) in the dr stack, wherever the posture table runs Typesense in B: every Typesense pod in B
deleted at once, no grace period (`aws:eks:pod-delete` on the pods labelled as Typesense's, selection ALL), the way
the sandbox's Q3 kills the server. FIS's pod runs in the workloads' namespace under a service account the drill
is given there (PodFaultAccess); the namespace enforces the restricted Pod Security Standard, so FIS's pod is asked
for the same (`fisPodSecurityPolicy`). The StatefulSet brings the pods back on their retained volumes; what FIS
cannot do is delete the index itself (that half of the sandbox drill, and RB-N-04's rebuild, stays there). Its stop
condition is B's canary alarm, the detection alarm of region A's loss: the moment A is lost B's search is needed,
so a drill holding it down must end, and one must not start (the toolkit refuses while it is in ALARM). B has no
alarm on its own search yet; the canary is the alarm in B that says B must serve.

Not injectable by FIS, so sandbox-only (docs/drills.md): Q1 (a bad DELETE, then PITR) and Q4 (a mass delete of
objects) are data faults.
"""
from __future__ import annotations

import pulumi

from components.compute import Compute
from components.drill_faults import (
    DrillExperiment,
    DrillExperimentArgs,
    FaultAction,
    FaultTarget,
    PodFaultAccess,
)
from components.network import AZ_COUNT, Network
from components.workloads import TYPESENSE_SELECTOR
from ops.core import naming
from ops.core.environments import Names

AZ_OUTAGE_MINUTES = 10
# The namespace enforces `restricted` (components/compute.py): FIS's pod must meet it to be admitted.
FIS_POD_SECURITY_POLICY = "restricted"


def q2_az_outage(region: str, provider, account: pulumi.Input[str], network: Network, cluster: Compute,
                 aurora_cluster_arn: pulumi.Input[str], aurora_instances: int,
                 stop_alarm_arns: list[pulumi.Input[str]], names: Names) -> DrillExperiment:
    az_subnets = FaultTarget("az-subnets", "aws:ec2:subnet", [network.subnet_arns[0]])
    actions = [FaultAction(
        "az-network-down", "aws:network:disrupt-connectivity", "Subnets", az_subnets,
        f"the first AZ's subnet loses all traffic for {AZ_OUTAGE_MINUTES} min",
        parameters={"duration": f"PT{AZ_OUTAGE_MINUTES}M", "scope": "all"}, context={"vpc_arn": network.vpc_arn})]
    if aurora_instances > 1:  # the writer can only move to a reader: there must be one
        actions.append(FaultAction(
            "aurora-writer-fails-over", "aws:rds:failover-db-cluster", "Clusters",
            FaultTarget("aurora-cluster", "aws:rds:cluster", [aurora_cluster_arn]),
            "the Aurora writer in region A fails over to a reader"))
    actions.append(FaultAction(
        "eks-nodes-lost", "aws:eks:terminate-nodegroup-instances", "Nodegroups",
        FaultTarget("eks-nodegroup", "aws:eks:nodegroup", [cluster.nodegroup_arn]),
        "one AZ's share of region A's nodes is terminated",
        parameters={"instanceTerminationPercentage": str(round(100 / AZ_COUNT))},
        context={"cluster_name": cluster.cluster_name, "nodegroup_name": cluster.nodegroup_name}))
    return DrillExperiment("drill-q2", DrillExperimentArgs(
        scenario="Q2", region=region, actions=actions, stop_alarm_arns=stop_alarm_arns, account_id=account,
        provider=provider, names=names,
        description="Q2 drill: one AZ of region A lost (network, Aurora writer, nodes); stops on A's replication "
                    "alarms"))


def q3_search_lost(region: str, provider, account: pulumi.Input[str], cluster: Compute,
                   stop_alarm_arns: list[pulumi.Input[str]], names: Names) -> DrillExperiment:
    service_account = naming.fis_kubernetes_user("Q3")
    pods = FaultTarget("typesense-pods", "aws:eks:pod", selection_mode="ALL", parameters={
        "clusterIdentifier": cluster.cluster_name, "namespace": cluster.namespace_name,
        "selectorType": "labelSelector",
        "selectorValue": ",".join(f"{k}={v}" for k, v in sorted(TYPESENSE_SELECTOR.items()))})
    action = FaultAction(
        "typesense-pods-deleted", "aws:eks:pod-delete", "Pods", pods,
        "every Typesense pod in region B is deleted at once, with no grace period",
        parameters={"kubernetesServiceAccount": service_account, "gracePeriodSeconds": "0",
                    "fisPodSecurityPolicy": FIS_POD_SECURITY_POLICY},
        context={"cluster_arn": cluster.cluster_arn})
    return DrillExperiment("drill-q3", DrillExperimentArgs(
        scenario="Q3", region=region, actions=[action], stop_alarm_arns=stop_alarm_arns, account_id=account,
        provider=provider, names=names,
        pod_access=PodFaultAccess(cluster_name=cluster.cluster_name, namespace=cluster.namespace_name,
                                  kubernetes_provider=cluster.kubernetes_provider, service_account=service_account,
                                  after=[cluster.namespace]),
        stops_on="B's canary alarm (region A lost: B's search is needed)",
        description="Q3 drill: region B's Typesense lost (every pod deleted); stops on B's canary alarm"))


def export_drill_templates(experiments: dict[str, DrillExperiment]) -> None:
    """For people; the toolkit finds templates by their `dr-platform:drill` tag."""
    pulumi.export("drillTemplates", {scenario: e.template_id for scenario, e in experiments.items()})
