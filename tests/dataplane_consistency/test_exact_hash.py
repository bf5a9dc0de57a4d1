"""The exact row hash is built per column from the catalog types (no ROW, no rendering where a type's own hash
already sees every stored byte): each type's hash form, NULLs, NOT NULL on one side only, values that the
types' own hash functions confuse, and parts swapped within a row or between twins are all told apart."""
from __future__ import annotations

import pytest

from ops.drctl.dataplane import consistency
from tests.dataplane_consistency.conftest import Pair, drctl, run, run_scalar

# (column type, value in every row, value in the changed row): one column per hash form the builder picks.
TYPES = [
    ("int2", "1", "2"), ("int4", "1", "2"), ("int8", "1", "2"), ("oid", "1", "2"), ('"char"', "'a'", "'b'"),
    ("time", "'10:00'", "'10:00:00.000001'"), ("timetz", "'12:00+01'", "'11:00+00'"),
    ("timestamp", "'2024-01-01'", "'2024-01-01 00:00:00.000001'"),
    ("uuid", "'00000000-0000-0000-0000-000000000001'", "'00000000-0000-0000-0000-000000000002'"),
    ("inet", "'10.0.0.1'", "'10.0.0.1/24'"), ("cidr", "'10.0.0.0/24'", "'10.0.0.0/25'"),
    ("macaddr", "'08:00:2b:01:02:03'", "'08:00:2b:01:02:04'"),
    ("macaddr8", "'08:00:2b:01:02:03:04:05'", "'08:00:2b:01:02:03:04:06'"),
    ("pg_lsn", "'0/16B3748'", "'0/16B3749'"), ("text", "'a'", "'A'"), ("varchar(5)", "'a'", "'a '"),
    ("timestamptz", "'2024-01-01 00:00+00'", "'2024-01-01 00:00:00.000001+00'"), ("date", "'2024-01-01'",
                                                                                   "'infinity'"),
    ("bool", "true", "false"), ("bytea", "'\\x00'", "'\\x0000'"), ("float4", "'0'", "'-0'"),
    ("float8", "'0'", "'-0'"), ("interval", "'1 day'", "'24 hours'"), ("bpchar", "'a'", "'a  '"),
    ("numeric", "1.0", "1.00"), ("jsonb", """'{"n": 1.0}'""", """'{"n": 1.00}'"""), ("money", "1", "2"),
    ("name", "'a'", "'b'"), ("int4[]", "'{1}'", "'[0:0]={1}'"),
]


def _column(i: int) -> str:
    return f"c{i}"


@pytest.mark.parametrize("not_null", [False, True], ids=["nullable", "not-null"])
def test_a_change_in_any_column_type_is_found_in_its_row(pair: Pair, not_null: bool) -> None:
    suffix = " NOT NULL" if not_null else ""
    columns = ", ".join(f"{_column(i)} {t}{suffix}" for i, (t, _, _) in enumerate(TYPES))
    values = ", ".join(f"{v}::{t}" for t, v, _ in TYPES)
    pair.both(f"CREATE TABLE w (id int PRIMARY KEY, {columns}); "
              f"INSERT INTO w SELECT g, {values} FROM generate_series(1, 200) g")
    assert drctl(pair, "--table", "w").code == 0
    # column i changes in row 100 + i; rows 1-99 stay as they are
    run(pair.target, "; ".join(f"UPDATE w SET {_column(i)} = {changed}::{t} WHERE id = {100 + i}"
                               for i, (t, _, changed) in enumerate(TYPES)))
    out = drctl(pair, "--table", "w")
    assert out.code == 1, out.stdout + out.stderr
    assert out.keys("w") == {((100 + i,), "changed") for i in range(len(TYPES))}


def test_the_exact_hash_of_the_benchmark_table_builds_no_row_no_array_and_renders_only_numeric_and_jsonb(
        pair: Pair) -> None:
    pair.both("CREATE TABLE orders (id bigint PRIMARY KEY, account_id int NOT NULL, amount numeric(12, 2), "
              "status text, note text, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, "
              "attrs jsonb)")
    with consistency.Pair(pair.source, pair.target) as conns:
        source, target = conns.both(lambda conn, side: consistency._catalog_table(conn, side, "orders"))
        assert source is not None and target is not None
        plan = consistency.plan_table(source, target, "orders", None, None, frozenset())
    sql = consistency.row_hash_sql(plan, "exact")
    assert "ROW(" not in sql and "ARRAY[" not in sql and "_send(" not in sql
    assert sql.count("::text") == 2  # amount and attrs; status and note are hashed as they are, under "C"
    # the NOT NULL columns chain the nullable ones' terms as seed: the key with its value in the seed (int8's
    # hash folds it to 32 bits), then each timestamp by its folded hash with its whole seconds in the seed
    assert 'hashint4extended(t."account_id", hashint8extended(t."id", (coalesce(' in sql
    assert ') # t."id")' in sql
    assert sql.startswith("timestamp_hash_extended(t.\"updated_at\" AT TIME ZONE INTERVAL '00:00', "
                          "(timestamp_hash_extended(t.\"created_at\" AT TIME ZONE INTERVAL '00:00', ")
    assert sql.endswith(") # tstzrange_subdiff(t.\"updated_at\", timestamptz '2000-01-01 00:00+00')::int8)")


# Values the types' own hash functions (and so the equality hash) take for the same, although `=` does not.
CONFUSED_BY_TYPE_HASH = [
    ("numeric", "5", "-5"),                     # hash_numeric ignores the sign
    ("numeric(10, 2)", "5", "-5"),
    ("numeric", "'NaN'", "'Infinity'"),         # ... and hashes every special value to its seed
    ("numeric", "'Infinity'", "'-Infinity'"),
    ("timestamptz", "'infinity'", "'-infinity'"),
    ("timestamptz", "'294276-12-31 23:59:59.999999+00'", "'4714-11-24 00:00:00+00 BC'"),
    ("jsonb", """'{"n": 5}'""", """'{"n": -5}'"""),
    ("jsonb", "'[[1], 2]'", "'[[1, 2]]'"),        # jsonb's hash skips the end of a container
    ("jsonb", "'{}'", "'[]'"),                    # ... and hashes an empty one to its seed
    ("text", "''", "NULL"),
    ("int4", "0", "NULL"),
    ("timestamptz", "'2024-01-01 00:00+00'", "NULL"),
]


@pytest.mark.parametrize(("column_type", "source_value", "target_value"), CONFUSED_BY_TYPE_HASH)
def test_the_exact_hash_tells_apart_what_the_type_hash_confuses(
        pair: Pair, column_type: str, source_value: str, target_value: str) -> None:
    pair.both(f"CREATE TABLE v (id int PRIMARY KEY, x {column_type}); "
              f"INSERT INTO v SELECT g, {source_value} FROM generate_series(1, 100) g")
    run(pair.target, f"UPDATE v SET x = {target_value} WHERE id = 42")
    out = drctl(pair, "--table", "v")
    assert out.code == 1, out.stdout + out.stderr
    assert out.keys("v") == {((42,), "changed")}


def test_values_swapped_between_columns_of_one_row_are_found(pair: Pair) -> None:
    pair.both("CREATE TABLE s (id int PRIMARY KEY, a text, b text, n1 int NOT NULL, n2 int NOT NULL, "
              "t1 timestamptz, t2 timestamptz); "
              "INSERT INTO s SELECT g, 'x' || g, 'y' || g, g, -g, timestamptz '2024-01-01 00:00+00', NULL "
              "FROM generate_series(1, 100) g")
    run(pair.target, "UPDATE s SET a = b, b = a WHERE id = 10; UPDATE s SET n1 = n2, n2 = n1 WHERE id = 20; "
                     "UPDATE s SET t1 = t2, t2 = t1 WHERE id = 30")
    out = drctl(pair, "--table", "s")
    assert out.code == 1, out.stdout + out.stderr
    assert out.keys("s") == {((10,), "changed"), ((20,), "changed"), ((30,), "changed")}


def test_a_change_is_found_where_every_array_hashed_value_of_the_row_is_null(pair: Pair) -> None:
    """An array's hash ignores its seed when all its elements are NULL: such an array must not be a step of the
    chain, or the values hashed before it would be lost."""
    pair.both("CREATE TABLE n (id int PRIMARY KEY, note text, on_day date, f float8, at timestamptz); "
              "INSERT INTO n SELECT g, 'n' || g, NULL, NULL, NULL FROM generate_series(1, 100) g")
    run(pair.target, "UPDATE n SET note = 'edited' WHERE id = 7")
    out = drctl(pair, "--table", "n")
    assert out.code == 1, out.stdout + out.stderr
    assert out.keys("n") == {((7,), "changed")}


def test_a_column_not_null_on_one_side_only_is_hashed_as_nullable(pair: Pair) -> None:
    pair.both("CREATE TABLE o (id int PRIMARY KEY, v int, body text)")
    run(pair.source, "ALTER TABLE o ALTER COLUMN v SET NOT NULL; "
                     "INSERT INTO o SELECT g, g, 'b' FROM generate_series(1, 100) g")
    run(pair.target, "INSERT INTO o SELECT g, CASE WHEN g = 5 THEN NULL ELSE g END, 'b' "
                     "FROM generate_series(1, 100) g")
    out = drctl(pair, "--table", "o")
    assert out.code == 1, out.stdout + out.stderr
    assert out.keys("o") == {((5,), "changed")}
    run(pair.target, "UPDATE o SET v = 5 WHERE id = 5")
    assert drctl(pair, "--table", "o").code == 0


def test_parts_swapped_between_twins_of_a_key_are_found(pair: Pair) -> None:
    """A key that is not unique is folded with a sum: twins whose parts swap must still sum differently."""
    pair.both("CREATE TABLE e (ev_id int NOT NULL, a text, b int NOT NULL); "
              "INSERT INTO e SELECT g, 'a' || g, g FROM generate_series(1, 100) g; "
              "INSERT INTO e VALUES (7, 'x', 1), (7, 'y', 2), (8, 'x', 1), (8, 'y', 2)")
    run(pair.target, "UPDATE e SET b = 3 - b WHERE ev_id = 7 AND a IN ('x', 'y'); "
                     "UPDATE e SET a = CASE a WHEN 'x' THEN 'y' ELSE 'x' END WHERE ev_id = 8 AND b IN (1, 2)")
    out = drctl(pair, "--table", "e", "--key", "ev_id", "--buckets", "1")
    assert out.code == 1, out.stdout + out.stderr
    assert out.keys("e") == {((7,), "changed"), ((8,), "changed")}


# PostgreSQL's 8-byte hashes (int8, and time, timetz, timestamp[tz], pg_lsn, which reuse it) fold the value to
# 32 bits (low half xor high half, the high half inverted for negatives) before hashing, so these pairs hash
# alike by the type's own hash although they are stored differently.
FOLDED_ALIKE = [
    ("int8", "1", "4294967296"),                             # halves swapped: 0|1 and 1|0
    ("int8", "8589934595", "12884901890"),                   # 2|3 and 3|2
    ("int8", "-1", "4294967295"),                            # negative: ~hi folds -1 like 0|ffffffff
    ("timestamp", "'2000-01-01 00:00'", "'2000-01-01 01:11:34.967297'"),        # + 2^32+1 µs
    ("timestamp", "'2024-01-01 00:12:02.911232'", "'2024-01-01 01:23:37.878529'"),
    ("timestamptz", "'2000-01-01 00:00+00'", "'2000-01-01 01:11:34.967297+00'"),
    # a value and its mirror before 2000-01-01 (the high half inverted for negatives): 0 and -2^32 µs
    ("timestamp", "'2000-01-01 00:00'", "'1999-12-31 22:48:25.032704'"),
    ("timestamptz", "'2000-01-01 00:00+00'", "'1999-12-31 22:48:25.032704+00'"),
    ("timestamptz", "'2400-03-01 12:00+00'", "'1599-11-01 11:21:26.784+00'"),
    ("time", "'00:00'", "'01:11:34.967297'"),
    ("timetz", "'00:00+00'", "'01:11:34.967297+00'"),
    ("pg_lsn", "'0/0'", "'1/1'"),
]


@pytest.mark.parametrize("not_null", [False, True], ids=["nullable", "not-null"])
@pytest.mark.parametrize(("column_type", "source_value", "target_value"), FOLDED_ALIKE)
def test_the_exact_hash_tells_apart_8_byte_values_that_fold_alike(
        pair: Pair, column_type: str, source_value: str, target_value: str, not_null: bool) -> None:
    # the pair really collides under the type's own hash (what exact mode must not rely on)
    assert run_scalar(pair.source, f"SELECT hash_array_extended(ARRAY[{source_value}::{column_type}], 0) = "
                                   f"hash_array_extended(ARRAY[{target_value}::{column_type}], 0)")
    assert_one_row_told_apart(pair, "f", column_type, source_value, target_value, not_null)


def assert_one_row_told_apart(pair: Pair, table: str, column_type: str, source_value: str, target_value: str,
                              not_null: bool) -> None:
    """100 rows alike on both sides but for row 42's `x` (source_value vs target_value): exact mode reports that
    row changed, and the tables same once the value is put back."""
    suffix = " NOT NULL" if not_null else ""
    pair.both(f"CREATE TABLE {table} (id int PRIMARY KEY, x {column_type}{suffix}, y int NOT NULL); "
              f"INSERT INTO {table} SELECT g, {source_value}, g FROM generate_series(1, 100) g")
    run(pair.target, f"UPDATE {table} SET x = {target_value} WHERE id = 42")
    out = drctl(pair, "--table", table)
    assert out.code == 1, out.stdout + out.stderr
    assert out.keys(table) == {((42,), "changed")}
    run(pair.target, f"UPDATE {table} SET x = {source_value} WHERE id = 42")
    assert drctl(pair, "--table", table).code == 0


# exact mode hashes a timestamp by its own hash (which folds the microseconds to 32 bits) with its whole seconds
# since 2000 in the seed: these pairs have the same whole seconds, so only the folded hash tells them apart. Far
# from 2000 even the float8 seconds (tsrange_subdiff) are alike; near 2000, pairs one microsecond apart across
# a 2^32 µs block boundary (its high half changes).
SECONDS_ALIKE = [
    ("timestamp", "'294276-12-31 23:59:59.999999'", "'294276-12-31 23:59:59.999998'"),
    ("timestamptz", "'294276-12-31 23:59:59.999999+00'", "'294276-12-31 23:59:59.999488+00'"),
    ("timestamptz", "'200000-06-01 00:00+00'", "'200000-06-01 00:00:00.000001+00'"),
    ("timestamptz", "'4714-11-24 00:00:00.000001+00 BC'", "'4714-11-24 00:00:00.000002+00 BC'"),
    ("timestamp", "'2000-01-01 01:11:34.967295'", "'2000-01-01 01:11:34.967296'"),   # 2^32 µs after 2000
    ("timestamptz", "'1999-12-31 23:59:59.999999+00'", "'2000-01-01 00:00+00'"),     # high half -1 vs 0
    ("timestamptz", "'294276-12-31 23:59:59.999999+00'", "'infinity'"),
    ("timestamptz", "'4714-11-24 00:00:00+00 BC'", "'-infinity'"),
]


@pytest.mark.parametrize("not_null", [False, True], ids=["nullable", "not-null"])
@pytest.mark.parametrize(("column_type", "source_value", "target_value"), SECONDS_ALIKE)
def test_the_exact_hash_tells_apart_timestamps_with_the_same_seconds(
        pair: Pair, column_type: str, source_value: str, target_value: str, not_null: bool) -> None:
    subdiff, origin = (("tsrange_subdiff", "timestamp '2000-01-01'") if column_type == "timestamp"
                       else ("tstzrange_subdiff", "timestamptz '2000-01-01 00:00+00'"))
    if "infinity" not in target_value:  # the seconds alone really confuse them
        assert run_scalar(pair.source, f"SELECT {subdiff}({source_value}, {origin})::int8 = "
                                       f"{subdiff}({target_value}, {origin})::int8")
    assert_one_row_told_apart(pair, "p", column_type, source_value, target_value, not_null)


def _microseconds_after_2000(us: int) -> str:
    """SQL for timestamp 2000-01-01 + us µs, exact over the whole range (an interval times a float is not)."""
    days, rest = divmod(us, 86_400_000_000)
    return f"(timestamp '2000-01-01' + {days} * interval '1 day' + {rest} * interval '1 microsecond')"


BLOCK = 2**32  # µs: the fold xors the high half into the low one, so it changes at each multiple of 2^32
WINDOW = 1_050_000  # µs each side: two values with the same whole seconds lie within 1.006 s of each other


@pytest.mark.parametrize("boundary", [0, BLOCK, -3 * BLOCK, (2**31 - 200) * BLOCK, -49_000_000 * BLOCK],
                         ids=["2000", "2000+2^32us", "before-2000", "near-294276", "near-4714BC"])
def test_no_two_timestamps_within_a_second_of_a_block_boundary_hash_alike(pair: Pair, boundary: int) -> None:
    """The shipped timestamp step, seeded alike, on every microsecond within 1.05 s of a 2^32 µs block boundary
    (where the fold's high half changes): all distinct. Values further apart have other whole seconds."""
    step = consistency.TIMESTAMP_HASHES["timestamp"].format("v", "0")
    series = (f"generate_series({_microseconds_after_2000(boundary - WINDOW)}, "
              f"{_microseconds_after_2000(boundary + WINDOW)}, interval '1 microsecond') AS v")
    counted, distinct = run_scalar(pair.source, f"SELECT ARRAY[count(*), count(DISTINCT {step})] FROM {series}")
    assert counted == 2 * WINDOW + 1
    assert distinct == counted
