/**
 * Reading audit logs with pino-pretty (docs/pretty.md), and the time of the writer's
 * own records (FORMAT.md §5.8): real apps in child processes log through
 * `pino.transport` with the package as the target, the real `pino-pretty` CLI reads
 * the file, and `audit-chain verify` checks it.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, openSync, closeSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fork, spawn } from 'node:child_process'
import { once } from 'node:events'
import pino from 'pino'
import { auditChainStage } from '../src/stage/step.js'
import { closeAuditTransport } from '../src/transport/close.js'
import { CLOCK_FOLLOW_MS } from '../src/format/control-time.js'
import { outputOf, readRecords, runInstalledApp, sandbox, ROOT, type Sandbox } from './helpers.js'

const CLI = join(ROOT, 'dist/cli/main.js')
const PRETTY_BIN = join(ROOT, 'node_modules/pino-pretty/bin.js')
const PRETTY_CONFIG = join(ROOT, 'config/pino-pretty.cjs')
const APP = join(ROOT, 'test/fixtures/pretty-app.mjs')
const CONTROL = new Set(['chain.open', 'chain.resume', 'chain.close', 'file.open', 'retention.prune', 'epoch.close'])

type Rec = Record<string, any>

/** Run test/fixtures/pretty-app.mjs; it must end normally (so the chain is sealed). */
async function runPrettyApp (box: Sandbox, records: Array<{ msg: string, ahead?: number }>, extra: Record<string, unknown> = {}, flushEach = false): Promise<void> {
  const cfg = { options: { destination: box.log, privateKeyPath: box.keyPath, ...extra }, records, flushEach }
  const child = fork(APP, [JSON.stringify(cfg)], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe', 'ipc'], execArgv: [] })
  let stderr = ''
  child.stderr?.on('data', (d) => { stderr += String(d) })
  const [code] = await once(child, 'exit')
  assert.equal(code, 0, stderr)
}

/** `node pino-pretty/bin.js ARGS < file` in `cwd`, without colours. */
async function pinoPretty (file: string, args: string[], cwd = ROOT): Promise<string> {
  const stdin = openSync(file, 'r')
  try {
    const child = spawn(process.execPath, [PRETTY_BIN, ...args], { cwd, stdio: [stdin, 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } })
    const { code, stdout, stderr } = await outputOf(child)
    assert.equal(code, 0, stderr)
    return stdout
  } finally {
    closeSync(stdin)
  }
}

async function verify (path: string, box: Sandbox): Promise<void> {
  const child = spawn(process.execPath, [CLI, 'verify', path, '--key', box.pubPath, '--require-seal'], { stdio: ['ignore', 'pipe', 'pipe'] })
  const { code, output } = await outputOf(child)
  assert.equal(code, 0, output)
}

/** Every record of the chain in `dir` (current and rotated files), in seq order. */
function chainRecords (dir: string): Rec[] {
  const all = readdirSync(dir).filter((n) => n.endsWith('.log')).flatMap((n) => readRecords(join(dir, n)))
  return all.sort((a, b) => a.chain.seq - b.chain.seq)
}

/** Each control record's time is >= the record before it and <= the record after it. */
function assertControlRecordsInPlace (records: Rec[]): void {
  records.forEach((r, k) => {
    if (!CONTROL.has(r.event)) return
    const where = `${r.event as string} (seq ${r.chain.seq as number})`
    if (k > 0) assert.ok(r.time >= records[k - 1].time, `${where} at ${r.time as number} is earlier than the record before it (${records[k - 1].time as number})`)
    if (k < records.length - 1) assert.ok(r.time <= records[k + 1].time, `${where} at ${r.time as number} is later than the record after it (${records[k + 1].time as number})`)
  })
}

const PRETTY_TIME = String.raw`\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} [+-]\d{4}\]`

test('pino-pretty --config config/pino-pretty.cjs: no chain block; the writer\'s own records read as one line with their seq', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  await runPrettyApp(box, [{ msg: 'user logged in' }, { msg: 'code executed' }])
  const [open] = readRecords(box.log)

  const out = await pinoPretty(box.log, ['--config', PRETTY_CONFIG])
  const lines = out.trimEnd().split('\n')
  const meta = String.raw`INFO \(\d+ on [^)]+\):`
  assert.match(lines[0], new RegExp(`^${PRETTY_TIME} ${meta} #0 chain\\.open: audit chain opened \\(chain ${(open.chainId as string).slice(0, 8)}, key ${box.kid.slice(0, 8)}\\)$`))
  assert.match(lines[1], new RegExp(`^${PRETTY_TIME} ${meta} #1 user logged in$`))
  assert.equal(lines[2], '    i: 0')
  assert.match(lines[3], new RegExp(`^${PRETTY_TIME} ${meta} #2 code executed$`))
  assert.equal(lines[4], '    i: 1')
  assert.match(lines[5], new RegExp(`^${PRETTY_TIME} INFO: #3 chain\\.close: audit chain sealed \\(4 records\\)$`))
  assert.equal(lines.length, 6, out)

  // A user's own --ignore replaces the config's list: the chain block stays hidden.
  const own = await pinoPretty(box.log, ['--config', PRETTY_CONFIG, '--ignore', 'pid,hostname'])
  assert.doesNotMatch(own, /chain:|"sig"|"prev"/)
  assert.match(own, /INFO: #1 user logged in\n {4}i: 0\n/)
})

test('a pino-pretty.config.cjs that requires pino-audit-chain/pretty is found by a bare `pino-pretty` in the project', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  await runPrettyApp(box, [{ msg: 'user logged in' }])
  const project = join(box.dir, 'project')
  mkdirSync(join(project, 'node_modules'), { recursive: true })
  symlinkSync(ROOT, join(project, 'node_modules/pino-audit-chain'), 'dir')
  writeFileSync(join(project, 'pino-pretty.config.cjs'), "module.exports = require('pino-audit-chain/pretty').prettyOptions\n")

  const bare = await pinoPretty(box.log, [], project)
  assert.equal(bare, await pinoPretty(box.log, ['--config', PRETTY_CONFIG]))
  assert.match(bare, /#0 chain\.open: audit chain opened/)
})

test('pino-audit-chain/pretty as a pino transport target: pino-pretty with the option set, next to the audit log', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const prettyFile = join(box.dir, 'pretty.txt')
  const run = await runInstalledApp(box.dir, `
    const pino = require('pino')
    const logger = pino(pino.transport({ targets: [
      { target: 'pino-audit-chain', options: { destination: ${JSON.stringify(box.log)}, privateKeyPath: ${JSON.stringify(box.keyPath)} } },
      { target: 'pino-audit-chain/pretty', options: { destination: ${JSON.stringify(prettyFile)}, colorize: false, sync: true } }
    ] }))
    logger.info({ user: 'ada' }, 'user logged in')
  `)
  assert.equal(run.code, 0, run.stderr)
  const pretty = readFileSync(prettyFile, 'utf8')
  assert.match(pretty, new RegExp(`^${PRETTY_TIME} INFO \\(\\d+ on [^)]+\\): user logged in\\n {4}user: "ada"\\n$`))
  await verify(box.log, box)
})

test('chain.open is stamped no later than the app\'s first record, logged before the transport\'s thread is up; chain.close no earlier than the last', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  await runPrettyApp(box, [{ msg: 'at once' }, { msg: 'second' }])
  const records = readRecords(box.log)
  assert.deepEqual(records.map((r) => r.event ?? r.msg), ['chain.open', 'at once', 'second', 'chain.close'])
  assertControlRecordsInPlace(records)
  await verify(box.log, box)
})

test('a restart: chain.resume sits between the last writer\'s seal and the new writer\'s first record', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  await runPrettyApp(box, [{ msg: 'first run' }])
  await runPrettyApp(box, [{ msg: 'second run' }])
  const records = readRecords(box.log)
  assert.deepEqual(records.map((r) => r.event ?? r.msg), ['chain.open', 'first run', 'chain.close', 'chain.resume', 'second run', 'chain.close'])
  assertControlRecordsInPlace(records)
  await verify(box.log, box)
})

test('rotation and retention: file.open, retention.prune and the seal keep their place behind an app clock up to a minute ahead', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  // The app's clock 20 s ahead of the writer's: written with the writer's clock alone,
  // every control record after an app record would read 20 s earlier than it.
  const lines = Array.from({ length: 40 }, (_, i) => ({ msg: `record ${i} ${'x'.repeat(100)}`, ahead: 20_000 }))
  await runPrettyApp(box, lines, { rotation: { size: 1024 }, retention: { maxFiles: 1 } }, true)
  const records = chainRecords(join(box.dir, 'logs'))
  const events = records.map((r) => r.event).filter((e) => CONTROL.has(e))
  assert.ok(events.includes('file.open') && events.includes('retention.prune'), events.join(', '))
  assert.equal(records.at(-1)?.event, 'chain.close')
  assertControlRecordsInPlace(records)
  await verify(join(box.dir, 'logs'), box)
})

test('a clock that goes back is logged and verifies; one far ahead or far behind does not drag the writer\'s records with it', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const hour = 3_600_000
  const before = Date.now()
  await runPrettyApp(box, [{ msg: 'an hour behind', ahead: -hour }, { msg: 'on time' }, { msg: 'two hours behind', ahead: -2 * hour }, { msg: 'a day ahead', ahead: 24 * hour }])
  const after = Date.now()
  const records = readRecords(box.log)
  assert.deepEqual(records.map((r) => r.event ?? r.msg), ['chain.open', 'an hour behind', 'on time', 'two hours behind', 'a day ahead', 'chain.close'])
  const [open, , , , ahead, close] = records
  // Not an hour back with the first record, nor a day ahead with the last: the writer's clock.
  assert.ok(open.time >= before && open.time <= after, `chain.open at ${open.time as number}, outside the app's run ${before}..${after}`)
  assert.ok(close.time >= before && close.time <= after + CLOCK_FOLLOW_MS && close.time < ahead.time, `chain.close at ${close.time as number}`)
  await verify(box.log, box)
})

test('the pipeline stage: its chain.open is stamped no later than the app\'s first record, its seal no earlier than the last', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const out = join(box.dir, 'stage.log')
  let ahead = 0
  const transport = pino.transport({ pipeline: [auditChainStage({ privateKeyPath: box.keyPath }), { target: 'pino/file', options: { destination: out } }] })
  const logger = pino({ timestamp: () => `,"time":${Date.now() + ahead}` }, transport)
  logger.info('at once')
  ahead = 20_000
  logger.info('clock ahead')
  await closeAuditTransport(transport)
  const records = readRecords(out)
  assert.deepEqual(records.map((r) => r.event ?? r.msg), ['chain.open', 'at once', 'clock ahead', 'chain.close'])
  assertControlRecordsInPlace(records)
  await verify(out, box)
})
