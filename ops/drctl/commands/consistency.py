"""`drctl consistency`: compare tables between the primary and the DR PostgreSQL, down to the differing keys.

Read-only on both servers. Exit 0 when every table is the same, 1 when any differs (a table on one side only
differs), 2 on bad input (a DSN that does not answer, an empty name, a table on neither side, a column missing
on either side, a table without primary key and no --key).
"""
from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from ops.drctl.dataplane.consistency import Report

SHOWN_KEYS = 50  # keys per table in the human-readable table; --json lists up to --max-keys


def register(app: typer.Typer) -> None:
    app.command(name="consistency")(consistency)


def _split(values: list[str] | None, option: str) -> list[str]:
    """Repeated options and comma-separated lists both work: --columns a,b --columns c. An empty name (`--table
    ""`, `a,,b`) is refused: left out, an empty --table would silently mean every table."""
    parts = [part.strip() for value in values or [] for part in value.split(",")]
    if any(not part for part in parts):
        empty = next(v for v in values or [] if any(not p.strip() for p in v.split(",")))
        print(f"consistency: {option}: empty name in {empty!r}", file=sys.stderr)
        raise typer.Exit(2)
    return parts


def consistency(
    source: Annotated[str, typer.Option(help="libpq DSN/URL of the primary (source) database.")],
    target: Annotated[str, typer.Option(help="libpq DSN/URL of the DR (target) database.")],
    table: Annotated[list[str] | None, typer.Option(
        help="Table to compare (schema.table; repeatable). Default: every table of either side "
             "(one missing on the other side is reported as differing).")] = None,
    columns: Annotated[list[str] | None, typer.Option(
        help="Compare only these columns (comma-separated or repeated; the key is always compared). "
             "Default: all columns, which must then be the same on both sides.")] = None,
    key: Annotated[list[str] | None, typer.Option(
        help="Key columns (comma-separated) for tables without a primary key. Default: the primary key. "
             "A key that is not unique is compared as the multiset of its rows.")] = None,
    buckets: Annotated[int, typer.Option(help="Buckets per table in the first pass.")] = 4096,
    max_keys: Annotated[int, typer.Option(help="Differing keys listed per table (all are counted).", min=0)] = 1000,
    hash_mode: Annotated[str, typer.Option("--hash", help="Row hash: exact (every stored value, same major "
                                           "version), equality (as the types' = compares: numeric 1.0 = 1.00), "
                                           "text (pinned text form, across major versions) or auto (exact, or "
                                           "text across major versions).")] = "auto",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Row counts and content hash per table, primary vs DR; differing keys as only-in-source/-target/changed."""
    import psycopg

    from ops.core.errors import BadInput
    from ops.drctl.dataplane.consistency import compare

    try:
        report = compare(source, target, _split(table, "--table"), _split(columns, "--columns"),
                         _split(key, "--key"), buckets, max_keys, hash_mode)  # type: ignore[arg-type]
    except BadInput as exc:
        print(f"consistency: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
    except psycopg.Error as exc:  # e.g. permission denied on a table, a server going away mid-scan
        print(f"consistency: database error: {str(exc).strip()}", file=sys.stderr)
        raise typer.Exit(1) from None
    if as_json:
        print(json.dumps(report.as_dict(), indent=2, default=str))
    else:
        _print_report(report)
    if not report.same:
        raise typer.Exit(1)


def _print_report(report: Report) -> None:
    from ops.drctl.terminal import stdout_console
    from rich.table import Table

    console = stdout_console()
    summary = Table("table", "source rows", "target rows", "status", "only in source", "only in target", "changed",
                    title=f"primary vs DR ({report.hash_mode} row hashes)")
    for result in report.tables:
        status = "[green]same[/green]" if result.same else "[red]DIFFER[/red]"
        rows = ("-" if n is None else str(n) for n in (result.source_rows, result.target_rows))
        summary.add_row(result.table, *rows, status,
                        *(str(result.counts.get(k, 0)) for k in ("only_in_source", "only_in_target", "changed")))
    console.print(summary)
    for result in report.tables:
        if result.only_on:
            console.print(f"{result.table}: only on the {result.only_on}")
        elif result.key_unique is False and not result.same:
            console.print(f"{result.table}: key ({', '.join(result.key)}) is not unique on both sides: "
                          "each key's rows compared as a multiset")
    for result in report.tables:
        if not result.keys:
            continue
        keys = Table(*result.key, "class", title=f"{result.table}: differing keys")
        for difference in result.keys[:SHOWN_KEYS]:
            keys.add_row(*(str(v) for v in difference.key), difference.kind)
        console.print(keys)
        shown, total = min(len(result.keys), SHOWN_KEYS), sum(result.counts.values())
        if shown < total:
            console.print(f"{result.table}: {shown} of {total} differing keys shown; --json lists up to --max-keys")
