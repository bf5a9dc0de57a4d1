"""`drctl reindex` (RB-N-04): rebuild a Typesense collection from PostgreSQL, hot slice first, swap the alias.

Dry run by default: validates everything (source, table, every schema field's column, hot-slice predicate,
Typesense and its key) and prints the plan: source rows, schema, target collection. `--execute` builds
`<collection>_v<UTC time>`, imports, verifies counts, points the alias `<collection>` at it and only then drops
the old collection. Journal in ops/dr/runs/; `--resume RUN_ID` continues after the last acknowledged key.
Secrets stay out of the journal: the API key is read from an environment variable, the PostgreSQL password
from PGPASSWORD or ~/.pgpass.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ops.drctl.commands.options import (AsJson, Execute, JournalDir, Resume, Yes, bad_input, dsn_without_password,
                                        resume_if_asked, start)


def register(app: typer.Typer) -> None:
    app.command("reindex")(reindex)


def reindex(
    source: Annotated[str, typer.Option(help="libpq DSN/URL of the PostgreSQL source (no password in it).")] = "",
    source_secret: Annotated[str | None, typer.Option(help="ARN of a Secrets Manager secret with the source's "
                                                           "username and password (RDS's JSON form), read at "
                                                           "connect time; without it libpq's environment.")] = None,
    typesense: Annotated[str, typer.Option(help="Typesense base URL, e.g. http://127.0.0.1:8108.")] = "",
    api_key_env: Annotated[str, typer.Option(help="Environment variable holding the Typesense admin API key.")]
        = "TYPESENSE_API_KEY",
    collection: Annotated[str, typer.Option(help="Alias to rebuild; its schema and source are in --config-dir.")]
        = "",
    hot_slice: Annotated[str | None, typer.Option(help="SQL WHERE predicate on the source table: these rows are "
                                                       "imported first.")] = None,
    batch_size: Annotated[int, typer.Option(help="Documents per import request.", min=1, max=100_000)] = 5000,
    concurrency: Annotated[int, typer.Option(help="Import requests in flight.", min=1, max=32)] = 2,
    config_dir: Annotated[Path | None, typer.Option(help="Schemas and reindex.json (default ops/dr/typesense).")]
        = None,
    prune_abandoned: Annotated[bool, typer.Option(help="After the swap, also drop older generations of this alias "
                                                       "that runs which never swapped left behind (for unattended, "
                                                       "scheduled runs).")] = False,
    statement_timeout: Annotated[float, typer.Option(help="Seconds any one statement on the source may run (a "
                                                          "slow --hot-slice included) before it is cancelled.",
                                                     min=1)] = 120,
    execute: Execute = False, yes: Yes = False, resume: Resume = None, as_json: AsJson = False,
    journal_dir: JournalDir = None,
) -> None:
    """RB-N-04: rebuild a Typesense collection from PostgreSQL (hot slice first) and swap its alias."""
    from ops.drctl.dataplane import reindex as rb
    from ops.drctl.runbooks.engine import DEFAULT_JOURNAL_DIR

    resume_if_asked(resume, yes, journal_dir, as_json, lambda params: rb.runbook())
    for option, value in (("--source", source), ("--typesense", typesense), ("--collection", collection)):
        if not value.strip():
            raise bad_input(f"{option} is required")
    if source_secret:
        from ops.actions.secrets import region_of
        try:
            region_of(source_secret)
        except ValueError as exc:
            raise bad_input(f"--source-secret: {exc}") from None
    params = rb.run_params(source=dsn_without_password(source, "--source"), source_secret_arn=source_secret,
                           prune_abandoned=prune_abandoned, statement_timeout_s=statement_timeout,
                           typesense_url=typesense, api_key_env=api_key_env,
                           collection=collection, hot_slice=hot_slice, batch_size=batch_size,
                           concurrency=concurrency, config_dir=config_dir or rb.CONFIG_DIR,
                           journal_dir=journal_dir or DEFAULT_JOURNAL_DIR)
    target = params["target"]
    start(rb.runbook(), params, execute=execute, yes=yes, journal_dir=journal_dir, as_json=as_json,
          what=f"build {target} from {collection}'s source, point alias {collection} at it, drop the old one")
