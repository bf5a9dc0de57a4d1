"""What both stacks derive the same way from settings."""
from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from components.access import ApiAccessPath, ApiAccessPathArgs, tunnel_command
from components.alarms import LagAlarm, half_rpo
from components.aurora import AuroraSettingsArgs
from components.base import regional_provider
from components.compute import Compute, ComputeArgs, LiveScaling, NodeCounts, ami_type
from components.network import Network
from components.registry import ContainerRegistry, ContainerRegistryArgs
from components.search_feed import SearchFeed, SearchFeedArgs
from components.storage import REPLICATION_RULE_ID, RTC_MINUTES
from components.workloads import Workload
from ops.core import catalog
from ops.core.images import reference_of, regional_image, registry_host, repository_of
from stacks.settings import PROJECT, ApiAccess, Settings, Tier


KUBERNETES_REGISTRY = "registry.k8s.io"  # where the cluster autoscaler's image is mirrored from


def provider(settings: Settings, region: str):
    """An explicit provider for `region` (the default provider is disabled in the stack files)."""
    return regional_provider(region, {"project": PROJECT, "stack-role": settings.role.value,
                                      "managed-by": "pulumi", **settings.names.tags()})


def aurora_args(settings: Settings) -> AuroraSettingsArgs:
    a = settings.aurora
    return AuroraSettingsArgs(global_cluster_id=a.global_cluster_id, engine_version=a.engine_version,
                              instance_class=a.instance_class, backup_retention_days=a.backup_retention_days,
                              database_name=a.database_name, master_username=a.master_username)


def bucket_lag_alarm(settings: Settings, name: str, tier: Tier, source: pulumi.Input[str],
                     destination: pulumi.Input[str], direction: str) -> LagAlarm:
    """S3 replication lag (seconds; published in the source bucket's region) at half the tier's RPO, or at RTC's
    15 minutes when that comes first: an object later than RTC's promise is already news (a standard bucket's half
    RPO is 30 minutes)."""
    rpo = settings.objectives.for_tier(tier).rpo_minutes
    threshold = min(half_rpo(rpo, unit_seconds=1), RTC_MINUTES * 60)
    return LagAlarm(name=f"s3-{name}-{direction}", namespace="AWS/S3", metric="ReplicationLatency",
                    dimensions={"SourceBucket": source, "DestinationBucket": destination,
                                "RuleId": REPLICATION_RULE_ID},
                    threshold=threshold,
                    description=f"S3 {name} replication {direction} lags more than {threshold / 60:g} min "
                                f"(half the {tier} RPO of {rpo} min, or RTC's {RTC_MINUTES} min if sooner)")


def account_id(provider) -> pulumi.Output[str]:
    """The account the stack deploys into, looked up once per stack (key policies, ECR, image URIs need it)."""
    return aws.get_caller_identity_output(opts=pulumi.InvokeOptions(provider=provider)).account_id


def api_access_path(settings: Settings, region: str, provider, network: Network, cidr: str,
                    kms_key_arn: pulumi.Input[str]) -> ApiAccessPath | None:
    """The SSM jump host and its endpoints, when `pulumi up` reaches the API through the tunnel (the default)."""
    if settings.compute.api_access is not ApiAccess.TUNNEL:
        return None
    return ApiAccessPath(f"api-access-{region}", ApiAccessPathArgs(
        name=f"{settings.names.eks_cluster(region)}-api-jump", region=region, provider=provider,
        vpc_id=network.vpc_id, vpc_cidr=cidr, subnet_id=network.subnet_ids[0], kms_key_arn=kms_key_arn))


def node_group_now(cluster: str, nodegroup: str, provider) -> LiveScaling | None:
    """The node group's scaling config as the account has it when the program runs, None before it exists: the
    Cluster Autoscaler moves its desired size, and `pulumi up` must not undo that (components/compute.py). Listed
    first so that a first deploy (no cluster) and a new node group ask nothing that fails."""
    opts = pulumi.InvokeOptions(provider=provider)
    if cluster not in (aws.eks.get_clusters(opts=opts).names or []):  # an empty list may come back as none
        return None
    if nodegroup not in (aws.eks.get_node_groups(cluster_name=cluster, opts=opts).names or []):
        return None
    scaling = aws.eks.get_node_group(cluster_name=cluster, node_group_name=nodegroup, opts=opts).scaling_configs[0]
    return LiveScaling(min=scaling.min_size, desired=scaling.desired_size, max=scaling.max_size)


def compute(settings: Settings, region: str, provider, network: Network, kms_key_arn: pulumi.Input[str],
            account: pulumi.Output[str], nodes: int, replicas: dict[str, int], typesense_replicas: int,
            access: ApiAccessPath | None = None, after: list[pulumi.Resource] | None = None,
            max_nodes: int | None = None, typesense_fis_target: bool = False) -> Compute:
    """The region's EKS cluster and workloads at the resolved counts (A: production, B: the posture table's), their
    images from the region's own ECR."""
    c = settings.compute

    def image(reference: str) -> pulumi.Output[str]:
        return account.apply(lambda resolved: regional_image(reference, resolved, region))

    cluster_name = settings.names.eks_cluster(region)
    nodes = NodeCounts(desired=nodes, max=c.max_nodes if max_nodes is None else max_nodes,
                       live=node_group_now(cluster_name, c.nodegroup_name, provider))
    return Compute(f"compute-{region}", ComputeArgs(
        region=region, provider=provider, cluster_name=cluster_name,
        nodegroup_name=c.nodegroup_name,
        kubernetes_version=c.kubernetes_version, subnet_ids=network.subnet_ids, kms_key_arn=kms_key_arn,
        network_ready=list(network.endpoints),
        node_instance_type=c.node_instance_type, nodes=nodes,
        workloads=[Workload(name=s.name, tier=s.tier.value, image=image(s.image), replicas=replicas[s.name],
                            port=s.port, health_path=s.health_path, max_replicas=s.autoscaling_max)
                   for s in c.services],
        cluster_autoscaler_image=image(c.cluster_autoscaler_image), account_id=account,
        typesense_replicas=typesense_replicas, typesense_image=image(c.typesense_image),
        typesense_storage_gi=c.typesense_storage_gi, typesense_fis_target=typesense_fis_target,
        public_access_cidrs=list(c.public_access_cidrs),
        api_tunnel_port=c.tunnel_port if access else None,
        api_client_security_group_id=access.security_group_id if access else None,
        deploy_workloads=c.workloads, after=list(after or []),
        # A always runs production; B the posture's row, or production once it writes
        scaling_row="production" if region == settings.primary_region else
        f"{settings.posture.value}{'-failed-over' if settings.failover else ''}"))


def stack_name(settings: Settings) -> str:
    """The stack the operator's commands name: production's `primary` / `dr` as always, a mirror's own
    (`stage-primary`)."""
    return settings.role.value if settings.names.is_production else pulumi.get_stack()


def export_environment(settings: Settings) -> None:
    """A mirror's stacks say which environment they are, so a dr stack can refuse a primary of another one
    (production's outputs stay as they were: no output means production)."""
    if not settings.names.is_production:
        pulumi.export("environment", settings.environment)


def workload_images(settings: Settings) -> list[str]:
    """Every image a workload of either cluster pulls: the services', Typesense's, the search feed's."""
    c = settings.compute
    return [*c.images(), c.ops_image]


def export_all(outputs: Mapping[str, pulumi.Input[object]]) -> None:
    """The stack outputs `outputs` names, in its order: a stack's outputs read as one table."""
    for name, value in outputs.items():
        pulumi.export(name, value)


def export_api_access(settings: Settings, region: str, cluster: Compute, access: ApiAccessPath | None) -> None:
    """How this stack's `pulumi up` reaches the cluster's API, as outputs `drctl tunnel` and operators read."""
    c = settings.compute
    if access is None:
        pulumi.export("apiAccess", {"mode": c.api_access.value, "endpoint": cluster.endpoint})
        return
    pulumi.export("apiAccess", {
        "mode": c.api_access.value, "endpoint": cluster.endpoint, "localPort": c.tunnel_port,
        "jumpInstanceId": access.instance_id,
        "tunnelCommand": pulumi.Output.all(access.instance_id, cluster.endpoint).apply(
            lambda values: tunnel_command(values[0], region, values[1] or "", c.tunnel_port))})


def push_commands(settings: Settings, account: pulumi.Output[str]) -> pulumi.Output[list[str]]:
    """The commands that put every workload image into region A's ECR (ECR replicates each push to B): log in,
    then build or pull, tag and push each image. Typesense is mirrored from Docker Hub, the cluster autoscaler from
    registry.k8s.io; drctl is built from this
    repository (ops/images/drctl/Dockerfile); the services come from their own builds."""
    c, a = settings.compute, settings.primary_region
    platform = "linux/arm64" if ami_type(c.node_instance_type).startswith("AL2023_ARM") else "linux/amd64"

    def commands(resolved: str) -> list[str]:
        registry = f"{resolved}.dkr.ecr.{a}.amazonaws.com"
        lines = [f"aws ecr get-login-password --region {a} | docker login --username AWS --password-stdin {registry}"]
        for image in workload_images(settings):
            if registry_host(image) is not None:  # already an ECR image the config names: nothing to push
                continue
            target = regional_image(image, resolved, a)
            if image == c.typesense_image:
                lines.append(f"docker pull --platform {platform} {image}")
            elif image == c.cluster_autoscaler_image:  # the Kubernetes project's registry, not Docker Hub
                image = f"{KUBERNETES_REGISTRY}/{image}"
                lines.append(f"docker pull --platform {platform} {image}")
            elif image == c.ops_image:
                lines.append(f"docker build --platform {platform} -f ops/images/drctl/Dockerfile -t {image} .")
            lines.append(f"docker tag {image} {target} && docker push {target}")
        return lines

    return account.apply(commands)


def replication_checks(settings: Settings, account: pulumi.Output[str]) -> pulumi.Output[list[str]]:
    """B's clusters pull the copies ECR replicates from A's pushes (nothing is pushed to B): check each is there."""
    b = settings.dr_region

    def commands(resolved: str) -> list[str]:
        return [f"aws ecr describe-images --region {b} --registry-id {resolved} --repository-name "
                f"{repository_of(image)} --image-ids {_image_id(image)}"
                for image in workload_images(settings) if registry_host(image) is None]

    return account.apply(commands)


def _image_id(image: str) -> str:
    reference = reference_of(image) or "latest"
    return f"imageDigest={reference}" if reference.startswith("sha256:") else f"imageTag={reference}"


def export_next_steps(settings: Settings, stack: str, pushes: pulumi.Input[list[str]]) -> None:
    """What the operator does after this `pulumi up`: with workloads off (a first deploy), push the images and
    flip the flag; `pushes` are the commands for this stack's images (A: docker push, B: check replication)."""
    c = settings.compute
    tunnel = ([f"open the tunnel to the cluster's API in another terminal, and keep it open while pulumi runs: "
               f"drctl tunnel --stack {stack} --execute"] if c.api_access is ApiAccess.TUNNEL else [])
    if c.workloads:  # deployed: every later `pulumi up` of this stack talks to the API the same way
        pulumi.export("nextSteps", [*tunnel, f"pulumi up --stack {stack} (after each config flip)"])
        return
    flip = [f"pulumi config set --path compute.workloads true --stack {stack}", f"pulumi up --stack {stack}"]
    pulumi.export("nextSteps", pulumi.Output.from_input(pushes).apply(lambda commands: [*commands, *tunnel, *flip]))


def search_feed(settings: Settings, region: str, provider, cluster: Compute, account: pulumi.Output[str],
                source_host: pulumi.Input[str], secret_arn: pulumi.Input[str],
                secret_key_arn: pulumi.Input[str]) -> SearchFeed:
    """RB-N-04 on a schedule in `region`, for every collection ops/dr/typesense/reindex.json configures."""
    c = settings.compute
    return SearchFeed(f"search-feed-{region}", SearchFeedArgs(
        region=region, provider=provider, kubernetes_provider=cluster.kubernetes_provider,
        cluster_name=cluster.cluster_name, namespace=cluster.namespace_name,
        after=[cluster.namespace, cluster.typesense],
        image=account.apply(lambda resolved: regional_image(c.ops_image, resolved, region)),
        schedule=c.search_feed_schedule, source_host=source_host, database=settings.aurora.database_name,
        secret_arn=secret_arn, secret_key_arn=secret_key_arn, typesense_url=cluster.typesense_url,
        collections=catalog.collections()))


def container_registry(settings: Settings, provider_a, provider_b, primary_kms_key_arn: pulumi.Input[str],
                       replica_kms_key_arn: pulumi.Input[str], account: pulumi.Output[str]) -> ContainerRegistry:
    """ECR repositories in A for every image the clusters pull from their own region, replicated to B."""
    images = workload_images(settings)
    repositories = sorted({repository_of(i) for i in images if registry_host(i) is None})
    return ContainerRegistry("registry", ContainerRegistryArgs(
        repositories=repositories, primary_provider=provider_a, replica_provider=provider_b,
        replica_region=settings.dr_region, primary_kms_key_arn=primary_kms_key_arn,
        replica_kms_key_arn=replica_kms_key_arn, account_id=account))
