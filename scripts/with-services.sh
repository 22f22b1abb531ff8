#!/usr/bin/env bash
# Usage: scripts/with-services.sh COMMAND [ARGS...]
#
# Runs COMMAND with a throwaway PostgreSQL and Redis listening on 127.0.0.1,
# then stops both and deletes their data, whatever COMMAND did. Exits with
# COMMAND's exit code.
#
# Installs what is missing first (apt-get; via sudo when not root):
# PostgreSQL server, redis-server, chromium, gettext, spamassassin.
#
# Exported to COMMAND:
#   DATABASE_URL=postgres://postgres@127.0.0.1:$PG_PORT/crm
#   CELERY_BROKER_URL=redis://127.0.0.1:$REDIS_PORT/0   (REDIS_URL the same)
#   CHROMIUM_PATH=/usr/bin/chromium
#   PG_PORT, REDIS_PORT
# Ports: PG_PORT (default 55432) and REDIS_PORT (default 56379) from the environment.
set -euo pipefail

PG_PORT="${PG_PORT:-55432}"
REDIS_PORT="${REDIS_PORT:-56379}"
CHROMIUM_PATH=/usr/bin/chromium
# runuser, useradd live in sbin, which a non-login root shell may lack in PATH.
PATH="$PATH:/usr/sbin:/sbin"

say() { printf 'with-services: %s\n' "$*" >&2; }
die() {
    say "error: $*"
    exit 1
}

if [[ $# -eq 0 ]]; then
    die "usage: $0 COMMAND [ARGS...]"
fi

is_root() { [[ "$(id -u)" -eq 0 ]]; }

# Run a command as root: directly, through sudo, or fail with a clear message.
as_root() {
    if is_root; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root to run '$*' (not root and sudo is not available); install the packages by hand"
    fi
}

# Directory holding initdb/pg_ctl: from PATH, else the newest /usr/lib/postgresql/*/bin.
find_pg_bin() {
    local initdb_path dir
    if initdb_path="$(command -v initdb 2>/dev/null)"; then
        # Follow symlinks (e.g. /usr/local/bin/initdb -> /usr/lib/postgresql/15/bin/initdb)
        # so that pg_ctl, postgres and pg_isready come from the same installation.
        dir="$(dirname "$(readlink -f "$initdb_path")")"
        if [[ -x "$dir/pg_ctl" ]]; then
            echo "$dir"
            return 0
        fi
    fi
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

# --- Install what is missing ---------------------------------------------------
missing=()
find_pg_bin >/dev/null || missing+=(postgresql)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
[[ -x "$CHROMIUM_PATH" ]] || missing+=(chromium)
command -v msgfmt >/dev/null 2>&1 || missing+=(gettext)
command -v spamassassin >/dev/null 2>&1 || missing+=(spamassassin)

if [[ ${#missing[@]} -gt 0 ]]; then
    say "installing missing packages: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi

PG_BIN="$(find_pg_bin)" || die "initdb not found in PATH nor in /usr/lib/postgresql/*/bin"
command -v redis-server >/dev/null 2>&1 || die "redis-server not found after installing it"
command -v redis-cli >/dev/null 2>&1 || die "redis-cli not found after installing it"

pg_isready_cmd="$PG_BIN/pg_isready"
[[ -x "$pg_isready_cmd" ]] || pg_isready_cmd="$(command -v pg_isready || true)"

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port_busy "$PG_PORT" && die "port 127.0.0.1:$PG_PORT is already in use (another run? set PG_PORT)"
port_busy "$REDIS_PORT" && die "port 127.0.0.1:$REDIS_PORT is already in use (another run? set REDIS_PORT)"

# PostgreSQL refuses to run as root: as root, run its tools as the postgres user.
if is_root; then
    if ! id -u postgres >/dev/null 2>&1; then
        say "creating system user postgres"
        useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    fi
    as_pg() { runuser -u postgres -- "$@"; }
else
    as_pg() { "$@"; }
fi

# --- Temp dir and cleanup ------------------------------------------------------
TMP="$(mktemp -d "${TMPDIR:-/tmp}/crm-services.XXXXXX")"
if is_root; then
    chown postgres "$TMP"
fi
PG_DATA="$TMP/pgdata"
PG_LOG="$TMP/postgres.log"
REDIS_PID="$TMP/redis.pid"
pg_started=0
redis_started=0

cleanup() {
    local rc=$? i pid=""
    set +e
    # Finish cleaning up even if another Ctrl-C comes.
    trap - EXIT
    trap '' INT TERM
    if [[ $pg_started -eq 1 ]]; then
        say "stopping PostgreSQL"
        as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w stop >/dev/null 2>&1
    fi
    if [[ $redis_started -eq 1 ]]; then
        say "stopping Redis"
        [[ -f "$REDIS_PID" ]] && pid="$(cat "$REDIS_PID" 2>/dev/null)"
        redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1
        if [[ -n "$pid" ]]; then
            for ((i = 0; i < 50; i++)); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            if kill -0 "$pid" 2>/dev/null; then
                kill -KILL "$pid" 2>/dev/null
            fi
        fi
    fi
    rm -rf "$TMP"
    exit "$rc"
}
# On INT/TERM: COMMAND usually got the same signal (Ctrl-C and most timeouts
# signal the whole process group), so give it time to finish; if only this
# script was signalled, pass the signal on. Then exit, which runs cleanup.
child=""
child_alive() { [[ -n "$child" ]] && kill -0 "$child" 2>/dev/null; }
wait_child() {
    local i
    for ((i = 0; i < $1; i++)); do
        child_alive || return 0
        sleep 0.1
    done
    ! child_alive
}
signalled=0
on_signal() {
    local sig=$1 code=$2
    # `timeout` and a terminal may deliver the signal twice; handle it once.
    [[ $signalled -eq 1 ]] && return 0
    signalled=1
    if child_alive && ! wait_child 50; then
        say "got SIG$sig; passing it on to the command"
        kill -s "$sig" "$child" 2>/dev/null
        wait_child 100 || kill -KILL "$child" 2>/dev/null
    fi
    exit "$code"
}
trap cleanup EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM

# --- PostgreSQL ----------------------------------------------------------------
say "starting PostgreSQL on 127.0.0.1:$PG_PORT ($PG_BIN)"
as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$TMP/initdb.log" 2>&1 ||
    as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -A trust -E UTF8 --no-locale >"$TMP/initdb.log" 2>&1 || {
    cat "$TMP/initdb.log" >&2
    die "initdb failed"
}
pg_started=1
as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 \
    -o "-p $PG_PORT -k $TMP -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null || {
    cat "$PG_LOG" >&2 || true
    die "PostgreSQL did not start"
}
pg_ready=0
for ((i = 0; i < 300; i++)); do
    if [[ -n "$pg_isready_cmd" ]]; then
        "$pg_isready_cmd" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres && pg_ready=1 && break
    else
        psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1 &&
            pg_ready=1 && break
    fi
    sleep 0.1
done
if [[ $pg_ready -ne 1 ]]; then
    cat "$PG_LOG" >&2 || true
    die "PostgreSQL on 127.0.0.1:$PG_PORT did not answer"
fi
as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres -O postgres crm ||
    die "could not create database crm"

# --- Redis ---------------------------------------------------------------------
say "starting Redis on 127.0.0.1:$REDIS_PORT"
redis_started=1
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize yes --pidfile "$REDIS_PID" --dir "$TMP" --logfile "$TMP/redis.log" ||
    die "redis-server did not start"
redis_ready=0
for ((i = 0; i < 300; i++)); do
    if [[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == "PONG" ]]; then
        redis_ready=1
        break
    fi
    sleep 0.1
done
if [[ $redis_ready -ne 1 ]]; then
    cat "$TMP/redis.log" >&2 || true
    die "Redis on 127.0.0.1:$REDIS_PORT did not answer"
fi

# --- Run the command -------------------------------------------------------------
export PG_PORT REDIS_PORT CHROMIUM_PATH
export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/crm"
export CELERY_BROKER_URL="redis://127.0.0.1:$REDIS_PORT/0"
export REDIS_URL="$CELERY_BROKER_URL"

say "services ready; running: $*"
# Run COMMAND in the background and `wait` for it, so that a signal sent to this
# script alone is handled at once. Keep stdin, and undo the SIGINT/SIGQUIT
# ignoring bash applies to background commands, so Ctrl-C still reaches it.
if env --default-signal=INT true 2>/dev/null; then
    env --default-signal=INT,QUIT "$@" <&0 &
else
    "$@" <&0 &
fi
child=$!
set +e
wait "$child"
status=$?
set -e
exit "$status"
