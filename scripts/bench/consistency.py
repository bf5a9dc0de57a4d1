"""Benchmark: `drctl consistency` vs reladiff vs the seed's SQL vs a plain count(*), on two local PG15 clusters.

    scripts/dev bench consistency      (or: python -m scripts.bench.consistency [--rows 1000000,5000000])

For each size, the same `orders` table (8 columns: bigint key, int, numeric, text, 2 timestamptz, jsonb, text) is
loaded on both clusters, then 10 scattered differences are applied to the DR copy: 3 rows only in the source,
3 only in the target, 4 changed (one of them in `amount` only, a non-key column the seed SQL does not hash).
Each approach runs against both servers and must report exactly those 10 keys (the seed SQL can only say
"mismatch"). The tool runs twice: its default row hash (exact: every stored value) and `--hash equality` (the
previous default: values as their type's `=` compares them). Then the serial bucket scans of three row hashes
are timed on one server, interleaved, `--ratio-repeats` rounds: equality (the old figure), exact as the tool
builds it now (per column from the catalog types) and exact in its first form (a ROW of every value, numeric
and jsonb rendered; kept here, frozen, to show the change). Each is timed by wall clock and by the server
backend's own CPU time (/proc/PID/schedstat), which other jobs on the machine move much less; the ratios are
medians over the rounds (goal: exact costs ≤ 10 % more than equality).
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
from dataclasses import dataclass, field
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


def first_exact_row_hash_sql(plan: consistency.TablePlan) -> str:
    """The exact row hash as first released (frozen here for comparison): a ROW of every value, the bytewise types
    as they are, floats/interval/bpchar by their send form, everything else (numeric, jsonb) rendered as text."""
    bytewise = {"int2", "int4", "int8", "oid", "bool", "char", "date", "time", "timetz", "timestamp",
                "timestamptz", "uuid", "bytea", "inet", "cidr", "macaddr", "macaddr8", "money", "pg_lsn"}
    values = []
    for column in plan.columns:
        value = f"t.{consistency._ident(column.name)}"
        if column.plain_base and column.name not in plan.text_columns and column.base_name in bytewise:
            values.append(value)
        elif column.plain_base and column.name not in plan.text_columns \
                and column.base_name in consistency.SEND_FUNCTIONS:
            values.append(f"{consistency.SEND_FUNCTIONS[column.base_name]}({value})")
        else:
            values.append(f'({value}::text) COLLATE "C"')
    return f"hashint8extended(hash_record_extended(ROW({', '.join(values)}), 0), 0)"


def _backend_cpu_seconds(pid: int) -> float | None:
    """CPU time the server backend has run (the first field of schedstat, ns); None where /proc can't say."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class HashTimings:
    wall: dict[str, list[float]]
    cpu: dict[str, list[float]]
    whole_runs: list[float] = field(default_factory=list)  # exact / equality of each round's whole tool runs

    def ratio(self, kind: str, name: str, base: str = "equality") -> tuple[float, float, float] | None:
        """(median, min, max) over the rounds of name's time / base's time in the same round."""
        series = self.wall if kind == "wall" else self.cpu
        if not series.get(name) or not series.get(base):
            return None
        ratios = [a / b for a, b in zip(series[name], series[base], strict=True)]
        return statistics.median(ratios), min(ratios), max(ratios)


def row_hash_timings(dsn: str, repeats: int) -> HashTimings:
    """Serial bucket scans of one server with each row hash, interleaved (the order rotating each round), on one
    connection: the same table, bucketing and settings as the tool's, only the row hash differs."""
    with consistency.Pair(dsn, dsn) as pair:
        conn = pair.conns["source"]
        table = consistency._catalog_table(conn, "source", "orders")
        plan = consistency.plan_table(table, table, "orders", None, None, frozenset())
        bucketing = consistency.choose_bucketing(pair, plan, consistency.DEFAULT_BUCKETS)
        hashes = {"equality": consistency.row_hash_sql(plan, "equality"),
                  "exact": consistency.row_hash_sql(plan, "exact"),
                  "exact, first form": first_exact_row_hash_sql(plan)}
        conn.execute("SELECT set_config('max_parallel_workers_per_gather', '0', false)")
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
        sums = {name: consistency.bucket_sums(conn, plan, bucketing, sql) for name, sql in hashes.items()}  # warm
        assert len({len(s) for s in sums.values()}) == 1
        wall: dict[str, list[float]] = {name: [] for name in hashes}
        cpu: dict[str, list[float]] = {name: [] for name in hashes}
        names = list(hashes)
        for round_ in range(repeats):
            for name in names[round_ % len(names):] + names[:round_ % len(names)]:
                cpu_start, started = _backend_cpu_seconds(pid), time.perf_counter()
                consistency.bucket_sums(conn, plan, bucketing, hashes[name])
                wall[name].append(time.perf_counter() - started)
                cpu_end = _backend_cpu_seconds(pid)
                if cpu_start is not None and cpu_end is not None:
                    cpu[name].append(cpu_end - cpu_start)
    return HashTimings(wall, cpu)


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


def run_size(clusters: list[PgCluster], rows: int,
             ratio_repeats: int) -> tuple[list[Outcome], tuple[float, float], HashTimings]:
    database = f"bench_{rows}"
    started = time.perf_counter()
    dsns = load(clusters, database, rows)
    changes = differences(rows)
    with psycopg.connect(dsns[1], autocommit=True) as conn:
        for change in changes:
            conn.execute(change.sql)
        conn.execute("VACUUM orders")
    # The servers run without fsync: write the load's dirty pages back now, not in the kernel's own time while
    # the first approaches are timed (it slowed whichever ran in the first seconds by up to 25 % at 1M rows).
    os.sync()
    print(f"\n{rows:,} rows loaded on both clusters in {time.perf_counter() - started:.0f} s; "
          f"10 differences applied to the DR copy", flush=True)
    expected = {(c.key, c.kind) for c in changes}
    counts = [measure("count(*) both sides", lambda: count_star(dsns), None, clusters) for _ in range(3)]
    count = sorted(counts, key=lambda o: o.seconds)[1]  # the median of three
    outcomes = [Outcome("count(*) both sides (median of 3)", count.seconds, count.verdict, count.memory_mb)]
    # The tool's two row hashes: whole runs, as many rounds as the serial scans get (at least 3), which one goes
    # first alternating; the figure is the median of the rounds' ratios (a single run moves by ±10 % on this
    # machine, more than what is being compared).
    tools = (("drctl consistency", tool), ("drctl consistency --hash equality", tool_equality))
    runs: dict[str, list[Outcome]] = {name: [] for name, _ in tools}
    for _, approach in tools:  # one run each, not counted: the first query of a table pays for its catalog lookups
        approach(dsns)
    for round_ in range(max(3, ratio_repeats)):
        for name, approach in tools if round_ % 2 == 0 else tools[::-1]:
            runs[name].append(measure(name, lambda a=approach: a(dsns), expected, clusters))
    for name, outcomes_of_name in runs.items():
        middle = sorted(outcomes_of_name, key=lambda o: o.seconds)[len(outcomes_of_name) // 2]
        verdicts = {o.verdict for o in outcomes_of_name}
        outcomes.append(Outcome(f"{name} (median of {len(outcomes_of_name)})", middle.seconds,
                                " / ".join(sorted(verdicts)), max(o.memory_mb for o in outcomes_of_name)))
        print(f"  {name}: {', '.join(f'{o.seconds:.2f}' for o in outcomes_of_name)} s", flush=True)
    whole_runs = [a.seconds / b.seconds for a, b in zip(*runs.values(), strict=True)]
    for name, approach in (("reladiff 0.6.0 (default bisection)", reladiff),
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
    timings = row_hash_timings(dsns[0], ratio_repeats)
    timings.whole_runs = whole_runs
    for kind in ("cpu", "wall"):
        for name in ("exact", "exact, first form"):
            ratio = timings.ratio(kind, name)
            if ratio is not None:
                print(f"  serial bucket scan, {name} / equality, {kind}: {ratio[0]:.3f} "
                      f"(median of {ratio_repeats} interleaved rounds)", flush=True)
    for cluster in clusters:
        with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {database}")
    return outcomes, alone, timings


def print_table(rows: int, outcomes: list[Outcome], alone: tuple[float, float], timings: HashTimings) -> None:
    count, tool_run, _, reladiff_run = (o.seconds for o in outcomes[:4])  # equality: in whole_runs
    print(f"\n{rows:,} rows per side")
    print(f"{'approach':48} {'seconds':>8} {'x count(*)':>10} {'peak backend MB':>15}  result")
    for o in outcomes:
        print(f"{o.name:48} {o.seconds:8.2f} {o.seconds / count:10.1f} {o.memory_mb:15.1f}  {o.verdict}")
    print(f"drctl consistency / reladiff: {tool_run / reladiff_run:.3f} (goal ≤ 0.2: "
          f"{'met' if tool_run <= reladiff_run / 5 else 'NOT met'}); "
          f"drctl consistency / count(*): {tool_run / count:.1f}x (goal ≤ 2x: "
          f"{'met' if tool_run <= 2 * count else 'NOT met'})")
    whole = timings.whole_runs
    print(f"drctl consistency exact (default) / equality (previous default), whole runs: median "
          f"{statistics.median(whole):.3f} of {len(whole)} alternated rounds (min {min(whole):.3f}, "
          f"max {max(whole):.3f})")
    rounds = len(timings.wall["equality"])
    for name in ("exact", "exact, first form"):
        for kind in ("cpu", "wall"):
            ratio = timings.ratio(kind, name)
            if ratio is None:
                continue
            median, low, high = ratio
            verdict = f"   goal ≤ 1.10: {'met' if median <= 1.10 else 'NOT met'}" if name == "exact" else ""
            clock = "backend CPU" if kind == "cpu" else "wall clock"
            print(f"serial bucket scan on one server, {name} / equality, {clock:11}: median {median:.3f} of "
                  f"{rounds} interleaved rounds (min {low:.3f}, max {high:.3f}){verdict}")
    medians = ", ".join(f"{name} {statistics.median(timings.wall[name]):.3f} s"
                        for name in ("equality", "exact", "exact, first form"))
    print(f"  (median wall time of each serial scan: {medians})")
    floor = next(o.seconds for o in outcomes if o.name == "floor: type hash of every value")
    print(f"drctl consistency / floor 'type hash of every value': {tool_run / floor:.1f}x (what any check of every "
          f"column's content pays; count(*) reads no value)")
    print(f"bucket scan on one server alone (the other idle): {alone[0]:.2f} s serial, {alone[1]:.2f} s with the "
          f"server's parallel workers ({alone[0] / alone[1]:.1f}x on {os.cpu_count()} cores)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1000000,5000000", help="comma-separated table sizes")
    parser.add_argument("--ratio-repeats", type=int, default=11,
                        help="interleaved rounds of the three row hashes' serial scans (the ratios' medians)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.rows.split(",")]
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-consistency-") as tmp, \
            pg_cluster(Path(tmp), timezone="UTC", datestyle="ISO, MDY") as primary, \
            pg_cluster(Path(tmp), timezone="Europe/Berlin", datestyle="SQL, DMY") as dr:
        print(f"clusters: primary :{primary.port} (UTC, ISO), DR :{dr.port} (Europe/Berlin, SQL/DMY); "
              f"load average at start {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        for rows in sizes:
            results.append((rows, *run_size([primary, dr], rows, args.ratio_repeats)))
    print(f"\nload average at end {os.getloadavg()[0]:.1f} (other jobs on the machine slow every approach alike)")
    for rows, outcomes, alone, timings in results:
        print_table(rows, outcomes, alone, timings)
    if len(results) > 1:
        tool_memory = [outcomes[1].memory_mb for _, outcomes, _, _ in results]  # the largest of its 3 runs
        print(f"\ndrctl consistency peak backend memory across sizes: "
              f"{', '.join(f'{m:.1f}' for m in tool_memory)} MB (spread {max(tool_memory) - min(tool_memory):.1f} MB; "
              f"median {statistics.median(tool_memory):.1f})")


if __name__ == "__main__":
    main()
