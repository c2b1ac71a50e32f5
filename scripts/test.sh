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
# One closing line for the whole run, summed over every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "total: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
