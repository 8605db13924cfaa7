"""The report of ``rapido doctor``: one :class:`Check` per row, and the exit code they add up to."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rapido_cli.errors import ExitCode

Status = Literal["pass", "warn", "fail", "skip", "info"]

CONFIG = ExitCode.CONFIG
NETWORK = ExitCode.TEMPFAIL

#: Every row, in order: (name, title). ``--json`` always lists all of them (skipped ones too).
ROWS: tuple[tuple[str, str], ...] = (
    ("config", "config file"),
    ("permissions", "permissions"),
    ("profile", "profile"),
    ("key", "client key"),
    ("url", "base URL"),
    ("proxy", "proxy"),
    ("dns", "DNS"),
    ("tcp", "TCP connect"),
    ("tls", "TLS"),
    ("clock", "clock"),
    ("auth", "authentication"),
)


@dataclass
class Check:
    """One row of the report: a stable ``name``, a status, a one-line summary and a hint on failure."""

    name: str
    title: str
    status: Status
    summary: str
    hint: str | None = None
    #: What a failure of this row means for the exit code: CONFIG (3) or TEMPFAIL (75).
    kind: ExitCode = CONFIG
    data: dict[str, Any] = field(default_factory=dict)
    elapsed_ms: float | None = None

    @property
    def failed(self) -> bool:
        """True for a failed row."""
        return self.status == "fail"

    def to_json(self) -> dict[str, Any]:
        """The row as ``rapido doctor --json`` prints it."""
        return {
            "name": self.name,
            "title": self.title,
            "status": self.status,
            "summary": self.summary,
            "hint": self.hint,
            "category": "config" if self.kind == CONFIG else "network",
            "elapsed_ms": None if self.elapsed_ms is None else round(self.elapsed_ms, 1),
            "data": self.data,
        }


@dataclass
class Report:
    """All rows of one ``rapido doctor`` run."""

    profile: str | None
    config_path: Path
    checks: list[Check] = field(default_factory=list)

    @property
    def failures(self) -> list[Check]:
        """The failed rows."""
        return [c for c in self.checks if c.failed]

    @property
    def ok(self) -> bool:
        """True when no row failed."""
        return not self.failures

    @property
    def exit_code(self) -> ExitCode:
        """0 if nothing failed; 3 if a configuration/credential row failed; else 75."""
        kinds = {c.kind for c in self.failures}
        if not kinds:
            return ExitCode.OK
        return CONFIG if CONFIG in kinds else NETWORK

    def get(self, name: str) -> Check | None:
        """The row called ``name``."""
        return next((c for c in self.checks if c.name == name), None)

    def to_json(self) -> dict[str, Any]:
        """The whole report as ``--json`` prints it."""
        return {
            "ok": self.ok,
            "exit_code": int(self.exit_code),
            "profile": self.profile,
            "config": str(self.config_path),
            "checks": [c.to_json() for c in self.checks],
        }


__all__ = ["CONFIG", "NETWORK", "ROWS", "Check", "Report", "Status"]
