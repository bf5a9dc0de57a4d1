"""The platform's workloads on a region's cluster: one Deployment per service and Typesense as a StatefulSet, with
the pod and container security every workload shares. components/compute.py builds the cluster and calls these with
itself as the parent (so the resources' names and parents are what they were)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import pulumi
import pulumi_random as random
from pulumi_kubernetes.apps.v1 import (
    Deployment,
    DeploymentSpecArgs,
    StatefulSet,
    StatefulSetPersistentVolumeClaimRetentionPolicyArgs,
    StatefulSetSpecArgs,
)
from pulumi_kubernetes.core.v1 import (
    CapabilitiesArgs,
    ConfigMap,
    ConfigMapVolumeSourceArgs,
    ContainerArgs,
    ContainerPortArgs,
    EnvVarArgs,
    EnvVarSourceArgs,
    HTTPGetActionArgs,
    Namespace,
    PersistentVolumeClaimArgs,
    PersistentVolumeClaimSpecArgs,
    PodSecurityContextArgs,
    PodSpecArgs,
    PodTemplateSpecArgs,
    ProbeArgs,
    ResourceRequirementsArgs,
    SeccompProfileArgs,
    Secret,
    SecretKeySelectorArgs,
    SecurityContextArgs,
    Service,
    ServicePortArgs,
    ServiceSpecArgs,
    TopologySpreadConstraintArgs,
    VolumeArgs,
    VolumeMountArgs,
    VolumeResourceRequirementsArgs,
)
from pulumi_kubernetes.meta.v1 import LabelSelectorArgs, ObjectMetaArgs
from pulumi_kubernetes.storage.v1 import StorageClass

ZONE_KEY = "topology.kubernetes.io/zone"
TYPESENSE_API_PORT = 8108
TYPESENSE_PEERING_PORT = 8107
# Requests/limits per pod; sized for the default m6i.large nodes (2 vCPU, 8 GiB).
SERVICE_RESOURCES = ResourceRequirementsArgs(requests={"cpu": "250m", "memory": "256Mi"},
                                             limits={"cpu": "1", "memory": "512Mi"})
TYPESENSE_RESOURCES = ResourceRequirementsArgs(requests={"cpu": "500m", "memory": "1Gi"},
                                               limits={"cpu": "2", "memory": "2Gi"})
TYPESENSE_STORAGE_CLASS = "ebs-gp3-encrypted"


class TypesenseArgs(Protocol):
    """What the StatefulSet reads of the compute args."""
    typesense_replicas: int
    typesense_image: pulumi.Input[str]
    typesense_storage_gi: int
    typesense_fis_target: bool


@dataclass
class Workload:
    """A service's Deployment: `replicas` is the resolved count for this region (its HPA's floor when > 0) and
    `max_replicas` its HPA's ceiling (0: the floor)."""

    name: str
    tier: str
    image: pulumi.Input[str]
    replicas: int
    port: int
    health_path: str = "/healthz"
    max_replicas: int = 0


RESTRICTED_CONTAINER = SecurityContextArgs(allow_privilege_escalation=False, read_only_root_filesystem=True,
                                  run_as_non_root=True, capabilities=CapabilitiesArgs(drop=["ALL"]))
# A pod an FIS pod action targets: FIS "can only monitor the status of fault injection when the securityContext of
# the target pods is set to readOnlyRootFilesystem: false", else every EKS pod action fails (FIS user guide,
# eks-pod-actions.html, Limitations). Still restricted: no escalation, non-root, no capabilities.
FIS_TARGET_CONTAINER = SecurityContextArgs(allow_privilege_escalation=False, read_only_root_filesystem=False,
                                          run_as_non_root=True, capabilities=CapabilitiesArgs(drop=["ALL"]))
TYPESENSE_SELECTOR = {"app.kubernetes.io/name": "typesense"}  # its pods' label: the Q3 drill selects them by it


def zone_spread(selector: dict[str, str]) -> list[TopologySpreadConstraintArgs]:
    """Spread a workload's pods across AZs, so one AZ's loss takes at most its share."""
    return [TopologySpreadConstraintArgs(max_skew=1, topology_key=ZONE_KEY, when_unsatisfiable="ScheduleAnyway",
                                         label_selector=LabelSelectorArgs(match_labels=selector))]


def http_readiness(path: str, port: int) -> ProbeArgs:
    return ProbeArgs(http_get=HTTPGetActionArgs(path=path, port=port), period_seconds=5, timeout_seconds=2,
                     failure_threshold=3)


def restricted_pod(**extra: object) -> PodSecurityContextArgs:
    return PodSecurityContextArgs(run_as_non_root=True, seccomp_profile=SeccompProfileArgs(type="RuntimeDefault"),
                                  **extra)  # type: ignore[arg-type]


def deployment(name: str, w: Workload, namespace: str, opts: pulumi.ResourceOptions) -> Deployment:
    selector = {"app.kubernetes.io/name": w.name}
    labels = {**selector, "app.kubernetes.io/part-of": "creator-platform", "dr-platform/tier": w.tier}
    return Deployment(f"{name}-{w.name}", metadata=ObjectMetaArgs(name=w.name, namespace=namespace, labels=labels),
                      spec=DeploymentSpecArgs(
                          # a running service's replicas are its HPA's (components/autoscaling.py): not declared
                          replicas=None if w.replicas > 0 else 0, selector=LabelSelectorArgs(match_labels=selector),
                          template=PodTemplateSpecArgs(
                              metadata=ObjectMetaArgs(labels=labels),
                              spec=PodSpecArgs(
                                  security_context=restricted_pod(),
                                  topology_spread_constraints=zone_spread(selector),
                                  containers=[ContainerArgs(
                                      name=w.name, image=w.image, security_context=RESTRICTED_CONTAINER,
                                      ports=[ContainerPortArgs(name="http", container_port=w.port)],
                                      readiness_probe=http_readiness(w.health_path, w.port),
                                      resources=SERVICE_RESOURCES)]))),
                      opts=opts)



def typesense(name: str, args: TypesenseArgs, namespace: str, k8s_opts: Callable[..., pulumi.ResourceOptions],
              node_group: pulumi.Resource, ns_resource: Namespace, storage_class: StorageClass,
              storage_driver: list[pulumi.Resource], api_key: random.RandomPassword) -> StatefulSet:
    """Typesense as the official typesense-kubernetes manifests run it: a headless Service for stable pod
    names, a ConfigMap listing the Raft peers, a StatefulSet with Parallel pod management.

    Each pod keeps its data directory on its own EBS volume (a claim from `volumeClaimTemplates`): with one
    warm-standby replica there is no Raft peer to re-sync from, so without it a pod restart meant a full
    reindex from PostgreSQL (RB-N-04). Claims stay when the set scales down or is deleted, so a posture flip
    to 0 and back finds its index. The claim size is fixed once created: grow it by patching the claims."""
    selector = TYPESENSE_SELECTOR
    replicas = args.typesense_replicas
    secret = Secret(f"{name}-typesense-api-key", metadata=ObjectMetaArgs(name="typesense-api-key",
                                                                         namespace=namespace),
                    string_data={"api-key": api_key.result}, opts=k8s_opts(ns_resource))
    service = Service(f"{name}-typesense", metadata=ObjectMetaArgs(name="typesense", namespace=namespace,
                                                                   labels=selector),
                      spec=ServiceSpecArgs(cluster_ip="None", publish_not_ready_addresses=True, selector=selector,
                                           ports=[ServicePortArgs(name="http", port=TYPESENSE_API_PORT),
                                                  ServicePortArgs(name="peering", port=TYPESENSE_PEERING_PORT)]),
                      opts=k8s_opts(ns_resource))
    peers = ",".join(  # the StatefulSet's stable pod names; one entry when scaled to 0
        f"typesense-{i}.typesense.{namespace}.svc.cluster.local:{TYPESENSE_PEERING_PORT}:{TYPESENSE_API_PORT}"
        for i in range(max(replicas, 1)))
    nodes = ConfigMap(f"{name}-typesense-nodes", metadata=ObjectMetaArgs(name="typesense-nodes",
                                                                         namespace=namespace),
                      data={"nodes": peers}, opts=k8s_opts(ns_resource))
    command = ["/opt/typesense-server", "--data-dir", "/data", "--api-key", "$(TYPESENSE_API_KEY)",
               "--api-port", str(TYPESENSE_API_PORT), "--peering-port", str(TYPESENSE_PEERING_PORT),
               "--nodes", "/etc/typesense/nodes", "--reset-peers-on-error"]
    return StatefulSet(
        f"{name}-typesense", metadata=ObjectMetaArgs(name="typesense", namespace=namespace, labels=selector),
        spec=StatefulSetSpecArgs(
            replicas=replicas, service_name="typesense", pod_management_policy="Parallel",
            selector=LabelSelectorArgs(match_labels=selector),
            template=PodTemplateSpecArgs(
                metadata=ObjectMetaArgs(labels={**selector, "dr-platform/tier": "standard"}),
                spec=PodSpecArgs(
                    security_context=restricted_pod(run_as_user=10000, run_as_group=3000, fs_group=2000),
                    termination_grace_period_seconds=300,
                    topology_spread_constraints=zone_spread(selector),
                    containers=[ContainerArgs(
                        name="typesense", image=args.typesense_image, command=command,
                        security_context=FIS_TARGET_CONTAINER if args.typesense_fis_target else RESTRICTED_CONTAINER,
                        resources=TYPESENSE_RESOURCES,
                        env=[EnvVarArgs(name="TYPESENSE_API_KEY", value_from=EnvVarSourceArgs(
                            secret_key_ref=SecretKeySelectorArgs(name="typesense-api-key", key="api-key")))],
                        ports=[ContainerPortArgs(name="http", container_port=TYPESENSE_API_PORT),
                               ContainerPortArgs(name="peering", container_port=TYPESENSE_PEERING_PORT)],
                        readiness_probe=http_readiness("/health", TYPESENSE_API_PORT),
                        volume_mounts=[VolumeMountArgs(name="data", mount_path="/data"),
                                       VolumeMountArgs(name="nodes", mount_path="/etc/typesense")])],
                    volumes=[VolumeArgs(name="nodes",
                                        config_map=ConfigMapVolumeSourceArgs(name="typesense-nodes"))])),
            volume_claim_templates=[PersistentVolumeClaimArgs(
                metadata=ObjectMetaArgs(name="data", labels=selector),
                spec=PersistentVolumeClaimSpecArgs(
                    access_modes=["ReadWriteOnce"], storage_class_name=TYPESENSE_STORAGE_CLASS,
                    resources=VolumeResourceRequirementsArgs(
                        requests={"storage": f"{args.typesense_storage_gi}Gi"})))],
            persistent_volume_claim_retention_policy=StatefulSetPersistentVolumeClaimRetentionPolicyArgs(
                when_deleted="Retain", when_scaled="Retain")),
        opts=k8s_opts(node_group, secret, service, nodes, storage_class, *storage_driver))
