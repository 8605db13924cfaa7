"""Entry point: ``rapido`` and ``python -m rapido_cli``.

``--version`` is answered before the CLI framework is imported so it stays instant.

Signals: SIGTERM (``kill``, ``timeout``, systemd, a CI runner) takes the same path as Ctrl-C: the
handler installed here raises :class:`KeyboardInterrupt` in the main thread, so every command
unwinds through its ``finally`` blocks (files closed, locks released) and the error boundary exits
130. Commands that save progress on a signal (``replay``) install their own handlers while they run.
An interrupt that lands outside a command (while the CLI is being set up) also exits 130, not
Click's "Aborted!" 1. Once interrupted, a repeated delivery of the signal is ignored while the
program unwinds (it would otherwise escape the handlers and kill the process by SIGINT).
"""

from __future__ import annotations

import contextlib
import signal
import sys
from typing import Any

INTERRUPTED = 130  # ExitCode.INTERRUPTED, without importing the CLI for --version
_signalled = False


def _interrupt(signum: int, _frame: Any) -> None:
    global _signalled
    if _signalled:
        return  # already unwinding: let the cleanup finish
    _signalled = True
    raise KeyboardInterrupt


def install_signal_handlers() -> None:
    """SIGINT and SIGTERM raise KeyboardInterrupt in the main thread (and are remembered)."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError, OSError):  # not the main thread, or a platform without it
            signal.signal(sig, _interrupt)


def main() -> None:
    """Run the command line."""
    if sys.argv[1:] in (["--version"], ["-V"]):
        from rapido_cli._version import __version__

        sys.stdout.write(f"rapido {__version__}\n")
        return
    try:
        install_signal_handlers()
        from rapido_cli.cli import run

        run()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(INTERRUPTED)
    except SystemExit as exc:
        # Click turns an interrupt outside a command into "Aborted!" and exit 1: a signal is 130.
        if _signalled and exc.code not in (0, None, INTERRUPTED):
            sys.stderr.write("interrupted\n")
            sys.exit(INTERRUPTED)
        raise


if __name__ == "__main__":
    main()
