"""moto's server on 127.0.0.1 for the control-plane tests, with the harness's extensions installed."""
from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from contextlib import contextmanager

import requests
from moto.server import ThreadedMotoServer

from tests.harness import moto_extensions


def install_extensions() -> None:
    for module in pkgutil.iter_modules(moto_extensions.__path__):
        importlib.import_module(f"{moto_extensions.__name__}.{module.name}").install()


@contextmanager
def moto_server() -> Iterator[str]:
    """Start moto on a free loopback port; yields its endpoint URL; stops it afterwards."""
    install_extensions()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def reset(endpoint: str) -> None:
    requests.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
