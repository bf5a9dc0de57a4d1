"""RB-N-01 from warm standby: B already has an instance to promote and nodes that serve, so the run promotes at
once and moves DNS while B grows to the failover row (new Aurora instances and nodes take minutes on AWS), as the
ARC plan does; it waits for that growth only after the RTO. Pilot light (tests/runbooks_failover/test_failover.py)
still waits for its writer and its first nodes before promoting."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
from moto.eks.models import EKSBackend
from moto.rds.models import RDSBackend

from ops.drctl.runbooks import failover as failover_runbook
from stacks.config_files import load_stack_settings
from tests.runbooks_failover.conftest import DR, ENDPOINT_B, GLOBAL_ID, World
from tests.runbooks_failover.test_failover import drctl, journal, primary_target


@dataclass
class SlowGrowth:
    """New instances in B stay `creating` and B's node group `UPDATING` until released: what AWS's minutes look
    like to a run that polls."""
    instances: list = field(default_factory=list)
    nodegroups: list = field(default_factory=list)
    released_at: float | None = None

    def release(self) -> None:
        for database in self.instances:
            database.status = "available"
        for nodegroup in self.nodegroups:
            nodegroup.status = "ACTIVE"
        self.released_at = time.time()


@pytest.fixture
def slow_growth(monkeypatch: pytest.MonkeyPatch) -> SlowGrowth:
    growth = SlowGrowth()
    create_instance, update_nodegroup = RDSBackend.create_db_instance, EKSBackend.update_nodegroup_config

    def creating(backend: RDSBackend, db_kwargs: dict) -> object:
        database = create_instance(backend, db_kwargs)
        if backend.region_name == DR and growth.released_at is None:
            database.status = "creating"
            growth.instances.append(database)
        return database

    def updating(backend: EKSBackend, cluster_name: str, nodegroup_name: str, **kwargs: object) -> dict:
        answer = update_nodegroup(backend, cluster_name, nodegroup_name, **kwargs)
        if growth.released_at is None:
            nodegroup = backend.clusters[cluster_name].nodegroups[nodegroup_name]
            nodegroup.status = "UPDATING"
            growth.nodegroups.append(nodegroup)
        return answer

    monkeypatch.setattr(RDSBackend, "create_db_instance", creating)
    monkeypatch.setattr(EKSBackend, "update_nodegroup_config", updating)
    return growth


@pytest.fixture
def release_once_dns_moved(warm_world: World, slow_growth: SlowGrowth) -> Iterator[SlowGrowth]:
    """Releases B's growth once the API record points at B (or after 20 s, so a run that waits for the growth
    before DNS ends in its own timeout instead of hanging)."""
    stop = threading.Event()

    def watch() -> None:
        deadline = time.monotonic() + 20
        while not stop.is_set() and time.monotonic() < deadline:
            if primary_target(warm_world)[0] == ENDPOINT_B:
                break
            stop.wait(0.05)
        slow_growth.release()

    watcher = threading.Thread(target=watch, name="release-growth", daemon=True)
    watcher.start()
    yield slow_growth
    stop.set()
    watcher.join(timeout=5)


def test_warm_standby_moves_dns_while_b_grows_and_waits_for_the_growth_after(
        warm_world: World, release_once_dns_moved: SlowGrowth, tmp_path: Path, faults) -> None:
    settings = load_stack_settings("dr")
    code, output = drctl(tmp_path, "failover", "--scale-with", "api", "--execute", "--yes", "--json")
    assert code == 0, output
    run = journal(tmp_path, output)
    growth = release_once_dns_moved
    # nothing created before the promotion: B promoted the instance it had
    assert run.step("capacity").result["aurora"] == "none: B has an available instance to promote"
    assert run.step("capacity").result["nodegroups"] == "none: B has nodes"
    assert run.step("grow").result["aurora_created"] == [f"{GLOBAL_ID}-{DR}-{n}"
                                                        for n in range(1, settings.aurora.instances)]
    # DNS moved while B's new instances were still creating and its nodes still coming
    assert growth.instances and growth.nodegroups and growth.released_at is not None
    dns_done = run.step("dns").finished_at
    assert dns_done is not None and datetime.fromisoformat(dns_done).timestamp() <= growth.released_at
    assert warm_world.writer() == warm_world.arn_b and primary_target(warm_world)[0] == ENDPOINT_B
    # ...and the run still saw B reach the failover row, after the RTO it measured
    grown = run.step("grown")
    assert grown.state == "done" and grown.started_at >= run.step("rto").finished_at
    assert len(grown.result["aurora_instances"]) == settings.aurora.instances
    assert warm_world.nodes_b() == settings.compute.nodes


def test_pilot_light_waits_for_its_writer_and_first_nodes_before_promoting(
        world: World, slow_growth: SlowGrowth, tmp_path: Path) -> None:
    """Headless and nodeless, B can neither be promoted nor serve: the capacity step waits for both (here: times
    out while they are still coming, with nothing promoted and DNS on A)."""
    code, output = drctl(tmp_path, "failover", "--scale-with", "api", "--execute", "--yes", "--json",
                         "--timeout", "1")
    assert code == 1, output
    run = journal(tmp_path, output)
    assert run.step("capacity").state == "failed" and "available instances" in run.step("capacity").error
    assert slow_growth.instances and slow_growth.nodegroups
    assert world.writer() == world.arn_a and primary_target(world)[0] != ENDPOINT_B


def test_the_growth_is_asked_for_after_the_promotion_and_waited_for_after_the_rto() -> None:
    names = [step.name for step in failover_runbook.runbook("api").steps]
    assert names.index("capacity") < names.index("promote") < names.index("grow") < names.index("b-serving") \
        < names.index("dns") < names.index("rto") < names.index("grown")


def test_dry_run_of_warm_standby_plans_the_growth_after_the_promotion(warm_world: World, tmp_path: Path) -> None:
    code, output = drctl(tmp_path, "failover", "--scale-with", "api", "--json")
    assert code == 0, output
    run = journal(tmp_path, output)
    assert run.step("capacity").would_call == [
        "none: B has an instance to promote and nodes (it grows after the promotion: `grow`)"]
    grow = run.step("grow").would_call
    assert grow[0].startswith(f"rds:CreateDBInstance(DBInstanceIdentifier={GLOBAL_ID}-{DR}-1,")
    assert grow[-1].endswith(f"desiredSize={load_stack_settings('dr').compute.nodes})")
    assert warm_world.instances(DR) == [f"{GLOBAL_ID}-{DR}-0"] and warm_world.nodes_b() == 2
