"""Region B's Typesense as a node the sandbox can lose: fixed API port and data dir, SIGKILL, wipe, start empty.

A total loss (Q3) is the server killed and its data gone (the pod and its volume); what replaces it listens where
the old one did, empty, as a rescheduled pod with a new volume would.
"""
from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ops.drctl.sandbox.postgres import free_port
from ops.drctl.sandbox.typesense import DEFAULT_API_KEY, TypesenseServer, _wait_healthy, binary


@dataclass
class SearchNode:
    base: Path
    api_key: str = DEFAULT_API_KEY
    api_port: int = field(default_factory=free_port)
    peering_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def data_dir(self) -> Path:
        return self.base / "data"

    def start(self, timeout: float = 60) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.base / "typesense.log", "ab") as log:
            self.process = subprocess.Popen(
                [str(binary()), "--data-dir", str(self.data_dir), "--api-key", self.api_key,
                 "--api-address", "127.0.0.1", "--api-port", str(self.api_port), "--peering-address", "127.0.0.1",
                 "--peering-port", str(self.peering_port), "--enable-cors", "false"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        _wait_healthy(TypesenseServer(self.url, self.api_key, self.data_dir, self.process), timeout)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=15)

    def lose_everything(self) -> None:
        """SIGKILL and delete the data: nothing of the index survives."""
        self.kill()
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@contextlib.contextmanager
def search_node(parent: Path) -> Iterator[SearchNode]:
    base = parent / "typesense-b"
    base.mkdir()
    node = SearchNode(base)
    try:
        node.start()
        yield node
    finally:
        node.stop()
        shutil.rmtree(base, ignore_errors=True)
