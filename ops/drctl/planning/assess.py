"""What each posture costs beside the RTO and RPO it buys, computed from the plan, with the arithmetic shown.

Every figure is read from the planned resources (instances in B, health-check interval and threshold, DNS TTL,
replication settings) or is a named, documented assumption an operator can override. Published AWS figures
used: Aurora Global Database lag typically < 1 s and a managed failover in about a minute (switchover RPO 0);
DynamoDB global tables replicate typically within a second; S3 Replication Time Control replicates 99.99% of
objects within 15 minutes; Route53 health checks every 10 or 30 s with a failure threshold of 1-10.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ops.core import catalog
from ops.core.posture import Posture
from ops.drctl.planning.costs import HOURS_PER_MONTH, CostLine, Prices, standing_costs
from ops.drctl.planning.mockplan import Plan, plan_stack
from stacks.settings import Settings, parse


@dataclass(frozen=True)
class Assumptions:
    declare_minutes: float = 10.0  # incident commander confirms a regional outage (seed 004 §4 step 1)
    instance_create_minutes: float = 12.0  # a new Aurora instance in an existing cluster, typical
    promote_minutes: float = 1.0  # FailoverGlobalCluster / SwitchoverGlobalCluster, "about a minute"
    smoke_minutes: float = 2.0  # critical-path synthetic checks (drctl smoke)
    aurora_lag_seconds: float = 1.0  # AuroraGlobalDBReplicationLag, typical
    dynamodb_lag_seconds: float = 1.0
    s3_rtc_minutes: float = 15.0  # the RTC SLA bound; typical replication is seconds
    instance_hour_usd: float = 0.26  # list price of the configured instance class; override for yours
    node_hour_usd: float = 0.096  # EKS worker node: m6i.large on-demand list price (us-west-2); override for yours
    # Pilot light: B's node group goes 0 → production and the pods start. EC2 launch, AL2023 bootstrap and the node
    # turning Ready take a few minutes (AWS EKS Best Practices, cluster autoscaling: new nodes take minutes), then
    # image pulls and readiness probes about a minute or two. An assumption: replace it with the drill's measured
    # figure (the failover journal times the scale step).
    nodes_and_pods_minutes: float = 6.0
    prices: Prices = field(default_factory=Prices)  # list prices of what B bills whatever the posture's traffic
    # RB-N-04 in B after a failover (nothing feeds B's search while A writes). The benchmark measured 33-37k docs/s
    # with Typesense and PostgreSQL on the same 2 cores (docs/benchmarks.md); kept well below that until a drill
    # measures production's rate (`drctl reindex` prints docs/s).
    reindex_docs_per_second: float = 5000.0


@dataclass
class Step:
    name: str
    minutes: float
    why: str


@dataclass
class PostureAssessment:
    posture: str
    instances_b: int
    instance_hours_month: int
    compute_usd_month: float  # Aurora instances + EKS nodes in B
    aurora_usd_month: float = 0.0
    nodes_b: int = 0
    node_hours_month: int = 0
    nodes_usd_month: float = 0.0
    standing: list[CostLine] = field(default_factory=list)  # B's other hourly/monthly charges, from the plans
    standing_usd_month: float = 0.0
    rto_steps: list[Step] = field(default_factory=list)  # until the critical paths answer from B
    standard_rto_steps: list[Step] = field(default_factory=list)  # after those, until the standard tier's do too
    rpo_minutes: dict[str, float] = field(default_factory=dict)  # per tier, worst case over its data stores
    rpo_why: dict[str, str] = field(default_factory=dict)
    meets: dict[str, bool] = field(default_factory=dict)

    @property
    def rto_minutes(self) -> float:
        """The critical tier's RTO."""
        return round(sum(s.minutes for s in self.rto_steps), 1)

    @property
    def rto_minutes_by_tier(self) -> dict[str, float]:
        return {"critical": self.rto_minutes,
                "standard": round(self.rto_minutes + sum(s.minutes for s in self.standard_rto_steps), 1)}

    @property
    def usd_month(self) -> float:
        return round(self.compute_usd_month + self.standing_usd_month, 2)


def _instances_in_b(plan: Plan) -> int:
    return len(plan.by_type("aws:rds/clusterInstance:ClusterInstance"))


def _nodes_in_b(plan: Plan) -> int:
    return sum(int(g.inputs["scalingConfig"]["desiredSize"]) for g in plan.by_type("aws:eks/nodeGroup:NodeGroup"))


def _detect_minutes(plan: Plan) -> tuple[float, str]:
    checks = plan.by_type("aws:route53/healthCheck:HealthCheck")
    worst = max((c.inputs.get("requestInterval", 30) * c.inputs.get("failureThreshold", 3) for c in checks),
                default=0)
    return worst / 60, f"health check every {checks[0].inputs.get('requestInterval')} s × " \
                       f"{checks[0].inputs.get('failureThreshold')} failures" if checks else "no health check"


def _dns_minutes(plan: Plan) -> tuple[float, str]:
    ttl = max((r.inputs.get("ttl", 0) for r in plan.by_type("aws:route53/record:Record")), default=0)
    return ttl / 60, f"clients re-resolve after the record TTL ({ttl} s)"


def _nodes_step(nodes_b: int, writer_capacity_minutes: float, assumptions: Assumptions) -> list[Step]:
    """B's nodes and pods, when B has none. The same `pulumi up` (or `drctl failover`) starts the node group's
    scale-up alongside the Aurora instances, so only what it takes beyond the writer capacity step counts."""
    if nodes_b > 0:
        return []
    extra = max(0.0, assumptions.nodes_and_pods_minutes - writer_capacity_minutes)
    return [Step("nodes and pods in B", round(extra, 2),
                 f"node group 0 → production + pod start ~{assumptions.nodes_and_pods_minutes:g} min, alongside the "
                 f"{writer_capacity_minutes:g} min writer capacity step: adds {extra:g}")]


def _search_steps(dr_plan: Plan, assumptions: Assumptions) -> list[Step]:
    """Search (a standard-tier service) answers from B once B has an index: at once where B's search feed keeps
    one (stale by at most its schedule), else after RB-N-04 has rebuilt every configured collection."""
    feeds = dr_plan.by_type("kubernetes:batch/v1:CronJob")
    if feeds:
        schedule = feeds[0].inputs["spec"]["schedule"]
        return [Step("search index in B", 0.0, f"kept by B's search feed ({schedule}, UTC): answers at once, "
                                               "missing at most what A indexed since the last run")]
    documents = sum(catalog.load_spec(name).catalog_documents for name in catalog.collections())
    if not documents:
        return []
    minutes = documents / assumptions.reindex_docs_per_second / 60
    return [Step("search index in B", round(minutes, 2),
                 f"RB-N-04: {documents:,} catalog documents at {assumptions.reindex_docs_per_second:,.0f} docs/s "
                 "(ops/dr/typesense/reindex.json), after the smoke checks")]


def assess_posture(posture: str, settings: Settings, dr_plan: Plan, primary_plan: Plan,
                   assumptions: Assumptions) -> PostureAssessment:
    production = settings.aurora.instances
    instances_b, nodes_b = _instances_in_b(dr_plan), _nodes_in_b(dr_plan)
    aurora_usd = round(instances_b * HOURS_PER_MONTH * assumptions.instance_hour_usd, 2)
    nodes_usd = round(nodes_b * HOURS_PER_MONTH * assumptions.node_hour_usd, 2)
    result = PostureAssessment(posture=posture, instances_b=instances_b,
                               instance_hours_month=instances_b * HOURS_PER_MONTH,
                               compute_usd_month=round(aurora_usd + nodes_usd, 2), aurora_usd_month=aurora_usd,
                               nodes_b=nodes_b, node_hours_month=nodes_b * HOURS_PER_MONTH, nodes_usd_month=nodes_usd)
    result.standing = standing_costs(settings.dr_region, dr_plan.resources, primary_plan.resources,
                                     assumptions.prices)
    result.standing_usd_month = round(sum(line.usd_month for line in result.standing), 2)
    detect, detect_why = _detect_minutes(dr_plan)
    dns, dns_why = _dns_minutes(dr_plan)
    capacity = 0.0 if instances_b > 0 else assumptions.instance_create_minutes
    result.rto_steps = [
        Step("detect", round(detect, 2), detect_why),
        Step("declare", assumptions.declare_minutes, "incident commander confirms the regional outage"),
        Step("writer capacity in B", capacity,
             "B already has an instance to promote" if instances_b else
             f"headless secondary: create {production} instances in parallel"),
        *_nodes_step(nodes_b, capacity, assumptions),
        Step("promote Aurora", assumptions.promote_minutes, "FailoverGlobalCluster, about a minute"),
        Step("DNS", round(dns, 2), dns_why),
        Step("smoke checks", assumptions.smoke_minutes, "critical paths answer from B"),
    ]
    result.standard_rto_steps = _search_steps(dr_plan, assumptions)
    # RPO for an unplanned failover: the worst replication bound among each tier's data stores.
    bounds: dict[str, list[tuple[float, str]]] = {"critical": [], "standard": []}
    if primary_plan.by_type("aws:rds/globalCluster:GlobalCluster"):
        for tier in bounds:  # the relational core is shared by both tiers
            bounds[tier].append((assumptions.aurora_lag_seconds / 60,
                                 f"Aurora global lag ~{assumptions.aurora_lag_seconds:g} s"))
    for table in primary_plan.by_type("aws:dynamodb/table:Table"):
        if table.inputs.get("replicas"):
            bounds[table.inputs["tags"]["tier"]].append(
                (assumptions.dynamodb_lag_seconds / 60, f"DynamoDB {table.inputs['name']} ~"
                                                        f"{assumptions.dynamodb_lag_seconds:g} s"))
    for bucket in primary_plan.by_type("aws:s3/bucket:Bucket"):
        if bucket.region == settings.primary_region:
            bounds[bucket.inputs["tags"]["tier"]].append(
                (assumptions.s3_rtc_minutes, f"S3 {bucket.inputs['bucket']} RTC ≤ {assumptions.s3_rtc_minutes:g} min "
                                             "(99.99%; typically seconds)"))
    for tier, found in bounds.items():
        worst = max(found, default=(0.0, "no replicated data"))
        result.rpo_minutes[tier] = round(worst[0], 3)
        result.rpo_why[tier] = worst[1]
        objective = settings.objectives.for_tier(tier)
        result.meets[tier] = (result.rto_minutes_by_tier[tier] <= objective.rto_minutes
                              and worst[0] <= objective.rpo_minutes)
    return result


def assess(stack: str = "dr", overrides: list[str] | None = None,
           assumptions: Assumptions | None = None) -> tuple[Settings, list[PostureAssessment]]:
    from stacks.config_files import stack_values

    assumptions = assumptions or Assumptions()
    settings = parse(stack_values(stack, overrides))
    primary_plan = plan_stack(settings.primary_stack.rsplit("/", 1)[-1])
    rows = [assess_posture(p.value, settings, plan_stack(stack, [*(overrides or []), f"posture={p.value}",
                                                                 "failover=false"]), primary_plan, assumptions)
            for p in Posture]
    return settings, rows
