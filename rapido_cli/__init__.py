"""rapido-cli: send, validate and replay Rapido server-to-server booking events.

The core is usable as a library and never imports the CLI framework::

    from rapido_cli.build import booking_event
    from rapido_cli.transport import EventClient
"""

from rapido_cli._version import __version__

__all__ = ["__version__"]
