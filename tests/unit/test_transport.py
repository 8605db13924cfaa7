"""The transport's single decisions, unit by unit: proxy and NO_PROXY, the route and plain http,
Retry-After, the retry loop and its hooks, classification, and the key scrubber."""

from __future__ import annotations

import random
import re
import threading
import time
import urllib.parse
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rapido_cli.errors import ConfigError, ExitCode
from rapido_cli.transport import Attempt, RetryPolicy, Scrubber, classify, deliver, exit_code_for, parse_retry_after
from rapido_cli.transport.answer import failure_for_status, is_acknowledgement, parse_json
from rapido_cli.transport.proxy import no_proxy_matches, proxy_for
from rapido_cli.transport.route import plan_route

KEY = "sk_live/Echo+Test=9/abcWXYZ"

# ---------------------------------------------------------------- proxy: one decision


@pytest.mark.parametrize(
    ("entry", "host", "port", "match"),
    [
        ("*", "api.example.com", 443, True),
        ("example.com", "example.com", 443, True),
        ("example.com", "api.example.com", 443, True),  # a domain covers its subdomains
        ("example.com", "badexample.com", 443, False),  # ...but not another name ending the same
        (".example.com", "api.example.com", 443, True),
        (".example.com", "example.com", 443, True),  # the leading dot is optional
        ("EXAMPLE.COM.", "api.example.com", 443, True),  # case and a trailing dot do not matter
        ("127.0.0.0/8", "127.0.0.1", 80, True),
        ("127.0.0.0/8", "127.9.9.9", 80, True),
        ("127.0.0.0/8", "128.0.0.1", 80, False),
        ("127.0.0.0/8", "localhost", 80, False),  # CIDR matches addresses, not names
        ("10.0.0.0/8", "10.1.2.3", 443, True),
        ("::1", "::1", 80, True),
        ("[::1]", "::1", 80, True),
        ("::1/128", "::1", 80, True),
        ("fd00::/8", "fd12::1", 443, True),
        ("[::1]:8080", "::1", 8080, True),
        ("[::1]:8080", "::1", 9090, False),
        ("127.0.0.1", "127.0.0.1", 8787, True),
        ("api.example.com:8443", "api.example.com", 8443, True),
        ("api.example.com:8443", "api.example.com", 443, False),
        ("", "api.example.com", 443, False),
    ],
)
def test_no_proxy_forms(entry: str, host: str, port: int, match: bool) -> None:
    assert no_proxy_matches(entry, host, port) is match


def test_proxy_variables_upper_and_lower_case() -> None:
    url = "https://api.example.com/api/ota/event"
    assert proxy_for(url, {}).proxy is None
    assert proxy_for(url, {"https_proxy": "http://p:1"}).proxy.variable == "https_proxy"  # type: ignore[union-attr]
    assert proxy_for(url, {"HTTPS_PROXY": "http://p:1"}).proxy.variable == "HTTPS_PROXY"  # type: ignore[union-attr]
    both = proxy_for(url, {"HTTPS_PROXY": "http://a:1", "https_proxy": "http://b:2"}).proxy
    assert both is not None and both.url == "http://b:2"  # lower case wins
    assert proxy_for(url, {"HTTPS_PROXY": "http://a:1", "https_proxy": ""}).proxy is None  # empty switches it off
    assert proxy_for(url, {"all_proxy": "http://a:1"}).proxy.variable == "all_proxy"  # type: ignore[union-attr]
    assert proxy_for("http://127.0.0.1:1/x", {"HTTPS_PROXY": "http://a:1"}).proxy is None
    for no in ("NO_PROXY", "no_proxy"):
        choice = proxy_for(url, {"HTTPS_PROXY": "http://a:1", no: "localhost, .example.com"})
        assert choice.proxy is None and choice.bypass == ".example.com"
    # CGI: HTTP_PROXY may come from a request header (httpoxy), so it is ignored there
    assert proxy_for("http://127.0.0.1/x", {"HTTP_PROXY": "http://a:1", "REQUEST_METHOD": "GET"}).proxy is None


@pytest.mark.parametrize("value", ["socks5://127.0.0.1:1080", "socks5h://p:1", "https://proxy.corp:443", "ftp://x"])
def test_unsupported_proxy_scheme_is_a_config_error_naming_the_variable(value: str) -> None:
    with pytest.raises(ConfigError) as err:
        proxy_for("https://api.example.com/api/ota/event", {"ALL_PROXY": value})
    assert "ALL_PROXY" in err.value.message and err.value.exit_code == ExitCode.CONFIG
    assert "NO_PROXY" in (err.value.hint or "")


def test_bad_proxy_port_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="HTTPS_PROXY"):
        proxy_for("https://api.example.com/", {"HTTPS_PROXY": "http://proxy:notaport"})


# ---------------------------------------------------------------- route: the key never in clear


def test_plain_http_only_when_the_whole_route_is_loopback() -> None:
    ok = plan_route("http://127.0.0.1:8787/api/ota/event", {})
    assert ok.proxy is None and ok.warnings == []
    assert plan_route("http://[::1]:8787/x", {}).warnings == []
    assert plan_route("http://localhost:8787/x", {}).warnings == []
    # a loopback proxy on a loopback target is fine
    route = plan_route("http://127.0.0.1:8787/x", {"HTTP_PROXY": "http://127.0.0.1:3128"})
    assert route.proxy is not None and route.request_target == "http://127.0.0.1:8787/x"
    # a proxy off loopback would see the key: refused, and the hint says how to go direct
    with pytest.raises(ConfigError) as err:
        plan_route("http://127.0.0.1:8787/x", {"HTTP_PROXY": "http://192.0.2.10:3128"})
    assert "proxy 192.0.2.10" in err.value.message and "NO_PROXY" in (err.value.hint or "")
    # ...unless NO_PROXY sends it direct (CIDR form)
    assert plan_route("http://127.0.0.1:8787/x", {"HTTP_PROXY": "http://192.0.2.10:3128",
                                                  "NO_PROXY": "127.0.0.0/8"}).proxy is None
    # a name is loopback only if it resolves only to loopback (api.localhost does not resolve here)
    with pytest.raises(ConfigError, match="not loopback"):
        plan_route("http://api.localhost.invalid:8787/x", {})
    with pytest.raises(ConfigError, match="travel in clear") as err:
        plan_route("http://192.0.2.1/x", {})
    assert "allow_http" in (err.value.hint or "")
    allowed = plan_route("http://192.0.2.1/x", {}, allow_http=True)
    assert allowed.warnings and "allow_http" in allowed.warnings[0]


def test_https_route_names_its_trust() -> None:
    route = plan_route("https://api.example.com/api/ota/event", {"SSL_CERT_FILE": "/x/ca.pem"})
    assert route.trust is not None and route.trust.kind == "SSL_CERT_FILE"
    assert "direct" in route.describe() and "SSL_CERT_FILE=/x/ca.pem" in route.describe()
    via = plan_route("https://api.example.com/api/ota/event", {"HTTPS_PROXY": "http://u:pw@192.0.2.5:3128"})
    assert via.request_target == "/api/ota/event"  # a CONNECT tunnel: the origin form inside
    assert "u:****@192.0.2.5" in via.describe() and "pw" not in via.describe()


@pytest.mark.parametrize("url", ["ftp://x/y", "https://", "https://h:99999/", "https://user:pw@host/"])
def test_unusable_base_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError):
        plan_route(url, {})


# ---------------------------------------------------------------- Retry-After


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", 0.0),
        ("7", 7.0),
        (" 12 ", 12.0),
        ("1.5", 1.5),
        ("²", None),  # a Unicode digit: not a delta-seconds
        ("٣", None),
        ("-5", None),
        ("1e9", None),
        ("garbage", None),
        ("", None),
        (None, None),
        ("Mon, 99 Foo 2024 99:99:99 GMT", None),
        ("x" * 500, None),
    ],
)
def test_retry_after_odd_values_are_ignored(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_retry_after_dates_and_huge_values_are_capped_by_the_policy() -> None:
    from email.utils import formatdate

    now = time.time()
    assert parse_retry_after(formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30, abs=1)
    assert parse_retry_after(formatdate(now - 3600, usegmt=True), now=now) == 0.0
    policy = RetryPolicy(max_attempts=3, base=0.0, cap=0.0, retry_after_cap=5.0)
    for ra in (parse_retry_after("99999999999"), parse_retry_after(formatdate(now + 10**8, usegmt=True))):
        att = Attempt(1, 503, 1.0, retry_after=ra, failure="temporary")
        assert policy.wait_after(att) == 5.0


@given(st.text(max_size=60))
def test_retry_after_never_crashes(value: str) -> None:
    got = parse_retry_after(value)
    assert got is None or got >= 0


def test_backoff_is_full_jitter_and_bounded() -> None:
    policy = RetryPolicy(max_attempts=99, base=0.5, cap=4.0)
    rng = random.Random(1)
    waits = [policy.backoff(n, rng) for n in range(1, 200)]
    assert all(0 <= w <= 4.0 for w in waits)
    assert max(waits[10:]) > 2.0  # the cap is reached, and jitter spreads below it


# ---------------------------------------------------------------- classification


@pytest.mark.parametrize(
    ("status", "body", "failure", "verdict", "code"),
    [
        (200, {"success": True, "code": 7000}, None, "ok", 0),
        (200, {"success": True, "code": 7000.0}, "unconfirmed", "config", 3),
        (200, {"success": "true", "code": 7000}, "unconfirmed", "config", 3),
        (200, {"success": "false"}, "unconfirmed", "config", 3),
        (200, {"code": 9999}, "unconfirmed", "config", 3),
        (200, {"success": True, "code": "7000"}, "unconfirmed", "config", 3),
        (200, [{"success": True, "code": 7000}], "unconfirmed", "config", 3),
        (201, {"success": True, "code": 7000}, "unconfirmed", "config", 3),
        (202, None, "unconfirmed", "config", 3),
        (204, None, "unconfirmed", "config", 3),
        (301, None, "redirect", "config", 3),
        (308, None, "redirect", "config", 3),
        (400, None, "rejected", "rejected", 1),
        (409, None, "rejected", "rejected", 1),
        (413, None, "rejected", "rejected", 1),
        (422, None, "rejected", "rejected", 1),
        (401, None, "unauthorized", "unauthorized", 3),
        (403, None, "unauthorized", "unauthorized", 3),
        (404, None, "endpoint", "config", 3),
        (405, None, "endpoint", "config", 3),
        (408, None, "temporary", "retry", 75),
        (429, None, "temporary", "retry", 75),
        (499, None, "temporary", "retry", 75),
        (500, None, "temporary", "retry", 75),
        (503, None, "temporary", "retry", 75),
        (599, None, "temporary", "retry", 75),
        (101, None, "unconfirmed", "config", 3),
    ],
)
def test_every_status_has_one_meaning(status: int, body: Any, failure: str | None, verdict: str, code: int) -> None:
    f = failure_for_status(status, body, truncated=False)
    assert f == failure
    att = Attempt(1, status, 1.0, body=body, failure=f)
    assert classify(att) == verdict
    assert int(exit_code_for(att)) == code


def test_a_cut_acknowledgement_is_not_one() -> None:
    assert is_acknowledgement(200, {"success": True, "code": 7000})
    assert failure_for_status(200, {"success": True, "code": 7000}, truncated=True) == "unconfirmed"


def test_parse_json_is_bounded() -> None:
    assert parse_json(b'{"a": 1}') == (True, {"a": 1})
    assert parse_json(b"[" * 100_000 + b"]" * 100_000) == (False, None)  # too deep: text, never a crash
    assert parse_json(b"[" * 70 + b"]" * 70) == (False, None)
    assert parse_json(b'{"a": NaN}') == (False, None)
    assert parse_json(b'{"a": 1e999}') == (True, {"a": "1e999"})
    assert parse_json(b"\xff\xfe") == (False, None)
    assert parse_json(b"") == (False, None)


# ---------------------------------------------------------------- the one retry loop and its hooks


class FakeSender:
    def __init__(self, statuses: list[int | None]) -> None:
        self.statuses = statuses
        self.calls = 0

    def attempt(self, body: bytes, number: int) -> Attempt:
        self.calls += 1
        st_ = self.statuses[min(self.calls, len(self.statuses)) - 1]
        if st_ is None:
            return Attempt(number, None, 1.0, error="connection refused", failure="temporary")
        body_ = {"success": True, "code": 7000} if st_ == 200 else None
        return Attempt(number, st_, 1.0, body=body_, failure=failure_for_status(st_, body_, False))

    def close(self) -> None:
        pass


FAST = RetryPolicy(max_attempts=4, base=0.0, cap=0.0)


def test_deliver_retries_then_succeeds_and_reports_each_attempt() -> None:
    seen: list[tuple[int, bool]] = []
    done = deliver(
        FakeSender([503, None, 200]), b"{}", FAST, on_attempt=lambda a, final: seen.append((a.number, final))
    )
    assert done.outcome == "sent" and len(done.attempts) == 3 and done.failure is None
    assert seen == [(1, False), (2, False), (3, True)]


def test_deliver_stops_on_final_answers_and_runs_out_of_attempts() -> None:
    assert deliver(FakeSender([400]), b"{}", FAST).outcome == "rejected"
    assert deliver(FakeSender([401]), b"{}", FAST).outcome == "unauthorized"
    done = deliver(FakeSender([302]), b"{}", FAST)
    assert (done.outcome, done.failure, len(done.attempts)) == ("config", "redirect", 1)
    done = deliver(FakeSender([503]), b"{}", FAST)
    assert (done.outcome, done.failure, len(done.attempts)) == ("failed", "temporary", 4)
    assert len(deliver(FakeSender([503]), b"{}", FAST, max_attempts=2).attempts) == 2


def test_deliver_hooks_stop_and_rate_limiter() -> None:
    stop = threading.Event()
    stop.set()
    sender = FakeSender([200])
    assert deliver(sender, b"{}", FAST, stop=stop).outcome == "interrupted" and sender.calls == 0
    sender = FakeSender([200])
    assert deliver(sender, b"{}", FAST, before_attempt=lambda: False).outcome == "interrupted"
    assert sender.calls == 0
    # a stop during the wait between attempts cuts the wait short
    stop = threading.Event()
    slow = RetryPolicy(max_attempts=3, base=30.0, cap=30.0)
    threading.Timer(0.2, stop.set).start()
    t0 = time.monotonic()
    done = deliver(FakeSender([503]), b"{}", slow, stop=stop, rng=random.Random(3))
    assert done.outcome == "interrupted" and len(done.attempts) == 1
    assert time.monotonic() - t0 < 5


# ---------------------------------------------------------------- the key, scrubbed on meaning


def encodings(key: str) -> list[str]:
    """The key in every form a server might echo it in."""
    return [
        key,
        key.replace("/", "\\/"),
        "".join(f"\\u{ord(c):04x}" for c in key),
        "".join(f"\\u{ord(c):04X}" for c in key),
        "".join(f"%{ord(c):02X}" for c in key),
        "".join(f"%{ord(c):02x}" for c in key),
        urllib.parse.quote(key, safe=""),
        re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), urllib.parse.quote(key, safe="")),
        "".join(f"&#{ord(c)};" for c in key),
        "".join(f"&#x{ord(c):x};" for c in key),
    ]


def test_scrubber_masks_every_encoding_in_text_bytes_and_parsed_bodies() -> None:
    s = Scrubber(KEY)
    for form in encodings(KEY):
        text = f"got <{form}> from you"
        assert s.text(text) == "got <****WXYZ> from you", form
        assert KEY.encode() not in s.bytes(text.encode())
        assert s.value({form: [form, {"x": form}]}) == {"****WXYZ": ["****WXYZ", {"x": "****WXYZ"}]}
    mixed = "".join(c if i % 2 else f"%{ord(c):02x}" for i, c in enumerate(KEY))  # partly encoded
    assert s.text(mixed) == "****WXYZ"
    assert s.tail("cut here: " + KEY[:10]) == "cut here: ****WXYZ"  # a key cut off by the size cap
    assert s.text("nothing here 100%") == "nothing here 100%"
    assert s.needed(b'{"success":true}') is False and s.needed(b"\\u0041") is True


@given(st.lists(st.sampled_from([*encodings(KEY), "a", " ", "%", "\\", "&#", "é"]), max_size=6))
def test_scrubber_leaves_no_form_of_the_key(parts: list[str]) -> None:
    out = Scrubber(KEY).text("".join(parts))
    for form in encodings(KEY):
        assert form not in out
