"""A first deploy on an empty account, on the plan of the real program.

`pulumi up` of a new stack cannot create the Kubernetes objects: ECR is created in the same run as the
Deployments pulling from it, so nothing can have been pushed, and the tunnel to the private API needs the cluster
first. With `compute.workloads: false` the plan declares everything AWS and no Kubernetes provider or object, and
its `nextSteps` output says what to push and to flip; the second `pulumi up` (workloads on) pulls only from
repositories the primary stack owns."""
from __future__ import annotations

import itertools

import pytest

from ops.core.images import registry_host
from ops.drctl.planning.mockplan import Plan, plan_stack
from stacks.config_files import load_stack_settings
from stacks.settings import PROJECT_DIR

WORKLOADS_OFF = "compute.workloads=false"
POD_OWNERS = ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:batch/v1:CronJob")
SETTINGS = load_stack_settings("primary").compute
STATES = list(itertools.product(("pilot-light", "warm-standby", "active-active"), (False, True)))


def first_plans() -> list[Plan]:
    return [plan_stack("primary", [WORKLOADS_OFF]),
            *(plan_stack("dr", [WORKLOADS_OFF, f"posture={posture}", f"failover={str(failover).lower()}"])
              for posture, failover in STATES)]


def test_workloads_off_declares_no_kubernetes_provider_or_object_and_all_of_aws() -> None:
    full = {plan.stack + str(plan.config.get("posture")) + str(plan.config.get("failover")): plan
            for plan in (plan_stack("primary"), *(plan_stack("dr", [f"posture={p}", f"failover={str(f).lower()}"])
                                                 for p, f in STATES))}
    for plan in first_plans():
        kubernetes = [r.urn for r in plan.resources
                      if r.type.startswith("kubernetes:") or r.type == "pulumi:providers:kubernetes"]
        assert kubernetes == [], (plan.stack, plan.config.get("posture"), kubernetes)
        same = full[plan.stack + str(plan.config.get("posture")) + str(plan.config.get("failover"))]
        aws_of = {r.urn for r in plan.resources if r.type.startswith("aws:")}
        # the same AWS resources as the full deploy (cluster, node group, add-ons, ECR, ...), but for B's search
        # feed, a workload whose role and Pod Identity association come with its CronJobs, and Q3's drill, whose
        # targets are pods (tests/foundation/test_drill_q3.py)
        feed = {r.urn for r in same.resources if "dr-platform:search:SearchFeed$" in r.urn}
        pod_drill = {r.urn for r in same.resources if "dr-platform:drills:DrillExperiment$" in r.urn
                     and r.name.startswith("drill-q3-")}
        assert aws_of == {r.urn for r in same.resources if r.type.startswith("aws:")} - feed - pod_drill
        assert any(r.type == "aws:eks/cluster:Cluster" for r in plan.resources)
        # Typesense's API key is kept: a later flip to workloads true (or back) does not change it
        assert {r.urn for r in plan.resources if r.type.startswith("random:")} == \
            {r.urn for r in same.resources if r.type.startswith("random:")}


def test_workloads_off_says_what_to_push_where_and_what_to_flip() -> None:
    primary = plan_stack("primary", [WORKLOADS_OFF])
    steps = primary.outputs["nextSteps"]
    repositories = primary.outputs["imageRepositories"]
    pushed = [line.rsplit(" ", 1)[-1] for line in steps if " docker push " in line]
    images = [*SETTINGS.images(), SETTINGS.ops_image]
    registry = "123456789012.dkr.ecr.us-east-1.amazonaws.com"  # region A's: ECR replicates every push to B
    assert sorted(pushed) == sorted(f"{registry}/{image}" for image in images)
    assert {image.split(":")[0] for image in images} == set(repositories)  # repositories this stack creates
    assert any(line.startswith("docker pull") and SETTINGS.typesense_image in line for line in steps)  # mirrored
    assert steps[0].startswith("aws ecr get-login-password --region us-east-1 | docker login")
    assert steps[-2:] == ["pulumi config set --path compute.workloads true --stack primary",
                          "pulumi up --stack primary"]
    assert any("drctl tunnel --stack primary" in line for line in steps)

    dr = plan_stack("dr", [WORKLOADS_OFF]).outputs["nextSteps"]
    checks = [line for line in dr if line.startswith("aws ecr describe-images --region us-west-2")]
    assert len(checks) == len(images)  # B pulls the copies replication makes of A's pushes: nothing is pushed to B
    assert dr[-2:] == ["pulumi config set --path compute.workloads true --stack dr", "pulumi up --stack dr"]


def test_workloads_on_is_the_shipped_default_and_says_so(primary_plan: Plan, dr_plan: Plan) -> None:
    for plan in (primary_plan, dr_plan):
        assert plan.by_type("pulumi:providers:kubernetes")
        assert plan.outputs["nextSteps"][-1] == f"pulumi up --stack {plan.stack} (after each config flip)"


@pytest.mark.parametrize(("posture", "failover"), STATES)
def test_every_workload_pulls_from_a_repository_the_primary_stack_declares(primary_plan: Plan, dr_plans: dict,
                                                                          posture: str, failover: bool) -> None:
    repositories = {r.inputs["name"] for r in primary_plan.by_type("aws:ecr/repository:Repository")}
    mirrored = {i for i in (*SETTINGS.images(), SETTINGS.ops_image) if registry_host(i) is not None}
    for plan in ((primary_plan, dr_plans[(posture, failover)]) if posture == "pilot-light" and not failover
                 else (dr_plans[(posture, failover)],)):
        region = "us-east-1" if plan.stack == "primary" else "us-west-2"
        owners = [r for r in plan.resources if r.type in POD_OWNERS]
        assert owners
        for owner in owners:
            spec = owner.inputs["spec"]
            pod = (spec["jobTemplate"]["spec"] if "jobTemplate" in spec else spec)["template"]["spec"]
            for container in pod["containers"] + pod.get("initContainers", []):
                image = container["image"]
                if image in mirrored:  # a registry the config names explicitly
                    continue
                host, _, path = image.partition("/")
                assert host == f"123456789012.dkr.ecr.{region}.amazonaws.com", (owner.urn, image)
                assert path.rsplit(":", 1)[0].split("@")[0] in repositories, (owner.urn, image)


def _running_it_for_real() -> str:
    readme = (PROJECT_DIR / "docs" / "deploying.md").read_text()
    section = readme.split("## Running it for real", 1)[1].split("\n## ", 1)[0]
    return section.split("Config flips", 1)[0]  # the first deploy, before the posture flips


def test_readme_first_deploy_is_the_sequence_the_program_asks_for() -> None:
    """docs/deploying.md's 'Running it for real' runs each stack with workloads off, pushes, opens the tunnel, flips, and runs
    again, in that order, with the very commands the plans' nextSteps print; every key it sets is valid config and
    every drctl command in it exists."""
    from typer.main import get_command

    from ops.drctl.cli import app

    text = _running_it_for_real()
    lines = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    for stack in ("primary", "dr"):
        steps = plan_stack(stack, [WORKLOADS_OFF]).outputs["nextSteps"]
        order = [f"pulumi config set --path compute.workloads false --stack {stack}", f"pulumi up --stack {stack}",
                 f"drctl tunnel --stack {stack} --execute", *steps[-2:]]
        last = -1
        for wanted in order:  # each present, after the one before it
            following = [i for i, line in enumerate(lines) if line == wanted and i > last]
            assert following, f"{stack}: {wanted!r} missing after line {last} of the section"
            last = following[0]
    assert "docker push" in text and "docker pull --platform linux/amd64 typesense/typesense:0.24.1" in text
    assert "aws ecr describe-images --region us-west-2" in text

    for line in lines:
        if line.startswith("pulumi config set --path"):
            _, _, _, _, key, value, _, stack = line.split()
            load_stack_settings(stack, [f"{key}={value}"])  # raises ConfigError naming a wrong key or value
    commands = set(get_command(app).commands)  # type: ignore[attr-defined]
    for line in lines:
        if line.startswith("drctl "):
            assert line.split()[1] in commands, line
