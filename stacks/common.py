"""What both stacks derive the same way from settings."""
from __future__ import annotations

import pulumi

from components.alarms import LagAlarm, half_rpo
from components.aurora import AuroraSettingsArgs
from components.base import regional_provider
from components.storage import REPLICATION_RULE_ID
from stacks.settings import PROJECT, Settings, Tier


def provider(settings: Settings, region: str):
    """An explicit provider for `region` (the default provider is disabled in the stack files)."""
    return regional_provider(region, {"project": PROJECT, "stack-role": settings.role.value,
                                      "managed-by": "pulumi"})


def aurora_args(settings: Settings) -> AuroraSettingsArgs:
    a = settings.aurora
    return AuroraSettingsArgs(global_cluster_id=a.global_cluster_id, engine_version=a.engine_version,
                              instance_class=a.instance_class, backup_retention_days=a.backup_retention_days,
                              database_name=a.database_name, master_username=a.master_username)


def bucket_name(base: str, region: str) -> str:
    return f"{base}-{region}"


def bucket_lag_alarm(settings: Settings, name: str, tier: Tier, source: pulumi.Input[str],
                     destination: pulumi.Input[str], direction: str) -> LagAlarm:
    """S3 replication lag (seconds; published in the source bucket's region) at half the tier's RPO."""
    rpo = settings.objectives.for_tier(tier).rpo_minutes
    return LagAlarm(name=f"s3-{name}-{direction}", namespace="AWS/S3", metric="ReplicationLatency",
                    dimensions={"SourceBucket": source, "DestinationBucket": destination,
                                "RuleId": REPLICATION_RULE_ID},
                    threshold=half_rpo(rpo, unit_seconds=1),
                    description=f"S3 {name} replication {direction} lags more than half the {tier} RPO "
                                f"({rpo} min); RTC promises 15 min")
