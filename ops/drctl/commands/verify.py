"""`drctl verify`: read-only checks that the live account holds what the DR plan promises (seed 000's acceptance
criterion: Aurora PITR on, S3 versioning + CRR, DynamoDB global tables live), a line per check, exit 1 on any FAIL.

Names come from the stack settings (`--stack`, `--set KEY=VALUE`), derived as the Pulumi program names them, as
every runbook gets them (ops/drctl/runbooks/verify.py says how); a bad setting or option exits 2.
"""
from __future__ import annotations

import json
import re
from typing import Annotated

import typer

from ops.core.paths import REPO_ROOT as PROJECT_DIR
from ops.drctl.commands.options import Overrides, ProjectDir, Stack, bad_input, load_settings

AsJson = Annotated[bool, typer.Option("--json", help="Print every check as JSON.")]


def register(app: typer.Typer) -> None:
    app.command("verify")(verify)


def verify(
    stack: Stack = "dr", set_: Overrides = None,
    max_lag_seconds: Annotated[float | None, typer.Option(
        help="Aurora lag allowed, seconds (default: half the critical RPO, the lag alarm's threshold).",
        min=0)] = None,
    backup_max_age_hours: Annotated[float, typer.Option(
        help="The newest backup copy in region B may be this old.", min=0.01)] = 24,
    scan_limit: Annotated[int, typer.Option(
        help="Keys listed per bucket to find its newest object.", min=1)] = 10_000,
    backup_vault: Annotated[str | None, typer.Option(
        help="Region B's copy vault (default: the stack's backup-b).")] = None,
    project_dir: ProjectDir = PROJECT_DIR, as_json: AsJson = False,
) -> None:
    """Verify the live account: backups and PITR, global cluster and lag, bucket versioning and replication, table
    replicas and PITR, backup copies in B, SES identities, the cache's Global Datastore, the CDN's failover, health
    checks and alarms. Read-only."""
    from rich.console import Console

    from ops.drctl.commands.restore import VAULT_NAME_PATTERN, backup_vault_name
    from ops.drctl.runbooks.engine import RunContext
    from ops.drctl.runbooks.verify import Targets, run_checks

    settings = load_settings(stack, set_, project_dir)
    vault = backup_vault or backup_vault_name(settings, settings.dr_region)
    if not re.fullmatch(VAULT_NAME_PATTERN, vault):
        raise bad_input(f"--backup-vault {vault!r}: 2-50 letters, digits, '-' or '_'")
    targets = Targets.of(settings, max_lag_s=max_lag_seconds, backup_max_age_hours=backup_max_age_hours,
                         scan_limit=scan_limit, vault=vault)
    # Clients as every runbook makes them (botocore's retries, bounded timeouts, request ids heard).
    context = RunContext(params={}, execute=False, console=Console(stderr=True))
    checks = run_checks(context.client, targets)
    ok = all(check.ok for check in checks)
    source = f"Pulumi.{stack}.yaml" + (f" + {len(set_)} --set" if set_ else "")
    if as_json:
        print(json.dumps({"ok": ok, "stack": stack, "names_from": f"stack settings ({source})",
                          "failed": sum(not c.ok for c in checks), "checks": [c.as_dict() for c in checks]},
                         indent=2))
    else:
        print(f"drctl verify --stack {stack}: names from the stack settings ({source}), as the Pulumi program "
              "names them")
        for check in checks:
            print(check.line())
        failed = sum(not c.ok for c in checks)
        print(f"{len(checks) - failed}/{len(checks)} checks passed" + (f", {failed} FAILED" if failed else ""))
    raise typer.Exit(0 if ok else 1)

