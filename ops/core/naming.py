"""The names both sides spell: the Pulumi program gives them, the toolkit finds the same resources by them through
the AWS API (during a regional outage it cannot ask the program). Each name is defined once, here."""
from __future__ import annotations

from typing import Final

# ---- Aurora ------------------------------------------------------------------------------------------------------

ENGINE: Final = "aurora-postgresql"


def regional_cluster_id(global_cluster_id: str, region: str) -> str:
    """A member cluster of the global database: `dr-core-us-west-2`."""
    return f"{global_cluster_id}-{region}"


def instance_id(cluster_id: str, index: int) -> str:
    """The program's `index`-th instance of a cluster (0 = the first, promotion tier 0): `dr-core-us-east-1-0`."""
    return f"{cluster_id}-{index}"


def restored_writer_id(cluster_id: str) -> str:
    """The writer instance a restore (RB-N-02, snapshot restore) creates in its new cluster."""
    return f"{cluster_id}-writer"


# ---- Route53: the API record's set identifiers -------------------------------------------------------------------

PRIMARY_RECORD: Final = "primary"  # failover routing: the writer region's record
SECONDARY_RECORD: Final = "secondary"


def weighted_record(region_key: str) -> str:
    """Weighted routing's record of region "a" or "b": `region-a`."""
    return f"region-{region_key}"


# ---- network -----------------------------------------------------------------------------------------------------

def network_name(region: str) -> str:
    """The region's Network component, whose name prefixes its VPC, subnets and groups."""
    return f"network-{region}"


def db_subnet_group_name(network: str) -> str:
    return f"{network}-db"


def db_security_group_name(network: str) -> str:
    return f"{network}-db"


# ---- AWS Backup --------------------------------------------------------------------------------------------------

BACKUP_COMPONENT: Final = "backup"


def backup_vault_name(component: str, side: str) -> str:
    """Region A's vault (`side` "a") or region B's copy vault ("b") of a CrossRegionBackup: `backup-b`."""
    return f"{component}-{side}"


# ---- EKS ---------------------------------------------------------------------------------------------------------

NODEGROUP_NAME: Final = "general"


def eks_cluster_name(region: str) -> str:
    return f"platform-{region}"


def nodegroup_path(region: str) -> str:
    """`CLUSTER/NODEGROUP` of the region's managed node group, as `drctl failover --nodegroup` takes it."""
    return f"{eks_cluster_name(region)}/{NODEGROUP_NAME}"


# ---- ElastiCache: the cache's Global Datastore ------------------------------------------------------------------

# A region's member is named as Aurora's members are (`dr-cache-us-west-2`, ≤ 40 characters, lowercase).
cache_member_id: Final = regional_cluster_id


def cold_cache_id(cache_name: str, region: str) -> str:
    """The cold cache a pilot light's failover creates in B, outside the Global Datastore: `dr-cache-us-west-2-cold`."""
    return f"{cache_member_id(cache_name, region)}-cold"


def cache_auth_secret(cache_name: str) -> str:
    """The Secrets Manager secret holding the AUTH token (replicated to B): `dr-cache/auth`."""
    return f"{cache_name}/auth"


# ---- S3 ----------------------------------------------------------------------------------------------------------

def bucket_name(base: str, region: str) -> str:
    """A configured bucket's name in `region` (bucket names are global, so each region's copy carries it)."""
    return f"{base}-{region}"


# The dr stack's Synthetics canary in B that probes region A (its CanaryName: 1-21 chars of [0-9a-z_-]).
CANARY_OF_A = "dr-probe-region-a"


# ---- email (RB-N-07): what the program creates and `drctl ses-failover` acts on --------------------------------

FAILED_NOTIFICATIONS_QUEUE: Final = "critical-notifications-failed"  # in B: outlives a region A failure
FAILED_NOTIFICATIONS_DLQ: Final = "critical-notifications-dlq"
SES_CREDENTIALS_SECRET: Final = "dr-platform/ses-credentials"  # in A, replicated to B under the same name
SES_CONFIG_PREFIX: Final = "/dr-platform/ses"  # SSM path in B the application reads its sending config from
SES_CONFIGURATION_SET: Final = "dr-platform-critical-mail"  # one per region (configuration sets are regional)
SES_SENDER_USER: Final = "dr-platform-ses-sender"


def ses_parameter_names(prefix: str = SES_CONFIG_PREFIX) -> dict[str, str]:
    """The SSM parameters `ses-failover` publishes, by what they hold."""
    return {"region": f"{prefix}/region", "credentialsSecretArn": f"{prefix}/credentials-secret-arn"}


def mail_from_domain(subdomain: str, region: str, domain: str) -> str:
    """The region's custom MAIL FROM domain: its MX must name that region's feedback endpoint, so each region has
    its own (`mail.us-east-1.example.com`) and each stack owns its records."""
    return f"{subdomain}.{region}.{domain}"
# ---- AWS FIS: the quarterly drills `drctl drill run QX --account` starts -----------------------------------------

# The experiment template's tag naming its drill scenario: the toolkit finds the template by it
# (ListExperimentTemplates), so no template id has to be copied from the stack's outputs into a runbook.
FIS_DRILL_TAG: Final = "dr-platform:drill"
# The experiment role's tag listing the FIS action ids its template runs: the policy pack checks the role against it.
FIS_ACTIONS_TAG: Final = "dr-platform:fis-actions"
# Which region each FIS-injected drill acts in ("a": the primary stack's region; "b": the dr stack's).
FIS_DRILL_REGIONS: Final = {"Q2": "a", "Q3": "b"}


def fis_role_name(scenario: str, region: str) -> str:
    return f"dr-platform-fis-{scenario.lower()}-{region}"


def fis_log_group(scenario: str, region: str) -> str:
    return f"/dr-platform/fis/{scenario.lower()}-{region}"


def fis_kubernetes_user(scenario: str) -> str:
    """The Kubernetes user a pod-fault drill's FIS role is in the cluster (its EKS access entry's username): what
    the drill's RoleBinding grants."""
    return f"dr-platform-fis-{scenario.lower()}"
