"""Durable webhook intake queue in the service database: dedup, leases, backoff, dead letters."""

from __future__ import annotations

import hashlib
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from api.store.base import Connection, Database

log = logging.getLogger(__name__)

#: ``gone``: the document was deleted before it could be processed (terminal, not "done").
State = Literal["pending", "processing", "done", "dead", "gone"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS intake (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    resource_type TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    version_id TEXT,
    content_hash TEXT,
    dedup_key TEXT UNIQUE,
    payload TEXT,
    source TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    received_at REAL NOT NULL,
    next_attempt_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    outcome TEXT,
    last_error TEXT,
    recovered INTEGER NOT NULL DEFAULT 0,
    lease_until REAL
);
CREATE INDEX IF NOT EXISTS intake_ready ON intake(state, next_attempt_at);
CREATE INDEX IF NOT EXISTS intake_resource ON intake(resource_type, resource_id, seq);
CREATE INDEX IF NOT EXISTS intake_finished ON intake(finished_at);
CREATE TABLE IF NOT EXISTS intake_counter (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class Notice:
    """One resource named by a notification: the resource itself, or only its reference.

    Attributes:
        resource_type: e.g. ``DocumentReference``.
        resource_id: the logical id.
        version_id: ``meta.versionId`` or the ``_history`` part of the reference, when known.
        resource: the full resource, or ``None`` for an id-only notification.
        source: ``rest-hook`` | ``backport-full`` | ``backport-id-only``.
    """

    resource_type: str
    resource_id: str
    version_id: str | None
    resource: dict[str, Any] | None
    source: str


@dataclass(frozen=True)
class Job:
    """A claimed queue row."""

    seq: int
    resource_type: str
    resource_id: str
    version_id: str | None
    resource: dict[str, Any] | None
    source: str
    attempts: int
    received_at: float
    recovered: bool


@dataclass(frozen=True)
class EnqueueResult:
    """What became of each notice: accepted sequence numbers, duplicates, revived dead letters."""

    accepted: list[int]
    duplicates: int
    revived: int


def content_hash(resource: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a resource without ``meta`` (stable across servers).

    >>> content_hash({"resourceType": "X", "id": "1", "meta": {"versionId": "2"}}) == (
    ...     content_hash({"id": "1", "resourceType": "X"}))
    True
    """
    body = {k: v for k, v in resource.items() if k != "meta"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def backoff_s(attempts: int, base_s: float, max_s: float) -> float:
    """Wait before the next attempt: exponential, capped, with +-25 % jitter.

    >>> 0.75 <= backoff_s(1, 1.0, 60.0) <= 1.25
    True
    >>> backoff_s(30, 1.0, 60.0) <= 75.0
    True
    """
    raw = min(max_s, base_s * 2 ** max(0, attempts - 1))
    return float(raw * random.uniform(0.75, 1.25))


class IntakeQueue:
    """The durable intake queue (table ``intake`` in the service database).

    A notice is committed (``BEGIN IMMEDIATE`` ... ``COMMIT`` with ``synchronous=FULL``) before
    the webhook answers. Duplicates are dropped: same resource and ``versionId``, or same
    content (hash without ``meta``) as the latest notice of that resource, or an id-only notice
    for a resource that already waits id-only. A re-sent notice that had been dead-lettered is
    revived (attempts reset). Rows in ``processing`` when the process died are put back to
    ``pending`` by :meth:`recover` at start-up.

    Config (constructor arguments):
        db: The service ``Database`` (``api.store.base.Database``: SQLite or PostgreSQL).
        max_attempts: Attempts before a job is dead-lettered (default 5).
        backoff_base_s: First retry delay (default 1 s), doubled per attempt.
        backoff_max_s: Cap of one retry delay (default 300 s).
        lease_s: How long a claimed job belongs to its worker (default 600 s); past it, any
            worker (another replica on a shared database) takes it back.
        clock: Seconds since the epoch (default ``time.time``).
    """

    def __init__(
        self,
        db: Database,
        *,
        max_attempts: int = 5,
        backoff_base_s: float = 1.0,
        backoff_max_s: float = 300.0,
        lease_s: float = 600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.max_attempts = max_attempts
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.lease_s = lease_s
        self.clock = clock
        self.wakeup = threading.Event()
        db.executescript(SCHEMA)
        with db.read() as conn:  # tables created before leases existed
            columns = [d[0] for d in conn.execute("SELECT * FROM intake LIMIT 0").description or []]
        if "lease_until" not in columns:
            db.executescript("ALTER TABLE intake ADD COLUMN lease_until REAL;")

    # ---- intake ----------------------------------------------------------------------
    def enqueue(self, notices: list[Notice]) -> EnqueueResult:
        """Persist notices in ONE committed transaction (before the webhook's 2xx)."""
        now = self.clock()
        accepted: list[int] = []
        duplicates = revived = 0
        with self._durable(), self.db.transaction() as conn:
            for notice in notices:
                seq, how = self._insert(conn, notice, now)
                if how == "duplicate":
                    duplicates += 1
                    continue
                revived += how == "revived"
                accepted.append(seq)
            if duplicates:
                _bump(conn, "duplicates", duplicates)
        if accepted:
            self.wakeup.set()
        return EnqueueResult(accepted, duplicates, revived)

    @contextmanager
    def _durable(self) -> Iterator[None]:
        """``synchronous=FULL`` around one commit: in WAL mode the commit itself is fsync'd
        (``NORMAL`` only syncs at checkpoints). ``read()`` holds the connection's lock, so
        no other write runs in between; the previous level is restored afterwards.
        """
        with self.db.read() as conn:
            previous = int(conn.execute("PRAGMA synchronous").fetchone()[0])
            if previous >= 2:
                yield
                return
            conn.execute("PRAGMA synchronous=FULL")
            try:
                yield
            finally:
                conn.execute(f"PRAGMA synchronous={previous}")

    def _insert(self, conn: Connection, n: Notice, now: float) -> tuple[int, str]:
        chash = content_hash(n.resource) if n.resource is not None else None
        key = f"{n.resource_type}/{n.resource_id}/_history/{n.version_id}" if n.version_id else None
        if key is not None:
            row = conn.execute(
                "SELECT seq, state FROM intake WHERE dedup_key = ?", (key,)
            ).fetchone()
            if row is not None:
                if row[1] != "dead":
                    return int(row[0]), "duplicate"
                conn.execute(
                    "UPDATE intake SET state='pending', attempts=0, next_attempt_at=?,"
                    " last_error=NULL WHERE seq=?",
                    (now, row[0]),
                )
                return int(row[0]), "revived"
        latest = conn.execute(
            "SELECT content_hash, state, payload IS NULL FROM intake"
            " WHERE resource_type=? AND resource_id=? ORDER BY seq DESC LIMIT 1",
            (n.resource_type, n.resource_id),
        ).fetchone()
        if latest is not None and latest[1] != "dead":
            if chash is not None and latest[0] == chash:
                return 0, "duplicate"
            if n.resource is None and key is None and latest[2] and latest[1] == "pending":
                return 0, "duplicate"  # id-only for a resource already waiting id-only
        cur = conn.execute(
            "INSERT INTO intake (resource_type, resource_id, version_id, content_hash, dedup_key,"
            " payload, source, received_at, next_attempt_at) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                n.resource_type,
                n.resource_id,
                n.version_id,
                chash,
                key,
                json.dumps(n.resource, separators=(",", ":")) if n.resource is not None else None,
                n.source,
                now,
                now,
            ),
        )
        return int(cur.lastrowid or 0), "inserted"

    # ---- workers ---------------------------------------------------------------------
    def recover(self, *, all_in_flight: bool = True) -> int:
        """Put back jobs left ``processing`` by a dead process; returns how many.

        Args:
            all_in_flight: Every ``processing`` row is orphaned (one process owns the SQLite
                file: true at its start-up). ``False`` for a database shared by several
                replicas (PostgreSQL): only rows whose lease expired.
        """
        with self.db.transaction() as conn:
            n = self._requeue(conn, self.clock(), everything=all_in_flight)
        if n:
            log.warning("intake: %d job(s) were in flight at the last stop; re-queued", n)
            self.wakeup.set()
        return n

    def _requeue(self, conn: Connection, now: float, *, everything: bool) -> int:
        """Orphaned ``processing`` rows back to ``pending`` (``dead`` after max attempts)."""
        where = "state='processing'" + ("" if everything else " AND lease_until < ?")
        lease: tuple[float, ...] = () if everything else (now,)
        conn.execute(
            f"UPDATE intake SET state='dead', finished_at=?, last_error=? WHERE {where}"
            " AND attempts >= ?",
            (now, "[NLP606] the worker stopped during every attempt", *lease, self.max_attempts),
        )
        cur = conn.execute(
            f"UPDATE intake SET state='pending', recovered=1, next_attempt_at=? WHERE {where}",
            (now, *lease),
        )
        return max(0, int(cur.rowcount))

    def claim(self) -> Job | None:
        """Take the oldest ready job whose resource has no job in flight (FIFO per resource).

        The job is leased for ``lease_s``; a job whose lease expired (its worker died in
        another replica) is taken back first.
        """
        now = self.clock()
        with self.db.transaction() as conn:
            self._requeue(conn, now, everything=False)
            row = conn.execute(
                "UPDATE intake SET state='processing', started_at=?, attempts=attempts+1,"
                " lease_until=? WHERE seq = (SELECT i.seq FROM intake i WHERE i.state='pending'"
                " AND i.next_attempt_at <= ? AND NOT EXISTS (SELECT 1 FROM intake p"
                " WHERE p.state='processing' AND p.resource_type=i.resource_type"
                " AND p.resource_id=i.resource_id) ORDER BY i.seq LIMIT 1)"
                " RETURNING seq, resource_type, resource_id, version_id, payload, source,"
                " attempts, received_at, recovered",
                (now, now + self.lease_s, now),
            ).fetchone()
        if row is None:
            return None
        return Job(
            seq=row[0],
            resource_type=row[1],
            resource_id=row[2],
            version_id=row[3],
            resource=json.loads(row[4]) if row[4] is not None else None,
            source=row[5],
            attempts=row[6],
            received_at=row[7],
            recovered=bool(row[8]),
        )

    def superseded(self, job: Job) -> bool:
        """Whether a newer live notice exists for the same resource (then this one is moot)."""
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT 1 FROM intake WHERE resource_type=? AND resource_id=? AND seq>?"
                " AND state!='dead' LIMIT 1",
                (job.resource_type, job.resource_id, job.seq),
            ).fetchone()
        return row is not None

    def complete(self, job: Job, outcome: str, *, state: Literal["done", "gone"] = "done") -> None:
        """Finish a job with a short outcome (``created:SUCCESS``, ``unchanged``, ``skipped:...``):
        ``done``, or ``gone`` when the document was deleted before it could be processed."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE intake SET state=?, finished_at=?, outcome=?, last_error=NULL WHERE seq=?",
                (state, self.clock(), outcome, job.seq),
            )

    def fail(self, job: Job, error: str, *, permanent: bool) -> State:
        """Record a failed attempt: back to ``pending`` with backoff, or ``dead``.

        Args:
            job: The claimed job.
            error: A coded message without PHI (e.g. ``"[NLP502] upstream unavailable"``).
            permanent: Dead-letter now (retrying the same input cannot succeed).
        """
        now = self.clock()
        dead = permanent or job.attempts >= self.max_attempts
        with self.db.transaction() as conn:
            if dead:
                conn.execute(
                    "UPDATE intake SET state='dead', finished_at=?, last_error=? WHERE seq=?",
                    (now, error[:500], job.seq),
                )
            else:
                delay = backoff_s(job.attempts, self.backoff_base_s, self.backoff_max_s)
                conn.execute(
                    "UPDATE intake SET state='pending', next_attempt_at=?, last_error=?"
                    " WHERE seq=?",
                    (now + delay, error[:500], job.seq),
                )
            _bump(conn, "failed_attempts", 1)
        return "dead" if dead else "pending"

    def next_due_in(self) -> float | None:
        """Seconds until the next pending job is due (``None`` when nothing is pending)."""
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT MIN(next_attempt_at) FROM intake WHERE state='pending'"
            ).fetchone()
        return None if row[0] is None else max(0.0, row[0] - self.clock())

    def prune(self, older_than_s: float) -> int:
        """Delete ``done`` and ``gone`` rows finished more than ``older_than_s`` ago."""
        with self.db.transaction() as conn:
            cur = conn.execute(
                "DELETE FROM intake WHERE state IN ('done', 'gone') AND finished_at < ?",
                (self.clock() - older_than_s,),
            )
            return int(cur.rowcount)

    # ---- observability ---------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """Queue depth, lag, failures, dead letters and throughput (no PHI, ids excluded)."""
        now = self.clock()
        with self.db.read() as conn:
            counts = dict(conn.execute("SELECT state, COUNT(*) FROM intake GROUP BY state"))
            oldest = conn.execute(
                "SELECT MIN(received_at) FROM intake WHERE state IN ('pending','processing')"
            ).fetchone()[0]
            retrying = conn.execute(
                "SELECT COUNT(*) FROM intake WHERE state='pending' AND attempts>0"
            ).fetchone()[0]
            window = {}
            for seconds in (60, 300):
                done, lag = conn.execute(
                    "SELECT COUNT(*), AVG(finished_at - received_at) FROM intake"
                    " WHERE state='done' AND finished_at >= ?",
                    (now - seconds,),
                ).fetchone()
                window[seconds] = (done, lag)
            counters = dict(conn.execute("SELECT name, value FROM intake_counter"))
        return {
            "queue": {
                "pending": counts.get("pending", 0),
                "processing": counts.get("processing", 0),
                "done": counts.get("done", 0),
                "dead": counts.get("dead", 0),
                "gone": counts.get("gone", 0),
                "retrying": retrying,
                "depth": counts.get("pending", 0) + counts.get("processing", 0),
                "oldest_pending_age_s": round(now - oldest, 3) if oldest is not None else 0.0,
            },
            "failures": {
                "failed_attempts": counters.get("failed_attempts", 0),
                "dead_letters": counts.get("dead", 0),
            },
            "duplicates_dropped": counters.get("duplicates", 0),
            "throughput": {
                f"last_{s}s": {
                    "processed": done,
                    "per_s": round(done / s, 3),
                    "mean_latency_s": round(lag, 3) if lag is not None else None,
                }
                for s, (done, lag) in window.items()
            },
        }

    def dead_letters(self, limit: int = 50) -> list[dict[str, Any]]:
        """The most recent dead letters: seq, reference, attempts, coded error."""
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT seq, resource_type, resource_id, version_id, attempts, last_error,"
                " finished_at FROM intake WHERE state='dead' ORDER BY seq DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [
            {
                "seq": r[0],
                "reference": f"{r[1]}/{r[2]}" + (f"/_history/{r[3]}" if r[3] else ""),
                "attempts": r[4],
                "error": r[5],
                "failed_at": r[6],
            }
            for r in rows
        ]

    def rows(self) -> Iterator[dict[str, Any]]:
        """Every row without payload (tests and diagnostics)."""
        with self.db.read() as conn:
            cur = conn.execute(
                "SELECT seq, resource_type, resource_id, version_id, state, attempts, outcome,"
                " last_error, source FROM intake ORDER BY seq"
            )
            names = [d[0] for d in cur.description]
            data = cur.fetchall()
        for r in data:
            yield dict(zip(names, r, strict=True))


def _bump(conn: Connection, name: str, by: int) -> None:
    conn.execute(
        "INSERT INTO intake_counter(name, value) VALUES (?, ?)"
        " ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
        (name, by),
    )
