"""The posture table: for each DR posture, with and without failover, every capacity in region B that differs.

This is the only place that knows what a posture means. Components take the resolved numbers; nothing else
branches on posture or failover. `PRODUCTION` stands for "the production count from config" so the table
stays a table of facts rather than a function.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final



class Posture(StrEnum):
    PILOT_LIGHT = "pilot-light"
    WARM_STANDBY = "warm-standby"
    ACTIVE_ACTIVE = "active-active"


class Region(StrEnum):
    A = "A"
    B = "B"


PRODUCTION: Final = "production"
Count = int | str  # an int, or PRODUCTION


@dataclass(frozen=True)
class PostureRow:
    aurora_instances_b: Count  # 0 = headless secondary: storage replicates, no compute billed
    dns_weight_a: int  # weighted routing; failover routing sends everything to `writer_region`
    dns_weight_b: int
    writer_region: Region  # where Aurora writes, where PRIMARY DNS points
    s3_replication_from: Region  # replication runs from the writer region so failback finds its data
    promote_aurora: bool  # the failover step exists (switchover/failover through the RDS API)


def _normal(instances_b: Count, weight_b: int) -> PostureRow:
    return PostureRow(aurora_instances_b=instances_b, dns_weight_a=100 - weight_b, dns_weight_b=weight_b,
                      writer_region=Region.A, s3_replication_from=Region.A, promote_aurora=False)


FAILED_OVER: Final = PostureRow(aurora_instances_b=PRODUCTION, dns_weight_a=0, dns_weight_b=100,
                                writer_region=Region.B, s3_replication_from=Region.B, promote_aurora=True)

POSTURE_TABLE: Final[dict[tuple[Posture, bool], PostureRow]] = {
    (Posture.PILOT_LIGHT, False): _normal(instances_b=0, weight_b=0),
    (Posture.WARM_STANDBY, False): _normal(instances_b=1, weight_b=0),
    # active-active: B serves reads locally (writes still go to A's writer via the global database)
    (Posture.ACTIVE_ACTIVE, False): _normal(instances_b=PRODUCTION, weight_b=50),
    (Posture.PILOT_LIGHT, True): FAILED_OVER,
    (Posture.WARM_STANDBY, True): FAILED_OVER,
    (Posture.ACTIVE_ACTIVE, True): FAILED_OVER,
}


@dataclass(frozen=True)
class Capacity:
    """A posture row with PRODUCTION resolved against the config."""

    aurora_instances_a: int
    aurora_instances_b: int
    dns_weight_a: int
    dns_weight_b: int
    writer_region: Region
    s3_replication_from: Region
    promote_aurora: bool


def capacity(posture: Posture, failover: bool, production_instances: int) -> Capacity:
    row = POSTURE_TABLE[(Posture(posture), failover)]
    production = production_instances

    def resolve(count: Count) -> int:
        return production if count == PRODUCTION else int(count)

    return Capacity(aurora_instances_a=production, aurora_instances_b=resolve(row.aurora_instances_b),
                    dns_weight_a=row.dns_weight_a, dns_weight_b=row.dns_weight_b,
                    writer_region=row.writer_region, s3_replication_from=row.s3_replication_from,
                    promote_aurora=row.promote_aurora)
