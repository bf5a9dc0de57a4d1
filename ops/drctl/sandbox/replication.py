"""A PostgreSQL 15 primary and its streaming standby that can trade places, as the sandbox's Aurora global cluster.

Each node is a data directory with a port; the sandbox owns one include file per node (`sandbox.conf`, read
after everything else) for what is node-specific: port, socket directory, WAL archive, and, on a standby,
`primary_conninfo`. pg_rewind and pg_basebackup copy configuration files from their source, so the file is
rewritten before every start.

Role changes, as Aurora does them for a global database:
- `promote_at_replayed_point`: the unplanned failover. The standby becomes the writer at the point it had
  replayed when asked: WAL it had received but not replayed (replay paused or behind) is lost, as changes not
  yet applied in the secondary region are lost with AllowDataLoss. When nothing is pending, `pg_promote()`.
- `switchover`: the planned role change, RPO 0. The writer is fenced (default_transaction_read_only, sessions
  terminated) and shut down cleanly (its WAL senders ship everything up to the shutdown checkpoint), the standby
  waits until it has replayed that checkpoint, is promoted, and the old writer restarts as its standby.
- `rebuild_as_standby`: the old writer of an unplanned failover rejoins as a standby of the new one (pg_rewind,
  which needs wal_log_hints and full_page_writes; a fresh base backup if rewind cannot).
Servers run as the `postgres` user when root (see postgres.py).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from ops.drctl.sandbox.postgres import _as_server_user, _owned_dir, bindir, free_port

SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",  # sandbox: a killed server loses its processes, not the OS page cache
    "synchronous_commit": "on",  # an acknowledged commit is in the WAL the standby is sent
    "full_page_writes": "on",  # pg_rewind needs it
    "wal_log_hints": "on",  # pg_rewind needs it (or checksums)
    "wal_level": "replica",
    "max_wal_senders": "8",
    "wal_keep_size": "'512MB'",  # a rewound old writer catches up from the new one's pg_wal
    "hot_standby": "on",
    "hot_standby_feedback": "on",
    "wal_receiver_status_interval": "1",
    "wal_retrieve_retry_interval": "'100ms'",
    "archive_mode": "on",
    "archive_timeout": "'1s'",  # a point-in-time restore finds recent WAL in the archive
    "shared_buffers": "'64MB'",
    "max_connections": "60",
    "log_min_messages": "warning",
}


def _run_as_server(argv: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_as_server_user(argv), check=True, capture_output=True, text=True, timeout=timeout)


@dataclass
class PgNode:
    """One region's database server."""

    name: str  # the region, e.g. us-east-1
    base: Path  # owned by the server user: data/, archive/, socket
    port: int = field(default_factory=free_port)
    host: str = "127.0.0.1"
    primary: "PgNode | None" = None  # set while this node is a standby
    process_ids: list[int] = field(default_factory=list)

    @property
    def datadir(self) -> Path:
        return self.base / "data"

    @property
    def archive(self) -> Path:
        return self.base / "archive"

    def dsn(self, dbname: str = "app", **options: str) -> str:
        extra = "".join(f" {k}={v}" for k, v in options.items())
        return f"host={self.host} port={self.port} user=postgres dbname={dbname} connect_timeout=2{extra}"

    def connect(self, dbname: str = "app", **kwargs: object) -> psycopg.Connection:
        return psycopg.connect(self.dsn(dbname), autocommit=True, **kwargs)  # type: ignore[arg-type]

    # ---- lifecycle ---------------------------------------------------------------------------------------

    def write_conf(self, *, recovery_target_lsn: str | None = None, extra: dict[str, str] | None = None) -> None:
        """The node-specific settings and, on a standby, standby.signal and primary_conninfo."""
        settings = {
            "port": str(self.port), "unix_socket_directories": f"'{self.base}'",
            # idempotent: a segment archived before (same content) is success, or the archiver retries for 3 s
            "archive_command": f"'if [ -f {self.archive}/%f ]; then cmp -s %p {self.archive}/%f; "
                               f"else cp %p {self.archive}/%f; fi'",
            "cluster_name": f"'{self.name}'",
            "primary_conninfo": (f"'host={self.primary.host} port={self.primary.port} user=postgres "
                                 f"application_name={self.name}'" if self.primary else "''"),
            "recovery_target_timeline": "'latest'",
        }
        if recovery_target_lsn:
            settings.update({"recovery_target_lsn": f"'{recovery_target_lsn}'", "recovery_target_inclusive": "off",
                             "recovery_target_action": "'promote'"})
        conf = "".join(f"{k} = {v}\n" for k, v in {**SERVER_SETTINGS, **settings, **(extra or {})}.items())
        self._write_owned(self.datadir / "sandbox.conf", conf)
        main_conf = self.datadir / "postgresql.conf"
        if "include_if_exists = 'sandbox.conf'" not in main_conf.read_text():
            with open(main_conf, "a") as fh:
                fh.write("\ninclude_if_exists = 'sandbox.conf'\n")
        # pg_basebackup/pg_rewind copy the source's auto.conf; the sandbox keeps every setting in sandbox.conf
        self._write_owned(self.datadir / "postgresql.auto.conf", "")
        signal_file = self.datadir / "standby.signal"
        if self.primary and not signal_file.exists():
            self._write_owned(signal_file, "")
        elif not self.primary and signal_file.exists() and not recovery_target_lsn:
            signal_file.unlink()

    def _write_owned(self, path: Path, text: str) -> None:
        path.write_text(text)
        if os.geteuid() == 0:
            shutil.chown(path, "postgres", "postgres")
            os.chmod(path, 0o600)

    def start(self, timeout: float = 30) -> None:
        _run_as_server([str(bindir() / "pg_ctl"), "-D", str(self.datadir), "-w", "-t", str(int(timeout)),
                        "-l", str(self.base / "server.log"), "start"], timeout=timeout + 5)
        self.process_ids = self._postmaster_and_children()

    def stop(self, mode: str = "fast", timeout: float = 30) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            _run_as_server([str(bindir() / "pg_ctl"), "-D", str(self.datadir), "-w", "-t", str(int(timeout)),
                            "-m", mode, "stop"], timeout=timeout + 5)

    def running(self) -> bool:
        pid = self._postmaster_pid()
        return pid is not None and Path(f"/proc/{pid}").exists()

    def kill(self) -> list[int]:
        """SIGKILL the postmaster and every process it started (the region's database dies, no shutdown)."""
        victims = self._postmaster_and_children()
        for pid in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while any(Path(f"/proc/{pid}").exists() and not _zombie(pid) for pid in victims):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: processes {victims} survived SIGKILL")
            time.sleep(0.01)
        if victims:
            # The dead postmaster may linger as a zombie until init reaps it, and PostgreSQL takes a zombie's
            # pid for a running postmaster: the lock file is stale, as after a power loss.
            for stale in (self.datadir / "postmaster.pid", self.base / f".s.PGSQL.{self.port}.lock",
                          self.base / f".s.PGSQL.{self.port}"):
                with contextlib.suppress(FileNotFoundError):
                    stale.unlink()
        return victims

    def _postmaster_pid(self) -> int | None:
        try:
            return int((self.datadir / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    def _postmaster_and_children(self) -> list[int]:
        pid = self._postmaster_pid()
        if pid is None or not Path(f"/proc/{pid}").exists():
            return []
        return [pid, *_children(pid)]

    # ---- replication state -------------------------------------------------------------------------------

    def in_recovery(self) -> bool:
        with self.connect("postgres") as conn:
            return bool(conn.execute("SELECT pg_is_in_recovery()").fetchone()[0])  # type: ignore[index]

    def replay_lsn(self) -> str:
        with self.connect("postgres") as conn:
            return str(conn.execute("SELECT pg_last_wal_replay_lsn()").fetchone()[0])  # type: ignore[index]

    def lsn_at_least(self, lsn: str) -> bool:
        with self.connect("postgres") as conn:
            row = conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,)).fetchone()
            return bool(row and row[0])

    def replication_lag_seconds(self) -> dict[str, float]:
        """Per standby (application_name), the lag its writer's pg_stat_replication reports: replay_lag, or 0
        when the standby has replayed everything sent (PostgreSQL clears the lag columns when idle)."""
        with self.connect("postgres") as conn:
            rows = conn.execute(
                "SELECT application_name, extract(epoch FROM replay_lag)::float8, "
                "pg_current_wal_lsn() = replay_lsn FROM pg_stat_replication").fetchall()
        return {name: (0.0 if caught_up or lag is None else float(lag)) for name, lag, caught_up in rows}

    def wait_streaming_to(self, standby: "PgNode", timeout: float = 30) -> None:
        """Until `standby` streams from this writer and has replayed everything this writer had written."""
        with self.connect("postgres") as conn:
            target = str(conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0])  # type: ignore[index]
        self.wait_sql(f"SELECT count(*) = 1 FROM pg_stat_replication WHERE application_name = '{standby.name}' "
                      f"AND state = 'streaming' AND replay_lsn >= '{target}'::pg_lsn", timeout=timeout)

    def wait_sql(self, sql: str, *, timeout: float = 30, dbname: str = "postgres") -> None:
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(psycopg.Error):
                with self.connect(dbname) as conn:
                    row = conn.execute(sql).fetchone()
                    if row and row[0]:
                        return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: {sql!r} not true after {timeout}s")
            time.sleep(0.02)

    # ---- role changes ------------------------------------------------------------------------------------

    def fence(self) -> None:
        """Refuse new writes and end every session (the old writer of a switchover)."""
        with self.connect("postgres") as conn:
            conn.execute("ALTER SYSTEM SET default_transaction_read_only = on")
            conn.execute("SELECT pg_reload_conf()")
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = "
                         "'client backend' AND pid <> pg_backend_pid()")

    def checkpoint_lsn(self) -> str:
        """The latest checkpoint of a stopped cluster (pg_controldata), i.e. a cleanly stopped writer's last WAL."""
        out = _run_as_server([str(bindir() / "pg_controldata"), "-D", str(self.datadir)]).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines()
                    if line.startswith("Latest checkpoint location"))

    def promote(self, timeout: float = 30) -> None:
        with self.connect("postgres") as conn:
            conn.execute("SELECT pg_promote(true, %s)", (int(timeout),))
        self.primary = None
        self.write_conf()  # standby.signal is gone after promotion; keep the include file in step

    def promote_at_replayed_point(self, timeout: float = 30) -> dict[str, str]:
        """Promote at what was replayed when asked; WAL received beyond it is discarded."""
        with self.connect("postgres") as conn:
            received, replayed, pending = conn.execute(
                "SELECT pg_last_wal_receive_lsn()::text, pg_last_wal_replay_lsn()::text, "
                "coalesce(pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn(), false)").fetchone()  # type: ignore[misc]
        if not pending:
            self.promote(timeout)
            return {"promoted_at": replayed, "received": str(received), "discarded": "none"}
        self.stop("fast")
        self.primary = None
        self.write_conf(recovery_target_lsn=replayed)  # standby.signal stays: stop at the target, then promote
        self.start(timeout)
        self.wait_sql("SELECT NOT pg_is_in_recovery()", timeout=timeout)
        self.write_conf()  # the recovery target must not apply to any later recovery
        with self.connect("postgres") as conn:
            conn.execute("SELECT pg_reload_conf()")
        return {"promoted_at": replayed, "received": str(received), "discarded": f"{replayed}..{received}"}

    def restart_as_standby_of(self, primary: "PgNode", timeout: float = 30) -> None:
        self.primary = primary
        self.write_conf()
        self.start(timeout)

    def rebuild_as_standby_of(self, primary: "PgNode", timeout: float = 60) -> str:
        """The old writer of an unplanned failover rejoins as a standby: pg_rewind (after crash recovery and a
        clean stop), or a fresh base backup when rewind refuses."""
        if self.running():
            self.stop("fast")
        # pg_rewind reads the source's timeline from its control file, which a just-promoted server updates only
        # at its next checkpoint: without one, rewind sees "the same timeline" and does nothing
        with primary.connect("postgres") as conn:
            conn.execute("CHECKPOINT")
        try:
            _run_as_server([str(bindir() / "pg_rewind"), "-D", str(self.datadir), "--no-sync",
                            f"--source-server=host={primary.host} port={primary.port} user=postgres dbname=postgres"],
                           timeout=timeout)
            how = "pg_rewind"
        except subprocess.CalledProcessError:
            shutil.rmtree(self.datadir)
            base_backup(primary, self, timeout=timeout)
            how = "pg_basebackup"
        self.restart_as_standby_of(primary, timeout)
        return how


def base_backup(source: PgNode, target: PgNode | Path, timeout: float = 60) -> None:
    datadir = target.datadir if isinstance(target, PgNode) else target
    _run_as_server([str(bindir() / "pg_basebackup"), "-h", source.host, "-p", str(source.port), "-U", "postgres",
                    "-D", str(datadir), "-X", "stream", "--no-sync", "-c", "fast"], timeout=timeout)


def point_in_time_restore(backup: Path, archive: Path, target: PgNode, target_time: str | None,
                          timeout: float = 60) -> None:
    """A new server from `backup` (a base backup) replaying `archive` up to `target_time` (PostgreSQL's
    recovery_target_time, inclusive; None: all archived WAL), then promoted: a point-in-time restore."""
    _run_as_server(["cp", "-a", str(backup), str(target.datadir)], timeout=timeout)
    recovery = {"restore_command": f"'cp {archive}/%f %p'", "recovery_target_action": "'promote'",
                "archive_mode": "off"}
    if target_time is not None:
        recovery["recovery_target_time"] = f"'{target_time}'"
    target.write_conf(extra=recovery)
    target._write_owned(target.datadir / "recovery.signal", "")
    target.start(timeout)
    target.wait_sql("SELECT NOT pg_is_in_recovery()", timeout=timeout)


def init_primary(node: PgNode) -> None:
    _run_as_server([str(bindir() / "initdb"), "-D", str(node.datadir), "-U", "postgres", "--auth=trust",
                    "--no-sync", "-E", "UTF8", "--locale=C"])
    with open(node.datadir / "pg_hba.conf", "a") as fh:
        fh.write("host replication all 127.0.0.1/32 trust\n")
    node.write_conf()


def new_node(name: str, parent: Path | None = None) -> PgNode:
    node = PgNode(name=name, base=_owned_dir(parent, f"drpair-{name}-"))
    node.archive.mkdir()  # each region archives its own WAL (a writer's, for point-in-time restores)
    if os.geteuid() == 0:
        shutil.chown(node.archive, "postgres", "postgres")
    return node


def remove_node(node: PgNode) -> None:
    """Stop (immediate, then SIGKILL whatever is left) and delete the node's directory."""
    if node.running():
        node.stop("immediate", timeout=10)
    with contextlib.suppress(TimeoutError):
        node.kill()
    shutil.rmtree(node.base, ignore_errors=True)


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                found.append(int(entry.name))
    return found


def _zombie(pid: int) -> bool:
    with contextlib.suppress(OSError, IndexError):
        return (Path(f"/proc/{pid}") / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    return True
