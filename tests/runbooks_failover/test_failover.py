"""RB-N-01 failover and failback through `drctl`, against moto's server and real HTTP endpoints on 127.0.0.1."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ops.actions import route53, sns
from ops.actions.aws import client
from ops.drctl.commands.failover import CHANGE_SET_DIR, change_sets
from ops.drctl.commands.options import load_settings
from ops.drctl.cli import app
from ops.drctl.runbooks import failover as failover_runbook
from ops.drctl.runbooks.engine import Journal
from ops.drctl.runbooks.smoke import DEFAULT_PATHS
from tests.runbooks_failover.conftest import DR, ENDPOINT_A, ENDPOINT_B, GLOBAL_ID, PRIMARY, World
from stacks.config_files import load_stack_settings
from tests.harness.crash import PROJECT_DIR, run_until_crash

FAST = ["--timeout", "30", "--poll", "0.05"]
ORIGINAL_STACK_FILE = (PROJECT_DIR / "Pulumi.dr.yaml").read_bytes()


def project_copy(tmp_path: Path) -> Path:
    """The project's Pulumi.yaml and Pulumi.dr.yaml in tmp_path/project: a run that writes its flip into the stack
    file writes there, never into the repository's."""
    project = tmp_path / "project"
    if not project.is_dir():
        project.mkdir()
        for name in ("Pulumi.yaml", "Pulumi.dr.yaml"):
            shutil.copy(PROJECT_DIR / name, project / name)
    return project


def drctl(tmp_path: Path, *args: str) -> tuple[int, str]:
    """Run drctl in-process; returns (exit code, stdout+stderr). `args` come after FAST, so theirs win."""
    command, *options = args
    result = CliRunner().invoke(app, [command, *FAST, "--journal-dir", str(tmp_path / "runs"), "--change-set-dir",
                                      str(tmp_path / "changesets"), "--project-dir", str(project_copy(tmp_path)),
                                      *options])
    return result.exit_code, result.output


def stack_file(tmp_path: Path) -> bytes:
    return (project_copy(tmp_path) / "Pulumi.dr.yaml").read_bytes()


def journal(tmp_path: Path, output: str) -> Journal:
    return Journal.model_validate(json.loads(output[output.index("{"):]))


def primary_target(world: World) -> tuple[str, str]:
    primary = world.records()["primary"]
    return primary["ResourceRecords"][0]["Value"], primary["HealthCheckId"]


def test_dry_run_lists_the_calls_and_changes_nothing(world: World, tmp_path: Path, faults) -> None:
    code, output = drctl(tmp_path, "failover", "--scale-with", "api", "--json")
    assert code == 0, output
    run = journal(tmp_path, output)
    assert run.status == "planned"
    planned = [call for step in run.steps for call in step.would_call]
    assert any(c.startswith("rds:SwitchoverGlobalCluster(GlobalClusterIdentifier=dr-core") for c in planned)
    assert any(c.startswith(f"rds:CreateDBInstance(DBInstanceIdentifier={GLOBAL_ID}-{DR}-0") for c in planned)
    assert run.step("grow").would_call == ["none beyond the capacity step"]  # pilot light: capacity brings the row
    assert any("route53:ChangeResourceRecordSets" in c and f"UPSERT primary→{ENDPOINT_B}" in c for c in planned)
    assert world.writer() == world.arn_a
    assert primary_target(world) == (ENDPOINT_A, world.health_a)
    assert world.instances(DR) == []
    for operation in ("SwitchoverGlobalCluster", "FailoverGlobalCluster", "CreateDBInstance"):
        assert faults.calls("rds", operation) == 0
    assert faults.calls("route53", "ChangeResourceRecordSets") == 0
    (next_step,) = run.step("next-steps").result["next"]  # B's search index, from B's own database
    endpoint = client("rds", DR).describe_db_clusters(DBClusterIdentifier=f"{GLOBAL_ID}-{DR}")["DBClusters"][0]
    assert next_step.startswith(f"drctl reindex --source 'host={endpoint['Endpoint']} dbname=app sslmode=verify-full'")
    assert next_step.endswith("--collection products")
    # the key reindex reads by default and B's cluster holds (TYPESENSE_API_KEY), not a name nothing sets
    assert "--api-key-env TYPESENSE_API_KEY " in next_step and "TYPESENSE_ADMIN_KEY" not in next_step


def test_failover_then_failback(world: World, tmp_path: Path, faults) -> None:
    code, output = drctl(tmp_path, "failover", "--scale-with", "api", "--execute", "--yes",
                         "--smoke-url", world.endpoint_b.url)
    assert code == 0, output
    assert "RTO (measured):" in output and "objective critical < 60 min" in output
    assert world.writer() == world.arn_b
    assert primary_target(world) == (ENDPOINT_B, world.health_b)
    assert world.records()["secondary"]["ResourceRecords"][0]["Value"] == ENDPOINT_A
    assert world.instances(DR) == [f"{GLOBAL_ID}-{DR}-0", f"{GLOBAL_ID}-{DR}-1"]
    assert world.nodes_b() == load_stack_settings("dr").compute.nodes  # production, as failover=true would size it
    written = json.loads((tmp_path / "changesets" / "route53-failover-to-B.json").read_text())
    assert written["Changes"][0]["ResourceRecordSet"]["HealthCheckId"] == f"{{{{health-check:{ENDPOINT_B}}}}}"

    assert stack_file(tmp_path) == ORIGINAL_STACK_FILE.replace(b"dr-platform:failover: false\n",
                                                               b"dr-platform:failover: true\n", 1)

    code, output = drctl(tmp_path, "failback", "--execute", "--yes", "--json", "--smoke-url", world.endpoint_a.url)
    assert code == 0, output
    run = journal(tmp_path, output)
    assert stack_file(tmp_path) == ORIGINAL_STACK_FILE  # failover: false again, every other byte as it was
    assert run.step("smoke").result["checked"] == [f"{world.endpoint_a.url}{p}" for p in DEFAULT_PATHS]
    assert world.writer() == world.arn_a
    assert primary_target(world) == (ENDPOINT_A, world.health_a)
    assert world.instances(DR) == [f"{GLOBAL_ID}-{DR}-0", f"{GLOBAL_ID}-{DR}-1"]  # B kept warm
    tags = client("rds", DR).list_tags_for_resource(ResourceName=world.arn_b)["TagList"]
    assert {"Key": "drctl:keep-warm-until", "Value": run.step("keep-b-warm").result["keep_warm_until"]} in tags
    assert faults.calls("rds", "SwitchoverGlobalCluster") == 2


def test_unplanned_is_refused_while_a_is_healthy(world: World, tmp_path: Path, faults) -> None:
    created_before = faults.calls("rds", "CreateDBInstance")
    code, output = drctl(tmp_path, "failover", "--unplanned", "--scale-with", "api", "--execute", "--yes")
    assert code == 2 and "--unplanned refused: region A is healthy" in output
    assert world.writer() == world.arn_a and world.instances(DR) == []
    assert faults.calls("rds", "CreateDBInstance") == created_before
    assert faults.calls("rds", "FailoverGlobalCluster") == 0


def test_unplanned_when_a_is_down_then_failback_rejoins_a_detached_region(world: World, tmp_path: Path,
                                                                          faults) -> None:
    world.endpoint_a.status = 503
    code, output = drctl(tmp_path, "failover", "--scale-with", "api", "--execute", "--yes")
    assert code == 2 and "planned failover needs region A healthy" in output
    code, output = drctl(tmp_path, "failover", "--unplanned", "--scale-with", "api", "--execute", "--yes")
    assert code == 0, output
    assert world.writer() == world.arn_b
    assert faults.calls("rds", "FailoverGlobalCluster") == 1
    # Region A lost its membership during the outage; once A is back, failback builds a new secondary there.
    client("rds", DR).remove_from_global_cluster(GlobalClusterIdentifier=GLOBAL_ID, DbClusterIdentifier=world.arn_a)
    code, output = drctl(tmp_path, "failback", "--execute", "--yes")
    assert code == 2 and "not healthy" in output
    world.endpoint_a.status = 200
    code, output = drctl(tmp_path, "failback", "--execute", "--yes", "--json")
    assert code == 0, output
    assert journal(tmp_path, output).step("rejoin-a").result["rejoined"] is True
    assert world.writer() == world.arn_a
    clusters = [c["DBClusterIdentifier"] for c in client("rds", PRIMARY).describe_db_clusters()["DBClusters"]]
    assert f"{GLOBAL_ID}-{PRIMARY}" in clusters
    assert any(c.startswith(f"{GLOBAL_ID}-{PRIMARY}-detached-") for c in clusters)  # kept, not deleted


def test_crash_after_promote_then_resume_does_not_promote_again(world: World, tmp_path: Path, faults) -> None:
    run_id = run_until_crash("promote", tmp_path / "runs", "failover", "--scale-with", "api", "--execute", "--yes",
                             "--change-set-dir", str(tmp_path / "cs"), "--project-dir", str(project_copy(tmp_path)),
                             *FAST)
    state = Journal.load(tmp_path / "runs", run_id)
    assert state.step("promote").state == "done" and state.step("dns").state == "pending"
    assert world.writer() == world.arn_b and primary_target(world)[0] == ENDPOINT_A

    env = {**os.environ, "PYTHONPATH": str(PROJECT_DIR)}
    resumed = subprocess.run([sys.executable, "-m", "ops.drctl.cli", "failover", "--resume", run_id, "--yes",
                              "--journal-dir", str(tmp_path / "runs")],
                             cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert "promote: done in an earlier attempt, not repeated" in resumed.stderr.replace("\n", " ")
    assert Journal.load(tmp_path / "runs", run_id).status == "done"
    assert primary_target(world)[0] == ENDPOINT_B
    assert faults.calls("rds", "SwitchoverGlobalCluster") == 1


def test_throttling_and_5xx_are_retried_and_the_run_completes(world: World, tmp_path: Path, faults) -> None:
    faults.inject("rds", "SwitchoverGlobalCluster", 2, status=400, code="Throttling")
    faults.inject("route53", "ChangeResourceRecordSets", 1, status=503, code="ServiceUnavailable")
    faults.inject("rds", "DescribeGlobalClusters", 1, status=500, code="InternalFailure")
    code, output = drctl(tmp_path, "failover", "--scale-with", "api", "--execute", "--yes", "--json")
    assert code == 0, output
    assert world.writer() == world.arn_b and primary_target(world)[0] == ENDPOINT_B
    assert faults.calls("rds", "SwitchoverGlobalCluster") == 3  # two throttled, one served
    assert faults.calls("route53", "ChangeResourceRecordSets") == 2
    promote = journal(tmp_path, output).step("promote")
    assert [c["operation"] for c in promote.api_calls].count("SwitchoverGlobalCluster") == 1


def test_lost_responses_are_recognised_and_the_run_completes_without_a_resume(world: World, tmp_path: Path,
                                                                             faults) -> None:
    """The server creates B's first instance and starts the switchover, but both answers are lost: the same run
    finds them done (DBInstanceAlreadyExists of its own instance, a role change towards B) and completes."""
    faults.inject("rds", "CreateDBInstance", 1, status=503, code="ServiceUnavailable", performed=True)
    faults.inject("rds", "SwitchoverGlobalCluster", 1, status=503, code="ServiceUnavailable", performed=True)
    code, output = drctl(tmp_path, "failover", "--scale-with", "api", "--execute", "--yes", "--json")
    assert code == 0, output
    run = journal(tmp_path, output)
    assert run.status == "done" and all(s.state == "done" for s in run.steps)
    assert world.writer() == world.arn_b and primary_target(world)[0] == ENDPOINT_B
    assert world.instances(DR) == [f"{GLOBAL_ID}-{DR}-0", f"{GLOBAL_ID}-{DR}-1"]
    assert faults.calls("rds", "SwitchoverGlobalCluster") == 2 and faults.calls("rds", "CreateDBInstance") == 3


def test_through_the_api_nothing_moves_dns_before_b_is_scaled_promoted_flipped_and_serving() -> None:
    names = [step.name for step in failover_runbook.runbook("api").steps]
    assert names.index("capacity") < names.index("promote") < names.index("flip") < names.index("b-serving") \
        < names.index("dns") < names.index("smoke")
    names = [step.name for step in failover_runbook.runbook("pulumi").steps]
    assert names.index("pulumi-up") < names.index("b-serving") < names.index("dns")


def test_api_failover_scales_b_to_the_failover_row_before_dns_and_writes_the_flip(world: World, tmp_path: Path,
                                                                                  faults) -> None:
    settings = load_stack_settings("dr")
    code, output = drctl(tmp_path, "failover", "--scale-with", "api", "--execute", "--yes", "--json")
    assert code == 0, output
    run = journal(tmp_path, output)
    row = run.params["failover_row"]
    assert row["aurora_instances_b"] == settings.aurora.instances and row["eks_nodes_b"] == settings.compute.nodes
    assert row["replicas_b"] == {s.name: s.replicas for s in settings.compute.services}
    assert world.nodes_b() == row["eks_nodes_b"] and len(world.instances(DR)) == row["aurora_instances_b"]
    # DNS moved only once B had its instances and nodes (waited for), wrote, and the stack file said so
    finished = {s.name: s.finished_at for s in run.steps}
    assert finished["capacity"] <= run.step("promote").started_at
    assert finished["flip"] <= run.step("dns").started_at and finished["b-serving"] <= run.step("dns").started_at
    assert run.step("flip").result["changed"] == ["failover"]  # failoverMode was already planned
    assert stack_file(tmp_path) == ORIGINAL_STACK_FILE.replace(b"dr-platform:failover: false\n",
                                                               b"dr-platform:failover: true\n", 1)
    remaining = run.step("next-steps").result["deployments"]
    assert remaining.startswith("B's Deployments to the failover row (payments=3, auth=3, users=2, catalog=2")
    assert "typesense=3): pulumi up --stack dr" in remaining


def test_dns_stays_on_a_until_b_serves_and_a_resume_moves_it(world: World, tmp_path: Path, faults) -> None:
    """Pilot light through the API: B's Deployments are at 0 until `pulumi up`, so B's health check fails and DNS
    must not move; the run says what remains, and once B serves a resume finishes the job."""
    world.endpoint_b.status = 503
    code, output = drctl(tmp_path, "failover", "--scale-with", "api", "--execute", "--yes", "--serving-timeout",
                         "0.5", "--json")
    assert code == 1, output
    run = journal(tmp_path, output)
    error = run.step("b-serving").error
    assert f"DNS not moved: B's endpoint {ENDPOINT_B} still fails its health check" in error
    assert "HTTP Status Code 503" in error and "pulumi up --stack dr" in error and f"--resume {run.run_id}" in error
    assert primary_target(world) == (ENDPOINT_A, world.health_a)
    assert faults.calls("route53", "ChangeResourceRecordSets") == 0
    assert world.writer() == world.arn_b and world.nodes_b() == load_stack_settings("dr").compute.nodes
    assert b"dr-platform:failover: true\n" in stack_file(tmp_path)  # the next pulumi up keeps B scaled

    world.endpoint_b.status = 200  # `pulumi up --stack dr` scaled B's Deployments
    result = CliRunner().invoke(app, ["failover", "--resume", run.run_id, "--yes", "--json", "--journal-dir",
                                      str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    assert primary_target(world) == (ENDPOINT_B, world.health_b)
    assert faults.calls("rds", "SwitchoverGlobalCluster") == 1


def test_failback_smoke_failure_is_reported_after_dns_is_back(world: World, tmp_path: Path) -> None:
    code, output = drctl(tmp_path, "failover", "--scale-with", "api", "--execute", "--yes")
    assert code == 0, output
    world.endpoint_a.per_path["/api/v1/payments/health"] = 500
    code, output = drctl(tmp_path, "failback", "--execute", "--yes", "--json", "--smoke-url", world.endpoint_a.url)
    assert code == 1, output
    run = journal(tmp_path, output)
    assert "/api/v1/payments/health → 500" in run.step("smoke").error
    assert primary_target(world) == (ENDPOINT_A, world.health_a) and world.writer() == world.arn_a
    assert stack_file(tmp_path) == ORIGINAL_STACK_FILE


@pytest.mark.parametrize("args, named", [
    (["--set", "drRegion=eu-west-1"], "drRegion"),
    (["--set", "dns.zoneName=nope.example.org"], "dns.zoneName"),
    (["--set", "aurora.globalClusterId=ghost"], "aurora.globalClusterId"),
    (["--nodegroup", "dr-general"], "--nodegroup"),
    (["--smoke-url", "ftp://x"], "--base-url"),
    (["--execute"], "--yes"),
])
def test_bad_input_exits_2_and_changes_nothing(world: World, tmp_path: Path, faults, args: list[str],
                                               named: str) -> None:
    code, output = drctl(tmp_path, "failover", "--scale-with", "api", *args)
    assert code == 2 and named in output, output
    assert world.writer() == world.arn_a and world.instances(DR) == []


def test_pulumi_mode_plans_the_config_flip(world: World, tmp_path: Path) -> None:
    code, output = drctl(tmp_path, "failover", "--scale-with", "pulumi", "--json")
    assert code == 0, output
    planned = [c for s in journal(tmp_path, output).steps for c in s.would_call]
    assert "pulumi config set failover true --stack dr" in planned and "pulumi up --stack dr" in planned


def test_committed_change_sets_match_the_generator() -> None:
    for name, batch in change_sets(load_settings("dr", None)).items():
        assert (CHANGE_SET_DIR / name).read_text() == route53.render(batch), f"regenerate ops/dr/{name}"


def test_images_missing_from_b_stop_the_failover_before_anything_changes(world: World, tmp_path: Path,
                                                                        faults) -> None:
    ecr = client("ecr", DR)
    ecr.batch_delete_image(repositoryName="typesense/typesense", imageIds=[{"imageTag": "0.24.1"}])
    ecr.delete_repository(repositoryName="creator-platform/auth", force=True)

    code, output = drctl(tmp_path, "failover", "--scale-with", "api", "--execute", "--yes")
    assert code == 2, output
    assert "2 of 8 images are missing from us-west-2's ECR" in output
    assert "creator-platform/auth:1.0.0" in output and "typesense/typesense:0.24.1" in output
    assert "--allow-missing-images" in output
    assert world.writer() == world.arn_a and world.instances(DR) == [] and world.nodes_b() == 0
    assert primary_target(world) == (ENDPOINT_A, world.health_a)
    assert faults.calls("rds", "CreateDBInstance") == 0

    code, output = drctl(tmp_path, "failover", "--scale-with", "api", "--allow-missing-images", "--json")
    assert code == 0, output
    preflight = journal(tmp_path, output).step("preflight").result
    assert preflight["images_checked_b"] == 8  # the services, Typesense, the cluster autoscaler, drctl
    assert preflight["images_missing_b"] == ["creator-platform/auth:1.0.0", "typesense/typesense:0.24.1"]


def _subscribed_queue() -> tuple[str, str]:
    """An SNS topic in B with an SQS queue subscribed (raw delivery off: the queue gets SNS's JSON envelope)."""
    sns, sqs = client("sns", DR), client("sqs", DR)
    topic = sns.create_topic(Name="dr-platform-replication-alerts-us-west-2")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="comms")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    return topic, queue_url


def _notifications(queue_url: str) -> list[dict]:
    messages = client("sqs", DR).receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def test_notify_topic_hears_the_start_and_the_measured_end(world: World, tmp_path: Path, faults) -> None:
    topic, queue_url = _subscribed_queue()
    code, output = drctl(tmp_path, "failover", "--scale-with", "api", "--notify-topic", topic, "--json")
    assert code == 0, output
    planned = [c for s in journal(tmp_path, output).steps for c in s.would_call]
    assert f"sns:Publish(TopicArn={topic}, Subject='RB-N-01 region failover A->B: failing over to us-west-2 " \
           "(planned)')" in planned
    assert _notifications(queue_url) == []  # a dry run tells no one

    code, output = drctl(tmp_path, "failover", "--scale-with", "api", "--notify-topic", topic, "--execute", "--yes",
                         "--smoke-url", world.endpoint_b.url, "--json")
    assert code == 0, output
    run = journal(tmp_path, output)
    heard = sorted(_notifications(queue_url), key=lambda n: n["Timestamp"])
    assert [n["Subject"] for n in heard] == [
        "RB-N-01 region failover A->B: failing over to us-west-2 (planned)",
        f"RB-N-01 region failover A->B: us-west-2 serves, RTO {run.step('rto').result['rto_seconds']:g} s"]
    assert "switchover, no data loss" in heard[0]["Message"] and run.run_id in heard[0]["Message"]
    assert "(met)" in heard[1]["Message"] and "api.example.com now points at us-west-2" in heard[1]["Message"]

    code, output = drctl(tmp_path, "failback", "--notify-topic", topic, "--execute", "--yes", "--json")
    assert code == 0, output
    heard = sorted(_notifications(queue_url), key=lambda n: n["Timestamp"])
    assert [n["Subject"] for n in heard] == ["RB-N-01 failback B->A: failing back to us-east-1",
                                             "RB-N-01 failback B->A: us-east-1 serves again"]
    assert "us-west-2 stays warm for 24 h" in heard[1]["Message"]


@pytest.mark.parametrize(("text", "subject"), [
    ("RB-N-01 region failover A→B: started", "RB-N-01 region failover A->B: started"),
    ("two\nlines\tand  spaces", "two lines and spaces"),
    ("zażółć", "za????"),
    ("x" * 150, "x" * 99),
])
def test_subjects_are_one_line_of_ascii_under_100_characters(text: str, subject: str) -> None:
    assert sns.subject_line(text) == subject


def test_topic_region_comes_from_the_arn_and_a_fifo_topic_is_refused() -> None:
    assert sns.topic_region("arn:aws:sns:us-west-2:123456789012:dr-platform-replication-alerts-us-west-2") == DR
    with pytest.raises(ValueError, match="not a standard SNS topic ARN"):
        sns.topic_region("arn:aws:sns:us-west-2:123456789012:comms.fifo")


def test_a_malformed_notify_topic_exits_2_before_anything(world: World, tmp_path: Path, faults) -> None:
    code, output = drctl(tmp_path, "failover", "--scale-with", "api", "--notify-topic", "alerts", "--execute", "--yes")
    assert code == 2 and "--notify-topic" in output and "'alerts'" in output, output
    assert world.writer() == world.arn_a and faults.calls("rds", "SwitchoverGlobalCluster") == 0


def test_next_steps_name_the_master_secret_replica_in_b_when_it_is_there(world: World, tmp_path: Path) -> None:
    arn = client("secretsmanager", DR).create_secret(Name=f"{GLOBAL_ID}/master",
                                                      SecretString='{"username": "u", "password": "p"}')["ARN"]
    code, output = drctl(tmp_path, "failover", "--scale-with", "api", "--json")
    assert code == 0, output
    (next_step,) = journal(tmp_path, output).step("next-steps").result["next"]
    assert f"sslmode=verify-full' --source-secret {arn} --typesense" in next_step
