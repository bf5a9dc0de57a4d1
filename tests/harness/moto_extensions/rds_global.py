"""Product extension (scripts/sandbox/moto_ext/rds_global.py): the sandbox's drills need it too."""
from scripts.sandbox.moto_ext.rds_global import *  # noqa: F401,F403
from scripts.sandbox.moto_ext.rds_global import install  # noqa: F401
