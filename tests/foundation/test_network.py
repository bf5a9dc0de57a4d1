"""The network a private EKS cluster needs, on the plan of the real program."""
from __future__ import annotations

from ops.drctl.planning.mockplan import Plan
from stacks.config_files import load_stack_settings


def test_nodes_join_a_private_network_through_vpc_endpoints(primary_plan: Plan, dr_plans: dict) -> None:
    """No internet gateway, no NAT: where nodes run, every AWS API they need has a private endpoint, HTTPS from the
    VPC only, and the node group waits for them; where no node runs (pilot light), none is paid for."""
    network = load_stack_settings("primary").network
    cidrs = {"us-east-1": network.primary_cidr, "us-west-2": network.dr_cidr}
    for plan, region in ((primary_plan, "us-east-1"), (dr_plans[("pilot-light", True)], "us-west-2")):
        endpoints = {r.inputs["serviceName"]: r for r in plan.by_type("aws:ec2/vpcEndpoint:VpcEndpoint")
                     if not r.urn.split("::")[-2].startswith("dr-platform:access:")}  # the SSM tunnel's: test_api_access
        assert set(endpoints) == {f"com.amazonaws.{region}.{s}" for s in
                                  ("s3", "ec2", "ecr.api", "ecr.dkr", "sts", "eks", "eks-auth", "logs",
                                   "secretsmanager", "autoscaling")}  # the cluster autoscaler's API
        (route_table,) = plan.by_type("aws:ec2/routeTable:RouteTable")
        assert route_table.inputs.get("routes") in (None, [])  # nothing leaves the VPC
        assert endpoints[f"com.amazonaws.{region}.s3"].inputs["vpcEndpointType"] == "Gateway"
        assert len(endpoints[f"com.amazonaws.{region}.s3"].inputs["routeTableIds"]) == 1
        for service, endpoint in endpoints.items():
            assert endpoint.region == region
            if not service.endswith(".s3"):
                assert endpoint.inputs["vpcEndpointType"] == "Interface"
                assert endpoint.inputs["privateDnsEnabled"] is True and len(endpoint.inputs["subnetIds"]) == 3
        (node_group,) = plan.by_type("aws:eks/nodeGroup:NodeGroup")
        assert {e.urn for e in endpoints.values()} <= set(node_group.dependencies)
        rule = next(r for r in plan.by_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
                    if r.name.endswith("-endpoints-https"))
        assert (rule.inputs["fromPort"], rule.inputs["toPort"], rule.inputs["cidrIpv4"]) == \
            (443, 443, cidrs[region])
    # pilot light: only Session Manager's, in one AZ, for the tunnel to the API (tests/foundation/test_api_access.py)
    assert {r.inputs["serviceName"].rsplit(".", 1)[-1]: len(r.inputs["subnetIds"])
            for r in dr_plans[("pilot-light", False)].by_type("aws:ec2/vpcEndpoint:VpcEndpoint")} == \
        {"ssm": 1, "ssmmessages": 1, "ec2messages": 1}
    assert len(dr_plans[("pilot-light", False)].by_type("aws:ec2/routeTableAssociation:RouteTableAssociation")) == 3
