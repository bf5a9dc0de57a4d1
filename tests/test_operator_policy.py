"""The committed operator policy: well-formed, no wildcard, and no permission the runbooks have no use for. (That it
allows every call a runbook makes is checked after each AWS test by the `runbook_calls` fixture.)"""
from __future__ import annotations

import json
import re
from pathlib import Path

from ops.core.paths import REPO_ROOT
from tests.harness.operator_policy import PERMISSIONS, POLICY_PATH, allowed_actions, not_allowed, permissions

SOURCES = REPO_ROOT / "ops"
# Used by AWS services on the operator's behalf, not called by drctl: grants for restoring encrypted clusters and
# tables, data keys for publishing to encrypted topics/queues/tables.
ON_BEHALF = {"kms:CreateGrant", "kms:DescribeKey", "kms:Decrypt", "kms:GenerateDataKey"}


def _snake(operation: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", operation).lower()


def test_policy_is_well_formed_and_names_each_action_exactly() -> None:
    policy = json.loads(POLICY_PATH.read_text())
    assert policy["Version"] == "2012-10-17"
    sids = [s["Sid"] for s in policy["Statement"]]
    assert len(sids) == len(set(sids))
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow" and statement["Resource"] == "*"
        assert statement["Action"] == sorted(set(statement["Action"])), statement["Sid"]
        for action in statement["Action"]:
            assert re.fullmatch(r"[a-z0-9-]+:[A-Z][A-Za-z0-9]+", action), action  # no wildcards


def test_every_permission_is_one_drctl_uses() -> None:
    code = "\n".join(path.read_text() for path in SOURCES.rglob("*.py"))
    mapped = {permission for needed in PERMISSIONS.values() for permission in needed}
    unused = [action for action in sorted(allowed_actions())
              if action not in ON_BEHALF | mapped and f"{_snake(action.split(':', 1)[1])}" not in code]
    assert unused == []


def test_permissions_follow_iam_names_where_they_differ_from_the_api() -> None:
    assert permissions("s3", "ListObjectVersions") == ("s3:ListBucketVersions",)
    assert permissions("s3", "DeleteObject") == ("s3:DeleteObjectVersion",)
    assert permissions("rds", "SwitchoverGlobalCluster") == ("rds:SwitchoverGlobalCluster",)
    assert permissions("sesv2", "SendEmail") == ("ses:SendEmail",)
    assert "dynamodb:BatchWriteItem" in permissions("dynamodb", "RestoreTableToPointInTime")


def test_a_call_outside_the_policy_is_named_with_the_permission_it_lacks() -> None:
    policy = {"Statement": [{"Effect": "Allow", "Action": ["rds:DescribeDBClusters"], "Resource": "*"}]}
    assert not_allowed([("rds", "DescribeDBClusters")], policy) == []
    assert not_allowed([("rds", "DescribeDBClusters"), ("s3", "HeadObject")], policy) == [
        "s3:HeadObject needs s3:GetObject"]
