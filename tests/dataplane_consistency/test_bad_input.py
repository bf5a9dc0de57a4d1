"""Bad input exits 2 with a message naming the DSN, table or column, and changes nothing."""
from __future__ import annotations

import time

import psycopg

from ops.drctl.sandbox.postgres import free_port
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


def test_a_table_on_neither_side_names_it(pair: Pair) -> None:
    pair.both(TABLE)
    before = [_state(pair.source), _state(pair.target)]
    out = drctl(pair, "--table", "nowhere", "--table", "items")
    assert out.code == 2 and "table 'nowhere' exists on neither side" in out.stderr
    assert [_state(pair.source), _state(pair.target)] == before


def test_a_table_on_one_side_only_is_a_difference_and_the_others_are_compared(pair: Pair) -> None:
    pair.both(TABLE)
    run(pair.source, "CREATE TABLE only_here (id int PRIMARY KEY); INSERT INTO only_here VALUES (1), (2)")
    out = drctl(pair, "--table", "only_here", "--table", "items")
    assert out.code == 1, out.stdout + out.stderr
    only_here = out.table("only_here")
    assert (only_here["status"], only_here["only_on"], only_here["source_rows"], only_here["target_rows"]) == \
        ("differ", "source", 2, None)
    assert out.table("items")["status"] == "same"
    human = drctl(pair, "--table", "only_here", "--table", "items", as_json=False)
    assert human.code == 1 and "only on the source" in human.stdout


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


def test_by_default_a_table_only_on_the_target_is_reported(pair: Pair) -> None:
    pair.both(TABLE)
    run(pair.target, "CREATE TABLE dr_only (id int PRIMARY KEY)")
    out = drctl(pair)
    assert out.code == 1, out.stdout + out.stderr
    assert (out.table("public.dr_only")["only_on"], out.table("public.dr_only")["target_rows"]) == ("target", 0)
    assert out.table("public.items")["status"] == "same"


def test_empty_names_are_refused(pair: Pair) -> None:
    pair.both(TABLE)
    for option in ("--table", "--key", "--columns"):
        for value in ("", " ", "items,"):
            out = drctl(pair, option, value)
            assert out.code == 2, (option, value, out.stdout)
            assert f"{option}: empty name" in out.stderr, (option, value, out.stderr)


def test_negative_max_keys_exits_2_naming_it(pair: Pair) -> None:
    pair.both(TABLE)
    before = [_state(pair.source), _state(pair.target)]
    out = drctl(pair, "--table", "items", "--max-keys", "-1")
    assert out.code == 2 and "Invalid value for '--max-keys'" in out.stderr, out
    assert [_state(pair.source), _state(pair.target)] == before
