"""Following what a running sandbox receives: ``GET /_sandbox/stream`` (server-sent events).

Library interface (prints nothing):

* :class:`SseParser`: an incremental, tolerant server-sent-events parser (WHATWG rules: ``\\n``,
  ``\\r\\n`` or ``\\r`` line ends, multi-line ``data``, comments, ``id``/``event``/``retry``, a
  leading BOM), bounded in line and event size because the peer is foreign.
* :class:`Filters`: client-side ``type`` (shell patterns, ``order.*``), ``order_id`` and ``verdict``.
* :func:`describe` / :func:`plain_line`: one line per event (time, flow, type, id, order, status,
  verdict, problems), every foreign string made inert.
* :func:`follow`: connect, feed the parser, call back per event; resumes once with
  ``Last-Event-ID`` if the stream drops; raises ``TemporaryError`` when the sandbox is gone and
  ``ConfigError`` when the URL is not a sandbox stream.

The stream contract is the sandbox's (docs/sandbox.md): each event is
``id: <seq>\\nevent: received|missed\\ndata: <one-line JSON>\\n\\n``, ``: keepalive`` every 15 s.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any

from rapido_cli.errors import ConfigError, TemporaryError
from rapido_cli.text import inert

__all__ = [
    "DEFAULT_URL",
    "STREAM_PATH",
    "Filters",
    "SseComment",
    "SseEvent",
    "SseParser",
    "StreamError",
    "describe",
    "follow",
    "plain_line",
]

#: Where ``rapido sandbox`` listens by default.
DEFAULT_URL = "http://127.0.0.1:8787"
STREAM_PATH = "/_sandbox/stream"
#: The sandbox sends a keepalive every 15 s: three missed ones mean it is gone.
READ_TIMEOUT_S = 45.0
#: A line (one ``data:`` line is one event's JSON) and a whole event, at most.
MAX_LINE_BYTES = 4 << 20
MAX_EVENT_BYTES = 8 << 20
#: Event names that carry records (``received``; ``missed`` for a booking the server never reported).
RECORD_EVENTS = frozenset({"received", "missed", "message"})

_EOL_TEXT = re.compile("\r\n|\r|\n")
_BOM = b"\xef\xbb\xbf"


class StreamError(ValueError):
    """The peer sent something no event stream would (a line or an event past the size bounds)."""


@dataclass(frozen=True, slots=True)
class SseEvent:
    """One dispatched event: its name (``message`` when none was given), data and last id."""

    event: str
    data: str
    id: str | None = None


@dataclass(frozen=True, slots=True)
class SseComment:
    """A comment line (``: keepalive``), without its colon and first space."""

    text: str


class SseParser:
    """Feed bytes as they arrive; get back the complete events and comments they finish."""

    def __init__(self, *, max_line: int = MAX_LINE_BYTES, max_event: int = MAX_EVENT_BYTES) -> None:
        self.max_line = max_line
        self.max_event = max_event
        self.last_event_id: str | None = None
        self.retry_ms: int | None = None
        self._buf = bytearray()
        self._start = True
        self._skip_lf = False
        self._data: list[str] = []
        self._data_size = 0
        self._event = ""

    def feed(self, chunk: bytes) -> list[SseEvent | SseComment]:
        """Parse ``chunk``; return what it completed, in order."""
        if self._skip_lf and chunk:
            self._skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        buf = self._buf
        buf += chunk
        if self._start:
            if len(buf) < len(_BOM) and _BOM.startswith(bytes(buf)):
                return []
            if buf.startswith(_BOM):
                del buf[: len(_BOM)]
            self._start = False
        end = max(buf.rfind(b"\n"), buf.rfind(b"\r"))
        if end < 0:
            if len(buf) > self.max_line:
                raise StreamError(f"a line longer than {self.max_line:,} bytes")
            return []
        complete = bytes(buf[: end + 1])
        del buf[: end + 1]
        if len(buf) > self.max_line:
            raise StreamError(f"a line longer than {self.max_line:,} bytes")
        if not buf and complete.endswith(b"\r"):
            self._skip_lf = True  # a \n at the start of the next chunk belongs to this \r
        # A line end is never part of a UTF-8 sequence, so the block decodes as its lines would.
        text = complete.decode("utf-8", errors="replace")
        lines = text.split("\n") if "\r" not in text else _EOL_TEXT.split(text)
        out: list[SseEvent | SseComment] = []
        for line in lines[:-1]:  # the last piece is the empty rest after the final line end
            self._line(line, out)
        return out

    def _line(self, line: str, out: list[SseEvent | SseComment]) -> None:
        if not line:
            if self._data:
                out.append(SseEvent(self._event or "message", "\n".join(self._data), self.last_event_id))
            self._data, self._data_size, self._event = [], 0, ""
            return
        if len(line) > self.max_line:
            raise StreamError(f"a line longer than {self.max_line:,} bytes")
        if line[0] == ":":
            out.append(SseComment(line[2:] if line[1:2] == " " else line[1:]))
            return
        name, sep, value = line.partition(":")
        if sep and value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._data_size += len(value) + 1
            if self._data_size > self.max_event:
                raise StreamError(f"an event larger than {self.max_event:,} bytes")
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self.last_event_id = value
        elif name == "retry" and value.isdigit():
            self.retry_ms = int(value)
        # any other field is ignored, as the specification says


# ---------------------------------------------------------------- records


def _split(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(v.strip() for v in value.split(",") if v.strip())


@dataclass(frozen=True)
class Filters:
    """Which events to show: ``types`` are shell patterns (``order.*``); each filter is a comma list."""

    types: tuple[str, ...] = ()
    order_ids: tuple[str, ...] = ()
    verdicts: tuple[str, ...] = ()

    @classmethod
    def of(cls, type_: str | None = None, order_id: str | None = None, verdict: str | None = None) -> Filters:
        """From the option values (``None`` or a comma-separated list each)."""
        return cls(_split(type_), _split(order_id), _split(verdict))

    def match(self, rec: dict[str, Any]) -> bool:
        """True when ``rec`` passes every filter given."""
        if self.types:
            etype = str(rec.get("type") or rec.get("event_type") or "")
            if not any(fnmatchcase(etype, pattern) for pattern in self.types):
                return False
        if self.order_ids and str(rec.get("order_id") or "") not in self.order_ids:
            return False
        return not (self.verdicts and str(rec.get("verdict") or "") not in self.verdicts)


def _clock(at: Any) -> str:
    """``HH:MM:SS.mmm`` in local time, from the record's ISO UTC time."""
    if isinstance(at, str):
        try:
            when = datetime.fromisoformat(at)
        except ValueError:
            return inert(at, limit=23)
        if when.tzinfo is not None:
            when = when.astimezone()
        return when.strftime("%H:%M:%S.") + f"{when.microsecond // 1000:03d}"
    return "--:--:--.---"


def _short(value: Any, width: int) -> str:
    if value is None or value == "":
        return "-"
    text = inert(value)
    return text if len(text) <= width else text[: width - 1] + "…"


@dataclass
class Line:
    """One event as display pieces: ``(text, role)``; roles: time, flow, type, id, order, status,
    verdict, problems, message. ``verdict`` is the record's verdict (for colour)."""

    verdict: str
    pieces: list[tuple[str, str]] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The plain line."""
        return "  ".join(text for text, _ in self.pieces)


def _problems(problems: Any, limit: int = 2) -> str:
    if not isinstance(problems, list) or not problems:
        return ""
    shown = []
    for p in problems[:limit]:
        if isinstance(p, dict):
            shown.append(f"{inert(p.get('path') or 'event', limit=80)}: {inert(p.get('message', ''), limit=160)}")
        else:
            shown.append(inert(p, limit=160))
    more = f" (+{len(problems) - limit} more)" if len(problems) > limit else ""
    return "; ".join(shown) + more


def describe(rec: dict[str, Any]) -> Line:
    """The display pieces of one stream record (time, flow, type, id, order, status, verdict, problems)."""
    verdict = str(rec.get("verdict") or "")
    line = Line(verdict)
    add = line.pieces.append
    add((_clock(rec.get("at") or rec.get("received_at")), "time"))
    flow = str(rec.get("flow") or "")
    if flow == "correlation":
        add(("booking", "flow"))
        add((_short(rec.get("order_id"), 40), "order"))
        add((inert(verdict, limit=20) or "-", "verdict"))
        if rec.get("message"):
            add((inert(rec.get("message"), limit=300), "message"))
        return line
    add((f"{inert(flow, limit=6):<6}", "flow"))
    add((f"{_short(rec.get('type') or rec.get('event_type'), 20):<20}", "type"))
    add((f"{_short(rec.get('event_id'), 36):<36}", "id"))
    add((f"{_short(rec.get('order_id'), 24):<24}", "order"))
    status = rec.get("status")
    add((str(status) if isinstance(status, int) else "---", "status"))
    add((inert(verdict, limit=20) or "-", "verdict"))
    problems = _problems(rec.get("problems"))
    if problems:
        add((problems, "problems"))
    elif rec.get("message") and verdict not in ("accepted", "ok"):
        add((inert(rec.get("message"), limit=300), "message"))
    return line


def plain_line(rec: dict[str, Any]) -> str:
    """:func:`describe` as one plain text line."""
    return describe(rec).text


# ---------------------------------------------------------------- the connection


def stream_url(base_url: str) -> str:
    """``{base_url}/_sandbox/stream``."""
    return base_url.rstrip("/") + STREAM_PATH


def _error_text(resp: Any) -> str:
    """The sandbox's error message from a small answer body, if it has one."""
    body = b""
    for chunk in resp.iter_raw():
        body += chunk
        if len(body) > 4096:
            break
    try:
        obj = json.loads(body[:4096])
    except ValueError:
        return inert(body[:200].decode("utf-8", "replace"), limit=200)
    err = obj.get("error") if isinstance(obj, dict) else None
    message = err.get("message") if isinstance(err, dict) else None
    return inert(message, limit=200) if message else ""


def _check(resp: Any, url: str) -> None:
    """Refuse an answer that is not a sandbox's event stream, with the exit class it calls for."""
    status = resp.status_code
    if status == 200:
        ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "text/event-stream":
            raise ConfigError(
                f"{url} answered with {ctype or 'no content type'}, not an event stream",
                hint="point --url at a running `rapido sandbox` (e.g. http://127.0.0.1:8787)",
            )
        return
    why = _error_text(resp)
    detail = f" ({why})" if why else ""
    if status == 429 or status >= 500:
        raise TemporaryError(f"{url}: HTTP {status}{detail}", hint="the sandbox is busy; try again in a moment")
    if status in (404, 405):
        raise ConfigError(
            f"{url}: HTTP {status}: no event stream here{detail}",
            hint="is it a `rapido sandbox` of this version? Its base URL is e.g. http://127.0.0.1:8787",
        )
    raise ConfigError(f"{url}: HTTP {status}{detail}", hint="point --url at a running `rapido sandbox`")


def follow(
    base_url: str,
    *,
    last: int = 10,
    on_record: Callable[[dict[str, Any]], None],
    on_notice: Callable[[str], None] | None = None,
    read_timeout: float = READ_TIMEOUT_S,
    connect_timeout: float = 5.0,
    reconnects: int = 1,
) -> None:
    """Follow the sandbox at ``base_url`` until it goes away (then raise :class:`TemporaryError`).

    ``on_record`` gets each record (the JSON object of an event) in order; ``on_notice`` gets the
    stream's comments other than keepalives, and data that is not a JSON object. A dropped stream
    is resumed ``reconnects`` times in a row with ``Last-Event-ID`` (no event is shown twice).
    """
    import httpx

    url = stream_url(base_url)
    timeout = httpx.Timeout(connect=connect_timeout, read=read_timeout, write=connect_timeout, pool=connect_timeout)
    last_id: str | None = None
    drops = 0
    connected = False
    # trust_env=False: the stream is on loopback; no proxy may stand in between.
    with httpx.Client(timeout=timeout, trust_env=False, follow_redirects=False) as http:
        while True:
            headers = {"Accept": "text/event-stream", "Cache-Control": "no-store"}
            params: dict[str, str] = {}
            if last_id is not None:
                headers["Last-Event-ID"] = last_id
            else:
                # Only the first connection asks for history; a resumed one must not repeat it.
                params["last"] = str(last if not connected else 0)
            why = "closed the stream"
            try:
                with http.stream("GET", url, params=params, headers=headers) as resp:
                    _check(resp, url)
                    connected = True
                    parser = SseParser()
                    for chunk in resp.iter_raw():
                        for item in parser.feed(chunk):
                            if isinstance(item, SseComment):
                                if on_notice is not None and item.text.strip() != "keepalive":
                                    on_notice(inert(item.text, limit=300))
                                continue
                            drops = 0
                            if item.id is not None:
                                last_id = item.id
                            if item.event not in RECORD_EVENTS:
                                continue
                            try:
                                rec = json.loads(item.data)
                            except ValueError:
                                rec = None
                            if not isinstance(rec, dict):
                                if on_notice is not None:
                                    skipped = inert(item.data, limit=120)
                                    on_notice(f"an event that is not a JSON object was skipped: {skipped}")
                                continue
                            on_record(rec)
            except httpx.ConnectError as exc:
                if not connected:
                    raise TemporaryError(
                        f"no sandbox answers at {base_url}: {_reason(exc)}",
                        hint="start one with `rapido sandbox` (or pass --url)",
                    ) from None
                why = f"went away ({_reason(exc)})"
            except httpx.ReadTimeout:
                raise TemporaryError(
                    f"the sandbox at {base_url} stopped answering (nothing for {read_timeout:g} s)",
                    hint="is it still running?",
                ) from None
            except httpx.ConnectTimeout:
                raise TemporaryError(f"no answer from {base_url} within {connect_timeout:g} s") from None
            except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
                why = f"dropped the stream ({_reason(exc)})"
            except StreamError as exc:
                raise TemporaryError(f"the stream from {base_url} is not a sandbox's: {exc}") from None
            drops += 1
            if drops > reconnects:
                raise TemporaryError(f"the sandbox at {base_url} {why}", hint="restart it and run `rapido tail` again")


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    if "refused" in text.lower() or "Errno 111" in text:
        return "connection refused"
    return inert(text, limit=120) or type(exc).__name__

