/**
 * Parallel signing (option `signers`): behaviour only, never timing. The records a
 * pool signs must be exactly what inline signing would produce: every line verifies,
 * seq order holds, flush and close keep their promises, and a broken signing thread
 * is an error, not a silent loss.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { once } from 'node:events'
import type { KeyObject } from 'node:crypto'
import { hasCode } from '../src/errors.js'
import { GENESIS_PREV, parseRecordLine, recordHashOfBytes } from '../src/format/record.js'
import { generateKeyPairPem, loadVerifyKey, signingKeyFromPem, verifyBytes } from '../src/format/keys.js'
import { resolveOptions } from '../src/transport/options.js'
import { auditChainTransport } from '../src/transport/spawn.js'
import { createChain } from '../src/transport/chain.js'
import { createSignPool, createSigningQueue } from '../src/transport/sign-pool.js'
import transport from '../src/transport/worker.js'
import { readRecords, runApp, sandbox, startApp, ROOT } from './helpers.js'

/**
 * Check every line of a log file on its own terms (FORMAT.md §4) and as one chain
 * from seq 0: layout, hash, signature, seq and prev. Returns the number of records.
 */
function checkChain (path: string, pubPath: string): number {
  const key = loadVerifyKey(pubPath)
  const text = readFileSync(path)
  let seq = 0
  let prev = GENESIS_PREV
  let start = 0
  while (start < text.length) {
    const end = text.indexOf(0x0a, start)
    assert.ok(end > start, `line ${seq + 1} ends with a newline`)
    const line = text.subarray(start, end)
    start = end + 1
    const parsed = parseRecordLine(line)
    assert.ok(parsed.ok, `line ${seq + 1} is a record: ${parsed.ok ? '' : parsed.detail}`)
    assert.equal(parsed.member.seq, seq, 'records are in seq order')
    assert.equal(parsed.member.prev, prev, `record ${seq} links to the one before it`)
    const hash = recordHashOfBytes(seq, prev, line, parsed.bodyEnd)
    assert.equal(hash.toString('hex'), parsed.member.hash, `record ${seq} hash`)
    assert.equal(parsed.member.kid, key.kid)
    assert.ok(verifyBytes(key, hash, parsed.member.sig), `record ${seq} signature`)
    prev = parsed.member.hash
    seq++
  }
  return seq
}

/** The project's verifier too, once it exists (another part of the tree). */
async function verifyWithVerifier (path: string, pubPath: string): Promise<void> {
  if (!existsSync(join(ROOT, 'src/verify/index.ts'))) return
  const { verify } = await import('../src/verify/index.js' as string) as { verify: (paths: string[], opts: { keys: string[] }) => Promise<{ ok: boolean, problems: unknown[] }> }
  const report = await verify([path], { keys: [pubPath] })
  assert.equal(report.ok, true, JSON.stringify(report.problems.slice(0, 3)))
}

test('signers: 2 — 20,000 records from an app verify, in seq order, sealed after the last', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const run = await runApp({ destination: box.log, key: box.keyPath, count: 20_000, after: 'return', options: { signers: 2 } })
  assert.equal(run.code, 0, run.stderr)
  assert.equal(checkChain(box.log, box.pubPath), 20_002)
  const records = readRecords(box.log)
  assert.equal(records[0].event, 'chain.open')
  assert.deepEqual(records.slice(1, -1).map((r) => r.i), Array.from({ length: 20_000 }, (_, i) => i))
  assert.equal(records.at(-1)?.event, 'chain.close')
  assert.equal(records.at(-1)?.records, 20_002)
  const head = JSON.parse(readFileSync(`${box.log}.head.json`, 'utf8'))
  assert.equal(head.seq, 20_001)
  assert.equal(head.hash, records.at(-1)?.chain.hash)
  assert.equal(existsSync(`${box.log}.lock`), false)
  await verifyWithVerifier(box.log, box.pubPath)
})

test('signers: 2 — process.exit() right after logging: every record on disk, then the seal', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const run = await runApp({ destination: box.log, key: box.keyPath, count: 20_000, after: 'exit', options: { signers: 2 } })
  assert.equal(run.code, 0, run.stderr)
  assert.equal(checkChain(box.log, box.pubPath), 20_002)
  assert.equal(readRecords(box.log).at(-1)?.event, 'chain.close')
  await verifyWithVerifier(box.log, box.pubPath)
})

test('signers: 2 — logger.flush() calls back only when every record is in the file', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const app = startApp({ destination: box.log, key: box.keyPath, count: 20_000, after: 'hang', options: { signers: 2 } })
  t.after(() => app.child.kill('SIGKILL'))
  await app.message((m) => m.flushed === true)
  // Checked while the writer still runs: no seal yet, but all 20,000 records.
  assert.equal(checkChain(box.log, box.pubPath), 20_001)
  assert.equal(readRecords(box.log).filter((r) => r.event === 'code_execution').length, 20_000)
})

test('signers: 2 in-process — flush, then close writes the seal after every record', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  // The transport's own entry, in this thread (pino's worker thread is not needed to
  // check the stream's promises); the pool threads are real.
  const stream = await transport({ destination: box.log, privateKeyPath: box.keyPath, signers: 2 }) as NodeJS.WritableStream & { flush: (cb: (err?: Error) => void) => void }
  let batch = ''
  for (let i = 0; i < 5_000; i++) {
    batch += JSON.stringify({ level: 30, time: 1, n: i, msg: 'flush me' }) + '\n'
    if (i % 700 === 0) { stream.write(batch); batch = '' }
  }
  stream.write(batch)
  await new Promise<void>((resolve, reject) => stream.flush((err) => { err ? reject(err) : resolve() }))
  assert.equal(checkChain(box.log, box.pubPath), 5_001)
  assert.deepEqual(readRecords(box.log).slice(1).map((r) => r.n), Array.from({ length: 5_000 }, (_, i) => i))
  stream.write('{"after":"flush"}\n')
  const closed = once(stream, 'close')
  stream.end()
  await closed
  assert.equal(checkChain(box.log, box.pubPath), 5_003)
  const records = readRecords(box.log)
  assert.equal(records.at(-2)?.after, 'flush')
  assert.equal(records.at(-1)?.event, 'chain.close')
  assert.equal(records.at(-1)?.records, 5_003)
})

test('a signing thread that fails is an error: nothing after the failure is written', async () => {
  const key = signingKeyFromPem(generateKeyPairPem().privatePem, 'test key')
  const chain = createChain(key, 'c'.repeat(32))
  // A pool whose threads hold no usable key: the first batch ends the thread with an error.
  const broken = createSignPool({ ...key, secret: { backend: 'node:crypto', key: {} as KeyObject, wiped: false } }, 2)
  const written: string[] = []
  const errors: Error[] = []
  const queue = createSigningQueue(chain, broken, key, (text) => { written.push(text) }, (err) => { errors.push(err) })
  for (let i = 0; i < 100; i++) queue.add(chain.prepare(`{"n":${i}}`))
  await assert.rejects(queue.drain(), (err: Error) => hasCode(err, 'PAC_WRITE_FAILED') && /signing thread \d failed/.test(err.message))
  assert.equal(errors.length, 1, 'reported once')
  assert.deepEqual(written, [])
  assert.equal(chain.written, 0)
  assert.throws(() => { queue.add(chain.prepare('{"late":true}')) }, (err: Error) => hasCode(err, 'PAC_WRITE_FAILED'))
  await broken.close()
})

test('a working pool signs what inline signing would: same lines, same order', async () => {
  const key = signingKeyFromPem(generateKeyPairPem().privatePem, 'test key')
  const bodies = Array.from({ length: 1_000 }, (_, i) => `{"n":${i},"msg":"${'x'.repeat(i % 50)}"}`)
  const inline = createChain(key, 'd'.repeat(32))
  const expected = bodies.map((b) => inline.append(b)).join('')
  const pooled = createChain(key, 'd'.repeat(32))
  const pool = createSignPool(key, 3)
  let text = ''
  const queue = createSigningQueue(pooled, pool, key, (t) => { text += t }, (err) => { throw err })
  for (const b of bodies) queue.add(pooled.prepare(b))
  await queue.drain()
  await pool.close()
  // Ed25519 is deterministic (RFC 8032 §5.1.6): equal lines, byte for byte.
  assert.equal(text, expected)
  assert.equal(pooled.lastSeq, 999)
  assert.equal(pooled.written, 1_000)
})

test('while it waits for one pool thread, the queue\'s own thread signs too: the same lines as inline signing, in order', async () => {
  const key = signingKeyFromPem(generateKeyPairPem().privatePem, 'test key')
  const bodies = Array.from({ length: 6_000 }, (_, i) => `{"n":${i}}`)
  const inline = createChain(key, 'e'.repeat(32))
  const expected = bodies.map((b) => inline.append(b)).join('')
  const chain = createChain(key, 'e'.repeat(32))
  const real = createSignPool(key, 1)
  // The real pool, counting what it is given: the rest was signed by this thread.
  let byPool = 0
  const pool = { ...real, sign: async (hashes: Uint8Array) => { byPool += hashes.length / 32; return await real.sign(hashes) } }
  let text = ''
  const queue = createSigningQueue(chain, pool, key, (t) => { text += t }, (err) => { throw err })
  // As the transport does: take the next lines only once fewer than 1024 are in flight.
  for (let at = 0; at < bodies.length; at += 1000) {
    for (const b of bodies.slice(at, at + 1000)) queue.add(chain.prepare(b))
    await new Promise<void>((resolve) => { queue.whenBelow(1024, Infinity, resolve) })
  }
  await queue.drain()
  await real.close()
  assert.equal(text, expected)
  assert.ok(byPool > 0 && byPool < bodies.length, `the pool thread signed ${byPool} of ${bodies.length} records, this thread the rest`)
})

test('signers must be a whole number from 1 to 64: a clear PAC_BAD_OPTION in the caller\'s thread', (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  for (const signers of [0, -1, 1.5, '2', 65, null, Number.NaN]) {
    assert.throws(() => auditChainTransport({ destination: box.log, privateKeyPath: box.keyPath, signers } as never), (err: Error) => {
      assert.ok(hasCode(err, 'PAC_BAD_OPTION'), err.message)
      assert.match(err.message, /^PAC_BAD_OPTION: option signers must be a whole number of signing threads from 1 \(sign inline, no pool\) to 64, got /)
      return true
    })
  }
  assert.equal(existsSync(box.log), false)
  assert.equal(resolveOptions({ destination: box.log, privateKeyPath: box.keyPath, signers: 1 }).signers, 1)
  assert.ok(resolveOptions({ destination: box.log, privateKeyPath: box.keyPath }).signers >= 1)
})

test('the signing threads run when the app is an ES module given with node --input-type=module (they inherit it)', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const { spawn } = await import('node:child_process')
  const source = `
    import pino from 'pino'
    import { auditChainTransport } from 'pino-audit-chain'
    const logger = pino(auditChainTransport(${JSON.stringify({ destination: box.log, privateKeyPath: box.keyPath, signers: 2 })}))
    for (let i = 0; i < 2000; i++) logger.info({ i }, 'from an ES module')
  `
  const child = spawn(process.execPath, ['--input-type=module', '-e', source], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d) => { stderr += String(d) })
  const [code] = await once(child, 'exit')
  assert.equal(code, 0, stderr)
  const records = readRecords(box.log)
  assert.equal(records.length, 2002)
  assert.equal(records.at(-1)?.event, 'chain.close')
})
