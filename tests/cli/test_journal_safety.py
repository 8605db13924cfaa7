"""The journal is trustworthy: normalised targets, damage and foreign files refused (exit 74), private
files never opened through links, read-only history, failures mid-run noticed, kill -9 bounded."""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "bench"))

from _counting import CountingServer
from _events import write_events

from rapido_cli.errors import ExitCode, LocalIOError, TemporaryError
from rapido_cli.journal import Journal, Record, normalise_target
from rapido_cli.profiles import Secret, Target
from rapido_cli.replay import Replayer, ReplayOptions, Summary
from rapido_cli.transport import RetryPolicy

KEY = "sk_test_SECRET_abcd1234WXYZ"
FAST = RetryPolicy(max_attempts=3, base=0.01, cap=0.05, retry_after_cap=0.05)


def run(url: str, path: Path, journal: Journal | None, **opts: Any) -> Summary:
    opts.setdefault("retry", FAST)
    t = Target(url, "acme-travel", "acme-pwa", "flights", Secret(KEY), timeout=5.0)
    with open(path, "rb") as fh:
        return Replayer(t, ReplayOptions(**opts), journal=journal).run(fh, str(path))


def mode(p: Path) -> int:
    return stat.S_IMODE(p.lstat().st_mode)


# ---------------------------------------------------------------- one key per endpoint


def test_normalise_target() -> None:
    same = ["HTTP://Host:80/|c", "http://host|c", "http://host/|c", "http://HOST:80|c", "http://host//|c"]
    assert {normalise_target(t) for t in same} == {"http://host|c"}
    assert normalise_target("https://Api.Example.com:443/v1/|c") == "https://api.example.com/v1|c"
    assert normalise_target("https://api.example.com/a/./b/../v1/|c") == "https://api.example.com/a/v1|c"
    assert normalise_target("https://api.example.com:8443|c") == "https://api.example.com:8443|c"
    assert normalise_target("http://[::1]:80/|c") == "http://[::1]|c"
    assert normalise_target("http://host|Client") != normalise_target("http://host|client")  # ids are exact


def test_lock_and_rows_are_keyed_by_the_normalised_endpoint(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite3") as j:
        lock = j.lock("HTTP://Host:80/|acme")
        with pytest.raises(TemporaryError):
            j.lock("http://host|acme")
        lock.release()
        j.record("HTTP://Host:80/|acme", [Record("e1", "sent", status=200)])
        assert j.get("http://host|acme", "e1") is not None
        checker = j.sent_checker("http://host/|acme")
        assert checker("e1")
        checker.close()
        assert j.targets() == ["http://host|acme"]


def test_old_rows_are_normalised_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    with Journal(path) as j:
        pass
    conn = sqlite3.connect(path)
    rows = [
        ("HTTP://Host:80/|c", "a", "sent", None, 1.0, 1.0),
        ("http://host|c", "a", "failed", "temporary", 2.0, 2.0),  # same event under the new spelling
        ("http://HOST/|c", "b", "failed", "temporary", 3.0, 3.0),
    ]
    conn.executemany(
        "INSERT INTO deliveries (target, event_id, outcome, failure, first_at, last_at) VALUES (?,?,?,?,?,?)", rows
    )
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    # read-only (history): matched without rewriting anything
    with Journal(path, readonly=True) as j:
        found = j.query(target="http://host|c")
        assert sorted(r.event_id for r in found) == ["a", "a", "b"]  # every spelling, shown normalised
        assert {r.target for r in found} == {"http://host|c"} and j.targets() == ["http://host|c"]
    # a run's open rewrites them; the sent one wins
    with Journal(path) as j:
        rows_now = j.query()
        assert sorted((r.target, r.event_id, r.outcome) for r in rows_now) == [
            ("http://host|c", "a", "sent"), ("http://host|c", "b", "failed")
        ]
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    assert {r[0] for r in conn.execute("SELECT DISTINCT target FROM deliveries")} == {"http://host|c"}


# ---------------------------------------------------------------- damaged, foreign, links, modes


def test_foreign_and_non_sqlite_files_are_refused_untouched(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("my important notes\n" * 10)
    before = text.read_bytes()
    with pytest.raises(LocalIOError, match="not a rapido journal"):
        Journal(text)
    assert text.read_bytes() == before  # never turned into SQLite
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE users (id INTEGER)")
    conn.commit()
    conn.close()
    before = other.read_bytes()
    with pytest.raises(LocalIOError, match="not a rapido journal"):
        Journal(other)
    with pytest.raises(LocalIOError, match="not a rapido journal"):
        Journal(other, readonly=True)
    assert other.read_bytes() == before


def damage(path: Path) -> None:
    """Overwrite the middle of the database's pages (not the header)."""
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        fh.seek(4096 + 100)
        fh.write(b"\xff" * min(8192, size - 4196))


def make_damaged(tmp_path: Path) -> Path:
    path = tmp_path / "j.sqlite3"
    with Journal(path) as j:
        j.record("T", [Record(f"e{i}", "failed", failure="temporary", raw="x" * 200) for i in range(300)])
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    damage(path)
    return path


def test_damaged_journal_exit_74_in_replay_and_history(tmp_path: Path, rapido: Any, profile_env: Any) -> None:
    path = make_damaged(tmp_path)
    with pytest.raises(LocalIOError) as err:
        Journal(path)
    assert str(path) in err.value.message and err.value.hint
    f = write_events(tmp_path / "e.jsonl", 2)
    env = profile_env("http://127.0.0.1:9")
    r = rapido("replay", str(f), "--journal", str(path), env=env)
    assert r.code == 74 and str(path) in r.stderr and "hint:" in r.stderr and "Traceback" not in r.stderr
    r = rapido("history", "--journal", str(path), env=env)
    assert r.code == 74 and str(path) in r.stderr and "Traceback" not in r.stderr


def test_links_are_refused_and_files_are_private(tmp_path: Path) -> None:
    real = tmp_path / "real.sqlite3"
    with Journal(real):
        pass
    link = tmp_path / "link.sqlite3"
    link.symlink_to(real)
    with pytest.raises(LocalIOError, match="symbolic link"):
        Journal(link)
    with pytest.raises(LocalIOError, match="symbolic link"):
        Journal(link, readonly=True)
    dangling = tmp_path / "dangling.sqlite3"
    dangling.symlink_to(tmp_path / "nowhere.sqlite3")
    with pytest.raises(LocalIOError, match="symbolic link"):
        Journal(dangling)
    assert not (tmp_path / "nowhere.sqlite3").exists()
    # an existing journal is tightened to 0600, with its -wal/-shm
    real.chmod(0o644)
    with Journal(real) as j:
        lock = j.lock("http://h|c")
        assert mode(real) == 0o600 and mode(lock.path) == 0o600
        for side in (real.with_name(real.name + "-wal"), real.with_name(real.name + "-shm")):
            if side.exists():
                assert mode(side) == 0o600
        lock.release()
        # a lock file planted as a link is refused
        lock.path.unlink()
        target = tmp_path / "victim"
        target.write_text("keep")
        lock.path.symlink_to(target)
        with pytest.raises(LocalIOError, match="symbolic link"):
            j.lock("http://h|c")
        assert target.read_text() == "keep"


def test_dead_letter_is_private_and_never_written_through_a_link(tmp_path: Path) -> None:
    f = write_events(tmp_path / "e.jsonl", 3, invalid_every=3)
    victim = tmp_path / "victim"
    victim.write_text("keep")
    link = tmp_path / "dead.jsonl"
    link.symlink_to(victim)
    with CountingServer("ok") as srv:
        with pytest.raises(LocalIOError, match="symbolic link"):
            run(srv.url, f, None, dead_letter=link)
        assert victim.read_text() == "keep" and srv.requests == 0
        dead = tmp_path / "dl.jsonl"
        dead.write_text("old")
        dead.chmod(0o644)
        s = run(srv.url, f, None, dead_letter=dead)
        assert s.invalid == 1 and mode(dead) == 0o600 and len(dead.read_text().splitlines()) == 1


def test_history_opens_read_only(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    with Journal(path) as j:
        j.record("http://h|c", [Record("e1", "sent", status=200)])
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    for side in ("-wal", "-shm"):
        path.with_name(path.name + side).unlink(missing_ok=True)
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    with Journal(path, readonly=True) as j:
        assert [r.event_id for r in j.query()] == ["e1"]
        with pytest.raises(sqlite3.OperationalError):
            j._conn.execute("DELETE FROM deliveries")
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


@contextlib.contextmanager
def read_only_mount(src: Path, dest: Path) -> Iterator[Path]:
    """``src`` bind-mounted read-only at ``dest`` (skips the test where mounting is not allowed)."""
    dest.mkdir()
    done = subprocess.run(["mount", "--bind", str(src), str(dest)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {done.stderr.decode().strip()}")
    try:
        remount = subprocess.run(["mount", "-o", "remount,bind,ro", str(dest)], capture_output=True, check=False)
        if remount.returncode != 0:
            pytest.skip(f"cannot remount read-only: {remount.stderr.decode().strip()}")
        yield dest
    finally:
        subprocess.run(["umount", str(dest)], check=False)


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("mount"), reason="needs root to mount")
def test_history_on_a_read_only_mount(tmp_path: Path, rapido: Any) -> None:
    src = tmp_path / "src"
    src.mkdir()
    clean = src / "clean.sqlite3"
    with Journal(clean) as j:
        j.record("http://h|c", [Record(f"c{i}", "sent", status=200) for i in range(3)])
    # a run killed with -9 leaves its last commits in the -wal file: copy the files while open
    killed = src / "killed.sqlite3"
    j = Journal(src / "live.sqlite3")
    j.record("http://h|c", [Record(f"k{i}", "sent", status=200) for i in range(4)])
    for suffix in ("", "-wal", "-shm"):
        shutil.copyfile(src / f"live.sqlite3{suffix}", src / f"killed.sqlite3{suffix}")
    j.close()
    assert (src / "killed.sqlite3-wal").stat().st_size > 0 and not (src / "clean.sqlite3-wal").exists()
    with read_only_mount(src, tmp_path / "ro") as ro:
        with Journal(ro / clean.name, readonly=True) as r:
            assert sorted(x.event_id for x in r.query()) == ["c0", "c1", "c2"]
        with Journal(ro / killed.name, readonly=True) as r:
            assert sorted(x.event_id for x in r.query()) == ["k0", "k1", "k2", "k3"]
        res = rapido("history", "--journal", str(ro / clean.name), "--json")
        assert res.code == 0, res.stderr
        assert sorted(x["event_id"] for x in json.loads(res.stdout)) == ["c0", "c1", "c2"]


# ---------------------------------------------------------------- failures mid-run


def test_journal_removed_mid_run_stops_with_74(tmp_path: Path) -> None:
    f = write_events(tmp_path / "e.jsonl", 400)
    path = tmp_path / "state" / "j.sqlite3"
    with CountingServer("ok", delay=0.01) as srv, Journal(path) as j:
        def remove() -> None:
            for p in path.parent.iterdir():
                p.unlink()

        threading.Timer(0.5, remove).start()
        t0 = time.monotonic()
        s = run(srv.url, f, j, concurrency=2)
        assert time.monotonic() - t0 < 10
        assert s.exit_code == ExitCode.IOERR and s.io_error and str(path) in s.io_error
        assert "removed" in s.io_error and s.sent < 400
        assert srv.requests < 400  # it stopped instead of sending the rest unrecorded


def test_disk_full_while_journaling_stops_with_74(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rapido_cli import journal as jmod

    real = jmod._connect

    def small(path: Path, **kw: Any) -> sqlite3.Connection:
        conn = real(path, **kw)
        if not kw.get("readonly"):
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count = {max(pages, 8) + 4}")  # a nearly full disk
        return conn

    monkeypatch.setattr(jmod, "_connect", small)
    f = write_events(tmp_path / "e.jsonl", 600, invalid_every=2)  # invalid rows carry their line
    path = tmp_path / "j.sqlite3"
    with CountingServer("ok") as srv, Journal(path) as j:
        s = run(srv.url, f, j, concurrency=2)
        assert s.exit_code == ExitCode.IOERR and s.io_error and str(path) in s.io_error
        assert "full" in s.io_error


def test_cli_io_error_message(tmp_path: Path, rapido: Any, profile_env: Any) -> None:
    f = write_events(tmp_path / "e.jsonl", 2)
    d = tmp_path / "dir"
    d.mkdir()
    with CountingServer("ok") as srv:
        env = profile_env(srv.url)
        env["XDG_STATE_HOME"] = str(tmp_path / "state")
        r = rapido("replay", str(f), "--dead-letter", str(d), env=env)  # a directory: cannot be written
        assert r.code in (2, 74) and "Traceback" not in r.stderr and srv.requests == 0


# ---------------------------------------------------------------- kill -9: bounded re-sends


@pytest.mark.slow
def test_kill_9_resends_at_most_twice_the_concurrency(tmp_path: Path, profile_env: Any) -> None:
    n, conc, rounds = 3000, 4, 4
    f = write_events(tmp_path / "e.jsonl", n)
    rng = random.Random(7)
    with CountingServer("ok") as srv:
        env = dict(os.environ)
        env.update(profile_env(srv.url))
        env["XDG_STATE_HOME"] = str(tmp_path / "state")
        for _ in range(rounds):
            before = srv.duplicates()
            proc = subprocess.Popen(
                [sys.executable, "-m", "rapido_cli", "replay", str(f), "--concurrency", str(conc), "-q"],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            goal = srv.requests + rng.randint(100, 600)
            deadline = time.monotonic() + 60
            while srv.requests < goal and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.005)
            proc.kill()
            proc.wait(30)
            # the next run re-sends only what was in flight or acknowledged but not yet committed
            proc = subprocess.run(
                [sys.executable, "-m", "rapido_cli", "replay", str(f), "--concurrency", str(conc), "-q",
                 "--max-duration", "0.3"],
                env=env, capture_output=True, timeout=60, check=False,
            )
            assert srv.duplicates() - before <= 2 * conc, (srv.duplicates(), before)
        done = subprocess.run(
            [sys.executable, "-m", "rapido_cli", "replay", str(f), "--concurrency", str(conc), "-q"],
            env=env, capture_output=True, timeout=120, check=False,
        )
        assert done.returncode == 0, done.stderr
        # a request cut short by kill -9 reaches the counting server as a body it cannot parse ("?")
        srv.accepted.pop("?", None)
        assert len(srv.accepted) == n and srv.duplicates() <= rounds * 2 * conc
