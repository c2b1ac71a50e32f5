#!/usr/bin/env bash
# Contract fuzzing (issue #8): schemathesis against openapi.yaml on a release binary with its own
# fresh PostgreSQL database and fresh accounts, once signed in as an agent and once as an admin.
# Every operation is exercised; the checks: no 5xx, every answer as declared (status, content
# type, schema) and every error under /api/ problem+json with a `code` (tests/schemathesis/st_hooks.py).
# The fuzzed account signs in again every 5 minutes, so the routes that need a sign-in within 10
# minutes (`/me`'s sensitive actions, every admin change) see a fresh one; the operations that stop
# at a secret no generated value matches (a live refresh token or `mfa_token`, the password, a
# session with a second factor) get the real one in every other case (st_hooks.py), so
# no operation is only ever answered 401/403 by the run as a whole.
#
#   bash scripts/schemathesis.sh                      # standalone (builds nothing: needs the binary)
#   CLOUDCX_BIN=path/to/cloudcx-auth bash scripts/schemathesis.sh
#
# Settings (environment):
#   CLOUDCX_BIN        the binary (default target/release/cloudcx-auth)
#   TEST_DATABASE_URL  PostgreSQL server URL (default postgres://postgres@127.0.0.1:5432/postgres);
#                      a database with a unique name is created there and dropped afterwards
#   ST_MAX_EXAMPLES    test cases per operation and phase (default 40)
#   ST_MAX_TIME        time budget in seconds for each of the two runs (default 100)
#   ST_WORKERS         concurrent schemathesis workers (default 2)
#   ST_SEED            a seed to replay a run (default: random, printed)
#   ST_ROLES           which runs (default "agent admin")
# Output: the schemathesis reports and the server log under target/st-run/RUN/, then one
# `# pass N` / `# fail N` pair (an operation tested in one run is one test) for scripts/test.sh's
# closing total. Exits non-zero on any failure; the server and the database never outlive it.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

bin="${CLOUDCX_BIN:-target/release/cloudcx-auth}"
case "$bin" in /*) ;; *) bin="$root/$bin" ;; esac
max_examples="${ST_MAX_EXAMPLES:-40}"
max_time="${ST_MAX_TIME:-100}"
workers="${ST_WORKERS:-2}"
seed="${ST_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}"
roles="${ST_ROLES:-agent admin}"
pg_base="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

log() { printf 'schemathesis: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
[ -x "$bin" ] || die "no binary at $bin (cargo build --release -p cloudcx-auth, or set CLOUDCX_BIN)"
command -v psql >/dev/null || die "psql is needed to create the run's database"
command -v openssl >/dev/null || die "openssl is needed to make the run's signing key"
started=$(date +%s)

# ---- the Python environment (target/st-venv, reused while requirements.txt is unchanged) -------
venv="$root/target/st-venv"
req="$root/tests/schemathesis/requirements.txt"
stamp="$(sha256sum "$req" | cut -d' ' -f1)"
if [ "$(cat "$venv/.requirements.sha256" 2>/dev/null)" != "$stamp" ] || [ ! -x "$venv/bin/st" ]; then
  if ! command -v python3 >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >&2
    else
      die "python3 is needed (with its venv module)"
    fi
  fi
  log "installing $(grep -v '^#' "$req" | tr '\n' ' ')into $venv"
  if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >&2
      rm -rf "$venv" && python3 -m venv "$venv"
    else
      die "python3 -m venv failed (install python3-venv)"
    fi
  fi
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$req" >&2
  printf '%s\n' "$stamp" >"$venv/.requirements.sha256"
fi
py="$venv/bin/python"

# ---- a run folder, a database, keys -------------------------------------------------------------
run_id="$(date +%Y%m%d-%H%M%S)-$$"
run="$root/target/st-run/$run_id"
mkdir -p "$run"
# Keep the five newest run folders (each holds a server log, reports and a throwaway key).
ls -1dt "$root"/target/st-run/*/ 2>/dev/null | tail -n +6 | xargs -r rm -rf
db_name="cloudcx_st_$(date +%s)_$$_${RANDOM}"
db_url="$("$py" -c '
import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1])
print(u.urlunsplit((p.scheme, p.netloc, "/" + sys.argv[2], p.query, p.fragment)))' "$pg_base" "$db_name")"

server_pid=""
db_created=0
cleanup() {
  local rc=$?
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ "$db_created" = 1 ]; then
    psql "$pg_base" -XAtqc "DROP DATABASE IF EXISTS \"$db_name\" WITH (FORCE)" >/dev/null 2>&1 \
      || log "could not drop database $db_name"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

psql "$pg_base" -XAtqc "CREATE DATABASE \"$db_name\"" >/dev/null || die "could not create database $db_name"
db_created=1
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$run/jwt.pem" 2>/dev/null
data_key="$(head -c 32 /dev/urandom | base64)"
port="$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
tenant="fuzz-$$"
admin_email="st-admin-$$@fuzz.example"
admin_password="St-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"

# ---- the server: its own data folder (mail goes to $run/data/outbox), never our ports ---------
log "server $bin on $base, database $db_name, seed $seed"
(
  cd "$run"
  unset AUTH_SMTP_URL AUTH_PUBLIC_URL AUTH_TRUSTED_PROXIES AUTH_JWT_PREVIOUS_KEY_FILES
  export DATABASE_URL="$db_url" AUTH_LISTEN="127.0.0.1:$port" AUTH_DATA_KEY="$data_key" \
    AUTH_JWT_KEY_FILE="$run/jwt.pem" AUTH_BOOTSTRAP_TENANT="$tenant" \
    AUTH_BOOTSTRAP_ADMIN_EMAIL="$admin_email" AUTH_BOOTSTRAP_ADMIN_PASSWORD="$admin_password" \
    AUTH_SIGNIN_PER_IP_PER_MIN=1000000 AUTH_WEB_DIR="$root/web/dist" RUST_LOG="${RUST_LOG:-warn}"
  exec "$bin" serve
) >"$run/server.log" 2>&1 &
server_pid=$!

for _ in $(seq 300); do
  kill -0 "$server_pid" 2>/dev/null || { cat "$run/server.log" >&2; die "the server exited at start-up"; }
  curl -fsS -o /dev/null "$base/readyz" 2>/dev/null && break
  sleep 0.2
done
curl -fsS -o /dev/null "$base/readyz" || { cat "$run/server.log" >&2; die "the server never became ready"; }

# The binary must serve the committed contract (else the fuzzing tests the wrong thing).
"$py" - "$root/openapi.yaml" "$base/api-docs/openapi.json" <<'EOF' || die "the served spec differs from openapi.yaml: stale binary or run 'make openapi'"
import json, sys, urllib.request, yaml
committed = yaml.safe_load(open(sys.argv[1]))
served = json.load(urllib.request.urlopen(sys.argv[2]))
sys.exit(0 if committed == served else 1)
EOF

"$py" "$root/tests/schemathesis/accounts.py" "$base" "$tenant" "$admin_email" "$admin_password" "$run/accounts.json"

# ---- the runs -------------------------------------------------------------------------------------
checks="not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,problem_json_errors"
overall=0
for role in $roles; do
  log "run as $role (max $max_examples examples per operation, $max_time s)"
  set +e
  # From the run folder: schemathesis and hypothesis keep their caches in the working directory.
  (cd "$run" && ST_ACCOUNTS="$run/accounts.json" ST_ROLE="$role" ST_HOOK_LOG="$run/hooks-$role.log" ST_TALLY="$run/tally-$role.json" PYTHONPATH="$root/tests/schemathesis" SCHEMATHESIS_HOOKS=st_hooks \
    "$venv/bin/st" run "$root/openapi.yaml" --url "$base" \
    --checks "$checks" --max-examples "$max_examples" --max-time "$max_time" --workers "$workers" \
    --seed "$seed" --request-timeout 30 --no-color \
    --report junit --report-junit-path "$run/junit-$role.xml") 2>&1 | tee "$run/st-$role.log"
  rc=${PIPESTATUS[0]}
  set -e
  [ "$rc" = 0 ] || overall=1
  if ! kill -0 "$server_pid" 2>/dev/null; then
    log "the server died during the $role run; its log:"
    tail -50 "$run/server.log" >&2
    overall=1
    break
  fi
done

# ---- summary: an operation in one run is one test ------------------------------------------------
"$py" - "$run" $roles <<'EOF' || overall=1
import sys, xml.etree.ElementTree as ET
from pathlib import Path
run, roles = Path(sys.argv[1]), sys.argv[2:]
passed = failed = 0
for role in roles:
    path = run / f"junit-{role}.xml"
    if not path.exists():
        print(f"schemathesis: {role}: no report", file=sys.stderr)
        failed += 1
        continue
    for case in ET.parse(path).getroot().iter("testcase"):
        bad = case.find("failure") is not None or case.find("error") is not None
        failed += bad
        passed += not bad
        if bad:
            print(f"schemathesis: FAILED ({role}) {case.get('name')}", file=sys.stderr)
print(f"# pass {passed}")
print(f"# fail {failed}")
EOF
elapsed=$(( $(date +%s) - started ))
if [ "$overall" = 0 ]; then
  log "all runs green in ${elapsed}s (seed $seed; reports in $run)"
else
  log "FAILED in ${elapsed}s: replay with ST_SEED=$seed bash scripts/schemathesis.sh (reports in $run)"
fi
exit "$overall"
