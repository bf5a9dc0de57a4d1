"""The writer resource's provider as Pulumi's dynamic-provider host runs it: serialized with Pulumi's own
`serialize_provider` (dill, recurse), then loaded the way `pulumi/dynamic/__main__.py` loads it and driven in a
FRESH `python -I` process whose cwd is not the project and which cannot import the project at all (the venv's
editable install is blocked too), as a state written by another checkout, or before a module moved, must still
load. Everything the provider runs must therefore travel in the pickle, by value. (Failing first: the earlier
provider, pickled by reference as `components.failover._PromotionProvider`, died here on `import components`.)"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from components.failover import by_value_copies, writer_provider
from ops.actions.aurora import describe_global_cluster, writer_arn
from ops.actions.aws import client
from tests.harness.aurora import DR, GLOBAL_ID, PRIMARY, build_aurora

PROJECT_PACKAGES = {"ops", "components", "scripts", "stacks", "policy", "tests"}
# What the provider host does with `__provider` (get_provider: base64, dill.loads), then the engine's calls.
HOST = textwrap.dedent("""
    import base64, importlib.abc, json, sys
    import dill

    class NoProject(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in PACKAGES:
                raise ModuleNotFoundError(f"the project is not importable here: {name}")
            return None

    sys.meta_path.insert(0, NoProject())
    provider = dill.loads(base64.b64decode(open(sys.argv[1]).read()))
    results = []
    for method, args in json.loads(sys.argv[2]):
        result = getattr(provider, method)(*args)
        results.append(None if result is None else {k: v for k, v in vars(result).items()})
    print(json.dumps(results, default=str))
""").replace("PACKAGES", repr(PROJECT_PACKAGES))


def run_in_fresh_process(blob: Path, calls: list[tuple[str, list[Any]]], cwd: Path) -> list[Any]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    done = subprocess.run([sys.executable, "-I", "-c", HOST, str(blob), json.dumps(calls)],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def props(target_arn: str, target_region: str, mode: str = "planned") -> dict[str, Any]:
    return {"globalClusterId": GLOBAL_ID, "targetClusterArn": target_arn, "targetRegion": target_region,
            "mode": mode, "timeoutSeconds": 30, "pollSeconds": 0.05, "writer": None}


def current_writer() -> str | None:
    return writer_arn(describe_global_cluster(client("rds", DR), GLOBAL_ID))


def test_serialized_provider_adopts_moves_and_forgets_without_the_project(aws: str, faults: Any,
                                                                          tmp_path: Path) -> None:
    from pulumi.dynamic.dynamic import serialize_provider

    arn_a, arn_b = build_aurora(instances_b=1)
    blob = tmp_path / "provider.b64"
    blob.write_text(serialize_provider(writer_provider()))
    on_a, on_b = props(arn_a, PRIMARY), props(arn_b, DR, "unplanned")

    created, diffed, updated, deleted = run_in_fresh_process(blob, [
        ("create", [on_a]),  # adopts A, which already writes: nothing called
        ("diff", [GLOBAL_ID, on_a, on_b]),
        ("update", [GLOBAL_ID, on_a, on_b]),  # failover: B writes
        ("delete", [GLOBAL_ID, on_b]),  # forgets; B keeps writing
    ], cwd=tmp_path)

    assert created["id"] == GLOBAL_ID and created["outs"]["writer"] == arn_a
    assert diffed["changes"] is True and diffed["replaces"] == [] and diffed["delete_before_replace"] is False
    assert updated["outs"]["writer"] == arn_b
    assert deleted is None
    assert current_writer() == arn_b
    assert faults.calls("rds", "FailoverGlobalCluster") == 1
    assert faults.calls("rds", "SwitchoverGlobalCluster") == 0


def test_serialization_is_the_same_in_every_process(tmp_path: Path) -> None:
    """The engine stores the serialized provider as an input: a different blob per run would mean noise in every
    preview (and a different one per checkout path would tie the state to a directory)."""
    script = ("from pulumi.dynamic.dynamic import serialize_provider\n"
              "from components.failover import writer_provider\n"
              "print(serialize_provider(writer_provider()))\n")
    blobs = set()
    for cwd in (tmp_path, Path.cwd()):
        done = subprocess.run([sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True, timeout=120,
                              env={**os.environ, "PYTHONHASHSEED": str(len(blobs) + 1)})
        assert done.returncode == 0, done.stderr
        blobs.add(done.stdout)
    assert len(blobs) == 1


def test_copying_refuses_action_code_that_would_still_import_the_project() -> None:
    """Guard for later edits of ops/actions: a helper of another project module, left by reference, would
    bring back the dependency on the project; the plan fails naming it instead."""
    with pytest.raises(ImportError, match="ops.actions.aws.*add ops.actions.aws to ACTION_MODULES"):
        by_value_copies(("ops.actions.aurora",))


def test_copying_refuses_a_project_module_object(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """dill pickles a module object by its name: the provider's process would import the project for it."""
    package = tmp_path / "scripts_fixture_actions"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "uses_module.py").write_text("from ops.actions import polling\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ImportError, match="imports the module ops.actions.polling"):
        by_value_copies(("scripts_fixture_actions.uses_module",))
