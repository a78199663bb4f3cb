/**
 * The audit logger's pure parts, without a worker: alert windows, caps, diffs,
 * levels and input validation messages.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { createAlertTracker } from '../src/audit/alerts.js'
import { captureText } from '../src/audit/cap.js'
import { unifiedDiff } from '../src/audit/diff.js'
import { checkCodeExecution, checkResourceViolation, checkSecurityAssessment, checkContainerCreation } from '../src/audit/inputs.js'
import { assessmentLevel, codeExecutionLevel, violationLevel } from '../src/audit/severity.js'
import type { AlertThreshold } from '../src/config/types.js'

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex')

test('a threshold fires on exactly the count-th event in its window, then counts from zero', () => {
  const t: AlertThreshold = { name: 'rv', event: 'resource_violation', count: 3, windowMs: 1000, window: '1s' }
  const tracker = createAlertTracker([t])
  const at = (id: string, time: number) => tracker.observe({ event: 'resource_violation', eventId: id, time })
  assert.deepEqual(at('a', 0), [])
  assert.deepEqual(at('b', 100), [])
  const fired = at('c', 200)
  assert.equal(fired.length, 1)
  assert.deepEqual(fired[0].records.map((r) => r.eventId), ['a', 'b', 'c'])
  // The window reset: two more are not enough, the third is.
  assert.deepEqual(at('d', 300), [])
  assert.deepEqual(at('e', 400), [])
  assert.deepEqual(at('f', 500)[0].records.map((r) => r.eventId), ['d', 'e', 'f'])
})

test('events that left the window no longer count; one exactly `window` old has left it', () => {
  const tracker = createAlertTracker([{ name: 'rv', event: 'resource_violation', count: 2, windowMs: 1000, window: '1s' }])
  const at = (id: string, time: number) => tracker.observe({ event: 'resource_violation', eventId: id, time })
  assert.deepEqual(at('a', 0), [])
  assert.deepEqual(at('b', 1000), [])
  assert.deepEqual(at('c', 1999)[0].records.map((r) => r.eventId), ['b', 'c'])
})

test('other events and assessments below the risk minimum are not counted; BLOCKED ranks above CRITICAL', () => {
  const tracker = createAlertTracker([{ name: 'sa', event: 'security_assessment', count: 2, windowMs: 60_000, window: '1m', riskLevel: 'CRITICAL' }])
  assert.deepEqual(tracker.observe({ event: 'code_execution', eventId: 'x', time: 0 }), [])
  assert.deepEqual(tracker.observe({ event: 'security_assessment', eventId: 'h', time: 1, riskLevel: 'HIGH' }), [])
  assert.deepEqual(tracker.observe({ event: 'security_assessment', eventId: 'c', time: 2, riskLevel: 'CRITICAL' }), [])
  assert.deepEqual(tracker.observe({ event: 'security_assessment', eventId: 'b', time: 3, riskLevel: 'BLOCKED' })[0].records.map((r) => r.eventId), ['c', 'b'])
})

test('captureText keeps short text, cuts long text on a UTF-8 boundary and hashes the full content', () => {
  assert.deepEqual(captureText('hello', 10, true), { text: 'hello', truncated: false, originalBytes: 5, sha256: sha256('hello') })
  const long = 'é'.repeat(10) // 20 bytes
  const cut = captureText(long, 5, true)
  assert.equal(cut.text, 'éé') // 4 bytes: the 5th byte would split a character
  assert.equal(cut.truncated, true)
  assert.equal(cut.originalBytes, 20)
  assert.equal(cut.sha256, sha256(long))
  assert.deepEqual(captureText(long, 5, false), { originalBytes: 20, sha256: sha256(long) })
})

test('unifiedDiff makes a unified diff with file headers and hunks', () => {
  const d = unifiedDiff('a\nb\nc\n', 'a\nB\nc\n')
  assert.ok('patch' in d)
  assert.equal(d.patch, '--- previous\n+++ current\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n')
  const huge = 'x\n'.repeat(600_000)
  assert.deepEqual(unifiedDiff(huge, 'y'), { omitted: 'too-large' })
})

test('levels follow severity', () => {
  assert.equal(codeExecutionLevel({ exitCode: 0, durationMs: 1 }), 'info')
  assert.equal(codeExecutionLevel({ exitCode: 1, durationMs: 1 }), 'warn')
  assert.equal(codeExecutionLevel({ exitCode: 0, durationMs: 1, timedOut: true }), 'warn')
  assert.deepEqual(['SAFE', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL', 'BLOCKED'].map((r) => assessmentLevel(r as never)), ['info', 'info', 'info', 'warn', 'error', 'error'])
  assert.deepEqual(['warned', 'throttled', 'killed'].map((a) => violationLevel(a as never)), ['warn', 'warn', 'error'])
})

test('bad inputs: TypeError for a wrong type or a missing field, RangeError for a value out of range, naming the field', () => {
  const run = { code: 'x', language: 'python', result: { exitCode: 0, durationMs: 1 } }
  const cases: Array<[() => unknown, ErrorConstructor, string]> = [
    [() => checkCodeExecution({ ...run, result: { exitCode: '0', durationMs: 1 } }), TypeError, 'logCodeExecution: result.exitCode must be an integer, got "0"'],
    [() => checkCodeExecution({ ...run, result: { exitCode: 1.5, durationMs: 1 } }), RangeError, 'logCodeExecution: result.exitCode must be an integer, got 1.5'],
    [() => checkCodeExecution({ ...run, result: { exitCode: 0, durationMs: -1 } }), RangeError, 'logCodeExecution: result.durationMs must be a number >= 0, got -1'],
    [() => checkCodeExecution({ language: 'python', result: run.result }), TypeError, 'logCodeExecution: code must be a string, got undefined'],
    [() => checkCodeExecution({ ...run, result: undefined }), TypeError, 'logCodeExecution: result must be an object, got undefined'],
    [() => checkCodeExecution({ ...run, result: { exitcode: 0, durationMs: 1 } }), TypeError, 'logCodeExecution: unknown field result.exitcode'],
    [() => checkCodeExecution(undefined), TypeError, 'logCodeExecution: event must be an object, got undefined'],
    [() => checkCodeExecution({ ...run, startedAt: 'yesterday' }), RangeError, 'logCodeExecution: startedAt must be a valid time'],
    [() => checkSecurityAssessment({ code: 'x', riskLevel: 'high' }), RangeError, 'logSecurityAssessment: riskLevel must be one of SAFE, LOW, MEDIUM, HIGH, CRITICAL, BLOCKED, got "high"'],
    [() => checkSecurityAssessment({ code: 'x', riskLevel: 'HIGH', findings: [{ rule: 'B602', severity: 'HIGH', message: 'm', line: 0 }] }), RangeError, 'logSecurityAssessment: findings[0].line must be an integer >= 1, got 0'],
    [() => checkSecurityAssessment({ code: 'x', riskLevel: 'HIGH', findings: {} }), TypeError, 'logSecurityAssessment: findings must be an array, got an object'],
    [() => checkContainerCreation({ containerId: 'c', image: '' }), RangeError, 'logContainerCreation: image must be a non-empty string, got ""'],
    [() => checkContainerCreation({ containerId: 'c', image: 'i', limits: { memoryBytes: '256m' } }), TypeError, 'logContainerCreation: limits.memoryBytes must be an integer >= 1, got "256m"'],
    [() => checkResourceViolation({ containerId: 'c', resource: 'memory', limit: 1, observed: 2, action: 'kill' }), RangeError, 'logResourceViolation: action must be one of warned, throttled, killed, got "kill"'],
    [() => checkResourceViolation({ containerId: 'c', resource: 'memory', limit: 1, action: 'killed' }), TypeError, 'logResourceViolation: observed must be a number >= 0, got undefined']
  ]
  for (const [call, type, message] of cases) {
    assert.throws(call, (err: Error) => {
      assert.equal(err.constructor, type, `${err.constructor.name} for: ${err.message}`)
      assert.ok(err.message.startsWith(message), `${err.message}\n  should start with\n${message}`)
      return true
    })
  }
})
