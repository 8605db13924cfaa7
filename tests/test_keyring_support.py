"""Keyring backends for tests (no test functions here).

Their priority is negative so that importing this module never adds them to keyring's automatic
choice or chain (a hanging backend in the chain would hang every test that touches the keyring).

- ``MemoryKeyring``: in-process, set with ``keyring.set_keyring``.
- ``FileKeyring``: shared by subprocesses through a JSON file named by ``RAPIDO_TEST_KEYRING_FILE``;
  select it with ``PYTHON_KEYRING_BACKEND=test_keyring_support.FileKeyring`` and ``PYTHONPATH=tests``.
- ``HangingKeyring``: never answers (a locked keyring waiting for an unlock prompt).
- ``LeakyKeyring``: fails with the secret in its error message, like a careless backend.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

TESTS_DIR = Path(__file__).parent


class MemoryKeyring(KeyringBackend):
    priority = -5  # type: ignore[assignment]  # never picked or chained automatically: only when asked for

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.store.pop((service, username), None) is None:
            raise PasswordDeleteError("not found")


class FileKeyring(KeyringBackend):
    priority = -5  # type: ignore[assignment]  # never picked or chained automatically: only when asked for
    _lock = threading.Lock()

    @staticmethod
    def _path() -> Path:
        return Path(os.environ["RAPIDO_TEST_KEYRING_FILE"])

    def _load(self) -> dict[str, str]:
        try:
            return json.loads(self._path().read_text())
        except FileNotFoundError:
            return {}

    def _save(self, data: dict[str, str]) -> None:
        self._path().write_text(json.dumps(data))

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        with self._lock:
            data = self._load()
            data[f"{service}/{username}"] = password
            self._save(data)

    def delete_password(self, service: str, username: str) -> None:
        with self._lock:
            data = self._load()
            if data.pop(f"{service}/{username}", None) is None:
                raise PasswordDeleteError("not found")
            self._save(data)


class HangingKeyring(KeyringBackend):
    priority = -5  # type: ignore[assignment]  # never picked or chained automatically: only when asked for

    def get_password(self, service: str, username: str) -> str | None:
        time.sleep(3600)
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        time.sleep(3600)

    def delete_password(self, service: str, username: str) -> None:
        time.sleep(3600)


class LeakyKeyring(KeyringBackend):
    priority = -5  # type: ignore[assignment]  # never picked or chained automatically: only when asked for

    def get_password(self, service: str, username: str) -> str | None:
        raise RuntimeError(f"backend exploded while reading {service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError(f"backend exploded while storing {password!r}")

    def delete_password(self, service: str, username: str) -> None:
        raise RuntimeError("backend exploded")


def subprocess_env(backend: str, tmp_path: Path) -> dict[str, str]:
    """Environment selecting one of these backends in a ``python -m rapido_cli`` subprocess."""
    pythonpath = os.pathsep.join(p for p in (str(TESTS_DIR), os.environ.get("PYTHONPATH", "")) if p)
    return {
        "PYTHON_KEYRING_BACKEND": f"test_keyring_support.{backend}",
        "PYTHONPATH": pythonpath,
        "RAPIDO_TEST_KEYRING_FILE": str(tmp_path / "keyring.json"),
    }


class LockedKeyring(KeyringBackend):
    priority = -5  # type: ignore[assignment]  # never picked or chained automatically: only when asked for

    def get_password(self, service: str, username: str) -> str | None:
        from keyring.errors import KeyringLocked

        raise KeyringLocked("Failed to unlock the collection!")

    set_password = get_password  # type: ignore[assignment]
    delete_password = get_password  # type: ignore[assignment]
