"""Product extension (scripts/sandbox/moto_ext/rds_pitr.py): the sandbox's drills need it too."""
from scripts.sandbox.moto_ext.rds_pitr import *  # noqa: F401,F403
from scripts.sandbox.moto_ext.rds_pitr import install  # noqa: F401
