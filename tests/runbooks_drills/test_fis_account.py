"""`drctl drill run Q2 --account` against moto's server: the template found by its tag, dry-run by default, one
experiment per run however often it is resumed, a stop condition that fires stops it and fails the drill, and the
evidence written in the sandbox drills' report format."""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
import requests
from typer.testing import CliRunner

from ops.actions.aws import client
from ops.core import naming
from ops.drctl.cli import app

REGION = "us-east-1"  # Q2 injects into region A
ALARM = "dr-platform-q2-drill-stop-us-east-1"


@pytest.fixture
def template(aws: str) -> dict:
    cloudwatch = client("cloudwatch", REGION)
    cloudwatch.put_metric_alarm(AlarmName=ALARM, Namespace="AWS/S3", MetricName="ReplicationLatency",
                                Statistic="Maximum", Period=60, EvaluationPeriods=1, Threshold=150,
                                ComparisonOperator="GreaterThanThreshold")
    cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue="OK", StateReason="steady")
    alarm_arn = cloudwatch.describe_alarms(AlarmNames=[ALARM])["MetricAlarms"][0]["AlarmArn"]
    fis = client("fis", REGION)
    fis.create_experiment_template(  # a decoy of another drill first: the tag decides
        clientToken="decoy", description="another", roleArn="arn:aws:iam::123456789012:role/x",
        stopConditions=[{"source": "none"}], actions={"a": {"actionId": "aws:fis:wait", "parameters":
                                                             {"duration": "PT1M"}}},
        tags={naming.FIS_DRILL_TAG: "Q9"})
    made = fis.create_experiment_template(
        clientToken="q2", description="Q2 drill", roleArn="arn:aws:iam::123456789012:role/dr-platform-fis-q2",
        stopConditions=[{"source": "aws:cloudwatch:alarm", "value": alarm_arn}],
        targets={"aurora-cluster": {"resourceType": "aws:rds:cluster", "selectionMode": "ALL",
                                    "resourceArns": ["arn:aws:rds:us-east-1:123456789012:cluster:dr-core-us-east-1"]}},
        actions={"aurora-writer-fails-over": {"actionId": "aws:rds:failover-db-cluster",
                                              "targets": {"Clusters": "aurora-cluster"}}},
        tags={naming.FIS_DRILL_TAG: "Q2"})["experimentTemplate"]
    yield made
    requests.post(f"{aws}/moto-api/state-manager/unset-transition", json={"model_name": "fis::experiment"},
                  timeout=10)


def drill(tmp_path: Path, *args: str):
    return CliRunner().invoke(app, ["drill", "run", "Q2", "--account", "--poll", "0.01", "--timeout", "20",
                                    "--report-dir", str(tmp_path / "reports"), "--journal-dir",
                                    str(tmp_path / "runs"), *args])


def experiments(template_id: str) -> list[dict]:
    return client("fis", REGION).list_experiments(experimentTemplateId=template_id)["experiments"]


def journal_of(output: str) -> dict:
    return json.loads(output[output.index('{\n  "run_id"'):])


def test_dry_run_reads_the_template_and_starts_nothing(tmp_path: Path, template: dict) -> None:
    result = drill(tmp_path, "--json")
    assert result.exit_code == 0, result.output
    steps = {s["name"]: s for s in journal_of(result.output)["steps"]}
    assert steps["preflight"]["state"] == "done" and steps["preflight"]["result"]["template_id"] == template["id"]
    assert steps["preflight"]["result"]["stop_alarms"] == {template["stopConditions"][0]["value"]: "OK"}
    (start,) = steps["start"]["would_call"]
    assert start.startswith(f"fis:StartExperiment experimentTemplateId={template['id']} clientToken=drctl-drill-Q2-")
    assert "aurora-writer-fails-over: aws:rds:failover-db-cluster on aurora-cluster" in start
    assert {s["state"] for name, s in steps.items() if name != "preflight"} == {"planned"}
    assert experiments(template["id"]) == [] and not (tmp_path / "reports").exists()


def test_execute_runs_the_experiment_to_completion_and_records_it_as_evidence(tmp_path: Path,
                                                                              template: dict) -> None:
    result = drill(tmp_path, "--execute", "--yes")
    assert result.exit_code == 0, result.output
    (experiment,) = experiments(template["id"])
    assert experiment["state"]["status"] == "completed"
    (md,) = (tmp_path / "reports").glob("*-Q2.md")
    text = md.read_text()
    assert "- Origin: real AWS account" in text and f"AWS FIS experiment {experiment['id']}" in text
    assert f"template {template['id']} in {REGION}: completed" in text and "steady state restored" in text
    assert "| fis/aurora-writer-fails-over |" in text and "Measured RTO, RPO: not measured" in text
    (run,) = json.loads(md.with_suffix(".json").read_text())["runs"]
    assert run["origin"] == "aws" and run["status"] == "done" and run["measured"]["fis"]["status"] == "completed"
    assert (tmp_path / "reports" / f"{md.stem}-{run['run_id']}.png").stat().st_size > 0

    # resuming the run follows the same experiment again (same client token): nothing is injected twice
    again = CliRunner().invoke(app, ["drill", "run", "Q2", "--resume", run["run_id"], "--yes", "--journal-dir",
                                     str(tmp_path / "runs")])
    assert again.exit_code == 0, again.output
    assert len(experiments(template["id"])) == 1


def test_a_stop_condition_firing_stops_the_experiment_and_fails_the_drill(aws: str, tmp_path: Path,
                                                                         template: dict) -> None:
    # the experiment never finishes by itself: only the stop condition ends it
    requests.post(f"{aws}/moto-api/state-manager/set-transition", timeout=10, json={
        "model_name": "fis::experiment", "transition": {"progression": "manual", "times": 10**9}}).raise_for_status()
    cloudwatch = client("cloudwatch", REGION)

    def breach_then_recover() -> None:
        deadline = time.time() + 15
        while not experiments(template["id"]) and time.time() < deadline:
            time.sleep(0.02)
        cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue="ALARM", StateReason="replication lags")
        while experiments(template["id"])[0]["state"]["status"] != "stopped" and time.time() < deadline:
            time.sleep(0.02)
        cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue="OK", StateReason="caught up")

    breach = threading.Thread(target=breach_then_recover)
    breach.start()
    result = drill(tmp_path, "--execute", "--yes")
    breach.join()
    assert result.exit_code == 1, result.output
    (experiment,) = experiments(template["id"])
    assert experiment["state"]["status"] == "stopped" and ALARM in experiment["state"]["reason"]
    (md,) = (tmp_path / "reports").glob("*-Q2.md")
    text = md.read_text()
    assert "- Status: failed" in text and f"{ALARM} ALARM" not in text.split("after:")[1].split(";")[0]
    assert f"stopped (Experiment stopped by stop condition" in text


def test_an_alarm_already_in_alarm_refuses_to_start(tmp_path: Path, template: dict) -> None:
    client("cloudwatch", REGION).set_alarm_state(AlarmName=ALARM, StateValue="ALARM", StateReason="lagging")
    result = drill(tmp_path, "--execute", "--yes", "--json")
    assert result.exit_code == 1
    error = journal_of(result.output)["error"]
    assert "step preflight failed" in error and "not in steady state" in error and ALARM in error
    assert experiments(template["id"]) == []


def test_a_scenario_fis_cannot_inject_or_a_missing_template_is_bad_input(aws: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["drill", "run", "Q1", "--account"])
    assert result.exit_code == 2 and "Q1 and Q4 are data faults" in result.output
    result = CliRunner().invoke(app, ["drill", "run", "Q2", "--execute", "--yes"])  # the sandbox changes nothing real
    assert result.exit_code == 2 and "they go with --account" in result.output
    result = drill(tmp_path, "--execute", "--yes")
    assert result.exit_code == 2 and f"0 FIS experiment templates tagged {naming.FIS_DRILL_TAG}=Q2" in result.output


def test_stage_and_production_templates_in_one_region_are_told_apart(tmp_path: Path, template: dict) -> None:
    """The stage pair's Q2 template sits in production's region with the same drill tag: `--stack stage-dr` finds
    stage's (tagged environment: stage), the default finds production's, neither sees two."""
    fis = client("fis", REGION)
    stage = fis.create_experiment_template(
        clientToken="q2-stage", description="Q2 drill (stage)", roleArn="arn:aws:iam::123456789012:role/x",
        stopConditions=[{"source": "aws:cloudwatch:alarm", "value": template["stopConditions"][0]["value"]}],
        actions={"a": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT1M"}}},
        tags={naming.FIS_DRILL_TAG: "Q2", "environment": "stage"})["experimentTemplate"]
    for args, expected in (((), template["id"]), (("--stack", "stage-dr"), stage["id"])):
        result = drill(tmp_path, "--json", *args)
        assert result.exit_code == 0, result.output
        steps = {s["name"]: s for s in journal_of(result.output)["steps"]}
        assert steps["preflight"]["result"]["template_id"] == expected, args
