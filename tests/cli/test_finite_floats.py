"""Every float option drctl takes (--timeout, --poll, --*-seconds, rates, prices) refuses inf and nan: a wait bounded
by inf is unbounded, and a journal holding one cannot be resumed. Exit 2, naming the option, nothing run."""
from __future__ import annotations

from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from ops.drctl.cli import app


def _takes_floats(annotation: Any) -> bool:
    return annotation is float or float in getattr(annotation, "__args__", ())


def _float_options(command: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], str]]:
    found = [(path, param.opts[0]) for param in command.params
             if param.param_type_name == "option" and _takes_floats(param.type_descriptor.annotation)]
    for name, sub in getattr(command, "commands", {}).items():
        found += _float_options(sub, (*path, name))
    return found


OPTIONS = _float_options(typer.main.get_command(app))
TIMEOUTS = [(path, opt) for path, opt in OPTIONS if "timeout" in opt or "poll" in opt or opt.endswith("-seconds")]


def test_the_options_this_is_about_are_all_found() -> None:
    named = {(" ".join(path), opt) for path, opt in TIMEOUTS}
    assert {("failover", "--timeout"), ("failover", "--poll"), ("pitr-restore", "--timeout"),
            ("failback", "--max-lag-seconds"), ("cutback", "--healthy-for-seconds")} <= named
    assert len(TIMEOUTS) >= 15


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "Infinity", "NaN"])
@pytest.mark.parametrize(("path", "option"), OPTIONS, ids=[f"{' '.join(p)} {o}" for p, o in OPTIONS])
def test_non_finite_is_refused_naming_the_option(path: tuple[str, ...], option: str, value: str) -> None:
    result = CliRunner().invoke(app, [*path, option, value])
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{option}'" in result.output, result.output
    assert "finite" in result.output or "greater than" in result.output, result.output


def test_finite_values_and_the_range_checks_still_work() -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["smoke", "--timeout", "0.01"]).exit_code == 2  # min=0.1 still applies
    result = runner.invoke(app, ["posture", "--stack", "dr", "--instance-hour-usd", "0.3", "--json"])
    assert result.exit_code == 0, result.output
