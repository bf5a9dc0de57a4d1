"""The compute layer of one region: an EKS cluster with a managed node group, and the platform's workloads on it
(one Deployment per service, Typesense as a StatefulSet: components/workloads.py builds those). Region A runs it
at production; region B at the counts the posture table resolves (ops/core/posture.py): this component only takes
numbers.

- The API endpoint is private; CIDRs given in config turn the public endpoint on, restricted to them. `pulumi up`
  reaches it through an SSM tunnel by default (components/access.py: the kubeconfig's server is the tunnel's local
  end, its TLS server name the endpoint's), or directly from inside the VPC or over VPN (`compute.apiAccess`).
  Kubernetes secrets are envelope-encrypted with the region's KMS key (A: the multi-Region primary, B: its
  replica). Every control-plane log type goes to CloudWatch. API
  authentication uses EKS access entries (`API` mode); the identity that runs `pulumi up` gets cluster admin.
- The node group's size: the posture table gives its floor (min) and ceiling (max); the Cluster Autoscaler
  (components/autoscaling.py) moves the desired size between them, which is why AWS says not to set it directly.
  Yet the config flip (posture, failover) must drive it, or `failover: true` would leave B at 0 nodes, and EKS
  refuses a floor above the desired size. So the program reads the node group as the account has it (stacks/
  common.py) and `NodeCounts.desired_size` decides: where the scaling config stays as it is and the autoscaler
  has grown the group, the desired size is left to it (`ignore_changes`: a refreshed state does not reset it);
  where the floor rises or the ceiling moves, at least the floor and whatever the autoscaler added within the
  ceiling; where the floor falls (failback, a smaller posture), or is 0 (no autoscaler runs), the floor.
- Each running service has an HPA (it owns the Deployment's replicas) and a PDB that lets a drain evict one pod;
  metrics-server comes with the nodes (components/autoscaling.py).
- Kubernetes resources go through a kubernetes Provider built from the cluster's outputs (token from
  `aws eks get-token` at run time, nothing stored), after the node group exists, and have explicit names. With
  `deploy_workloads` off (a first deploy: no image pushed yet) neither the provider nor any of them is declared.
- Typesense keeps its index on EBS volumes (gp3, encrypted with the region's key) provisioned by the EBS CSI
  driver add-on. The driver gets AWS credentials through EKS Pod Identity: a role only its controller's service
  account can assume, with the AWS managed policy plus use of this region's key for EBS, nothing on the nodes.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import NamedTuple

import pulumi
import pulumi_aws as aws
import pulumi_random as random
from pulumi_kubernetes import Provider as KubernetesProvider
from pulumi_kubernetes.apps.v1 import (
    Deployment,
    StatefulSet,
)
from pulumi_kubernetes.core.v1 import (
    Namespace,
)
from pulumi_kubernetes.meta.v1 import ObjectMetaArgs
from pulumi_kubernetes.storage.v1 import StorageClass

from components.autoscaling import (
    METRICS_SERVER_ADDON,
    AutoscalerArgs,
    ClusterAutoscalerIdentity,
    cluster_autoscaler,
    service_scaling,
    typesense_budget,
)
from components.base import child, service_trust
from components.workloads import TYPESENSE_API_PORT, TYPESENSE_STORAGE_CLASS, Workload, deployment, typesense
from ops.core.posture import node_group_max_size

# Every control-plane log type (https://docs.aws.amazon.com/eks/latest/userguide/control-plane-logs.html).
CONTROL_PLANE_LOGS = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
LOG_RETENTION_DAYS = 90
CLUSTER_POLICIES = ["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"]
# Least privilege for nodes: join the cluster (this policy also lets the Pod Identity agent call
# eks-auth:AssumeRoleForPodIdentity) and pull images (PullOnly, not ReadOnly, which also lists and describes every
# repository). The VPC CNI's ENI management is not here: the vpc-cni add-on has its own role through Pod Identity,
# so no other pod on a node can borrow it from the instance profile.
NODE_POLICIES = ["arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
                 "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly"]


# EKS add-ons (https://docs.aws.amazon.com/eks/latest/userguide/workloads-add-ons-available-eks.html).
POD_IDENTITY_ADDON = "eks-pod-identity-agent"
VPC_CNI_ADDON = "vpc-cni"
VPC_CNI_SERVICE_ACCOUNT = "aws-node"
VPC_CNI_POLICY_ARN = "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"  # IPv4 clusters (the VPC here is IPv4)
EBS_CSI_ADDON = "aws-ebs-csi-driver"
EBS_CSI_SERVICE_ACCOUNT = "ebs-csi-controller-sa"  # the add-on's controller, in kube-system (the add-on's namespace)
# An AWS managed policy under the service-role/ path (not arn:aws:iam::aws:policy/AmazonEBSCSIDriverPolicy).
EBS_CSI_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
POD_IDENTITY_PRINCIPAL = "pods.eks.amazonaws.com"
EBS_KMS_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey",
                   "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey"]


def pod_identity_trust() -> str:
    """EKS Pod Identity assumes the role and tags the session (namespace, service account, cluster)."""
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": POD_IDENTITY_PRINCIPAL},
        "Action": ["sts:AssumeRole", "sts:TagSession"]}]})


def ebs_kms_policy(key_arn: pulumi.Input[str]) -> pulumi.Output[str]:
    """What the EBS CSI driver needs to create and attach volumes encrypted with a customer managed key, on that
    key only (AWS's EBS CSI IAM role guide): grants only for AWS resources (EBS itself), and data-key use. The
    guide's `kms:ReEncrypt*` and `kms:GenerateDataKey*` are spelled out (no key-pair actions; no wildcards)."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
         "Resource": [key_arn], "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}},
        {"Effect": "Allow", "Action": EBS_KMS_ACTIONS, "Resource": [key_arn]}]})


def ami_type(instance_type: str) -> str:
    """AL2023 for the instance's architecture: Graviton families have a `g` after the generation digit."""
    return "AL2023_ARM_64_STANDARD" if re.match(r"^[a-z]+\d+g", instance_type) else "AL2023_x86_64_STANDARD"


def kubeconfig(cluster_name: pulumi.Input[str], endpoint: pulumi.Input[str], ca_data: pulumi.Input[str],
               region: str, tunnel_port: int | None = None) -> pulumi.Output[str]:
    """A kubeconfig that fetches a short-lived token with `aws eks get-token` each time it is used.

    With `tunnel_port` the server is the local end of the SSM tunnel (components/access.py), and `tls-server-name`
    keeps the certificate check against the endpoint's own name, which the cluster's certificate carries."""
    def cluster(server: str | None) -> dict:
        entry = {"certificate-authority-data": ca_data}
        if tunnel_port is None or server is None:  # None: a mock that computes no endpoint
            return {**entry, "server": server}
        host = server.removeprefix("https://").rstrip("/")
        return {**entry, "server": f"https://127.0.0.1:{tunnel_port}", "tls-server-name": host}

    return pulumi.Output.json_dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "eks",
        "clusters": [{"name": "eks", "cluster": pulumi.Output.from_input(endpoint).apply(cluster)}],
        "contexts": [{"name": "eks", "context": {"cluster": "eks", "user": "eks"}}],
        "users": [{"name": "eks", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws", "interactiveMode": "Never",
            "args": ["eks", "get-token", "--cluster-name", cluster_name, "--region", region, "--output", "json"]}}}],
    })


class LiveScaling(NamedTuple):
    """The node group's scaling config in the account when the program runs (EKS DescribeNodegroup)."""
    min: int
    desired: int
    max: int


@dataclass(frozen=True)
class NodeCounts:
    desired: int  # the posture table's count: the floor (min) the cluster autoscaler keeps
    max: int  # the posture table's ceiling, what the cluster autoscaler may grow to
    live: LiveScaling | None = None  # None: no such node group yet

    @property
    def max_size(self) -> int:
        return node_group_max_size(self.desired, self.max)

    def desired_size(self) -> tuple[int, bool]:
        """(the desired size to declare, whether to leave it to the Cluster Autoscaler): see the module's doc."""
        floor, live = self.desired, self.live
        if live is None or floor == 0:  # at 0 no autoscaler runs (it runs on the nodes it scales): 0 is 0
            return floor, False
        kept = min(max(live.desired, floor), self.max_size)
        if live.min == floor and live.max == self.max_size:
            # Left to the autoscaler only where it grew the group: at the floor, declaring it is the same and keeps
            # a state that missed an out-of-band or interrupted change from sending its stale desired size.
            return kept, kept > floor
        if floor < live.min:
            return floor, False
        return kept, False


@dataclass
class ComputeArgs:
    region: str
    provider: aws.Provider
    cluster_name: str
    nodegroup_name: str
    kubernetes_version: str
    subnet_ids: list[pulumi.Output[str]]
    kms_key_arn: pulumi.Input[str]  # the region's key: secrets envelope encryption, EBS volumes
    node_instance_type: str
    nodes: NodeCounts
    workloads: list[Workload]
    typesense_replicas: int
    typesense_image: pulumi.Input[str]
    typesense_storage_gi: int = 20  # per Typesense pod
    typesense_fis_target: bool = False  # an FIS pod-fault drill targets Typesense here (components/workloads.py)
    public_access_cidrs: list[str] = field(default_factory=list)
    # what nodes need before they can join (the VPC endpoints of a private network)
    network_ready: list[pulumi.Resource] = field(default_factory=list)
    # what B's capacity changes wait for (failback: the writer back in A, DNS moved); the node group waits, and
    # every workload waits for the node group
    after: list[pulumi.Resource] = field(default_factory=list)
    namespace: str = "platform"
    # How the Kubernetes provider reaches the API: the local port of the SSM tunnel, or None for the endpoint
    # itself (inside the VPC, or its public side); and the security group (the jump host's) admitted on 443.
    api_tunnel_port: int | None = None
    api_client_security_group_id: pulumi.Input[str] | None = None
    # False: the cluster, nodes and add-ons only; no Kubernetes provider and no Kubernetes object (first deploy:
    # nothing is pushed to ECR yet, and the tunnel needs the cluster to exist).
    deploy_workloads: bool = True
    # The Kubernetes Cluster Autoscaler's image: the stacks pass the region's ECR copy (policy: images-from-ecr).
    cluster_autoscaler_image: pulumi.Input[str] = "autoscaling/cluster-autoscaler:v1.34.2"
    account_id: pulumi.Input[str] | None = None  # the autoscaler's policy names it; None: the cluster ARN's
    # The posture table's row the counts come from: the HPAs carry it, so every config flip applies them (and takes
    # back what ARC's failover patched, components/autoscaling.py), even where the floor stays the same.
    scaling_row: str = "production"


class Compute(pulumi.ComponentResource):
    """One region's EKS cluster, node group and add-ons; with `deploy_workloads`, the Kubernetes provider and the
    workloads on it (the module's docstring says why each part is as it is)."""

    cluster_name: pulumi.Output[str]
    cluster_arn: pulumi.Output[str]
    nodegroup_name: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    deploys_workloads: bool  # False: none of the Kubernetes attributes below exist
    deployments: list[Deployment]
    autoscalers: list[pulumi.Resource]  # the services' HPAs: a scale-up on failover is their floor moving
    disruption_budgets: list[pulumi.Resource]
    cluster_autoscaler_role: aws.iam.Role
    typesense: StatefulSet
    storage_class: StorageClass
    ebs_csi_role: aws.iam.Role
    vpc_cni_role: aws.iam.Role
    kubernetes_provider: KubernetesProvider
    namespace: Namespace
    namespace_name: str
    typesense_url: str  # in-cluster API address of the Typesense Service

    def __init__(self, name: str, args: ComputeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("dr-platform:compute:Compute", name, None, opts)
        p = args.provider
        cluster_role, cluster_attachments = self._role(name, args, "cluster", service_trust("eks.amazonaws.com"),
                                                       CLUSTER_POLICIES)
        # Created before the cluster so EKS writes into a group with a retention, not a never-expiring one.
        logs = aws.cloudwatch.LogGroup(f"{name}-logs", name=f"/aws/eks/{args.cluster_name}/cluster",
                                       retention_in_days=LOG_RETENTION_DAYS, opts=child(self, p))
        public = bool(args.public_access_cidrs)
        cluster = aws.eks.Cluster(
            f"{name}-cluster", name=args.cluster_name, version=args.kubernetes_version, role_arn=cluster_role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=args.subnet_ids, endpoint_private_access=True, endpoint_public_access=public,
                public_access_cidrs=list(args.public_access_cidrs) if public else None),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=args.kms_key_arn),
                resources=["secrets"]),
            enabled_cluster_log_types=CONTROL_PLANE_LOGS,
            access_config=aws.eks.ClusterAccessConfigArgs(authentication_mode="API",
                                                          bootstrap_cluster_creator_admin_permissions=True),
            opts=child(self, p, depends_on=[*cluster_attachments, logs]))

        node_role, node_attachments = self._role(name, args, "node", service_trust("ec2.amazonaws.com"), NODE_POLICIES)
        networking = self._networking(name, args, cluster)
        desired, autoscaled = args.nodes.desired_size()
        node_group = aws.eks.NodeGroup(
            f"{name}-nodes", cluster_name=cluster.name, node_group_name=args.nodegroup_name,
            node_role_arn=node_role.arn, subnet_ids=args.subnet_ids, version=cluster.version,
            instance_types=[args.node_instance_type], ami_type=ami_type(args.node_instance_type),
            capacity_type="ON_DEMAND",
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(desired_size=desired, min_size=args.nodes.desired,
                                                              max_size=args.nodes.max_size),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            labels={"dr-platform/pool": args.nodegroup_name},
            # a node is Ready only once aws-node has its credentials: the CNI add-on and the agent come first
            opts=child(self, p, depends_on=[*node_attachments, *networking, *args.network_ready, *args.after],
                       ignore_changes=["scalingConfig.desiredSize"] if autoscaled else None))

        storage_driver = self._storage_driver(name, args, cluster, node_group, networking[0])
        self._autoscaler = ClusterAutoscalerIdentity(self, name, AutoscalerArgs(
            region=args.region, provider=p,
            account_id=args.account_id if args.account_id is not None else cluster.arn.apply(
                lambda arn: arn.split(":")[4]),
            cluster_name=cluster.name,
            cluster_name_literal=args.cluster_name, nodegroup_name=args.nodegroup_name,
            pod_identity_agent=networking[0]), pod_identity_trust())
        self.cluster_autoscaler_role = self._autoscaler.role
        # HPAs read pod CPU from the metrics API. metrics-server is a Deployment: like the EBS driver, an add-on that
        # waits for nodes (DEGRADED at 0), so it comes with them, after the node group.
        self._metrics = [] if args.nodes.desired == 0 else [aws.eks.Addon(
            f"{name}-{METRICS_SERVER_ADDON}", cluster_name=cluster.name, addon_name=METRICS_SERVER_ADDON,
            opts=child(self, p, depends_on=[node_group]))]
        if args.api_client_security_group_id is not None:
            # The control plane's ENIs carry the security group EKS created; the tunnel arrives from the jump host.
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-api-from-jump-host",
                security_group_id=cluster.vpc_config.apply(lambda vpc: vpc.cluster_security_group_id),
                referenced_security_group_id=args.api_client_security_group_id, ip_protocol="tcp",
                from_port=443, to_port=443, description="Kubernetes API from the SSM jump host",
                opts=child(self, p))

        ca_data = cluster.certificate_authority.apply(lambda ca: ca.data if ca else None)
        self.kubeconfig = kubeconfig(cluster.name, cluster.endpoint, ca_data, args.region, args.api_tunnel_port)
        self.endpoint = cluster.endpoint
        self.cluster_name = cluster.name
        self.cluster_arn = cluster.arn
        self.nodegroup_name = node_group.node_group_name
        self.nodegroup_arn = node_group.arn
        self.deploys_workloads = args.deploy_workloads
        # Declared either way: the key Typesense and its clients share outlives a workloads flip.
        self.typesense_api_key = random.RandomPassword(f"{name}-typesense-api-key", length=40, special=False,
                                                       opts=pulumi.ResourceOptions(parent=self))
        self.deployments = []  # DNS on failover waits for these: none while workloads are off
        self.autoscalers, self.disruption_budgets = [], []
        if args.deploy_workloads:
            self._kubernetes(name, args, cluster, node_group, storage_driver)
        else:
            pulumi.log.warn(f"{args.cluster_name}: compute.workloads is false, so no Kubernetes object is declared "
                            "(a first deploy); on a cluster that runs them, this update deletes them", self)
        self.register_outputs({"clusterName": self.cluster_name, "clusterArn": self.cluster_arn,
                               "nodegroupName": self.nodegroup_name, "desiredNodes": desired})

    def _kubernetes(self, name: str, args: ComputeArgs, cluster: aws.eks.Cluster, node_group: aws.eks.NodeGroup,
                    storage_driver: list[aws.eks.Addon]) -> None:
        """The Kubernetes provider and every Kubernetes object: the namespace, the services, Typesense."""
        # The cluster's ARN is its identity: switching compute.apiAccess changes the kubeconfig's server, which
        # without this the provider would take for another cluster, replacing every object on it.
        k8s = KubernetesProvider(f"{name}-k8s", kubeconfig=self.kubeconfig, cluster_identifier=cluster.arn,
                                 opts=pulumi.ResourceOptions(parent=self))

        def k8s_opts(*after: pulumi.Resource) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, provider=k8s, depends_on=list(after))

        namespace = Namespace(f"{name}-namespace", metadata=ObjectMetaArgs(
            name=args.namespace, labels={"pod-security.kubernetes.io/enforce": "restricted"}), opts=k8s_opts())
        ns = args.namespace  # named explicitly; children depend on the Namespace resource itself
        # for workloads other components add
        self.kubernetes_provider, self.namespace, self.namespace_name = k8s, namespace, ns
        self.deployments = [deployment(name, w, ns, k8s_opts(node_group, namespace)) for w in args.workloads]
        for w, target in zip(args.workloads, self.deployments):
            if w.replicas > 0:  # a service at 0 has no HPA (minReplicas >= 1) and nothing to disrupt
                hpa, pdb = service_scaling(name, w, ns, target, k8s_opts, self._metrics, args.scaling_row)
                self.autoscalers.append(hpa)
                self.disruption_budgets.append(pdb)
        if args.nodes.desired > 0:  # it runs on the nodes it scales: none, no autoscaler
            self.cluster_autoscaler = cluster_autoscaler(name, self._autoscaler, args.cluster_autoscaler_image,
                                                         k8s_opts, node_group)
        # Until the driver exists (pilot light) the class is inert: nothing claims it at 0 replicas.
        storage_class = StorageClass(
            f"{name}-storage-class", metadata=ObjectMetaArgs(name=TYPESENSE_STORAGE_CLASS),
            provisioner="ebs.csi.aws.com",
            parameters={"type": "gp3", "encrypted": "true", "kmsKeyId": args.kms_key_arn},
            # Bind where the pod lands: an EBS volume lives in one AZ, so it must follow the scheduler.
            volume_binding_mode="WaitForFirstConsumer", allow_volume_expansion=True,
            # Retain: the index on these volumes is what saves a reindex (RB-N-04, hours) while B takes over; a
            # deleted claim (a replaced StatefulSet, a slip with kubectl) must leave the EBS volume to re-bind,
            # not destroy it. Orphaned volumes are cleaned up by hand.
            reclaim_policy="Retain",
            opts=k8s_opts(*storage_driver))
        self.storage_class = storage_class
        self.typesense = typesense(name, args, ns, k8s_opts, node_group, namespace, storage_class, storage_driver,
                                   self.typesense_api_key)
        self.typesense_url = f"http://typesense.{ns}.svc.cluster.local:{TYPESENSE_API_PORT}"
        if args.typesense_replicas > 0:
            self.disruption_budgets.append(typesense_budget(name, ns, self.typesense, k8s_opts))

    def _role(self, name: str, args: ComputeArgs, suffix: str, trust_policy: str,
              managed_policy_arns: list[str]) -> tuple[aws.iam.Role, list[aws.iam.RolePolicyAttachment]]:
        """A role `<cluster>-<suffix>` with these AWS managed policies attached (one attachment each)."""
        role = aws.iam.Role(f"{name}-{suffix}-role", name=f"{args.cluster_name}-{suffix}",
                            assume_role_policy=trust_policy, opts=child(self, args.provider))
        attachments = [aws.iam.RolePolicyAttachment(f"{name}-{suffix}-{arn.rsplit('/', 1)[-1]}", role=role.name,
                                                    policy_arn=arn, opts=child(self, args.provider))
                       for arn in managed_policy_arns]
        return role, attachments

    def _networking(self, name: str, args: ComputeArgs, cluster: aws.eks.Cluster) -> list[aws.eks.Addon]:
        """The Pod Identity agent and the VPC CNI as EKS add-ons, before any node: both are DaemonSets, ACTIVE
        with 0 nodes, and the agent runs on the host network, so it serves aws-node before pod networking is up.
        The CNI replaces the self-managed copy EKS installs with the cluster (OVERWRITE: nothing is customised)."""
        p = args.provider
        agent = aws.eks.Addon(f"{name}-{POD_IDENTITY_ADDON}", cluster_name=cluster.name,
                              addon_name=POD_IDENTITY_ADDON, opts=child(self, p))
        role, grants = self._role(name, args, "vpc-cni", pod_identity_trust(), [VPC_CNI_POLICY_ARN])
        self.vpc_cni_role = role
        cni = aws.eks.Addon(
            f"{name}-{VPC_CNI_ADDON}", cluster_name=cluster.name, addon_name=VPC_CNI_ADDON,
            resolve_conflicts_on_create="OVERWRITE",
            pod_identity_associations=[aws.eks.AddonPodIdentityAssociationArgs(
                role_arn=role.arn, service_account=VPC_CNI_SERVICE_ACCOUNT)],
            opts=child(self, p, depends_on=[agent, *grants]))
        return [agent, cni]

    def _storage_driver(self, name: str, args: ComputeArgs, cluster: aws.eks.Cluster,
                        node_group: aws.eks.NodeGroup, agent: aws.eks.Addon) -> list[aws.eks.Addon]:
        """The EBS CSI driver's role, and the driver itself when the node group has nodes.

        EKS reports an add-on ACTIVE only once its pods run. The driver's controller is a Deployment, which at 0
        nodes leaves the add-on DEGRADED and `pulumi up` failing after the 20-minute wait. So at 0 nodes (pilot
        light) there is no driver; the flip that adds nodes adds it, after the node group. Its role exists either
        way (IAM is free)."""
        p = args.provider
        role, attachments = self._role(name, args, "ebs-csi", pod_identity_trust(), [EBS_CSI_POLICY_ARN])
        grants = [*attachments, aws.iam.RolePolicy(f"{name}-ebs-csi-kms", name="ebs-volume-kms", role=role.name,
                                                   policy=ebs_kms_policy(args.kms_key_arn), opts=child(self, p))]
        self.ebs_csi_role = role
        if args.nodes.desired == 0:
            return []
        driver = aws.eks.Addon(
            f"{name}-{EBS_CSI_ADDON}", cluster_name=cluster.name, addon_name=EBS_CSI_ADDON,
            # The add-on creates the association in its own namespace (kube-system) for this service account.
            pod_identity_associations=[aws.eks.AddonPodIdentityAssociationArgs(
                role_arn=role.arn, service_account=EBS_CSI_SERVICE_ACCOUNT)],
            opts=child(self, p, depends_on=[node_group, agent, *grants]))
        return [driver]

