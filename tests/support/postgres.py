"""A throwaway PostgreSQL cluster started from the system binaries.

PostgreSQL refuses to run as root, so when the tests run as root the cluster
runs as the `postgres` OS user (created if missing). The cluster listens on a
free localhost port and lives in a temporary directory removed on stop.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL binaries, or the cluster would not start."""


def find_bindir() -> Path | None:
    """The newest /usr/lib/postgresql/*/bin with initdb, or PG_BINDIR."""
    if os.environ.get("PG_BINDIR"):
        return Path(os.environ["PG_BINDIR"])
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key)
    return Path(candidates[-1]).parent if candidates else None


def _version_key(path: str) -> float:
    try:
        return float(path.split("/")[4])
    except (IndexError, ValueError):
        return 0.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ensure_os_user() -> None:
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True)


class PostgresCluster:
    """initdb + pg_ctl start on a free port; `url(db)` gives SQLAlchemy URLs."""

    def __init__(self) -> None:
        self.bindir = find_bindir()
        if self.bindir is None:
            raise PostgresUnavailable("no PostgreSQL binaries under /usr/lib/postgresql/*/bin")
        self.as_root = os.geteuid() == 0
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="tracker-pg-"))
        self.datadir = self.root / "data"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True)

    def start(self) -> PostgresCluster:
        if self.as_root:
            _ensure_os_user()
            shutil.chown(self.root, "postgres")
        os.chmod(self.root, 0o755)
        self._run(
            "initdb",
            "-D",
            str(self.datadir),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        self.options = options
        self._start_server()
        return self

    def _start_server(self) -> None:
        started = self._run(
            "pg_ctl",
            "-D",
            str(self.datadir),
            "-o",
            self.options,
            "-l",
            str(self.root / "log"),
            "-w",
            "-t",
            "60",
            "start",
            check=False,
        )
        if started.returncode != 0:
            log = (self.root / "log").read_text() if (self.root / "log").exists() else ""
            raise PostgresUnavailable(f"pg_ctl start failed: {started.stderr}\n{log}")
        self._wait()

    def stop_server(self) -> None:
        """`pg_ctl stop -m fast` (an outage: every client is disconnected), data kept."""
        _record_server_cpu(self.server_cpu_seconds())  # this postmaster's share, before it goes
        self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop")

    def start_server(self) -> None:
        """Start the stopped cluster again on the same port and data."""
        self._start_server()

    def _wait(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ready = self._run("pg_isready", "-h", "127.0.0.1", "-p", str(self.port), check=False)
            if ready.returncode == 0:
                return
            time.sleep(0.2)
        raise PostgresUnavailable("PostgreSQL did not become ready in 30 s")

    def create_database(self, name: str) -> str:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return self.url(name)

    def server_cpu_seconds(self) -> float:
        """CPU seconds of the postmaster and every backend that has exited (Linux /proc).

        The server runs detached from the test process, so a lane timing its own children
        does not see it; scripts/test.sh adds this figure (0.0 where /proc is missing).
        """
        try:
            pid = (self.datadir / "postmaster.pid").read_text().split()[0]
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return 0.0
        ticks = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
        return ticks / os.sysconf("SC_CLK_TCK")

    def url(self, name: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        _record_server_cpu(self.server_cpu_seconds())
        self._run("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def _record_server_cpu(seconds: float) -> None:
    """Append the server's CPU seconds to $TEST_SERVER_CPU_FILE, when scripts/test.sh sets it."""
    target = os.environ.get("TEST_SERVER_CPU_FILE")
    if target and seconds:
        with open(target, "a", encoding="utf-8") as out:
            out.write(f"{seconds:.2f}\n")
