/**
 * The examples as users run them, in child processes: `npm start`'s demo (which
 * runs the verifier and must exit 0), and the fastify app answering real HTTP
 * requests on 127.0.0.1, shut down by SIGTERM, its log then checked as a chain.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { outputOf, readRecords, ROOT } from './helpers.js'
import { checkChain } from './fixtures/audit-chain-check.js'

function tempDir (t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'pac-demo-'))
  t.after(() => { rmSync(dir, { recursive: true, force: true }) })
  return dir
}

test('the demo (npm start) creates keys, logs a session that trips an alert, and verifies intact', async (t) => {
  const dir = tempDir(t)
  const child = spawn(process.execPath, [join(ROOT, 'examples/demo.js')], { cwd: ROOT, env: { ...process.env, PAC_DEMO_DIR: dir }, stdio: ['ignore', 'pipe', 'pipe'] })
  const { code, output: out } = await outputOf(child)
  assert.equal(code, 0, out)
  assert.match(out, /session started \(a custom event: session.start\)/)
  assert.match(out, /ALERT resource_violation: 3 in 5m/)
  assert.match(out, /the audit log is INTACT/)
  // It ends by writing the auditors' HTML report, and says where.
  assert.ok(out.endsWith(`report for auditors: ${join(dir, 'report.html')} (open it in a browser)\n`), out)
  assert.match(readFileSync(join(dir, 'report.html'), 'utf8'), /^<!DOCTYPE html>[^]*"ok":true[^]*"event":"resource_violation"/)
  assert.equal(statSync(join(dir, 'keys/audit-ed25519.key')).mode & 0o777, 0o600)
  const events = readRecords(join(dir, 'logs/audit.log')).map((r) => r.event)
  for (const e of ['container_creation', 'security_assessment', 'code_execution', 'resource_violation', 'alert', 'chain.close']) {
    assert.ok(events.includes(e), `the demo log has a ${e} record`)
  }
})

test('the demo with --epochs signs with 2-second epoch keys, closes an epoch mid-session, erases its key, and verifies with the master key and certificates', async (t) => {
  const dir = tempDir(t)
  const child = spawn(process.execPath, [join(ROOT, 'examples/demo.js'), '--epochs'], { cwd: ROOT, env: { ...process.env, PAC_DEMO_DIR: dir }, stdio: ['ignore', 'pipe', 'pipe'] })
  const { code, output: out } = await outputOf(child)
  assert.equal(code, 0, out)
  assert.match(out, /verifying with the master public key .*audit-master\.pub and the certificates/)
  assert.match(out, /the audit log is INTACT/)
  assert.equal(statSync(join(dir, 'keys/audit-master.key')).mode & 0o777, 0o600)
  assert.equal(statSync(join(dir, 'epochs/epoch-keys.json')).mode & 0o777, 0o600)
  const records = readRecords(join(dir, 'logs/audit.log'))
  const closes = records.filter((r) => r.event === 'epoch.close')
  assert.ok(closes.length >= 1, 'the session crossed at least one epoch boundary')
  assert.ok(new Set(records.map((r) => r.chain.kid)).size >= 2, 'records are signed with more than one epoch key')
  const bundle = JSON.parse(readFileSync(join(dir, 'epochs/epoch-keys.json'), 'utf8')) as { epochs: Array<{ epoch: number, seed: string | null }> }
  for (const c of closes) assert.equal(bundle.epochs[c.epoch].seed, null, `epoch ${c.epoch}'s key is erased`)
  // A count and the epoch numbers, each named: "closed in the log: 0" read as "none".
  const numbers = closes.map((c) => c.epoch).join(', ')
  const erased = bundle.epochs.filter((e) => e.seed === null).length
  assert.match(out, new RegExp(`^epoch\\.close records in the log: ${closes.length} \\(epochs? ${numbers} closed\\); epoch keys erased from .*epoch-keys\\.json: ${erased}$`, 'm'))
})

test('the fastify example records audit events from its routes over real HTTP and seals on SIGTERM', async (t) => {
  const dir = tempDir(t)
  const child = spawn(process.execPath, [join(ROOT, 'examples/fastify-app.js')], {
    cwd: ROOT,
    env: { ...process.env, PAC_DEMO_DIR: dir, PORT: '0', HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  t.after(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let stderr = ''
  child.stderr.on('data', (d) => { stderr += String(d) })
  const appLines: Array<Record<string, any>> = []
  const exited = once(child, 'exit')
  const base = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const entry = JSON.parse(line)
      appLines.push(entry)
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(entry.msg ?? '')
      if (m !== null) resolve(m[1])
    })
    exited.then(() => { reject(new Error(`the app exited before listening: ${stderr}`)) }, reject)
  })

  const post = async (path: string, body: unknown): Promise<{ status: number, body: any }> => {
    const res = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    return { status: res.status, body: await res.json() }
  }
  const ids: string[] = []
  const ok = async (path: string, body: unknown): Promise<void> => {
    const res = await post(path, body)
    assert.equal(res.status, 200, JSON.stringify(res.body))
    ids.push(res.body.eventId)
  }
  await ok('/containers', { containerId: 'sbx-1', image: 'python:3.12-slim', network: 'none' })
  await ok('/assessments', { code: 'print(1)\n', riskLevel: 'LOW', scanner: 'bandit' })
  await ok('/executions', { code: 'print(2)\n', previousCode: 'print(1)\n', language: 'python', result: { exitCode: 0, stdout: '2\n', durationMs: 12 } })
  for (let i = 0; i < 3; i++) await ok('/violations', { containerId: 'sbx-1', resource: 'memory', limit: 100, observed: 200 + i, action: 'killed' })
  const rejected = await post('/executions', { code: 'x', language: 'python', result: { exitCode: '0', durationMs: 1 } })
  assert.equal(rejected.status, 400)
  assert.equal(rejected.body.error, 'logCodeExecution: result.exitCode must be an integer, got "0"')

  child.kill('SIGTERM')
  const [code] = await exited
  assert.equal(code, 0, stderr)

  const log = join(dir, 'logs/fastify/audit.log')
  const { problems } = checkChain(log, join(dir, 'keys/audit-ed25519.pub'))
  assert.deepEqual(problems, [])
  const records = readRecords(log).slice(1, -1)
  assert.deepEqual(records.map((r) => r.event), [
    'container_creation', 'security_assessment', 'code_execution', 'resource_violation', 'resource_violation', 'resource_violation', 'alert'
  ])
  assert.deepEqual(records.slice(0, 6).map((r) => r.eventId), ids)
  // Each record carries fastify's request id and its logger's name.
  assert.deepEqual(records.slice(0, 6).map((r) => r.reqId), ['req-1', 'req-2', 'req-3', 'req-4', 'req-5', 'req-6'])
  assert.equal(records[0].name, 'assistant-api')
  assert.match(records[2].diff.text, /-print\(1\)\n\+print\(2\)/)
  // The app's own log (stdout) has its request lines and the onAlert page, no audit records.
  assert.ok(appLines.some((l) => l.msg === 'audit alert: resource_violation'))
  assert.ok(!appLines.some((l) => l.event === 'code_execution'))
})
