"""``rapido profile list | show | add | remove | use | set-key | delete-key``."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest
import yaml
from conftest import TEST_KEY
from test_keyring_support import MemoryKeyring

from rapido_cli.profiles import KEYRING_SERVICE

ADD = [
    "profile",
    "add",
    "staging",
    "--base-url",
    "https://partner-staging.example.com",
    "--client-id",
    "acme-travel",
    "--app-id",
    "acme-pwa",
    "--service",
    "flights",
]


@pytest.fixture
def kr() -> Iterator[MemoryKeyring]:
    before = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(before)


def load(cfg: Path) -> dict[str, Any]:
    return yaml.safe_load(cfg.read_text())


def test_add_writes_a_private_file_and_becomes_default(cli) -> None:
    res = cli(*ADD)
    assert res.exit_code == 0, res.output
    data = load(cli.cfg)
    assert data["default"] == "staging"
    assert data["profiles"]["staging"] == {
        "base_url": "https://partner-staging.example.com",
        "client_id": "acme-travel",
        "app_id": "acme-pwa",
        "service": "flights",
        "key": "keyring",
    }
    assert stat.S_IMODE(cli.cfg.stat().st_mode) == 0o600
    assert "set-key staging" in res.output


def test_add_options_and_second_profile(cli, tmp_path: Path) -> None:
    import trustme

    ca = trustme.CA()
    bundle = tmp_path / "corp-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    assert cli(*ADD).exit_code == 0
    res = cli(
        "profile",
        "add",
        "prod",
        "--base-url",
        "https://partner.example.com/",
        "--client-id",
        "acme",
        "--app-id",
        "pwa",
        "--service",
        "hotels",
        "--key",
        "env:RAPIDO_PROD_KEY",
        "--timeout",
        "10",
        "--max-attempts",
        "3",
        "--rate",
        "20",
        "--ca-bundle",
        str(bundle),
    )
    assert res.exit_code == 0, res.output
    data = load(cli.cfg)
    assert data["default"] == "staging"
    assert data["profiles"]["prod"] == {
        "base_url": "https://partner.example.com",
        "client_id": "acme",
        "app_id": "pwa",
        "service": "hotels",
        "key": "env:RAPIDO_PROD_KEY",
        "timeout": 10.0,
        "max_attempts": 3,
        "rate": 20.0,
        "ca_bundle": str(bundle),
    }


def test_add_refuses_a_key_value_without_echoing_it(cli) -> None:
    res = cli(*ADD, "--key", TEST_KEY)
    assert res.exit_code == 2
    assert "never the key itself" in res.output
    assert TEST_KEY not in res.output and TEST_KEY[-4:] not in res.output
    assert not cli.cfg.exists()


@pytest.mark.parametrize(
    ("extra", "code", "message"),
    [
        (["--key", "env:"], 2, "needs a variable name"),
        (["--key", "env:1BAD"], 2, "not an environment variable name"),
        (["--ca-bundle", "/nonexistent/ca.pem"], 3, "not an existing file"),
    ],
)
def test_add_validates(cli, extra: list[str], code: int, message: str) -> None:
    res = cli(*ADD, *extra)
    assert res.exit_code == code, res.output
    assert message in res.output


def test_add_refuses_plain_http_to_a_remote_host(cli) -> None:
    args = [
        "profile",
        "add",
        "x",
        "--base-url",
        "http://partner.example.com",
        "--client-id",
        "c",
        "--app-id",
        "a",
        "--service",
        "flights",
    ]
    res = cli(*args)
    assert res.exit_code == 3 and "plain http" in res.output
    res = cli(*args, "--allow-http")
    assert res.exit_code == 0 and "warning" in res.output
    assert load(cli.cfg)["profiles"]["x"]["allow_http"] is True


def test_add_existing_needs_force_and_bad_names_are_refused(cli) -> None:
    assert cli(*ADD).exit_code == 0
    res = cli(*ADD)
    assert res.exit_code == 2 and "--force" in res.output
    assert cli(*ADD, "--force").exit_code == 0
    bad = ["profile", "add", "../evil", *ADD[3:]]
    assert cli(*bad).exit_code == 2


def test_list_human_and_json(cli) -> None:
    assert "no profiles" in cli("profile", "list").output
    cli(*ADD)
    cli("profile", "add", "ci", *ADD[3:], "--key", "file:/run/secrets/rapido")
    res = cli("profile", "list")
    assert res.exit_code == 0
    # Not a terminal: one profile per line, tab-separated, whole values.
    lines = [ln.split("\t") for ln in res.stdout.splitlines() if "\tstaging\t" in ln]
    assert lines and lines[0][0] == "*"
    assert lines[0][2] == "https://partner-staging.example.com"
    assert "file:/run/secrets/rapido" in res.output
    doc = json.loads(cli("profile", "list", "--json").stdout)
    assert doc["default"] == "staging"
    assert [p["name"] for p in doc["profiles"]] == ["ci", "staging"]
    assert doc["profiles"][1] == {
        "name": "staging",
        "default": True,
        "base_url": "https://partner-staging.example.com",
        "client_id": "acme-travel",
        "app_id": "acme-pwa",
        "service": "flights",
        "key": "keyring",
    }


def test_list_never_shows_an_inline_key(tmp_path: Path, cli) -> None:
    cli.cfg.parent.mkdir(parents=True)
    cli.cfg.write_text(yaml.safe_dump({"profiles": {"p": {"base_url": "https://x.example", "key": TEST_KEY}}}))
    cli.cfg.chmod(0o600)
    for args in (("profile", "list"), ("profile", "list", "--json")):
        res = cli(*args)
        assert res.exit_code == 0
        assert TEST_KEY not in res.output and "inline" in res.output


def test_show_lists_values_with_sources_and_masks_the_key(cli, kr: MemoryKeyring) -> None:
    cli(*ADD, "--timeout", "12")
    kr.set_password(KEYRING_SERVICE, "staging", TEST_KEY)
    res = cli("profile", "show", env={"RAPIDO_CLIENT_ID": "from-env"})
    assert res.exit_code == 0, res.output
    table = {ln.split()[0]: ln.split()[1:] for ln in res.stdout.splitlines() if ln.strip()}
    assert table["profile"] == ["staging", "file", "(default)"]
    assert table["base_url"] == ["https://partner-staging.example.com", "file"]
    assert table["client_id"] == ["from-env", "env:RAPIDO_CLIENT_ID"]
    assert table["timeout"] == ["12.0", "file"]
    assert table["max_attempts"] == ["5", "default"]
    assert table["key"] == ["****WXYZ", "keyring"]
    assert TEST_KEY not in res.output


def test_show_json_and_flag_source(cli, kr: MemoryKeyring) -> None:
    cli(*ADD)
    cli("profile", "add", "other", *ADD[3:])
    res = cli("profile", "show", "other", "--json", env={"RAPIDO_CLIENT_KEY": TEST_KEY})
    doc = json.loads(res.stdout)
    assert doc["profile"] == "other" and doc["profile_source"] == "flag"
    assert doc["values"]["service"] == {"value": "flights", "source": "file"}
    assert doc["values"]["rate"] == {"value": None, "source": "default"}
    assert doc["key"] == {
        "masked": "****WXYZ",
        "source": "env:RAPIDO_CLIENT_KEY",
        "spec": "RAPIDO_CLIENT_KEY",
        "error": None,
    }
    assert TEST_KEY not in res.output


def test_show_with_an_unreadable_key_still_shows_the_rest(cli, kr: MemoryKeyring) -> None:
    cli(*ADD)
    res = cli("profile", "show")
    assert res.exit_code == 0
    assert "<unreadable>" in res.stdout
    assert "no key in the keyring for profile 'staging'" in res.output


def test_show_key_from_command_and_file(cli, tmp_path: Path) -> None:
    key_file = tmp_path / "k"
    key_file.write_text(TEST_KEY + "\n")
    key_file.chmod(0o600)
    cli("profile", "add", "f", *ADD[3:], "--key", f"file:{key_file}")
    cli("profile", "add", "c", *ADD[3:], "--key", f"command:cat {key_file}")
    doc = json.loads(cli("profile", "show", "f", "--json").stdout)
    assert doc["key"]["source"] == f"file:{key_file}" and doc["key"]["masked"] == "****WXYZ"
    doc = json.loads(cli("profile", "show", "c", "--json").stdout)
    assert doc["key"]["source"] == "command" and doc["key"]["masked"] == "****WXYZ"


def test_use_and_remove(cli, kr: MemoryKeyring) -> None:
    cli(*ADD)
    cli("profile", "add", "prod", *ADD[3:])
    kr.set_password(KEYRING_SERVICE, "staging", TEST_KEY)
    assert cli("profile", "use", "prod").exit_code == 0
    assert load(cli.cfg)["default"] == "prod"
    res = cli("profile", "use", "nope")
    assert res.exit_code == 3 and "not found" in res.output
    res = cli("profile", "remove", "staging")
    assert res.exit_code == 0
    assert "staging" not in load(cli.cfg)["profiles"]
    assert kr.get_password(KEYRING_SERVICE, "staging") is None  # its key went too
    res = cli("profile", "remove", "prod")
    assert res.exit_code == 0 and "no default profile" in res.output
    assert "default" not in load(cli.cfg)


def test_remove_keep_key(cli, kr: MemoryKeyring) -> None:
    cli(*ADD)
    kr.set_password(KEYRING_SERVICE, "staging", TEST_KEY)
    assert cli("profile", "remove", "staging", "--keep-key").exit_code == 0
    assert kr.get_password(KEYRING_SERVICE, "staging") == TEST_KEY


def test_help_of_every_command_has_examples(cli) -> None:
    for sub in ("list", "show", "add", "remove", "use", "set-key", "delete-key"):
        res = cli("profile", sub, "--help")
        assert res.exit_code == 0
        assert "Examples" in res.output
        assert res.output.count("rapido profile") >= 2, sub


def test_name_argument_beats_rapido_profile(cli) -> None:
    cli(*ADD)
    cli("profile", "add", "other", *ADD[3:])
    doc = json.loads(cli("profile", "show", "other", "--json", env={"RAPIDO_PROFILE": "staging"}).stdout)
    assert doc["profile"] == "other"
    doc = json.loads(cli("profile", "show", "--json", env={"RAPIDO_PROFILE": "other"}).stdout)
    assert doc["profile"] == "other" and doc["profile_source"] == "flag"
