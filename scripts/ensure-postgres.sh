#!/usr/bin/env bash
# Print the URL of a PostgreSQL server the tests may use (superuser `postgres`; the tests
# create and drop their own databases in it). Only the URL goes to stdout, everything else
# to stderr.
#
#   TEST_DATABASE_URL=$(scripts/ensure-postgres.sh)   # executed: prints the URL
#   . scripts/ensure-postgres.sh                      # sourced (bash): exports TEST_DATABASE_URL
#   scripts/stop-postgres.sh                          # afterwards: stops a private cluster, if one was started
#
# In order:
#   1. TEST_DATABASE_URL is set: check that it answers and print it.
#   2. 127.0.0.1:5432 answers and takes `psql -U postgres` (trust): print its URL.
#   3. Start a private cluster: initdb into ${TMPDIR:-/tmp}/cloudcx-pg-PID/data (installing
#      Debian's `postgresql` first when run as root and the binaries are missing), on the first
#      free port from 55432, listening on 127.0.0.1 only, trust auth, user `postgres`. Its data
#      directory is written to ${PG_STATE_FILE:-target/private-pg.dir} for stop-postgres.sh.
#      A still-running cluster named by that file is reused rather than started again.
#
# Settings (environment):
#   TEST_DATABASE_URL         use this server (step 1)
#   ENSURE_PG_FORCE_PRIVATE=1 skip steps 1 and 2: always use a private cluster
#   PG_STATE_FILE             where the private cluster's data directory is recorded
#                             (default: target/private-pg.dir in the repository)
#   PG_PRIVATE_PORT           first port tried for a private cluster (default 55432)
#
# A private cluster is never on 5432 and stop-postgres.sh only stops the cluster named in the
# state file (and only one this script made), so the shared server is never touched.

_ensure_pg_main() {
    set -euo pipefail

    local root
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    local state_file="${PG_STATE_FILE:-$root/target/private-pg.dir}"

    log() { printf 'ensure-postgres: %s\n' "$*" >&2; }
    die() { printf 'ensure-postgres: error: %s\n' "$*" >&2; exit 1; }
    have() { command -v "$1" >/dev/null 2>&1; }
    is_root() { [ "$(id -u)" = 0 ]; }

    # ---- 1. an explicit server ---------------------------------------------------------
    if [ -n "${TEST_DATABASE_URL:-}" ] && [ "${ENSURE_PG_FORCE_PRIVATE:-0}" != 1 ]; then
        local redacted
        redacted="$(printf '%s' "$TEST_DATABASE_URL" | sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#')"
        if have pg_isready; then
            pg_isready -q -t 10 -d "$TEST_DATABASE_URL" >&2 \
                || die "TEST_DATABASE_URL ($redacted) does not answer (pg_isready failed)"
        elif have psql; then
            PGCONNECT_TIMEOUT=10 psql "$TEST_DATABASE_URL" -XAtqc 'select 1' >/dev/null \
                || die "TEST_DATABASE_URL ($redacted) does not answer (psql failed)"
        else
            log "neither pg_isready nor psql found: using TEST_DATABASE_URL unchecked"
        fi
        log "using TEST_DATABASE_URL ($redacted)"
        printf '%s\n' "$TEST_DATABASE_URL"
        return 0
    fi

    # ---- 2. the machine's server on 127.0.0.1:5432 -----------------------------------------
    if [ "${ENSURE_PG_FORCE_PRIVATE:-0}" != 1 ]; then
        if have pg_isready && have psql \
            && pg_isready -q -t 3 -h 127.0.0.1 -p 5432 \
            && PGPASSWORD='' PGCONNECT_TIMEOUT=5 psql -w -X -h 127.0.0.1 -p 5432 -U postgres -d postgres \
                   -Atqc 'select 1' >/dev/null 2>&1; then
            log "using the server on 127.0.0.1:5432"
            printf '%s\n' "postgres://postgres@127.0.0.1:5432/postgres"
            return 0
        fi
        log "no usable server on 127.0.0.1:5432 (or no pg_isready/psql): starting a private cluster"
    else
        log "ENSURE_PG_FORCE_PRIVATE=1: using a private cluster"
    fi

    # ---- 3. a private cluster --------------------------------------------------------------
    local bindir=""
    find_bindir() {
        bindir=""
        if have initdb && have pg_ctl; then
            bindir="$(dirname "$(command -v pg_ctl)")"
            return 0
        fi
        local d
        # Newest major version first.
        for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -t/ -k5,5 -rn); do
            if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
                bindir="$d"
                return 0
            fi
        done
        return 1
    }

    if ! find_bindir; then
        if is_root && have apt-get; then
            log "initdb/pg_ctl not found: installing Debian's postgresql (apt-get)"
            export DEBIAN_FRONTEND=noninteractive
            { apt-get update && apt-get install -y --no-install-recommends postgresql; } >&2 \
                || die "apt-get install postgresql failed"
            find_bindir || die "initdb/pg_ctl still not found after installing postgresql"
        else
            die "no PostgreSQL server found: nothing answers on 127.0.0.1:5432, TEST_DATABASE_URL is unset, and initdb/pg_ctl are not installed (install PostgreSQL, e.g. 'apt-get install postgresql', or set TEST_DATABASE_URL=postgres://...)"
        fi
    fi
    log "PostgreSQL binaries: $bindir"
    local pg_isready_bin="$bindir/pg_isready"
    [ -x "$pg_isready_bin" ] || pg_isready_bin="$(command -v pg_isready || true)"
    [ -n "$pg_isready_bin" ] || die "pg_isready not found"

    # As root, the server must run as an unprivileged user: `postgres`.
    run_pg() { # run_pg CMD ARGS... (as postgres when root)
        if is_root; then
            local cmd
            cmd="cd / && $(printf '%q ' "$@")"
            su postgres -s /bin/sh -c "$cmd"
        else
            "$@"
        fi
    }
    if is_root && ! id postgres >/dev/null 2>&1; then
        log "creating the system user postgres"
        useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres >&2 \
            || die "could not create the user postgres"
    fi

    port_busy() { # does something listen on 127.0.0.1:$1 ?
        local rc=0
        "$pg_isready_bin" -q -t 1 -h 127.0.0.1 -p "$1" || rc=$?
        # 0 accepting, 1 rejecting, 3 bad args: something is there; 2: no answer.
        [ "$rc" -ne 2 ] && return 0
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        return 1
    }

    # Reuse a cluster a previous run left running.
    if [ -f "$state_file" ]; then
        local old_dir old_port
        old_dir="$(cat "$state_file")"
        if [ -f "$old_dir/cloudcx-private-pg" ] && [ -f "$old_dir/postmaster.pid" ]; then
            old_port="$(cat "$old_dir/cloudcx-private-pg")"
            if run_pg "$bindir/pg_ctl" -D "$old_dir" status >/dev/null 2>&1 \
                && "$pg_isready_bin" -q -t 3 -h 127.0.0.1 -p "$old_port"; then
                log "reusing the private cluster in $old_dir (port $old_port)"
                printf '%s\n' "postgres://postgres@127.0.0.1:$old_port/postgres"
                return 0
            fi
        fi
        log "removing a stale state file $state_file"
        rm -f "$state_file"
    fi

    local base="${TMPDIR:-/tmp}/cloudcx-pg-$$"
    if is_root && [ -n "${TMPDIR:-}" ] && ! su postgres -s /bin/sh -c "test -w $(printf '%q' "$TMPDIR") -a -x $(printf '%q' "$TMPDIR")"; then
        log "the user postgres cannot write in TMPDIR=$TMPDIR: using /tmp"
        base="/tmp/cloudcx-pg-$$"
    fi
    # Unix socket paths are limited to ~107 bytes.
    if [ "${#base}" -gt 80 ]; then
        log "$base is too long for a Unix socket path: using /tmp"
        base="/tmp/cloudcx-pg-$$"
    fi
    local data="$base/data"
    # Until the state file names it, a half-made cluster is ours to remove on any way out.
    _ensure_pg_cleanup() {
        if [ -n "${_ensure_pg_base:-}" ] && [ -d "$_ensure_pg_base" ]; then
            if [ -f "$_ensure_pg_base/data/postmaster.pid" ]; then
                run_pg "$bindir/pg_ctl" -D "$_ensure_pg_base/data" -m immediate stop </dev/null >/dev/null 2>&1 || true
            fi
            rm -rf "$_ensure_pg_base"
        fi
    }
    _ensure_pg_base="$base"
    trap _ensure_pg_cleanup EXIT
    trap 'exit 1' INT TERM HUP PIPE
    rm -rf "$base"
    mkdir -p "$base"
    chmod 700 "$base"
    if is_root; then chown postgres: "$base"; fi

    log "initdb into $data"
    if ! run_pg "$bindir/initdb" -D "$data" -U postgres -A trust -E UTF8 --no-locale >"$base/initdb.log" 2>&1; then
        cat "$base/initdb.log" >&2
        rm -rf "$base"
        die "initdb failed"
    fi

    local port="${PG_PRIVATE_PORT:-55432}" last started=0
    last=$((port + 100))
    while [ "$port" -le "$last" ]; do
        if [ "$port" = 5432 ] || port_busy "$port"; then
            port=$((port + 1))
            continue
        fi
        printf '%s\n' "$port" >"$data/cloudcx-private-pg"
        if is_root; then chown postgres: "$data/cloudcx-private-pg"; fi
        # -l: the server's output goes to a file, never to our stdout (a caller that reads
        # our stdout with $(...) would otherwise wait for the server to exit).
        # fsync etc. off: a throwaway test cluster.
        if run_pg "$bindir/pg_ctl" -D "$data" -l "$base/server.log" -w -t 60 \
               -o "-c listen_addresses=127.0.0.1 -p $port -k $base -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
               start </dev/null >&2 2>&1; then
            started=1
            break
        fi
        log "could not start on port $port (see below): trying the next one"
        tail -n 5 "$base/server.log" >&2 2>/dev/null || true
        port=$((port + 1))
    done
    if [ "$started" != 1 ]; then
        cat "$base/server.log" >&2 2>/dev/null || true
        rm -rf "$base"
        die "could not start a private PostgreSQL cluster"
    fi

    mkdir -p "$(dirname "$state_file")"
    printf '%s\n' "$data" >"$state_file"
    _ensure_pg_base=""
    trap - EXIT INT TERM HUP PIPE

    "$pg_isready_bin" -q -t 30 -h 127.0.0.1 -p "$port" \
        || die "the private cluster on port $port does not answer (log: $base/server.log)"
    log "private cluster running: data $data, port $port (stop it with scripts/stop-postgres.sh)"
    printf '%s\n' "postgres://postgres@127.0.0.1:$port/postgres"
}

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
    # Sourced: set TEST_DATABASE_URL in the caller, without changing its shell options.
    if _cloudcx_pg_url="$(_ensure_pg_main)"; then
        export TEST_DATABASE_URL="$_cloudcx_pg_url"
        unset _cloudcx_pg_url
    else
        unset _cloudcx_pg_url
        return 1
    fi
else
    _ensure_pg_main
fi
