// Several app processes → the pipeline stage → a real log collector (rsyslog, TCP) →
// one merged file → `audit-chain verify`.
//
// Needs rsyslogd from the OS packages (any rsyslog >= 8.38; Debian 12 ships 8.2302):
//   Debian/Ubuntu  sudo apt-get install -y rsyslog
//   Fedora/RHEL    sudo dnf install -y rsyslog
//   Alpine         sudo apk add rsyslog
//   Arch           sudo pacman -S rsyslog
// Elsewhere set RSYSLOGD=/path/to/rsyslogd. The system's rsyslog service need not run
// and is not touched; no root is needed.
//
// Run: npm run example:collector   (or: npm run build && node examples/collector/run.js)
//
// What it does:
//  1. Starts its own rsyslogd in the foreground (`rsyslogd -n -f rsyslog.conf -i PIDFILE`)
//     with its work directory, pid and port file in a temp directory. rsyslog.conf
//     receives LF-framed lines on a free port of 127.0.0.1 and appends each one, byte
//     for byte, to one file: .demo/logs/collector/merged.log (rewritten each run).
//  2. Starts APPS (default 4) app processes (app.js). Each logs EVENTS (default 300)
//     events through pino.transport({ pipeline: [stage, pino-socket] }): every process
//     is a chain of its own, signed in its worker thread, shipped over its own TCP
//     connection. They log at the same time, so rsyslog interleaves their lines.
//  3. Waits until the file holds every record the apps sent (bounded: a clear error
//     says how many arrived), then stops rsyslogd with SIGTERM, its clean shutdown.
//  4. Runs `audit-chain verify merged.log --key PUB`: every chain must be intact and
//     sealed. Exits with verify's code (0 intact, 1 problems found).
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs'
import { fork, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CLI, demoPaths, ensureKeys } from '../demo-setup.js'
import { startRsyslog, waitForLines } from './rsyslog.js'

const APP = fileURLToPath(new URL('app.js', import.meta.url))
const APPS = countFromEnv('APPS', 4)
const EVENTS = countFromEnv('EVENTS', 300)

function countFromEnv (name, fallback) {
  const text = process.env[name]
  if (text === undefined) return fallback
  if (!/^[1-9]\d{0,5}$/.test(text)) {
    console.error(`${name} must be a whole number from 1 to 999999, got ${JSON.stringify(text)}`)
    process.exit(2)
  }
  return Number(text)
}

const paths = await ensureKeys(demoPaths())
const outDir = join(paths.logs, 'collector')
mkdirSync(outDir, { recursive: true })
const merged = join(outDir, 'merged.log')
rmSync(merged, { force: true }) // rsyslog appends: one run, one set of chains
const runDir = mkdtempSync(join(tmpdir(), 'pac-rsyslog-'))

let rsyslog
let apps = []
let failure
try {
  rsyslog = await startRsyslog({ file: merged, runDir })
  console.log(`1. rsyslogd (pid ${rsyslog.pid}) listens on 127.0.0.1:${rsyslog.port}, appending to ${merged}`)

  apps = Array.from({ length: APPS }, (_, i) => {
    const name = `app-${i + 1}`
    const child = fork(APP, [JSON.stringify({ name, port: rsyslog.port, privateKeyPath: paths.privateKey, events: EVENTS })], { stdio: 'inherit' })
    const exited = once(child, 'exit')
    const said = (key) => new Promise((resolve, reject) => {
      child.on('message', (m) => { if (m[key] !== undefined) resolve(m[key]) })
      exited.then(([code]) => reject(new Error(`${name} exited (${code}) before it reported "${key}"`)))
    })
    const ready = said('ready')
    const sent = said('sent')
    sent.catch(() => {}) // awaited below; when ready already failed, this rejection is no news
    return { name, child, ready, sent, exited }
  })
  await Promise.all(apps.map((a) => a.ready))
  for (const a of apps) a.child.send('go')
  const sent = await Promise.all(apps.map((a) => a.sent))
  await Promise.all(apps.map((a) => a.exited))
  const total = sent.reduce((a, b) => a + b, 0)
  console.log(`2. ${APPS} app${APPS === 1 ? '' : 's'} sent ${sent.join(' + ')} = ${total} records through [pino-audit-chain/stage → pino-socket]`)

  const lines = await waitForLines(merged, total, { ownLog: rsyslog.ownLog })
  await rsyslog.stop()
  console.log(`3. rsyslog wrote all ${lines} lines to the merged file and stopped cleanly`)
} catch (err) {
  failure = err
  for (const a of apps) if (a.child.exitCode === null) a.child.kill()
  await rsyslog?.stop().catch(() => {})
} finally {
  rmSync(runDir, { recursive: true, force: true })
}
if (failure !== undefined) {
  console.error(failure.message)
  process.exit(2)
}

console.log(`\n4. $ audit-chain verify ${merged} --key ${paths.publicKey}`)
const verify = spawnSync(process.execPath, [CLI, 'verify', merged, '--key', paths.publicKey], { stdio: 'inherit' })
process.exitCode = verify.status ?? 2
