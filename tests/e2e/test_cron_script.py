"""examples/cron/rapido-replay.sh under cron's environment (``env -i HOME=... PATH=/usr/bin:/bin``).

A home is laid out as a pipx install would leave it (``~/.local/bin/rapido``), with the profile in
``~/.config/rapido/profiles.yaml`` (key from a 0600 file: no keyring under cron), against a
loopback receiver that counts deliveries per event id.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PROJECT_ROOT, TEST_KEY, write_profiles

sys.path.insert(0, str(PROJECT_ROOT / "bench"))

from _counting import CountingServer
from _events import write_events
from httpserver import Reply, ScriptedServer

SCRIPT = PROJECT_ROOT / "examples" / "cron" / "rapido-replay.sh"


def rapido_program() -> str:
    found = shutil.which("rapido", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("the rapido console script is not installed next to this Python")
    return found


def cron_home(tmp_path: Path, url: str, *, key: str = TEST_KEY, cron_env: str = "") -> Path:
    home = tmp_path / "home"
    (home / ".local" / "bin").mkdir(parents=True)
    (home / ".local" / "bin" / "rapido").symlink_to(rapido_program())
    conf = home / ".config" / "rapido"
    conf.mkdir(parents=True)
    write_profiles(conf / "profiles.yaml", url, key=key)
    if cron_env:
        (conf / "cron.env").write_text(cron_env)
    return home


def run_cron(home: Path, events: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["env", "-i", f"HOME={home}", "PATH=/usr/bin:/bin", "/bin/sh", str(SCRIPT), str(events)],
        capture_output=True, text=True, timeout=120, check=False,
    )


def test_delivers_silently_then_sends_nothing_twice(tmp_path: Path) -> None:
    f = write_events(tmp_path / "events.jsonl", 30)
    with CountingServer("ok") as srv:
        home = cron_home(tmp_path, srv.url)
        r = run_cron(home, f)
        assert r.returncode == 0, r.stderr + r.stdout
        assert r.stdout == "" and r.stderr == ""  # nothing for cron to mail
        assert len(srv.accepted) == 30
        r = run_cron(home, f)
        assert r.returncode == 0 and srv.requests == 30  # the journal skipped them all
    log = (home / ".local" / "state" / "rapido" / "cron.log").read_text()
    assert log.count(": exit 0") == 2 and "30 sent" in log and "30 already sent" in log
    assert (home / ".local" / "state" / "rapido" / "journal.sqlite3").exists()


def test_invalid_events_are_loud_exit_1_with_the_dead_letter_file(tmp_path: Path) -> None:
    f = write_events(tmp_path / "events.jsonl", 20, invalid_every=10)
    with CountingServer("ok") as srv:
        home = cron_home(tmp_path, srv.url)
        r = run_cron(home, f)
    assert r.returncode == 1
    assert "invalid or rejected events (exit 1)" in r.stderr and "events.jsonl.dead.jsonl" in r.stderr
    dead = home / ".local" / "state" / "rapido" / "events.jsonl.dead.jsonl"
    assert len(dead.read_text().splitlines()) == 2 and (dead.stat().st_mode & 0o077) == 0


@pytest.mark.slow
def test_outage_is_quiet_and_the_next_run_resumes_and_bad_key_is_exit_3(tmp_path: Path) -> None:
    f = write_events(tmp_path / "events.jsonl", 500)
    with CountingServer("503") as srv:
        home = cron_home(tmp_path, srv.url, cron_env="RAPIDO_OUTAGE_WINDOW=0.5\nMAX_DURATION=60\n")
        r = run_cron(home, f)
        assert r.returncode == 0 and r.stderr == "", r.stderr  # 75: the next run resumes, no mail
        log = (home / ".local" / "state" / "rapido" / "cron.log").read_text()
        assert ": exit 75" in log and "server unreachable since" in log
        srv.mode = "ok"
        r = run_cron(home, f)
        assert r.returncode == 0, r.stderr
        assert len(srv.accepted) == 500 and srv.duplicates() == 0
    with ScriptedServer([Reply(401, {"success": False, "code": 4010, "error": {"message": "bad key"}})]) as s401:
        other = tmp_path / "other"
        other.mkdir()
        r = run_cron(cron_home(other, s401.url), f)
        assert r.returncode == 3 and "configuration or credentials refused" in r.stderr
