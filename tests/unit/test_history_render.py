"""How `rapido history` renders: the table on a terminal (80 and 120 columns), tsv/csv/json."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rapido_cli.cli import build_app
from rapido_cli.cli.history_cmd import FIELDS, table_lines
from rapido_cli.journal import Journal, JournalRow, Record

TARGET_A = "https://partner-staging.example.com|acme-travel"
TARGET_B = "https://partner.example.com|acme-travel"


def row(n: int, outcome: str = "sent", **extra: Any) -> JournalRow:
    base: dict[str, Any] = {
        "target": TARGET_A,
        "event_id": f"evt_{n:032x}",  # the usual 36-character derived id
        "outcome": outcome,
        "status": 200 if outcome == "sent" else 503,
        "attempts": 1,
        "request_id": f"req_{n:020x}",
        "order_id": f"FL_BOOKING_{n:06d}",
        "at": "2024-02-17T08:00:00.123Z",
        "error": None,
        "event_type": "order.confirmed",
        "raw": None,
    }
    base.update(extra)
    return JournalRow(**base)


ROWS = [
    row(1),
    row(2, "failed", failure="temporary", attempts=5, error="HTTP 503 after 5 attempts: upstream unavailable " * 3),
    row(3, "invalid", status=None, request_id=None, error="line 7: not JSON"),
    row(4, target=TARGET_B),
]


@pytest.mark.parametrize("width", [80, 120])
def test_event_id_first_and_never_cut(width: int) -> None:
    lines = table_lines(ROWS, width)
    assert lines[0].startswith("EVENT ID")
    for line, r in zip(lines[1:], ROWS, strict=True):
        assert line.startswith(r.event_id + " ")
        assert len(line) <= width, (width, line)


def test_wider_terminals_show_more_columns() -> None:
    narrow, wide = table_lines(ROWS, 80)[0].split(), table_lines(ROWS, 120)[0].split()
    assert len(wide) > len(narrow)
    assert {"OUTCOME", "STATUS"} <= set(narrow)
    assert "ORDER" in wide and "TRIES" in wide
    huge = table_lines(ROWS, 300)
    assert "TARGET" in huge[0] and "ERROR" in huge[0]
    assert "upstream unavailable" in huge[2]


def test_long_errors_are_cut_with_an_ellipsis_not_wrapped() -> None:
    lines = table_lines(ROWS, 200)
    assert all(len(line) <= 200 for line in lines)
    failed = lines[2]
    assert failed.endswith("…") and "failed (temporary)" in failed


def test_colour_only_when_asked() -> None:
    assert not any("\x1b" in line for line in table_lines(ROWS, 120))
    coloured = table_lines(ROWS, 120, color=True)
    assert "\x1b[31m" in coloured[2]  # failed in red


def test_hostile_values_are_inert() -> None:
    lines = table_lines([row(9, order_id="FL_\x1b]0;pwned\x07")], 200)
    assert "\x1b" not in "".join(lines) and "\\x1b" in lines[1]


# ---------------------------------------------------------------- through the CLI


@pytest.fixture
def history(tmp_path: Path) -> Any:
    journal = tmp_path / "journal.sqlite3"
    now = time.time()
    with Journal(journal) as j:
        j.record(
            TARGET_A,
            [
                Record("evt_a\tb", "sent", status=200, attempts=1, request_id="req_1", order_id="FL_1", at=now - 60),
                Record("evt_c", "failed", failure="rejected", status=400, attempts=1, order_id="FL, 2",
                       error="amount:\nmust be a number", at=now - 30),
            ],
        )  # fmt: skip
    runner = CliRunner()
    app = build_app()

    def run(*args: str) -> Any:
        return runner.invoke(app, ["history", "--journal", str(journal), *args], catch_exceptions=False)

    return run


def test_tsv_is_the_piped_default_and_keeps_rows_on_one_line(history) -> None:
    res = history()
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert len(lines) == 2
    fields = [line.split("\t") for line in lines]
    assert all(len(f) == len(FIELDS) for f in fields)
    assert fields[0][0] == "evt_c" and fields[0][9] == "amount: must be a number"
    assert fields[1][0] == "evt_a\\x09b"  # a tab inside a value is shown, not a column break


def test_csv_has_a_header_and_quotes(history) -> None:
    res = history("--output-format", "csv")
    rows = list(csv.reader(io.StringIO(res.stdout)))
    assert rows[0] == list(FIELDS)
    assert rows[1][5] == "FL, 2"


@pytest.mark.parametrize("args", [["--json"], ["--output-format", "json"]])
def test_json_either_way(history, args: list[str]) -> None:
    doc = json.loads(history(*args).stdout)
    assert [r["event_id"] for r in doc] == ["evt_c", "evt_a\tb"]


def test_json_and_another_format_disagree(history) -> None:
    res = history("--json", "--output-format", "csv")
    assert res.exit_code == 2
    assert "disagree" in res.stderr
    assert json.loads(res.stdout)["ok"] is False


def test_bad_format_suggests(history) -> None:
    res = history("--output-format", "tvs")
    assert res.exit_code == 2
    assert "did you mean 'tsv'?" in res.stderr
