"""The compute layer on the plan of the real program: A at production, B as the posture table says, EKS locked
down, workloads well-formed, and every Kubernetes resource talking to its own region's cluster."""
from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pytest

from components.compute import Compute, ComputeArgs, NodeCounts, ami_type
from components.workloads import Workload
from ops.core.catalog import collections as search_collections
from ops.drctl.planning.mockplan import Plan, plan_stack
from stacks.config_files import load_stack_settings
from tests.foundation.conftest import RecordingMocks

EKS = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
K8S_PROVIDER = "pulumi:providers:kubernetes"
STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
ADDON = "aws:eks/addon:Addon"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
SETTINGS = load_stack_settings("dr").compute
PRODUCTION = {s.name: s.replicas for s in SETTINGS.services}
TIERS = {s.name: s.tier.value for s in SETTINGS.services}


HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"


def service_deployments(plan: Plan) -> list:
    """The services' Deployments (the cluster autoscaler's, in kube-system, is not one)."""
    return [d for d in plan.by_type(DEPLOYMENT) if d.inputs["metadata"]["namespace"] == "platform"]


def footprint(plan: Plan) -> tuple[dict, dict[str, int], int]:
    """Node group scaling, each service's floor (its declared 0, or its HPA's minReplicas), Typesense's replicas."""
    (group,) = plan.by_type(NODE_GROUP)
    (typesense,) = plan.by_type(STATEFUL_SET)
    floors = {h.inputs["spec"]["scaleTargetRef"]["name"]: h.inputs["spec"]["minReplicas"] for h in plan.by_type(HPA)}
    replicas = {}
    for d in service_deployments(plan):
        name, declared = d.inputs["metadata"]["name"], d.inputs["spec"].get("replicas")
        assert (declared == 0) != (name in floors), name  # exactly one owner of the count: 0 by Pulumi, or the HPA
        replicas[name] = floors.get(name, declared)
    return group.inputs["scalingConfig"], replicas, typesense.inputs["spec"]["replicas"]


def test_pilot_light_keeps_the_control_plane_and_runs_nothing(dr_plan: Plan) -> None:
    scaling, replicas, typesense = footprint(dr_plan)
    assert scaling == {"desiredSize": 0, "minSize": 0, "maxSize": 1}  # EKS's least max: no autoscaler runs
    assert replicas == dict.fromkeys(PRODUCTION, 0) and typesense == 0
    assert len(dr_plan.by_type(EKS)) == 1


def test_warm_standby_runs_the_minimal_footprint(dr_plans: dict) -> None:
    scaling, replicas, typesense = footprint(dr_plans[("warm-standby", False)])
    assert scaling == {"desiredSize": 2, "minSize": 2, "maxSize": 3}
    assert replicas == {name: 2 if TIERS[name] == "critical" else 0 for name in PRODUCTION}
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
    attached: dict[str, set[str]] = {}
    for r in dr_plan.by_type(ATTACHMENT):
        attached.setdefault(r.inputs["role"], set()).add(r.inputs["policyArn"])
    managed = "arn:aws:iam::aws:policy/"
    assert attached == {
        "platform-us-west-2-cluster": {managed + "AmazonEKSClusterPolicy"},
        # the CNI's ENI permissions are on the vpc-cni add-on's own role, not on every pod's node
        "platform-us-west-2-node": {managed + "AmazonEKSWorkerNodePolicy",
                                    managed + "AmazonEC2ContainerRegistryPullOnly"},
        "platform-us-west-2-vpc-cni": {managed + "AmazonEKS_CNI_Policy"},
        "platform-us-west-2-ebs-csi": {managed + "service-role/AmazonEBSCSIDriverPolicy"},
        # the SSM jump host the tunnel to the API goes through (components/access.py)
        "platform-us-west-2-api-jump": {managed + "AmazonSSMManagedInstanceCore"},
        # the role Resilience Hub assesses the platform as (components/resilience_hub.py): AWS's read-only policy
        "dr-platform-resilience-hub-us-west-2": {managed + "AWSResilienceHubAsssessmentExecutionPolicy"}}
    services = {json.dumps(json.loads(r.inputs["assumeRolePolicy"])["Statement"][0]["Principal"]["Service"])
                for r in dr_plan.by_type("aws:iam/role:Role") if r.name.startswith("compute-")}
    assert services == {'"eks.amazonaws.com"', '"ec2.amazonaws.com"', '"pods.eks.amazonaws.com"'}


def test_deployments_are_named_probed_and_bounded(primary_plan: Plan) -> None:
    by_name = {s.name: s for s in SETTINGS.services}
    for deployment in service_deployments(primary_plan):
        metadata, spec = deployment.inputs["metadata"], deployment.inputs["spec"]
        service = by_name[metadata["name"]]
        assert metadata["namespace"] == "platform" and metadata["labels"]["dr-platform/tier"] == service.tier.value
        (container,) = spec["template"]["spec"]["containers"]
        # from the region's own ECR: the VPC has no egress, and B's copy is replicated from A
        assert container["image"] == f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{service.image}"
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
        assert container["image"] == f"123456789012.dkr.ecr.us-west-2.amazonaws.com/{SETTINGS.typesense_image}"
        assert "--api-key" in container["command"] and "$(TYPESENSE_API_KEY)" in container["command"]
        (secret,) = plan.by_type("kubernetes:core/v1:Secret")
        assert secret.inputs["stringData"] == "[secret]"


def test_kubernetes_resources_talk_to_their_own_regions_cluster(primary_plan: Plan, dr_plans: dict) -> None:
    for plan in (primary_plan, *dr_plans.values()):
        region = "us-east-1" if plan.stack == "primary" else "us-west-2"
        (provider,) = plan.by_type(K8S_PROVIDER)
        (cluster,) = plan.by_type(EKS)
        config = json.loads(provider.inputs["kubeconfig"])
        entry = config["clusters"][0]["cluster"]  # through the SSM tunnel: the endpoint is the TLS server name
        assert entry.get("tls-server-name", entry["server"]).endswith(f".{region}.eks.amazonaws.com")
        exec_ = config["users"][0]["user"]["exec"]
        assert exec_["command"] == "aws" and exec_["args"][:2] == ["eks", "get-token"]
        assert exec_["args"][exec_["args"].index("--region") + 1] == region
        assert exec_["args"][exec_["args"].index("--cluster-name") + 1] == cluster.inputs["name"]
        kubernetes = [r for r in plan.resources if r.type.startswith("kubernetes:")]
        # namespace, secret, service, config map, statefulset, storage class; B's search feed: a service account
        # and a CronJob per collection; an HPA and a PDB per running service; where there are nodes, the cluster
        # autoscaler's service account, two roles, two bindings and Deployment; where Q3's drill deletes B's Typesense
        # pods, FIS's service account, Role and RoleBinding (tests/foundation/test_drill_q3.py)
        feed = 1 + len(search_collections()) if plan.outputs.get("searchFeedB") else 0
        pod_drill = 3 if "Q3" in (plan.outputs.get("drillTemplates") or {}) else 0
        (group,) = plan.by_type(NODE_GROUP)
        autoscaler = 6 if group.inputs["scalingConfig"]["desiredSize"] > 0 else 0
        running = sum(1 for d in service_deployments(plan) if d.inputs["spec"].get("replicas") != 0)
        (typesense,) = plan.by_type(STATEFUL_SET)
        raft_budget = 1 if typesense.inputs["spec"]["replicas"] > 0 else 0
        assert len(kubernetes) == (len(SETTINGS.services) + 6 + feed + 2 * running + autoscaler + raft_budget
                                   + pod_drill)
        for r in kubernetes:
            assert r.provider and r.provider.startswith(provider.urn), r.urn
            assert r.region is None  # no AWS region: the provider's kubeconfig pins the cluster (checked above)
            assert r.inputs["metadata"]["name"], r.urn  # explicit names: no auto-naming
        (component,) = plan.by_type("dr-platform:compute:Compute")
        assert component.region == region


def _key_arn(primary_plan: Plan, plan: Plan) -> str:
    return primary_plan.outputs["kmsPrimaryKeyArn" if plan.stack == "primary" else "kmsReplicaKeyArn"]


def _cluster_plans(primary_plan: Plan, dr_plans: dict) -> list[Plan]:
    return [primary_plan, *dr_plans.values()]


def test_typesense_claims_storage_from_the_encrypted_class(primary_plan: Plan, dr_plans: dict) -> None:
    for plan in _cluster_plans(primary_plan, dr_plans):
        (statefulset,) = plan.by_type(STATEFUL_SET)
        (storage_class,) = plan.by_type(STORAGE_CLASS)
        spec = statefulset.inputs["spec"]
        (claim,) = spec["volumeClaimTemplates"]
        assert claim["metadata"]["name"] == "data"
        assert claim["spec"] == {"accessModes": ["ReadWriteOnce"],
                                 "storageClassName": storage_class.inputs["metadata"]["name"],
                                 "resources": {"requests": {"storage": f"{SETTINGS.typesense_storage_gi}Gi"}}}
        # the claim replaces the emptyDir: /data is the volume, and claims outlive scale-downs and deletion
        pod = spec["template"]["spec"]
        assert [v["name"] for v in pod["volumes"]] == ["nodes"]
        (container,) = pod["containers"]
        assert {"name": "data", "mountPath": "/data"} in container["volumeMounts"]
        assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
        assert storage_class.urn in statefulset.dependencies


def test_typesense_volume_size_follows_the_setting() -> None:
    plan = plan_stack("dr", ["posture=warm-standby", "compute.typesenseStorageGi=100"])
    (statefulset,) = plan.by_type(STATEFUL_SET)
    (claim,) = statefulset.inputs["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "100Gi"


def test_storage_class_encrypts_gp3_with_the_regions_key(primary_plan: Plan, dr_plans: dict) -> None:
    for plan in _cluster_plans(primary_plan, dr_plans):
        (storage_class,) = plan.by_type(STORAGE_CLASS)
        inputs = storage_class.inputs
        assert inputs["provisioner"] == "ebs.csi.aws.com"
        assert inputs["parameters"] == {"type": "gp3", "encrypted": "true", "kmsKeyId": _key_arn(primary_plan, plan)}
        region = "us-east-1" if plan.stack == "primary" else "us-west-2"
        assert f":{region}:" in inputs["parameters"]["kmsKeyId"]
        assert inputs["volumeBindingMode"] == "WaitForFirstConsumer" and inputs["allowVolumeExpansion"] is True
        assert inputs["reclaimPolicy"] == "Retain"


def _addons(plan: Plan) -> dict[str, object]:
    return {a.inputs["addonName"]: a for a in plan.by_type(ADDON)}


def test_each_cluster_runs_the_agent_and_the_cni_add_ons_and_the_ebs_csi_driver_when_it_has_nodes(
        primary_plan: Plan, dr_plans: dict) -> None:
    for plan in _cluster_plans(primary_plan, dr_plans):
        (cluster,) = plan.by_type(EKS)
        (group,) = plan.by_type(NODE_GROUP)
        addons = _addons(plan)
        has_nodes = group.inputs["scalingConfig"]["desiredSize"] > 0
        always = {"eks-pod-identity-agent", "vpc-cni"}
        assert set(addons) == (always | {"aws-ebs-csi-driver", "metrics-server"} if has_nodes else always), \
            (plan.stack, plan.config.get("posture"))
        # nodes join with the CNI add-on and its credentials in place, whatever their number
        assert {addons["vpc-cni"].urn, addons["eks-pod-identity-agent"].urn} <= set(group.dependencies)
        assert addons["eks-pod-identity-agent"].urn in addons["vpc-cni"].dependencies
        assert addons["vpc-cni"].inputs["resolveConflictsOnCreate"] == "OVERWRITE"  # replaces the self-managed copy
        for addon in addons.values():
            assert addon.inputs["clusterName"] == cluster.inputs["name"]
            assert addon.region == cluster.region
        if has_nodes:  # ACTIVE needs its controller scheduled: after the nodes and the agent
            driver, agent = addons["aws-ebs-csi-driver"], addons["eks-pod-identity-agent"]
            assert {group.urn, agent.urn} <= set(driver.dependencies)
            (storage_class,) = plan.by_type(STORAGE_CLASS)
            (statefulset,) = plan.by_type(STATEFUL_SET)
            assert driver.urn in storage_class.dependencies and driver.urn in statefulset.dependencies


def test_pilot_light_keeps_the_volumes_path_ready_without_the_driver(dr_plan: Plan) -> None:
    """0 nodes, 0 Typesense pods: nothing claims storage, the class and the driver's role are in place, and the
    flip that adds nodes adds the driver (tests/foundation/test_diff.py)."""
    (statefulset,) = dr_plan.by_type(STATEFUL_SET)
    assert statefulset.inputs["spec"]["replicas"] == 0 and statefulset.inputs["spec"]["volumeClaimTemplates"]
    assert len(dr_plan.by_type(STORAGE_CLASS)) == 1
    assert [r.name for r in dr_plan.by_type("aws:iam/role:Role") if r.name.endswith("ebs-csi-role")] == \
        ["compute-us-west-2-ebs-csi-role"]


def test_ebs_csi_role_is_for_pod_identity_only_with_the_driver_policy_and_the_regions_key(
        primary_plan: Plan, dr_plans: dict) -> None:
    for plan in _cluster_plans(primary_plan, dr_plans):
        (role,) = [r for r in plan.by_type("aws:iam/role:Role") if r.name.endswith("-ebs-csi-role")]
        assert json.loads(role.inputs["assumeRolePolicy"])["Statement"] == [{
            "Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"]}]
        attached = [a.inputs["policyArn"] for a in plan.by_type(ATTACHMENT)
                    if a.inputs.get("role") == role.inputs["name"]]
        assert attached == ["arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"]
        (inline,) = [p for p in plan.by_type("aws:iam/rolePolicy:RolePolicy")
                     if p.inputs.get("role") == role.inputs["name"]]
        key = _key_arn(primary_plan, plan)
        grants, use = json.loads(inline.inputs["policy"])["Statement"]
        assert grants == {"Effect": "Allow", "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
                          "Resource": [key], "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}}
        assert use == {"Effect": "Allow", "Resource": [key], "Action": [
            "kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey",
            "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey"]}


def test_vpc_cni_gets_its_own_role_through_a_pod_identity_association(primary_plan: Plan, dr_plans: dict) -> None:
    for plan in _cluster_plans(primary_plan, dr_plans):
        cni = _addons(plan)["vpc-cni"]
        (role,) = [r for r in plan.by_type("aws:iam/role:Role") if r.name.endswith("-vpc-cni-role")]
        assert json.loads(role.inputs["assumeRolePolicy"])["Statement"] == [{
            "Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"]}]
        mine = role.inputs["name"]
        assert [a.inputs["policyArn"] for a in plan.by_type(ATTACHMENT) if a.inputs.get("role") == mine] == \
            ["arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"]
        assert not [p for p in plan.by_type("aws:iam/rolePolicy:RolePolicy") if p.inputs.get("role") == mine]
        assert cni.inputs["podIdentityAssociations"] == [{
            "roleArn": f"arn:aws:iam::123456789012:role/{role.inputs['name']}", "serviceAccount": "aws-node"}]
        assert "namespaceConfig" not in cni.inputs  # kube-system, where aws-node runs


def test_ebs_csi_controller_gets_the_role_through_a_pod_identity_association(primary_plan: Plan,
                                                                               dr_plans: dict) -> None:
    for plan in (primary_plan, dr_plans[("warm-standby", False)], dr_plans[("pilot-light", True)]):
        driver = _addons(plan)["aws-ebs-csi-driver"]
        (role,) = [r for r in plan.by_type("aws:iam/role:Role") if r.name.endswith("-ebs-csi-role")]
        (association,) = driver.inputs["podIdentityAssociations"]
        assert association == {"roleArn": f"arn:aws:iam::123456789012:role/{role.inputs['name']}",
                               "serviceAccount": "ebs-csi-controller-sa"}
        # no namespaceConfig: the add-on, and so the association, lives in kube-system
        assert "namespaceConfig" not in driver.inputs and "serviceAccountRoleArn" not in driver.inputs


def test_ami_follows_the_instance_architecture() -> None:
    assert ami_type("m6i.large") == "AL2023_x86_64_STANDARD"
    assert ami_type("c7g.2xlarge") == "AL2023_ARM_64_STANDARD"
    assert ami_type("t4g.medium") == "AL2023_ARM_64_STANDARD"


@pulumi.runtime.test
def test_component_alone_builds_its_kubeconfig_from_the_cluster_outputs(mocks: RecordingMocks):
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
        (storage_class,) = [r for r in mocks.registered if r.typ == STORAGE_CLASS]
        assert storage_class.inputs["parameters"]["kmsKeyId"] == "arn:aws:kms:us-west-2:1:key/k"
        assert [r.inputs["addonName"] for r in mocks.registered if r.typ == ADDON] == ["eks-pod-identity-agent",
                                                                                       "vpc-cni"]

    return pulumi.Output.all(compute.kubeconfig, compute.cluster_name, compute.nodegroup_name,
                             *[d.urn for d in compute.deployments], compute.typesense.urn,
                             compute.storage_class.urn, compute.ebs_csi_role.urn).apply(check)
