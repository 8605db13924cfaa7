"""`rapido trigger`: shipped scenarios, --set, references in your own files, PWA rehearsal, failures."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import TEST_KEY, Reply, write_profiles
from httpserver import error_body, ok_body

from rapido_cli.sandbox import Sandbox
from rapido_cli.trigger import ScenarioError, builtin_names, load_builtin, parse_scenario, plan

REQUIRED = ["flight-booking", "hotel-booking", "flight-cancellation", "hotel-modification", "payment-failure"]
EXPECTED_TYPES = {
    "flight-booking": ["order.confirmed", "payment.completed"],
    "hotel-booking": ["order.confirmed", "payment.completed"],
    "flight-cancellation": ["order.confirmed", "order.cancelled"],
    "hotel-modification": ["order.confirmed", "order.modified"],
    "payment-failure": ["payment.failed", "payment.completed", "order.confirmed"],
}


@pytest.fixture
def env(tmp_path: Path, server) -> Any:
    """A profile pointing at a scripted loopback server: ``env.srv``, ``env.vars``."""

    class Env:
        def __init__(self) -> None:
            self.srv = server()
            self.vars = {"RAPIDO_CONFIG": str(write_profiles(tmp_path / "profiles.yaml", self.srv.url, key=TEST_KEY))}

    return Env()


@pytest.fixture
def sandbox_config() -> dict[str, Any]:
    """The conftest ``sandbox`` without credentials: these requests carry placeholder headers; a missed booking shows
    after 0.3 s."""
    return {"missed_after_s": 0.3}


def _lines(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


# ---------------------------------------------------------------------------------------------
# listing


def test_list_has_one_line_per_scenario_with_its_description(invoke) -> None:
    res = invoke("trigger", "--list")
    assert res.code == 0, res.output
    lines = res.stdout.splitlines()
    assert set(REQUIRED) <= {line.split()[0] for line in lines}
    assert len(lines) == len(builtin_names())
    for line in lines:
        name, description = line.split(None, 1)
        assert description.strip() == load_builtin(name).description != ""
    doc = json.loads(invoke("trigger", "--list", "--json").stdout)
    assert {d["name"] for d in doc} == set(builtin_names())
    assert all({"description", "kind", "params", "steps"} <= d.keys() for d in doc)


# ---------------------------------------------------------------------------------------------
# sending the shipped scenarios


@pytest.mark.parametrize("name", REQUIRED)
def test_shipped_scenario_sends_one_coherent_booking(invoke, env, name: str) -> None:
    res = invoke("trigger", name, "--json", env=env.vars)
    assert res.code == 0, res.output
    bodies = [r.json() for r in env.srv.requests]
    assert [b["event"]["type"] for b in bodies] == EXPECTED_TYPES[name]
    assert all(r.path == "/api/ota/event" and r.headers["authorization"] == TEST_KEY for r in env.srv.requests)
    assert len({b["attributes"]["orderId"] for b in bodies}) == 1
    assert len({b["userId"] for b in bodies}) == 1
    assert len({b["event"]["id"] for b in bodies}) == len(bodies)
    kind = load_builtin(name).kind
    # the profile's declared service is kept (as send-booking does), with a warning when it differs
    assert {r.headers["x-client-service"] for r in env.srv.requests} == {"flights"}
    assert ("declares x-client-service flights" in res.stderr) == (kind == "hotel")
    orders = [b for b in bodies if b["event"]["type"].startswith("order.")]
    payments = [b for b in bodies if b["event"]["type"].startswith("payment.")]
    first = orders[0]["attributes"]
    for o in orders:  # the same booking: place and start time do not move
        a = o["attributes"]
        assert a["location_origin_lat"] == first["location_origin_lat"] and a["start_time"] == first["start_time"]
        assert a["orderStatus"] == {"order.confirmed": "CONFIRMED", "order.cancelled": "CANCELLED",
                                    "order.modified": "MODIFIED"}[o["event"]["type"]]
    for p in payments:
        assert p["attributes"]["amount_total"] == first["amount_total"]
    records = _lines(res.stdout)
    assert [r["step"] for r in records[:-1]] == [s.name for s in plan(load_builtin(name)) if s.flow == "server"]
    assert all(r["outcome"] == "sent" and r["status"] == 200 for r in records[:-1])
    summary = records[-1]["summary"]
    assert summary["sent"] == len(bodies) and summary["exit_code"] == 0
    assert summary["order_id"] == first["orderId"]


def test_hotel_modification_changes_check_out_and_amount_only(invoke, env) -> None:
    assert invoke("trigger", "hotel-modification", env=env.vars).code == 0
    confirmed, modified = (r.json()["attributes"] for r in env.srv.requests)
    assert modified["end_time"] - confirmed["end_time"] == 86400
    assert (confirmed["amount_total"], modified["amount_total"]) == (12000, 18000)
    assert {k for k in confirmed if confirmed[k] != modified[k]} == {"end_time", "amount_total", "orderStatus",
                                                                     "hostStatus"}


def test_rerun_gives_the_same_ids_and_set_changes_them(invoke, env) -> None:
    assert invoke("trigger", "flight-booking", env=env.vars).code == 0
    assert invoke("trigger", "flight-booking", env=env.vars).code == 0
    res = invoke("trigger", "flight-booking", "--set", "order_id=FL_42", "--set", "amount=9100", "--set", "to=BOM",
                 env=env.vars)
    assert res.code == 0, res.output
    ids = [r.json()["event"]["id"] for r in env.srv.requests]
    assert ids[:2] == ids[2:4]
    assert not set(ids[4:]) & set(ids[:2])
    confirm, pay = (r.json() for r in env.srv.requests[4:])
    assert confirm["attributes"]["orderId"] == pay["attributes"]["orderId"] == "FL_42"
    assert confirm["attributes"]["amount_total"] == pay["attributes"]["amount_total"] == 9100
    assert confirm["attributes"]["location_dest_lat"] == pytest.approx(19.0887, abs=0.01)  # BOM
    # the same booking through send-booking gets the same id as the scenario's confirm step
    res = invoke("send-booking", "flight", "--user", "rapido_user_12345", "--order-id", "FL_42", "--amount", "9100",
                 "--from", "DEL", "--to", "BOM", "--depart", "2025-03-14T09:00:00+05:30",
                 "--arrive", "2025-03-14T11:45:00+05:30", "--dry-run", "--json", env=env.vars)
    assert json.loads(res.stdout)["request"]["body"]["event"]["id"] == confirm["event"]["id"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--set", "amonut=1"], "did you mean 'amount'"),
        (["--set", "amount=lots"], "'lots' is not a number"),
        (["--set", "amount"], "expected NAME=VALUE"),
        (["--skip", "confrim"], "did you mean 'confirm'"),
    ],
)
def test_bad_set_and_skip_are_usage_errors(invoke, env, args: list[str], needle: str) -> None:
    res = invoke("trigger", "flight-booking", *args, env=env.vars)
    assert res.code == 2, res.output
    assert needle in res.stderr and "Traceback" not in res.output
    assert env.srv.requests == []


def test_a_set_value_the_builder_rejects_names_the_parameter_and_its_line(invoke, env) -> None:
    res = invoke("trigger", "flight-booking", "--set", "depart=2025-03-15T09:00+05:30", env=env.vars)
    assert res.code == 1
    assert "flight-booking.yaml:" in res.stderr and "arrive" in res.stderr and "--set arrive" in res.stderr
    assert env.srv.requests == []


def test_unknown_scenario_suggests_one(invoke) -> None:
    res = invoke("trigger", "hotel-bookin", "--sandbox")
    assert res.code == 2 and "did you mean 'hotel-booking'" in res.stderr
    assert invoke("trigger").code == 2


# ---------------------------------------------------------------------------------------------
# failures stop the run with that step's exit class


@pytest.mark.parametrize(
    ("second", "code", "outcome"),
    [
        (Reply(400, error_body(7001, "amount_total: bad")), 1, "rejected"),
        (Reply(401, error_body(7002, "bad key")), 3, "unauthorized"),
        (Reply(503, error_body(7004, "down")), 75, "failed"),
    ],
)
def test_stops_at_the_first_failed_step(invoke, server, tmp_path: Path, second: Reply, code: int, outcome: str):
    srv = server([Reply(200, ok_body()), second])
    cfg = write_profiles(tmp_path / "profiles.yaml", srv.url, key=TEST_KEY)
    res = invoke("trigger", "payment-failure", "--json", "--max-attempts", "1", env={"RAPIDO_CONFIG": str(cfg)})
    assert res.code == code, res.output
    assert len(srv.requests) == 2  # the third step never ran
    records = _lines(res.stdout)
    assert [r.get("outcome") for r in records[:-1]] == ["sent", outcome]
    summary = records[-1]["summary"]
    assert summary["failed_step"] == "pay" and summary["exit_code"] == code and summary["not_run"] == 1
    human = invoke("trigger", "payment-failure", "--max-attempts", "1", env={"RAPIDO_CONFIG": str(cfg)})
    assert human.code == code and "stopped at step" in human.stdout


# ---------------------------------------------------------------------------------------------
# your own scenario


OWN = """\
name: my-flow
description: A booking, a fee, a cancellation.
kind: flight
params:
  user: u_1
  order_id: ORD-7
  amount: 1000
  origin: "12.9716,77.5946"
  dest: "28.5562,77.1000"
  depart: 2025-05-01T10:00:00+05:30
  arrive: "2025-05-01T12:40:00+05:30"
steps:
  - name: confirm
    booking:
      status: CONFIRMED
  - name: fee
    event:
      type: payment.completed
      attributes:
        orderId: ${steps.confirm.attributes.orderId}
        amount_total: ${confirm.amount_total}
  - name: cancel
    booking:
      status: CANCELLED
      order_id: ${confirm.orderId}
      host_status: CANCELLED
"""


def test_own_scenario_with_references(invoke, env, tmp_path: Path) -> None:
    f = tmp_path / "my-flow.yaml"
    f.write_text(OWN)
    res = invoke("trigger", str(f), "--set", "amount=2500.5", env=env.vars)
    assert res.code == 0, res.output
    confirm, fee, cancel = (r.json() for r in env.srv.requests)
    assert fee["attributes"] == {"orderId": "ORD-7", "amount_total": 2500.5}
    assert cancel["attributes"]["orderId"] == "ORD-7" and cancel["event"]["type"] == "order.cancelled"
    assert confirm["attributes"]["start_time"] == 1746073800  # an unquoted YAML time is read as written


def test_references_inside_text_and_the_escape() -> None:
    sc = parse_scenario(OWN, "own.yaml")
    spec_path = ("steps", 2, "booking", "host_status")
    from rapido_cli.trigger.scenario import resolve

    built = {"fee": ("server", {"event": {"type": "payment.completed"}, "attributes": {"amount_total": 5}})}
    assert resolve(sc, "${fee.event.type}-$${literal}", spec_path, {}, built) == "payment.completed-${literal}"
    assert resolve(sc, "${fee.amount_total}", spec_path, {}, built) == 5
    assert resolve(sc, "n=${fee.amount_total}", spec_path, {}, built) == "n=5"
    with pytest.raises(ScenarioError, match=r"own.yaml:\d+: \$\{fee.nope\}: step 'fee' built no such field"):
        resolve(sc, "${fee.nope}", spec_path, {}, built)


@pytest.mark.parametrize(
    ("edit", "line", "needle"),
    [
        (("${confirm.amount_total}", "${confirn.amount_total}"), 21, "did you mean 'confirm'"),
        (("${steps.confirm.attributes.orderId}", "${cancel.orderId}"), 20, "has not run yet"),
        (("    event:\n      type: payment", "    evnt:\n      type: payment"), 17, "did you mean 'event'"),
        (("kind: flight", "kind: train"), 3, "flight or hotel"),
        (("  amount: 1000", "  amount: [1, 2]"), 7, "single value"),
        (("  - name: cancel", "  - name: confirm"), 22, "already used at line 13"),
        (("orderId: ${steps", "orderId: [${steps"), 20, "not valid YAML"),
    ],
)
def test_scenario_errors_name_file_and_line(invoke, tmp_path: Path, edit: tuple[str, str], line: int, needle: str):
    f = tmp_path / "s.yaml"
    assert edit[0] in OWN
    f.write_text(OWN.replace(edit[0], edit[1], 1))
    res = invoke("trigger", str(f), "--sandbox")
    assert res.code == 1, res.output
    assert f"{f}:{line}:" in res.stderr, res.stderr
    assert needle in res.stderr and "Traceback" not in res.output


def test_an_invalid_built_event_and_duplicate_events_are_refused_before_sending(tmp_path: Path) -> None:
    bad = OWN.replace("amount_total: ${confirm.amount_total}", "amount_total: lots")
    with pytest.raises(ScenarioError, match=r"step 'fee' builds an invalid event: attributes\.amount_total"):
        plan(parse_scenario(bad, "s.yaml"))
    dup = OWN + "  - name: fee2\n    event:\n      type: payment.completed\n      attributes:\n" \
                "        orderId: ORD-7\n        amount_total: 1000\n"
    with pytest.raises(ScenarioError, match="steps 'fee' and 'fee2' build the same event"):
        plan(parse_scenario(dup, "s.yaml"))


def test_alias_bombs_and_non_files_are_refused(invoke, tmp_path: Path) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    f = tmp_path / "bomb.yaml"
    f.write_text(bomb)
    res = invoke("trigger", str(f), "--sandbox")
    assert res.code == 1 and "expands to more than" in res.stderr
    res = invoke("trigger", str(tmp_path), "--sandbox")
    assert res.code == 2 and "not a regular file" in res.stderr
    res = invoke("trigger", str(tmp_path / "missing.yaml"), "--sandbox")
    assert res.code == 2 and "no such scenario file" in res.stderr


# ---------------------------------------------------------------------------------------------
# dry runs


def test_dry_run_needs_no_key_and_prints_json_lines(invoke, tmp_path: Path) -> None:
    cfg = write_profiles(tmp_path / "profiles.yaml", "https://partner.example.com")  # no key
    res = invoke("trigger", "hotel-booking", "--dry-run", "--json", env={"RAPIDO_CONFIG": str(cfg)})
    assert res.code == 0, res.output
    records = _lines(res.stdout)
    assert [r["step"] for r in records[:-1]] == ["confirm", "pay"]
    url = "https://partner.example.com/api/ota/event"
    assert all(r["dry_run"] and r["request"]["url"] == url for r in records[:-1])
    assert records[-1]["summary"]["dry_run"] is True


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed (CI installs it)")
def test_dry_run_curl_script_sends_what_trigger_sends(invoke, env) -> None:
    dry = invoke("trigger", "flight-cancellation", "--dry-run", "--output-format", "curl", env=env.vars)
    assert dry.code == 0, dry.output
    assert TEST_KEY not in dry.stdout
    full = {k: v for k, v in os.environ.items() if k != "RAPIDO_CLIENT_KEY"}
    ran = subprocess.run(["bash", "-c", dry.stdout], env={**full, "RAPIDO_CLIENT_KEY": TEST_KEY},
                         capture_output=True, text=True, timeout=30, check=False)
    assert ran.returncode == 0, ran.stderr
    assert invoke("trigger", "flight-cancellation", env=env.vars).code == 0
    reqs = env.srv.requests
    assert len(reqs) == 4
    for by_curl, by_trigger in zip(reqs[:2], reqs[2:], strict=True):
        assert by_curl.body == by_trigger.body
        for h in ("content-type", "x-client-id", "x-client-service", "x-client-app-id", "authorization"):
            assert by_curl.headers[h] == by_trigger.headers[h]


# ---------------------------------------------------------------------------------------------
# the PWA side, against a sandbox


def test_with_pwa_needs_a_sandbox_target(invoke, env) -> None:
    # a profile on loopback counts as a sandbox (a `rapido sandbox` started by hand); a remote one does not
    res = invoke("trigger", "flight-booking", "--with-pwa", env=env.vars)
    assert res.code == 0, res.output
    assert [r.path for r in env.srv.requests] == ["/pwa/events", "/api/ota/event", "/api/ota/event"]
    assert "authorization" not in env.srv.requests[0].headers  # the PWA side carries no key
    cfg = write_profiles(Path(env.vars["RAPIDO_CONFIG"]).parent / "remote.yaml", "https://partner.example.com",
                         key=TEST_KEY)
    res = invoke("trigger", "flight-booking", "--with-pwa", env={"RAPIDO_CONFIG": str(cfg)})
    assert res.code == 2 and "--with-pwa" in res.stderr
    res = invoke("trigger", "flight-booking", "--sandbox-url", "http://10.1.2.3:8787")
    assert res.code == 2 and "loopback" in res.stderr


def test_pwa_and_server_events_reach_a_running_sandbox(invoke, sandbox: Sandbox) -> None:
    res = invoke("trigger", "hotel-booking", "--sandbox-url", sandbox.url, "--with-pwa", "--json")
    assert res.code == 0, res.output
    events = sandbox.events()
    assert [(e["flow"], e["event_type"]) for e in events] == [
        ("pwa", "booking_completed"), ("server", "order.confirmed"), ("server", "payment.completed")]
    assert {e["order_id"] for e in events} == {"HTL_TRIGGER_2001"}
    assert [e["verdict"] for e in events] == ["ok", "accepted", "accepted"]
    assert {e["headers"].get("x-client-service") for e in events if e["flow"] == "server"} == {"hotels"}
    time.sleep(0.6)
    assert sandbox.missed() == []  # the server order event closed the PWA booking


@pytest.mark.parametrize("how", [["missed-booking"], ["flight-booking", "--skip", "confirm"]])
def test_missed_booking_shows_in_the_sandbox(invoke, sandbox: Sandbox, how: list[str]) -> None:
    res = invoke("trigger", *how, "--sandbox-url", sandbox.url, "--with-pwa")
    assert res.code == 0, res.output
    assert "_sandbox/missed" in res.stderr
    deadline = time.monotonic() + 5
    missed: list[Any] = []
    while time.monotonic() < deadline and not missed:
        time.sleep(0.1)
        missed = httpx.get(f"{sandbox.url}/_sandbox/missed", timeout=5).json()["missed"]
    order = "FL_TRIGGER_1004" if how[0] == "missed-booking" else "FL_TRIGGER_1001"
    assert [m["order_id"] for m in missed] == [order]


def test_missed_booking_without_with_pwa_is_a_usage_error(invoke, sandbox: Sandbox) -> None:
    res = invoke("trigger", "missed-booking", "--sandbox-url", sandbox.url)
    assert res.code == 2 and "--with-pwa" in res.stderr
    assert sandbox.events() == []


def test_embedded_sandbox_run(invoke) -> None:
    res = invoke("trigger", "flight-cancellation", "--sandbox", "--with-pwa")
    assert res.code == 0, res.output
    assert res.stdout.count("✓") == 4
    assert "flight-cancellation: 4 of 4 steps sent for order FL_TRIGGER_1002" in res.stdout
