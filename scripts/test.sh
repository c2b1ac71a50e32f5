#!/usr/bin/env bash
# `make test`: everything the suite needs, then the suite. Fails loudly, never skips.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1; }
apt_install() {
  if [ "$(id -u)" = 0 ] && need apt-get; then
    echo "installing $*" >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
  else
    echo "missing: $* (install it, or run as root to let this script do it)" >&2
    exit 1
  fi
}

need node || apt_install nodejs npm
# The example verifier (another service's view of our tokens) runs inside the suite.
if [ ! -d examples/verify-token/node_modules/jose ]; then
  (cd examples/verify-token && npm ci --no-audit --no-fund --loglevel=error)
fi
# A real OpenID Provider (oidc-provider) for the SSO journeys.
if [ ! -d tests/oidc-provider/node_modules/oidc-provider ]; then
  (cd tests/oidc-provider && npm ci --no-audit --no-fund --loglevel=error)
fi

# The web app: its API types must match openapi.yaml, ESLint passes (its import zones proved by
# scripts/lint-zones.test.mjs), its unit tests pass, and it builds.
# (Installed again when package-lock.json is newer than the last install: a new devDependency.)
(cd web && { [ -d node_modules/vite ] && [ ! package-lock.json -nt node_modules/.package-lock.json ] \
    || npm ci --no-audit --no-fund --loglevel=error; } \
  && npm run --silent check-gen && npm run --silent lint && node --test scripts/ \
  && npm test --silent && npm run --silent build)

# PostgreSQL: TEST_DATABASE_URL, else the local server on 5432, else a private cluster.
export PG_STATE_FILE="${PG_STATE_FILE:-$PWD/target/private-pg.dir}"
mkdir -p target
TEST_DATABASE_URL="$(bash scripts/ensure-postgres.sh)" || {
  echo "make test: no PostgreSQL could be reached or started; the suite needs one" >&2
  exit 1
}
export TEST_DATABASE_URL
trap 'bash scripts/stop-postgres.sh || true' EXIT
echo "PostgreSQL for tests: ${TEST_DATABASE_URL}" >&2

log="target/test-output.log"
set +e
cargo test --workspace --locked --no-fail-fast 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# The browser journeys: Debian's Chromium driven by playwright-core against the release binary.
if [ -f web/e2e/package.json ]; then
  [ -x /usr/bin/chromium ] || apt_install chromium
  cargo build --release --locked -p cloudcx-auth
  set +e
  (cd web/e2e && { [ -d node_modules/playwright-core ] && [ ! package-lock.json -nt node_modules/.package-lock.json ] \
      || npm ci --no-audit --no-fund --loglevel=error; } \
    && CLOUDCX_BIN="$PWD/../../target/release/cloudcx-auth" npm test) 2>&1 | tee -a "$log"
  e2e=${PIPESTATUS[0]}
  set -e
  [ "$e2e" = 0 ] || status=1
fi

# Contract fuzzing: schemathesis against openapi.yaml on the release binary, fresh database and
# accounts, a bounded budget (scripts/schemathesis.sh; its `# pass`/`# fail` lines join the total).
cargo build --release --locked -p cloudcx-auth
set +e
CLOUDCX_BIN="$PWD/target/release/cloudcx-auth" bash scripts/schemathesis.sh 2>&1 | tee -a "$log"
fuzz=${PIPESTATUS[0]}
set -e
[ "$fuzz" = 0 ] || status=1

# One closing line for the whole run: every Rust test binary plus the browser suite.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     /^# pass / { p += $3 } /^# fail / { f += $3 }
     END { printf "total: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
