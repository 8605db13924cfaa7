"""The onboarding checks behind ``rapido doctor``: one :class:`Check` per row, nothing printed.

A partner's first hour fails for a handful of reasons: the wrong URL, DNS, a corporate proxy,
TLS trust, a clock far off, or a refused key. :func:`run_checks` walks them in the order a
request meets them and says, for each failure, what to do. It never sends a business event:
the authentication probe is an envelope every server must reject as invalid.

The network rows ask the transport the senders use (:mod:`rapido_cli.transport`), so doctor
reports the route ``rapido send`` actually takes and agrees with it on exit codes: 0 when nothing
failed (warnings allowed); 3 when a configuration or credential row failed (the file, the profile,
the key, the URL, the proxy variable, a host that does not exist, TLS, the clock, a 401/403, an
answer that is not the API's); else 75 when only network rows failed.

Modules: :mod:`.report` (Check, Report), :mod:`.local` (file, profile, key, URL rows),
:mod:`.network` (route, DNS, TCP, TLS, clock), :mod:`.probe` (the authentication probe),
:mod:`.run` (run_checks).
"""

from rapido_cli.doctor.local import check_config_file, check_key, check_permissions, check_profile, check_url
from rapido_cli.doctor.network import check_clock, check_dns, check_route, check_tcp, check_tls
from rapido_cli.doctor.probe import PROBE_EVENT, PROBE_HEADER, ProbeAnswer, check_auth, send_probe
from rapido_cli.doctor.report import CONFIG, NETWORK, ROWS, Check, Report, Status
from rapido_cli.doctor.run import TIMEOUT_S, run_checks

__all__ = [
    "CONFIG",
    "NETWORK",
    "PROBE_EVENT",
    "PROBE_HEADER",
    "ROWS",
    "TIMEOUT_S",
    "Check",
    "ProbeAnswer",
    "Report",
    "Status",
    "check_auth",
    "check_clock",
    "check_config_file",
    "check_dns",
    "check_key",
    "check_permissions",
    "check_profile",
    "check_route",
    "check_tcp",
    "check_tls",
    "check_url",
    "run_checks",
    "send_probe",
]
