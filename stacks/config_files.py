"""Stack configuration as the Pulumi CLI would assemble it, read from the files without the CLI.

Pulumi.yaml's typed `config:` defaults, then `Pulumi.<stack>.yaml`, then `--set KEY=VALUE` overrides (KEY a
dotted path as `pulumi config set --path` writes it; VALUE parsed as JSON where it parses, else a string).
Used by `drctl plan` and by the runbooks' defaults; the Pulumi program itself reads the engine's config.
`set_stack_config` writes one value back into a stack file (a config flip a runbook made through the API, so the
next `pulumi up` does not undo it), as a line edit that keeps every other byte.
"""
from __future__ import annotations

import copy
import json
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from stacks.settings import PROJECT, PROJECT_DIR, ConfigError, Role, Settings, parse

_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


# libyaml's loader where PyYAML was built with it: the same documents, parsed several times faster.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@lru_cache(maxsize=32)
def _parsed(text: str) -> Any:
    return yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader


def read_yaml(path: Path) -> Any:
    """A YAML file's document, parsed once per distinct content (every plan reads the same stack files: keyed by the
    text, not the file's time, so a file rewritten within the clock's granularity is never served stale)."""
    return copy.deepcopy(_parsed(path.read_text()))


def project_defaults(project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    declared = read_yaml(project_dir / "Pulumi.yaml").get("config") or {}
    return {key.removeprefix(f"{PROJECT}:"): spec["default"] for key, spec in declared.items()
            if isinstance(spec, dict) and "default" in spec and ":" not in key.removeprefix(f"{PROJECT}:")}


def stack_file_values(stack: str, project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    path = project_dir / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        known = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml")
                       for p in project_dir.glob("Pulumi.*.yaml"))
        raise ConfigError("stack", f"no stack file {path.name} (stacks: {', '.join(known)})")
    config = (read_yaml(path) or {}).get("config") or {}
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


def shipped_stacks(project_dir: Path = PROJECT_DIR) -> list[str]:
    """Every stack the project ships (`Pulumi.<stack>.yaml`), production's pair first, each pair primary first:
    `primary dr stage-primary stage-dr`. The one list CI's policy checks, IAM lint, DR-matrix gate and benchmark
    plan over, so a new pair is covered the moment its files exist."""
    names = [p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in project_dir.glob("Pulumi.*.yaml")]
    settings = {name: load_stack_settings(name, project_dir=project_dir) for name in names}
    return sorted(names, key=lambda n: (not settings[n].names.is_production, settings[n].environment,
                                        settings[n].role is not Role.PRIMARY, n))


def to_pulumi_config(values: dict[str, Any]) -> dict[str, str]:
    """Values as the engine hands them to the program: `project:key` → string (objects and lists as JSON)."""
    def encode(value: Any) -> str:
        if isinstance(value, str):
            return value
        return json.dumps(value)
    return {f"{PROJECT}:{key}": encode(value) for key, value in values.items()}


_COMMENT_OR_BLANK = re.compile(r"^\s*(#.*)?$")
# `key: value  # comment`: the value is a quoted scalar or plain text up to a ` #` comment
_SCALAR_LINE = re.compile(r"""^(?P<head>(?P<indent> *)(?P<key>[^\s#](?:[^:#\r\n]|:(?=\S))*):)(?=\s|$)"""
                          r"""(?P<gap>[ \t]*)(?P<value>"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^#\r\n]*?)"""
                          r"""(?P<comment>[ \t]+#[^\r\n]*)?(?P<eol>\r?\n)?$""")


def render_scalar(value: Any, key: str) -> str:
    """`value` as a YAML scalar (plain where it reads back as the same value, else JSON's double quotes)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        plain_ok = value == value.strip() and value and not re.search(r"[:#\[\]{},&*!|>'\"%@`]", value)
        if plain_ok and yaml.safe_load(value) == value:
            return value
        return json.dumps(value)
    raise ConfigError(key, f"only a scalar can be written into the stack file, not {type(value).__name__}")


def _block_end(lines: list[str], start: int, indent: int) -> int:
    """Index after the last line of the block whose lines are indented deeper than `indent`, from `start`."""
    end = start
    for n in range(start, len(lines)):
        if _COMMENT_OR_BLANK.match(lines[n]):
            continue
        if len(lines[n]) - len(lines[n].lstrip(" ")) <= indent:
            break
        end = n + 1
    return end


def set_stack_config(path: Path, dotted_key: str, value: Any) -> bool:
    """Set `dotted_key` (e.g. `failover`, `aurora.instances`: `pulumi config set --path`'s keys, without the
    project prefix) to the scalar `value` in the stack file at `path`, by editing one line: comments, order,
    quoting and every other key stay byte for byte. A key the file lacks is added as the last line of its
    mapping. Returns whether the file changed. Refuses (ConfigError naming the key) what a line edit cannot do
    safely (list indexes, flow-style or multi-line values, a mapping in the way); the edited text is parsed and
    must equal the old values with only this one changed before it replaces the file (atomically)."""
    key = dotted_key.removeprefix(f"{PROJECT}:")
    parts = key.split(".")
    if not key or any(not part or "[" in part or "]" in part for part in parts):
        raise ConfigError(key or "(empty)", "expected a dotted path of mapping keys (no list indexes)")
    rendered = render_scalar(value, key)
    original = path.read_bytes().decode()  # bytes, not text mode: keep \r\n as it is
    lines = original.splitlines(keepends=True)
    eol = "\r\n" if original.endswith("\r\n") else "\n"
    config_at = next((n for n, line in enumerate(lines) if re.match(r"^config:\s*(#.*)?$", line)), None)
    if config_at is None:
        raise ConfigError(key, f"{path.name} has no block-style `config:` mapping")
    start, end, parent_indent = config_at + 1, _block_end(lines, config_at + 1, 0), 0
    for depth, part in enumerate(parts):
        name = f"{PROJECT}:{part}" if depth == 0 else part
        content = [n for n in range(start, end) if not _COMMENT_OR_BLANK.match(lines[n])]
        if content and lines[content[0]].lstrip(" ").startswith("-"):
            raise ConfigError(key, f"{'.'.join(parts[:depth])} is a list in {path.name}: not a line edit")
        indent = (len(lines[content[0]]) - len(lines[content[0]].lstrip(" "))) if content else parent_indent + 2
        found = next((n for n in content if (m := _SCALAR_LINE.match(lines[n])) and len(m["indent"]) == indent
                      and m["key"].strip().strip("'\"") == name), None)
        last = depth == len(parts) - 1
        if found is None:
            tail = [f"{' ' * (indent + 2 * k)}{parts[depth + k]}:" for k in range(len(parts) - depth)]
            tail[0] = f"{' ' * indent}{name}:"
            added = [f"{line}{eol}" for line in tail[:-1]] + [f"{tail[-1]} {rendered}{eol}"]
            at = (content[-1] + 1) if content else start
            if at > 0 and not lines[at - 1].endswith("\n"):
                lines[at - 1] += eol
            lines[at:at] = added
            break
        match = _SCALAR_LINE.match(lines[found])
        assert match is not None
        if not last:
            if match["value"].strip():
                raise ConfigError(key, f"{name} is not a block mapping in {path.name} ({match['value'].strip()!r})")
            start, end, parent_indent = found + 1, _block_end(lines, found + 1, indent), indent
            continue
        current = match["value"]
        if not current.strip() or current.strip()[0] in "[{|>&*!":
            raise ConfigError(key, f"{path.name} holds a mapping, list or multi-line value there: not a line edit")
        if current == rendered:
            return False
        lines[found] = (f"{match['head']}{match['gap'] or ' '}{rendered}{match['comment'] or ''}"
                        f"{match['eol'] or ''}")
    updated = "".join(lines)
    expected = copy.deepcopy(yaml.safe_load(original))
    node = expected["config"]
    for depth, part in enumerate(parts[:-1]):
        node = node.setdefault(f"{PROJECT}:{part}" if depth == 0 else part, {})
    node[f"{PROJECT}:{parts[0]}" if len(parts) == 1 else parts[-1]] = yaml.safe_load(rendered)
    if yaml.safe_load(updated) != expected:
        raise ConfigError(key, f"editing {path.name} as lines would change other values: edit it by hand")
    if updated == original:
        return False
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(updated.encode())
    os.chmod(tmp, path.stat().st_mode & 0o7777)
    os.replace(tmp, path)  # a reader (or a crash) never sees half a stack file
    return True
