"""AWS Backup: an encrypted vault per region and a daily plan in region A whose copy action sends every recovery
point to region B, so a lost region still leaves restorable backups (seed 004 §5).

Each region's AWS Backup settings opt in the resource types the plan backs up, and turn on DynamoDB's advanced
features (full AWS Backup management, which a DynamoDB backup's cross-Region copy needs): accounts with older
defaults have them off, and the daily job or its copy would silently skip those stores. The settings are one per
account and region, so another stack in the same account must not manage them too."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.base import child, data, service_trust
from ops.core import naming

SCHEDULE = "cron(0 5 ? * * *)"  # daily 05:00 UTC, after Aurora's own backup window
RETENTION_DAYS = 35
# AWS Backup's names for the resource types this plan backs up (the Aurora cluster, DynamoDB tables, S3 buckets).
# Only these keys are declared, so types other teams use keep their setting; the provider reads the whole map
# back, so a preview may list the region's other types as a change (deleting the resource changes nothing in AWS).
OPT_IN = {"Aurora": True, "DynamoDB": True, "S3": True}
FULL_MANAGEMENT = {"DynamoDB": True}  # "advanced DynamoDB backup": cross-Region copy, cold storage, own ARNs
BACKUP_POLICIES = [
    "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
    "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
    "arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Backup",
    "arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Restore",
]


@dataclass
class BackupArgs:
    primary_provider: aws.Provider
    dr_provider: aws.Provider
    primary_kms_key_arn: pulumi.Input[str]
    dr_kms_key_arn: pulumi.Input[str]
    resource_arns: list[pulumi.Input[str]]
    # AWS Backup's region settings are one per account and region: a mirror in production's account leaves them to
    # production's stack (they opt the same resource types in)
    manage_region_settings: bool = True


class CrossRegionBackup(pulumi.ComponentResource):
    primary_vault_arn: pulumi.Output[str]
    dr_vault_arn: pulumi.Output[str]

    def __init__(self, name: str, args: BackupArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("dr-platform:backup:CrossRegionBackup", name, None, opts)
        region_settings = [aws.backup.RegionSettings(
            f"{name}-settings-{suffix}", resource_type_opt_in_preference=OPT_IN,
            resource_type_management_preference=FULL_MANAGEMENT, opts=child(self, provider))
            for suffix, provider in (("a", args.primary_provider), ("b", args.dr_provider))
            if args.manage_region_settings]
        vault_a = aws.backup.Vault(f"{name}-vault-a", name=naming.backup_vault_name(name, "a"),
                                   kms_key_arn=args.primary_kms_key_arn,
                                   opts=data(self, args.primary_provider))
        vault_b = aws.backup.Vault(f"{name}-vault-b", name=naming.backup_vault_name(name, "b"),
                                   kms_key_arn=args.dr_kms_key_arn,
                                   opts=data(self, args.dr_provider))
        plan = aws.backup.Plan(
            f"{name}-daily", name=f"{name}-daily",
            rules=[{"rule_name": "daily-with-copy-to-dr", "target_vault_name": vault_a.name,
                    "schedule": SCHEDULE, "start_window": 60, "completion_window": 240,
                    "lifecycle": {"delete_after": RETENTION_DAYS},
                    "copy_actions": [{"destination_vault_arn": vault_b.arn,
                                      "lifecycle": {"delete_after": RETENTION_DAYS}}]}],
            opts=child(self, args.primary_provider, depends_on=region_settings))
        role = aws.iam.Role(f"{name}-role", description="AWS Backup for dr-platform",
                            assume_role_policy=service_trust("backup.amazonaws.com"),
                            opts=child(self, args.primary_provider))
        attachments = [aws.iam.RolePolicyAttachment(f"{name}-role-{index}", role=role.name, policy_arn=arn,
                                                    opts=child(self, args.primary_provider))
                       for index, arn in enumerate(BACKUP_POLICIES)]
        aws.backup.Selection(f"{name}-selection", name=f"{name}-data", plan_id=plan.id, iam_role_arn=role.arn,
                             resources=args.resource_arns,
                             opts=child(self, args.primary_provider, depends_on=[*attachments, *region_settings]))
        self.primary_vault_arn = vault_a.arn
        self.dr_vault_arn = vault_b.arn
        self.register_outputs({"primaryVaultArn": self.primary_vault_arn, "drVaultArn": self.dr_vault_arn})
