"""Bad config is refused before anything is declared, with exit 2 and a message naming the key."""
from __future__ import annotations

import runpy

import pulumi
import pytest
import yaml
from pydantic import BaseModel
from typer.testing import CliRunner

from ops.drctl.cli import app
from ops.drctl.planning import pulumi_internals
from stacks.config_files import load_stack_settings, project_defaults, stack_values, to_pulumi_config
from stacks.settings import PROJECT_DIR, ConfigError, Settings

BAD = [  # (override, the key the message must name)
    ("posture=hot", "posture"),
    ("failover=maybe", "failover"),
    ("failoverMode=sometimes", "failoverMode"),
    ("primaryRegion=us-east-9x", "primaryRegion"),
    ("drRegion=us-east-1", "drRegion"),
    ("drRegion=eu-west-1", "drRegion"),
    ('allowedRegions=["us-east-1","us-west-2","moon-1"]', "allowedRegions"),
    ("aurora.instanceClass=r6g.large", "aurora.instanceClass"),
    ("aurora.instanceClass=db.r99.huge", "aurora.instanceClass"),
    ("aurora.instances=0", "aurora.instances"),
    ("aurora.backupRetentionDays=40", "aurora.backupRetentionDays"),
    ("aurora.engineVersion=fifteen", "aurora.engineVersion"),
    ("aurora.masterPassword=hunter2", "aurora.masterPassword"),
    ("buckets[0].tier=gold", "buckets[0].tier"),
    ("buckets[1].name=Bad_Bucket", "buckets[1].name"),
    ('tables[0].hashKey=""', "tables[0].hashKey"),
    ("dns.routing=geo", "dns.routing"),
    ("dns.ttl=0", "dns.ttl"),
    ("objectives.critical.rtoMinutes=500", "objectives"),
    ('primaryStack=""', "primaryStack"),
    ("colour=blue", "colour"),
    ("network.drCidr=10.10.0.0/16", "network.drCidr"),
    ('tables[1].name="payments-idempotency"', "tables"),
    ("compute.nodes=0", "compute.nodes"),
    ("compute.maxNodes=2", "compute.maxNodes"),
    ("compute.services[3].tier=gold", "compute.services[3].tier"),
    ("compute.services[0].image=ghcr.io/creator-platform/payments:latest", "compute.services[0].image"),
    ("compute.services[1].image=ghcr.io/creator-platform/auth", "compute.services[1].image"),
    ("compute.services[2].replicas=0", "compute.services[2].replicas"),
    ("compute.typesenseReplicas=2", "compute.typesenseReplicas"),
    ("compute.typesenseReplicas=7", "compute.typesenseReplicas"),
    ("compute.colour=blue", "compute.colour"),
    ("compute.nodeInstanceType=db.r6g.large", "compute.nodeInstanceType"),
    ("compute.kubernetesVersion=latest", "compute.kubernetesVersion"),
    ('compute.publicAccessCidrs=["0.0.0.0/0"]', "compute.publicAccessCidrs"),
    ("compute.typesenseStorageGi=0", "compute.typesenseStorageGi"),
    ("compute.typesenseStorageGi=16385", "compute.typesenseStorageGi"),
    ("compute.typesenseStorageGi=big", "compute.typesenseStorageGi"),
    ("compute.services[4].name=auth", "compute.services"),
    ("email.senderDomain=example.org", "email.senderDomain"),  # not in dns.zoneName: its records could not go there
    ("dns.zoneName=acme.test", "email.senderDomain"),  # the zone moved, the sender did not
    ("email.senderDomain=Example..com", "email.senderDomain"),
    ("email.mailFromSubdomain=mail.from", "email.mailFromSubdomain"),
    ('email.senderLocalPart="no reply"', "email.senderLocalPart"),
    ("cache.nodeType=cache.t4g.micro", "cache.nodeType"),  # not in the price list: Global Datastore refuses it
    ("cache.nodeType=cache.m7g.4xlarge", "cache.nodeType"),  # takeable, but unpriced: the cost would be a guess
    ("cache.nodes=1", "cache.nodes"),  # Multi-AZ automatic failover needs a replica
    ("cache.engineVersion=latest", "cache.engineVersion"),
    # the HPA's ceiling below its floor (production replicas: 2 for catalog)
    ("compute.services[3].maxReplicas=1", "compute.services[3].maxReplicas"),
    # a critical service at 1 replica: no disruption budget keeps one serving and lets a drain evict one
    ("compute.services[2].replicas=1", "compute.services[2].replicas"),
    ("compute.clusterAutoscalerImage=autoscaling/cluster-autoscaler:v1.33.0", "compute.clusterAutoscalerImage"),
    ("compute.clusterAutoscalerImage=autoscaling/cluster-autoscaler:latest", "compute.clusterAutoscalerImage"),
]


class _CountingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.declared = 0

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        self.declared += 1
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        return {"names": ["az-a", "az-b", "az-c"], "zoneId": "Z1"}


def run_program(values: dict) -> tuple[BaseException | None, int]:
    """Run __main__.py under Pulumi's mocks with these config values: (error raised, resources declared)."""
    mocks = _CountingMocks()
    pulumi_internals.reset_root()
    pulumi.runtime.set_mocks(mocks, project="dr-platform", stack="dr", preview=False)
    pulumi.runtime.set_all_config(to_pulumi_config(values))
    try:
        pulumi_internals.sync_await(pulumi_internals.run_pulumi_func(
            lambda: runpy.run_path(str(PROJECT_DIR / "__main__.py"))))
    except ConfigError as exc:
        return exc, mocks.declared
    return None, mocks.declared


@pytest.mark.parametrize(("override", "key"), BAD, ids=[b[0] for b in BAD])
def test_bad_config_exits_2_names_the_key_and_declares_nothing(override: str, key: str) -> None:
    result = CliRunner().invoke(app, ["plan", "dr", "--set", override])
    assert result.exit_code == 2, result.output
    assert f"dr-platform:{key}" in result.output

    error, declared = run_program(stack_values("dr", [override]))
    assert isinstance(error, ConfigError) and error.key.startswith(key.split("[")[0].split(".")[0])
    assert declared == 0


MANY_BAD = ["aurora.instances=0", "drRegion=us-east-1", "dns.ttl=0", "compute.maxNodes=2",
            "compute.typesenseReplicas=2", "colour=blue", "buckets[1].tier=gold",
            'objectives={"critical": {"rtoMinutes": 500, "rpoMinutes": 90}}']
MANY_KEYS = ["aurora.instances", "drRegion", "dns.ttl", "compute.maxNodes", "compute.typesenseReplicas", "colour",
             "buckets[1].tier", "objectives.critical.rtoMinutes", "objectives.critical.rpoMinutes"]


def test_every_problem_is_shown_each_naming_its_key() -> None:
    result = CliRunner().invoke(app, ["plan", "dr", *(arg for o in MANY_BAD for arg in ("--set", o))])
    assert result.exit_code == 2, result.output
    assert f"invalid config, {len(MANY_KEYS)} problems:" in result.output
    lines = [line.strip() for line in result.output.splitlines()[1:] if line.strip()]
    assert sorted(line.split(": ")[0] for line in lines) == sorted(f"dr-platform:{key}" for key in MANY_KEYS)

    error, declared = run_program(stack_values("dr", MANY_BAD))
    assert isinstance(error, ConfigError) and isinstance(error, pulumi.RunError)  # the engine shows no traceback
    assert sorted(key for key, _ in error.problems) == sorted(MANY_KEYS)
    assert all(f"dr-platform:{key}: " in str(error) for key in MANY_KEYS)
    assert declared == 0


def test_policy_shows_every_problem_too() -> None:
    result = CliRunner().invoke(app, ["policy", "dr", "--set", "dns.ttl=0", "--set", "aurora.instances=0"])
    assert result.exit_code == 2
    assert "dr-platform:dns.ttl" in result.output and "dr-platform:aurora.instances" in result.output


def test_the_program_declares_resources_when_config_is_good() -> None:
    error, declared = run_program(stack_values("primary"))
    assert error is None and declared > 10  # the counting harness above can see declarations


def test_set_without_equals_is_refused_naming_it() -> None:
    result = CliRunner().invoke(app, ["plan", "dr", "--set", "posture"])
    assert result.exit_code == 2 and "posture" in result.output


def test_unknown_stack_is_refused() -> None:
    result = CliRunner().invoke(app, ["plan", "staging"])
    assert result.exit_code == 2 and "Pulumi.staging.yaml" in result.output


def test_pulumi_yaml_declares_only_types_the_pulumi_cli_accepts() -> None:
    # Pulumi's project schema (sdk/go/common/workspace/project.json): SimpleConfigType is string|integer|boolean|
    # array; a project file declaring anything else does not load.
    declared = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())["config"]
    assert {spec["type"] for spec in declared.values()} <= {"string", "integer", "boolean", "array"}


def test_pulumi_yaml_defaults_match_the_settings_model() -> None:
    defaults = project_defaults()
    fields = {info.alias: info for info in Settings.model_fields.values()}
    assert set(defaults) - {"primaryStack"} <= set(fields)
    for key, value in defaults.items():
        model_default = fields[key].get_default(call_default_factory=True)
        if isinstance(model_default, BaseModel):  # typed objects (compute): every nested default, by config name
            model_default = model_default.model_dump(by_alias=True, mode="json")
        assert (model_default.value if hasattr(model_default, "value") else model_default) == value, key


def test_both_stacks_run_the_same_services() -> None:
    """B must be able to run what A runs: same images, ports and production counts in both stack files."""
    assert load_stack_settings("primary").compute == load_stack_settings("dr").compute
    assert load_stack_settings("primary").cache == load_stack_settings("dr").cache  # B's cold cache matches A's
