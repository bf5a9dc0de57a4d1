"""A KMS multi-Region key in region A with its replica in region B: one key material for every data store, so
replicated data (Aurora storage, S3 objects, DynamoDB replicas, secrets, backups) stays decryptable after failover."""
from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.base import data


@dataclass
class MultiRegionKeyArgs:
    alias: str
    primary_provider: aws.Provider
    replica_provider: aws.Provider
    deletion_window_days: int = 30


def key_policy(account_id: str, statements: list[dict]) -> str:
    """A key policy that keeps the default one's statement (the account delegates the key to IAM, so roles keep
    their grants) and adds `statements`, for service principals IAM cannot grant (CloudFront, log delivery)."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "EnableIAMPolicies", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
         "Action": "kms:*", "Resource": "*"},
        *statements]})


class MultiRegionKey(pulumi.ComponentResource):
    primary_arn: pulumi.Output[str]
    replica_arn: pulumi.Output[str]
    primary_key_id: pulumi.Output[str]
    replica_key_id: pulumi.Output[str]

    def __init__(self, name: str, args: MultiRegionKeyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("dr-platform:kms:MultiRegionKey", name, None, opts)
        primary = aws.kms.Key(
            f"{name}-primary",
            description=f"{args.alias}: multi-Region CMK for DR data (primary)",
            multi_region=True,
            enable_key_rotation=True,
            deletion_window_in_days=args.deletion_window_days,
            opts=data(self, args.primary_provider))
        replica = aws.kms.ReplicaKey(
            f"{name}-replica",
            description=f"{args.alias}: multi-Region CMK for DR data (replica)",
            primary_key_arn=primary.arn,
            deletion_window_in_days=args.deletion_window_days,
            opts=data(self, args.replica_provider))
        for suffix, key, provider in (("primary", primary, args.primary_provider),
                                      ("replica", replica, args.replica_provider)):
            aws.kms.Alias(f"{name}-{suffix}-alias", name=f"alias/{args.alias}", target_key_id=key.key_id,
                          opts=pulumi.ResourceOptions(parent=self, provider=provider))
        self.primary_arn = primary.arn
        self.replica_arn = replica.arn
        self.primary_key_id = primary.key_id
        self.replica_key_id = replica.key_id
        self.register_outputs({"primaryArn": self.primary_arn, "replicaArn": self.replica_arn})
