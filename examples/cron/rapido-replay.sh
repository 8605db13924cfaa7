#!/bin/sh
# rapido-replay.sh: deliver a file of events from cron, resuming where the last run stopped.
#
#   crontab -e
#   */10 * * * * /path/to/rapido-replay.sh /var/spool/rapido/events.jsonl
#
# cron runs this with almost no environment (HOME, a minimal PATH, no keyring, no terminal), so
# everything is set here. Settings come from the environment or from $HOME/.config/rapido/cron.env
# (sourced first; keep it 0600):
#   RAPIDO            the rapido program (default: `rapido` on the PATH below, e.g. a pipx install)
#   RAPIDO_PROFILE    the profile to use (default: the profiles file's `default`)
#   RAPIDO_CLIENT_KEY the client key, or `key: file:/path` in the profile (the keyring needs a session)
#   MAX_DURATION      seconds one run may take (default 540, so a 10-minute schedule never overlaps)
#   DEAD_LETTER       where undelivered events are written (default: next to the log)
#   RAPIDO_CRON_LOG   the log of every run (default: $HOME/.local/state/rapido/cron.log)
#
# Exit codes (what cron mails about): silent and 0 when everything was delivered, or when the run
# did not finish for a reason that passes (rapido's 75: the server was down, the time budget was
# spent, another run holds the journal; 130: stopped by a shutdown): the next run resumes from the
# journal. Loud (a message on stderr, so cron mails it) and non-zero otherwise:
#   1  invalid or rejected events: fix them (they are in the dead-letter file); retrying will not help
#   3  configuration or credentials refused: fix the profile (`rapido doctor`)
#   74 the journal or the dead-letter file could not be written (disk full, permissions, damaged)
set -u
PATH="$HOME/.local/bin:/usr/local/bin:/usr/bin:/bin"
export PATH
umask 077

conf="${RAPIDO_CRON_ENV:-$HOME/.config/rapido/cron.env}"
if [ -r "$conf" ]; then
    # shellcheck disable=SC1090
    . "$conf"
fi

if [ $# -ne 1 ]; then
    echo "usage: $0 EVENTS_FILE" >&2
    exit 2
fi
file=$1
rapido=${RAPIDO:-rapido}
if ! command -v "$rapido" >/dev/null 2>&1; then
    echo "rapido-replay: '$rapido' not found on PATH=$PATH; set RAPIDO=/absolute/path/to/rapido" >&2
    exit 127
fi

state="${XDG_STATE_HOME:-$HOME/.local/state}/rapido"
mkdir -p "$state"
log=${RAPIDO_CRON_LOG:-$state/cron.log}
dead=${DEAD_LETTER:-$state/$(basename "$file").dead.jsonl}
max=${MAX_DURATION:-540}

# -q: one summary line, the first few problems and a count; the journal makes a re-run send only
# what was not acknowledged.
out=$("$rapido" replay "$file" -q --max-duration "$max" --dead-letter "$dead" 2>&1)
code=$?
printf '%s %s: exit %s\n%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$file" "$code" "$out" >>"$log"

say() {
    echo "rapido-replay: $file: $1" >&2
    printf '%s\n' "$out" >&2
}

case $code in
    0)
        exit 0 ;;
    75 | 130)
        # Not finished, for a reason that passes: the next scheduled run resumes.
        exit 0 ;;
    1)
        say "invalid or rejected events (exit 1): fix them; they are in $dead"
        exit 1 ;;
    3)
        say "configuration or credentials refused (exit 3): check the profile with \`$rapido doctor\`"
        exit 3 ;;
    74)
        say "local I/O failure (exit 74): the journal or $dead could not be written"
        exit 74 ;;
    *)
        say "rapido exited $code (see $log)"
        exit "$code" ;;
esac
