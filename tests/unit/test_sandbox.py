"""The sandbox receiver's API contract, through real HTTP on loopback."""

from __future__ import annotations

import copy
import json
import random
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import seed_event

from rapido_cli.errors import UsageError
from rapido_cli.models import CODE_INVALID, CODE_OK, CODE_RATE_LIMITED, CODE_UNAUTHORIZED, MAX_EVENT_BYTES
from rapido_cli.sandbox import Sandbox, SandboxConfig, SandboxEvent, parse_faults

SECRET = "sk_sandbox_TEST_key_9f3a"
HEADERS = {
    "x-client-id": "acme-travel",
    "x-client-service": "flights",
    "x-client-app-id": "acme-pwa",
    "authorization": SECRET,
}
EVENT: dict[str, Any] = seed_event("flight")
TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
REQ_RE = re.compile(r"^req_[0-9a-f]{8,}$")


def event(event_id: str = "evt_flight_confirm_789", **attrs: Any) -> dict[str, Any]:
    ev = copy.deepcopy(EVENT)
    ev["event"]["id"] = event_id
    ev["attributes"].update(attrs)
    return ev


@pytest.fixture
def sandbox_config() -> dict[str, Any]:
    """For conftest's ``sandbox``: the sandbox's own defaults (any credentials accepted)."""
    return {}


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, timeout=10) as c:
        yield c


def post(c: httpx.Client, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return c.post("/api/ota/event", json=body, headers=HEADERS if headers is None else headers)


def test_lifecycle_url_and_idempotent_stop() -> None:
    sb = Sandbox(SandboxConfig(host="127.0.0.1", port=0))
    sb.start()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", sb.url)
    assert sb.port > 0
    assert httpx.get(sb.url + "/").status_code == 200
    sb.stop()
    sb.stop()  # idempotent
    with pytest.raises(httpx.ConnectError):
        httpx.get(sb.url + "/", timeout=2)


def test_port_in_use_is_a_usage_error(sandbox: Sandbox) -> None:
    with pytest.raises(UsageError, match="already in use"):
        Sandbox(SandboxConfig(host="127.0.0.1", port=sandbox.port)).start()


def test_success_body_is_the_documented_one(client: httpx.Client) -> None:
    r = post(client, EVENT)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert set(body) == {"success", "code", "timestamp", "requestId"}
    assert body["success"] is True
    assert body["code"] == CODE_OK == 7000
    assert TS_RE.match(body["timestamp"])
    assert REQ_RE.match(body["requestId"])
    # a fresh requestId for each new event
    other = post(client, event("evt_other")).json()
    assert other["requestId"] != body["requestId"]


@pytest.mark.parametrize("missing", ["x-client-id", "x-client-service", "x-client-app-id", "authorization"])
def test_each_required_header_missing_gives_401(client: httpx.Client, missing: str) -> None:
    headers = {k: v for k, v in HEADERS.items() if k != missing}
    r = post(client, EVENT, headers)
    assert r.status_code == 401
    body = r.json()
    assert body["success"] is False
    assert body["code"] == CODE_UNAUTHORIZED
    assert missing in body["error"]["message"]
    assert set(body["error"]["details"]) == {missing}
    assert REQ_RE.match(body["requestId"]) and TS_RE.match(body["timestamp"])


def test_empty_header_counts_as_missing(client: httpx.Client) -> None:
    r = post(client, EVENT, {**HEADERS, "authorization": ""})
    assert r.status_code == 401
    assert "authorization" in r.json()["error"]["details"]


def test_client_id_and_key_enforced_when_given() -> None:
    cfg = SandboxConfig(host="127.0.0.1", port=0, client_id="acme-travel", client_key=SECRET)
    with Sandbox(cfg) as sb, httpx.Client(base_url=sb.url) as c:
        assert post(c, EVENT).status_code == 200
        wrong_id = post(c, event("e2"), {**HEADERS, "x-client-id": "someone-else"})
        assert wrong_id.status_code == 401
        assert "x-client-id" in wrong_id.json()["error"]["details"]
        wrong_key = post(c, event("e3"), {**HEADERS, "authorization": SECRET + "x"})
        assert wrong_key.status_code == 401
        assert wrong_key.json()["error"]["details"].keys() == {"authorization"}
        assert SECRET not in wrong_key.text
        bearer = post(c, event("e4"), {**HEADERS, "authorization": "Bearer " + SECRET})
        assert bearer.status_code == 401
        assert "without a scheme" in bearer.json()["error"]["details"]["authorization"]


def test_without_enforcement_any_values_are_accepted(client: httpx.Client) -> None:
    r = post(client, EVENT, {**HEADERS, "x-client-id": "whoever", "authorization": "anything"})
    assert r.status_code == 200


def test_unknown_service_names_the_header(client: httpx.Client) -> None:
    r = post(client, EVENT, {**HEADERS, "x-client-service": "trains"})
    assert r.status_code == 400
    assert "x-client-service" in r.json()["error"]["details"]


def test_bad_payload_400_names_each_field(client: httpx.Client) -> None:
    bad = event("evt_bad")
    del bad["userId"]
    bad["attributes"]["start_time"] = "2024-02-17T13:30:00+05:30"
    bad["attributes"]["location_dest_lat"] = 123.0
    r = post(client, bad)
    assert r.status_code == 400
    body = r.json()
    assert body["success"] is False
    assert body["code"] == CODE_INVALID
    details = body["error"]["details"]
    assert {"userId", "attributes.start_time", "attributes.location_dest_lat"} <= set(details)
    assert all(isinstance(v, str) and v for v in details.values())
    assert body["error"]["message"].startswith("invalid event:")
    # an invalid event is not remembered: the fixed event with the same id is accepted
    assert post(client, event("evt_bad")).status_code == 200


def test_not_json_400(client: httpx.Client) -> None:
    r = client.post("/api/ota/event", content=b"{not json", headers={**HEADERS, "content-type": "application/json"})
    assert r.status_code == 400
    assert "body" in r.json()["error"]["details"]


def test_non_object_json_400(client: httpx.Client) -> None:
    r = post(client, [EVENT])
    assert r.status_code == 400
    assert r.json()["error"]["details"]


def test_wrong_content_type_415(client: httpx.Client) -> None:
    r = client.post("/api/ota/event", content=json.dumps(EVENT), headers={**HEADERS, "content-type": "text/plain"})
    assert r.status_code == 415
    assert "content-type" in r.json()["error"]["details"]
    with_charset = {**HEADERS, "content-type": "application/json; charset=utf-8"}
    ok = client.post("/api/ota/event", content=json.dumps(EVENT), headers=with_charset)
    assert ok.status_code == 200


def test_too_large_413(client: httpx.Client) -> None:
    big = event("evt_big", note="x" * (MAX_EVENT_BYTES + 10))
    r = post(client, big)
    assert r.status_code == 413
    assert r.json()["success"] is False
    # the connection was closed (body unread); the client reconnects and carries on
    assert post(client, EVENT).status_code == 200


def test_unknown_path_404_and_wrong_method_405(client: httpx.Client) -> None:
    r = client.post("/api/ota/events", json=EVENT, headers=HEADERS)
    assert r.status_code == 404
    assert r.json()["success"] is False
    r = client.get("/api/ota/event")
    assert r.status_code == 405
    assert "POST" in r.headers["allow"]


def test_repeat_is_idempotent(sandbox: Sandbox, client: httpx.Client) -> None:
    first = post(client, EVENT)
    # same content, keys in another order: the same event
    reordered = json.loads(json.dumps(EVENT))
    reordered = {k: reordered[k] for k in reversed(list(reordered))}
    second = post(client, reordered)
    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()  # the same answer, same requestId and timestamp
    stats = client.get("/_sandbox/stats").json()
    assert stats["by_verdict"] == {"accepted": 1, "duplicate": 1}
    assert stats["idempotency_keys"] == 1


def test_same_id_other_content_409(client: httpx.Client) -> None:
    assert post(client, EVENT).status_code == 200
    r = post(client, event(amount_total=9000))
    assert r.status_code == 409
    body = r.json()
    assert body["success"] is False
    assert "different content" in body["error"]["message"]
    assert "event.id" in body["error"]["details"]


def test_idempotency_is_per_client(client: httpx.Client) -> None:
    a = post(client, EVENT).json()
    b = post(client, EVENT, {**HEADERS, "x-client-id": "other-partner"}).json()
    assert a["requestId"] != b["requestId"]


def test_concurrent_repeats_accept_once(sandbox: Sandbox) -> None:
    answers: list[dict[str, Any]] = []
    barrier = threading.Barrier(8)

    def send() -> None:
        with httpx.Client(base_url=sandbox.url) as c:
            barrier.wait()
            answers.append(post(c, EVENT).json())

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({a["requestId"] for a in answers}) == 1
    assert sandbox.stats()["by_verdict"] == {"accepted": 1, "duplicate": 7}


def test_latency_delays_without_serializing() -> None:
    import http.client

    with Sandbox(SandboxConfig(host="127.0.0.1", port=0, latency_ms=50)) as sb:
        with httpx.Client(base_url=sb.url) as c:
            t = time.perf_counter()
            assert post(c, EVENT).status_code == 200
            assert time.perf_counter() - t >= 0.05
        per_thread = 4
        # Cheap clients, connected before the clock starts: the test measures the sandbox.
        conns = [http.client.HTTPConnection("127.0.0.1", sb.port, timeout=10) for _ in range(16)]
        for conn in conns:
            conn.connect()
        barrier = threading.Barrier(17)
        statuses: list[int] = []

        def worker(i: int) -> None:
            barrier.wait()
            for j in range(per_thread):
                body = json.dumps(event(f"evt_lat_{i}_{j}"))
                conns[i].request(
                    "POST", "/api/ota/event", body=body, headers={**HEADERS, "content-type": "application/json"}
                )
                r = conns[i].getresponse()
                r.read()
                statuses.append(r.status)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
        for th in threads:
            th.start()
        barrier.wait()
        t = time.perf_counter()
        for th in threads:
            th.join()
        elapsed = time.perf_counter() - t
        for conn in conns:
            conn.close()
    assert statuses == [200] * 64
    # 64 requests, 16 in flight, 50 ms each: ~0.2 s when parallel, 3.2 s if serialized (the
    # margin is for a busy 2-core CI machine)
    assert elapsed < 1.2, elapsed


def test_fail_rate_one_gives_500(client: httpx.Client) -> None:
    with Sandbox(SandboxConfig(host="127.0.0.1", port=0, fail_rate=1.0)) as sb, httpx.Client(base_url=sb.url) as c:
        r = post(c, EVENT)
        assert r.status_code == 500
        assert r.json()["success"] is False
        # faults happen before recording: nothing was remembered
        assert sb.stats()["idempotency_keys"] == 0


def test_fault_plan_is_deterministic_with_seed() -> None:
    def statuses(seed: int) -> list[int]:
        cfg = SandboxConfig(host="127.0.0.1", port=0, faults="500:0.3,429:0.2,499:0.1", seed=seed)
        with Sandbox(cfg) as sb, httpx.Client(base_url=sb.url) as c:
            return [post(c, event(f"evt_seed_{i}")).status_code for i in range(40)]

    a, b = statuses(7), statuses(7)
    assert a == b
    assert {200, 500, 429, 499} <= set(a)
    assert statuses(8) != a


def test_injected_429_has_retry_after() -> None:
    with Sandbox(SandboxConfig(host="127.0.0.1", port=0, faults="429:1")) as sb, httpx.Client(base_url=sb.url) as c:
        r = post(c, EVENT)
        assert r.status_code == 429
        assert r.headers["retry-after"] == "1"
        assert r.json()["code"] == CODE_RATE_LIMITED


def test_drop_closes_without_answer() -> None:
    with Sandbox(SandboxConfig(host="127.0.0.1", port=0, faults="drop:1")) as sb, httpx.Client(base_url=sb.url) as c:
        with pytest.raises(httpx.TransportError):
            post(c, EVENT)
        assert sb.stats()["by_verdict"] == {"dropped": 1}
        assert sb.stats()["idempotency_keys"] == 0


def _seed_where(first_below: float, then_above: float) -> int:
    for seed in range(1000):
        rng = random.Random(seed)
        if rng.random() < first_below and rng.random() >= then_above:
            return seed
    raise AssertionError("no seed found")


def test_drop_after_records_then_retry_gets_the_same_answer() -> None:
    seed = _seed_where(0.5, 0.5)
    cfg = SandboxConfig(host="127.0.0.1", port=0, faults="drop-after:0.5", seed=seed)
    with Sandbox(cfg) as sb, httpx.Client(base_url=sb.url) as c:
        with pytest.raises(httpx.TransportError):
            post(c, EVENT)
        events = sb.events()
        assert [e["verdict"] for e in events] == ["accepted"]
        assert events[0]["fault"] == "drop-after"
        retry = post(c, EVENT)
        assert retry.status_code == 200
        assert retry.json()["requestId"] == events[0]["requestId"]
        assert sb.events()[-1]["verdict"] == "duplicate"


def test_rate_limit_429_with_retry_after() -> None:
    with Sandbox(SandboxConfig(host="127.0.0.1", port=0, rate_limit=2)) as sb, httpx.Client(base_url=sb.url) as c:
        codes = [post(c, event(f"evt_rl_{i}")) for i in range(4)]
        assert [r.status_code for r in codes[:2]] == [200, 200]
        limited = codes[2]
        assert limited.status_code == 429
        assert limited.json()["code"] == CODE_RATE_LIMITED
        retry_after = limited.headers["retry-after"]
        assert retry_after.isdigit() and int(retry_after) >= 1
        assert limited.headers["ratelimit-limit"] == "2"
        assert limited.headers["ratelimit-remaining"] == "0"
        assert int(limited.headers["ratelimit-reset"]) >= 1
        assert "ratelimit-remaining" in codes[0].headers
        time.sleep(0.6)  # two tokens a second: one is back
        assert post(c, event("evt_rl_later")).status_code == 200
        # a rate-limited event was not recorded: sending it again later works
        assert sb.stats()["by_verdict"]["rate_limited"] >= 1


def test_store_keeps_what_arrived_without_the_key(tmp_path: Path) -> None:
    store = tmp_path / "sub" / "arrived.jsonl"
    with Sandbox(SandboxConfig(host="127.0.0.1", port=0, store=store)) as sb, httpx.Client(base_url=sb.url) as c:
        ok = post(c, EVENT).json()
        post(c, EVENT)
        bad = event("evt_bad")
        del bad["userId"]
        post(c, bad)
        post(c, EVENT, {k: v for k, v in HEADERS.items() if k != "x-client-app-id"})
        c.post("/pwa/events", json={"eventType": "page_view", "properties": "{}"})
    text = store.read_text()
    assert SECRET not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert [(r["flow"], r["status"], r["verdict"]) for r in lines] == [
        ("server", 200, "accepted"),
        ("server", 200, "duplicate"),
        ("server", 400, "invalid"),
        ("server", 401, "unauthorized"),
        ("pwa", 200, "warning"),
    ]
    first = lines[0]
    assert first["requestId"] == ok["requestId"] == lines[1]["requestId"]
    assert first["client_id"] == "acme-travel"
    assert first["event"] == EVENT
    assert first["event_id"] == "evt_flight_confirm_789"
    assert first["headers"]["x-client-service"] == "flights"
    assert first["headers"]["authorization"] == "[redacted]"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", first["received_at"])
    assert {p["path"] for p in lines[2]["problems"]} >= {"userId"}


def test_inspection_endpoints(sandbox: Sandbox, client: httpx.Client) -> None:
    post(client, EVENT)
    post(client, event("evt_2"))
    bad = event("evt_3")
    bad["schemaVersion"] = 2
    post(client, bad)
    all_events = client.get("/_sandbox/events").json()
    assert [e["verdict"] for e in all_events["events"]] == ["accepted", "accepted", "invalid"]
    assert all_events["last_seq"] == 3
    invalid = client.get("/_sandbox/events", params={"verdict": "invalid"}).json()["events"]
    assert [e["event_id"] for e in invalid] == ["evt_3"]
    newer = client.get("/_sandbox/events", params={"since": 2}).json()["events"]
    assert [e["seq"] for e in newer] == [3]
    assert client.get("/_sandbox/events", params={"limit": "x"}).status_code == 400
    stats = client.get("/_sandbox/stats").json()
    assert stats["total"] == 3
    assert stats["by_status"] == {"200": 2, "400": 1}
    assert stats["by_flow"] == {"server": 3}
    index = client.get("/").json()
    assert "POST /api/ota/event" in index["endpoints"]
    assert client.post("/_sandbox/reset", headers={"x-rapido-sandbox": "1"}).json() == {"reset": True}
    assert client.get("/_sandbox/stats").json()["total"] == 0
    # after a reset the same id is new again
    assert post(client, event(amount_total=1)).status_code == 200


def test_on_event_gets_a_line_per_event() -> None:
    seen: list[SandboxEvent] = []
    cfg = SandboxConfig(host="127.0.0.1", port=0, on_event=seen.append)
    with Sandbox(cfg) as sb, httpx.Client(base_url=sb.url) as c:
        post(c, EVENT)
        post(c, EVENT)
        c.post("/pwa/events", json={"eventType": "page_view", "properties": json.dumps({"timestamp": "x"})})
    assert [(e.flow, e.verdict, e.status) for e in seen] == [
        ("server", "accepted", 200),
        ("server", "duplicate", 200),
        ("pwa", "invalid", 400),
    ]
    assert seen[0].event_type == "order.confirmed"
    assert seen[0].event_id == "evt_flight_confirm_789"
    assert seen[0].request_id == seen[1].request_id


def test_keep_alive_many_events_on_one_connection(sandbox: Sandbox) -> None:
    with socket.create_connection(("127.0.0.1", sandbox.port)) as s:
        f = s.makefile("rb")
        for i in range(20):
            body = json.dumps(event(f"evt_ka_{i}")).encode()
            head = "".join(f"{k}: {v}\r\n" for k, v in HEADERS.items())
            s.sendall(
                f"POST /api/ota/event HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{head}"
                f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            status = f.readline()
            assert status.startswith(b"HTTP/1.1 200"), status
            length = 0
            while (line := f.readline()) != b"\r\n":
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            assert json.loads(f.read(length))["success"] is True
    assert sandbox.stats()["by_verdict"] == {"accepted": 20}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("500", "no probability"),
        ("teapot:0.1", "unknown fault"),
        ("200:0.1", "unknown fault"),
        ("500:x", "not a number"),
        ("500:1.5", "not a probability"),
        ("500:0.6,drop:0.6", "more than 1"),
    ],
)
def test_bad_fault_specs(spec: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_faults(spec)


def test_fault_spec_parses() -> None:
    plan = parse_faults("500:0.1, 429:0.05,499:0.05,drop:0.05,drop-after:0.02", fail_rate=0.1)
    assert [(f.kind, f.probability) for f in plan] == [
        ("500", 0.1),
        ("500", 0.1),
        ("429", 0.05),
        ("499", 0.05),
        ("drop", 0.05),
        ("drop-after", 0.02),
    ]
    assert plan[0].status == 500 and plan[4].status is None


@pytest.mark.parametrize(
    "kwargs", [{"latency_ms": -1}, {"rate_limit": 0}, {"fail_rate": 2}, {"missed_after_s": 0}, {"port": 70000}]
)
def test_bad_config_is_a_usage_error(kwargs: dict[str, Any]) -> None:
    with pytest.raises(UsageError):
        SandboxConfig(**kwargs)


def _raw(port: int, data: bytes, *, then: bytes | None = None) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        if then is not None:
            assert s.recv(1024).startswith(b"HTTP/1.1 100 Continue")
            s.sendall(then)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def _request(body: bytes, *, version: str = "HTTP/1.1", extra: str = "") -> bytes:
    head = "".join(f"{k}: {v}\r\n" for k, v in HEADERS.items())
    return (
        f"POST /api/ota/event {version}\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{head}{extra}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def test_http10_gets_an_answer_and_a_close(sandbox: Sandbox) -> None:
    reply = _raw(sandbox.port, _request(json.dumps(EVENT).encode(), version="HTTP/1.0"))
    assert reply.startswith(b"HTTP/1.1 200 OK")
    assert b"Connection: close" in reply
    assert json.loads(reply.split(b"\r\n\r\n", 1)[1])["success"] is True


def test_connection_close_is_honoured(sandbox: Sandbox) -> None:
    reply = _raw(sandbox.port, _request(json.dumps(EVENT).encode(), extra="Connection: close\r\n"))
    assert reply.startswith(b"HTTP/1.1 200 OK") and b"Connection: close" in reply


def test_expect_100_continue(sandbox: Sandbox) -> None:
    body = json.dumps(event("evt_expect")).encode()
    head = _request(body, extra="Expect: 100-continue\r\nConnection: close\r\n")[: -len(body)]
    reply = _raw(sandbox.port, head, then=body)
    assert reply.startswith(b"HTTP/1.1 200 OK"), reply


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"GARBAGE\r\n\r\n", b"400"),
        (b"GET / HTTP/2.0\r\n\r\n", b"505"),
        (b"GET / HTTP/1.1\r\nno colon here\r\n\r\n", b"400"),
        (b"GET / HTTP/1.1\r\n" + b"".join(b"x-h%d: v\r\n" % i for i in range(150)) + b"\r\n", b"431"),
    ],
)
def test_malformed_requests(sandbox: Sandbox, data: bytes, status: bytes) -> None:
    reply = _raw(sandbox.port, data)
    assert reply.split(b" ", 2)[1] == status, reply[:200]
    # the server is still fine afterwards
    assert httpx.get(sandbox.url + "/_sandbox/stats").status_code == 200


def test_header_names_are_case_insensitive_and_repeats_join(sandbox: Sandbox) -> None:
    body = json.dumps(event("evt_case")).encode()
    data = (
        "POST /api/ota/event HTTP/1.1\r\nHost: 127.0.0.1\r\nCONTENT-TYPE: application/json\r\nX-Client-Id: acme\r\n"
        "X-CLIENT-SERVICE: hotels\r\nx-client-app-id: app\r\nAuthorization: k\r\nConnection: close\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    assert _raw(sandbox.port, data).startswith(b"HTTP/1.1 200 OK")
    assert sandbox.events()[-1]["client_id"] == "acme"


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8787", "192.168.1.5", ""])
def test_non_loopback_host_header_is_refused(sandbox: Sandbox, host: str) -> None:
    # DNS rebinding: a page whose name now resolves to 127.0.0.1 must not read or post events
    reply = _raw(sandbox.port, f"GET /_sandbox/events HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    assert reply.startswith(b"HTTP/1.1 403"), reply[:100]


@pytest.mark.parametrize("host", ["localhost", "localhost:8787", "127.0.0.1:1", "[::1]:8787", "app.localhost", None])
def test_loopback_host_headers_are_fine(sandbox: Sandbox, host: str | None) -> None:
    extra = f"Host: {host}\r\n" if host is not None else ""  # HTTP/1.0 clients may send none
    reply = _raw(sandbox.port, f"GET /_sandbox/stats HTTP/1.1\r\n{extra}Connection: close\r\n\r\n".encode())
    assert reply.startswith(b"HTTP/1.1 200"), reply[:100]


def test_idempotency_memory_is_bounded_oldest_forgotten_first() -> None:
    from rapido_cli.sandbox.state import Ledger

    ledger = Ledger(10, None, max_answers=3)
    for n in range(5):
        ledger.remember(("c", f"e{n}"), (b"h", f"req_{n}", "t"))
    assert ledger.lookup(("c", "e0")) is None and ledger.lookup(("c", "e1")) is None
    assert ledger.lookup(("c", "e4")) == (b"h", "req_4", "t")
    assert ledger.stats()["idempotency_keys"] == 3
    # a repeat keeps the first answer
    assert ledger.remember(("c", "e4"), (b"h", "req_other", "t"))[1] == "req_4"
