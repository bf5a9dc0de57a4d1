"""`drctl consistency` on two real servers with different TimeZone/DateStyle: identical data is the same,
every kind of difference is found down to the exact key and class."""
from __future__ import annotations

import pytest

from tests.dataplane_consistency.conftest import Pair, drctl, run, run_scalar

# Many column types, NULLs, empty strings and unicode; literals carry explicit offsets / ISO dates so both
# servers store the same values whatever their defaults.
ORDERS = """
CREATE TABLE orders (
    id bigint PRIMARY KEY, amount numeric(12, 2), note text, created_at timestamptz, attrs jsonb, blob bytea,
    tags text[], ratio float8, day date, spot point, span interval);
INSERT INTO orders
SELECT g, (g * 7 % 100000) / 100.0,
       CASE WHEN g % 10 = 0 THEN NULL WHEN g % 10 = 5 THEN '' ELSE 'zażółć ✓ 注文 ' || g END,
       timestamptz '2024-03-10 12:00:00+00' + g * interval '37 minutes',
       CASE WHEN g % 7 = 0 THEN NULL ELSE jsonb_build_object('n', g, 'tags', jsonb_build_array('a', 'ü')) END,
       decode(md5(g::text), 'hex'), ARRAY['x' || g, NULL, 'y'], g / 3.0::float8, date '2024-01-01' + g,
       point(g, -g), g * interval '1 hour 3 seconds'
FROM generate_series(1, 5000) AS g;
"""

ORDER_CHANGES = {
    "DELETE FROM orders WHERE id IN (17, 2500)": {17: "only_in_source", 2500: "only_in_source"},
    "INSERT INTO orders (id, note) VALUES (6001, 'late'), (-5, NULL)": {6001: "only_in_target",
                                                                        -5: "only_in_target"},
    "UPDATE orders SET amount = amount + 0.01 WHERE id = 333": {333: "changed"},  # a non-key column only
    "UPDATE orders SET created_at = created_at + interval '1 microsecond' WHERE id = 1234": {1234: "changed"},
    "UPDATE orders SET note = '' WHERE id = 10": {10: "changed"},                 # NULL -> empty string
    "UPDATE orders SET note = NULL WHERE id = 15": {15: "changed"},               # empty string -> NULL
    "UPDATE orders SET attrs = attrs || '{\"n\": 0}' WHERE id = 4001": {4001: "changed"},
    "UPDATE orders SET blob = blob || '\\x00'::bytea WHERE id = 4444": {4444: "changed"},
    "UPDATE orders SET tags[2] = '' WHERE id = 3999": {3999: "changed"},         # NULL array element -> ''
    "UPDATE orders SET tags = '[0:2]={x3998,NULL,y}' WHERE id = 3998": {3998: "changed"},  # same elements, bounds
    "UPDATE orders SET spot = point(0, 0) WHERE id = 4999": {4999: "changed"},    # type without hash function
}


@pytest.mark.parametrize("hash_mode", ["exact", "equality", "text"])
def test_identical_tables_are_the_same_despite_different_server_defaults(pair: Pair, hash_mode: str) -> None:
    pair.both(ORDERS)
    out = drctl(pair, "--hash", hash_mode)
    assert out.code == 0, out.stdout + out.stderr
    table = out.table("public.orders")
    assert (table["status"], table["source_rows"], table["target_rows"]) == ("same", 5000, 5000)
    assert table["differing_buckets"] == 0 and table["keys"] == []
    assert out.report["hash_mode"] == hash_mode

    human = drctl(pair, as_json=False)
    assert human.code == 0 and "public.orders" in human.stdout and "same" in human.stdout


@pytest.mark.parametrize("hash_mode", ["exact", "equality", "text"])
def test_scattered_differences_are_found_exactly(pair: Pair, hash_mode: str) -> None:
    pair.both(ORDERS)
    for sql in ORDER_CHANGES:
        run(pair.target, sql)
    expected = {((key,), kind) for changes in ORDER_CHANGES.values() for key, kind in changes.items()}

    out = drctl(pair, "--hash", hash_mode)
    assert out.code == 1, out.stdout + out.stderr
    assert out.keys("public.orders") == expected
    table = out.table("public.orders")
    assert (table["source_rows"], table["target_rows"]) == (5000, 5000)
    assert table["differences"] == {"only_in_source": 2, "only_in_target": 2, "changed": 9}

    human = drctl(pair, as_json=False)
    assert human.code == 1 and "DIFFER" in human.stdout and "4444" in human.stdout


def test_values_swapped_between_two_rows_of_one_bucket_are_found(pair: Pair) -> None:
    pair.both("CREATE TABLE t (id int PRIMARY KEY, v text); "
              "INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 100) g")
    run(pair.target, "UPDATE t SET v = CASE id WHEN 3 THEN 'v4' ELSE 'v3' END WHERE id IN (3, 4)")
    out = drctl(pair, "--buckets", "1", "--table", "t")
    assert out.code == 1
    assert out.keys("t") == {((3,), "changed"), ((4,), "changed")}


def test_composite_primary_key(pair: Pair) -> None:
    pair.both("CREATE TABLE ledger (region text, n int, payload text, PRIMARY KEY (region, n)); "
              "INSERT INTO ledger SELECT (ARRAY['eu', 'us', 'ap'])[1 + g % 3], g, md5(g::text) "
              "FROM generate_series(1, 3000) g")
    run(pair.target, "DELETE FROM ledger WHERE n = 5; INSERT INTO ledger VALUES ('us', 10001, 'new'); "
                     "UPDATE ledger SET payload = upper(payload) WHERE n = 42")
    out = drctl(pair, "--table", "ledger")
    assert out.code == 1
    assert out.table("ledger")["key"] == ["region", "n"]
    assert out.keys("ledger") == {(("ap", 5), "only_in_source"), (("us", 10001), "only_in_target"),
                                  (("eu", 42), "changed")}


def test_sparse_and_extreme_integer_keys(pair: Pair) -> None:
    """Range buckets over the whole int64 range: negative, zero and the extremes narrow to the right keys."""
    pair.both("CREATE TABLE s (id bigint PRIMARY KEY, v int); "
              "INSERT INTO s SELECT g * 9000000000000000, g FROM generate_series(-1000, 1000) g; "
              "INSERT INTO s VALUES (-9223372036854775808, 1), (9223372036854775807, 2), (-1, 3)")
    run(pair.target, "UPDATE s SET v = 42 WHERE id IN (-9223372036854775808, 0); "
                     "DELETE FROM s WHERE id = 9223372036854775807; INSERT INTO s VALUES (1, 9); "
                     "UPDATE s SET v = -v WHERE id = -9000000000000000")
    out = drctl(pair, "--table", "s")
    assert out.code == 1
    assert out.keys("s") == {((-9223372036854775808,), "changed"), ((0,), "changed"),
                             ((9223372036854775807,), "only_in_source"), ((1,), "only_in_target"),
                             ((-9000000000000000,), "changed")}


def test_table_without_primary_key_compares_on_the_given_key(pair: Pair) -> None:
    pair.both("CREATE TABLE events (ev_id int NOT NULL, body text); "
              "INSERT INTO events SELECT g, 'b' || g FROM generate_series(1, 500) g")
    run(pair.target, "UPDATE events SET body = 'x' WHERE ev_id = 250")
    out = drctl(pair, "--table", "events", "--key", "ev_id")
    assert out.code == 1 and out.keys("events") == {((250,), "changed")}


def test_columns_option_limits_what_is_compared(pair: Pair) -> None:
    pair.both(ORDERS)
    run(pair.target, "UPDATE orders SET amount = 0 WHERE id = 99")
    assert drctl(pair, "--columns", "note,created_at").code == 0
    out = drctl(pair, "--columns", "note", "--columns", "amount")
    assert out.code == 1 and out.keys("public.orders") == {((99,), "changed")}
    assert out.table("public.orders")["columns"] == ["id", "note", "amount"]


def test_every_table_by_default_and_key_listing_is_capped(pair: Pair) -> None:
    pair.both(ORDERS + "CREATE TABLE ledger (id int PRIMARY KEY, v text); "
                       "INSERT INTO ledger SELECT g, 'v' FROM generate_series(1, 100) g")
    run(pair.target, "TRUNCATE orders")
    out = drctl(pair, "--max-keys", "10")
    assert out.code == 1
    assert out.table("public.ledger")["status"] == "same"
    orders = out.table("public.orders")
    assert (orders["source_rows"], orders["target_rows"]) == (5000, 0)
    assert orders["differences"] == {"only_in_source": 5000, "only_in_target": 0, "changed": 0}
    assert len(orders["keys"]) == 10 and orders["keys_truncated"]


def test_narrowing_pages_through_large_differing_buckets(pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keyset paging with pages much smaller than the differing buckets, and pages of unequal fill per side."""
    from ops.drctl.dataplane import consistency

    monkeypatch.setattr(consistency, "NARROW_CHUNK", 7)
    pair.both("CREATE TABLE p (id int PRIMARY KEY, v int); INSERT INTO p SELECT g, g FROM generate_series(1, 400) g")
    run(pair.target, "DELETE FROM p WHERE id BETWEEN 100 AND 130; INSERT INTO p SELECT g, 0 FROM "
                     "generate_series(401, 420) g; UPDATE p SET v = -v WHERE id IN (1, 7, 8, 250)")
    report = consistency.compare(pair.source, pair.target, ["p"], buckets=2)
    (table,) = report.tables
    expected = {((k,), "only_in_source") for k in range(100, 131)} | \
               {((k,), "only_in_target") for k in range(401, 421)} | \
               {((k,), "changed") for k in (1, 7, 8, 250)}
    assert {(d.key, d.kind) for d in table.keys} == expected


def test_enum_values_compare_by_label_not_by_server_specific_oid(pair: Pair) -> None:
    run(pair.target, "CREATE TYPE filler AS ENUM ('a', 'b', 'c')")  # the DR's enum values get other OIDs
    pair.both("CREATE TYPE state AS ENUM ('new', 'paid'); CREATE DOMAIN cents AS bigint CHECK (VALUE >= 0); "
              "CREATE TABLE invoices (id int PRIMARY KEY, state state, total cents, states state[]); "
              "INSERT INTO invoices SELECT g, (ARRAY['new', 'paid'])[1 + g % 2]::state, g, "
              "ARRAY['new', 'paid']::state[] FROM generate_series(1, 300) g")
    oids = [run_scalar(dsn, "SELECT min(oid)::int FROM pg_enum WHERE enumlabel = 'paid'") for dsn in
            (pair.source, pair.target)]
    assert oids[0] != oids[1]
    assert drctl(pair, "--table", "invoices").code == 0

    run(pair.target, "UPDATE invoices SET state = 'new' WHERE id = 7; UPDATE invoices SET total = 0 WHERE id = 8")
    out = drctl(pair, "--table", "invoices")
    assert out.code == 1 and out.keys("invoices") == {((7,), "changed"), ((8,), "changed")}
