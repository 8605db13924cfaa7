"""Delivery you can trust, against real loopback servers that misbehave (tests/rawserver.py).

Only HTTP 200 + {"success": true, "code": 7000} is delivered; everything else is classified the
way docs/delivery.md says, the same for the core (EventClient, replay) and the CLI (in process).
"""

from __future__ import annotations

import json
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_KEY, write_profiles
from rawserver import ACK, RawRequest, RawServer, answer, free_port, gzip_bomb, json_answer, trickle
from test_transport import encodings

from rapido_cli.profiles import Secret, Target
from rapido_cli.transport import EventClient, RetryPolicy

EVENT = {
    "userId": "rapido_user_1",
    "event": {"type": "payment.completed", "id": "evt_delivery_1"},
    "attributes": {"orderId": "FL_1", "amount_total": 100},
    "schemaVersion": 1,
}
SEND = ["send", "--user", "rapido_user_1", "--type", "payment.completed", "--attr", "orderId=FL_1",
        "--attr", "amount_total=100"]
FAST = RetryPolicy(max_attempts=3, base=0.01, cap=0.02)
ECHO_KEY = "sk_live/Echo+Test=9/abcWXYZ"


def target(url: str, key: str = TEST_KEY, **kw: Any) -> Target:
    kw.setdefault("timeout", 3.0)
    return Target(url, "acme-travel", "acme-pwa", "flights", Secret(key), **kw)


def send(url: str, **kw: Any) -> Any:
    policy = kw.pop("retry", FAST)
    with EventClient(target(url, **kw), retry=policy, environ={}) as client:
        return client.send(dict(EVENT))


@pytest.fixture
def cli_at(tmp_path: Path) -> Callable[..., Any]:
    """The real CLI in process: ``cli_at(url, *args, env={}, **profile)`` → result with exit_code/stdout/stderr."""
    from typer.testing import CliRunner

    from rapido_cli.cli import build_app

    app = build_app()
    runner = CliRunner()

    def run(url: str, *args: str, env: dict[str, str] | None = None, key: str = TEST_KEY, **profile: Any) -> Any:
        profile.setdefault("max_attempts", 2)
        profile.setdefault("timeout", 3)
        cfg = write_profiles(tmp_path / "profiles.yaml", url, key=key, **profile)
        full = {"RAPIDO_CONFIG": str(cfg), "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
        return runner.invoke(app, list(args), env=full, catch_exceptions=False)

    return run


# ---------------------------------------------------------------- 1. acknowledgement


UNCONFIRMED = {
    "html-200": answer(200, "<html><body>Welcome to Airport WiFi</body></html>", {"Content-Type": "text/html"}),
    "empty-202": answer(202),
    "empty-204": answer(204, length=False),
    "code-9999": json_answer(200, '{"code":9999}'),
    "success-string": json_answer(200, '{"success":"false"}'),
    "success-string-true": json_answer(200, '{"success":"true","code":7000}'),
    "code-as-string": json_answer(200, '{"success":true,"code":"7000"}'),
    "200-not-json": answer(200, "OK", {"Content-Type": "text/plain"}),
    "201-ack-body": json_answer(201, '{"success":true,"code":7000}'),
    "200-success-false": json_answer(200, '{"success":false,"code":7001,"error":{"message":"no"}}'),
}


@pytest.mark.parametrize("name", sorted(UNCONFIRMED))
def test_only_the_acknowledgement_is_delivered(name: str) -> None:
    with RawServer([UNCONFIRMED[name]]) as srv:
        result = send(srv.url)
        assert not result.ok and result.outcome == "config" and result.failure == "unconfirmed"
        assert result.exit_code == 3
        assert len(srv.requests) == 1  # not retried: the next answer would be the same
    assert "not an acknowledgement" in (result.message or "")
    assert "base_url" in (result.hint or "")


def test_the_acknowledgement_is_delivered() -> None:
    with RawServer([ACK]) as srv:
        result = send(srv.url)
    assert result.ok and result.exit_code == 0 and result.request_id == "req_ok"


def test_cli_reports_a_captive_portal_page_as_configuration(cli_at: Any) -> None:
    page = "<html><title>Sign in [link=http://evil]here[/link] [/bold]</title>\x1b[31m</html>"
    with RawServer([answer(200, page, {"Content-Type": "text/html; charset=utf-8"})]) as srv:
        res = cli_at(srv.url, *SEND)
    assert res.exit_code == 3, res.output
    assert "delivered" not in res.stdout.replace("not delivered", "")
    assert "text/html" in res.stdout and "<html><title>Sign in" in res.stdout
    assert "[link=http://evil]here[/link] [/bold]" in res.stdout  # printed literally, never interpreted
    assert "\x1b" not in res.output and "\\x1b" in res.stdout
    assert "hint:" in res.stderr and "not the Rapido API" in res.stderr
    with RawServer([UNCONFIRMED["empty-204"]]) as srv:
        res = cli_at(srv.url, *SEND, "--json")
    doc = json.loads(res.stdout)
    assert res.exit_code == 3 and doc["ok"] is False and doc["failure"] == "unconfirmed" and doc["status"] == 204


def test_a_replay_never_journals_an_unconfirmed_answer_as_sent(tmp_path: Path, cli_at: Any) -> None:
    events = tmp_path / "e.jsonl"
    events.write_text("".join(json.dumps({**EVENT, "event": {"type": "payment.completed", "id": f"evt_{i}"}}) + "\n"
                              for i in range(3)))
    journal = tmp_path / "j.sqlite3"
    with RawServer([UNCONFIRMED["html-200"]]) as srv:
        res = cli_at(srv.url, "replay", str(events), "--journal", str(journal), "--json")
    assert res.exit_code == 3, res.output
    summary = json.loads(res.stdout.splitlines()[-1])["summary"]
    assert summary["sent"] == 0
    hist = cli_at(srv.url, "history", "--journal", str(journal), "--outcome", "sent", "--json")
    assert json.loads(hist.stdout) == []


# ---------------------------------------------------------------- malformed answers: temporary


def _cut(data: bytes) -> Callable[[Any, RawRequest], None]:
    def run(conn: Any, _req: RawRequest) -> None:
        conn.sendall(data)

    return run


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 20",  # the status line cut off
        b"HTTP/1.1 200 OK\r\nContent-Type: appl",  # cut mid-headers
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"success\":true,\"code\":7000}",  # body shorter
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",  # broken chunking
        b"SMTP ready\r\n\r\n",  # not HTTP at all
        b"",  # closed without a word
    ],
)
def test_malformed_answers_are_retried_never_delivered(raw: bytes) -> None:
    with RawServer([_cut(raw), _cut(raw), ACK]) as srv:
        result = send(srv.url)
        assert result.ok and len(result.attempts) == 3  # retried, then the real acknowledgement
        assert [a.failure for a in result.attempts[:2]] == ["temporary", "temporary"]
    with RawServer([_cut(raw)]) as srv:
        result = send(srv.url)
    assert result.outcome == "failed" and result.exit_code == 75 and len(result.attempts) == 3


# ---------------------------------------------------------------- 2. bounded exchanges


def test_a_trickling_server_cannot_hold_an_attempt_past_the_deadline() -> None:
    body = b'{"success":true,"code":7000,"requestId":"' + b"x" * 100 + b'"}'
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    with RawServer([trickle(head, body, 0.1)]) as srv:
        t0 = time.monotonic()
        result = send(srv.url, timeout=1.0, retry=RetryPolicy(max_attempts=1))
        elapsed = time.monotonic() - t0
    assert result.outcome == "failed" and "timeout" in (result.message or "")
    assert elapsed < 1.6


def test_trickling_headers_are_bounded_too() -> None:
    head = b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 200 + b"\r\n\r\n"
    with RawServer([trickle(b"", head, 0.05)]) as srv:
        t0 = time.monotonic()
        result = send(srv.url, timeout=0.8, retry=RetryPolicy(max_attempts=1))
        assert time.monotonic() - t0 < 1.4
    assert result.outcome == "failed"


def test_a_body_over_the_cap_is_cut_and_not_an_acknowledgement() -> None:
    from rapido_cli.transport import MAX_ANSWER_BYTES

    big = b'{"success":true,"code":7000,"pad":"' + b"x" * (MAX_ANSWER_BYTES + 10) + b'"}'
    with RawServer([answer(200, big, {"Content-Type": "application/json"})]) as srv:
        result = send(srv.url)
    assert result.failure == "unconfirmed" and result.attempts[-1].truncated
    assert len(result.attempts[-1].snippet or "") <= 210


def test_gzip_answers_are_decoded_and_a_gzip_bomb_is_harmless() -> None:
    import gzip
    import zlib

    ok = b'{"success":true,"code":7000,"requestId":"req_gz"}'
    deflated = zlib.compress(ok)
    raw_deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
    raw_deflated = raw_deflate.compress(ok) + raw_deflate.flush()
    script = [
        answer(200, gzip.compress(ok), {"Content-Encoding": "gzip", "Content-Type": "application/json"}),
        answer(200, deflated, {"Content-Encoding": "deflate"}),
        answer(200, raw_deflated, {"Content-Encoding": "deflate"}),
    ]
    for behaviour in script:
        with RawServer([behaviour]) as srv:
            result = send(srv.url)
        assert result.ok and result.request_id == "req_gz", result.message
    bomb = gzip_bomb(1024)  # ~1 MB inflating to 1 GiB
    assert len(bomb) < 1_200_000
    with RawServer([answer(200, bomb, {"Content-Encoding": "gzip", "Content-Type": "application/json"})]) as srv:
        tracemalloc.start()
        t0 = time.monotonic()
        result = send(srv.url)
        elapsed = time.monotonic() - t0
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert result.failure == "unconfirmed" and result.attempts[-1].truncated
    assert peak < 50 * 1024 * 1024 and elapsed < 2.0, (peak, elapsed)


# ---------------------------------------------------------------- 3. error classes


def test_503_is_retried_then_75_and_429_honours_retry_after(cli_at: Any) -> None:
    with RawServer([json_answer(503, "{}"), ACK]) as srv:
        assert send(srv.url).ok and len(srv.requests) == 2
    with RawServer([json_answer(503, '{"success":false,"code":5000,"error":{"message":"down"}}')]) as srv:
        res = cli_at(srv.url, *SEND)
        assert res.exit_code == 75 and len(srv.requests) == 2, res.output
    sleeps: list[float] = []
    policy = RetryPolicy(max_attempts=2, base=0.0, cap=0.0, retry_after_cap=3.0)
    with (
        RawServer([json_answer(429, "{}", {"Retry-After": "99999"}), ACK]) as srv,
        EventClient(target(srv.url), retry=policy, environ={}, sleep=sleeps.append) as client,
    ):
        assert client.send(dict(EVENT)).ok
    assert sleeps == [3.0]  # capped


@pytest.mark.parametrize("value", ["²", "-5", "1e9", "garbage", "Wed, 99 Xyz 2024", "99999999999999999999"])
def test_odd_retry_after_values_never_crash(value: str) -> None:
    sleeps: list[float] = []
    policy = RetryPolicy(max_attempts=2, base=0.0, cap=0.0, retry_after_cap=2.0)
    with (
        RawServer([json_answer(503, "{}", {"Retry-After": value}), ACK]) as srv,
        EventClient(target(srv.url), retry=policy, environ={}, sleep=sleeps.append) as client,
    ):
        assert client.send(dict(EVENT)).ok
    assert len(sleeps) == 1 and 0 <= sleeps[0] <= 2.0


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_never_followed_and_the_key_never_goes_there(status: int, cli_at: Any) -> None:
    with RawServer([ACK]) as elsewhere:
        location = elsewhere.url + "/api/ota/event"
        with RawServer([answer(status, "", {"Location": location})]) as srv:
            result = send(srv.url)
            assert (result.outcome, result.failure, result.exit_code) == ("config", "redirect", 3)
            assert location in (result.message or "")
            res = cli_at(srv.url, *SEND)
            assert res.exit_code == 3 and location in res.stdout, res.output
            assert len(srv.requests) == 2  # one each: not retried
        assert elsewhere.requests == []  # never followed: the key did not travel there


@pytest.mark.parametrize("status", [404, 405])
def test_wrong_endpoint_is_configuration(status: int, cli_at: Any) -> None:
    with RawServer([json_answer(status, '{"message":"no route"}')]) as srv:
        res = cli_at(srv.url, *SEND)
        assert res.exit_code == 3 and len(srv.requests) == 1, res.output
    assert "/api/ota/event" in res.stderr  # the hint: base_url is the API's root


def test_rejections_are_data_errors(cli_at: Any) -> None:
    for status in (400, 409, 413, 422):
        body = '{"success":false,"code":4001,"error":{"message":"amount_total must be >= 0"}}'
        with RawServer([json_answer(status, body)]) as srv:
            res = cli_at(srv.url, *SEND)
            assert res.exit_code == 1 and len(srv.requests) == 1, (status, res.output)
        assert "amount_total must be >= 0" in res.stdout


def test_401_stops_with_3(cli_at: Any) -> None:
    with RawServer([json_answer(401, '{"success":false,"code":4010,"error":{"message":"bad key"}}')]) as srv:
        res = cli_at(srv.url, *SEND)
        assert res.exit_code == 3 and len(srv.requests) == 1


def test_a_closed_port_is_temporary(cli_at: Any) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = send(url)
    assert result.outcome == "failed" and len(result.attempts) == 3 and "refused" in (result.message or "")
    res = cli_at(url, *SEND)
    assert res.exit_code == 75 and "Traceback" not in res.output


def test_a_host_that_does_not_exist_is_configuration_and_not_retried(cli_at: Any) -> None:
    t0 = time.monotonic()
    result = send("https://partner-api.example.invalid")
    assert (result.outcome, result.failure, len(result.attempts)) == ("config", "nxdomain", 1)
    assert "partner-api.example.invalid" in (result.message or "")
    res = cli_at("https://partner-api.example.invalid", *SEND)
    assert res.exit_code == 3
    assert "partner-api.example.invalid" in res.stdout and "rapido doctor" in res.stderr
    assert "partner-api.example.invalid" in res.stderr  # the hint names the host
    assert time.monotonic() - t0 < 5


def test_tls_to_a_plain_http_server_is_configuration(cli_at: Any) -> None:
    with RawServer(greet=answer(400, "plain http here")) as srv:
        url = f"https://127.0.0.1:{srv.port}"
        result = send(url)
        assert (result.outcome, result.failure, len(result.attempts)) == ("config", "tls", 1), result.message
        res = cli_at(url, *SEND)
        assert res.exit_code == 3 and "TLS" in res.stdout, res.output


# ---------------------------------------------------------------- 4. the key, scrubbed on meaning


def _echo(conn: Any, req: RawRequest) -> None:
    key = req.headers["authorization"]
    forms = encodings(key)
    body = json.dumps({"success": False, "code": 4001,
                       "error": {"message": "bad key " + forms[0], "details": {"authorization": "@"}},
                       "requestId": "req_echo"})
    # JSON-escaped slashes and \u0041-style escapes in the raw text of the answer
    body = body.replace("@", forms[1]).replace('"req_echo"', json.dumps(forms[3]))
    body = body.replace('"details"', '"details_' + forms[4] + '"')
    data = body.encode()
    conn.sendall(f"HTTP/1.1 400 Bad\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n"
                 f"Connection: close\r\n\r\n".encode() + data)


def _echo_text(conn: Any, req: RawRequest) -> None:
    key = req.headers["authorization"]
    data = ("you sent " + " ".join(encodings(key))).encode()
    conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Echo: {key}\r\nContent-Length: {len(data)}\r\n"
                 f"Location: /x?k={encodings(key)[4]}\r\nConnection: close\r\n\r\n".encode() + data)


def _no_key(text: str, key: str = ECHO_KEY) -> None:
    for form in encodings(key):
        assert form not in text, form


@pytest.mark.parametrize("behaviour", [_echo, _echo_text])
def test_a_server_echoing_the_key_in_any_encoding_never_shows_it(behaviour: Any, cli_at: Any, tmp_path: Path) -> None:
    with RawServer([behaviour]) as srv:
        for args in ([*SEND], [*SEND, "--json"], [*SEND, "-vv"], [*SEND, "--json", "-vv"]):
            res = cli_at(srv.url, *args, key=ECHO_KEY)
            assert res.exit_code in (1, 3), res.output
            _no_key(res.stdout + res.stderr)
        assert "****WXYZ" in res.stdout + res.stderr
        events = tmp_path / "e.jsonl"
        events.write_text(json.dumps(EVENT) + "\n")
        journal = tmp_path / "j.sqlite3"
        res = cli_at(srv.url, "replay", str(events), "--journal", str(journal), "--json", "-vv", key=ECHO_KEY)
        _no_key(res.stdout + res.stderr)
        hist = cli_at(srv.url, "history", "--journal", str(journal), "--json", key=ECHO_KEY)
        _no_key(hist.stdout + hist.stderr)
        _no_key(journal.read_bytes().decode("latin-1"))


# ---------------------------------------------------------------- 5. the key never in clear


def test_a_proxy_off_loopback_is_refused_for_plain_http(cli_at: Any) -> None:
    with RawServer([ACK]) as srv:
        res = cli_at(srv.url, *SEND, env={"HTTP_PROXY": "http://192.0.2.10:3128"})
        assert res.exit_code == 3 and "192.0.2.10" in res.stderr and "NO_PROXY" in res.stderr, res.output
        assert srv.requests == []
        res = cli_at(srv.url, *SEND, env={"HTTP_PROXY": "http://192.0.2.10:3128", "NO_PROXY": "127.0.0.0/8"})
        assert res.exit_code == 0, res.output
        res = cli_at(srv.url, *SEND, env={"http_proxy": "socks5://127.0.0.1:1080"})
        assert res.exit_code == 3 and "http_proxy" in res.stderr and "Traceback" not in res.output


def test_a_loopback_proxy_sees_the_absolute_url(cli_at: Any) -> None:
    with RawServer([ACK]) as proxy:
        res = cli_at("http://127.0.0.1:9", *SEND, env={"HTTP_PROXY": proxy.url})
        assert res.exit_code == 0, res.output
        assert proxy.requests[0].target == "http://127.0.0.1:9/api/ota/event"


def test_allow_http_warns_once_even_when_quiet(cli_at: Any) -> None:
    res = cli_at("http://192.0.2.1:9", *SEND, "--dry-run", "-q")
    assert res.exit_code == 3 and "allow_http" in res.stderr
    res = cli_at("http://192.0.2.1:9", *SEND, "--dry-run", "-q", allow_http=True)
    assert res.exit_code == 0, res.output
    assert res.stderr.count("warning:") == 1 and "plain http" in res.stderr


# ---------------------------------------------------------------- 7. inert output


def test_server_markup_and_escapes_print_literally(cli_at: Any) -> None:
    msg = "bad [link=http://evil.example]click[/link] [/bold] \x1b]0;owned\x07 \u202etxt"
    body = json.dumps({"success": False, "code": 4001, "error": {"message": msg, "details": {"[b]x[/b]": "[/]"}}})
    with RawServer([json_answer(422, body)]) as srv:
        res = cli_at(srv.url, *SEND, "-v")
        assert res.exit_code == 1, res.output
    out = res.stdout + res.stderr
    assert "[link=http://evil.example]click[/link] [/bold]" in res.stdout
    assert "[b]x[/b]: [/]" in res.stdout
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "\\x1b" in res.stdout and "\\u202e" in res.stdout


def test_a_busy_resolver_is_temporary(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    import rapido_cli.transport.client as client

    def busy(host: str, port: int) -> list[Any]:
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(client, "_getaddrinfo", busy)
    result = send("https://partner-api.example.com")
    assert (result.outcome, result.failure, len(result.attempts), result.exit_code) == ("failed", "temporary", 3, 75)
    assert "cannot resolve partner-api.example.com now" in (result.message or "")
