#!/usr/bin/env bash
# Runs the CRM on this machine for development: migrates, loads demo data into
# an empty database, then starts a Celery worker (with beat) and runserver.
# Ctrl-C stops everything.
#
# Environment: HOST (default 127.0.0.1), PORT (default 8000), DEBUG (default 1),
# SKIP_SEED=1 to skip the demo data. Everything else as in .env.example; with
# nothing set the app uses SQLite, the filesystem Celery broker and a file cache
# under var/, so no server is needed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Exported: the settings build SITE_URL (links in emails and copied links) from them.
export HOST="${HOST:-127.0.0.1}"
export PORT="${PORT:-8000}"
# The demo's business, shown to customers (required in production: .env.example).
export BUSINESS_NAME="${BUSINESS_NAME:-Larkfield Software}"
export DEBUG="${DEBUG:-1}"
# Emails go to files in var/mail (and the Outbox page), never to real people.
export EMAIL_URL="${EMAIL_URL:-filemail://}"
PY=.venv/bin/python

say() { printf 'run-dev: %s\n' "$*" >&2; }

# The translations (locale/*.po into the .mo files Django reads; .mo files are not kept
# in git). msgfmt comes with gettext (apt-get install gettext).
if command -v msgfmt >/dev/null 2>&1; then
    "$PY" manage.py compilemessages --ignore=.venv -v 0
else
    say "gettext (msgfmt) is not installed: pages stay in English (apt-get install gettext)"
fi
"$PY" manage.py migrate --noinput
if [[ "${SKIP_SEED:-0}" == "1" ]]; then
    say "SKIP_SEED=1: not loading demo data"
else
    "$PY" manage.py seed_demo --if-empty
    "$PY" manage.py seed_onboarding
    "$PY" manage.py seed_loyalty
    "$PY" manage.py seed_surveys
fi
# On the first start, weights learned from the demo history (the weekly job suggests
# new ones; an admin applies them), then today's churn risk (idempotent; the
# worker's beat recomputes it nightly).
"$PY" manage.py calibrate_risk --apply --if-none
"$PY" manage.py compute_risk
# The demo's first start: a year of risk history and of at-risk cases worked (once),
# then the dashboard's daily risk totals of the days before today (idempotent).
if [[ "${SKIP_SEED:-0}" != "1" ]]; then
    "$PY" manage.py seed_risk_history
fi
"$PY" manage.py rebuild_risk_days
# Who was a customer when (the dashboard's churn and cohort figures), after every seed
# that changes a status (idempotent; the worker's beat rebuilds it nightly at 02:45).
"$PY" manage.py rebuild_membership

# Each background job gets its own process group (set -m), so stopping a job
# also stops what it started: runserver's autoreloader child, Celery's pool
# and embedded beat.
pids=()
celery_pid=""
runserver_pid=""
stopping=0
stop_started=0
force=0
stop_all() {
    [[ $stopping -eq 1 ]] && return 0
    stopping=1
    stop_started=${EPOCHREALTIME/./}
    set +e
    local pid i alive
    if [[ ${#pids[@]} -gt 0 ]]; then
        say "stopping runserver and Celery (Ctrl-C again to kill them at once)"
        # Celery: TERM to its main process = warm shutdown (it stops its pool and
        # beat itself). runserver: TERM to the whole group (autoreloader + child).
        # TERM, not INT: INT is ignored when this script was started in the
        # background by a non-interactive shell.
        [[ -n "$celery_pid" ]] && kill -TERM "$celery_pid" 2>/dev/null
        [[ -n "$runserver_pid" ]] && kill -TERM -- "-$runserver_pid" 2>/dev/null
        for ((i = 0; i < 200; i++)); do
            alive=0
            for pid in "${pids[@]}"; do
                kill -0 -- "-$pid" 2>/dev/null && alive=1
            done
            [[ $alive -eq 0 || $force -eq 1 ]] && break
            sleep 0.1
        done
        for pid in "${pids[@]}"; do
            kill -KILL -- "-$pid" 2>/dev/null
        done
        say "stopped (after $(( (${EPOCHREALTIME/./} - stop_started) / 1000 )) ms$([[ $force -eq 1 ]] && echo ', killed'))"
    fi
}
on_signal() {
    if [[ $stopping -eq 1 ]]; then
        # Already stopping. Another Ctrl-C half a second or more later kills at
        # once instead of waiting for Celery's warm shutdown (`timeout` sends
        # its signal twice at once, which must not count).
        if (( ${EPOCHREALTIME/./} - stop_started >= 500000 )); then
            force=1
        fi
        return 0
    fi
    stop_all
    exit "$1"
}
trap 'on_signal 130' INT
trap 'on_signal 143' TERM
trap 'stop_all' EXIT

set -m
.venv/bin/celery -A crm worker -B -l info --concurrency 2 &
celery_pid=$!
pids+=("$celery_pid")
"$PY" manage.py runserver "$HOST:$PORT" &
runserver_pid=$!
pids+=("$runserver_pid")
set +m

cat >&2 <<EOF

  CRM running at http://$HOST:$PORT/
$("$PY" manage.py demo_logins)
  Ctrl-C stops everything.

EOF

# Stop everything as soon as either process ends (or on Ctrl-C).
set +e
wait -n "${pids[@]}"
status=$?
set -e
say "a process ended (exit code $status); stopping the rest"
exit "$status"
