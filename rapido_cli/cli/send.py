"""``rapido send`` and ``rapido send-booking``: one event, delivered with retries."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rapido_cli.cli.common import AppContext, common_options

if TYPE_CHECKING:
    from rapido_cli.client import SendResult

EVENT_TYPE_NAMES = ("order.confirmed", "order.cancelled", "order.modified", "payment.completed", "payment.failed")


def _complete_type(incomplete: str) -> list[str]:
    return [t for t in EVENT_TYPE_NAMES if t.startswith(incomplete)]


class Kind(StrEnum):
    flight = "flight"
    hotel = "hotel"


class Status(StrEnum):
    CONFIRMED = "CONFIRMED"
    CANCELLED = "CANCELLED"
    MODIFIED = "MODIFIED"


SEND_HELP = """Send one event.

Build it from flags, or read it from a JSON/YAML file (or - for standard input).
Without --event-id the id is derived from the content: running the same command
twice sends the same id, so the server can drop the repeat.

[bold]Examples[/]

  rapido send --file booking.json
  rapido send --user rapido_user_12345 --type payment.completed \\
      --attr orderId=FL_BOOKING_ABC123 --attr amount_total=8500
  cat event.yaml | rapido send --file - --dry-run
"""

BOOKING_HELP = """Send a flight or hotel booking event built from flags.

The event type follows --status (CONFIRMED → order.confirmed, CANCELLED → order.cancelled,
MODIFIED → order.modified) unless --type says otherwise; hostStatus defaults to the status.
Times are ISO 8601 with an offset, or Unix seconds; a time without offset is read in the
airport's zone (flights) or --tz.

[bold]Examples[/]

  rapido send-booking flight --user rapido_user_12345 \\
      --order-id FL_BOOKING_ABC123 --amount 8500 --from DEL --to BLR \\
      --depart 2024-02-17T13:30+05:30 --arrive 2024-02-17T16:15+05:30
  rapido send-booking hotel --user rapido_user_12345 \\
      --order-id HTL_BOOKING_XYZ789 --amount 12000 --status CANCELLED \\
      --location 28.6139,77.2090 --check-in 1708156800 --check-out 1708415200
  rapido send-booking flight ... --dry-run --json
"""


def _read_structured(path: str, label: str) -> Any:
    """A JSON or YAML document from a file or standard input."""
    import sys

    from rapido_cli.errors import DataError, UsageError

    if path == "-":
        text = sys.stdin.read()
        name = "<stdin>"
    else:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise UsageError(f"{path}: no such file", hint=f"check the path given to {label}") from None
        except UnicodeDecodeError as exc:
            raise DataError(f"{path}: not UTF-8 text (byte {exc.start})") from None
        except OSError as exc:
            raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
        name = path
    import json

    if name.endswith((".yaml", ".yml")) or (not text.lstrip().startswith(("{", "["))):
        import yaml

        try:
            docs = [d for d in yaml.safe_load_all(text) if d is not None]
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{name}:{mark.line + 1}" if mark is not None else name
            raise DataError(f"{where}: not valid YAML or JSON: {getattr(exc, 'problem', exc)}") from None
        if len(docs) != 1:
            raise DataError(f"{name}: expected one document, found {len(docs)}", hint="use `rapido replay` for many")
        return docs[0]
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{name}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None


def _parse_attrs(pairs: list[str]) -> dict[str, Any]:
    from rapido_cli.build import parse_scalar
    from rapido_cli.errors import UsageError

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(
                f"--attr {pair!r}: expected KEY=VALUE", hint="e.g. --attr orderId=FL_1 --attr amount_total=8500"
            )
        out[key.strip()] = parse_scalar(value)
    return out


def _check_event(app: AppContext, event: Any, skip: bool) -> None:
    """Refuse to send what the API would reject; show warnings."""
    from rapido_cli.errors import DataError
    from rapido_cli.rules import check_server_event

    if skip:
        return
    problems = check_server_event(event)
    for p in problems:
        if p.severity == "warning":
            app.warn(f"{p.path or 'event'}: {p.message}")
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise DataError(
            f"the event is invalid: {first.path or 'event'}: {first.message}{more}",
            hint="fix it (see `rapido validate FILE`), or pass --no-validate to let the server judge",
        )


def deliver(
    app: AppContext,
    event: dict[str, Any],
    *,
    dry_run: bool,
    max_attempts: int | None,
    service: str | None = None,
) -> None:
    """Send ``event`` with the resolved profile and report; exits with the documented code.

    ``service`` (flights/hotels) is what the event is about, when known: the sandbox's default
    follows it, and a profile declared for the other service gets a warning.
    """
    from rapido_cli.client import EventClient, RetryPolicy
    from rapido_cli.errors import ExitCode
    from rapido_cli.output import print_json, render_attempt, render_request, render_send_result
    from rapido_cli.profiles import Value

    profile = app.resolve_profile(need_key=True)
    current = profile.values.get("service")
    if service is not None and current is not None and current.value != service:
        if current.source == "sandbox":
            profile.values["service"] = Value(service, "sandbox")
        else:
            app.warn(
                f"profile '{profile.name}' declares x-client-service {current.value} ({current.source}); "
                f"this is a {service[:-1]} booking"
            )
    target = profile.target()
    retry = RetryPolicy.from_env(app.environ, max_attempts or target.max_attempts)

    def on_attempt(_event: dict[str, Any], attempt: Any, last: bool) -> None:
        if app.verbose:
            render_attempt(app.err, attempt, last)

    with EventClient(target, retry=retry, on_attempt=on_attempt) as client:
        preview = client.request_preview(event)
        if dry_run:
            if app.json:
                print_json({"dry_run": True, "request": preview})
            else:
                render_request(app.out, preview)
                app.info("dry run: nothing was sent")
            return
        if app.verbose:
            app.err.print("→ request", style="bold")
            render_request(app.err, preview)
        result: SendResult = client.send(event)
    if app.json:
        print_json(result.to_json())
    else:
        render_send_result(app.out, result)
    code = {
        "sent": ExitCode.OK,
        "rejected": ExitCode.DATA,
        "unauthorized": ExitCode.CONFIG,
        "untrusted": ExitCode.CONFIG,
        "failed": ExitCode.TEMPFAIL,
    }[result.outcome]
    if result.outcome == "unauthorized":
        app.err.print(
            f"hint: the server refused the credentials of profile '{profile.name}'; run `rapido doctor`", markup=False
        )
    if result.outcome == "untrusted":
        app.err.print(
            f"hint: trust the CA that signed the server's certificate: `rapido profile set {profile.name} "
            "ca_bundle /path/to/ca.pem` (or SSL_CERT_FILE); `rapido doctor` shows which trust store is used",
            markup=False,
        )
    if code:
        raise typer.Exit(int(code))


def send(
    app: AppContext,
    user: Annotated[str | None, typer.Option("--user", help="Rapido user id (userId).", show_default=False)] = None,
    type_: Annotated[
        str | None,
        typer.Option(
            "--type", help="Event type, e.g. order.confirmed.", autocompletion=_complete_type, show_default=False
        ),
    ] = None,
    event_id: Annotated[
        str | None, typer.Option("--event-id", help="Event id (default: derived from the content).", show_default=False)
    ] = None,
    attr: Annotated[
        list[str] | None,
        typer.Option("--attr", help="Attribute KEY=VALUE (repeatable); JSON numbers/booleans/null keep their type."),
    ] = None,
    attrs: Annotated[
        str | None,
        typer.Option("--attrs", help="Attributes from a JSON/YAML object file, or - for stdin.", show_default=False),
    ] = None,
    file: Annotated[
        str | None,
        typer.Option("--file", "-f", help="The whole event from a JSON/YAML file, or - for stdin.", show_default=False),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the exact request (key masked); send nothing.")
    ] = False,
    max_attempts: Annotated[
        int | None, typer.Option("--max-attempts", min=1, help="Attempts including the first (default: profile, 5).")
    ] = None,
    no_validate: Annotated[bool, typer.Option("--no-validate", help="Send even if local checks fail.")] = False,
) -> None:
    """Send one event."""
    from rapido_cli.build import event_id_for, make_event
    from rapido_cli.errors import DataError, UsageError

    if file is not None:
        if user or type_ or attr or attrs:
            raise UsageError("--file cannot be combined with --user/--type/--attr/--attrs")
        event = _read_structured(file, "--file")
        if not isinstance(event, dict):
            raise DataError(f"{file}: expected one event object, found {type(event).__name__}")
        ev = event.get("event")
        if isinstance(ev, dict) and event_id:
            ev["id"] = event_id
        elif isinstance(ev, dict) and not ev.get("id") and isinstance(event.get("attributes"), dict):
            ev["id"] = event_id_for(str(event.get("userId", "")), str(ev.get("type", "")), event["attributes"])
    else:
        if not user or not type_:
            raise UsageError("give --user and --type (or --file EVENT.json)", hint="see `rapido send --help`")
        attributes: dict[str, Any] = {}
        if attrs is not None:
            loaded = _read_structured(attrs, "--attrs")
            if not isinstance(loaded, dict):
                raise DataError(f"{attrs}: expected an object of attributes")
            attributes.update(loaded)
        attributes.update(_parse_attrs(attr or []))
        event = make_event(user, type_, attributes, event_id)
    _check_event(app, event, no_validate)
    deliver(app, event, dry_run=dry_run, max_attempts=max_attempts)


def send_booking(
    app: AppContext,
    kind: Annotated[Kind, typer.Argument(help="flight or hotel.")],
    user: Annotated[str, typer.Option("--user", help="Rapido user id.", show_default=False)],
    order_id: Annotated[str, typer.Option("--order-id", help="Your booking id (orderId).", show_default=False)],
    amount: Annotated[str, typer.Option("--amount", help="Total amount (amount_total).", show_default=False)],
    status: Annotated[Status, typer.Option("--status", case_sensitive=False, help="Order status.")] = Status.CONFIRMED,
    type_: Annotated[
        str | None,
        typer.Option(
            "--type", help="Event type (default: follows --status).", autocompletion=_complete_type, show_default=False
        ),
    ] = None,
    tz: Annotated[
        str | None,
        typer.Option("--tz", help="IANA time zone (default: origin airport's, else Asia/Kolkata).", show_default=False),
    ] = None,
    host_status: Annotated[
        str | None, typer.Option("--host-status", help="hostStatus (default: the status).", show_default=False)
    ] = None,
    event_id: Annotated[
        str | None, typer.Option("--event-id", help="Event id (default: derived from the content).", show_default=False)
    ] = None,
    from_: Annotated[
        str | None,
        typer.Option("--from", help="Flight: origin IATA code.", rich_help_panel="Flight", show_default=False),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option("--to", help="Flight: destination IATA code.", rich_help_panel="Flight", show_default=False),
    ] = None,
    origin: Annotated[
        str | None,
        typer.Option("--origin", help="Flight: origin LAT,LONG.", rich_help_panel="Flight", show_default=False),
    ] = None,
    dest: Annotated[
        str | None,
        typer.Option("--dest", help="Flight: destination LAT,LONG.", rich_help_panel="Flight", show_default=False),
    ] = None,
    depart: Annotated[
        str | None,
        typer.Option("--depart", help="Flight: departure time.", rich_help_panel="Flight", show_default=False),
    ] = None,
    arrive: Annotated[
        str | None, typer.Option("--arrive", help="Flight: arrival time.", rich_help_panel="Flight", show_default=False)
    ] = None,
    location: Annotated[
        str | None, typer.Option("--location", help="Hotel: LAT,LONG.", rich_help_panel="Hotel", show_default=False)
    ] = None,
    check_in: Annotated[
        str | None,
        typer.Option("--check-in", help="Hotel: check-in time.", rich_help_panel="Hotel", show_default=False),
    ] = None,
    check_out: Annotated[
        str | None,
        typer.Option("--check-out", help="Hotel: check-out time.", rich_help_panel="Hotel", show_default=False),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the exact request (key masked); send nothing.")
    ] = False,
    max_attempts: Annotated[
        int | None, typer.Option("--max-attempts", min=1, help="Attempts including the first (default: profile, 5).")
    ] = None,
) -> None:
    """Send a flight or hotel booking event built from flags."""
    from rapido_cli.build import booking_event
    from rapido_cli.errors import FieldError, UsageError

    flight_only = {
        "--from": from_,
        "--to": to,
        "--origin": origin,
        "--dest": dest,
        "--depart": depart,
        "--arrive": arrive,
    }
    hotel_only = {"--location": location, "--check-in": check_in, "--check-out": check_out}
    wrong = [k for k, v in (hotel_only if kind is Kind.flight else flight_only).items() if v is not None]
    if wrong:
        raise UsageError(f"{', '.join(wrong)} do(es) not apply to {kind.value} bookings")
    values = {
        "user_id": user,
        "order_id": order_id,
        "amount": amount,
        "status": status.value,
        "type": type_,
        "tz": tz,
        "host_status": host_status,
        "event_id": event_id,
        "from": from_,
        "to": to,
        "origin": origin,
        "dest": dest,
        "depart": depart,
        "arrive": arrive,
        "location": location,
        "check_in": check_in,
        "check_out": check_out,
    }
    try:
        event = booking_event(kind.value, values)  # type: ignore[arg-type]
    except FieldError as exc:
        raise UsageError(f"--{exc.field.replace('_', '-')}: {exc.reason}", hint=exc.hint) from None
    _check_event(app, event, False)
    deliver(app, event, dry_run=dry_run, max_attempts=max_attempts, service=f"{kind.value}s")


def register(app: typer.Typer) -> None:
    """Add ``send`` and ``send-booking``."""
    app.command("send", help=SEND_HELP, rich_help_panel="Send")(common_options(send))
    app.command("send-booking", help=BOOKING_HELP, rich_help_panel="Send")(common_options(send_booking))
