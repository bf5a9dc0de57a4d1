"""drctl, the operations toolkit: CLI commands, runbooks, data plane, offline planning, sandbox, drills."""
