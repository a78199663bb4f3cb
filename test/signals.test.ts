/**
 * Shutdown signals: what `docker stop` (SIGTERM) and Ctrl-C (SIGINT) do to records
 * still in flight, through auditChainTransport() and createAuditLogger(), with and
 * without an app's own handler. Real child processes, real signals, the real verifier.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { auditChainTransport } from '../src/transport/spawn.js'
import { hasCode } from '../src/errors.js'
import { verify } from '../src/verify/index.js'
import { readRecords, ROOT, sandbox, type Sandbox } from './helpers.js'

const SIGNAL_APP = join(ROOT, 'test/fixtures/signal-app.mjs')
// The reproduction: enough that most are still in flight when the signal comes.
const BURST = 50_000

interface Stopped { code: number | null, signal: string | null, stderr: string }

/** Run test/fixtures/signal-app.mjs, wait until it has logged its burst, send `signal`. */
async function stopWith (signal: NodeJS.Signals, cfg: Record<string, unknown>): Promise<Stopped> {
  const child = fork(SIGNAL_APP, [JSON.stringify(cfg)], { execArgv: [], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] })
  let stderr = ''
  child.stderr?.on('data', (d) => { stderr += String(d) })
  const exited = once(child, 'exit')
  await new Promise<void>((resolve, reject) => {
    child.on('message', (m: { logged?: boolean }) => { if (m.logged === true) resolve() })
    exited.then(() => { reject(new Error(`the app exited before logging: ${stderr}`)) }, reject)
  })
  child.kill(signal)
  const [code, exitSignal] = await exited as [number | null, string | null]
  return { code, signal: exitSignal, stderr }
}

/** The log is complete, sealed, verifies with --require-seal, and the lock is gone. */
async function assertSealed (box: Sandbox, log: string, records: number): Promise<Array<Record<string, any>>> {
  const lines = readRecords(log)
  assert.equal(lines.length, records, 'every record logged, plus chain.open and chain.close')
  assert.equal(lines.at(-1)?.event, 'chain.close')
  assert.equal(existsSync(`${log}.lock`), false, 'the lock is released')
  assert.equal(existsSync(`${log}.head.json`), true, 'the head is written')
  // The directory: its head file is checked too.
  const report = await verify([dirname(log)], { keys: [box.pubPath], requireSeal: true })
  assert.equal(report.ok, true, JSON.stringify(report.problems.slice(0, 3)))
  return lines
}

test('reproduction: with handleSignals: false, SIGTERM after a burst ends the process unsealed', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const run = await stopWith('SIGTERM', { api: 'transport', destination: box.log, key: box.keyPath, count: BURST, handleSignals: false })
  assert.equal(run.signal, 'SIGTERM')
  const lines = existsSync(box.log) ? readRecords(box.log) : []
  assert.ok(lines.length < BURST + 2, `${lines.length} records on disk`)
  assert.notEqual(lines.at(-1)?.event, 'chain.close')
})

test(`auditChainTransport: SIGTERM after ${BURST} records writes them all, seals, then the process ends by SIGTERM`, async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const run = await stopWith('SIGTERM', { api: 'transport', destination: box.log, key: box.keyPath, count: BURST })
  assert.equal(run.signal, 'SIGTERM', run.stderr)
  assert.equal(run.stderr, '')
  await assertSealed(box, box.log, BURST + 2)
})

test('auditChainTransport: SIGINT, two transports in one process: both sealed, then the process ends by SIGINT', async (t) => {
  // Two of our listeners must not take each other for the app's and both stand aside.
  const box = sandbox()
  t.after(box.cleanup)
  const second = join(box.dir, 'other/audit.log')
  const run = await stopWith('SIGINT', { api: 'transport', destination: box.log, second, key: box.keyPath, count: 1000 })
  assert.equal(run.signal, 'SIGINT', run.stderr)
  await assertSealed(box, box.log, 1002)
  await assertSealed(box, second, 1002)
})

test(`createAuditLogger (signals handled by default): SIGTERM after ${BURST} records writes them all, seals, then the process ends by SIGTERM`, async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const run = await stopWith('SIGTERM', { api: 'audit', destination: box.log, key: box.keyPath, count: BURST })
  assert.equal(run.signal, 'SIGTERM', run.stderr)
  assert.equal(run.stderr, '')
  await assertSealed(box, box.log, BURST + 2)
})

for (const api of ['transport', 'audit'] as const) {
  test(`${api}: the app's own SIGTERM handler, added after the logger, logs and calls process.exit(0): its record is in the sealed log`, async (t) => {
    const box = sandbox()
    t.after(box.cleanup)
    const run = await stopWith('SIGTERM', { api, destination: box.log, key: box.keyPath, count: 1000, appHandler: 'exit', settle: true })
    assert.equal(run.code, 0, run.stderr)
    assert.equal(run.stderr, '', 'no PAC_CLOSED or other error')
    const lines = await assertSealed(box, box.log, 1003)
    assert.match(JSON.stringify(lines.at(-2)), /shutting down/)
  })
}

test('transport: an async app handler logs before and after awaiting, then exits: both records are in the sealed log', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const run = await stopWith('SIGTERM', { api: 'transport', destination: box.log, key: box.keyPath, count: 1000, appHandler: 'async', settle: true })
  assert.equal(run.code, 0, run.stderr)
  const lines = await assertSealed(box, box.log, 1004)
  assert.deepEqual(lines.slice(-3, -1).map((l) => l.msg), ['shutting down', 'shut down'])
})

test('audit: an app handler that logs and lets the event loop end: the process exits 0, sealed', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const run = await stopWith('SIGINT', { api: 'audit', destination: box.log, key: box.keyPath, count: 1000, appHandler: 'drain', settle: true })
  assert.equal(run.code, 0, run.stderr)
  const lines = await assertSealed(box, box.log, 1003)
  assert.match(JSON.stringify(lines.at(-2)), /shutting down/)
})

test('handleSignals must be a boolean or a list of signals Node can catch', (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  for (const bad of ['yes', ['SIGTERM', 'TERM'], ['SIGKILL'], [15]]) {
    assert.throws(() => auditChainTransport({ destination: box.log, privateKeyPath: box.keyPath, handleSignals: bad as any }),
      (err: Error) => hasCode(err, 'PAC_BAD_OPTION') && err.message.includes('handleSignals'))
  }
  assert.deepEqual(readdirSync(box.dir).sort(), ['keys'], 'nothing started')
})
