"""The product's extension (ops/drctl/sandbox/moto_ext/route53_health.py, which the sandbox's drills need too), under its
harness name: this module IS that module, private names included."""
import sys

from ops.drctl.sandbox.moto_ext import route53_health

sys.modules[__name__] = route53_health
