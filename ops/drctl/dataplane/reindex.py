"""RB-N-04 Typesense total loss: rebuild a collection from PostgreSQL, hot slice first, then swap the alias.

validate (read-only) → create collection → import hot slice → import the rest → verify counts → swap alias →
drop old → throughput. Searches keep using the alias, which points at the old collection (if any) until the
swap, and Typesense repoints an alias atomically. The old collection is dropped only after the swap.

The runbook's parts: the search catalog (ops/core/catalog.py: collections, schemas, sizes, windows), the source
(sql_source.py: PostgreSQL read only, the hot slice, one snapshot, keyset cursors) and Typesense
(typesense_client.py: collections, aliases, imports under back-pressure). This module holds the steps and the
checkpoints.

Streaming: one server-side (named) cursor per phase, keyset-ordered by the primary key, PostgreSQL building each
document's JSON with `to_json` (far cheaper than Python on a 2-core box); JSONL batches go to
`documents/import?action=upsert` from a small thread pool, with at most 2 × concurrency batches in memory.
Any line with `success:false` fails the run.

Consistent: validation, hot slice, rest and count check read one REPEATABLE READ, READ ONLY transaction (one
snapshot), so a source written to meanwhile still verifies; a resumed run (a new snapshot) reconciles first.

Resumable: after each acknowledged batch the checkpoint file records the last key of the longest prefix of
batches that are all acknowledged (batches finish out of order), so `--resume` continues after that key; upsert
makes a batch sent twice harmless.
"""
from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ops.actions import secrets
from ops.core import catalog
from ops.core.catalog import CATALOG_DIR as CONFIG_DIR
from ops.core.catalog import CatalogError, IndexSpec
from ops.drctl.dataplane.sql_source import (
    DEFAULT_STATEMENT_TIMEOUT_S,
    Batch,
    Key,
    Snapshot,
    changed_since,
    check_hot_slice,
    connect_source,
    count_rows,
    document_sql,
    missing_keys,
    parse_hot_slice,
    phase_filter,
    source_columns,
    stream_batches,
)
from ops.drctl.dataplane.typesense_client import TypesenseClient
from ops.drctl.runbooks.engine import BadInput, Runbook, RunContext, Step

if TYPE_CHECKING:
    import psycopg

NAME = "RB-N-04 Typesense reindex"


def _bad_input(error: CatalogError) -> BadInput:
    return BadInput(f"--{error.about.replace('_', '-')} {error.value}: {error.problem}")


def configured_collections(config_dir: Path = CONFIG_DIR) -> list[str]:
    """The collections ops/dr/typesense/reindex.json knows, e.g. for a runbook's follow-up commands."""
    try:
        return catalog.collections(config_dir)
    except CatalogError as exc:
        raise _bad_input(exc) from None


def load_spec(collection: str, config_dir: Path = CONFIG_DIR) -> IndexSpec:
    try:
        return catalog.load_spec(collection, config_dir)
    except CatalogError as exc:
        raise _bad_input(exc) from None


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
    params, spec, client = ctx.params, _spec(ctx), _typesense(ctx)
    columns = source_columns(snapshot.conn, spec.table)
    changed = Progress()
    import_batches(stream_batches(snapshot.conn, spec, document_sql(spec, columns), changed_since(since), None,
                                  params["batch_size"]),
                   lambda b: client.import_batch(params["target"], b.body), params["concurrency"], changed,
                   lambda p: None)
    gone: list[str] = []
    ids = client.document_ids(params["target"])
    while chunk := [i for _, i in zip(range(params["batch_size"]), ids)]:
        gone += missing_keys(snapshot.conn, spec, columns, chunk)
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
