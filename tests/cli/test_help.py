"""`drctl --help` and every command's help are readable at the terminal's width: wrapped, never cut."""
from __future__ import annotations

import os
import subprocess
import sys

from typing import Any

import pytest
import typer

from ops.drctl.cli import app
from stacks.settings import PROJECT_DIR


def _command_paths(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            paths += _command_paths(command, (*prefix, name))
        else:
            paths.append((*prefix, name))
    return paths


ROOT = typer.main.get_command(app)
PATHS = _command_paths(ROOT)


def _resolve(path: tuple[str, ...]) -> Any:
    command = ROOT
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    return command


def _help(path: tuple[str, ...], columns: int) -> str:
    """In a process of its own: click's CliRunner forces 80 columns, and the terminal's width is the point here."""
    env = {k: v for k, v in os.environ.items() if k not in ("TERMINAL_WIDTH", "LINES")} | {"COLUMNS": str(columns)}
    result = subprocess.run([sys.executable, "-m", "ops.drctl.cli", *path, "--help"], capture_output=True,
                            text=True, env=env, cwd=PROJECT_DIR, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _squeezed(text: str) -> str:
    """Text without whitespace: wrapping may move words (and split at hyphens), but must not lose characters."""
    return "".join(text.split())


@pytest.mark.parametrize("path", PATHS, ids=[" ".join(p) or "drctl" for p in PATHS])
def test_help_at_80_columns_is_wrapped_not_truncated(path: tuple[str, ...]) -> None:
    shown = _help(path, 80)
    assert max(len(line) for line in shown.splitlines()) <= 80, shown
    assert "…" not in shown, shown
    command = _resolve(path)
    for param in command.params:
        if getattr(param, "help", None):
            assert _squeezed(param.help) in _squeezed(shown), f"{param.name}: help cut\n{shown}"
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            summary = sub.get_short_help_str(limit=10**6)
            assert _squeezed(summary) in _squeezed(shown), f"{name}: summary cut\n{shown}"


def test_a_long_option_help_is_wrapped_over_lines() -> None:
    (option,) = [p for p in _resolve(("failover",)).params if p.name == "allow_missing_images"]
    shown = _help(("failover",), 80)
    assert len(option.help) > 80 - len("--allow-missing-images")  # cannot share one line with its name
    assert _squeezed(option.help) in _squeezed(shown)
    assert not any(option.help in line for line in shown.splitlines())  # so it was wrapped, every word kept


def test_a_wide_terminal_gets_wide_help() -> None:
    assert max(len(line) for line in _help(("failover",), 160).splitlines()) > 100
