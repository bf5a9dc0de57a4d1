"""The posture table is complete, says what the seeds promise, and is the only place that knows postures."""
from __future__ import annotations

import itertools
import re
from pathlib import Path

from ops.core.posture import (POSTURE_TABLE, PRODUCTION, ComputeProduction, Posture, Region, ServiceCount,
                                capacity)

ROOT = Path(__file__).resolve().parents[2]


def test_every_posture_has_a_row_with_and_without_failover() -> None:
    assert set(POSTURE_TABLE) == set(itertools.product(list(Posture), (False, True)))


def test_failover_makes_b_the_production_writer_in_every_posture() -> None:
    for posture in Posture:
        cap = capacity(posture, True, production_instances=3)
        assert cap.aurora_instances_b == 3 and cap.writer_region is Region.B and cap.promote_aurora
        assert cap.s3_replication_from is Region.B
        assert (cap.dns_weight_a, cap.dns_weight_b) == (0, 100)


def test_steady_state_capacities() -> None:
    rows = {p: capacity(p, False, production_instances=3) for p in Posture}
    assert rows[Posture.PILOT_LIGHT].aurora_instances_b == 0  # headless secondary
    assert rows[Posture.WARM_STANDBY].aurora_instances_b == 1
    assert rows[Posture.ACTIVE_ACTIVE].aurora_instances_b == 3
    assert all(r.writer_region is Region.A and not r.promote_aurora for r in rows.values())
    assert all(r.dns_weight_a + r.dns_weight_b == 100 for r in rows.values())
    assert all(r.aurora_instances_a == 3 for r in rows.values())


def test_production_placeholder_resolves_to_config() -> None:
    assert POSTURE_TABLE[(Posture.ACTIVE_ACTIVE, False)].aurora_instances_b == PRODUCTION
    assert capacity(Posture.ACTIVE_ACTIVE, False, production_instances=5).aurora_instances_b == 5


def test_nothing_outside_the_table_branches_on_posture_or_failover() -> None:
    offenders = []
    for path in [*ROOT.glob("components/*.py"), *ROOT.glob("stacks/*.py"), ROOT / "__main__.py"]:
        if path.name in {"posture.py", "settings.py"}:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = re.sub(r"\"[^\"]*\"|'[^']*'", "''", line)  # string literals are not branches
            if re.search(r"\bif\b.*\b(posture|failover|Posture\.)", code) and "cap." not in code:
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


COMPUTE = ComputeProduction(nodes=3, max_nodes=6, typesense_replicas=3, services=(
    ServiceCount("payments", "critical", 3), ServiceCount("users", "critical", 2),
    ServiceCount("catalog", "standard", 2)))


def test_compute_rows_for_every_posture_and_failover_state() -> None:
    expected = {  # (nodes, node ceiling, {service: replicas}, typesense) in B
        (Posture.PILOT_LIGHT, False): (0, 1, {"payments": 0, "users": 0, "catalog": 0}, 0),
        # critical at 2, not 1: a disruption budget that keeps one serving must leave a drain one to evict
        (Posture.WARM_STANDBY, False): (2, 3, {"payments": 2, "users": 2, "catalog": 0}, 1),
        (Posture.ACTIVE_ACTIVE, False): (3, 6, {"payments": 3, "users": 2, "catalog": 2}, 3),
        **{(p, True): (3, 6, {"payments": 3, "users": 2, "catalog": 2}, 3) for p in Posture},
    }
    for (posture, failover), (nodes, ceiling, replicas, typesense) in expected.items():
        cap = capacity(posture, failover, production_instances=2, compute=COMPUTE)
        assert (cap.eks_nodes_b, cap.eks_max_nodes_b, dict(cap.replicas_b), cap.typesense_replicas_b) == \
            (nodes, ceiling, replicas, typesense), (posture, failover)
        # region A always runs production
        assert (cap.eks_nodes_a, cap.eks_max_nodes_a, dict(cap.replicas_a), cap.typesense_replicas_a) == \
            (3, 6, {"payments": 3, "users": 2, "catalog": 2}, 3)
        assert cap.typesense_replicas_b == 0 or cap.typesense_replicas_b % 2 == 1  # Raft: odd or off


def test_a_posture_minimum_never_exceeds_production() -> None:
    small = ComputeProduction(nodes=1, typesense_replicas=1, services=(ServiceCount("payments", "critical", 1),))
    cap = capacity(Posture.WARM_STANDBY, False, production_instances=1, compute=small)
    assert (cap.eks_nodes_b, dict(cap.replicas_b), cap.typesense_replicas_b) == (1, {"payments": 1}, 1)


def test_rows_name_production_or_a_count_for_every_compute_capacity() -> None:
    for row in POSTURE_TABLE.values():
        for value in (row.eks_nodes_b, row.eks_max_nodes_b, row.critical_replicas_b, row.standard_replicas_b,
                      row.typesense_replicas_b):
            assert value == PRODUCTION or (isinstance(value, int) and value >= 0)


def test_the_node_ceiling_never_falls_below_the_floor() -> None:
    small = ComputeProduction(nodes=3, max_nodes=3, services=())
    for posture, failover in POSTURE_TABLE:
        cap = capacity(posture, failover, production_instances=1, compute=small)
        assert cap.eks_max_nodes_b >= cap.eks_nodes_b and cap.eks_max_nodes_a >= cap.eks_nodes_a
    assert capacity(Posture.WARM_STANDBY, False, 1, small).eks_max_nodes_b == 3  # capped by maxNodes
