"""Hostile servers, hostile files, hostile environments (see docs/security.md).

One test (or one parametrized family) per guarantee of the hardening issue:

1. foreign text is inert: no terminal escape and no rich markup from a journal, a profiles file,
   an export, an event file, a server answer or the environment ever acts on the terminal;
2. bounded inputs: one safe YAML loader (billion laughs refused fast), config and key files are
   regular files under a size cap (``/dev/zero``, FIFOs, directories, 2 GB sparse files refused);
3. private output files: 0600, never written through a symbolic link;
4. CSV for spreadsheets has its formula cells neutralised, TSV and JSON keep raw values;
5. every bad environment (or profiles-file) value is one clean error naming the variable (or the
   file and key), never a traceback.

In-process through ``run_cli`` wherever a regression would only fail the test; in a subprocess
with an address-space limit where a regression would eat the machine's memory.
"""

from __future__ import annotations

import csv
import io
import json
import os
import resource
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import PAYMENT_SEND, TEST_KEY, Reply, Result, write_profiles
from httpserver import error_body

from rapido_cli.journal import Journal, Record

#: Sets the terminal's window title; BEL ends it. Printed raw, it acts on the operator's terminal.
ESC = "\x1b]0;pwned\x07"
ESC_SHOWN = "\\x1b]0;pwned\\x07"
#: Rich markup that would turn into a hyperlink if a console interpreted it.
MARKUP = "[link=https://evil.example]click[/link]"
FORMULA = '=HYPERLINK("http://evil.example","x")'

RunCli = Callable[..., Result]


def assert_inert(text: str) -> None:
    """No raw control character (escape, bell, C1 CSI, bidi override) in ``text``."""
    for ch in ("\x1b", "\x07", "\x9b", "\u202e"):
        assert ch not in text, f"raw {ch!r} in output: {text!r}"


def laughs() -> str:
    """A ~370-byte YAML flow sequence whose aliases expand to 9**9 (387 million) strings."""
    levels = ["&a [" + ",".join(['"lol"'] * 9) + "]"]
    prev = "a"
    for name in "bcdefghi":
        levels.append(f"&{name} [" + ",".join([f"*{prev}"] * 9) + "]")
        prev = name
    return "[" + ", ".join(levels) + "]"


def env_only(**override: str) -> dict[str, str]:
    """A complete configuration from the environment alone (no profiles file), with overrides."""
    env = {
        "RAPIDO_CONFIG": "/nonexistent/rapido/profiles.yaml",
        "RAPIDO_BASE_URL": "http://127.0.0.1:9",
        "RAPIDO_CLIENT_ID": "acme-travel",
        "RAPIDO_APP_ID": "acme-pwa",
        "RAPIDO_SERVICE": "flights",
        "RAPIDO_CLIENT_KEY": TEST_KEY,
    }
    env.update(override)
    return env


def run_limited(args: list[str], env: dict[str, str], *, timeout: float = 20) -> Result:
    """The real CLI in a subprocess limited to 1 GiB of address space: a regression that reads
    ``/dev/zero`` or expands a YAML bomb dies there (MemoryError) instead of exhausting the machine."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    full = {**os.environ, **env, "COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, "-m", "rapido_cli", *args],
        capture_output=True,
        text=True,
        env=full,
        timeout=timeout,
        preexec_fn=limit,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


# =============================================================================================
# 1. foreign text is inert


@pytest.fixture
def hostile_journal(tmp_path: Path) -> Path:
    """A journal whose ids, request ids and errors carry escapes, markup and a spreadsheet formula."""
    path = tmp_path / "journal.sqlite3"
    now = time.time()
    with Journal(path) as j:
        j.record(
            "http://127.0.0.1:8787|acme",
            [
                Record(
                    "evt_" + ESC,
                    "failed",
                    failure="rejected",
                    status=400,
                    attempts=1,
                    request_id="req_" + MARKUP,
                    order_id=FORMULA,
                    error="bad \x9b31m " + ESC + " " + MARKUP + " \u202eevil",
                    raw="{}",
                    at=now - 60,
                ),
                Record("evt_negative", "sent", status=200, attempts=1, request_id="-12.5", order_id="-12.5", at=now),
            ],
        )
    return path


def test_history_table_escapes_foreign_text_and_keeps_markup_literal(run_cli: RunCli, hostile_journal: Path) -> None:
    res = run_cli("history", "--journal", str(hostile_journal))
    assert res.code == 0, res.output
    assert_inert(res.output)
    assert "evt_" + ESC_SHOWN in res.stdout
    assert "req_[link=https://evil.example]click[/link]" in res.stdout  # shown, not turned into a link


def test_history_json_keeps_raw_values_and_is_still_inert_on_a_terminal(run_cli: RunCli, hostile_journal: Path) -> None:
    res = run_cli("history", "--journal", str(hostile_journal), "--json")
    assert res.code == 0, res.output
    assert_inert(res.stdout)  # JSON escapes C0 itself; C1 and bidi are written as \u escapes
    rows = {r["event_id"]: r for r in json.loads(res.stdout)}
    bad = rows["evt_" + ESC]  # the value itself is raw
    assert bad["order_id"] == FORMULA
    assert bad["error"] == "bad \x9b31m " + ESC + " " + MARKUP + " \u202eevil"
    assert "\\u009b" in res.stdout and "\\u202e" in res.stdout


def test_history_tsv_and_csv(run_cli: RunCli, hostile_journal: Path) -> None:
    tsv = run_cli("history", "--journal", str(hostile_journal), "--output-format", "tsv")
    assert tsv.code == 0, tsv.output
    assert_inert(tsv.stdout)
    lines = tsv.stdout.splitlines()
    from rapido_cli.cli.history_cmd import FIELDS

    header = list(FIELDS)  # TSV has no header line (like `gh ... | cat`); the columns are FIELDS
    assert header[:7] == ["event_id", "outcome", "status", "attempts", "request_id", "order_id", "at"]
    by_id = {cells[0]: dict(zip(header, cells, strict=True)) for cells in (line.split("\t") for line in lines)}
    assert len(by_id) == 2
    assert by_id["evt_" + ESC_SHOWN]["order_id"] == FORMULA  # TSV: raw value, no formula prefix
    assert by_id["evt_negative"]["order_id"] == "-12.5"

    out = run_cli("history", "--journal", str(hostile_journal), "--output-format", "csv")
    assert out.code == 0, out.output
    assert_inert(out.stdout)
    rows = {r["event_id"]: r for r in csv.DictReader(io.StringIO(out.stdout))}
    assert rows["evt_" + ESC_SHOWN]["order_id"] == "'" + FORMULA  # CSV: neutralised for spreadsheets
    assert rows["evt_negative"]["order_id"] == "-12.5"  # a plain number stays a number
    assert rows["evt_negative"]["request_id"] == "-12.5"


def test_profile_list_and_show_are_inert(run_cli: RunCli, tmp_path: Path) -> None:
    cfg = tmp_path / "profiles.yaml"
    bundle = f"/nonexistent/{ESC}{MARKUP}.pem"
    cfg.write_text(
        "default: p\nprofiles:\n"
        f"  p: {{base_url: 'https://x.example', client_id: acme, app_id: app, service: flights,"
        f" key: 'env:NOPE', ca_bundle: {json.dumps(bundle)}}}\n"
        f"  q: {{base_url: {json.dumps('https://q.example/' + ESC)}, client_id: {json.dumps(MARKUP)}}}\n"
    )
    cfg.chmod(0o600)
    listed = run_cli("profile", "list", "--config", str(cfg))
    assert listed.code == 0, listed.output
    assert_inert(listed.output)
    assert MARKUP in listed.stdout and "https://q.example/" + ESC_SHOWN in listed.stdout

    shown = run_cli("profile", "show", "p", "--config", str(cfg))
    assert shown.code == 0, shown.output
    assert_inert(shown.output)
    assert ESC_SHOWN + MARKUP + ".pem" in shown.stdout


def test_doctor_rows_are_inert(run_cli: RunCli, tmp_path: Path) -> None:
    cfg = tmp_path / "profiles.yaml"
    cfg.write_text(f"profiles: {{}}\n{json.dumps(ESC + MARKUP)}: 1\n")  # an unknown top-level key, quoted back
    cfg.chmod(0o600)
    for env in ({}, {"NO_COLOR": "1"}):
        res = run_cli("doctor", "--config", str(cfg), env=env)
        assert res.code == 3, res.output
        assert_inert(res.output)
        assert ESC_SHOWN + MARKUP in res.stdout


def test_validate_messages_quoting_the_file_are_inert(run_cli: RunCli, tmp_path: Path) -> None:
    event = {
        "userId": "u1",
        "event": {"type": "order.confirmed", "id": "e1"},
        "attributes": {"orderId": "FL_1", ESC + "x": 1},
        "schemaVersion": 1,
    }
    path = tmp_path / f"events{ESC}.jsonl"
    path.write_text(json.dumps(event) + "\n")
    res = run_cli("validate", str(path))
    assert res.code == 1, res.output
    assert_inert(res.output)
    assert f"attributes.{ESC_SHOWN}x" in res.stdout


def test_build_row_errors_and_warnings_are_inert(run_cli: RunCli, tmp_path: Path) -> None:
    export = tmp_path / f"export{ESC}.csv"
    export.write_text(
        "user_id,order_id,amount,from,to,depart,arrive,[bold]note[/bold]\n"
        "u1,FL_1,abc,DEL,BLR,2024-02-17T13:30+05:30,2024-02-17T16:15+05:30,x\n"
    )
    res = run_cli("build", "flight", "--csv", str(export))
    assert res.code == 1, res.output
    assert_inert(res.stderr)
    assert f"export{ESC_SHOWN}.csv: row 1 (line 2): amount" in res.stderr
    assert "[bold]note[/bold]" in res.stderr  # the ignored-column warning shows the header as written


def test_send_shows_a_hostile_server_answer_inert(
    run_cli: RunCli, server: Callable[..., object], tmp_path: Path
) -> None:
    srv = server([Reply(400, error_body(4001, ESC + MARKUP + " \x9b2J", {"field" + ESC: MARKUP}))])
    cfg = write_profiles(tmp_path / "profiles.yaml", srv.url, key=TEST_KEY)  # type: ignore[attr-defined]
    res = run_cli(*PAYMENT_SEND, env={"RAPIDO_CONFIG": str(cfg)})
    assert res.code == 1, res.output
    assert_inert(res.output)
    assert ESC_SHOWN + MARKUP in res.stdout  # the message, shown and not interpreted
    assert f"field{ESC_SHOWN}: {MARKUP}" in res.stdout


def test_error_and_warning_lines_are_inert(run_cli: RunCli) -> None:
    res = run_cli(*PAYMENT_SEND, "--dry-run", env=env_only(RAPIDO_PROFILE="x" + ESC + MARKUP))
    assert res.code == 3, res.output
    assert_inert(res.stderr)
    assert "RAPIDO_PROFILE" in res.stderr and ESC_SHOWN + MARKUP in res.stderr


def test_sandbox_live_line_is_inert() -> None:
    from rapido_cli.cli.sandbox_cmd import format_event, plain_event
    from rapido_cli.sandbox import SandboxEvent

    ev = SandboxEvent(
        "server",
        datetime.now(UTC),
        "invalid",
        status=400,
        event_type="order." + ESC,
        event_id="e" + ESC,
        client_id="c" + ESC,
        message=ESC + MARKUP,
        problems=[{"severity": "error", "path": "a" + ESC, "message": ESC}],
    )
    for verbose in (0, 1):
        plain = plain_event(ev, verbose=verbose)
        assert_inert(plain)
        assert ESC_SHOWN + MARKUP in plain
        assert_inert(format_event(ev, verbose=verbose).plain)


# =============================================================================================
# 2. bounded inputs: one safe YAML loader, regular files under a size cap


@pytest.mark.parametrize("place", ["profiles", "map", "attrs"])
def test_billion_laughs_is_refused_fast_with_file_and_line(run_cli: RunCli, tmp_path: Path, place: str) -> None:
    bomb = tmp_path / "bomb.yaml"
    if place == "profiles":
        bomb.write_text(f"default: p\nprofiles:\n  p:\n    client_id: {laughs()}\n")
        bomb.chmod(0o600)
        args, code = ["profile", "show", "--config", str(bomb)], 3
    elif place == "map":
        export = tmp_path / "export.csv"
        export.write_text("user_id,order_id\n")
        bomb.write_text(f"columns:\n  user_id: {laughs()}\n")
        args, code = ["build", "flight", "--csv", str(export), "--map", str(bomb)], 2
    else:
        bomb.write_text(f"note: {laughs()}\n")
        args, code = [*PAYMENT_SEND, "--attrs", str(bomb), "--dry-run"], 2
    assert len(bomb.read_bytes()) < 700
    cpu = time.process_time()
    res = run_cli(*args, env=env_only() if place == "attrs" else {})
    cpu = time.process_time() - cpu
    assert res.code == code, res.output
    assert f"{bomb}:" in res.stderr and "aliases" in res.stderr
    assert "Traceback" not in res.output
    assert cpu < 1.0, f"{cpu:.2f} s of CPU to refuse a billion-laughs file"


@pytest.mark.slow  # ~3 s: a fresh interpreter importing the profile, build and send modules
def test_billion_laughs_memory_stays_under_100_mb(tmp_path: Path) -> None:
    """Every YAML reader given a bomb, in one process, under a 1 GiB limit: peak RSS < 100 MB."""
    profiles = tmp_path / "profiles.yaml"
    profiles.write_text(f"profiles:\n  p:\n    client_id: {laughs()}\n")
    profiles.chmod(0o600)
    column_map = tmp_path / "map.yaml"
    column_map.write_text(f"columns:\n  user_id: {laughs()}\n")
    attrs = tmp_path / "attrs.yaml"
    attrs.write_text(f"note: {laughs()}\n")
    script = textwrap.dedent(
        f"""
        import resource, sys
        from pathlib import Path
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        from rapido_cli.errors import RapidoError
        from rapido_cli.profiles import load_profiles_file
        from rapido_cli.csvbuild import ColumnMap
        from rapido_cli.cli.send_cmd import _read_structured
        for call in (lambda: load_profiles_file(Path({str(profiles)!r})),
                     lambda: ColumnMap.load({str(column_map)!r}),
                     lambda: _read_structured({str(attrs)!r}, "--attrs")):
            try:
                call()
                sys.exit("accepted a billion-laughs file")
            except RapidoError:
                pass
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                print(int(line.split()[1]) // 1024)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout) < 100, f"peak RSS {proc.stdout.strip()} MB"


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "fifo"
    os.mkfifo(path, 0o600)
    return path


@pytest.mark.timeout(15)
def test_config_fifo_directory_and_oversized_file_are_clean_errors(run_cli: RunCli, tmp_path: Path, fifo: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * ((1 << 20) + 1))  # a valid YAML comment, just too large
    for path, codes in ((fifo, {3}), (tmp_path, {2, 3}), (big, {3})):
        res = run_cli("profile", "list", env={"RAPIDO_CONFIG": str(path)})
        assert res.code in codes, res.output
        assert str(path) in res.stderr
        assert "Traceback" not in res.output


@pytest.mark.parametrize("junk", ["/dev/zero", "sparse-2GB"])
def test_config_device_or_huge_sparse_file_is_refused_unread(tmp_path: Path, junk: str) -> None:
    path = Path(junk)
    if junk == "sparse-2GB":
        path = tmp_path / "profiles.yaml"
        with open(path, "wb") as fh:
            fh.truncate(2 << 30)
    res = run_limited(["profile", "list"], {"RAPIDO_CONFIG": str(path)})
    assert res.code == 3, res.output
    assert str(path) in res.stderr and "Traceback" not in res.output


def test_completion_does_not_read_a_device_as_the_profiles_file() -> None:
    env = {
        "RAPIDO_CONFIG": "/dev/zero",
        "_RAPIDO_COMPLETE": "complete_bash",
        "COMP_WORDS": "rapido send --profile ",
        "COMP_CWORD": "3",
    }
    res = run_limited([], env, timeout=20)
    assert res.code == 0, res.output
    assert "Traceback" not in res.output


@pytest.mark.timeout(15)
def test_key_file_must_be_a_small_regular_file(run_cli: RunCli, tmp_path: Path, fifo: Path) -> None:
    big = tmp_path / "big.key"
    big.write_text("k" * ((64 << 10) + 1))
    big.chmod(0o600)
    for key_path in (fifo, big, tmp_path):
        cfg = tmp_path / "profiles.yaml"
        cfg.write_text(
            "profiles:\n  p: {base_url: 'http://127.0.0.1:9', client_id: a, app_id: b, service: flights,"
            f" key: 'file:{key_path}'}}\n"
        )
        cfg.chmod(0o600)
        # (not --dry-run: a dry run needs no key, so it never reads the key file)
        res = run_cli(*PAYMENT_SEND, "--profile", "p", env={"RAPIDO_CONFIG": str(cfg)})
        assert res.code == 3, res.output
        assert f"key file {key_path}" in res.stderr and "Traceback" not in res.output


def test_set_key_reads_a_bounded_standard_input(run_cli: RunCli, tmp_path: Path) -> None:
    cfg = tmp_path / "profiles.yaml"
    key = tmp_path / "s.key"
    cfg.write_text(f"profiles:\n  s: {{base_url: 'https://x.example', client_id: a, app_id: b, key: 'file:{key}'}}\n")
    cfg.chmod(0o600)
    res = run_cli("profile", "set-key", "s", "--config", str(cfg), input="k" * (1 << 20))
    assert res.code == 2, res.output
    assert "standard input" in res.stderr and not key.exists()


# =============================================================================================
# 3. private output files, never written through a link


def _victim(tmp_path: Path, name: str) -> tuple[Path, Path]:
    victim = tmp_path / f"{name}.victim"
    victim.write_text("keep me\n")
    link = tmp_path / name
    link.symlink_to(victim)
    return victim, link


def assert_private_regular(path: Path) -> None:
    st = path.lstat()
    assert stat.S_ISREG(st.st_mode), f"{path} is not a regular file"
    assert stat.S_IMODE(st.st_mode) == 0o600, f"{path} has mode {stat.S_IMODE(st.st_mode):o}"


def test_build_output_and_rejects_are_private_and_replace_a_planted_link(run_cli: RunCli, tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_text(
        "user_id,order_id,amount,from,to,depart,arrive\n"
        "u1,FL_1,8500,DEL,BLR,2024-02-17T13:30+05:30,2024-02-17T16:15+05:30\n"
        "u2,FL_2,abc,DEL,BLR,2024-02-17T13:30+05:30,2024-02-17T16:15+05:30\n"
    )
    out_victim, out = _victim(tmp_path, "events.jsonl")
    rej_victim, rejects = _victim(tmp_path, "rejects.csv")
    res = run_cli("build", "flight", "--csv", str(export), "-o", str(out), "--rejects", str(rejects))
    assert res.code == 1, res.output
    assert out_victim.read_text() == rej_victim.read_text() == "keep me\n"
    for path in (out, rejects):
        assert_private_regular(path)
    assert "FL_1" in out.read_text() and "FL_2" in rejects.read_text()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == []


def test_history_export_is_private_and_replaces_a_planted_link(
    run_cli: RunCli, hostile_journal: Path, tmp_path: Path
) -> None:
    victim, dest = _victim(tmp_path, "retry.jsonl")
    res = run_cli("history", "--journal", str(hostile_journal), "--export", str(dest))
    assert res.code == 0, res.output
    assert victim.read_text() == "keep me\n"
    assert_private_regular(dest)
    assert dest.read_text() == "{}\n"


def test_profile_writes_are_private(run_cli: RunCli, tmp_path: Path) -> None:
    cfg = tmp_path / "profiles.yaml"
    key_victim, key_link = _victim(tmp_path, "staging.key")
    old = os.umask(0o022)
    try:
        res = run_cli(
            "profile", "add", "staging", "--base-url", "https://x.example", "--client-id", "a", "--app-id", "b",
            "--service", "flights", "--key", f"file:{key_link}", "--config", str(cfg),
        )  # fmt: skip
        assert res.code == 0, res.output
        res = run_cli("profile", "set-key", "staging", "--config", str(cfg), input=TEST_KEY + "\n")
        assert res.code == 0, res.output
    finally:
        os.umask(old)
    assert_private_regular(cfg)
    assert_private_regular(key_link)
    assert key_victim.read_text() == "keep me\n"
    assert key_link.read_text() == TEST_KEY + "\n"
    assert TEST_KEY not in res.output


# =============================================================================================
# 4. CSV meant for spreadsheets: formula cells neutralised (history csv is checked above)


def test_build_rejects_neutralise_formula_cells(run_cli: RunCli, tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    quoted = '"' + FORMULA.replace('"', '""') + '"'
    export.write_text(
        "user_id,order_id,amount,from,to,depart,arrive\n"
        f"@SUM(1+1),{quoted},abc,DEL,BLR,2024-02-17T13:30+05:30,2024-02-17T16:15+05:30\n"
        "+91 555,-cmd,-12.5,DEL,BLR,2024-02-17T13:30+05:30,2024-02-17T16:15+05:30\n"
    )
    rejects = tmp_path / "rejects.csv"
    res = run_cli("build", "flight", "--csv", str(export), "--rejects", str(rejects))
    assert res.code == 1, res.output
    rows = list(csv.DictReader(io.StringIO(rejects.read_text())))
    assert [r["user_id"] for r in rows] == ["'@SUM(1+1)", "'+91 555"]
    assert [r["order_id"] for r in rows] == ["'" + FORMULA, "'-cmd"]
    assert rows[1]["amount"] == "-12.5"  # a plain negative number is kept as a number


def test_csv_safe_rules() -> None:
    from rapido_cli.text import csv_safe

    for cell in ("=1+1", "+A1", "-A1", "@x", "\tx", "\rx", "-", "-1+1"):
        assert csv_safe(cell) == "'" + cell
    for cell in ("abc", "-12.5", "+3", "1e5", "", "a=b"):
        assert csv_safe(cell) == cell
    assert csv_safe(None) == "" and csv_safe(-4) == "-4"


# =============================================================================================
# 5. bad environment and profile values: one clean error naming the variable or file key


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("RAPIDO_BASE_URL", "http://[::1"),
        ("RAPIDO_BASE_URL", "ftp://x"),
        ("RAPIDO_BASE_URL", "https://exa mple.com"),
        ("RAPIDO_BASE_URL", "https://x.example/\x1b[2J"),
        ("RAPIDO_CLIENT_ID", "acme\ntravel"),
        ("RAPIDO_CLIENT_ID", "acme\x1b[2J"),
        ("RAPIDO_APP_ID", "acmé-pwa"),
        ("RAPIDO_SERVICE", "fli\nghts"),
        ("RAPIDO_CLIENT_KEY", "sk_test_SE\nCRET_abcd"),
        ("RAPIDO_CLIENT_KEY", "sk_test_SÉCRET_abcd"),
        ("RAPIDO_PROFILE", "../../etc/passwd"),
        ("RAPIDO_BACKOFF_BASE", "nan"),
        ("RAPIDO_BACKOFF_CAP", "inf"),
        ("RAPIDO_BACKOFF_BASE", "soon"),
    ],
)
def test_bad_environment_value_is_a_clean_error_naming_it(run_cli: RunCli, var: str, value: str) -> None:
    res = run_cli(*PAYMENT_SEND, env=env_only(**{var: value}))
    assert res.code == 3, res.output
    assert var in res.stderr
    assert res.stderr.startswith("error: ") and "Traceback" not in res.output
    assert_inert(res.output)
    if var == "RAPIDO_CLIENT_KEY":
        assert "SE" not in res.output.replace("RAPIDO_", "")  # the key is never echoed, even in part


@pytest.mark.parametrize(
    ("field", "yaml_value"),
    [
        ("client_id", '"acme\\0travel"'),
        ("app_id", '"app\\e[2J"'),
        ("base_url", "ftp://x"),
        ("base_url", '"http://[::1"'),
        ("timeout", ".nan"),
        ("rate", ".inf"),
        ("max_attempts", "true"),
        ("client_id", "[a, b]"),
    ],
)
def test_bad_profile_value_is_a_clean_error_naming_file_and_key(
    run_cli: RunCli, tmp_path: Path, field: str, yaml_value: str
) -> None:
    body = {"base_url": "'http://127.0.0.1:9'", "client_id": "a", "app_id": "b", "service": "flights"}
    body[field] = yaml_value
    cfg = tmp_path / "profiles.yaml"
    cfg.write_text("profiles:\n  p:\n" + "".join(f"    {k}: {v}\n" for k, v in body.items()))
    cfg.chmod(0o600)
    res = run_cli(*PAYMENT_SEND, "--dry-run", "--profile", "p", env={"RAPIDO_CONFIG": str(cfg), "K": TEST_KEY})
    assert res.code == 3, res.output
    assert f"{cfg}: profiles.p.{field}" in res.stderr and "Traceback" not in res.output
    assert_inert(res.output)


def test_bad_timeouts_from_the_environment(run_cli: RunCli, tmp_path: Path) -> None:
    cfg = tmp_path / "profiles.yaml"
    cfg.write_text(
        "profiles:\n  p: {base_url: 'http://127.0.0.1:9', client_id: a, app_id: b, service: flights,"
        f" key: 'command:echo {TEST_KEY}'}}\n"
    )
    cfg.chmod(0o600)
    for value in ("nan", "inf", "later"):
        env = {"RAPIDO_CONFIG": str(cfg), "RAPIDO_KEY_COMMAND_TIMEOUT": value}
        res = run_cli(*PAYMENT_SEND, "--profile", "p", env=env)
        assert res.code == 3, res.output
        assert "RAPIDO_KEY_COMMAND_TIMEOUT" in res.stderr and "Traceback" not in res.output


def test_bad_status_interval_is_refused_before_the_run(run_cli: RunCli, tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text("{}\n")
    res = run_cli("replay", str(events), "--dry-run", "--no-journal", env=env_only(RAPIDO_STATUS_EVERY="inf"))
    assert res.code == 3, res.output
    assert "RAPIDO_STATUS_EVERY" in res.stderr and "Traceback" not in res.output


@pytest.mark.parametrize("value", ["0", "false", "\x1b[31m", MARKUP])
def test_no_color_with_any_value_means_plain_output(run_cli: RunCli, value: str) -> None:
    from rapido_cli.cli.common import AppContext

    assert AppContext(environ={"NO_COLOR": value}).color is False
    res = run_cli(*PAYMENT_SEND, "--dry-run", env=env_only(NO_COLOR=value))
    assert res.code == 0, res.output
    assert_inert(res.output)
