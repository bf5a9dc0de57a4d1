"""The FIS drill templates each stack declares (components/drill_faults.py).

Q2 (region failover A→B) in the primary stack: FIS cannot take a region down, but it can take region A's first AZ
away the way an AZ outage does, in one experiment: the AZ's subnet cut off (`aws:network:disrupt-connectivity`,
scope all), the Aurora writer failed over to a reader (`aws:rds:failover-db-cluster`, when A has one) and a third
of A's nodes terminated (`aws:eks:terminate-nodegroup-instances`, one AZ's share). A should absorb it; the stop
conditions are A's replication alarms (a drill must not cost the RPO), FIS stopping the experiment and putting the
network back when one fires. B's canary alarm, the detection alarm of a region loss, lives in B: a template stops
on alarms of its own region, so it guards B-side templates (none yet).

Not injectable by FIS, so sandbox-only (docs/drills.md): Q1 (a bad DELETE, then PITR) and Q4 (a mass delete of
objects) are data faults; Q3 (B's Typesense lost) needs `aws:eks:pod-delete`, which runs through a Kubernetes
service account FIS is given in the cluster — not built.
"""
from __future__ import annotations

import pulumi

from components.compute import Compute
from components.drill_faults import (
    DrillExperiment,
    DrillExperimentArgs,
    FaultAction,
    FaultTarget,
)
from components.network import AZ_COUNT, Network
from ops.core.environments import Names

AZ_OUTAGE_MINUTES = 10


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


def export_drill_templates(experiments: dict[str, DrillExperiment]) -> None:
    """For people; the toolkit finds templates by their `dr-platform:drill` tag."""
    pulumi.export("drillTemplates", {scenario: e.template_id for scenario, e in experiments.items()})
