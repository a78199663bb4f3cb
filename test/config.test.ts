/**
 * loadAuditConfig: the shipped policy, defaults, relative paths, and every kind of
 * bad policy — each error must name the file, the key path, what was found and
 * what was expected.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadAuditConfig, parseAuditPolicy } from '../src/config/load.js'
import { hasCode } from '../src/errors.js'
import { ROOT } from './helpers.js'

const dir = mkdtempSync(join(tmpdir(), 'pac-config-'))
test.after(() => { rmSync(dir, { recursive: true, force: true }) })

let n = 0
function policyFile (text: string): string {
  const file = join(dir, `policy-${n++}.yaml`)
  writeFileSync(file, text)
  return file
}

/** Load `text` as a policy and return the PAC_CONFIG message (fails if it loads). */
function configError (text: string): { file: string, message: string } {
  const file = policyFile(text)
  try {
    loadAuditConfig(file)
  } catch (err) {
    assert.ok(hasCode(err, 'PAC_CONFIG'), `expected PAC_CONFIG, got ${String(err)}`)
    return { file, message: (err as Error).message }
  }
  assert.fail(`policy loaded but should not have:\n${text}`)
}

function assertMentions (message: string, ...parts: string[]): void {
  for (const part of parts) assert.ok(message.includes(part), `message should mention ${JSON.stringify(part)}:\n${message}`)
}

test('the shipped config/audit.yaml loads, with paths resolved against config/', () => {
  const config = loadAuditConfig(join(ROOT, 'config/audit.yaml'))
  assert.equal(config.hashChainEnabled, true)
  assert.equal(config.logLevel, 'comprehensive')
  assert.equal(config.storageLocation, join(ROOT, 'logs/audit'))
  assert.equal(config.privateKeyPath, join(ROOT, 'keys/audit-ed25519.key'))
  assert.equal(config.retentionPeriodMs, 30 * 24 * 3600 * 1000)
  assert.deepEqual(config.rotation, { maxSizeBytes: 10 * 1024 * 1024, intervalMs: 24 * 3600 * 1000 })
  assert.equal(config.maxFieldBytes, 64 * 1024)
  assert.deepEqual(config.alertThresholds, [
    { name: 'resource_violation', event: 'resource_violation', count: 3, windowMs: 300_000, window: '5m' },
    { name: 'security_assessment', event: 'security_assessment', count: 1, windowMs: 3_600_000, window: '1h', riskLevel: 'HIGH' }
  ])
})

test('an empty policy file is all defaults; relative paths resolve against the file, not the cwd', () => {
  const sub = join(dir, 'nested')
  mkdirSync(sub)
  const empty = join(sub, 'empty.yaml')
  writeFileSync(empty, '# nothing set\n')
  const config = loadAuditConfig(empty)
  assert.equal(config.hashChainEnabled, true)
  assert.equal(config.logLevel, 'standard')
  assert.equal(config.storageLocation, join(sub, 'logs/audit'))
  assert.equal(config.maxFieldBytes, 65536)
  assert.deepEqual(config.alertThresholds, [])
  assert.equal(config.privateKeyPath, undefined)
  assert.equal(config.source, empty)
})

test('a threshold with its own name counts the event it names; max_field_bytes takes a plain byte count', () => {
  const config = parseAuditPolicy({
    max_field_bytes: 1000,
    alert_thresholds: { kills: { event: 'resource_violation', count: 2, window: '90s' } }
  }, { baseDir: dir })
  assert.equal(config.maxFieldBytes, 1000)
  assert.deepEqual(config.alertThresholds, [{ name: 'kills', event: 'resource_violation', count: 2, windowMs: 90_000, window: '90s' }])
})

test('signing.epoch_keys_path (epoch keys instead of one key) resolves against the file, and cannot be given with private_key_path', () => {
  const file = join(dir, 'epochs.yaml')
  writeFileSync(file, 'signing:\n  epoch_keys_path: keys/epochs\n')
  const config = loadAuditConfig(file)
  assert.equal(config.epochKeysPath, join(dir, 'keys/epochs'))
  assert.equal(config.privateKeyPath, undefined)
  const both = configError('signing:\n  private_key_path: a.key\n  epoch_keys_path: epochs\n')
  assertMentions(both.message, both.file, 'key signing', 'only one of private_key_path (one key) or epoch_keys_path')
})

test('a missing policy file is named', () => {
  const missing = join(dir, 'no-such-policy.yaml')
  assert.throws(() => loadAuditConfig(missing), (err: Error) => {
    assert.ok(hasCode(err, 'PAC_CONFIG'))
    assertMentions(err.message, missing, 'does not exist')
    return true
  })
})

test('a YAML syntax error gives the file, line and column', () => {
  const { file, message } = configError('log_level: standard\nrotation:\n  max_size: [10MB\n')
  assertMentions(message, file, 'YAML syntax error', 'line 4', 'column')
  const dup = configError('log_level: standard\nlog_level: minimal\n')
  assertMentions(dup.message, dup.file, 'line 2', 'duplicate')
})

test('an unknown key is an error naming it and the closest known key', () => {
  const { file, message } = configError('retention_perod: 30d\n')
  assertMentions(message, file, 'unknown key retention_perod', 'did you mean "retention_period"')
  const nested = configError('rotation:\n  max_sise: 10MB\n')
  assertMentions(nested.message, nested.file, 'unknown key rotation.max_sise', 'did you mean "max_size"')
  const inThreshold = configError('alert_thresholds:\n  resource_violation: { count: 3, window: 5m, windw: 1m }\n')
  assertMentions(inThreshold.message, 'unknown key alert_thresholds.resource_violation.windw', 'did you mean "window"')
})

test('a value of the wrong type names the key path, what was found and what was expected', () => {
  const cases: Array<[string, string[]]> = [
    ['hash_chain_enabled: yes\n', ['key hash_chain_enabled', 'expected true or false', 'found "yes"']],
    ['log_level: verbose\n', ['key log_level', 'minimal, standard, comprehensive', 'found "verbose"']],
    ['storage_location: 42\n', ['key storage_location', 'expected a path', 'found 42']],
    ['retention_period: 30\n', ['key retention_period', 'a duration with a unit', 'found 30']],
    ['retention_period: thirty days\n', ['key retention_period', 'a duration with a unit', 'found "thirty days"']],
    ['rotation:\n  max_size: 10 potatoes\n', ['key rotation.max_size', 'a size such as "10MB"', 'found "10 potatoes"']],
    ['rotation:\n  interval: -1d\n', ['key rotation.interval', 'a duration', 'found "-1d"']],
    ['rotation: daily\n', ['key rotation', 'a mapping', 'found "daily"']],
    ['signing:\n  private_key_path:\n', ['key signing.private_key_path', 'a path', 'found an empty value (null)']],
    ['max_field_bytes: 0\n', ['key max_field_bytes', 'a size', 'found 0']],
    ['alert_thresholds:\n  resource_violation: { count: "3", window: 5m }\n', ['key alert_thresholds.resource_violation.count', 'a whole number >= 1', 'found "3"']],
    ['alert_thresholds:\n  resource_violation: { count: 0, window: 5m }\n', ['key alert_thresholds.resource_violation.count', 'found 0']],
    ['alert_thresholds:\n  resource_violation: { count: 3 }\n', ['key alert_thresholds.resource_violation.window', 'a duration', 'found nothing (the key is missing)']],
    ['alert_thresholds:\n  resource_violation: { count: 3, window: soon }\n', ['key alert_thresholds.resource_violation.window', 'a duration', 'found "soon"']],
    ['alert_thresholds:\n  security_assessment: { risk_level: HIGHEST, count: 1, window: 1h }\n', ['key alert_thresholds.security_assessment.risk_level', 'SAFE, LOW, MEDIUM, HIGH, CRITICAL, BLOCKED', 'found "HIGHEST"']],
    ['alert_thresholds:\n  resource_violation: { risk_level: HIGH, count: 1, window: 1h }\n', ['key alert_thresholds.resource_violation.risk_level', 'only applies to security_assessment', 'found "HIGH"']],
    ['alert_thresholds:\n  burst: { count: 5, window: 1m }\n', ['key alert_thresholds.burst.event', 'required because the threshold name "burst"', 'found nothing']],
    ['- log_level: standard\n', ['key (top level)', 'a mapping of policy keys', 'found a list']]
  ]
  for (const [text, parts] of cases) {
    const { file, message } = configError(text)
    assertMentions(message, file, ...parts)
  }
})

test('all problems of a policy are reported at once, one line each', () => {
  const { message } = configError('log_level: loud\nhash_chain_enabled: 1\nretention_perod: 30d\n')
  const lines = message.split('\n')
  assert.equal(lines.length, 3, message)
})

test('each problem names the line its key is written on (file:line), a missing key the line of its mapping', () => {
  const text = [
    '# audit policy', //                          1
    'log_level: loud', //                         2
    'rotation:', //                               3
    '  max_size: 10 potatoes', //                 4
    'alert_thresholds:', //                       5
    '  resource_violation:', //                   6
    '    count: 3', //                            7
    '  security_assessment: { count: 1, window: 1h, risk_levl: HIGH }', // 8
    ''
  ].join('\n')
  const { file, message } = configError(text)
  const lines = message.split('\n')
  const lineOf = (key: string): string | undefined => lines.find((l) => l.includes(key))
  assertMentions(lineOf('key log_level') ?? '', `${file}:2: key log_level`)
  assertMentions(lineOf('key rotation.max_size') ?? '', `${file}:4: key rotation.max_size`)
  // window is missing: the message points at the threshold that lacks it.
  assertMentions(lineOf('resource_violation.window') ?? '', `${file}:6: key alert_thresholds.resource_violation.window`, 'found nothing')
  assertMentions(lineOf('risk_levl') ?? '', `${file}:8: unknown key alert_thresholds.security_assessment.risk_levl`)
  // A policy given as an object (parseAuditPolicy) has no lines to name.
  assert.throws(() => parseAuditPolicy({ log_level: 'loud' }, { file: 'inline.yaml' }), (err: Error) => err.message.includes('inline.yaml: key log_level'))
})
