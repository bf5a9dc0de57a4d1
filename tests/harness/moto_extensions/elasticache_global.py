"""The product's extension (ops/drctl/sandbox/moto_ext/elasticache_global.py, which the sandbox's warm-standby drills
need too), under its harness name: this module IS that module, private names included."""
import sys

from ops.drctl.sandbox.moto_ext import elasticache_global

sys.modules[__name__] = elasticache_global
