"""Every IAM document the offline plan declares (and ops/dr/iam/), checked by parliament against AWS's own action
database: an action that does not exist, a resource ARN an action does not accept, a condition key an action does
not support. The mocks accept all of these; IAM accepts them too (it does not validate), and the permission then
silently never applies: replication that never runs, a key nobody can use.

A document is any input that parses as a policy (a JSON object with a Statement), wherever it sits: a role's trust
and inline policies, role and managed policies, key policies, bucket, topic, repository and secret policies, and
whatever a component adds later. Trust policies name no Resource (the role they sit on is it), so the role's ARN is
supplied before parliament sees them. Key policies keep their "*" (in a key policy it means the key itself).
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parliament import analyze_policy_string

from ops.drctl.planning.mockplan import ACCOUNT, Plan

# What fails the lint: parliament's findings that mean a statement does not do what it says.
FAILING = {
    "UNKNOWN_ACTION", "UNKNOWN_PREFIX",  # no such action or service
    "RESOURCE_MISMATCH",  # no resource of the action's types matches the ARNs named
    "UNKNOWN_CONDITION_FOR_ACTION",  # the action's requests never carry that key: the condition never holds
    "UNKNOWN_OPERATOR", "MISMATCHED_TYPE",  # a condition operator that is not one, or of the key's wrong type
    "MALFORMED", "MALFORMED_JSON", "INVALID_ARN", "EXCEPTION",  # parliament could not read it: nothing checked
}

# Findings parliament reports although AWS accepts the statement, keyed (issue, subject) as `subjects` names them,
# each with why. An entry must be a proven gap in parliament's database, naming the AWS page that shows it; an entry
# no document needs any more fails the tests.
ALLOWED: dict[tuple[str, str], str] = {
    ("UNKNOWN_PREFIX", "Unknown prefix arc-region-switch"):
        "ARC Region switch (2025) postdates parliament's database; its actions are listed in the Service "
        "Authorization Reference, 'Actions, resources, and condition keys for Amazon ARC Region switch'. "
        "ARC_REGION_SWITCH_ACTIONS below checks the action names instead.",
}
# The actions of that page the plan's roles and drctl verify use (tests/iam_lint/test_iam_lint.py checks every one
# used is here). ListServiceQuotaWarnings is the API's operation of that name (botocore's model, 2026), named by
# IAM's same-name rule: the version of the page read predates service quota checks.
ARC_REGION_SWITCH_ACTIONS = frozenset({
    "arc-region-switch:ApprovePlanExecutionStep", "arc-region-switch:GetPlan", "arc-region-switch:GetPlanExecution",
    "arc-region-switch:ListPlanExecutions", "arc-region-switch:GetPlanEvaluationStatus",
    "arc-region-switch:GetPlanInRegion", "arc-region-switch:ListPlansInRegion", "arc-region-switch:StartPlanExecution",
    "arc-region-switch:ListServiceQuotaWarnings"})

ROLE = "aws:iam/role:Role"
TRUST_POLICY_KEY = "assumeRolePolicy"


@dataclass(frozen=True)
class Document:
    where: str  # "<stack> <type> <name> <input path>"
    policy: dict[str, Any]


@dataclass(frozen=True)
class Finding:
    where: str
    issue: str
    detail: str
    subjects: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.where}: {self.issue} {self.detail}"


def _documents_in(value: Any, path: list[str]) -> Iterator[tuple[list[str], dict[str, Any]]]:
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return
        if isinstance(parsed, dict) and "Statement" in parsed:
            yield path, parsed
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _documents_in(item, [*path, str(key)])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _documents_in(item, [*path, str(index)])


def role_arn(role_name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{role_name}"


def with_trusting_role(policy: dict[str, Any], arn: str) -> dict[str, Any]:
    """A trust policy governs sts:AssumeRole* on its own role: name it, so actions and conditions are checked."""
    statements = policy["Statement"] if isinstance(policy["Statement"], list) else [policy["Statement"]]
    return {**policy, "Statement": [s if "Resource" in s or "NotResource" in s else {**s, "Resource": arn}
                                    for s in statements]}


def plan_documents(plan: Plan) -> Iterator[Document]:
    for resource in plan.resources:
        for path, policy in _documents_in(resource.inputs, []):
            if resource.type == ROLE and path == [TRUST_POLICY_KEY]:
                policy = with_trusting_role(policy, role_arn(resource.inputs.get("name") or resource.name))
            yield Document(f"{plan.stack} {resource.type} {resource.name} {'.'.join(path)}", policy)


def file_documents(directory: Path) -> Iterator[Document]:
    for path in sorted(directory.glob("*.json")):
        yield Document(str(path), json.loads(path.read_text()))


UNKNOWN_CONDITION = re.compile(r"^Unknown condition (?P<key>\S+) for action (?P<action>\S+)$")


def subjects(issue: str, detail: Any) -> tuple[str, ...]:
    """What a finding is about, as ALLOWED names it: an action, or "action condition-key"."""
    if issue == "RESOURCE_MISMATCH" and isinstance(detail, list):
        return tuple(item["action"] for item in detail)
    if issue == "UNKNOWN_CONDITION_FOR_ACTION" and (match := UNKNOWN_CONDITION.match(str(detail))):
        return (f"{match['action']} {match['key']}",)
    return (str(detail),)


def lint(document: Document) -> list[Finding]:
    """parliament's findings of the FAILING classes, less those ALLOWED names."""
    analyzed = analyze_policy_string(json.dumps(document.policy))
    found = []
    for finding in analyzed.findings:
        if finding.issue not in FAILING:
            continue
        about = subjects(finding.issue, finding.detail)
        unexplained = tuple(subject for subject in about if (finding.issue, subject) not in ALLOWED)
        if unexplained:
            found.append(Finding(document.where, finding.issue, json.dumps(finding.detail, default=str), unexplained))
    return found


def lint_all(documents: list[Document]) -> list[Finding]:
    """Identical documents (the same role in six dr plans) are checked once, reported at their first place."""
    findings: list[Finding] = []
    seen: set[str] = set()
    for document in documents:
        text = json.dumps(document.policy, sort_keys=True)
        if text not in seen:
            seen.add(text)
            findings.extend(lint(document))
    return findings
