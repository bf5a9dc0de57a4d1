"""Per-region network for the data layer: a VPC with private subnets in three AZs, a DB subnet group, and a
security group that admits PostgreSQL only from inside the VPC."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.base import child

AZ_COUNT = 3
POSTGRES_PORT = 5432


@dataclass
class NetworkArgs:
    cidr: str
    provider: aws.Provider


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
        subnet_group = aws.rds.SubnetGroup(f"{name}-db", name=f"{name}-db",
                                           description="Aurora subnets across three AZs",
                                           subnet_ids=[s.id for s in subnets], opts=child(self, args.provider))
        db_sg = aws.ec2.SecurityGroup(f"{name}-db", name=f"{name}-db", vpc_id=vpc.id,
                                      description="Aurora PostgreSQL: 5432 from inside the VPC only",
                                      opts=child(self, args.provider))
        aws.vpc.SecurityGroupIngressRule(f"{name}-db-postgres", security_group_id=db_sg.id,
                                         cidr_ipv4=args.cidr, ip_protocol="tcp", from_port=POSTGRES_PORT,
                                         to_port=POSTGRES_PORT, description="PostgreSQL from the VPC",
                                         opts=child(self, args.provider))
        self.vpc_id = vpc.id
        self.subnet_ids = [s.id for s in subnets]
        self.db_subnet_group_name = subnet_group.name
        self.db_security_group_id = db_sg.id
        self.register_outputs({"vpcId": self.vpc_id, "dbSubnetGroupName": self.db_subnet_group_name})
