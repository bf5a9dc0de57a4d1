"""parliament (AWS's IAM action database) over every policy document of both stacks in every posture × failover
state, and over the operator policy: unknown actions, resources an action does not accept and condition keys an
action does not support fail here, where the mock runtime and IAM itself would accept them. Run in the tests, not
in each plan: the offline plan keeps its benchmark."""
from __future__ import annotations

import copy
import itertools
import json

import pytest

from ops.core.posture import Posture
from ops.drctl.planning.mockplan import Plan, plan_stack
from stacks.config_files import load_stack_settings, shipped_stacks
from stacks.settings import PROJECT_DIR, Role
from tests.iam_lint.lint import (ALLOWED, Document, file_documents, lint, lint_all, plan_documents, role_arn,
                                 subjects)

OPERATOR_POLICIES = PROJECT_DIR / "ops" / "dr" / "iam"


@pytest.fixture(scope="module")
def plans() -> list[Plan]:
    """Every shipped stack (production's pair and stage's): a primary once, a dr stack in every variant."""
    stacks = shipped_stacks()
    primaries = [s for s in stacks if load_stack_settings(s).role is Role.PRIMARY]
    return [*(plan_stack(s) for s in primaries),
            *(plan_stack(s, [f"posture={p.value}", f"failover={str(f).lower()}"])
              for s in stacks if s not in primaries for p, f in itertools.product(Posture, (False, True)))]


def test_the_lint_covers_every_shipped_stack(plans: list[Plan]) -> None:
    assert {plan.stack for plan in plans} == {"primary", "dr", "stage-primary", "stage-dr"} == set(shipped_stacks())


@pytest.fixture(scope="module")
def documents(plans: list[Plan]) -> list[Document]:
    return [d for plan in plans for d in plan_documents(plan)] + list(file_documents(OPERATOR_POLICIES))


def test_the_walk_finds_every_kind_of_document_the_plans_declare(plans: list[Plan], documents: list) -> None:
    """If a component adds a policy of a kind not seen before, it is linted too; this pins what is there now."""
    kinds = {" ".join(d.where.split()[1:2] + d.where.split()[3:]) for d in documents if not d.where.startswith("/")}
    assert kinds == {"aws:iam/role:Role assumeRolePolicy", "aws:iam/role:Role inlinePolicies.0.policy",
                     "aws:iam/rolePolicy:RolePolicy policy", "aws:kms/key:Key policy",
                     "aws:kms/keyPolicy:KeyPolicy policy", "aws:s3/bucketPolicy:BucketPolicy policy",
                     "aws:iam/userPolicy:UserPolicy policy", "aws:sns/topicPolicy:TopicPolicy policy",
                     "aws:sqs/queuePolicy:QueuePolicy policy"}
    roles = sum(len(plan.by_type("aws:iam/role:Role")) for plan in plans)
    assert sum(d.where.endswith(" assumeRolePolicy") for d in documents) == roles  # every role's trust policy
    assert any(d.where.endswith("drctl-operator-policy.json") for d in documents)


def test_every_declared_policy_passes_parliament(documents: list[Document]) -> None:
    findings = lint_all(documents)
    assert findings == [], "\n".join(map(str, findings))


def test_every_allowed_finding_is_explained_and_still_needed(documents: list[Document]) -> None:
    assert all(reason.strip() for reason in ALLOWED.values())
    from parliament import analyze_policy_string

    raised = {(f.issue, subject) for d in documents for f in analyze_policy_string(json.dumps(d.policy)).findings
              for subject in subjects(f.issue, f.detail)}
    assert set(ALLOWED) <= raised  # an entry nothing needs is a hole nobody remembers opening


def statement(**fields) -> Document:
    return Document("test", {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **fields}]})


BUCKET = "arn:aws:s3:::creator-media-us-west-2"
KEY = "arn:aws:kms:us-west-2:123456789012:key/mrk-1"


@pytest.mark.parametrize(("document", "issue", "subject"), [
    (statement(Action="s3:GetObjectVersionForReplicaton", Resource=f"{BUCKET}/*"),  # misspelled
     "UNKNOWN_ACTION", None),
    (statement(Action="s3e:ReplicateObject", Resource=f"{BUCKET}/*"), "UNKNOWN_PREFIX", None),
    (statement(Action="s3:ReplicateObject", Resource=BUCKET),  # objects live under {bucket}/*, not the bucket
     "RESOURCE_MISMATCH", "s3:ReplicateObject"),
    (statement(Action="s3:ReplicateObject", Resource=f"{BUCKET}/*",  # a KMS key on an S3 action never matches
               Condition={"StringEquals": {"kms:ViaService": "s3.us-west-2.amazonaws.com"}}),
     "UNKNOWN_CONDITION_FOR_ACTION", "s3:ReplicateObject kms:ViaService"),
    (statement(Action="kms:Decrypt", Resource=KEY,
               Condition={"StringLike": {"kms:EncryptionContext:aws:s3:arn": [BUCKET]},
                          "Bool": {"kms:GrantIsForAWSResource": "true"}}),  # only grant operations carry it
     "UNKNOWN_CONDITION_FOR_ACTION", "kms:Decrypt kms:GrantIsForAWSResource"),
    (statement(Action="kms:Decrypt", Resource=KEY, Condition={"StringEqualz": {"kms:ViaService": "x"}}),
     "UNKNOWN_OPERATOR", None),
])
def test_the_lint_catches_each_class_of_mistake(document: Document, issue: str, subject: str | None) -> None:
    found = lint(document)
    assert issue in {f.issue for f in found}, found
    if subject:
        assert any(subject in f.subjects for f in found if f.issue == issue)


def test_a_mistake_in_a_planned_policy_fails_naming_the_resource(plans: list[Plan]) -> None:
    plan = copy.deepcopy(plans[0])
    policy_resource = plan.one("aws:iam/rolePolicy:RolePolicy", "replication-creator-media-a-to-b-policy")
    policy = json.loads(policy_resource.inputs["policy"])
    policy["Statement"][1]["Action"][0] = "s3:GetObjectVersionForReplicaton"
    policy_resource.inputs["policy"] = json.dumps(policy)
    findings = lint_all(list(plan_documents(plan)))
    assert [(f.where, f.issue) for f in findings] == [
        ("primary aws:iam/rolePolicy:RolePolicy replication-creator-media-a-to-b-policy policy", "UNKNOWN_ACTION")]


def test_a_trust_policy_is_checked_against_the_role_it_sits_on(plans: list[Plan]) -> None:
    plan = copy.deepcopy(plans[0])
    role = plan.one("aws:iam/role:Role", "backup-role")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    trust["Statement"][0]["Action"] = "sts:AssumeRoleWithWebIdentiy"
    role.inputs["assumeRolePolicy"] = json.dumps(trust)
    (document,) = [d for d in plan_documents(plan) if d.where.endswith("backup-role assumeRolePolicy")]
    assert document.policy["Statement"][0]["Resource"] == role_arn(role.inputs.get("name") or role.name)
    assert [f.issue for f in lint(document)] == ["UNKNOWN_ACTION"]


def test_every_region_switch_action_is_one_aws_documents(documents: list[Document]) -> None:
    """parliament cannot check arc-region-switch actions (ALLOWED): a misspelt one must still fail here."""
    from tests.iam_lint.lint import ARC_REGION_SWITCH_ACTIONS

    used = set()
    for document in documents:
        for stmt in document.policy["Statement"] if isinstance(document.policy["Statement"], list) else []:
            actions = stmt.get("Action", [])
            used |= {a for a in ([actions] if isinstance(actions, str) else actions)
                     if a.startswith("arc-region-switch:")}
    assert used and used <= ARC_REGION_SWITCH_ACTIONS, sorted(used - ARC_REGION_SWITCH_ACTIONS)
