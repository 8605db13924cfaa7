"""Fuzzing what a server may answer, against the transport and against ``rapido send`` (in process).

Whatever comes back (status, headers, framing, encoding, bytes): never a traceback, never the key
in any output in any encoding, and never "delivered" without the acknowledgement (HTTP 200 with
``{"success": true, "code": 7000}``). Bounded by default; ``RAPIDO_RUN_SLOW=1`` runs a longer soak.
"""

from __future__ import annotations

import gzip
import json
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import write_profiles
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rawserver import RawServer
from test_transport import encodings

from rapido_cli.profiles import Secret, Target
from rapido_cli.transport import EventClient, RetryPolicy

KEY = "sk_live/Fuzz+Key=7/xyzWXYZ"
EVENT = {"userId": "u1", "event": {"type": "payment.completed", "id": "evt_fuzz"},
         "attributes": {"orderId": "FL_1", "amount_total": 1}, "schemaVersion": 1}
ACK = {"success": True, "code": 7000, "timestamp": "2024-01-15T10:30:00Z", "requestId": "req_fuzz"}
EXACT_FRAMING = ("length", "chunked", "close")


@dataclass
class Answer:
    status: int
    body: bytes
    ack: bool  # the decoded body is the acknowledgement
    encoding: str | None
    encoded: bool  # the body really is in that encoding
    framing: str
    headers: list[tuple[str, str]]

    def wire(self) -> bytes:
        data = self.body
        if self.encoded and self.encoding in ("gzip", "x-gzip"):
            data = gzip.compress(data)
        elif self.encoded and self.encoding == "deflate":
            data = zlib.compress(data)
        head = [f"HTTP/1.1 {self.status} Fuzz"] + [f"{k}: {v}" for k, v in self.headers]
        if self.encoding is not None:
            head.append(f"Content-Encoding: {self.encoding}")
        if self.framing == "length":
            head.append(f"Content-Length: {len(data)}")
        elif self.framing == "short":
            head.append(f"Content-Length: {max(0, len(data) - 3)}")
        elif self.framing == "long":
            head.append(f"Content-Length: {len(data) + 7}")
        elif self.framing == "chunked":
            head.append("Transfer-Encoding: chunked")
            data = (f"{len(data):x}\r\n".encode() + data + b"\r\n0\r\n\r\n") if data else b"0\r\n\r\n"
        head.append("Connection: close")
        return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + data

    @property
    def delivers(self) -> bool:
        """True when a correct client must count this answer as delivered."""
        decodable = self.encoding in (None, "identity") or (self.encoded and self.encoding in ("gzip", "x-gzip",
                                                                                               "deflate"))
        return self.status == 200 and self.ack and decodable and self.framing in EXACT_FRAMING


header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
key_forms = st.sampled_from(encodings(KEY))


@st.composite
def bodies(draw: Any) -> tuple[bytes, bool]:
    kind = draw(st.sampled_from(["ack", "ack-variant", "json", "key-json", "key-text", "bytes", "empty"]))
    if kind == "ack":
        return json.dumps(ACK).encode(), True
    if kind == "ack-variant":
        variant = dict(ACK)
        field = draw(st.sampled_from(["success", "code"]))
        variant[field] = draw(st.sampled_from(["true", 1, None, 7000.0, "7000", False, 9999, [7000]]))
        return json.dumps(variant).encode(), False
    if kind == "json":
        value = draw(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                                  lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c,
                                                                                      max_size=3),
                                  max_leaves=10))
        return json.dumps(value).encode(), False
    if kind == "key-json":
        form = draw(key_forms)
        raw = json.dumps({"success": False, "code": 4001, "error": {"message": "key @", "details": {"@": "@"}}})
        return raw.replace("@", form.replace("\\", "\\\\") if draw(st.booleans()) else form).encode(), False
    if kind == "key-text":
        return (draw(st.text(max_size=20)) + draw(key_forms) + draw(st.text(max_size=20))).encode(), False
    if kind == "bytes":
        return draw(st.binary(max_size=300)), False
    return b"", False


@st.composite
def answers(draw: Any) -> Answer:
    status = draw(st.one_of(
        st.sampled_from([200, 200, 200, 201, 202, 204, 301, 302, 400, 401, 403, 404, 405, 409, 422, 429, 499, 500,
                         503]),
        st.integers(100, 999),
    ))
    body, ack = draw(bodies())
    encoding = draw(st.sampled_from([None, None, "gzip", "deflate", "x-gzip", "identity", "br", "gzip, gzip", "zz"]))
    encoded = draw(st.booleans())
    framing = draw(st.sampled_from(["length", "length", "chunked", "close", "short", "long"]))
    headers = [("Content-Type", draw(st.sampled_from(["application/json", "text/html", "", "x/[bold]"])))]
    if draw(st.booleans()):
        headers.append(("Retry-After", draw(st.one_of(header_text, st.sampled_from(["²", "-1", "1e99", "0"])))))
    if draw(st.booleans()):
        headers.append(("Location", draw(st.one_of(header_text, key_forms))))
    if draw(st.booleans()):
        headers.append(("X-Echo", draw(key_forms)))
    return Answer(status, body, ack, encoding, encoded, framing, headers)


def assert_no_key(text: str) -> None:
    for form in encodings(KEY):
        assert form not in text, form


@pytest.fixture(scope="module")
def srv() -> Any:
    with RawServer() as server:
        yield server


def check_transport(srv: RawServer, answer: Answer) -> None:
    srv.set_script([answer.wire()])
    target = Target(srv.url, "acme-travel", "acme-pwa", "flights", Secret(KEY), timeout=2.0)
    with EventClient(target, retry=RetryPolicy(max_attempts=1), environ={}) as client:
        result = client.send(dict(EVENT))
    if result.ok:
        assert answer.status == 200 and answer.ack, answer
    if answer.delivers:
        assert result.ok, (answer, result.message)
    assert result.exit_code in (0, 1, 3, 75)
    assert_no_key(json.dumps(result.to_json(), default=str) + repr(result.attempts) + str(result.hint))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answer=answers())
def test_transport_survives_any_answer(srv: RawServer, answer: Answer) -> None:
    check_transport(srv, answer)


@pytest.mark.slow
@pytest.mark.timeout(1800)
@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answer=answers())
def test_transport_survives_any_answer_soak(srv: RawServer, answer: Answer) -> None:
    check_transport(srv, answer)


_CLI: dict[str, Any] = {}


def run_cli(srv: RawServer, answer: Answer, flags: list[str]) -> None:
    from typer.testing import CliRunner

    from rapido_cli.cli import build_app

    if not _CLI:
        _CLI["app"], _CLI["runner"] = build_app(), CliRunner()
        _CLI["dir"] = Path(tempfile.mkdtemp(prefix="rapido-fuzz-"))
    cfg = write_profiles(_CLI["dir"] / "profiles.yaml", srv.url, key=KEY, max_attempts=1, timeout=2)
    srv.set_script([answer.wire()])
    args = ["send", "--user", "u1", "--type", "payment.completed", "--attr", "orderId=FL_1", *flags]
    res = _CLI["runner"].invoke(_CLI["app"], args, env={"RAPIDO_CONFIG": str(cfg), "COLUMNS": "200"},
                                catch_exceptions=False)
    out = res.stdout + res.stderr
    assert res.exit_code in (0, 1, 3, 75), out
    assert "Traceback" not in out
    assert_no_key(out)
    if res.exit_code == 0:
        assert answer.status == 200 and answer.ack, answer
    if answer.delivers:
        assert res.exit_code == 0, out
    if "--json" in flags:
        doc = json.loads(res.stdout)
        assert doc["ok"] is (res.exit_code == 0)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answer=answers(), flags=st.sampled_from([[], ["--json"], ["-vv"], ["--json", "-vv"], ["-q"]]))
def test_send_survives_any_answer(srv: RawServer, answer: Answer, flags: list[str]) -> None:
    run_cli(srv, answer, flags)


@pytest.mark.slow
@pytest.mark.timeout(1800)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answer=answers(), flags=st.sampled_from([[], ["--json"], ["-vv"], ["--json", "-vv"], ["-q"]]))
def test_send_survives_any_answer_soak(srv: RawServer, answer: Answer, flags: list[str]) -> None:
    run_cli(srv, answer, flags)
