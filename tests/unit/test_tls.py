"""Transport security: verification always on; ca_bundle, SSL_CERT_FILE and the OS store; http only to loopback."""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path

import pytest
import trustme
from conftest import PAYMENT_SEND, TEST_KEY, run_rapido, write_profiles
from httpserver import Reply, error_body, ok_body
from test_tls_support import tls_server

from rapido_cli.doctor import run_checks
from rapido_cli.errors import ConfigError
from rapido_cli.profiles import Secret, Target, resolve_profile
from rapido_cli.transport import EventClient, build_ssl_context, tls_trust

EVENT = PAYMENT_SEND


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture(autouse=True)
def _no_inherited_trust(monkeypatch: pytest.MonkeyPatch) -> None:
    """This machine sets SSL_CERT_FILE globally; every test here says what it trusts."""
    for var in ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(var, raising=False)


def _env(cfg: Path, **extra: str) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    env["RAPIDO_CONFIG"] = str(cfg)
    env.update(extra)
    return env


def _run(rapido, *args: str, env: dict[str, str]):  # type: ignore[no-untyped-def]
    """Run the CLI with exactly ``env`` (in-process: see conftest's ``run_rapido``)."""
    return run_rapido(*args, env=env, exact_env=True).completed(list(args))


# ---------------------------------------------------------------- build_ssl_context


def test_trust_source_order(tmp_path: Path) -> None:
    assert tls_trust("/x/ca.pem", {"SSL_CERT_FILE": "/y"}).kind == "ca_bundle"
    assert tls_trust(None, {"SSL_CERT_FILE": "/y"}).kind == "SSL_CERT_FILE"
    assert tls_trust(None, {"SSL_CERT_DIR": "/d"}).kind == "SSL_CERT_DIR"
    assert tls_trust(None, {}).kind == "system"
    assert "ca_bundle /x/ca.pem" in tls_trust("/x/ca.pem", {}).describe()


def test_context_always_verifies(ca_file: Path) -> None:
    for ctx in (
        build_ssl_context(str(ca_file), {}),
        build_ssl_context(None, {"SSL_CERT_FILE": str(ca_file)}),
        build_ssl_context(None, {}),
    ):
        assert ctx.verify_mode == ssl.CERT_REQUIRED
        assert ctx.check_hostname is True
        assert ctx.minimum_version >= ssl.TLSVersion.TLSv1_2


def test_missing_or_bad_bundle_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not an existing file"):
        build_ssl_context(str(tmp_path / "nope.pem"), {})
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    with pytest.raises(ConfigError, match="no usable PEM"):
        build_ssl_context(str(junk), {})
    with pytest.raises(ConfigError, match="SSL_CERT_FILE"):
        build_ssl_context(None, {"SSL_CERT_FILE": str(tmp_path / "nope.pem")})


# ---------------------------------------------------------------- the client against a trustme server


def _target(url: str, ca_bundle: str | None = None) -> Target:
    return Target(
        url, "acme-travel", "acme-pwa", "flights", Secret(TEST_KEY), timeout=5, max_attempts=1, ca_bundle=ca_bundle
    )


def _event() -> dict:
    return {
        "userId": "u1",
        "event": {"type": "payment.completed", "id": "evt_tls_1"},
        "attributes": {"orderId": "FL_1", "amount_total": 100},
        "schemaVersion": 1,
    }


def test_client_fails_without_the_ca(ca: trustme.CA, monkeypatch: pytest.MonkeyPatch) -> None:
    with tls_server(ca) as srv:
        with EventClient(_target(srv.https_url), environ={}) as client:
            result = client.send(_event())
        assert not result.ok
        assert result.outcome == "untrusted" and len(result.attempts) == 1  # configuration: never retried
        assert "certificate" in (result.message or "").lower() or "ssl" in (result.message or "").lower()
        assert srv.requests == []  # nothing got through the handshake


def test_client_passes_with_ca_bundle(ca: trustme.CA, ca_file: Path) -> None:
    with tls_server(ca) as srv:
        with EventClient(_target(srv.https_url, str(ca_file)), environ={}) as client:
            result = client.send(_event())
        assert result.ok, result.message
        assert srv.requests[0].headers["authorization"] == TEST_KEY


def test_client_passes_with_ssl_cert_file(ca: trustme.CA, ca_file: Path) -> None:
    with tls_server(ca) as srv:
        with EventClient(_target(srv.https_url), environ={"SSL_CERT_FILE": str(ca_file)}) as client:
            result = client.send(_event())
        assert result.ok, result.message


def test_ca_bundle_replaces_ssl_cert_file(ca: trustme.CA, ca_file: Path, tmp_path: Path) -> None:
    other = trustme.CA()
    other_file = tmp_path / "other.pem"
    other.cert_pem.write_to_path(str(other_file))
    with tls_server(ca) as srv:
        # SSL_CERT_FILE would trust the server, but the profile's ca_bundle (another CA) wins.
        env = {"SSL_CERT_FILE": str(ca_file)}
        with EventClient(_target(srv.https_url, str(other_file)), environ=env) as client:
            assert not client.send(_event()).ok


def test_hostname_is_checked(ca: trustme.CA, ca_file: Path) -> None:
    with (
        tls_server(ca, identities=("api.example.test",)) as srv,
        EventClient(_target(srv.https_url, str(ca_file)), environ={}) as client,
    ):
        assert not client.send(_event()).ok


# ---------------------------------------------------------------- the CLI and doctor say which


def test_cli_send_fails_then_passes_with_ssl_cert_file(ca: trustme.CA, ca_file: Path, tmp_path: Path, rapido) -> None:
    with tls_server(ca) as srv:
        cfg = write_profiles(tmp_path / "profiles.yaml", srv.https_url, key=TEST_KEY)
        bad = _run(rapido, *EVENT, env=_env(cfg))
        assert bad.returncode == 3  # configuration, not "try again later"
        assert "certificate" in (bad.stdout + bad.stderr).lower()
        assert "ca_bundle" in bad.stderr
        good = _run(rapido, *EVENT, env=_env(cfg, SSL_CERT_FILE=str(ca_file)))
        assert good.returncode == 0, good.stderr
        assert len(srv.requests) == 1


def test_cli_send_passes_with_profile_ca_bundle(ca: trustme.CA, ca_file: Path, tmp_path: Path, rapido) -> None:
    with tls_server(ca) as srv:
        cfg = write_profiles(tmp_path / "profiles.yaml", srv.https_url, key=TEST_KEY, ca_bundle=str(ca_file))
        res = _run(rapido, *EVENT, env=_env(cfg))
        assert res.returncode == 0, res.stderr


def _doctor_tls(cfg: Path, env: dict[str, str]):  # type: ignore[no-untyped-def]
    report = run_checks(None, config_path=cfg, environ=env, timeout=5)
    return report, report.get("tls")


def test_doctor_tls_row_says_which_trust_store(ca: trustme.CA, ca_file: Path, tmp_path: Path) -> None:
    with tls_server(ca, [Reply(400, error_body(7001, "invalid event"))]) as srv:
        cfg = write_profiles(tmp_path / "profiles.yaml", srv.https_url, key=TEST_KEY)

        report, tls = _doctor_tls(cfg, {})
        assert tls is not None and tls.status == "fail"
        assert "operating system's trust store" in tls.summary
        assert "ca_bundle" in (tls.hint or "") and "SSL_CERT_FILE" in (tls.hint or "")
        assert int(report.exit_code) == 3
        assert report.get("auth").status == "skip"  # type: ignore[union-attr]

        report, tls = _doctor_tls(cfg, {"SSL_CERT_FILE": str(ca_file)})
        assert tls is not None and tls.status == "pass", tls.summary
        assert f"SSL_CERT_FILE={ca_file}" in tls.summary
        assert tls.data["version"] in ("TLSv1.2", "TLSv1.3")
        assert tls.data["days_left"] > 300
        assert report.get("auth").status == "pass"  # type: ignore[union-attr]
        assert report.ok and int(report.exit_code) == 0

        cfg = write_profiles(tmp_path / "profiles.yaml", srv.https_url, key=TEST_KEY, ca_bundle=str(ca_file))
        report, tls = _doctor_tls(cfg, {})
        assert tls is not None and tls.status == "pass"
        assert "the profile's ca_bundle" in tls.summary


def test_doctor_reports_hostname_mismatch(ca: trustme.CA, ca_file: Path, tmp_path: Path) -> None:
    with tls_server(ca, identities=("api.example.test",)) as srv:
        cfg = write_profiles(tmp_path / "profiles.yaml", srv.https_url, key=TEST_KEY, ca_bundle=str(ca_file))
        _report, tls = _doctor_tls(cfg, {})
        assert tls is not None and tls.status == "fail"
        assert "another name" in (tls.hint or "")


def test_doctor_warns_of_a_certificate_about_to_expire(ca: trustme.CA, ca_file: Path, tmp_path: Path) -> None:
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=5, hours=1)
    with tls_server(ca, [Reply(400, error_body(7001, "invalid"))], not_after=soon) as srv:
        cfg = write_profiles(tmp_path / "profiles.yaml", srv.https_url, key=TEST_KEY, ca_bundle=str(ca_file))
        report, tls = _doctor_tls(cfg, {})
        assert tls is not None and tls.status == "warn"
        assert tls.data["days_left"] == 5
        assert "expires in 5 days" in tls.summary
        assert report.ok  # a warning does not fail the run


def test_doctor_cli_tls_failure_json(ca: trustme.CA, tmp_path: Path, rapido) -> None:
    import json

    with tls_server(ca) as srv:
        cfg = write_profiles(tmp_path / "profiles.yaml", srv.https_url, key=TEST_KEY)
        res = _run(rapido, "doctor", "--json", "--timeout", "3", env=_env(cfg))
        assert res.returncode == 3, res.stdout + res.stderr
        doc = json.loads(res.stdout)
        rows = {c["name"]: c for c in doc["checks"]}
        assert rows["tls"]["status"] == "fail"
        assert rows["tls"]["data"]["trust"] == "system"
        assert TEST_KEY not in res.stdout + res.stderr


# ---------------------------------------------------------------- plain http


def test_plain_http_only_to_loopback(tmp_path: Path) -> None:
    cfg = write_profiles(tmp_path / "p.yaml", "http://partner.example.com", key=TEST_KEY)
    with pytest.raises(ConfigError, match="plain http"):
        resolve_profile(None, config_path=cfg, environ={})
    cfg = write_profiles(tmp_path / "p.yaml", "http://partner.example.com", key=TEST_KEY, allow_http=True)
    res = resolve_profile(None, config_path=cfg, environ={})
    assert any("plain http" in w for w in res.warnings)
    for url in ("http://127.0.0.1:8787", "http://localhost:8787", "http://[::1]:8787"):
        cfg = write_profiles(tmp_path / "p.yaml", url, key=TEST_KEY)
        assert resolve_profile(None, config_path=cfg, environ={}).warnings == []


def test_cli_refuses_plain_http_with_exit_3(tmp_path: Path, rapido, server) -> None:
    cfg = write_profiles(tmp_path / "p.yaml", "http://partner.example.com", key=TEST_KEY)
    res = rapido(*EVENT, env={"RAPIDO_CONFIG": str(cfg)})
    assert res.code == 3
    assert "allow_http" in res.stderr
    srv = server([Reply(200, ok_body())])
    # allow_http to a loopback URL works silently; to a remote host it warns (checked in-process above).
    cfg = write_profiles(tmp_path / "p.yaml", srv.url, key=TEST_KEY)
    res = rapido(*EVENT, env={"RAPIDO_CONFIG": str(cfg)})
    assert res.code == 0, res.stderr
    assert "warning" not in res.stderr
