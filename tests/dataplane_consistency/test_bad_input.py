"""Bad input exits 2 with a message naming the DSN, table or column, and changes nothing."""
from __future__ import annotations

import time

import psycopg

from scripts.sandbox.postgres import free_port
from tests.dataplane_consistency.conftest import Pair, drctl, run

TABLE = "CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items SELECT g, 'n' FROM generate_series(1, 50) g"


def _state(dsn: str) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_class c "
                            "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 "
                            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' "
                            "ORDER BY 1, 2").fetchall() + \
            conn.execute("SELECT count(*), sum(hashtext(name)) FROM items").fetchall()


def test_unreachable_dsn_exits_2_quickly(pair: Pair) -> None:
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    started = time.monotonic()
    out = drctl(Pair(pair.source, dead))
    assert out.code == 2 and "--target: cannot connect" in out.stderr
    out = drctl(Pair(dead, pair.target))
    assert out.code == 2 and "--source: cannot connect" in out.stderr
    assert time.monotonic() - started < 10


def test_missing_table_names_it_and_the_side(pair: Pair) -> None:
    pair.both(TABLE)
    run(pair.source, "CREATE TABLE only_here (id int PRIMARY KEY)")
    before = [_state(pair.source), _state(pair.target)]
    out = drctl(pair, "--table", "only_here")
    assert out.code == 2 and "table 'only_here' does not exist on the target" in out.stderr
    out = drctl(pair, "--table", "nowhere")
    assert out.code == 2 and "table 'nowhere' does not exist on the source" in out.stderr
    assert [_state(pair.source), _state(pair.target)] == before


def test_missing_or_mismatched_columns(pair: Pair) -> None:
    pair.both(TABLE)
    out = drctl(pair, "--table", "items", "--columns", "name,price")
    assert out.code == 2 and "column 'price' does not exist on the source" in out.stderr

    run(pair.target, "ALTER TABLE items ADD COLUMN price numeric")
    out = drctl(pair, "--table", "items")
    assert out.code == 2 and "column 'price' exists only on the target" in out.stderr
    assert drctl(pair, "--table", "items", "--columns", "name").code == 0  # the common columns do compare

    run(pair.source, "ALTER TABLE items ADD COLUMN price integer")
    out = drctl(pair, "--table", "items")
    assert out.code == 2 and "column 'price' is integer on the source but numeric on the target" in out.stderr


def test_table_without_primary_key_needs_key(pair: Pair) -> None:
    pair.both("CREATE TABLE loose (a int, b text)")
    out = drctl(pair, "--table", "loose")
    assert out.code == 2 and "table 'loose' has no primary key" in out.stderr and "--key" in out.stderr
    out = drctl(pair, "--table", "loose", "--key", "nope")
    assert out.code == 2 and "column 'nope' does not exist" in out.stderr


def test_bad_option_values(pair: Pair) -> None:
    pair.both(TABLE)
    out = drctl(pair, "--hash", "sha1")
    assert out.code == 2 and "--hash 'sha1'" in out.stderr
    out = drctl(pair, "--buckets", "0")
    assert out.code == 2 and "--buckets 0" in out.stderr


def test_malformed_table_name(pair: Pair) -> None:
    out = drctl(pair, "--table", "a b")
    assert out.code == 2 and "table 'a b': invalid name syntax" in out.stderr


def test_by_default_a_table_only_on_the_target_is_named(pair: Pair) -> None:
    pair.both(TABLE)
    run(pair.target, "CREATE TABLE dr_only (id int PRIMARY KEY)")
    out = drctl(pair)
    assert out.code == 2 and "table 'public.dr_only' does not exist on the source" in out.stderr


def test_negative_max_keys_exits_2_naming_it(pair: Pair) -> None:
    pair.both(TABLE)
    before = [_state(pair.source), _state(pair.target)]
    out = drctl(pair, "--table", "items", "--max-keys", "-1")
    assert out.code == 2 and "Invalid value for '--max-keys'" in out.stderr, out
    assert [_state(pair.source), _state(pair.target)] == before
