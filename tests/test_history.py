"""`rapido history`: a real SQLite journal written through rapido_cli.journal, read by the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from rapido_cli.cli.history_cmd import parse_since
from rapido_cli.errors import UsageError
from rapido_cli.journal import Journal, Record, default_journal_path

STAGING = "http://127.0.0.1:8787|acme"
OTHER = "http://127.0.0.1:9999|acme"
DOCUMENTED = {"event_id", "outcome", "status", "attempts", "request_id", "order_id", "at"}


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("RAPIDO_")}
    config = tmp_path / "profiles.yaml"
    config.write_text(
        "default: staging\nprofiles:\n"
        "  staging: {base_url: 'http://127.0.0.1:8787', client_id: acme, app_id: a, service: flights, key: 'env:K'}\n"
        "  other: {base_url: 'http://127.0.0.1:9999/', client_id: acme, app_id: a, service: flights, key: 'env:K'}\n"
    )
    config.chmod(0o600)
    e.update(
        RAPIDO_CONFIG=str(config),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        NO_COLOR="1",
    )
    return e


def event(eid: str, order: str) -> dict[str, Any]:
    return {
        "userId": "rapido_user_1",
        "event": {"type": "order.confirmed", "id": eid},
        "attributes": {"orderId": order},
        "schemaVersion": 1,
    }


@pytest.fixture
def journal(env: dict[str, str]) -> Path:
    """Five events over two targets, recorded at known ages."""
    path = default_journal_path(env)
    now = time.time()
    with Journal(path) as j:
        j.record(
            STAGING,
            [
                Record(
                    "evt_old_sent",
                    "sent",
                    status=200,
                    attempts=1,
                    request_id="req_1",
                    order_id="FL_1",
                    event_type="order.confirmed",
                    at=now - 3 * 86400,
                ),
                Record(
                    "evt_sent",
                    "sent",
                    status=200,
                    attempts=2,
                    request_id="req_2",
                    order_id="FL_2",
                    event_type="order.confirmed",
                    at=now - 7200,
                ),
                Record(
                    "evt_rejected",
                    "failed",
                    failure="rejected",
                    status=400,
                    attempts=1,
                    request_id="req_3",
                    order_id="FL_3",
                    error="attributes.amount_total: must be a number",
                    raw=json.dumps(event("evt_rejected", "FL_3")),
                    at=now - 600,
                ),
                Record("line-sha256:0123456789abcdef", "invalid", error="line 7: not JSON", raw="{oops", at=now - 300),
            ],
        )
        j.record(
            OTHER,
            [
                Record(
                    "evt_timeout",
                    "failed",
                    failure="temporary",
                    status=503,
                    attempts=5,
                    order_id="FL_4",
                    error="HTTP 503 after 5 attempts",
                    raw=json.dumps(event("evt_timeout", "FL_4")) + "\r\n",
                    at=now - 60,
                ),
            ],
        )
    return path


def rapido(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rapido_cli", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_json_is_the_documented_array_newest_first(env: dict[str, str], journal: Path) -> None:
    res = rapido(env, "history", "--json")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert [r["event_id"] for r in rows] == [
        "evt_timeout",
        "line-sha256:0123456789abcdef",
        "evt_rejected",
        "evt_sent",
        "evt_old_sent",
    ]
    assert all(set(r) >= DOCUMENTED for r in rows)
    rejected = rows[2]
    assert {k: rejected[k] for k in DOCUMENTED - {"at"}} == {
        "event_id": "evt_rejected",
        "outcome": "failed",
        "status": 400,
        "attempts": 1,
        "request_id": "req_3",
        "order_id": "FL_3",
    }
    assert datetime.fromisoformat(rejected["at"]).tzinfo is not None


def test_filters(env: dict[str, str], journal: Path) -> None:
    def ids(*args: str) -> list[str]:
        res = rapido(env, "history", "--json", *args)
        assert res.returncode == 0, res.stderr
        return [r["event_id"] for r in json.loads(res.stdout)]

    assert ids("--outcome", "failed") == ["evt_timeout", "evt_rejected"]
    assert ids("--outcome", "failed", "--failure", "rejected") == ["evt_rejected"]
    assert ids("--outcome", "invalid") == ["line-sha256:0123456789abcdef"]
    assert ids("--order-id", "FL_2") == ["evt_sent"]
    assert ids("--since", "1h") == ["evt_timeout", "line-sha256:0123456789abcdef", "evt_rejected"]
    assert ids("--since", "1d", "--outcome", "sent") == ["evt_sent"]
    # --profile narrows to that profile's target (base URL + client id; a trailing slash is the same URL).
    assert ids("--profile", "other") == ["evt_timeout"]
    assert ids("-p", "staging", "--outcome", "failed") == ["evt_rejected"]


def test_table_on_stdout_counts_on_stderr(env: dict[str, str], journal: Path) -> None:
    res = rapido(env, "history")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].split()[:3] == ["at", "(UTC)", "outcome"]
    body = "\n".join(lines[2:])
    assert body.index("evt_timeout") < body.index("evt_rejected") < body.index("evt_old_sent")
    assert "failed (rejected)" in body
    assert "attributes.amount_total: must be a number" in body
    assert "http://127.0.0.1:9999|acme" in body  # two targets: a target column
    assert "5 events: 2 sent, 2 failed, 1 invalid" in res.stderr
    limited = rapido(env, "history", "--limit", "2")
    assert len([ln for ln in limited.stdout.splitlines()[2:] if ln.strip()]) == 2
    assert "showing the newest 2" in limited.stderr


def test_export_writes_failed_events_ready_to_replay(env: dict[str, str], journal: Path, tmp_path: Path) -> None:
    out = tmp_path / "retry.jsonl"
    res = rapido(env, "history", "--export", str(out))
    assert res.returncode == 0, res.stderr
    assert res.stdout == ""
    # Oldest first, exactly the stored lines, one per line with LF endings.
    assert (
        out.read_text()
        == json.dumps(event("evt_rejected", "FL_3")) + "\n" + json.dumps(event("evt_timeout", "FL_4")) + "\n"
    )
    assert f"exported 2 events to {out}; send them again with: rapido replay {out}" in res.stderr
    # The file is valid input for validate (and hence replay).
    check = rapido(env, "validate", str(out), "--json")
    assert json.loads(check.stdout)["events"] == 2
    piped = rapido(env, "history", "--export", "-", "--failure", "temporary")
    assert piped.stdout == json.dumps(event("evt_timeout", "FL_4")) + "\n"
    invalid = rapido(env, "history", "--export", "-", "--outcome", "invalid")
    assert invalid.stdout == "{oops\n"
    refused = rapido(env, "history", "--export", "-", "--outcome", "sent")
    assert refused.returncode == 2


def test_no_journal(env: dict[str, str], tmp_path: Path) -> None:
    res = rapido(env, "history", "--json")
    assert res.returncode == 0
    assert json.loads(res.stdout) == []
    assert "no journal yet" in res.stderr
    explicit = rapido(env, "history", "--journal", str(tmp_path / "nope.sqlite3"))
    assert explicit.returncode == 2
    assert "no such journal" in explicit.stderr


def test_journal_option(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.sqlite3"
    with Journal(path) as j:
        j.record(STAGING, [Record("evt_here", "sent", status=200, attempts=1)])
    res = rapido(env, "history", "--journal", str(path), "--json")
    assert [r["event_id"] for r in json.loads(res.stdout)] == ["evt_here"]


def test_help_shows_examples(env: dict[str, str]) -> None:
    res = rapido(env, "history", "--help")
    assert res.returncode == 0
    assert res.stdout.count("rapido history ") >= 3


NOW = datetime.fromisoformat("2024-02-17T12:00:00+00:00").timestamp()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2h", NOW - 7200),
        ("3d", NOW - 3 * 86400),
        ("30m", NOW - 1800),
        ("90 s", NOW - 90),
        ("1w", NOW - 7 * 86400),
        ("2 hours ago", NOW - 7200),
        ("1.5h", NOW - 5400),
        ("2024-02-17T09:00:00Z", NOW - 3 * 3600),
        ("2024-02-17T09:00:00+05:30", datetime.fromisoformat("2024-02-17T03:30:00+00:00").timestamp()),
        ("1708156800", 1708156800.0),
    ],
)
def test_parse_since(text: str, expected: float) -> None:
    assert parse_since(text, now=NOW) == pytest.approx(expected)


def test_parse_since_local_forms() -> None:
    # Without an offset: local time, like `date`.
    assert parse_since("2024-02-17T09:00:00", now=NOW) == datetime(2024, 2, 17, 9, 0).astimezone().timestamp()
    assert parse_since("2024-02-17", now=NOW) == datetime(2024, 2, 17).astimezone().timestamp()
    today = parse_since("today", now=NOW)
    assert parse_since("yesterday", now=NOW) < today <= NOW
    for bad in ("soon", "2h later", "-2h", "2024-13-01"):
        with pytest.raises(UsageError):
            parse_since(bad, now=NOW)
