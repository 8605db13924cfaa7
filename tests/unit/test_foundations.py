"""The shared helpers every command relies on: inert text, private files, loopback checks, safe YAML."""

from __future__ import annotations

import os
import stat

import pytest
import yaml

from rapido_cli import fs, net, safeyaml, text
from rapido_cli.errors import ExitCode, LocalIOError, UsageError


def test_inert_escapes_controls_and_bidi() -> None:
    assert text.inert("a\x1b]0;pwned\x07b") == "a\\x1b]0;pwned\\x07b"
    assert text.inert("x\u202ey") == "x\\u202ey"
    assert text.inert("l1\nl2") == "l1\\x0al2"
    assert text.inert("l1\nl2", keep_newlines=True) == "l1\nl2"
    assert text.inert("abcdef", limit=3) == "abc…"


def test_inert_markup_is_not_interpreted_by_rich() -> None:
    from rich.console import Console

    console = Console(record=True, width=200, color_system=None)
    console.print(text.inert_markup("[link=https://evil.example]click[/link] [/bold] \x1b[2J"))
    out = console.export_text()
    assert "[link=https://evil.example]click[/link] [/bold] \\x1b[2J" in out


def test_inert_bytes_shows_undecodable_bytes() -> None:
    assert text.inert_bytes(b"<html>\xff\x1b") == "<html>\\xff\\x1b"
    assert text.inert_bytes(b"a" * 10, limit=4) == "aaaa…"


def test_open_private_refuses_symlink_and_is_0600(tmp_path) -> None:
    target = tmp_path / "victim"
    target.write_text("keep me")
    link = tmp_path / "out"
    link.symlink_to(target)
    with pytest.raises(LocalIOError) as err:
        fs.open_private(link, "w")
    assert err.value.exit_code == ExitCode.IOERR
    assert target.read_text() == "keep me"
    loose = tmp_path / "loose"
    loose.write_text("old")
    loose.chmod(0o644)
    with fs.open_private(loose, "a") as fh:
        fh.write("new")
    assert stat.S_IMODE(os.stat(loose).st_mode) == 0o600
    assert loose.read_text() == "oldnew"


def test_open_private_refuses_fifo_without_blocking(tmp_path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(LocalIOError):
        fs.open_private(fifo, "w")


def test_atomic_write_replaces_link_not_target(tmp_path) -> None:
    target = tmp_path / "victim"
    target.write_text("keep me")
    link = tmp_path / "out"
    link.symlink_to(target)
    fs.atomic_write(link, "data")
    assert target.read_text() == "keep me"
    assert not link.is_symlink() and link.read_text() == "data"
    assert stat.S_IMODE(os.stat(link).st_mode) == 0o600


def test_read_limited_refuses_devices_fifos_and_big_files(tmp_path) -> None:
    with pytest.raises(UsageError, match="not a regular file"):
        fs.read_limited("/dev/zero")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(UsageError, match="not a regular file"):
        fs.read_limited(fifo)
    with pytest.raises(UsageError, match="not a regular file"):
        fs.read_limited(tmp_path)  # a directory
    big = tmp_path / "big"
    big.write_bytes(b"x" * 2000)
    with pytest.raises(UsageError, match="too large"):
        fs.read_limited(big, limit=1000)
    assert fs.read_limited(big, limit=2000) == b"x" * 2000


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("[::1]", True),
        ("::1", True),
        ("localhost", True),
        ("LOCALHOST.", True),
        ("10.0.0.1", False),
        ("api.localhost", False),
        ("example.com", False),
        ("", False),
    ],
)
def test_is_loopback_literal(host: str, expected: bool) -> None:
    assert net.is_loopback_literal(host) is expected


def test_resolves_to_loopback() -> None:
    assert net.resolves_to_loopback("127.0.0.1")
    assert net.resolves_to_loopback("localhost")
    assert not net.resolves_to_loopback("10.1.2.3")
    assert not net.resolves_to_loopback("no-such-host.invalid")


@pytest.mark.parametrize(
    ("origin", "expected"),
    [
        ("http://localhost:3000", True),
        ("http://app.localhost", True),
        ("https://127.0.0.1:8443", True),
        ("http://[::1]:80", True),
        ("null", False),
        ("http://evil.example", False),
        ("http://127.0.0.1:bad", False),
    ],
)
def test_is_loopback_origin(origin: str, expected: bool) -> None:
    assert net.is_loopback_origin(origin) is expected


BOMB = """a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
"""


def test_safeyaml_refuses_alias_bomb_and_depth() -> None:
    with pytest.raises(safeyaml.YamlLimitError, match="more than"):
        safeyaml.load(BOMB)
    with pytest.raises(safeyaml.YamlLimitError, match="nested"):
        safeyaml.load("[" * 100 + "]" * 100)
    assert safeyaml.load("a: 1\nb: [x, y]\n") == {"a": 1, "b": ["x", "y"]}
    assert safeyaml.load("") is None
    assert list(safeyaml.load_all("a: 1\n---\nb: 2\n")) == [{"a": 1}, {"b": 2}]
    with pytest.raises(yaml.YAMLError):
        safeyaml.load("a: 1\n---\nb: 2\n")
    with pytest.raises(yaml.YAMLError):
        safeyaml.load("!!python/object:os.system x")


def test_json_depth() -> None:
    deep: list = []
    cur = deep
    for _ in range(100):
        cur.append([])
        cur = cur[0]
    assert not safeyaml.json_depth_ok(deep)
    assert safeyaml.json_depth_ok({"a": [1, {"b": 2}]})


def test_is_loopback_url() -> None:
    from rapido_cli.net import is_loopback_url

    assert is_loopback_url("http://127.0.0.1:8787")
    assert is_loopback_url("http://[::1]:8787/x")
    assert is_loopback_url("https://localhost")
    assert not is_loopback_url("http://10.0.0.1:8787")
    assert not is_loopback_url("ftp://127.0.0.1")
    assert not is_loopback_url("http://127.0.0.1:99999")
    assert not is_loopback_url("127.0.0.1:8787")
    assert not is_loopback_url("http://example.com", resolve=False)
