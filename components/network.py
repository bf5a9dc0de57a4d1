"""Per-region network: a VPC with private subnets in three AZs (no internet gateway, no NAT), a DB subnet group,
a security group that admits PostgreSQL only from inside the VPC, and — where the region runs EKS nodes — the VPC
endpoints a private cluster's nodes need to join and pull images (AWS's list for private clusters: EC2, ECR API
and registry, S3 for ECR's layers, STS, EKS, EKS Auth for Pod Identity, CloudWatch Logs). Images must therefore
come from ECR in the region: nothing here reaches the internet."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.base import child
from ops.core import naming

AZ_COUNT = 3
POSTGRES_PORT = 5432
HTTPS_PORT = 443
# What AWS lists for private clusters, plus Secrets Manager: workloads read their credentials from it (B's search
# feed reads the database secret's replica), and without egress the endpoint is the only way there; plus Auto
# Scaling, which the cluster autoscaler calls to change the node group's desired capacity (components/autoscaling.py).
PRIVATE_CLUSTER_INTERFACE_ENDPOINTS = ("ec2", "ecr.api", "ecr.dkr", "sts", "eks", "eks-auth", "logs",
                                       "secretsmanager", "autoscaling")


@dataclass
class NetworkArgs:
    cidr: str
    provider: aws.Provider
    region: str
    # Interface endpoints cost per AZ-hour: only where nodes run (A always; B from the posture table's node count).
    private_cluster_endpoints: bool = False


def private_subnet_cidrs(cidr: str, count: int = AZ_COUNT) -> list[str]:
    """The first `count` /20 blocks of the VPC: room for 4k addresses per AZ (EKS pods come later)."""
    return [str(net) for net in list(ipaddress.ip_network(cidr).subnets(new_prefix=20))[:count]]


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    subnet_ids: list[pulumi.Output[str]]
    db_subnet_group_name: pulumi.Output[str]
    db_security_group_id: pulumi.Output[str]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("dr-platform:network:Network", name, None, opts)
        zones = aws.get_availability_zones_output(
            state="available", opts=pulumi.InvokeOutputOptions(parent=self, provider=args.provider))
        vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=args.cidr, enable_dns_hostnames=True, enable_dns_support=True,
                          tags={"Name": name}, opts=child(self, args.provider))
        subnets = [
            aws.ec2.Subnet(f"{name}-private-{index}", vpc_id=vpc.id, cidr_block=block,
                           availability_zone=zones.names[index], map_public_ip_on_launch=False,
                           tags={"Name": f"{name}-private-{index}", "tier": "private"},
                           opts=child(self, args.provider))
            for index, block in enumerate(private_subnet_cidrs(args.cidr))
        ]
        subnet_group_name = naming.db_subnet_group_name(name)
        subnet_group = aws.rds.SubnetGroup(subnet_group_name, name=subnet_group_name,
                                           description="Aurora subnets across three AZs",
                                           subnet_ids=[s.id for s in subnets], opts=child(self, args.provider))
        db_sg = self._open_to_vpc_only(naming.db_security_group_name(name), "postgres", POSTGRES_PORT,
                                       "Aurora PostgreSQL", args, vpc)
        route_table = aws.ec2.RouteTable(f"{name}-private", vpc_id=vpc.id, tags={"Name": f"{name}-private"},
                                         opts=child(self, args.provider))
        for index, subnet in enumerate(subnets):
            aws.ec2.RouteTableAssociation(f"{name}-private-{index}", subnet_id=subnet.id,
                                          route_table_id=route_table.id, opts=child(self, args.provider))
        self.endpoints: list[aws.ec2.VpcEndpoint] = []
        if args.private_cluster_endpoints:
            self.endpoints = self._private_cluster_endpoints(name, args, vpc, subnets, route_table)
        self.vpc_id = vpc.id
        self.subnet_ids = [s.id for s in subnets]
        self.vpc_arn = vpc.arn
        self.subnet_arns = [s.arn for s in subnets]  # one per AZ, in zone order: what an AZ drill disrupts
        self.db_subnet_group_name = subnet_group.name
        self.db_security_group_id = db_sg.id
        self.register_outputs({"vpcId": self.vpc_id, "dbSubnetGroupName": self.db_subnet_group_name})

    def _open_to_vpc_only(self, sg_name: str, protocol: str, port: int, what: str, args: NetworkArgs,
                          vpc: aws.ec2.Vpc) -> aws.ec2.SecurityGroup:
        """A security group admitting one TCP port from the VPC's own CIDR, nothing else."""
        group = aws.ec2.SecurityGroup(sg_name, name=sg_name, vpc_id=vpc.id,
                                      description=f"{what}: {port} from inside the VPC only",
                                      opts=child(self, args.provider))
        aws.vpc.SecurityGroupIngressRule(f"{sg_name}-{protocol}", security_group_id=group.id, cidr_ipv4=args.cidr,
                                         ip_protocol="tcp", from_port=port, to_port=port,
                                         description=f"{protocol} from the VPC", opts=child(self, args.provider))
        return group

    def _private_cluster_endpoints(self, name: str, args: NetworkArgs, vpc: aws.ec2.Vpc,
                                   subnets: list[aws.ec2.Subnet],
                                   route_table: aws.ec2.RouteTable) -> list[aws.ec2.VpcEndpoint]:
        endpoint_sg = self._open_to_vpc_only(f"{name}-endpoints", "https", HTTPS_PORT, "VPC interface endpoints",
                                             args, vpc)
        s3 = aws.ec2.VpcEndpoint(f"{name}-s3", vpc_id=vpc.id, service_name=f"com.amazonaws.{args.region}.s3",
                                 vpc_endpoint_type="Gateway", route_table_ids=[route_table.id],
                                 tags={"Name": f"{name}-s3"}, opts=child(self, args.provider))
        interfaces = [
            aws.ec2.VpcEndpoint(f"{name}-{service.replace('.', '-')}", vpc_id=vpc.id,
                                service_name=f"com.amazonaws.{args.region}.{service}", vpc_endpoint_type="Interface",
                                subnet_ids=[s.id for s in subnets], security_group_ids=[endpoint_sg.id],
                                private_dns_enabled=True, tags={"Name": f"{name}-{service}"},
                                opts=child(self, args.provider))
            for service in PRIVATE_CLUSTER_INTERFACE_ENDPOINTS]
        return [s3, *interfaces]
