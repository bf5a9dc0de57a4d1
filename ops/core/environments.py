"""Which environment a stack pair belongs to (`dr-platform:environment`), and every physical name that differs
between environments: a `stage` pair deployed into production's account and regions, to rehearse the annual
failover test, must never declare, find or act on one of production's resources.

Production's names are the ones `ops/core/naming.py` spells, unchanged (that module is packaged into the ARC
custom-action Lambdas, whose archive hash is in production's plan, so the environment lives here, not there).
Another environment's names carry its name: bare names get it as a prefix (`stage-dr-core`), the project's own
`dr-platform-...` names and `/dr-platform/...` paths as a second word (`dr-platform-stage-...`). The configured
names (aurora.globalClusterId, cache.name, buckets, tables) get the prefix when the settings are parsed
(stacks/settings.py), the others come from `Names`: program and toolkit read both the same way, so a runbook run
with `--stack stage-dr` finds stage's resources.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from ops.core import naming

PRODUCTION: Final = "production"
# Another environment's name is short: the canary's name (21 characters at most) carries it, as do ElastiCache ids
# (40) and bucket names (63).
ENVIRONMENT_PATTERN: Final = r"^(production|[a-z][a-z0-9]{1,5})$"
PROJECT: Final = "dr-platform"
CANARY_NAME_MAX: Final = 21  # Synthetics: 1-21 characters of [0-9a-z_-]
# The tag a non-production environment's resources carry (production's carry none, as before): lookups by tag
# (FIS templates) tell the environments apart by it.
ENVIRONMENT_TAG: Final = "environment"


def valid_environment(name: str) -> bool:
    return re.fullmatch(ENVIRONMENT_PATTERN, name) is not None


class _Name:
    """A `Names` attribute that is one naming rule applied to one production name: `q = _Name(scoped, naming.Q)`."""

    def __init__(self, rule: Callable[[Names, str], str], production_name: str) -> None:
        self.rule, self.production_name = rule, production_name

    def __get__(self, names: Names, owner: type | None = None) -> str:
        return self.rule(names, self.production_name)


@dataclass(frozen=True)
class Names:
    environment: str = PRODUCTION

    def __post_init__(self) -> None:
        if not valid_environment(self.environment):
            raise ValueError(f"environment {self.environment!r} does not match {ENVIRONMENT_PATTERN}")

    @property
    def is_production(self) -> bool:
        return self.environment == PRODUCTION

    def scoped(self, base: str) -> str:
        """A bare name: production's as it is, another environment's prefixed (`dr-core` → `stage-dr-core`)."""
        return base if self.is_production else f"{self.environment}-{base}"

    @property
    def project(self) -> str:
        """The word the project's own names start with: `dr-platform`, or `dr-platform-stage`."""
        return PROJECT if self.is_production else f"{PROJECT}-{self.environment}"

    def own(self, production_name: str) -> str:
        """Production's `dr-platform...` name with this environment's project word (`dr-platform-stage...`)."""
        return production_name.replace(PROJECT, self.project, 1)

    def project_name(self, rest: str) -> str:
        """`dr-platform-<rest>` in production, `dr-platform-stage-<rest>` in stage (IAM, SNS, alarms, Lambda)."""
        return f"{self.project}-{rest}"

    # ---- names the toolkit looks up (a runbook finds the environment's resources by them) ---------------------

    def network(self, region: str) -> str:
        return self.scoped(naming.network_name(region))

    def eks_cluster(self, region: str) -> str:
        return self.scoped(naming.eks_cluster_name(region))

    def nodegroup_path(self, region: str) -> str:
        """`CLUSTER/NODEGROUP`, as `drctl failover --nodegroup` takes it (the node group's name is per cluster)."""
        return f"{self.eks_cluster(region)}/{naming.NODEGROUP_NAME}"

    @property
    def backup_component(self) -> str:
        """The CrossRegionBackup component, whose name prefixes its vaults, plan and selection."""
        return self.scoped(naming.BACKUP_COMPONENT)

    def backup_vault(self, side: str) -> str:
        return naming.backup_vault_name(self.backup_component, side)

    @property
    def canary_of_a(self) -> str:
        """B's canary probing A: `dr-probe-region-a`, or `stage-probe-region-a` (the prefix would not fit 21)."""
        if self.is_production:
            return naming.CANARY_OF_A
        name = f"{self.environment}-probe-region-a"
        assert len(name) <= CANARY_NAME_MAX, name  # the environment's pattern keeps it short enough
        return name

    failed_notifications_queue = _Name(scoped, naming.FAILED_NOTIFICATIONS_QUEUE)
    failed_notifications_dlq = _Name(scoped, naming.FAILED_NOTIFICATIONS_DLQ)
    ses_credentials_secret = _Name(own, naming.SES_CREDENTIALS_SECRET)
    ses_config_prefix = _Name(own, naming.SES_CONFIG_PREFIX)
    ses_configuration_set = _Name(own, naming.SES_CONFIGURATION_SET)
    ses_sender_user = _Name(own, naming.SES_SENDER_USER)

    def fis_role_name(self, scenario: str, region: str) -> str:
        return self.own(naming.fis_role_name(scenario, region))

    def fis_log_group(self, scenario: str, region: str) -> str:
        return self.own(naming.fis_log_group(scenario, region))

    # ---- names only the program gives (account-wide or global: IAM, CloudFront, S3, KMS aliases) -------------

    @property
    def region_switch_plan(self) -> str:
        return self.project

    region_switch_execution_role = _Name(project_name, "region-switch")
    region_switch_approval_role = _Name(project_name, "region-switch-approver")
    data_key_alias = _Name(project_name, "data")

    def canary_bucket(self, region: str, account: str) -> str:
        return self.project_name(f"canary-{region}-{account}")

    def cdn_log_bucket(self, account: str, region: str) -> str:
        return naming.bucket_name(self.project_name(f"cdn-logs-{account}"), region)

    def tags(self) -> dict[str, str]:
        """Tags every resource of a non-production environment carries (production's tags stay as they were)."""
        return {} if self.is_production else {ENVIRONMENT_TAG: self.environment}


def environment_of(tags: dict[str, str] | None) -> str:
    """The environment a resource's tags say it belongs to: untagged is production's."""
    return (tags or {}).get(ENVIRONMENT_TAG) or PRODUCTION
