#!/usr/bin/env bash
# Runs the browser end-to-end suite: Debian's Chromium (playwright-core) against the API
# binary (CLOUDCX_BIN, else target/release, else target/debug), web/dist, an SMTP sink and
# tests/oidc-provider. Exits non-zero when a test fails; node's test summary closes the output.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

if [[ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]]; then
  echo "e2e: ${CHROMIUM_PATH:-/usr/bin/chromium} is missing (apt-get install -y chromium)" >&2
  exit 1
fi
if [[ -z "${CLOUDCX_BIN:-}" && ! -x "$repo/target/release/cloudcx-auth" && ! -x "$repo/target/debug/cloudcx-auth" ]]; then
  echo "e2e: no cloudcx-auth binary: build it with cargo or set CLOUDCX_BIN" >&2
  exit 1
fi
if [[ ! -f "$repo/web/dist/index.html" ]]; then
  echo "e2e: web/dist is missing; building the SPA" >&2
  (cd "$repo/web" && { [[ -d node_modules ]] || npm ci --no-audit --no-fund; } && npm run build)
fi
if [[ ! -d "$repo/tests/oidc-provider/node_modules/oidc-provider" ]]; then
  (cd "$repo/tests/oidc-provider" && npm ci --no-audit --no-fund)
fi

cd "$here"
npm ci --no-audit --no-fund --loglevel=error
rm -rf screenshots
exec node --test "$@"
