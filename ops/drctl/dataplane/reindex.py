"""RB-N-04 Typesense total loss: rebuild a collection from PostgreSQL, hot slice first, then swap the alias.

validate (read-only) → create collection → import hot slice → import the rest → verify counts → swap alias →
drop old → throughput. Searches keep using the alias, which points at the old collection (if any) until the
swap, and Typesense repoints an alias atomically. The old collection is dropped only after the swap.

Streaming: one server-side (named) cursor per phase, keyset-ordered by the primary key, PostgreSQL building each
document's JSON with `to_json` (far cheaper than Python on a 2-core box); JSONL batches go to
`documents/import?action=upsert` from a small thread pool, with at most 2 × concurrency batches in memory.
HTTP 503/429 is Typesense's back-pressure (it refuses every write while it lags): the same request is sent
again after a bounded exponential back-off. Any line with `success:false` fails the run.

Consistent: validation, hot slice, rest and count check read one REPEATABLE READ, READ ONLY transaction (one
snapshot), so a source written to meanwhile still verifies; a resumed run (a new snapshot) reconciles first.
The operator's --hot-slice is parsed as one expression and sent only in single prepared statements.

Resumable: after each acknowledged batch the checkpoint file records the last key of the longest prefix of
batches that are all acknowledged (batches finish out of order), so `--resume` continues after that key; upsert
makes a batch sent twice harmless.
"""
from __future__ import annotations

import functools
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests
from tenacity import RetryCallState, retry, retry_if_exception_type, stop_after_delay, wait_exponential_jitter

from ops.actions import secrets
from ops.core.paths import TYPESENSE_CONFIG_DIR
from ops.drctl.runbooks.engine import BadInput, Runbook, RunContext, Step

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql

NAME = "RB-N-04 Typesense reindex"
CONFIG_DIR = TYPESENSE_CONFIG_DIR
CONFIG_FILE = "reindex.json"
EPOCH_SOURCE_TYPES = {"timestamp with time zone", "timestamp without time zone", "date"}
Key = int | str


# ---- configuration kept in the repo (ops/dr/typesense) ---------------------------------------------------------

@dataclass(frozen=True)
class IndexSpec:
    alias: str
    schema: dict[str, Any]  # Typesense collection schema; "name" is replaced by the versioned collection name
    table: str
    key: str
    catalog_documents: int
    catalog_hot_documents: int
    windows_minutes: dict[str, float]

    @property
    def fields(self) -> list[dict[str, Any]]:
        return list(self.schema["fields"])


def configured_collections(config_dir: Path = CONFIG_DIR) -> list[str]:
    """The collections ops/dr/typesense/reindex.json knows, e.g. for a runbook's follow-up commands."""
    try:
        return sorted(json.loads((config_dir / CONFIG_FILE).read_text()).get("collections", {}))
    except (OSError, ValueError) as exc:
        raise BadInput(f"--config-dir {config_dir}: cannot read {CONFIG_FILE}: {exc}") from None


def load_spec(collection: str, config_dir: Path = CONFIG_DIR) -> IndexSpec:
    try:
        config = json.loads((config_dir / CONFIG_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise BadInput(f"--config-dir {config_dir}: cannot read {CONFIG_FILE}: {exc}") from None
    entry = config.get("collections", {}).get(collection)
    if entry is None:
        known = ", ".join(sorted(config.get("collections", {}))) or "none"
        raise BadInput(f"--collection {collection!r}: not configured in {config_dir / CONFIG_FILE} (known: {known})")
    try:
        schema = json.loads((config_dir / entry["schema"]).read_text())
    except (OSError, ValueError) as exc:
        raise BadInput(f"--collection {collection!r}: cannot read schema {entry['schema']}: {exc}") from None
    return IndexSpec(alias=collection, schema=schema, table=entry["source"]["table"], key=entry["source"]["key"],
                     catalog_documents=int(entry["catalog"]["documents"]),
                     catalog_hot_documents=int(entry["catalog"]["hot_documents"]),
                     windows_minutes={k: float(v) for k, v in config["windows_minutes"].items()})


# ---- PostgreSQL side -------------------------------------------------------------------------------------------

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


def _table_identifier(table: str) -> sql.Identifier:
    from psycopg import sql
    return sql.Identifier(*table.split(".", 1))


def source_columns(conn: psycopg.Connection, table: str) -> dict[str, str]:
    """Column name → PostgreSQL type of the source table; BadInput if it does not exist."""
    row = conn.execute("SELECT to_regclass(%s)::oid", (table,)).fetchone()
    if row is None or row[0] is None:
        raise BadInput(f"source table {table!r} (ops/dr/typesense/{CONFIG_FILE}) does not exist in --source")
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


def _extended(conn: psycopg.Connection, query: sql.Composable, params: tuple[Any, ...] = ()) -> psycopg.Cursor:
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
        volatile = _extended(conn, sql.SQL(
            "SELECT DISTINCT f.name FROM unnest(%s::text[]) AS f(name) JOIN pg_proc p ON p.proname = "
            "split_part(f.name, '.', -1) WHERE p.provolatile = 'v' ORDER BY 1"), (functions,)).fetchall()
        if volatile:
            raise BadInput(f"--hot-slice {hot_slice!r}: calls volatile function {volatile[0][0]}(); a hot slice "
                           "may call only immutable or stable functions")
    try:
        with conn.transaction():  # a savepoint inside the snapshot's transaction
            _extended(conn, sql.SQL("EXPLAIN SELECT 1 FROM {} WHERE {}").format(
                _table_identifier(spec.table), phase_filter(hot_slice, "hot")))
    except psycopg.Error as exc:
        raise BadInput(f"--hot-slice {hot_slice!r}: not a valid predicate on {spec.table}: "
                       f"{str(exc).strip().splitlines()[0]}") from None


def count_rows(conn: psycopg.Connection, spec: IndexSpec, hot: sql.Composable) -> tuple[int, int]:
    """(all rows, rows matching `hot`) in one scan."""
    from psycopg import sql
    row = _extended(conn, sql.SQL("SELECT count(*), count(*) FILTER (WHERE {}) FROM {}").format(
        hot, _table_identifier(spec.table))).fetchone()
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
        key=key, documents=documents, table=_table_identifier(spec.table), where=where, after=after_clause)
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


# ---- Typesense side --------------------------------------------------------------------------------------------

class Backpressure(Exception):
    """HTTP 503 / 429 from Typesense: slow down and send the same batch again."""


class ImportRejected(RuntimeError):
    """Typesense refused documents (`success:false` lines); the run fails, the alias is not touched."""


class TypesenseError(RuntimeError):
    pass


CONNECTION_ATTEMPTS = 6  # ~3 s of back-off: enough for a restarting node, short for a wrong or dead URL


def _unreachable_too_long(state: RetryCallState) -> bool:
    failure = state.outcome.exception() if state.outcome else None
    return isinstance(failure, requests.ConnectionError) and state.attempt_number >= CONNECTION_ATTEMPTS


@dataclass
class TypesenseClient:
    url: str
    api_key: str
    timeout: float = 120
    backpressure_timeout: float = 600  # give up on a batch after this long of 503s
    backpressure_waits: int = 0
    _session: requests.Session = field(default_factory=requests.Session, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.url = self.url.rstrip("/")
        self._session.headers["X-TYPESENSE-API-KEY"] = self.api_key
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=16)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One request; on back-pressure (503/429, which Typesense answers to every write while it lags) or a
        refused connection, the same request is sent again after a bounded exponential back-off."""
        @retry(retry=retry_if_exception_type((Backpressure, requests.ConnectionError)), reraise=True,
               wait=wait_exponential_jitter(multiplier=0.05, max=5),
               stop=stop_after_delay(self.backpressure_timeout) | _unreachable_too_long)
        def send() -> requests.Response:
            response = self._session.request(method, f"{self.url}{path}", **{"timeout": self.timeout, **kwargs})
            if response.status_code in (429, 503):
                with self._lock:
                    self.backpressure_waits += 1
                raise Backpressure(f"{method} {path}: HTTP {response.status_code}")
            return response
        return send()

    def _checked(self, response: requests.Response, allowed: tuple[int, ...] = ()) -> requests.Response:
        if response.status_code >= 400 and response.status_code not in allowed:
            raise TypesenseError(f"{response.request.method} {response.request.path_url}: HTTP "
                                 f"{response.status_code} {response.text[:300]}")
        return response

    def check_access(self) -> None:
        """BadInput unless the server answers and accepts the key (GET /collections needs a valid key)."""
        try:
            response = self._session.get(f"{self.url}/collections", timeout=10)  # no retries: a bad URL is bad input
        except requests.RequestException as exc:
            raise BadInput(f"--typesense {self.url}: not reachable: {exc}") from None
        if response.status_code in (401, 403):
            raise BadInput(f"--typesense {self.url}: the API key in --api-key-env was refused")
        self._checked(response)

    def alias_target(self, alias: str) -> str | None:
        response = self._checked(self._request("GET", f"/aliases/{alias}"), allowed=(404,))
        return None if response.status_code == 404 else response.json()["collection_name"]

    def collection(self, name: str) -> dict[str, Any] | None:
        response = self._checked(self._request("GET", f"/collections/{name}"), allowed=(404,))
        return None if response.status_code == 404 else response.json()

    def ensure_collection(self, schema: dict[str, Any]) -> bool:
        """Create it; True if created now, False if it already existed (a resumed run)."""
        response = self._checked(self._request("POST", "/collections", json=schema), allowed=(409,))
        return response.status_code != 409

    def point_alias(self, alias: str, collection: str) -> None:
        self._checked(self._request("PUT", f"/aliases/{alias}", json={"collection_name": collection}))

    def collection_names(self) -> list[str]:
        return [c["name"] for c in self._checked(self._request("GET", "/collections")).json()]

    def drop_collection(self, name: str) -> bool:
        return self._checked(self._request("DELETE", f"/collections/{name}"), allowed=(404,)).status_code != 404

    def document_ids(self, collection: str) -> Iterator[str]:
        """Every document id in the collection, streamed (export with only the id field)."""
        response = self._checked(self._request("GET", f"/collections/{collection}/documents/export",
                                               params={"include_fields": "id"}, stream=True))
        with response:
            for line in response.iter_lines():
                if line.strip():
                    yield str(json.loads(line)["id"])

    def delete_document(self, collection: str, document_id: str) -> bool:
        return self._checked(self._request("DELETE", f"/collections/{collection}/documents/{document_id}"),
                             allowed=(404,)).status_code != 404

    def import_batch(self, collection: str, body: bytes) -> int:
        """Upsert one JSONL batch; retries the same batch on back-pressure; returns documents accepted."""
        response = self._checked(self._request("POST", f"/collections/{collection}/documents/import",
                                                params={"action": "upsert"}, data=body,
                                                headers={"Content-Type": "text/plain"}))
        lines = [line for line in response.content.splitlines() if line.strip()]
        if b'"success":false' not in response.content:  # the usual case: no need to parse 5,000 lines
            return len(lines)
        failed = [r for r in map(json.loads, lines) if not r.get("success")]
        first = failed[0]
        raise ImportRejected(f"{len(failed)} of {len(lines)} documents rejected by Typesense, first: "
                             f"{first.get('error')} in {str(first.get('document'))[:200]}")


# ---- import loop with an out-of-order-safe checkpoint ----------------------------------------------------------

@dataclass
class Progress:
    """How far a phase got: every document with key ≤ last_key is acknowledged by Typesense."""
    last_key: Key | None = None
    imported: int = 0
    seconds: float = 0.0
    done: bool = False
    read_since: str | None = None  # the source snapshot (pg_snapshot text) its first batch was read in


class Watermark:
    """Batches finish out of order; the checkpoint advances only over a gap-free prefix of acknowledged ones."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self._next_seq = 0
        self._acked: dict[int, Batch] = {}

    def ack(self, batch: Batch) -> bool:
        """Record one acknowledged batch; True if the checkpoint moved."""
        self._acked[batch.seq] = batch
        moved = False
        while self._next_seq in self._acked:
            done = self._acked.pop(self._next_seq)
            self.progress.last_key, self.progress.imported = done.last_key, self.progress.imported + done.count
            self._next_seq += 1
            moved = True
        return moved


def import_batches(batches: Iterable[Batch], send: Callable[[Batch], int], concurrency: int,
                   progress: Progress, on_checkpoint: Callable[[Progress], None]) -> Progress:
    """Send batches with `concurrency` in flight and as many queued (memory bound), checkpoint as acks arrive."""
    watermark = Watermark(progress)
    in_flight: dict[Future[int], Batch] = {}

    def settle(done: Iterable[Future[int]]) -> None:
        for future in done:
            batch = in_flight.pop(future)
            future.result()  # raises ImportRejected / TypesenseError: the run stops, the checkpoint stays put
            if watermark.ack(batch):
                on_checkpoint(progress)

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="ts-import") as pool:
        try:
            for batch in batches:
                if len(in_flight) >= 2 * concurrency:
                    settle(wait(in_flight, return_when=FIRST_COMPLETED).done)
                in_flight[pool.submit(send, batch)] = batch
            settle(wait(in_flight).done)
        except BaseException:
            for future in in_flight:
                future.cancel()
            raise
    return progress


# ---- checkpoint file -------------------------------------------------------------------------------------------

def load_checkpoint(path: Path) -> dict[str, Progress]:
    if not path.is_file():
        return {}
    return {phase: Progress(**values) for phase, values in json.loads(path.read_text()).items()}


def save_checkpoint(path: Path, phases: dict[str, Progress]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({phase: vars(p) for phase, p in phases.items()}))
    os.replace(tmp, path)  # atomic: a crash leaves the previous checkpoint or this one


# ---- runbook ---------------------------------------------------------------------------------------------------

def abandoned_generations(alias: str, names: Iterable[str], target: str) -> list[str]:
    """`<alias>_v<time>` collections older than `target`, once the alias serves `target`: what runs that failed or
    were stopped before their swap left behind (Typesense holds every collection in memory)."""
    pattern = re.compile(rf"^{re.escape(alias)}_v\d{{8}}T\d{{9}}Z$")
    return sorted(n for n in names if pattern.match(n) and n < target)


def versioned_name(alias: str, when: datetime) -> str:
    """`<alias>_v<UTC time to the millisecond>`: sorts by age, and two runs never share a name."""
    return f"{alias}_v{when.astimezone(UTC):%Y%m%dT%H%M%S}{when.microsecond // 1000:03d}Z"


def run_params(*, source: str, typesense_url: str, api_key_env: str, collection: str, hot_slice: str | None,
               batch_size: int, concurrency: int, config_dir: Path, journal_dir: Path,
               source_secret_arn: str | None = None, prune_abandoned: bool = False,
               statement_timeout_s: float = DEFAULT_STATEMENT_TIMEOUT_S) -> dict[str, Any]:
    """The run's parameters as journaled (no secrets: the key stays in its environment variable, the database
    password in libpq's environment or in the secret named by its ARN)."""
    target = versioned_name(collection, datetime.now(UTC))
    return {"source": source, "source_secret_arn": source_secret_arn, "prune_abandoned": prune_abandoned,
            "typesense_url": typesense_url,
            "api_key_env": api_key_env,
            "collection": collection, "hot_slice": (hot_slice or "").strip() or None,
            "batch_size": batch_size, "concurrency": concurrency, "config_dir": str(config_dir),
            "statement_timeout_s": statement_timeout_s,
            "target": target, "checkpoint_path": str(journal_dir / f"reindex-{target}.checkpoint.json")}


def _connect(ctx: RunContext) -> psycopg.Connection:
    """The source, as the user of --source-secret when one is given: read from Secrets Manager at each connect
    (a resumed run reads it again), never journaled."""
    arn = ctx.params.get("source_secret_arn")
    timeout = float(ctx.params.get("statement_timeout_s") or DEFAULT_STATEMENT_TIMEOUT_S)
    if not arn:
        return connect_source(ctx.params["source"], timeout)
    try:
        user, password = secrets.database_credentials(ctx.client("secretsmanager", secrets.region_of(arn)), arn)
    except (LookupError, ValueError) as exc:
        raise BadInput(f"--source-secret: {exc}") from None
    return connect_source(ctx.params["source"], timeout, user=user, password=password)


_SNAPSHOTS: dict[str, Snapshot] = {}  # run id → the run's open snapshot (the steps of one process share it)


def _snapshot(ctx: RunContext) -> Snapshot:
    """The run's snapshot, taken by the first step that reads the source in this process. A resumed run (a new
    process) takes a new one; `_verify_counts` then reconciles what changed in between."""
    if ctx.run_id not in _SNAPSHOTS:
        _SNAPSHOTS[ctx.run_id] = Snapshot(_connect(ctx))
    return _SNAPSHOTS[ctx.run_id]


def _release_snapshot(ctx: RunContext) -> None:
    snapshot = _SNAPSHOTS.pop(ctx.run_id, None)
    if snapshot is not None:
        snapshot.close()


def _reading_source(action: Callable[[RunContext], dict[str, Any]], last: bool = False,
                    timeout_is_bad_input: bool = False) -> Callable[[RunContext], dict[str, Any]]:
    """A step that reads the run's snapshot: a failure (or the last reader) ends the snapshot's transaction, and
    a statement cancelled by the statement timeout says so."""
    def step(ctx: RunContext) -> dict[str, Any]:
        try:
            result = action(ctx)
        except Exception as exc:
            import psycopg
            _release_snapshot(ctx)
            if isinstance(exc, psycopg.errors.QueryCanceled):
                limit = ctx.params.get("statement_timeout_s") or DEFAULT_STATEMENT_TIMEOUT_S
                what = f"--hot-slice {ctx.params['hot_slice']!r}: " if ctx.params.get("hot_slice") else ""
                message = (f"{what}the source did not answer within --statement-timeout {limit:g} s "
                           f"(statement_timeout): {str(exc).strip().splitlines()[0]}")
                raise (BadInput(message) if timeout_is_bad_input else RuntimeError(message)) from None
            raise
        if last or not ctx.execute:  # a dry run reads only in validate
            _release_snapshot(ctx)
        return result
    return step


def _spec(ctx: RunContext) -> IndexSpec:
    return load_spec(ctx.params["collection"], Path(ctx.params["config_dir"]))


def _typesense(ctx: RunContext) -> TypesenseClient:
    variable = ctx.params["api_key_env"]
    key = os.environ.get(variable, "").strip()
    if not key:
        raise BadInput(f"environment variable {variable} (--api-key-env) is not set or empty: it must hold the "
                       "Typesense admin API key")
    return TypesenseClient(ctx.params["typesense_url"], key)


def _validate(ctx: RunContext) -> dict[str, Any]:
    """Everything is checked before anything changes: config, source, every field's column, Typesense."""
    spec, params = _spec(ctx), ctx.params
    client = _typesense(ctx)
    if params["hot_slice"]:
        parse_hot_slice(params["hot_slice"])  # before anything reaches the source
    conn = _snapshot(ctx).conn
    columns = source_columns(conn, spec.table)
    document_sql(spec, columns)  # raises BadInput naming a schema field without a column
    if params["hot_slice"]:
        check_hot_slice(conn, spec, params["hot_slice"])
    source_rows, hot_rows = count_rows(conn, spec, phase_filter(params["hot_slice"], "hot"))
    hot_rows = hot_rows if params["hot_slice"] else 0  # without a hot slice, everything is "the rest"
    if source_rows == 0:  # an empty restore or the wrong database must not replace a working index
        raise BadInput(f"source table {spec.table} in --source has no rows: nothing to rebuild from")
    client.check_access()
    target = params["target"]
    old = client.alias_target(spec.alias)
    if old is None and client.collection(spec.alias) is not None:
        old = spec.alias  # a plain collection under the alias's name: the alias will take over, then it goes
    if old == target:
        raise BadInput(f"alias {spec.alias!r} already points at {target!r}")
    return {"alias": spec.alias, "target": target, "old_collection": old, "source_table": spec.table,
            "source_rows": source_rows, "hot_rows": hot_rows, "fields": [f["name"] for f in spec.fields]}


def _create_collection(ctx: RunContext) -> dict[str, Any]:
    spec = _spec(ctx)
    client = _typesense(ctx)
    created = client.ensure_collection({**spec.schema, "name": ctx.params["target"]})
    return {"collection": ctx.params["target"], "created": created,
            "backpressure_retries": client.backpressure_waits}


def _import_step(phase: str) -> Step:
    def action(ctx: RunContext) -> dict[str, Any]:
        params, spec, client = ctx.params, _spec(ctx), _typesense(ctx)
        if phase == "hot" and not params["hot_slice"]:
            return {"skipped": "no --hot-slice"}
        checkpoint_path = Path(params["checkpoint_path"])
        phases = load_checkpoint(checkpoint_path)
        progress = phases.setdefault(phase, Progress())
        resumed_from = progress.imported
        started = time.monotonic()
        base_seconds = progress.seconds

        def checkpoint(p: Progress) -> None:
            p.seconds = round(base_seconds + time.monotonic() - started, 3)
            save_checkpoint(checkpoint_path, phases)

        snapshot = _snapshot(ctx)
        if progress.read_since is None:
            progress.read_since = snapshot.id
        whole = progress.last_key is None
        # "the rest" is "not hot" only when the hot slice was read whole in this same snapshot; after a resume
        # the predicate may select other rows now (a time-based slice moves), so the rest is then every row
        # after the checkpoint: a row sent twice is upserted, a row in neither phase would be lost
        hot_here = "hot" in snapshot.read_whole or not params["hot_slice"]
        where = phase_filter(params["hot_slice"], phase if phase == "hot" or hot_here else "all")
        documents = document_sql(spec, source_columns(snapshot.conn, spec.table))
        batches = stream_batches(snapshot.conn, spec, documents, where, progress.last_key, params["batch_size"])
        import_batches(batches, lambda b: client.import_batch(params["target"], b.body),
                       params["concurrency"], progress, checkpoint)
        if whole:
            snapshot.read_whole.add(phase)
        progress.done = True
        checkpoint(progress)
        return {"imported": progress.imported, "resumed_from": resumed_from,
                "imported_this_attempt": progress.imported - resumed_from, "seconds": progress.seconds,
                "docs_per_s": round(progress.imported / progress.seconds, 1) if progress.seconds else None,
                "backpressure_retries": client.backpressure_waits}

    def would_call(ctx: RunContext) -> list[str]:
        params, pre = ctx.params, ctx.results["validate"]
        if phase == "hot" and not params["hot_slice"]:
            return ["nothing: no --hot-slice"]
        rows = pre["hot_rows"] if phase == "hot" else pre["source_rows"] - pre["hot_rows"]
        where = phase_filter(params["hot_slice"], phase).as_string(None) if params["hot_slice"] else "all rows"
        return [f"stream {rows} rows of {pre['source_table']} WHERE {where} ORDER BY key (server-side cursor)",
                f"POST /collections/{params['target']}/documents/import?action=upsert: "
                f"{-(-rows // params['batch_size'])} batches of ≤ {params['batch_size']}, "
                f"{params['concurrency']} in parallel"]

    description = ("import the hot slice first" if phase == "hot" else "import every other row")
    return Step(f"import_{phase}", description, _reading_source(action), would_call=would_call)


def _reconcile(ctx: RunContext, snapshot: Snapshot, since: str) -> dict[str, Any]:
    """Bring a collection imported over several snapshots (a resumed run) to this snapshot: upsert every row
    written since the oldest one, delete the documents whose rows are gone."""
    from psycopg import sql
    params, spec, client = ctx.params, _spec(ctx), _typesense(ctx)
    columns = source_columns(snapshot.conn, spec.table)
    changed = Progress()
    import_batches(stream_batches(snapshot.conn, spec, document_sql(spec, columns), changed_since(since), None,
                                  params["batch_size"]),
                   lambda b: client.import_batch(params["target"], b.body), params["concurrency"], changed,
                   lambda p: None)
    gone_sql = sql.SQL("SELECT t.id FROM unnest(%s::text[]) AS t(id) WHERE NOT EXISTS (SELECT 1 FROM {} AS s "
                       "WHERE s.{} = t.id::{})").format(_table_identifier(spec.table), sql.Identifier(spec.key),
                                                       sql.SQL(columns[spec.key]))  # the type from the catalog
    gone: list[str] = []
    ids = client.document_ids(params["target"])
    while chunk := [i for _, i in zip(range(params["batch_size"]), ids)]:
        gone += [row[0] for row in _extended(snapshot.conn, gone_sql, (chunk,)).fetchall()]
    deleted = sum(client.delete_document(params["target"], document_id) for document_id in gone)
    return {"since": since, "upserted": changed.imported, "deleted": deleted}


def _verify_counts(ctx: RunContext) -> dict[str, Any]:
    """Documents indexed == rows in the snapshot the imports read. After a resume (imports read in more than one
    snapshot), the collection is first reconciled to the current snapshot."""
    spec, snapshot = _spec(ctx), _snapshot(ctx)
    phases = load_checkpoint(Path(ctx.params["checkpoint_path"]))
    read_in = [p.read_since for p in (phases.get("hot"), phases.get("rest")) if p and p.read_since]
    reconciled = _reconcile(ctx, snapshot, read_in[0]) if any(s != snapshot.id for s in read_in) else None
    source_rows, _ = count_rows(snapshot.conn, spec, phase_filter(None, "all"))
    info = _typesense(ctx).collection(ctx.params["target"])
    indexed = int(info["num_documents"]) if info else 0
    if indexed != source_rows:
        raise RuntimeError(f"{ctx.params['target']} holds {indexed} documents, {spec.table} has {source_rows} "
                           f"rows in the snapshot read: alias not swapped")
    return {"source_rows": source_rows, "indexed": indexed, "snapshot": snapshot.id, "reconciled": reconciled}


def _swap_alias(ctx: RunContext) -> dict[str, Any]:
    client, pre = _typesense(ctx), ctx.results["validate"]
    client.point_alias(pre["alias"], ctx.params["target"])  # atomic on the server; repeating it is harmless
    return {"alias": pre["alias"], "now": ctx.params["target"], "before": pre["old_collection"]}


def _drop_old(ctx: RunContext) -> dict[str, Any]:
    validated, target = ctx.results["validate"], ctx.params["target"]
    old, alias = validated["old_collection"], validated["alias"]
    prune = ctx.params.get("prune_abandoned")  # unattended runs (B's search feed): nobody else cleans up after them
    if old is None and not prune:
        return {"dropped": None}
    client = _typesense(ctx)
    if client.alias_target(alias) != target:
        raise RuntimeError(f"alias does not point at {target}: {old or 'nothing'} dropped or pruned")
    result: dict[str, Any] = {"dropped": old, "existed": client.drop_collection(old) if old else None}
    if prune:
        abandoned = abandoned_generations(alias, client.collection_names(), target)
        result["pruned"] = [name for name in abandoned if client.drop_collection(name)]
    return result


def throughput(imported: int, seconds: float, spec: IndexSpec) -> dict[str, Any]:
    """docs/s measured, and what that rate means for the configured catalog against both windows."""
    rate = imported / seconds if seconds > 0 else 0.0
    hot_min = spec.catalog_hot_documents / rate / 60 if rate else float("inf")
    full_min = spec.catalog_documents / rate / 60 if rate else float("inf")
    return {"docs": imported, "seconds": round(seconds, 3), "docs_per_s": round(rate, 1),
            "catalog_documents": spec.catalog_documents, "catalog_hot_documents": spec.catalog_hot_documents,
            "hot_minutes": round(hot_min, 2), "hot_window_minutes": spec.windows_minutes["hot"],
            "hot_within_window": hot_min <= spec.windows_minutes["hot"],
            "full_minutes": round(full_min, 2), "full_window_minutes": spec.windows_minutes["full"],
            "full_within_window": full_min <= spec.windows_minutes["full"]}


def _throughput(ctx: RunContext) -> dict[str, Any]:
    phases = [ctx.results.get(f"import_{p}", {}) for p in ("hot", "rest")]
    result = throughput(sum(p.get("imported", 0) for p in phases), sum(p.get("seconds", 0.0) for p in phases),
                        _spec(ctx))
    ctx.console.print(
        f"reindex rate {result['docs_per_s']:,.0f} docs/s → catalog of {result['catalog_documents']:,} docs: "
        f"hot slice ({result['catalog_hot_documents']:,}) {result['hot_minutes']:.1f} min vs window "
        f"{result['hot_window_minutes']:g} min ({'ok' if result['hot_within_window'] else 'OVER'}), full "
        f"{result['full_minutes']:.1f} min vs window {result['full_window_minutes']:g} min "
        f"({'ok' if result['full_within_window'] else 'OVER'})")
    return result


def _plan_create(ctx: RunContext) -> list[str]:
    spec = _spec(ctx)
    fields = ", ".join(f"{f['name']}:{f['type']}" for f in spec.fields)
    return [f"POST /collections name={ctx.params['target']} fields=[{fields}]"]


def _plan_swap(ctx: RunContext) -> list[str]:
    pre = ctx.results["validate"]
    return [f"PUT /aliases/{pre['alias']} collection_name={ctx.params['target']} (now: {pre['old_collection']})"]


def _plan_drop(ctx: RunContext) -> list[str]:
    old = ctx.results["validate"]["old_collection"]
    calls = [f"DELETE /collections/{old} after the alias points at {ctx.params['target']}" if old
             else "nothing: no collection behind the alias before"]
    if ctx.params.get("prune_abandoned"):
        calls.append(f"DELETE each {ctx.params['collection']}_v<time> older than {ctx.params['target']} that the "
                     "alias does not serve (left by runs that never swapped)")
    return calls


def runbook() -> Runbook:
    return Runbook(NAME, [
        Step("validate", "config, source table and columns, hot slice, Typesense and its key",
             _reading_source(_validate, timeout_is_bad_input=True), read_only=True),
        Step("create_collection", "create the versioned collection from the repo's schema",
             _reading_source(_create_collection),
             would_call=_plan_create),
        _import_step("hot"),
        _import_step("rest"),
        Step("verify_counts", "documents indexed == source rows in the snapshot read",
             _reading_source(_verify_counts, last=True),
             would_call=lambda ctx: [f"GET /collections/{ctx.params['target']}: num_documents must equal "
                                     f"{ctx.results['validate']['source_rows']}"]),
        Step("swap_alias", "point the alias at the new collection (atomic)", _swap_alias, would_call=_plan_swap),
        Step("drop_old", "drop the previous collection, only after the swap", _drop_old, would_call=_plan_drop),
        Step("throughput", "docs/s and the catalog's time against the windows", _throughput,
             would_call=lambda ctx: ["print docs/s and the extrapolated hot/full times"]),
    ])
