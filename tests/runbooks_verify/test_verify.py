"""`drctl verify --stack dr` against moto: a world where everything is right passes every check, and each check,
made to fail once, fails alone and says why (exit 1). Every call it makes is checked against the operator policy
(the `aws` fixture's runbook_calls)."""
from __future__ import annotations

import socket
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest

from tests.harness.aurora import DR, GLOBAL_ID, PRIMARY
from tests.harness.cache import GROUP_A, GROUP_B, NAME as CACHE, add_member, cold_group
from tests.harness.moto_extensions import arc_region_switch, dr_live_state
from tests.runbooks_verify.conftest import HEADLESS_WARNING, Drctl, World, client, replication_config, verify_json


def test_a_world_where_everything_is_right_passes_every_check(world: World, drctl: Drctl) -> None:
    code, report = verify_json(drctl)
    failed = [c for c in report["checks"] if not c["ok"]]
    assert failed == [], [f"{c['check']} {c['resource']}: {c['detail']}" for c in failed]
    assert code == 0 and report["ok"] is True
    assert {c["check"] for c in report["checks"]} == {
        "aurora-pitr", "aurora-global-cluster", "aurora-replication-lag", "s3-versioning", "s3-replication-rule",
        "s3-replication-status", "dynamodb-replica", "dynamodb-pitr", "backup-copy", "ses-identity",
        "cache-global-datastore", "eks-node-group", "region-switch-plan", "cdn-distribution", "health-check",
        "alarm"}


def test_the_report_is_a_line_per_check_naming_where_the_names_came_from(world: World, drctl: Drctl) -> None:
    code, output = drctl("verify")
    lines = output.splitlines()
    assert code == 0
    assert lines[0].startswith("drctl verify --stack dr: names from the stack settings (Pulumi.dr.yaml)")
    checks = [line for line in lines if line.startswith(("PASS", "FAIL"))]
    assert len(checks) == len(verify_json(drctl)[1]["checks"]) and all(line.startswith("PASS") for line in checks)
    assert "PASS  aurora-replication-lag dr-core-us-west-2 (us-west-2): worst lag 0.8 s" in output
    assert lines[-1] == f"{len(checks)}/{len(checks)} checks passed"


# ---- each check made to fail once ------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def aurora_retention_cut(world: World) -> None:
    client("rds", PRIMARY).modify_db_cluster(DBClusterIdentifier=f"{GLOBAL_ID}-{PRIMARY}", BackupRetentionPeriod=1,
                                             ApplyImmediately=True)


def global_cluster_missing_b(world: World) -> None:
    client("rds", DR).remove_from_global_cluster(GlobalClusterIdentifier=GLOBAL_ID,
                                                 DbClusterIdentifier=world.cluster_arns[DR])


def lag_above_threshold(world: World) -> None:
    dr_live_state.publish_aws_metric(DR, "AWS/RDS", "AuroraGlobalDBReplicationLag",
                                     {"DBClusterIdentifier": f"{GLOBAL_ID}-{DR}"}, 200_000, unit="Milliseconds")


def bucket_unversioned(world: World) -> None:
    bucket = "creator-media-us-west-2"  # empty (moto replicates nothing): made again, never versioned
    s3 = client("s3", DR)
    s3.delete_bucket(Bucket=bucket)
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": DR})


def bucket_versioning_suspended(world: World) -> None:
    client("s3", PRIMARY).put_bucket_versioning(Bucket="creator-kyc-documents-us-east-1",
                                                VersioningConfiguration={"Status": "Suspended"})


def replication_rule_missing(world: World) -> None:
    client("s3", PRIMARY).delete_bucket_replication(Bucket="creator-kyc-documents-us-east-1")


def replication_rule_disabled(world: World) -> None:
    client("s3", PRIMARY).put_bucket_replication(
        Bucket="creator-media-us-east-1",
        ReplicationConfiguration=replication_config("creator-media-us-west-2", status="Disabled"))


def latest_object_failed(world: World) -> None:
    time.sleep(1.1)  # a later second than the world's objects: S3 reports LastModified in whole seconds
    client("s3", PRIMARY).put_object(Bucket="creator-kyc-documents-us-east-1", Key="kyc/0042.pdf", Body=b"%PDF")
    dr_live_state.set_replication_status("creator-kyc-documents-us-east-1", "kyc/0042.pdf", "FAILED")


def replica_not_active(world: World) -> None:
    dr_live_state.set_replica_status("sessions", DR, "INACCESSIBLE_ENCRYPTION_CREDENTIALS")


def replica_without_pitr(world: World) -> None:
    client("dynamodb", DR).update_continuous_backups(
        TableName="payments-idempotency", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False})


def backup_copy_stale(world: World) -> None:
    created = datetime.now(timezone.utc) - timedelta(hours=30)
    assert dr_live_state.backdate_copies(DR, world.table_arns["sessions"], created) == 2


def ses_identity_missing_in_b(world: World) -> None:
    client("ses", DR).delete_identity(Identity="example.com")


def dkim_pending_in_b(world: World) -> None:  # the DKIM CNAMEs for B's tokens were never published
    dr_live_state.set_dkim_status(DR, "example.com", "Pending")


def mail_from_unset_in_a(world: World) -> None:
    client("ses", PRIMARY).set_identity_mail_from_domain(Identity="example.com")  # no MailFromDomain: cleared


def cache_datastore_missing(world: World) -> None:  # A's group left standing on its own
    elasticache = client("elasticache", PRIMARY)
    (group,) = elasticache.describe_global_replication_groups()["GlobalReplicationGroups"]
    elasticache.delete_global_replication_group(GlobalReplicationGroupId=group["GlobalReplicationGroupId"],
                                                RetainPrimaryReplicationGroup=True)


def _change_distribution(change: Callable[[dict], None]) -> None:
    cloudfront = client("cloudfront", "us-east-1")
    (summary,) = cloudfront.list_distributions()["DistributionList"]["Items"]
    got = cloudfront.get_distribution_config(Id=summary["Id"])
    config = got["DistributionConfig"]
    change(config)
    cloudfront.update_distribution(Id=summary["Id"], IfMatch=got["ETag"], DistributionConfig=config)


def cdn_disabled(world: World) -> None:
    _change_distribution(lambda config: config.update(Enabled=False))


def cdn_old_tls(world: World) -> None:
    _change_distribution(lambda config: config["ViewerCertificate"].update(MinimumProtocolVersion="TLSv1.2_2019"))


def cdn_failover_reversed(world: World) -> None:  # B's endpoint first: A would be the failover
    def reverse(config: dict) -> None:
        (api,) = [g for g in config["OriginGroups"]["Items"] if g["Id"] == "api"]
        api["Members"]["Items"].reverse()
    _change_distribution(reverse)


def health_check_failing(world: World, region: str = PRIMARY) -> None:
    route53 = client("route53", "us-east-1")
    endpoint = world.targets.endpoints[region]
    for check in route53.list_health_checks()["HealthChecks"]:
        if check["HealthCheckConfig"].get("FullyQualifiedDomainName") == endpoint:
            route53.delete_health_check(HealthCheckId=check["Id"])
    route53.create_health_check(CallerReference=f"{region}-down", HealthCheckConfig={  # nothing listens there
        "Type": "HTTPS", "IPAddress": "127.0.0.1", "Port": _free_port(), "FullyQualifiedDomainName": endpoint,
        "ResourcePath": "/healthz", "RequestInterval": 10, "FailureThreshold": 3})


def alarm_in_alarm(world: World) -> None:
    client("cloudwatch", DR).set_alarm_state(AlarmName=f"dr-platform-aurora-{DR}-replication-lag",
                                             StateValue="ALARM", StateReason="Threshold Crossed: 3 datapoints")


def alarm_missing(world: World) -> None:
    client("cloudwatch", PRIMARY).delete_alarms(AlarmNames=["dr-platform-dynamodb-sessions-a-to-b-replication-lag"])


def node_group_shrunk_in_a(world: World) -> None:
    """Someone took A's floor down by hand: the next failback would find A short of production's capacity."""
    client("eks", PRIMARY).update_nodegroup_config(clusterName=f"platform-{PRIMARY}", nodegroupName="general",
                                                   scalingConfig={"minSize": 1, "desiredSize": 1, "maxSize": 6})


def node_group_missing_in_b(world: World) -> None:
    client("eks", DR).delete_nodegroup(clusterName=f"platform-{DR}", nodegroupName="general")


def _update_plan(world: World, **changes: object) -> None:
    """What an UpdatePlan does to the plan ARC holds: the fields changed, a new version, not yet evaluated."""
    arc_region_switch.backend().plan(world.plan_arn).update(changes)


def plan_missing(world: World) -> None:
    client("arc-region-switch", DR).delete_plan(arn=world.plan_arn)


def plan_changed_since_evaluated(world: World) -> None:
    """Changed by hand (or a `pulumi up` a minute ago): ARC has not yet judged what the account now holds."""
    _update_plan(world, description="edited in the console")


def plan_evaluation_warns(world: World) -> None:
    """ARC's evaluation, with the execution role's permissions, finds a step it could not run."""
    arc_region_switch.backend().evaluate(world.plan_arn, [{
        "workflow": {"action": "activate", "name": DR}, "stepName": "writer-capacity",
        "resourceArn": f"arn:aws:lambda:{DR}:123456789012:function:dr-platform-writer-capacity-{DR}",
        "warningMessage": "The execution role is not allowed to perform lambda:InvokeFunction"}])


def plan_trigger_removed(world: World) -> None:
    """The trigger deleted (and the plan evaluated since): a red detection alarm would now start nothing."""
    _update_plan(world, triggers=[])
    arc_region_switch.backend().evaluate(world.plan_arn)


def plan_trigger_needs_another_alarm(world: World) -> None:
    """Edited so that the detection alarm starts the failover only together with another: later, or never."""
    plan = arc_region_switch.backend().plan(world.plan_arn)
    (trigger,) = plan.fields["triggers"]
    extra = {"associatedAlarmName": "latency", "condition": "red"}
    alarms = {**plan.fields["associatedAlarms"], "latency": {
        "alarmType": "trigger", "resourceIdentifier": f"arn:aws:cloudwatch:{DR}:123456789012:alarm:latency"}}
    _update_plan(world, triggers=[{**trigger, "conditions": [*trigger["conditions"], extra]}],
                 associatedAlarms=alarms)
    arc_region_switch.backend().evaluate(world.plan_arn)


def b_quota_below_a(world: World) -> None:
    """B's On-Demand vCPU quota is lower than A's node groups use: the failover could not launch them."""
    arc_region_switch.backend().warn_quota(
        world.plan_arn, quotaRegion=DR, serviceCode="ec2", quotaCode="L-1216C47A",
        quotaName="Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances", status="denied",
        warningMessage="The applied quota in us-west-2 (32) is lower than in us-east-1 (256)")


def plan_evaluation_stale(world: World) -> None:
    """ARC's last evaluation is hours old (it evaluates every 30 minutes): what it said then is not news."""
    arc_region_switch.backend().plan(world.plan_arn).evaluation["lastEvaluationTime"] -= 3 * 3600


BREAKAGES = [
    (aurora_retention_cut, {("aurora-pitr", f"{GLOBAL_ID}-{PRIMARY}")}, "backup retention 1 d, configured 14 d"),
    (global_cluster_missing_b, {("aurora-global-cluster", GLOBAL_ID)}, f"not members: {GLOBAL_ID}-{DR} ({DR})"),
    (lag_above_threshold, {("aurora-replication-lag", f"{GLOBAL_ID}-{DR}")}, "lag 200 s is above 150 s"),
    (bucket_unversioned, {("s3-versioning", "creator-media-us-west-2")}, "versioning never enabled"),
    (bucket_versioning_suspended, {("s3-versioning", "creator-kyc-documents-us-east-1")}, "versioning Suspended"),
    (replication_rule_missing, {("s3-replication-rule", "creator-kyc-documents-us-east-1")},
     "no replication rule 'replicate-everything' (rules: none)"),
    (replication_rule_disabled, {("s3-replication-rule", "creator-media-us-east-1")}, "rule Disabled"),
    (latest_object_failed, {("s3-replication-status", "creator-kyc-documents-us-east-1")}, "'kyc/0042.pdf' FAILED"),
    (replica_not_active, {("dynamodb-replica", "sessions")},
     f"replica in {DR} INACCESSIBLE_ENCRYPTION_CREDENTIALS"),
    (replica_without_pitr, {("dynamodb-pitr", "payments-idempotency")}, "point-in-time recovery DISABLED"),
    (backup_copy_stale, {("backup-copy", "DynamoDB sessions")}, "newest copy 30.0 h old, more than 24 h"),
    (ses_identity_missing_in_b, {("ses-identity", "example.com")}, f"example.com is no SES identity in {DR}"),
    (dkim_pending_in_b, {("ses-identity", "example.com")}, "DKIM Pending"),
    (mail_from_unset_in_a, {("ses-identity", "example.com")},
     f"MAIL FROM not set, expected mail.{PRIMARY}.example.com"),
    (cache_datastore_missing, {("cache-global-datastore", CACHE)}, f"no Global Datastore named *-{CACHE}"),
    (node_group_shrunk_in_a, {("eks-node-group", f"platform-{PRIMARY}/general")},
     "min 1, the posture's floor is 3; desired 1, outside 3-6"),
    (node_group_missing_in_b, {("eks-node-group", f"platform-{DR}/general")}, "ResourceNotFoundException"),
    (plan_missing, {("region-switch-plan", "dr-platform")}, f"0 Region switch plans named 'dr-platform' in {DR}"),
    (plan_changed_since_evaluated, {("region-switch-plan", "dr-platform")},
     "evaluation pendingEvaluation (not evaluated since it changed); last evaluated version 1, the plan is at 2"),
    (plan_evaluation_warns, {("region-switch-plan", "dr-platform")}, "evaluation actionRequired; warning: "
     "writer-capacity: The execution role is not allowed to perform lambda:InvokeFunction"),
    (plan_trigger_removed, {("region-switch-plan", "dr-platform")},
     f"no trigger activates {DR} when dr-platform-canary-dr-probe-region-a-probe-failed alone is red"),
    (plan_trigger_needs_another_alarm, {("region-switch-plan", "dr-platform")},
     f"no trigger activates {DR} when dr-platform-canary-dr-probe-region-a-probe-failed alone is red; trigger(s) "
     f"the stack does not declare: activate {DR}"),
    (b_quota_below_a, {("region-switch-plan", "dr-platform")},
     f"service quota warning: {DR} ec2 'Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances' denied: "
     "The applied quota in us-west-2 (32) is lower than in us-east-1 (256)"),
    (plan_evaluation_stale, {("region-switch-plan", "dr-platform")},
     "last evaluated 3.0 h ago: ARC evaluates every 30 minutes"),
    (cdn_disabled, {("cdn-distribution", "dr-platform-cdn")}, "disabled"),
    (cdn_old_tls, {("cdn-distribution", "dr-platform-cdn")}, "minimum protocol TLSv1.2_2019, expected one of"),
    (cdn_failover_reversed, {("cdn-distribution", "dr-platform-cdn")},
     "origin group api fails over api-b.origin.example.com → api-a.origin.example.com, expected api-a"),
    (health_check_failing, {("health-check", "api-a.origin.example.com")}, "failing (Failure: Connection to"),
    (alarm_in_alarm, {("alarm", f"dr-platform-aurora-{DR}-replication-lag")}, "ALARM: Threshold Crossed"),
    (alarm_missing, {("alarm", "dr-platform-dynamodb-sessions-a-to-b-replication-lag")}, "no such alarm"),
]


@pytest.mark.parametrize(("breakage", "expected", "why"), BREAKAGES, ids=[b[0].__name__ for b in BREAKAGES])
def test_each_check_made_to_fail_fails_alone_and_says_why(world: World, drctl: Drctl, breakage: Callable,
                                                          expected: set[tuple[str, str]], why: str) -> None:
    breakage(world)
    code, report = verify_json(drctl)
    failed = [c for c in report["checks"] if not c["ok"]]
    assert {(c["check"], c["resource"]) for c in failed} == expected, failed
    assert why in failed[0]["detail"]
    assert code == 1 and report["ok"] is False and report["failed"] == 1
    code, output = drctl("verify")
    assert code == 1
    assert any(line.startswith(f"FAIL  {failed[0]['check']}") and why in line for line in output.splitlines())


def test_b_failing_its_health_check_is_what_pilot_light_expects_but_not_warm_standby(world: World,
                                                                                     drctl: Drctl) -> None:
    health_check_failing(world, DR)  # pilot light runs no services in B: nothing answers B's endpoint
    code, report = verify_json(drctl)
    (b_check,) = [c for c in report["checks"] if c["resource"] == "api-b.origin.example.com"]
    assert code == 0 and b_check["ok"] and b_check["detail"].startswith("not serving, as pilot-light expects")
    (group,) = client("elasticache", PRIMARY).describe_global_replication_groups()["GlobalReplicationGroups"]
    add_member(group["GlobalReplicationGroupId"])  # warm standby keeps B's cache member
    client("eks", DR).update_nodegroup_config(clusterName=f"platform-{DR}", nodegroupName="general",  # and nodes
                                              scalingConfig={"minSize": 2, "desiredSize": 2, "maxSize": 3})
    arc_region_switch.backend().evaluate(world.plan_arn)  # and an Aurora instance: ARC no longer warns
    code, report = verify_json(drctl, "--set", "posture=warm-standby")  # B runs the critical services
    failed = [(c["check"], c["resource"]) for c in report["checks"] if not c["ok"]]
    assert code == 1 and failed == [("health-check", "api-b.origin.example.com")]


def _cache_checks(drctl: Drctl, *settings: str) -> list[tuple[str, str, bool, str]]:
    report = verify_json(drctl, *(arg for setting in settings for arg in ("--set", setting)))[1]
    return [(c["check"], c["region"], c["ok"], c["detail"]) for c in report["checks"] if c["check"].startswith("cache")]


def test_the_cache_check_follows_the_posture_and_the_writer(world: World, drctl: Drctl) -> None:
    """Warm standby keeps B's member in the Global Datastore; failed over, B's member is the primary; pilot light's
    failover runs a cold group of B's own."""
    # pilot light: A's member alone, which AWS reports as primary-only (not available) once settled
    assert _cache_checks(drctl) == [
        ("cache-global-datastore", PRIMARY, True, f"1 member(s) associated, {GROUP_A} primary, primary-only")]
    warm = ("posture=warm-standby",)
    assert _cache_checks(drctl, *warm) == [
        ("cache-global-datastore", PRIMARY, False, f"{GROUP_B} ({DR}) is not a member")]
    elasticache = client("elasticache", PRIMARY)
    (group,) = elasticache.describe_global_replication_groups()["GlobalReplicationGroups"]
    add_member(group["GlobalReplicationGroupId"])
    assert _cache_checks(drctl, *warm) == [
        ("cache-global-datastore", PRIMARY, True, f"2 member(s) associated, {GROUP_A} primary, available")]

    failed_over = (*warm, "failover=true")
    assert _cache_checks(drctl, *failed_over) == [
        ("cache-global-datastore", DR, False, f"primary is {GROUP_A}, expected {GROUP_B} ({DR})")]
    client("elasticache", DR).failover_global_replication_group(
        GlobalReplicationGroupId=group["GlobalReplicationGroupId"], PrimaryRegion=DR,
        PrimaryReplicationGroupId=GROUP_B)
    time.sleep(0.4)  # the extension's TRANSITION_SECONDS: the roles have swapped
    assert _cache_checks(drctl, *failed_over) == [
        ("cache-global-datastore", DR, True, f"2 member(s) associated, {GROUP_B} primary, available")]

    cold = f"{GROUP_B}-cold"
    assert _cache_checks(drctl, "failover=true")[1] == (
        "cache-cold-group", DR, False, f"replication group {cold!r} does not exist")
    cold_group(cold)
    assert _cache_checks(drctl, "failover=true")[1] == ("cache-cold-group", DR, True, "status available")


def _plan_check(drctl: Drctl, *settings: str) -> tuple[bool, str]:
    report = verify_json(drctl, *(arg for setting in settings for arg in ("--set", setting)))[1]
    (check,) = [c for c in report["checks"] if c["check"] == "region-switch-plan"]
    return check["ok"], check["detail"]


def test_arcs_warning_on_a_headless_secondary_is_what_pilot_light_expects_and_nothing_more(world: World,
                                                                                          drctl: Drctl) -> None:
    """Pilot light keeps B's Aurora cluster without an instance until the plan's writer-capacity step, and ARC's
    evaluation wants instances in both clusters: that warning alone passes in pilot light, fails where B should
    have an instance (warm standby), and any other warning still fails."""
    ok, detail = _plan_check(drctl)
    assert ok and detail.startswith("version 1 evaluated with only the warning pilot-light expects"), detail
    ok, detail = _plan_check(drctl, "posture=warm-standby")
    assert not ok and detail.startswith("evaluation actionRequired; warning: aurora-global-database: There are no "
                                        "DB instances"), detail
    arc_region_switch.backend().evaluate(world.plan_arn, [HEADLESS_WARNING, {
        "stepName": "aurora-global-database", "warningMessage": "Engine versions are not compatible for switchover"}])
    ok, detail = _plan_check(drctl)
    assert not ok and detail == ("evaluation actionRequired; warning: aurora-global-database: Engine versions are "
                                 "not compatible for switchover"), detail
    arc_region_switch.backend().evaluate(world.plan_arn)  # B's cluster got an instance: no warning at all
    ok, detail = _plan_check(drctl)
    assert ok and detail.startswith("version 1 passed ARC's evaluation"), detail


def test_once_b_writes_a_trigger_left_on_the_plan_fails(world: World, drctl: Drctl) -> None:
    """After failover the dr stack drops the plan's trigger (a failback is always started by a person): a trigger
    still there would start another failover into the region already writing."""
    ok, detail = _plan_check(drctl)
    assert ok and detail.startswith("version 1 evaluated") and detail.endswith(
        "triggered by dr-platform-canary-dr-probe-region-a-probe-failed")
    arc_region_switch.backend().evaluate(world.plan_arn)  # failed over: B's cluster has its instances
    assert _plan_check(drctl, "failover=true") == (
        False, f"1 trigger(s) while {DR} writes: none may start an execution")
    plan_trigger_removed(world)
    ok, detail = _plan_check(drctl, "failover=true")
    assert ok and detail.startswith("version 2 passed ARC's evaluation") and detail.endswith(
        f"no trigger while {DR} writes")


def test_thresholds_come_from_the_options(world: World, drctl: Drctl) -> None:
    code, report = verify_json(drctl, "--max-lag-seconds", "0.5", "--backup-max-age-hours", "1")
    failed = {(c["check"], c["detail"].split(",")[0]) for c in report["checks"] if not c["ok"]}
    assert code == 1
    assert ("aurora-replication-lag", "lag 0.8 s is above 0.5 s") in failed
    assert {check for check, _ in failed} == {"aurora-replication-lag", "backup-copy"}


@pytest.mark.parametrize(("args", "named"), [
    (["--set", "posture=lukewarm"], "posture"),
    (["--set", "drRegion=eu-west-1"], "drRegion"),
    (["--backup-vault", "no vault!"], "--backup-vault"),
    (["--max-lag-seconds", "inf"], "inf is not a finite number"),
    (["--scan-limit", "0"], "--scan-limit"),
], ids=lambda v: str(v))
def test_bad_input_exits_2_naming_it(drctl: Drctl, args: list[str], named: str) -> None:
    code, output = drctl("verify", *args)
    assert code == 2 and named in output
