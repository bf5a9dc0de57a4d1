"""`drctl pitr-restore` and `drctl snapshot-restore` (RB-N-02), and `drctl s3-undelete` (RB-N-03).

TIME options are ISO 8601 WITH a time zone (`2026-11-22T09:30:00Z`, `...+01:00`); a time without one is refused
(exit 2) rather than guessed, because an hour's offset picks different data. Regions default from the stack
settings (`--stack dr`, `--set KEY=VALUE`) and must be in its allowedRegions (exit 2 naming the region).
Dry-run unless --execute; --execute asks first unless --yes. --json prints the run's journal; --resume RUN_ID
continues a run from its journal (ops/dr/runs/) without repeating a completed step.
"""
from __future__ import annotations

import re
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ops.core import naming
from ops.core.environments import Names
from ops.core.paths import REPO_ROOT as PROJECT_DIR
from ops.core.times import TIME_EXAMPLE
from ops.drctl.commands.options import (AsJson, Execute, JournalDir, Overrides, Poll, Resume, Stack, Timeout, Yes,
                                        allowed_region, bad_input, instance_class_option, load_settings, refusing,
                                        region_option, resume_if_asked, start, time_option)
from ops.drctl.stack_outputs import OutputsFile

if TYPE_CHECKING:
    from stacks.settings import Settings



def register(app: typer.Typer) -> None:
    app.command("pitr-restore")(pitr_restore)
    app.command("snapshot-restore")(snapshot_restore)
    app.command("s3-undelete")(s3_undelete)


def aurora_instance_class(value: str | None, option: str) -> str | None:
    """None (the default applies) or an Aurora DB instance class; anything else exits 2 naming the option."""
    from stacks.settings import AURORA_INSTANCE_CLASS_PATTERN

    if value is not None and not re.match(AURORA_INSTANCE_CLASS_PATTERN, value):
        raise bad_input(f"{option} {value!r} is not an Aurora DB instance class (e.g. db.r6g.large, "
                         "db.r7g.2xlarge, db.t4g.medium, db.serverless)")
    return value


def restored_cluster_name(prefix: str, started: datetime) -> str:
    """`dr-core-YYYYmmddHHMM` (UTC) from the run's start; kept in the journal, so a resume reuses it."""
    return f"{prefix}-{started:%Y%m%d%H%M}"


def pitr_restore(
    cluster: Annotated[str, typer.Option(help="Source Aurora cluster id (e.g. dr-core-us-east-1).")] = "",
    to: Annotated[str | None, typer.Option(help=f"Restore time, ISO 8601 with a time zone ({TIME_EXAMPLE}), "
                                                "inside the cluster's restorable window.")] = None,
    latest: Annotated[bool, typer.Option(help="Restore to the latest restorable time instead of --to.")] = False,
    region: region_option("The source cluster's region", "the stack's primary region") = None,
    instance_class: instance_class_option("the source writer's") = None,
    stack: Stack = "dr", set_: Overrides = None,
    execute: Execute = False, yes: Yes = False, resume: Resume = None, as_json: AsJson = False,
    journal_dir: JournalDir = None, timeout: Timeout = 3600, poll: Poll = 15,
) -> None:
    """RB-N-02: restore an Aurora cluster to a point in time as a NEW cluster `<global id>-YYYYmmddHHMM` with a
    writer `<new>-writer`, wait until both are available, print the endpoint. The source is not touched.
    Restoring a global database member gives a standalone regional cluster (not a member of the global one)."""
    from ops.drctl.runbooks import pitr_restore as rb

    resume_if_asked(resume, yes, journal_dir, as_json, lambda params: rb.runbook())
    if not cluster:
        raise bad_input("--cluster is required")
    if (to is None) == (not latest):
        raise bad_input("give exactly one of --to TIME and --latest")
    restore_to = time_option(to, "--to").isoformat() if to is not None else None
    aurora_instance_class(instance_class, "--instance-class")
    settings = load_settings(stack, set_)
    params = {"source_cluster_id": cluster, "region": allowed_region(settings, "--region", region or settings.primary_region),
              "restore_to": restore_to, "instance_class": instance_class,
              "fallback_instance_class": settings.aurora.instance_class,
              "new_cluster_id": restored_cluster_name(settings.aurora.global_cluster_id, datetime.now(timezone.utc)),
              "timeout_s": timeout, "poll_s": poll}
    start(rb.runbook(), params, execute=execute, yes=yes, journal_dir=journal_dir, as_json=as_json,
          what=f"restore {cluster} in {params['region']} to {restore_to or 'the latest restorable time'} as "
               f"{params['new_cluster_id']}")


def network_names(region: str, names: Names | None = None) -> tuple[str, str]:
    """(DB subnet group, security group) names the Pulumi program gives the data network of `region` in the
    stack's environment (production's by default)."""
    network = (names or Names()).network(region)
    return naming.db_subnet_group_name(network), naming.db_security_group_name(network)


VAULT_NAME_PATTERN = r"[a-zA-Z0-9_-]{2,50}"  # AWS Backup's documented pattern for a vault name


def backup_vault_name(settings: "Settings", region: str) -> str:
    """The AWS Backup vault the Pulumi program makes in `region`: region A's vault or region B's copy vault."""
    return settings.names.backup_vault("a" if region == settings.primary_region else "b")


def snapshot_restore(
    snapshot: Annotated[str | None, typer.Option(help="DB cluster snapshot id or ARN, in --region (copy one from "
                                                      "another region first).")] = None,
    latest: Annotated[bool, typer.Option(help="The newest available snapshot of the global database's clusters "
                                              "in --region: automated or manual (RDS), or a COMPLETED recovery "
                                              "point in --backup-vault (AWS Backup).")] = False,
    backup_vault: Annotated[str | None, typer.Option(help="AWS Backup vault in --region whose recovery points "
                                                          "--latest considers (default: the stack's vault there, "
                                                          "backup-b in region B; skipped with a note if it does "
                                                          "not exist).")] = None,
    region: region_option("Where the snapshot is and the new cluster goes", "the stack's drRegion") = None,
    instance_class: instance_class_option("the stack's aurora.instanceClass") = None,
    kms_key: Annotated[str | None, typer.Option(help="KMS key for the new cluster's storage (default: the "
                                                     "snapshot's).")] = None,
    stack: Stack = "dr", set_: Overrides = None,
    execute: Execute = False, yes: Yes = False, resume: Resume = None, as_json: AsJson = False,
    journal_dir: JournalDir = None, timeout: Timeout = 3600, poll: Poll = 15,
) -> None:
    """RB-N-02: restore a DB cluster snapshot (an AWS Backup copy in region B, an automated or a manual one) as a
    NEW cluster `<global id>-YYYYmmddHHMM` with a writer `<new>-writer`, wait until both are available, print the
    endpoint. For a logical corruption that already replicated, or when the source's region is down."""
    from ops.actions.rds_restore import snapshot_arn_parts
    from ops.drctl.runbooks import snapshot_restore as rb

    resume_if_asked(resume, yes, journal_dir, as_json, lambda params: rb.runbook())
    if (not snapshot) == (not latest):
        raise bad_input("give exactly one of --snapshot ID_OR_ARN and --latest")
    if backup_vault is not None and not latest:
        raise bad_input("--backup-vault is only looked in with --latest")
    if backup_vault is not None and not re.fullmatch(VAULT_NAME_PATTERN, backup_vault):
        raise bad_input(f"--backup-vault {backup_vault!r} is not a backup vault name (2-50 letters, digits, - or _)")
    settings = load_settings(stack, set_)
    target = allowed_region(settings, "--region", region or settings.dr_region)
    if snapshot:
        try:
            arn_parts = snapshot_arn_parts(snapshot)
        except ValueError as exc:
            raise bad_input(f"--snapshot {exc}") from None
        if arn_parts and arn_parts[0] != target:
            raise bad_input(f"--snapshot {snapshot} is in {arn_parts[0]}, not {target}: RDS restores a snapshot "
                             f"only in its own region (copy it to {target} first, or give --region {arn_parts[0]})")
    aurora = settings.aurora
    subnet_group, security_group = network_names(target, settings.names)
    params = {"snapshot": snapshot, "latest": latest, "region": target,
              "source_cluster_ids": [aurora.cluster_id(settings.primary_region), aurora.cluster_id(settings.dr_region)],
              "regional_cluster_id": aurora.cluster_id(target),
              "backup_vault": (backup_vault or backup_vault_name(settings, target)) if latest else None,
              "backup_vault_given": backup_vault is not None,
              "subnet_group_name": subnet_group, "security_group_name": security_group, "kms_key": kms_key,
              "instance_class": instance_class or aurora.instance_class,
              "new_cluster_id": restored_cluster_name(aurora.global_cluster_id, datetime.now(timezone.utc)),
              "timeout_s": timeout, "poll_s": poll}
    start(rb.runbook(), params, execute=execute, yes=yes, journal_dir=journal_dir, as_json=as_json,
          what=f"restore {snapshot or 'the newest snapshot'} in {target} as {params['new_cluster_id']}")


def cdn_purge(settings: "Settings", stack: str, bucket: str, distribution: str | None, paths: list[str] | None,
              outputs_file: Path | None) -> tuple[str | None, list[str]]:
    """The distribution to purge and the critical paths purged with the restored ones. Explicit options win;
    otherwise the primary stack's outputs, whose distribution is used only when it serves `bucket` (its media
    bucket in A or B). No distribution anywhere: no purge, and a note naming the option and the output."""
    from ops.drctl.cdn_outputs import (
        CRITICAL_PATHS_OUTPUT,
        DISTRIBUTION_OUTPUT,
        MEDIA_BUCKETS_OUTPUT,
        cdn_outputs,
    )

    if distribution and paths:
        return distribution, list(paths)
    with refusing():
        found = cdn_outputs(settings, stack, PROJECT_DIR, outputs_file)
    if not distribution:
        served = found.get(MEDIA_BUCKETS_OUTPUT) or []
        distribution = found.get(DISTRIBUTION_OUTPUT) if bucket in served else None
        if not distribution:
            why = (f"{bucket} is not among its {MEDIA_BUCKETS_OUTPUT} ({', '.join(served)})" if served else
                   f"no {DISTRIBUTION_OUTPUT} in {found.source}")
            print(f"note: no CloudFront purge: --distribution not given and {why}", file=sys.stderr)
            return None, []
    return distribution, [str(p) for p in (paths or found.get(CRITICAL_PATHS_OUTPUT) or [])]


def s3_undelete(
    bucket: Annotated[str, typer.Option(help="Versioned bucket to undelete in.")] = "",
    since: Annotated[str | None, typer.Option(help=f"Undelete objects deleted at/after TIME, ISO 8601 with a time "
                                                   f"zone ({TIME_EXAMPLE}).")] = None,
    prefix: Annotated[str, typer.Option(help="Only keys under this prefix.")] = "",
    distribution: Annotated[str | None, typer.Option(help="CloudFront distribution whose cache of the restored "
                                                          "paths is invalidated (default: the primary stack's "
                                                          "output cdnDistributionId, when it serves --bucket).")] = None,
    paths: Annotated[list[str] | None, typer.Option("--paths", help="Critical path invalidated with the restored "
                                                                     "ones (repeat; default: the primary stack's "
                                                                     "output cdnCriticalPaths).")] = None,
    region: region_option("The bucket's region", "found with GetBucketLocation") = None,
    restore_list: Annotated[Path | None, typer.Option(help="Where the restore list goes (default: "
                                                           "<journal dir>/<run id>.s3-restore-list.json).")] = None,
    workers: Annotated[int, typer.Option(help="Concurrent DeleteObject workers.", min=1, max=64)] = 8,
    page_size: Annotated[int, typer.Option(help="Versions per ListObjectVersions page.", min=1, max=1000)] = 1000,
    stack: Stack = "dr", set_: Overrides = None, outputs: OutputsFile = None,
    execute: Execute = False, yes: Yes = False, resume: Resume = None, as_json: AsJson = False,
    journal_dir: JournalDir = None, timeout: Timeout = 1800, poll: Poll = 5,
) -> None:
    """RB-N-03: remove the delete markers made at/after --since under --prefix so the previous versions are
    current again, write the restore list (key, marker version id, restored version id), and invalidate the
    restored paths in CloudFront (batched within its limits)."""
    from ops.actions.s3_versions import bucket_name_problem
    from ops.drctl.runbooks import s3_undelete as rb
    from ops.drctl.runbooks.engine import DEFAULT_JOURNAL_DIR

    resume_if_asked(resume, yes, journal_dir, as_json, rb.runbook)
    if not bucket:
        raise bad_input("--bucket is required")
    if (problem := bucket_name_problem(bucket)) is not None:
        raise bad_input(f"--bucket {bucket!r} is not a valid S3 bucket name: {problem}")
    if since is None:
        raise bad_input("--since is required")
    moment = time_option(since, "--since")
    if moment > datetime.now(timezone.utc):
        raise bad_input(f"--since {since} is in the future: no deletion can be that recent")
    settings = load_settings(stack, set_)
    distribution, critical_paths = cdn_purge(settings, stack, bucket, distribution, paths, outputs)
    params = {"bucket": bucket, "since": moment.isoformat(), "prefix": prefix, "distribution_id": distribution,
              "critical_paths": critical_paths,
              "region": allowed_region(settings, "--region", region) if region else None,
              "allowed_regions": list(settings.allowed_regions),
              "restore_list": str(restore_list) if restore_list else None,
              "restore_list_dir": str(journal_dir or DEFAULT_JOURNAL_DIR), "workers": workers,
              "page_size": page_size, "timeout_s": timeout, "poll_s": poll}
    start(rb.runbook(params), params, execute=execute, yes=yes, journal_dir=journal_dir, as_json=as_json,
          what=f"remove delete markers made since {params['since']} in s3://{bucket}/{prefix}"
               + (f" and invalidate the restored paths on {distribution}" if distribution else ""))
