/**
 * Rotation and retention as an app lives with them: real pino worker threads, real
 * child processes (exit, kill -9, restarts), real files renamed and deleted, and the
 * verifier run over what is left (issue: one verifiable chain across files).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, readdirSync, renameSync, statSync, symlinkSync, unlinkSync, copyFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import pino from 'pino'
import { auditChainTransport } from '../src/transport/spawn.js'
import { closeAuditTransport } from '../src/transport/close.js'
import { hasCode } from '../src/errors.js'
import { verify, type VerifyReport } from '../src/verify/index.js'
import { readRecords, runApp, sandbox, startApp, type Sandbox } from './helpers.js'

const ROTATED = /^audit\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z\.\d+(-\d+)?\.log$/

/** The chain's files, oldest first by seq (rotated ones by the seq in their name), the current file last. */
function chainFiles (box: Sandbox): string[] {
  const dir = join(box.dir, 'logs')
  const rotated = readdirSync(dir).filter((n) => ROTATED.test(n) && statSync(join(dir, n), { throwIfNoEntry: false })?.isFile() === true)
  rotated.sort((a, b) => Number(a.split('.')[2].split('-')[0]) - Number(b.split('.')[2].split('-')[0]))
  return [...rotated, 'audit.log'].filter((n) => existsSync(join(dir, n))).map((n) => join(dir, n))
}

function problemsOf (r: VerifyReport): string {
  return JSON.stringify(r.problems.slice(0, 3))
}

/**
 * Every record of the chain across `files` in order: seqs contiguous from the first,
 * each file after the first opened by a rotation's file.open naming the file before it.
 */
function assertOneChainAcross (files: string[]): Array<Record<string, any>> {
  const all: Array<Record<string, any>> = []
  files.forEach((file, index) => {
    const records = readRecords(file)
    assert.ok(records.length > 0, `${basename(file)} is not empty`)
    if (index > 0) {
      const first = records[0]
      assert.ok(first.event === 'file.open' || first.event === 'chain.resume', `${basename(file)} starts with ${String(first.event)}`)
      if (first.event === 'file.open') {
        assert.equal(first.reason, 'rotation')
        assert.equal(first.previousFile, basename(files[index - 1]))
        assert.equal(first.file, 'audit.log')
      }
    }
    all.push(...records)
  })
  const seqs = all.map((r) => r.chain.seq)
  assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => seqs[0] + i), 'seqs run on without gap or repeat across files')
  return all
}

for (const signers of [1, 2]) {
  test(`rotation by size under a heavy producer (signers: ${signers}): no record lost or repeated at a boundary`, async (t) => {
    const box = sandbox()
    t.after(box.cleanup)
    const count = 20_000
    const run = await runApp({ destination: box.log, key: box.keyPath, count, after: 'exit', options: { signers, rotation: { size: '32KB' } } })
    assert.equal(run.code, 0, run.stderr)
    const files = chainFiles(box)
    assert.ok(files.length > 20, `rotated into ${files.length} files`)
    for (const file of files.slice(0, -1)) {
      assert.match(basename(file), ROTATED)
      // A file ends at the first record that takes it past the size (a line is < 400 bytes here).
      const size = statSync(file).size
      assert.ok(size >= 32 * 1024 - 400 && size < 32 * 1024 + 800, `${basename(file)} is ${size} bytes`)
      assert.equal(statSync(file).mode & 0o777, 0o640)
    }
    const records = assertOneChainAcross(files)
    assert.deepEqual(records.filter((r) => r.event === 'code_execution').map((r) => r.i), Array.from({ length: count }, (_, i) => i))
    assert.equal(records.at(-1)?.event, 'chain.close')
    const report = await verify([join(box.dir, 'logs')], { keys: [box.pubPath] })
    assert.equal(report.ok, true, problemsOf(report))
    assert.deepEqual(report.warnings, [])
    assert.equal(report.chains.length, 1)
    assert.equal(report.chains[0].files.length, files.length)
    assert.equal(report.chains[0].sealed, true)
  })
}

test('process.exit() right after logging: the backlog drained at close is rotated too, and nothing is lost', async (t) => {
  // Closing starts while most of the records still wait in the worker: rotations must
  // go on as they are chained, not stop (and drop what is left of a batch).
  for (let run = 0; run < 3; run++) {
    const box = sandbox()
    t.after(box.cleanup)
    const result = await runApp({ destination: box.log, key: box.keyPath, count: 1000, after: 'exit', options: { rotation: { size: '16KB' } } })
    assert.equal(result.code, 0, result.stderr)
    const records = assertOneChainAcross(chainFiles(box))
    assert.deepEqual(records.filter((r) => r.event === 'code_execution').map((r) => r.i), Array.from({ length: 1000 }, (_, i) => i))
    assert.equal(records.at(-1)?.event, 'chain.close')
  }
})

test('rotation by time: a file is rotated once its first record is older than the interval; an idle file is not rotated into an empty one', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const transport = auditChainTransport({ destination: box.log, privateKeyPath: box.keyPath, rotation: { interval: 1000 }, headIntervalMs: 100 })
  const logger = pino(transport)
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
  // ~2.6 s of steady logging, then long enough for the last busy file's time to be up.
  for (let i = 0; i < 26; i++) {
    logger.info({ i, event: 'tick' }, 'tick')
    await sleep(100)
  }
  // Once the last busy file's time is up it is rotated, leaving a file with only its
  // file.open. (Waited for, not slept for: a loaded machine may fire timers late.)
  for (let waited = 0; waited < 15_000 && readRecords(box.log).map((r) => r.event).join() !== 'file.open'; waited += 100) await sleep(100)
  assert.deepEqual(readRecords(box.log).map((r) => r.event), ['file.open'])
  const rotated = chainFiles(box).length
  assert.ok(rotated >= 2, `${rotated} files after ~2.6 s of records at a 1 s interval`)
  // None was rotated early: each file began at least an interval before the next one.
  const starts = chainFiles(box).map((f) => readRecords(f)[0].time as number)
  for (let i = 1; i < starts.length; i++) assert.ok(starts[i] - starts[i - 1] >= 1000 - 5, `file ${i} began ${starts[i] - starts[i - 1]} ms after file ${i - 1}`)
  // Idle for 2.5 intervals: the file holding only its file.open is not rotated.
  await sleep(2500)
  assert.equal(chainFiles(box).length, rotated)
  // The next record goes into it, and its clock starts then.
  logger.info({ i: 26, event: 'tick' }, 'after the pause')
  await new Promise<void>((resolve) => logger.flush(() => resolve()))
  assert.deepEqual(readRecords(box.log).map((r) => r.event), ['file.open', 'tick'])
  await closeAuditTransport(transport)
  const files = chainFiles(box)
  assert.equal(files.length, rotated)
  const records = assertOneChainAcross(files)
  assert.deepEqual(records.filter((r) => r.event === 'tick').map((r) => r.i), Array.from({ length: 27 }, (_, i) => i))
  const report = await verify([join(box.dir, 'logs')], { keys: [box.pubPath] })
  assert.equal(report.ok, true, problemsOf(report))
})

test('a restart after rotation continues in the current file, and rotation by time counts from its first record', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const options = { rotation: { size: '16KB' } }
  assert.equal((await runApp({ destination: box.log, key: box.keyPath, count: 3000, after: 'exit', options })).code, 0)
  const before = chainFiles(box)
  const second = await runApp({ destination: box.log, key: box.keyPath, count: 3000, after: 'exit', options })
  assert.equal(second.code, 0, second.stderr)
  const files = chainFiles(box)
  // The files of the first run are all still there, unchanged in name.
  for (const f of before.slice(0, -1)) assert.ok(files.includes(f), `${basename(f)} kept`)
  const records = assertOneChainAcross(files)
  assert.equal(records.filter((r) => r.event === 'chain.open').length, 1)
  assert.equal(records.filter((r) => r.event === 'chain.resume').length, 1)
  assert.equal(records.filter((r) => r.event === 'code_execution').length, 6000)
  const report = await verify([join(box.dir, 'logs')], { keys: [box.pubPath] })
  assert.equal(report.ok, true, problemsOf(report))
  assert.equal(report.chains.length, 1)
})

test('a crash between renaming a full file and writing the next one: the restart continues from the newest rotated file', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  assert.equal((await runApp({ destination: box.log, key: box.keyPath, count: 2000, after: 'exit', options: { rotation: { size: '16KB' } } })).code, 0)
  // What the rename leaves when the process dies before the new audit.log exists.
  const files = chainFiles(box)
  const lastSeq = readRecords(box.log).at(-1)?.chain.seq as number
  const firstSeq = readRecords(box.log)[0].chain.seq as number
  renameSync(box.log, join(box.dir, 'logs', `audit.2099-01-01T00-00-00-000Z.${firstSeq}.log`))
  const restart = await runApp({ destination: box.log, key: box.keyPath, count: 10, after: 'exit' })
  assert.equal(restart.code, 0, restart.stderr)
  const current = readRecords(box.log)
  assert.equal(current[0].event, 'chain.resume')
  assert.equal(current[0].after.seq, lastSeq)
  assert.equal(current[0].chain.seq, lastSeq + 1)
  const report = await verify([join(box.dir, 'logs')], { keys: [box.pubPath] })
  assert.equal(report.ok, true, problemsOf(report))
  assert.equal(report.chains.length, 1)
  assert.equal(report.chains[0].files.length, files.length + 1)
})

test('kill -9 while rotating under load, then a restart: one intact chain', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const options = { rotation: { size: '8KB' }, signers: 2 }
  const first = startApp({ destination: box.log, key: box.keyPath, count: 10_000_000, after: 'return', pace: 200, options })
  await first.message((m) => m.logging === true)
  for (let i = 0; i < 200 && chainFiles(box).length < 30; i++) await new Promise((resolve) => setTimeout(resolve, 20))
  first.child.kill('SIGKILL')
  assert.equal((await first.exit).signal, 'SIGKILL', 'killed while still logging')
  const second = await runApp({ destination: box.log, key: box.keyPath, count: 500, after: 'exit', options })
  assert.equal(second.code, 0, second.stderr)
  const report = await verify([join(box.dir, 'logs')], { keys: [box.pubPath] })
  assert.equal(report.ok, true, problemsOf(report))
  assert.equal(report.chains.length, 1)
  assert.ok(report.chains[0].files.length > 1, `${report.chains[0].files.length} files`)
  // A torn line is the only thing a kill may leave, and only as a warning.
  assert.deepEqual(report.warnings.map((w) => w.kind).filter((k) => k !== 'torn'), [])
})

test('retention by count keeps the newest files, records each deletion, and the verifier accepts the shortened chain', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const run = await runApp({ destination: box.log, key: box.keyPath, count: 5000, after: 'exit', options: { rotation: { size: '16KB' }, retention: { maxFiles: 3 } } })
  assert.equal(run.code, 0, run.stderr)
  const files = chainFiles(box)
  assert.equal(files.length, 4) // 3 rotated + the current file
  const records = assertOneChainAcross(files)
  const prunes = records.filter((r) => r.event === 'retention.prune')
  assert.ok(prunes.length > 0)
  for (const p of prunes) {
    assert.deepEqual(p.failed, [])
    for (const f of p.files) assert.equal(existsSync(join(box.dir, 'logs', f.file)), false, `${String(f.file)} was deleted`)
  }
  // The newest prune names the file right before the oldest one kept, with its last hash.
  const oldestKept = readRecords(files[0])[0]
  const named = prunes.flatMap((p) => p.files).find((f) => f.lastSeq === oldestKept.chain.seq - 1)
  assert.equal(named?.lastHash, oldestKept.chain.prev)
  const report = await verify([join(box.dir, 'logs')], { keys: [box.pubPath] })
  assert.equal(report.ok, true, problemsOf(report))
  assert.equal(report.chains[0].prunedBefore, oldestKept.chain.seq)
})

test('after retention, deleting the oldest kept file is a missing start, and deleting a middle file is missing records; both name the file', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  assert.equal((await runApp({ destination: box.log, key: box.keyPath, count: 5000, after: 'exit', options: { rotation: { size: '16KB' }, retention: { maxFiles: 4 } } })).code, 0)
  const files = chainFiles(box)
  const dir = join(box.dir, 'logs')
  // Cut off the head beyond what retention recorded.
  unlinkSync(files[0])
  let report = await verify([dir], { keys: [box.pubPath] })
  assert.deepEqual(report.problems.map((p) => p.kind), ['missing-start'])
  assert.ok(report.problems[0].message.includes(basename(files[0])), report.problems[0].message)
  assert.equal(report.problems[0].file, files[1])
  // A file in the middle.
  unlinkSync(files[2])
  report = await verify([dir], { keys: [box.pubPath] })
  assert.deepEqual(report.problems.map((p) => p.kind), ['missing-start', 'missing'])
  assert.equal(report.problems[1].file, files[3])
  assert.ok(report.problems[1].message.includes(basename(files[2])), report.problems[1].message)
})

test('a retention failure becomes a warning record and the transport goes on', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  assert.equal((await runApp({ destination: box.log, key: box.keyPath, count: 1000, after: 'exit', options: { rotation: { size: '16KB' } } })).code, 0)
  // Something named like a rotated file that cannot be read as one (EISDIR), and a
  // link (dangling here): retention never follows one (ELOOP).
  mkdirSync(join(box.dir, 'logs', 'audit.2000-01-01T00-00-00-000Z.0.log'))
  const gone = join(box.dir, 'logs', 'audit.2000-01-02T00-00-00-000Z.5.log')
  symlinkSync(join(box.dir, 'nowhere.log'), gone)
  const run = await runApp({ destination: box.log, key: box.keyPath, count: 10, after: 'exit', options: { rotation: { size: '16KB' }, retention: { maxFiles: 100 } } })
  assert.equal(run.code, 0, run.stderr)
  const warning = assertOneChainAcross(chainFiles(box)).find((r) => r.event === 'retention.prune')
  assert.equal(warning?.level, 40)
  assert.deepEqual(warning?.files, [])
  assert.deepEqual(warning?.failed, [{ file: 'audit.2000-01-01T00-00-00-000Z.0.log', code: 'EISDIR' }, { file: basename(gone), code: 'ELOOP' }])
  // (The size limit may have moved the first new records into a rotated file.)
  assert.equal(assertOneChainAcross(chainFiles(box)).filter((r) => r.event === 'code_execution').length, 1010)
  // (verify refuses to run on a name in the directory it cannot read: the link goes first.)
  unlinkSync(gone)
  const report = await verify([join(box.dir, 'logs')], { keys: [box.pubPath] })
  assert.equal(report.ok, true, problemsOf(report))
})

test('a file of another chain dropped into the directory, and two files claiming the same seqs, are each reported by name', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const other = sandbox()
  t.after(other.cleanup)
  const options = { rotation: { size: '16KB' } }
  assert.equal((await runApp({ destination: box.log, key: box.keyPath, count: 2000, after: 'exit', options })).code, 0)
  // The other chain is signed with the same key: only the chain structure can tell.
  assert.equal((await runApp({ destination: other.log, key: box.keyPath, count: 2000, after: 'exit', options })).code, 0)
  const dir = join(box.dir, 'logs')
  const stranger = chainFiles(other)[2]
  copyFileSync(stranger, join(dir, 'audit.2001-01-01T00-00-00-000Z.77.log'))
  const files = chainFiles(box)
  const copy = join(dir, 'audit-copy.log')
  copyFileSync(files[3], copy)
  const report = await verify([dir], { keys: [box.pubPath] })
  assert.deepEqual(report.problems.map((p) => p.kind).sort(), ['duplicate', 'missing-start'])
  const start = report.problems.find((p) => p.kind === 'missing-start')
  assert.equal(basename(start?.file ?? ''), 'audit.2001-01-01T00-00-00-000Z.77.log')
  // One finding for the whole copied file, naming both files (whichever was read first is the original).
  const duplicate = report.problems.find((p) => p.kind === 'duplicate')
  const pair = [basename(duplicate?.file ?? ''), basename(duplicate?.message.match(/already read from (\S+):1 on/)?.[1] ?? '')].sort()
  assert.deepEqual(pair, [basename(copy), basename(files[3])].sort(), duplicate?.message)
  assert.equal(report.chains.length, 2)
})

test('bad rotation and retention options fail in the caller\'s thread, naming the option', (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ rotation: { size: '10 potatoes' } }, /option rotation\.size must be a size of at least 1024 bytes/],
    [{ rotation: { size: 100 } }, /option rotation\.size/],
    [{ rotation: { interval: '5' } }, /option rotation\.interval must be a duration/],
    [{ rotation: { every: '1d' } }, /unknown option rotation\.every/],
    [{ rotation: {} }, /option rotation must be an object with size and\/or interval/],
    [{ retention: { maxFiles: 0 } }, /option retention\.maxFiles must be a whole number/],
    [{ retention: { maxAge: 'forever' } }, /option retention\.maxAge must be a duration/]
  ]
  for (const [extra, message] of cases) {
    assert.throws(() => auditChainTransport({ destination: box.log, privateKeyPath: box.keyPath, ...extra }), (err: Error) => {
      assert.ok(hasCode(err, 'PAC_BAD_OPTION'), err.message)
      assert.match(err.message, message)
      return true
    })
  }
})

test('a file that cannot be renamed is not rotated: records go on into it, the app gets a PAC_ROTATION warning', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  // A 232-character name is legal, and so is its head file's temporary name (its stem
  // is cut to 200 characters); with the rotation suffix (+27) it is longer than 255:
  // ENAMETOOLONG.
  const destination = join(box.dir, 'logs', `${'a'.repeat(228)}.log`)
  const warnings: Error[] = []
  const onWarning = (w: Error): void => { warnings.push(w) }
  process.on('warning', onWarning)
  t.after(() => { process.off('warning', onWarning) })
  const transport = auditChainTransport({ destination, privateKeyPath: box.keyPath, rotation: { size: '1KB' } })
  const logger = pino(transport)
  for (let i = 0; i < 50; i++) logger.info({ i, event: 'x' }, 'still written')
  await new Promise<void>((resolve) => logger.flush(() => resolve()))
  await closeAuditTransport(transport)
  assert.deepEqual(readdirSync(join(box.dir, 'logs')).filter((n) => n.endsWith('.log')), [basename(destination)])
  const records = readRecords(destination)
  assert.deepEqual(records.filter((r) => r.event === 'x').map((r) => r.i), Array.from({ length: 50 }, (_, i) => i))
  // One try, then a pause: not one warning per record.
  const rotation = warnings.filter((w) => hasCode(w, 'PAC_ROTATION'))
  assert.equal(rotation.length, 1, warnings.map((w) => w.message).join('\n'))
  assert.match(rotation[0].message, /cannot rename .* to rotate it \(ENAMETOOLONG\); records go on into it/)
  const report = await verify([destination], { keys: [box.pubPath] })
  assert.equal(report.ok, true, problemsOf(report))
})
