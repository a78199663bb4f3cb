/**
 * One writer per chain, held by the kernel (src/transport/lock.ts): real child
 * processes started at the same instant over a stale lock, a pid-1 service killed with
 * -9 in its own pid namespace, and two transports inside one process.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync, fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { auditChainTransport, transportTarget } from '../src/transport/spawn.js'
import { closeAuditTransport } from '../src/transport/close.js'
import { hasCode } from '../src/errors.js'
import { verify } from '../src/verify/index.js'
import { LOG_APP, ROOT, readRecords, sandbox, startApp } from './helpers.js'

const RACE_APP = join(ROOT, 'test/fixtures/lock-race-app.mjs')
const ACQUIRE_APP = join(ROOT, 'test/fixtures/lock-acquire-app.mjs')
// Rounds of simultaneous starts of the whole transport, three new processes each (about
// a second); the lock alone is raced many more times below, in processes that stay up.
const ROUNDS = 8
const WRITERS = 3

/** A child process that tries to start a transport on each go(). */
interface Racer {
  child: ChildProcess
  loaded: Promise<void>
  /** Start a transport now: 'started', or the error message. */
  go: (target: 'caller' | 'package') => Promise<'started' | { failed: string }>
}

function racer (cfg: Record<string, unknown>): Racer {
  const child = fork(RACE_APP, [JSON.stringify(cfg)], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], cwd: ROOT, execArgv: [] })
  let stderr = ''
  child.stderr?.on('data', (d) => { stderr += String(d) })
  const exited = once(child, 'exit').then(([code]) => { throw new Error(`racer exited (${String(code)}): ${stderr}`) })
  exited.catch(() => {})
  const next = (): Promise<Record<string, unknown>> => Promise.race([exited, new Promise<Record<string, unknown>>((resolve) => { child.once('message', resolve) })])
  return {
    child,
    loaded: next().then(() => {}),
    go: async (target) => {
      const reply = next()
      child.send({ go: true, target })
      const m = await reply
      return m.started === true ? 'started' : { failed: String(m.failed) }
    }
  }
}

async function kill9 (child: ChildProcess): Promise<void> {
  const exited = once(child, 'exit')
  child.kill('SIGKILL')
  await exited
}

test(`a stale lock and ${WRITERS} writers started at the same instant, ${ROUNDS} times over: always exactly one writer, and one chain that verifies`, async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  // The stale lock: a writer killed with -9 while it held it.
  const first = startApp({ destination: box.log, key: box.keyPath, count: 10, after: 'hang' })
  await first.message((m) => m.flushed === true)
  await kill9(first.child)
  assert.equal(existsSync(`${box.log}.lock`), true, 'the killed writer left its lock file behind')

  const racers: Racer[] = []
  t.after(() => { for (const r of racers) r.child.kill('SIGKILL') })
  for (let round = 0; round < ROUNDS; round++) {
    while (racers.length < WRITERS) racers.push(racer({ destination: box.log, key: box.keyPath, count: 20 }))
    await Promise.all(racers.map((r) => r.loaded))
    // Some take the caller-side pre-check, some go straight to the worker's lock.
    const outcomes = await Promise.all(racers.map((r, i) => r.go((round + i) % 2 === 0 ? 'caller' : 'package')))
    const winners = racers.filter((_, i) => outcomes[i] === 'started')
    const losers = outcomes.filter((o): o is { failed: string } => o !== 'started')
    assert.equal(winners.length, 1, `round ${round}: exactly one writer, got ${winners.length}: ${JSON.stringify(losers)}`)
    for (const loser of losers) assert.match(loser.failed, /^PAC_LOCKED: .*audit\.log is already being written by /)
    // The winner dies holding the lock: the next round starts over a stale lock again.
    await kill9(winners[0].child)
    racers.length = 0
  }

  const last = await startApp({ destination: box.log, key: box.keyPath, count: 1, after: 'return' }).exit
  assert.equal(last.code, 0, last.stderr)
  const records = readRecords(box.log)
  assert.equal(records.filter((r) => r.event === 'chain.open').length, 1)
  assert.equal(records.filter((r) => r.event === 'chain.resume').length, ROUNDS + 1)
  assert.equal(records.filter((r) => r.msg === 'racing').length, ROUNDS * 20, 'one writer\'s records per round, none from a loser')
  const report = await verify([box.log], { keys: [box.pubPath], requireSeal: true })
  assert.equal(report.ok, true, JSON.stringify(report.problems.slice(0, 3)))
  assert.equal(report.chains.length, 1)
})

test('the lock alone: 4 processes calling acquireLock within microseconds of each other over a stale lock file, 100 times over: exactly one holds it each time', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const destination = join(box.dir, 'audit.log')
  // A pid that is certainly dead: a child that has exited.
  const deadPid = spawnSync(process.execPath, ['-e', '0']).pid
  const children = Array.from({ length: 4 }, () => fork(ACQUIRE_APP, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], cwd: ROOT, execArgv: [] }))
  t.after(() => { for (const c of children) c.kill('SIGKILL') })
  const reply = (c: ChildProcess): Promise<Record<string, unknown>> => new Promise((resolve, reject) => {
    c.once('message', resolve)
    c.once('exit', (code) => { reject(new Error(`lock app exited (${String(code)})`)) })
  })
  await Promise.all(children.map(reply))
  for (let round = 0; round < 100; round++) {
    // What a writer killed with -9 leaves behind: its lock file, naming a process that is gone.
    writeFileSync(`${destination}.lock`, JSON.stringify({ pid: deadPid, hostname: hostname(), startedAt: new Date().toISOString() }) + '\n', { mode: 0o640 })
    const at = Date.now() + 30
    const replies = children.map(reply)
    for (const c of children) c.send({ at, destination })
    const outcomes = await Promise.all(replies)
    const holders = children.filter((_, i) => outcomes[i].held === true)
    assert.equal(holders.length, 1, `round ${round}: ${holders.length} processes hold the lock at once: ${JSON.stringify(outcomes)}`)
    for (const o of outcomes) if (o.held !== true) assert.match(String(o.failed), /^PAC_LOCKED: /)
    const released = reply(holders[0])
    holders[0].send({ release: true })
    await released
  }
})

/** Run the log app as pid 1 of a new pid namespace, as node runs in a container. */
function startAsPid1 (cfg: Record<string, unknown>): { child: ChildProcess, exit: Promise<{ code: number | null, signal: NodeJS.Signals | null, stderr: string }>, flushed: Promise<void> } {
  // --kill-child: when unshare is killed with -9, the kernel sends SIGKILL to node (pid 1 inside).
  const child = spawn('unshare', ['--pid', '--fork', '--mount-proc', '--kill-child', process.execPath, LOG_APP, JSON.stringify(cfg)], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] })
  let stderr = ''
  child.stderr?.on('data', (d) => { stderr += String(d) })
  const exit = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null, stderr }))
  const flushed = new Promise<void>((resolve, reject) => {
    child.on('message', (m: Record<string, unknown>) => { if (m.flushed === true) resolve() })
    exit.then((e) => reject(new Error(`app exited (${e.code ?? e.signal}) before it flushed: ${e.stderr}`)), reject)
  })
  flushed.catch(() => {}) // awaited only by the caller that waits for it
  return { child, exit, flushed }
}

function unshareUnavailable (): string | undefined {
  const probe = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], { encoding: 'utf8' })
  if ((probe.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return 'unshare(1) is not installed'
  if (probe.status !== 0 && /Operation not permitted|EPERM/i.test(probe.stderr)) return `unshare --pid needs privileges this user lacks (${probe.stderr.trim()})`
  return undefined
}

test('a service that runs as pid 1 (as in a container) and is killed with -9 restarts cleanly: the same pid on the same host is not taken for the old writer', async (t) => {
  const why = unshareUnavailable()
  if (why !== undefined) { t.skip(`${why}: cannot run node as pid 1 in a new pid namespace`); return }
  const box = sandbox()
  t.after(box.cleanup)
  const first = startAsPid1({ destination: box.log, key: box.keyPath, count: 50, after: 'hang' })
  t.after(() => first.child.kill('SIGKILL'))
  await first.flushed
  const owner = JSON.parse(readFileSync(`${box.log}.lock`, 'utf8'))
  assert.equal(owner.pid, 1, 'the writer really ran as pid 1')
  first.child.kill('SIGKILL')
  await first.exit
  assert.equal(existsSync(`${box.log}.lock`), true, 'the lock file, naming pid 1 on this host, is left behind')

  const again = startAsPid1({ destination: box.log, key: box.keyPath, count: 5, after: 'return' })
  const run = await again.exit
  assert.equal(run.code, 0, `the restart must not be locked out: ${run.stderr}`)
  const records = readRecords(box.log)
  assert.deepEqual(records.map((r) => r.event).filter((e) => String(e).startsWith('chain.')), ['chain.open', 'chain.resume', 'chain.close'])
  const report = await verify([box.log], { keys: [box.pubPath], requireSeal: true })
  assert.equal(report.ok, true, JSON.stringify(report.problems.slice(0, 3)))
  assert.equal(existsSync(`${box.log}.lock`), false, 'the clean close removed the lock file')
})

test('two transports to one destination inside one process: the second fails with PAC_LOCKED, and the pre-check does not break the first one\'s lock', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const options = { destination: box.log, privateKeyPath: box.keyPath }
  const first = pino.transport({ target: transportTarget, options })
  t.after(async () => { await closeAuditTransport(first) })
  await once(first, 'ready')

  // The caller-side pre-check, in this (the main) thread, takes and drops the lock on a
  // descriptor of its own: it must refuse, and leave the worker's lock in place.
  assert.throws(() => auditChainTransport(options), (err: Error) => hasCode(err, 'PAC_LOCKED') && err.message.includes(`process ${process.pid}`))

  const second = pino.transport({ target: transportTarget, options })
  const [err] = await once(second, 'error') as [Error]
  assert.match(err.message, /PAC_LOCKED: .*audit\.log is already being written by process \d+/)

  const logger = pino(first)
  logger.info({ n: 1 }, 'still the only writer')
  await closeAuditTransport(first)
  // Once the first is closed, the destination is free again.
  const third = auditChainTransport(options)
  pino(third).info({ n: 2 }, 'next writer')
  await closeAuditTransport(third)
  const report = await verify([box.log], { keys: [box.pubPath], requireSeal: true })
  assert.equal(report.ok, true, JSON.stringify(report.problems.slice(0, 3)))
  assert.deepEqual(readRecords(box.log).filter((r) => r.event !== undefined).map((r) => r.event), ['chain.open', 'chain.close', 'chain.resume', 'chain.close'])
})
