"""What both stacks derive the same way from settings."""
from __future__ import annotations

from components.aurora import AuroraSettingsArgs
from components.base import regional_provider
from stacks.settings import PROJECT, Settings


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
