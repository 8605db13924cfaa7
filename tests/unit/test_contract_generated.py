"""rapido_cli/contract.py is generated from the models: up to date, pydantic-free, and true to the models.

A change to the models without ``python scripts/gen_contract.py`` fails here (and in CI's
``--check``), so the fast paths never check against a stale copy of the contract.
"""

from __future__ import annotations

import ast
import copy
import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import DATA, PROJECT_ROOT
from pydantic import ValidationError

from rapido_cli import contract, models
from rapido_cli.rules import check_pwa_event, check_server_event

CONTRACT = PROJECT_ROOT / "rapido_cli" / "contract.py"
FLIGHT: dict[str, Any] = json.loads((DATA / "seed" / "flight.json").read_text(encoding="utf-8"))
PAYMENT: dict[str, Any] = {
    "userId": "u1",
    "event": {"type": "payment.completed", "id": "evt_pay_1"},
    "attributes": {"orderId": "FL_BOOKING_ABC123"},
    "schemaVersion": 1,
}


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_contract", PROJECT_ROOT / "scripts" / "gen_contract.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _generator()


def test_committed_contract_is_what_the_models_generate() -> None:
    assert CONTRACT.read_text(encoding="utf-8") == gen.render(), (
        "rapido_cli/contract.py is stale: run `python scripts/gen_contract.py`"
    )


def test_check_mode_fails_on_a_stale_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "rapido_cli" / "contract.py"
    out.parent.mkdir()
    monkeypatch.setattr(gen, "REPO", tmp_path)
    monkeypatch.setattr(gen, "OUT", out)
    out.write_text(gen.render().replace("MAX_EVENT_ID_LENGTH: int = 128", "MAX_EVENT_ID_LENGTH: int = 64"))
    assert gen.main(["--check"]) == 1
    assert gen.main([]) == 0  # rewrites it
    assert out.read_text(encoding="utf-8") == CONTRACT.read_text(encoding="utf-8")
    assert gen.main(["--check"]) == 0


def test_contract_and_wire_import_neither_models_nor_pydantic() -> None:
    for path, allowed in (
        (CONTRACT, {"__future__", "typing", "rapido_cli.wire"}),
        (PROJECT_ROOT / "rapido_cli" / "wire.py", {"__future__"}),
    ):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert imported <= allowed, (path.name, imported - allowed)


def test_every_wire_fact_is_in_the_contract_and_the_models() -> None:
    from rapido_cli import wire

    for name in wire.__all__:
        assert getattr(contract, name) is getattr(wire, name) is getattr(models, name), name


# ---------------------------------------------------------------------------------------------
# the facts say what the models do (and the rules, which read them, agree)


def _envelope_ok(event: dict[str, Any]) -> bool:
    try:
        models.Envelope.model_validate(event, strict=True)
        attrs = event["attributes"]
        if event["event"]["type"].startswith("order."):
            models.BookingAttributes.model_validate(attrs, strict=True)
        else:
            models.PaymentAttributes.model_validate(attrs, strict=True)
    except ValidationError:
        return False
    return True


def _set(event: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    e = copy.deepcopy(event)
    *parents, last = path.split(".")
    target = e
    for key in parents:
        target = target[key]
    if value is _DROP:
        del target[last]
    else:
        target[last] = value
    return e


_DROP = object()


def _errors(event: dict[str, Any]) -> set[str]:
    return {p.path for p in check_server_event(event) if p.severity == "error"}


def test_required_fields() -> None:
    for base, paths in (
        (FLIGHT, contract.ENVELOPE_REQUIRED),
        (FLIGHT, [f"event.{n}" for n in contract.EVENT_REQUIRED]),
        (FLIGHT, [f"attributes.{n}" for n in contract.BOOKING_REQUIRED]),
        (PAYMENT, [f"attributes.{n}" for n in contract.PAYMENT_REQUIRED]),
    ):
        assert _envelope_ok(base) and not _errors(base)
        for path in paths:
            e = _set(base, path, _DROP)
            assert not _envelope_ok(e), path
            assert path in _errors(e), path
    optional = set(contract.BOOKING_ATTRIBUTES) - set(contract.PAYMENT_REQUIRED)
    for name in optional:
        assert _envelope_ok(_set(PAYMENT, f"attributes.{name}", FLIGHT["attributes"][name])), name


def test_enums_and_schema_version() -> None:
    for path, choices in (
        ("event.type", contract.EVENT_TYPES),
        ("attributes.orderStatus", contract.ORDER_STATUSES),
        ("attributes.hostStatus", contract.HOST_STATUSES),
    ):
        assert not _envelope_ok(_set(FLIGHT, path, "nope")) and path in _errors(_set(FLIGHT, path, "nope"))
        for choice in choices:
            assert path not in _errors(_set(FLIGHT, path, choice)), (path, choice)
    assert _envelope_ok(_set(FLIGHT, "schemaVersion", contract.SCHEMA_VERSION))
    assert not _envelope_ok(_set(FLIGHT, "schemaVersion", contract.SCHEMA_VERSION + 1))
    assert "schemaVersion" in _errors(_set(FLIGHT, "schemaVersion", contract.SCHEMA_VERSION + 1))


def test_ranges_and_lengths_at_their_bounds() -> None:
    start = FLIGHT["attributes"]["start_time"]
    cases: list[tuple[str, Any, Any]] = [  # (path, last good value, first bad value)
        ("event.id", "x" * contract.MAX_EVENT_ID_LENGTH, "x" * (contract.MAX_EVENT_ID_LENGTH + 1)),
        ("attributes.amount_total", contract.MAX_AMOUNT, contract.MAX_AMOUNT + 0.5),
        ("attributes.amount_total", contract.MIN_AMOUNT, contract.MIN_AMOUNT - 0.5),
        ("attributes.end_time", contract.SECONDS_CEILING - 1, contract.SECONDS_CEILING),
    ]
    for name, lo, hi in contract.COORDINATE_RANGES:
        cases += [(f"attributes.{name}", lo, lo - 0.5), (f"attributes.{name}", hi, hi + 0.5)]
    for path, good, bad in cases:
        e = _set(FLIGHT, path, good)
        assert _envelope_ok(e) and path not in _errors(e), (path, good)
        e = _set(FLIGHT, path, bad)
        assert not _envelope_ok(e) and path in _errors(e), (path, bad)
    for name in contract.UNIX_SECONDS_ATTRIBUTES:
        e = _set(_set(FLIGHT, "attributes.start_time", contract.MIN_SECONDS), f"attributes.{name}", start)
        assert _envelope_ok(e)
        assert not _envelope_ok(_set(FLIGHT, f"attributes.{name}", contract.MIN_SECONDS - 1))


def test_integer_fields_take_integral_floats_and_nothing_fractional() -> None:
    for path in [*contract.INTEGER_ENVELOPE_FIELDS, *(f"attributes.{n}" for n in contract.INTEGER_ATTRIBUTES)]:
        *_, last = path.split(".")
        value = FLIGHT["attributes"][last] if path.startswith("attributes.") else FLIGHT[last]
        assert _envelope_ok(_set(FLIGHT, path, float(value))) and not _errors(_set(FLIGHT, path, float(value)))
        assert not _envelope_ok(_set(FLIGHT, path, value + 0.5)) and path in _errors(_set(FLIGHT, path, value + 0.5))


def test_non_blank_fields() -> None:
    for path in contract.NON_BLANK_FIELDS:
        for blank in ("", " \t", "\u3000"):
            e = _set(FLIGHT, path, blank)
            assert not _envelope_ok(e) and path in _errors(e), (path, blank)
    page = {"eventType": "page_view", "properties": {"timestamp": "2024-01-15T10:30:00Z", "session_id": "s"}}
    models.PwaEvent.model_validate(page, strict=True)
    for name in contract.PWA_NON_BLANK_FIELDS:
        bad = {**page, name: "  "}
        with pytest.raises(ValidationError):
            models.PwaEvent.model_validate(bad, strict=True)
        assert name in {p.path for p in check_pwa_event(bad) if p.severity == "error"}
    for name in contract.PWA_REQUIRED:
        assert name in {p.path for p in check_pwa_event({k: v for k, v in page.items() if k != name})}


def test_hand_written_choices_elsewhere_are_the_contract() -> None:
    """Enums that a typing construct needs written out (CLI choices, the profiles model) match the contract."""
    import typing

    from rapido_cli.cli.profile_cmd import Service
    from rapido_cli.cli.send_cmd import Status
    from rapido_cli.profiles.store import _models

    assert tuple(s.value for s in Status) == contract.ORDER_STATUSES
    assert tuple(s.value for s in Service) == contract.SERVICES
    _, settings = _models()
    literal, _none = typing.get_args(settings.model_fields["service"].annotation)
    assert typing.get_args(literal) == contract.SERVICES
