"""How `pulumi up` reaches the private EKS API, on the plan of the real program.

By default (`compute.apiAccess: tunnel`) nothing is opened: the Kubernetes provider talks to the local end of an
SSM port-forwarding session through a jump host in a private subnet, with the certificate checked against the
endpoint's own name. `private` talks to the endpoint itself (inside the VPC or over VPN)."""
from __future__ import annotations

import json

import pytest

from components.access import SESSION_MANAGER_ENDPOINTS
from ops.drctl.planning.mockplan import Plan, plan_stack
from stacks.config_files import stack_values
from stacks.settings import ConfigError, parse

INSTANCE = "aws:ec2/instance:Instance"
K8S_PROVIDER = "pulumi:providers:kubernetes"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
REGIONS = {"primary": ("us-east-1", "10.10.0.0/16"), "dr": ("us-west-2", "10.20.0.0/16")}


def cluster_entry(plan: Plan) -> dict:
    (provider,) = plan.by_type(K8S_PROVIDER)
    config = json.loads(provider.inputs["kubeconfig"])
    return config["clusters"][0]["cluster"]


def endpoint_host(plan: Plan) -> str:
    return plan.outputs["apiAccess"]["endpoint"].removeprefix("https://")


def test_default_kubeconfig_goes_through_the_local_tunnel_verifying_the_endpoints_name(primary_plan: Plan,
                                                                                        dr_plans: dict) -> None:
    for plan in (primary_plan, *dr_plans.values()):
        region, _ = REGIONS[plan.stack]
        entry = cluster_entry(plan)
        assert entry["server"] == "https://127.0.0.1:8443"
        assert entry["tls-server-name"] == endpoint_host(plan)
        assert entry["tls-server-name"].endswith(f".{region}.eks.amazonaws.com")
        assert entry["certificate-authority-data"]  # the cluster's CA still verifies the chain
        (provider,) = plan.by_type(K8S_PROVIDER)
        (cluster,) = plan.by_type("aws:eks/cluster:Cluster")
        # the cluster's identity, so switching apiAccess later updates the provider instead of replacing it
        assert provider.inputs["clusterIdentifier"] == f"arn:aws:eks:{region}:123456789012:cluster/" \
                                                      f"{cluster.inputs['name']}"
        assert cluster.inputs["vpcConfig"]["endpointPublicAccess"] is False


def test_private_access_talks_to_the_endpoint_itself_and_builds_no_jump_host() -> None:
    for stack in ("primary", "dr"):
        plan = plan_stack(stack, ["compute.apiAccess=private"])
        entry = cluster_entry(plan)
        assert entry["server"] == plan.outputs["apiAccess"]["endpoint"] and "tls-server-name" not in entry
        assert plan.by_type(INSTANCE) == [] and plan.by_type("dr-platform:access:ApiAccessPath") == []
        assert plan.outputs["apiAccess"] == {"mode": "private", "endpoint": plan.outputs["apiAccess"]["endpoint"]}


def test_public_access_needs_its_cidrs() -> None:
    with pytest.raises(ConfigError, match="compute.publicAccessCidrs"):
        parse(stack_values("dr", ["compute.apiAccess=public"]))
    plan = plan_stack("dr", ["compute.apiAccess=public", 'compute.publicAccessCidrs=["203.0.113.0/24"]'])
    assert cluster_entry(plan)["server"] == plan.outputs["apiAccess"]["endpoint"]
    assert plan.by_type(INSTANCE) == []


@pytest.mark.parametrize("value", ["vpn", "Tunnel", ""])
def test_unknown_api_access_is_refused_naming_the_key(value: str) -> None:
    with pytest.raises(ConfigError, match="compute.apiAccess"):
        parse(stack_values("primary", [f"compute.apiAccess={value}"]))


@pytest.mark.parametrize("port", [0, 80, 65536])
def test_tunnel_port_out_of_range_is_refused(port: int) -> None:
    with pytest.raises(ConfigError, match="compute.tunnelPort"):
        parse(stack_values("primary", [f"compute.tunnelPort={port}"]))


def test_tunnel_port_is_the_kubeconfigs_and_the_commands() -> None:
    plan = plan_stack("primary", ["compute.tunnelPort=9443"])
    assert cluster_entry(plan)["server"] == "https://127.0.0.1:9443"
    assert plan.outputs["apiAccess"]["tunnelCommand"].endswith(",localPortNumber=9443")


def test_jump_host_is_private_imdsv2_encrypted_and_may_only_use_ssm(primary_plan: Plan, dr_plans: dict) -> None:
    for plan in (primary_plan, *dr_plans.values()):
        region, cidr = REGIONS[plan.stack]
        (instance,) = plan.by_type(INSTANCE)
        i = instance.inputs
        assert instance.region == region
        assert i["associatePublicIpAddress"] is False
        assert i["metadataOptions"]["httpTokens"] == "required" and i["metadataOptions"]["httpPutResponseHopLimit"] == 1
        key = primary_plan.outputs["kmsPrimaryKeyArn" if plan.stack == "primary" else "kmsReplicaKeyArn"]
        assert i["rootBlockDevice"]["encrypted"] is True and i["rootBlockDevice"]["kmsKeyId"] == key
        assert i["instanceType"] == "t4g.nano" and "ami" in instance.ignoreChanges
        (subnet,) = [s for s in plan.by_type("aws:ec2/subnet:Subnet") if s.urn.endswith("-private-0")]
        assert i["subnetId"] == subnet.urn.rsplit("::", 1)[-1] and subnet.inputs["mapPublicIpOnLaunch"] is False

        (jump_sg,) = i["vpcSecurityGroupIds"]
        assert [r for r in plan.by_type(INGRESS) if r.inputs["securityGroupId"] == jump_sg] == []  # no ingress
        (egress,) = [r for r in plan.by_type(EGRESS) if r.inputs["securityGroupId"] == jump_sg]
        assert (egress.inputs["cidrIpv4"], egress.inputs["fromPort"], egress.inputs["toPort"]) == (cidr, 443, 443)

        profile = plan.one("aws:iam/instanceProfile:InstanceProfile", instance.name.replace("-instance", "-profile"))
        assert i["iamInstanceProfile"] == profile.inputs["name"]
        attached = [r.inputs["policyArn"] for r in plan.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                    if r.inputs.get("role") == profile.inputs["role"]]
        assert attached == ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]
        assert not [r for r in plan.by_type("aws:iam/rolePolicy:RolePolicy") if r.inputs.get("role") == profile.inputs["role"]]

        # Session Manager's endpoints, in the jump host's subnet only (one AZ: they bill per AZ-hour)
        ssm = {r.inputs["serviceName"]: r for r in plan.by_type(ENDPOINT)
               if r.inputs["serviceName"].rsplit(".", 1)[-1] in SESSION_MANAGER_ENDPOINTS}
        assert set(ssm) == {f"com.amazonaws.{region}.{s}" for s in SESSION_MANAGER_ENDPOINTS}
        for endpoint in ssm.values():
            assert endpoint.inputs["subnetIds"] == [i["subnetId"]] and endpoint.inputs["privateDnsEnabled"] is True
            (endpoint_sg,) = endpoint.inputs["securityGroupIds"]
            (admits,) = [r for r in plan.by_type(INGRESS) if r.inputs["securityGroupId"] == endpoint_sg]
            assert admits.inputs["referencedSecurityGroupId"] == jump_sg and admits.inputs["fromPort"] == 443

        # the control plane's security group admits the jump host on 443, nothing wider
        (api,) = [r for r in plan.by_type(INGRESS) if r.name.endswith("-api-from-jump-host")]
        assert api.inputs["referencedSecurityGroupId"] == jump_sg
        assert (api.inputs["fromPort"], api.inputs["toPort"]) == (443, 443) and "cidrIpv4" not in api.inputs
        assert api.inputs["securityGroupId"].startswith("sg-")  # the group EKS made for the cluster


def test_outputs_name_the_jump_host_and_the_tunnel_command(primary_plan: Plan, dr_plan: Plan) -> None:
    for plan in (primary_plan, dr_plan):
        region, _ = REGIONS[plan.stack]
        (instance,) = plan.by_type(INSTANCE)
        access = plan.outputs["apiAccess"]
        assert access["jumpInstanceId"] == instance.urn.rsplit("::", 1)[-1] and access["localPort"] == 8443
        assert access["tunnelCommand"] == (
            f"aws ssm start-session --region {region} --target {access['jumpInstanceId']} --document-name "
            f"AWS-StartPortForwardingSessionToRemoteHost --parameters host={endpoint_host(plan)},portNumber=443,"
            f"localPortNumber=8443")
