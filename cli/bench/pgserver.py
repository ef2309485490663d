"""A throwaway PostgreSQL server (initdb in a temp dir, unix socket) for benchmarks and tests."""

from __future__ import annotations

import atexit
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import quote


def _debian_bin_dirs() -> list[str]:
    """``/usr/lib/postgresql/<major>/bin`` directories, newest major first."""
    base = Path("/usr/lib/postgresql")
    found = [p for p in base.glob("*/bin") if (p / "initdb").exists()] if base.is_dir() else []
    return [str(p) for p in sorted(found, key=lambda p: p.parent.name.zfill(4), reverse=True)]


class ServerUnavailable(RuntimeError):  # noqa: N818
    """PostgreSQL binaries are missing or the server could not start (the message says why)."""


def find_bin_dir() -> Path:
    """The directory holding ``initdb`` and ``pg_ctl`` (``DOCREF_NLP_PG_BIN``, PATH, Debian)."""
    configured = os.environ.get("DOCREF_NLP_PG_BIN")
    candidates = [configured] if configured else []
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(str(Path(on_path).parent))
    candidates.extend(_debian_bin_dirs())
    for candidate in candidates:
        if (
            candidate
            and (Path(candidate) / "initdb").exists()
            and (Path(candidate) / "pg_ctl").exists()
        ):
            return Path(candidate)
    raise ServerUnavailable(
        "PostgreSQL binaries (initdb, pg_ctl) not found: run scripts/ensure-postgres.sh "
        "or set DOCREF_NLP_PG_BIN"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TempServer:
    """``initdb`` into a temp dir, ``pg_ctl start`` on a free port (127.0.0.1 + unix socket).

    As root the server runs as the ``postgres`` user (``runuser``), which owns the temp dir.

    Args:
        durable: keep ``fsync``/``synchronous_commit`` on (benchmarks); tests turn them off.
        settings: more server settings (``-c name=value``), e.g. ``{"synchronous_commit": "off"}``.
    """

    def __init__(self, *, durable: bool = False, settings: dict[str, str] | None = None) -> None:
        self.bin = find_bin_dir()
        self.durable = durable
        self.settings = dict(settings or {})
        self.root = Path(tempfile.mkdtemp(prefix="docref-pg-"))
        self.data = self.root / "data"
        self.sock = self.root / "sock"
        self.port = _free_port()
        self.user = "postgres"
        self._prefix: list[str] = []
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise ServerUnavailable("running as root and no 'postgres' user exists") from exc
            runuser = shutil.which("runuser")
            if runuser is None:
                raise ServerUnavailable("running as root and 'runuser' is missing")
            self._prefix = [runuser, "-u", "postgres", "--"]
            os.chown(self.root, account.pw_uid, account.pw_gid)
        else:
            self.user = pwd.getpwuid(os.geteuid()).pw_name
        self.started = False

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            [*self._prefix, *args], capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            raise ServerUnavailable(
                f"{Path(args[0]).name} failed ({done.returncode}): {done.stderr.strip()[-600:]}"
            )

    def start(self) -> TempServer:
        """Create the cluster and start the server (blocks until it accepts connections)."""
        self._run("mkdir", "-p", str(self.sock))
        self._run(
            str(self.bin / "initdb"),
            "-D", str(self.data),
            "-U", self.user,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )  # fmt: skip
        options = [
            f"-c port={self.port}",
            "-c listen_addresses=127.0.0.1",
            f"-c unix_socket_directories={self.sock}",
            "-c max_connections=100",
            "-c shared_buffers=128MB",
        ]
        if not self.durable:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        options += [f"-c {name}={value}" for name, value in self.settings.items()]
        self._run(
            str(self.bin / "pg_ctl"),
            "-D", str(self.data),
            "-l", str(self.root / "server.log"),
            "-o", " ".join(options),
            "-w", "-t", "60",
            "start",
        )  # fmt: skip
        self.started = True
        return self

    def url(self, dbname: str = "postgres", *, schema: str | None = None) -> str:
        """A libpq URL over the unix socket (``search_path`` set to ``schema`` when given)."""
        query = f"host={quote(str(self.sock), safe='')}&port={self.port}"
        if schema is not None:
            query += "&options=" + quote(f"-c search_path={schema}", safe="")
        return f"postgresql://{self.user}@/{dbname}?{query}"

    def stop(self) -> None:
        """Stop the server (fast) and remove the temp dir."""
        if self.started:
            self.started = False
            with suppress(ServerUnavailable, subprocess.TimeoutExpired):
                self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


_shared: TempServer | None = None
_shared_error: str | None = None
_lock = threading.Lock()


def shared_server() -> TempServer:
    """One server per process, started on first use and stopped at exit.

    Raises:
        ServerUnavailable: binaries missing or start failed (same reason on later calls).
    """
    global _shared, _shared_error
    with _lock:
        if _shared is not None:
            return _shared
        if _shared_error is not None:
            raise ServerUnavailable(_shared_error)
        try:
            server = TempServer()
            atexit.register(server.stop)
            _shared = server.start()
        except (ServerUnavailable, OSError, subprocess.SubprocessError) as exc:
            _shared_error = str(exc)
            raise ServerUnavailable(_shared_error) from exc
        return _shared


def stop_shared() -> None:
    """Stop the shared server (pytest session end)."""
    global _shared
    with _lock:
        if _shared is not None:
            _shared.stop()
            _shared = None


@contextmanager
def fresh_schema(server: TempServer) -> Iterator[str]:
    """A URL whose ``search_path`` is a new empty schema, dropped afterwards."""
    import psycopg

    schema = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield server.url(schema=schema)
    finally:
        with psycopg.connect(server.url(), autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
