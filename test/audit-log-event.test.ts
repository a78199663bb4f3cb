/**
 * logEvent: the app's own event types through createAuditLogger, with the real
 * transport in pino's worker thread, read back and verified (issue 15, item 4).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createAuditLogger, parseAuditPolicy, type AuditAlert } from '../dist/audit/index.js'
import { hasCode } from '../dist/errors.js'
import { verify } from '../dist/verify/index.js'
import { readRecords, sandbox } from './helpers.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

test('logEvent writes one signed record of the app\'s own type, levelled by its option, from the logger and its children, counted by an event: threshold', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const policyFile = join(box.dir, 'audit.yaml')
  writeFileSync(policyFile, [
    'storage_location: ./logs',
    `signing: { private_key_path: ${JSON.stringify(box.keyPath)} }`,
    'max_field_bytes: 64',
    'alert_thresholds:',
    '  failed_logins: { event: user.login_failed, count: 2, window: 1m }',
    ''
  ].join('\n'))
  const alerts: AuditAlert[] = []
  const audit = createAuditLogger({ config: policyFile, onAlert: (a) => { alerts.push(a) } })
  const login = audit.logEvent('user.login', { user: 'ada', method: 'sso', mfa: true, roles: ['admin', 'dev'], session: { id: 's-1', ttlSeconds: 3600 } })
  assert.match(login, UUID)
  const child = audit.child({ sessionId: 's-1' })
  const rotated = child.logEvent('key.rotation', { kid: 'abc', reason: 'x'.repeat(200) }, { level: 'warn', msg: 'signing key rotated' })
  audit.logEvent('user.login_failed', { user: 'eve' }, { level: 'warn' })
  assert.equal(alerts.length, 0)
  const second = audit.logEvent('user.login_failed', { user: 'eve' }, { level: 'warn' })
  assert.equal(alerts.length, 1, 'the threshold naming the type fired at its count')
  assert.equal(alerts[0].thresholdEvent, 'user.login_failed')
  assert.equal(alerts[0].triggeredBy.at(-1), second)
  audit.logEvent('policy_change')
  await audit.close()

  const records = readRecords(box.log).slice(1, -1)
  assert.deepEqual(records.map((r) => [r.event, r.level]), [
    ['user.login', 30], ['key.rotation', 40], ['user.login_failed', 40], ['user.login_failed', 40], ['alert', 50], ['policy_change', 30]
  ])
  assert.deepEqual(records[0], { ...records[0], eventId: login, msg: 'user.login', user: 'ada', method: 'sso', mfa: true, roles: ['admin', 'dev'], session: { id: 's-1', ttlSeconds: 3600 } })
  assert.equal(records[1].eventId, rotated)
  assert.equal(records[1].sessionId, 's-1', 'a child\'s bindings are in its records')
  assert.equal(records[1].msg, 'signing key rotated')
  // Over max_field_bytes: capped like code and output, full length and hash kept.
  assert.deepEqual(records[1].reason, { text: 'x'.repeat(64), truncated: true, originalBytes: 200, sha256: createHash('sha256').update('x'.repeat(200)).digest('hex') })
  const report = await verify([box.log], { keys: [box.pubPath], requireSeal: true })
  assert.equal(report.ok, true, JSON.stringify(report.problems))
})

test('logEvent refuses, naming what is wrong and writing nothing: a bad or taken type, reserved keys, data JSON cannot hold', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const audit = createAuditLogger({ config: parseAuditPolicy({ storage_location: 'logs', signing: { private_key_path: box.keyPath } }, { baseDir: box.dir }) })
  const cycle: Record<string, unknown> = { a: 1 }
  cycle.self = cycle
  const bad: Array<[() => unknown, RegExp]> = [
    [() => audit.logEvent('User.Login', {}), /^logEvent: type must be a lowercase word with dots or underscores/],
    [() => audit.logEvent('user..login', {}), /^logEvent: type must be a lowercase word/],
    [() => audit.logEvent(42 as unknown as string, {}), /^logEvent: type must be a string, got 42/],
    [() => audit.logEvent('code_execution', {}), /^logEvent: type must be not a built-in event type: use its own method \(logCodeExecution\)/],
    [() => audit.logEvent('chain.close', {}), /^logEvent: type must be not an event the transport or the logger writes itself/],
    [() => audit.logEvent('alert', {}), /^logEvent: type must be not an event the transport or the logger writes itself/],
    [() => audit.logEvent('user.login', { chain: {} }), /^logEvent: fields\.chain must be not one of the keys the logger writes itself/],
    [() => audit.logEvent('user.login', { time: 1 }), /^logEvent: fields\.time must be not one of the keys/],
    [() => audit.logEvent('user.login', { f: () => 1 }), /^logEvent: fields\.f must be JSON data/],
    [() => audit.logEvent('user.login', { n: { deep: [1, Number.NaN] } }), /^logEvent: fields\.n\.deep\[1\] must be a finite number/],
    [() => audit.logEvent('user.login', { u: undefined }), /^logEvent: fields\.u must be JSON data/],
    [() => audit.logEvent('user.login', cycle), /^logEvent: fields\.self must be JSON data without cycles/],
    [() => audit.logEvent('user.login', { at: new Date() }), /^logEvent: fields\.at must be a plain object or array/],
    [() => audit.logEvent('user.login', {}, { level: 'fatal' as 'info' }), /^logEvent: options\.level must be one of info, warn, error/],
    [() => audit.logEvent('user.login', {}, { colour: 'red' } as unknown as { level: 'info' }), /^logEvent: unknown field options\.colour/]
  ]
  for (const [call, message] of bad) assert.throws(call, (err: Error) => message.test(err.message), String(message))
  await audit.close()
  assert.deepEqual(readRecords(box.log).map((r) => r.event), ['chain.open', 'chain.close'])
  assert.throws(() => audit.logEvent('user.login', {}), (err: Error) => hasCode(err, 'PAC_CLOSED'))
})

test('a threshold naming a type that logEvent could never write is a policy error naming the key', () => {
  assert.throws(() => parseAuditPolicy({ alert_thresholds: { bursts: { event: 'Chain Open', count: 1, window: '1m' } } }),
    (err: Error) => hasCode(err, 'PAC_CONFIG') && err.message.includes('alert_thresholds.bursts.event') && err.message.includes('a lowercase word with dots or underscores'))
  assert.throws(() => parseAuditPolicy({ alert_thresholds: { seals: { event: 'chain.close', count: 1, window: '1m' } } }),
    (err: Error) => hasCode(err, 'PAC_CONFIG') && err.message.includes('alert_thresholds.seals.event'))
})
