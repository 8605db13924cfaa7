"""``rapido replay``: the engine against the sandbox (faults, 401, rejects) and the real CLI."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "bench"))

from _events import event, write_events
from httpserver import Reply, ScriptedServer, ok_body

from rapido_cli.errors import ExitCode
from rapido_cli.journal import Journal
from rapido_cli.profiles import Secret, Target
from rapido_cli.replay import LineResult, Replayer, ReplayOptions
from rapido_cli.sandbox import Sandbox, SandboxConfig, SandboxEvent
from rapido_cli.transport import RetryPolicy
from rapido_cli.transport.pacing import AdaptiveRate, RateLimiter

KEY = "sk_test_SECRET_abcd1234WXYZ"
FAST = RetryPolicy(max_attempts=8, base=0.01, cap=0.05, retry_after_cap=0.05)


class Counted:
    """A sandbox that counts, per event id, what it accepted and what it answered as a duplicate."""

    def __init__(self, **config: Any) -> None:
        self.accepted: Counter[str] = Counter()
        self.duplicates: Counter[str] = Counter()
        self.requests = 0
        self._lock = threading.Lock()
        self.sandbox = Sandbox(SandboxConfig(host="127.0.0.1", port=0, on_event=self._seen, **config)).start()

    def _seen(self, ev: SandboxEvent) -> None:
        if ev.flow != "server":
            return
        with self._lock:
            self.requests += 1
            if ev.verdict == "accepted" and ev.event_id:
                self.accepted[ev.event_id] += 1
            elif ev.verdict == "duplicate" and ev.event_id:
                self.duplicates[ev.event_id] += 1

    @property
    def url(self) -> str:
        return self.sandbox.url

    def settle(self, timeout: float = 5.0) -> Counted:
        """Wait until the counters stop moving: the sandbox reports an event just after answering it."""
        deadline = time.monotonic() + timeout
        last = -1
        while time.monotonic() < deadline:
            with self._lock:
                now = self.requests
            if now == last:
                break
            last = now
            time.sleep(0.1)
        return self

    def stop(self) -> None:
        self.sandbox.stop()


@pytest.fixture
def sandbox() -> Iterator[Any]:
    started: list[Counted] = []

    def start(**config: Any) -> Counted:
        c = Counted(**config)
        started.append(c)
        return c

    yield start
    for c in started:
        c.stop()


def target(url: str, **kw: Any) -> Target:
    return Target(url, "acme-travel", "acme-pwa", "flights", Secret(KEY), timeout=5.0, **kw)


def run(
    url: str, path: Path, journal: Journal | None = None, results: list[LineResult] | None = None, **opts: Any
) -> Any:
    opts.setdefault("retry", FAST)
    opts.setdefault("max_attempts", FAST.max_attempts)
    replayer = Replayer(
        target(url), ReplayOptions(**opts), journal=journal, on_result=None if results is None else results.append
    )
    with open(path, "rb") as fh:
        return replayer.run(fh, str(path))


# ---------------------------------------------------------------- engine


def test_delivers_everything_once_then_skips_on_rerun(tmp_path: Path, sandbox: Any) -> None:
    sb = sandbox()
    f = write_events(tmp_path / "e.jsonl", 500)
    with Journal(tmp_path / "j.sqlite3") as j:
        s = run(sb.url, f, j, concurrency=8)
        assert (s.total, s.sent, s.skipped, s.invalid, s.failed) == (500, 500, 0, 0, 0)
        assert s.exit_code == ExitCode.OK
        assert len(sb.settle().accepted) == 500 and max(sb.accepted.values()) == 1
        rows = j.query(target=target(sb.url).name)
        assert len(rows) == 500 and {r.outcome for r in rows} == {"sent"}
        assert all(r.request_id and r.status == 200 and r.attempts == 1 for r in rows)
        again = run(sb.url, f, j, concurrency=8)
        assert (again.sent, again.skipped, again.already_sent) == (0, 500, 500)
    assert sb.settle().requests == 500 and not sb.duplicates


def test_invalid_lines_duplicates_dead_letter_and_journal(tmp_path: Path, sandbox: Any) -> None:
    sb = sandbox()
    lines = [orjson.dumps(event(i)) for i in range(1, 6)]
    bad_json = b'{"userId": "u", "event": '
    bad_event = orjson.dumps({**event(7), "schemaVersion": 2})
    content = (
        b"\xef\xbb\xbf" + lines[0] + b"\r\n" + lines[1] + b"\n\n" + bad_json + b"\n" + lines[2] + b"\n"
        + bad_event + b"\n" + lines[1] + b"\n" + lines[3] + b"\n" + lines[4]  # no final newline
    )
    f = tmp_path / "mixed.jsonl"
    f.write_bytes(content)
    dead = tmp_path / "dead.jsonl"
    results: list[LineResult] = []
    with Journal(tmp_path / "j.sqlite3") as j:
        s = run(sb.url, f, j, results, concurrency=4, dead_letter=dead)
        by_line = {r.line: r for r in results}
        assert (s.total, s.sent, s.skipped, s.invalid, s.failed) == (8, 5, 1, 2, 0)  # blank lines are not events
        assert by_line[4].outcome == "invalid" and by_line[4].problems
        assert by_line[6].outcome == "invalid" and "schemaVersion" in (by_line[6].error or "")
        assert by_line[7].outcome == "skipped" and by_line[7].reason == "duplicate of line 2"
        assert s.exit_code == ExitCode.DATA
        # verbatim, in order, newline-terminated
        assert dead.read_bytes() == bad_json + b"\n" + bad_event + b"\n"
        invalid = j.query(outcome="invalid")
        assert {r.raw for r in invalid} == {bad_json.decode(), bad_event.decode()}
        assert {r.event_id for r in invalid} >= {"evt_bench_00000007"}
    assert len(sb.settle().accepted) == 5 and sb.requests == 5  # the invalid ones were never sent


@pytest.mark.parametrize("concurrency", [pytest.param(1, marks=pytest.mark.slow), 8])  # one at a time: 3 s
def test_faults_every_line_accounted_for(tmp_path: Path, sandbox: Any, concurrency: int) -> None:
    sb = sandbox(faults="500:0.15,429:0.05,499:0.05,drop:0.05,drop-after:0.05", seed=7)
    f = write_events(tmp_path / "e.jsonl", 300, invalid_every=50)
    dead = tmp_path / "dead.jsonl"
    with Journal(tmp_path / "j.sqlite3") as j:
        s = run(sb.url, f, j, concurrency=concurrency, dead_letter=dead, max_attempts=4)
        assert s.sent + s.skipped + s.invalid + s.failed == s.total == 300
        assert s.invalid == 6 and s.retries > 0 and s.throttled > 0
        sent = {r.event_id for r in j.query(outcome="sent")}
        # everything the journal calls sent was accepted by the server, exactly once
        assert sent <= set(sb.settle().accepted) and max(sb.accepted.values()) == 1
        failed = j.query(outcome="failed")
        assert len(failed) == s.failed and all(r.failure == "temporary" for r in failed)
        assert len(dead.read_bytes().splitlines()) == s.invalid + s.failed
        # a re-run with retries to spare delivers the rest; nothing is sent twice except the
        # retries of drop-after answers, which carry the same id and are answered as duplicates
        s2 = run(sb.url, f, j, concurrency=concurrency, max_attempts=20)
        assert s2.failed == 0 and s2.already_sent == s.sent
        assert len({r.event_id for r in j.query(outcome="sent")}) == 294
    assert set(sb.settle().accepted) == {f"evt_bench_{i:08d}" for i in range(1, 301) if i % 50}


def test_unauthorized_stops_at_once(tmp_path: Path, sandbox: Any) -> None:
    sb = sandbox(client_key="some-other-key")
    f = write_events(tmp_path / "e.jsonl", 2000)
    with Journal(tmp_path / "j.sqlite3") as j:
        s = run(sb.url, f, j, concurrency=4)
        assert s.exit_code == ExitCode.CONFIG and s.unauthorized >= 1
        assert sb.settle().requests <= 8  # stopped, not 2000 attempts with a bad key
        assert s.sent == 0 and s.total < 2000
        assert {r.failure for r in j.query(outcome="failed")} == {"unauthorized"}


def test_rejection_exits_1_and_temporary_exits_75(tmp_path: Path) -> None:
    f = write_events(tmp_path / "e.jsonl", 3)
    reject = {"success": False, "code": 7001, "error": {"message": "orderId unknown", "details": {}}}
    with ScriptedServer([Reply(422, reject)]) as srv:
        dead = tmp_path / "dead.jsonl"
        s = run(srv.url, f, concurrency=2, dead_letter=dead)
        assert (s.failed, s.rejected, s.exit_code) == (3, 3, ExitCode.DATA)
        assert len(srv.requests) == 3  # a rejection is not retried
        assert sorted(dead.read_bytes().splitlines()) == sorted(f.read_bytes().splitlines())
    with ScriptedServer([Reply(503, {"success": False}, headers={"Retry-After": "0"})]) as srv:
        s = run(srv.url, f, concurrency=2, max_attempts=3)
        assert (s.failed, s.temporary, s.retries, s.exit_code) == (3, 3, 6, ExitCode.TEMPFAIL)
        assert len(srv.requests) == 9
    with ScriptedServer([Reply(200, {"success": False, "code": 7001, "error": {"message": "no"}})]) as srv:
        s = run(srv.url, f, concurrency=1)
        # HTTP 200 with success=false is not an acknowledgement: unconfirmed, the run stops (exit 3)
        assert (s.sent, s.config, s.exit_code) == (0, 1, ExitCode.CONFIG)


def test_sends_exact_line_and_headers(tmp_path: Path) -> None:
    line = b'{"userId":"u1", "event":{"type":"payment.completed","id":"evt_x"},"attributes":{"orderId":"O"},' \
           b'"schemaVersion":1}'
    f = tmp_path / "one.jsonl"
    f.write_bytes(line + b"\n")
    with ScriptedServer([Reply(200, ok_body("req_1"))]) as srv:
        s = run(srv.url, f)
        assert s.sent == 1
        req = srv.requests[0]
        assert req.path == "/api/ota/event" and req.body == line
        assert req.headers["authorization"] == KEY and req.headers["x-client-id"] == "acme-travel"
        assert req.headers["x-client-service"] == "flights" and req.headers["x-client-app-id"] == "acme-pwa"
        assert req.headers["content-type"] == "application/json"


def test_retry_after_is_honoured(tmp_path: Path) -> None:
    f = write_events(tmp_path / "e.jsonl", 1)
    with ScriptedServer([Reply(429, {"success": False}, headers={"Retry-After": "1"}), Reply(200, ok_body())]) as srv:
        policy = RetryPolicy(max_attempts=3, base=0.01, cap=0.01, retry_after_cap=5)
        s = run(srv.url, f, retry=policy, max_attempts=3)
        assert s.sent == 1 and s.throttled == 1
        assert srv.requests[1].at - srv.requests[0].at >= 0.95


def test_fixed_rate_is_a_ceiling(tmp_path: Path, sandbox: Any) -> None:
    sb = sandbox()
    f = write_events(tmp_path / "e.jsonl", 60)
    t0 = time.monotonic()
    s = run(sb.url, f, concurrency=8, rate=100.0)
    assert s.sent == 60
    assert time.monotonic() - t0 >= 0.55  # 60 events at 100/s cannot take less than ~0.6 s


def test_dry_run_sends_nothing(tmp_path: Path, sandbox: Any) -> None:
    sb = sandbox()
    f = write_events(tmp_path / "e.jsonl", 20, invalid_every=10)
    results: list[LineResult] = []
    with Journal(tmp_path / "j.sqlite3") as j:
        s = run(sb.url, f, j, results, dry_run=True, dead_letter=tmp_path / "dead.jsonl")
        assert (s.would_send, s.invalid, s.sent) == (18, 2, 0)
        assert j.counts() == {}
    assert sb.settle().requests == 0
    assert not (tmp_path / "dead.jsonl").exists()


def test_stop_finishes_in_flight_and_rerun_completes(tmp_path: Path, sandbox: Any) -> None:
    sb = sandbox(latency_ms=20)
    f = write_events(tmp_path / "e.jsonl", 400)
    with Journal(tmp_path / "j.sqlite3") as j:
        replayer = Replayer(target(sb.url), ReplayOptions(concurrency=4, retry=FAST), journal=j)
        threading.Timer(0.4, replayer.stop).start()
        with open(f, "rb") as fh:
            s = replayer.run(fh, str(f))
        assert s.interrupted and s.exit_code == ExitCode.INTERRUPTED
        assert 0 < s.sent < 400
        # every acknowledged event was recorded (in-flight ones finished within the grace)
        assert j.counts() == {"sent": s.sent} and len(sb.settle().accepted) == s.sent
        s2 = run(sb.url, f, j, concurrency=4)
        assert s2.sent == 400 - s.sent and s2.already_sent == s.sent
    assert len(sb.settle().accepted) == 400 and not sb.duplicates


def test_adaptive_rate_cuts_on_throttle_and_recovers() -> None:
    now = [0.0]
    limiter = RateLimiter(None, clock=lambda: now[0])
    ctl = AdaptiveRate(limiter, clock=lambda: now[0])
    assert limiter.rate is None
    for i in range(100):  # 100 acknowledgements within the last second
        now[0] = 0.5 + i * 0.005
        ctl.on_success(now[0])
    ctl.on_throttle(now[0])
    assert limiter.rate == pytest.approx(100 * ctl.beta)
    ctl.on_throttle(now[0] - 0.1)  # sent before the cut: not punished twice
    ctl.on_throttle(now[0] + 0.1)  # nor just after it (paced at the old rate)
    assert limiter.rate == pytest.approx(100 * ctl.beta) and ctl.cuts == 1
    now[0] += 0.5
    ctl.on_success(now[0])
    mid = limiter.rate
    assert mid is not None and 100 * ctl.beta < mid < 100
    now[0] += 10.0
    ctl.on_success(now[0])
    assert limiter.rate is not None and limiter.rate > 100  # probing beyond the old maximum


def test_rate_limiter_paces() -> None:
    now = [0.0]
    limiter = RateLimiter(10.0, clock=lambda: now[0])
    waits = [limiter.reserve() for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])


def test_long_lines_are_invalid_without_being_held(tmp_path: Path, sandbox: Any) -> None:
    from rapido_cli.replay import MAX_LINE_BYTES

    sb = sandbox()
    f = tmp_path / "long.jsonl"
    with open(f, "wb") as fh:
        fh.write(orjson.dumps(event(1)) + b"\n")
        fh.write(b'{"x":"' + b"a" * (MAX_LINE_BYTES + 10) + b'"}\n')
        fh.write(orjson.dumps(event(2)) + b"\n")
    results: list[LineResult] = []
    s = run(sb.url, f, None, results)
    assert (s.sent, s.invalid, s.total) == (2, 1, 3)
    assert [r.line for r in results if r.outcome == "invalid"] == [2]


def test_journal_never_holds_the_key(tmp_path: Path, sandbox: Any) -> None:
    sb = sandbox(faults="500:0.5", seed=3)
    f = write_events(tmp_path / "e.jsonl", 30)
    with Journal(tmp_path / "j.sqlite3") as j:
        run(sb.url, f, j, max_attempts=2)
    blob = b"".join(p.read_bytes() for p in tmp_path.glob("j.sqlite3*"))
    assert KEY.encode() not in blob and b"abcd1234WXYZ" not in blob


# ---------------------------------------------------------------- the real CLI


def cli_env(profile_env: Any, url: str, tmp_path: Path) -> dict[str, str]:
    env = profile_env(url)
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    return env


def test_cli_json_lines_and_summary(tmp_path: Path, sandbox: Any, rapido: Any, profile_env: Any) -> None:
    sb = sandbox()
    f = write_events(tmp_path / "e.jsonl", 40, invalid_every=20)
    env = cli_env(profile_env, sb.url, tmp_path)
    r = rapido("replay", str(f), "--json", "--concurrency", "4", env=env)
    assert r.code == 1, r.stderr
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert len(lines) == 41
    summary = lines[-1]["summary"]
    assert {k: summary[k] for k in ("total", "sent", "skipped", "invalid", "failed")} == {
        "total": 40, "sent": 38, "skipped": 0, "invalid": 2, "failed": 0
    }
    assert {"retries", "throttled", "elapsed_s", "rate"} <= set(summary)
    per = {x["line"]: x for x in lines[:-1]}
    assert per[20]["outcome"] == "invalid" and per[1]["outcome"] == "sent" and per[1]["status"] == 200
    assert per[1]["event_id"] == "evt_bench_00000001" and per[1]["attempts"] == 1 and per[1]["request_id"]
    assert (tmp_path / "state" / "rapido" / "journal.sqlite3").exists()
    # second run: all skipped, exit still 1 because of the invalid lines
    r2 = rapido("replay", str(f), "--json", env=env)
    s2 = json.loads(r2.stdout.splitlines()[-1])["summary"]
    assert (s2["sent"], s2["skipped"], s2["invalid"]) == (0, 38, 2)
    assert KEY not in r.stdout + r.stderr + r2.stdout + r2.stderr


def test_cli_human_summary_and_stdin(tmp_path: Path, sandbox: Any, rapido: Any, profile_env: Any) -> None:
    sb = sandbox()
    f = write_events(tmp_path / "e.jsonl", 10)
    env = cli_env(profile_env, sb.url, tmp_path)
    r = rapido("replay", "-", "--no-journal", input=f.read_text(), env=env)
    assert r.code == 0, r.stderr
    assert "sent" in r.stdout and "10" in r.stdout
    assert len(sb.settle().accepted) == 10


def test_cli_invalid_lines_reported_with_numbers(tmp_path: Path, sandbox: Any, rapido: Any, profile_env: Any) -> None:
    sb = sandbox()
    f = write_events(tmp_path / "e.jsonl", 10, invalid_every=4)
    env = cli_env(profile_env, sb.url, tmp_path)
    r = rapido("replay", str(f), "--dead-letter", str(tmp_path / "dl.jsonl"), env=env)
    assert r.code == 1
    assert f"{f}:4: attributes.start_time:" in r.stderr and f"{f}:8: attributes.start_time:" in r.stderr
    assert len((tmp_path / "dl.jsonl").read_text().splitlines()) == 2


def test_cli_dry_run(tmp_path: Path, sandbox: Any, rapido: Any, profile_env: Any) -> None:
    sb = sandbox()
    f = write_events(tmp_path / "e.jsonl", 5)
    r = rapido("replay", str(f), "--dry-run", env=cli_env(profile_env, sb.url, tmp_path))
    assert r.code == 0, r.stderr
    assert "evt_bench_00000003" in r.stdout and "dry run" in r.stdout
    assert sb.settle().requests == 0


def test_cli_usage_errors(tmp_path: Path, rapido: Any, profile_env: Any) -> None:
    env = cli_env(profile_env, "http://127.0.0.1:9", tmp_path)
    r = rapido("replay", str(tmp_path / "missing.jsonl"), env=env)
    assert r.code == 2 and "no such file" in r.stderr and "Traceback" not in r.stderr
    f = write_events(tmp_path / "e.jsonl", 1)
    r = rapido("replay", str(f), "--no-journal", "--journal", str(tmp_path / "j"), env=env)
    assert r.code == 2
    r = rapido("replay", str(f), "--rate", "fast", env=env)
    assert r.code == 2 and "--rate" in r.stderr
    r = rapido("replay", str(f), "--dead-letter", str(f), env=env)
    assert r.code == 2


def test_cli_sandbox_flag(tmp_path: Path, rapido: Any) -> None:
    f = write_events(tmp_path / "e.jsonl", 5)
    r = rapido("replay", str(f), "--sandbox", "--json", env={"XDG_STATE_HOME": str(tmp_path / "s")})
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[-1])["summary"]["sent"] == 5


def test_proxy_from_environment_is_used_by_the_workers(tmp_path: Path) -> None:
    # The one proxy decision lives in rapido_cli.transport.proxy (see tests/test_transport.py).
    f = write_events(tmp_path / "e.jsonl", 3)
    with ScriptedServer([Reply(200, ok_body())]) as proxy:
        # plain http through a loopback proxy to a loopback target: the whole route is loopback
        s = run("http://127.0.0.1:9", f, environ={"HTTP_PROXY": proxy.url}, concurrency=2)
        assert s.sent == 3
        # a forward proxy receives the absolute URL
        assert {r.path for r in proxy.requests} == {"http://127.0.0.1:9/api/ota/event"}


def test_auto_rate_against_a_rate_limited_sandbox(tmp_path: Path, sandbox: Any) -> None:
    sb = sandbox(rate_limit=100)
    f = write_events(tmp_path / "e.jsonl", 300)
    policy = RetryPolicy(max_attempts=30, base=0.05, cap=0.5, retry_after_cap=1.0)
    t0 = time.monotonic()
    s = run(sb.url, f, concurrency=16, rate="auto", retry=policy, max_attempts=30)
    elapsed = time.monotonic() - t0
    assert s.sent == 300 and s.failed == 0
    assert len(sb.settle().accepted) == 300
    # adapted: few 429s (the first burst finds the limit), and not far below the limit
    assert s.throttled <= 0.1 * (s.sent + s.retries)
    assert elapsed < 300 / 100 * 1.6


def test_non_utf8_line_is_invalid_verbatim_in_dead_letter(tmp_path: Path, sandbox: Any) -> None:
    sb = sandbox()
    bad = b'{"userId": "caf\xe9"}'
    f = tmp_path / "latin1.jsonl"
    f.write_bytes(orjson.dumps(event(1)) + b"\n" + bad + b"\n" + orjson.dumps(event(2)) + b"\n")
    dead = tmp_path / "dead.jsonl"
    with Journal(tmp_path / "j.sqlite3") as j:
        s = run(sb.url, f, j, dead_letter=dead)
        assert (s.sent, s.invalid) == (2, 1)
        (row,) = j.query(outcome="invalid")
        assert row.raw == '{"userId": "caf\ufffd"}'
    assert dead.read_bytes() == bad + b"\n"


def test_cli_status_lines_for_cron_logs(tmp_path: Path, sandbox: Any, rapido: Any, profile_env: Any) -> None:
    sb = sandbox(latency_ms=20)
    f = write_events(tmp_path / "e.jsonl", 40)
    env = cli_env(profile_env, sb.url, tmp_path)
    env["RAPIDO_STATUS_EVERY"] = "0.2"
    r = rapido("replay", str(f), "--concurrency", "1", env=env)
    assert r.code == 0, r.stderr
    import re

    status = [line for line in r.stderr.splitlines() if f" replay {f}: " in line]
    assert len(status) >= 2 and " sent · " in status[-1] and "/s recent" in status[-1]
    # for logs: an ISO time, done/total (percent) and an ETA from the recent rate
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d replay ", status[-1]), status[-1]
    assert re.search(r": \d+/40 \(\d+%\) · ", status[-1]) and "ETA " in status[-1]
    assert "\x1b[" not in r.stderr  # not a terminal: no colour, no progress bar


def test_https_trust_and_untrusted_certificate_stops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import trustme
    from test_tls_support import tls_server

    for var in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
        monkeypatch.delenv(var, raising=False)
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    f = write_events(tmp_path / "e.jsonl", 20)
    with tls_server(ca, [Reply(200, ok_body())]) as srv:
        url = srv.https_url  # type: ignore[attr-defined]
        s = run(url, f, concurrency=2, environ={"SSL_CERT_FILE": str(ca_file)})
        assert s.sent == 20 and len(srv.requests) == 20
        other = trustme.CA()
        other_file = tmp_path / "other.pem"
        other.cert_pem.write_to_path(str(other_file))
        s = run(url, f, concurrency=2, environ={"SSL_CERT_FILE": str(other_file)})
        assert s.tls >= 1 and s.sent == 0 and s.exit_code == ExitCode.CONFIG
        assert s.retries == 0 and s.total < 20  # not retried, and the run stopped
        assert len(srv.requests) == 20


def test_the_one_token_bucket_refuses_without_waiting_and_refills() -> None:
    """The sandbox's 429s and replay's pacing share RateLimiter: take() never waits, full= starts saved up."""
    now = [100.0]
    bucket = RateLimiter(2.0, burst=3, full=True, clock=lambda: now[0])
    assert bucket.peek() == 3
    assert [bucket.take()[0] for _ in range(4)] == [True, True, True, False]
    allowed, left, wait = bucket.take()
    assert not allowed and left < 1 and wait == pytest.approx(0.5)
    assert bucket.seconds_to_full() == pytest.approx(1.5)
    now[0] += 0.5
    assert bucket.take()[0] is True
    now[0] += 10
    assert bucket.peek() == 3 and bucket.seconds_to_full() == 0
    assert RateLimiter(None).take() == (True, 1.0, 0.0)
