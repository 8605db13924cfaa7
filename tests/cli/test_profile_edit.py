"""``rapido profile set NAME KEY VALUE`` / ``unset NAME KEY``, and the profiles file model.

Edits keep the file's comments and order (ruamel.yaml round trip), the file stays 0600 and is
replaced atomically; values are checked by the same rules as ``profile add``; ``--json`` prints an
object for every outcome, failures included.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import TEST_KEY

from rapido_cli.errors import ConfigError, UsageError
from rapido_cli.profiles import load_profiles_file, resolve_profile
from rapido_cli.profiles.store import ProfilesEditor, check_key_spec, check_name, parse_setting, setting_name

COMMENTED = """\
# Rapido profiles: keep this file private.
default: staging   # the one used without --profile

profiles:
  # The partner test environment.
  staging:
    base_url: https://partner-staging.example.com
    client_id: acme-travel   # from the onboarding mail
    app_id: acme-pwa
    service: flights
    key: keyring
  prod:
    base_url: https://partner.example.com
    client_id: acme-travel
    app_id: acme-pwa
    service: hotels
    key: env:RAPIDO_PROD_KEY
"""


@pytest.fixture
def cfg(cli: Any) -> Path:
    """The commented profiles file at ``cli.cfg``, where the conftest ``cli`` points RAPIDO_CONFIG."""
    path: Path = cli.cfg
    path.parent.mkdir()
    path.write_text(COMMENTED, encoding="utf-8")
    path.chmod(0o600)
    return path


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ---------------------------------------------------------------- set / unset through the CLI


def test_set_keeps_comments_and_order(cli, cfg: Path) -> None:
    res = cli("profile", "set", "staging", "timeout", "10")
    assert res.exit_code == 0, res.output
    text = cfg.read_text(encoding="utf-8")
    comments = ("# Rapido profiles", "# the one used without --profile", "# The partner test", "# from the onboarding")
    for comment in comments:
        assert comment in text
    assert text.index("staging:") < text.index("prod:")
    assert yaml.safe_load(text)["profiles"]["staging"]["timeout"] == 10.0
    # A new setting goes in the documented order: after key, before prod's block.
    block = text[text.index("  staging:") : text.index("  prod:")]
    assert block.index("key: keyring") < block.index("timeout: 10")
    assert mode(cfg) == 0o600
    assert [p.name for p in cfg.parent.iterdir()] == ["profiles.yaml"]  # no temporary file left


def test_set_changes_a_value_in_place(cli, cfg: Path) -> None:
    assert cli("profile", "set", "staging", "client-id", "acme-2").exit_code == 0
    text = cfg.read_text(encoding="utf-8")
    assert re.search(r"client_id: acme-2 +# from the onboarding mail", text)
    assert cli("profile", "set", "staging", "service", "HOTELS").exit_code == 0
    assert yaml.safe_load(cfg.read_text())["profiles"]["staging"]["service"] == "hotels"


def test_unset_removes_a_setting_and_keeps_the_rest(cli, cfg: Path) -> None:
    cli("profile", "set", "staging", "rate", "20")
    res = cli("profile", "unset", "staging", "rate")
    assert res.exit_code == 0 and "removed" in res.stdout
    data = yaml.safe_load(cfg.read_text())
    assert "rate" not in data["profiles"]["staging"]
    assert "# The partner test environment." in cfg.read_text()
    res = cli("profile", "unset", "staging", "rate")
    assert res.exit_code == 0 and "was not set" in res.stdout


@pytest.mark.usefixtures("cfg")  # the commented file at cli.cfg
def test_unset_a_required_setting_warns(cli) -> None:
    res = cli("profile", "unset", "prod", "client_id")
    assert res.exit_code == 0
    assert "RAPIDO_CLIENT_ID" in res.stderr


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["staging", "timeout", "soon"], 2, "timeout must be a positive number"),
        (["staging", "timeout", "--", "-3"], 2, "timeout must be a positive number"),
        (["staging", "max_attempts", "2.5"], 2, "max_attempts must be a whole number"),
        (["staging", "rate", "0"], 2, "rate must be a positive number"),
        (["staging", "service", "hotel"], 2, "did you mean 'hotels'?"),
        (["staging", "allow_http", "maybe"], 2, "allow_http must be true or false"),
        (["staging", "base_url", "ftp://x.example"], 2, "not an http(s) URL"),
        (["staging", "base_url", "http://partner.example.com"], 3, "rapido profile set staging allow_http true"),
        (["staging", "key", "env:1BAD"], 2, "not an environment variable name"),
        (["staging", "ca_bundle", "/nonexistent/ca.pem"], 3, "not an existing file"),
        (["staging", "sevice", "hotels"], 2, "did you mean service?"),
        (["nope", "timeout", "5"], 3, "profile 'nope' not found"),
    ],
)
def test_set_checks_values_like_add(cli, cfg: Path, args: list[str], code: int, words: str) -> None:
    before = cfg.read_text(encoding="utf-8")
    res = cli("profile", "set", *args)
    assert res.exit_code == code, res.output
    assert words in res.stderr
    assert res.stderr.startswith("error: ")
    assert cfg.read_text(encoding="utf-8") == before  # nothing written


def test_set_never_echoes_a_key_given_as_a_value(cli, cfg: Path) -> None:
    res = cli("profile", "set", "staging", "key", TEST_KEY)
    assert res.exit_code == 2
    assert "never the key itself" in res.stderr
    assert TEST_KEY not in res.output and TEST_KEY[-4:] not in res.output
    assert TEST_KEY not in cfg.read_text()


def test_plain_http_allowed_once_allow_http_is_set(cli, cfg: Path) -> None:
    assert cli("profile", "set", "staging", "allow_http", "true").exit_code == 0
    res = cli("profile", "set", "staging", "base_url", "http://partner.example.com/")
    assert res.exit_code == 0, res.output
    assert "warning" in res.stderr
    assert yaml.safe_load(cfg.read_text())["profiles"]["staging"]["base_url"] == "http://partner.example.com"
    # Taking allow_http away again would leave an unusable profile: refused, with the way out.
    res = cli("profile", "unset", "staging", "allow_http")
    assert res.exit_code == 3 and "plain http" in res.stderr


@pytest.mark.usefixtures("cfg")  # the commented file at cli.cfg
def test_set_and_unset_json(cli) -> None:
    doc = json.loads(cli("profile", "set", "staging", "timeout", "12", "--json").stdout)
    assert doc == {
        "ok": True,
        "action": "set",
        "profile": "staging",
        "config": doc["config"],
        "setting": "timeout",
        "value": 12.0,
    }
    doc = json.loads(cli("profile", "unset", "staging", "timeout", "--json").stdout)
    assert doc["ok"] is True and doc["was_set"] is True and doc["setting"] == "timeout"


@pytest.mark.usefixtures("cfg")  # the commented file at cli.cfg
@pytest.mark.parametrize(
    "args",
    [
        ["profile", "use", "prod"],
        ["profile", "remove", "prod"],
        ["profile", "add", "x", "--base-url", "https://x.example", "--client-id", "c", "--app-id", "a",
         "--service", "flights"],
        ["profile", "set", "staging", "rate", "5"],
        ["profile", "unset", "staging", "rate"],
    ],
    ids=["use", "remove", "add", "set", "unset"],
)  # fmt: skip
def test_every_edit_prints_a_json_object(cli, args: list[str]) -> None:
    res = cli(*args, "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["ok"] is True and doc["action"] and doc["profile"]


@pytest.mark.usefixtures("cfg")  # the commented file at cli.cfg
@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["profile", "use", "nope"], 3),
        (["profile", "set", "staging", "timeout", "x"], 2),
        (["profile", "remove", "nope"], 3),
        (["profile", "add", "../evil", "--base-url", "https://x.example", "--client-id", "c", "--app-id", "a",
          "--service", "flights"], 2),
    ],
    ids=["use", "set", "remove", "add"],
)  # fmt: skip
def test_failures_under_json_have_one_shape(cli, args: list[str], code: int) -> None:
    res = cli(*args, "--json")
    assert res.exit_code == code
    doc = json.loads(res.stdout)
    assert set(doc) == {"ok", "error"} and doc["ok"] is False
    assert set(doc["error"]) == {"message", "hint", "exit_code"}
    assert doc["error"]["exit_code"] == code
    assert res.stderr.startswith("error: " + doc["error"]["message"])


def test_use_and_add_keep_comments(cli, cfg: Path) -> None:
    assert cli("profile", "use", "prod").exit_code == 0
    text = cfg.read_text()
    assert text.startswith("# Rapido profiles") and "default: prod" in text
    res = cli("profile", "add", "dev", "--base-url", "http://127.0.0.1:8787", "--client-id", "c", "--app-id", "a",
              "--service", "flights")  # fmt: skip
    assert res.exit_code == 0, res.output
    text = cfg.read_text()
    assert "# from the onboarding mail" in text
    assert list(yaml.safe_load(text)["profiles"]) == ["staging", "prod", "dev"]


def test_remove_of_the_default_drops_default(cli, cfg: Path) -> None:
    assert cli("profile", "remove", "staging", "--keep-key").exit_code == 0
    data = yaml.safe_load(cfg.read_text())
    assert "default" not in data and list(data["profiles"]) == ["prod"]


def test_a_symlinked_file_is_replaced_not_written_through(cli, cfg: Path, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.yaml"
    target.write_text(COMMENTED)
    cfg.unlink()
    cfg.symlink_to(target)
    assert cli("profile", "set", "staging", "timeout", "9").exit_code == 0
    assert not cfg.is_symlink()
    assert target.read_text() == COMMENTED
    assert mode(cfg) == 0o600


def test_edit_of_a_group_readable_file_leaves_it_private(cli, cfg: Path) -> None:
    cfg.chmod(0o644)
    assert cli("profile", "set", "staging", "timeout", "9").exit_code == 0
    assert mode(cfg) == 0o600


# ---------------------------------------------------------------- the core, directly


def test_editor_round_trip_is_byte_identical_without_edits(cfg: Path) -> None:
    editor = ProfilesEditor.open(cfg)
    editor.save()
    assert cfg.read_text(encoding="utf-8") == COMMENTED


def test_editor_new_file(tmp_path: Path) -> None:
    path = tmp_path / "new" / "profiles.yaml"
    editor = ProfilesEditor.open(path)
    editor.add("a", {"base_url": "https://a.example", "client_id": "c", "app_id": "x", "service": "flights"})
    editor.use("a")
    editor.save()
    assert load_profiles_file(path) == {
        "default": "a",
        "profiles": {"a": {"base_url": "https://a.example", "client_id": "c", "app_id": "x", "service": "flights"}},
    }
    assert mode(path) == 0o600


@pytest.mark.parametrize(
    ("field", "raw", "value"),
    [
        ("timeout", "2.5", 2.5),
        ("max_attempts", "3", 3),
        ("rate", "20", 20.0),
        ("allow_http", "yes", True),
        ("allow_http", "off", False),
        ("service", " Flights ", "flights"),
        ("base_url", "https://x.example/", "https://x.example"),
        ("key", "file:~/rapido.key", "file:~/rapido.key"),
        ("client_id", "acme", "acme"),
    ],
)
def test_parse_setting(field: str, raw: str, value: Any) -> None:
    assert parse_setting(field, raw) == value


def test_rules_name_the_setting_not_a_flag() -> None:
    with pytest.raises(UsageError) as exc:
        check_key_spec("sk_live_123")
    assert exc.value.message.startswith("key ") and "sk_live_123" not in exc.value.message
    with pytest.raises(UsageError):
        check_name("../evil")
    assert setting_name("Base-URL") == "base_url"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("profiles:\n  s:\n    timout: 3\n", "profiles.s.timout: unknown setting"),
        ("profiles:\n  s:\n    timeout: -1\n", "profiles.s.timeout: must be a positive number"),
        ("profiles:\n  s:\n    service: trains\n", "profiles.s.service: must be one of flights, hotels"),
        ("profiles:\n  s:\n    max_attempts: 0\n", "profiles.s.max_attempts"),
        ("profiles:\n  s: [1, 2]\n", "profiles.s: expected a mapping of settings"),
        ("extra: 1\nprofiles: {}\n", "unknown top-level key(s): extra"),
        ("profiles: [a]\n", "`profiles` must be a mapping"),
    ],
)
def test_the_file_model_refuses_with_our_words(tmp_path: Path, body: str, words: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(body)
    with pytest.raises(ConfigError) as exc:
        load_profiles_file(path)
    assert words in exc.value.message
    assert "Value error" not in exc.value.message and "pydantic" not in exc.value.message


def test_bad_value_hint_names_the_command(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("profiles:\n  s:\n    timeout: soon\n")
    with pytest.raises(ConfigError) as exc:
        resolve_profile("s", config_path=path, environ={}, need_key=False)
    assert "rapido profile set s timeout" in (exc.value.hint or "")


def test_plain_http_hint_names_the_command(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "profiles:\n  s:\n    base_url: http://partner.example.com\n    client_id: c\n    app_id: a\n"
        "    service: flights\n"
    )
    with pytest.raises(ConfigError) as exc:
        resolve_profile("s", config_path=path, environ={}, need_key=False)
    assert "rapido profile set s allow_http true" in (exc.value.hint or "")


def test_numbers_written_as_text_in_yaml_are_read(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("profiles:\n  s:\n    client_id: 12345\n    timeout: '7'\n")
    res = resolve_profile("s", config_path=path, environ={}, need_key=False, check_url=False)
    assert res.get("client_id") == "12345" and res.get("timeout") == 7.0


def test_environment_never_leaks_into_the_file(cli, cfg: Path) -> None:
    cli("profile", "set", "staging", "rate", "3", env={"RAPIDO_BASE_URL": "https://env.example"})
    assert "env.example" not in cfg.read_text()
    assert os.stat(cfg).st_mode & 0o077 == 0
