"""``rapido profile list | show | add | set | unset | remove | use | set-key | delete-key``.

Parsing and rendering only: the file model, edits (comments and order kept), the rules for names,
settings and key sources, and the keyring live in :mod:`rapido_cli.profiles`.

The key itself is never a command-line argument (it would show in ``ps`` and shell history):
``add --key`` and ``set NAME key`` take where the key is, and ``set-key`` reads it from a hidden
prompt or stdin. Every command prints a JSON object with ``--json``.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rapido_cli.cli.common import AppContext, common_options, complete_profile, group_globals

if TYPE_CHECKING:
    from rapido_cli.profiles import ResolvedProfile
    from rapido_cli.profiles.store import ProfilesEditor

#: The settings `show` lists, in the documented order (the key is shown apart, masked).
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
#: Every setting `set`/`unset` accept (same as the file's).
SETTINGS = ("base_url", "client_id", "app_id", "service", "key", *FIELD_ORDER[4:])
#: Settings a profile cannot work without (unless the environment gives them).
REQUIRED = ("base_url", "client_id", "app_id", "service")


class Service(StrEnum):
    flights = "flights"
    hotels = "hotels"


GROUP_HELP = """Manage profiles (profiles.yaml) and their client keys.

[bold]Examples[/]

  rapido profile add staging --base-url https://partner-staging.example.com \\
      --client-id acme-travel --app-id acme-pwa --service flights
  rapido profile set-key staging                 # hidden prompt
  pass show rapido/staging | rapido profile set-key staging
  rapido profile set staging timeout 10
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
  RAPIDO_CLIENT_KEY=... rapido profile show staging   # the environment wins
"""

ADD_HELP = """Add a profile to the profiles file (written with mode 600).

--key says where the key is, never the key itself: keyring (the default; then run
`rapido profile set-key NAME`), env:VAR, command:<shell command> (its output is the key),
or file:PATH (a file only you can read). The first profile added becomes the default.
Comments and order of an existing file are kept.

[bold]Examples[/]

  rapido profile add staging --base-url https://partner-staging.example.com \\
      --client-id acme-travel --app-id acme-pwa --service flights
  rapido profile add prod --base-url https://partner.example.com \\
      --client-id acme-travel --app-id acme-pwa --service hotels \\
      --key env:RAPIDO_PROD_KEY --rate 20
  rapido profile add ci --base-url https://partner-staging.example.com \\
      --client-id acme-travel --app-id acme-pwa --service flights \\
      --key 'command:pass show rapido/staging' --ca-bundle corp-ca.pem
"""

SET_HELP = """Change one setting of a profile; the file keeps its comments and order.

KEY is one of: base_url, client_id, app_id, service (flights or hotels), key (where
the key is: keyring, env:VAR, command:CMD, file:PATH; never the key itself), timeout
(seconds), max_attempts, rate (requests per second), ca_bundle (a PEM file),
allow_http (true or false). Values are checked like `rapido profile add` checks them.

[bold]Examples[/]

  rapido profile set staging timeout 10
  rapido profile set staging base_url https://partner-staging.example.com
  rapido profile set dev allow_http true
  rapido profile set prod key env:RAPIDO_PROD_KEY
"""

UNSET_HELP = """Remove one setting from a profile (it falls back to its default).

[bold]Examples[/]

  rapido profile unset staging rate
  rapido profile unset dev allow_http
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

NameArg = Annotated[str, typer.Argument(help="The profile.", autocompletion=complete_profile, show_default=False)]
OptionalName = Annotated[
    str | None,
    typer.Argument(
        help="The profile (default: --profile, else the file's default).",
        autocompletion=complete_profile,
        show_default=False,
    ),
]


def _complete_setting(incomplete: str) -> list[str]:
    return [s for s in SETTINGS if s.startswith(incomplete)]


def _complete_value(ctx: typer.Context, incomplete: str) -> list[str]:
    """Values for `set NAME KEY <TAB>`: the choices the setting has."""
    from rapido_cli.contract import SERVICES

    setting = str(ctx.params.get("setting") or "").replace("-", "_")
    choices = {
        "service": list(SERVICES),
        "allow_http": ["true", "false"],
        "key": ["keyring", "env:", "command:", "file:"],
    }.get(setting, [])
    return [c for c in choices if c.startswith(incomplete)]


# ---------------------------------------------------------------- helpers


def _config_path(app: AppContext) -> Path:
    from rapido_cli.profiles import default_config_path

    return app.config.expanduser() if app.config is not None else default_config_path(app.environ)


def _load(app: AppContext) -> tuple[Path, dict[str, Any]]:
    from rapido_cli.profiles import load_profiles_file

    path = _config_path(app)
    return path, load_profiles_file(path)


def _editor(app: AppContext) -> ProfilesEditor:
    from rapido_cli.profiles.store import ProfilesEditor

    return ProfilesEditor.open(_config_path(app))


def _pick_name(app: AppContext, name: str | None, default: str | None) -> str:
    """NAME argument, else --profile / RAPIDO_PROFILE, else the file's default, else 'default'.

    NAME wins over --profile without complaint: RAPIDO_PROFILE arrives through the same option,
    and an exported variable must not make ``rapido profile show other`` fail.
    """
    return name or app.profile or default or "default"


def _key_label(body: dict[str, Any]) -> str:
    from rapido_cli.profiles import is_key_source

    spec = body.get("key")
    if not spec:
        return "-"
    return str(spec) if is_key_source(str(spec)) else "inline (in the file)"


def _done(app: AppContext, human: str, document: dict[str, Any]) -> None:
    """The outcome of an edit: a line on stdout, or the JSON object with ``--json``."""
    from rapido_cli.output import print_json
    from rapido_cli.text import inert

    if app.json:
        print_json({"ok": True, **document})
    else:
        app.out.print(inert(human), markup=False, highlight=False)


def _check_ca_bundle(path: str) -> None:
    """Refuse a missing or non-PEM bundle now, not at the first send."""
    from rapido_cli.transport import build_ssl_context

    build_ssl_context(path, {})


def _url_policy(app: AppContext, name: str, base_url: str | None, allow_http: bool, *, flag: bool) -> None:
    """Plain http:// only to loopback unless allow_http: refuse now, naming how to allow it."""
    from rapido_cli.errors import ConfigError
    from rapido_cli.profiles import check_base_url

    if not base_url:
        return
    try:
        warnings = check_base_url(base_url, allow_http)
    except ConfigError as exc:
        if "plain http" in exc.message:
            exc.hint = (
                "use https://, or add --allow-http if you really mean it"
                if flag
                else f"use https://, or if you really mean it: `rapido profile set {name} allow_http true`"
            )
        raise
    for w in warnings:
        app.warn(w)


# ---------------------------------------------------------------- commands


def list_profiles(app: AppContext) -> None:
    """List the profiles in the profiles file."""
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
    cells = [
        [
            "*" if r["default"] else "",
            r["name"],
            str(r["base_url"] or "-"),
            str(r["client_id"] or "-"),
            str(r["app_id"] or "-"),
            str(r["service"] or "-"),
            r["key"],
        ]
        for r in rows
    ]
    headers = ["", "NAME", "BASE URL", "CLIENT ID", "APP ID", "SERVICE", "KEY"]
    stream = app.out.file
    if not stream.isatty():
        # In a pipe: whole values, one profile per line, never wrapped (tab-separated, like gh).
        for row in cells:
            stream.write("\t".join(inert(c) for c in row) + "\n")
        stream.flush()
    else:
        from rich.table import Table

        table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
        for col in headers:
            # Identity columns never wrap; the URL folds only as a last resort on a narrow terminal.
            table.add_column(col, no_wrap=col != "BASE URL", overflow="fold")
        for row in cells:
            table.add_row(*(inert(c) for c in row))
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


def show(app: AppContext, name: OptionalName = None) -> None:
    """Show every resolved value of a profile and where it came from."""
    from rich.table import Table

    from rapido_cli.errors import ConfigError
    from rapido_cli.output import print_json
    from rapido_cli.profiles import check_base_url, resolve_profile
    from rapido_cli.text import inert

    path = _config_path(app)
    res = resolve_profile(
        name or app.profile,
        config_path=path,
        environ=app.environ,
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
        table.add_column("NAME", justify="right", no_wrap=True)
        table.add_column("VALUE", overflow="fold")
        table.add_column("SOURCE", no_wrap=True)
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
    if not res.in_file and res.name_source != "default":
        app.warn(f"profile '{res.name}' is not in {path}: the values above come from the environment only")


def add(
    app: AppContext,
    name: Annotated[str, typer.Argument(help="Profile name, e.g. staging.", show_default=False)],
    base_url: Annotated[
        str, typer.Option("--base-url", help="API root, e.g. https://partner-staging.example.com.", show_default=False)
    ],
    client_id: Annotated[str, typer.Option("--client-id", help="Your client id (x-client-id).", show_default=False)],
    app_id: Annotated[str, typer.Option("--app-id", help="Your app id (x-client-app-id).", show_default=False)],
    service: Annotated[
        Service, typer.Option("--service", help="flights or hotels (x-client-service).", show_default=False)
    ],
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
    from rapido_cli.profiles.store import check_key_spec, check_name, parse_setting

    check_name(name)
    try:
        spec = check_key_spec(key)
    except UsageError as exc:  # the core names the setting; here it is the --key option
        exc.message = "--" + exc.message
        raise
    base_url = parse_setting("base_url", base_url)
    _url_policy(app, name, base_url, allow_http, flag=True)
    body: dict[str, Any] = {
        "base_url": base_url,
        "client_id": client_id.strip(),
        "app_id": app_id.strip(),
        "service": service.value,
        "key": spec,
        "timeout": timeout,
        "max_attempts": max_attempts,
        "rate": rate,
        "allow_http": True if allow_http else None,
    }
    if ca_bundle is not None:
        bundle = str(ca_bundle.expanduser().resolve())
        _check_ca_bundle(bundle)
        body["ca_bundle"] = bundle
    if not body["client_id"] or not body["app_id"]:
        raise UsageError("--client-id and --app-id must not be empty")

    editor = _editor(app)
    existed = name in editor.profiles
    editor.add(name, body, replace=force)
    became_default = make_default or not editor.default or editor.default not in editor.profiles
    if became_default:
        editor.use(name)
    editor.save()
    action = "replaced" if existed else "added"
    nxt = [f"rapido profile set-key {name}"] if spec == "keyring" else []
    nxt.append(f"rapido doctor --profile {name}")
    _done(
        app,
        f"{action} profile '{name}' in {editor.path}" + (" (the default)" if became_default else ""),
        {"action": action, "profile": name, "config": str(editor.path), "default": became_default, "next": nxt},
    )
    if spec.startswith("file:"):
        app.info(f"put the key in {spec[5:]} with mode 600 (or run `rapido profile set-key {name}`)")
    app.info("next: " + ", then ".join(nxt))


def set_setting(
    app: AppContext,
    name: NameArg,
    setting: Annotated[
        str, typer.Argument(metavar="KEY", help="The setting.", autocompletion=_complete_setting, show_default=False)
    ],
    value: Annotated[
        str, typer.Argument(metavar="VALUE", help="Its new value.", autocompletion=_complete_value, show_default=False)
    ],
) -> None:
    """Change one setting of a profile."""
    from rapido_cli.profiles.store import parse_setting, setting_name

    field = setting_name(setting)
    parsed = parse_setting(field, value)
    editor = _editor(app)
    current = editor.require(name)
    if field == "ca_bundle":
        _check_ca_bundle(str(parsed))
    after = {**current, field: parsed}
    _url_policy(app, name, after.get("base_url"), bool(after.get("allow_http")), flag=False)
    editor.set(name, field, parsed)
    editor.check(name)
    editor.save()
    shown = str(parsed).lower() if isinstance(parsed, bool) else str(parsed)
    _done(
        app,
        f"profile '{name}': {field} = {shown} ({editor.path})",
        {"action": "set", "profile": name, "config": str(editor.path), "setting": field, "value": parsed},
    )
    if field == "key" and parsed == "keyring":
        app.info(f"next: rapido profile set-key {name}")


def unset_setting(
    app: AppContext,
    name: NameArg,
    setting: Annotated[
        str, typer.Argument(metavar="KEY", help="The setting.", autocompletion=_complete_setting, show_default=False)
    ],
) -> None:
    """Remove one setting from a profile."""
    from rapido_cli.profiles import KEY_ENV
    from rapido_cli.profiles.resolve import ENV_OVERRIDES
    from rapido_cli.profiles.store import setting_name

    field = setting_name(setting)
    editor = _editor(app)
    current = editor.require(name)
    if field == "allow_http":
        _url_policy(app, name, current.get("base_url"), False, flag=False)
    was_set = editor.unset(name, field)
    if was_set:
        editor.save()
    _done(
        app,
        f"profile '{name}': {field} " + ("removed" if was_set else "was not set") + f" ({editor.path})",
        {"action": "unset", "profile": name, "config": str(editor.path), "setting": field, "was_set": was_set},
    )
    if was_set and field in REQUIRED:
        app.warn(f"profile '{name}' has no {field} now: set it again, or {ENV_OVERRIDES[field]} in the environment")
    if was_set and field == "key":
        app.warn(f"profile '{name}' has no key source now: it needs {KEY_ENV} (or `rapido profile set {name} key ...`)")


def remove(
    app: AppContext,
    name: NameArg,
    keep_key: Annotated[bool, typer.Option("--keep-key", help="Leave its key in the keyring.")] = False,
) -> None:
    """Remove a profile from the file, and its key from the keyring."""
    from rapido_cli.errors import ConfigError
    from rapido_cli.profiles import keyring_delete

    editor = _editor(app)
    was_default = editor.default == name
    body = editor.remove(name)
    editor.save()
    key_deleted: bool | None = None
    if str(body.get("key", "")).strip() == "keyring" and not keep_key:
        try:
            key_deleted = keyring_delete(name)
        except ConfigError as exc:
            app.warn(f"its key may still be in the keyring: {exc.message}")
    _done(
        app,
        f"removed profile '{name}' from {editor.path}",
        {
            "action": "removed",
            "profile": name,
            "config": str(editor.path),
            "key_deleted": key_deleted,
            "default": editor.default,
        },
    )
    if key_deleted:
        app.info("deleted its key from the keyring")
    if was_default:
        left = editor.names()
        app.warn("there is no default profile now" + (f"; pick one: rapido profile use {left[0]}" if left else ""))


def use(app: AppContext, name: NameArg) -> None:
    """Make a profile the default one."""
    editor = _editor(app)
    editor.require(name)
    editor.use(name)
    editor.save()
    _done(
        app,
        f"default profile is now '{name}' ({editor.path})",
        {"action": "use", "profile": name, "config": str(editor.path), "default": name},
    )


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


def set_key(app: AppContext, name: OptionalName = None) -> None:
    """Store a profile's client key in the keyring or its key file."""
    from rapido_cli.errors import ConfigError
    from rapido_cli.profiles import check_key_value, is_key_source, keyring_timeout
    from rapido_cli.profiles.keys import key_file_path, store_in_keyring, write_key_file

    editor = _editor(app)
    prof = _pick_name(app, name, editor.default)
    body = editor.require(prof)
    spec = str(body.get("key") or "keyring").strip()
    if spec.startswith(("env:", "command:")):
        where = f"${spec[4:].strip()}" if spec.startswith("env:") else "a command"
        raise ConfigError(
            f"profile '{prof}' reads its key from {where}; set-key cannot store it there",
            hint=f"store it with rapido instead: `rapido profile set {prof} key keyring` (or key file:PATH)",
        )
    value = check_key_value(_read_new_key(prof), "the input")
    if spec.startswith("file:"):
        target = key_file_path(spec, editor.path)
        write_key_file(target, value)
        _done(
            app,
            f"stored the key of profile '{prof}' in {target} (mode 600): {value.masked()}",
            {"action": "set-key", "profile": prof, "stored_in": f"file:{target}", "masked": value.masked()},
        )
        return
    store_in_keyring(prof, value, keyring_timeout(app.environ))
    if body.get("key") != "keyring":
        moved = body.get("key") and not is_key_source(str(body["key"]))
        editor.set(prof, "key", "keyring")
        editor.save()
        if moved:
            app.info(f"removed the inline key from {editor.path}: the profile now reads the keyring")
    _done(
        app,
        f"stored the key of profile '{prof}' in the keyring: {value.masked()}",
        {"action": "set-key", "profile": prof, "stored_in": "keyring", "masked": value.masked()},
    )


def delete_key(app: AppContext, name: OptionalName = None) -> None:
    """Delete a profile's key from the keyring."""
    from rapido_cli.profiles import keyring_delete, keyring_timeout

    _, data = _load(app)
    prof = _pick_name(app, name, data["default"])
    deleted = keyring_delete(prof, keyring_timeout(app.environ))
    _done(
        app,
        f"deleted the key of profile '{prof}' from the keyring"
        if deleted
        else f"no key stored for profile '{prof}' in the keyring",
        {"action": "delete-key", "profile": prof, "deleted": deleted},
    )
    spec = str((data["profiles"].get(prof) or {}).get("key") or "")
    if spec and spec != "keyring":
        app.info(f"note: profile '{prof}' reads its key from {_key_label({'key': spec})}, not the keyring")


@group_globals
def _group(ctx: typer.Context) -> None:
    """Manage profiles (profiles.yaml) and their client keys."""


def register(app: typer.Typer) -> None:
    """Add the ``profile`` command group."""
    group = typer.Typer(
        name="profile",
        help=GROUP_HELP,
        no_args_is_help=True,
        rich_markup_mode="rich",
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    group.callback()(_group)
    group.command("list", help=LIST_HELP)(common_options(list_profiles))
    group.command("show", help=SHOW_HELP)(common_options(show))
    group.command("add", help=ADD_HELP)(common_options(add))
    group.command("set", help=SET_HELP)(common_options(set_setting))
    group.command("unset", help=UNSET_HELP)(common_options(unset_setting))
    group.command("remove", help=REMOVE_HELP)(common_options(remove))
    group.command("use", help=USE_HELP)(common_options(use))
    group.command("set-key", help=SET_KEY_HELP)(common_options(set_key))
    group.command("delete-key", help=DELETE_KEY_HELP)(common_options(delete_key))
    app.add_typer(group, name="profile", rich_help_panel="Set up")
