"""The SSM tunnel to a cluster's private API (components/access.py builds its jump host): find the jump host and
the endpoint, and the Session Manager port-forwarding command. One boto3 call per function."""
from __future__ import annotations

from typing import Any

PORT_FORWARDING_DOCUMENT = "AWS-StartPortForwardingSessionToRemoteHost"
HTTPS_PORT = 443


def jump_instance_id(ec2: Any, name: str) -> str | None:
    """The pending or running instance tagged Name=`name`, or None; more than one is refused (which to use?)."""
    pages = ec2.get_paginator("describe_instances").paginate(Filters=[
        {"Name": "tag:Name", "Values": [name]}, {"Name": "instance-state-name", "Values": ["pending", "running"]}])
    found = sorted(i["InstanceId"] for page in pages for r in page["Reservations"] for i in r["Instances"])
    if len(found) > 1:
        raise LookupError(f"{len(found)} running instances are tagged Name={name} ({', '.join(found)}): "
                          "name one with --instance-id")
    return found[0] if found else None


def cluster_endpoint(eks: Any, name: str) -> str | None:
    """The EKS cluster's API endpoint (https://...), or None when there is no such cluster."""
    try:
        return eks.describe_cluster(name=name)["cluster"].get("endpoint")
    except eks.exceptions.ResourceNotFoundException:
        return None


def port_forwarding_argv(instance_id: str, region: str, endpoint: str, local_port: int) -> list[str]:
    """`aws ssm start-session` forwarding `local_port` through the jump host to the endpoint's host on 443."""
    host = endpoint.removeprefix("https://").rstrip("/")
    return ["aws", "ssm", "start-session", "--region", region, "--target", instance_id, "--document-name",
            PORT_FORWARDING_DOCUMENT, "--parameters",
            f"host={host},portNumber={HTTPS_PORT},localPortNumber={local_port}"]
