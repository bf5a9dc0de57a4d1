"""`drctl plan`: the offline plan of a stack, and what a config flip would change."""
from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

EXIT_INVALID_CONFIG = 2


def register(app: typer.Typer) -> None:
    app.command(name="plan")(plan)


def plan(
    stack: Annotated[str, typer.Argument(help="Stack name: primary, dr, stage-primary or stage-dr (reads "
                                              "Pulumi.<stack>.yaml).")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="KEY=VALUE config override (dotted path; "
                                                   "VALUE parsed as JSON where it parses). Repeatable.")] = None,
    diff: Annotated[list[str] | None, typer.Option("--diff", help="KEY=VALUE flip to compare against the "
                                                   "plan; prints what `pulumi up` would change. Repeatable.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    steps: Annotated[bool, typer.Option("--steps", help="With --diff: the order `pulumi up` runs the steps in "
                                        "(dependencies first, deletes last).")] = False,
) -> None:
    """Evaluate the Pulumi program offline (Pulumi's mock runtime) and print every resource it declares."""
    from ops.drctl.planning.diff import diff_plans
    from ops.drctl.planning.mockplan import plan_stack
    from ops.drctl.planning.render import render_diff, render_plan
    from ops.drctl.planning.steps import step_order
    from ops.drctl.terminal import stdout_console
    from stacks.settings import ConfigError

    console = stdout_console()
    if steps and not diff:
        print("invalid option: --steps needs --diff KEY=VALUE (the flip whose steps to order)", file=sys.stderr)
        raise typer.Exit(EXIT_INVALID_CONFIG)
    try:
        base = plan_stack(stack, list(set_ or []))
        if diff:
            flipped = plan_stack(stack, [*(set_ or []), *diff])
            changes = diff_plans(base, flipped)
            if steps:
                _print_steps(console, stack, diff, step_order(base, flipped, changes), as_json)
            elif as_json:
                _print_json({"stack": stack, "flip": diff, **changes.to_json()})
            else:
                render_diff(console, stack, diff, changes)
        elif as_json:
            _print_json(base.to_json())
        else:
            render_plan(console, base)
    except ConfigError as exc:
        print(exc.report(), file=sys.stderr)  # every problem, each naming its key
        raise typer.Exit(EXIT_INVALID_CONFIG) from None
    except Exception as exc:  # anything else is a failure of the plan itself
        print(f"plan failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        raise typer.Exit(1) from None


def _print_json(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")


def _print_steps(console: Any, stack: str, flip: list[str], order: Any, as_json: bool) -> None:
    from ops.drctl.planning.render import render_steps

    if as_json:
        _print_json({"stack": stack, "flip": flip, "steps": order.to_json()})
    else:
        render_steps(console, stack, flip, order)
