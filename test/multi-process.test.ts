/**
 * One chain per process in one directory (option perProcess, issue 16 item 1): a
 * node:cluster app whose workers share one set of options, each writing its own
 * chain; a worker killed with SIGKILL and its replacement continuing that chain;
 * several transports in one process; retention counting each chain on its own.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync, fork } from 'node:child_process'
import { once } from 'node:events'
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pino from 'pino'
import { auditChainTransport } from '../src/transport/spawn.js'
import { closeAuditTransport, type TransportStream } from '../src/transport/close.js'
import { listRotated, rotateAside } from '../src/transport/rotation.js'
import { slotPath } from '../src/transport/slots.js'
import { hasCode } from '../src/errors.js'
import { createAuditLogger } from '../src/audit/create.js'
import { loadAuditConfig } from '../src/config/load.js'
import { readRecords, sandbox, type Sandbox } from './helpers.js'

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))
const CLUSTER_APP = fileURLToPath(new URL('./fixtures/cluster-app.mjs', import.meta.url))
const ROOT = fileURLToPath(new URL('..', import.meta.url))

function verifyDir (dir: string, pubPath: string): { code: number | null, stdout: string, stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'verify', dir, '--key', pubPath], { encoding: 'utf8' })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** The cluster app of test/fixtures/cluster-app.mjs, driven over IPC. */
function startCluster (box: Sandbox, workers: number): { send: (m: object) => void, next: (pred: (m: any) => boolean) => Promise<any>, exit: Promise<unknown>, stderr: () => string } {
  const child = fork(CLUSTER_APP, [JSON.stringify({ destination: box.log, key: box.keyPath, workers })], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe', 'ipc'], execArgv: [] })
  let stderr = ''
  child.stderr?.on('data', (d) => { stderr += String(d) })
  const exit = once(child, 'exit')
  // Messages are kept until asked for: a worker may report before the test waits.
  const inbox: any[] = []
  const waiting: Array<{ pred: (m: any) => boolean, resolve: (m: any) => void }> = []
  child.on('message', (m: any) => {
    if (m.failed !== undefined || m.flushFailed !== undefined) stderr += `cluster: ${JSON.stringify(m)}\n`
    const w = waiting.findIndex((x) => x.pred(m))
    if (w >= 0) waiting.splice(w, 1)[0].resolve(m)
    else inbox.push(m)
  })
  const next = async (pred: (m: any) => boolean): Promise<any> => {
    const i = inbox.findIndex(pred)
    if (i >= 0) return inbox.splice(i, 1)[0]
    return await Promise.race([
      new Promise((resolve) => waiting.push({ pred, resolve })),
      exit.then(() => { throw new Error(`the cluster app exited early: ${stderr}`) })
    ])
  }
  return { send: (m) => child.send(m), next, exit, stderr: () => stderr }
}

const slotFilesIn = (dir: string): string[] => readdirSync(dir).filter((n) => /^audit\.\d+\.log$/.test(n)).sort()

test('node:cluster: 4 workers write 4 chains in one directory; a worker killed with SIGKILL is continued by its replacement with chain.resume', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const app = startCluster(box, 4)
  const online: Array<{ id: number }> = []
  while (online.length < 4) online.push(await app.next((m) => m.online === true))
  for (const { id } of online) {
    app.send({ log: { id, count: 40 } })
    await app.next((m) => m.logged === true && m.id === id)
  }
  const dir = join(box.dir, 'logs')
  assert.deepEqual(slotFilesIn(dir), ['audit.0.log', 'audit.1.log', 'audit.2.log', 'audit.3.log'])

  // The chain of the killed worker: the file whose records it wrote.
  const victim = online[1].id
  const victimFile = slotFilesIn(dir).find((n) => readRecords(join(dir, n)).some((r) => r.worker === victim)) as string
  app.send({ kill: victim })
  assert.equal((await app.next((m) => m.killed === victim)).signal, 'SIGKILL')
  app.send({ fork: true })
  const replacement = (await app.next((m) => m.online === true)).id as number
  app.send({ log: { id: replacement, count: 25 } })
  await app.next((m) => m.logged === true && m.id === replacement)
  app.send({ close: true })
  await app.next((m) => m.closed === true)
  await app.exit
  assert.equal(app.stderr(), '')

  // Still 4 chains: the replacement took the killed worker's slot, not a fifth one.
  assert.deepEqual(slotFilesIn(dir), ['audit.0.log', 'audit.1.log', 'audit.2.log', 'audit.3.log'])
  for (const n of slotFilesIn(dir)) assert.ok(existsSync(join(dir, `${n}.head.json`)), `${n} has its own head file`)
  const records = readRecords(join(dir, victimFile))
  const events = records.map((r) => r.event ?? (r.worker === victim ? 'victim' : r.worker === replacement ? 'replacement' : `worker ${String(r.worker)}`))
  const resumeAt = events.indexOf('chain.resume')
  assert.equal(events[0], 'chain.open')
  assert.ok(events.slice(1, resumeAt).every((e) => e === 'victim') && resumeAt === 41, `40 records of the killed worker, then chain.resume: ${events.join(',')}`)
  assert.ok(events.slice(resumeAt + 1, -1).every((e) => e === 'replacement') && events.length - resumeAt - 2 === 25, `then the replacement's 25: ${events.join(',')}`)
  assert.equal(events.at(-1), 'chain.close')
  assert.deepEqual(records.map((r) => r.chain.seq), records.map((_, i) => i), 'one chain: seqs run on across the crash')
  // The other workers' chains hold their own worker's records only, sealed once.
  for (const n of slotFilesIn(dir).filter((f) => f !== victimFile)) {
    const workers = new Set(readRecords(join(dir, n)).filter((r) => r.event === undefined).map((r) => r.worker))
    assert.equal(workers.size, 1, `${n} is one process's chain`)
  }

  const r = verifyDir(dir, box.pubPath)
  assert.equal(r.code, 0, r.stdout + r.stderr)
  assert.equal(r.stdout.split('\n').filter((l) => l.startsWith('chain ')).length, 4, r.stdout)
  assert.match(r.stdout, /^INTACT: 194 records in 4 chains \(4 files\), 0 problems, 0 warnings$/m)
})

async function started (options: Record<string, unknown>): Promise<TransportStream> {
  const transport = auditChainTransport({ ...options, handleSignals: false } as never)
  await once(transport, 'ready')
  return transport
}

test('16 transports started at once in one process take 16 slots, and verify DIR prints one line per chain', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const transports = await Promise.all(Array.from({ length: 16 }, async () => await started({ destination: box.log, privateKeyPath: box.keyPath, perProcess: true, signers: 1 })))
  transports.forEach((transport, i) => { pino(transport).info({ transport: i }, 'hello') })
  await Promise.all(transports.map(closeAuditTransport))
  const dir = join(box.dir, 'logs')
  const files = slotFilesIn(dir)
  assert.deepEqual(files.map((n) => Number(n.split('.')[1])).sort((a, b) => a - b), Array.from({ length: 16 }, (_, i) => i))
  const owners = files.map((n) => readRecords(join(dir, n)).filter((r) => r.event === undefined).map((r) => r.transport))
  assert.ok(owners.every((o) => o.length === 1), `one transport's record per file: ${JSON.stringify(owners)}`)
  assert.equal(new Set(owners.flat()).size, 16)

  const r = verifyDir(dir, box.pubPath)
  assert.equal(r.code, 0, r.stdout + r.stderr)
  const lines = r.stdout.trim().split('\n')
  assert.equal(lines.length, 17, 'one line per chain and the verdict')
  for (const n of files) assert.equal(lines.filter((l) => l.startsWith('chain ') && l.includes(` in ${join(dir, n)}, sealed`)).length, 1, `${n}: ${r.stdout}`)
  assert.match(lines[16], /^INTACT: 48 records in 16 chains \(16 files\), 0 problems, 0 warnings$/)
  // Listed in slot order (2 before 10), so a reader finds a slot where they expect it.
  const listed = lines.slice(0, 16).map((l) => Number(/audit\.(\d+)\.log, sealed/.exec(l)?.[1]))
  assert.deepEqual(listed, Array.from({ length: 16 }, (_, i) => i), r.stdout)
})

test('a slot freed by a closed writer is the next writer\'s, and its chain is resumed there', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const options = { destination: box.log, privateKeyPath: box.keyPath, perProcess: true, signers: 1 }
  const first = await started(options)
  const second = await started(options)
  pino(first).info('first')
  pino(second).info('second')
  await closeAuditTransport(first)
  const third = await started(options)
  pino(third).info('third')
  await Promise.all([closeAuditTransport(second), closeAuditTransport(third)])
  const dir = join(box.dir, 'logs')
  assert.deepEqual(slotFilesIn(dir), ['audit.0.log', 'audit.1.log'])
  assert.deepEqual(readRecords(join(dir, 'audit.0.log')).map((r) => r.event ?? r.msg), ['chain.open', 'first', 'chain.close', 'chain.resume', 'third', 'chain.close'])
  assert.deepEqual(readRecords(join(dir, 'audit.1.log')).map((r) => r.event ?? r.msg), ['chain.open', 'second', 'chain.close'])
})

test('retention counts per chain: slot 0 pruning its rotated files never deletes slot 1\'s', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const options = { destination: box.log, privateKeyPath: box.keyPath, perProcess: true, signers: 1, rotation: { size: 1024 }, retention: { maxFiles: 2 } }
  const zero = await started(options)
  const one = await started(options)
  const pad = 'x'.repeat(600)
  // Slot 1 first: its two rotated files are the oldest in the directory.
  const loggerOne = pino(one)
  for (let i = 0; i < 2; i++) loggerOne.info({ i, pad }, 'one')
  await closeAuditTransport(one)
  const loggerZero = pino(zero)
  for (let i = 0; i < 12; i++) loggerZero.info({ i, pad }, 'zero')
  await closeAuditTransport(zero)

  const dir = join(box.dir, 'logs')
  const rotatedOne = listRotated(join(dir, 'audit.1.log'))
  const rotatedZero = listRotated(join(dir, 'audit.0.log'))
  assert.equal(rotatedOne.length, 2, `slot 1 keeps both its rotated files: ${readdirSync(dir).join(' ')}`)
  assert.equal(rotatedZero.length, 2, `slot 0 keeps its newest 2: ${readdirSync(dir).join(' ')}`)
  const prunes = readRecords(join(dir, 'audit.0.log')).concat(...rotatedZero.map(readRecords)).filter((r) => r.event === 'retention.prune')
  const pruned = prunes.flatMap((r) => r.files.map((f: { file: string }) => f.file))
  assert.ok(pruned.length > 0 && pruned.every((f: string) => f.startsWith('audit.0.')), `slot 0 pruned only its own files: ${pruned.join(' ')}`)
  const r = verifyDir(dir, box.pubPath)
  assert.equal(r.code, 0, r.stdout + r.stderr)
  assert.match(r.stdout, /in 2 chains/)
})

test('slot 1\'s rotated files are not slot 10\'s, nor the plain destination\'s', (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const dir = join(box.dir, 'logs')
  mkdirSync(dir)
  const when = new Date('2026-11-27T03:15:00.123Z')
  for (const name of ['audit.log', 'audit.1.log', 'audit.10.log', 'audit.11.log']) {
    writeFileSync(join(dir, name), '')
    rotateAside(join(dir, name), 5, when)
  }
  assert.deepEqual(listRotated(slotPath(box.log, 1)), [join(dir, 'audit.1.2026-11-27T03-15-00-123Z.5.log')])
  assert.deepEqual(listRotated(slotPath(box.log, 10)), [join(dir, 'audit.10.2026-11-27T03-15-00-123Z.5.log')])
  assert.deepEqual(listRotated(box.log), [join(dir, 'audit.2026-11-27T03-15-00-123Z.5.log')])
  assert.equal(slotPath('/x/audit', 3), '/x/audit.3')
})

test('a slot file planted in the directory is treated like the plain destination: a symlink refused, a foreign chain never vouched for', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const dir = join(box.dir, 'logs')
  mkdirSync(dir, { mode: 0o750 })
  writeFileSync(join(box.dir, 'elsewhere.log'), '')
  symlinkSync(join(box.dir, 'elsewhere.log'), join(dir, 'audit.0.log'))
  await assert.rejects(started({ destination: box.log, privateKeyPath: box.keyPath, perProcess: true, signers: 1 }), (err: Error) => hasCode(err, 'PAC_INSECURE'))

  // A chain signed by another key, under slot 0's name: exactly what the plain
  // destination does with one (a key change continues a chain begun by an older key):
  // appended to, never overwritten, and nothing of it vouched for under our key.
  const other = sandbox()
  t.after(other.cleanup)
  const foreign = await started({ destination: other.log, privateKeyPath: other.keyPath, signers: 1 })
  pino(foreign).info('not yours')
  await closeAuditTransport(foreign)
  unlinkSync(join(dir, 'audit.0.log'))
  copyFileSync(other.log, join(dir, 'audit.0.log'))
  const planted = readFileSync(join(dir, 'audit.0.log'), 'utf8')
  const ours = await started({ destination: box.log, privateKeyPath: box.keyPath, perProcess: true, signers: 1 })
  pino(ours).info('mine')
  await closeAuditTransport(ours)
  assert.ok(readFileSync(join(dir, 'audit.0.log'), 'utf8').startsWith(planted))
  const r = verifyDir(dir, box.pubPath)
  assert.equal(r.code, 1, r.stdout + r.stderr)
  assert.match(r.stdout, /audit\.0\.log:1–3 seqs 0–2 {2}unknown-key/)
})

test('perProcess must be true or false', () => {
  const box = sandbox()
  try {
    assert.throws(() => auditChainTransport({ destination: box.log, privateKeyPath: box.keyPath, perProcess: 'yes' as never }), (err: Error) => hasCode(err, 'PAC_BAD_OPTION') && /option perProcess must be true or false, got "yes"/.test(err.message))
  } finally {
    box.cleanup()
  }
})

test('policy key per_process: two audit loggers with one policy file write two chains', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const file = join(box.dir, 'audit.yaml')
  writeFileSync(file, `storage_location: logs\nper_process: true\nsigning:\n  private_key_path: ${box.keyPath}\n`)
  const first = createAuditLogger({ config: file })
  const second = createAuditLogger({ config: file })
  first.logEvent('app.started', { n: 1 })
  second.logEvent('app.started', { n: 2 })
  await Promise.all([first.close(), second.close()])
  const dir = join(box.dir, 'logs')
  assert.deepEqual(slotFilesIn(dir), ['audit.0.log', 'audit.1.log'])
  const ns = slotFilesIn(dir).map((n) => readRecords(join(dir, n)).filter((r) => r.event === 'app.started').map((r) => r.n))
  assert.deepEqual(ns.flat().sort(), [1, 2])
  assert.ok(ns.every((x) => x.length === 1))
})

test('policy key per_process must be true or false: the error names the file, the key and what was found', (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const file = join(box.dir, 'audit.yaml')
  writeFileSync(file, 'storage_location: logs\nper_process: yes please\n')
  assert.throws(() => loadAuditConfig(file), (err: Error) => {
    assert.ok(hasCode(err, 'PAC_CONFIG'), err.message)
    for (const part of [file, 'key per_process', 'expected true or false', 'found "yes please"']) assert.ok(err.message.includes(part), `${part} in: ${err.message}`)
    return true
  })
})
