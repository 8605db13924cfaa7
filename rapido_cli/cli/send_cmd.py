"""``rapido send`` and ``rapido send-booking``: one event, delivered with retries."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rapido_cli.cli.common import AppContext, common_options
from rapido_cli.cli.dryrun_out import DryRunFormat

if TYPE_CHECKING:
    from rapido_cli.transport import SendResult


def _complete_type(incomplete: str) -> list[str]:
    from rapido_cli.contract import EVENT_TYPES

    return [t for t in EVENT_TYPES if t.startswith(incomplete)]


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

Times (--depart/--arrive, --check-in/--check-out) are ISO 8601 with or without an offset
(2024-03-02T14:00:00+05:30, 2024-03-02 14:00) or Unix seconds. A time without an offset is
local: read in --tz; without --tz, in each airport's zone for a flight given by --from/--to,
else in Asia/Kolkata (the default zone). A note on stderr names the zone used.

[bold]Examples[/]

  rapido send-booking flight --user rapido_user_12345 \\
      --order-id FL_BOOKING_ABC123 --amount 8500 --from DEL --to BLR \\
      --depart 2024-02-17T13:30+05:30 --arrive 2024-02-17T16:15+05:30
  rapido send-booking hotel --user rapido_user_12345 \\
      --order-id HTL_BOOKING_XYZ789 --amount 12000 --status CANCELLED \\
      --location 28.6139,77.2090 --check-in 1708156800 --check-out 1708415200
  rapido send-booking hotel --user rapido_user_12345 --order-id HTL_1 \\
      --amount 12000 --location 15.4909,73.8278 --tz Asia/Kolkata \\
      --check-in "2024-03-02 14:00" --check-out "2024-03-04 11:00"
  rapido send-booking flight ... --dry-run --json
"""


def _read_structured(path: str, label: str) -> Any:
    """A JSON or YAML document from a file or standard input.

    Bounded like every input: a regular file (or stdin) of at most 1 MiB, YAML through the bounded
    loader, JSON nested at most ``safeyaml.MAX_DEPTH`` levels.
    """
    import sys

    from rapido_cli import fs, safeyaml
    from rapido_cli.errors import DataError, UsageError

    if path == "-":
        data = sys.stdin.buffer.read(fs.MAX_CONFIG_BYTES + 1)
        if len(data) > fs.MAX_CONFIG_BYTES:
            raise UsageError(f"<stdin>: more than {fs.MAX_CONFIG_BYTES:,} bytes for {label}")
        name = "<stdin>"
    else:
        data = fs.read_limited(path, what=f"file given to {label}")
        name = path
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{name}: not UTF-8 text (byte {exc.start})") from None
    import json

    if name.endswith((".yaml", ".yml")) or (not text.lstrip().startswith(("{", "["))):
        import yaml

        try:
            # Read as validate reads it (timestamps stay strings): what is sent is what was validated.
            docs = [d for d in safeyaml.load_all(text, dates_as_strings=True) if d is not None]
        except safeyaml.YamlLimitError as exc:
            raise UsageError(f"{name}:{exc.line}: not accepted: {exc}", hint="the document is too large") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{name}:{mark.line + 1}" if mark is not None else name
            raise DataError(f"{where}: not valid YAML or JSON: {getattr(exc, 'problem', exc)}") from None
        if len(docs) != 1:
            raise DataError(f"{name}: expected one document, found {len(docs)}", hint="use `rapido replay` for many")
        return docs[0]
    try:
        obj = json.loads(text)
        too_deep = not safeyaml.json_depth_ok(obj)
    except json.JSONDecodeError as exc:
        raise DataError(f"{name}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
    except RecursionError:
        too_deep = True
    if too_deep:
        raise UsageError(f"{name}: not accepted: nested more than {safeyaml.MAX_DEPTH} levels deep")
    return obj


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


def _check_event(app: AppContext, event: Any, skip: bool) -> Any:
    """Refuse to send what the API would reject; show warnings; return the event as it is sent.

    Integral floats in integer fields (``start_time: 1708156800.0``) are valid and sent as ints.
    """
    from rapido_cli.errors import DataError
    from rapido_cli.rules import check_server_event, normalize_server_event

    event = normalize_server_event(event)
    if skip:
        return event
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
    return event


def deliver(
    app: AppContext,
    event: dict[str, Any],
    *,
    dry_run: bool,
    max_attempts: int | None,
    service: str | None = None,
    output_format: str | None = None,
) -> None:
    """Send ``event`` with the resolved profile and report; exits with the documented code.

    ``service`` (flights/hotels) is what the event is about, when known: the sandbox's default
    follows it, and a profile declared for the other service gets a warning.
    """
    from rapido_cli.cli.dryrun_out import check_output_format, print_dry_run
    from rapido_cli.output import print_json, render_attempt, render_request, render_send_result
    from rapido_cli.profiles import Value
    from rapido_cli.transport import EventClient, RetryPolicy, request_preview

    check_output_format(app, dry_run, output_format)
    profile = app.resolve_profile(need_key=not dry_run)
    current = profile.values.get("service")
    if service is not None and current is not None and current.value != service:
        if current.source == "sandbox":
            profile.values["service"] = Value(service, "sandbox")
        else:
            app.warn(
                f"profile '{profile.name}' declares x-client-service {current.value} ({current.source}); "
                f"this is a {service[:-1]} booking"
            )
    if dry_run and profile.key is None:
        from rapido_cli.profiles import Secret

        profile.key = Secret("")  # a dry run shows the request; the key is only needed to send it
    target = profile.target()
    preview = request_preview(target, event)
    if dry_run:
        print_dry_run(app, [preview], output_format)
        return
    retry = RetryPolicy.from_env(app.environ, max_attempts or target.max_attempts)

    def on_attempt(_event: dict[str, Any], attempt: Any, last: bool) -> None:
        if app.verbose:
            render_attempt(app.err, attempt, last)

    with EventClient(target, retry=retry, on_attempt=on_attempt, environ=app.environ) as client:
        if app.verbose:
            app.err.print(f"→ route: {client.route.describe()}", markup=False, highlight=False)
            app.err.print("→ request", style="bold")
            render_request(app.err, preview)
        result: SendResult = client.send(event)
    if app.json:
        print_json(result.to_json())
    else:
        render_send_result(app.out, result)
    if result.hint and not result.temporary:
        hint = result.hint
        if result.failure == "unauthorized":
            hint = f"the server refused the credentials of profile '{profile.name}'; run `rapido doctor`"
        app.err.print(f"hint: {hint}", markup=False, highlight=False)
    code = result.exit_code
    if code:
        raise typer.Exit(code)


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
    output_format: Annotated[
        DryRunFormat | None,
        typer.Option("--output-format", help="With --dry-run: a runnable command (key read from $RAPIDO_CLIENT_KEY)."),
    ] = None,
    max_attempts: Annotated[
        int | None, typer.Option("--max-attempts", min=1, help="Attempts including the first (default: profile, 5).")
    ] = None,
    no_validate: Annotated[bool, typer.Option("--no-validate", help="Send even if local checks fail.")] = False,
) -> None:
    """Send one event."""
    from rapido_cli.build import event_id_for, make_event
    from rapido_cli.errors import DataError, UsageError
    from rapido_cli.rules import normalize_server_event

    if file is not None:
        if user or type_ or attr or attrs:
            raise UsageError("--file cannot be combined with --user/--type/--attr/--attrs")
        from rapido_cli.replay.source import read_event_file

        # The same readers and limits as replay and validate: one event, else "use rapido replay".
        event = normalize_server_event(read_event_file(file))  # before an id is derived from the content
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
    event = _check_event(app, event, no_validate)
    deliver(app, event, dry_run=dry_run, max_attempts=max_attempts, output_format=output_format)


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
        typer.Option(
            "--tz",
            help="IANA zone of the booking (attribute tz) and of times without an offset "
            "(default: each airport's for --from/--to, else Asia/Kolkata).",
            show_default=False,
        ),
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
    output_format: Annotated[
        DryRunFormat | None,
        typer.Option("--output-format", help="With --dry-run: a runnable command (key read from $RAPIDO_CLIENT_KEY)."),
    ] = None,
    max_attempts: Annotated[
        int | None, typer.Option("--max-attempts", min=1, help="Attempts including the first (default: profile, 5).")
    ] = None,
) -> None:
    """Send a flight or hotel booking event built from flags."""
    from rapido_cli.build import build_booking
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
        booking = build_booking(kind.value, values)  # type: ignore[arg-type]
    except FieldError as exc:
        reason, hint = exc.render(_flag)
        raise UsageError(f"{_flag(exc.field)}: {reason}", hint=hint) from None
    if booking.local_times and not app.quiet:
        app.err.print(_local_time_note(booking.local_times), markup=False)
    event = _check_event(app, booking.event, False)
    deliver(
        app, event, dry_run=dry_run, max_attempts=max_attempts, service=f"{kind.value}s", output_format=output_format
    )


#: Builder fields whose flag is not the field's name with dashes.
_FIELD_FLAGS = {"user_id": "--user"}


def _flag(field: str) -> str:
    """The send-booking flag of a builder field: ``check_in`` -> ``--check-in``."""
    return _FIELD_FLAGS.get(field, "--" + field.replace("_", "-"))


def _local_time_note(times: Any) -> str:
    """``note: --check-in, --check-out have no UTC offset: read in Asia/Kolkata (the default zone; ...)``."""
    groups: dict[tuple[str, str, str | None], list[str]] = {}
    for t in times:
        groups.setdefault((t.zone, t.source, t.airport), []).append(_flag(t.field))
    parts = []
    for (zone, source, code), flags in groups.items():
        why = {
            "tz": "--tz",
            "airport": f"the zone of {code}",
            "default": "the default zone; --tz ZONE sets another",
        }[source]
        parts.append(f"{', '.join(flags)} read in {zone} ({why})")
    return "note: times without a UTC offset: " + "; ".join(parts)


def register(app: typer.Typer) -> None:
    """Add ``send`` and ``send-booking``."""
    app.command("send", help=SEND_HELP, rich_help_panel="Send")(common_options(send))
    app.command("send-booking", help=BOOKING_HELP, rich_help_panel="Send")(common_options(send_booking))
