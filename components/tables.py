"""DynamoDB global tables: on-demand, streams, SSE-KMS with the multi-Region key, point-in-time recovery on the
table and on its replica in region B (PITR is per replica), deletion protection on both."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.base import data


@dataclass
class GlobalTableArgs:
    table_name: str
    hash_key: str
    tier: str
    kms_key_arn: pulumi.Input[str]
    replica_region: str
    replica_kms_key_arn: pulumi.Input[str]
    provider: aws.Provider


class GlobalTable(pulumi.ComponentResource):
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: GlobalTableArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("dr-platform:tables:GlobalTable", name, None, opts)
        table = aws.dynamodb.Table(
            name, name=args.table_name, billing_mode="PAY_PER_REQUEST", hash_key=args.hash_key,
            attributes=[{"name": args.hash_key, "type": "S"}],
            stream_enabled=True, stream_view_type="NEW_AND_OLD_IMAGES",  # global tables replicate via streams
            point_in_time_recovery={"enabled": True},
            server_side_encryption={"enabled": True, "kms_key_arn": args.kms_key_arn},
            deletion_protection_enabled=True, tags={"tier": args.tier},
            replicas=[{"region_name": args.replica_region, "kms_key_arn": args.replica_kms_key_arn,
                       "point_in_time_recovery": True, "propagate_tags": True,
                       "deletion_protection_enabled": True}],
            opts=data(self, args.provider))
        self.arn = table.arn
        self.register_outputs({"arn": self.arn})
