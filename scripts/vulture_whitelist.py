"""Names the dead-code check must count as used (read by vulture, never imported or run).

.ci/run runs ``vulture rapido_cli scripts/vulture_whitelist.py --min-confidence 60``: at 60 % vulture
reports unused functions, classes, methods, attributes and variables, not only unused imports. It
cannot see uses by a framework (Typer calls callbacks, http.server calls ``do_GET``, pydantic reads
field declarations), so those names are listed here, by section. vulture matches names, not
objects: ``_.written`` counts every attribute called ``written`` as used.

When vulture flags a name: remove the dead code; or, if something vulture cannot see uses it, add
the name to the right section with the reason. See docs/development.md ("Dead code").
"""

# ruff: noqa: F821, B018

# ---------------------------------------------------------------- called by a framework or protocol

_root  # Typer: the app's @app.callback() (rapido_cli/cli/__init__.py)
_.coerce  # Typer: _NothingToCoerce stands in for a RuntimeParam, which Typer calls .coerce on
_.rich_help_panel  # Typer reads it when rendering the root listing
_.__signature__  # inspect.signature reads it (cli/common.py builds each command's signature)
_.collect_usage_pieces  # click: RapidoCommand/RapidoGroup override it (cli/framework.py)
_.format_help  # click: RapidoCommand/RapidoGroup override it (cli/framework.py)
_.resolve_command  # click: RapidoGroup overrides it (unknown commands, cli/framework.py)
frame  # signal handlers receive (signum, frame)
exc_type  # __exit__(exc_type, exc, tb)
tb  # __exit__(exc_type, exc, tb)

# socketserver / http.server hooks and class attributes (rapido_cli/sandbox/server.py)
daemon_threads
allow_reuse_address
request_queue_size
_.address_family
protocol_version
sys_version
_.parse_request
_.request_version
_.log_message
_.do_GET
_.do_HEAD
_.do_POST
_.do_OPTIONS
_.do_PUT
_.do_PATCH
_.do_DELETE

# http.client.HTTPConnection reads these class attributes (rapido_cli/transport/client.py _Connection)
_.default_port
_.response_class

# ruamel.yaml's YAML reads it when loading (rapido_cli/profiles/store.py keeps quoting as written)
_.preserve_quotes

# ---------------------------------------------------------------- read by name, not by attribute

# pydantic models (rapido_cli/models.py): fields are the event contract, read by validation
model_config
id
orderId
orderStatus
amount_total
location_origin_lat
location_origin_long
location_dest_lat
location_dest_long
start_time
end_time
hostStatus
userId
schemaVersion
eventType
session_id  # PwaProperties: a recommended property, in the schema

# Enum members chosen by value from the command line (Typer choices)
flight
hotel
flights
hotels
CANCELLED
MODIFIED
pwa
jsonl
curl  # dryrun.DryRunFormat (--output-format curl)
unconfirmed  # cli/history_cmd.py Failure (--failure)
redirect  # cli/history_cmd.py Failure
endpoint  # cli/history_cmd.py Failure
nxdomain  # cli/history_cmd.py Failure

# rapido_cli/contract.py is generated whole by scripts/gen_contract.py (CI's --check keeps it equal to
# the models); these facts are read by tests/unit/test_contract_generated.py, not by the fast paths
ENVELOPE_REQUIRED
EVENT_REQUIRED
HOST_STATUSES
NON_BLANK_FIELDS
PWA_REQUIRED
PWA_NON_BLANK_FIELDS
PWA_PROPERTIES

# Fields of a record kept whole, read by tests or people (vulture scans rapido_cli only)
iata  # build.Airport: the airport's code, part of the record
first_at  # journal.JournalRow (tests/unit/test_journal.py)
_.cuts  # replay._rate.AdaptiveRate: how often the rate was cut (tests/unit/test_replay.py)
_.targets  # journal.Journal.targets(): the targets a journal holds (tests/unit/test_journal.py)
_.commits  # journal.JournalWriter: transactions committed, batching (tests/unit/test_journal.py)
_.probes  # replay.breaker.Breaker: probes let through while open (tests/cli/test_replay_outage.py)
_.clients  # sandbox.stream: stream clients connected now (tests wait for `rapido tail` with it)
_.retry_ms  # tail.SseParser: the stream's `retry:` field, as the SSE specification reads it (tests/cli/test_tail.py)

# ---------------------------------------------------------------- shared helpers (library API, other branches)

open_private  # rapido_cli/fs.py
atomic_write  # rapido_cli/fs.py
read_limited  # rapido_cli/fs.py
resolves_to_loopback  # rapido_cli/net.py
host_of  # rapido_cli/net.py
inert_markup  # rapido_cli/text.py
inert_bytes  # rapido_cli/text.py
json_depth_ok  # rapido_cli/safeyaml.py

# ---------------------------------------------------------------- TO BE REMOVED (dead, owned by other branches)
# Unused everywhere, tests included, but in files another engineer is restructuring: each owner
# removes the code AND its line here. The check then keeps them from coming back. (Empty: the
# merge removed the last ones.)
