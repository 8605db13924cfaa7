#!/bin/sh
# Run a command inside a private D-Bus session with an unlocked gnome-keyring (a real Secret Service),
# for the keyring_real tests in CI and for trying `rapido profile set-key` on a headless machine:
#
#   scripts/with-keyring.sh python -m pytest -m keyring_real
#
# Needs (Debian/Ubuntu): dbus-daemon (for dbus-run-session), gnome-keyring, libsecret-tools (optional,
# secret-tool for debugging); Python: keyring, secretstorage, jeepney. The keyring lives in a temporary
# directory that is deleted afterwards; the user's own keyrings are never touched.
set -eu

if [ "$#" -eq 0 ]; then
    echo "usage: $0 COMMAND [ARG...]" >&2
    exit 2
fi

if [ "${RAPIDO_KEYRING_SESSION:-}" != "1" ]; then
    for tool in dbus-run-session gnome-keyring-daemon dbus-send; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            echo "$0: $tool not found (apt-get install dbus-daemon gnome-keyring)" >&2
            exit 127
        fi
    done
    RAPIDO_KEYRING_SESSION=1 exec dbus-run-session -- "$0" "$@"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rapido-keyring.XXXXXX")
daemon_pid=""
cleanup() {
    if [ -n "$daemon_pid" ]; then kill "$daemon_pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -m 700 "$tmp/data" "$tmp/run"

# --unlock reads the password of the login keyring from stdin and creates the keyring when it does not
# exist yet (an empty password does not create it). The password only protects this throwaway keyring.
printf '%s' "rapido-ci-keyring" | XDG_DATA_HOME="$tmp/data" XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$tmp/run}" \
    gnome-keyring-daemon --foreground --unlock --components=secrets >/dev/null 2>"$tmp/daemon.log" &
daemon_pid=$!

# Wait until the daemon owns org.freedesktop.secrets: asking earlier would make D-Bus activate a second,
# locked daemon.
i=0
until dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q "boolean true"; do
    i=$((i + 1))
    if [ "$i" -gt 100 ] || ! kill -0 "$daemon_pid" 2>/dev/null; then
        echo "$0: gnome-keyring-daemon did not start:" >&2
        cat "$tmp/daemon.log" >&2
        exit 1
    fi
    sleep 0.1
done

set +e
"$@"
status=$?
set -e
exit "$status"
