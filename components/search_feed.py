"""B's search feed: RB-N-04 (`drctl reindex`) as a Kubernetes CronJob in B, rebuilding B's Typesense index from
B's own Aurora reader on a schedule.

Nothing replicates Typesense. Without a feed, B's search answers from whatever B last indexed: stale in warm
standby, and wrong for half the users in active-active (DNS 50/50). Each run builds a new versioned collection
and swaps the alias only when the counts match, so searches keep answering throughout, and an interrupted run
leaves the previous generation serving.

The job reads the database credentials from the master secret's replica in B at connect time
(`--source-secret`), through EKS Pod Identity: its role may read that one secret and decrypt with B's key only
through Secrets Manager. TLS to Aurora is verified against the RDS CA bundle baked into the image.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
from pulumi_kubernetes import Provider as KubernetesProvider
from pulumi_kubernetes.batch.v1 import CronJob, CronJobSpecArgs, JobSpecArgs, JobTemplateSpecArgs
from pulumi_kubernetes.core.v1 import (
    ContainerArgs,
    EmptyDirVolumeSourceArgs,
    EnvVarArgs,
    EnvVarSourceArgs,
    PodSpecArgs,
    PodTemplateSpecArgs,
    ResourceRequirementsArgs,
    SecretKeySelectorArgs,
    ServiceAccount,
    VolumeArgs,
    VolumeMountArgs,
)
from pulumi_kubernetes.meta.v1 import ObjectMetaArgs

from components.base import child
from components.compute import pod_identity_trust
from components.workloads import RESTRICTED_CONTAINER, restricted_pod

SERVICE_ACCOUNT = "search-feed"
RUNS_DIR = "/var/lib/drctl/runs"  # journals and checkpoints of the current run (an emptyDir)
CONFIG_DIR = "/opt/dr-platform/ops/dr/typesense"  # where the image keeps the repo's schemas and reindex.json
RDS_CA_BUNDLE = "/etc/ssl/rds/global-bundle.pem"  # baked into the image (ops/images/drctl/Dockerfile)
RUN_AS = 10001  # the image's USER
FULL_WINDOW_SECONDS = 4 * 3600  # RB-N-04's full-rebuild window: a run still going after it is stopped
RESOURCES = ResourceRequirementsArgs(requests={"cpu": "250m", "memory": "256Mi"},
                                     limits={"cpu": "1", "memory": "512Mi"})


@dataclass
class SearchFeedArgs:
    region: str
    provider: aws.Provider
    kubernetes_provider: KubernetesProvider
    cluster_name: pulumi.Input[str]
    namespace: str
    after: list[pulumi.Resource]  # the namespace and Typesense: the job needs both to exist
    image: pulumi.Input[str]
    schedule: str
    source_host: pulumi.Input[str]  # B's cluster reader endpoint
    database: str
    secret_arn: pulumi.Input[str]  # the master secret's replica in B
    secret_key_arn: pulumi.Input[str]  # B's key, which encrypts that replica
    typesense_url: str
    collections: list[str]


def secret_read_policy(secret_arn: pulumi.Input[str], key_arn: pulumi.Input[str], region: str) -> pulumi.Output[str]:
    """Read one secret; decrypt with its key only when Secrets Manager asks on the job's behalf."""
    return pulumi.Output.all(secret_arn, key_arn).apply(lambda arns: json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": arns[0]},
            {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": arns[1],
             "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}}}]}))


def feed_command(args: SearchFeedArgs, collection: str, source_host: str, secret_arn: str) -> list[str]:
    source = f"host={source_host} port=5432 dbname={args.database} sslmode=verify-full sslrootcert={RDS_CA_BUNDLE}"
    return ["drctl", "reindex", "--source", source, "--source-secret", secret_arn,
            "--typesense", args.typesense_url, "--api-key-env", "TYPESENSE_API_KEY", "--collection", collection,
            "--config-dir", CONFIG_DIR, "--journal-dir", RUNS_DIR, "--prune-abandoned", "--execute", "--yes"]


class SearchFeed(pulumi.ComponentResource):
    cron_jobs: list[CronJob]
    role: aws.iam.Role

    def __init__(self, name: str, args: SearchFeedArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("dr-platform:search:SearchFeed", name, None, opts)
        p = args.provider
        self.role = aws.iam.Role(f"{name}-role", name=pulumi.Output.concat(args.cluster_name, "-search-feed"),
                                 assume_role_policy=pod_identity_trust(), opts=child(self, p))
        grant = aws.iam.RolePolicy(f"{name}-secret", name="read-database-secret", role=self.role.name,
                                   policy=secret_read_policy(args.secret_arn, args.secret_key_arn, args.region),
                                   opts=child(self, p))
        association = aws.eks.PodIdentityAssociation(
            f"{name}-identity", cluster_name=args.cluster_name, namespace=args.namespace,
            service_account=SERVICE_ACCOUNT, role_arn=self.role.arn, opts=child(self, p))
        k8s = pulumi.ResourceOptions(parent=self, provider=args.kubernetes_provider, depends_on=args.after)
        account = ServiceAccount(f"{name}-service-account", metadata=ObjectMetaArgs(
            name=SERVICE_ACCOUNT, namespace=args.namespace), opts=k8s)
        after = pulumi.ResourceOptions(parent=self, provider=args.kubernetes_provider,
                                       depends_on=[*args.after, account, association, grant])
        self.cron_jobs = [self._cron_job(name, args, collection, after) for collection in args.collections]
        self.register_outputs({"roleArn": self.role.arn, "collections": args.collections,
                               "schedule": args.schedule})

    def _cron_job(self, name: str, args: SearchFeedArgs, collection: str,
                  opts: pulumi.ResourceOptions) -> CronJob:
        labels = {"app.kubernetes.io/name": SERVICE_ACCOUNT, "dr-platform/collection": collection}
        command = pulumi.Output.all(args.source_host, args.secret_arn).apply(
            lambda resolved: feed_command(args, collection, *resolved))
        container = ContainerArgs(
            name="reindex", image=args.image, command=command, security_context=RESTRICTED_CONTAINER,
            resources=RESOURCES,
            env=[EnvVarArgs(name="TYPESENSE_API_KEY", value_from=EnvVarSourceArgs(
                secret_key_ref=SecretKeySelectorArgs(name="typesense-api-key", key="api-key")))],
            volume_mounts=[VolumeMountArgs(name="runs", mount_path=RUNS_DIR)])
        return CronJob(
            f"{name}-{collection}", metadata=ObjectMetaArgs(name=f"search-feed-{collection}",
                                                            namespace=args.namespace, labels=labels),
            spec=CronJobSpecArgs(
                schedule=args.schedule, time_zone="Etc/UTC",
                concurrency_policy="Forbid",  # one rebuild at a time; a late one skips its turn
                starting_deadline_seconds=600, successful_jobs_history_limit=3, failed_jobs_history_limit=3,
                job_template=JobTemplateSpecArgs(spec=JobSpecArgs(
                    backoff_limit=1, active_deadline_seconds=FULL_WINDOW_SECONDS, ttl_seconds_after_finished=86400,
                    template=PodTemplateSpecArgs(
                        metadata=ObjectMetaArgs(labels=labels),
                        spec=PodSpecArgs(
                            service_account_name=SERVICE_ACCOUNT, restart_policy="Never",
                            security_context=restricted_pod(run_as_user=RUN_AS, run_as_group=RUN_AS),
                            containers=[container],
                            volumes=[VolumeArgs(name="runs", empty_dir=EmptyDirVolumeSourceArgs())]))))),
            opts=opts)
