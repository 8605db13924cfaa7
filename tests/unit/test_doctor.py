"""``rapido doctor``: every row against real loopback servers (the sandbox, scripted ones, a CONNECT proxy)."""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import trustme
from conftest import TEST_KEY, write_profiles
from httpserver import Reply, error_body, ok_body
from test_tls_support import ConnectProxy, fixed_date, tls_server

from rapido_cli.doctor import PROBE_EVENT, Report, run_checks
from rapido_cli.sandbox import Sandbox
from rapido_cli.transport.proxy import proxy_for


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("SSL_CERT_FILE", "SSL_CERT_DIR", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(var, raising=False)


def sandbox_events(sb: Sandbox) -> list[dict[str, Any]]:
    with urllib.request.urlopen(sb.url + "/_sandbox/events") as resp:
        return json.loads(resp.read())["events"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rows(report: Report) -> dict[str, str]:
    return {c.name: c.status for c in report.checks}


def doctor(cfg: Path, env: dict[str, str] | None = None, **kw: Any) -> Report:
    return run_checks(kw.pop("profile", None), config_path=cfg, environ=env or {}, timeout=kw.pop("timeout", 3), **kw)


# ---------------------------------------------------------------- end to end


def test_passes_against_the_sandbox_and_records_no_event(sandbox: Sandbox, tmp_path: Path) -> None:
    cfg = write_profiles(tmp_path / "profiles.yaml", sandbox.url, key=TEST_KEY)
    report = doctor(cfg)
    assert report.ok, [(c.name, c.summary) for c in report.failures]
    assert int(report.exit_code) == 0
    assert rows(report) == {
        "config": "pass",
        "permissions": "pass",
        "profile": "pass",
        "key": "pass",
        "url": "pass",
        "proxy": "info",
        "dns": "pass",
        "tcp": "pass",
        "tls": "skip",
        "clock": "pass",
        "auth": "pass",
    }
    assert "400" in report.get("auth").summary  # type: ignore[union-attr]
    events = sandbox_events(sandbox)
    assert len(events) == 1  # the probe reached the sandbox...
    assert events[0]["verdict"] == "invalid"  # ...and was refused as invalid: nothing accepted or stored
    assert not [e for e in events if e["verdict"] in ("accepted", "duplicate")]


def test_cli_doctor_with_embedded_sandbox_exits_0(rapido, tmp_path: Path) -> None:
    res = rapido("doctor", "--sandbox", env={"RAPIDO_CONFIG": str(tmp_path / "none.yaml")})
    assert res.code == 0, res.output
    assert "PASS  authentication" in res.stdout
    assert "All checks passed" in res.stdout
    assert "SANDBOX" in res.stderr


def test_wrong_key_fails_on_the_auth_row_exit_3(sandbox: Sandbox, tmp_path: Path, rapido) -> None:
    cfg = write_profiles(tmp_path / "profiles.yaml", sandbox.url, key="sk_test_WRONG_key_00000000")
    report = doctor(cfg)
    auth = report.get("auth")
    assert auth is not None and auth.status == "fail"
    assert "401" in auth.summary and "set-key" in (auth.hint or "")
    assert [c.name for c in report.failures] == ["auth"]
    assert int(report.exit_code) == 3
    res = rapido("doctor", env={"RAPIDO_CONFIG": str(cfg)})
    assert res.code == 3
    assert "FAIL  authentication" in res.stdout and "credentials refused: HTTP 401" in res.stdout
    assert "hint:" in res.stdout
    assert not [e for e in sandbox_events(sandbox) if e["verdict"] in ("accepted", "duplicate")]


def test_nothing_listening_fails_on_the_tcp_row_exit_75(tmp_path: Path, rapido) -> None:
    cfg = write_profiles(tmp_path / "profiles.yaml", f"http://127.0.0.1:{free_port()}", key=TEST_KEY)
    report = doctor(cfg)
    assert rows(report)["tcp"] == "fail"
    assert rows(report)["auth"] == "skip"
    assert "connection refused" in report.get("tcp").summary  # type: ignore[union-attr]
    assert int(report.exit_code) == 75
    res = rapido("doctor", "--json", env={"RAPIDO_CONFIG": str(cfg)})
    assert res.code == 75
    doc = json.loads(res.stdout)
    assert doc["ok"] is False and doc["exit_code"] == 75
    tcp = next(c for c in doc["checks"] if c["name"] == "tcp")
    assert tcp["status"] == "fail" and tcp["category"] == "network" and tcp["hint"]


def test_the_probe_is_invalid_by_every_rule() -> None:
    from rapido_cli.rules import check_server_event

    errors = [p for p in check_server_event(PROBE_EVENT) if p.severity == "error"]
    assert {p.path for p in errors} >= {"userId", "event.type", "event.id", "schemaVersion"}


def test_probe_carries_the_credentials_and_a_marker(server, tmp_path: Path) -> None:
    srv = server([Reply(400, error_body(7001, "invalid event"))])
    cfg = write_profiles(tmp_path / "profiles.yaml", srv.url, key=TEST_KEY)
    assert doctor(cfg).ok
    req = srv.requests[-1]
    assert req.path == "/api/ota/event"
    assert req.headers["authorization"] == TEST_KEY
    assert req.headers["x-client-id"] == "acme-travel"
    assert req.headers["x-rapido-probe"] == "doctor"
    assert req.json() == PROBE_EVENT


@pytest.mark.parametrize(
    ("status", "row", "code"),
    [(403, "fail", 3), (404, "fail", 3), (503, "fail", 75), (429, "fail", 75), (200, "warn", 0), (418, "warn", 0)],
)
def test_other_answers_are_inconclusive(server, tmp_path: Path, status: int, row: str, code: int) -> None:
    body = ok_body() if status == 200 else error_body(7001, f"status {status}")
    srv = server([Reply(status, body)])
    cfg = write_profiles(tmp_path / "profiles.yaml", srv.url, key=TEST_KEY)
    report = doctor(cfg)
    auth = report.get("auth")
    assert auth is not None and auth.status == row, auth.summary
    if status != 403:
        assert "inconclusive" in auth.summary
    assert int(report.exit_code) == code


def test_clock_off_by_an_hour_fails(server, tmp_path: Path) -> None:
    srv = server([Reply(400, error_body(7001, "invalid"))])
    fixed_date(srv, time.time() + 3600)
    cfg = write_profiles(tmp_path / "profiles.yaml", srv.url, key=TEST_KEY)
    report = doctor(cfg)
    clock = report.get("clock")
    assert clock is not None and clock.status == "fail"
    assert "behind" in clock.summary and 3590 <= clock.data["skew_s"] <= 3610
    assert "ntp" in (clock.hint or "").lower()
    assert report.get("auth").status == "pass"  # type: ignore[union-attr]
    assert int(report.exit_code) == 3


def test_clock_a_minute_off_warns(server, tmp_path: Path) -> None:
    srv = server([Reply(400, error_body(7001, "invalid"))])
    fixed_date(srv, time.time() - 60)
    cfg = write_profiles(tmp_path / "profiles.yaml", srv.url, key=TEST_KEY)
    report = doctor(cfg)
    assert report.get("clock").status == "warn"  # type: ignore[union-attr]
    assert "ahead of" in report.get("clock").summary  # type: ignore[union-attr]
    assert report.ok


def test_a_host_that_does_not_exist_is_configuration(tmp_path: Path) -> None:
    # Same classes as `rapido send`: EAI_NONAME is configuration (3), EAI_AGAIN is weather (75).
    def resolver(host: str, port: int) -> list[Any]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    cfg = write_profiles(tmp_path / "profiles.yaml", "https://partner-staging.example.com", key=TEST_KEY)
    report = doctor(cfg, resolver=resolver)
    dns = report.get("dns")
    assert dns is not None and dns.status == "fail"
    assert "partner-staging.example.com" in dns.summary and "does not exist" in dns.summary
    assert rows(report)["tcp"] == "skip" and rows(report)["auth"] == "skip"
    assert int(report.exit_code) == 3


def test_a_temporary_resolver_failure_is_a_network_failure(tmp_path: Path) -> None:
    def resolver(host: str, port: int) -> list[Any]:
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    cfg = write_profiles(tmp_path / "profiles.yaml", "https://partner-staging.example.com", key=TEST_KEY)
    report = doctor(cfg, resolver=resolver)
    dns = report.get("dns")
    assert dns is not None and dns.status == "fail" and "cannot resolve" in dns.summary
    assert int(report.exit_code) == 75


def test_dns_that_hangs_times_out(tmp_path: Path) -> None:
    def resolver(host: str, port: int) -> list[Any]:
        time.sleep(5)
        return []

    cfg = write_profiles(tmp_path / "profiles.yaml", "https://slow.example.invalid", key=TEST_KEY)
    start = time.monotonic()
    report = doctor(cfg, resolver=resolver, timeout=0.3)
    assert time.monotonic() - start < 3
    assert "no answer within 0.3 s" in report.get("dns").summary  # type: ignore[union-attr]


# ---------------------------------------------------------------- config, profile, key rows


def test_missing_config_and_key_fail_with_hints(tmp_path: Path) -> None:
    report = doctor(tmp_path / "nope.yaml")
    assert rows(report)["config"] == "warn"
    assert rows(report)["profile"] == "fail"
    assert "profile add" in (report.get("profile").hint or "")  # type: ignore[union-attr]
    assert int(report.exit_code) == 3


def test_env_only_setup_needs_no_file(sandbox: Sandbox, tmp_path: Path) -> None:
    env = {
        "RAPIDO_BASE_URL": sandbox.url,
        "RAPIDO_CLIENT_ID": "acme-travel",
        "RAPIDO_APP_ID": "acme-pwa",
        "RAPIDO_SERVICE": "flights",
        "RAPIDO_CLIENT_KEY": TEST_KEY,
    }
    report = doctor(tmp_path / "nope.yaml", env)
    assert report.ok, [(c.name, c.summary) for c in report.failures]
    key = report.get("key")
    assert key is not None and key.summary == "****WXYZ from env:RAPIDO_CLIENT_KEY"
    assert "env:RAPIDO_BASE_URL" in report.get("profile").summary  # type: ignore[union-attr]


def test_broken_yaml_fails_the_config_row(tmp_path: Path) -> None:
    cfg = tmp_path / "profiles.yaml"
    cfg.write_text("profiles:\n  test: [unclosed\n")
    cfg.chmod(0o600)
    report = doctor(cfg)
    assert rows(report)["config"] == "fail"
    assert "not valid YAML" in report.get("config").summary  # type: ignore[union-attr]
    assert int(report.exit_code) == 3


def test_readable_config_with_inline_key_fails_permissions(tmp_path: Path, rapido) -> None:
    import yaml

    cfg = tmp_path / "profiles.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "profiles": {
                    "default": {
                        "base_url": "http://127.0.0.1:9",
                        "client_id": "c",
                        "app_id": "a",
                        "service": "flights",
                        "key": TEST_KEY,
                    }
                }
            }
        )
    )
    cfg.chmod(0o644)
    report = doctor(cfg)
    perm = report.get("permissions")
    assert perm is not None and perm.status == "fail"
    assert f"chmod 600 {cfg}" in (perm.hint or "")
    assert rows(report)["key"] == "fail"
    res = rapido("doctor", env={"RAPIDO_CONFIG": str(cfg)})
    assert res.code == 3
    assert TEST_KEY not in res.output and TEST_KEY[-4:] not in res.output


def test_readable_config_without_key_only_warns(sandbox: Sandbox, tmp_path: Path) -> None:
    cfg = write_profiles(tmp_path / "profiles.yaml", sandbox.url, key=TEST_KEY)
    cfg.chmod(0o644)
    report = doctor(cfg)
    assert rows(report)["permissions"] == "warn"
    assert report.ok


def test_unsafe_url_gets_its_own_row(tmp_path: Path) -> None:
    cfg = write_profiles(tmp_path / "profiles.yaml", "http://partner.example.com", key=TEST_KEY)
    report = doctor(cfg)
    assert rows(report)["url"] == "fail"
    assert "allow_http" in (report.get("url").hint or "")  # type: ignore[union-attr]
    assert rows(report)["dns"] == "skip"


def test_base_url_with_the_api_path_warns(server, tmp_path: Path) -> None:
    srv = server([Reply(404, error_body(7004, "not found"))])
    cfg = write_profiles(tmp_path / "profiles.yaml", srv.url + "/api/ota/event", key=TEST_KEY)
    report = doctor(cfg)
    assert rows(report)["url"] == "warn"
    assert srv.url in (report.get("url").hint or "")  # type: ignore[union-attr]
    assert rows(report)["auth"] == "fail"  # ...and the probe then hits .../api/ota/event/api/ota/event


# ---------------------------------------------------------------- proxies


def test_proxy_selection_follows_the_transport() -> None:
    url = "https://partner.example.com"
    assert proxy_for(url, {}).proxy is None
    proxy = proxy_for(url, {"HTTPS_PROXY": "proxy.corp:3128"}).proxy
    assert proxy is not None and proxy.url == "http://proxy.corp:3128" and proxy.variable == "HTTPS_PROXY"
    proxy = proxy_for(url, {"HTTPS_PROXY": "http://a:1", "https_proxy": "http://b:2"}).proxy
    assert proxy is not None and proxy.variable == "https_proxy"  # lower case wins, as in urllib
    proxy = proxy_for(url, {"ALL_PROXY": "http://a:1"}).proxy
    assert proxy is not None and proxy.variable == "ALL_PROXY"
    assert proxy_for(url, {"HTTP_PROXY": "http://a:1"}).proxy is None  # only for http:// URLs
    choice = proxy_for(url, {"HTTPS_PROXY": "http://a:1", "NO_PROXY": "example.com"})
    assert (choice.proxy, choice.bypass) == (None, "example.com")
    assert proxy_for(url, {"HTTPS_PROXY": "http://a:1", "NO_PROXY": "*"}).proxy is None
    assert proxy_for(url, {"HTTPS_PROXY": "http://a:1", "NO_PROXY": "other.com,ample.com"}).proxy is not None
    proxy = proxy_for(url, {"HTTPS_PROXY": "http://user:s3cret@proxy.corp:3128"}).proxy
    assert proxy is not None and proxy.display == "http://user:****@proxy.corp:3128"


def test_doctor_goes_through_an_https_proxy(tmp_path: Path) -> None:
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    with tls_server(ca, [Reply(400, error_body(7001, "invalid"))]) as srv, ConnectProxy() as proxy:
        cfg = write_profiles(tmp_path / "profiles.yaml", srv.https_url, key=TEST_KEY, ca_bundle=str(ca_file))
        report = doctor(cfg, {"HTTPS_PROXY": proxy.url})
        assert report.ok, [(c.name, c.summary) for c in report.failures]
        assert f"via {proxy.url} (from HTTPS_PROXY)" in report.get("proxy").summary  # type: ignore[union-attr]
        assert "proxy 127.0.0.1" in report.get("tcp").summary  # type: ignore[union-attr]
        target = srv.https_url.removeprefix("https://")
        assert proxy.tunnels.count(target) == 2  # the TLS check and the probe both went through it
        assert srv.requests and srv.requests[-1].headers["authorization"] == TEST_KEY

        report = doctor(cfg, {"HTTPS_PROXY": proxy.url, "NO_PROXY": "127.0.0.1"})
        assert "NO_PROXY entry '127.0.0.1'" in report.get("proxy").summary  # type: ignore[union-attr]
        assert proxy.tunnels.count(target) == 2


def test_dead_proxy_fails_the_tcp_row(tmp_path: Path) -> None:
    cfg = write_profiles(tmp_path / "profiles.yaml", "https://partner.example.com", key=TEST_KEY)
    report = doctor(cfg, {"HTTPS_PROXY": f"http://127.0.0.1:{free_port()}"})
    tcp = report.get("tcp")
    assert tcp is not None and tcp.status == "fail"
    assert tcp.summary.startswith("proxy 127.0.0.1:") and "refused" in tcp.summary
    assert int(report.exit_code) == 75


# ---------------------------------------------------------------- the command


def test_json_output_shape(sandbox: Sandbox, tmp_path: Path, rapido) -> None:
    cfg = write_profiles(tmp_path / "profiles.yaml", sandbox.url, key=TEST_KEY)
    res = rapido("doctor", "--json", env={"RAPIDO_CONFIG": str(cfg)})
    assert res.code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["ok"] is True and doc["exit_code"] == 0 and doc["profile"] == "test"
    names = [c["name"] for c in doc["checks"]]
    assert names == ["config", "permissions", "profile", "key", "url", "proxy", "dns", "tcp", "tls", "clock", "auth"]
    for c in doc["checks"]:
        assert set(c) == {"name", "title", "status", "summary", "hint", "category", "elapsed_ms", "data"}
    assert TEST_KEY not in res.stdout


def test_quiet_shows_only_problems(tmp_path: Path, rapido) -> None:
    cfg = write_profiles(tmp_path / "profiles.yaml", f"http://127.0.0.1:{free_port()}", key=TEST_KEY)
    res = rapido("doctor", "-q", env={"RAPIDO_CONFIG": str(cfg)})
    assert res.code == 75
    assert "FAIL  TCP connect" in res.stdout
    assert "PASS" not in res.stdout


def test_help_has_examples(rapido) -> None:
    res = rapido("doctor", "--help")
    assert res.code == 0
    assert res.stdout.count("rapido doctor") >= 3
    assert "75" in res.stdout


def test_incomplete_profile_fails_its_row_and_lists_every_row(sandbox: Sandbox, tmp_path: Path) -> None:
    cfg = write_profiles(tmp_path / "profiles.yaml", sandbox.url, key=TEST_KEY, client_id="")
    report = doctor(cfg)
    assert rows(report)["profile"] == "fail"
    assert "client_id" in report.get("profile").summary  # type: ignore[union-attr]
    assert rows(report)["auth"] == "skip"
    assert len(report.checks) == 11
    report = doctor(tmp_path / "none.yaml", profile="nope")
    assert [c.name for c in report.checks][-1] == "auth" and len(report.checks) == 11
