/**
 * The writer against DESIGN.md's attacker: someone who can write to the log directory
 * while the service is stopped (plant, cut, replace files) but has no key. Each test
 * runs the real transport in child processes, performs the attack on real files, and
 * checks that the writer vouches for nothing it did not check (issue 12, items 1–3).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { appendFileSync, existsSync, readdirSync, readFileSync, statSync, truncateSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import pino from 'pino'
import { verify, type VerifyReport } from '../src/verify/index.js'
import { auditChainTransport } from '../src/transport/spawn.js'
import { closeAuditTransport } from '../src/transport/close.js'
import { readRecords, runApp, sandbox, startApp, type Sandbox } from './helpers.js'

const ROTATED = /^audit\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z\.\d+(-\d+)?\.log$/

/** The chain's rotated files, oldest first by the seq in their name. */
function rotatedFiles (box: Sandbox): string[] {
  const dir = join(box.dir, 'logs')
  return readdirSync(dir).filter((n) => ROTATED.test(n))
    .sort((a, b) => Number(a.split('.')[2].split('-')[0]) - Number(b.split('.')[2].split('-')[0]))
    .map((n) => join(dir, n))
}

function lines (path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0)
}

const kinds = (r: VerifyReport): string[] => r.problems.map((p) => p.kind)
/** Kinds with the lines each finding covers: consecutive lines failing alike are one finding. */
const counted = (r: VerifyReport): string[] => r.problems.map((p) => `${p.kind}×${p.count}`)

/** Log `count` records from a child process that exits right after (the service stopping). */
async function log (box: Sandbox, count: number, options: Record<string, unknown> = {}): Promise<void> {
  const run = await runApp({ destination: box.log, key: box.keyPath, count, after: 'exit', options })
  assert.equal(run.code, 0, run.stderr)
}

/**
 * Start the writer again after the attack (in this process, where its warnings can be
 * caught: a child that exits at once may lose them), log `count` records, close it.
 * Returns the warnings the app got, one per line.
 */
async function restart (box: Sandbox, count: number, options: Record<string, unknown> = {}): Promise<string> {
  const warnings: string[] = []
  const onWarning = (w: Error): void => { warnings.push(w.message) }
  process.on('warning', onWarning)
  try {
    const transport = auditChainTransport({ destination: box.log, privateKeyPath: box.keyPath, ...options })
    const logger = pino(transport)
    for (let i = 0; i < count; i++) logger.info({ i, event: 'code_execution' }, 'after the restart')
    await closeAuditTransport(transport)
  } finally {
    process.off('warning', onWarning)
  }
  return warnings.join('\n')
}

test('retention never vouches for a planted file: named like a rotated file, old, ending where the current file begins, it is reported, not pruned', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  await log(box, 3000, { rotation: { size: '16KB' } })
  const genuine = rotatedFiles(box)
  assert.ok(genuine.length >= 5, `${genuine.length} rotated files`)
  // What each genuine file really holds, to compare with what the prune record says.
  const truth = new Map(genuine.map((f) => {
    const records = readRecords(f)
    return [basename(f), { file: basename(f), firstSeq: records[0].chain.seq, lastSeq: records.at(-1)?.chain.seq, lastHash: records.at(-1)?.chain.hash }]
  }))
  // The planted file claims to run from seq 0 to the record right before the current
  // file (its last line is a genuine copy of that record), and looks the oldest.
  const newest = lines(genuine.at(-1) as string)
  const forgedOpen = lines(genuine[0])[0].replace('"msg":"audit chain opened"', '"msg":"audit chain openeD"')
  const planted = join(box.dir, 'logs', 'audit.2000-01-01T00-00-00-000Z.0.log')
  writeFileSync(planted, `${forgedOpen}\n${newest.at(-1) as string}\n`, { mode: 0o640 })
  const old = Date.now() / 1000 - 10 * 86400
  utimesSync(planted, old, old)

  const stderr = await restart(box, 10, { retention: { maxFiles: 2 } })
  assert.equal(existsSync(planted), true, 'the planted file is never deleted')
  assert.match(stderr, /PAC_RETENTION: .*audit\.2000-01-01T00-00-00-000Z\.0\.log \(UNPROVEN\).*not provably part of this chain/)
  const records = readRecords(box.log)
  const prunes = records.filter((r) => r.event === 'retention.prune')
  const pruned = prunes.flatMap((p) => p.files)
  // Exactly the genuine oldest files, each described as it really was.
  assert.deepEqual(pruned, genuine.slice(0, genuine.length - 2).map((f) => truth.get(basename(f))))
  assert.deepEqual(prunes.flatMap((p) => p.failed), [{ file: basename(planted), code: 'UNPROVEN' }])
  for (const f of genuine.slice(0, -2)) assert.equal(existsSync(f), false)

  // The attack's second half: delete the genuine files retention kept. With the prune
  // record naming only what really was deleted, the cut shows.
  unlinkSync(planted)
  for (const f of genuine.slice(-2)) unlinkSync(f)
  const report = await verify([join(box.dir, 'logs')], { keys: [box.pubPath] })
  assert.deepEqual(kinds(report), ['missing-start'])
})

test('retention by age goes by the signed time a file was closed: an old mtime makes nothing prunable, a really old file is pruned', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  await log(box, 2000, { rotation: { size: '16KB' } })
  const files = rotatedFiles(box)
  assert.ok(files.length >= 3)
  // mtime is anyone's to set who can write the directory.
  const old = Date.now() / 1000 - 10 * 86400
  for (const f of files) utimesSync(f, old, old)
  await log(box, 10, { retention: { maxAge: '1d' } })
  for (const f of files) assert.equal(existsSync(f), true, `${basename(f)} kept: it was closed moments ago`)
  assert.equal(readRecords(box.log).filter((r) => r.event === 'retention.prune').length, 0)
  // Files closed more than maxAge ago (by the time in the next file's signed first record) go.
  await new Promise((resolve) => setTimeout(resolve, 1200))
  await log(box, 10, { retention: { maxAge: '1s' } })
  for (const f of files) assert.equal(existsSync(f), false, `${basename(f)} pruned`)
  const report = await verify([join(box.dir, 'logs')], { keys: [box.pubPath] })
  assert.equal(report.ok, true, JSON.stringify(report.problems.slice(0, 3)))
})

test('retention does not delete a rotated file whose records were altered: it is reported, and what comes after it is kept', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  await log(box, 2000, { rotation: { size: '16KB' } })
  const files = rotatedFiles(box)
  // Change one record in the middle of the oldest file (same length, so the ends still read).
  const text = readFileSync(files[0], 'utf8')
  writeFileSync(files[0], text.replace('"user":"ada"', '"user":"eve"'))
  const stderr = await restart(box, 10, { retention: { maxFiles: 1 } })
  for (const f of files) assert.equal(existsSync(f), true, `${basename(f)} kept: nothing after a file that fails can go`)
  assert.match(stderr, /PAC_RETENTION: .*\(UNPROVEN\).*does not match its hash/)
  const failed = readRecords(box.log).filter((r) => r.event === 'retention.prune').flatMap((p) => p.failed)
  assert.deepEqual(failed, [{ file: basename(files[0]), code: 'UNPROVEN' }])
})

test('a restart does not launder a cut: 40 records (seal included) cut while stopped are stated in the signed chain.resume and reported', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  await log(box, 100)
  const before = lines(box.log)
  const sealed = JSON.parse(before.at(-1) as string)
  assert.equal(sealed.event, 'chain.close')
  const kept = before.slice(0, -40)
  writeFileSync(box.log, kept.join('\n') + '\n')
  const stderr = await restart(box, 10)
  assert.match(stderr, /PAC_TRUNCATED: the head file names seq 101 of chain [0-9a-f]{32}, but the log at .* ends at seq 61/)
  const resume = readRecords(box.log).find((r) => r.event === 'chain.resume')
  assert.equal(resume?.level, 40)
  assert.deepEqual(resume?.truncated, {
    reason: 'shorter',
    head: { chainId: sealed.chainId, seq: 101, hash: sealed.chain.hash, time: resume?.truncated.head.time, kid: box.kid },
    found: { chainId: sealed.chainId, seq: 61, hash: JSON.parse(kept.at(-1) as string).chain.hash }
  })
  const report = await verify([box.log], { keys: [box.pubPath], requireSeal: true })
  assert.equal(report.ok, false)
  assert.ok(kinds(report).includes('truncated'), JSON.stringify(report.problems))
  // A second restart does not make it go away: the statement is in the chain.
  await log(box, 5)
  assert.ok(kinds(await verify([box.log], { keys: [box.pubPath], requireSeal: true })).includes('truncated'))
})

test('a restart does not launder a deleted current file: the chain continues from the newest rotated file and says the head was further on', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  await log(box, 2000, { rotation: { size: '16KB' } })
  const newest = rotatedFiles(box).at(-1) as string
  const lastRotated = readRecords(newest).at(-1)
  const sealSeq = readRecords(box.log).at(-1)?.chain.seq
  unlinkSync(box.log)
  const stderr = await restart(box, 10, { rotation: { size: '16KB' } })
  assert.match(stderr, /PAC_TRUNCATED/)
  const resume = readRecords(box.log)[0]
  assert.equal(resume.event, 'chain.resume')
  assert.equal(resume.truncated.reason, 'shorter')
  assert.equal(resume.truncated.head.seq, sealSeq)
  assert.deepEqual(resume.truncated.found, { chainId: resume.chainId, seq: lastRotated?.chain.seq, hash: lastRotated?.chain.hash })
  assert.ok(kinds(await verify([join(box.dir, 'logs')], { keys: [box.pubPath] })).includes('truncated'))
})

test('every log deleted but the head: the new chain.open names the chain that is gone; a head not signed by the writer is stated too', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  await log(box, 10)
  const head = JSON.parse(readFileSync(`${box.log}.head.json`, 'utf8'))
  unlinkSync(box.log)
  await log(box, 10)
  const open = readRecords(box.log)[0]
  assert.equal(open.event, 'chain.open')
  assert.notEqual(open.chainId, head.chainId)
  assert.deepEqual({ reason: open.truncated.reason, head: open.truncated.head.chainId, found: open.truncated.found }, { reason: 'other-chain', head: head.chainId, found: null })
  // A head file replaced by one the writer did not sign cannot be checked against: said so.
  const forged = JSON.parse(readFileSync(`${box.log}.head.json`, 'utf8'))
  writeFileSync(`${box.log}.head.json`, JSON.stringify({ ...forged, seq: forged.seq + 1000 }))
  const stderr = await restart(box, 3)
  assert.match(stderr, /PAC_TRUNCATED: the head file .*head signature does not verify/)
  const resume = readRecords(box.log).find((r) => r.event === 'chain.resume')
  assert.equal(resume?.truncated.reason, 'head-invalid')
  assert.equal(resume?.truncated.head, null)
  assert.ok(kinds(await verify([box.log], { keys: [box.pubPath] })).includes('truncated'))
})

test('a head left behind by kill -9 is older than the log, which is normal: no truncation is claimed', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  await log(box, 10)
  const head = JSON.parse(readFileSync(`${box.log}.head.json`, 'utf8'))
  // A writer that never refreshes its head before it is killed leaves the last one behind.
  const app = startApp({ destination: box.log, key: box.keyPath, count: 500, after: 'hang', options: { headIntervalMs: 600_000 } })
  await app.message((m) => m.flushed === true)
  app.child.kill('SIGKILL')
  await app.exit
  assert.equal(JSON.parse(readFileSync(`${box.log}.head.json`, 'utf8')).seq, head.seq)
  const stderr = await restart(box, 10)
  assert.doesNotMatch(stderr, /PAC_TRUNCATED/)
  const records = readRecords(box.log)
  assert.deepEqual(records.filter((r) => r.truncated !== undefined), [])
  const report = await verify([box.log], { keys: [box.pubPath], requireSeal: true })
  assert.equal(report.ok, true, JSON.stringify(report.problems.slice(0, 3)))
})

test('complete lines appended by someone without the key are never blessed as torn, however often the writer restarts', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  await log(box, 5)
  appendFileSync(box.log, '{"level":30,"time":1,"event":"code_execution","msg":"fake"}\n{"level":30,"msg":"also fake"}\n')
  let stderr = await restart(box, 5)
  assert.match(stderr, /PAC_TAIL_INVALID: 2 line\(s\) after the last record of .* are not audit records, and no crash explains them/)
  let resume = readRecords(box.log).filter((r) => r.event === 'chain.resume')
  assert.deepEqual(resume.map((r) => r.torn), [null])
  // Each injected line is a problem (bytes after a seal, here: the writer had closed
  // cleanly): the two in a row are one finding that counts both.
  let report = await verify([box.log], { keys: [box.pubPath] })
  assert.deepEqual(counted(report), ['after-seal×2'])
  // A final JSON line with no newline is not crash damage either: a crash never leaves a whole JSON value.
  appendFileSync(box.log, '{"level":30,"msg":"fake, unterminated"}')
  stderr = await restart(box, 5)
  assert.match(stderr, /PAC_TAIL_INVALID: 1 line\(s\)/)
  resume = readRecords(box.log).filter((r) => r.event === 'chain.resume')
  assert.deepEqual(resume.map((r) => r.torn), [null, null])
  report = await verify([box.log], { keys: [box.pubPath] })
  assert.deepEqual(counted(report), ['after-seal×2', 'after-seal×1'])
  // Only a final fragment that is no JSON value is described, and only it is a warning.
  const size = statSync(box.log).size
  appendFileSync(box.log, '{"level":30,"time":17641')
  await restart(box, 5)
  resume = lines(box.log).filter((l) => l.endsWith('"}}')).map((l) => JSON.parse(l)).filter((r) => r.event === 'chain.resume')
  assert.deepEqual(resume.at(-1)?.torn, { offset: size, length: 24, sha256: resume.at(-1)?.torn.sha256 })
  report = await verify([box.log], { keys: [box.pubPath] })
  assert.deepEqual(counted(report), ['after-seal×2', 'after-seal×1'])
  assert.deepEqual(report.warnings.map((w) => w.kind), ['torn'])
})

test('a log file with no record at all is not continued', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  await log(box, 1)
  writeFileSync(box.log, '{"level":30,"msg":"an ordinary pino log"}\n'.repeat(3))
  truncateSync(`${box.log}.head.json`, 0)
  const run = await runApp({ destination: box.log, key: box.keyPath, count: 1, after: 'exit' })
  assert.notEqual(run.code, 0)
  assert.match(run.stderr, /PAC_TAIL_INVALID: .* holds no audit record, only 3 other line\(s\): it is not a log this transport wrote/)
})

test('kill -9 again and again with rotation and maxFiles: the on-host head and the heads shipped after each run stay satisfied', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const options = { rotation: { size: '8KB' }, retention: { maxFiles: 2 }, headIntervalMs: 50 }
  const shipped = join(box.dir, 'heads.jsonl')
  for (let round = 0; round < 5; round++) {
    const app = startApp({ destination: box.log, key: box.keyPath, count: 5_000_000, after: 'return', pace: 100, options })
    await app.message((m) => m.logging === true)
    // Once this run's writer has refreshed the head, long enough for rotations, prunes
    // and more head refreshes to happen while it runs.
    const headBefore = existsSync(`${box.log}.head.json`) ? readFileSync(`${box.log}.head.json`, 'utf8') : ''
    for (let i = 0; i < 500 && (!existsSync(`${box.log}.head.json`) || readFileSync(`${box.log}.head.json`, 'utf8') === headBefore); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    await new Promise((resolve) => setTimeout(resolve, 100 + round * 60))
    app.child.kill('SIGKILL')
    const exit = await app.exit
    assert.equal(exit.signal, 'SIGKILL', exit.stderr)
    // The README's recipe: copy the head off the host after each run.
    appendFileSync(shipped, readFileSync(`${box.log}.head.json`, 'utf8'))
  }
  await log(box, 10, options)
  appendFileSync(shipped, readFileSync(`${box.log}.head.json`, 'utf8'))
  const dir = join(box.dir, 'logs')
  assert.ok(readRecords(box.log).concat(...rotatedFiles(box).map(readRecords)).some((r) => r.event === 'retention.prune'), 'retention pruned files')
  assert.deepEqual(readRecords(box.log).filter((r) => r.truncated !== undefined), [])
  const report = await verify([dir], { keys: [box.pubPath], heads: [shipped, `${box.log}.head.json`], requireSeal: true })
  assert.equal(report.ok, true, JSON.stringify(report.problems.slice(0, 3)))
})
