"""Entry point: ``rapido`` and ``python -m rapido_cli``.

``--version`` is answered before the CLI framework is imported so it stays instant.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Run the command line."""
    if sys.argv[1:] in (["--version"], ["-V"]):
        from rapido_cli._version import __version__

        sys.stdout.write(f"rapido {__version__}\n")
        return
    from rapido_cli.cli import run

    run()


if __name__ == "__main__":
    main()
