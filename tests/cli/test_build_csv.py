"""`rapido build flight|hotel --csv`: the real CLI in a subprocess, and the core (rapido_cli.csvbuild)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import TESTS, fuzz_examples, run_rapido

from rapido_cli.build import booking_event
from rapido_cli.csvbuild import BookingCsv, ColumnMap, event_line, normalize_header
from rapido_cli.errors import DataError, FieldError, UsageError
from rapido_cli.transport import encode_event

DATA = TESTS / "data" / "csv"

# send-booking flag for each CSV column (location_lat/long are joined into --location).
FLAGS = {
    "user_id": "--user",
    "order_id": "--order-id",
    "amount": "--amount",
    "status": "--status",
    "type": "--type",
    "tz": "--tz",
    "host_status": "--host-status",
    "event_id": "--event-id",
    "from": "--from",
    "to": "--to",
    "origin": "--origin",
    "dest": "--dest",
    "depart": "--depart",
    "arrive": "--arrive",
    "location": "--location",
    "check_in": "--check-in",
    "check_out": "--check-out",
}


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("RAPIDO_")}
    e.update(
        RAPIDO_CONFIG=str(tmp_path / "profiles.yaml"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        NO_COLOR="1",
        # Only send-booking --dry-run needs a profile; nothing is sent to this address.
        RAPIDO_BASE_URL="http://127.0.0.1:9",
        RAPIDO_CLIENT_ID="acme-travel",
        RAPIDO_APP_ID="acme-pwa",
        RAPIDO_SERVICE="flights",
        RAPIDO_CLIENT_KEY="test-key-0000-1234",
    )
    return e


def rapido(
    env: dict[str, str], *args: str, stdin: bytes | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return run_rapido(*args, env=env, input=stdin, cwd=cwd, exact_env=True).completed(list(args))


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line]


def write_csv(path: Path, rows: list[dict[str, str]], columns: list[str] | None = None) -> Path:
    columns = columns or sorted({k for r in rows for k in r})
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({c: r.get(c, "") for c in columns})
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- the acceptance tests

FLIGHT_ROWS = [
    # IATA codes, times with offsets
    {
        "user_id": "rapido_user_12345",
        "order_id": "FL_BOOKING_ABC123",
        "amount": "8500",
        "from": "DEL",
        "to": "BLR",
        "depart": "2024-02-17T13:30+05:30",
        "arrive": "2024-02-17T16:15+05:30",
    },
    # naive local times (read in each airport's zone), a cancelled status in lower case, decimal amount
    {
        "user_id": "rapido_user_20001",
        "order_id": "FL_BOOKING_ABC124",
        "amount": "4999.50",
        "status": "cancelled",
        "from": "BOM",
        "to": "DXB",
        "depart": "2024-02-18 06:10",
        "arrive": "2024-02-18 08:25",
    },
    # coordinates, Unix seconds, explicit tz, type, hostStatus and event id
    {
        "user_id": "rapido_user_20002",
        "order_id": "FL_BOOKING_ABC125",
        "amount": "12000",
        "status": "MODIFIED",
        "origin": "28.5562,77.1000",
        "dest": "12.9716,77.5946",
        "depart": "1708156800",
        "arrive": "1708163000",
        "tz": "Asia/Kolkata",
        "type": "payment.completed",
        "host_status": "CONFIRMED",
        "event_id": "evt_backfill_0003",
    },
]
HOTEL_ROWS = [
    {
        "user_id": "rapido_user_12345",
        "order_id": "HTL_BOOKING_XYZ789",
        "amount": "12000",
        "location": "28.6139,77.2090",
        "check_in": "1708156800",
        "check_out": "1708415200",
    },
    {
        "user_id": "rapido_user_30001",
        "order_id": "HTL_BOOKING_XYZ790",
        "amount": "5400",
        "status": "CANCELLED",
        "location": "15.2993,74.1240",
        "check_in": "2024-02-20 14:00",
        "check_out": "2024-02-22 11:00",
        "tz": "Asia/Kolkata",
    },
]


@pytest.mark.parametrize(("kind", "rows"), [("flight", FLIGHT_ROWS), ("hotel", HOTEL_ROWS)])
def test_csv_row_and_send_booking_flags_give_byte_identical_events(
    env: dict[str, str], tmp_path: Path, kind: str, rows: list[dict[str, str]]
) -> None:
    export = write_csv(tmp_path / f"{kind}.csv", rows)
    built = rapido(env, "build", kind, "--csv", str(export))
    assert built.returncode == 0, built.stderr
    out_lines = built.stdout.splitlines()
    assert len(out_lines) == len(rows)
    for row, line in zip(rows, out_lines, strict=True):
        flags = [x for col, val in row.items() for x in (FLAGS[col], val)]
        sent = rapido(env, "send-booking", kind, *flags, "--dry-run", "--json")
        assert sent.returncode == 0, sent.stderr
        body = json.loads(sent.stdout)["request"]["body"]
        # The bytes send-booking would put on the wire are exactly the line build wrote.
        assert encode_event(body).decode() == line
        assert json.loads(line)["event"]["id"] == body["event"]["id"]
    if kind == "flight":
        assert json.loads(out_lines[2])["event"]["id"] == "evt_backfill_0003"


def test_bad_amount_and_unknown_airport_on_row_4(env: dict[str, str]) -> None:
    res = rapido(env, "build", "flight", "--csv", str(DATA / "flights_bad_row4.csv"))
    assert res.returncode == 1
    events = lines(res.stdout)
    assert [e["attributes"]["orderId"] for e in events] == [
        "FL_BOOKING_ABC123",
        "FL_BOOKING_ABC124",
        "FL_BOOKING_ABC125",
        "FL_BOOKING_ABC127",
    ]
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    # Both bad fields of row 4 are named; the header is line 1, so row 4 is line 5.
    assert errors == [
        "error: " + str(DATA / "flights_bad_row4.csv") + ": row 4 (line 5): amount: '12k' is not a number",
        "error: " + str(DATA / "flights_bad_row4.csv") + ": row 4 (line 5): from: unknown airport 'QQX'",
    ]
    assert "built 4 events from 5 rows" in res.stderr
    assert "1 bad row skipped" in res.stderr


def test_column_map_renames_the_exports_headers(env: dict[str, str], tmp_path: Path) -> None:
    mapped = rapido(
        env, "build", "flight", "--csv", str(DATA / "partner_export.csv"), "--map", str(DATA / "partner_map.yaml")
    )
    assert mapped.returncode == 0, mapped.stderr
    # The same bookings exported with rapido's own column names give the same events, ids included.
    plain = rapido(env, "build", "flight", "--csv", str(DATA / "flights.csv"))
    assert mapped.stdout.splitlines() == plain.stdout.splitlines()[:2]
    # Unmapped extra columns: one warning naming them all.
    warnings = [line for line in mapped.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        f"warning: {DATA / 'partner_export.csv'}: ignoring columns 'Agent', 'Notes' (not flight booking fields)"
    ]


def test_bad_field_names_the_exports_header(env: dict[str, str], tmp_path: Path) -> None:
    text = (DATA / "partner_export.csv").read_text().replace("4999.50", "4,999.50")
    export = tmp_path / "e.csv"
    export.write_text(text)
    res = rapido(env, "build", "flight", "--csv", str(export), "--map", str(DATA / "partner_map.yaml"))
    assert res.returncode == 1
    # "4,999.50" unquoted shifts the row: one value too many.
    assert f"{export}: row 2 (line 3): row: has 11 values but the header has 10 columns" in res.stderr
    export.write_text(text.replace("4,999.50", '"4,999.50"'))
    res = rapido(env, "build", "flight", "--csv", str(export), "--map", str(DATA / "partner_map.yaml"))
    assert res.returncode == 1
    assert f"{export}: row 2 (line 3): amount (column 'Total (INR)'): '4,999.50' is not a number" in res.stderr


def test_real_export_quirks_bom_crlf_quotes_spaces_blank_lines(env: dict[str, str], tmp_path: Path) -> None:
    clean = (DATA / "flights.csv").read_text().splitlines()
    header, rows = clean[0], clean[1:]
    messy_rows = []
    for r in rows:
        cells = r.split(",")
        # spaces around values, some quoted, a quoted value with spaces inside quotes
        messy_rows.append(", ".join(f'"{c}"' if i % 2 else f" {c} " for i, c in enumerate(cells)))
    body = "\r\n".join([" User_ID , Order-ID,AMOUNT,Status,From,To,Depart,Arrive", *messy_rows]) + "\r\n\r\n\r\n"
    export = tmp_path / "messy.csv"
    export.write_bytes(b"\xef\xbb\xbf" + body.encode())
    messy = rapido(env, "build", "flight", "--csv", str(export))
    assert messy.returncode == 0, messy.stderr
    plain = rapido(env, "build", "flight", "--csv", str(DATA / "flights.csv"))
    assert messy.stdout == plain.stdout
    assert len(lines(plain.stdout)) == 4
    assert header  # (the clean file's header is rapido's own names)


def test_stdin_and_output_file(env: dict[str, str], tmp_path: Path) -> None:
    data = (DATA / "hotels.csv").read_bytes()
    piped = rapido(env, "build", "hotel", "--csv", "-", stdin=data)
    assert piped.returncode == 0, piped.stderr
    assert len(lines(piped.stdout)) == 2
    out = tmp_path / "events.jsonl"
    to_file = rapido(env, "build", "hotel", "--csv", str(DATA / "hotels.csv"), "-o", str(out))
    assert to_file.returncode == 0, to_file.stderr
    assert to_file.stdout == ""
    assert out.read_text() == piped.stdout
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".events")) == []  # no temp file left


def test_missing_required_column_is_one_error_up_front(env: dict[str, str], tmp_path: Path) -> None:
    export = tmp_path / "no_amount.csv"
    export.write_text("user_id,order_id,from,to,depart,arrive\nu1,O1,DEL,BLR,1708156800,1708163000\n")
    res = rapido(env, "build", "flight", "--csv", str(export))
    assert res.returncode == 2
    assert res.stdout == ""
    assert res.stderr.count("error:") == 1
    assert "missing required column for flight bookings: amount" in res.stderr
    hotel = rapido(env, "build", "hotel", "--csv", str(DATA / "flights.csv"))
    assert hotel.returncode == 2
    assert "location or location_lat+location_long, check_in, check_out" in hotel.stderr


def test_map_errors_are_usage_errors(env: dict[str, str], tmp_path: Path) -> None:
    bad_key = tmp_path / "m1.yaml"
    bad_key.write_text("columns:\n  order_ref: PNR\n")
    res = rapido(env, "build", "flight", "--csv", str(DATA / "partner_export.csv"), "--map", str(bad_key))
    assert res.returncode == 2
    assert "'order_ref' is not a rapido column; did you mean 'order_id'?" in res.stderr
    typo = tmp_path / "m2.yaml"
    typo.write_text((DATA / "partner_map.yaml").read_text().replace("Total (INR)", "Total INR"))
    res = rapido(env, "build", "flight", "--csv", str(DATA / "partner_export.csv"), "--map", str(typo))
    assert res.returncode == 2
    assert "the header 'Total INR' is not in" in res.stderr
    assert "did you mean 'Total (INR)'?" in res.stderr
    missing = rapido(env, "build", "flight", "--csv", str(tmp_path / "nope.csv"))
    assert missing.returncode == 2
    assert "no such file" in missing.stderr


def test_help_shows_examples(env: dict[str, str]) -> None:
    res = rapido(env, "build", "--help")
    assert res.returncode == 0
    assert res.stdout.count("rapido build ") >= 3


# ----------------------------------------------------------------------------- the core, in process


def reader(text: str, kind: str = "flight", column_map: ColumnMap | None = None, **kw: Any) -> BookingCsv:
    return BookingCsv(io.StringIO(text, newline=""), kind, column_map, name="t.csv", **kw)  # type: ignore[arg-type]


def test_row_and_line_numbers_with_multiline_values_and_blank_records() -> None:
    text = (
        "user_id,order_id,amount,from,to,depart,arrive,notes\n"
        'u1,O1,10,DEL,BLR,1708156800,1708163000,"two\nlines"\n'
        "\n"
        "u2,O2,x,DEL,BLR,1708156800,1708163000,\n"
    )
    results = list(reader(text))
    assert [(r.row, r.line, r.ok) for r in results] == [(1, 2, True), (3, 5, False)]
    assert results[1].where == "row 3 (line 5)"


def test_all_bad_fields_of_a_row_are_reported() -> None:
    text = "user_id,order_id,amount,from,to,depart,arrive,tz,status\n,O1,-5,ZZZ,12,soon,later,Mars/Base,DONE\n"
    (result,) = list(reader(text))
    assert [p.field for p in result.problems] == ["user_id", "amount", "status", "tz", "from", "to", "depart", "arrive"]


def test_from_and_origin_both_given() -> None:
    text = 'user_id,order_id,amount,from,origin,to,depart,arrive\nu,O,1,DEL,"1,2",BLR,1708156800,1708163000\n'
    (result,) = list(reader(text))
    assert [(p.field, p.message) for p in result.problems] == [("from", "give from or origin, not both")]


def test_delimiter_is_guessed_from_the_header() -> None:
    text = "user_id;order_id;amount;from;to;depart;arrive\nu1;O1;8500,50;DEL;BLR;1708156800;1708163000\n"
    r = reader(text)
    assert r.delimiter == ";"
    (result,) = list(r)
    assert result.problems[0].message == "'8500,50' is not a number"


def test_defaults_fill_absent_columns_and_empty_cells() -> None:
    cmap = ColumnMap.from_obj({"columns": {"order_id": "PNR"}, "defaults": {"tz": "UTC", "from": "DEL"}})
    text = "user_id,PNR,amount,from,to,depart,arrive\nu1,O1,1,,BLR,2024-02-17 10:00,2024-02-17 12:00\n"
    (result,) = list(reader(text, column_map=cmap))
    assert result.event is not None
    assert result.event["attributes"]["tz"] == "UTC"
    assert result.event["attributes"]["start_time"] == 1708164000  # 10:00 UTC, as the tz default says
    assert result.event == booking_event(
        "flight",
        {
            "user_id": "u1",
            "order_id": "O1",
            "amount": "1",
            "from": "DEL",
            "to": "BLR",
            "tz": "UTC",
            "depart": "2024-02-17 10:00",
            "arrive": "2024-02-17 12:00",
        },
    )


def test_repeated_header_is_only_an_error_when_used() -> None:
    ok = reader("user_id,order_id,amount,from,to,depart,arrive,Notes,notes\nu,O,1,DEL,BLR,1708156800,1708163000,a,b\n")
    assert [r.ok for r in ok] == [True]
    assert ok.ignored == ["Notes", "notes"]
    with pytest.raises(UsageError, match="appears 2 times"):
        reader("user_id,order_id,amount,Amount,from,to,depart,arrive\n")


def test_flat_map_and_normalized_headers() -> None:
    assert normalize_header("  Order-ID ") == "order_id"
    cmap = ColumnMap.from_obj({"user_id": "Customer", "amount": "Total"})
    r = reader("Customer,Order ID,Total,FROM,to,Depart,Arrive\nu,O,1,DEL,BLR,1708156800,1708163000\n", column_map=cmap)
    assert r.columns == {
        "user_id": "Customer",
        "amount": "Total",
        "order_id": "Order ID",
        "from": "FROM",
        "to": "to",
        "depart": "Depart",
        "arrive": "Arrive",
    }
    with pytest.raises(UsageError, match="both map to the header"):
        ColumnMap.from_obj({"user_id": "X", "order_id": "x"})
    with pytest.raises(UsageError, match="expected a header name"):
        ColumnMap.from_obj({"columns": {"amount": 5}})


def test_not_utf8_and_utf16(tmp_path: Path) -> None:
    from rapido_cli.csvbuild import open_csv

    latin = tmp_path / "latin.csv"
    latin.write_bytes("user_id,order_id,amount,from,to,depart,arrive\nJosé,O1,1,DEL,BLR,1,2\n".encode("latin-1"))
    with open_csv(latin) as stream, pytest.raises(DataError, match="line 2: not utf-8 text \\(byte 0xe9\\)"):
        list(BookingCsv(stream, "flight", name=str(latin)))
    with open_csv(latin, "latin-1") as stream:
        assert [r.ok for r in BookingCsv(stream, "flight", name=str(latin))] == [True]
    wide = tmp_path / "wide.csv"
    wide.write_text((DATA / "hotels.csv").read_text(), encoding="utf-16")
    with open_csv(wide) as stream:
        assert [r.ok for r in BookingCsv(stream, "hotel", name=str(wide))] == [True, True]


def test_rules_errors_make_a_bad_row() -> None:
    # The builder accepts any event id; the shared rules refuse one longer than the API allows.
    text = (
        "user_id,order_id,amount,from,to,depart,arrive,event_id\nu,O,1,DEL,BLR,1708156800,1708163000,"
        + "e" * 200
        + "\n"
    )
    (result,) = list(reader(text))
    assert not result.ok
    assert result.problems[0].field == "event.id"


def test_event_line_matches_the_wire_encoding() -> None:
    event = booking_event(
        "hotel",
        {
            "user_id": "ü",
            "order_id": "Ö",
            "amount": "1.5",
            "location": "1,2",
            "check_in": "1708156800",
            "check_out": "1708156900",
        },
    )
    assert event_line(event).encode() == encode_event(event)


# ----------------------------------------------------------------------------- property: CSV == builder

try:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover
    given = None  # type: ignore[assignment]

if given is not None:
    _cell = st.one_of(
        st.sampled_from(
            [
                "",
                "DEL",
                "BLR",
                "XXX",
                "12.5",
                "-3",
                "abc",
                "1708156800",
                "2024-02-17 10:00",
                "2024-02-17T10:00+05:30",
                "28.5,77.1",
                "Asia/Kolkata",
                "cancelled",
                "MODIFIED",
                "1e3",
            ]
        ),
        st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12),
    )
    _row = st.fixed_dictionaries(
        {c: _cell for c in ("user_id", "order_id", "amount", "from", "to", "depart", "arrive")},
        optional={c: _cell for c in ("status", "tz", "origin", "dest", "host_status", "event_id")},
    )

    @settings(max_examples=fuzz_examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_row, st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]), st.sampled_from(["\n", "\r\n"]), st.booleans())
    def test_property_a_row_builds_what_the_builder_builds(
        values: dict[str, str], quoting: int, newline: str, bom: bool
    ) -> None:
        columns = list(values)
        buf = io.StringIO()
        w = csv.writer(buf, quoting=quoting, lineterminator=newline)
        w.writerow(columns)
        w.writerow([values[c] for c in columns])
        raw = (b"\xef\xbb\xbf" if bom else b"") + buf.getvalue().encode()
        stream = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8-sig", newline="")
        results = list(BookingCsv(stream, "flight", name="p.csv"))
        stripped = {k: v.strip() for k, v in values.items()}
        if not any(stripped.values()):
            assert results == []
            return
        (result,) = results
        try:
            expected = booking_event("flight", values)
        except FieldError as exc:
            assert not result.ok
            assert result.problems[0].field == exc.field
            return
        from rapido_cli.rules import check_server_event

        if any(p.severity == "error" for p in check_server_event(expected)):
            assert not result.ok
        else:
            assert result.event == expected
            assert event_line(result.event) == event_line(expected)


def test_rejects_file_can_be_fixed_and_built_again(env: dict[str, str], tmp_path: Path) -> None:
    rejects = tmp_path / "rejects.csv"
    first = rapido(env, "build", "flight", "--csv", str(DATA / "flights_bad_row4.csv"), "--rejects", str(rejects))
    assert first.returncode == 1
    assert "1 bad row skipped (written to" in first.stderr
    header, row = rejects.read_text().splitlines()
    assert header == "user_id,order_id,amount,status,from,to,depart,arrive,rapido_error"
    assert row.startswith("rapido_user_20003,FL_BOOKING_ABC126,12k,CONFIRMED,QQX,CCU,")
    assert row.endswith(",row 4 (line 5): amount: '12k' is not a number; from: unknown airport 'QQX'")
    rejects.write_text(rejects.read_text().replace("12k", "12000").replace("QQX", "MAA"))
    second = rapido(env, "build", "flight", "--csv", str(rejects))
    assert second.returncode == 0, second.stderr
    assert "warning" not in second.stderr  # the rapido_error column is ours: ignored silently
    (fixed,) = lines(second.stdout)
    assert fixed["attributes"]["orderId"] == "FL_BOOKING_ABC126"
    assert fixed["attributes"]["amount_total"] == 12000


def test_many_bad_rows_are_counted_after_the_first_hundred(env: dict[str, str], tmp_path: Path) -> None:
    export = tmp_path / "bad.csv"
    export.write_text(
        "user_id,order_id,amount,from,to,depart,arrive\n"
        + "".join(f"u{i},O{i},oops,DEL,BLR,1708156800,1708163000\n" for i in range(150))
        + "u,O,1,DEL,BLR,1708156800,1708163000\n"
    )
    res = rapido(env, "build", "flight", "--csv", str(export))
    assert res.returncode == 1
    assert len(lines(res.stdout)) == 1
    assert res.stderr.count("error:") == 100
    assert "... and 50 more bad rows" in res.stderr


def test_arrive_before_depart_shows_both_local_times() -> None:
    text = "user_id,order_id,amount,from,to,depart,arrive\nu,O,1,LHR,DEL,2024-02-17 10:00,2024-02-17 14:00\n"
    (result,) = list(reader(text))
    (problem,) = result.problems
    assert problem.describe() == "arrive: is before depart (depart 2024-02-17 10:00, arrive 2024-02-17 14:00)"
    assert problem.hint is not None and "each airport's zone" in problem.hint


def test_blank_required_cell_is_empty_not_missing() -> None:
    cmap = ColumnMap.from_obj({"amount": "Total (INR)"})
    text = "user_id,order_id,Total (INR),from,to,depart,arrive\nu,O,,DEL,BLR,1708156800,1708163000\n"
    (result,) = list(reader(text, column_map=cmap))
    (problem,) = result.problems
    assert problem.describe() == "amount (column 'Total (INR)'): is empty"
    assert problem.hint is None


def test_a_repeated_booking_is_built_twice_with_one_warning(env: dict[str, str], tmp_path: Path) -> None:
    rows = (DATA / "flights.csv").read_text().splitlines()
    export = tmp_path / "dup.csv"
    export.write_text("\n".join([rows[0], rows[1], rows[2], rows[1]]) + "\n")
    res = rapido(env, "build", "flight", "--csv", str(export))
    assert res.returncode == 0, res.stderr
    first, _, again = lines(res.stdout)
    assert first == again
    assert f"row 3 (line 4): builds the same event as an earlier row (id {first['event']['id']})" in res.stderr


def test_closed_pipe_is_not_a_crash(env: dict[str, str], tmp_path: Path) -> None:
    rows = (DATA / "flights.csv").read_text().splitlines()
    export = tmp_path / "many.csv"
    export.write_text(rows[0] + "\n" + "".join(rows[1].replace("ABC123", f"N{i:05d}") + "\n" for i in range(2000)))
    proc = subprocess.Popen(
        [sys.executable, "-m", "rapido_cli", "build", "flight", "--csv", str(export)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    json.loads(proc.stdout.readline())
    proc.stdout.close()  # like `| head -1`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) != 0
    assert "Traceback" not in err
