"""What every drctl option must satisfy beyond its type.

Floats: Python's float() takes "inf" and "nan", and a range check (`min=1`) lets both through (nan compares false
with everything). A --timeout or --poll of inf makes a bounded wait unbounded, and a journal holding one cannot be
resumed, so every float option of every command is refused unless finite (exit 2, naming the option). The rule is
applied to the whole command tree, so an option added later cannot miss it."""
from __future__ import annotations

import math
from typing import Any

import typer

from ops.drctl.terminal import HelpGroup


def finite(ctx: Any, param: Any, value: Any) -> Any:
    """A parameter callback: every float in `value` (one, or a list of them) is finite."""
    for number in value if isinstance(value, (list, tuple)) else (value,):
        if isinstance(number, float) and not math.isfinite(number):
            raise typer.BadParameter(f"{number} is not a finite number: give seconds (or the unit the help names)",
                                     ctx=ctx, param=param)
    return value


def _takes_floats(param: Any) -> bool:
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    return annotation is float or float in getattr(annotation, "__args__", ())


def _chained(callback: Any) -> Any:
    def check(ctx: Any, param: Any, value: Any) -> Any:
        return callback(ctx, param, finite(ctx, param, value))
    return check


def require_finite_floats(command: Any) -> None:
    for param in command.params:
        if _takes_floats(param) and param.callback is not finite:
            param.callback = finite if param.callback is None else _chained(param.callback)
    for sub in getattr(command, "commands", {}).values():
        require_finite_floats(sub)


class DrctlGroup(HelpGroup):
    """drctl's root group: the help layout of HelpGroup, and finite floats everywhere below it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        require_finite_floats(self)
