"""What region B bills every month whatever the traffic, counted from the planned resources.

A pilot light is not free: B keeps an EKS control plane, keys, health checks, alarms and a secret replica in every
posture, plus the tunnel to its private API (a t4g.nano jump host and Session Manager's three endpoints in one AZ,
components/access.py); warmer postures add the nodes' VPC endpoints and Typesense volumes. Each line is a
planned quantity times a list price (on-demand, us-east-1/us-west-2, the same in both) kept in `Prices`, so a
different price is one override away. Aurora instance-hours and EKS node-hours are priced in `assess`.

Costs that scale with data, not with the plan, are named in NOT_COUNTED instead of guessed: they need the
operator's volumes, and every posture pays them alike. So are the drills' FIS experiments: billed per action-minute
while one runs (and in region A), nothing standing.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ops.drctl.planning.mockplan import PlannedResource

HOURS_PER_MONTH = 730

NOT_COUNTED = ("Aurora storage and I/O, S3 replica storage and replication transfer, DynamoDB replicated writes, "
               "backup and ECR replica storage, data transfer between regions, CloudFront requests and transfer "
               "(usage only: no standing charge; its ACM certificate is free), FIS action-minutes while a drill runs")


@dataclass(frozen=True)
class Prices:
    eks_cluster_hour: float = 0.10              # EKS control plane, standard support
    interface_endpoint_az_hour: float = 0.01    # one VPC interface endpoint in one AZ (gateway endpoints: free)
    kms_key_month: float = 1.00                 # customer managed key; a multi-Region replica is a key too
    health_check_month: float = 0.50            # Route53 health check of an AWS endpoint
    health_check_feature_month: float = 1.00    # each of HTTPS, string matching, fast interval, latency
    alarm_month: float = 0.10                   # CloudWatch metric alarm, standard resolution (period ≥ 60 s)
    high_resolution_alarm_month: float = 0.30
    secret_month: float = 0.40                  # Secrets Manager secret; a replica is billed as a secret
    canary_run: float = 0.0012                  # CloudWatch Synthetics, per canary run
    gp3_gb_month: float = 0.08                  # EBS gp3 storage (baseline IOPS/throughput included)
    # AWS Resilience Hub, per application per month (https://aws.amazon.com/resilience-hub/pricing/), billed in
    # the app's region (components/resilience_hub.py: one app per tier, in B). Its resiliency policies are free.
    resilience_hub_app_month: float = 15.00
    # EC2 on-demand Linux, per instance type the plan declares (the API jump host)
    instance_hour: tuple[tuple[str, float], ...] = (("t4g.nano", 0.0042),)  # pairs: the prices stay hashable

    def of_instance(self, instance_type: str) -> float:
        prices = dict(self.instance_hour)
        if instance_type not in prices:
            raise ValueError(f"no price for EC2 instance type {instance_type!r}: add it to Prices.instance_hour")
        return prices[instance_type]


def _root_gib(instance: PlannedResource) -> float:
    return float((instance.inputs.get("rootBlockDevice") or {}).get("volumeSize") or 8)  # 8: AL2023's AMI size


@dataclass(frozen=True)
class CostLine:
    item: str
    quantity: float
    unit: str
    usd_month: float


def _health_check_features(check: PlannedResource) -> int:
    inputs = check.inputs
    kind = str(inputs.get("type", ""))
    return sum((kind.startswith("HTTPS"), kind.endswith("STR_MATCH"), inputs.get("requestInterval", 30) == 10,
                bool(inputs.get("measureLatency"))))


def _gib(quantity: str) -> float:
    """A Kubernetes storage quantity (`20Gi`, `500Mi`, `1Ti`, `100G`) in GiB."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|K|M|G|T)?", quantity.strip())
    if not match:
        raise ValueError(f"storage request {quantity!r}: not a Kubernetes quantity")
    factor = {"Ki": 2**-20, "Mi": 2**-10, "Gi": 1, "Ti": 2**10, "K": 1e3 / 2**30, "M": 1e6 / 2**30,
              "G": 1e9 / 2**30, "T": 1e12 / 2**30, None: 1 / 2**30}[match.group(2)]
    return float(match.group(1)) * factor


def _claimed_gib(statefulset: PlannedResource) -> float:
    spec = statefulset.inputs.get("spec", {})
    per_replica = sum(_gib(t["spec"]["resources"]["requests"]["storage"])
                      for t in spec.get("volumeClaimTemplates", []))
    return per_replica * int(spec.get("replicas", 1))


@dataclass(frozen=True)
class _Item:
    item: str
    unit: str
    types: tuple[str, ...]
    quantity: Callable[[PlannedResource, str], float]          # (resource, region) -> units billed there
    usd_per_unit_month: Callable[[Prices, PlannedResource], float]
    anywhere: bool = False  # the resource may live in another region and still bill this one (replicas)


def _one(resource: PlannedResource, region: str) -> float:
    return 1


def _canary_runs(resource: PlannedResource, region: str) -> float:
    """Runs a month of a canary scheduled `rate(N minutes)` (a cron schedule is not priced: none is planned)."""
    match = re.fullmatch(r"rate\((\d+) minutes?\)", str((resource.inputs.get("schedule") or {}).get("expression")))
    if not match:
        raise ValueError(f"no run count for canary schedule {resource.inputs.get('schedule')!r}")
    return HOURS_PER_MONTH * 60 / int(match[1])


def _replicas_in(resource: PlannedResource, region: str) -> float:
    return sum(1 for replica in resource.inputs.get("replicas", []) if replica.get("region") == region)


def _resilience_hub_apps(resource: PlannedResource, region: str) -> float:
    """Cloud Control resources are priced by what they are: only `AWS::ResilienceHub::App` here."""
    return 1 if resource.inputs.get("typeName") == "AWS::ResilienceHub::App" else 0


def _interface_azs(resource: PlannedResource, region: str) -> float:
    return len(resource.inputs.get("subnetIds", [])) if resource.inputs.get("vpcEndpointType") == "Interface" else 0


ITEMS = (
    _Item("EKS control plane", "clusters", ("aws:eks/cluster:Cluster",), _one,
          lambda p, _: p.eks_cluster_hour * HOURS_PER_MONTH),
    _Item("VPC interface endpoints", "endpoint-AZs", ("aws:ec2/vpcEndpoint:VpcEndpoint",), _interface_azs,
          lambda p, _: p.interface_endpoint_az_hour * HOURS_PER_MONTH),
    _Item("KMS keys", "keys", ("aws:kms/key:Key", "aws:kms/replicaKey:ReplicaKey"), _one,
          lambda p, _: p.kms_key_month),
    _Item("Route53 health checks", "checks", ("aws:route53/healthCheck:HealthCheck",), _one,
          lambda p, r: p.health_check_month + p.health_check_feature_month * _health_check_features(r)),
    _Item("CloudWatch alarms", "alarms", ("aws:cloudwatch/metricAlarm:MetricAlarm",), _one,
          lambda p, r: p.alarm_month if r.inputs.get("period", 60) >= 60 else p.high_resolution_alarm_month),
    _Item("Synthetics canary runs", "runs", ("aws:synthetics/canary:Canary",), _canary_runs,
          lambda p, _: p.canary_run),
    _Item("Secrets Manager secrets", "secrets", ("aws:secretsmanager/secret:Secret",), _one,
          lambda p, _: p.secret_month),
    _Item("Secrets Manager replicas", "secrets", ("aws:secretsmanager/secret:Secret",), _replicas_in,
          lambda p, _: p.secret_month, anywhere=True),
    _Item("Resilience Hub apps", "apps", ("aws:cloudcontrol/resource:Resource",), _resilience_hub_apps,
          lambda p, _: p.resilience_hub_app_month),
    _Item("Typesense volumes (gp3)", "GiB", ("kubernetes:apps/v1:StatefulSet",),
          lambda r, _: _claimed_gib(r), lambda p, _: p.gp3_gb_month),
    _Item("EC2 instances (API jump host)", "instances", ("aws:ec2/instance:Instance",), _one,
          lambda p, r: p.of_instance(str(r.inputs.get("instanceType"))) * HOURS_PER_MONTH),
    _Item("EC2 root volumes (gp3)", "GiB", ("aws:ec2/instance:Instance",), lambda r, _: _root_gib(r),
          lambda p, _: p.gp3_gb_month),
)


def _in_region(resource: PlannedResource, region: str, whole_stack: bool) -> bool:
    # Kubernetes resources carry no AWS region; they run on the cluster of the stack that plans them.
    return resource.region == region or (whole_stack and resource.region in (None, "global"))


def standing_costs(region: str, region_stack: Iterable[PlannedResource], other_stacks: Iterable[PlannedResource],
                   prices: Prices | None = None) -> list[CostLine]:
    """Monthly standing cost in `region`: everything `region_stack` plans there (its global and Kubernetes
    resources included), plus what other stacks place there (KMS replica keys, replica buckets, ...)."""
    prices = prices or Prices()
    own, other = list(region_stack), list(other_stacks)
    here = [r for r in own if _in_region(r, region, whole_stack=True)] + \
           [r for r in other if _in_region(r, region, whole_stack=False)]
    lines = []
    for item in ITEMS:
        quantity = usd = 0.0
        for resource in (r for r in (own + other if item.anywhere else here) if r.type in item.types):
            units = item.quantity(resource, region)
            quantity += units
            usd += units * item.usd_per_unit_month(prices, resource)
        if quantity:
            lines.append(CostLine(item.item, round(quantity, 2), item.unit, round(usd, 2)))
    return lines
