"""The compute layer on the plan of the real program: A at production, B as the posture table says, EKS locked
down, workloads well-formed, and every Kubernetes resource talking to its own region's cluster."""
from __future__ import annotations

import json
from collections.abc import Iterator

import pulumi
import pulumi_aws as aws
import pytest
from pulumi.runtime import settings as runtime_settings

from components.compute import Compute, ComputeArgs, NodeCounts, Workload, ami_type
from scripts.planning.mockplan import Plan, plan_stack
from stacks.config_files import load_stack_settings

EKS = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
K8S_PROVIDER = "pulumi:providers:kubernetes"
SETTINGS = load_stack_settings("dr").compute
PRODUCTION = {s.name: s.replicas for s in SETTINGS.services}
TIERS = {s.name: s.tier.value for s in SETTINGS.services}


def footprint(plan: Plan) -> tuple[dict, dict[str, int], int]:
    (group,) = plan.by_type(NODE_GROUP)
    (typesense,) = plan.by_type(STATEFUL_SET)
    replicas = {d.inputs["metadata"]["name"]: d.inputs["spec"]["replicas"] for d in plan.by_type(DEPLOYMENT)}
    return group.inputs["scalingConfig"], replicas, typesense.inputs["spec"]["replicas"]


def test_pilot_light_keeps_the_control_plane_and_runs_nothing(dr_plan: Plan) -> None:
    scaling, replicas, typesense = footprint(dr_plan)
    assert scaling == {"desiredSize": 0, "minSize": 0, "maxSize": SETTINGS.max_nodes}
    assert replicas == dict.fromkeys(PRODUCTION, 0) and typesense == 0
    assert len(dr_plan.by_type(EKS)) == 1


def test_warm_standby_runs_the_minimal_footprint(dr_plans: dict) -> None:
    scaling, replicas, typesense = footprint(dr_plans[("warm-standby", False)])
    assert (scaling["desiredSize"], scaling["minSize"]) == (2, 2)
    assert replicas == {name: 1 if TIERS[name] == "critical" else 0 for name in PRODUCTION}
    assert typesense == 1


@pytest.mark.parametrize(("posture", "failover"), [("active-active", False), ("pilot-light", True),
                                                   ("warm-standby", True), ("active-active", True)])
def test_b_runs_production_when_it_serves(dr_plans: dict, posture: str, failover: bool) -> None:
    plan = dr_plans[(posture, failover)]
    scaling, replicas, typesense = footprint(plan)
    assert (scaling["desiredSize"], scaling["minSize"], scaling["maxSize"]) == \
        (SETTINGS.nodes, SETTINGS.nodes, SETTINGS.max_nodes)
    assert replicas == PRODUCTION and typesense == SETTINGS.typesense_replicas
    assert plan.outputs["eksNodesB"] == SETTINGS.nodes and plan.outputs["replicasB"] == PRODUCTION


def test_primary_runs_production_in_a(primary_plan: Plan) -> None:
    scaling, replicas, typesense = footprint(primary_plan)
    assert scaling["desiredSize"] == SETTINGS.nodes and replicas == PRODUCTION
    assert typesense == SETTINGS.typesense_replicas
    (cluster,) = primary_plan.by_type(EKS)
    assert cluster.region == "us-east-1" and cluster.inputs["name"] == "platform-us-east-1"


def test_desired_size_is_driven_by_the_config_flip_not_ignored(primary_plan: Plan, dr_plans: dict) -> None:
    for plan in (primary_plan, *dr_plans.values()):
        (group,) = plan.by_type(NODE_GROUP)
        assert not any(field.startswith("scalingConfig") for field in group.ignoreChanges)


def test_eks_secrets_are_encrypted_with_the_regions_key(primary_plan: Plan, dr_plans: dict) -> None:
    (cluster,) = primary_plan.by_type(EKS)
    assert cluster.inputs["encryptionConfig"] == {"provider": {"keyArn": primary_plan.outputs["kmsPrimaryKeyArn"]},
                                                  "resources": ["secrets"]}
    for plan in dr_plans.values():
        (cluster,) = plan.by_type(EKS)
        assert cluster.inputs["encryptionConfig"]["provider"]["keyArn"] == primary_plan.outputs["kmsReplicaKeyArn"]
        assert ":us-west-2:" in cluster.inputs["encryptionConfig"]["provider"]["keyArn"]


def test_eks_endpoint_is_private_logged_and_uses_access_entries(primary_plan: Plan, dr_plan: Plan) -> None:
    for plan in (primary_plan, dr_plan):
        (cluster,) = plan.by_type(EKS)
        vpc = cluster.inputs["vpcConfig"]
        assert vpc["endpointPrivateAccess"] is True and vpc["endpointPublicAccess"] is False
        assert "publicAccessCidrs" not in vpc
        network_subnets = {s.urn.rsplit("::", 1)[-1] for s in plan.by_type("aws:ec2/subnet:Subnet")}
        assert set(vpc["subnetIds"]) == network_subnets and len(network_subnets) == 3  # private, three AZs
        assert set(cluster.inputs["enabledClusterLogTypes"]) == {"api", "audit", "authenticator",
                                                                 "controllerManager", "scheduler"}
        assert cluster.inputs["accessConfig"]["authenticationMode"] == "API"
        assert cluster.inputs["version"] == SETTINGS.kubernetes_version


def test_public_endpoint_only_for_the_configured_cidrs() -> None:
    plan = plan_stack("dr", ['compute.publicAccessCidrs=["203.0.113.0/24"]'])
    (cluster,) = plan.by_type(EKS)
    assert cluster.inputs["vpcConfig"]["endpointPublicAccess"] is True
    assert cluster.inputs["vpcConfig"]["publicAccessCidrs"] == ["203.0.113.0/24"]


def test_roles_carry_only_the_managed_policies_eks_needs(dr_plan: Plan) -> None:
    attached = {r.inputs["policyArn"].rsplit("/", 1)[-1] for r in dr_plan.by_type(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment")}
    assert attached == {"AmazonEKSClusterPolicy", "AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly",
                        "AmazonEKS_CNI_Policy"}
    services = {json.loads(r.inputs["assumeRolePolicy"])["Statement"][0]["Principal"]["Service"]
                for r in dr_plan.by_type("aws:iam/role:Role") if r.name.startswith("compute-")}
    assert services == {"eks.amazonaws.com", "ec2.amazonaws.com"}


def test_deployments_are_named_probed_and_bounded(primary_plan: Plan) -> None:
    by_name = {s.name: s for s in SETTINGS.services}
    for deployment in primary_plan.by_type(DEPLOYMENT):
        metadata, spec = deployment.inputs["metadata"], deployment.inputs["spec"]
        service = by_name[metadata["name"]]
        assert metadata["namespace"] == "platform" and metadata["labels"]["dr-platform/tier"] == service.tier.value
        (container,) = spec["template"]["spec"]["containers"]
        assert container["image"] == service.image and not container["image"].endswith(":latest")
        assert container["readinessProbe"]["httpGet"] == {"path": service.health_path, "port": service.port}
        assert container["ports"] == [{"containerPort": service.port, "name": "http"}]
        assert set(container["resources"]) == {"requests", "limits"}
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()


def test_typesense_statefulset_lists_exactly_its_raft_peers(dr_plans: dict) -> None:
    for plan in dr_plans.values():
        (statefulset,) = plan.by_type(STATEFUL_SET)
        replicas = statefulset.inputs["spec"]["replicas"]
        (nodes,) = plan.by_type("kubernetes:core/v1:ConfigMap")
        assert len(nodes.inputs["data"]["nodes"].split(",")) == max(replicas, 1)
        assert statefulset.inputs["spec"]["serviceName"] == "typesense"
        (container,) = statefulset.inputs["spec"]["template"]["spec"]["containers"]
        assert container["image"] == SETTINGS.typesense_image
        assert "--api-key" in container["command"] and "$(TYPESENSE_API_KEY)" in container["command"]
        (secret,) = plan.by_type("kubernetes:core/v1:Secret")
        assert secret.inputs["stringData"] == "[secret]"


def test_kubernetes_resources_talk_to_their_own_regions_cluster(primary_plan: Plan, dr_plans: dict) -> None:
    for plan in (primary_plan, *dr_plans.values()):
        region = "us-east-1" if plan.stack == "primary" else "us-west-2"
        (provider,) = plan.by_type(K8S_PROVIDER)
        (cluster,) = plan.by_type(EKS)
        config = json.loads(provider.inputs["kubeconfig"])
        assert config["clusters"][0]["cluster"]["server"].endswith(f".{region}.eks.amazonaws.com")
        exec_ = config["users"][0]["user"]["exec"]
        assert exec_["command"] == "aws" and exec_["args"][:2] == ["eks", "get-token"]
        assert exec_["args"][exec_["args"].index("--region") + 1] == region
        assert exec_["args"][exec_["args"].index("--cluster-name") + 1] == cluster.inputs["name"]
        kubernetes = [r for r in plan.resources if r.type.startswith("kubernetes:")]
        assert len(kubernetes) == len(SETTINGS.services) + 5  # namespace, secret, service, config map, statefulset
        for r in kubernetes:
            assert r.provider and r.provider.startswith(provider.urn), r.urn
            assert r.region is None  # no AWS region: the provider's kubeconfig pins the cluster (checked above)
            assert r.inputs["metadata"]["name"], r.urn  # explicit names: no auto-naming
        (component,) = plan.by_type("dr-platform:compute:Compute")
        assert component.region == region


def test_ami_follows_the_instance_architecture() -> None:
    assert ami_type("m6i.large") == "AL2023_x86_64_STANDARD"
    assert ami_type("c7g.2xlarge") == "AL2023_ARM_64_STANDARD"
    assert ami_type("t4g.medium") == "AL2023_ARM_64_STANDARD"


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.registered: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        self.registered.append(args)
        outputs = dict(args.inputs)
        if args.typ == EKS:
            outputs.update(endpoint="https://example.eks", certificateAuthority={"data": "Q0E="})
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        return {}


@pytest.fixture
def mocks() -> Iterator[_Mocks]:
    recording = _Mocks()
    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(recording, project="dr-platform", stack="test", preview=False)
    yield recording


@pulumi.runtime.test
def test_component_alone_builds_its_kubeconfig_from_the_cluster_outputs(mocks: _Mocks):
    compute = Compute("compute", ComputeArgs(
        region="us-west-2", provider=aws.Provider("b", region="us-west-2"), cluster_name="platform-us-west-2",
        nodegroup_name="general", kubernetes_version="1.34", subnet_ids=[pulumi.Output.from_input("subnet-1")],
        kms_key_arn="arn:aws:kms:us-west-2:1:key/k", node_instance_type="m6i.large",
        nodes=NodeCounts(desired=0, max=4), typesense_replicas=0, typesense_image="typesense/typesense:0.24.1",
        workloads=[Workload(name="payments", tier="critical", image="x/payments:1", replicas=0, port=8080)]))

    def check(values: list) -> None:
        kubeconfig, name, *_registered = values
        config = json.loads(kubeconfig)
        assert config["clusters"][0]["cluster"] == {"server": "https://example.eks",
                                                    "certificate-authority-data": "Q0E="}
        assert name == "platform-us-west-2"
        (group,) = [r for r in mocks.registered if r.typ == NODE_GROUP]
        assert group.inputs["scalingConfig"] == {"desiredSize": 0, "minSize": 0, "maxSize": 4}
        (deployment,) = [r for r in mocks.registered if r.typ == DEPLOYMENT]
        assert deployment.provider and "compute-k8s" in deployment.provider
        assert deployment.inputs["metadata"]["name"] == "payments"

    return pulumi.Output.all(compute.kubeconfig, compute.cluster_name, compute.nodegroup_name,
                             *[d.urn for d in compute.deployments], compute.typesense.urn).apply(check)
