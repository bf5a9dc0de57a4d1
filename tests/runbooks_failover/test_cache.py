"""RB-N-01 through the API moves the cache's primary with the writer: FailoverGlobalReplicationGroup (the shared
`promote_cache`, as `pulumi up` runs it) to B on failover and back to A on failback, where the posture keeps a
Global Datastore member in B; nothing in pilot light. Against moto's server with the Global Datastore extension."""
from __future__ import annotations

from pathlib import Path

from ops.actions.aws import client
from ops.actions.elasticache import describe_global_group, primary_group
from stacks.config_files import set_stack_config
from tests.harness.cache import DR, GROUP_A, GROUP_B, build_cache
from tests.runbooks_failover.conftest import World
from tests.runbooks_failover.test_failover import drctl, journal, project_copy


def warm_standby(tmp_path: Path) -> None:
    set_stack_config(project_copy(tmp_path) / "Pulumi.dr.yaml", "posture", "warm-standby")


def cache_primary(global_id: str) -> str | None:
    return primary_group(describe_global_group(client("elasticache", DR), global_id))


def test_the_dry_run_names_the_cache_promotion_and_calls_nothing(world: World, tmp_path: Path, faults) -> None:
    global_id = build_cache()
    warm_standby(tmp_path)
    code, output = drctl(tmp_path, "failover", "--scale-with", "api", "--json")
    assert code == 0, output
    (planned,) = [step.would_call for step in journal(tmp_path, output).steps if step.name == "promote-cache-b"]
    assert planned[0] == (f"elasticache:FailoverGlobalReplicationGroup(GlobalReplicationGroupId={global_id}, "
                          f"PrimaryRegion={DR}, PrimaryReplicationGroupId={GROUP_B})")
    assert faults.calls("elasticache", "FailoverGlobalReplicationGroup") == 0 and cache_primary(global_id) == GROUP_A


def test_failover_promotes_bs_cache_after_aurora_and_failback_moves_it_back(world: World, tmp_path: Path,
                                                                           faults) -> None:
    global_id = build_cache()
    warm_standby(tmp_path)
    code, output = drctl(tmp_path, "failover", "--scale-with", "api", "--execute", "--yes", "--json",
                         "--smoke-url", world.endpoint_b.url)
    assert code == 0, output
    run = journal(tmp_path, output)
    names = [step.name for step in run.steps]
    assert names.index("promote") < names.index("promote-cache-b") < names.index("dns")
    assert run.step("promote-cache-b").result["primary"] == GROUP_B and cache_primary(global_id) == GROUP_B
    assert world.writer() == world.arn_b

    code, output = drctl(tmp_path, "failback", "--execute", "--yes", "--json", "--smoke-url", world.endpoint_a.url)
    assert code == 0, output
    run = journal(tmp_path, output)
    assert run.step("promote-cache-a").result["changed"] is True
    assert cache_primary(global_id) == GROUP_A and world.writer() == world.arn_a
    assert faults.calls("elasticache", "FailoverGlobalReplicationGroup") == 2


def test_pilot_light_keeps_no_member_in_b_so_nothing_is_promoted(world: World, tmp_path: Path, faults) -> None:
    global_id = build_cache(secondary=False)
    code, output = drctl(tmp_path, "failover", "--scale-with", "api", "--execute", "--yes", "--json",
                         "--smoke-url", world.endpoint_b.url)
    assert code == 0, output
    assert "nothing to promote" in journal(tmp_path, output).step("promote-cache-b").result["note"]
    assert faults.calls("elasticache", "DescribeGlobalReplicationGroups") == 0 and cache_primary(global_id) == GROUP_A


def test_a_missing_member_in_b_stops_the_run_naming_it(world: World, tmp_path: Path, faults) -> None:
    build_cache(secondary=False)
    warm_standby(tmp_path)
    code, output = drctl(tmp_path, "failover", "--scale-with", "api", "--json")
    assert code == 2, output
    assert f"replication group '{GROUP_B}' does not exist in {DR}" in output
