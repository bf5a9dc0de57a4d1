"""moto backend extensions the sandbox needs at run time (`drctl drill run`), with AWS's documented semantics.

moto's server runs in the drill's (or test's) own process, so patching its backend reaches the server. Each
module defines `install() -> None` (idempotent). Where an operation must act on the data plane (a global
cluster's role change promotes a real PostgreSQL standby, health checks probe the region's service), the module
holds a registry the region pair fills; with nothing registered the operation keeps its control-plane-only
behaviour, which is what the runbook tests use. tests/harness/moto_extensions re-exports these.
"""
from __future__ import annotations

import importlib
import pkgutil


def install_all() -> None:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}").install()
