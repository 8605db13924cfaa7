"""Profiles, environment overrides and key sources, each value with where it came from.

Resolution order, field by field: command-line flag > environment (``RAPIDO_*``) > the
profiles file > default. The key comes from ``RAPIDO_CLIENT_KEY`` or the profile's ``key``
source: ``keyring``, ``env:VAR``, ``command:<shell command>``, ``file:<path>``.

- :mod:`~rapido_cli.profiles.store`: the file (location, reading, writing, rules for values);
- :mod:`~rapido_cli.profiles.keys`: key sources (keyring with a deadline, key files, key commands);
- :mod:`~rapido_cli.profiles.urlpolicy`: safe API addresses (the rule is the transport's);
- :mod:`~rapido_cli.profiles.resolve`: the effective profile, value by value.

This module re-exports the names the rest of the program imports from ``rapido_cli.profiles``.
"""

from __future__ import annotations

from rapido_cli.profiles.keys import (
    COMMAND_TIMEOUT_ENV,
    COMMAND_TIMEOUT_S,
    KEY_ENV,
    KEYRING_SERVICE,
    KEYRING_TIMEOUT_ENV,
    KEYRING_TIMEOUT_S,
    Secret,
    check_key_value,
    keyring_backend_name,
    keyring_delete,
    keyring_get,
    keyring_set,
    keyring_timeout,
    read_key,
)
from rapido_cli.profiles.resolve import (
    ENV_OVERRIDES,
    HEADER_FIELDS,
    PROFILE_NAME_RE,
    SANDBOX_KEY,
    SANDBOX_VALUES,
    ResolvedProfile,
    Target,
    Value,
    check_profile_name,
    resolve_profile,
)
from rapido_cli.profiles.store import (
    DEFAULTS,
    PROFILE_FIELDS,
    default_config_path,
    file_mode,
    group_or_world_readable,
    inline_key_profiles,
    is_key_source,
    load_profiles_file,
    save_profiles_file,
)
from rapido_cli.profiles.urlpolicy import check_base_url
from rapido_cli.text import mask

__all__ = [
    "COMMAND_TIMEOUT_ENV",
    "COMMAND_TIMEOUT_S",
    "DEFAULTS",
    "ENV_OVERRIDES",
    "HEADER_FIELDS",
    "KEYRING_SERVICE",
    "KEYRING_TIMEOUT_ENV",
    "KEYRING_TIMEOUT_S",
    "KEY_ENV",
    "PROFILE_FIELDS",
    "PROFILE_NAME_RE",
    "SANDBOX_KEY",
    "SANDBOX_VALUES",
    "ResolvedProfile",
    "Secret",
    "Target",
    "Value",
    "check_base_url",
    "check_key_value",
    "check_profile_name",
    "default_config_path",
    "file_mode",
    "group_or_world_readable",
    "inline_key_profiles",
    "is_key_source",
    "keyring_backend_name",
    "keyring_delete",
    "keyring_get",
    "keyring_set",
    "keyring_timeout",
    "load_profiles_file",
    "mask",
    "read_key",
    "resolve_profile",
    "save_profiles_file",
]
