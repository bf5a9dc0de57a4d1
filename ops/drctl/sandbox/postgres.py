"""Throw-away PostgreSQL 15 clusters on 127.0.0.1 for tests, benchmarks and drills.

initdb refuses to run as root (and CI runs as root), so as root the server runs as the `postgres` user in a
directory it owns. Authentication is `trust` on loopback only: these clusters hold test data and die with the
test that made them.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


def bindir() -> Path:
    try:
        found = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout.strip()
        if (Path(found) / "initdb").exists():
            return Path(found)
    except (OSError, subprocess.CalledProcessError):
        pass
    fallback = Path("/usr/lib/postgresql/15/bin")
    if (fallback / "initdb").exists():
        return fallback
    raise RuntimeError("PostgreSQL server binaries not found: install Debian's postgresql-15")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@dataclass
class PgCluster:
    datadir: Path
    port: int
    host: str = "127.0.0.1"
    user: str = "postgres"
    environment: dict[str, str] | None = None  # added to the server's (e.g. LOCPATH for locales built by a test)

    def dsn(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{dbname}"

    def _ctl(self, *args: str) -> None:
        subprocess.run(_as_server_user([str(bindir() / "pg_ctl"), "-D", str(self.datadir), *args]),
                       check=True, capture_output=True, text=True, env={**os.environ, **(self.environment or {})})

    def start(self, timeout: float = 30) -> None:
        self._ctl("-w", "-t", str(int(timeout)), "-l", str(self.datadir / "server.log"), "start")

    def stop(self, mode: str = "fast") -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._ctl("-w", "-m", mode, "stop")

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ok = subprocess.run([str(bindir() / "pg_isready"), "-h", self.host, "-p", str(self.port)],
                                capture_output=True)
            if ok.returncode == 0:
                return
            time.sleep(0.1)
        raise TimeoutError(f"PostgreSQL on port {self.port} not ready after {timeout}s")


def _owned_dir(parent: Path | None, prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")
        # the server user must be able to reach the directory through its parents
        for p in [path.parent, *path.parent.parents]:
            if p == Path("/"):
                break
            mode = p.stat().st_mode
            if not mode & 0o001:
                os.chmod(p, mode | 0o001)
    return path


DEFAULT_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",  # test clusters: durability is not what is being measured
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "'256MB'",
    "max_wal_size": "'4GB'",
    "wal_level": "replica",
    "max_wal_senders": "4",
    "hot_standby": "on",
}


@contextlib.contextmanager
def pg_cluster(parent: Path | None = None, settings: dict[str, str] | None = None,
               timezone: str = "UTC", datestyle: str = "ISO, MDY",
               environment: dict[str, str] | None = None) -> Iterator[PgCluster]:
    """Initialise, start and finally stop and delete a cluster. `timezone`/`datestyle` set the server defaults
    (tests use different ones on two servers to prove comparisons don't depend on them); `environment` is added
    to the server process's."""
    base = _owned_dir(parent, "drpg-")
    datadir = base / "data"
    cluster = PgCluster(datadir=datadir, port=free_port(), environment=environment)
    try:
        subprocess.run(_as_server_user([str(bindir() / "initdb"), "-D", str(datadir), "-U", "postgres",
                                        "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"]),
                       check=True, capture_output=True, text=True)
        conf = {**DEFAULT_SETTINGS, "port": str(cluster.port), "timezone": f"'{timezone}'",
                "datestyle": f"'{datestyle}'", "unix_socket_directories": f"'{base}'", **(settings or {})}
        with open(datadir / "postgresql.conf", "a") as fh:
            fh.writelines(f"{k} = {v}\n" for k, v in conf.items())
        with open(datadir / "pg_hba.conf", "a") as fh:
            fh.write("host replication all 127.0.0.1/32 trust\n")
        cluster.start()
        yield cluster
    finally:
        cluster.stop("immediate")
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def pg_standby(primary: PgCluster, parent: Path | None = None) -> Iterator[PgCluster]:
    """A streaming-replication standby of `primary` (pg_basebackup -R), stopped and deleted afterwards."""
    base = _owned_dir(parent, "drpg-standby-")
    datadir = base / "data"
    standby = PgCluster(datadir=datadir, port=free_port())
    try:
        subprocess.run(_as_server_user([str(bindir() / "pg_basebackup"), "-h", primary.host, "-p",
                                        str(primary.port), "-U", "postgres", "-D", str(datadir), "-R",
                                        "-X", "stream", "--no-sync"]),
                       check=True, capture_output=True, text=True)
        with open(datadir / "postgresql.conf", "a") as fh:
            fh.write(f"port = {standby.port}\nunix_socket_directories = '{base}'\n")
        standby.start()
        yield standby
    finally:
        standby.stop("immediate")
        shutil.rmtree(base, ignore_errors=True)
