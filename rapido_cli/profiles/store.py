"""The profiles file: where it is, its model, reading it, editing it, and the rules for its values.

Reading checks the whole file against a pydantic model (``extra="forbid"``: a misspelt setting is
an error, not silently ignored). Editing (:class:`ProfilesEditor`) goes through ruamel.yaml's
round trip, so ``rapido profile set``/``unset``/``add``/``use``/``remove`` keep the user's comments,
order and quoting; the file is replaced atomically with mode 0600.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rapido_cli.contract import SERVICES
from rapido_cli.errors import ConfigError, RapidoError, UsageError

DEFAULTS: dict[str, Any] = {"timeout": 30.0, "max_attempts": 5, "rate": None, "ca_bundle": None, "allow_http": False}
#: Every setting of a profile, in the documented order (new settings are written in this order).
PROFILE_FIELDS = ("base_url", "client_id", "app_id", "service", "key", *DEFAULTS)


def default_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$RAPIDO_CONFIG`` or ``<user config dir>/rapido/profiles.yaml`` (XDG on Linux)."""
    env = os.environ if environ is None else environ
    if env.get("RAPIDO_CONFIG"):
        return Path(env["RAPIDO_CONFIG"]).expanduser()
    xdg = env.get("XDG_CONFIG_HOME")
    if xdg:
        return Path(xdg) / "rapido" / "profiles.yaml"
    import platformdirs

    return Path(platformdirs.user_config_dir("rapido", appauthor=False)) / "profiles.yaml"


def group_or_world_readable(path: Path) -> bool:
    """True when ``path`` is open to its group or to others (always False on Windows: no such modes)."""
    if os.name == "nt":
        return False
    return bool(path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))


def file_mode(path: Path) -> str:
    """``0600``-style permission bits of ``path``."""
    return f"{stat.S_IMODE(path.stat().st_mode):04o}"


def inline_key_profiles(data: Mapping[str, Any]) -> list[str]:
    """Names of the profiles whose ``key:`` is the key itself rather than a source."""
    return [
        name
        for name, body in (data.get("profiles") or {}).items()
        if isinstance(body, dict) and body.get("key") and not is_key_source(str(body["key"]))
    ]


def is_key_source(spec: str) -> bool:
    """True when ``spec`` names where the key is (``keyring``, ``env:``, ``command:``, ``file:``)."""
    spec = spec.strip()
    return spec == "keyring" or spec.startswith(("env:", "command:", "file:"))


# ---------------------------------------------------------------- the file's model


def _text(value: Any) -> Any:
    """A setting written as text; YAML may read ``client_id: 12345`` as a number: keep it as text."""
    if value is None or isinstance(value, str):
        return None if value is None else value.strip()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise ValueError("must be text")


def _service(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _profiles(value: Any) -> Any:
    if value is None:
        return {}
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    return value


def _models() -> tuple[type[Any], type[Any]]:
    """The pydantic models of the file (built on first use: pydantic is slow to import)."""
    global _MODELS
    if _MODELS is None:
        from typing import Annotated, Literal

        from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

        Text = Annotated[str | None, BeforeValidator(_text)]

        class ProfileSettings(BaseModel):
            """One profile's settings; any other key is refused (a typo would be silently ignored)."""

            model_config = ConfigDict(extra="forbid")

            base_url: Text = None
            client_id: Text = None
            app_id: Text = None
            service: Annotated[Literal["flights", "hotels"] | None, BeforeValidator(_service)] = None
            key: Text = None
            timeout: Annotated[float, Field(gt=0)] | None = None
            max_attempts: Annotated[int, Field(ge=1)] | None = None
            rate: Annotated[float, Field(gt=0)] | None = None
            ca_bundle: Text = None
            allow_http: bool | None = None

        class ProfilesFile(BaseModel):
            """``profiles.yaml``: ``default:`` and ``profiles:``, nothing else."""

            model_config = ConfigDict(extra="forbid")

            default: Text = None
            profiles: Annotated[dict[str, ProfileSettings], BeforeValidator(_profiles)] = Field(default_factory=dict)

        _MODELS = (ProfilesFile, ProfileSettings)
    return _MODELS


_MODELS: tuple[type[Any], type[Any]] | None = None

#: Why a value is refused, by setting (the model's own wording is pydantic's, not ours).
_RULES = {
    "timeout": "must be a positive number of seconds",
    "max_attempts": "must be a whole number, at least 1",
    "rate": "must be a positive number (requests per second)",
    "service": f"must be one of {', '.join(SERVICES)}",
    "allow_http": "must be true or false",
}


def _model_error(path: Path, exc: Any) -> ConfigError:
    """The first problem of a pydantic ValidationError, worded for the profiles file."""
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"]]
    kind = err["type"]
    if len(loc) == 1:
        if kind == "extra_forbidden":
            return ConfigError(
                f"{path}: unknown top-level key(s): {loc[0]}", hint="only `default:` and `profiles:` belong at the top"
            )
        if loc[0] == "profiles":
            return ConfigError(f"{path}: `profiles` must be a mapping of name -> settings", hint=EXAMPLE_HINT)
        return ConfigError(f"{path}: {loc[0]}: must be a profile name", hint=EXAMPLE_HINT)
    name = loc[1]
    if len(loc) == 2:
        return ConfigError(f"{path}: profiles.{name}: expected a mapping of settings", hint=EXAMPLE_HINT)
    setting = loc[2]
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(setting, PROFILE_FIELDS, n=1)
        return ConfigError(
            f"{path}: profiles.{name}.{setting}: unknown setting",
            hint=(f"did you mean {close[0]}? " if close else "") + "known settings: " + ", ".join(PROFILE_FIELDS),
        )
    rule = _RULES.get(setting, "must be text")
    given = err.get("input")
    return ConfigError(
        f"{path}: profiles.{name}.{setting}: {rule}, got {given!r}",
        hint=f"fix it: `rapido profile set {name} {setting} VALUE` (or `rapido profile unset {name} {setting}`)",
    )


EXAMPLE_HINT = "compare with profiles.example.yaml, or start again with `rapido profile add`"


def _read_text(path: Path) -> str | None:
    """The file's text, or None when there is no file; bounded in size, regular files only."""
    from rapido_cli.fs import read_limited

    if not path.exists() and not path.is_symlink():
        return None
    try:
        data = read_limited(path, what="profiles file")
    except RapidoError as exc:
        raise ConfigError(exc.message, hint=exc.hint) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: cannot read the profiles file: not UTF-8 (byte {exc.start})") from None


def _parse_yaml(path: Path, text: str) -> Any:
    import yaml

    from rapido_cli import safeyaml

    try:
        return safeyaml.load(text)
    except safeyaml.YamlLimitError as exc:
        raise ConfigError(f"{path}:{exc.line}: {exc}", hint=EXAMPLE_HINT) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            f"{where}: not valid YAML: {problem}", hint="fix the file or compare with profiles.example.yaml"
        ) from None


def load_profiles_file(path: Path) -> dict[str, Any]:
    """Read and check ``profiles.yaml``: ``{"default": name | None, "profiles": {name: {...}}}``.

    The whole file is checked against its model (unknown keys, value types and ranges); the
    settings are returned as written, without the unset ones.
    """
    text = _read_text(path)
    if text is None:
        return {"default": None, "profiles": {}}
    data = _parse_yaml(path, text)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with `profiles:`", hint="see profiles.example.yaml")
    from pydantic import ValidationError

    model, _ = _models()
    try:
        model.model_validate(data)
    except ValidationError as exc:
        raise _model_error(path, exc) from None
    profiles = _profiles(data.get("profiles"))
    default = data.get("default")
    return {
        "default": None if default is None else str(default),
        "profiles": {name: {k: v for k, v in body.items() if v is not None} for name, body in profiles.items()},
    }


# ---------------------------------------------------------------- rules for names and values


#: Profile names: safe as a keyring user name, a file name and a shell word.
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def check_name(name: str) -> str:
    """``name`` if it may name a profile; UsageError otherwise."""
    if not NAME_RE.match(name):
        raise UsageError(
            f"profile name {name!r} is not allowed",
            hint="use letters, digits, '.', '_' and '-' (up to 64), starting with a letter or digit",
        )
    return name


def check_key_spec(spec: str) -> str:
    """A ``key`` setting must say where the key is; the message never repeats what was given (it may be the key)."""
    spec = spec.strip()
    if not is_key_source(spec):
        raise UsageError(
            "key takes where the key is (keyring, env:VAR, command:..., file:PATH), never the key itself "
            "(the value given is not shown)",
            hint="use `keyring` and then `rapido profile set-key NAME` (it reads the key from a hidden prompt)",
        )
    kind, _, rest = spec.partition(":")
    if kind in ("env", "command", "file") and not rest.strip():
        raise UsageError(f"key {kind}: needs a {'variable name' if kind == 'env' else kind} after the colon")
    if kind == "env" and not _ENV_NAME.match(rest.strip()):
        raise UsageError(f"key env:{rest.strip()}: not an environment variable name")
    return spec


def setting_name(text: str) -> str:
    """The setting ``text`` names (``base-url`` and ``base_url`` alike); UsageError with a suggestion."""
    name = text.strip().lower().replace("-", "_")
    if name in PROFILE_FIELDS:
        return name
    close = difflib.get_close_matches(name, PROFILE_FIELDS, n=1)
    raise UsageError(
        f"{text!r} is not a profile setting",
        hint=(f"did you mean {close[0]}? " if close else "") + "settings: " + ", ".join(PROFILE_FIELDS),
    )


def parse_setting(name: str, raw: str) -> Any:
    """``raw`` (text from the command line) as the value of setting ``name``, by the file's rules.

    Raises UsageError naming the setting. The URL policy (plain http only to loopback unless
    ``allow_http``) depends on two settings: see :meth:`ProfilesEditor.check_url_policy`.
    """
    from urllib.parse import urlsplit

    text = raw.strip()
    if name == "key":
        return check_key_spec(text)
    if name in ("timeout", "rate", "max_attempts"):
        try:
            number: float = int(text) if name == "max_attempts" else float(text)
        except ValueError:
            raise UsageError(f"{name} {_RULES[name]}, got {raw!r}") from None
        if not number > 0 or number != number or number == float("inf"):
            raise UsageError(f"{name} {_RULES[name]}, got {raw!r}")
        return number
    if name == "allow_http":
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise UsageError(f"allow_http {_RULES['allow_http']}, got {raw!r}")
    if name == "service":
        value = text.lower()
        if value not in SERVICES:
            close = difflib.get_close_matches(value, SERVICES, n=1)
            raise UsageError(
                f"service {_RULES['service']}, got {raw!r}", hint=f"did you mean '{close[0]}'?" if close else None
            )
        return value
    if not text:
        raise UsageError(f"{name} must not be empty", hint=f"to remove it: `rapido profile unset NAME {name}`")
    if name == "base_url":
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"base_url {raw!r} is not an http(s) URL", hint="e.g. https://partner-staging.example.com")
        return text.rstrip("/")
    if name == "ca_bundle":
        return str(Path(os.path.expandvars(text)).expanduser().resolve())
    return text


# ---------------------------------------------------------------- editing, comments and order kept


class ProfilesEditor:
    """``profiles.yaml`` opened for editing. Comments, order and quoting survive (ruamel.yaml
    round trip); the file is written atomically with mode 0600 and never through a link."""

    def __init__(self, path: Path, doc: Any, existed: bool) -> None:
        self.path = path
        self.doc = doc
        self.existed = existed

    @staticmethod
    def _yaml() -> Any:
        from ruamel.yaml import YAML

        yaml = YAML(typ="rt")
        yaml.preserve_quotes = True
        yaml.indent(mapping=2, sequence=4, offset=2)
        yaml.width = 4096  # never fold a long command: or a URL
        return yaml

    @classmethod
    def open(cls, path: Path) -> ProfilesEditor:
        """Read ``path`` for editing (an absent file is an empty one)."""
        from ruamel.yaml.comments import CommentedMap

        text = _read_text(path)
        doc: Any
        if text is None:
            doc = CommentedMap()
            doc["profiles"] = CommentedMap()
            return cls(path, doc, existed=False)
        # The safe loader first: its limits (aliases, depth) and its error messages.
        data = _parse_yaml(path, text)
        if data is not None and not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping with `profiles:`", hint="see profiles.example.yaml")
        doc = cls._yaml().load(text) if data is not None else None
        if doc is None:
            doc = CommentedMap()
        if doc.get("profiles") is None:
            doc["profiles"] = CommentedMap()
        if not isinstance(doc["profiles"], dict):
            raise ConfigError(f"{path}: `profiles` must be a mapping of name -> settings", hint=EXAMPLE_HINT)
        return cls(path, doc, existed=True)

    @property
    def profiles(self) -> Any:
        """The ``profiles:`` mapping (ruamel's, comments attached)."""
        return self.doc["profiles"]

    @property
    def default(self) -> str | None:
        """The ``default:`` profile name, if any."""
        value = self.doc.get("default")
        return None if value is None else str(value)

    def names(self) -> list[str]:
        """The profile names, sorted."""
        return sorted(str(n) for n in self.profiles)

    def settings(self, name: str) -> dict[str, Any] | None:
        """A copy of profile ``name``'s settings as plain values, or None."""
        body = self.profiles.get(name)
        if body is None and name not in self.profiles:
            return None
        return {str(k): v for k, v in (body or {}).items()}

    def require(self, name: str) -> dict[str, Any]:
        """Profile ``name``'s settings; ConfigError naming the profiles there are when it is absent."""
        settings = self.settings(name)
        if settings is None:
            known = ", ".join(self.names()) or "none"
            raise ConfigError(
                f"profile '{name}' not found in {self.path} (profiles: {known})",
                hint=f"run `rapido profile add {name} --base-url URL --client-id ID --app-id ID --service flights`",
            )
        return settings

    def use(self, name: str | None) -> None:
        """Make ``name`` the default profile (None: no default)."""
        if name is None:
            if "default" in self.doc:
                del self.doc["default"]
        elif "default" in self.doc:
            self.doc["default"] = name
        else:
            self.doc.insert(0, "default", name)

    def add(self, name: str, settings: Mapping[str, Any], *, replace: bool = False) -> None:
        """Add profile ``name`` (settings in the documented order); ``replace`` keeps its place in the file."""
        from ruamel.yaml.comments import CommentedMap

        check_name(name)
        if name in self.profiles and not replace:
            raise UsageError(
                f"profile '{name}' already exists in {self.path}",
                hint=f"add --force to replace it, or `rapido profile remove {name}` first",
            )
        body = CommentedMap()
        for field in PROFILE_FIELDS:
            if settings.get(field) is not None:
                body[field] = settings[field]
        self.profiles[name] = body

    def remove(self, name: str) -> dict[str, Any]:
        """Remove profile ``name`` (and the default if it was); return its settings."""
        settings = self.require(name)
        del self.profiles[name]
        if self.default == name:
            self.use(None)
        return settings

    def set(self, name: str, field: str, value: Any) -> Any:
        """Set one setting of profile ``name`` (in the documented order if new); return the old value."""
        from ruamel.yaml.comments import CommentedMap

        self.require(name)
        body = self.profiles.get(name)
        if body is None:
            body = self.profiles[name] = CommentedMap()
        old = body.get(field)
        if field in body:
            body[field] = value
            return old
        # A new setting goes after the settings that come before it in the documented order.
        order = {f: i for i, f in enumerate(PROFILE_FIELDS)}
        position = sum(1 for k in body if order.get(str(k), len(order)) < order[field])
        body.insert(position, field, value)
        return None

    def unset(self, name: str, field: str) -> bool:
        """Remove one setting of profile ``name``; False when it was not set."""
        self.require(name)
        body = self.profiles.get(name)
        if body is None or field not in body:
            return False
        del body[field]
        return True

    def check(self, name: str) -> None:
        """Profile ``name`` after an edit must satisfy the file's model (ConfigError otherwise)."""
        from pydantic import ValidationError

        _, settings_model = _models()
        try:
            settings_model.model_validate(self.settings(name) or {})
        except ValidationError as exc:
            err = exc.errors()[0]
            setting = str(err["loc"][0]) if err["loc"] else "?"
            raise UsageError(f"profiles.{name}.{setting}: {_RULES.get(setting, 'must be text')}") from None

    def save(self) -> None:
        """Write the file atomically, mode 0600 (it names where keys are), never through a link."""
        import io

        from rapido_cli.fs import atomic_write

        buffer = io.StringIO()
        self._yaml().dump(self.doc, buffer)
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(self.path, buffer.getvalue())


def save_profiles_file(path: Path, data: Mapping[str, Any]) -> None:
    """Write ``data`` (as :func:`load_profiles_file` returns it) to ``profiles.yaml``.

    Comments and order of the existing file are kept for the profiles that stay; atomic, 0600.
    Prefer :class:`ProfilesEditor` for an edit.
    """
    editor = ProfilesEditor.open(path)
    wanted = dict(data.get("profiles") or {})
    for name in editor.names():
        if name not in wanted:
            del editor.profiles[name]
    for name, settings in wanted.items():
        current = editor.settings(name)
        if current != settings:
            editor.add(name, settings, replace=True)
    editor.use(data.get("default") or None)
    editor.save()
