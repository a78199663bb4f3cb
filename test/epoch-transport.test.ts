/**
 * The transport with epoch keys (FORMAT.md §10.4): it signs with the current epoch's
 * key, closes each epoch with an epoch.close signed by that key — under load, while
 * idle, and at the next start after it was stopped — and erases the ended epoch's key
 * from the bundle on disk. Real worker threads, real files, real kill -9.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import pino from 'pino'
import { auditChainTransport, closeAuditTransport, hasCode } from '../src/index.js'
import { generateKeyPairPem, signingKeyFromPem } from '../src/format/keys.js'
import { generateEpochs, writeEpochFiles, type EpochFiles } from '../src/epoch/generate.js'
import { bundleText, loadBundle, signingKeyOf } from '../src/epoch/bundle.js'
import { bodyOf, parseRecordLine } from '../src/format/record.js'
import { signedLine } from './fixtures/write-chain.js'
import { verify } from '../src/verify/index.js'
import { readRecords, sandbox, startApp, type Sandbox } from './helpers.js'

interface EpochSetup {
  sb: Sandbox
  files: EpochFiles
  masterPub: string
  /** Window start of epoch 0 (ms). */
  start: number
  interval: number
}

/** A sandbox with a master key and `count` epochs of `interval` ms, the first starting at `start`. */
function epochSandbox (t: { after: (fn: () => void) => void }, interval: number, count: number, start = Date.now() - 200): EpochSetup {
  const sb = sandbox()
  t.after(sb.cleanup)
  const pem = generateKeyPairPem()
  const master = signingKeyFromPem(pem.privatePem, 'master')
  const masterPub = join(sb.dir, 'keys/master.pub')
  writeFileSync(masterPub, pem.publicPem)
  const files = writeEpochFiles(join(sb.dir, 'keys'), generateEpochs(master, start, interval, count), master)
  return { sb, files, masterPub, start, interval }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** The epoch each kid belongs to, from the bundle's public part. */
function epochOfKid (files: EpochFiles): Map<string, { epoch: number, notBefore: number, notAfter: number }> {
  return new Map(loadBundle(files.bundlePath).epochs.map((e) => [e.kid, e]))
}

async function verifyEpochs (s: EpochSetup, paths = [s.sb.log]): Promise<Awaited<ReturnType<typeof verify>>> {
  return await verify(paths, { masters: [s.masterPub], certs: [s.files.certsPath] })
}

/** What every epoch log must look like, record by record, besides passing the verifier. */
function assertEpochShape (s: EpochSetup, records: Array<Record<string, any>>): void {
  const epochs = epochOfKid(s.files)
  let current = -1
  for (const r of records) {
    const e = epochs.get(r.chain.kid)
    assert.ok(e !== undefined, `seq ${r.chain.seq} is signed with a key of the bundle`)
    assert.ok(e.epoch >= current, `seq ${r.chain.seq}: epochs never go back`)
    current = e.epoch
    if (r.event === 'epoch.close') {
      assert.equal(r.epoch, e.epoch, 'an epoch.close names the epoch of its own key')
      assert.ok(r.time >= e.notAfter, 'an epoch.close is written once its epoch has ended')
    } else if (r.event !== 'chain.resume') {
      assert.ok(r.time >= e.notBefore && r.time < e.notAfter, `seq ${r.chain.seq}: time ${r.time} inside its key's window`)
    }
  }
}

test('under load, the transport moves from epoch to epoch: each ended epoch gets its epoch.close, its key leaves the bundle, and the log verifies', async (t) => {
  const s = epochSandbox(t, 1500, 10)
  const seeds = loadBundle(s.files.bundlePath).epochs.map((e) => e.seed as string)
  const transport = auditChainTransport({ destination: s.sb.log, epochKeysPath: s.files.bundlePath, signers: 2 })
  const logger = pino(transport)
  let i = 0
  const until = s.start + 2 * s.interval + 300 // into epoch 2
  while (Date.now() < until) {
    for (let k = 0; k < 300; k++) logger.info({ i: i++, event: 'code_execution' }, 'ran')
    await sleep(5)
  }
  await closeAuditTransport(transport)

  const records = readRecords(s.sb.log)
  const closes = records.filter((r) => r.event === 'epoch.close')
  // Epoch 2 may have ended too before the seal on a slow machine: then it is closed as well.
  assert.deepEqual(closes.map((c) => c.epoch), closes.map((_, n) => n), 'epochs are closed in order, none skipped')
  assert.ok(closes.length >= 2, 'epochs 0 and 1 were closed')
  for (const c of closes.slice(0, 2)) {
    assert.ok(c.records > 100, `epoch ${c.epoch} signed the records logged in it (${c.records})`)
    assert.equal(c.lastSeq, c.chain.seq - 1, 'the close follows the last record it counts')
  }
  const wrapped = records.filter((r) => r.wrapped !== undefined)
  assert.deepEqual(wrapped.slice(0, 3).map((r) => [r.wrapped, r.time, r.line.slice(0, 60)]), [], 'no record had to be wrapped')
  assert.equal(records.filter((r) => r.i !== undefined).length, i, 'every record logged is there')
  assertEpochShape(s, records)

  const bundle = loadBundle(s.files.bundlePath)
  assert.ok(bundle.epochs.slice(0, closes.length).every((e) => e.seed === null), 'the ended epochs\' keys are erased')
  assert.ok(bundle.epochs.slice(closes.length).every((e) => e.seed !== null), 'keys of the current and later epochs are kept')
  const text = readFileSync(s.files.bundlePath, 'utf8')
  for (const seed of seeds.slice(0, closes.length)) assert.equal(text.includes(seed), false, 'an ended epoch\'s private key is not in the file')

  const report = await verifyEpochs(s)
  assert.deepEqual(report.problems, [])
  assert.equal(report.ok, true)
})

test('a thief who takes the host in epoch 2 holds only the bundle as it is then: rewriting or cutting epoch 0 of the real log with those keys is caught', async (t) => {
  const s = epochSandbox(t, 1000, 10)
  const transport = auditChainTransport({ destination: s.sb.log, epochKeysPath: s.files.bundlePath, signers: 1 })
  const logger = pino(transport)
  let i = 0
  while (Date.now() < s.start + 2 * s.interval + 300) {
    logger.info({ i: i++, event: 'code_execution', code: 'print(1)' }, 'ran')
    await sleep(20)
  }
  await new Promise<void>((resolve) => logger.flush(() => resolve()))
  // The break-in: everything on the host, while the writer is in epoch 2.
  const stolen = loadBundle(s.files.bundlePath)
  const lines = readFileSync(s.sb.log, 'utf8').trimEnd().split('\n')
  await closeAuditTransport(transport)
  assert.deepEqual(stolen.epochs.slice(0, 2).map((e) => e.seed), [null, null], 'epochs 0 and 1 have no key left to steal')
  const thiefKey = signingKeyOf(stolen, stolen.epochs[2])
  assert.deepEqual((await verifyEpochs(s)).problems, [], 'the real log is intact')

  const records = lines.map((l) => JSON.parse(l) as Record<string, any>)
  const close0 = records.findIndex((r) => r.event === 'epoch.close' && r.epoch === 0)
  /** Lines `from` on, with `edit` applied to their bodies, re-linked and signed with the thief's key. */
  const resign = (kept: string[], rest: string[], edit: (body: string) => string): string[] => {
    const out = [...kept]
    let prev = (JSON.parse(kept.at(-1) as string) as { chain: { hash: string } }).chain.hash
    for (const [n, line] of rest.entries()) {
      const bytes = Buffer.from(line)
      const parsed = parseRecordLine(bytes)
      assert.ok(parsed.ok)
      const signed = signedLine(thiefKey, kept.length + n, prev, edit(bodyOf(bytes, parsed).toString('utf8')))
      out.push(signed.line)
      prev = signed.hash
    }
    return out
  }
  const forged = join(s.sb.dir, 'forged.log')
  const check = async (forgedLines: string[]): Promise<string[]> => {
    writeFileSync(forged, forgedLines.join('\n') + '\n')
    const report = await verifyEpochs(s, [forged])
    return [...new Set(report.problems.map((p) => p.kind))].sort()
  }
  // Rewrite a record of epoch 0 (what code ran) and re-sign everything after it.
  const rewritten = await check(resign(lines.slice(0, 2), lines.slice(2), (b) => b.replace('print(1)', 'print(2)')))
  assert.ok(rewritten.includes('out-of-window') && rewritten.includes('epoch-order'), rewritten.join(' '))
  // Cut epoch 0's last records and its close, and go on with the thief's key from there.
  const cut = await check(resign(lines.slice(0, close0 - 3), lines.slice(close0 + 1).filter((l) => !l.includes('"event":"epoch.close"')), (b) => b))
  assert.ok(cut.includes('epoch-order'), cut.join(' '))
})

test('while nothing is logged, the epoch is still closed at its end and its key erased from the file on disk', async (t) => {
  const s = epochSandbox(t, 1000, 10)
  const before = readFileSync(s.files.bundlePath, 'utf8')
  const epoch0Seed = (JSON.parse(before) as { epochs: Array<{ seed: string }> }).epochs[0].seed
  const transport = auditChainTransport({ destination: s.sb.log, epochKeysPath: s.files.bundlePath, signers: 1 })
  const logger = pino(transport)
  logger.info({ event: 'container_created' }, 'one record, then silence')
  await new Promise<void>((resolve) => logger.flush(() => resolve()))
  // Epoch 0 ends 800 ms after start; the idle close comes a tenth of an epoch later.
  await sleep(s.start + s.interval + 100 + 400 - Date.now())

  const live = readRecords(s.sb.log)
  const close = live.find((r) => r.event === 'epoch.close')
  assert.ok(close !== undefined, 'the epoch.close was written while the logger sat idle')
  assert.equal(close.epoch, 0)
  assert.equal(close.records, 2, 'chain.open and the one record')
  assert.equal(readFileSync(s.files.bundlePath, 'utf8').includes(epoch0Seed), false, 'epoch 0\'s private key is no longer in the bundle file')

  await closeAuditTransport(transport)
  const records = readRecords(s.sb.log)
  assert.equal(records.at(-1)?.event, 'chain.close')
  assert.ok((epochOfKid(s.files).get(records.at(-1)?.chain.kid)?.epoch ?? 0) >= 1, 'the seal is signed with the epoch it is written in (checked below)')
  assertEpochShape(s, records)
  assert.deepEqual((await verifyEpochs(s)).problems, [])
})

test('killed mid-epoch and started again two epochs later, the writer resumes with the unclosed epoch\'s key, closes it and the epoch it missed, then signs on', async (t) => {
  // Epochs of 4 s: the first app must start and be killed inside epoch 0, and a loaded
  // machine (CI, or a parallel suite) has been seen to take over 1.5 s to start it.
  const s = epochSandbox(t, 4000, 10)
  const first = startApp({ destination: s.sb.log, count: 1000000, pace: 100, after: 'hang', options: { epochKeysPath: s.files.bundlePath, signers: 2 } })
  await first.message((m) => m.logging === true)
  // Killed while records are reaching the file, in the middle of epoch 0.
  while (!existsSync(s.sb.log) || statSync(s.sb.log).size < 100_000) await sleep(10)
  first.child.kill('SIGKILL')
  await first.exit
  // Sleep through the rest of epoch 0 and all of epoch 1.
  await sleep(s.start + 2 * s.interval + 100 - Date.now())
  const second = await startApp({ destination: s.sb.log, count: 50, after: 'return', options: { epochKeysPath: s.files.bundlePath } }).exit
  assert.equal(second.code, 0, second.stderr)

  // A kill -9 may leave a torn line (the resume describes it): read the records only.
  const records = readFileSync(s.sb.log, 'utf8').split('\n').flatMap((l) => { try { return [JSON.parse(l)] } catch { return [] } })
  const resumeAt = records.findIndex((r) => r.event === 'chain.resume')
  assert.ok(resumeAt > 0, 'the second writer resumed the chain: ' + records.filter((r) => r.event !== undefined && r.event !== 'code_execution').map((r) => r.event).join(' '))
  const kids = epochOfKid(s.files)
  const [resume, close0, close1, next] = records.slice(resumeAt, resumeAt + 4)
  assert.equal(kids.get(resume.chain.kid)?.epoch, 0, 'the resume is signed with the chain\'s unclosed epoch')
  assert.deepEqual([close0.event, close0.epoch, close0.records, close0.lastSeq], ['epoch.close', 0, 1, resume.chain.seq])
  assert.deepEqual([close1.event, close1.epoch, close1.records, close1.lastSeq], ['epoch.close', 1, 0, null], 'the epoch nobody logged in is closed too')
  assert.equal(kids.get(next.chain.kid)?.epoch, 2)
  assertEpochShape(s, records.filter((r) => r.chain !== undefined))
  assert.deepEqual(loadBundle(s.files.bundlePath).epochs.slice(0, 2).map((e) => e.seed), [null, null])

  const report = await verifyEpochs(s)
  assert.deepEqual(report.problems, [])
})

test('epochKeysPath may name a directory: the next series dropped in before the current one runs out takes over without a break in the chain', async (t) => {
  const interval = 1000
  const s = epochSandbox(t, interval, 2)
  const dir = join(s.sb.dir, 'host-keys')
  mkdirSync(dir, { mode: 0o700 })
  renameSync(s.files.bundlePath, join(dir, 'series-1.json'))
  const warnings: Error[] = []
  const onWarning = (w: Error): void => { warnings.push(w) }
  process.on('warning', onWarning)
  t.after(() => { process.off('warning', onWarning) })
  const transport = auditChainTransport({ destination: s.sb.log, epochKeysPath: dir, signers: 2 })
  const logger = pino(transport)
  // The next series, made on the master's machine, starts where the first one ends.
  const pem = generateKeyPairPem()
  const master2 = signingKeyFromPem(pem.privatePem, 'master 2')
  const master2Pub = join(s.sb.dir, 'keys/master-2.pub')
  writeFileSync(master2Pub, pem.publicPem)
  const next = writeEpochFiles(join(s.sb.dir, 'next'), generateEpochs(master2, s.start + 2 * interval, interval, 3), master2)
  let i = 0
  while (Date.now() < s.start + 3 * interval + 300) {
    for (let k = 0; k < 50; k++) logger.info({ i: i++ }, 'tick')
    if (i === 500) copyFileSync(next.bundlePath, join(dir, 'series-2.json'))
    await sleep(10)
  }
  await closeAuditTransport(transport)

  const records = readRecords(s.sb.log)
  assert.equal(records.filter((r) => r.i !== undefined).length, i)
  const closes = records.filter((r) => r.event === 'epoch.close').map((r) => r.epoch)
  assert.deepEqual(closes.slice(0, 3), [0, 1, 0], 'both epochs of the first series, then the first of the second')
  const series2 = new Set(loadBundle(next.bundlePath).epochs.map((e) => e.kid))
  assert.ok(series2.has(records.at(-1)?.chain.kid), 'the log ends signed by the second series')
  assert.ok(loadBundle(join(dir, 'series-1.json')).epochs.every((e) => e.seed === null), 'every key of the first series is erased')
  const report = await verify([s.sb.log], { masters: [s.masterPub, master2Pub], certs: [s.files.certsPath, next.certsPath] })
  assert.deepEqual(report.problems, [])
  assert.deepEqual(warnings.filter((w) => hasCode(w, 'PAC_EPOCH')).map((w) => w.message), [], 'the next series was there before the last epoch began: no warning')
})

test('when the last epoch begins the app is warned, and when it ends with no series after it the transport closes it, erases its key and fails with PAC_EPOCH', async (t) => {
  const s = epochSandbox(t, 1000, 2)
  const warnings: Error[] = []
  const onWarning = (w: Error): void => { warnings.push(w) }
  process.on('warning', onWarning)
  t.after(() => { process.off('warning', onWarning) })
  const transport = auditChainTransport({ destination: s.sb.log, epochKeysPath: s.files.bundlePath, signers: 1 })
  const failed = new Promise<Error>((resolve) => transport.once('error', resolve))
  const logger = pino(transport)
  logger.info({ event: 'container_created' }, 'in epoch 0')
  await sleep(s.start + s.interval + 50 - Date.now())
  logger.info({ event: 'container_created' }, 'in epoch 1, the last')
  // As a server would: the process stays up while the transport's timer ends the epoch.
  const alive = setInterval(() => {}, 100)
  const err = await failed
  clearInterval(alive)
  assert.ok(hasCode(err, 'PAC_EPOCH'), err.message)
  assert.match(err.message, /no epoch key follows epoch 1 of .* records can no longer be signed\. Generate the next series/)
  const last = warnings.filter((w) => hasCode(w, 'PAC_EPOCH'))
  assert.equal(last.length, 1, last.map((w) => w.message).join('\n'))
  assert.match(last[0].message, /the last epoch of .* has begun and no series follows it/)

  const records = readRecords(s.sb.log)
  assert.deepEqual(records.filter((r) => r.event === 'epoch.close').map((r) => r.epoch), [0, 1])
  assert.ok(loadBundle(s.files.bundlePath).epochs.every((e) => e.seed === null), 'no key is left')
  const report = await verifyEpochs(s)
  assert.deepEqual(report.problems, [])
  assert.deepEqual(report.warnings.map((w) => w.kind), ['unsealed'], 'no seal could be signed after the last epoch')
})

test('with rotation, epoch closes and file.opens interleave and the rotated directory verifies as one chain', async (t) => {
  const s = epochSandbox(t, 1000, 10)
  const transport = auditChainTransport({ destination: s.sb.log, epochKeysPath: s.files.bundlePath, rotation: { size: '16KB' }, signers: 2 })
  const logger = pino(transport)
  while (Date.now() < s.start + 2 * s.interval + 200) {
    for (let k = 0; k < 20; k++) logger.info({ event: 'code_execution', code: 'x'.repeat(100) }, 'ran')
    await sleep(20)
  }
  await closeAuditTransport(transport)
  const dir = join(s.sb.dir, 'logs')
  const files = readdirSync(dir).filter((n) => n.endsWith('.log'))
  assert.ok(files.length > 3, `rotated into ${files.length} files`)
  const all = files.flatMap((n) => readRecords(join(dir, n)))
  assert.ok(all.filter((r) => r.event === 'epoch.close').length >= 2)
  assert.ok(all.some((r) => r.event === 'file.open'))
  const report = await verifyEpochs(s, [dir])
  assert.deepEqual(report.problems, [])
  assert.equal(report.chains.length, 1)
})

test('a line whose time is outside the current epoch is kept, wrapped with the writer\'s time', async (t) => {
  const s = epochSandbox(t, 60_000, 3)
  const transport = auditChainTransport({ destination: s.sb.log, epochKeysPath: s.files.bundlePath, signers: 1 })
  transport.write('{"level":30,"time":1000,"msg":"from 1970"}\n')
  transport.write(`{"level":30,"time":${Date.now()},"msg":"now"}\n`)
  await closeAuditTransport(transport)
  const records = readRecords(s.sb.log)
  const wrapped = records.find((r) => r.wrapped === 'outside-epoch')
  assert.ok(wrapped !== undefined)
  assert.equal(wrapped.line, '{"level":30,"time":1000,"msg":"from 1970"}')
  assert.ok(wrapped.time >= s.start)
  assert.equal(records.find((r) => r.msg === 'now')?.wrapped, undefined)
  assert.deepEqual((await verifyEpochs(s)).problems, [])
})

test('a bundle that cannot sign now is a clear PAC_EPOCH error in the caller\'s thread, and nothing is written', async (t) => {
  const interval = 60_000
  const expired = epochSandbox(t, interval, 2, Date.now() - 3 * interval)
  assert.throws(() => auditChainTransport({ destination: expired.sb.log, epochKeysPath: expired.files.bundlePath }),
    (err: Error) => hasCode(err, 'PAC_EPOCH') && /expired at .* generate the next series/.test(err.message))

  const future = epochSandbox(t, interval, 2, Date.now() + 3 * interval)
  assert.throws(() => auditChainTransport({ destination: future.sb.log, epochKeysPath: future.files.bundlePath }),
    (err: Error) => hasCode(err, 'PAC_EPOCH') && /has not begun/.test(err.message))

  const erased = epochSandbox(t, interval, 3, Date.now() - interval / 2)
  const b = loadBundle(erased.files.bundlePath)
  writeFileSync(erased.files.bundlePath, bundleText({ ...b, epochs: b.epochs.map((e) => e.epoch === 0 ? { ...e, seed: null } : e) }), { mode: 0o600 })
  assert.throws(() => auditChainTransport({ destination: erased.sb.log, epochKeysPath: erased.files.bundlePath }),
    (err: Error) => hasCode(err, 'PAC_EPOCH') && /epoch 0 .* has no key/.test(err.message) && /its own epoch keys/.test(err.message))

  chmodSync(erased.files.bundlePath, 0o644)
  assert.throws(() => auditChainTransport({ destination: erased.sb.log, epochKeysPath: erased.files.bundlePath }),
    (err: Error) => hasCode(err, 'PAC_KEY_PERMISSIONS') && /epochKeysPath/.test(err.message))
  chmodSync(erased.files.bundlePath, 0o600)
  writeFileSync(erased.files.bundlePath, '{"v":1,"series":"x"}', { mode: 0o600 })
  assert.throws(() => auditChainTransport({ destination: erased.sb.log, epochKeysPath: erased.files.bundlePath }),
    (err: Error) => hasCode(err, 'PAC_EPOCH') && /"series" must be 32 hex/.test(err.message))

  assert.throws(() => auditChainTransport({ destination: erased.sb.log, epochKeysPath: erased.files.bundlePath, privateKeyPath: erased.sb.keyPath }),
    (err: Error) => hasCode(err, 'PAC_BAD_OPTION') && /exactly one of/.test(err.message))
  for (const s of [expired, future, erased]) assert.throws(() => readFileSync(s.sb.log), /ENOENT/)
})
