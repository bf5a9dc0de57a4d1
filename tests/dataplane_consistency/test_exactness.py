"""A DR copy must be identical, not merely equal: keys that are not unique, keys PostgreSQL or Python cannot
order or hash plainly, and values equal under their type's `=` but stored differently are each found and named."""
from __future__ import annotations

import pytest

from tests.dataplane_consistency.conftest import Pair, drctl, run


def test_a_duplicated_key_with_one_twin_changed_differs(pair: Pair) -> None:
    pair.both("CREATE TABLE events (ev_id int NOT NULL, body text); "
              "INSERT INTO events SELECT g, 'b' || g FROM generate_series(1, 200) g; "
              "INSERT INTO events VALUES (7, 'twin'), (9, 'same twin'), (9, 'same twin')")
    run(pair.target, "UPDATE events SET body = 'twin changed' WHERE ev_id = 7 AND body = 'twin'")
    out = drctl(pair, "--table", "events", "--key", "ev_id")
    assert out.code == 1, out.stdout + out.stderr
    assert out.keys("events") == {((7,), "changed")}
    assert out.table("events")["key_unique"] is False


def test_a_row_duplicated_on_one_side_only_differs(pair: Pair) -> None:
    pair.both("CREATE TABLE events (ev_id int NOT NULL, body text); "
              "INSERT INTO events SELECT g, 'b' || g FROM generate_series(1, 200) g")
    run(pair.target, "INSERT INTO events VALUES (5, 'b5'), (6, 'b6'), (6, 'b6')")  # one twin, then a triplet
    out = drctl(pair, "--table", "events", "--key", "ev_id", "--buckets", "1")
    assert out.code == 1, out.stdout + out.stderr
    assert out.keys("events") == {((5,), "changed"), ((6,), "changed")}
    assert (out.table("events")["source_rows"], out.table("events")["target_rows"]) == (200, 203)


def test_a_unique_index_on_both_sides_makes_the_key_unique(pair: Pair) -> None:
    pair.both("CREATE TABLE events (ev_id int NOT NULL, body text); CREATE UNIQUE INDEX ON events (ev_id); "
              "INSERT INTO events SELECT g, 'b' || g FROM generate_series(1, 200) g")
    out = drctl(pair, "--table", "events", "--key", "ev_id")
    assert out.code == 0 and out.table("events")["key_unique"] is True
    run(pair.target, "DROP INDEX events_ev_id_idx; INSERT INTO events VALUES (3, 'b3')")
    out = drctl(pair, "--table", "events", "--key", "ev_id")
    assert out.code == 1 and out.table("events")["key_unique"] is False
    assert out.keys("events") == {((3,), "changed")}


@pytest.mark.parametrize(("key_type", "keys", "changed"), [
    ("int", ["NULL", "1", "2"], None),
    ("text", ["NULL", "'a'", "'b'"], None),
    ("int[]", ["'{1,2}'", "'{2,1}'", "'{1,NULL}'"], "{1,NULL}"),
    ("jsonb", ["""'{"a": [1, 2]}'""", """'{"a": 1}'""", "'null'"], '{"a": [1, 2]}'),
    ("numeric", ["'NaN'", "1.5", "'-Infinity'"], "NaN"),
    ("float8", ["'NaN'", "1.5", "'-Infinity'"], "NaN"),
])
def test_keys_with_null_arrays_jsonb_and_nan_compare_correctly(pair: Pair, key_type: str, keys: list[str],
                                                                changed: str | None) -> None:
    rows = ", ".join(f"({k}::{key_type}, 'v')" for k in keys)
    pair.both(f"CREATE TABLE k (k {key_type}, v text); INSERT INTO k VALUES {rows}")
    first = "k IS NULL" if changed is None else f"k = '{changed}'::{key_type}"
    run(pair.target, f"UPDATE k SET v = 'changed' WHERE {first}")
    out = drctl(pair, "--table", "k", "--key", "k")
    assert out.code == 1, out.stdout + out.stderr
    assert out.keys("k") == {((changed,), "changed")}
    assert "Traceback" not in out.stderr

    run(pair.target, f"UPDATE k SET v = 'v' WHERE {first}")
    out = drctl(pair, "--table", "k", "--key", "k")
    assert out.code == 0, out.stdout + out.stderr


# Values equal under their type's `=` (and hash) but stored differently.
EQUAL_BUT_NOT_IDENTICAL = [
    ("citext", "'A'", "'a'"),
    ("numeric", "1.0", "1.00"),
    ("numeric(10, 2)", "'NaN'", "'NaN'"),           # control: identical on both sides
    ("float8", "'-0'", "'0'"),
    ("float4", "'-0'", "'0'"),
    ("interval", "'1 day'", "'24 hours'"),
    ("interval", "'1 mon'", "'30 days'"),
    ("jsonb", """'{"n": 1.0}'""", """'{"n": 1.00}'"""),
    ("text COLLATE case_insensitive", "'A'", "'a'"),
    ("bpchar", "'a'", "'a  '"),
    ("numeric[]", "'{1.0}'", "'{1.00}'"),
]


def _load_pair_of_values(pair: Pair, column_type: str, source_value: str, target_value: str) -> None:
    pair.both("CREATE EXTENSION IF NOT EXISTS citext; "
              "CREATE COLLATION case_insensitive (provider = icu, locale = 'und-u-ks-level2', deterministic = false)")
    pair.both(f"CREATE TABLE v (id int PRIMARY KEY, x {column_type}); "
              f"INSERT INTO v SELECT g, {source_value} FROM generate_series(1, 100) g")
    run(pair.target, f"UPDATE v SET x = {target_value} WHERE id = 42")


@pytest.mark.parametrize(("column_type", "source_value", "target_value"), EQUAL_BUT_NOT_IDENTICAL)
@pytest.mark.parametrize("hash_mode", ["auto", "exact", "text"])
def test_the_default_and_text_hash_find_values_stored_differently(
        pair: Pair, hash_mode: str, column_type: str, source_value: str, target_value: str) -> None:
    _load_pair_of_values(pair, column_type, source_value, target_value)
    out = drctl(pair, "--table", "v", "--hash", hash_mode)
    if source_value == target_value:
        assert out.code == 0, out.stdout + out.stderr
        return
    assert out.code == 1, out.stdout + out.stderr
    assert out.keys("v") == {((42,), "changed")}
    assert out.report["hash_mode"] == ("exact" if hash_mode == "auto" else hash_mode)


@pytest.mark.parametrize(("column_type", "source_value", "target_value"),
                         [v for v in EQUAL_BUT_NOT_IDENTICAL if v[1] != v[2] and v[0] != "numeric[]"])
def test_the_equality_hash_calls_them_the_same_as_documented(
        pair: Pair, column_type: str, source_value: str, target_value: str) -> None:
    """`--hash equality` compares as the type's `=` does: what the README says it does not see."""
    _load_pair_of_values(pair, column_type, source_value, target_value)
    out = drctl(pair, "--table", "v", "--hash", "equality")
    assert out.code == 0, out.stdout + out.stderr


def test_keys_equal_but_stored_differently_are_different_keys(pair: Pair) -> None:
    pair.both("CREATE EXTENSION citext; CREATE TABLE c (k citext PRIMARY KEY, v int); "
              "INSERT INTO c VALUES ('Alpha', 1), ('beta', 2)")
    run(pair.target, "UPDATE c SET k = 'alpha' WHERE k = 'Alpha'")
    out = drctl(pair, "--table", "c")
    assert out.code == 1, out.stdout + out.stderr
    assert out.keys("c") == {(("Alpha",), "only_in_source"), (("alpha",), "only_in_target")}


@pytest.mark.parametrize(("source_value", "target_value"), [("'[[1], 2]'", "'[[1, 2]]'"), ("'{}'", "'[]'")])
def test_the_equality_hash_misses_jsonb_that_differs_only_in_where_a_container_ends(
        pair: Pair, source_value: str, target_value: str) -> None:
    """Not equal under `=`, but jsonb's hash ignores container ends and empty containers: a documented gap of
    `--hash equality` that `exact` does not have."""
    _load_pair_of_values(pair, "jsonb", source_value, target_value)
    assert drctl(pair, "--table", "v", "--hash", "equality").code == 0
    out = drctl(pair, "--table", "v")
    assert out.code == 1 and out.keys("v") == {((42,), "changed")}
