"""The product's extension (ops/drctl/sandbox/moto_ext/rds_global.py, which the sandbox's drills need too), under its
harness name: this module IS that module, private names included."""
import sys

from ops.drctl.sandbox.moto_ext import rds_global

sys.modules[__name__] = rds_global
