"""RB-N-07 on what the program creates: the dr stack's queue, dead-letter queue, parameters and identity and the
primary's replicated credentials secret are created in moto from the offline plan's inputs
(tests/harness/plan_resources.py), the plan's outputs become the `--outputs` file, and `drctl ses-failover` finds
every name there (no --queue, --secret, --config-prefix or --sender given)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from ops.drctl.planning.mockplan import Plan, PlannedResource, plan_stack
from tests.harness.plan_resources import create_planned, write_outputs
from tests.runbooks_data_restore.conftest import DR, PRIMARY, aws_client, drctl, journal

FAST = ["--receive-wait", "0", "--poll", "0.05", "--timeout", "60"]
RUNBOOK_TYPES = {"aws:sqs/queue:Queue", "aws:sqs/queuePolicy:QueuePolicy", "aws:ssm/parameter:Parameter",
                 "aws:sesv2/emailIdentity:EmailIdentity"}


@pytest.fixture(scope="module")
def plans() -> tuple[Plan, Plan]:
    return plan_stack("primary"), plan_stack("dr")


def email_parts(r: PlannedResource) -> bool:
    """What the runbook reads: B's queue, DLQ, their policies, the parameters and B's identity (dr stack), and the
    SES credentials secret (primary stack, replicated to B)."""
    if r.type == "aws:secretsmanager/secret:Secret":
        return r.inputs.get("name") == "dr-platform/ses-credentials"
    return r.type in RUNBOOK_TYPES and r.region == DR


@pytest.fixture
def from_plan(aws: str, plans: tuple[Plan, Plan], tmp_path: Path) -> Path:
    primary, dr = plans
    created = create_planned([primary, dr], email_parts)
    return write_outputs(dr, created, tmp_path / "dr-outputs.json")


def test_the_created_queues_are_what_the_plan_declares(from_plan: Path) -> None:
    outputs = json.loads(from_plan.read_text())
    queues = aws_client("sqs", DR)
    attributes = queues.get_queue_attributes(QueueUrl=outputs["sesQueueUrl"], AttributeNames=["All"])["Attributes"]
    assert json.loads(attributes["RedrivePolicy"]) == {"deadLetterTargetArn": outputs["sesDeadLetterQueueArn"],
                                                       "maxReceiveCount": 10}
    assert attributes["KmsMasterKeyId"].startswith(f"arn:aws:kms:{DR}:")
    assert json.loads(attributes["Policy"])["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    dead_letter = queues.get_queue_attributes(QueueUrl=outputs["sesDeadLetterQueueUrl"],
                                              AttributeNames=["All"])["Attributes"]
    assert int(dead_letter["MessageRetentionPeriod"]) > int(attributes["MessageRetentionPeriod"])
    replica = aws_client("secretsmanager", DR).describe_secret(SecretId=outputs["sesCredentialsSecretName"])
    assert replica["ARN"] == outputs["sesCredentialsSecretArn"]  # the outputs name the replica moto made


def test_dry_run_reads_queue_parameters_secret_and_sender_from_the_outputs(from_plan: Path, tmp_path: Path) -> None:
    outputs = json.loads(from_plan.read_text())
    code, output = drctl(tmp_path, "ses-failover", *FAST, "--outputs", str(from_plan), "--json")
    assert code == 0, output
    run = journal(output)
    assert run.status == "planned"
    assert run.params["queue"] == "critical-notifications-failed" and run.params["sender"] == "no-reply@example.com"
    assert run.params["dead_letter_queue"] == "critical-notifications-dlq"
    assert run.step("preflight").result["queue_url"] == outputs["sesQueueUrl"]
    secret_b = outputs["sesCredentialsSecretArn"]
    assert run.step("switch").would_call == [
        f"ssm:PutParameter(Name=/dr-platform/ses/region, Value={DR}, Overwrite=true) unless equal",
        f"ssm:PutParameter(Name=/dr-platform/ses/credentials-secret-arn, Value={secret_b}, Overwrite=true) unless equal"]


def test_execute_moves_the_planned_parameters_from_a_to_b_and_drains_the_planned_queue(
        from_plan: Path, tmp_path: Path) -> None:
    outputs = json.loads(from_plan.read_text())
    ssm = aws_client("ssm", DR)

    def parameters() -> dict[str, str]:
        return {p["Name"]: p["Value"] for p in ssm.get_parameters_by_path(Path="/dr-platform/ses")["Parameters"]}

    secret_a = aws_client("secretsmanager", PRIMARY).describe_secret(SecretId="dr-platform/ses-credentials")["ARN"]
    assert parameters() == {"/dr-platform/ses/region": PRIMARY,  # the plan's initial values: A sends
                            "/dr-platform/ses/credentials-secret-arn": secret_a}
    queues = aws_client("sqs", DR)
    for n in range(3):
        queues.send_message(QueueUrl=outputs["sesQueueUrl"], MessageBody=json.dumps({
            "id": f"n-{n}", "from": outputs["sesSender"], "to": [f"user{n}@customer.test"], "subject": f"Receipt {n}",
            "body_text": "paid"}))
    code, output = drctl(tmp_path, "ses-failover", *FAST, "--start-rate", "20", "--outputs", str(from_plan),
                         "--execute", "--yes", "--json")
    assert code == 0, output
    assert parameters() == {"/dr-platform/ses/region": DR,
                            "/dr-platform/ses/credentials-secret-arn": outputs["sesCredentialsSecretArn"]}
    assert journal(output).step("resend").result["sent"] == 3


def test_an_explicit_option_wins_and_a_missing_output_names_option_and_output(from_plan: Path,
                                                                              tmp_path: Path) -> None:
    code, output = drctl(tmp_path, "ses-failover", *FAST, "--outputs", str(from_plan), "--queue", "elsewhere",
                         "--json")
    assert code == 2 and "--queue elsewhere: no such queue in us-west-2" in output, output
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({k: v for k, v in json.loads(from_plan.read_text()).items() if k != "sesQueueName"}))
    code, output = drctl(tmp_path, "ses-failover", *FAST, "--outputs", str(partial))
    assert code == 2 and "--queue not given and the stack output 'sesQueueName' is not in --outputs" in output, output
