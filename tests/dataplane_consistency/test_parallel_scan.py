"""The bucket scan uses the server's parallel workers on a table big enough for them (the planner, left alone,
would keep it serial: it expects as many groups as keys)."""
from __future__ import annotations

import psycopg

from ops.drctl.dataplane import consistency
from tests.dataplane_consistency.conftest import Pair

ROWS = 300_000  # ~20 MB: above min_parallel_table_scan_size, so the server itself offers workers


def _plan_of_bucket_scan(pair: Pair, with_tool_settings: bool) -> str:
    with consistency.Pair(pair.source, pair.source) as conns:
        source = consistency._catalog_table(conns.conns["source"], "source", "orders")
        plan = consistency.plan_table(source, source, "orders", None, None, frozenset())
        bucketing = consistency.choose_bucketing(conns, plan, consistency.DEFAULT_BUCKETS)
        sql = consistency.bucket_sums_sql(plan, bucketing, consistency.row_hash_sql(plan, "exact"))
        conn: psycopg.Connection = conns.conns["source"]
        if with_tool_settings:
            with consistency.bucket_scan_settings(conn):
                rows = conn.execute(f"EXPLAIN {sql}").fetchall()
        else:
            conn.execute("SET LOCAL enable_sort = off")
            rows = conn.execute(f"EXPLAIN {sql}").fetchall()
    return "\n".join(r[0] for r in rows)


def test_bucket_scan_is_parallel_where_the_server_allows_workers(pair: Pair) -> None:
    pair.both(f"CREATE TABLE orders (id bigint PRIMARY KEY, note text, attrs jsonb); "
              f"INSERT INTO orders SELECT g, md5(g::text), jsonb_build_object('g', g) "
              f"FROM generate_series(1, {ROWS}) g; ANALYZE orders")

    serial = _plan_of_bucket_scan(pair, with_tool_settings=False)
    assert "Gather" not in serial, serial  # why the tool sets anything at all

    parallel = _plan_of_bucket_scan(pair, with_tool_settings=True)
    assert "Partial HashAggregate" in parallel and "Parallel Seq Scan" in parallel, parallel
    assert "Sort" not in parallel, parallel

    # and the result of a parallel scan is the same comparison: identical tables, then one changed row
    assert consistency.compare(pair.source, pair.target, ["orders"]).same
    with psycopg.connect(pair.target, autocommit=True) as conn:
        conn.execute("UPDATE orders SET attrs = '{}' WHERE id = 123456")
    (table,) = consistency.compare(pair.source, pair.target, ["orders"]).tables
    assert [(d.key, d.kind) for d in table.keys] == [((123456,), "changed")]
