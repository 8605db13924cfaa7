"""The SQLite journal: schema, queries, the never-downgrade rule, the writer, the run lock."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rapido_cli.errors import ExitCode, LocalIOError, TemporaryError
from rapido_cli.journal import Journal, Record, default_journal_path, invalid_key


def test_default_path_honours_xdg_state_home(tmp_path: Path) -> None:
    assert default_journal_path({"XDG_STATE_HOME": str(tmp_path)}) == tmp_path / "rapido" / "journal.sqlite3"
    # conftest points XDG_STATE_HOME at a temporary directory for the whole run
    assert default_journal_path() == Path(os.environ["XDG_STATE_HOME"]) / "rapido" / "journal.sqlite3"


def test_created_private_and_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "j.sqlite3"
    with Journal(path):
        pass
    assert path.exists()
    assert (path.stat().st_mode & 0o077) == 0
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2


def test_query_filters_and_order(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite3") as j:
        j.record("A", [Record("e1", "sent", status=200, attempts=1, request_id="r1", order_id="O1", at=100.0)])
        j.record("A", [Record("e2", "failed", failure="temporary", status=503, attempts=5, raw="{}", at=200.0)])
        j.record("A", [Record("e3", "invalid", error="userId: missing", raw="{bad", at=300.0)])
        j.record("B", [Record("e1", "sent", status=200, attempts=2, order_id="O1", at=400.0)])
        rows = j.query()
        assert [(r.target, r.event_id) for r in rows] == [("B", "e1"), ("A", "e3"), ("A", "e2"), ("A", "e1")]
        assert [r.event_id for r in j.query(target="A", outcome="failed")] == ["e2"]
        assert j.query(target="A", outcome="failed")[0].failure == "temporary"
        assert [r.target for r in j.query(order_id="O1")] == ["B", "A"]
        assert [r.event_id for r in j.query(target="A", since=150.0)] == ["e3", "e2"]
        assert [r.event_id for r in j.query(since=datetime.fromtimestamp(250, UTC))] == ["e1", "e3"]
        assert len(j.query(limit=2)) == 2
        row = j.get("A", "e1")
        assert row is not None
        assert (row.status, row.attempts, row.request_id, row.raw) == (200, 1, "r1", None)
        assert row.at == "1970-01-01T00:01:40.000Z"
        assert j.get("A", "e3").raw == "{bad"  # type: ignore[union-attr]
        assert j.counts("A") == {"sent": 1, "failed": 1, "invalid": 1}
        assert j.targets() == ["A", "B"]
        assert row.to_json()["event_id"] == "e1"


def test_sent_is_never_downgraded(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite3") as j:
        j.record("T", [Record("e", "sent", status=200, attempts=1, request_id="r", at=1.0)])
        j.record("T", [Record("e", "failed", failure="temporary", status=500, raw="x", at=2.0)])
        j.record("T", [Record("e", "invalid", error="bad", raw="x", at=3.0)])
        row = j.get("T", "e")
        assert row is not None and row.outcome == "sent" and row.request_id == "r"
        checker = j.sent_checker("T")
        assert checker("e") and not checker("other")
        checker.close()
        # failed → sent is an upgrade; first_at stays, raw is dropped
        j.record("T", [Record("f", "failed", failure="temporary", raw="line", at=5.0)])
        j.record("T", [Record("f", "sent", status=200, attempts=2, at=6.0)])
        f = j.get("T", "f")
        assert f is not None and f.outcome == "sent" and f.raw is None and f.first_at == "1970-01-01T00:00:05.000Z"


def test_writer_commits_promptly_and_flushes(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite3") as j:
        w = j.writer("T", "run1", batch_size=100)
        seqs = [w.put(Record(f"e{i}", "sent", status=200, attempts=1)) for i in range(250)]
        assert seqs == list(range(1, 251))
        # committed as they come (batches of whatever is waiting), without a flush
        assert w.wait_committed(250, timeout=5)
        assert j.counts("T") == {"sent": 250}
        assert w.commits >= 3  # at most batch_size records per transaction
        w.flush()
        w.put(Record("last", "sent"))
        w.close()
        assert j.counts("T") == {"sent": 251}
        assert j.get("T", "last").run_id == "run1"  # type: ignore[union-attr]


def test_invalid_key_is_stable() -> None:
    assert invalid_key(b"{oops") == invalid_key("{oops")
    assert invalid_key(b"{oops").startswith("line-sha256:")
    assert invalid_key(b"{oops") != invalid_key(b"{oops2")


def test_lock_names_the_holder_and_is_per_target(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    with Journal(path) as j:
        lock = j.lock("https://a|client", source="events.jsonl")
        with pytest.raises(TemporaryError) as err:
            Journal(path).lock("https://a|client")
        assert err.value.exit_code == ExitCode.TEMPFAIL
        assert f"pid {os.getpid()}" in err.value.message
        assert "events.jsonl" in err.value.message
        other = j.lock("https://b|client")  # another target is independent
        other.release()
        lock.release()
        j.lock("https://a|client").release()


def test_lock_dies_with_its_process(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    code = (
        "import sys, time; from rapido_cli.journal import Journal;"
        f"l = Journal({str(path)!r}).lock('T'); print('locked', flush=True); time.sleep(60)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        with pytest.raises(TemporaryError, match=f"pid {proc.pid}"):
            Journal(path).lock("T")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    # no stale lock after kill -9: the kernel released it
    Journal(path).lock("T").release()



def test_opening_retries_while_another_run_holds_the_database(tmp_path, monkeypatch) -> None:
    """SQLite can answer "database is locked" at once (no busy wait) when two runs create the same
    journal together: opening tries again instead of failing the run."""
    import sqlite3

    from rapido_cli import journal as jmod

    real = jmod._connect
    calls: list[int] = []

    def flaky(path, **kw):
        calls.append(1)
        if len(calls) <= 2:
            raise sqlite3.OperationalError("database is locked")
        return real(path, **kw)

    monkeypatch.setattr(jmod, "_connect", flaky)
    with jmod.Journal(tmp_path / "j.sqlite3") as j:
        assert j.query() == []
    assert len(calls) == 3

    def broken(path, **kw):
        raise sqlite3.OperationalError("no such module: fts9")

    monkeypatch.setattr(jmod, "_connect", broken)
    with pytest.raises(LocalIOError, match="cannot open the journal"):  # exit 74
        jmod.Journal(tmp_path / "other.sqlite3")
