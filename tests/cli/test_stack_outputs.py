"""Where runbooks read a stack's outputs: --outputs FILE, else the Pulumi CLI, else nothing (explicit options)."""
from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from ops.core.errors import BadInput
from ops.drctl.stack_outputs import read_stack_outputs


def test_a_file_of_outputs_is_read_and_named_as_the_source(tmp_path: Path) -> None:
    file = tmp_path / "dr.json"
    file.write_text(json.dumps({"notificationsQueueUrl": "https://sqs/q", "criticalPaths": ["/pay"]}))
    outputs = read_stack_outputs("dr", tmp_path, file, pulumi="/nonexistent/pulumi")
    assert outputs.require("criticalPaths", "--path") == ["/pay"]
    assert outputs.source == f"--outputs {file}"


def test_an_explicit_option_wins_over_the_output(tmp_path: Path) -> None:
    file = tmp_path / "dr.json"
    file.write_text(json.dumps({"distributionId": "E1"}))
    outputs = read_stack_outputs("dr", tmp_path, file)
    assert outputs.pick("E2", "distributionId", "--distribution") == "E2"
    assert outputs.pick(None, "distributionId", "--distribution") == "E1"


def test_a_missing_output_names_the_option_the_output_and_where_it_looked(tmp_path: Path) -> None:
    file = tmp_path / "dr.json"
    file.write_text("{}")
    with pytest.raises(BadInput, match=r"--queue-url not given and the stack output 'notificationsQueueUrl' is not "
                                       r"in --outputs .*dr.json"):
        read_stack_outputs("dr", tmp_path, file).require("notificationsQueueUrl", "--queue-url")


@pytest.mark.parametrize("text, message", [("{not json", "not JSON"), ("[1, 2]", "expected a JSON object")])
def test_a_file_that_is_not_an_object_of_outputs_is_refused(tmp_path: Path, text: str, message: str) -> None:
    file = tmp_path / "dr.json"
    file.write_text(text)
    with pytest.raises(BadInput, match=f"--outputs {file}: {message}"):
        read_stack_outputs("dr", tmp_path, file)


def test_an_unreadable_file_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="--outputs .*missing.json: No such file"):
        read_stack_outputs("dr", tmp_path, tmp_path / "missing.json")


def _cli(tmp_path: Path, body: str) -> str:
    """An executable standing in for the Pulumi CLI's `stack output` (the CLI cannot be installed here)."""
    path = tmp_path / "pulumi"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_without_a_file_the_pulumi_cli_is_asked_for_the_stack_in_the_project(tmp_path: Path) -> None:
    log = tmp_path / "args"
    cli = _cli(tmp_path, f'echo "$@" > {log}\necho \'{{"apiFqdn": "api.example.com"}}\'\n')
    outputs = read_stack_outputs("stage-dr", tmp_path, pulumi=cli)
    assert outputs.get("apiFqdn") == "api.example.com"
    assert log.read_text().split() == ["stack", "output", "--json", "--show-secrets", "--stack", "stage-dr",
                                       "--cwd", str(tmp_path)]


def test_a_failing_pulumi_cli_is_refused_with_its_last_line(tmp_path: Path) -> None:
    cli = _cli(tmp_path, 'echo "error: no stack named dr found" >&2\nexit 255\n')
    with pytest.raises(BadInput, match=r"pulumi stack output --stack dr` failed \(error: no stack named dr found\); "
                                       r"pass --outputs FILE"):
        read_stack_outputs("dr", tmp_path, pulumi=cli)


def test_no_file_and_no_cli_gives_no_outputs_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    outputs = read_stack_outputs("dr", tmp_path)
    assert outputs.values == {}
    with pytest.raises(BadInput, match="no --outputs FILE and no Pulumi CLI on PATH"):
        outputs.require("criticalPaths", "--path")
