"""`drctl tunnel`: the SSM port-forwarding session through which `pulumi up` reaches a cluster's private API.

With `compute.apiAccess: tunnel` (the default) the Kubernetes provider talks to https://127.0.0.1:<tunnelPort>;
this command finds the stack's jump host and cluster endpoint (names from the stack settings, as Pulumi built
them), prints the `aws ssm start-session` command, and with `--execute` runs it in the foreground until Ctrl-C.
It needs the AWS CLI with the Session Manager plugin, and the deployer's credentials (ssm:StartSession on the
jump host and the port-forwarding document, ec2:DescribeInstances, eks:DescribeCluster)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    app.command(name="tunnel")(tunnel)


def tunnel(
    stack: Annotated[str, typer.Option(help="The stack whose cluster to reach: primary (region A) or dr (B).")] = "dr",
    set_: Annotated[list[str] | None, typer.Option("--set", help="KEY=VALUE config override.")] = None,
    instance_id: Annotated[str | None, typer.Option(help="The jump host (default: found by its Name tag, "
                                                         "<cluster>-api-jump; the stack output apiAccess names it).")] = None,
    endpoint: Annotated[str | None, typer.Option(help="The cluster's API endpoint (default: eks describe-cluster).")] = None,
    execute: Annotated[bool, typer.Option("--execute", help="Run the session (foreground, Ctrl-C ends it).")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Open (or print) the SSM tunnel to the stack's private Kubernetes API for `pulumi up`."""
    from ops.actions.access import cluster_endpoint, jump_instance_id, port_forwarding_argv
    from ops.actions.aws import client
    from stacks.config_files import load_stack_settings
    from stacks.settings import ApiAccess, ConfigError

    try:
        settings = load_stack_settings(stack, list(set_ or []))
    except ConfigError as exc:
        print(f"invalid config: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
    c = settings.compute
    if c.api_access is not ApiAccess.TUNNEL:
        print(f"dr-platform:compute.apiAccess is {c.api_access.value!r} for stack {stack}: pulumi up reaches the "
              "endpoint directly, there is no tunnel to open", file=sys.stderr)
        raise typer.Exit(2)
    region, cluster = settings.region, settings.names.eks_cluster(settings.region)
    jump_host = f"{cluster}-api-jump"
    try:
        instance_id = instance_id or jump_instance_id(client("ec2", region, max_attempts=3), jump_host)
        endpoint = endpoint or cluster_endpoint(client("eks", region, max_attempts=3), cluster)
    except LookupError as exc:
        print(str(exc), file=sys.stderr)
        raise typer.Exit(2) from None
    missing = [what for what, found in ((f"a running jump host tagged Name={jump_host}", instance_id),
                                        (f"the EKS cluster {cluster}", endpoint)) if not found]
    if missing:
        print(f"{' and '.join(missing)} not found in {region}: run `pulumi up --stack {stack}` first (with "
              "compute.workloads false on a new stack)", file=sys.stderr)
        raise typer.Exit(2)
    argv = port_forwarding_argv(instance_id, region, endpoint, c.tunnel_port)
    if as_json:
        print(json.dumps({"stack": stack, "region": region, "jumpInstanceId": instance_id, "endpoint": endpoint,
                          "localPort": c.tunnel_port, "argv": argv}))
    else:
        print(" ".join(argv))
    if not execute:
        if not as_json:
            print(f"# dry run: --execute opens it; pulumi up --stack {stack} then reaches the API at "
                  f"https://127.0.0.1:{c.tunnel_port}", file=sys.stderr)
        return
    absent = [tool for tool in ("aws", "session-manager-plugin") if shutil.which(tool) is None]
    if absent:
        print(f"{' and '.join(absent)} not on PATH: install the AWS CLI v2 and the Session Manager plugin "
              "(https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-"
              "install-plugin.html)", file=sys.stderr)
        raise typer.Exit(1)
    raise typer.Exit(subprocess.run(argv, check=False).returncode)
