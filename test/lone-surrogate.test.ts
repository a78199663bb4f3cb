/**
 * FORMAT.md §3: what becomes of a lone surrogate ('\ud800') an app logs. pino writes
 * short strings (msg, keys, top-level string values) without escaping it; the UTF-8
 * encoding in the app's thread (thread-stream) then replaces it with U+FFFD before the
 * writer sees it. Nested values go through JSON.stringify, which escapes it as the six
 * characters \ud800: kept as they are. Either way the line is valid UTF-8 and verifies.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import pino from 'pino'
import { auditChainTransport } from '../src/transport/spawn.js'
import { closeAuditTransport } from '../src/transport/close.js'
import { verify } from '../src/verify/index.js'
import { sandbox } from './helpers.js'

const REPLACED = Buffer.from([0xef, 0xbf, 0xbd]) // U+FFFD in UTF-8
const ESCAPED = Buffer.from('\\ud800') // the six ASCII characters

test('a lone surrogate is stored as U+FFFD in msg and keys, as the escape \\ud800 in nested values; the log verifies', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const transport = auditChainTransport({ destination: box.log, privateKeyPath: box.keyPath, handleSignals: false })
  const logger = pino({ base: null, timestamp: false }, transport)
  logger.info('msg a\ud800b')
  logger.info({ nested: { field: 'x\ud800y' } }, 'nested')
  logger.info({ ['key\ud800']: 1 }, 'key')
  logger.info({ top: 'y\ud800z' }, 'top-level value')
  // pino hands strings longer than 100 UTF-16 units to JSON.stringify, which escapes.
  logger.info({ long: `${'l'.repeat(100)}\ud800` }, 'long value')
  await closeAuditTransport(transport)

  const file = readFileSync(box.log)
  const stored = (...parts: Array<string | Buffer>): boolean => file.includes(Buffer.concat(parts.map((p) => typeof p === 'string' ? Buffer.from(p) : p)))
  assert.ok(stored('"msg":"msg a', REPLACED, 'b"'), 'msg: replaced')
  assert.ok(stored('"key', REPLACED, '":1'), 'key: replaced')
  assert.ok(stored('"top":"y', REPLACED, 'z"'), 'short top-level value: replaced')
  assert.ok(stored('"field":"x', ESCAPED, 'y"'), 'nested value: escaped')
  assert.ok(stored('l', ESCAPED, '"'), 'long value: escaped')
  assert.ok(file.equals(Buffer.from(file.toString('utf8'))), 'the file is valid UTF-8')

  // Parsed back: the escape is a lone surrogate again, the replacement stays U+FFFD.
  const records = readFileSync(box.log, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l))
  assert.equal(records.find((r) => r.msg === 'nested').nested.field, 'x\ud800y')
  assert.equal(records.find((r) => r.msg === 'long value').long, `${'l'.repeat(100)}\ud800`)
  assert.equal(records.find((r) => r.msg === 'msg a\ufffdb')?.msg, 'msg a\ufffdb')

  const report = await verify([box.log], { keys: [box.pubPath], requireSeal: true })
  assert.equal(report.ok, true, JSON.stringify(report.problems))
})
