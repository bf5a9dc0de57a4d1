"""Product extension (scripts/sandbox/moto_ext/route53_health.py): the sandbox's drills need it too."""
from scripts.sandbox.moto_ext.route53_health import *  # noqa: F401,F403
from scripts.sandbox.moto_ext.route53_health import install  # noqa: F401
