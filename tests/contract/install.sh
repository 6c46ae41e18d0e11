#!/usr/bin/env bash
# Installs Stoplight Prism (a mock server that validates every request against an OpenAPI
# document: a request that breaks the spec gets 422 with the reasons in `sl-violations`) into
# tests/contract/node_modules, exactly as pinned by package-lock.json, for tests/contract.rs.
#
# - Prism 5.14.2 is the last release that runs on Node 20 (5.16 needs Node >= 24.18).
# - Idempotent: a no-op when the stamp matches the hash of package.json + package-lock.json and
#   the prism binary is present.
#
# Usage: tests/contract/install.sh [--force]
set -euo pipefail
cd "$(dirname "$0")"

stamp=node_modules/.smm-contract-install-stamp
prism=node_modules/.bin/prism
want="$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)"

if [ "${1:-}" != "--force" ] && [ -f "$stamp" ] && [ -x "$prism" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

command -v npm >/dev/null || { echo "install.sh: npm is required" >&2; exit 1; }
npm ci --no-audit --no-fund --loglevel=error
"$prism" --version >/dev/null
echo "$want" > "$stamp"
echo "tests/contract: prism $("$prism" --version) installed" >&2
