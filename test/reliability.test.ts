/**
 * Nothing lost under load, at exit, across crashes and on a full disk — with real
 * processes, real files, real kill -9 and a real (tmpfs) full filesystem.
 *
 * Heavy runs are bounded for CI; `npm run soak` runs the same load test with
 * SOAK_RECORDS=1000000.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { verify } from '../src/verify/index.js'
import { mulberry32, readRecords, runApp, sandbox, startApp } from './helpers.js'

test('process.exit() right after 100,000 log calls: all 100,000 records on disk and the chain sealed', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const started = Date.now()
  const run = await runApp({ destination: box.log, key: box.keyPath, count: 100_000, after: 'exit' })
  t.diagnostic(`100k records + process.exit(): ${Date.now() - started} ms from start to exit`)
  assert.equal(run.code, 0, run.stderr)
  const records = readRecords(box.log)
  assert.equal(records.length, 100_002)
  assert.equal(records.at(-1)?.event, 'chain.close')
  assert.equal(records.at(-1)?.records, 100_002)
  const ids = records.slice(1, -1).map((r) => r.i)
  assert.deepEqual(ids, Array.from({ length: 100_000 }, (_, i) => i))
})

test('a producer logging as fast as it can: every record on disk exactly once, in order, chain intact', async (t) => {
  const count = Number(process.env.SOAK_RECORDS ?? 200_000)
  const box = sandbox()
  t.after(box.cleanup)
  const app = startApp({ destination: box.log, key: box.keyPath, count, after: 'return', report: true })
  const usage = await app.message((m) => m.maxRSS !== undefined)
  const run = await app.exit
  assert.equal(run.code, 0, run.stderr)
  t.diagnostic(`${count} records: producer process peak RSS ${Math.round(usage.maxRSS / 1024)} MB (pino worker included)`)
  const records = readRecords(box.log)
  assert.equal(records.length, count + 2)
  let expected = 0
  for (const r of records.slice(1, -1)) {
    assert.equal(r.i, expected++, 'each record once, in the order logged')
  }
  const report = await verify([box.log], { keys: [box.pubPath] })
  assert.equal(report.ok, true, JSON.stringify(report.problems.slice(0, 3)))
  assert.deepEqual(report.warnings, [])
})

test('kill -9 at random points, 20 times, each followed by a restart: always one chain, verify passes', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const random = mulberry32(20261126)
  let tornAdded = 0
  for (let round = 0; round < 20; round++) {
    const app = startApp({ destination: box.log, key: box.keyPath, count: 5_000_000, after: 'return', pace: 200 })
    const sizeBefore = existsSync(box.log) ? statSync(box.log).size : 0
    await app.message((m) => m.logging === true)
    // Kill at a random point while the writer is writing: after its first record is down.
    for (let i = 0; i < 1000 && (!existsSync(box.log) || statSync(box.log).size === sizeBefore); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 300)))
    app.child.kill('SIGKILL')
    const exit = await app.exit
    assert.equal(exit.signal, 'SIGKILL', `round ${round}: the app exited by itself (${exit.code}): ${exit.stderr}`)
    // Every few rounds, the crash also tore the record being written.
    if (random() < 0.3) {
      appendFileSync(box.log, '{"level":30,"time":1,"i":12,"msg":"rec'.slice(0, 5 + Math.floor(random() * 30)))
      tornAdded++
    }
  }
  const last = await runApp({ destination: box.log, key: box.keyPath, count: 10, after: 'return' })
  assert.equal(last.code, 0, last.stderr)
  const text = readFileSync(box.log, 'utf8')
  assert.equal(text.match(/"event":"chain\.open"/g)?.length, 1, 'one chain')
  assert.equal(text.match(/"event":"chain\.resume"/g)?.length, 20, 'one resume per restart')
  const report = await verify([box.log], { keys: [box.pubPath] })
  assert.equal(report.ok, true, JSON.stringify(report.problems.slice(0, 3)))
  assert.equal(report.chains.length, 1)
  // Every torn line is explained: the ones added here, and any a kill itself left by
  // landing in the middle of a write(2) of a large batch.
  const torn = report.warnings.filter((w) => w.kind === 'torn').length
  assert.ok(torn >= tornAdded, `${torn} torn-line warnings for ${tornAdded} torn lines added`)
  assert.deepEqual(report.warnings.filter((w) => w.kind !== 'torn'), [])
  assert.ok(tornAdded > 0, 'the seeded run tears at least one line')
})

/** A tiny tmpfs, so that the disk really fills up. Needs root (CI and this machine run as root). */
function mountTiny (dir: string, size: string): () => void {
  mkdirSync(dir, { recursive: true })
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir])
  return () => { execFileSync('umount', ['-l', dir]) }
}

test('a full disk (ENOSPC) is reported to the app as a clear error; after space is freed the chain continues', async (t) => {
  const box = sandbox()
  const disk = join(box.dir, 'disk')
  const unmount = mountTiny(disk, '256k')
  t.after(() => { unmount(); box.cleanup() })
  const log = join(disk, 'audit.log')
  const run = await runApp({ destination: log, key: box.keyPath, count: 5_000, after: 'hang', pace: 100 })
  assert.equal(run.code, 3, 'the app is told through the transport\'s error event')
  assert.match(run.stderr, /audit transport failed: PAC_WRITE_FAILED: writing to .*audit\.log failed \(ENOSPC\)/)
  // Said loudly even where nobody listens (e.g. during process exit):
  assert.match(run.stderr, /pino-audit-chain: PAC_WRITE_FAILED: writing to .*audit\.log failed \(ENOSPC\); records from here on are not on disk/)
  const onDisk = readFileSync(log)
  assert.ok(onDisk.length > 100_000, 'it wrote until the disk was full')
  // Grow the filesystem (as an operator freeing space would), restart: the same chain continues.
  execFileSync('mount', ['-o', 'remount,size=8m', disk])
  const again = await runApp({ destination: log, key: box.keyPath, count: 10, after: 'return' })
  assert.equal(again.code, 0, again.stderr)
  const report = await verify([log], { keys: [box.pubPath] })
  assert.equal(report.ok, true, JSON.stringify(report.problems.slice(0, 3)))
  assert.equal(report.chains.length, 1)
  assert.ok(readFileSync(log).subarray(0, onDisk.length).equals(onDisk), 'nothing written before was changed')
})

test('a destination that cannot be created or written is a clear error at start', async (t) => {
  const box = sandbox()
  // A directory path that runs through a regular file.
  const blocked = join(box.dir, 'keys/audit-ed25519.pub/logs/audit.log')
  const run = await runApp({ destination: blocked, key: box.keyPath, count: 1, after: 'return' })
  assert.notEqual(run.code, 0)
  assert.match(run.stderr, /PAC_DESTINATION: cannot create the directory .*audit-ed25519\.pub\/logs/)
  // A read-only filesystem.
  const ro = join(box.dir, 'ro')
  const unmount = mountTiny(ro, '64k')
  t.after(() => { unmount(); box.cleanup() })
  execFileSync('mount', ['-o', 'remount,ro', ro])
  const roRun = await runApp({ destination: join(ro, 'audit.log'), key: box.keyPath, count: 1, after: 'return' })
  assert.notEqual(roRun.code, 0)
  assert.match(roRun.stderr, /PAC_(DESTINATION|LOCKED): cannot create lock file .*ro\/audit\.log\.lock \(EROFS\)/)
  assert.equal(existsSync(join(ro, 'audit.log')), false)
})

test('no key material ever appears in a log line, a head file or an error message', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const pem = readFileSync(box.keyPath, 'utf8')
  const secret = pem.split('\n').filter((l) => l.length > 0 && !l.startsWith('-----')).join('')
  const seed = Buffer.from(secret, 'base64').subarray(-32)
  const run = await runApp({ destination: box.log, key: box.keyPath, count: 100, after: 'return' })
  assert.equal(run.code, 0)
  for (const file of [box.log, `${box.log}.head.json`]) {
    const text = readFileSync(file, 'utf8')
    assert.equal(text.includes(secret), false)
    assert.equal(text.includes(seed.toString('hex')), false)
    assert.equal(text.includes(seed.toString('base64url')), false)
  }
  assert.equal(statSync(box.keyPath).mode & 0o777, 0o600)
  // Errors about a key name the file, never its contents.
  const openKey = join(box.dir, 'keys/open.key')
  writeFileSync(openKey, pem, { mode: 0o644 })
  const notPem = join(box.dir, 'keys/truncated.key')
  writeFileSync(notPem, pem.slice(0, 60), { mode: 0o600 })
  for (const key of [openKey, notPem]) {
    const failed = await runApp({ destination: box.log, key, count: 1, after: 'return', target: 'package' })
    assert.notEqual(failed.code, 0)
    assert.match(failed.stderr, /PAC_KEY_(PERMISSIONS|WRONG_TYPE)/)
    assert.equal(failed.stderr.includes(secret.slice(0, 24)), false)
  }
})
