"""The layer contract (pyproject's [tool.importlinter]): core < actions < components < stacks < toolkit < scripts.

import-linter reads every import of the product packages; the second test shows it catches an upward import."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from ops.core.paths import REPO_ROOT

PACKAGES = ("ops", "components", "stacks", "policy", "scripts")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(lint), "--no-cache", "--no-logo"], cwd=root, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(root)}, timeout=120)


def test_the_tree_keeps_every_layer_contract() -> None:
    result = lint_imports(REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout and "Contracts: 5 kept, 0 broken." in result.stdout


def copy_tree(target: Path) -> None:
    shutil.copy(REPO_ROOT / "pyproject.toml", target)
    for package in PACKAGES:
        shutil.copytree(REPO_ROOT / package, target / package,
                        ignore=shutil.ignore_patterns("__pycache__", "dr", "images", "*.json", "*.png"))


def test_an_upward_import_breaks_the_contract_naming_it(tmp_path: Path) -> None:
    copy_tree(tmp_path)
    posture = tmp_path / "ops" / "core" / "posture.py"
    posture.write_text(posture.read_text() + "\nfrom components import base  # upward: core -> components\n")
    actions = tmp_path / "ops" / "actions" / "aws.py"
    actions.write_text(actions.read_text() + "\nimport pulumi  # the actions must stay boto3-only\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1
    assert "ops.core.posture -> components.base" in result.stdout
    assert "ops.actions.aws -> pulumi" in result.stdout
