"""Two real PostgreSQL 15 clusters per test module, deliberately set to different TimeZone/DateStyle defaults
(the comparison must not depend on them); each test gets a fresh database of the same name on both."""
from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from ops.drctl.cli import app
from ops.drctl.sandbox.postgres import PgCluster, pg_cluster


@dataclass(frozen=True)
class Pair:
    source: str
    target: str

    def both(self, sql: str) -> None:
        for dsn in (self.source, self.target):
            run(dsn, sql)


def run(dsn: str, sql: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql)


def run_scalar(dsn: str, sql: str) -> Any:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(sql).fetchone()
        assert row is not None
        return row[0]


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str

    @property
    def report(self) -> dict[str, Any]:
        return json.loads(self.stdout)

    def table(self, name: str) -> dict[str, Any]:
        return next(t for t in self.report["tables"] if t["table"] == name)

    def keys(self, name: str) -> set[tuple[tuple[Any, ...], str]]:
        """{(key values, class)} of one table."""
        return {(tuple(k["key"].values()), k["class"]) for k in self.table(name)["keys"]}


def drctl(pair: Pair, *args: str, as_json: bool = True) -> Outcome:
    result = CliRunner().invoke(app, ["consistency", "--source", pair.source, "--target", pair.target, *args,
                                      *(["--json"] if as_json else [])])
    return Outcome(result.exit_code, result.stdout, result.stderr)


@pytest.fixture(scope="module")
def clusters() -> Iterator[tuple[PgCluster, PgCluster]]:
    with pg_cluster(timezone="UTC", datestyle="ISO, MDY") as primary, \
            pg_cluster(timezone="Asia/Kolkata", datestyle="SQL, DMY") as dr:
        yield primary, dr


@pytest.fixture
def pair(clusters: tuple[PgCluster, PgCluster]) -> Iterator[Pair]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    for cluster in clusters:
        run(cluster.dsn(), f"CREATE DATABASE {name}")
    yield Pair(clusters[0].dsn(name), clusters[1].dsn(name))
    for cluster in clusters:
        run(cluster.dsn(), f"DROP DATABASE {name} WITH (FORCE)")
