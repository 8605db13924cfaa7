"""The delivery journal: one SQLite file recording what happened to every event, and its run lock.

``rapido replay`` writes it; ``rapido history`` reads it. Stable interface (other modules rely on it):

* :func:`default_journal_path` → ``$XDG_STATE_HOME/rapido/journal.sqlite3`` (else the platformdirs
  user state dir, ``~/.local/state/rapido/journal.sqlite3`` on Linux).
* :class:`Journal` ``(path)``: a context manager over the file (created on first use, WAL mode).

  - :meth:`Journal.query` ``(target=None, outcome=None, order_id=None, since=None, limit=None)``
    → ``list[JournalRow]``, newest first.
  - :meth:`Journal.get` ``(target, event_id)`` → ``JournalRow | None``.
  - :meth:`Journal.targets` → the targets the journal knows.
  - :meth:`Journal.lock` ``(target, ...)`` → :class:`RunLock`: one run per journal and target.
  - :meth:`Journal.writer` ``()`` → :class:`JournalWriter`: batched writes on a background thread.

The table ``deliveries`` is keyed by ``(target, event_id)``: ``target`` is
:attr:`rapido_cli.profiles.Target.name` (``base URL|client id``). One row per event id holds its
*last* outcome, with these columns (all but the key may be NULL):

=============  ==========================================================================
``outcome``    ``sent`` (the server acknowledged it), ``failed`` (not delivered: see ``failure``)
               or ``invalid`` (never sent: local validation failed). A ``sent`` row is never
               downgraded by a later outcome, so re-runs skip it for good.
``failure``    for ``failed`` rows: ``temporary`` (network, timeouts, 429/5xx/499 after all
               attempts; retrying later may pass), ``rejected`` (the server refused the data:
               fix it), ``unauthorized`` (401/403), ``tls`` (the server's certificate was not
               trusted) or ``interrupted`` (stopped by a signal before its last attempt).
``status``     the last HTTP status (NULL for a transport error or an invalid line)
``attempts``   HTTP attempts in the last run that tried it (0 for invalid lines)
``request_id`` the server's ``requestId`` from the last answer
``error``      one line: what went wrong (validation problems, or the server's message)
``order_id``   ``attributes.orderId``; ``event_type``: ``event.type``
``first_at``   / ``last_at``: when first and last recorded, Unix seconds (UTC) as REAL
``raw``        the line as read (without its line end; bytes that are not UTF-8 become U+FFFD), for
               ``failed`` and ``invalid`` rows only (so
               ``history --export`` can write them back); NULL once sent
``source``     ``FILE:LINE`` where the event was last read
``run_id``     the run that last wrote the row (table ``runs``)
=============  ==========================================================================

An invalid line that has no usable event id is keyed ``line-sha256:<first 16 hex digits of the
SHA-256 of the line>``. The client key and request headers are never stored.

Table ``runs`` has one row per replay run: ``run_id, target, source, pid, host, started_at,
ended_at, exit_code`` and the summary counts.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import queue
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from rapido_cli.errors import ConfigError, TemporaryError, UsageError

JOURNAL_NAME = "journal.sqlite3"
SCHEMA_VERSION = 1
OUTCOMES = ("sent", "failed", "invalid")
FAILURES = ("temporary", "rejected", "unauthorized", "tls", "interrupted")

JournalOutcome = Literal["sent", "failed", "invalid"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    target     TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    failure    TEXT,
    status     INTEGER,
    attempts   INTEGER NOT NULL DEFAULT 0,
    request_id TEXT,
    error      TEXT,
    order_id   TEXT,
    event_type TEXT,
    first_at   REAL NOT NULL,
    last_at    REAL NOT NULL,
    raw        TEXT,
    source     TEXT,
    run_id     TEXT,
    PRIMARY KEY (target, event_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS deliveries_last_at ON deliveries (last_at);
CREATE INDEX IF NOT EXISTS deliveries_order_id ON deliveries (order_id);
CREATE TABLE IF NOT EXISTS runs (
    run_id     TEXT PRIMARY KEY,
    target     TEXT NOT NULL,
    source     TEXT,
    pid        INTEGER,
    host       TEXT,
    started_at REAL NOT NULL,
    ended_at   REAL,
    exit_code  INTEGER,
    summary    TEXT
);
"""

# A sent row stays sent: a later failure/invalid record for the same id (an edited file, a
# concurrent run on another machine) must not make the next re-run send it again.
_UPSERT = """
INSERT INTO deliveries (target, event_id, outcome, failure, status, attempts, request_id, error,
                        order_id, event_type, first_at, last_at, raw, source, run_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (target, event_id) DO UPDATE SET
    outcome = excluded.outcome, failure = excluded.failure, status = excluded.status,
    attempts = excluded.attempts, request_id = excluded.request_id, error = excluded.error,
    order_id = coalesce(excluded.order_id, deliveries.order_id),
    event_type = coalesce(excluded.event_type, deliveries.event_type),
    last_at = excluded.last_at, raw = excluded.raw, source = excluded.source, run_id = excluded.run_id
WHERE deliveries.outcome != 'sent' OR excluded.outcome = 'sent'
"""

# Only constant column names are spliced into SQL; every value is a bound parameter.
_SELECT = (
    "SELECT target, event_id, outcome, failure, status, attempts, request_id, error, order_id, event_type, "
    "first_at, last_at, raw, source, run_id FROM deliveries"
)


def default_journal_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_STATE_HOME/rapido/journal.sqlite3``, else ``<platformdirs user state dir>/journal.sqlite3``."""
    env = os.environ if environ is None else environ
    xdg = env.get("XDG_STATE_HOME")
    if xdg:
        return Path(xdg) / "rapido" / JOURNAL_NAME
    import platformdirs

    return Path(platformdirs.user_state_dir("rapido", appauthor=False)) / JOURNAL_NAME


def iso(ts: float | None) -> str | None:
    """Unix seconds as ``2024-02-17T13:30:00.123Z`` (UTC, milliseconds)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def invalid_key(raw: bytes | str) -> str:
    """The journal key of an invalid line that has no usable event id."""
    data = raw.encode() if isinstance(raw, str) else raw
    return "line-sha256:" + hashlib.sha256(data).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class JournalRow:
    """One event's last recorded outcome (see the module docstring for each field)."""

    target: str
    event_id: str
    outcome: str
    status: int | None
    attempts: int
    request_id: str | None
    order_id: str | None
    at: str  # last_at, ISO 8601 UTC
    error: str | None
    event_type: str | None
    raw: str | None
    failure: str | None = None
    first_at: str | None = None
    at_epoch: float = 0.0
    source: str | None = None
    run_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The documented ``history --json`` object (plus error, type, failure and target)."""
        return {
            "event_id": self.event_id,
            "outcome": self.outcome,
            "status": self.status,
            "attempts": self.attempts,
            "request_id": self.request_id,
            "order_id": self.order_id,
            "at": self.at,
            "failure": self.failure,
            "error": self.error,
            "event_type": self.event_type,
            "target": self.target,
        }


@dataclass(slots=True)
class Record:
    """What a run writes for one event (the writer turns it into a row)."""

    event_id: str
    outcome: JournalOutcome
    failure: str | None = None
    status: int | None = None
    attempts: int = 0
    request_id: str | None = None
    error: str | None = None
    order_id: str | None = None
    event_type: str | None = None
    raw: str | None = None
    source: str | None = None
    at: float = 0.0


def _row(r: sqlite3.Row | tuple[Any, ...]) -> JournalRow:
    (target, event_id, outcome, failure, status, attempts, rid, error, order_id, etype, first, last, raw, src, run) = r
    return JournalRow(
        target=target,
        event_id=event_id,
        outcome=outcome,
        status=status,
        attempts=attempts,
        request_id=rid,
        order_id=order_id,
        at=iso(last) or "",
        error=error,
        event_type=etype,
        raw=raw,
        failure=failure,
        first_at=iso(first),
        at_epoch=last,
        source=src,
        run_id=run,
    )


def _connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30.0, check_same_thread=False)
    else:
        conn = sqlite3.connect(str(path), timeout=30.0, check_same_thread=False, isolation_level=None)
    # WAL: readers never block the writer; NORMAL sync is durable against a killed process
    # (only an OS crash may lose the last commits), which is the failure replay is built for.
    conn.execute("PRAGMA busy_timeout = 30000")
    if not readonly:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def _open_schema(path: Path, *, deadline_s: float = 30.0) -> sqlite3.Connection:
    """Connect and create the tables, retrying while another process does the same.

    Two runs starting together on a new journal can collide in ways SQLite reports at once as
    "database is locked" without waiting for ``busy_timeout`` (switching to WAL, or upgrading a read
    lock to a write lock while the other holds one). The second one then simply tries again.
    """
    give_up = time.monotonic() + deadline_s
    delay = 0.01
    while True:
        conn: sqlite3.Connection | None = None
        try:
            conn = _connect(path)
            conn.executescript("BEGIN IMMEDIATE;" + _SCHEMA + "COMMIT;")
            return conn
        except sqlite3.OperationalError as exc:
            if conn is not None:
                conn.close()
            busy = "locked" in str(exc) or "busy" in str(exc)
            if not busy or time.monotonic() > give_up:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


class Journal:
    """The SQLite journal at ``path`` (created with its directory on first use, mode 0600).

    Use as a context manager. Reading methods may be called from the thread that opened it;
    background writes go through :meth:`writer`, which opens its own connection.
    """

    def __init__(self, path: Path | str, *, create: bool = True) -> None:
        self.path = Path(path).expanduser()
        if not create and not self.path.exists():
            raise UsageError(f"{self.path}: no journal here yet", hint="run `rapido replay FILE` first")
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                if not self.path.exists():
                    fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600)
                    os.close(fd)
            self._conn = _open_schema(self.path)
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            elif version > SCHEMA_VERSION:
                raise ConfigError(
                    f"{self.path}: journal written by a newer rapido (schema {version})",
                    hint="upgrade rapido, or use another --journal PATH",
                )
        except sqlite3.DatabaseError as exc:
            raise ConfigError(
                f"{self.path}: cannot open the journal: {exc}", hint="use another --journal PATH, or --no-journal"
            ) from None
        except OSError as exc:
            raise ConfigError(f"{self.path}: cannot create the journal: {exc.strerror}") from None

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ reading

    def query(
        self,
        target: str | None = None,
        outcome: str | None = None,
        order_id: str | None = None,
        since: datetime | float | None = None,
        limit: int | None = None,
        *,
        failure: str | None = None,
    ) -> list[JournalRow]:
        """Rows matching every filter given, newest (``last_at``) first.

        ``since`` is a datetime (naive means UTC) or Unix seconds; ``outcome`` one of
        ``sent|failed|invalid``; ``failure`` one of ``temporary|rejected|unauthorized|tls|interrupted``.
        """
        where: list[str] = []
        args: list[Any] = []
        for col, val in (("target", target), ("outcome", outcome), ("order_id", order_id), ("failure", failure)):
            if val is not None:
                where.append(f"{col} = ?")
                args.append(val)
        if since is not None:
            if isinstance(since, datetime):
                since = (since if since.tzinfo else since.replace(tzinfo=UTC)).timestamp()
            where.append("last_at >= ?")
            args.append(float(since))
        sql = _SELECT
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY last_at DESC, event_id"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        return [_row(r) for r in self._conn.execute(sql, args)]

    def iter_rows(self, target: str | None = None, outcome: str | None = None) -> Iterator[JournalRow]:
        """Like :meth:`query` but streamed (for exports of large journals), newest first."""
        where, args = [], []
        if target is not None:
            where.append("target = ?")
            args.append(target)
        if outcome is not None:
            where.append("outcome = ?")
            args.append(outcome)
        sql = _SELECT + (" WHERE " + " AND ".join(where) if where else "")
        for r in self._conn.execute(sql + " ORDER BY last_at DESC, event_id", args):
            yield _row(r)

    def get(self, target: str, event_id: str) -> JournalRow | None:
        """The row of one event, or None."""
        r = self._conn.execute(
            _SELECT + " WHERE target = ? AND event_id = ?", (target, event_id)
        ).fetchone()
        return None if r is None else _row(r)

    def counts(self, target: str | None = None) -> dict[str, int]:
        """How many rows per outcome."""
        sql = "SELECT outcome, count(*) FROM deliveries"
        args: tuple[Any, ...] = ()
        if target is not None:
            sql += " WHERE target = ?"
            args = (target,)
        return dict(self._conn.execute(sql + " GROUP BY outcome", args).fetchall())

    def targets(self) -> list[str]:
        """Every target that has rows."""
        return [r[0] for r in self._conn.execute("SELECT DISTINCT target FROM deliveries ORDER BY target")]

    def sent_checker(self, target: str) -> SentChecker:
        """A thread-owned lookup of acknowledged ids for ``target`` (its own connection)."""
        return SentChecker(self.path, target)

    # ------------------------------------------------------------ runs and locks

    def lock(self, target: str, *, source: str | None = None) -> RunLock:
        """Take the run lock for ``target`` or raise TemporaryError (exit 75) naming its holder."""
        return RunLock.acquire(self.path, target, source=source)

    def start_run(self, run_id: str, target: str, source: str | None) -> None:
        """Record the start of a run."""
        self._conn.execute(
            "INSERT OR REPLACE INTO runs (run_id, target, source, pid, host, started_at) VALUES (?, ?, ?, ?, ?, ?)",
            (run_id, target, source, os.getpid(), socket.gethostname(), time.time()),
        )

    def end_run(self, run_id: str, exit_code: int, summary: Mapping[str, Any]) -> None:
        """Record the end of a run with its summary counts."""
        self._conn.execute(
            "UPDATE runs SET ended_at = ?, exit_code = ?, summary = ? WHERE run_id = ?",
            (time.time(), exit_code, json.dumps(dict(summary)), run_id),
        )

    def writer(self, target: str, run_id: str | None = None, **kw: Any) -> JournalWriter:
        """A started background writer for ``target`` (close it to flush)."""
        return JournalWriter(self.path, target, run_id, **kw)

    def record(self, target: str, records: Sequence[Record], run_id: str | None = None) -> None:
        """Write ``records`` now, in one transaction (tests and small callers)."""
        _write(self._conn, target, run_id, records)


def _write(conn: sqlite3.Connection, target: str, run_id: str | None, records: Sequence[Record]) -> None:
    now = time.time()
    rows = [
        (
            target,
            r.event_id,
            r.outcome,
            r.failure,
            r.status,
            r.attempts,
            r.request_id,
            r.error,
            r.order_id,
            r.event_type,
            r.at or now,
            r.at or now,
            None if r.outcome == "sent" else r.raw,
            r.source,
            run_id,
        )
        for r in records
    ]
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany(_UPSERT, rows)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class SentChecker:
    """``checker(event_id) -> bool``: was this id acknowledged for the target? One connection, one thread."""

    def __init__(self, path: Path, target: str) -> None:
        self._conn = _connect(path)
        self._target = target
        self._sql = "SELECT 1 FROM deliveries WHERE target = ? AND event_id = ? AND outcome = 'sent'"

    def __call__(self, event_id: str) -> bool:
        return self._conn.execute(self._sql, (self._target, event_id)).fetchone() is not None

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


class JournalWriter:
    """Writes records on a background thread, one transaction per batch.

    A batch is committed when it reaches ``batch_size`` records or ``max_delay`` seconds after its
    first record, whichever comes first, so a killed run loses at most one bounded batch of
    outcomes (those events are then sent again on re-run, with the same event id).
    """

    def __init__(
        self,
        path: Path,
        target: str,
        run_id: str | None = None,
        *,
        batch_size: int = 512,
        max_delay: float = 0.05,
    ) -> None:
        self.target = target
        self.run_id = run_id
        self.batch_size = batch_size
        self.max_delay = max_delay
        self._q: queue.Queue[Record | threading.Event | None] = queue.Queue(maxsize=batch_size * 8)
        self._conn = _connect(path)
        self._error: BaseException | None = None
        self.written = 0
        self._thread = threading.Thread(target=self._run, name="rapido-journal", daemon=True)
        self._thread.start()

    def put(self, record: Record) -> None:
        """Queue one record (blocks if the writer is far behind; raises if the writer failed)."""
        if self._error is not None:
            raise ConfigError(f"journal write failed: {self._error}")
        self._q.put(record)

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until everything queued so far is committed."""
        done = threading.Event()
        self._q.put(done)
        done.wait(timeout)
        if self._error is not None:
            raise ConfigError(f"journal write failed: {self._error}")

    def close(self) -> None:
        """Flush and stop the thread."""
        if self._thread.is_alive():
            self._q.put(None)
            self._thread.join(60)
        self._conn.close()
        if self._error is not None:
            raise ConfigError(f"journal write failed: {self._error}")

    def _run(self) -> None:
        batch: list[Record] = []
        deadline = 0.0
        waiters: list[threading.Event] = []
        stop = False
        while not stop:
            timeout = None if not batch else max(0.0, deadline - time.monotonic())
            try:
                item = self._q.get(timeout=timeout)
            except queue.Empty:
                item = False  # type: ignore[assignment]
            if item is None:
                stop = True
            elif isinstance(item, threading.Event):
                waiters.append(item)
            elif isinstance(item, Record):
                if not batch:
                    deadline = time.monotonic() + self.max_delay
                batch.append(item)
                if len(batch) < self.batch_size:
                    continue
            if batch and (stop or waiters or len(batch) >= self.batch_size or time.monotonic() >= deadline):
                try:
                    _write(self._conn, self.target, self.run_id, batch)
                    self.written += len(batch)
                except (sqlite3.Error, ValueError) as exc:  # ValueError: text SQLite cannot store
                    self._error = exc
                batch = []
            for w in waiters:
                w.set()
            waiters = []


# ---------------------------------------------------------------- the run lock


def _lock_path(journal: Path, target: str) -> Path:
    digest = hashlib.sha256(target.encode()).hexdigest()[:16]
    return journal.with_name(f"{journal.name}.{digest}.lock")


class RunLock:
    """An exclusive ``flock`` on ``<journal>.<target hash>.lock``; the kernel drops it when the process dies.

    The file holds the holder's pid, host, start time and target (JSON), only so that a second run
    can say who holds it: its presence alone means nothing, so no manual cleanup is ever needed.
    """

    def __init__(self, path: Path, fd: int, info: dict[str, Any]) -> None:
        self.path = path
        self._fd = fd
        self.info = info

    @classmethod
    def acquire(cls, journal: Path, target: str, *, source: str | None = None) -> RunLock:
        """Take the lock now or raise TemporaryError naming the holder."""
        path = _lock_path(journal, target)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise TemporaryError(
                f"another replay to {target} is running with this journal ({describe_holder(holder)})",
                hint=f"wait for it to finish, or stop it; lock file {path}",
            ) from None
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": iso(time.time()),
            "target": target,
            "source": source,
        }
        data = json.dumps(info).encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)
        return cls(path, fd, info)

    def release(self) -> None:
        """Drop the lock (the file stays; it is harmless)."""
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_holder(fd: int) -> dict[str, Any]:
    # The holder writes its info right after locking; give it a moment if we raced it.
    for _ in range(20):
        try:
            data = os.pread(fd, 4096, 0)
            if data:
                obj = json.loads(data)
                if isinstance(obj, dict):
                    return obj
        except (OSError, ValueError):
            pass
        time.sleep(0.01)
    return {}


def describe_holder(holder: Mapping[str, Any]) -> str:
    """``pid 1234 on host-a since 2024-...Z`` (or "holder unknown")."""
    if not holder:
        return "holder unknown"
    parts = [f"pid {holder.get('pid', '?')}", f"on {holder.get('host', '?')}", f"since {holder.get('started', '?')}"]
    if holder.get("source"):
        parts.append(f"reading {holder['source']}")
    return " ".join(parts)
