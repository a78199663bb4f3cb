/**
 * createAuditLogger end to end: the compiled package (dist/), real pino worker
 * threads, real files read back line by line and checked as a chain.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import pino from 'pino'
import { createAuditLogger, parseAuditPolicy, type AuditAlert, type AuditConfig } from '../dist/audit/index.js'
import { hasCode } from '../dist/errors.js'
import { verify } from '../dist/verify/index.js'
import { readRecords, sandbox, type Sandbox } from './helpers.js'
import { checkChain } from './fixtures/audit-chain-check.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex')

function policy (box: Sandbox, doc: Record<string, unknown> = {}): AuditConfig {
  return parseAuditPolicy({ storage_location: 'logs', signing: { private_key_path: box.keyPath }, ...doc }, { baseDir: box.dir })
}

/** Records written by the audit methods: everything between chain.open and chain.close. */
function auditRecords (box: Sandbox): Array<Record<string, any>> {
  const records = readRecords(box.log)
  assert.equal(records[0].event, 'chain.open')
  assert.equal(records.at(-1)?.event, 'chain.close')
  return records.slice(1, -1)
}

function assertIntact (box: Sandbox): void {
  const { problems } = checkChain(box.log, box.pubPath)
  assert.deepEqual(problems, [])
}

/** An in-memory pino destination, standing in for an app's own log. */
function memoryLogger (options: pino.LoggerOptions = {}): { logger: pino.Logger, lines: Array<Record<string, any>> } {
  const lines: Array<Record<string, any>> = []
  const stream = new Writable({ write (chunk, _enc, cb) { lines.push(JSON.parse(String(chunk))); cb() } })
  return { logger: pino(options, stream), lines }
}

const CODE_V1 = 'total = sum(range(10))\nprint(total)\n'
const CODE_V2 = 'import os\ntotal = sum(range(10))\nprint(total, os.getcwd())\n'

test('each method writes one record with its event, level, eventId, times and fields; children share one chain', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const audit = createAuditLogger({ config: policy(box, { log_level: 'standard' }) })
  const session = audit.child({ sessionId: 's-1' })
  const other = audit.child({ sessionId: 's-2' })
  const ids = [
    session.logContainerCreation({ containerId: 'sbx-1', image: 'python:3.12-slim', limits: { cpus: 1, memoryBytes: 268435456, pids: 64 }, network: 'none', readOnlyRoot: true, user: 'nobody', createdAt: '2026-01-02T03:04:05.000Z' }),
    session.logSecurityAssessment({ code: CODE_V2, riskLevel: 'HIGH', findings: [{ rule: 'B602', severity: 'HIGH', message: 'subprocess with shell=True', line: 3 }], scanner: 'bandit', language: 'python', containerId: 'sbx-1' }),
    session.logCodeExecution({ code: CODE_V2, previousCode: CODE_V1, language: 'python', containerId: 'sbx-1', result: { exitCode: 0, stdout: '45 /sandbox\n', stderr: '', durationMs: 41 } }),
    other.logResourceViolation({ containerId: 'sbx-1', resource: 'memory', limit: 268435456, observed: 300000000, action: 'killed' }),
    other.logSecurityAssessment({ code: 'x', riskLevel: 'BLOCKED' })
  ]
  await audit.close()

  const records = auditRecords(box)
  assert.equal(records.length, 5)
  assert.equal(readRecords(box.log).filter((r) => r.event === 'chain.open').length, 1) // one transport for all children
  assert.deepEqual(records.map((r) => r.eventId), ids)
  for (const r of records) {
    assert.match(r.eventId, UUID)
    assert.equal(typeof r.time, 'number')
    assert.equal(r.pid, process.pid)
  }
  const [container, assessment, run, violation, blocked] = records

  assert.equal(container.event, 'container_creation')
  assert.equal(container.level, 30)
  assert.equal(container.sessionId, 's-1')
  assert.equal(container.createdAt, '2026-01-02T03:04:05.000Z')
  assert.deepEqual(container.limits, { cpus: 1, memoryBytes: 268435456, pids: 64 })
  assert.equal(container.network, 'none')
  assert.equal(container.readOnlyRoot, true)
  assert.equal(container.user, 'nobody')

  assert.equal(assessment.event, 'security_assessment')
  assert.equal(assessment.level, 40) // HIGH → warn
  assert.equal(assessment.riskLevel, 'HIGH')
  assert.equal(assessment.blocked, false)
  assert.equal(assessment.scanner, 'bandit')
  assert.match(assessment.assessedAt, ISO)
  assert.deepEqual(assessment.code, { text: CODE_V2, truncated: false, originalBytes: Buffer.byteLength(CODE_V2), sha256: sha256(CODE_V2) })
  assert.equal(assessment.findingCount, 1)
  assert.deepEqual(assessment.findings, [{ rule: 'B602', severity: 'HIGH', message: 'subprocess with shell=True', line: 3 }])

  assert.equal(run.event, 'code_execution')
  assert.equal(run.level, 30)
  assert.equal(run.language, 'python')
  assert.equal(run.containerId, 'sbx-1')
  assert.equal(Date.parse(run.finishedAt) - Date.parse(run.startedAt), 41)
  assert.equal(run.code.text, CODE_V2)
  assert.deepEqual(run.previousCode, { originalBytes: Buffer.byteLength(CODE_V1), sha256: sha256(CODE_V1) })
  assert.equal(run.diff.truncated, false)
  assert.equal(run.diff.text, [
    '--- previous', '+++ current', '@@ -1,2 +1,3 @@', '+import os', ' total = sum(range(10))', '-print(total)', '+print(total, os.getcwd())', ''
  ].join('\n'))
  assert.equal(run.result.exitCode, 0)
  assert.equal(run.result.durationMs, 41)
  assert.equal(run.result.stdout.text, '45 /sandbox\n')
  assert.equal(run.result.stderr.originalBytes, 0)

  assert.equal(violation.event, 'resource_violation')
  assert.equal(violation.level, 50) // killed → error
  assert.equal(violation.sessionId, 's-2')
  assert.deepEqual([violation.resource, violation.limit, violation.observed, violation.action], ['memory', 268435456, 300000000, 'killed'])
  assert.match(violation.observedAt, ISO)

  assert.equal(blocked.level, 50) // BLOCKED → error
  assert.equal(blocked.blocked, true)
  assertIntact(box)
  // and the project's verifier agrees
  const report = await verify([box.log], { keys: [box.pubPath] })
  assert.equal(report.ok, true, JSON.stringify(report.problems))
  assert.equal(report.records, 7)
})

test('code, stdout, stderr and diffs over max_field_bytes are cut, marked, and keep the full length and SHA-256', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const audit = createAuditLogger({ config: policy(box, { max_field_bytes: 100 }) })
  const code = 'print("é")\n'.repeat(50) // 600 bytes
  const stdout = 'o'.repeat(5000)
  const stderr = 'e'.repeat(101)
  audit.logCodeExecution({ code, previousCode: 'pass\n', language: 'python', result: { exitCode: 1, stdout, stderr, durationMs: 3 } })
  await audit.close()
  const [run] = auditRecords(box)
  assert.equal(run.level, 40) // non-zero exit → warn
  for (const [field, full] of [[run.code, code], [run.result.stdout, stdout], [run.result.stderr, stderr]] as const) {
    assert.equal(field.truncated, true)
    assert.equal(field.originalBytes, Buffer.byteLength(full))
    assert.equal(field.sha256, sha256(full))
    assert.ok(Buffer.byteLength(field.text) <= 100)
    assert.ok(full.startsWith(field.text))
  }
  assert.equal(run.diff.truncated, true)
  assert.ok(Buffer.byteLength(run.diff.text) <= 100)
  assert.ok(readFileSync(box.log, 'utf8').split('\n')[1].length < 2000, 'the record stays small')
  assertIntact(box)
})

test('log_level minimal keeps no text; comprehensive adds a host resource snapshot', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const minimal = createAuditLogger({ config: policy(box, { log_level: 'minimal' }) })
  minimal.logCodeExecution({ code: CODE_V2, previousCode: CODE_V1, language: 'python', result: { exitCode: 0, stdout: 'secret', durationMs: 1 } })
  minimal.logSecurityAssessment({ code: CODE_V2, riskLevel: 'LOW', findings: [{ rule: 'B1', severity: 'LOW', message: 'm' }] })
  await minimal.close()
  const [run, assessment] = auditRecords(box)
  assert.deepEqual(run.code, { originalBytes: Buffer.byteLength(CODE_V2), sha256: sha256(CODE_V2) })
  assert.deepEqual(run.result.stdout, { originalBytes: 6, sha256: sha256('secret') })
  assert.equal(run.diff, undefined)
  assert.equal(run.host, undefined)
  assert.equal(assessment.findingCount, 1)
  assert.equal(assessment.findings, undefined)

  const comprehensive = createAuditLogger({ config: policy(box, { log_level: 'comprehensive' }) })
  comprehensive.logContainerCreation({ containerId: 'c', image: 'i' })
  await comprehensive.close()
  const last = readRecords(box.log).filter((r) => r.event === 'container_creation')[0]
  assert.equal(typeof last.host.resourceUsage.userCPUTime, 'number')
  assert.equal(typeof last.host.resourceUsage.maxRSS, 'number')
  assert.equal(typeof last.host.memoryUsage.rss, 'number')
  assert.equal(typeof last.host.memoryUsage.heapUsed, 'number')
})

test('bad inputs throw a TypeError/RangeError naming the field and write nothing', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const audit = createAuditLogger({ config: policy(box) })
  const bad: Array<[() => unknown, ErrorConstructor, RegExp]> = [
    [() => audit.logCodeExecution({ code: 'x', language: 'python', result: { exitCode: '0' as any, durationMs: 1 } }), TypeError, /^logCodeExecution: result\.exitCode must be an integer, got "0"$/],
    [() => audit.logCodeExecution({ code: 'x', language: 'python' } as any), TypeError, /^logCodeExecution: result must be an object, got undefined$/],
    [() => audit.logSecurityAssessment({ code: 'x', riskLevel: 'SEVERE' as any }), RangeError, /^logSecurityAssessment: riskLevel must be one of/],
    [() => audit.logContainerCreation({ containerId: 7 as any, image: 'i' }), TypeError, /^logContainerCreation: containerId must be a string, got 7$/],
    [() => audit.logResourceViolation({ containerId: 'c', resource: 'memory', limit: -1, observed: 2, action: 'killed' }), RangeError, /^logResourceViolation: limit must be a number >= 0, got -1$/],
    [() => audit.logResourceViolation({ containerId: 'c', resource: 'memory', limit: 1, observed: 2, action: 'killed', extra: 1 } as any), TypeError, /^logResourceViolation: unknown field extra/],
    [() => audit.child({ event: 'x' }), RangeError, /^child: bindings\.event must be/]
  ]
  for (const [call, type, message] of bad) {
    assert.throws(call, (err: Error) => err.constructor === type && message.test(err.message))
  }
  await audit.close()
  assert.deepEqual(auditRecords(box), [])
  assertIntact(box)
})

test('an alert fires exactly when the count is reached, is a signed record naming the triggering records, then counting restarts', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const policyFile = join(box.dir, 'audit.yaml')
  writeFileSync(policyFile, [
    'storage_location: ./logs',
    `signing: { private_key_path: ${JSON.stringify(box.keyPath)} }`,
    'alert_thresholds:',
    '  resource_violation: { count: 3, window: 5m }',
    '  security_assessment: { risk_level: HIGH, count: 1, window: 1h }',
    ''
  ].join('\n'))
  const alerts: AuditAlert[] = []
  const audit = createAuditLogger({ config: policyFile, onAlert: (a) => { alerts.push(a) } })
  const violation = { containerId: 'sbx-1', resource: 'memory', limit: 100, observed: 200, action: 'throttled' } as const
  const first = [audit.logResourceViolation(violation), audit.logResourceViolation(violation)]
  assert.equal(alerts.length, 0, 'not before the count')
  first.push(audit.logResourceViolation(violation))
  assert.equal(alerts.length, 1, 'exactly at the count')
  assert.deepEqual(alerts[0].triggeredBy, first)
  assert.equal(alerts[0].threshold, 'resource_violation')
  assert.equal(alerts[0].count, 3)
  assert.equal(alerts[0].window, '5m')
  audit.logResourceViolation(violation)
  audit.logResourceViolation(violation)
  assert.equal(alerts.length, 1, 'the window restarted after firing')
  audit.logSecurityAssessment({ code: 'x', riskLevel: 'MEDIUM' })
  assert.equal(alerts.length, 1, 'below the risk minimum')
  const risky = audit.logSecurityAssessment({ code: 'x', riskLevel: 'CRITICAL' })
  assert.equal(alerts.length, 2)
  assert.deepEqual(alerts[1].triggeredBy, [risky])
  assert.equal(alerts[1].riskLevel, 'HIGH')
  await audit.close()

  const records = auditRecords(box)
  assert.deepEqual(records.map((r) => r.event), [
    'resource_violation', 'resource_violation', 'resource_violation', 'alert',
    'resource_violation', 'resource_violation', 'security_assessment', 'security_assessment', 'alert'
  ])
  const alert = records[3]
  assert.equal(alert.level, 50)
  assert.equal(alert.eventId, alerts[0].eventId)
  assert.deepEqual(alert.triggeredBy, first)
  assert.equal(alert.threshold, 'resource_violation')
  assert.equal(alert.thresholdEvent, 'resource_violation')
  assert.equal(alert.count, 3)
  assert.equal(alert.windowMs, 300_000)
  assertIntact(box)
})

test('a throwing or rejecting onAlert never breaks logging and is reported once, at warn', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const app = memoryLogger()
  let calls = 0
  const audit = createAuditLogger({
    config: policy(box, { alert_thresholds: { resource_violation: { count: 1, window: '1m' } } }),
    logger: app.logger,
    onAlert: () => { calls++; throw new Error('pager is down') }
  })
  for (let i = 0; i < 3; i++) audit.logResourceViolation({ containerId: 'c', resource: 'pids', limit: 64, observed: 65, action: 'killed' })
  assert.equal(calls, 3)
  await audit.close()
  const records = auditRecords(box)
  assert.deepEqual(records.map((r) => r.event), [
    'resource_violation', 'alert', 'alert_handler_error', 'resource_violation', 'alert', 'resource_violation', 'alert'
  ])
  assert.equal(records[2].level, 40)
  assert.equal(records[2].err.message, 'pager is down')
  const reported = app.lines.filter((l) => l.event === 'alert_handler_error')
  assert.equal(reported.length, 1)
  assert.equal(reported[0].level, 40)

  const rejecting = createAuditLogger({
    config: policy(box, { alert_thresholds: { resource_violation: { count: 1, window: '1m' } } }),
    onAlert: async () => { throw new Error('async pager is down') }
  })
  rejecting.logResourceViolation({ containerId: 'c', resource: 'pids', limit: 64, observed: 65, action: 'killed' })
  await new Promise((resolve) => setImmediate(resolve))
  await rejecting.close()
  const errors = readRecords(box.log).filter((r) => r.event === 'alert_handler_error')
  assert.equal(errors.length, 2)
  assert.equal(errors[1].err.message, 'async pager is down')
})

test('wrapping an app logger: its bindings are inherited, its level and destination are not', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const app = memoryLogger({ name: 'assistant', level: 'error' })
  const appLogger = app.logger.child({ service: 'runner' })
  const audit = createAuditLogger({ config: policy(box), logger: appLogger })
  audit.logContainerCreation({ containerId: 'c', image: 'i' })
  assert.equal(audit.logger.level, 'info')
  await audit.close()
  const [record] = auditRecords(box)
  assert.equal(record.name, 'assistant')
  assert.equal(record.service, 'runner')
  assert.equal(record.level, 30) // written although the app logs only errors
  assert.deepEqual(app.lines, []) // nothing went to the app's destination
  assertIntact(box)
})

test('flush() resolves with records on disk; close() seals once; logging after close throws PAC_CLOSED', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const audit = createAuditLogger({ config: policy(box) })
  const id = audit.logContainerCreation({ containerId: 'c', image: 'i' })
  await audit.flush()
  assert.ok(readFileSync(box.log, 'utf8').includes(id))
  await Promise.all([audit.close(), audit.close()])
  await audit.close()
  assert.throws(() => audit.logContainerCreation({ containerId: 'c', image: 'i' }), (err: Error) => hasCode(err, 'PAC_CLOSED'))
  const records = readRecords(box.log)
  assert.equal(records.filter((r) => r.event === 'chain.close').length, 1)
  assert.equal(records.at(-1)?.records, 3)
  assert.equal(existsSync(`${box.log}.head.json`), true)
})

test('start-up errors come from the caller\'s thread: no signing key, a bad transport option, a bad config object', (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const noKey = parseAuditPolicy({ storage_location: 'logs' }, { baseDir: box.dir })
  assert.throws(() => createAuditLogger({ config: noKey }), (err: Error) => hasCode(err, 'PAC_CONFIG') && /no signing key: set signing\.private_key_path/.test(err.message))
  assert.throws(() => createAuditLogger({ config: policy(box), transport: { fsync: 'sometimes' as any } }), (err: Error) => hasCode(err, 'PAC_BAD_OPTION') && /fsync/.test(err.message))
  assert.throws(() => createAuditLogger({ config: { ...policy(box), logLevel: 'loud' as any } }), (err: Error) => err instanceof RangeError && /config\.logLevel/.test(err.message))
  assert.throws(() => createAuditLogger({ config: join(box.dir, 'missing.yaml') }), (err: Error) => hasCode(err, 'PAC_CONFIG') && err.message.includes('missing.yaml'))
  assert.equal(existsSync(box.log), false)
})

test('transport overrides: a PEM key given directly replaces the policy\'s key path', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const config = parseAuditPolicy({ storage_location: 'logs', signing: { private_key_path: 'no/such/key' } }, { baseDir: box.dir })
  const audit = createAuditLogger({ config, transport: { privateKey: readFileSync(box.keyPath, 'utf8'), headFile: false } })
  audit.logContainerCreation({ containerId: 'c', image: 'i' })
  await audit.close()
  assert.equal(auditRecords(box).length, 1)
  assert.equal(existsSync(`${box.log}.head.json`), false)
  assertIntact(box)
})

test('hash_chain_enabled: false writes plain pino lines and warns once on start', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const warnings: Error[] = []
  const onWarning = (w: Error): void => { if ((w as Error & { code?: string }).code === 'PAC_UNCHAINED') warnings.push(w) }
  process.on('warning', onWarning)
  t.after(() => { process.off('warning', onWarning) })
  for (let i = 0; i < 2; i++) {
    const audit = createAuditLogger({ config: parseAuditPolicy({ hash_chain_enabled: false, storage_location: 'logs' }, { baseDir: box.dir }) })
    audit.logContainerCreation({ containerId: 'c', image: 'i' })
    await audit.close()
  }
  await new Promise((resolve) => setImmediate(resolve)) // warnings are emitted on the next tick
  assert.equal(warnings.length, 1)
  assert.match(warnings[0].message, /without hash chain or signature/)
  const lines = readRecords(box.log)
  assert.equal(lines.length, 2)
  assert.equal(lines[0].event, 'container_creation')
  assert.equal(lines[0].chain, undefined)
})

test('the policy\'s rotation and retention_period drive the transport: files rotate, old ones are pruned, the chain verifies', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  // Files from an earlier run, closed (by the signed time of the record after them)
  // more than retention_period ago: pruned at start. Their mtime is not what counts.
  const first = createAuditLogger({ config: policy(box, { rotation: { max_size: '4KB' } }) })
  for (let i = 0; i < 40; i++) first.logSecurityAssessment({ code: `print(${i})`, riskLevel: 'LOW' })
  await first.close()
  const dir = join(box.dir, 'logs')
  const rotated = (): string[] => readdirSync(dir).filter((n) => /^audit\..*Z\.\d+\.log$/.test(n))
  const before = rotated()
  assert.ok(before.length >= 3, `rotated into ${before.length} files`)
  await new Promise((resolve) => setTimeout(resolve, 1200))
  const second = createAuditLogger({ config: policy(box, { rotation: { max_size: '4KB' }, retention_period: '1s' }) })
  second.logSecurityAssessment({ code: 'print(1)', riskLevel: 'LOW' })
  await second.close()
  for (const name of before) assert.equal(existsSync(join(dir, name)), false, `${name} pruned`)
  const report = await verify([dir], { keys: [box.pubPath] })
  assert.equal(report.ok, true, JSON.stringify(report.problems.slice(0, 2)))
  assert.ok((report.chains[0].prunedBefore ?? 0) > 0)
})
