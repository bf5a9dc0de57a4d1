"""`drctl verify`: is the live account what the DR plan promises (seed 000's acceptance criterion: "Aurora PITR on,
S3 versioning+CRR, Dynamo Global Tables live")? Read-only: every check is Describe/Get/List/Head.

What is checked comes from the stack settings, named as the Pulumi program names it (`Targets.of`): reading the
stacks' live outputs would need the Pulumi CLI and both stacks' state, and the names are a pure function of the
settings (tests/runbooks_verify keeps this file in step with the offline plan of both stacks). Each check is one
function over boto3 clients and the `ops/actions` functions, and yields one `Check` per resource: PASS or FAIL and
why. An AWS error (AccessDenied, a missing resource) fails that check only; the others still run.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ops.actions import (aurora, backup_points, cloudwatch, dynamodb, eks, elasticache, region_switch, route53,
                         s3_versions, ses)
from ops.core import naming, region_switch_steps
from ops.core.posture import CacheB, Region, capacity, node_group_max_size
from policy.rules import CURRENT_VIEWER_TLS

REPLICATION_RULE_ID = "replicate-everything"  # components/storage.py's rule id
RTC_MINUTES = 15  # S3 Replication Time Control: an object PENDING longer than this has missed it
PITR_FRESH_S = 600  # Aurora's LatestRestorableTime trails now by about 5 minutes; twice that is a stalled backup
DEFAULT_BACKUP_MAX_AGE_HOURS = 24.0
DEFAULT_SCAN_LIMIT = 10_000  # keys listed per bucket to find its newest object
# ARC evaluates a plan when it changes "and then every 30 minutes after that": four missed evaluations
PLAN_EVALUATION_MAX_AGE = timedelta(hours=2)

MakeClient = Callable[[str, str], Any]  # (service, region) → boto3 client


@dataclass(frozen=True)
class Check:
    check: str
    resource: str
    region: str
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'}  {self.check:<22} {self.resource} ({self.region}): {self.detail}"


@dataclass(frozen=True)
class Replication:
    source_bucket: str
    source_region: str
    destination_bucket: str
    destination_region: str


@dataclass(frozen=True)
class NodeGroup:
    cluster: str
    nodegroup: str
    floor: int  # the posture table's count: the group's min
    ceiling: int  # its max (ops.core.posture.node_group_max_size)


@dataclass(frozen=True)
class Targets:
    """Every name and threshold the checks need, derived from the settings."""

    primary_region: str
    dr_region: str
    posture: str
    writer_region: str
    global_cluster_id: str
    clusters: dict[str, str]  # region → cluster id
    retention_days: int
    buckets: dict[str, dict[str, str]]  # bucket setting → {region: bucket name}
    replications: list[Replication]
    tables: list[str]
    vault: str  # region B's copy vault
    backed_up: list[tuple[str, str]]  # (AWS Backup resource type, resource name) the daily plan covers
    alarms: dict[str, list[str]]  # region → alarm names
    endpoints: dict[str, str]  # region → the API endpoint its health check probes
    standby_serves: bool  # whether the standby region runs services the posture expects to answer health checks
    max_lag_s: float
    email_domain: str  # the SES domain identity, in both regions (components/email.py)
    mail_from: dict[str, str]  # region → its MAIL FROM domain
    cache_name: str  # the Global Datastore's suffix (AWS prefixes its id)
    cache_members: dict[str, str]  # region → the replication group that must be a member of the Global Datastore
    cache_primary_region: str  # whose member takes the writes
    cold_caches: dict[str, str]  # region → a standalone cold cache the state runs there (pilot light's failover)
    cdn_name: str | None  # the distribution's comment (components/cdn.py); None: cdn.enabled is false
    node_groups: dict[str, NodeGroup]  # region → its EKS node group and the posture's bounds
    region_switch_plan: str  # the ARC Region switch plan's name (components/region_switch.py), served in B
    plan_trigger_alarm: str | None  # the alarm whose red starts the plan's failover; None once B writes (no trigger)
    # B's Aurora cluster holds no instance until the plan adds them (pilot light, A writing): ARC's evaluation of the
    # Aurora step wants instances in both clusters, so it warns, as expected
    plan_secondary_headless: bool
    backup_max_age_hours: float = DEFAULT_BACKUP_MAX_AGE_HOURS
    scan_limit: int = DEFAULT_SCAN_LIMIT

    @classmethod
    def of(cls, settings: Any, *, max_lag_s: float | None = None,
           backup_max_age_hours: float = DEFAULT_BACKUP_MAX_AGE_HOURS, scan_limit: int = DEFAULT_SCAN_LIMIT,
           vault: str = "backup-b") -> "Targets":
        a, b = settings.primary_region, settings.dr_region
        cap = capacity(settings.posture, settings.failover, settings.aurora.instances, settings.compute.production())
        region_of = {Region.A: a, Region.B: b}
        writer = region_of[cap.writer_region]
        buckets = {spec.name: {a: f"{spec.name}-{a}", b: f"{spec.name}-{b}"} for spec in settings.buckets}
        # stacks/primary.py: A → B always; stacks/dr.py adds B → A while B writes.
        replications = [Replication(names[a], a, names[b], b) for names in buckets.values()]
        if cap.s3_replication_from is Region.B:
            replications += [Replication(names[b], b, names[a], a) for names in buckets.values()]

        def alarm(name: str, what: str = "replication-lag") -> str:
            return settings.names.project_name(f"{name}-{what}")

        alarms_a = [name for spec in settings.buckets for name in (
            alarm(f"s3-{spec.name}-a-to-b"), alarm(f"s3-{spec.name}-a-to-b-failed", "replication-failed"))]
        alarms_a += [alarm(f"dynamodb-{spec.name}-a-to-b") for spec in settings.tables]
        alarms_b = [alarm(f"aurora-{b}")] if cap.writer_region is Region.A else []
        detection = alarm(f"canary-{settings.names.canary_of_a}", "probe-failed")
        alarms_b.append(detection)  # B watching A, in every state
        if cap.s3_replication_from is Region.B:
            alarms_b += [name for spec in settings.buckets for name in (
                alarm(f"s3-{spec.name}-b-to-a"), alarm(f"s3-{spec.name}-b-to-a-failed", "replication-failed"))]
        standby_region = Region.B if cap.writer_region is Region.A else Region.A
        cache = settings.cache.name
        members = {a: naming.cache_member_id(cache, a)}  # stacks/cache.py: A's group is the Global Datastore's primary
        if cap.cache_b is CacheB.SECONDARY:  # B's member follows the writer (stacks/cache.py cache_role)
            members[b] = naming.cache_member_id(cache, b)
        cache_primary = writer if cap.cache_b is CacheB.SECONDARY else a
        cold = {b: naming.cold_cache_id(cache, b)} if cap.cache_b is CacheB.STANDALONE else {}
        bounds = {a: (cap.eks_nodes_a, cap.eks_max_nodes_a), b: (cap.eks_nodes_b, cap.eks_max_nodes_b)}
        node_groups = {region: NodeGroup(settings.names.eks_cluster(region), settings.compute.nodegroup_name, floor,
                                         node_group_max_size(floor, ceiling))
                       for region, (floor, ceiling) in bounds.items()}
        return cls(
            primary_region=a, dr_region=b, posture=settings.posture.value, writer_region=writer,
            global_cluster_id=settings.aurora.global_cluster_id,
            clusters={region: settings.aurora.cluster_id(region) for region in (a, b)},
            retention_days=settings.aurora.backup_retention_days, buckets=buckets, replications=replications,
            tables=[spec.name for spec in settings.tables], vault=vault,
            # stacks/primary.py's backup selection: A's cluster, every table, every bucket in A
            backed_up=[("Aurora", settings.aurora.cluster_id(a)),
                       *(("DynamoDB", spec.name) for spec in settings.tables),
                       *(("S3", names[a]) for names in buckets.values())],
            alarms={a: alarms_a, b: alarms_b},
            endpoints={a: settings.dns.primary_endpoint, b: settings.dns.dr_endpoint},
            standby_serves=standby_region is Region.B and any(count > 0 for count in cap.replicas_b.values()),
            # the lag alarm's threshold: half the critical RPO (components/alarms.py)
            max_lag_s=max_lag_s if max_lag_s is not None else settings.objectives.critical.rpo_minutes * 60 / 2,
            email_domain=settings.email.sender_domain,
            mail_from={region: settings.email.mail_from_domain(region) for region in (a, b)},
            cache_name=cache, cache_members=members, cache_primary_region=cache_primary, cold_caches=cold,
            cdn_name=settings.names.project_name(settings.cdn.record_name) if settings.cdn.enabled else None,
            node_groups=node_groups, region_switch_plan=settings.names.region_switch_plan,
            # stacks/recovery_plan.py: a failback is always started by a person
            plan_trigger_alarm=None if cap.writer_region is Region.B else detection,
            plan_secondary_headless=cap.writer_region is Region.A and cap.aurora_instances_b == 0,
            backup_max_age_hours=backup_max_age_hours, scan_limit=scan_limit)

    @property
    def secondary_region(self) -> str:
        return self.dr_region if self.writer_region == self.primary_region else self.primary_region


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _ago(moment: datetime) -> str:
    seconds = max(0.0, (_now() - _utc(moment)).total_seconds())
    return f"{seconds:.0f} s ago" if seconds < 3600 else f"{seconds / 3600:.1f} h ago"


def _guarded(name: str, resource: str, region: str, probe: Callable[[], tuple[bool, str]]) -> Check:
    """One check: an AWS error or a missing resource fails it, naming why, and does not stop the others."""
    try:
        ok, detail = probe()
    except ClientError as exc:
        error = exc.response.get("Error", {})
        ok, detail = False, f"{error.get('Code', 'error')}: {error.get('Message', exc)}"
    except (BotoCoreError, LookupError, ValueError) as exc:
        ok, detail = False, str(exc)
    return Check(name, resource, region, ok, detail)


# ---- Aurora ----------------------------------------------------------------------------------------------------

def aurora_pitr(make_client: MakeClient, t: Targets) -> Iterator[Check]:
    """Each cluster keeps continuous backups for at least the configured days and can be restored to minutes ago."""
    for region, cluster_id in t.clusters.items():
        def probe(region: str = region, cluster_id: str = cluster_id) -> tuple[bool, str]:
            window = aurora.pitr_window(make_client("rds", region), cluster_id)
            problems = []
            if window["retention_days"] < t.retention_days:
                problems.append(f"backup retention {window['retention_days']} d, configured {t.retention_days} d")
            latest = window["latest"]
            if latest is None or window["earliest"] is None:
                problems.append("no restorable window (no LatestRestorableTime)")
            elif (_now() - _utc(latest)).total_seconds() > PITR_FRESH_S:
                problems.append(f"latest restorable time {_ago(latest)}, more than {PITR_FRESH_S} s")
            if problems:
                return False, "; ".join(problems)
            earliest = _utc(window["earliest"]).strftime("%Y-%m-%dT%H:%M:%SZ")
            return True, f"retention {window['retention_days']} d; restorable from {earliest} to {_ago(latest)}"
        yield _guarded("aurora-pitr", cluster_id, region, probe)


def aurora_global(make_client: MakeClient, t: Targets) -> Iterator[Check]:
    """The global cluster holds both regions' clusters, and the expected region writes."""
    def probe() -> tuple[bool, str]:
        rds_writer = make_client("rds", t.writer_region)
        described = aurora.describe_global_cluster(rds_writer, t.global_cluster_id)
        members = aurora.member_arns(described)
        arns = {}
        for region, cluster_id in t.clusters.items():
            cluster = aurora.describe_cluster(make_client("rds", region), cluster_id)
            arns[region] = cluster.get("DBClusterArn") if cluster else None
        missing = [f"{t.clusters[region]} ({region})" for region, arn in arns.items() if arn not in members]
        if missing:
            return False, f"not members: {', '.join(missing)} (members: {', '.join(members) or 'none'})"
        writer = aurora.writer_arn(described)
        if writer != arns[t.writer_region]:
            return False, f"writer is {writer}, expected {t.clusters[t.writer_region]} ({t.writer_region})"
        if described.get("Status") != "available":
            return False, f"status {described.get('Status')!r}"
        return True, f"{len(members)} members, {t.clusters[t.writer_region]} writes, available"
    yield _guarded("aurora-global-cluster", t.global_cluster_id, t.writer_region, probe)


def aurora_lag(make_client: MakeClient, t: Targets) -> Iterator[Check]:
    """The secondary's AuroraGlobalDBReplicationLag (its region's CloudWatch) stays under the threshold."""
    region = t.secondary_region
    cluster_id = t.clusters[region]

    def probe() -> tuple[bool, str]:
        lag = aurora.replication_lag(make_client("cloudwatch", region), cluster_id)
        if lag is None:
            return False, "no AuroraGlobalDBReplicationLag datapoints in the last 5 minutes: replication unobserved"
        if lag > t.max_lag_s:
            return False, f"lag {lag:g} s is above {t.max_lag_s:g} s"
        return True, f"worst lag {lag:g} s over 5 minutes (threshold {t.max_lag_s:g} s)"
    yield _guarded("aurora-replication-lag", cluster_id, region, probe)


# ---- S3 --------------------------------------------------------------------------------------------------------

def s3_versioning(make_client: MakeClient, t: Targets) -> Iterator[Check]:
    """Every bucket, in both regions, is versioned (replication and undelete need it)."""
    for names in t.buckets.values():
        for region, bucket in names.items():
            def probe(region: str = region, bucket: str = bucket) -> tuple[bool, str]:
                status = s3_versions.versioning_status(make_client("s3", region), bucket)
                return status == "Enabled", f"versioning {status or 'never enabled'}"
            yield _guarded("s3-versioning", bucket, region, probe)


def s3_replication_rules(make_client: MakeClient, t: Targets) -> Iterator[Check]:
    """The writer side's rule copies everything to the other region's bucket: enabled, delete markers, RTC."""
    for replication in t.replications:
        def probe(r: Replication = replication) -> tuple[bool, str]:
            rules = s3_versions.replication_rules(make_client("s3", r.source_region), r.source_bucket)
            rule = next((rule for rule in rules if rule.get("ID") == REPLICATION_RULE_ID), None)
            if rule is None:
                return False, f"no replication rule {REPLICATION_RULE_ID!r} (rules: " \
                              f"{', '.join(str(x.get('ID')) for x in rules) or 'none'})"
            destination = rule.get("Destination", {})
            problems = []
            if rule.get("Status") != "Enabled":
                problems.append(f"rule {rule.get('Status')}")
            if destination.get("Bucket") != f"arn:aws:s3:::{r.destination_bucket}":
                problems.append(f"destination {destination.get('Bucket')}, expected {r.destination_bucket}")
            if (rule.get("DeleteMarkerReplication") or {}).get("Status") != "Enabled":
                problems.append("delete markers not replicated")
            if (destination.get("ReplicationTime") or {}).get("Status") != "Enabled":
                problems.append("Replication Time Control off")
            if problems:
                return False, "; ".join(problems)
            return True, f"rule {REPLICATION_RULE_ID} enabled to {r.destination_bucket} ({r.destination_region}), " \
                         "delete markers, RTC 15 min"
        yield _guarded("s3-replication-rule", replication.source_bucket, replication.source_region, probe)


def s3_replication_status(make_client: MakeClient, t: Targets) -> Iterator[Check]:
    """The newest object of each replicating bucket reached the other region (or is within RTC's 15 minutes)."""
    for replication in t.replications:
        def probe(r: Replication = replication) -> tuple[bool, str]:
            latest = s3_versions.latest_object_replication(make_client("s3", r.source_region), r.source_bucket,
                                                           scan_limit=t.scan_limit)
            if latest is None:
                return True, "bucket is empty: nothing to replicate"
            scope = f" (newest of the first {latest['scanned']} keys)" if latest["truncated"] else ""
            age = _ago(latest["last_modified"])
            fresh = (_now() - _utc(latest["last_modified"])) <= timedelta(minutes=RTC_MINUTES)

            def good(status: str | None) -> bool:
                return status in ("COMPLETED", "REPLICA") or (status == "PENDING" and fresh)

            bad = [o for o in latest["objects"] if not good(o["replication_status"])]
            shown = bad or latest["objects"]
            statuses = ", ".join(f"{o['key']!r} {o['replication_status'] or 'none (no rule applied)'}"
                                 for o in shown)
            if bad:
                late = " (PENDING past RTC's 15 min)" if any(o["replication_status"] == "PENDING" for o in bad) else ""
                return False, f"newest object written {age}: {statuses}{late}{scope}"
            return True, f"newest object written {age}: {statuses}{scope}"
        yield _guarded("s3-replication-status", replication.source_bucket, replication.source_region, probe)


# ---- DynamoDB --------------------------------------------------------------------------------------------------

def dynamodb_tables(make_client: MakeClient, t: Targets) -> Iterator[Check]:
    """Each global table has its replica in the other region ACTIVE, and PITR on in both (PITR is per replica)."""
    other = {t.primary_region: t.dr_region, t.dr_region: t.primary_region}
    for table in t.tables:
        def replica_probe(table: str = table) -> tuple[bool, str]:
            described = dynamodb.describe_table(make_client("dynamodb", t.primary_region), table)
            if described is None:
                raise LookupError(f"table {table!r} does not exist")
            statuses = dynamodb.replica_statuses(described)
            status = statuses.get(t.dr_region)
            if described.get("TableStatus") != "ACTIVE":
                return False, f"table {described.get('TableStatus')}"
            if status != "ACTIVE":
                return False, f"replica in {t.dr_region} {status or 'missing'} (replicas: " \
                              f"{', '.join(f'{r} {s}' for r, s in statuses.items()) or 'none'})"
            return True, f"table ACTIVE, replica in {t.dr_region} ACTIVE"
        yield _guarded("dynamodb-replica", table, t.primary_region, replica_probe)
        for region in (t.primary_region, other[t.primary_region]):
            def pitr_probe(table: str = table, region: str = region) -> tuple[bool, str]:
                status = dynamodb.pitr_status(make_client("dynamodb", region), table)
                return status == "ENABLED", f"point-in-time recovery {status}"
            yield _guarded("dynamodb-pitr", table, region, pitr_probe)


# ---- AWS Backup ------------------------------------------------------------------------------------------------

def backup_copies(make_client: MakeClient, t: Targets) -> Iterator[Check]:
    """Region B's vault holds a COMPLETED copy of each backed-up resource newer than the age limit."""
    try:
        points = backup_points.recovery_points(make_client("backup", t.dr_region), t.vault)
        listing_error = None
    except (ClientError, BotoCoreError, LookupError) as exc:
        points, listing_error = [], str(exc)
    for resource_type, name in t.backed_up:
        def probe(resource_type: str = resource_type, name: str = name) -> tuple[bool, str]:
            if listing_error:
                return False, listing_error
            copies = [p for p in points if p.get("ResourceType") == resource_type and p.get("Status") == "COMPLETED"
                      and p.get("CreationDate") and backup_points.resource_name(p.get("ResourceArn", "")) == name]
            if not copies:
                return False, f"no COMPLETED {resource_type} recovery point in {t.vault}"
            newest = max(_utc(p["CreationDate"]) for p in copies)
            age_h = (_now() - newest).total_seconds() / 3600
            if age_h > t.backup_max_age_hours:
                return False, f"newest copy {age_h:.1f} h old, more than {t.backup_max_age_hours:g} h"
            return True, f"newest copy in {t.vault} {age_h:.1f} h old ({len(copies)} completed)"
        yield _guarded("backup-copy", f"{resource_type} {name}", t.dr_region, probe)


# ---- email and cache ------------------------------------------------------------------------------------------

def ses_identities(make_client: MakeClient, t: Targets) -> Iterator[Check]:
    """The sending domain is a verified SES identity in both regions, with Easy DKIM and its region's MAIL FROM
    verified: RB-N-07 sends from B the moment A fails, and a domain still Pending there cannot send."""
    for region, mail_from in t.mail_from.items():
        def probe(region: str = region, mail_from: str = mail_from) -> tuple[bool, str]:
            identity = ses.domain_identity(make_client("ses", region), t.email_domain)
            if identity is None:
                return False, f"{t.email_domain} is no SES identity in {region}"
            problems = []
            if identity["verification"] != "Success":
                problems.append(f"verification {identity['verification']}")
            if not identity["dkim_enabled"] or identity["dkim"] != "Success":
                problems.append(f"DKIM {identity['dkim'] if identity['dkim_enabled'] else 'disabled'}")
            if identity["mail_from_domain"] != mail_from:
                problems.append(f"MAIL FROM {identity['mail_from_domain'] or 'not set'}, expected {mail_from}")
            elif identity["mail_from"] != "Success":
                problems.append(f"MAIL FROM {mail_from} {identity['mail_from']}")
            if problems:
                return False, "; ".join(problems)
            return True, f"verified, DKIM Success, MAIL FROM {mail_from} Success"
        yield _guarded("ses-identity", t.email_domain, region, probe)


def cache_datastore(make_client: MakeClient, t: Targets) -> Iterator[Check]:
    """The Global Datastore holds the members the posture keeps, each associated, the expected one primary; a cold
    cache the state runs (pilot light's failover) is available."""
    def probe() -> tuple[bool, str]:
        group = elasticache.global_group_named(make_client("elasticache", t.cache_primary_region), t.cache_name)
        if group is None:
            return False, f"no Global Datastore named *-{t.cache_name}"
        members = {m.get("ReplicationGroupRegion"): m for m in group.get("Members", [])}
        problems = []
        for region, group_id in t.cache_members.items():
            found = members.get(region)
            if found is None or found.get("ReplicationGroupId") != group_id:
                problems.append(f"{group_id} ({region}) is not a member")
            elif found.get("Status") != "associated":
                problems.append(f"{group_id} ({region}) {found.get('Status')}")
        primary = elasticache.primary_group(group)
        expected = t.cache_members[t.cache_primary_region]
        if not problems and primary != expected:
            problems.append(f"primary is {primary}, expected {expected} ({t.cache_primary_region})")
        # With A's member alone (pilot light) a settled datastore says primary-only, with B's too available.
        settled = {elasticache.AVAILABLE, elasticache.PRIMARY_ONLY} if len(t.cache_members) == 1 \
            else {elasticache.AVAILABLE}
        if not problems and group.get("Status") not in settled:
            problems.append(f"status {group.get('Status')!r}")
        if problems:
            return False, "; ".join(problems)
        return True, f"{len(members)} member(s) associated, {expected} primary, {group.get('Status')}"
    yield _guarded("cache-global-datastore", t.cache_name, t.cache_primary_region, probe)
    for region, group_id in t.cold_caches.items():
        def cold_probe(region: str = region, group_id: str = group_id) -> tuple[bool, str]:
            status = elasticache.replication_group_status(make_client("elasticache", region), group_id)
            return status == elasticache.AVAILABLE, f"status {status}"
        yield _guarded("cache-cold-group", group_id, region, cold_probe)


# ---- compute ---------------------------------------------------------------------------------------------------

def node_groups(make_client: MakeClient, t: Targets) -> Iterator[Check]:
    """Each region's node group runs the posture's capacity: ACTIVE, min at the posture's floor and max at its
    ceiling (what `pulumi up` declares), desired between them (the Cluster Autoscaler's to move), no health issue
    (e.g. instances that fail to launch). Warm standby is only warm while B's passes."""
    for region, group in t.node_groups.items():
        def probe(region: str = region, group: NodeGroup = group) -> tuple[bool, str]:
            found = eks.describe_nodegroup(make_client("eks", region), group.cluster, group.nodegroup)
            scaling = found.get("scalingConfig") or {}
            low, desired, high = (scaling.get(k) for k in ("minSize", "desiredSize", "maxSize"))
            problems = []
            if found.get("status") != "ACTIVE":
                problems.append(f"status {found.get('status')}")
            if low != group.floor:
                problems.append(f"min {low}, the posture's floor is {group.floor}")
            if high != group.ceiling:
                problems.append(f"max {high}, the posture's ceiling is {group.ceiling}")
            if not isinstance(desired, int) or not group.floor <= desired <= group.ceiling:
                problems.append(f"desired {desired}, outside {group.floor}-{group.ceiling}")
            issues = (found.get("health") or {}).get("issues") or []
            if issues:
                problems.append(f"health: {issues[0].get('code')}: {issues[0].get('message')}{_and_more(issues)}")
            if problems:
                return False, "; ".join(problems)
            return True, f"ACTIVE, {desired} node(s) desired, floor {group.floor}, ceiling {group.ceiling}"
        yield _guarded("eks-node-group", f"{group.cluster}/{group.nodegroup}", region, probe)


# ---- the ARC Region switch plan ---------------------------------------------------------------------------------

def _and_more(found: list[Any]) -> str:
    """What follows the first of `found` in a check's line."""
    return f" (+{len(found) - 1} more)" if len(found) > 1 else ""


def _alarm_name(arn: str, region: str) -> str | None:
    """`arn:aws:cloudwatch:<region>:<account>:alarm:<name>` → name, if it is a CloudWatch alarm in `region`."""
    parts = arn.split(":", 6)
    if len(parts) == 7 and parts[2] == "cloudwatch" and parts[3] == region and parts[5] == "alarm":
        return parts[6]
    return None


def _headless_secondary_warning(warning: dict[str, Any], t: Targets) -> bool:
    """ARC's Aurora step check "There are DB instances in both the source and destination clusters" failing on
    B's cluster, which pilot light keeps without an instance until the plan's writer-capacity step adds them."""
    steps = (region_switch_steps.AURORA_STEP, region_switch_steps.DATA_STORES_STEP)
    on_aurora = warning.get("stepName") in steps or str(warning.get("resourceArn", "")).endswith(
        f":cluster:{t.clusters[t.dr_region]}")
    return on_aurora and "instance" in str(warning.get("warningMessage", "")).lower()


def _plan_problems(plan: dict[str, Any], status: dict[str, Any], t: Targets) -> list[str]:
    problems = []
    state, evaluated, version = (status.get("evaluationState"), status.get("lastEvaluatedVersion"),
                                 plan.get("version"))
    warnings = [w for w in status.get("warnings", []) if w.get("warningStatus") == "active"]
    active = [w for w in warnings if not (t.plan_secondary_headless and _headless_secondary_warning(w, t))]
    only_expected = state == "actionRequired" and warnings and not active  # what the posture expects, no more
    if state != "passed" and not only_expected:
        problems.append(f"evaluation {state}" + (" (not evaluated since it changed)" if
                                                 state == "pendingEvaluation" else ""))
    if evaluated != version:
        problems.append(f"last evaluated version {evaluated}, the plan is at {version}")
    when = status.get("lastEvaluationTime")
    if isinstance(when, datetime) and _now() - _utc(when) > PLAN_EVALUATION_MAX_AGE:
        problems.append(f"last evaluated {_ago(when)}: ARC evaluates every 30 minutes")
    if active:
        first = active[0]
        where = first.get("stepName") or (first.get("workflow") or {}).get("name") or first.get("resourceArn")
        problems.append(f"warning: {where}: {first.get('warningMessage')}{_and_more(active)}")
    alarms = {name: _alarm_name(str(a.get("resourceIdentifier", "")), t.dr_region)
              for name, a in (plan.get("associatedAlarms") or {}).items() if a.get("alarmType") == "trigger"}
    triggers = list(plan.get("triggers") or [])

    def on_detection_alone(trigger: dict[str, Any]) -> bool:
        conditions = trigger.get("conditions") or []
        return (trigger.get("action"), trigger.get("targetRegion")) == ("activate", t.dr_region) and bool(
            conditions) and all(c.get("condition") == "red" and alarms.get(c.get("associatedAlarmName")) ==
                                t.plan_trigger_alarm for c in conditions)
    if t.plan_trigger_alarm is None:
        if triggers:  # stacks/recovery_plan.py: a failback is always started by a person
            problems.append(f"{len(triggers)} trigger(s) while {t.dr_region} writes: none may start an execution")
    else:
        if not any(on_detection_alone(tr) for tr in triggers):
            problems.append(f"no trigger activates {t.dr_region} when {t.plan_trigger_alarm} alone is red")
        others = sorted({f"{tr.get('action')} {tr.get('targetRegion')}" for tr in triggers
                         if not on_detection_alone(tr)})
        if others:
            problems.append(f"trigger(s) the stack does not declare: {', '.join(others)}")
    return problems


def region_switch_plan(make_client: MakeClient, t: Targets) -> Iterator[Check]:
    """The ARC Region switch plan as ARC itself judges it, read in B (its data plane answers while A is down):
    Region switch evaluates a plan whenever it is created or updated and regularly after (IAM permissions,
    resource configuration, running capacity), so the current version must be evaluated, passed, with no active
    warning, and no service quota warning (B's quota below what A's resources use: the failover could not launch
    them); and while A writes, B's detection alarm going red must start the failover (the trigger the RTO
    estimate counts on), while once B writes no trigger may."""
    def probe() -> tuple[bool, str]:
        arc = make_client("arc-region-switch", t.dr_region)
        found = region_switch.plans_named(arc, t.region_switch_plan)
        if len(found) != 1:
            return False, (f"{len(found)} Region switch plans named {t.region_switch_plan!r} in {t.dr_region}, "
                           "expected 1")
        arn = found[0]["arn"]
        plan, status = region_switch.plan_in_region(arc, arn), region_switch.evaluation_status(arc, arn)
        problems = _plan_problems(plan, status, t)
        quotas = region_switch.quota_warnings(arc, arn)
        if quotas:
            w = quotas[0]
            problems.append(f"service quota warning: {w.get('quotaRegion')} {w.get('serviceCode')} "
                            f"{w.get('quotaName')!r} {w.get('status')}: {w.get('warningMessage')}{_and_more(quotas)}")
        if problems:
            return False, "; ".join(problems)
        when = status.get("lastEvaluationTime")
        trigger = (f"triggered by {t.plan_trigger_alarm}" if t.plan_trigger_alarm
                   else f"no trigger while {t.dr_region} writes")
        verdict = ("passed ARC's evaluation" if status.get("evaluationState") == "passed" else
                   f"evaluated with only the warning {t.posture} expects (B's cluster has no instance until the "
                   "plan's writer-capacity step)")
        return True, (f"version {plan.get('version')} {verdict}"
                      + (f" {_ago(when)}" if isinstance(when, datetime) else "") + f", {trigger}")
    yield _guarded("region-switch-plan", t.region_switch_plan, t.dr_region, probe)


# ---- CDN -------------------------------------------------------------------------------------------------------

def _items(container: dict[str, Any] | None) -> list[Any]:
    return list((container or {}).get("Items") or [])


def cdn_distribution(make_client: MakeClient, t: Targets) -> Iterator[Check]:
    """The distribution in front of the API is enabled (deployed, or a change still deploying: said, not failed),
    TLS-only with a current minimum protocol, and its default behaviour fails over from A's endpoint to B's (an
    origin group: A first)."""
    if t.cdn_name is None:
        return

    def probe() -> tuple[bool, str]:
        cloudfront = make_client("cloudfront", "us-east-1")  # CloudFront's control plane
        found = [d for page in cloudfront.get_paginator("list_distributions").paginate()
                 for d in _items(page.get("DistributionList")) if d.get("Comment") == t.cdn_name]
        if len(found) != 1:
            return False, f"{len(found)} distributions with comment {t.cdn_name!r}, expected 1"
        d = found[0]
        origins = {o["Id"]: o.get("DomainName") for o in _items(d.get("Origins"))}
        behaviour = d.get("DefaultCacheBehavior") or {}
        group = next((g for g in _items(d.get("OriginGroups")) if g.get("Id") == behaviour.get("TargetOriginId")),
                     None)
        api = [t.endpoints[t.primary_region], t.endpoints[t.dr_region]]
        problems = []
        if not d.get("Enabled"):
            problems.append("disabled")
        if group is None:
            problems.append(f"the default behaviour targets {behaviour.get('TargetOriginId')!r}, no origin group")
        elif [origins.get(m.get("OriginId")) for m in _items(group.get("Members"))] != api:
            problems.append(f"origin group {group.get('Id')} fails over "
                            f"{' → '.join(str(origins.get(m.get('OriginId'))) for m in _items(group.get('Members')))}"
                            f", expected {' → '.join(api)}")
        if behaviour.get("ViewerProtocolPolicy") != "https-only":
            problems.append(f"viewers {behaviour.get('ViewerProtocolPolicy')}, expected https-only")
        tls = (d.get("ViewerCertificate") or {}).get("MinimumProtocolVersion")
        if tls not in CURRENT_VIEWER_TLS:
            problems.append(f"minimum protocol {tls}, expected one of {', '.join(CURRENT_VIEWER_TLS)}")
        if problems:
            return False, "; ".join(problems)
        status = d.get("Status")
        deployed = "deployed" if status == "Deployed" else f"{status}: a change is still deploying"
        return True, f"{d['Id']} {deployed}, https-only ({tls}), fails over {' → '.join(api)}"
    yield _guarded("cdn-distribution", t.cdn_name, "global", probe)


# ---- health checks and alarms ----------------------------------------------------------------------------------

def health_checks(make_client: MakeClient, t: Targets) -> Iterator[Check]:
    """Each region's endpoint has its Route53 health check; the writer's passes, and the standby's too where the
    posture runs services there (pilot light runs none in B, so B's check failing there is expected)."""
    try:
        r53 = make_client("route53", "us-east-1")  # Route53's control plane
        by_endpoint = route53.health_checks_by_endpoint(r53)
        listing_error = None
    except (ClientError, BotoCoreError) as exc:
        by_endpoint, listing_error = {}, str(exc)
    for region, endpoint in t.endpoints.items():
        required = region == t.writer_region or t.standby_serves

        def probe(endpoint: str = endpoint, region: str = region, required: bool = required) -> tuple[bool, str]:
            if listing_error:
                return False, listing_error
            if endpoint not in by_endpoint:
                return False, "no Route53 health check on this endpoint"
            healthy, reports = route53.health_status(r53, by_endpoint[endpoint])
            seen = "; ".join(sorted(set(reports))) or "no checker reports"
            if healthy:
                return True, f"healthy ({seen})"
            if not required:
                return True, f"not serving, as {t.posture} expects ({seen})"
            return False, f"failing ({seen})"
        yield _guarded("health-check", endpoint, region, probe)


def alarms(make_client: MakeClient, t: Targets) -> Iterator[Check]:
    """Every replication alarm the stacks declare exists and is OK."""
    for region, names in t.alarms.items():
        if not names:
            continue
        try:
            states = cloudwatch.alarm_states(make_client("cloudwatch", region), names)
            listing_error = None
        except (ClientError, BotoCoreError) as exc:
            states, listing_error = {}, str(exc)
        for name in names:
            def probe(name: str = name) -> tuple[bool, str]:
                if listing_error:
                    return False, listing_error
                state = states.get(name)
                if state is None:
                    return False, "no such alarm"
                detail = f"{state['state']}" + (f": {state['reason']}" if state["reason"] else "")
                return state["state"] == "OK", detail
            yield _guarded("alarm", name, region, probe)


CHECKS = (aurora_pitr, aurora_global, aurora_lag, s3_versioning, s3_replication_rules, s3_replication_status,
          dynamodb_tables, backup_copies, ses_identities, cache_datastore, node_groups, region_switch_plan,
          cdn_distribution, health_checks, alarms)


def run_checks(make_client: MakeClient, targets: Targets) -> list[Check]:
    return [check for family in CHECKS for check in family(make_client, targets)]
