/**
 * The transport as an app uses it: real pino, real worker threads, real files,
 * real child processes (exit, kill -9, a second writer).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateKeyPairSync } from 'node:crypto'
import { once } from 'node:events'
import pino from 'pino'
import { auditChainTransport } from '../src/transport/spawn.js'
import { closeAuditTransport } from '../src/transport/close.js'
import { hasCode } from '../src/errors.js'
import { verify } from '../src/verify/index.js'
import { readRecords, removeDirectory, runApp, runInstalledApp, sandbox, startApp } from './helpers.js'

test('an app that logs 10,000 records and exits normally leaves an intact, sealed chain', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const run = await runApp({ destination: box.log, key: box.keyPath, count: 10_000, after: 'return' })
  assert.equal(run.code, 0, run.stderr)
  const records = readRecords(box.log)
  assert.equal(records.length, 10_002) // chain.open + 10,000 + chain.close
  assert.equal(records[0].event, 'chain.open')
  assert.equal(records.at(-1)?.event, 'chain.close')
  assert.equal(records.at(-1)?.records, 10_002)
  assert.deepEqual(records.slice(1, -1).map((r) => r.i), Array.from({ length: 10_000 }, (_, i) => i))
  assert.deepEqual(records.map((r) => r.chain.seq), Array.from({ length: 10_002 }, (_, i) => i))
  const report = await verify([box.log], { keys: [box.pubPath] })
  assert.equal(report.ok, true, JSON.stringify(report.problems.slice(0, 3)))
  assert.deepEqual(report.warnings, [])
  assert.equal(report.records, 10_002)
  // the head file written at close names the seal
  const head = JSON.parse(readFileSync(`${box.log}.head.json`, 'utf8'))
  assert.equal(head.seq, 10_001)
  assert.equal(head.hash, records.at(-1)?.chain.hash)
  // file modes and no lock left behind
  assert.equal(statSync(box.log).mode & 0o777, 0o640)
  assert.equal(existsSync(`${box.log}.lock`), false)
})

test('process.exit() right after logging: every record is on disk and the chain sealed', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const run = await runApp({ destination: box.log, key: box.keyPath, count: 20_000, after: 'exit' })
  assert.equal(run.code, 0, run.stderr)
  const records = readRecords(box.log)
  assert.equal(records.length, 20_002)
  assert.equal(records.at(-1)?.event, 'chain.close')
  const report = await verify([box.log], { keys: [box.pubPath] })
  assert.equal(report.ok, true)
})

test('target: "pino-audit-chain" resolves from a separate app directory through pino\'s resolver', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const { code, stderr } = await runInstalledApp(box.dir, `
    const pino = require('pino')
    const logger = pino(pino.transport({ target: 'pino-audit-chain', options: ${JSON.stringify({ destination: box.log, privateKeyPath: box.keyPath })} }))
    logger.info({ event: 'login', user: 'ada' }, 'user logged in')
  `)
  assert.equal(code, 0, stderr)
  const records = readRecords(box.log)
  assert.deepEqual(records.map((r) => r.event), ['chain.open', 'login', 'chain.close'])
  assert.equal((await verify([box.log], { keys: [box.pubPath] })).ok, true)
})

test('kill -9 mid-stream, then a restart: one chain, continued by chain.resume, verifies', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const first = startApp({ destination: box.log, key: box.keyPath, count: 10_000_000, after: 'return', pace: 500 })
  await first.message((m) => m.logging === true)
  // Let it write for a while, then kill it without warning.
  for (let i = 0; i < 200 && (!existsSync(box.log) || statSync(box.log).size < 200_000); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  first.child.kill('SIGKILL')
  const killed = await first.exit
  assert.equal(killed.signal, 'SIGKILL')
  assert.equal(existsSync(`${box.log}.lock`), true, 'the dead writer left its lock behind')
  const before = readFileSync(box.log)
  const second = await runApp({ destination: box.log, key: box.keyPath, count: 100, after: 'return' })
  assert.equal(second.code, 0, second.stderr)
  // Nothing the first writer wrote was changed or removed.
  assert.ok(readFileSync(box.log).subarray(0, before.length).equals(before))
  const text = readFileSync(box.log, 'utf8')
  const opens = text.match(/"event":"chain\.open"/g) ?? []
  const resumes = text.match(/"event":"chain\.resume"/g) ?? []
  assert.equal(opens.length, 1)
  assert.equal(resumes.length, 1)
  const report = await verify([box.log], { keys: [box.pubPath] })
  assert.equal(report.ok, true, JSON.stringify(report.problems.slice(0, 3)))
  assert.equal(report.chains.length, 1)
})

test('a torn last line is kept, ended, and described by chain.resume; verify warns but passes', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  assert.equal((await runApp({ destination: box.log, key: box.keyPath, count: 3, after: 'return' })).code, 0)
  const torn = '{"level":30,"time":1,"msg":"half a rec'
  appendFileSync(box.log, torn)
  const sizeBefore = statSync(box.log).size
  assert.equal((await runApp({ destination: box.log, key: box.keyPath, count: 2, after: 'return' })).code, 0)
  const lines = readFileSync(box.log, 'utf8').split('\n')
  const tornIndex = lines.indexOf(torn)
  assert.ok(tornIndex > 0, 'the torn bytes are still there, on a line of their own')
  const resume = JSON.parse(lines[tornIndex + 1])
  assert.equal(resume.event, 'chain.resume')
  assert.deepEqual(resume.torn.offset + resume.torn.length, sizeBefore)
  assert.equal(resume.torn.length, Buffer.byteLength(torn))
  const report = await verify([box.log], { keys: [box.pubPath] })
  assert.equal(report.ok, true, JSON.stringify(report.problems))
  assert.deepEqual(report.warnings.map((w) => w.kind), ['torn'])
})

test('a second writer on the same destination fails with a clear error and the first chain stays intact', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const first = startApp({ destination: box.log, key: box.keyPath, count: 10, after: 'hang' })
  t.after(() => first.child.kill('SIGKILL'))
  await first.message((m) => m.flushed === true)
  // In the caller's thread:
  assert.throws(() => auditChainTransport({ destination: box.log, privateKeyPath: box.keyPath }), (err: Error) => {
    assert.ok(hasCode(err, 'PAC_LOCKED'))
    assert.match(err.message, new RegExp(`already being written by process ${first.child.pid}`))
    assert.ok(err.message.includes(box.log))
    return true
  })
  // And through plain pino.transport, where only the worker can see it:
  const second = await runApp({ destination: box.log, key: box.keyPath, count: 1, after: 'return', target: 'package' })
  assert.notEqual(second.code, 0)
  assert.match(second.stderr, /PAC_LOCKED: .*already being written by process/)
  first.child.kill('SIGTERM')
  await first.exit
  const records = readRecords(box.log)
  assert.equal(records.filter((r) => r.event === 'chain.open').length, 1)
  assert.equal(records.filter((r) => r.event === 'chain.resume').length, 0)
  assert.deepEqual(records.map((r) => r.chain.seq), Array.from({ length: records.length }, (_, i) => i))
})

test('logger.flush(cb) calls back when the records are in the file', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const transport = auditChainTransport({ destination: box.log, privateKeyPath: box.keyPath })
  const logger = pino(transport)
  for (let i = 0; i < 500; i++) logger.info({ n: i }, 'flush me')
  await new Promise<void>((resolve, reject) => logger.flush((err) => { err ? reject(err) : resolve() }))
  const records = readRecords(box.log)
  assert.equal(records.filter((r) => r.msg === 'flush me').length, 500)
  await closeAuditTransport(transport)
  assert.equal(readRecords(box.log).at(-1)?.event, 'chain.close')
})

test('odd input is written, verifiable, and the user\'s data is not lost', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const big = 'x'.repeat(5 * 1024 * 1024)
  const inputs = [
    'plain text, not JSON',
    '[1,2,3]',
    '{}',
    '{ }',
    '{"lone":"\\ud800 and \\udfff","emoji":"\u{1F600}","nul":"\\u0000"}',
    '{"msg":"has its own chain","chain":{"mine":true}}',
    '{"event":"chain.close","records":1}',
    `{"big":"${big}"}`,
    '  {"padded":true}  ',
    '{"a":1,"a":2}'
  ]
  const transport = auditChainTransport({ destination: box.log, privateKeyPath: box.keyPath })
  for (const line of inputs) transport.write(line + '\n')
  await closeAuditTransport(transport)
  const records = readRecords(box.log).slice(1, -1)
  assert.equal(records.length, inputs.length)
  assert.equal(records[0].wrapped, 'not-json')
  assert.equal(records[0].line, 'plain text, not JSON')
  assert.equal(records[1].wrapped, 'not-object')
  assert.equal(records[1].line, '[1,2,3]')
  assert.deepEqual(Object.keys(records[2]), ['chain']) // {} kept as is
  assert.equal(records[3].wrapped, 'empty-object')
  assert.equal(records[4].lone, '\ud800 and \udfff')
  assert.equal(records[4].emoji, '\u{1F600}')
  // The producer's own "chain" member is still in the line, before ours.
  const raw = readFileSync(box.log, 'utf8').split('\n')
  assert.ok(raw[6].startsWith('{"msg":"has its own chain","chain":{"mine":true},"chain":{"v":1,'))
  assert.equal(records[6].wrapped, 'reserved-event')
  assert.equal(records[6].line, '{"event":"chain.close","records":1}')
  assert.equal(records[7].big.length, big.length)
  assert.equal(records[8].padded, true)
  assert.equal(records[9].a, 2)
  assert.ok(raw[10].startsWith('{"a":1,"a":2,"chain"'), 'bytes are kept exactly, duplicate keys included')
  const report = await verify([box.log], { keys: [box.pubPath] })
  assert.equal(report.ok, true, JSON.stringify(report.problems))
  assert.deepEqual(report.warnings, [])
})

test('key problems are clear errors in the caller\'s thread, and nothing is written', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const attempt = (options: Record<string, unknown>): unknown => auditChainTransport({ destination: box.log, ...options } as never)
  assert.throws(() => attempt({ privateKeyPath: join(box.dir, 'nope.key') }), (err: Error) =>
    hasCode(err, 'PAC_KEY_MISSING') && err.message.includes('nope.key') && err.message.includes('privateKeyPath'))
  chmodSync(box.keyPath, 0o644)
  assert.throws(() => attempt({ privateKeyPath: box.keyPath }), (err: Error) =>
    hasCode(err, 'PAC_KEY_PERMISSIONS') && err.message.includes('chmod 600'))
  chmodSync(box.keyPath, 0o600)
  const rsa = join(box.dir, 'keys/rsa.key')
  writeFileSync(rsa, generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 })
  assert.throws(() => attempt({ privateKeyPath: rsa }), (err: Error) => hasCode(err, 'PAC_KEY_WRONG_TYPE') && /rsa key; expected an Ed25519/.test(err.message))
  const garbage = join(box.dir, 'keys/garbage.key')
  writeFileSync(garbage, 'not a key', { mode: 0o600 })
  assert.throws(() => attempt({ privateKeyPath: garbage }), (err: Error) => hasCode(err, 'PAC_KEY_WRONG_TYPE') && !err.message.includes('not a key'))
  assert.throws(() => attempt({}), (err: Error) => hasCode(err, 'PAC_BAD_OPTION'))
  assert.throws(() => attempt({ privateKeyPath: box.keyPath, fsync: 'sometimes' }), (err: Error) => hasCode(err, 'PAC_BAD_OPTION') && err.message.includes('fsync'))
  assert.throws(() => attempt({ privateKeyPath: box.keyPath, destinaton: 'x' }), (err: Error) => hasCode(err, 'PAC_BAD_OPTION') && err.message.includes('"destinaton"'))
  assert.equal(existsSync(box.log), false)
  // The same bad key given straight to pino.transport fails in the worker with the same message.
  chmodSync(box.keyPath, 0o640)
  const run = await runApp({ destination: box.log, key: box.keyPath, count: 1, after: 'return', target: 'package' })
  assert.notEqual(run.code, 0)
  assert.match(run.stderr, /PAC_KEY_PERMISSIONS: private key file .* must not be readable by group or others/)
})

test('a log whose last record was edited is not continued', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  assert.equal((await runApp({ destination: box.log, key: box.keyPath, count: 3, after: 'return' })).code, 0)
  const text = readFileSync(box.log, 'utf8')
  writeFileSync(box.log, text.replace('audit chain sealed', 'audit chain SEALED'))
  assert.throws(() => auditChainTransport({ destination: box.log, privateKeyPath: box.keyPath }), (err: Error) =>
    hasCode(err, 'PAC_TAIL_INVALID') && err.message.includes('does not match its hash'))
})

test('a log file deleted while being written: a loud warning, and the chain continues in a new file that says so', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const warnings: Error[] = []
  const onWarning = (w: Error): void => { warnings.push(w) }
  process.on('warning', onWarning)
  t.after(() => process.off('warning', onWarning))
  const transport = auditChainTransport({ destination: box.log, privateKeyPath: box.keyPath, headIntervalMs: 50 })
  const logger = pino(transport)
  logger.info({ n: 1 }, 'before')
  await new Promise<void>((resolve, reject) => logger.flush((err) => { err ? reject(err) : resolve() }))
  const kept = readRecords(box.log)
  unlinkSync(box.log)
  for (let i = 0; i < 100 && !existsSync(box.log); i++) await new Promise((resolve) => setTimeout(resolve, 20))
  logger.info({ n: 2 }, 'after')
  await closeAuditTransport(transport)
  assert.ok(warnings.some((w) => w.message.startsWith('PAC_FILE_REPLACED:') && w.message.includes(box.log)), 'the app is warned')
  const records = readRecords(box.log)
  assert.equal(records[0].event, 'file.open')
  assert.equal(records[0].reason, 'replaced')
  assert.equal(records[0].chainId, kept[0].chainId)
  assert.equal(records[0].chain.seq, kept.at(-1)?.chain.seq + 1, 'the chain goes on where the deleted file ended')
  assert.deepEqual(records.slice(1).map((r) => r.msg ?? r.event), ['after', 'audit chain sealed'])
  // An auditor holding only the new file is told records are missing before it.
  const report = await verify([box.log], { keys: [box.pubPath] })
  assert.deepEqual(report.problems.map((p) => p.kind), ['missing-start'])
})

test('the log directory removed while running: the app gets a clear error, not silence', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const transport = auditChainTransport({ destination: box.log, privateKeyPath: box.keyPath, headIntervalMs: 50 })
  const logger = pino(transport)
  logger.info('before')
  await new Promise<void>((resolve, reject) => logger.flush((err) => { err ? reject(err) : resolve() }))
  const failed = once(transport, 'error')
  ;(transport as unknown as { ref: () => void }).ref() // keep this otherwise idle test process up until it arrives
  removeDirectory(join(box.dir, 'logs'))
  const [err] = await failed as [Error]
  // Whichever the worker touches first: the log file it reopens, or the head file it refreshes.
  assert.match(err.message, /PAC_DESTINATION: cannot (open log file .*audit\.log for appending|write the head file .*audit\.log\.head\.json) \(ENOENT\)/)
})

test('the head file\'s directory removed while running: the app gets a clear error naming the head file', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const heads = join(box.dir, 'heads')
  mkdirSync(heads)
  const headFile = join(heads, 'audit.head.json')
  const transport = auditChainTransport({ destination: box.log, privateKeyPath: box.keyPath, headFile, headIntervalMs: 50 })
  const logger = pino(transport)
  logger.info('before')
  await new Promise<void>((resolve, reject) => logger.flush((err) => { err ? reject(err) : resolve() }))
  const failed = once(transport, 'error')
  ;(transport as unknown as { ref: () => void }).ref()
  removeDirectory(heads)
  logger.info('after') // the head only changes when there is a new record to name
  const [err] = await failed as [Error]
  assert.ok(hasCode(err, 'PAC_DESTINATION'), err.message)
  assert.ok(err.message.includes(`cannot write the head file ${headFile} (ENOENT): its directory is gone`), err.message)
})
