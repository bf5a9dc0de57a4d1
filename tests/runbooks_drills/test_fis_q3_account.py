"""`drctl drill run Q3 --account` against moto's server, on the template the dr stack declares (warm standby): FIS
takes it (the harness holds moto to FIS's pod-target rules), the drill finds it by its tag in region B, injects
once, and records the pods it targeted in the sandbox drills' report format."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner

from ops.actions.aws import client
from ops.core import naming
from ops.drctl.cli import app
from ops.drctl.planning.mockplan import plan_stack

REGION = "us-west-2"  # Q3 injects into region B
TEMPLATE = "aws:fis/experimentTemplate:ExperimentTemplate"


def planned_q3() -> dict[str, Any]:
    """The dr stack's Q3 template as CreateExperimentTemplate takes it, from its planned inputs."""
    (template,) = [t for t in plan_stack("dr", ["posture=warm-standby"]).by_type(TEMPLATE)
                   if t.inputs["tags"][naming.FIS_DRILL_TAG] == "Q3"]
    inputs = template.inputs
    logs = inputs["logConfiguration"]
    return {
        "description": inputs["description"], "roleArn": inputs["roleArn"],
        "stopConditions": inputs["stopConditions"], "tags": inputs["tags"],
        "experimentOptions": inputs["experimentOptions"],
        "logConfiguration": {"logSchemaVersion": logs["logSchemaVersion"], "cloudWatchLogsConfiguration": {
            "logGroupArn": logs["cloudwatchLogsConfiguration"]["logGroupArn"]}},
        "targets": {t["name"]: {k: t[k] for k in ("resourceType", "selectionMode", "resourceArns", "parameters")
                                if k in t} for t in inputs["targets"]},
        "actions": {a["name"]: {"actionId": a["actionId"], "description": a["description"],
                                "parameters": {p["key"]: p["value"] for p in a.get("parameters") or []},
                                "targets": {a["target"]["key"]: a["target"]["value"]}}
                    for a in inputs["actions"]},
    }


@pytest.fixture
def q3(aws: str) -> dict[str, Any]:
    spec = planned_q3()
    (stop,) = spec["stopConditions"]
    alarm = stop["value"].split(":alarm:", 1)[1]
    # moto has no composite alarms: a metric alarm of the composite's name stands in for it
    cloudwatch = client("cloudwatch", REGION)
    cloudwatch.put_metric_alarm(AlarmName=alarm, Namespace="CloudWatchSynthetics", MetricName="SuccessPercent",
                                Statistic="Average", Period=300, EvaluationPeriods=1, Threshold=90,
                                ComparisonOperator="LessThanThreshold")
    cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="region A answers")
    made = client("fis", REGION).create_experiment_template(clientToken="q3", **spec)["experimentTemplate"]
    return {"template": made, "alarm": alarm}


def drill(tmp_path: Path, *args: str):
    return CliRunner().invoke(app, ["drill", "run", "Q3", "--account", "--poll", "0.01", "--timeout", "20",
                                    "--report-dir", str(tmp_path / "reports"), "--journal-dir",
                                    str(tmp_path / "runs"), *args])


def experiments(template_id: str) -> list[dict]:
    return client("fis", REGION).list_experiments(experimentTemplateId=template_id)["experiments"]


def test_the_dry_run_finds_bs_template_and_names_the_pods_it_would_delete(tmp_path: Path, q3: dict) -> None:
    result = drill(tmp_path, "--json")
    assert result.exit_code == 0, result.output
    steps = {s["name"]: s for s in json.loads(result.output[result.output.index('{\n  "run_id"'):])["steps"]}
    assert steps["preflight"]["result"]["template_id"] == q3["template"]["id"]
    (start,) = steps["start"]["would_call"]
    assert ("typesense-pods-deleted: aws:eks:pod-delete on typesense-pods (aws:eks:pod, ALL: "
            "clusterIdentifier=platform-us-west-2, namespace=platform, selectorType=labelSelector, "
            "selectorValue=app.kubernetes.io/name=typesense)") in start
    assert experiments(q3["template"]["id"]) == []


def test_execute_deletes_the_pods_once_and_records_them_as_evidence(tmp_path: Path, q3: dict) -> None:
    result = drill(tmp_path, "--execute", "--yes")
    assert result.exit_code == 0, result.output
    (experiment,) = experiments(q3["template"]["id"])
    assert experiment["state"]["status"] == "completed"
    (md,) = (tmp_path / "reports").glob("*-Q3.md")
    text = md.read_text()
    assert "- Origin: real AWS account" in text
    assert f"template {q3['template']['id']} in {REGION}: completed" in text
    assert ("- Targets: typesense-pods (aws:eks:pod, ALL: clusterIdentifier=platform-us-west-2, namespace=platform, "
            "selectorType=labelSelector, selectorValue=app.kubernetes.io/name=typesense)") in text
    assert "| fis/typesense-pods-deleted |" in text and f"{q3['alarm']} OK" in text
    (run,) = json.loads(md.with_suffix(".json").read_text())["runs"]
    assert run["scenario"] == "Q3" and run["origin"] == "aws" and run["measured"]["fis"]["region"] == REGION


def test_region_a_lost_refuses_the_drill(tmp_path: Path, q3: dict) -> None:
    """B's canary in ALARM: B's search is needed, so the drill must not take it down."""
    client("cloudwatch", REGION).set_alarm_state(AlarmName=q3["alarm"], StateValue="ALARM",
                                                 StateReason="region A does not answer")
    result = drill(tmp_path, "--execute", "--yes")
    assert result.exit_code == 1 and "not in steady state" in result.output
    assert experiments(q3["template"]["id"]) == []


@pytest.mark.parametrize(("change", "refused"), [
    # aws:eks:pod targets are identified by their parameters, never by ARNs or tags
    (lambda s: s["targets"]["typesense-pods"].update(
        resourceArns=["arn:aws:eks:us-west-2:123456789012:cluster/platform-us-west-2"]), "resource ARNs or tags"),
    (lambda s: s["targets"]["typesense-pods"]["parameters"].pop("selectorValue"), "missing required parameters "
                                                                                  "selectorValue"),
    (lambda s: s["actions"]["typesense-pods-deleted"]["parameters"].pop("kubernetesServiceAccount"),
     "missing required parameter kubernetesServiceAccount"),
])
def test_fis_refuses_a_pod_fault_template_that_breaks_its_rules(aws: str, change, refused: str) -> None:
    spec = planned_q3()
    change(spec)
    with pytest.raises(ClientError) as raised:
        client("fis", REGION).create_experiment_template(clientToken="bad", **spec)
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert refused in raised.value.response["Error"]["Message"]
