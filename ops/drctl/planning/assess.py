"""What each posture costs beside the RTO and RPO it buys, computed from the plan, with the arithmetic shown, and
whether that meets the DR matrix (`breaches`: what CI and `drctl assess` gate on).

Every figure is read from the planned resources (instances in the recovery region, health-check interval and
threshold, DNS TTL, replication settings) or is a named, documented assumption an operator can override.

Each RPO term has an expected figure and, where AWS promises one, a guaranteed bound; the gate compares the
guaranteed bound where there is one and the expected figure where there is none (said so in the output):
- S3 Replication Time Control: "replicates 99.99 percent of new objects within 15 minutes", backed by the S3 SLA;
  most objects in seconds (S3 User Guide, "Meeting compliance requirements with S3 Replication Time Control").
  The bound is read from the planned rule (`replicationTime.time.minutes`); without RTC there is no bound.
- Aurora Global Database: "typically under a second" of replication lag, no SLA on lag (Aurora User Guide,
  "Using Amazon Aurora Global Database"). The lag alarm at half the critical RPO is what watches it.
- DynamoDB global tables: "typically within a second", no SLA on lag (DynamoDB Developer Guide, "Global tables:
  how it works"; the ReplicationLatency metric).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ops.core import catalog
from ops.core.posture import Posture
from ops.drctl.planning.costs import HOURS_PER_MONTH, CostLine, Prices, standing_costs
from ops.drctl.planning.mockplan import Plan, plan_stack
from stacks.settings import Settings, Tier, parse


@dataclass(frozen=True)
class Assumptions:
    declare_minutes: float = 10.0  # incident commander confirms a regional outage (seed 004 §4 step 1)
    # With the ARC Region switch plan (components/region_switch.py) the detection alarm starts the plan and the
    # declaration is its approval step. Both figures are named assumptions: ARC documents no latency from an
    # alarm going red to the execution starting, and the approval is a person answering a page. Replace them with
    # a drill's measured figures (the execution's timeline in the ARC console).
    trigger_minutes: float = 1.0
    approval_minutes: float = 5.0
    instance_create_minutes: float = 12.0  # a new Aurora instance in an existing cluster, typical
    promote_minutes: float = 1.0  # FailoverGlobalCluster / SwitchoverGlobalCluster, "about a minute"
    smoke_minutes: float = 2.0  # critical-path synthetic checks (drctl smoke)
    # Expected replication lags (none of them is an SLA; sources in the module docstring). Replace with the
    # measured figures (AuroraGlobalDBReplicationLag, DynamoDB/S3 ReplicationLatency) when you have them.
    aurora_lag_seconds: float = 1.0  # Aurora Global Database: "typically under a second"
    dynamodb_lag_seconds: float = 1.0  # DynamoDB global tables: "typically within a second"
    s3_expected_seconds: float = 15.0  # S3 replication with RTC: "most objects in seconds"; the bound is the plan's
    # S3 replication without RTC: "most objects replicate within 15 minutes, sometimes hours" (S3 User Guide,
    # "Replicating objects"); no SLA.
    s3_without_rtc_expected_minutes: float = 15.0
    instance_hour_usd: float = 0.26  # list price of the configured instance class; override for yours
    node_hour_usd: float = 0.096  # EKS worker node: m6i.large on-demand list price (us-west-2); override for yours
    # Pilot light: B's node group goes 0 → production and the pods start. EC2 launch, AL2023 bootstrap and the node
    # turning Ready take a few minutes (AWS EKS Best Practices, cluster autoscaling: new nodes take minutes), then
    # image pulls and readiness probes about a minute or two. An assumption: replace it with the drill's measured
    # figure (the failover journal times the scale step).
    nodes_and_pods_minutes: float = 6.0
    # The cache (components/cache.py). Promoting a Global Datastore secondary: "typically less than a minute" (AWS),
    # by the ARC plan's step in parallel with Aurora's (only its excess adds), or by the writer change after
    # Aurora's (it adds to the path). A cold replication group (pilot light's
    # failover: B keeps no member) takes about 15 min to create, alongside the writer capacity step. Assumptions:
    # replace them with a drill's measured figures.
    cache_promote_minutes: float = 1.0
    cache_create_minutes: float = 15.0
    # Whether the critical services wait for the cache before they serve. The contract is that they do not: the
    # cache holds nothing Aurora cannot rebuild, so a miss or an unreachable cache reads Aurora (AWS Well-Architected
    # REL05-BP01: graceful degradation turns a hard dependency into a soft one), and pilot light's cold cache starts
    # empty anyway. The cache's steps are then shown, not counted. True: services that cannot serve without it.
    services_wait_for_cache: bool = False
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
class RpoTerm:
    """One replicated store's contribution to its tier's RPO after an unplanned failover."""
    store: str
    tier: str
    expected_minutes: float
    guaranteed_minutes: float | None  # an AWS SLA bound; None: no promise, only the typical figure
    source: str  # where the figures come from

    @property
    def bound_minutes(self) -> float:
        """What the gate compares: the guarantee where AWS gives one, else the expected figure."""
        return self.expected_minutes if self.guaranteed_minutes is None else self.guaranteed_minutes

    @property
    def figures(self) -> str:
        expected = f"expected ~{_duration(self.expected_minutes)}"
        if self.guaranteed_minutes is None:
            return f"{expected}, no guaranteed bound"
        return f"guaranteed ≤ {_duration(self.guaranteed_minutes)}, {expected}"


def _duration(minutes: float) -> str:
    return f"{minutes * 60:g} s" if minutes < 1 else f"{minutes:g} min"


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
    rpo_minutes: dict[str, float] = field(default_factory=dict)  # per tier, worst bound over its data stores
    rpo_expected_minutes: dict[str, float] = field(default_factory=dict)  # per tier, worst expected figure
    rpo_why: dict[str, str] = field(default_factory=dict)
    meets: dict[str, bool] = field(default_factory=dict)
    failover: bool = False  # assessed from the failed-over state: recovering back into A
    recovery_region: str = ""
    rpo_terms: list[RpoTerm] = field(default_factory=list)
    objectives: dict[str, dict[str, float]] = field(default_factory=dict)  # tier -> rto_minutes, rpo_minutes
    tier_mismatches: list[str] = field(default_factory=list)  # stores whose tier differs between the stacks
    breaches: list[str] = field(default_factory=list)  # one line per broken objective, naming store or step

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


def _instances_in(plan: Plan, region: str) -> int:
    return sum(1 for r in plan.by_type("aws:rds/clusterInstance:ClusterInstance") if r.region == region)


def _nodes_in(plan: Plan, region: str) -> int:
    """The posture's floor: what B always runs (the desired size may also hold what the autoscaler added)."""
    return sum(int(g.inputs["scalingConfig"]["minSize"]) for g in plan.by_type("aws:eks/nodeGroup:NodeGroup")
               if g.region == region)


def _detect_minutes(plan: Plan) -> tuple[float, str]:
    checks = plan.by_type("aws:route53/healthCheck:HealthCheck")
    worst = max((c.inputs.get("requestInterval", 30) * c.inputs.get("failureThreshold", 3) for c in checks),
                default=0)
    return worst / 60, f"health check every {checks[0].inputs.get('requestInterval')} s × " \
                       f"{checks[0].inputs.get('failureThreshold')} failures" if checks else "no health check"


@dataclass(frozen=True)
class DeclaredRecovery:
    """What the ARC plan in the dr stack does toward the recovery region, as planned."""
    alarm: str
    detect_minutes: float
    detect_why: str
    alongside_approval: list[str]  # steps run in parallel with the approval: the promotion waits for the longest
    has_approval: bool
    beside_aurora: list[str] = field(default_factory=list)  # steps run in parallel with Aurora's promotion


def _flat_steps(steps: list[dict]) -> list[str]:
    names: list[str] = []
    for step in steps:
        names.append(step["name"])
        for parallel in step.get("parallelConfigs") or []:
            names.extend(_flat_steps(parallel.get("steps") or []))
    return names


def _declared_recovery(dr_plan: Plan, recovery_region: str) -> DeclaredRecovery | None:
    """The plan's triggered workflow into `recovery_region`, with the detection figures of its trigger alarm read
    from the planned MetricAlarm; None when no trigger starts one (then a person declares, as before)."""
    for plan in dr_plan.by_type("aws:arcregionswitch/plan:Plan"):
        triggers = [t for t in plan.inputs.get("triggers") or [] if t.get("targetRegion") == recovery_region]
        workflows = [w for w in plan.inputs.get("workflows") or [] if w.get("workflowTargetRegion") == recovery_region]
        if not triggers or not workflows:
            continue
        alarms = {a["mapBlockKey"]: a["resourceIdentifier"] for a in plan.inputs.get("associatedAlarms") or []}
        condition = triggers[0]["conditions"][0]["associatedAlarmName"]
        alarm_name = str(alarms[condition]).rsplit(":alarm:", 1)[-1]
        (alarm,) = [r for r in dr_plan.by_type("aws:cloudwatch/metricAlarm:MetricAlarm")
                    if r.inputs.get("name") == alarm_name]
        period, evaluations = int(alarm.inputs["period"]), int(alarm.inputs["evaluationPeriods"])
        steps = workflows[0]["steps"]
        # the approval alone, or in a Parallel step with what the writer role waits for
        group = next(([s] for s in steps if s["executionBlockType"] == "ManualApproval"), None) or next(
            (inner for s in steps for inner in [(s.get("parallelConfigs") or [{}])[0].get("steps") or []]
             if any(i["executionBlockType"] == "ManualApproval" for i in inner)), [])
        promotion = next((inner for s in steps for inner in [(s.get("parallelConfigs") or [{}])[0].get("steps") or []]
                          if any(i["executionBlockType"] == "AuroraGlobalDatabase" for i in inner)), [])
        return DeclaredRecovery(alarm_name, period * evaluations / 60,
                                f"plan {plan.inputs['name']}: trigger on alarm {alarm_name}, period {period} s × "
                                f"{evaluations} evaluation periods ({alarm.inputs.get('datapointsToAlarm')} "
                                "datapoints to alarm)", _flat_steps(group), bool(group),
                                [i["name"] for i in promotion if i["executionBlockType"] != "AuroraGlobalDatabase"])
    return None


def _declared_steps(declared: DeclaredRecovery, side: str, production: int, standby_instances: int,
                    standby_nodes: int, assumptions: Assumptions) -> list[Step]:
    """Detection by the alarm, the plan starting, then what runs in parallel with the approval (B's writer, and its
    compute where B has none): the promotion waits for the longest, so the approval counts only beyond it."""
    creates_writer = "writer-capacity" in declared.alongside_approval
    capacity = assumptions.instance_create_minutes if creates_writer else 0.0
    steps = [Step("detect (alarm)", round(declared.detect_minutes, 2), declared.detect_why),
             Step("plan starts", assumptions.trigger_minutes,
                  "named assumption: ARC documents no latency from the alarm going red to the execution starting"),
             Step(f"writer capacity in {side}", capacity,
                  f"plan step writer-capacity: create {production} instances in parallel (Aurora: a new instance "
                  f"~{assumptions.instance_create_minutes:g} min, typical), alongside the approval" if creates_writer else
                  f"{side} already has an instance to promote ({standby_instances})")]
    prepared = capacity
    if {"node-capacity", "deployments"} & set(declared.alongside_approval):  # B has no compute: the writer waits
        nodes = _nodes_step(standby_nodes, capacity, assumptions, side)
        steps += nodes
        prepared = max(prepared, assumptions.nodes_and_pods_minutes)
    approval = max(0.0, assumptions.approval_minutes - prepared) if declared.has_approval else 0.0
    steps.append(Step("approval", round(approval, 2),
                      f"named assumption: the on-call approves ~{assumptions.approval_minutes:g} min after the page "
                      f"(plan step approve-failover), alongside the {prepared:g} min preparation: adds {approval:g}"))
    return steps


def _dns_minutes(plan: Plan) -> tuple[float, str]:
    # Only the records a failover moves (failover or weighted routing carry a set identifier): the DKIM and MAIL
    # FROM records never change, and their long TTL is no client's wait.
    ttl = max((r.inputs.get("ttl", 0) for r in plan.by_type("aws:route53/record:Record")
               if r.inputs.get("setIdentifier")), default=0)
    return ttl / 60, f"clients re-resolve after the record TTL ({ttl} s)"


def _nodes_step(nodes: int, writer_capacity_minutes: float, assumptions: Assumptions, side: str) -> list[Step]:
    """The recovery region's nodes and pods, when it has none. The same `pulumi up` (or `drctl failover`) starts
    the node group's scale-up alongside the Aurora instances, so only what it takes beyond the writer capacity
    step counts."""
    if nodes > 0:
        return []
    extra = max(0.0, assumptions.nodes_and_pods_minutes - writer_capacity_minutes)
    return [Step(f"nodes and pods in {side}", round(extra, 2),
                 f"node group 0 → production + pod start ~{assumptions.nodes_and_pods_minutes:g} min, alongside the "
                 f"{writer_capacity_minutes:g} min writer capacity step: adds {extra:g}")]


def _until_promotion(before_promotion: list[Step]) -> float:
    """Minutes from the plan's start (or the person's declaration) to Aurora's promotion: the steps after them."""
    skipped = 2  # detect and plan starts, or detect and declare
    return sum(step.minutes for step in before_promotion[skipped:])


CACHE_STEP_PREFIX = "elasticache-global-"  # the plan's cache step (components/region_switch.py store_step_name)


def _cache_steps(dr_plan: Plan, recovery_plan: Plan, recovery: str, preparation_minutes: float,
                 assumptions: Assumptions, side: str, declared: DeclaredRecovery | None = None) -> list[Step]:
    """The cache in the recovery region: its Global Datastore member promoted by the ARC plan's step beside
    Aurora's (a declared failover: only what it takes beyond Aurora's promotion counts) or by the writer change
    after Aurora's, or (no member there: pilot light) a cold group that `pulumi up` with failover: true creates,
    of which only what it takes beyond Aurora's promotion counts. `preparation_minutes`: from the plan's start (or
    the declaration) to Aurora's promotion."""
    planned = [name for name in (declared.beside_aurora if declared else []) if name.startswith(CACHE_STEP_PREFIX)]
    if planned:
        extra = max(0.0, assumptions.cache_promote_minutes - assumptions.promote_minutes)
        return [_cache_step("promote cache", extra,
                            f"plan step {planned[0]}: FailoverGlobalReplicationGroup "
                            f"(ops.actions.elasticache.promote_cache) in parallel with Aurora's promotion, typically "
                            f"under a minute (~{assumptions.cache_promote_minutes:g} vs "
                            f"{assumptions.promote_minutes:g} min), {extra:g} beyond it; a graceful execution runs it "
                            "(ARC skips Lambda steps when ungraceful)", assumptions)]
    writers = dr_plan.by_type("pulumi-python:dynamic/aurora:WriterRegion")
    if writers and writers[0].inputs.get("cacheGlobalGroupId"):
        return [_cache_step("promote cache", assumptions.cache_promote_minutes,
                            "FailoverGlobalReplicationGroup after Aurora's role change, typically under a minute",
                            assumptions)]
    groups = [g for g in recovery_plan.by_type("aws:elasticache/replicationGroup:ReplicationGroup")
              if g.region == recovery]
    if groups:
        return []  # the recovery region's group is already the Global Datastore primary (A, after a cold failover)
    # That `pulumi up` also promotes Aurora (the writer change), so under an ARC plan it runs once the failover is
    # approved, not before; a person who declares runs it at once.
    starts = assumptions.approval_minutes if declared is not None and declared.has_approval else 0.0
    promoted = preparation_minutes + assumptions.promote_minutes
    extra = max(0.0, starts + assumptions.cache_create_minutes - promoted)
    when = (f"which starts once the failover is approved (~{starts:g} min into the plan; it also promotes Aurora, "
            "so not before)" if starts else "run at the declaration")
    return [_cache_step(f"cold cache in {side}", extra,
                        f"a new replication group ~{assumptions.cache_create_minutes:g} min from `pulumi up` with "
                        f"failover: true, {when}: ready {starts + assumptions.cache_create_minutes:g} min into the "
                        f"plan, {extra:g} after Aurora's promotion (at {promoted:g}); it starts empty", assumptions)]


def _cache_step(name: str, beyond_promotion: float, why: str, assumptions: Assumptions) -> Step:
    """A cache step counts only where the services wait for the cache (`services_wait_for_cache`); otherwise B
    serves from Aurora meanwhile, and the step shows when the cache is back."""
    if assumptions.services_wait_for_cache:
        return Step(name, round(beyond_promotion, 2), f"{why}: adds {beyond_promotion:g} (the services wait for "
                                                      "the cache: --services-wait-for-cache)")
    return Step(name, 0.0, f"{why}: not waited for, B serves meanwhile (the cache is soft: a miss or an unreachable "
                           "cache reads Aurora; --services-wait-for-cache counts it)")


def _search_steps(recovery_plan: Plan, assumptions: Assumptions, side: str) -> list[Step]:
    """Search (a standard-tier service) answers from the recovery region once it has an index: at once where a
    search feed there keeps one (stale by at most its schedule), else after RB-N-04 has rebuilt every configured
    collection."""
    feeds = recovery_plan.by_type("kubernetes:batch/v1:CronJob")
    if feeds:
        schedule = feeds[0].inputs["spec"]["schedule"]
        return [Step(f"search index in {side}", 0.0,
                     f"kept by {side}'s search feed ({schedule}, UTC): answers at once, missing at most what the "
                     "writer region indexed since the last run")]
    documents = sum(catalog.load_spec(name).catalog_documents for name in catalog.collections())
    if not documents:
        return []
    minutes = documents / assumptions.reindex_docs_per_second / 60
    return [Step(f"search index in {side}", round(minutes, 2),
                 f"RB-N-04: {documents:,} catalog documents at {assumptions.reindex_docs_per_second:,.0f} docs/s "
                 "(ops/dr/typesense/reindex.json), after the smoke checks")]


def _rpo_terms(settings: Settings, writer_region: str, plans: list[Plan],
               assumptions: Assumptions) -> list[RpoTerm]:
    """What an unplanned failover out of `writer_region` can lose: every store replicating out of it."""
    from ops.core.naming import bucket_name

    resources = [r for plan in plans for r in plan.resources]
    terms: list[RpoTerm] = []
    if any(r.type == "aws:rds/globalCluster:GlobalCluster" for r in resources):
        for tier in Tier:  # the relational core is shared by both tiers
            terms.append(RpoTerm(f"Aurora global cluster {settings.aurora.global_cluster_id}", tier.value,
                                 assumptions.aurora_lag_seconds / 60, None,
                                 "Aurora Global Database lag, typically under a second; no SLA on lag"))
    for table in (r for r in resources if r.type == "aws:dynamodb/table:Table" and r.inputs.get("replicas")):
        terms.append(RpoTerm(f"DynamoDB {table.inputs['name']}", table.inputs["tags"]["tier"],
                             assumptions.dynamodb_lag_seconds / 60, None,
                             "DynamoDB global tables replicate typically within a second; no SLA on lag"))
    tiers = {bucket_name(spec.name, writer_region): spec.tier.value for spec in settings.buckets}
    for config in (r for r in resources if r.type == "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
                   and r.region == writer_region):
        source = config.inputs["bucket"]
        rtc = [rule.get("destination", {}).get("replicationTime", {}) for rule in config.inputs.get("rules", [])]
        # A guarantee only when every rule has RTC: objects under a rule without it have no time bound.
        every_rule = bool(rtc) and all(t.get("status") == "Enabled" for t in rtc)
        guaranteed = max(float(t["time"]["minutes"]) for t in rtc) if every_rule else None
        terms.append(RpoTerm(f"S3 {source}", tiers.get(source, Tier.CRITICAL.value),
                             assumptions.s3_expected_seconds / 60 if every_rule
                             else assumptions.s3_without_rtc_expected_minutes, guaranteed,
                             "S3 Replication Time Control: 99.99% of objects within the rule's minutes (SLA), "
                             "most in seconds" if every_rule else
                             "S3 replication without RTC on every rule: most objects within 15 min, some hours; "
                             "no time bound"))
    return terms


def _tier_mismatches(settings: Settings, primary_plan: Plan) -> list[str]:
    """A store's tier as this stack declares it against the tier the primary stack planned (its tags and lag
    alarms follow that one): the assessment would judge a store by a tier its alarms do not watch."""
    planned = {r.inputs.get("bucket"): r.inputs.get("tags", {}).get("tier")
               for r in primary_plan.by_type("aws:s3/bucket:Bucket")}
    planned |= {r.inputs.get("name"): r.inputs.get("tags", {}).get("tier")
                for r in primary_plan.by_type("aws:dynamodb/table:Table")}
    from ops.core.naming import bucket_name

    declared = {bucket_name(spec.name, settings.primary_region): spec.tier.value for spec in settings.buckets}
    declared |= {spec.name: spec.tier.value for spec in settings.tables}
    return [f"{store}: tier {tier} here but {planned[store]} in the primary stack's plan: declare the same tier in "
            "both stack files" for store, tier in declared.items() if planned.get(store) not in (None, tier)]


def _breaches(result: PostureAssessment, stack: str, settings: Settings) -> list[str]:
    where = f"[stack {stack}, posture {result.posture}, failover {str(result.failover).lower()}]"
    found = [f"{line} {where}" for line in result.tier_mismatches]
    for tier in Tier:
        objective = settings.objectives.for_tier(tier)
        rto = result.rto_minutes_by_tier[tier.value]
        if rto > objective.rto_minutes:
            steps = [*result.rto_steps, *(result.standard_rto_steps if tier is Tier.STANDARD else [])]
            largest = max(steps, key=lambda s: s.minutes)
            found.append(f"{tier} tier RTO {rto:g} min > objective {objective.rto_minutes:g} min "
                         f"(largest step: {largest.name} {largest.minutes:g} min; "
                         f"{' + '.join(f'{s.minutes:g} {s.name}' for s in steps)}) {where}")
        for term in (t for t in result.rpo_terms if t.tier == tier.value):
            if term.bound_minutes > objective.rpo_minutes:
                basis = "guaranteed bound" if term.guaranteed_minutes is not None else "expected figure (no SLA)"
                found.append(f"{tier} tier RPO: {term.store} {basis} {_duration(term.bound_minutes)} > objective "
                             f"{objective.rpo_minutes:g} min ({term.figures}) {where}")
    return found


def assess_posture(posture: str, settings: Settings, dr_plan: Plan, primary_plan: Plan,
                   assumptions: Assumptions, stack: str = "dr") -> PostureAssessment:
    """`dr_plan` is the dr stack in that posture; its `writerRegion` says which way a disaster fails over (into B
    normally, back into A when the plan is already failed over)."""
    a, b = settings.primary_region, settings.dr_region
    writer = dr_plan.outputs.get("writerRegion", a)
    recovery = b if writer == a else a
    side = "B" if recovery == b else "A"
    recovery_plan = dr_plan if recovery == b else primary_plan
    production = settings.aurora.instances
    instances_b, nodes_b = _instances_in(dr_plan, b), _nodes_in(dr_plan, b)
    standby_instances, standby_nodes = _instances_in(recovery_plan, recovery), _nodes_in(recovery_plan, recovery)
    aurora_usd = round(instances_b * HOURS_PER_MONTH * assumptions.instance_hour_usd, 2)
    nodes_usd = round(nodes_b * HOURS_PER_MONTH * assumptions.node_hour_usd, 2)
    result = PostureAssessment(posture=posture, instances_b=instances_b,
                               instance_hours_month=instances_b * HOURS_PER_MONTH,
                               compute_usd_month=round(aurora_usd + nodes_usd, 2), aurora_usd_month=aurora_usd,
                               nodes_b=nodes_b, node_hours_month=nodes_b * HOURS_PER_MONTH, nodes_usd_month=nodes_usd,
                               failover=writer != a, recovery_region=recovery)
    result.standing = standing_costs(settings.dr_region, dr_plan.resources, primary_plan.resources,
                                     assumptions.prices)
    result.standing_usd_month = round(sum(line.usd_month for line in result.standing), 2)
    detect, detect_why = _detect_minutes(dr_plan)
    dns, dns_why = _dns_minutes(dr_plan)
    capacity = 0.0 if standby_instances > 0 else assumptions.instance_create_minutes
    declared = _declared_recovery(dr_plan, recovery)
    before_promotion = _declared_steps(declared, side, production, standby_instances, standby_nodes, assumptions) \
        if declared else [
        Step("detect", round(detect, 2), detect_why),
        Step("declare", assumptions.declare_minutes, "incident commander confirms the regional outage (no plan "
             f"trigger into {side}: a person declares)"),
        Step(f"writer capacity in {side}", capacity,
             f"{side} already has an instance to promote" if standby_instances else
             f"headless secondary: create {production} instances in parallel"),
        *_nodes_step(standby_nodes, capacity, assumptions, side)]
    result.rto_steps = [
        *before_promotion,
        Step("promote Aurora", assumptions.promote_minutes, "FailoverGlobalCluster, about a minute"),
        *_cache_steps(dr_plan, recovery_plan, recovery, _until_promotion(before_promotion), assumptions, side,
                      declared),
        Step("DNS", round(dns, 2), dns_why),
        Step("smoke checks", assumptions.smoke_minutes, "critical paths answer from " + side),
    ]
    result.standard_rto_steps = _search_steps(recovery_plan, assumptions, side)
    # RPO for an unplanned failover: the worst bound among each tier's data stores (guaranteed where AWS gives
    # a bound, else expected); the expected figures beside it.
    result.rpo_terms = _rpo_terms(settings, writer, [primary_plan, dr_plan], assumptions)
    for tier in Tier:
        terms = [t for t in result.rpo_terms if t.tier == tier.value]
        worst = max(terms, key=lambda t: t.bound_minutes, default=None)
        result.rpo_minutes[tier.value] = round(worst.bound_minutes, 3) if worst else 0.0
        result.rpo_expected_minutes[tier.value] = round(max((t.expected_minutes for t in terms), default=0.0), 3)
        result.rpo_why[tier.value] = f"{worst.store}: {worst.figures}" if worst else "no replicated data"
        objective = settings.objectives.for_tier(tier)
        result.objectives[tier.value] = {"rto_minutes": objective.rto_minutes, "rpo_minutes": objective.rpo_minutes}
    result.tier_mismatches = _tier_mismatches(settings, primary_plan)
    result.breaches = _breaches(result, stack, settings)
    for tier in Tier:
        result.meets[tier.value] = not any(line.startswith(f"{tier} tier ") for line in result.breaches)
    return result


def assess(stack: str = "dr", overrides: list[str] | None = None, assumptions: Assumptions | None = None,
           failover: bool = False) -> tuple[Settings, list[PostureAssessment]]:
    """Every posture of `stack`, from its steady state (`failover=False`: a disaster fails over into B) or its
    failed-over state (`failover=True`: a disaster in B fails back into A)."""
    from stacks.config_files import stack_values

    assumptions = assumptions or Assumptions()
    settings = parse(stack_values(stack, overrides))
    primary_plan = plan_stack(settings.primary_stack.rsplit("/", 1)[-1])
    rows = [assess_posture(p.value, settings,
                           plan_stack(stack, [*(overrides or []), f"posture={p.value}",
                                              f"failover={str(failover).lower()}"]),
                           primary_plan, assumptions, stack)
            for p in Posture]
    return settings, rows


def shipped_dr_stacks() -> list[str]:
    """Every dr-role stack the project ships (stacks/config_files.py `shipped_stacks`): what CI assesses."""
    from stacks.config_files import load_stack_settings, shipped_stacks
    from stacks.settings import Role

    return [name for name in shipped_stacks() if load_stack_settings(name).role is Role.DR]


def matrix_breaches(stacks: list[str] | None = None, overrides: list[str] | None = None,
                    assumptions: Assumptions | None = None) -> list[str]:
    """Every broken objective over each stack × posture × failover state: empty when the matrix is met."""
    return [line for stack in (stacks or shipped_dr_stacks()) for failover in (False, True)
            for row in assess(stack, overrides, assumptions, failover)[1] for line in row.breaches]
