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
:attr:`rapido_cli.profiles.Target.name` (``base URL|client id``) in its normal form
(:func:`normalise_target`: scheme and host lower-case, default port dropped, path without dot
segments, doubled or trailing slashes), so ``HTTP://Host:80/`` and ``http://host`` are one target for
the journal and for the run lock alike. Rows written under another spelling by older versions are
rewritten to the normal form when a run opens the journal (schema 2); a read-only open matches them
all the same. One row per event id holds its
*last* outcome, with these columns (all but the key may be NULL):

=============  ==========================================================================
``outcome``    ``sent`` (the server acknowledged it), ``failed`` (not delivered: see ``failure``)
               or ``invalid`` (never sent: local validation failed). A ``sent`` row is never
               downgraded by a later outcome, so re-runs skip it for good.
``failure``    for ``failed`` rows: ``temporary`` (network, timeouts, 429/5xx/499 after all
               attempts; retrying later may pass), ``rejected`` (the server refused the data:
               fix it), ``unauthorized`` (401/403), ``tls`` (the server's certificate was not
               trusted, or TLS failed), ``unconfirmed``/``redirect``/``endpoint``/``nxdomain``/``proxy``
               (the endpoint is not the API as configured: a 2xx that is not an acknowledgement, a
               redirect, 404/405, an unknown host, a proxy refusal; the run stops) or ``interrupted``
               (stopped before its last attempt: a signal, an outage, ``--max-duration``; sent again).
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

Safety: the journal, its ``-wal``/``-shm`` files and the lock file are private (0600, tightened when
they exist) and never opened through a symbolic link; a path holding something that is not an SQLite
database is refused rather than turned into one. A damaged or foreign file (``PRAGMA quick_check``,
the expected tables and columns) is a :class:`~rapido_cli.errors.LocalIOError` (exit 74) naming the
path, as is a failed write (disk full) or a journal removed, replaced or made unwritable during a run
(the writer checks every quarter second): a run that cannot record what it sends stops, rather than
let the next run send everything again. Acknowledgements are committed as they come (one
transaction per batch of whatever is waiting, WAL, ``synchronous=NORMAL``), and a caller may wait for
its record to be committed (:meth:`JournalWriter.wait_committed`), which bounds what a ``kill -9`` can
make the next run send again. ``rapido history`` opens the journal read-only (``mode=ro``, and
``immutable=1`` when SQLite cannot read it that way, e.g. on a read-only mount without its -shm file).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import posixpath
import queue
import socket
import sqlite3
import stat
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal
from urllib.parse import quote, urlsplit, urlunsplit

from rapido_cli.errors import LocalIOError, TemporaryError, UsageError

JOURNAL_NAME = "journal.sqlite3"
#: 1: the first schema; 2: targets in normal form (rows of older spellings rewritten on open).
SCHEMA_VERSION = 2
SQLITE_HEADER = b"SQLite format 3\x00"
_COLUMNS = {
    "deliveries": {
        "target",
        "event_id",
        "outcome",
        "failure",
        "status",
        "attempts",
        "request_id",
        "error",
        "order_id",
        "event_type",
        "first_at",
        "last_at",
        "raw",
        "source",
        "run_id",
    },
    "runs": {"run_id", "target", "source", "pid", "host", "started_at", "ended_at", "exit_code", "summary"},
}
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HINT = (
    "move it aside (the next run starts a new journal and sends what it cannot prove was sent), or use --journal PATH"
)

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
    """Unix seconds as ISO 8601 UTC with milliseconds (``...Z``), or None."""
    from rapido_cli.text import iso_utc

    return None if ts is None else iso_utc(ts)


def normalise_target(name: str) -> str:
    """The journal's key for a target ``BASE_URL|CLIENT_ID``: one spelling per endpoint.

    Scheme and host lower-case, the scheme's default port dropped, the path without ``.``/``..``
    segments and without doubled or trailing slashes; the client id is kept as is.
    """
    base, sep, client = name.rpartition("|")
    if not sep:
        base, client = name, ""
    try:
        parts = urlsplit(base.strip())
        port = parts.port
    except ValueError:
        return name
    if not parts.scheme or not parts.netloc:
        return name  # not a URL: nothing to normalise
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    if parts.username is not None:
        userinfo = parts.username + (f":{parts.password}" if parts.password is not None else "")
        host = f"{userinfo}@{host}"
    path = parts.path
    if path:
        path = posixpath.normpath("/" + path.lstrip("/"))
        path = "" if path == "/" else path.rstrip("/")
        if path.startswith("//"):
            path = "/" + path.lstrip("/")
    base = urlunsplit((scheme, host, path, parts.query, ""))
    return f"{base}|{client}" if sep else base


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
        target=normalise_target(target),
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
        source=src,
        run_id=run,
    )


def _connect(path: Path, *, readonly: bool = False, immutable: bool = False, wal: bool = True) -> sqlite3.Connection:
    if readonly:
        # A URI, so that the file is never created and nothing is written (mode=ro); immutable=1
        # also skips the -shm/-wal files, for a journal on a read-only mount.
        uri = f"file:{quote(str(path))}?mode=ro" + ("&immutable=1" if immutable else "")
        conn = sqlite3.connect(uri, uri=True, timeout=30.0, check_same_thread=False, isolation_level=None)
    else:
        conn = sqlite3.connect(str(path), timeout=30.0, check_same_thread=False, isolation_level=None)
    # WAL: readers never block the writer; NORMAL sync is durable against a killed process
    # (only an OS crash may lose the last commits), which is the failure replay is built for.
    conn.execute("PRAGMA busy_timeout = 30000")
    if not readonly and wal:
        _wal(conn)
    return conn


def _wal(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")


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
            # Checked before anything is written (switching to WAL rewrites the header): a file that
            # is not ours is left exactly as it was.
            conn = _connect(path, wal=False)
            _check_ours(conn, path)
            _wal(conn)
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
        except BaseException:
            if conn is not None:
                conn.close()
            raise


def _check_ours(conn: sqlite3.Connection, path: Path) -> None:
    """Raise LocalIOError unless ``conn`` is an intact rapido journal (or an empty database)."""
    row = conn.execute("PRAGMA quick_check(1)").fetchone()
    if not row or row[0] != "ok":
        raise LocalIOError(f"{path}: the journal is damaged ({row[0] if row else 'no answer'})", hint=_HINT)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not tables:
        return
    for table, columns in _COLUMNS.items():
        have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")} if table in tables else set()
        if not columns <= have:
            raise LocalIOError(
                f"{path}: not a rapido journal (an SQLite database without the {table} table this program writes)",
                hint="give --journal the path of a rapido journal (or a new file), or use --no-journal",
            )


def _refuse_link(path: Path) -> None:
    if path.is_symlink():
        raise LocalIOError(
            f"{path}: is a symbolic link (refused: the journal is never opened through a link)",
            hint="give --journal the real path",
        )


def _private(path: Path) -> None:
    """Tighten an existing journal-side file to 0600 without following a link."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_NONBLOCK)
    except FileNotFoundError:
        return
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            _refuse_link(path)
        raise
    try:
        st = os.fstat(fd)
        if stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) != 0o600:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def _sidecars(path: Path) -> list[Path]:
    return [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal")]


def _check_file(path: Path) -> None:
    """Refuse a link, something that is not a regular file, or a file that is not SQLite."""
    _refuse_link(path)
    for side in _sidecars(path):
        _refuse_link(side)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_NONBLOCK)
    except FileNotFoundError:
        return
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise LocalIOError(f"{path}: not a regular file", hint="give --journal the path of a file")
        head = os.pread(fd, len(SQLITE_HEADER), 0) if st.st_size else b""
    finally:
        os.close(fd)
    if head and head != SQLITE_HEADER:
        raise LocalIOError(
            f"{path}: not a rapido journal (not an SQLite database); it was left untouched",
            hint="give --journal the path of a rapido journal (or a new file), or use --no-journal",
        )


class Journal:
    """The SQLite journal at ``path`` (created with its directory on first use, mode 0600).

    Use as a context manager. Reading methods may be called from the thread that opened it;
    background writes go through :meth:`writer`, which opens its own connection. ``readonly``
    opens an existing journal without ever writing to it (``rapido history``).
    """

    def __init__(self, path: Path | str, *, create: bool = True, readonly: bool = False) -> None:
        self.path = Path(path).expanduser()
        self.readonly = readonly
        self._aliases: dict[str, list[str]] | None = None
        if (readonly or not create) and not self.path.exists() and not self.path.is_symlink():
            raise UsageError(f"{self.path}: no journal here yet", hint="run `rapido replay FILE` first")
        try:
            _check_file(self.path)
            if readonly:
                self._conn = self._open_readonly()
                return
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            with contextlib.suppress(FileExistsError):
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0), 0o600)
                os.close(fd)
            for p in (self.path, *_sidecars(self.path)):
                _private(p)
            self._conn = _open_schema(self.path)
            self.identity = _identity(self.path)
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise LocalIOError(
                    f"{self.path}: journal written by a newer rapido (schema {version})",
                    hint="upgrade rapido, or use another --journal PATH",
                )
            if version < SCHEMA_VERSION:
                _migrate(self._conn)
                self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            for p in _sidecars(self.path):
                _private(p)
        except sqlite3.DatabaseError as exc:
            raise LocalIOError(f"{self.path}: cannot open the journal: {exc}", hint=_HINT) from None
        except OSError as exc:
            raise LocalIOError(f"{self.path}: cannot create the journal: {exc.strerror or exc}") from None

    def _open_readonly(self) -> sqlite3.Connection:
        # mode=ro first: it reads what a killed run left in the -wal file (SQLite needs the -shm
        # file to exist or to be creatable). On a read-only mount without them, immutable=1: the
        # database file as it is (a cleanly closed journal has everything in it).
        conn = _connect(self.path, readonly=True)
        try:
            _check_ours(conn, self.path)
        except sqlite3.OperationalError:
            conn.close()
            conn = _connect(self.path, readonly=True, immutable=True)
            try:
                _check_ours(conn, self.path)
            except BaseException:
                conn.close()
                raise
        except BaseException:
            conn.close()
            raise
        self.identity = _identity(self.path)
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            conn.close()
            raise LocalIOError(
                f"{self.path}: journal written by a newer rapido (schema {version})", hint="upgrade rapido"
            )
        if version < SCHEMA_VERSION:
            self._aliases = {}
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "deliveries" in tables:
                for (raw,) in conn.execute("SELECT DISTINCT target FROM deliveries"):
                    self._aliases.setdefault(normalise_target(raw), []).append(raw)
        return conn

    def _where_target(self, target: str) -> tuple[str, list[Any]]:
        """SQL condition and arguments matching ``target`` (normalised; older spellings too, read-only)."""
        key = normalise_target(target)
        if self._aliases is None:
            return "target = ?", [key]
        spellings = self._aliases.get(key) or [key]
        return f"target IN ({', '.join('?' for _ in spellings)})", list(spellings)

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
        if target is not None:
            cond, targs = self._where_target(target)
            where.append(cond)
            args.extend(targs)
        for col, val in (("outcome", outcome), ("order_id", order_id), ("failure", failure)):
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

    def get(self, target: str, event_id: str) -> JournalRow | None:
        """The row of one event, or None."""
        cond, args = self._where_target(target)
        r = self._conn.execute(_SELECT + f" WHERE {cond} AND event_id = ?", (*args, event_id)).fetchone()
        return None if r is None else _row(r)

    def counts(self, target: str | None = None) -> dict[str, int]:
        """How many rows per outcome."""
        sql = "SELECT outcome, count(*) FROM deliveries"
        args: tuple[Any, ...] = ()
        if target is not None:
            cond, targs = self._where_target(target)
            sql += f" WHERE {cond}"
            args = tuple(targs)
        return dict(self._conn.execute(sql + " GROUP BY outcome", args).fetchall())

    def targets(self) -> list[str]:
        """Every target that has rows."""
        found = {normalise_target(r[0]) for r in self._conn.execute("SELECT DISTINCT target FROM deliveries")}
        return sorted(found)

    def sent_checker(self, target: str) -> SentChecker:
        """A thread-owned lookup of acknowledged ids for ``target`` (its own connection)."""
        return SentChecker(self.path, normalise_target(target))

    # ------------------------------------------------------------ runs and locks

    def lock(self, target: str, *, source: str | None = None) -> RunLock:
        """Take the run lock for ``target`` or raise TemporaryError (exit 75) naming its holder."""
        return RunLock.acquire(self.path, normalise_target(target), source=source)

    def start_run(self, run_id: str, target: str, source: str | None) -> None:
        """Record the start of a run."""
        self._conn.execute(
            "INSERT OR REPLACE INTO runs (run_id, target, source, pid, host, started_at) VALUES (?, ?, ?, ?, ?, ?)",
            (run_id, normalise_target(target), source, os.getpid(), socket.gethostname(), time.time()),
        )

    def end_run(self, run_id: str, exit_code: int, summary: Mapping[str, Any]) -> None:
        """Record the end of a run with its summary counts."""
        self._conn.execute(
            "UPDATE runs SET ended_at = ?, exit_code = ?, summary = ? WHERE run_id = ?",
            (time.time(), exit_code, json.dumps(dict(summary)), run_id),
        )

    def writer(self, target: str, run_id: str | None = None, **kw: Any) -> JournalWriter:
        """A started background writer for ``target`` (close it to flush)."""
        return JournalWriter(self.path, normalise_target(target), run_id, identity=self.identity, **kw)

    def record(self, target: str, records: Sequence[Record], run_id: str | None = None) -> None:
        """Write ``records`` now, in one transaction (tests and small callers)."""
        _write(self._conn, normalise_target(target), run_id, records)


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


def _identity(path: Path) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino


def _migrate(conn: sqlite3.Connection) -> None:
    """Rewrite rows keyed by an older spelling of a target to its normal form (schema 1 → 2).

    When both spellings hold the same event, the normal form's row stays, marked sent if either was.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        for (raw,) in conn.execute("SELECT DISTINCT target FROM deliveries").fetchall():
            key = normalise_target(raw)
            if key == raw:
                continue
            conn.execute("UPDATE OR IGNORE deliveries SET target = ? WHERE target = ?", (key, raw))
            conn.execute(
                "UPDATE deliveries SET outcome = 'sent', failure = NULL, raw = NULL WHERE target = ? "
                "AND outcome != 'sent' AND event_id IN "
                "(SELECT event_id FROM deliveries WHERE target = ? AND outcome = 'sent')",
                (key, raw),
            )
            conn.execute("DELETE FROM deliveries WHERE target = ?", (raw,))
            conn.execute("UPDATE runs SET target = ? WHERE target = ?", (key, raw))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class JournalWriter:
    """Writes records on a background thread, committing whatever is waiting as soon as it can.

    Each :meth:`put` returns a sequence number; :meth:`wait_committed` blocks until that record is
    committed. Under load the records waiting while one transaction commits form the next batch
    (up to ``batch_size``), so commits keep pace with acknowledgements without one transaction per
    record. Every ``check_every`` seconds the writer also checks that the journal file is still the
    one it opened and still writable: a journal removed or replaced mid-run would otherwise swallow
    every record and make the next run send everything again. Any failure is kept and raised (as a
    :class:`LocalIOError`, exit 74, naming the path) by the next call.
    """

    def __init__(
        self,
        path: Path,
        target: str,
        run_id: str | None = None,
        *,
        batch_size: int = 512,
        identity: tuple[int, int] | None = None,
        check_every: float = 0.25,
    ) -> None:
        self.path = path
        self.target = target
        self.run_id = run_id
        self.batch_size = batch_size
        self.check_every = check_every
        self._identity = identity
        self._q: queue.Queue[Record | threading.Event | None] = queue.Queue(maxsize=batch_size * 8)
        self._conn = _connect(path)
        self._error: LocalIOError | None = None
        self._cond = threading.Condition()
        self._queued = 0  # sequence number of the last record queued
        self._committed = 0  # ... and of the last one committed
        self._seq_lock = threading.Lock()
        self.commits = 0
        self._thread = threading.Thread(target=self._run, name="rapido-journal", daemon=True)
        self._thread.start()

    @property
    def error(self) -> LocalIOError | None:
        """The failure that stopped the writer, if any."""
        return self._error

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def put(self, record: Record) -> int:
        """Queue one record and return its sequence number (blocks if the writer is far behind).

        Raises :class:`LocalIOError` once the writer has failed.
        """
        self._raise()
        with self._seq_lock:
            self._queued += 1
            seq = self._queued
            self._q.put(record)
        return seq

    def wait_committed(self, seq: int, timeout: float = 30.0, stop: threading.Event | None = None) -> bool:
        """Wait until record ``seq`` is committed; False on timeout or when ``stop`` is set first."""
        if seq <= self._committed:
            self._raise()
            return True
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._committed < seq and self._error is None:
                left = deadline - time.monotonic()
                if left <= 0 or (stop is not None and stop.is_set()):
                    return False
                self._cond.wait(min(left, 0.05))
        self._raise()
        return True

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until everything queued so far is committed."""
        done = threading.Event()
        self._q.put(done)
        done.wait(timeout)
        self._raise()

    def close(self) -> None:
        """Flush and stop the thread; raises the writer's failure, if any."""
        if self._thread.is_alive():
            self._q.put(None)
            self._thread.join(60)
        self._conn.close()
        if self._error is None:
            self._check_file()
        self._raise()

    def _fail(self, message: str, hint: str | None = None) -> None:
        if self._error is None:
            self._error = LocalIOError(
                f"{self.path}: {message}",
                hint=hint
                or "free space or fix the journal's directory, then run the same command again "
                "(events acknowledged before this were recorded and are skipped)",
            )
        with self._cond:
            self._cond.notify_all()

    def _check_file(self) -> None:
        """Fail when the journal file was removed, replaced or made read-only since it was opened."""
        try:
            now = _identity(self.path)
        except FileNotFoundError:
            self._fail(
                "the journal was removed during the run; what this run sent is not recorded",
                hint="keep the journal where it is while a run is going; the next run starts a new journal "
                "and sends again what it cannot find in it (same event ids, so the server can drop repeats)",
            )
            return
        except OSError as exc:
            self._fail(f"the journal cannot be reached any more: {exc.strerror or exc}")
            return
        if self._identity is not None and now != self._identity:
            self._fail(
                "the journal was replaced by another file during the run",
                hint="keep the journal where it is while a run is going; check what replaced it",
            )
        elif not os.access(self.path, os.W_OK) or not os.access(self.path.parent, os.W_OK | os.X_OK):
            self._fail("the journal (or its directory) became unwritable during the run")

    def _run(self) -> None:
        next_check = time.monotonic() + self.check_every
        stop = False
        while not stop:
            try:
                item = self._q.get(timeout=self.check_every)
            except queue.Empty:
                item = False  # type: ignore[assignment]
            batch: list[Record] = []
            waiters: list[threading.Event] = []
            last_seq_items = 0
            while True:
                if item is None:
                    stop = True
                elif isinstance(item, threading.Event):
                    waiters.append(item)
                elif isinstance(item, Record):
                    batch.append(item)
                    last_seq_items += 1
                if stop or len(batch) >= self.batch_size:
                    break
                try:
                    item = self._q.get_nowait()
                except queue.Empty:
                    break
            if batch and self._error is None:
                try:
                    _write(self._conn, self.target, self.run_id, batch)
                    self.commits += 1
                except sqlite3.Error as exc:
                    self._fail(f"cannot write to the journal: {exc}")
                except ValueError as exc:  # text SQLite cannot store: a bug, not the disk
                    self._fail(f"cannot write to the journal: {exc}")
            if last_seq_items:
                with self._cond:
                    self._committed += last_seq_items
                    self._cond.notify_all()
            now = time.monotonic()
            if now >= next_check and self._error is None:
                next_check = now + self.check_every
                self._check_file()
            for w in waiters:
                w.set()


# ---------------------------------------------------------------- the run lock


def _lock_path(journal: Path, target: str) -> Path:
    digest = hashlib.sha256(target.encode()).hexdigest()[:16]
    return journal.with_name(f"{journal.name}.{digest}.lock")


class RunLock:
    """An exclusive ``flock`` on ``<journal>.<target hash>.lock``; the kernel drops it when the process dies.

    The file holds the holder's pid, host, start time and target (JSON), only so that a second run
    can say who holds it: its presence alone means nothing, so no manual cleanup is ever needed.
    It is private (0600) and never opened through a symbolic link. The target is the normal form
    (:func:`normalise_target`), so two spellings of one endpoint share the lock.
    """

    def __init__(self, path: Path, fh: IO[bytes], info: dict[str, Any]) -> None:
        self.path = path
        self._fh: IO[bytes] | None = fh
        self.info = info

    @classmethod
    def acquire(cls, journal: Path, target: str, *, source: str | None = None) -> RunLock:
        """Take the lock now or raise TemporaryError naming the holder."""
        from rapido_cli.fs import open_private

        target = normalise_target(target)
        path = _lock_path(journal, target)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fh = open_private(path, "a", binary=True)
        fd = fh.fileno()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(path)
            fh.close()
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
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(info).encode())  # O_APPEND: at the start of the emptied file
        return cls(path, fh, info)  # type: ignore[arg-type]

    def release(self) -> None:
        """Drop the lock (the file stays; it is harmless)."""
        if self._fh is not None:
            fd = self._fh.fileno()
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_holder(path: Path) -> dict[str, Any]:
    # The holder writes its info right after locking; give it a moment if we raced it.
    for _ in range(20):
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_NONBLOCK)
            try:
                data = os.pread(fd, 4096, 0)
            finally:
                os.close(fd)
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
