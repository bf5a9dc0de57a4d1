"""RB-N-04's source: PostgreSQL, read only. A read-only session under a statement timeout, the operator's
--hot-slice parsed (pglast) as exactly one expression and sent only in single prepared statements, the documents
built by PostgreSQL (`to_json` of a row of the schema's fields), one REPEATABLE READ snapshot for every phase of a
run, and keyset-ordered server-side cursors yielding JSONL batches."""
from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ops.core.catalog import CATALOG_FILE, IndexSpec
from ops.drctl.runbooks.engine import BadInput

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql

EPOCH_SOURCE_TYPES = {"timestamp with time zone", "timestamp without time zone", "date"}
Key = int | str

DEFAULT_STATEMENT_TIMEOUT_S = 120  # bounds every statement the source runs for us (a slow --hot-slice too)


def connect_source(dsn: str, statement_timeout_s: float = DEFAULT_STATEMENT_TIMEOUT_S,
                   **credentials: str) -> psycopg.Connection:
    """Read-only session, read-only transactions, and a statement timeout: the reindex never writes to its
    source and never waits on it without bound, even through a hot-slice predicate."""
    import psycopg
    try:
        conn = psycopg.connect(dsn, connect_timeout=10, **credentials)
    except psycopg.Error as exc:
        raise BadInput(f"--source: cannot connect: {str(exc).strip()}") from None
    conn.read_only = True  # every transaction psycopg begins: BEGIN READ ONLY
    # and the session's default, should anything ever end that transaction early
    conn.execute("SELECT set_config('default_transaction_read_only', 'on', false), "
                 "set_config('statement_timeout', %s, false)", (f"{int(statement_timeout_s * 1000)}",))
    conn.commit()
    return conn


def table_identifier(table: str) -> sql.Identifier:
    from psycopg import sql
    return sql.Identifier(*table.split(".", 1))


def source_columns(conn: psycopg.Connection, table: str) -> dict[str, str]:
    """Column name → PostgreSQL type of the source table; BadInput if it does not exist."""
    row = conn.execute("SELECT to_regclass(%s)::oid", (table,)).fetchone()
    if row is None or row[0] is None:
        raise BadInput(f"source table {table!r} (ops/dr/typesense/{CATALOG_FILE}) does not exist in --source")
    columns = conn.execute("SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                           "WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped", (row[0],)).fetchall()
    return dict(columns)


def field_expression(spec_field: dict[str, Any], pg_type: str) -> sql.Composable:
    """The SQL giving a Typesense field's value from the same-named column of row `src`, in the type Typesense
    expects."""
    from psycopg import sql
    column, ts_type = sql.Identifier("src", spec_field["name"]), spec_field["type"]
    if ts_type in ("int32", "int64") and pg_type in EPOCH_SOURCE_TYPES:
        return sql.SQL("date_part('epoch', {})::bigint").format(column)  # Typesense sorts/filters on numbers
    if ts_type == "string" and pg_type not in ("text", "character varying") and not pg_type.startswith("char"):
        return sql.SQL("{}::text").format(column)
    if ts_type == "float" and pg_type.startswith("numeric"):
        return sql.SQL("{}::float8").format(column)
    return column


def document_sql(spec: IndexSpec, columns: dict[str, str]) -> sql.Composable:
    """A row of document fields computed from source row `src`, for `to_json`; BadInput naming the first schema
    field with no column. (`to_json` of a row is markedly cheaper than `json_build_object` here.)"""
    from psycopg import sql
    if spec.key not in columns:
        raise BadInput(f"source key {spec.key!r} is not a column of {spec.table}")
    items: list[sql.Composable] = [sql.SQL("{}::text AS id").format(sql.Identifier("src", spec.key))]
    for spec_field in spec.fields:
        name = spec_field["name"]
        if name not in columns:
            raise BadInput(f"schema field {name!r} of collection {spec.alias!r} has no column {name!r} in "
                           f"{spec.table} (fields map to same-named columns)")
        items.append(sql.SQL("{} AS {}").format(field_expression(spec_field, columns[name]), sql.Identifier(name)))
    return sql.SQL("SELECT {}").format(sql.SQL(", ").join(items))


def phase_filter(hot_slice: str | None, phase: str) -> sql.Composable:
    """Hot phase: the predicate; rest: everything else (a NULL predicate result counts as not hot); "all": every
    row. The predicate must have passed `parse_hot_slice` (one expression, nothing else)."""
    from psycopg import sql
    if not hot_slice or phase == "all":
        return sql.SQL("true")
    # operator-supplied SQL, as its parse tree re-rendered (one self-contained expression, whatever parentheses
    # or comments it came with), sent only with the extended protocol (one statement), inside a read-only
    # transaction, under a statement timeout
    predicate = sql.SQL(parse_hot_slice(hot_slice).expression)
    return sql.SQL("({})").format(predicate) if phase == "hot" else \
        sql.SQL("NOT coalesce(({}), false)").format(predicate)


@dataclass(frozen=True)
class HotSlice:
    expression: str  # the predicate re-rendered from its parse tree
    functions: tuple[str, ...]  # the functions it calls, as written (schema-qualified or not)


@functools.lru_cache(maxsize=8)
def parse_hot_slice(hot_slice: str) -> HotSlice:
    """BadInput unless the predicate is exactly one SQL expression: no statement separator, no set operation or
    clause smuggled around it, no statement that writes anywhere inside it."""
    from pglast import ast, parse_sql
    from pglast.parser import ParseError
    from pglast.stream import RawStream
    from pglast.visitors import Visitor

    def refuse(why: str) -> BadInput:
        return BadInput(f"--hot-slice {hot_slice!r}: {why}; it must be one boolean expression on the source "
                        "table's columns")
    try:
        statements = parse_sql(f"SELECT 1 WHERE ({hot_slice})")
    except ParseError as exc:
        raise refuse(f"not valid SQL ({exc})") from None
    if len(statements) != 1:
        raise refuse("more than one statement")
    select = statements[0].stmt
    extra = [name for name in ("fromClause", "groupClause", "havingClause", "sortClause", "limitCount",
                               "limitOffset", "lockingClause", "withClause", "windowClause", "distinctClause",
                               "intoClause", "larg", "rarg") if getattr(select, name, None)]
    if not isinstance(select, ast.SelectStmt) or select.op.name != "SETOP_NONE" or extra or \
            len(select.targetList or ()) != 1:
        raise refuse("more than an expression")

    class Inspect(Visitor):
        def __init__(self) -> None:
            self.functions: list[str] = []
            self.writes: list[str] = []

        def visit(self, ancestors: Any, node: Any) -> None:
            if isinstance(node, ast.FuncCall):
                self.functions.append(".".join(part.sval for part in node.funcname))
            elif isinstance(node, (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt, ast.MergeStmt)):
                self.writes.append(type(node).__name__)
            elif isinstance(node, ast.SelectStmt) and node.lockingClause:
                self.writes.append("SELECT ... FOR UPDATE/SHARE")

    inspect = Inspect()
    inspect(select.whereClause)
    if inspect.writes:
        raise refuse(f"it contains a statement that writes ({inspect.writes[0]})")
    return HotSlice(RawStream()(select.whereClause), tuple(inspect.functions))


def extended(conn: psycopg.Connection, query: sql.Composable, params: tuple[Any, ...] = ()) -> psycopg.Cursor:
    """A statement sent with the extended protocol (prepared), which carries exactly one statement: psycopg sends
    a query without parameters as a simple query, where `;` would start another one."""
    return conn.execute(query, params, prepare=True)


def check_hot_slice(conn: psycopg.Connection, spec: IndexSpec, hot_slice: str) -> None:
    """One expression (parsed), calling no volatile function (it would differ between the hot and the rest
    phases, and such functions are the ones with side effects), valid on the table (EXPLAIN, not run)."""
    import psycopg
    from psycopg import sql
    functions = list(parse_hot_slice(hot_slice).functions)
    if functions:
        volatile = extended(conn, sql.SQL(
            "SELECT DISTINCT f.name FROM unnest(%s::text[]) AS f(name) JOIN pg_proc p ON p.proname = "
            "split_part(f.name, '.', -1) WHERE p.provolatile = 'v' ORDER BY 1"), (functions,)).fetchall()
        if volatile:
            raise BadInput(f"--hot-slice {hot_slice!r}: calls volatile function {volatile[0][0]}(); a hot slice "
                           "may call only immutable or stable functions")
    try:
        with conn.transaction():  # a savepoint inside the snapshot's transaction
            extended(conn, sql.SQL("EXPLAIN SELECT 1 FROM {} WHERE {}").format(
                table_identifier(spec.table), phase_filter(hot_slice, "hot")))
    except psycopg.Error as exc:
        raise BadInput(f"--hot-slice {hot_slice!r}: not a valid predicate on {spec.table}: "
                       f"{str(exc).strip().splitlines()[0]}") from None


def count_rows(conn: psycopg.Connection, spec: IndexSpec, hot: sql.Composable) -> tuple[int, int]:
    """(all rows, rows matching `hot`) in one scan."""
    from psycopg import sql
    row = extended(conn, sql.SQL("SELECT count(*), count(*) FILTER (WHERE {}) FROM {}").format(
        hot, table_identifier(spec.table))).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def changed_since(snapshot: str) -> sql.Composable:
    """Rows whose current version a transaction wrote after `snapshot` (a pg_snapshot's text) was taken: the
    row's xmin, widened to a 64-bit xid8 with the current epoch (wrap-around can only add rows, and an extra
    upsert is harmless), is not visible in that snapshot."""
    from psycopg import sql
    return sql.SQL(
        "NOT pg_visible_in_snapshot((SELECT CASE WHEN full_xid > now_xid THEN full_xid - 4294967296 ELSE full_xid "
        "END FROM (SELECT ((now_xid >> 32) << 32) | xmin::text::bigint AS full_xid, now_xid FROM (SELECT "
        "pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS now_xid) AS x) AS y)::text::xid8, "
        "{}::pg_snapshot)").format(sql.Literal(snapshot))


class Snapshot:
    """One REPEATABLE READ, READ ONLY transaction on the source for every phase of a run (validation, hot slice,
    the rest, verification): each reads the same consistent state, however busy the table is."""

    isolation = "REPEATABLE_READ"  # the benchmark sets READ_COMMITTED to measure what the snapshot costs

    def __init__(self, conn: psycopg.Connection) -> None:
        import psycopg
        self.conn = conn
        conn.isolation_level = psycopg.IsolationLevel[self.isolation]
        row = conn.execute("SELECT pg_current_snapshot()::text", prepare=True).fetchone()  # the snapshot is taken
        self.id: str = row[0] if row else ""
        self.read_whole: set[str] = set()  # phases read from start to end in this snapshot

    def close(self) -> None:
        if not self.conn.closed:
            self.conn.rollback()
            self.conn.close()


@dataclass(frozen=True)
class Batch:
    seq: int
    last_key: Key
    count: int
    body: bytes  # JSONL


def stream_batches(conn: psycopg.Connection, spec: IndexSpec, documents: sql.Composable, where: sql.Composable,
                   after: Key | None, batch_size: int) -> Iterator[Batch]:
    """Rows in key order after `after`, through a server-side cursor (memory stays one batch per fetch)."""
    from psycopg import sql
    key = sql.Identifier(spec.key)
    after_clause = sql.SQL("true") if after is None else sql.SQL("{} > {}").format(key, sql.Literal(after))
    # The filter runs on the bare table (the hot-slice predicate names its columns unqualified), the documents
    # are built beside each row; the planner flattens both into one index scan in key order.
    query = sql.SQL("SELECT src.{key}, to_json(doc)::text FROM (SELECT * FROM {table} WHERE {where} AND {after}) "
                    "AS src CROSS JOIN LATERAL ({documents}) AS doc ORDER BY src.{key}").format(
        key=key, documents=documents, table=table_identifier(spec.table), where=where, after=after_clause)
    # No transaction of its own: the cursor reads in the caller's (the run's snapshot)
    with conn.cursor(name="drctl_reindex") as cursor:
        cursor.itersize = batch_size
        cursor.execute(query)
        seq = 0
        while rows := cursor.fetchmany(batch_size):
            last = rows[-1][0]
            yield Batch(seq, last if isinstance(last, int) else str(last), len(rows),
                        "\n".join(row[1] for row in rows).encode())
            seq += 1


def missing_keys(conn: psycopg.Connection, spec: IndexSpec, columns: dict[str, str], ids: list[str]) -> list[str]:
    """Those of the document ids `ids` whose row no longer exists in the source table (in the caller's snapshot)."""
    from psycopg import sql
    gone_sql = sql.SQL("SELECT t.id FROM unnest(%s::text[]) AS t(id) WHERE NOT EXISTS (SELECT 1 FROM {} AS s "
                       "WHERE s.{} = t.id::{})").format(table_identifier(spec.table), sql.Identifier(spec.key),
                                                       sql.SQL(columns[spec.key]))  # the type from the catalog
    return [row[0] for row in extended(conn, gone_sql, (ids,)).fetchall()]
