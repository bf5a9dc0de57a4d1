"""Compare tables between the primary and the DR PostgreSQL: row counts, content hash, exact differing keys.

One scan per side: every row gets a 64-bit hash, rows are grouped into a few thousand buckets by key and each
bucket is reduced to (count, bit_xor of row hashes) on the server, so each side sends back a few thousand pairs
and the backends need only a small hash table (no string_agg: no 1 GB limit, no memory growing with the table).
Where the key is not known to be unique on both sides, the bucket sums its row hashes instead (exactly, as
numeric): two identical rows cancel in a xor, so a duplicated key's twin could differ, or be missing, unseen.
(The xor stays for unique keys: the planner aggregates it in parallel workers, and not the numeric sum.)
Both servers are queried at the same time, one connection each, and each server may scan with its own parallel
workers. Only the buckets whose pairs differ are then read key by key (key + row hash) and merged into
only-in-source / only-in-target / changed; a key that is not unique is compared as the multiset of its rows'
hashes, so a twin is never paired with itself.

Row hash ("--hash"):
- exact (default, same major version on both sides): two rows are the same only when every value is stored the
  same. The hash is built per column from the catalog types, one seeded hash call per value chained into the
  next (no ROW built, nothing rendered that need not be): types whose `=` is already bytewise (integers, bool,
  uuid, inet, macaddr, text and varchar under the C collation) by their own hash function called on the value
  (int8 with the value in the seed: its hash folds it to 32 bits); date and bytea as elements of an array of their
  type; float4/float8 and interval through their binary send form (-0 is not 0, '1 day' is not '24 hours', NaN
  bits count), time[tz] and pg_lsn too (their hashes fold like int8's); timestamp[tz] by their own (folding)
  hash seeded with their whole seconds since 2000, which together tell every microsecond apart; bpchar
  through its send form (trailing blanks count); everything else through its text form under the C collation
  (numeric's sign, scale and NaN/±Infinity, jsonb numbers' scale and sign, citext and case-insensitive
  collations' case, array bounds, an enum's label). Text forms are rendered under pinned session settings (UTC,
  ISO dates, postgres intervals, extra_float_digits=3, lc_monetary C), so they do not depend on either server's
  defaults.
- equality: each value hashed by its type's hash function, i.e. compared the way the type's `=` compares
  (numeric 1.0 = 1.00, float -0 = 0, interval '1 day' = '24 hours', citext 'A' = 'a', jsonb 1.0 = 1.00), and
  where that hash is coarser than `=`, coarser still: numeric's hash ignores the sign (5 and -5, in jsonb too)
  and takes NaN and ±Infinity alike. Types without a hash function, arrays, enums, domains, composites and ranges
  through their text form. Not a proof that a copy is identical.
- text (auto picks it when the major versions differ): the whole row's text form, under the same pinned
  settings; as exact, except that a float is compared by its text (every NaN alike).

Bucketing. A single integer key that is unique on both sides (primary key, or a valid unique index on NOT NULL
columns of the key) is bucketed by key range (`key / width`), so narrowing a bucket is an index range scan. Any
other key is bucketed by the hash of the key (NULL keys included), and narrowing reads the differing buckets in
one filtered scan per side. Keys are told apart by their text form (integers as themselves): NaN, NULL, arrays and
jsonb need no ordering or hashing in Python, and keys equal under `=` but stored differently are different keys.

Each side reads one REPEATABLE READ, READ ONLY snapshot: the counts, hashes and keys all describe one moment.
"""
from __future__ import annotations

import heapq
import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from ops.core.errors import BadInput  # names the DSN, table or column; nothing read beyond the catalog

if TYPE_CHECKING:
    import psycopg

DEFAULT_BUCKETS = 4096          # pairs sent back per side; narrowing reads ~rows/4096 rows per differing bucket
NARROW_CHUNK = 20_000           # rows per side and narrowing query: bounds client memory
DEFAULT_MAX_KEYS = 1000         # differing keys listed per table (all are counted)
INTEGER_TYPES = {"smallint", "integer", "bigint"}
# Exact mode: base types (pg_type.typname) whose `=` is bytewise, hashed by their own extended hash function
# called on the value itself ({0}; {1} is the seed), without building a ROW or rendering. text and varchar are
# hashed under the C collation, which hashes their bytes whatever the column's collation. PostgreSQL's 8-byte
# hashes fold the value to 32 bits first (low half xor high half, inverted for negatives: bigint 1 and 4294967296
# hash alike), so int8's hash gets the value itself xor-ed into its seed: two values colliding would need the same
# fold and, the seed being the same, the same value. (`#` cannot overflow; one int8 operator per value.)
DIRECT_HASHES = {"int2": "hashint2extended({0}, {1})", "int4": "hashint4extended({0}, {1})",
                 "int8": "hashint8extended({0}, ({1}) # {0})", "oid": "hashoidextended({0}, {1})",
                 "char": "hashcharextended({0}, {1})", "bool": "hashint4extended({0}::int4, {1})",
                 "uuid": "uuid_hash_extended({0}, {1})", "inet": "hashinetextended({0}, {1})",
                 "cidr": "hashinetextended({0}, {1})", "macaddr": "hashmacaddrextended({0}, {1})",
                 "macaddr8": "hashmacaddr8extended({0}, {1})",
                 "text": 'hashtextextended({0} COLLATE "C", {1})',
                 "varchar": 'hashtextextended({0} COLLATE "C", {1})'}
# Bytewise types with no hash SQL can call on them (date's is int4's and date - date fails on infinity; bytea's
# takes `internal`): hashed as elements of an array of their own type, which calls the type's hash for each.
ARRAY_HASHED_TYPES = frozenset({"date", "bytea"})
# timestamp[tz]: their hash folds the microseconds to 32 bits like int8's (a timestamp moved by 2^32+1 µs hashes
# alike for about a third of values), and SQL has no cheap cast to int8 to seed it with (`ts - ts` fails on
# infinity, extract() is numeric). The fold tells apart any two values of one 2^32 µs block (same high half,
# other low half); across blocks it does not (v and v + 2^32 - 1 can fold alike). So the seed gets the value's
# whole seconds since 2000 xor-ed in, as int8's gets the value: tsrange_subdiff() is ((float8) µs) / 1e6, off by
# at most 3 ms (2977 µs) even at the ends of the range and finite for ±infinity (±9223372036855 s), and `::int8`
# rounds it. Two values alike in both lie within 1.006 s (< 2^20 µs) of each other: in one block (the fold
# differs) or in two adjacent ones, h and h+1, where the low halves differ in their top 12 bits, which h's and
# h+1's high halves can only fold back alike for h = 2^31-1, past the last finite timestamp (2^63 - 7e14 µs;
# h = -1 and 0 both fold to the low half alone).
# timestamptz goes to timestamp's hash through `AT TIME ZONE INTERVAL '00:00'` (the same microseconds, ±infinity
# kept, whatever the session's zone). Serial scans of the benchmark table at 1M/5M rows: 1.065x/1.083x equality,
# 1.09x/1.11x with the float seconds hashed into the seed instead, 1.19x/1.21x through the send form.
TIMESTAMP_HASHES = {
    "timestamp": "timestamp_hash_extended({0}, ({1}) # tsrange_subdiff({0}, timestamp '2000-01-01 00:00')::int8)",
    "timestamptz": "timestamp_hash_extended({0} AT TIME ZONE INTERVAL '00:00', ({1}) # "
                   "tstzrange_subdiff({0}, timestamptz '2000-01-01 00:00+00')::int8)"}
SEEDED_HASHES = {**DIRECT_HASHES, **TIMESTAMP_HASHES}  # one seeded hash call (or two) per value
# Base types whose `=` (and hash) ignores part of what is stored, hashed through their binary send form
# (exact: float -0 and NaN bits, interval's month/day/time split, bpchar's blanks), as bytea array elements.
# The other 8-byte types too: their hashes fold like int8's, and they have no cheap exact companion.
SEND_FUNCTIONS = {"float4": "float4send", "float8": "float8send", "interval": "interval_send",
                  "bpchar": "bpcharsend", "time": "time_send", "timetz": "timetz_send", "pg_lsn": "pg_lsn_send"}
# Everything else is hashed through its text form under the C collation: numeric (hash_numeric ignores the
# sign, the scale, and tells NaN from ±Infinity by nothing but the seed), jsonb (its hash ignores numbers'
# scale and sign), citext, arrays, enums, domains, composites, ranges.
HashMode = Literal["exact", "equality", "text"]
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

# Rendering pinned for the tool's own sessions: text forms (fallback columns, keys) must not depend on
# either server's defaults.
SESSION_SETTINGS = {
    "TimeZone": "UTC",
    "DateStyle": "ISO, YMD",
    "IntervalStyle": "postgres",
    "extra_float_digits": "3",
    "bytea_output": "hex",
    # money's text form follows lc_monetary (symbol, separators); under C it is the stored cents, exactly
    "lc_monetary": "C",
    "application_name": "drctl-consistency",
    # The row hash is one C function call per row: JIT compiling it costs more than it saves, and loading LLVM
    # adds ~10 MB to the backend, the one part of its memory that changed with table size.
    "jit": "off",
}

Side = Literal["source", "target"]
DiffClass = Literal["only_in_source", "only_in_target", "changed"]
T = TypeVar("T")


@dataclass(frozen=True)
class Column:
    name: str
    type: str           # format_type(): usable as a cast
    plain_base: bool    # a base type, not an array, enum, domain, composite or range
    base_name: str = ""  # pg_type.typname
    not_null: bool = False  # NOT NULL in the catalog (on both sides, once planned)


@dataclass(frozen=True)
class TablePlan:
    """What is compared for one table, resolved from both catalogs."""
    name: str                       # as the operator wrote it
    relation: str                   # schema-qualified, quoted
    key: tuple[Column, ...]
    columns: tuple[Column, ...]     # key columns first, then the rest in source order
    text_columns: frozenset[str]    # hashed through their text form (type has no hash function)
    unique_key: bool = True         # a primary key or valid unique index on NOT NULL key columns, on both sides

    @property
    def integer_key(self) -> bool:
        return len(self.key) == 1 and self.key[0].type in INTEGER_TYPES

    @property
    def range_bucketed(self) -> bool:
        """Key ranges need a unique, NOT NULL integer key: keyset paging would split a key's twins."""
        return self.integer_key and self.unique_key


@dataclass(frozen=True)
class KeyDifference:
    key: tuple[Any, ...]
    kind: DiffClass


@dataclass
class TableResult:
    table: str
    key: list[str]
    columns: list[str]
    source_rows: int | None         # None: the table does not exist on that side
    target_rows: int | None
    buckets: int
    differing_buckets: int
    counts: Counter[str] = field(default_factory=Counter)
    keys: list[KeyDifference] = field(default_factory=list)
    max_keys: int = DEFAULT_MAX_KEYS
    key_unique: bool | None = None
    only_on: Side | None = None     # the table exists on this side only

    @property
    def same(self) -> bool:
        return not self.counts and self.only_on is None and self.source_rows == self.target_rows

    def add(self, difference: KeyDifference) -> None:
        self.counts[difference.kind] += 1
        if len(self.keys) < self.max_keys:
            self.keys.append(difference)

    def as_dict(self) -> dict[str, Any]:
        return {"table": self.table, "status": "same" if self.same else "differ", "key": self.key,
                "columns": self.columns, "source_rows": self.source_rows, "target_rows": self.target_rows,
                "only_on": self.only_on, "key_unique": self.key_unique,
                "buckets": self.buckets, "differing_buckets": self.differing_buckets,
                "differences": {kind: self.counts.get(kind, 0)
                                for kind in ("only_in_source", "only_in_target", "changed")},
                "keys": [{"key": dict(zip(self.key, d.key, strict=True)), "class": d.kind} for d in self.keys],
                "keys_truncated": sum(self.counts.values()) > len(self.keys)}


@dataclass
class Report:
    hash_mode: HashMode
    tables: list[TableResult]

    @property
    def same(self) -> bool:
        return all(t.same for t in self.tables)

    def as_dict(self) -> dict[str, Any]:
        return {"status": "same" if self.same else "differ", "hash_mode": self.hash_mode,
                "tables": [t.as_dict() for t in self.tables]}


# -- connections ------------------------------------------------------------------------------------------------

class Pair:
    """One connection per server, each in a read-only REPEATABLE READ snapshot; `both` runs a function on the
    two at the same time (one thread each: a psycopg connection is used by one thread at a time)."""

    def __init__(self, source_dsn: str, target_dsn: str, connect_timeout: int = 5) -> None:
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="consistency")
        dsns: dict[Side, str] = {"source": source_dsn, "target": target_dsn}
        futures = {side: self._pool.submit(_open, side, dsn, connect_timeout) for side, dsn in dsns.items()}
        self.conns: dict[Side, psycopg.Connection] = {}
        failure: BaseException | None = None
        for side, future in futures.items():
            try:
                self.conns[side] = future.result()
            except BaseException as exc:  # noqa: BLE001 - re-raised once both attempts are over
                failure = failure or exc
        if failure is not None:
            self.close()
            raise failure

    def both(self, fn: Callable[[psycopg.Connection, Side], T]) -> tuple[T, T]:
        source = self._pool.submit(fn, self.conns["source"], "source")
        target = self._pool.submit(fn, self.conns["target"], "target")
        # wait for both before raising: a connection must never be left in use by a thread
        for error in (source.exception(), target.exception()):
            if error is not None:
                raise error
        return source.result(), target.result()

    def close(self) -> None:
        for conn in self.conns.values():
            conn.close()
        self._pool.shutdown()

    def __enter__(self) -> Pair:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _open(side: Side, dsn: str, connect_timeout: int) -> psycopg.Connection:
    import psycopg

    try:
        conn = psycopg.connect(dsn, connect_timeout=connect_timeout)
    except psycopg.Error as exc:
        raise BadInput(f"--{side}: cannot connect: {str(exc).strip()}") from None
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    for name, value in SESSION_SETTINGS.items():
        conn.execute("SELECT set_config(%s, %s, false)", (name, value))
    return conn


# -- catalog ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CatalogTable:
    relation: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    unique_keys: tuple[frozenset[str], ...] = ()   # column sets no two rows share (NULLs excluded)


def _catalog_table(conn: psycopg.Connection, side: Side, name: str) -> CatalogTable | None:
    """The table's columns and unique keys; None when it does not exist on this side."""
    import psycopg

    try:
        row = conn.execute("SELECT c.oid, format('%%I.%%I', n.nspname, c.relname) FROM pg_class c "
                           "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass(%s)",
                           (name,)).fetchone()
    except (psycopg.errors.InvalidName, psycopg.errors.SyntaxError) as exc:
        raise BadInput(f"table {name!r}: {str(exc).strip()}") from None
    if row is None:
        return None
    oid, relation = row
    columns = tuple(Column(*row) for row in conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), t.typtype = 'b' AND t.typcategory <> 'A', "
        "t.typname, a.attnotnull "
        "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
        "WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum", (oid,)))
    primary_key = tuple(r[0] for r in conn.execute(
        "SELECT a.attname FROM pg_index i CROSS JOIN unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
        "WHERE i.indrelid = %s AND i.indisprimary ORDER BY k.ord", (oid,)))
    # Valid, whole-table unique indexes on plain NOT NULL columns (a unique index lets NULLs repeat).
    unique_keys = tuple(frozenset(r[0]) for r in conn.execute(
        "SELECT array_agg(a.attname) FROM pg_index i CROSS JOIN unnest(i.indkey) AS k(attnum) "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
        "WHERE i.indrelid = %s AND i.indisunique AND i.indisvalid AND i.indpred IS NULL "
        "AND i.indexprs IS NULL GROUP BY i.indexrelid HAVING bool_and(a.attnotnull)", (oid,)))
    return CatalogTable(relation, columns, primary_key, unique_keys)


def list_tables(conn: psycopg.Connection) -> list[str]:
    """Every ordinary or partitioned table outside the system schemas, schema-qualified."""
    return [r[0] for r in conn.execute(
        "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition "
        "AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' "
        "ORDER BY 1")]


def plan_table(source: CatalogTable, target: CatalogTable, name: str, columns: Sequence[str] | None,
               key: Sequence[str] | None, text_types: frozenset[str]) -> TablePlan:
    """Check that key and columns exist with the same types on both sides; decide what is hashed."""
    by_side = {"source": {c.name: c for c in source.columns}, "target": {c.name: c for c in target.columns}}
    key_names = tuple(key) if key else source.primary_key
    if not key_names:
        raise BadInput(f"table {name!r} has no primary key on the source: pass --key COLUMN[,COLUMN]")
    if columns:
        wanted = list(dict.fromkeys([*key_names, *columns]))
    else:
        wanted = list(dict.fromkeys([*key_names, *by_side["source"]]))
        for side, other in (("target", "source"), ("source", "target")):
            extra = [c for c in by_side[side] if c not in by_side[other]]
            if extra:
                raise BadInput(f"table {name!r}: column {extra[0]!r} exists only on the {side}; "
                               f"pass --columns to compare the columns both sides have")
    for column in wanted:
        for side in ("source", "target"):
            if column not in by_side[side]:
                raise BadInput(f"table {name!r}: column {column!r} does not exist on the {side}")
        if by_side["source"][column].type != by_side["target"][column].type:
            raise BadInput(f"table {name!r}: column {column!r} is {by_side['source'][column].type} on the source "
                           f"but {by_side['target'][column].type} on the target")
    # NOT NULL only where both sides say so: the exact row hash skips the NULL handling for those columns.
    chosen = tuple(replace(by_side["source"][c], not_null=by_side["source"][c].not_null
                           and by_side["target"][c].not_null) for c in wanted)
    unique = all(any(u <= set(key_names) for u in side.unique_keys) for side in (source, target))
    return TablePlan(name=name, relation=source.relation, key=chosen[:len(key_names)], columns=chosen,
                     text_columns=frozenset(c.name for c in chosen if c.type in text_types or not c.plain_base),
                     unique_key=unique)


def unhashable_types(conn: psycopg.Connection, types: Iterable[str]) -> frozenset[str]:
    """Types without a hash function (hash_record_extended refuses them): they are hashed as text."""
    import psycopg

    refused = set()
    for type_name in sorted(set(types)):
        try:
            with conn.transaction():  # a savepoint: the refusal must not abort the snapshot
                conn.execute(f"SELECT hash_record_extended(ROW(NULL::{type_name}), 0)")
        except psycopg.errors.UndefinedFunction:
            refused.add(type_name)
    return frozenset(refused)


# -- SQL --------------------------------------------------------------------------------------------------------

def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


ExactStep = Callable[[str], str]  # the hash of one value, given the SQL of its seed


def _exact_term(plan: TablePlan, column: Column) -> ExactStep | tuple[str, str]:
    """How exact mode hashes one column: a seeded hash call, or (element type, element) of a typed array."""
    value = f"t.{_ident(column.name)}"
    base = column.base_name if column.plain_base and column.name not in plan.text_columns else ""
    if base in SEEDED_HASHES:
        return lambda seed: SEEDED_HASHES[base].format(value, seed)
    if base in ARRAY_HASHED_TYPES:
        return base, value
    if base in SEND_FUNCTIONS:
        return "bytea", f"{SEND_FUNCTIONS[base]}({value})"
    # The C collation: a nondeterministic collation's hash would fold case (or accents) again.
    return lambda seed: f'hashtextextended(({value}::text) COLLATE "C", {seed})'


def exact_row_hash_sql(plan: TablePlan) -> str:
    """Every stored value of the row, hashed into one int8 without building a ROW or rendering what need not be.

    A chain of seeded hash calls: each step hashes one NOT NULL value (NOT NULL on both sides) with the result
    so far as its 64-bit seed, so the row hash depends on each of them non-linearly and on its position. A strict
    hash call turns NULL into NULL, so each nullable column is an independent term instead: hashed with its
    position as seed and coalesced to a stand-in for NULL. The types hashed as array elements make one array per
    type; an array's hash keeps a NULL element apart but ignores its seed when every element is NULL, so an
    array of nullable columns only is a term, and one with a NOT NULL column a step. The terms are xor-ed
    together and seed the chain, which ends with a scalar step (or one more hash of the seed), so parts swapped
    between twins of one key cannot cancel out in the bucket sum.
    """
    terms: list[str] = []
    arrays: dict[str, list[Column]] = {}
    elements: dict[str, str] = {}
    steps: list[ExactStep] = []
    for position, column in enumerate(plan.columns, start=1):
        term = _exact_term(plan, column)
        if isinstance(term, tuple):
            arrays.setdefault(term[0], []).append(column)
            elements[column.name] = term[1]
        elif column.not_null:
            steps.append(term)
        else:
            # The stand-in for NULL: any constant; a value hashing to it is as likely as any other collision.
            terms.append(f"coalesce({term(str(position))}, {-position})")
    array_steps: list[ExactStep] = []
    for element_type, columns in arrays.items():
        array = f"ARRAY[{', '.join(elements[c.name] for c in columns)}]::{element_type}[]"
        if any(c.not_null for c in columns):
            array_steps.append(lambda seed, array=array: f"hash_array_extended({array}, {seed})")
        else:
            terms.append(f"hash_array_extended({array}, {plan.columns.index(columns[0]) + 1})")
    seed = " # ".join(terms) if terms else "0"
    for step in [*array_steps, *steps]:
        seed = step(seed)
    if not steps:  # the terms' xor and an array's hash are linear in their parts: one non-linear step
        seed = f"hashint4extended(0, {seed})"
    return seed


def row_hash_sql(plan: TablePlan, mode: HashMode) -> str:
    if mode == "exact":
        return exact_row_hash_sql(plan)
    values = ", ".join(f"t.{_ident(c.name)}" + ("::text" if c.name in plan.text_columns else "")
                       for c in plan.columns)
    if mode == "text":
        return f"hashtextextended(ROW({values})::text, 0)"
    # hash_record_extended combines column hashes linearly (h*31 + next); one more hash round makes row hashes
    # independent, so two edits in one bucket (values swapped between two rows) cannot cancel out.
    return f"hashint8extended(hash_record_extended(ROW({values}), 0), 0)"


def _key_hash_sql(plan: TablePlan, mode: HashMode) -> str:
    """Which bucket a key falls in: a function of the key's identity (its text form), NULL keys included."""
    values = ", ".join(f"t.{_ident(c.name)}" + ("::text" if c.name in plan.text_columns else "") for c in plan.key)
    if mode == "text":  # type hash functions are only known to agree within one major version
        return f"hashtextextended(ROW({values})::text, 1)"
    return f"hash_record_extended(ROW({values}), 1)"


def key_identity_sql(plan: TablePlan) -> str:
    """The key columns as read back for narrowing: integers as they are, anything else as its text form, which
    Python can hash and order whatever the type (NaN, arrays, jsonb) and which tells apart keys that are
    equal under `=` but stored differently (citext 'A' and 'a', numeric 1.0 and 1.00)."""
    return ", ".join(f"t.{_ident(c.name)}" + ("" if c.type in INTEGER_TYPES else "::text") for c in plan.key)


@dataclass(frozen=True)
class Bucketing:
    """How rows map to buckets: `key / width` for an integer key, else the key's hash modulo `count`."""
    expression: str
    width: int | None = None
    count: int = DEFAULT_BUCKETS

    def key_range(self, bucket: int) -> tuple[int, int]:
        """The integer keys k with trunc(k / width) = bucket (PostgreSQL's integer division truncates)."""
        assert self.width is not None
        w = self.width
        if bucket > 0:
            low, high = bucket * w, bucket * w + w - 1
        elif bucket < 0:
            low, high = bucket * w - w + 1, bucket * w
        else:
            low, high = -w + 1, w - 1
        return max(low, INT64_MIN), min(high, INT64_MAX)


def choose_bucketing(pair: Pair, plan: TablePlan, buckets: int, mode: HashMode = "exact") -> Bucketing:
    if not plan.range_bucketed:
        power = max(1, buckets - 1).bit_length()  # a power of two: the mask keeps the low bits of the hash
        return Bucketing(f"({_key_hash_sql(plan, mode)} & {2**power - 1})", count=2**power)
    key = _ident(plan.key[0].name)
    bounds = pair.both(lambda conn, _: conn.execute(
        f"SELECT min({key}), max({key}) FROM {plan.relation}").fetchone())
    lows = [b[0] for b in bounds if b[0] is not None]
    highs = [b[1] for b in bounds if b[1] is not None]
    span = (max(highs) - min(lows) + 1) if lows else 1
    width = max(1, -(-span // buckets))
    return Bucketing(f"(t.{key} / {width}::bigint)", width=width, count=buckets)


# -- the scan ---------------------------------------------------------------------------------------------------

BucketSums = dict[int, tuple[int, int]]  # bucket -> (rows, bit_xor or sum of row hashes)


# The planner takes the bucket expression for as many groups as there are keys. It would therefore sort the
# whole table, and it would keep the scan serial, thinking the workers' partial aggregates cost as much to
# gather as the table. There are at most a few thousand groups (a hash aggregate of a few hundred kB per process)
# and each worker sends back at most that many rows, so gathering them is as good as free. How many workers may
# join stays the server's own setting (max_parallel_workers_per_gather).
BUCKET_SCAN_SETTINGS = {"enable_sort": "off", "parallel_tuple_cost": "0"}


def bucket_sums_sql(plan: TablePlan, bucketing: Bucketing, row_hash: str) -> str:
    # Rows of one unique key can't repeat, so a xor cannot cancel a pair; twins of a non-unique key would.
    fold = "bit_xor" if plan.unique_key else "sum"
    return (f"SELECT {bucketing.expression} AS bucket, count(*), {fold}({row_hash}) "
            f"FROM {plan.relation} AS t GROUP BY 1")


@contextmanager
def bucket_scan_settings(conn: psycopg.Connection) -> Iterator[None]:
    """BUCKET_SCAN_SETTINGS for the statements run inside, back to the session's values after."""
    for name, value in BUCKET_SCAN_SETTINGS.items():
        conn.execute("SELECT set_config(%s, %s, true)", (name, value))
    yield  # no reset after an error: the transaction is aborted then anyway
    for name in BUCKET_SCAN_SETTINGS:
        conn.execute(f"SET LOCAL {name} TO DEFAULT")


def bucket_sums(conn: psycopg.Connection, plan: TablePlan, bucketing: Bucketing, row_hash: str) -> BucketSums:
    with bucket_scan_settings(conn):
        rows = conn.execute(bucket_sums_sql(plan, bucketing, row_hash)).fetchall()
    return {int(b): (int(n), int(h)) for b, n, h in rows}


def differing_buckets(source: BucketSums, target: BucketSums) -> list[int]:
    return sorted(b for b in source.keys() | target.keys() if source.get(b) != target.get(b))


KeyedHashes = Iterator[tuple[tuple[Any, ...], int]]


def merge_sorted(source: KeyedHashes, target: KeyedHashes) -> Iterator[KeyDifference]:
    """Both streams in the same key order: a merge join that yields only the keys that differ."""
    tagged = heapq.merge(((k, 0, h) for k, h in source), ((k, 1, h) for k, h in target))
    for key, group in itertools.groupby(tagged, key=lambda item: item[0]):
        items = list(group)
        if len(items) == 2:
            if items[0][2] != items[1][2]:
                yield KeyDifference(key, "changed")
        else:
            yield KeyDifference(key, "only_in_source" if items[0][1] == 0 else "only_in_target")


KeyedRows = dict[tuple[Any, ...], Counter[int]]  # key -> how many of its rows have each row hash


def merge_maps(source: KeyedRows, target: KeyedRows) -> Iterator[KeyDifference]:
    """Keys compared as multisets of row hashes: a key with two rows on one side and one on the other, or whose
    twin changed, is "changed"."""
    for key, row_hashes in source.items():
        other = target.get(key)
        if other is None:
            yield KeyDifference(key, "only_in_source")
        elif other != row_hashes:
            yield KeyDifference(key, "changed")
    for key in target.keys() - source.keys():
        yield KeyDifference(key, "only_in_target")


def _key_ranges(bucketing: Bucketing, buckets: list[int]) -> list[tuple[int, int]]:
    """Differing buckets as key ranges, adjacent buckets joined."""
    merged: list[list[int]] = []
    for low, high in (bucketing.key_range(b) for b in buckets):
        if merged and low == merged[-1][1] + 1:
            merged[-1][1] = high
        else:
            merged.append([low, high])
    return [(low, high) for low, high in merged]


def narrow_integer_key(pair: Pair, plan: TablePlan, bucketing: Bucketing, buckets: list[int],
                       row_hash: str) -> Iterator[KeyDifference]:
    """Index range scans of the differing buckets, NARROW_CHUNK rows per side and query (keyset paging), merged
    in key order: client memory stays bounded however many rows a bucket holds."""
    key = _ident(plan.key[0].name)
    select = f"SELECT t.{key}, {row_hash} FROM {plan.relation} AS t WHERE t.{key} BETWEEN %s AND %s"
    first_page = f"{select} ORDER BY t.{key} LIMIT {NARROW_CHUNK}"
    next_page = f"{select} AND t.{key} > %s ORDER BY t.{key} LIMIT {NARROW_CHUNK}"
    for low, high in _key_ranges(bucketing, buckets):
        after: int | None = None
        while True:
            sql, params = (first_page, (low, high)) if after is None else (next_page, (low, high, after))
            source, target = pair.both(lambda conn, _: conn.execute(sql, params).fetchall())  # noqa: B023
            # Keys up to the last one of a full page are complete on both sides; the rest comes next round.
            full_pages = [page[-1][0] for page in (source, target) if len(page) == NARROW_CHUNK]
            upto = min(full_pages) if full_pages else None
            yield from merge_sorted((((k,), h) for k, h in source if upto is None or k <= upto),
                                    (((k,), h) for k, h in target if upto is None or k <= upto))
            if upto is None:
                break
            after = upto


def narrow_hashed_key(pair: Pair, plan: TablePlan, bucketing: Bucketing, buckets: list[int],
                      row_hash: str) -> Iterator[KeyDifference]:
    sql = (f"SELECT {key_identity_sql(plan)}, {row_hash} FROM {plan.relation} AS t "
           f"WHERE {bucketing.expression} = ANY(%s)")

    def read(conn: psycopg.Connection, side: Side) -> KeyedRows:
        rows: KeyedRows = {}
        with conn.cursor(name=f"narrow_{side}") as cursor:  # server-side: streamed, not one big result
            cursor.itersize = 10_000
            cursor.execute(sql, (buckets,))
            for row in cursor:
                rows.setdefault(tuple(row[:-1]), Counter())[row[-1]] += 1
        return rows

    source, target = pair.both(read)
    yield from merge_maps(source, target)


def compare_table(pair: Pair, plan: TablePlan, mode: HashMode, buckets: int, max_keys: int) -> TableResult:
    row_hash = row_hash_sql(plan, mode)
    bucketing = choose_bucketing(pair, plan, buckets, mode)
    source, target = pair.both(lambda conn, _: bucket_sums(conn, plan, bucketing, row_hash))
    differing = differing_buckets(source, target)
    result = TableResult(table=plan.name, key=[c.name for c in plan.key], columns=[c.name for c in plan.columns],
                         source_rows=sum(n for n, _ in source.values()),
                         target_rows=sum(n for n, _ in target.values()),
                         buckets=bucketing.count, differing_buckets=len(differing), max_keys=max_keys,
                         key_unique=plan.unique_key)
    if differing:
        narrow = narrow_integer_key if plan.range_bucketed else narrow_hashed_key
        for difference in narrow(pair, plan, bucketing, differing, row_hash):
            result.add(difference)
        result.keys.sort(key=lambda d: tuple((v is None, str(type(v)), v) for v in d.key))
    return result


def _server_major(conn: psycopg.Connection, _: Side) -> int:
    return conn.info.server_version // 10000


def _hash_mode(wanted: str, majors: tuple[int, int]) -> HashMode:
    """Type hash and send functions are only known to agree within one major version; across versions hash
    text."""
    if wanted not in ("auto", "exact", "equality", "text"):
        raise BadInput(f"--hash {wanted!r}: expected auto, exact, equality or text"
                       + (" ('binary' is now called 'equality')" if wanted == "binary" else ""))
    if wanted in ("exact", "equality") and majors[0] != majors[1]:
        raise BadInput(f"--hash {wanted}: the servers run PostgreSQL {majors[0]} and {majors[1]}; "
                       f"{wanted} row hashes need the same major version (use --hash text or auto)")
    if wanted == "text" or (wanted == "auto" and majors[0] != majors[1]):
        return "text"
    return "exact" if wanted == "auto" else wanted  # type: ignore[return-value]


def compare(source_dsn: str, target_dsn: str, tables: Sequence[str] = (), columns: Sequence[str] = (),
            key: Sequence[str] = (), buckets: int = DEFAULT_BUCKETS, max_keys: int = DEFAULT_MAX_KEYS,
            hash_mode: Literal["auto", "exact", "equality", "text"] = "auto") -> Report:
    """Compare each table (default: every table of either side); BadInput before any table is hashed. A table
    on one side only is a difference of its own; the others are compared all the same."""
    if buckets < 1:
        raise BadInput(f"--buckets {buckets}: must be at least 1")
    with Pair(source_dsn, target_dsn) as pair:
        mode = _hash_mode(hash_mode, pair.both(_server_major))
        # Default: every table either side has; one missing on the other side is then reported as such.
        names = list(tables) or sorted(set().union(*pair.both(lambda conn, _: list_tables(conn))))
        plans: list[TablePlan | TableResult] = []
        for name in names:
            source, target = pair.both(lambda conn, side: _catalog_table(conn, side, name))  # noqa: B023
            if source is None and target is None:
                raise BadInput(f"table {name!r} exists on neither side")
            if source is None or target is None:
                plans.append(_one_sided(pair, name, "source" if target is None else "target"))
                continue
            text_types = unhashable_types(pair.conns["source"], [c.type for c in source.columns])
            plans.append(plan_table(source, target, name, columns or None, key or None, text_types))
        return Report(mode, [p if isinstance(p, TableResult) else compare_table(pair, p, mode, buckets, max_keys)
                             for p in plans])


def _one_sided(pair: Pair, name: str, side: Side) -> TableResult:
    """A table that exists on one side only: its row count there, nothing to compare it with."""
    conn = pair.conns[side]
    table = _catalog_table(conn, side, name)
    assert table is not None
    rows = conn.execute(f"SELECT count(*) FROM {table.relation}").fetchone()[0]  # type: ignore[index]
    return TableResult(table=name, key=list(table.primary_key), columns=[c.name for c in table.columns],
                       source_rows=rows if side == "source" else None,
                       target_rows=rows if side == "target" else None,
                       buckets=0, differing_buckets=0, only_on=side)
