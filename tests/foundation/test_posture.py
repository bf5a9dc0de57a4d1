"""The posture table is complete, says what the seeds promise, and is the only place that knows postures."""
from __future__ import annotations

import itertools
import re
from pathlib import Path

from components.posture import POSTURE_TABLE, PRODUCTION, Posture, Region, capacity

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
