#!/usr/bin/env bash
# Stop and remove the private PostgreSQL cluster that scripts/ensure-postgres.sh started, if
# any (its data directory is named in ${PG_STATE_FILE:-target/private-pg.dir}). Without a
# state file it does nothing. It stops only a cluster that ensure-postgres.sh made (marker
# file, directory name), so it can never stop the shared server on 5432.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state_file="${PG_STATE_FILE:-$root/target/private-pg.dir}"

log() { printf 'stop-postgres: %s\n' "$*" >&2; }

if [ ! -f "$state_file" ]; then
    log "no private cluster recorded ($state_file): nothing to stop"
    exit 0
fi

data="$(cat "$state_file")"
base="$(dirname "$data")"
case "$(basename "$base")" in
    cloudcx-pg-*) ;;
    *)
        log "refusing: $data is not a directory ensure-postgres.sh made; removing $state_file only"
        rm -f "$state_file"
        exit 1
        ;;
esac
if [ ! -d "$data" ]; then
    log "$data is gone already"
    rm -f "$state_file"
    rm -rf "$base"
    exit 0
fi
if [ ! -f "$data/cloudcx-private-pg" ]; then
    log "refusing: $data has no cloudcx-private-pg marker; removing $state_file only"
    rm -f "$state_file"
    exit 1
fi

pg_ctl_bin=""
if [ -f "$data/PG_VERSION" ] && [ -x "/usr/lib/postgresql/$(cat "$data/PG_VERSION")/bin/pg_ctl" ]; then
    pg_ctl_bin="/usr/lib/postgresql/$(cat "$data/PG_VERSION")/bin/pg_ctl"
elif command -v pg_ctl >/dev/null 2>&1; then
    pg_ctl_bin="$(command -v pg_ctl)"
fi

run_pg() {
    if [ "$(id -u)" = 0 ]; then
        su postgres -s /bin/sh -c "cd / && $(printf '%q ' "$@")"
    else
        "$@"
    fi
}

if [ -f "$data/postmaster.pid" ]; then
    if [ -z "$pg_ctl_bin" ]; then
        log "pg_ctl not found: cannot stop the cluster in $data"
        exit 1
    fi
    log "stopping the private cluster in $data (port $(cat "$data/cloudcx-private-pg"))"
    if ! run_pg "$pg_ctl_bin" -D "$data" -m fast -w -t 60 stop </dev/null >&2 2>&1; then
        # Not running after all (a stale pid file), or it would not stop.
        if run_pg "$pg_ctl_bin" -D "$data" status >/dev/null 2>&1; then
            log "the cluster in $data would not stop; leaving it and $state_file in place"
            exit 1
        fi
    fi
fi

rm -rf "$base"
rm -f "$state_file"
log "removed $base"
