"""Stack configuration as the Pulumi CLI would assemble it, read from the files without the CLI.

Pulumi.yaml's typed `config:` defaults, then `Pulumi.<stack>.yaml`, then `--set KEY=VALUE` overrides (KEY a
dotted path as `pulumi config set --path` writes it; VALUE parsed as JSON where it parses, else a string).
Used by `drctl plan` and by the runbooks' defaults; the Pulumi program itself reads the engine's config.
"""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import yaml

from stacks.settings import PROJECT, PROJECT_DIR, ConfigError, Settings, parse

_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def project_defaults(project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    declared = yaml.safe_load((project_dir / "Pulumi.yaml").read_text()).get("config") or {}
    return {key.removeprefix(f"{PROJECT}:"): spec["default"] for key, spec in declared.items()
            if isinstance(spec, dict) and "default" in spec and ":" not in key.removeprefix(f"{PROJECT}:")}


def stack_file_values(stack: str, project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    path = project_dir / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        known = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml")
                       for p in project_dir.glob("Pulumi.*.yaml"))
        raise ConfigError("stack", f"no stack file {path.name} (stacks: {', '.join(known)})")
    config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
    return {key.partition(":")[2]: value for key, value in config.items() if key.startswith(f"{PROJECT}:")}


def parse_assignment(text: str) -> tuple[str, Any]:
    """`aurora.instances=3` → ("aurora.instances", 3); values are JSON where they parse, else strings."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(text or "(empty)", "expected KEY=VALUE")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip().removeprefix(f"{PROJECT}:"), value


def set_path(values: dict[str, Any], dotted: str, value: Any) -> None:
    parts = [name or int(index) for name, index in _PATH_PART.findall(dotted)]
    if not parts or "".join(str(p) for p in parts).replace(".", "") == "":
        raise ConfigError(dotted, "is not a config path")
    node: Any = values
    for part, following in zip(parts, parts[1:]):
        if isinstance(part, int):
            if not isinstance(node, list) or part > len(node):
                raise ConfigError(dotted, f"index [{part}] is out of range")
            if part == len(node):
                node.append([] if isinstance(following, int) else {})
        elif not isinstance(node.get(part), (dict, list)):
            node[part] = [] if isinstance(following, int) else {}
        node = node[part]
    last = parts[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or last > len(node):
            raise ConfigError(dotted, f"index [{last}] is out of range")
        node[last:last + 1] = [value]
    else:
        node[last] = value


def stack_values(stack: str, overrides: list[str] | dict[str, Any] | None = None,
                 project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    values = {**project_defaults(project_dir), **copy.deepcopy(stack_file_values(stack, project_dir))}
    pairs = overrides.items() if isinstance(overrides, dict) else map(parse_assignment, overrides or [])
    for key, value in pairs:
        set_path(values, key, value)
    return values


def load_stack_settings(stack: str, overrides: list[str] | dict[str, Any] | None = None,
                        project_dir: Path = PROJECT_DIR) -> Settings:
    """Validated Settings of `Pulumi.<stack>.yaml` plus overrides; raises ConfigError naming the key."""
    return parse(stack_values(stack, overrides, project_dir))


def to_pulumi_config(values: dict[str, Any]) -> dict[str, str]:
    """Values as the engine hands them to the program: `project:key` → string (objects and lists as JSON)."""
    def encode(value: Any) -> str:
        if isinstance(value, str):
            return value
        return json.dumps(value)
    return {f"{PROJECT}:{key}": encode(value) for key, value in values.items()}
