"""Where `drctl cutback` and `drctl s3-undelete` find the CDN: the primary stack's outputs (stacks/cdn.py says why
that stack owns the distribution). From the dr stack's settings that is its `primaryStack`; from the primary
stack's, the stack itself. Explicit options still win (StackOutputs.pick)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ops.drctl.stack_outputs import StackOutputs, read_stack_outputs

if TYPE_CHECKING:
    from stacks.settings import Settings

DISTRIBUTION_OUTPUT = "cdnDistributionId"
CRITICAL_PATHS_OUTPUT = "cdnCriticalPaths"
MEDIA_BUCKETS_OUTPUT = "cdnMediaBuckets"


def cdn_stack(settings: Settings, stack: str) -> str:
    """The stack that owns the distribution, named as `pulumi stack output --stack` takes it."""
    from stacks.settings import Role

    return settings.primary_stack if settings.role is Role.DR else stack


def cdn_outputs(settings: Settings, stack: str, project_dir: Path, outputs_file: Path | None) -> StackOutputs:
    return read_stack_outputs(cdn_stack(settings, stack), project_dir, outputs_file)
