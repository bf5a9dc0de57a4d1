"""Drill scenarios on the sandbox's region pair. Each returns a `DrillRun`: the steps with their times, the
probes' timelines, the measurements and what the runbooks journaled.

Q2 (RB-N-01 region failover A→B), unplanned: writes flow through the API name; region A's database and service
are SIGKILLed; the scripted operator watches A's Route53 health check (what pages the on-call) and, once it
fails, declares the failover: `drctl failover --execute --yes --unplanned`, the real runbook, unchanged. B takes
writes. Then region A recovers: its old data is compared with B (the consistency checker lists what the failover
lost), A rejoins as B's standby, `drctl failback --execute --yes` switches back, and the checker proves A and B
hold the same data. Planned (`planned=True`): no kill; the operator runs the planned failover (switchover, RPO 0).
"""
from __future__ import annotations

import contextlib
import io
import json
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ops.drctl.drills import measure
from ops.drctl.sandbox.probes import Probe, availability_probe, heartbeat_probe
from ops.drctl.sandbox.region_pair import (PROJECT_DIR, Region, RegionPair, SandboxOptions, _setenv, describe,
                                         region_pair)
from stacks.config_files import set_stack_config

SCENARIOS = {"Q1": "RB-N-02 Aurora PITR", "Q2": "RB-N-01 region failover A→B"}
# What each step is expected to take in the sandbox, seconds (a slower step is a variance in the report).
EXPECTED_SECONDS = {
    "start region pair": 60.0,  # setup, not recovery: generous on a loaded machine
    "steady write load": 1.5, "disaster": 0.5, "detection": 1.0,
    "failover runbook": 3.0, "B takes writes": 2.0, "region A recovers": 10.0, "failback runbook": 8.0,
    "consistency check": 5.0,
    "failover/preflight": 1.0, "failover/announce": 0.5, "failover/capacity": 1.0, "failover/promote": 1.5,
    "failover/flip": 0.1, "failover/b-serving": 0.5, "failover/dns": 0.5, "failover/smoke": 0.5, "failover/rto": 0.1,
    "failover/announce-result": 0.5, "failover/next-steps": 0.5, "failover/grow": 0.5, "failover/grown": 1.0,
    "failover/promote-cache-b": 1.5, "failback/promote-cache-a": 1.5,  # the extension's 0.3 s role change, polled
    "failback/preflight": 1.0, "failback/announce": 0.5, "failback/rejoin-a": 1.0, "failback/wait-lag": 3.0,
    "failback/switchover": 4.0, "failback/flip-back": 0.1, "failback/dns": 0.5, "failback/smoke": 0.5,
    "failback/keep-b-warm": 0.5, "failback/announce-result": 0.5,
}


class DrillFailed(RuntimeError):
    """A drill step did not reach its goal; the message says which and why."""


@dataclass
class StepTiming:
    name: str
    started_at: float
    finished_at: float | None = None
    ok: bool = True
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def seconds(self) -> float | None:
        return None if self.finished_at is None else round(self.finished_at - self.started_at, 3)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "started_at": self.started_at, "finished_at": self.finished_at,
                "seconds": self.seconds, "ok": self.ok, "expected_seconds": EXPECTED_SECONDS.get(self.name),
                "detail": self.detail}


@dataclass
class DrillRun:
    scenario: str
    variant: str  # unplanned | planned | pitr
    origin: str  # sandbox | aws
    run_id: str
    started_at: float
    finished_at: float | None = None
    status: str = "running"  # done | failed
    error: str | None = None
    steps: list[StepTiming] = field(default_factory=list)
    probes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    measured: dict[str, Any] = field(default_factory=dict)
    marks: dict[str, float] = field(default_factory=dict)  # disaster, detected, declared, recovered
    journals: dict[str, str] = field(default_factory=dict)  # runbook → run id
    sandbox: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)

    @contextlib.contextmanager
    def step(self, name: str) -> Any:
        timing = StepTiming(name, time.time())
        self.steps.append(timing)
        try:
            yield timing
        except BaseException:
            timing.ok = False
            raise
        finally:
            timing.finished_at = time.time()

    def add_journal_steps(self, prefix: str, journal: dict[str, Any]) -> None:
        for s in journal.get("steps", []):
            if s.get("started_at"):
                started = datetime.fromisoformat(s["started_at"]).timestamp()
                finished = datetime.fromisoformat(s["finished_at"]).timestamp() if s.get("finished_at") else None
                self.steps.append(StepTiming(f"{prefix}/{s['name']}", started, finished, s["state"] == "done",
                                             {"api_calls": len(s.get("api_calls", []))}))

    def as_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "runbook": SCENARIOS[self.scenario], "variant": self.variant,
                "origin": self.origin, "run_id": self.run_id, "started_at": self.started_at,
                "finished_at": self.finished_at, "status": self.status, "error": self.error,
                "steps": [s.as_dict() for s in self.steps], "marks": self.marks, "measured": self.measured,
                "journals": self.journals, "sandbox": self.sandbox, "events": self.events, "probes": self.probes}


# ---- the operator's tools, as an operator runs them ---------------------------------------------------------

def drctl(args: list[str]) -> tuple[int, str, str]:
    """Run a drctl command in this process (the operator's toolkit, already loaded): exit code, stdout, stderr."""
    from ops.drctl.cli import app

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = app(args, standalone_mode=False)
        except SystemExit as exc:
            code = exc.code
    return int(code or 0), out.getvalue(), err.getvalue()


def mark_emulated(journal_dir: Path, run_id: str | None, drill: "DrillRun", pair: RegionPair) -> None:
    """A runbook never learns it ran in the sandbox, so the drill says so beside its journal
    (`sandbox-origins/<run-id>.json`): `drctl drill record` refuses to present such a run as a real account's."""
    from ops.drctl.runbooks.drills import origin_path

    if not run_id:
        return
    path = origin_path(journal_dir, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "origin": "sandbox", "drill": drill.run_id, "scenario": drill.scenario, "aws_endpoint": pair.aws_endpoint,
    }, indent=1) + "\n")


def _journal(stdout: str) -> dict[str, Any]:
    return dict(json.loads(stdout[stdout.index("{"):]))


def _new_drill(scenario: str, variant: str, *, sandbox: dict[str, Any]) -> "DrillRun":
    drill = DrillRun(scenario, variant, "sandbox",
                     f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}", time.time())
    drill.sandbox = sandbox
    return drill


@contextlib.contextmanager
def _recording(drill: "DrillRun", stack: str) -> Iterator[tuple["_StackFileGuard", list[Any]]]:
    """The frame of every drill: a failure is recorded in the run, not raised (Ctrl-C is, once everything is
    stopped); whatever happens the probes are stopped and their timelines kept, and the stack file is checked."""
    guard = _StackFileGuard(stack)
    probes: list[Any] = []
    try:
        yield guard, probes
        drill.status = "done"
    except BaseException as exc:
        drill.status, drill.error = "failed", f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, Exception):
            raise  # Ctrl-C: everything is stopped by now; the caller reports the interruption
    finally:
        for probe in probes:
            probe.stop()
            drill.probes.setdefault(probe.name, []).extend(r.as_dict() for r in probe.results)
        drill.finished_at = time.time()
        guard.check()


def _start_pair(drill: "DrillRun", exits: contextlib.ExitStack, sandbox: SandboxOptions, *, stack: str,
                on_ready: Callable[[dict[str, Any]], None] | None) -> RegionPair:
    """The region pair, up and warmed (its servers stopped when `exits` closes, its events then kept in the run)."""
    with drill.step("start region pair") as timing:
        pair = exits.enter_context(region_pair(sandbox, stack=stack, on_ready=on_ready))
        timing.detail = {"aws_endpoint": pair.aws_endpoint}
        drill.sandbox["posture"] = str(pair.settings.posture)  # the stack's, when not asked for
        _warm_up(pair)
    exits.callback(lambda: drill.events.extend(pair.events))
    return pair


def _run_runbook(drill: "DrillRun", args: list[str], timing: StepTiming, *, journal_dir: Path, pair: RegionPair,
                 guard: "_StackFileGuard") -> dict[str, Any]:
    """Run one runbook as the operator does (`drctl NAME ... --json`), unchanged: the stack file is checked, its
    journal recorded under its name and marked as the sandbox's; a failed run fails the drill step."""
    runbook = args[0]
    code, out, err = drctl(args)
    guard.check()
    journal = _journal(out) if "{" in out else {}
    drill.journals[runbook] = journal.get("run_id", "")
    mark_emulated(journal_dir, journal.get("run_id"), drill, pair)
    timing.detail = {"exit_code": code, "run_id": journal.get("run_id")}
    if code != 0:
        raise DrillFailed(f"drctl {runbook} exited {code}: {journal.get('error') or err[-2000:]}")
    return journal


def _warm_up(pair: RegionPair) -> None:
    """Load what the operator's toolkit loads before it is needed (botocore's service models, the runbooks),
    so the measured RTO is the recovery's, not Python's imports."""
    import ops.drctl.runbooks.failback  # noqa: F401
    import ops.drctl.runbooks.failover  # noqa: F401
    from ops.actions.aws import client
    from ops.drctl.dataplane.reindex import configured_collections

    configured_collections()
    for region in (pair.a.name, pair.b.name):
        for service in ("rds", "route53", "ecr", "cloudwatch", "sns", "eks", "secretsmanager"):
            client(service, region)
    drctl(["failover", "--help"])


class _StackFileGuard:
    """The failover runbook may write `failover: true` into the stack file when it scales through the API; a drill
    must never change the repository's file. Checked after every runbook run; restored and reported if changed."""

    def __init__(self, stack: str) -> None:
        self.path = PROJECT_DIR / f"Pulumi.{stack}.yaml"
        self.original = self.path.read_bytes()

    def check(self) -> None:
        if self.path.read_bytes() != self.original:
            self.path.write_bytes(self.original)
            raise DrillFailed(f"a runbook changed {self.path.name}; restored it. Give the runbook a copy of the "
                              "stack file in sandbox drills")


def _stack_file_copy(target: Path) -> Path:
    target.mkdir(parents=True)
    for source in PROJECT_DIR.glob("Pulumi*.yaml"):
        shutil.copy(source, target / source.name)
    return target


# ---- Q2 ----------------------------------------------------------------------------------------------------

@dataclass
class Q2Options:
    planned: bool = False
    load_seconds: float = 1.0
    after_seconds: float = 0.5  # writes through B before the failback
    before_disaster: Callable[[RegionPair], None] | None = None  # e.g. pause B's replay (tests)
    failback: bool = True
    timeout_s: float = 30
    sandbox: SandboxOptions = field(default_factory=SandboxOptions)


def run_q2(options: Q2Options, *, journal_dir: Path, stack: str = "dr",
           on_ready: Callable[[dict[str, Any]], None] | None = None, scenario: str = "Q2") -> DrillRun:
    drill = _new_drill(scenario, "planned" if options.planned else "unplanned", sandbox=options.sandbox.as_dict())
    with _recording(drill, stack) as (guard, probes), contextlib.ExitStack() as exits:
        pair = _start_pair(drill, exits, options.sandbox, stack=stack, on_ready=on_ready)
        try:
            _q2_on_pair(drill, pair, options, journal_dir, guard, probes)
        except Exception as exc:
            from ops.drctl.sandbox.moto_ext.rds_global import last_data_plane_error
            detail = last_data_plane_error.get(pair.settings.aurora.global_cluster_id)
            raise DrillFailed(f"{exc}" + (f"\ndata plane: {detail}" if detail else "")
                              + f"\n{pair.server_logs()}") from exc
    return drill


def _q2_on_pair(drill: DrillRun, pair: RegionPair, options: Q2Options, journal_dir: Path, guard: _StackFileGuard,
                probes: list[Probe]) -> None:
    a, b = pair.a, pair.b
    with tempfile.TemporaryDirectory(prefix="drill-changesets-") as change_sets:
        common = ["--journal-dir", str(journal_dir), "--change-set-dir", change_sets, "--timeout",
                  str(options.timeout_s), "--poll", "0.02", "--notify-topic", pair.topic_arn, "--json"]
        # Through the API the runbooks write the flip into the stack file: a drill gives them a copy of the project's
        # stack files, never the repository's own.
        stack_files = _stack_file_copy(Path(change_sets) / "project")
        # ...saying the posture B was built at, so the runbooks read the same row
        set_stack_config(stack_files / guard.path.name, "posture", str(pair.settings.posture))
        heartbeat = heartbeat_probe(pair.resolver, pair.api_name).start()
        availability = availability_probe(pair.resolver, pair.api_name).start()
        probes += [heartbeat, availability]
        with drill.step("steady write load"):
            time.sleep(options.load_seconds)
            if not any(r.ok and r.region == a.name for r in heartbeat.results):
                raise DrillFailed("no write went through region A before the disaster")
        if options.before_disaster is not None:
            options.before_disaster(pair)
        failover_args = ["failover", "--execute", "--yes", "--scale-with", "api", "--smoke-url", b.service.url,
                         "--smoke-path", "/healthz", "--project-dir", str(stack_files), *common]
        with drill.step("disaster") as timing:
            drill.marks["disaster"] = time.time()
            if options.planned:
                lag = pair.current_lag()
                timing.detail = {"what": "planned switchover declared (A healthy)", "replication_lag_s": lag}
            else:
                timing.detail = pair.kill_region(a.name)
                lag = timing.detail["replication_lag_at_kill_s"]
                failover_args.insert(3, "--unplanned")
        drill.measured["replication_lag_at_disaster_s"] = lag
        if not options.planned:
            with drill.step("detection") as timing:
                timing.detail = _wait_health(pair, a.endpoint, healthy=False, timeout=options.timeout_s)
                drill.marks["detected"] = time.time()
        drill.marks["declared"] = time.time()
        with drill.step("failover runbook") as timing:
            journal = _run_runbook(drill, failover_args, timing, journal_dir=journal_dir, pair=pair, guard=guard)
        drill.add_journal_steps("failover", journal)
        with drill.step("B takes writes") as timing:
            timing.detail = _wait_write(heartbeat, b.name, since=drill.marks["disaster"], timeout=options.timeout_s)
            drill.marks["recovered"] = timing.detail["answered_at"]
        drill.measured["rpo"] = _rpo(pair, heartbeat, availability).as_dict()
        time.sleep(options.after_seconds)
        if not options.failback:
            drill.measured["rto"] = measure.rto(heartbeat.results + availability.results,
                                                disaster_at=drill.marks["disaster"], region_b=b.name).as_dict()
            return
        lost: dict[str, Any] = {}
        with drill.step("region A recovers") as timing:
            timing.detail = pair.recover_region(a.name, before_rejoin=lambda node: lost.update(
                _consistency(node.dsn(pair.settings.aurora.database_name), b.node.dsn(pair.settings.aurora.database_name))))
            _wait_health(pair, a.endpoint, healthy=True, timeout=options.timeout_s)
        drill.measured["lost_by_failover"] = lost or {"checked": False, "why": "A was not killed (planned)"}
        failback_at = time.time()
        with drill.step("failback runbook") as timing:
            failback_args = ["failback", "--execute", "--yes", "--max-lag-seconds", "1", "--keep-b-warm-hours", "0",
                             "--lag-timeout", str(options.timeout_s), "--project-dir", str(stack_files), *common]
            journal = _run_runbook(drill, failback_args, timing, journal_dir=journal_dir, pair=pair, guard=guard)
        drill.add_journal_steps("failback", journal)
        _wait_write(heartbeat, a.name, since=failback_at, timeout=options.timeout_s)
        drill.marks["failed_back"] = time.time()
        for probe in probes:
            probe.stop()
        drill.measured["rto"] = measure.rto(
            [r for r in heartbeat.results + availability.results if r.sent_at < failback_at],
            disaster_at=drill.marks["disaster"], region_b=b.name).as_dict()
        drill.measured["failback_write_outage"] = measure.rto(
            heartbeat.results + availability.results, disaster_at=failback_at, region_b=a.name).as_dict()
        # the failback as a leg of its own (the annual drill judges it): the switchover's write interruption and
        # what A holds of the writes B acknowledged, read from A, the writer again
        drill.measured["failback"] = {
            "rto": measure.write_interruption(heartbeat.results + availability.results, since=failback_at,
                                              old_region=b.name, new_region=a.name).as_dict(),
            "rpo": _rpo(pair, heartbeat, availability, old=b, new=a).as_dict()}
        with drill.step("consistency check") as timing:
            database = pair.settings.aurora.database_name
            b.node.wait_sql(f"SELECT pg_last_wal_replay_lsn() >= '{_current_lsn(pair)}'::pg_lsn", timeout=30)
            timing.detail = _consistency(a.node.dsn(database), b.node.dsn(database))
            drill.measured["consistency_after_failback"] = timing.detail
            if not timing.detail["same"]:
                raise DrillFailed(f"A and B differ after failback: {timing.detail['differences']}")


def _current_lsn(pair: RegionPair) -> str:
    with pair.a.node.connect("postgres") as conn:
        return str(conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0])  # type: ignore[index]


def _wait_health(pair: RegionPair, endpoint: str, *, healthy: bool, timeout: float) -> dict[str, Any]:
    """The scripted operator: poll the endpoint's Route53 health check (GetHealthCheckStatus, the API an alarm or
    the on-call reads) until it reports the wanted state."""
    from ops.actions import route53
    from ops.actions.aws import client

    route53_client = client("route53", pair.settings.primary_region)
    check_id = route53.health_checks_by_endpoint(route53_client)[endpoint]
    deadline = time.monotonic() + timeout
    polls = 0
    while time.monotonic() < deadline:
        polls += 1
        ok, reports = route53.health_status(route53_client, check_id)
        if ok == healthy:
            return {"health_check": check_id, "healthy": ok, "report": reports[0] if reports else "", "polls": polls}
        time.sleep(0.02)
    raise DrillFailed(f"health check of {endpoint} not {'healthy' if healthy else 'failing'} after {timeout} s")


def _wait_write(probe: Probe, region: str, *, since: float, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        good = next((r for r in list(probe.results) if r.ok and r.region == region and r.sent_at >= since), None)
        if good is not None:
            return {"seq": good.seq, "answered_at": good.answered_at, "record": good.record}
        time.sleep(0.01)
    raise DrillFailed(f"no write through the API name reached {region} within {timeout} s")


def _rpo(pair: RegionPair, heartbeat: Probe, availability: Probe, *, old: Region | None = None,
         new: Region | None = None) -> measure.Rpo:
    """What the new writer (B after the failover, A after the failback) holds of what the old one acknowledged,
    read from the new writer right after promotion."""
    old, new = old or pair.a, new or pair.b
    with new.node.connect(pair.settings.aurora.database_name) as conn:
        beats = {int(r[0]) for r in conn.execute("SELECT seq FROM heartbeats WHERE region = %s", (old.name,))}
        orders = {str(r[0]) for r in conn.execute("SELECT order_id FROM orders WHERE region = %s", (old.name,))}
    return measure.rpo(list(heartbeat.results), list(availability.results), region_a=old.name,
                       heartbeats_in_b=beats, orders_in_b=orders, order_id=availability.key)


def _consistency(source_dsn: str, target_dsn: str) -> dict[str, Any]:
    """The project's consistency checker (drctl consistency), source vs target; keys only in the source are what
    the target lacks."""
    from ops.drctl.dataplane.consistency import compare

    report = compare(source_dsn, target_dsn, tables=["public.heartbeats", "public.orders"], max_keys=100000)
    tables = {t.table: t.as_dict() for t in report.tables}
    only_in_source = {name: [k["key"] for k in t["keys"] if k["class"] == "only_in_source"]
                      for name, t in tables.items()}
    return {"same": report.same, "differences": {name: t["differences"] for name, t in tables.items()},
            "rows": {name: [t["source_rows"], t["target_rows"]] for name, t in tables.items()},
            "only_in_source": only_in_source, "checked": True}


# ---- the annual drill ----------------------------------------------------------------------------------------

SCENARIOS["annual"] = "RB-N-01 region failover A→B and failback B→A"


def run_annual(options: Q2Options, *, journal_dir: Path, stack: str = "dr",
               on_ready: Callable[[dict[str, Any]], None] | None = None) -> DrillRun:
    """The DR plan's annual full failover and failback: Q2 (unplanned unless `planned`) with its failback, both
    legs judged in one report. The failover leg is Q2's measurement (`measured.rto`/`rpo`); the failback leg is
    `measured.failback` (the switchover's write interruption, and what A lacks of B's writes: 0 when it works)."""
    if not options.failback:
        raise ValueError("the annual drill is the failover and the failback: failback=False leaves out a leg")
    return run_q2(options, journal_dir=journal_dir, stack=stack, on_ready=on_ready, scenario="annual")


# ---- Q1 ----------------------------------------------------------------------------------------------------

EXPECTED_SECONDS.update({
    "accidental DELETE": 0.5, "WAL archived past the DELETE": 3.0, "PITR runbook": 10.0, "restored data check": 2.0,
    "pitr/preflight": 1.0, "pitr/restore": 6.0, "pitr/wait-cluster": 0.5, "pitr/writer": 0.5,
    "pitr/wait-writer": 0.5,
})


@dataclass
class Q1Options:
    load_seconds: float = 1.0
    timeout_s: float = 60
    sandbox: SandboxOptions = field(default_factory=lambda: SandboxOptions(with_base_backup=True))


def run_q1(options: Q1Options, *, journal_dir: Path, stack: str = "dr",
           on_ready: Callable[[dict[str, Any]], None] | None = None) -> DrillRun:
    """Q1 (RB-N-02): orders flow into A; at T someone runs `DELETE FROM orders`; the operator restores A's cluster
    to T with `drctl pitr-restore --to T` (unchanged), a real PostgreSQL PITR into a new server; the restored
    table must equal the data at T (writes after T, the DELETE included, are not in it)."""
    if not options.sandbox.with_base_backup:
        raise ValueError("Q1 needs SandboxOptions.with_base_backup")
    drill = _new_drill("Q1", "pitr", sandbox=options.sandbox.as_dict())
    with _recording(drill, stack) as (guard, probes), contextlib.ExitStack() as exits:
        pair = _start_pair(drill, exits, options.sandbox, stack=stack, on_ready=on_ready)
        try:
            _q1_on_pair(drill, pair, options, journal_dir, guard, probes)
        except Exception as exc:
            raise DrillFailed(f"{exc}\n{pair.server_logs()}") from exc
    return drill


ORDER_COLUMNS = "order_id, amount_cents, region, created_at"


def _q1_on_pair(drill: DrillRun, pair: RegionPair, options: Q1Options, journal_dir: Path, guard: _StackFileGuard,
                probes: list[Probe]) -> None:
    a, database = pair.a, pair.settings.aurora.database_name
    heartbeat = heartbeat_probe(pair.resolver, pair.api_name).start()
    orders = availability_probe(pair.resolver, pair.api_name).start()
    probes += [heartbeat, orders]
    with drill.step("steady write load"):
        time.sleep(options.load_seconds)
    orders.stop()  # a quiet moment on the table, so "the data at T" is exact
    with a.node.connect(database) as conn:
        moment = conn.execute("SELECT clock_timestamp()").fetchone()[0]  # type: ignore[index]
        at_t = conn.execute(f"SELECT {ORDER_COLUMNS} FROM orders ORDER BY order_id").fetchall()
    time.sleep(0.05)
    with drill.step("accidental DELETE") as timing:
        drill.marks["disaster"] = time.time()
        with a.node.connect(database) as conn:
            deleted = conn.execute("DELETE FROM orders").rowcount
            lsn = str(conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0])  # type: ignore[index]
        timing.detail = {"deleted_rows": deleted, "restore_to": moment.isoformat()}
    after = availability_probe(pair.resolver, pair.api_name).start()  # the platform keeps taking orders
    after.name = "availability (after T)"
    probes.append(after)
    with drill.step("WAL archived past the DELETE"):
        a.node.wait_sql(f"SELECT last_archived_wal >= pg_walfile_name('{lsn}') FROM pg_stat_archiver",
                        timeout=options.timeout_s)
    drill.marks["declared"] = time.time()
    with drill.step("PITR runbook") as timing:
        pitr_args = ["pitr-restore", "--cluster", a.cluster_id, "--to", moment.isoformat(), "--execute", "--yes",
                     "--json", "--journal-dir", str(journal_dir), "--timeout", str(options.timeout_s), "--poll", "0.05"]
        journal = _run_runbook(drill, pitr_args, timing, journal_dir=journal_dir, pair=pair, guard=guard)
    drill.add_journal_steps("pitr", journal)
    drill.marks["recovered"] = time.time()
    new_cluster = journal["params"]["new_cluster_id"]
    with drill.step("restored data check") as timing:
        with pair.restored[new_cluster].connect(database) as conn:
            restored = conn.execute(f"SELECT {ORDER_COLUMNS} FROM orders ORDER BY order_id").fetchall()
        expected = {r[0]: r for r in at_t}
        got = {r[0]: r for r in restored}
        missing = sorted(k for k in expected if k not in got)
        extra = sorted(k for k in got if k not in expected)
        changed = sorted(k for k in expected if k in got and got[k] != expected[k])
        timing.detail = {"rows_at_t": len(at_t), "rows_restored": len(restored), "equal": restored == at_t,
                         "missing": missing, "extra": extra, "changed": changed}
        drill.measured["restored_check"] = timing.detail
        newest_at_t = max((r[3] for r in at_t), default=None)
        newest_restored = max((r[3] for r in restored), default=newest_at_t)
        drill.measured["rpo"] = {"seconds": 0.0 if newest_at_t is None else
                                 round((newest_at_t - newest_restored).total_seconds(), 3),
                                 "lost_orders": missing, "lost_heartbeats": [], "acked_by_a": len(at_t),
                                 "restore_to": moment.isoformat()}
        drill.measured["rto"] = {"seconds": round(drill.marks["recovered"] - drill.marks["disaster"], 3),
                                 "from": "the DELETE", "to": "the restored cluster's writer available"}
        if restored != at_t:
            raise DrillFailed(f"the restored table differs from the data at T: {len(missing)} missing, "
                              f"{len(extra)} extra, {len(changed)} changed")


# ---- Q3 ----------------------------------------------------------------------------------------------------

SCENARIOS["Q3"] = "RB-N-04 Typesense total loss with reindex"
EXPECTED_SECONDS.update({
    "seed the catalog": 10.0, "search feed (initial index)": 10.0, "total loss": 1.0,
    "empty server back": 5.0, "reindex runbook": 15.0, "search answers in full": 2.0,
})


@dataclass
class Q3Options:
    catalog_rows: int = 20000
    hot_slice: str = "id > 15000"  # the newest products first
    timeout_s: float = 60
    sandbox: SandboxOptions = field(default_factory=lambda: SandboxOptions(with_search=False))


def run_q3(options: Q3Options, *, journal_dir: Path, stack: str = "dr",
           on_ready: Callable[[dict[str, Any]], None] | None = None) -> DrillRun:
    """Q3 (RB-N-04): B's Typesense, fed from B's database, is lost (SIGKILL, data deleted); an empty server takes
    its place; the operator rebuilds the index with `drctl reindex --execute` (unchanged), hot slice first.
    RTO: first failed search to the first search finding the whole catalog; RPO: catalog rows not found."""
    from ops.drctl.sandbox.search import search_node

    drill = _new_drill("Q3", "total-loss", sandbox={**options.sandbox.as_dict(), "with_search": True})
    with _recording(drill, stack) as (guard, probes), contextlib.ExitStack() as exits:
        with drill.step("start region pair"):
            pair = exits.enter_context(region_pair(options.sandbox, stack=stack))
            search = exits.enter_context(search_node(pair.base))
            exits.callback(_setenv({"TYPESENSE_API_KEY": search.api_key}))  # what reindex reads by default
            if on_ready is not None:
                where = describe(pair)
                where["ports"]["typesense_b"] = search.api_port
                on_ready(where)
        exits.callback(lambda: drill.events.extend(pair.events))
        try:
            _q3_on_pair(drill, pair, search, options, journal_dir, guard, probes)
        except Exception as exc:
            raise DrillFailed(f"{exc}\n{pair.server_logs()}") from exc
    return drill


def _q3_on_pair(drill: DrillRun, pair: RegionPair, search: Any, options: Q3Options, journal_dir: Path,
                guard: _StackFileGuard, probes: list[Any]) -> None:
    from ops.drctl.sandbox.catalog import seed_products
    from ops.drctl.sandbox.probes import SearchProbe

    database = pair.settings.aurora.database_name
    with drill.step("seed the catalog"):
        with pair.a.node.connect(database) as conn:
            seed_products(conn, options.catalog_rows)
        pair.b.node.wait_sql(f"SELECT count(*) = {options.catalog_rows} FROM products", dbname=database,
                             timeout=options.timeout_s)
    reindex = ["reindex", "--source", pair.b.node.dsn(database), "--typesense", search.url, "--api-key-env",
               "TYPESENSE_API_KEY", "--collection", "products", "--hot-slice", options.hot_slice, "--execute",
               "--yes", "--json", "--journal-dir", str(journal_dir)]
    with drill.step("search feed (initial index)") as timing:
        code, out, err = drctl(reindex)
        timing.detail = {"exit_code": code}
        if code != 0:
            raise DrillFailed(f"the initial reindex exited {code}: {err[-2000:]}")
    probe = SearchProbe(search.url, search.api_key, "products").start()
    probes.append(probe)
    time.sleep(0.5)
    with drill.step("total loss") as timing:
        drill.marks["disaster"] = time.time()
        search.lose_everything()
        timing.detail = {"what": "B's Typesense SIGKILLed, its data deleted"}
    with drill.step("empty server back"):
        search.start()
    drill.marks["declared"] = time.time()
    with drill.step("reindex runbook") as timing:
        journal = _run_runbook(drill, reindex, timing, journal_dir=journal_dir, pair=pair, guard=guard)
    drill.add_journal_steps("reindex", journal)
    with drill.step("search answers in full") as timing:
        deadline = time.monotonic() + options.timeout_s
        while True:
            full = next((r for r in list(probe.results) if r.sent_at > drill.marks["disaster"] and r.ok
                         and r.found == options.catalog_rows), None)
            if full is not None:
                break
            if time.monotonic() > deadline:
                raise DrillFailed("no search found the whole catalog after the reindex")
            time.sleep(0.02)
        drill.marks["recovered"] = full.answered_at
        timing.detail = {"found": full.found}
    probe.stop()
    after = sorted((r for r in probe.results if r.sent_at >= drill.marks["disaster"]), key=lambda r: r.sent_at)
    first_failure = next((r for r in after if not r.ok or r.found != options.catalog_rows), None)
    drill.measured["rto"] = {"seconds": round(full.answered_at - (first_failure or full).sent_at, 3),
                             "from": "the first search that failed or found less than the catalog",
                             "to": "the first search finding the whole catalog",
                             "failed_searches": sum(1 for r in after if not r.ok)}
    final = max(r.found or 0 for r in probe.results if r.ok)
    drill.measured["rpo"] = {"seconds": 0.0, "documents_missing": options.catalog_rows - final,
                             "lost_heartbeats": [], "lost_orders": [], "acked_by_a": options.catalog_rows,
                             "note": "search is rebuilt from the database: nothing the database holds is lost"}


# ---- Q4 ----------------------------------------------------------------------------------------------------

SCENARIOS["Q4"] = "RB-N-03 S3 mass undelete with CDN purge"
EXPECTED_SECONDS.update({"seed the bucket": 10.0, "mass delete": 2.0, "undelete runbook": 10.0,
                         "every object served": 2.0})


@dataclass
class Q4Options:
    objects: int = 200
    prefix: str = "media/"
    timeout_s: float = 60
    sandbox: SandboxOptions = field(default_factory=lambda: SandboxOptions(with_search=False, with_stripe=False))


def run_q4(options: Q4Options, *, journal_dir: Path, stack: str = "dr",
           on_ready: Callable[[dict[str, Any]], None] | None = None) -> DrillRun:
    """Q4 (RB-N-03): someone deletes every object under a prefix of region A's media bucket (delete markers, the
    bucket is versioned) while a probe reads them; the operator runs `drctl s3-undelete --since T --distribution
    ID --execute` (unchanged): markers removed, the CDN's cached paths invalidated. RTO: first failed read to the
    moment every object reads again; RPO: objects not restored."""
    drill = _new_drill("Q4", "mass-undelete", sandbox=options.sandbox.as_dict())
    with _recording(drill, stack) as (guard, probes), contextlib.ExitStack() as exits:
        pair = _start_pair(drill, exits, options.sandbox, stack=stack, on_ready=on_ready)
        _q4_on_pair(drill, pair, options, journal_dir, guard, probes)
    return drill


def _q4_on_pair(drill: DrillRun, pair: RegionPair, options: Q4Options, journal_dir: Path, guard: _StackFileGuard,
                probes: list[Any]) -> None:
    from ops.actions.aws import client
    from ops.core.naming import bucket_name
    from ops.drctl.sandbox.probes import ObjectProbe

    region = pair.settings.primary_region
    media = next((b for b in pair.settings.buckets if b.tier == "standard"), pair.settings.buckets[0])
    bucket = bucket_name(media.name, region)
    s3 = client("s3", region)
    keys = [f"{options.prefix}{n:05d}.jpg" for n in range(options.objects)]
    with drill.step("seed the bucket"):
        for key in keys:
            s3.put_object(Bucket=bucket, Key=key, Body=f"image {key}".encode())
    distribution = client("cloudfront", region).list_distributions()["DistributionList"]["Items"][0]["Id"]
    probe = ObjectProbe(bucket, keys, region).start()
    probes.append(probe)
    time.sleep(0.5)
    since = datetime.now(timezone.utc).replace(microsecond=0)  # S3 dates its delete markers to the second
    time.sleep(max(0.0, since.timestamp() + 1.0 - time.time()))
    with drill.step("mass delete") as timing:
        drill.marks["disaster"] = time.time()
        for start in range(0, len(keys), 1000):
            s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys[start:start + 1000]]})
        timing.detail = {"deleted": len(keys), "bucket": bucket, "since": since.isoformat()}
    time.sleep(0.3)
    drill.marks["declared"] = time.time()
    with drill.step("undelete runbook") as timing:
        undelete_args = ["s3-undelete", "--bucket", bucket, "--since", since.isoformat(), "--prefix", options.prefix,
                         "--distribution", distribution, "--region", region,
                         "--restore-list", str(journal_dir / f"{drill.run_id}.s3-restore-list.json"),
                         "--execute", "--yes", "--json", "--journal-dir", str(journal_dir), "--timeout",
                         str(options.timeout_s), "--poll", "0.05"]
        journal = _run_runbook(drill, undelete_args, timing, journal_dir=journal_dir, pair=pair, guard=guard)
    drill.add_journal_steps("s3-undelete", journal)
    drill.marks["recovered"] = time.time()  # the runbook is done; the check below proves every object reads
    with drill.step("every object served") as timing:
        missing = []
        for key in keys:
            try:
                s3.head_object(Bucket=bucket, Key=key)
            except Exception:  # noqa: BLE001 (any failure: the object does not read)
                missing.append(key)
        timing.detail = {"missing": missing}
    probe.stop()
    after = sorted((r for r in probe.results if r.sent_at >= drill.marks["disaster"]), key=lambda r: r.sent_at)
    first_failure = next((r for r in after if not r.ok), None)
    last_failure = max((r.answered_at for r in after if not r.ok), default=None)
    drill.measured["rto"] = {"seconds": None if first_failure is None else
                             round(drill.marks["recovered"] - first_failure.sent_at, 3),
                             "from": "the first failed read", "to": "the undelete done (every object reads again)",
                             "last_failed_read_at": last_failure, "failed_reads": sum(1 for r in after if not r.ok)}
    drill.measured["rpo"] = {"seconds": 0.0 if not missing else None, "objects_missing": missing,
                             "lost_heartbeats": [], "lost_orders": [], "acked_by_a": len(keys)}
    if missing:
        raise DrillFailed(f"{len(missing)} objects still do not read after the undelete: {missing[:10]}")
