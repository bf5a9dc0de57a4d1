"""The committed operator policy (ops/dr/iam/drctl-operator-policy.json) against the API calls runbooks make.

A boto3 operation maps to the IAM action of the same name, except where AWS names the permission differently
(S3 chiefly) or one call needs several permissions (a DynamoDB restore writes the new table).
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from ops.core.paths import OPERATOR_POLICY

POLICY_PATH = OPERATOR_POLICY

IAM_PREFIX = {"sesv2": "ses"}  # boto3 service name → IAM service prefix, where they differ
PERMISSIONS = {
    ("s3", "ListObjectVersions"): ("s3:ListBucketVersions",),
    ("s3", "ListObjectsV2"): ("s3:ListBucket",),
    ("s3", "HeadBucket"): ("s3:ListBucket",),
    ("s3", "HeadObject"): ("s3:GetObject",),
    ("s3", "GetBucketReplication"): ("s3:GetReplicationConfiguration",),
    ("s3", "DeleteObject"): ("s3:DeleteObjectVersion",),  # the runbooks only ever delete a version (a marker)
    # RestoreTableToPointInTime also needs write access to the table it creates (DynamoDB developer guide).
    ("dynamodb", "RestoreTableToPointInTime"): (
        "dynamodb:RestoreTableToPointInTime", "dynamodb:Scan", "dynamodb:Query", "dynamodb:UpdateItem",
        "dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"),
    ("sts", "GetCallerIdentity"): (),  # needs no permission
    # The account's first experiment creates FIS's service-linked role (IAM's dependent action of StartExperiment).
    ("fis", "StartExperiment"): ("fis:StartExperiment", "iam:CreateServiceLinkedRole"),
}


def permissions(service: str, operation: str) -> tuple[str, ...]:
    return PERMISSIONS.get((service, operation), (f"{IAM_PREFIX.get(service, service)}:{operation}",))


def allowed_actions(policy: dict | None = None) -> set[str]:
    policy = policy if policy is not None else json.loads(POLICY_PATH.read_text())
    return {action for statement in policy["Statement"] if statement["Effect"] == "Allow"
            for action in statement["Action"]}


def not_allowed(calls: Iterable[tuple[str, str]], policy: dict | None = None) -> list[str]:
    """`service:Operation → missing permission` for each call the policy does not allow."""
    allowed = allowed_actions(policy)
    return sorted({f"{service}:{operation} needs {permission}" for service, operation in calls
                   for permission in permissions(service, operation) if permission not in allowed})
