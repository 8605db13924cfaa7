"""Regenerate the validate corpus: good/ (seed examples), warn/ and bad/ with manifest.json.

Each bad file has exactly one defect; its expected line is found by searching the written
text for a marker (independently of the validator), and recorded with the field path and a
word the message must contain.

    python tests/data/validate/make_corpus.py
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
SEED = HERE.parent / "seed"  # the seed's flight and hotel examples

FLIGHT: dict[str, Any] = json.loads((SEED / "flight.json").read_text())
HOTEL: dict[str, Any] = json.loads((SEED / "hotel.json").read_text())
PWA: dict[str, Any] = {
    "eventType": "page_view",
    "properties": {
        "page_name": "Flights",
        "page_url": "https://partner.example/flights",
        "timestamp": "2024-01-15T10:30:00.000Z",
        "session_id": "sess_42",
        "viewport_width": 390,
    },
}


def ev(base: dict[str, Any], eid: str, **attrs: Any) -> dict[str, Any]:
    e = copy.deepcopy(base)
    e["event"]["id"] = eid
    e["attributes"].update(attrs)
    return e


def pretty(obj: Any) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


def line_of(text: str, marker: str, nth: int = 1) -> int:
    pos = -1
    for _ in range(nth):
        pos = text.index(marker, pos + 1)
    return text.count("\n", 0, pos) + 1


def yaml_dump(obj: Any) -> str:
    import yaml

    return yaml.safe_dump(obj, sort_keys=False, allow_unicode=True)


MANIFEST: dict[str, dict[str, Any]] = {}


def bad(
    name: str, data: str | bytes, marker: str | bytes, path: str, contains: str, kind: str = "server", nth: int = 1
) -> None:
    """Write bad/<name>; the defect's line is where ``marker`` occurs (the nth time)."""
    target = HERE / "bad" / name
    raw = data.encode("utf-8") if isinstance(data, str) else data
    target.write_bytes(raw)
    m = marker.encode("utf-8") if isinstance(marker, str) else marker
    pos = -1
    for _ in range(nth):
        pos = raw.index(m, pos + 1)
    MANIFEST[name] = {"line": raw.count(b"\n", 0, pos) + 1, "path": path, "contains": contains, "kind": kind}


def jsonl(*events: Any) -> str:
    return "".join(json.dumps(e) + "\n" for e in events)


def main() -> None:
    for sub in ("good", "bad", "warn"):
        (HERE / sub).mkdir(exist_ok=True)
        for f in (HERE / sub).iterdir():
            f.unlink()

    # ---- good: the seed's examples in every format
    (HERE / "good" / "flight.json").write_text(pretty(FLIGHT))
    (HERE / "good" / "hotel.json").write_text(pretty(HOTEL))
    (HERE / "good" / "seed.jsonl").write_text(jsonl(FLIGHT, HOTEL))
    (HERE / "good" / "seed.yaml").write_text(yaml_dump(FLIGHT) + "---\n" + yaml_dump(HOTEL))
    (HERE / "good" / "seed-array.json").write_text(pretty([FLIGHT, HOTEL]))
    (HERE / "good" / "seed-list.yml").write_text(yaml_dump([FLIGHT, HOTEL]))
    crlf = "\ufeff" + "\r\n".join(json.dumps(e) for e in (FLIGHT, HOTEL)) + "\r\n\r\n"
    (HERE / "good" / "seed-bom-crlf.ndjson").write_bytes(crlf.encode("utf-8"))
    payment = {
        "userId": "rapido_user_12345",
        "event": {"type": "payment.completed", "id": "evt_payment_ok_1"},
        "attributes": {"orderId": "FL_BOOKING_ABC123", "amount_total": 8500},
        "schemaVersion": 1,
    }
    (HERE / "good" / "payment.json").write_text(pretty(payment))
    pwa_str = copy.deepcopy(PWA)
    pwa_str["properties"] = json.dumps(PWA["properties"])
    (HERE / "good" / "pwa-events.jsonl").write_text(jsonl(PWA, pwa_str))

    # ---- warn: valid, but worth a look (exit 0; --strict exit 1)
    (HERE / "warn" / "type-disagrees-with-status.json").write_text(
        pretty(ev(FLIGHT, "evt_w1", orderStatus="CANCELLED", hostStatus="CANCELLED"))
    )
    (HERE / "warn" / "unknown-attribute.json").write_text(pretty(ev(FLIGHT, "evt_w2", seat_class="economy")))
    (HERE / "warn" / "pwa-not-snake-case.jsonl").write_text(jsonl({**PWA, "eventType": "PageView"}))

    # ---- bad: one defect each, pretty JSON of the flight example
    def jbad(name: str, event: dict[str, Any], marker: str, path: str, contains: str, nth: int = 1) -> None:
        bad(name, pretty(event), marker, path, contains, nth=nth)

    f = copy.deepcopy(FLIGHT)
    f["event"]["type"] = "order.confirm"
    jbad("01-unknown-event-type.json", f, '"order.confirm"', "event.type", "unknown event type")
    f = copy.deepcopy(FLIGHT)
    f["schemaVersion"] = 2
    jbad("02-schema-version-2.json", f, '"schemaVersion"', "schemaVersion", "must be 1")
    jbad(
        "03-latitude-out-of-range.json",
        ev(FLIGHT, "e3", location_origin_lat=128.5),
        "128.5",
        "attributes.location_origin_lat",
        "±90",
    )
    jbad(
        "04-longitude-out-of-range.json",
        ev(FLIGHT, "e4", location_dest_long=-190.25),
        "-190.25",
        "attributes.location_dest_long",
        "±180",
    )
    jbad(
        "05-start-time-milliseconds.json",
        ev(FLIGHT, "e5", start_time=1708156800000),
        "1708156800000",
        "attributes.start_time",
        "milliseconds",
    )
    jbad(
        "06-end-time-iso-string.json",
        ev(FLIGHT, "e6", end_time="2024-02-17T10:00:00Z"),
        "2024-02-17T10",
        "attributes.end_time",
        "Unix seconds",
    )
    jbad(
        "07-end-before-start.json",
        ev(FLIGHT, "e7", end_time=1708150000),
        "1708150000",
        "attributes.end_time",
        "before start_time",
    )
    jbad(
        "08-amount-negative.json", ev(FLIGHT, "e8", amount_total=-8500), "-8500", "attributes.amount_total", "negative"
    )
    jbad(
        "09-amount-absurd.json",
        ev(FLIGHT, "e9", amount_total=850000000000),
        "850000000000",
        "attributes.amount_total",
        "ceiling",
    )
    jbad("10-tz-not-iana.json", ev(FLIGHT, "e10", tz="IST"), '"IST"', "attributes.tz", "IANA")
    jbad(
        "11-order-status-lowercase.json",
        ev(FLIGHT, "e11", orderStatus="confirmed"),
        '"confirmed"',
        "attributes.orderStatus",
        "upper case",
    )
    jbad(
        "12-host-status-unknown.json",
        ev(FLIGHT, "e12", hostStatus="PENDING"),
        '"PENDING"',
        "attributes.hostStatus",
        "unknown hostStatus",
    )
    f = ev(FLIGHT, "e13")
    del f["attributes"]["orderId"]
    jbad("13-missing-order-id.json", f, '"attributes"', "attributes.orderId", "missing orderId")
    f = ev(FLIGHT, "e14")
    f["userId"] = ""
    jbad("14-empty-user-id.json", f, '"userId"', "userId", "empty")
    jbad(
        "15-start-time-fractional.json",
        ev(FLIGHT, "e15", start_time=1708156800.5),
        "1708156800.5",
        "attributes.start_time",
        "integer",
    )
    jbad(
        "16-amount-as-string.json",
        ev(FLIGHT, "e16", amount_total="8500"),
        '"8500"',
        "attributes.amount_total",
        "must be a number",
    )
    jbad("17-event-id-too-long.json", ev(FLIGHT, "e" * 200), "e" * 200, "event.id", "limit")
    f = ev(FLIGHT, "e18")
    f = {
        "userId": f["userId"],
        "event": f["event"],
        "orderId": "FL_1",
        "attributes": f["attributes"],
        "schemaVersion": 1,
    }
    jbad("18-unknown-top-level-field.json", f, '"orderId": "FL_1"', "orderId", "unknown top-level field")
    f = ev(FLIGHT, "e19")
    del f["schemaVersion"]
    bad("19-missing-schema-version.json", pretty(f), "{", "schemaVersion", "missing schemaVersion")

    # arrays
    text = pretty([ev(FLIGHT, "a1"), ev(HOTEL, "a2", tz="Asia/Bangalore")])
    bad("20-array-second-event-bad-tz.json", text, "Asia/Bangalore", "attributes.tz", "IANA")
    text = pretty([ev(FLIGHT, "dup-1"), ev(HOTEL, "dup-1")])
    bad("21-array-duplicate-id.json", text, '"dup-1"', "event.id", "duplicate", nth=2)
    text = pretty([ev(FLIGHT, "s1"), "order.confirmed"])
    bad("22-array-element-is-string.json", text, '  "order.confirmed"\n', "", "JSON object")
    text = pretty([ev(FLIGHT, "t1"), ev(HOTEL, "t2")])
    cut = text.index('"location_dest_lat"', text.index('"t2"'))
    bad("23-truncated-array.json", text[:cut], '  {\n    "userId"', "", "truncated", nth=2)
    text = pretty(ev(FLIGHT, "e24")).replace('"tz": "Asia/Kolkata"', '"tz": "Asia/Kolkata",')
    bad("24-trailing-comma.json", text, '  },\n  "schemaVersion"', "", "not valid JSON")
    text = pretty(ev(FLIGHT, "e25")).replace('"amount_total": 8500', '"amount_total": NaN')
    bad("25-nan-amount.json", text, "NaN", "", "NaN")
    raw = pretty(ev(FLIGHT, "e26")).encode().replace(b"rapido_user_12345", b"rapido_user_\xff\xfe")
    bad("26-invalid-utf8.json", raw, b"\xff", "", "UTF-8")
    text = pretty(ev(FLIGHT, "e27")).replace('"amount_total": 8500', '"amount_total": ' + "9" * 400)
    bad("27-number-with-400-digits.json", text, "9" * 400, "attributes.amount_total", "ceiling")

    # JSON Lines: the defect is on line 2 unless said otherwise
    good1, good3 = ev(FLIGHT, "l1"), ev(HOTEL, "l3")
    deep = "[" * 5000 + "]" * 5000
    bad("28-jsonl-nesting-5000-deep.jsonl", jsonl(good1) + deep + "\n" + jsonl(good3), "[[[", "", "nested")
    bad("29-jsonl-line-is-array.jsonl", jsonl(good1, [ev(FLIGHT, "l2")], good3), "[{", "", "JSON object")
    bad("30-jsonl-bare-string.jsonl", jsonl(good1, "hello", good3), '"hello"', "", "JSON object")
    line2 = json.dumps(ev(FLIGHT, "l2"))[:150]
    bad(
        "31-jsonl-truncated-line.jsonl",
        jsonl(good1) + line2 + "\n" + jsonl(good3),
        line2[:20],
        "",
        "not valid JSON",
        nth=2,
    )
    bad(
        "32-jsonl-duplicate-id.jsonl",
        jsonl(good1, ev(HOTEL, "l2"), ev(HOTEL, "l1")),
        '"l1"',
        "event.id",
        "duplicate",
        nth=2,
    )
    big = ev(FLIGHT, "l2")
    big["attributes"]["notes"] = "x" * 40_000
    # the padding attribute also draws a warning (not a seed attribute); the error is the size
    bad("33-jsonl-event-over-32kib.jsonl", jsonl(good1, big, good3), "xxxx", "", "limit")
    pay = {
        "userId": "u1",
        "event": {"type": "payment.failed", "id": "l4"},
        "attributes": {"amount_total": 10},
        "schemaVersion": 1,
    }
    text = "\ufeff" + json.dumps(good1) + "\r\n\r\n" + json.dumps(good3) + "\r\n" + json.dumps(pay) + "\r\n"
    bad(
        "34-jsonl-bom-crlf-blank-payment-without-order.jsonl",
        text,
        "payment.failed",
        "attributes.orderId",
        "missing orderId",
    )
    raw = (jsonl(good1) + json.dumps(ev(FLIGHT, "l2")) + "\n" + jsonl(good3)).encode()
    raw = raw.replace(b'"l2"', b'"l2\xc3"')
    bad("35-jsonl-invalid-utf8.jsonl", raw, b"\xc3", "", "UTF-8")
    line2 = json.dumps(ev(FLIGHT, "l2")).replace('"amount_total": 8500', '"amount_total": Infinity')
    bad("36-jsonl-infinity.jsonl", jsonl(good1) + line2 + "\n" + jsonl(good3), "Infinity", "", "Infinity")

    # YAML
    text = yaml_dump(ev(FLIGHT, "y1")) + "---\n" + yaml_dump(ev(HOTEL, "y2", location_dest_lat=-95.5))
    bad("37-yaml-second-doc-latitude.yaml", text, "-95.5", "attributes.location_dest_lat", "±90")
    text = yaml_dump([ev(FLIGHT, "y1"), ev(HOTEL, "y2", start_time=1708156800123)])
    bad("38-yaml-list-milliseconds.yml", text, "1708156800123", "attributes.start_time", "milliseconds")
    broken = yaml_dump(ev(HOTEL, "y2")).replace("  orderStatus: CONFIRMED\n", "  orderStatus: CONFIRMED\n   bad: [\n")
    text = yaml_dump(ev(FLIGHT, "y1")) + "---\n" + broken + "---\n" + yaml_dump(ev(HOTEL, "y3"))
    bad("39-yaml-syntax-error-in-second-doc.yaml", text, "   bad: [", "", "not valid YAML")
    text = yaml_dump(ev(FLIGHT, "y1")).replace("start_time: 1708156800", "start_time: 2024-02-17")
    bad("40-yaml-start-time-is-a-date.yaml", text, "2024-02-17", "attributes.start_time", "Unix seconds")
    text = yaml_dump(ev(FLIGHT, "y1")).replace("type: order.confirmed", "type: 5")
    bad("41-yaml-event-type-number.yaml", text, "type: 5", "event.type", "must be a string")

    # PWA events (--kind pwa)
    p2 = {**PWA, "eventType": ""}
    bad("42-pwa-empty-event-type.jsonl", jsonl(PWA, p2), '"eventType": ""', "eventType", "non-empty", kind="pwa")
    p2 = {**PWA, "properties": '{"page_name": "x", '}
    bad(
        "43-pwa-properties-not-json.jsonl",
        jsonl(PWA, p2),
        'page_name\\": \\"x',
        "properties",
        "not valid JSON",
        kind="pwa",
    )
    p2 = copy.deepcopy(PWA)
    p2["properties"]["timestamp"] = "15/01/2024 10:30"
    bad("44-pwa-timestamp-not-iso.jsonl", jsonl(PWA, p2), "15/01/2024", "properties.timestamp", "ISO 8601", kind="pwa")
    text = pretty([PWA, {**PWA, "properties": ["a", "b"]}])
    bad("45-pwa-properties-array.json", text, '"properties": [', "properties", "JSON object", kind="pwa")

    (HERE / "bad" / "manifest.json").write_text(json.dumps(MANIFEST, indent=2, ensure_ascii=False) + "\n")
    print(f"{len(MANIFEST)} bad files")


if __name__ == "__main__":
    main()
