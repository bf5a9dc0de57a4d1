"""Create in moto's server the resources an offline plan declares, from their planned inputs, so a runbook test runs
on what the program would create rather than on a hand-built world; and write the plan's outputs as the `--outputs`
file a runbook reads, with every planned id (URL, ARN) replaced by the one moto gave.

`create_planned(plans, select)` creates the selected resources of one or more plans (a dr stack's queue names the
primary's secret: pass both), dependencies first, each input's planned ids replaced by the created ones. One
creator per resource type in CREATORS: a type without one is refused by name, so a test cannot silently run on
less than the plan says. Another runbook's test (CloudFront, say) adds its creators to CREATORS.

What moto cannot hold is left as the plan says and named in each creator: KMS key ids (moto's SQS and Secrets
Manager take any key id without checking it, so the planned ARNs stay); a queue's RedriveAllowPolicy (moto 5 has
no such attribute: not sent, the mock tests check the planned one).
"""
from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ops.actions.aws import client
from ops.drctl.planning.mockplan import Plan, PlannedResource, planned_outputs

PLACEHOLDER_SECRET = json.dumps({"note": "planned secret: the program generates the value"})


@functools.cache
def _client(service: str, region: str, endpoint: str) -> Any:
    return client(service, region)


def aws_client(service: str, region: str) -> Any:
    return _client(service, region, os.environ["AWS_ENDPOINT_URL"])


@dataclass
class Created:
    """Planned id → created id, for every id a created resource is known by (URL, ARN, replica ARNs)."""

    ids: dict[str, str] = field(default_factory=dict)

    def translate(self, value: Any) -> Any:
        """`value` with every planned id in it replaced, however deep (JSON policy strings included)."""
        if isinstance(value, str):
            for planned in sorted(self.ids, key=len, reverse=True):  # longest first: a URL before its ARN's tail
                value = value.replace(planned, self.ids[planned])
            return value
        if isinstance(value, dict):
            return {k: self.translate(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.translate(v) for v in value]
        return value


Creator = Callable[[PlannedResource, dict[str, Any], Created], dict[str, str]]


def _queue(r: PlannedResource, inputs: dict[str, Any], created: Created) -> dict[str, str]:
    attribute_of = {"kmsMasterKeyId": "KmsMasterKeyId", "kmsDataKeyReusePeriodSeconds": "KmsDataKeyReusePeriodSeconds",
                    "messageRetentionSeconds": "MessageRetentionPeriod", "redrivePolicy": "RedrivePolicy",
                    "visibilityTimeoutSeconds": "VisibilityTimeout", "delaySeconds": "DelaySeconds"}
    attributes = {attribute_of[k]: str(v) for k, v in inputs.items() if k in attribute_of}
    unknown = set(inputs) - set(attribute_of) - {"name", "tags", "tagsAll", "redriveAllowPolicy"}
    if unknown:
        raise NotImplementedError(f"{r.name}: queue inputs the harness does not create: {sorted(unknown)}")
    sqs = aws_client("sqs", str(r.region))
    url = sqs.create_queue(QueueName=inputs["name"], Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    planned = planned_outputs(r)
    return {planned["url"]: url, planned["arn"]: arn}


def _queue_policy(r: PlannedResource, inputs: dict[str, Any], created: Created) -> dict[str, str]:
    aws_client("sqs", str(r.region)).set_queue_attributes(QueueUrl=inputs["queueUrl"],
                                                          Attributes={"Policy": inputs["policy"]})
    return {}


def _parameter(r: PlannedResource, inputs: dict[str, Any], created: Created) -> dict[str, str]:
    aws_client("ssm", str(r.region)).put_parameter(
        Name=inputs["name"], Value=inputs["insecureValue"], Type=inputs["type"], Tier=inputs.get("tier", "Standard"),
        Description=inputs.get("description", ""))
    return {}


def _secret(r: PlannedResource, inputs: dict[str, Any], created: Created) -> dict[str, str]:
    """The secret with its replicas; its value is a placeholder (the plan masks the generated one)."""
    region = str(r.region)
    made = aws_client("secretsmanager", region).create_secret(
        Name=inputs["name"], KmsKeyId=inputs.get("kmsKeyId", ""), SecretString=PLACEHOLDER_SECRET,
        AddReplicaRegions=[{"Region": rep["region"], "KmsKeyId": rep.get("kmsKeyId", "")}
                           for rep in inputs.get("replicas", [])])
    planned = planned_outputs(r)["arn"]
    ids = {planned: made["ARN"]}
    for replica in inputs.get("replicas", []):  # a replica keeps the name and suffix; only the region differs
        ids[planned.replace(f":{region}:", f":{replica['region']}:", 1)] = \
            made["ARN"].replace(f":{region}:", f":{replica['region']}:", 1)
    return ids


def _email_identity(r: PlannedResource, inputs: dict[str, Any], created: Created) -> dict[str, str]:
    """SES v2 and v1 share identities (in AWS and in moto); moto verifies a domain at once, where AWS waits for the
    DKIM CNAMEs the plan declares next to it."""
    dkim = inputs.get("dkimSigningAttributes") or {}
    aws_client("sesv2", str(r.region)).create_email_identity(
        EmailIdentity=inputs["emailIdentity"],
        **({"DkimSigningAttributes": {"NextSigningKeyLength": dkim["nextSigningKeyLength"]}}
           if "nextSigningKeyLength" in dkim else {}))
    return {}


CREATORS: dict[str, Creator] = {
    "aws:sqs/queue:Queue": _queue,
    "aws:sqs/queuePolicy:QueuePolicy": _queue_policy,
    "aws:ssm/parameter:Parameter": _parameter,
    "aws:secretsmanager/secret:Secret": _secret,
    "aws:sesv2/emailIdentity:EmailIdentity": _email_identity,
}


def _dependencies_first(resources: list[PlannedResource]) -> list[PlannedResource]:
    by_urn = {r.urn: r for r in resources}
    ordered: list[PlannedResource] = []
    seen: set[str] = set()

    def visit(r: PlannedResource) -> None:
        if r.urn in seen:
            return
        seen.add(r.urn)
        for urn in r.dependencies:
            if urn in by_urn:
                visit(by_urn[urn])
        ordered.append(r)

    for r in resources:
        visit(r)
    return ordered


def create_planned(plans: Iterable[Plan], select: Callable[[PlannedResource], bool]) -> Created:
    """Create every selected resource of `plans` in moto (the endpoint in AWS_ENDPOINT_URL), in dependency order."""
    created = Created()
    chosen = [r for plan in plans for r in plan.resources if select(r)]
    for r in _dependencies_first(chosen):
        creator = CREATORS.get(r.type)
        if creator is None:
            raise NotImplementedError(f"no moto creator for {r.type} ({r.name}): add one to CREATORS")
        created.ids.update(creator(r, created.translate(r.inputs), created))
    return created


def write_outputs(plan: Plan, created: Created, path: Path) -> Path:
    """The plan's outputs as `pulumi stack output --json` prints them, with the created ids in place."""
    path.write_text(json.dumps(created.translate(plan.outputs), indent=2))
    return path
