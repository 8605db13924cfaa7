"""``rapido profile list | show | add | remove | use | set-key | delete-key``.

The key itself is never a command-line argument (it would show in ``ps`` and shell history):
``add --key`` takes where the key is, and ``set-key`` reads it from a hidden prompt or stdin.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rapido_cli.cli.common import AppContext, common_options

if TYPE_CHECKING:
    from rapido_cli.profiles import ResolvedProfile

FIELD_ORDER = (
    "base_url",
    "client_id",
    "app_id",
    "service",
    "timeout",
    "max_attempts",
    "rate",
    "ca_bundle",
    "allow_http",
)


class Service(StrEnum):
    flights = "flights"
    hotels = "hotels"


GROUP_HELP = """Manage profiles (profiles.yaml) and their client keys.

[bold]Examples[/]

  rapido profile add staging --base-url https://partner-staging.example.com \\
      --client-id acme-travel --app-id acme-pwa --service flights
  rapido profile set-key staging                 # hidden prompt
  pass show rapido/staging | rapido profile set-key staging
  rapido profile show staging
"""

LIST_HELP = """List the profiles in the profiles file (the default one is starred).

[bold]Examples[/]

  rapido profile list
  rapido profile list --json | jq -r '.profiles[].name'
"""

SHOW_HELP = """Show every resolved value of a profile and where it came from.

Sources: flag, env:VAR, file, keyring, command, file:PATH, default. The key is shown masked
to its last 4 characters. Environment variables (RAPIDO_BASE_URL, RAPIDO_CLIENT_KEY, ...) beat
the file, field by field.

[bold]Examples[/]

  rapido profile show
  rapido profile show production --json
  RAPIDO_CLIENT_KEY=... rapido profile show staging     # see the environment win
"""

ADD_HELP = """Add a profile to the profiles file (written with mode 600).

--key says where the key is, never the key itself: keyring (the default; then run
`rapido profile set-key NAME`), env:VAR, command:<shell command> (its output is the key),
or file:PATH (a file only you can read). The first profile added becomes the default.

[bold]Examples[/]

  rapido profile add staging --base-url https://partner-staging.example.com \\
      --client-id acme-travel --app-id acme-pwa --service flights
  rapido profile add prod --base-url https://partner.example.com --client-id acme-travel \\
      --app-id acme-pwa --service hotels --key env:RAPIDO_PROD_KEY --rate 20
  rapido profile add ci --base-url https://partner-staging.example.com --client-id acme-travel \\
      --app-id acme-pwa --service flights --key 'command:pass show rapido/staging' --ca-bundle corp-ca.pem
"""

REMOVE_HELP = """Remove a profile from the file, and its key from the keyring.

[bold]Examples[/]

  rapido profile remove old-staging
  rapido profile remove old-staging --keep-key
"""

USE_HELP = """Make a profile the default one.

[bold]Examples[/]

  rapido profile use production
  rapido profile use staging && rapido doctor
"""

SET_KEY_HELP = """Store a profile's client key: in the keyring, or in its key file (mode 600).

On a terminal the key is read from a hidden prompt; otherwise from standard input, so it
never appears in `ps` or shell history. The keyring call gives up after 10 s
(RAPIDO_KEYRING_TIMEOUT) instead of hanging on a locked keyring.

[bold]Examples[/]

  rapido profile set-key staging
  pass show rapido/staging | rapido profile set-key staging
  rapido profile set-key prod < /run/secrets/rapido_key
"""

DELETE_KEY_HELP = """Delete a profile's key from the keyring.

[bold]Examples[/]

  rapido profile delete-key staging
  rapido profile delete-key --profile old
"""


# ---------------------------------------------------------------- helpers


def _config_path(app: AppContext) -> Path:
    from rapido_cli.profiles import default_config_path

    return app.config.expanduser() if app.config is not None else default_config_path(app.environ)


def _load(app: AppContext) -> tuple[Path, dict[str, Any]]:
    from rapido_cli.profiles import load_profiles_file

    path = _config_path(app)
    return path, load_profiles_file(path)


def _check_name(name: str) -> str:
    from rapido_cli.errors import UsageError
    from rapido_cli.profiles import PROFILE_NAME_RE

    if not PROFILE_NAME_RE.match(name):
        raise UsageError(
            f"profile name {name!r} is not allowed",
            hint="use letters, digits, '.', '_' and '-' (up to 64), starting with a letter or digit",
        )
    return name


def _pick_name(app: AppContext, name: str | None, data: dict[str, Any]) -> str:
    """NAME argument, else --profile / RAPIDO_PROFILE, else the file's default, else 'default'.

    NAME wins over --profile without complaint: RAPIDO_PROFILE arrives through the same option,
    and an exported variable must not make ``rapido profile show other`` fail.
    """
    return name or app.profile or data.get("default") or "default"


def _require(path: Path, data: dict[str, Any], name: str) -> dict[str, Any]:
    from rapido_cli.errors import ConfigError

    body = data["profiles"].get(name)
    if body is None:
        known = ", ".join(sorted(data["profiles"])) or "none"
        raise ConfigError(
            f"profile '{name}' not found in {path} (profiles: {known})",
            hint=f"run `rapido profile add {name} --base-url ... --client-id ... --app-id ... --service flights`",
        )
    return dict(body)


def _check_key_spec(spec: str) -> str:
    """``--key`` must name a source; the message never repeats what was given (it may be the key)."""
    from rapido_cli.errors import UsageError
    from rapido_cli.profiles import is_key_source

    spec = spec.strip()
    if not is_key_source(spec):
        raise UsageError(
            "--key takes where the key is (keyring, env:VAR, command:..., file:PATH), never the key itself "
            "(the value given is not shown)",
            hint="use --key keyring and then `rapido profile set-key NAME` (it reads the key from a hidden prompt)",
        )
    kind, _, rest = spec.partition(":")
    if kind in ("env", "command", "file") and not rest.strip():
        raise UsageError(f"--key {kind}: needs a {'variable name' if kind == 'env' else kind} after the colon")
    if kind == "env" and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", rest.strip()):
        raise UsageError(f"--key env:{rest.strip()}: not an environment variable name")
    return spec


def _key_label(body: dict[str, Any]) -> str:
    from rapido_cli.profiles import is_key_source

    spec = body.get("key")
    if not spec:
        return "-"
    return str(spec) if is_key_source(str(spec)) else "inline (in the file)"


def _read_new_key(name: str) -> str:
    """The key from a hidden prompt on a terminal, else the whole of standard input."""
    import getpass
    import sys

    from rapido_cli.errors import UsageError

    if sys.stdin.isatty():
        try:
            value = getpass.getpass(f"Client key for profile '{name}' (input hidden): ")
        except EOFError:
            value = ""
    else:
        limit = 64 << 10  # a key is short: `set-key < /dev/zero` must not read forever
        value = sys.stdin.read(limit + 1)
        if len(value) > limit:
            raise UsageError(f"standard input holds more than {limit:,} characters; a key is one short line")
    value = value.strip()
    if not value:
        raise UsageError("no key given", hint="paste it at the prompt, or pipe it: `... | rapido profile set-key NAME`")
    if "\n" in value:
        raise UsageError("standard input holds more than one line; the key is one line")
    return value


def _write_key_file(path: Path, key: str) -> None:
    """The key file replaced atomically, 0600; a link at ``path`` is replaced, never written through."""
    from rapido_cli.fs import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, key + "\n")


def _say(app: AppContext, message: str) -> None:
    """A result line on stdout; it names paths and profiles from the file, so it is shown inert."""
    from rapido_cli.text import inert

    app.out.print(inert(message), markup=False, highlight=False)


# ---------------------------------------------------------------- commands


def list_profiles(app: AppContext) -> None:
    """List the profiles in the profiles file."""
    from rich.table import Table

    from rapido_cli.output import print_json
    from rapido_cli.text import inert

    path, data = _load(app)
    rows = []
    for name in sorted(data["profiles"]):
        body = data["profiles"][name]
        rows.append(
            {
                "name": name,
                "default": name == data["default"],
                "base_url": body.get("base_url"),
                "client_id": body.get("client_id"),
                "app_id": body.get("app_id"),
                "service": body.get("service"),
                "key": _key_label(body),
            }
        )
    if app.json:
        print_json({"config": str(path), "exists": path.exists(), "default": data["default"], "profiles": rows})
        return
    if not rows:
        app.info(f"no profiles in {path}")
        app.info("add one: rapido profile add NAME --base-url URL --client-id ID --app-id ID --service flights")
        return
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for col in ("", "NAME", "BASE URL", "CLIENT ID", "APP ID", "SERVICE", "KEY"):
        table.add_column(col, overflow="fold")
    for r in rows:
        # Every value comes from the file: shown inert, and the table is printed without markup.
        table.add_row(
            "*" if r["default"] else "",
            inert(r["name"]),
            inert(r["base_url"] or "-"),
            inert(r["client_id"] or "-"),
            inert(r["app_id"] or "-"),
            inert(r["service"] or "-"),
            inert(r["key"]),
        )
    app.out.print(table, markup=False, highlight=False)
    app.info(f"({path}; * = default)")


def _show_json(res: ResolvedProfile, url_problem: str | None) -> dict[str, Any]:
    values = {f: {"value": res.values[f].value, "source": res.values[f].source} for f in FIELD_ORDER if f in res.values}
    for f in FIELD_ORDER:
        values.setdefault(f, {"value": None, "source": None})
    return {
        "profile": res.name,
        "profile_source": res.name_source,
        "in_file": res.in_file,
        "config": str(res.config_path),
        "config_exists": res.config_exists,
        "values": values,
        "key": {
            "masked": res.key.masked() if res.key is not None else None,
            "source": res.key_source,
            "spec": res.key_spec.value if res.key_spec else None,
            "error": res.key_error.message if res.key is None and res.key_error else None,
        },
        "problems": [p for p in [url_problem] if p],
    }


def show(
    app: AppContext,
    name: Annotated[str | None, typer.Argument(help="Profile (default: --profile, else the file's default).")] = None,
) -> None:
    """Show every resolved value of a profile and where it came from."""
    from rich.table import Table

    from rapido_cli.errors import ConfigError
    from rapido_cli.output import print_json
    from rapido_cli.profiles import check_base_url, resolve_profile
    from rapido_cli.text import inert

    path = _config_path(app)
    sandbox_url = app.start_sandbox() if app.sandbox else None
    res = resolve_profile(
        name or app.profile,
        config_path=path,
        environ=app.environ,
        sandbox_url=sandbox_url,
        need_key=False,
        check_url=False,
    )
    url_problem = None
    base = res.get("base_url")
    if base:
        try:
            for w in check_base_url(base, bool(res.get("allow_http"))):
                app.warn(w)
        except ConfigError as exc:
            url_problem = exc.message
    if app.json:
        print_json(_show_json(res, url_problem))
    else:
        name_src = {"flag": "flag", "file": "file (default)", "default": "default"}.get(
            res.name_source, res.name_source
        )
        table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
        table.add_column("NAME", justify="right")
        table.add_column("VALUE", overflow="fold")
        table.add_column("SOURCE")
        # Values come from the file and the environment: shown inert (no escapes reach the terminal).
        table.add_row("profile", inert(res.name), name_src)
        table.add_row("config", inert(path), "" if res.config_exists else "(does not exist)")
        for f in FIELD_ORDER:
            v = res.values.get(f)
            if v is None or v.value is None:
                table.add_row(f, "<not set>", "-")
            else:
                table.add_row(f, inert(str(v.value).lower() if isinstance(v.value, bool) else v.value), v.source)
        if res.key is not None:
            table.add_row("key", res.key.masked(), inert(res.key_source))
        else:
            spec = res.key_spec.value if res.key_spec else None
            table.add_row("key", "<unreadable>" if spec else "<not set>", inert(spec or "-"))
        app.out.print(table, markup=False, highlight=False)
    if res.key is None and res.key_error is not None:
        app.warn(res.key_error.message + (f" ({res.key_error.hint})" if res.key_error.hint else ""))
    if url_problem:
        app.warn(url_problem)
    if not res.in_file and res.name_source != "default" and not sandbox_url:
        app.warn(f"profile '{res.name}' is not in {path}: the values above come from the environment only")


def add(
    app: AppContext,
    name: Annotated[str, typer.Argument(help="Profile name, e.g. staging.")],
    base_url: Annotated[
        str, typer.Option("--base-url", help="API root, e.g. https://partner-staging.example.com.", show_default=False)
    ],
    client_id: Annotated[str, typer.Option("--client-id", help="Your client id (x-client-id).", show_default=False)],
    app_id: Annotated[str, typer.Option("--app-id", help="Your app id (x-client-app-id).", show_default=False)],
    service: Annotated[Service, typer.Option("--service", help="flights or hotels (x-client-service).")],
    key: Annotated[
        str,
        typer.Option("--key", help="Where the key is: keyring | env:VAR | command:CMD | file:PATH (never the key)."),
    ] = "keyring",
    timeout: Annotated[
        float | None, typer.Option("--timeout", min=0.1, help="Seconds per request (default 30).", show_default=False)
    ] = None,
    max_attempts: Annotated[
        int | None,
        typer.Option("--max-attempts", min=1, help="Attempts including the first (default 5).", show_default=False),
    ] = None,
    rate: Annotated[
        float | None, typer.Option("--rate", min=0.001, help="Requests per second ceiling.", show_default=False)
    ] = None,
    ca_bundle: Annotated[
        Path | None,
        typer.Option(
            "--ca-bundle", help="PEM file of the CA(s) to trust instead of the system store.", show_default=False
        ),
    ] = None,
    allow_http: Annotated[
        bool,
        typer.Option("--allow-http", help="Allow plain http:// to a non-loopback host (the key travels in clear)."),
    ] = False,
    make_default: Annotated[bool, typer.Option("--default", help="Make it the default profile.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace a profile of the same name.")] = False,
) -> None:
    """Add a profile to the profiles file."""
    from rapido_cli.errors import UsageError
    from rapido_cli.profiles import check_base_url, save_profiles_file
    from rapido_cli.transport import build_ssl_context

    _check_name(name)
    spec = _check_key_spec(key)
    base_url = base_url.strip().rstrip("/")
    for w in check_base_url(base_url, allow_http):
        app.warn(w)
    body: dict[str, Any] = {
        "base_url": base_url,
        "client_id": client_id.strip(),
        "app_id": app_id.strip(),
        "service": service.value,
        "key": spec,
    }
    if timeout is not None:
        body["timeout"] = timeout
    if max_attempts is not None:
        body["max_attempts"] = max_attempts
    if rate is not None:
        body["rate"] = rate
    if ca_bundle is not None:
        bundle = ca_bundle.expanduser().resolve()
        build_ssl_context(str(bundle), {})  # refuses a missing or non-PEM file now, not at the first send
        body["ca_bundle"] = str(bundle)
    if allow_http:
        body["allow_http"] = True
    if not body["client_id"] or not body["app_id"]:
        raise UsageError("--client-id and --app-id must not be empty")

    path, data = _load(app)
    if name in data["profiles"] and not force:
        raise UsageError(
            f"profile '{name}' already exists in {path}",
            hint=f"add --force to replace it, or `rapido profile remove {name}` first",
        )
    data["profiles"][name] = body
    became_default = make_default or not data["default"] or data["default"] not in data["profiles"]
    if became_default:
        data["default"] = name
    save_profiles_file(path, data)
    _say(
        app,
        f"{'replaced' if force else 'added'} profile '{name}' in {path}" + (" (the default)" if became_default else ""),
    )
    nxt = f"rapido profile set-key {name}" if spec == "keyring" else None
    if spec.startswith("file:"):
        app.info(f"put the key in {spec[5:]} with mode 600 (or run `rapido profile set-key {name}`)")
    app.info(f"next: {nxt + ', then ' if nxt else ''}rapido doctor --profile {name}")


def remove(
    app: AppContext,
    name: Annotated[str, typer.Argument(help="The profile to remove.")],
    keep_key: Annotated[bool, typer.Option("--keep-key", help="Leave its key in the keyring.")] = False,
) -> None:
    """Remove a profile from the file, and its key from the keyring."""
    from rapido_cli.errors import ConfigError
    from rapido_cli.profiles import keyring_delete, save_profiles_file

    path, data = _load(app)
    body = _require(path, data, name)
    del data["profiles"][name]
    was_default = data["default"] == name
    if was_default:
        data["default"] = None
    save_profiles_file(path, data)
    _say(app, f"removed profile '{name}' from {path}")
    if str(body.get("key", "")).strip() == "keyring" and not keep_key:
        try:
            if keyring_delete(name):
                app.info("deleted its key from the keyring")
        except ConfigError as exc:
            app.warn(f"its key may still be in the keyring: {exc.message}")
    if was_default:
        left = sorted(data["profiles"])
        app.warn("there is no default profile now" + (f"; pick one: rapido profile use {left[0]}" if left else ""))


def use(app: AppContext, name: Annotated[str, typer.Argument(help="The profile to make the default.")]) -> None:
    """Make a profile the default one."""
    from rapido_cli.profiles import save_profiles_file

    path, data = _load(app)
    _require(path, data, name)
    data["default"] = name
    save_profiles_file(path, data)
    _say(app, f"default profile is now '{name}' ({path})")


def set_key(
    app: AppContext,
    name: Annotated[str | None, typer.Argument(help="Profile (default: --profile, else the file's default).")] = None,
) -> None:
    """Store a profile's client key in the keyring or its key file."""
    import os

    from rapido_cli.errors import ConfigError
    from rapido_cli.profiles import (
        check_key_value,
        is_key_source,
        keyring_get,
        keyring_set,
        keyring_timeout,
        save_profiles_file,
    )

    path, data = _load(app)
    prof = _pick_name(app, name, data)
    body = _require(path, data, prof)
    spec = str(body.get("key") or "keyring").strip()
    if spec.startswith(("env:", "command:")):
        where = f"${spec[4:].strip()}" if spec.startswith("env:") else "a command"
        raise ConfigError(
            f"profile '{prof}' reads its key from {where}; set-key cannot store it there",
            hint=f"change `key:` in {path} to `keyring` (or file:PATH) to store the key with rapido",
        )
    value = check_key_value(_read_new_key(prof), "the input")
    if spec.startswith("file:"):
        target = Path(os.path.expandvars(spec[5:].strip())).expanduser()
        if not target.is_absolute():
            target = path.parent / target
        _write_key_file(target, value.reveal())
        _say(app, f"stored the key of profile '{prof}' in {target} (mode 600): {value.masked()}")
        return
    timeout = keyring_timeout(app.environ)
    keyring_set(prof, value.reveal(), timeout)
    # Some backends accept a write and keep nothing (a misconfigured chainer): read it back.
    if keyring_get(prof, timeout) != value.reveal():
        raise ConfigError(
            "the keyring accepted the key but does not return it", hint="check the keyring backend (keyring --list)"
        )
    if body.get("key") != "keyring":
        moved = body.get("key") and not is_key_source(str(body["key"]))
        body["key"] = "keyring"
        data["profiles"][prof] = body
        save_profiles_file(path, data)
        if moved:
            app.info(f"removed the inline key from {path}: the profile now reads the keyring")
    _say(app, f"stored the key of profile '{prof}' in the keyring: {value.masked()}")


def delete_key(
    app: AppContext,
    name: Annotated[str | None, typer.Argument(help="Profile (default: --profile, else the file's default).")] = None,
) -> None:
    """Delete a profile's key from the keyring."""
    from rapido_cli.profiles import keyring_delete, keyring_timeout, load_profiles_file

    path = _config_path(app)
    data = load_profiles_file(path)
    prof = _pick_name(app, name, data)
    deleted = keyring_delete(prof, keyring_timeout(app.environ))
    if deleted:
        _say(app, f"deleted the key of profile '{prof}' from the keyring")
    else:
        _say(app, f"no key stored for profile '{prof}' in the keyring")
    spec = str((data["profiles"].get(prof) or {}).get("key") or "")
    if spec and spec != "keyring":
        app.info(f"note: profile '{prof}' reads its key from {_key_label({'key': spec})}, not the keyring")


def register(app: typer.Typer) -> None:
    """Add the ``profile`` command group."""
    group = typer.Typer(
        name="profile",
        help=GROUP_HELP,
        no_args_is_help=True,
        rich_markup_mode="rich",
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    group.command("list", help=LIST_HELP)(common_options(list_profiles))
    group.command("show", help=SHOW_HELP)(common_options(show))
    group.command("add", help=ADD_HELP)(common_options(add))
    group.command("remove", help=REMOVE_HELP)(common_options(remove))
    group.command("use", help=USE_HELP)(common_options(use))
    group.command("set-key", help=SET_KEY_HELP)(common_options(set_key))
    group.command("delete-key", help=DELETE_KEY_HELP)(common_options(delete_key))
    app.add_typer(group, name="profile", rich_help_panel="Set up")
