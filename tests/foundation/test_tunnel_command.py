"""`drctl tunnel` against moto: it finds the stack's jump host and cluster endpoint by the names the program gives
them, prints the Session Manager command the stack output also names, and refuses what it cannot open (exit 2)."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ops.actions.aws import client
from ops.drctl.cli import app

B = "us-west-2"
CLUSTER = "platform-us-west-2"


def run(*args: str):
    return CliRunner().invoke(app, ["tunnel", *args])


def jump_host(name: str = f"{CLUSTER}-api-jump") -> str:
    ec2 = client("ec2", B)
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.0.0/20")["Subnet"]["SubnetId"]
    (instance,) = ec2.run_instances(ImageId="ami-12c6146b", InstanceType="t4g.nano", MinCount=1, MaxCount=1,
                                    SubnetId=subnet, TagSpecifications=[{"ResourceType": "instance", "Tags": [
                                        {"Key": "Name", "Value": name}]}])["Instances"]
    return instance["InstanceId"]


def cluster() -> str:
    eks = client("eks", B)
    made = eks.create_cluster(name=CLUSTER, roleArn=f"arn:aws:iam::123456789012:role/{CLUSTER}-cluster",
                              resourcesVpcConfig={"subnetIds": ["subnet-b0"]})
    return made["cluster"]["endpoint"]


def test_prints_the_port_forwarding_command_for_the_stacks_jump_host_and_endpoint(aws: str) -> None:
    instance, endpoint = jump_host(), cluster()
    jump_host("someone-elses-host")  # another Name tag: not ours
    result = run("--stack", "dr")
    assert result.exit_code == 0, result.output
    host = endpoint.removeprefix("https://").rstrip("/")  # moto, like some clients, ends it with a slash
    assert result.stdout.splitlines()[0] == (
        f"aws ssm start-session --region {B} --target {instance} --document-name "
        f"AWS-StartPortForwardingSessionToRemoteHost --parameters host={host},portNumber=443,localPortNumber=8443")

    as_json = json.loads(run("--stack", "dr", "--json", "--set", "compute.tunnelPort=9443").stdout)
    assert as_json["jumpInstanceId"] == instance and as_json["localPort"] == 9443
    assert as_json["argv"][-1] == f"host={host},portNumber=443,localPortNumber=9443"


def test_before_the_first_pulumi_up_it_says_what_to_run(aws: str) -> None:
    result = run("--stack", "primary")
    assert result.exit_code == 2
    assert "platform-us-east-1-api-jump" in result.stderr and "pulumi up --stack primary" in result.stderr


def test_two_jump_hosts_are_refused_naming_both(aws: str) -> None:
    first, second = jump_host(), jump_host()
    cluster()
    result = run("--stack", "dr")
    assert result.exit_code == 2 and first in result.stderr and second in result.stderr
    assert run("--stack", "dr", "--instance-id", first).exit_code == 0  # naming one settles it


def test_private_access_has_no_tunnel_and_bad_config_names_the_key() -> None:
    result = run("--stack", "dr", "--set", "compute.apiAccess=private")
    assert result.exit_code == 2 and "compute.apiAccess" in result.stderr
    result = run("--stack", "dr", "--set", "compute.tunnelPort=80")
    assert result.exit_code == 2 and "compute.tunnelPort" in result.stderr


def test_execute_needs_the_cli_and_the_session_manager_plugin(aws: str, monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # neither is installed there
    result = run("--stack", "dr", "--instance-id", "i-0123456789abcdef0", "--endpoint", "https://X.gr7.eks",
                 "--execute")
    assert result.exit_code == 1 and "aws and session-manager-plugin not on PATH" in result.stderr
