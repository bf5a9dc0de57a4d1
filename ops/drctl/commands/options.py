"""What the drctl commands share: their common options, and the way each starts (or resumes) a runbook.

Bad input is refused before anything changes: `bad_input` prints it and exits 2, and `refusing` turns the
`BadInput` that a shared check raises (ops/core) into the same exit. `--execute` asks for confirmation unless
`--yes` (no terminal and no `--yes`: exit 2). Journals go to ops/dr/runs/ unless `--journal-dir`; `--resume RUN_ID`
runs the journal's own parameters. Floats are refused unless finite for every option (ops/drctl/cli_input.py).
"""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ops.core.errors import BadInput
from ops.core.paths import REPO_ROOT
from ops.core.times import parse_time

if TYPE_CHECKING:
    from ops.drctl.runbooks.engine import Runbook
    from stacks.settings import Settings

Stack = Annotated[str, typer.Option(help="Stack whose settings name the clusters, regions and DNS.")]
Overrides = Annotated[list[str] | None, typer.Option("--set", help="KEY=VALUE settings override (dotted path).")]
Execute = Annotated[bool, typer.Option(help="Act. Without it: dry-run, which lists the API calls only.")]
Yes = Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation with --execute.")]
Resume = Annotated[str | None, typer.Option(help="Resume this run id from its journal.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the run's journal as JSON.")]
JournalDir = Annotated[Path | None, typer.Option(help="Where run journals go (default ops/dr/runs).")]
Timeout = Annotated[float, typer.Option(help="Bound on each wait, seconds.", min=1)]
Poll = Annotated[float, typer.Option(help="Seconds between polls.", min=0.01)]
ProjectDir = Annotated[Path, typer.Option(help="Where Pulumi.yaml and Pulumi.<stack>.yaml live: the settings are "
                                               "read there, and a flip made through the API is written there.")]
Region = Annotated[str | None, typer.Option(help="Region (default from the stack settings); must be in "
                                                 "allowedRegions.")]


def region_option(what: str, default: str) -> Any:
    """A --region option whose help says what the region is and where it defaults to."""
    return Annotated[str | None, typer.Option(help=f"{what} (default: {default}); must be in allowedRegions.")]


def instance_class_option(default: str) -> Any:
    return Annotated[str | None, typer.Option(help=f"Writer instance class (default: {default}).")]


def register(app: typer.Typer) -> None:
    """No command: cli.py asks every module of this package to register, and this one only serves the others."""


def bad_input(message: str) -> typer.Exit:
    """Say what is wrong (naming the option or value) and exit 2; raise what this returns."""
    print(f"bad input: {message}", file=sys.stderr)
    return typer.Exit(2)


@contextmanager
def refusing() -> Iterator[None]:
    """A BadInput raised inside becomes exit 2 with its message."""
    try:
        yield
    except BadInput as exc:
        raise bad_input(str(exc)) from None


def time_option(value: str, option: str) -> datetime:
    """ISO 8601 with a time zone, as aware UTC; exit 2 naming the option otherwise."""
    with refusing():
        return parse_time(value, option)


def dsn_without_password(dsn: str, option: str) -> str:
    """A libpq DSN/URL that holds no password, since it is written to the run journal; exit 2 otherwise."""
    from psycopg import conninfo
    try:
        parts = conninfo.conninfo_to_dict(dsn)
    except Exception as exc:  # psycopg.ProgrammingError on a malformed DSN
        raise bad_input(f"{option}: not a valid libpq DSN/URL: {exc}") from None
    if parts.get("password"):
        raise bad_input(f"{option} contains a password, which would be written to the run journal: put it in "
                        "PGPASSWORD or ~/.pgpass instead")
    return dsn


def load_settings(stack: str, overrides: list[str] | None, project_dir: Path = REPO_ROOT) -> "Settings":
    from stacks.config_files import load_stack_settings
    from stacks.settings import ConfigError
    try:
        return load_stack_settings(stack, overrides, project_dir)
    except ConfigError as exc:
        raise bad_input(str(exc)) from None


def allowed_region(settings: "Settings", option: str, region: str) -> str:
    if region not in settings.allowed_regions:
        raise bad_input(f"{option} {region}: not in allowedRegions {settings.allowed_regions}")
    return region


def confirm(execute: bool, yes: bool, what: str) -> None:
    """--execute asks first; without a terminal to ask on, --yes is required (exit 2, nothing changed)."""
    if not execute or yes:
        return
    if not sys.stdin.isatty():
        raise bad_input("--execute needs --yes when there is no terminal to confirm on")
    if not typer.confirm(f"{what}. Proceed?", default=False):
        print("aborted: nothing was changed", file=sys.stderr)
        raise typer.Exit(1)


def run_book(book: "Runbook", params: dict[str, Any], *, execute: bool, resume: str | None,
             journal_dir: Path | None, as_json: bool) -> None:
    """Run the book through the engine and exit with its code (0 done, 1 a step failed, 2 bad input)."""
    from ops.drctl.runbooks.engine import DEFAULT_JOURNAL_DIR, run
    raise typer.Exit(run(book, params, execute=execute, resume=resume,
                         journal_dir=journal_dir or DEFAULT_JOURNAL_DIR, as_json=as_json))


def resume_if_asked(resume: str | None, yes: bool, journal_dir: Path | None, as_json: bool,
                    book: "Callable[[dict[str, Any]], Runbook]", *, ask: bool = True) -> None:
    """With --resume, run the journal's runbook on the journal's parameters and mode (not today's settings),
    then exit; `book` builds the step list from those parameters. `ask=False` for a runbook that never asks."""
    if not resume:
        return
    from ops.drctl.runbooks.engine import DEFAULT_JOURNAL_DIR, Journal
    with refusing():
        journal = Journal.load(journal_dir or DEFAULT_JOURNAL_DIR, resume)
    if ask:
        confirm(journal.mode == "execute", yes, f"resume {resume}")
    run_book(book(journal.params), {}, execute=True, resume=resume, journal_dir=journal_dir, as_json=as_json)


def start(book: "Runbook", params: dict[str, Any], *, execute: bool, yes: bool, what: str,
          journal_dir: Path | None, as_json: bool) -> None:
    confirm(execute, yes, what)
    run_book(book, params, execute=execute, resume=None, journal_dir=journal_dir, as_json=as_json)
