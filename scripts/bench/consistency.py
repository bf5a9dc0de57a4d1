"""Benchmark: `drctl consistency` vs reladiff vs the seed's SQL vs a plain count(*), on two local PG15 clusters.

    scripts/dev bench consistency      (or: python -m scripts.bench.consistency [--rows 1000000,5000000])

For each size, the same `orders` table (8 columns: bigint key, int, numeric, text, 2 timestamptz, jsonb, text) is
loaded on both clusters, then 10 scattered differences are applied to the DR copy: 3 rows only in the source,
3 only in the target, 4 changed (one of them in `amount` only, a non-key column the seed SQL does not hash).
Each approach runs against both servers and must report exactly those 10 keys (the seed SQL can only say
"mismatch"). The tool runs twice: its default row hash (exact: every stored value) and `--hash equality` (the
previous default: values as their type's `=` compares them), and their serial bucket scans are timed in
interleaved pairs on one server, a ratio the machine's load moves little (goal: exact costs ≤ 10 % more).
Three floors find no keys but show what a check pays at least: one aggregate over the key's hash; a scan that
deforms every row and hashes nothing; each value hashed once by its type's hash function, folded
into one aggregate (no row hash, no buckets). Goals (issue 4): exact keys in ≤ 1/5 of reladiff's time at 5M rows,
within 2x of a plain `SELECT count(*)` on both sides in parallel, and backend memory that stays flat as the table
grows.

Backend memory: a sampler reads RssAnon (private memory: sorts, hash tables, strings being built; shared
buffers excluded) of every client backend and parallel worker of both clusters every 20 ms; the figure is the
largest seen during the approach's run.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from ops.core.paths import CHECKS_DIR
from ops.drctl.dataplane import consistency
from ops.drctl.sandbox.postgres import PgCluster, pg_cluster

SEED_SQL = CHECKS_DIR / "data_consistency.sql"
COLUMNS = ("account_id", "amount", "status", "note", "created_at", "updated_at", "attrs")
DDL = """CREATE TABLE orders (
    id bigint PRIMARY KEY, account_id int NOT NULL, amount numeric(12, 2), status text, note text,
    created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, attrs jsonb)"""
# Even ids only, so rows "only in the target" can be inserted between existing keys.
LOAD = """INSERT INTO orders
SELECT 2 * g, g %% 9973, (g %% 100000) / 100.0, (ARRAY['new', 'paid', 'shipped', 'refunded'])[1 + g %% 4],
       CASE WHEN g %% 11 = 0 THEN NULL ELSE 'order ' || md5(g::text) END,
       timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second',
       timestamptz '2024-06-01 00:00:00+00' + g * interval '1 second',
       jsonb_build_object('channel', (ARRAY['web', 'app', 'pos'])[1 + g %% 3], 'items', g %% 7)
FROM generate_series(1, %s) AS g"""


@dataclass(frozen=True)
class Difference:
    sql: str
    key: int
    kind: str


def differences(rows: int) -> list[Difference]:
    """10 differences scattered over the key range; applied to the target (DR) copy."""
    at = [2 * max(1, int(rows * f)) for f in (0.03, 0.12, 0.21, 0.33, 0.41, 0.52, 0.64, 0.73, 0.86, 0.97)]
    return [
        Difference(f"DELETE FROM orders WHERE id = {at[0]}", at[0], "only_in_source"),
        Difference(f"DELETE FROM orders WHERE id = {at[4]}", at[4], "only_in_source"),
        Difference(f"DELETE FROM orders WHERE id = {at[8]}", at[8], "only_in_source"),
        Difference(f"INSERT INTO orders SELECT id + 1, account_id, amount, status, note, created_at, updated_at, "
                   f"attrs FROM orders WHERE id = {at[1]}", at[1] + 1, "only_in_target"),
        Difference(f"INSERT INTO orders SELECT id + 1, account_id, amount, status, note, created_at, updated_at, "
                   f"attrs FROM orders WHERE id = {at[6]}", at[6] + 1, "only_in_target"),
        Difference(f"INSERT INTO orders VALUES ({2 * rows + 7}, 1, 1.00, 'new', NULL, now(), now(), NULL)",
                   2 * rows + 7, "only_in_target"),
        Difference(f"UPDATE orders SET amount = amount + 0.01 WHERE id = {at[2]}", at[2], "changed"),  # only amount
        Difference(f"UPDATE orders SET note = 'edited' WHERE id = {at[3]}", at[3], "changed"),
        Difference(f"UPDATE orders SET updated_at = updated_at + interval '1 microsecond' WHERE id = {at[5]}",
                   at[5], "changed"),
        Difference(f"UPDATE orders SET attrs = attrs || '{{\"items\": 99}}' WHERE id = {at[7]}", at[7], "changed"),
    ]


# -- backend memory -----------------------------------------------------------------------------------------------

def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _client_memory_kb(pid: int) -> int | None:
    """RssAnon of a client backend or parallel worker; None for the server's own background processes."""
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        if not re.match(r"postgres: (parallel worker|\S+ \S+ 127\.0\.0\.1)", title):
            return None
        match = re.search(r"^RssAnon:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M)
    except OSError:
        return None
    return int(match.group(1)) if match else None


class MemorySampler:
    """Largest private memory of any client backend / parallel worker of the clusters while running."""

    def __init__(self, clusters: list[PgCluster], interval: float = 0.02) -> None:
        self.postmasters = [int((c.datadir / "postmaster.pid").read_text().split()[0]) for c in clusters]
        self.interval = interval
        self.peak_kb = 0
        # Backends of earlier runs may still be exiting (a closed connection's backend ends asynchronously);
        # only processes started during this run are counted.
        self.earlier = {pid for postmaster in self.postmasters for pid in _children(postmaster)}
        self._stop = threading.Event()

    def _run(self) -> None:
        while not self._stop.is_set():
            for postmaster in self.postmasters:
                for pid in _children(postmaster):
                    if pid in self.earlier:
                        continue
                    kb = _client_memory_kb(pid)
                    if kb is not None:
                        self.peak_kb = max(self.peak_kb, kb)
            self._stop.wait(self.interval)

    @contextmanager
    def running(self) -> Iterator[MemorySampler]:
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()


# -- approaches ---------------------------------------------------------------------------------------------------

@dataclass
class Outcome:
    name: str
    seconds: float
    verdict: str
    memory_mb: float


def _on_both(dsns: tuple[str, str], sql: str) -> tuple[list[tuple], list[tuple]]:
    def one(dsn: str) -> list[tuple]:
        with psycopg.connect(dsn) as conn:
            return conn.execute(sql).fetchall()
    with ThreadPoolExecutor(2) as pool:
        source, target = pool.map(one, dsns)
    return source, target


def count_star(dsns: tuple[str, str]) -> str:
    source, target = _on_both(dsns, "SELECT count(*) FROM orders")
    return f"{source[0][0]} vs {target[0][0]} rows"


def floor_deform_every_row(dsns: tuple[str, str]) -> str:
    """Lower bound for any content check: deform every row up to its last column (`attrs`), hash nothing."""
    source, target = _on_both(dsns, "SELECT count(*), count(attrs) FROM orders")
    return f"{source[0][0]} vs {target[0][0]} rows read"


def floor_hash_every_value(dsns: tuple[str, str]) -> str:
    """Lower bound for any check of every column's content on the server: each value hashed once by its type's
    own hash function (the cheapest SQL can call; timestamptz has none callable without a time-zone cast, so
    the two go through one record hash), folded into one aggregate: no row hash, no buckets, no keys found."""
    hashes = ("hashint8extended(id, 0) # hashint4extended(account_id, 0) # hash_numeric_extended(amount, 0) "
              "# hashtextextended(status, 0) # hashtextextended(note, 0) "
              "# hash_record_extended(ROW(created_at, updated_at), 0) # jsonb_hash_extended(attrs, 0)")
    source, target = _on_both(dsns, f"SELECT bit_xor({hashes}) FROM orders")
    return "contents differ" if source != target else "same contents"


def floor_hash_key_only(dsns: tuple[str, str]) -> str:
    """Lower bound for any check that tells which keys differ: hash the key alone, one aggregate."""
    source, target = _on_both(dsns, "SELECT bit_xor(hashint8extended(id, 0)) FROM orders")
    return "keys differ" if source != target else "same keys"


def seed_sql(dsns: tuple[str, str]) -> str:
    """The seed's orders hash statement as written (its count statement names tables this schema lacks)."""
    statement = SEED_SQL.read_text().split("-- Hash of critical business keys")[1].strip().rstrip(";")
    source, target = _on_both(dsns, statement)
    return "mismatch (no keys)" if source != target else "match"


def tool(dsns: tuple[str, str], hash_mode: str = "auto") -> set[tuple[int, str]]:
    report = consistency.compare(dsns[0], dsns[1], ["orders"], hash_mode=hash_mode)  # type: ignore[arg-type]
    return {(d.key[0], d.kind) for d in report.tables[0].keys}


def tool_equality(dsns: tuple[str, str]) -> set[tuple[int, str]]:
    """The previous default: values compared as their type's `=` does (numeric 1.0 = 1.00, jsonb alike)."""
    return tool(dsns, "equality")


def reladiff(dsns: tuple[str, str]) -> set[tuple[int, str]]:
    from reladiff import connect_to_table, diff_tables

    tables = [connect_to_table(dsn, "orders", "id") for dsn in dsns]
    try:
        signs: dict[int, set[str]] = {}
        # Default bisection. skip_sort_results: reladiff 0.6.0's final sort compares whole rows and raises
        # TypeError when a changed row has NULL on one side (None < str); skipping it changes nothing else.
        for sign, row in diff_tables(*tables, extra_columns=COLUMNS, skip_sort_results=True):
            signs.setdefault(int(row[0]), set()).add(sign)
    finally:
        for table in tables:
            table.database.close()
    kinds = {frozenset("-"): "only_in_source", frozenset("+"): "only_in_target", frozenset("+-"): "changed"}
    return {(key, kinds[frozenset(s)]) for key, s in signs.items()}


def bucket_scan_alone(dsn: str, parallel: bool, mode: consistency.HashMode = "exact") -> float:
    """The tool's bucket scan on one server while the other is idle, as in production where each server has its
    own host; median of three. parallel=False forbids parallel workers, True leaves the server's own setting."""
    with consistency.Pair(dsn, dsn) as pair:
        conn = pair.conns["source"]
        table = consistency._catalog_table(conn, "source", "orders")
        plan = consistency.plan_table(table, table, "orders", None, None, frozenset())
        bucketing = consistency.choose_bucketing(pair, plan, consistency.DEFAULT_BUCKETS)
        row_hash = consistency.row_hash_sql(plan, mode)
        if not parallel:
            conn.execute("SELECT set_config('max_parallel_workers_per_gather', '0', false)")
        seconds = []
        for _ in range(3):
            started = time.perf_counter()
            consistency.bucket_sums(conn, plan, bucketing, row_hash)
            seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def measure(name: str, run: Callable[[], object], expected: set[tuple[int, str]] | None,
            sampler_clusters: list[PgCluster]) -> Outcome:
    sampler = MemorySampler(sampler_clusters)
    with sampler.running():
        started = time.perf_counter()
        found = run()
        seconds = time.perf_counter() - started
    if isinstance(found, set):
        verdict = "exact 10 keys" if found == expected else f"WRONG: {sorted(found ^ (expected or set()))[:6]}"
    else:
        verdict = str(found)
    return Outcome(name, seconds, verdict, sampler.peak_kb / 1024)


# -- driver -------------------------------------------------------------------------------------------------------

def load(clusters: list[PgCluster], database: str, rows: int) -> tuple[str, str]:
    def one(cluster: PgCluster) -> str:
        with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {database}")
        dsn = cluster.dsn(database)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(DDL)
            conn.execute(LOAD, (rows,))
            conn.execute("VACUUM (ANALYZE, FREEZE) orders")  # hint bits and visibility map set before timing
            conn.execute("CHECKPOINT")
        return dsn
    with ThreadPoolExecutor(2) as pool:
        source, target = pool.map(one, clusters)
    return source, target


def run_size(clusters: list[PgCluster], rows: int) -> tuple[list[Outcome], tuple[float, float, float]]:
    database = f"bench_{rows}"
    started = time.perf_counter()
    dsns = load(clusters, database, rows)
    changes = differences(rows)
    with psycopg.connect(dsns[1], autocommit=True) as conn:
        for change in changes:
            conn.execute(change.sql)
        conn.execute("VACUUM orders")
    print(f"\n{rows:,} rows loaded on both clusters in {time.perf_counter() - started:.0f} s; "
          f"10 differences applied to the DR copy", flush=True)
    expected = {(c.key, c.kind) for c in changes}
    counts = [measure("count(*) both sides", lambda: count_star(dsns), None, clusters) for _ in range(3)]
    count = sorted(counts, key=lambda o: o.seconds)[1]  # the median of three
    outcomes = [Outcome("count(*) both sides (median of 3)", count.seconds, count.verdict, count.memory_mb)]
    for name, approach in (("drctl consistency", tool), ("drctl consistency --hash equality", tool_equality),
                           ("reladiff 0.6.0 (default bisection)", reladiff),
                           ("seed SQL (md5(string_agg))", seed_sql),
                           # floors: what no full content check can go below (they find no keys)
                           ("floor: hash the key only", floor_hash_key_only),
                           ("floor: deform every row, hash none", floor_deform_every_row),
                           ("floor: type hash of every value", floor_hash_every_value)):
        outcome = measure(name, lambda a=approach: a(dsns), expected, clusters)
        outcomes.append(outcome)
        print(f"  {name}: {outcome.seconds:.2f} s", flush=True)
    alone = (bucket_scan_alone(dsns[0], parallel=False), bucket_scan_alone(dsns[0], parallel=True))
    print(f"  bucket scan on one server alone: {alone[0]:.2f} s serial, {alone[1]:.2f} s with parallel workers",
          flush=True)
    # exact vs equality, serial, interleaved five times on one server: a ratio that the machine's load moves little
    pairs = [(bucket_scan_alone(dsns[0], False, "exact"), bucket_scan_alone(dsns[0], False, "equality"))
             for _ in range(5)]
    ratio = statistics.median(e / q for e, q in pairs)
    print(f"  serial bucket scan, exact / equality hash: {ratio:.3f} (median of 5 interleaved pairs)", flush=True)
    alone = (*alone, ratio)
    for cluster in clusters:
        with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {database}")
    return outcomes, alone


def print_table(rows: int, outcomes: list[Outcome], alone: tuple[float, float, float]) -> None:
    count, tool_run, equality_run, reladiff_run = (o.seconds for o in outcomes[:4])
    print(f"\n{rows:,} rows per side")
    print(f"{'approach':38} {'seconds':>8} {'x count(*)':>10} {'peak backend MB':>15}  result")
    for o in outcomes:
        print(f"{o.name:38} {o.seconds:8.2f} {o.seconds / count:10.1f} {o.memory_mb:15.1f}  {o.verdict}")
    print(f"drctl consistency / reladiff: {tool_run / reladiff_run:.3f} (goal ≤ 0.2: "
          f"{'met' if tool_run <= reladiff_run / 5 else 'NOT met'}); "
          f"drctl consistency / count(*): {tool_run / count:.1f}x (goal ≤ 2x: "
          f"{'met' if tool_run <= 2 * count else 'NOT met'})")
    print(f"drctl consistency exact (default) / equality (previous default): {tool_run / equality_run:.3f} whole "
          f"runs, {alone[2]:.3f} serial bucket scan on one server (goal ≤ 1.10: "
          f"{'met' if alone[2] <= 1.10 else 'NOT met'})")
    floor = next(o.seconds for o in outcomes if o.name == "floor: type hash of every value")
    print(f"drctl consistency / floor 'type hash of every value': {tool_run / floor:.1f}x (what any check of every "
          f"column's content pays; count(*) reads no value)")
    print(f"bucket scan on one server alone (the other idle): {alone[0]:.2f} s serial, {alone[1]:.2f} s with the "
          f"server's parallel workers ({alone[0] / alone[1]:.1f}x on {os.cpu_count()} cores)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1000000,5000000", help="comma-separated table sizes")
    args = parser.parse_args()
    sizes = [int(s) for s in args.rows.split(",")]
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-consistency-") as tmp, \
            pg_cluster(Path(tmp), timezone="UTC", datestyle="ISO, MDY") as primary, \
            pg_cluster(Path(tmp), timezone="Europe/Berlin", datestyle="SQL, DMY") as dr:
        print(f"clusters: primary :{primary.port} (UTC, ISO), DR :{dr.port} (Europe/Berlin, SQL/DMY); "
              f"load average at start {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        for rows in sizes:
            results.append((rows, *run_size([primary, dr], rows)))
    print(f"\nload average at end {os.getloadavg()[0]:.1f} (other jobs on the machine slow every approach alike)")
    for rows, outcomes, alone in results:
        print_table(rows, outcomes, alone)
    if len(results) > 1:
        tool_memory = [outcomes[1].memory_mb for _, outcomes, _ in results]
        print(f"\ndrctl consistency peak backend memory across sizes: "
              f"{', '.join(f'{m:.1f}' for m in tool_memory)} MB (spread {max(tool_memory) - min(tool_memory):.1f} MB; "
              f"median {statistics.median(tool_memory):.1f})")


if __name__ == "__main__":
    main()
