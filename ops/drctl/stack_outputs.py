"""A deployed stack's outputs, where runbooks read the resources the program created (queues, parameters,
distributions, critical paths) instead of re-deriving them.

Where they come from, in order:
1. `--outputs FILE`: the JSON `pulumi stack output --json --show-secrets --stack STACK` prints (what CI or an
   operator saves next to the run; the tests write it from the offline plan).
2. The Pulumi CLI, when it is on PATH: `pulumi stack output --json --stack STACK` in the project directory.
3. Nothing: a runbook then needs the explicit option for each value, and `require` says which.

An explicit option always wins over an output: the operator's word is the last one.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from ops.core.errors import BadInput

OutputsFile = Annotated[Path | None, typer.Option(
    "--outputs", help="The stack's outputs as `pulumi stack output --json --show-secrets` prints them (default: "
                      "asked of the Pulumi CLI when it is installed).")]

PULUMI_TIMEOUT_S = 60


@dataclass(frozen=True)
class StackOutputs:
    stack: str
    values: Mapping[str, Any] = field(default_factory=dict)
    source: str = "no stack outputs"

    def get(self, key: str) -> Any:
        return self.values.get(key)

    def require(self, key: str, option: str) -> Any:
        """The output `key`, or a BadInput naming the output, where it was looked for and the option to pass."""
        value = self.values.get(key)
        if value is None or value == "" or value == []:
            raise BadInput(f"{option} not given and the stack output {key!r} is not in {self.source}")
        return value

    def pick(self, explicit: Any, key: str, option: str) -> Any:
        """The explicit option when given, else the output (BadInput when neither is there)."""
        if explicit not in (None, "", [], ()):
            return explicit
        return self.require(key, option)


def _parse(text: str, where: str) -> dict[str, Any]:
    try:
        values = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{where}: not JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(values, dict):
        raise BadInput(f"{where}: expected a JSON object of outputs, got {type(values).__name__}")
    return values


def read_stack_outputs(stack: str, project_dir: Path, outputs_file: Path | None = None,
                       pulumi: str | None = None) -> StackOutputs:
    """The stack's outputs from `outputs_file`, else from the Pulumi CLI, else none (see the module docstring)."""
    if outputs_file is not None:
        try:
            text = outputs_file.read_text()
        except OSError as exc:
            raise BadInput(f"--outputs {outputs_file}: {exc.strerror}") from None
        return StackOutputs(stack, _parse(text, f"--outputs {outputs_file}"), f"--outputs {outputs_file}")
    cli = pulumi or shutil.which("pulumi")
    if cli is None:
        return StackOutputs(stack, {}, "no stack outputs (no --outputs FILE and no Pulumi CLI on PATH)")
    command = [cli, "stack", "output", "--json", "--show-secrets", "--stack", stack, "--cwd", str(project_dir)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PULUMI_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise BadInput(f"`{' '.join(command)}` did not answer in {PULUMI_TIMEOUT_S} s; pass --outputs FILE") from None
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise BadInput(f"`pulumi stack output --stack {stack}` failed ({reason}); pass --outputs FILE")
    return StackOutputs(stack, _parse(done.stdout, f"pulumi stack output --stack {stack}"),
                        f"pulumi stack output --stack {stack}")
