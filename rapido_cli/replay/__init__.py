"""The replay engine: stream a JSON Lines file to the API, exactly once as far as the server can tell.

Library interface (prints nothing; ``rapido_cli.cli.replay_cmd`` renders):

* :class:`ReplayOptions`: concurrency, rate (a number, ``"auto"`` or None), max attempts, dry run...
* :class:`Replayer` ``(target, options, journal=None, on_result=None)``; :meth:`Replayer.run`
  ``(stream, source)`` → :class:`Summary`. :meth:`Replayer.stop` (first Ctrl-C) and
  :meth:`Replayer.abort` (second) may be called from a signal handler.
* :class:`LineResult`: what happened to one line (``outcome`` sent|skipped|invalid|failed, or
  ``would_send`` in a dry run); :meth:`LineResult.to_json` is the documented ``--json`` line.

How it is built: a *reader* thread reads the stream line by line (bounded line length), validates
each line, drops duplicates within the file (a compact table of 64-bit id hashes) and events the
journal says were acknowledged, and feeds a bounded queue; ``concurrency`` *worker* threads send
with retries (full-jitter backoff, ``Retry-After`` honoured) through one keep-alive connection each,
paced by a token bucket (fixed, or adaptive with ``rate="auto"``); the *calling* thread collects
results, hands them to the journal writer (batched transactions on its own thread), writes dead
letters and calls ``on_result``. Memory is bounded by the queue sizes, whatever the file size.
"""

from rapido_cli.replay.engine import MAX_LINE_BYTES, Replayer, ReplayOptions, expected_lines
from rapido_cli.replay.results import LineOutcome, LineResult, Summary

__all__ = ["MAX_LINE_BYTES", "LineOutcome", "LineResult", "ReplayOptions", "Replayer", "Summary", "expected_lines"]
