"""Runbook engine: dry-run by default, one JSON journal per run, resumable, every step idempotent.

A runbook is a list of `Step`s. Read-only steps (preflight, lookups) run in dry-run too, so a dry-run reports
real facts and refuses bad input exactly as a real run would; mutating steps only print the API calls they
would make until `--execute`. The journal (`ops/dr/runs/<run-id>.json`) is rewritten atomically after every
state change, so a crash loses nothing: `--resume RUN_ID` skips the steps recorded `done` and hands their
results to the steps after them.

Exit codes: 0 done, 1 a step failed, 2 bad input (nothing was changed).
"""
from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ops.actions import aws
from ops.core.errors import BadInput
from ops.core.paths import JOURNAL_DIR

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
DEFAULT_JOURNAL_DIR = JOURNAL_DIR
# Fault injection for drills and tests (chaostoolkit style): the process dies right after this step is done, or,
# given as STEP@MARK, right after that step journals the checkpoint MARK (see RunContext.checkpoint).
CRASH_AFTER_ENV = "DRCTL_CRASH_AFTER_STEP"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


StepState = Literal["pending", "running", "done", "failed", "planned"]


class StepRecord(BaseModel):
    name: str
    description: str = ""
    state: StepState = "pending"
    read_only: bool = False
    started_at: str | None = None
    finished_at: str | None = None
    seconds: float | None = None
    would_call: list[str] = Field(default_factory=list)
    api_calls: list[dict[str, str]] = Field(default_factory=list)
    result: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None


class Journal(BaseModel):
    run_id: str
    runbook: str
    mode: Literal["dry-run", "execute"]
    params: dict[str, Any]
    status: Literal["running", "done", "failed", "bad-input", "planned"] = "running"
    created_at: str = Field(default_factory=now_iso)
    updated_at: str = Field(default_factory=now_iso)
    seconds: float | None = None
    error: str | None = None
    steps: list[StepRecord] = Field(default_factory=list)

    def save(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        self.updated_at = now_iso()
        path = directory / f"{self.run_id}.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(self.model_dump_json(indent=2))
        os.replace(tmp, path)  # atomic: a reader or a crash never sees half a journal
        return path

    @classmethod
    def load(cls, directory: Path, run_id: str) -> "Journal":
        path = directory / f"{run_id}.json"
        if not path.is_file():
            raise BadInput(f"--resume {run_id}: no journal at {path}")
        return cls.model_validate_json(path.read_text())

    def step(self, name: str) -> StepRecord:
        return next(s for s in self.steps if s.name == name)


@dataclass
class RunContext:
    """What a step sees: the run's parameters, earlier steps' results, and AWS clients that journal request ids."""

    params: dict[str, Any]
    execute: bool
    console: Console
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    run_id: str = ""  # names the run's own artefacts (e.g. ops/dr/runs/<run-id>.s3-restore-list.json)
    # What steps hand each other within one attempt and is too big for the journal (a resume starts without it).
    memo: dict[str, Any] = field(default_factory=dict)
    _record: StepRecord | None = None
    _save: Callable[[], None] = lambda: None

    def client(self, service: str, region: str, **kwargs: Any) -> Any:
        def heard(svc: str, operation: str, request_id: str) -> None:
            if self._record is not None:
                self._record.api_calls.append({"service": svc, "operation": operation, "request_id": request_id})
        return aws.client(service, region, on_request=heard, **kwargs)

    def log(self, message: str) -> None:
        self.console.log(message)

    @property
    def progress(self) -> dict[str, Any]:
        """The running step's last checkpoint: {} on its first attempt, what an earlier attempt journaled on a
        resume."""
        return dict(self._record.result) if self._record is not None else {}

    def checkpoint(self, progress: dict[str, Any], mark: str) -> None:
        """Journal a long step's progress now (as its result so far), so that a crash loses none of it and the
        resumed step continues from `ctx.progress`."""
        assert self._record is not None, "checkpoint outside a step"
        self._record.result = progress
        self._save()
        if os.environ.get(CRASH_AFTER_ENV) == f"{self._record.name}@{mark}":
            os._exit(137)  # simulated crash: the journal already holds this checkpoint


Plan = Callable[[RunContext], list[str]]
Action = Callable[[RunContext], "dict[str, Any] | None"]


@dataclass(frozen=True)
class Step:
    name: str
    description: str
    action: Action
    # The exact API calls a mutating step would make; evaluated in dry-run after the read-only steps ran.
    would_call: Plan = lambda ctx: []
    read_only: bool = False


@dataclass(frozen=True)
class Runbook:
    name: str  # e.g. "RB-N-01 region failover"
    steps: Sequence[Step]
    validate: Callable[[dict[str, Any]], None] = lambda params: None  # raises BadInput
    # What the run found, from its journal: merged into the --json output and printed after the step table.
    summary: Callable[[Journal], dict[str, Any]] | None = None
    show: Callable[[Journal], None] | None = None


def run(book: Runbook, params: dict[str, Any], *, execute: bool, resume: str | None = None,
        journal_dir: Path = DEFAULT_JOURNAL_DIR, console: Console | None = None, as_json: bool = False) -> int:
    """Run (or dry-run) a runbook; returns the exit code. Prints a table, or the journal as JSON."""
    console = console or Console(stderr=True, emoji=False)  # AWS data verbatim: no ':secret:' emoji
    try:
        if resume:
            journal = Journal.load(journal_dir, resume)
            if journal.runbook != book.name:
                raise BadInput(f"--resume {resume}: journal is for {journal.runbook!r}, not {book.name!r}")
            params, execute = journal.params, journal.mode == "execute"
            journal.status, journal.error = "running", None
        else:
            book.validate(params)
            journal = Journal(run_id=f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}",
                              runbook=book.name, mode="execute" if execute else "dry-run", params=params,
                              steps=[StepRecord(name=s.name, description=s.description, read_only=s.read_only)
                                     for s in book.steps])
    except BadInput as exc:
        return _report_bad_input(str(exc), console, as_json)

    ctx = RunContext(params=params, execute=execute, console=console, run_id=journal.run_id,
                     results={s.name: s.result for s in journal.steps if s.state == "done"},
                     _save=lambda: journal.save(journal_dir))
    started = time.monotonic()
    journal.save(journal_dir)
    for step in book.steps:
        record = journal.step(step.name)
        if record.state == "done":
            console.log(f"[dim]{step.name}: done in an earlier attempt, not repeated[/dim]")
            continue
        if not execute and not step.read_only:
            try:
                record.would_call = step.would_call(ctx)
            except BadInput as exc:
                return _bad_input_in_run(journal, record, str(exc), journal_dir, console, as_json, book)
            record.state = "planned"
            continue
        record.state, record.started_at, record.error, record.api_calls = "running", now_iso(), None, []
        journal.save(journal_dir)
        ctx._record = record
        t0 = time.monotonic()
        try:
            with console.status(f"{step.name}: {step.description}"):
                record.result = step.action(ctx) or {}
        except BadInput as exc:
            record.seconds = round(time.monotonic() - t0, 3)
            return _bad_input_in_run(journal, record, str(exc), journal_dir, console, as_json, book)
        except Exception as exc:  # a failed step ends the run; the journal says where to resume
            record.state, record.error = "failed", f"{type(exc).__name__}: {exc}"
            record.seconds, record.finished_at = round(time.monotonic() - t0, 3), now_iso()
            journal.status, journal.error = "failed", f"step {step.name} failed: {record.error}"
            journal.seconds = round(time.monotonic() - started, 3)
            journal.save(journal_dir)
            return _finish(journal, EXIT_FAILED, console, as_json, journal_dir, book)
        finally:
            ctx._record = None
        record.state, record.finished_at = "done", now_iso()
        record.seconds = round(time.monotonic() - t0, 3)
        ctx.results[step.name] = record.result
        journal.save(journal_dir)
        if os.environ.get(CRASH_AFTER_ENV) == step.name:
            os._exit(137)  # simulated crash: journal already says this step is done
    journal.status = "done" if execute else "planned"
    journal.seconds = round(time.monotonic() - started, 3)
    journal.save(journal_dir)
    return _finish(journal, EXIT_OK, console, as_json, journal_dir, book)


def _bad_input_in_run(journal: Journal, record: StepRecord, message: str, journal_dir: Path,
                      console: Console, as_json: bool, book: Runbook) -> int:
    record.state, record.error = "failed", message
    journal.status, journal.error = "bad-input", message
    journal.save(journal_dir)
    if as_json:
        _print_json(journal, book)
    else:
        console.print(f"[bold red]bad input:[/bold red] {escape(message)}")
    return EXIT_BAD_INPUT


def _report_bad_input(message: str, console: Console, as_json: bool) -> int:
    if as_json:
        print(json.dumps({"status": "bad-input", "error": message}))
    else:
        console.print(f"[bold red]bad input:[/bold red] {escape(message)}")
    return EXIT_BAD_INPUT


def _print_json(journal: Journal, book: Runbook) -> None:
    if book.summary is None:
        print(journal.model_dump_json(indent=2))
    else:  # the runbook's own summary beside the journal's fields (the names do not overlap)
        print(json.dumps({**journal.model_dump(mode="json"), **book.summary(journal)}, indent=2))


def _finish(journal: Journal, code: int, console: Console, as_json: bool, journal_dir: Path, book: Runbook) -> int:
    if as_json:
        _print_json(journal, book)
        return code
    table = Table(title=f"{journal.runbook} — {journal.mode} — run {journal.run_id}")
    for column in ("step", "state", "seconds"):
        table.add_column(column)
    table.add_column("detail", overflow="fold")  # ARNs and ids are copied from here: fold, never cut
    for s in journal.steps:
        detail = s.error or "\n".join(s.would_call) or ", ".join(f"{k}={v}" for k, v in s.result.items())
        table.add_row(s.name, s.state, "" if s.seconds is None else f"{s.seconds:.2f}", Text(detail[:400]))
    console.print(table)
    # where this run's journal is (--journal-dir, or the default), for --resume and drill record
    console.print(f"status: [bold]{journal.status}[/bold]  total: {journal.seconds}s  journal: "
                  f"{escape(str(journal_dir / f'{journal.run_id}.json'))}"
                  + (f"\n{escape(journal.error)}" if journal.error else ""))
    if journal.status == "planned":
        console.print("dry-run: nothing was changed. Re-run with --execute to act.")
    if book.show is not None:
        book.show(journal)
    return code
