"""The Pulumi failover step's provider against moto's server: what `pulumi up --stack dr` does on `failover: true`.

The dynamic provider is driven through the same entry points the engine calls (create / diff / update / delete),
and once through Pulumi's own provider serialization in a fresh Python process started from the project
directory, the way the engine runs a Python dynamic provider.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from components.failover import CODE_DIR, _PromotionProvider
from ops.actions.aurora import describe_global_cluster, writer_arn
from ops.actions.aws import client
from tests.harness.aurora import DR, GLOBAL_ID, PRIMARY, build_aurora

PROJECT_DIR = Path(CODE_DIR)


def props(arn_a: str, arn_b: str, mode: str) -> dict[str, Any]:
    """The inputs components/failover.py gives the resource, with a fast poll for moto's quick role changes."""
    return {"globalClusterId": GLOBAL_ID, "targetClusterArn": arn_b, "targetRegion": DR,
            "failbackClusterArn": arn_a, "failbackRegion": PRIMARY, "mode": mode, "timeoutSeconds": 30,
            "pollSeconds": 0.05, "writer": None}


def current_writer() -> str | None:
    return writer_arn(describe_global_cluster(client("rds", DR), GLOBAL_ID))


def test_planned_failover_switches_over_and_removing_the_step_switches_back(aws: str, faults: Any) -> None:
    arn_a, arn_b = build_aurora()
    provider = _PromotionProvider(CODE_DIR)

    created = provider.create(props(arn_a, arn_b, "planned"))

    assert current_writer() == arn_b and created.outs["writer"] == arn_b
    assert created.id == f"{GLOBAL_ID}@{DR}"
    assert faults.calls("rds", "SwitchoverGlobalCluster") == 1
    assert faults.calls("rds", "FailoverGlobalCluster") == 0  # planned never allows data loss

    provider.delete(created.id, created.outs)  # `failover: false` again → the failback

    assert current_writer() == arn_a
    assert faults.calls("rds", "SwitchoverGlobalCluster") == 2


def test_unplanned_failover_allows_data_loss_and_a_re_run_changes_nothing(aws: str, faults: Any) -> None:
    arn_a, arn_b = build_aurora()
    provider = _PromotionProvider(CODE_DIR)
    news = props(arn_a, arn_b, "unplanned")

    created = provider.create(news)
    assert current_writer() == arn_b
    assert faults.calls("rds", "FailoverGlobalCluster") == 1

    # A later `pulumi up` that changes only the mode updates the resource; B already writes, so no API call.
    updated = provider.update(created.id, created.outs, {**news, "mode": "planned"})
    assert updated.outs["writer"] == arn_b
    assert faults.calls("rds", "FailoverGlobalCluster") == 1
    assert faults.calls("rds", "SwitchoverGlobalCluster") == 0


def test_throttled_role_change_is_retried_and_completes(aws: str, faults: Any) -> None:
    arn_a, arn_b = build_aurora()
    faults.inject("rds", "SwitchoverGlobalCluster", 2, status=400, code="Throttling")
    faults.inject("rds", "DescribeGlobalClusters", 1, status=503, code="ServiceUnavailable")

    _PromotionProvider(CODE_DIR).create(props(arn_a, arn_b, "planned"))

    assert current_writer() == arn_b
    assert faults.calls("rds", "SwitchoverGlobalCluster") == 3  # two throttled, one accepted


def test_diff_replaces_only_when_the_target_cluster_moves(aws: str) -> None:
    provider = _PromotionProvider(CODE_DIR)
    olds = props("arn:a", "arn:b", "planned")

    assert provider.diff("id", olds, dict(olds)).changes is False
    mode_only = provider.diff("id", olds, {**olds, "mode": "unplanned"})
    assert mode_only.changes is True and not mode_only.replaces
    moved = provider.diff("id", olds, {**olds, "targetClusterArn": "arn:c"})
    assert moved.changes is True and moved.replaces == ["targetClusterArn"]


def test_promotion_fails_clearly_when_the_target_is_not_a_member(aws: str) -> None:
    arn_a, _ = build_aurora()
    stranger = arn_a.replace(f"{GLOBAL_ID}-{PRIMARY}", "someone-else")

    with pytest.raises(RuntimeError, match="is not a member of global cluster dr-core"):
        _PromotionProvider(CODE_DIR).create(props(arn_a, stranger, "planned"))
    assert current_writer() == arn_a


def test_serialized_provider_promotes_from_a_fresh_provider_process(aws: str, tmp_path: Path) -> None:
    """Pulumi pickles the provider with dill and a separate process (cwd = the project) unpickles and runs it."""
    from pulumi.dynamic.dynamic import serialize_provider

    arn_a, arn_b = build_aurora()
    blob = tmp_path / "provider.b64"
    blob.write_text(serialize_provider(_PromotionProvider(CODE_DIR)))
    script = textwrap.dedent(f"""
        import base64, dill, json, sys
        provider = dill.loads(base64.b64decode(open({str(blob)!r}).read()))
        result = provider.create(json.loads(sys.argv[1]))
        print(result.outs["writer"])
    """)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", script, json.dumps(props(arn_a, arn_b, "planned"))],
                          cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == arn_b
    assert current_writer() == arn_b
