"""RB-N-04 `drctl reindex` against real PostgreSQL 15 and a real Typesense 0.24.1 server."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest
import requests

from scripts.bench.reindex import SearchLog
from ops.core.catalog import CATALOG_DIR as CONFIG_DIR
from ops.drctl.dataplane.reindex import Progress, Watermark, load_checkpoint
from ops.drctl.dataplane.sql_source import Batch
from ops.drctl.runbooks.engine import Journal
from tests.dataplane_reindex.conftest import API_KEY_ENV, ROWS, World, journal_from
from ops.drctl.sandbox.typesense import TypesenseServer, typesense_server
from tests.dataplane_reindex.fault_proxy import Faults, fault_proxy

PROJECT_DIR = Path(__file__).resolve().parents[2]
HOT = "popularity >= 900"


def test_dry_run_plans_from_real_facts_and_changes_nothing(world: World) -> None:
    old = world.old_collection(50)
    code, output = world.drctl("--hot-slice", HOT, "--json")
    assert code == 0, output
    run = journal_from(output)
    assert run.status == "planned"
    facts = run.step("validate").result
    assert facts["source_rows"] == ROWS and facts["hot_rows"] == world.count(HOT)
    assert facts["old_collection"] == old and facts["target"].startswith(f"{world.alias}_v")
    planned = [call for step in run.steps for call in step.would_call]
    assert any(c.startswith(f"POST /collections name={facts['target']} fields=[name:string") for c in planned)
    assert f"PUT /aliases/{world.alias} collection_name={facts['target']} (now: {old})" in planned
    assert f"DELETE /collections/{old} after the alias points at {facts['target']}" in planned
    assert world.collections() == {old: 50} and world.alias_target() == old


def test_reindex_hot_slice_first_then_rest_then_swap_then_drop(world: World) -> None:
    old = world.old_collection(50)
    code, output = world.drctl("--hot-slice", HOT, "--batch-size", "1000", "--execute", "--yes", "--json")
    assert code == 0, output
    run = journal_from(output)
    target = run.step("validate").result["target"]
    assert world.alias_target() == target
    assert world.collections() == {target: ROWS}  # old dropped, new complete
    assert run.step("import_hot").result["imported"] == world.count(HOT)
    assert run.step("import_rest").result["imported"] == ROWS - world.count(HOT)
    order = [run.step(n) for n in ("import_hot", "import_rest", "verify_counts", "swap_alias", "drop_old")]
    for earlier, later in zip(order, order[1:]):
        assert datetime.fromisoformat(earlier.finished_at) <= datetime.fromisoformat(later.started_at)
    assert run.step("drop_old").result == {"dropped": old, "existed": True}
    rate = run.step("throughput").result
    assert rate["docs"] == ROWS and rate["docs_per_s"] > 0
    assert rate["full_minutes"] == pytest.approx(rate["catalog_documents"] / rate["docs_per_s"] / 60, rel=0.01)
    # documents carry the converted source values
    doc = world.api("GET", f"/collections/{world.alias}/documents/42").json()
    assert doc["id"] == "42" and isinstance(doc["updated_at"], int) and isinstance(doc["price"], float)


def test_searches_answer_from_the_old_collection_until_the_swap(world: World) -> None:
    old = world.old_collection(50)
    searches = SearchLog()
    searcher = threading.Thread(target=searches.run, args=(world.ts.url, world.ts.api_key, world.alias, 0.01))
    searcher.start()
    try:
        time.sleep(0.1)
        code, output = world.drctl("--hot-slice", HOT, "--batch-size", "500", "--execute", "--yes")
        time.sleep(0.1)
    finally:
        searches.stop.set()
        searcher.join()
    assert code == 0, output
    verdict = searches.verdict(50, ROWS)
    assert verdict["ok"], verdict
    assert verdict["failed"] == 0 and verdict["other"] == 0  # never an error, never a half-built collection
    assert verdict["served_old"] > 5 and verdict["served_new"] > 0 and verdict["switches"] == 1
    assert old not in world.collections()


def test_killed_mid_import_resumes_after_its_checkpoint(world: World) -> None:
    """A real crash: the drctl process is SIGKILLed once its checkpoint shows progress; --resume continues after
    the checkpointed key instead of starting again. A proxy slows imports so the kill lands mid-way."""
    faults = Faults(import_delay_s=0.03)
    with fault_proxy(world.ts.url, faults) as proxy:
        env = {**os.environ, "PYTHONPATH": str(PROJECT_DIR)}
        command = [sys.executable, "-m", "ops.drctl.cli",
                   *world.args("--batch-size", "250", "--concurrency", "2", "--execute", "--yes", typesense=proxy)]
        process = subprocess.Popen(command, cwd=PROJECT_DIR, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT)
        try:
            checkpoint = _wait_for_checkpoint(world.journal_dir, minimum=2000, process=process)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        assert process.returncode == -signal.SIGKILL
        at_kill = load_checkpoint(checkpoint)["rest"]
        assert 2000 <= at_kill.imported < ROWS and not at_kill.done
        run_id = next(p.stem for p in world.journal_dir.glob("2*.json"))
        assert Journal.load(world.journal_dir, run_id).step("import_rest").state == "running"

        faults.import_delay_s = 0  # the journal names the proxy's URL: resume through it, at full speed
        code, output = world.drctl("--resume", run_id, "--yes", "--json")
    assert code == 0, output
    rest = journal_from(output).step("import_rest").result
    assert rest["resumed_from"] >= at_kill.imported > 0
    assert rest["imported_this_attempt"] == ROWS - rest["resumed_from"] < ROWS
    target = journal_from(output).step("validate").result["target"]
    assert world.alias_target() == target and world.collections() == {target: ROWS}


def _wait_for_checkpoint(journal_dir: Path, minimum: int, process: subprocess.Popen[bytes]) -> Path:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
        for path in journal_dir.glob("reindex-*.checkpoint.json"):
            try:
                progress = load_checkpoint(path).get("rest")
            except (ValueError, OSError):
                continue
            if progress and progress.imported >= minimum:
                return path
        time.sleep(0.005)
    raise TimeoutError("no checkpoint progress within 60 s")


def test_http_503_is_backpressure_and_the_same_batch_is_sent_again(world: World) -> None:
    faults = Faults(fail_first_imports=4)
    with fault_proxy(world.ts.url, faults) as proxy:
        code, output = world.drctl("--batch-size", "5000", "--execute", "--yes", "--json", typesense=proxy)
    assert code == 0, output
    rest = journal_from(output).step("import_rest").result
    assert faults.answered_503 == 4 and rest["backpressure_retries"] == 4
    assert faults.imports_seen == 4 + ROWS // 5000  # every refused batch was sent again, nothing else twice
    assert world.collections() == {world.alias_target(): ROWS}


def test_rejected_documents_fail_the_run_and_leave_the_alias_alone(world: World) -> None:
    old = world.old_collection(50)
    world.sql("ALTER TABLE products ALTER brand DROP NOT NULL; UPDATE products SET brand = NULL WHERE id = 777")
    code, output = world.drctl("--execute", "--yes", "--json")
    assert code == 1, output
    run = journal_from(output)
    assert run.step("import_rest").state == "failed"
    assert "rejected by Typesense" in (run.step("import_rest").error or "") and "brand" in run.error
    assert world.alias_target() == old and old in world.collections()
    assert run.step("swap_alias").state == "pending"


@pytest.mark.parametrize("case, expected", [
    ("unreachable_dsn", "--source: cannot connect"),
    ("missing_table", "source table 'public.products'"),
    ("empty_table", "has no rows: nothing to rebuild from"),
    ("field_without_column", "schema field 'brand'"),
    ("bad_hot_slice", "--hot-slice 'no_such_column > 1'"),
    ("unset_api_key", f"environment variable {API_KEY_ENV} (--api-key-env) is not set"),
    ("unreachable_typesense", "not reachable"),
    ("wrong_api_key", "API key in --api-key-env was refused"),
    ("password_in_dsn", "--source contains a password"),
    ("unknown_collection", "not configured in"),
])
def test_bad_input_exits_2_names_the_problem_and_changes_nothing(world: World, monkeypatch: pytest.MonkeyPatch,
                                                                  case: str, expected: str) -> None:
    old = world.old_collection(50)
    before = world.collections()
    args: list[str] = ["--execute", "--yes"]
    typesense = None
    if case == "unreachable_dsn":
        world.dsn = "postgresql://postgres@127.0.0.1:1/none"
    elif case == "missing_table":
        world.sql("DROP TABLE products")
    elif case == "empty_table":
        world.sql("TRUNCATE products")
    elif case == "field_without_column":
        world.sql("ALTER TABLE products DROP COLUMN brand")
    elif case == "bad_hot_slice":
        args += ["--hot-slice", "no_such_column > 1"]
    elif case == "unset_api_key":
        monkeypatch.delenv(API_KEY_ENV)
    elif case == "unreachable_typesense":
        typesense = "http://127.0.0.1:1"
    elif case == "wrong_api_key":
        monkeypatch.setenv(API_KEY_ENV, "not-the-key")
    elif case == "password_in_dsn":
        world.dsn = world.dsn.replace("postgres@", "postgres:secret@")
    elif case == "unknown_collection":
        world.alias = "no_such_collection"
    code, output = world.drctl(*args, typesense=typesense)
    assert code == 2, output
    assert expected in " ".join(output.split()), output
    if case == "unknown_collection":
        world.alias = old.removesuffix("_vold")
    assert world.collections() == before and world.alias_target() == old


def test_checkpoint_moves_only_over_acknowledged_prefixes() -> None:
    progress = Progress()
    watermark = Watermark(progress)
    batches = [Batch(seq, last_key=(seq + 1) * 10, count=10, body=b"") for seq in range(4)]
    assert not watermark.ack(batches[1]) and progress.last_key is None  # batch 0 still in flight
    assert not watermark.ack(batches[3])
    assert watermark.ack(batches[0]) and (progress.last_key, progress.imported) == (20, 20)
    assert watermark.ack(batches[2]) and (progress.last_key, progress.imported) == (40, 40)


def test_resume_of_a_finished_run_changes_nothing(world: World) -> None:
    code, output = world.drctl("--execute", "--yes", "--json")
    assert code == 0, output
    run = journal_from(output)
    assert run.step("validate").result["hot_rows"] == 0 and run.step("import_hot").result == {
        "skipped": "no --hot-slice"}
    before = world.collections()
    code, output = world.drctl("--resume", run.run_id, "--yes", "--json")
    assert code == 0, output
    assert world.collections() == before and world.alias_target() == run.step("validate").result["target"]


def test_sandbox_server_is_real_typesense(world: World) -> None:
    debug = requests.get(f"{world.ts.url}/debug", headers={"X-TYPESENSE-API-KEY": world.ts.api_key}, timeout=5)
    assert debug.json()["version"] == "0.24.1"
    assert json.loads(requests.get(f"{world.ts.url}/health", timeout=5).text) == {"ok": True}


def test_real_typesense_backpressure_is_waited_out(world: World) -> None:
    """Typesense's own 503 ("Not Ready or Lagging"), no proxy: a server that calls itself lagging beyond one
    queued write is kept busy by other writers; the reindex starts once the server refuses writes, backs off,
    and completes after the other writers stop."""
    with typesense_server(extra_args=("--healthy-write-lag", "1", "--healthy-read-lag", "1000000")) as strict:
        world.ts = strict
        lagging, stop = threading.Event(), threading.Event()
        writers = _other_writers(strict, lagging, stop)
        try:
            assert lagging.wait(30), "the server never reported lag"
            threading.Timer(1.0, stop.set).start()  # the other writers stop 1 s into the reindex
            code, output = world.drctl("--batch-size", "1000", "--execute", "--yes", "--json")
        finally:
            stop.set()
            for writer in writers:
                writer.join()
        assert code == 0, output
        run = journal_from(output)
        refused = sum(run.step(s).result.get("backpressure_retries", 0) for s in ("create_collection", "import_rest"))
        assert refused > 0 and run.step("import_rest").result["imported"] == ROWS
        assert world.collections() == {world.alias_target(): ROWS}


def _other_writers(server: TypesenseServer, lagging: threading.Event, stop: threading.Event,
                   threads: int = 8) -> list[threading.Thread]:
    """Bursts of small imports into another collection until `stop`; `lagging` is set at the first 503."""
    headers = {"X-TYPESENSE-API-KEY": server.api_key}
    requests.post(f"{server.url}/collections", headers=headers, timeout=10,
                  json={"name": "other_writes", "fields": [{"name": "text", "type": "string"}]})

    def write(worker: int) -> None:
        session, n = requests.Session(), 0
        while not stop.is_set():
            body = "\n".join(json.dumps({"id": f"{worker}-{n}-{i}", "text": f"other {i}"}) for i in range(100))
            answer = session.post(f"{server.url}/collections/other_writes/documents/import", headers=headers,
                                  data=body.encode(), timeout=30)
            if answer.status_code == 503:
                lagging.set()
            n += 1

    started = [threading.Thread(target=write, args=(w,), daemon=True) for w in range(threads)]
    for thread in started:
        thread.start()
    return started


def test_crash_between_swap_and_drop_keeps_the_old_collection_until_resumed(world: World) -> None:
    old = world.old_collection(50)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_DIR), "DRCTL_CRASH_AFTER_STEP": "swap_alias"}
    crashed = subprocess.run([sys.executable, "-m", "ops.drctl.cli", *world.args("--execute", "--yes")],
                             cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=120)
    assert crashed.returncode == 137, crashed.stderr
    run_id = next(p.stem for p in world.journal_dir.glob("2*.json"))
    target = Journal.load(world.journal_dir, run_id).step("validate").result["target"]
    assert world.alias_target() == target and world.collections() == {old: 50, target: ROWS}

    code, output = world.drctl("--resume", run_id, "--yes", "--json")
    assert code == 0, output
    run = journal_from(output)
    assert run.step("import_rest").result["imported"] == ROWS  # done before the crash, not repeated
    assert run.step("drop_old").result == {"dropped": old, "existed": True}
    assert world.collections() == {target: ROWS}


def test_prune_abandoned_drops_generations_failed_runs_left_and_nothing_else(world: World) -> None:
    serving = world.old_collection(20)
    schema = json.loads((CONFIG_DIR / "products.schema.json").read_text())
    abandoned = [f"{world.alias}_v20200101T000000000Z", f"{world.alias}_v20200102T000000000Z"]
    unrelated = f"{world.alias}_vbackup"  # not a generation name: not the tool's to drop
    for name in [*abandoned, unrelated]:
        assert world.api("POST", "/collections", json={**schema, "name": name}).status_code == 201

    code, output = world.drctl("--execute", "--yes", "--json")  # without the flag: only the served one goes
    assert code == 0, output
    assert set(abandoned) | {unrelated} <= set(world.collections()) and serving not in world.collections()

    code, output = world.drctl("--prune-abandoned", "--execute", "--yes", "--json")
    assert code == 0, output
    run = journal_from(output)
    assert run.step("drop_old").result["pruned"] == abandoned
    assert set(world.collections()) == {run.params["target"], unrelated}
    assert world.alias_target() == run.params["target"]
