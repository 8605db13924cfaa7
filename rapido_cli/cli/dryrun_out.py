"""Printing dry runs for ``send``, ``send-booking`` and ``trigger``: the request, its JSON, or a command."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rapido_cli.dryrun import KEY_ENV, DryRunFormat

if TYPE_CHECKING:
    from rapido_cli.cli.common import AppContext

__all__ = ["DryRunFormat", "check_output_format", "print_dry_run"]


def check_output_format(app: AppContext, dry_run: bool, output_format: str | None) -> None:
    """``--output-format`` (curl/httpie) makes sense only with ``--dry-run``, and not with ``--json``."""
    from rapido_cli.errors import UsageError

    if output_format is None:
        return
    if not dry_run:
        raise UsageError(
            f"--output-format {output_format} prints a command instead of sending: add --dry-run",
            hint=f"e.g. --dry-run --output-format {output_format} > send.sh",
        )
    if app.json:
        raise UsageError("--output-format and --json both choose the output: give one of them")


def print_dry_run(
    app: AppContext,
    previews: Sequence[dict[str, Any]],
    output_format: str | None,
    labels: Sequence[str] | None = None,
) -> None:
    """Show what would be sent: runnable commands, ``{"dry_run": true, "request"}``, or the requests."""
    from rapido_cli.output import print_json, render_request

    if output_format is not None:
        from rapido_cli.dryrun import render
        from rapido_cli.text import inert

        chunks = []
        for i, preview in enumerate(previews):
            command = render(preview, output_format)
            if labels:
                command = f"# {inert(labels[i])}\n{command}"
            chunks.append(command)
        app.out.file.write("\n\n".join(chunks) + "\n")
        app.out.file.flush()
        reads = "the commands read" if len(previews) > 1 else "the command reads"
        app.info(f"dry run: nothing was sent; {reads} the key from ${KEY_ENV} when run")
        return
    if app.json:
        for preview in previews:
            print_json({"dry_run": True, "request": preview})
        return
    for i, preview in enumerate(previews):
        if labels:
            app.out.print(f"# {labels[i]}", markup=False, highlight=False)
        render_request(app.out, preview)
        if i < len(previews) - 1:
            app.out.print()
    app.info("dry run: nothing was sent")
