/**
 * createAuditLogger({ handleSignals }): SIGTERM/SIGINT seal the chain, then the
 * process ends by that signal, as it would have without us.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { verify } from '../src/verify/index.js'
import { readRecords, ROOT, sandbox } from './helpers.js'

async function stopWith (signal: NodeJS.Signals, handleSignals: boolean): Promise<{ signal: string | null, log: string, pub: string, cleanup: () => void }> {
  const box = sandbox()
  const storage = join(box.dir, 'logs')
  const child = fork(join(ROOT, 'test/fixtures/audit-signal-app.mjs'), [JSON.stringify({ storage, key: box.keyPath, handleSignals })], { execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
  await new Promise<void>((resolve) => child.on('message', (m: { flushed?: boolean }) => { if (m.flushed === true) resolve() }))
  child.kill(signal)
  const [, exitSignal] = await once(child, 'exit') as [number | null, string | null]
  return { signal: exitSignal, log: join(storage, 'audit.log'), pub: box.pubPath, cleanup: box.cleanup }
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`handleSignals: ${signal} seals the chain, then the process ends by ${signal}`, async (t) => {
    const run = await stopWith(signal, true)
    t.after(run.cleanup)
    assert.equal(run.signal, signal)
    const records = readRecords(run.log)
    assert.equal(records.length, 102)
    assert.equal(records.at(-1)?.event, 'chain.close')
    const report = await verify([join(run.log, '..')], { keys: [run.pub], requireSeal: true })
    assert.equal(report.ok, true, JSON.stringify(report.problems))
  })
}

test('with handleSignals: false, SIGTERM ends the process unsealed (what the option is for)', async (t) => {
  const run = await stopWith('SIGTERM', false)
  t.after(run.cleanup)
  assert.equal(run.signal, 'SIGTERM')
  const records = readRecords(run.log)
  assert.notEqual(records.at(-1)?.event, 'chain.close')
  // The file alone (no head file: it may or may not have caught up before the kill).
  const report = await verify([run.log], { keys: [run.pub], requireSeal: true })
  assert.equal(report.ok, false)
  assert.ok(report.problems.some((p) => p.kind === 'unsealed'))
})
