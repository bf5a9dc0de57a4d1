"""How `pulumi up` reaches a private EKS API from a clean account: an SSM port-forwarding path, nothing inbound.

The cluster's endpoint is private and the VPC has no VPN, peering, NAT or runner. So each region gets a tiny jump
instance in one private subnet, which Session Manager reaches through interface endpoints in the same subnet
(ssm, ssmmessages, and ec2messages, which SSM Agents older than 3.3.40.0 still use; AWS's list for an instance
without internet access). The operator runs `aws ssm start-session --document-name
AWS-StartPortForwardingSessionToRemoteHost` (printed by `drctl tunnel`), which forwards a local port through the
agent to the endpoint's host on 443; the Kubernetes provider then talks to https://127.0.0.1:<port> and verifies
the cluster's certificate against the endpoint's name (components/compute.py, kubeconfig).

The instance: AL2023 on Graviton (t4g.nano, the agent preinstalled), no public IP, IMDSv2 only, its root volume
encrypted with the region's key, a security group with no ingress and egress only to the VPC on 443, and an
instance profile with only AmazonSSMManagedInstanceCore. The endpoints sit in one AZ (they bill per AZ-hour, and
pilot light must stay cheap): if that AZ is down, the tunnel is too, and `compute.apiAccess` can be switched.
"""
from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.base import child, service_trust
from ops.actions.access import HTTPS_PORT, port_forwarding_argv

# Session Manager for an instance without internet access
# (https://docs.aws.amazon.com/systems-manager/latest/userguide/setup-create-vpc.html).
SESSION_MANAGER_ENDPOINTS = ("ssm", "ssmmessages", "ec2messages")
SSM_CORE_POLICY_ARN = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
JUMP_INSTANCE_TYPE = "t4g.nano"  # Graviton: the AMI below is arm64
JUMP_ROOT_VOLUME_GIB = 8  # the AL2023 AMI's own size
# AWS's public parameter naming the newest AL2023 AMI; read once, then the instance keeps its AMI (ignore_changes)
# so a new AMI release never replaces the tunnel's host in the middle of a `pulumi up` that uses it.
AL2023_ARM64_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"


@dataclass
class ApiAccessPathArgs:
    name: str  # e.g. platform-us-west-2-api-jump
    region: str
    provider: aws.Provider
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    subnet_id: pulumi.Input[str]  # one private subnet: the instance and the endpoints
    kms_key_arn: pulumi.Input[str]  # the region's key, for the root volume


def tunnel_command(instance_id: str, region: str, endpoint: str, local_port: int) -> str:
    """The Session Manager command that forwards `local_port` to the cluster endpoint's host on 443 (what
    `drctl tunnel --execute` runs)."""
    return " ".join(port_forwarding_argv(instance_id, region, endpoint, local_port))


class ApiAccessPath(pulumi.ComponentResource):
    instance_id: pulumi.Output[str]
    security_group_id: pulumi.Output[str]  # what the cluster's security group admits on 443

    def __init__(self, name: str, args: ApiAccessPathArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("dr-platform:access:ApiAccessPath", name, None, opts)
        p = args.provider
        jump_sg = aws.ec2.SecurityGroup(
            f"{name}-jump", name=args.name, vpc_id=args.vpc_id,
            description="API jump host: no ingress; 443 to the VPC only (SSM endpoints, EKS API)",
            tags={"Name": args.name}, opts=child(self, p))
        aws.vpc.SecurityGroupEgressRule(f"{name}-jump-https", security_group_id=jump_sg.id, cidr_ipv4=args.vpc_cidr,
                                        ip_protocol="tcp", from_port=HTTPS_PORT, to_port=HTTPS_PORT,
                                        description="https to the VPC", opts=child(self, p))
        endpoint_sg = aws.ec2.SecurityGroup(
            f"{name}-endpoints", name=f"{args.name}-endpoints", vpc_id=args.vpc_id,
            description="Session Manager endpoints: 443 from the API jump host only",
            tags={"Name": f"{args.name}-endpoints"}, opts=child(self, p))
        aws.vpc.SecurityGroupIngressRule(f"{name}-endpoints-from-jump", security_group_id=endpoint_sg.id,
                                         referenced_security_group_id=jump_sg.id, ip_protocol="tcp",
                                         from_port=HTTPS_PORT, to_port=HTTPS_PORT,
                                         description="https from the jump host", opts=child(self, p))
        endpoints = [
            aws.ec2.VpcEndpoint(f"{name}-{service}", vpc_id=args.vpc_id,
                                service_name=f"com.amazonaws.{args.region}.{service}", vpc_endpoint_type="Interface",
                                subnet_ids=[args.subnet_id], security_group_ids=[endpoint_sg.id],
                                private_dns_enabled=True, tags={"Name": f"{args.name}-{service}"},
                                opts=child(self, p))
            for service in SESSION_MANAGER_ENDPOINTS]

        role = aws.iam.Role(f"{name}-role", name=args.name, assume_role_policy=service_trust("ec2.amazonaws.com"),
                            opts=child(self, p))
        attachment = aws.iam.RolePolicyAttachment(f"{name}-ssm-core", role=role.name, policy_arn=SSM_CORE_POLICY_ARN,
                                                  opts=child(self, p))
        profile = aws.iam.InstanceProfile(f"{name}-profile", name=args.name, role=role.name, opts=child(self, p))
        ami = aws.ssm.get_parameter_output(name=AL2023_ARM64_PARAMETER,
                                           opts=pulumi.InvokeOutputOptions(parent=self, provider=p))
        instance = aws.ec2.Instance(
            f"{name}-instance", ami=ami.insecure_value, instance_type=JUMP_INSTANCE_TYPE,
            subnet_id=args.subnet_id, vpc_security_group_ids=[jump_sg.id], iam_instance_profile=profile.name,
            associate_public_ip_address=False,
            metadata_options=aws.ec2.InstanceMetadataOptionsArgs(http_endpoint="enabled", http_tokens="required",
                                                                 http_put_response_hop_limit=1),
            root_block_device=aws.ec2.InstanceRootBlockDeviceArgs(
                encrypted=True, kms_key_id=args.kms_key_arn, volume_type="gp3", volume_size=JUMP_ROOT_VOLUME_GIB),
            tags={"Name": args.name},
            # the agent registers at boot: its endpoints and its permissions first
            opts=child(self, p, depends_on=[*endpoints, attachment], ignore_changes=["ami"]))
        self.instance_id = instance.id
        self.security_group_id = jump_sg.id
        self.register_outputs({"instanceId": self.instance_id, "securityGroupId": self.security_group_id})
