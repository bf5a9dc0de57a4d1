"""Real PostgreSQL and a real Typesense 0.24.1 server for the RB-N-04 tests (module-scoped: ~1 s each to start).

Each test gets its own database (a copy of a seeded template) and its own alias name, so tests sharing the
module's Typesense server never see each other's collections. Configuration comes from a per-test
`reindex.json` that points at the repo's own `products.schema.json`: the schema under test is the real one.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import requests
from typer.testing import CliRunner

from ops.core.catalog import CATALOG_DIR as CONFIG_DIR
from ops.core.catalog import CATALOG_FILE as CONFIG_FILE
from ops.drctl.cli import app
from ops.drctl.runbooks.engine import Journal
from ops.drctl.sandbox.catalog import seed_products
from ops.drctl.sandbox.postgres import PgCluster, pg_cluster
from ops.drctl.sandbox.typesense import TypesenseServer, typesense_server

ROWS = 20_000
API_KEY_ENV = "DR_TEST_TYPESENSE_KEY"
TEMPLATE_DB = "products_seeded"


@pytest.fixture(scope="module")
def pg_server() -> Iterator[PgCluster]:
    with pg_cluster() as cluster:
        with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {TEMPLATE_DB}")
        with psycopg.connect(cluster.dsn(TEMPLATE_DB), autocommit=True) as conn:
            seed_products(conn, ROWS)
        yield cluster


@pytest.fixture(scope="module")
def ts_server() -> Iterator[TypesenseServer]:
    with typesense_server() as server:
        yield server


@dataclass
class World:
    dsn: str
    ts: TypesenseServer
    alias: str
    config_dir: Path
    journal_dir: Path

    def api(self, method: str, path: str, **kwargs: object) -> requests.Response:
        return requests.request(method, f"{self.ts.url}{path}", headers={"X-TYPESENSE-API-KEY": self.ts.api_key},
                                timeout=30, **kwargs)  # type: ignore[arg-type]

    def collections(self) -> dict[str, int]:
        """This test's collections (name → documents)."""
        return {c["name"]: c["num_documents"] for c in self.api("GET", "/collections").json()
                if c["name"] == self.alias or c["name"].startswith(f"{self.alias}_v")}

    def alias_target(self) -> str | None:
        answer = self.api("GET", f"/aliases/{self.alias}")
        return answer.json()["collection_name"] if answer.status_code == 200 else None

    def sql(self, statement: str) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(statement)

    def count(self, where: str = "true") -> int:
        with psycopg.connect(self.dsn) as conn:
            return conn.execute(f"SELECT count(*) FROM products WHERE {where}").fetchone()[0]

    def old_collection(self, documents: int) -> str:
        """A previous generation behind the alias, with `documents` documents, as a rebuild would find it."""
        name = f"{self.alias}_vold"
        schema = json.loads((CONFIG_DIR / "products.schema.json").read_text())
        assert self.api("POST", "/collections", json={**schema, "name": name}).status_code == 201
        body = "\n".join(json.dumps({"id": str(i), "name": f"old {i}", "brand": "b", "category": "c", "price": 1.0,
                                     "in_stock": True, "popularity": 1, "updated_at": 0})
                         for i in range(documents))
        assert self.api("POST", f"/collections/{name}/documents/import", data=body.encode()).ok
        assert self.api("PUT", f"/aliases/{self.alias}", json={"collection_name": name}).ok
        return name

    def args(self, *extra: str, typesense: str | None = None) -> list[str]:
        return ["reindex", "--source", self.dsn, "--typesense", typesense or self.ts.url, "--api-key-env",
                API_KEY_ENV, "--collection", self.alias, "--config-dir", str(self.config_dir), "--journal-dir",
                str(self.journal_dir), *extra]

    def drctl(self, *extra: str, typesense: str | None = None) -> tuple[int, str]:
        result = CliRunner().invoke(app, self.args(*extra, typesense=typesense))
        return result.exit_code, result.output


def journal_from(output: str) -> Journal:
    return Journal.model_validate(json.loads(output[output.index("{"):]))


@pytest.fixture
def world(pg_server: PgCluster, ts_server: TypesenseServer, tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    database = f"t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server.dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {database} TEMPLATE {TEMPLATE_DB}")
    alias = f"products_{uuid.uuid4().hex[:8]}"
    config = json.loads((CONFIG_DIR / CONFIG_FILE).read_text())
    entry = {**config["collections"]["products"], "schema": str(CONFIG_DIR / "products.schema.json")}
    config_dir = tmp_path / "typesense"
    config_dir.mkdir()
    (config_dir / CONFIG_FILE).write_text(json.dumps({**config, "collections": {alias: entry}}))
    monkeypatch.setenv(API_KEY_ENV, ts_server.api_key)
    yield World(pg_server.dsn(database), ts_server, alias, config_dir, tmp_path / "runs")
    with psycopg.connect(pg_server.dsn(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
