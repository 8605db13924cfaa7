"""`rapido history`: a real SQLite journal written through rapido_cli.journal, read by the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import TESTS, run_rapido

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
    return run_rapido(*args, env=env, exact_env=True).completed(list(args))


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
    res = rapido(env, "history", "--output-format", "table")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].split()[:2] == ["EVENT", "ID"]
    body = "\n".join(lines[1:])
    assert body.index("evt_timeout") < body.index("evt_rejected") < body.index("evt_old_sent")
    assert "failed (rejected)" in body
    assert "5 events: 2 sent, 2 failed, 1 invalid" in res.stderr
    limited = rapido(env, "history", "--limit", "2", "--output-format", "table")
    assert len([ln for ln in limited.stdout.splitlines()[1:] if ln.strip()]) == 2
    assert "showing the newest 2" in limited.stderr


def test_piped_output_is_tab_separated_whole_values(env: dict[str, str], journal: Path) -> None:
    res = rapido(env, "history")
    assert res.returncode == 0, res.stderr
    rows = [line.split("\t") for line in res.stdout.splitlines()]
    assert [r[0] for r in rows] == ["evt_timeout", "line-sha256:0123456789abcdef", "evt_rejected", "evt_sent",
                                    "evt_old_sent"]  # fmt: skip
    assert all(len(r) == 10 for r in rows)
    rejected = next(r for r in rows if r[0] == "evt_rejected")
    assert rejected[1:4] == ["failed", "400", "1"] and rejected[7] == "rejected"
    assert rejected[9] == "attributes.amount_total: must be a number"
    assert next(r for r in rows if r[0] == "evt_timeout")[8] == "http://127.0.0.1:9999|acme"


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


# ----------------------------------------------------------------------------- after a real replay


class _Receiver:
    """A scripted loopback API: accepts every event except those whose orderId is in ``reject``."""

    def __init__(self, reject: set[str]) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.reject = reject
        self.seen: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body are two writes: without TCP_NODELAY, Nagle holds the body until the client's
            # delayed ACK (40 ms) on every request after the first on a keep-alive connection
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.seen.append(body["event"]["id"])
                n = len(receiver.seen)
                if body["attributes"]["orderId"] in receiver.reject:
                    status, answer = (
                        400,
                        {
                            "success": False,
                            "code": 7001,
                            "error": {"message": "orderId is not a Rapido booking", "details": {"orderId": "unknown"}},
                            "timestamp": "2024-02-17T10:00:00Z",
                            "requestId": f"req_rejected_{n}",
                        },
                    )
                else:
                    status, answer = (
                        200,
                        {
                            "success": True,
                            "code": 7000,
                            "timestamp": "2024-02-17T10:00:00Z",
                            "requestId": f"req_{n}",
                        },
                    )
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_after_a_replay_with_one_rejection_history_lists_exactly_that_event(
    env: dict[str, str], tmp_path: Path
) -> None:
    receiver = _Receiver(reject={"FL_BOOKING_ABC125"})
    try:
        env = dict(
            env,
            RAPIDO_BASE_URL=receiver.url,
            RAPIDO_CLIENT_ID="acme-travel",
            RAPIDO_APP_ID="acme-pwa",
            RAPIDO_SERVICE="flights",
            RAPIDO_CLIENT_KEY="test-key-0000-1234",
        )
        events = tmp_path / "events.jsonl"
        data = TESTS / "data" / "csv" / "flights.csv"
        built = rapido(env, "build", "flight", "--csv", str(data), "-o", str(events))
        assert built.returncode == 0, built.stderr
        by_order = {json.loads(ln)["attributes"]["orderId"]: json.loads(ln) for ln in events.read_text().splitlines()}
        rejected_id = by_order["FL_BOOKING_ABC125"]["event"]["id"]

        replay = rapido(env, "replay", str(events), "--max-attempts", "1")
        assert replay.returncode == 1, replay.stderr  # rejected data: exit 1
        assert sorted(receiver.seen) == sorted(e["event"]["id"] for e in by_order.values())

        failed = rapido(env, "history", "--outcome", "failed", "--json")
        assert failed.returncode == 0, failed.stderr
        (row,) = json.loads(failed.stdout)
        assert row["event_id"] == rejected_id
        assert row["outcome"] == "failed"
        assert row["status"] == 400
        assert row["attempts"] == 1
        assert row["order_id"] == "FL_BOOKING_ABC125"
        assert row["request_id"].startswith("req_rejected_")

        everything = json.loads(rapido(env, "history", "--json").stdout)
        assert sorted(r["outcome"] for r in everything) == ["failed", "sent", "sent", "sent"]
        assert all(r["request_id"] for r in everything)

        # Export the failure, have the receiver accept it now, replay the export: nothing fails any more.
        retry = tmp_path / "retry.jsonl"
        exported = rapido(env, "history", "--outcome", "failed", "--export", str(retry))
        assert exported.returncode == 0, exported.stderr
        assert retry.read_text() == json.dumps(by_order["FL_BOOKING_ABC125"], separators=(",", ":")) + "\n"
        receiver.reject.clear()
        again = rapido(env, "replay", str(retry))
        assert again.returncode == 0, again.stderr
        assert json.loads(rapido(env, "history", "--outcome", "failed", "--json").stdout) == []
        (now_sent,) = json.loads(rapido(env, "history", "--order-id", "FL_BOOKING_ABC125", "--json").stdout)
        assert now_sent["outcome"] == "sent"
        assert now_sent["event_id"] == rejected_id
    finally:
        receiver.close()
