"""RB-N-04 hardening against real PostgreSQL 15 and Typesense 0.24.1: a hostile --hot-slice cannot escape the
read-only session (the source stays byte-for-byte the same), a slow one ends at the statement timeout, and a
source that is written to while the reindex runs is read from one consistent snapshot, also across --resume."""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from ops.drctl.dataplane.reindex import load_checkpoint
from ops.drctl.sandbox.postgres import bindir
from tests.dataplane_reindex.conftest import ROWS, World, journal_from
from tests.dataplane_reindex.fault_proxy import Faults, fault_proxy

PROJECT_DIR = Path(__file__).resolve().parents[2]
RECENT = "updated_at > now() - interval '1 hour'"  # a time-based hot slice: rows the writers touch move into it


def fingerprint(dsn: str) -> str:
    """The whole database as pg_dump writes it (schema and data), plus the cluster's roles and databases."""
    dump = subprocess.run([str(bindir() / "pg_dump"), "--dbname", dsn, "--no-comments"], capture_output=True,
                          check=True).stdout
    # pg_dump ≥ 15.14 fences its output with a random \restrict key: not part of the database
    dump = b"\n".join(line for line in dump.splitlines() if not line.startswith((b"\\restrict", b"\\unrestrict")))
    with psycopg.connect(dsn) as conn:
        cluster = conn.execute("SELECT (SELECT string_agg(rolname || rolsuper::text, ',' ORDER BY rolname) "
                               "FROM pg_roles), (SELECT string_agg(datname, ',' ORDER BY datname) "
                               "FROM pg_database)").fetchone()
    return hashlib.sha256(dump + repr(cluster).encode()).hexdigest()


@pytest.mark.parametrize("hostile", [
    "true); COMMIT; CREATE TABLE pwned(); --",
    "true); COMMIT; UPDATE products SET price = 0; --",
    "true); COMMIT; DROP TABLE products; --",
    "true); COMMIT; CREATE ROLE pwned SUPERUSER; --",
    "true) UNION ALL SELECT 1 FROM products WHERE (true",
    "(SELECT count(*) FROM (WITH d AS (DELETE FROM products RETURNING 1) SELECT * FROM d) AS x) > 0",
    "pg_sleep(60) IS NOT NULL",
    "set_config('default_transaction_read_only', 'off', false) = 'off'",
    "id IN (SELECT id FROM products FOR UPDATE)",
    "true -- the rest is a comment: ) OR (true",
])
def test_a_hostile_hot_slice_is_refused_and_the_source_is_unchanged(world: World, hostile: str) -> None:
    before = fingerprint(world.dsn)
    started = time.monotonic()
    code, output = world.drctl("--hot-slice", hostile)
    said = " ".join(output.split())
    assert code == 2 and "--hot-slice" in said, output
    assert time.monotonic() - started < 30  # pg_sleep(60) never runs
    assert fingerprint(world.dsn) == before
    with psycopg.connect(world.dsn) as conn:
        assert conn.execute("SELECT to_regclass('pwned')").fetchone()[0] is None


def test_a_slow_hot_slice_ends_at_the_statement_timeout(world: World) -> None:
    slow = "EXISTS (SELECT 1 FROM products a CROSS JOIN products b WHERE a.name || b.name = 'x')"
    started = time.monotonic()
    code, output = world.drctl("--hot-slice", slow, "--statement-timeout", "1")
    said = " ".join(output.split())
    assert code == 2 and "--hot-slice" in said and "--statement-timeout 1 s" in said, output
    assert time.monotonic() - started < 30


@pytest.mark.parametrize("ordinary", [RECENT, "lower(brand) = 'brand7' AND popularity >= 900",
                                      "id IN (SELECT id FROM products WHERE popularity > 990)"])
def test_ordinary_hot_slices_still_plan(world: World, ordinary: str) -> None:
    code, output = world.drctl("--hot-slice", ordinary, "--json")
    assert code == 0, output
    assert journal_from(output).step("validate").result["hot_rows"] == world.count(ordinary)


@dataclass
class Writer:
    """Changes the source while a reindex runs: updates (moving rows into the time-based hot slice) and deletes
    of rows from the low keys a reindex reads first, and inserts; each on its own row, logged once committed."""
    dsn: str
    stop: threading.Event = field(default_factory=threading.Event)
    done: list[tuple[float, str, int]] = field(default_factory=list)

    def run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            n = 0
            while not self.stop.is_set():
                kind, key = ("update", 1 + n) if n % 3 == 0 else ("delete", 1 + n) if n % 3 == 1 else \
                    ("insert", ROWS + 1 + n)
                if kind == "update":
                    conn.execute("UPDATE products SET name = %s, updated_at = now() WHERE id = %s",
                                 (f"changed {key}", key))
                elif kind == "delete":
                    conn.execute("DELETE FROM products WHERE id = %s", (key,))
                else:
                    conn.execute("INSERT INTO products SELECT %s, 'new ' || %s::text, description, brand, "
                                 "category, tags, price, in_stock, popularity, now() FROM products WHERE id = %s",
                                 (key, key, ROWS))  # row ROWS: never touched
                self.done.append((time.monotonic(), kind, key))
                n += 1
                self.stop.wait(0.003)

    def __enter__(self) -> Writer:
        self._thread = threading.Thread(target=self.run, name="source-writer")
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._thread.join()


def test_a_source_written_to_during_the_run_is_read_from_one_snapshot_and_swapped(world: World) -> None:
    serving = world.old_collection(50)
    abandoned = f"{world.alias}_v20200101T000000000Z"  # what an earlier failed run left behind
    assert world.api("POST", "/collections", json={"name": abandoned, "fields": [
        {"name": "name", "type": "string"}]}).status_code == 201
    faults = Faults(import_delay_s=0.02)  # the run lasts long enough for many writes
    with fault_proxy(world.ts.url, faults) as proxy, Writer(world.dsn) as writer:
        time.sleep(0.2)
        started = time.monotonic()
        code, output = world.drctl("--hot-slice", RECENT, "--batch-size", "500", "--prune-abandoned", "--execute",
                                   "--yes", "--json", typesense=proxy)
        finished = time.monotonic()
    assert code == 0, output
    run = journal_from(output)
    writes_during = [w for w in writer.done if started < w[0] < finished]
    assert len(writes_during) > 30, len(writes_during)
    verified = run.step("verify_counts").result
    # the hot slice, the rest and the count all saw the same snapshot: the validation's count is the verified one
    assert verified["indexed"] == verified["source_rows"] == run.step("validate").result["source_rows"]
    assert run.step("import_hot").result["imported"] + run.step("import_rest").result["imported"] == \
        verified["source_rows"]
    assert world.alias_target() == run.params["target"]
    assert world.collections() == {run.params["target"]: verified["indexed"]}  # old and abandoned ones gone
    assert serving not in world.collections() and abandoned not in world.collections()


def test_resume_on_a_moving_source_reconciles_and_swaps(world: World) -> None:
    """Killed mid-import while the source is written to; the resumed run takes a new snapshot, continues after
    the checkpoint, upserts what changed since the first snapshot, deletes what is gone, verifies and swaps.
    Every change committed before the resume started is in the index."""
    faults = Faults(import_delay_s=0.03)
    with fault_proxy(world.ts.url, faults) as proxy, Writer(world.dsn) as writer:
        env = {**os.environ, "PYTHONPATH": str(PROJECT_DIR)}
        command = [sys.executable, "-m", "ops.drctl.cli",
                   *world.args("--hot-slice", RECENT, "--batch-size", "250", "--execute", "--yes", typesense=proxy)]
        process = subprocess.Popen(command, cwd=PROJECT_DIR, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None and time.monotonic() < deadline
                paths = list(world.journal_dir.glob("reindex-*.checkpoint.json"))
                try:
                    rest = load_checkpoint(paths[0]).get("rest") if paths else None
                except (ValueError, OSError):
                    rest = None
                if rest and rest.imported >= 3000:
                    break
                time.sleep(0.01)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        time.sleep(0.5)  # more writes between the runs
        run_id = next(p.stem for p in world.journal_dir.glob("2*.json"))
        faults.import_delay_s = 0.005
        resume_started = time.monotonic()
        code, output = world.drctl("--resume", run_id, "--yes", "--json")
    assert code == 0, output
    run = journal_from(output)
    rest = run.step("import_rest").result
    assert rest["resumed_from"] >= 3000 and rest["imported_this_attempt"] < ROWS  # progress kept, not restarted
    verified = run.step("verify_counts").result
    assert verified["indexed"] == verified["source_rows"] and verified["reconciled"]["deleted"] > 0
    assert world.alias_target() == run.params["target"]
    before_resume = [(kind, key) for at, kind, key in writer.done if at < resume_started]
    assert {"update", "delete", "insert"} <= {kind for kind, _ in before_resume}
    for kind, key in before_resume:
        doc = world.api("GET", f"/collections/{world.alias}/documents/{key}")
        if kind == "delete":
            assert doc.status_code == 404, key
        else:
            assert doc.status_code == 200, key
            assert doc.json()["name"] == (f"changed {key}" if kind == "update" else f"new {key}")
    assert world.collections() == {run.params["target"]: verified["indexed"]}
