/**
 * The verifier at its edges (issue 12, item 7), through the compiled CLI
 * (dist/cli/main.js) and the real transport where the writer is involved:
 *
 *  - a flood of findings          → the first 1,000 of each kind are listed, the rest counted
 *                                   ("... and N more"), a finding of another kind still listed,
 *                                   and --state still holds back a chain whose only problem was left out
 *  - a named FIFO, a pipe path    → read once: an intact log is INTACT, nothing hangs
 *  - a line over the line limit   → the writer wraps it (size, SHA-256, start), the default
 *                                   verifier verifies the chain; the largest body it signs as it
 *                                   is fits the default limit; --max-line-bytes lowers the limit
 *  - file names with ESC sequences → escaped in text output and CLI errors, raw in --json
 */
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { verify, MAX_FINDINGS_PER_KIND, type VerifyReport } from '../src/verify/index.js'
import { bodyFromLine, type OversizeLine } from '../src/format/body.js'
import { MAX_BODY_BYTES, MAX_LINE_BYTES } from '../src/format/limits.js'
import { ChainBuilder, workspace, writeChain, writeLines, type Workspace } from './fixtures/write-chain.js'
import type { SigningKey } from '../src/format/keys.js'
import { ROOT, sandbox } from './helpers.js'

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))
// A CLI run that does not finish in this time is a hang (a FIFO opened twice waits forever).
const HANG_MS = 60_000

function cli (args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: HANG_MS, maxBuffer: 64 * 1024 * 1024 })
}

function jsonReport (r: SpawnSyncReturns<string>): VerifyReport {
  assert.equal(r.stderr, '', 'the CLI wrote to stderr')
  return JSON.parse(r.stdout) as VerifyReport
}

function setup (t: { after: (fn: () => void) => void }): { ws: Workspace, key: SigningKey, pub: string } {
  const ws = workspace()
  t.after(ws.cleanup)
  const k = ws.key()
  return { ws, key: k.key, pub: k.pubPath }
}

function count (findings: Array<{ kind: string }>, kind: string): number {
  return findings.filter((f) => f.kind === kind).length
}

/**
 * `n` junk lines that cannot be grouped: lines alternate between two reasons for not
 * being a record (JSON without a chain member, not JSON), so each is a finding of its own.
 */
function ungroupableJunk (n: number): string {
  return Array.from({ length: n }, (_, i) => (i % 2 === 0 ? '{}' : 'x')).join('\n') + '\n'
}

test('a flood of malformed lines: 1,000 listed, the rest counted, and a later finding of another kind still listed', (t) => {
  const s = setup(t)
  const junk = join(s.ws.dir, 'junk.log')
  writeFileSync(junk, ungroupableJunk(2500))
  // Read after the flood: one record changed after it was signed.
  const w = writeChain(s.ws.dir, s.key, { records: 10, head: false })
  writeLines(w.path, w.lines.map((l, i) => (i === 5 ? l.replace('"user":"ada"', '"user":"eve"') : l)))

  const r = jsonReport(cli(['verify', junk, w.path, '--key', s.pub, '--json']))
  assert.equal(r.ok, false)
  assert.equal(count(r.problems, 'malformed'), MAX_FINDINGS_PER_KIND)
  assert.equal(r.omitted.byKind.malformed, 2500 - MAX_FINDINGS_PER_KIND)
  assert.equal(r.omitted.problems, 2500 - MAX_FINDINGS_PER_KIND)
  assert.equal(r.omitted.warnings, 0)
  assert.ok(r.problems.some((p) => p.kind === 'modified' && p.file === w.path && p.line === 6), 'the modified record is still listed')

  const text = cli(['verify', junk, w.path, '--key', s.pub])
  assert.equal(text.status, 1)
  const total = r.problems.length + r.omitted.problems
  assert.match(text.stdout, /^\.\.\. and 1500 more malformed findings \(only the first 1000 are listed\)$/m)
  assert.match(text.stdout, new RegExp(`^PROBLEMS FOUND: .*, ${total} problems, 0 warnings$`, 'm'))
  assert.equal(text.stdout.split('\n').filter((l) => l.includes('  malformed — ')).length, MAX_FINDINGS_PER_KIND)
})

test('--state does not record a chain whose only problem was left out of the report', async (t) => {
  const s = setup(t)
  const junk = join(s.ws.dir, 'junk.log')
  writeFileSync(junk, ungroupableJunk(MAX_FINDINGS_PER_KIND))
  // An intact chain with one appended non-record line in it: its malformed finding is
  // the 1,001st, counted but not listed.
  const w = writeChain(s.ws.dir, s.key, { records: 10, head: false })
  writeLines(w.path, [...w.lines.slice(0, 5), '{}', ...w.lines.slice(5)])
  const state = join(s.ws.dir, 'state.json')
  const r = await verify([junk, w.path], { keys: [s.pub], state })
  assert.equal(r.omitted.byKind.malformed, 1)
  assert.ok(r.problems.every((p) => p.file !== w.path), 'the chain\'s own problem is not listed')
  assert.deepEqual(r.state?.recorded, [])
  assert.deepEqual(r.state?.notRecorded, [w.chain.chainId])
  assert.equal(JSON.parse(readFileSync(state, 'utf8')).chains[w.chain.chainId], undefined)
})

test('a named FIFO given as a path is read once: an intact log is INTACT, no hang', async (t) => {
  const s = setup(t)
  const w = writeChain(s.ws.dir, s.key, { records: 200, head: false })
  const fifo = join(s.ws.dir, 'audit.fifo')
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo')
  // The writer end, as another process: `cat LOG > FIFO`.
  const writer = spawn('sh', ['-c', 'cat "$1" > "$2"', 'sh', w.path, fifo], { stdio: 'ignore' })
  t.after(() => { if (writer.exitCode === null) writer.kill('SIGKILL') })
  const run = spawn(process.execPath, [CLI, 'verify', fifo, '--key', s.pub, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  run.stdout.on('data', (d) => { stdout += String(d) })
  run.stderr.on('data', (d) => { stderr += String(d) })
  const timer = setTimeout(() => run.kill('SIGKILL'), HANG_MS)
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => run.on('exit', (c, sig) => resolve([c, sig])))
  clearTimeout(timer)
  assert.equal(signal, null, 'verify hung on the FIFO and was killed')
  assert.equal(stderr, '')
  assert.equal(code, 0)
  const r = JSON.parse(stdout) as VerifyReport
  assert.equal(r.ok, true)
  assert.equal(r.records, 202)
  assert.deepEqual(r.files, [fifo])
  assert.equal(r.chains[0].chainId, w.chain.chainId)
  assert.equal(r.chains[0].sealed, true)
})

test('a pipe given as a path (bash <(cat log)) is read once: INTACT, exit 0', (t) => {
  const s = setup(t)
  // A few MB, more than one read, so a first look that eats the pipe's start would show.
  const w = writeChain(s.ws.dir, s.key, { records: 20_000, head: false })
  const r = spawnSync('bash', ['-c', 'exec "$0" "$1" verify <(cat "$2") --key "$3" --json', process.execPath, CLI, w.path, s.pub], { encoding: 'utf8', timeout: HANG_MS, maxBuffer: 16 * 1024 * 1024 })
  assert.equal(r.signal, null, 'verify hung on the pipe')
  const report = jsonReport(r)
  assert.deepEqual(report.problems, [])
  assert.equal(r.status, 0)
  assert.equal(report.records, 20_002)
  assert.match(report.files[0], /^\/dev\/fd\/\d+$/)
  assert.equal(report.chains.length, 1)
})

test('the writer\'s line limit: a body of MAX_BODY_BYTES is kept, one byte more is wrapped with its size, SHA-256 and start', () => {
  const told: OversizeLine[] = []
  const onOversize = (o: OversizeLine): void => { told.push(o) }
  const fits = `{"msg":"${'x'.repeat(MAX_BODY_BYTES - 10)}"}`
  assert.equal(Buffer.byteLength(fits), MAX_BODY_BYTES)
  assert.equal(bodyFromLine(fits, () => 1, onOversize), fits)
  assert.deepEqual(told, [])

  // Counted in UTF-8 bytes, not characters: 'é' is 2 bytes.
  const over = `{"msg":"a${'é'.repeat((MAX_BODY_BYTES - 10) / 2)}"}`
  assert.ok(over.length < MAX_BODY_BYTES && Buffer.byteLength(over) === MAX_BODY_BYTES + 1)
  const wrapped = JSON.parse(bodyFromLine(over, () => 7, onOversize) as string)
  const sha256 = createHash('sha256').update(over).digest('hex')
  assert.deepEqual(Object.keys(wrapped), ['wrapped', 'time', 'bytes', 'sha256', 'prefix'])
  assert.equal(wrapped.wrapped, 'too-long')
  assert.equal(wrapped.time, 7)
  assert.equal(wrapped.bytes, MAX_BODY_BYTES + 1)
  assert.equal(wrapped.sha256, sha256)
  // The first 1 KiB, whole characters only: 9 ASCII bytes, then 507 'é' (1014 bytes); one more would make 1025.
  assert.equal(wrapped.prefix, '{"msg":"a' + 'é'.repeat(507))
  assert.deepEqual(told, [{ bytes: MAX_BODY_BYTES + 1, sha256 }])

  // A line that fits, but whose not-json wrapper (each control character escaped to 6
  // bytes) would not: wrapped for size too.
  const controls = '\u0001'.repeat(12 * 1024 * 1024)
  const w2 = JSON.parse(bodyFromLine(controls, () => 8, onOversize) as string)
  assert.equal(w2.wrapped, 'too-long')
  assert.equal(w2.bytes, controls.length)
})

test('the largest record the writer signs as it is verifies under the default limit', async (t) => {
  const s = setup(t)
  const chain = new ChainBuilder(s.key)
  chain.open()
  chain.append(`{"msg":"${'x'.repeat(MAX_BODY_BYTES - 10)}"}`)
  chain.close()
  assert.ok(Buffer.byteLength(chain.lines[1]) <= MAX_LINE_BYTES, 'the record line fits the shared limit')
  const path = join(s.ws.dir, 'big.log')
  writeLines(path, chain.lines)
  const r = await verify([path], { keys: [s.pub], threads: 1 })
  assert.deepEqual(r.problems, [])
  assert.equal(r.records, 3)
})

/**
 * An app logging through the real transport (pino.transport, worker thread) with a
 * fixed time, so the line pino writes is known: `{"level":30,"time":1,"i":N,"msg":M}`.
 * Prints the warnings it got as one JSON array on stdout as it exits.
 */
const BIG_LINE_APP = `
import { writeSync } from 'node:fs'
import pino from 'pino'
import { auditChainTransport } from 'pino-audit-chain'
const warnings = []
process.on('warning', (w) => { warnings.push({ code: w.code, message: w.message }) })
const transport = auditChainTransport({ destination: process.env.DEST, privateKeyPath: process.env.KEY })
transport.on('error', (err) => { process.stderr.write('audit transport failed: ' + err.message + '\\n'); process.exit(3) })
const logger = pino({ base: null, timestamp: () => ',"time":1' }, transport)
logger.info({ i: 0 }, 'before')
logger.info({ i: 1 }, 'x'.repeat(Number(process.env.MSG_BYTES)))
logger.info({ i: 2 }, 'after')
// Written last thing, after the transport has sealed and every warning has arrived.
process.on('exit', () => { writeSync(1, JSON.stringify(warnings) + '\\n') })
`

interface BigLineRun { log: string, pubPath: string, warnings: Array<{ code?: string, message: string }>, line: string }
let bigLineRun: BigLineRun | undefined

/** One run of the app (it moves 65 MB through the worker), shared by the tests that read it. */
function runBigLineApp (): BigLineRun {
  if (bigLineRun !== undefined) return bigLineRun
  const box = sandbox()
  after(box.cleanup)
  const { log, keyPath: key } = box
  const msgBytes = MAX_LINE_BYTES + 1024 * 1024
  const r = spawnSync(process.execPath, ['--no-warnings', '--input-type=module', '-e', BIG_LINE_APP], {
    cwd: ROOT,
    env: { ...process.env, DEST: log, KEY: key, MSG_BYTES: String(msgBytes) },
    encoding: 'utf8',
    timeout: HANG_MS
  })
  assert.equal(r.stderr, '')
  assert.equal(r.status, 0)
  bigLineRun = { log, pubPath: box.pubPath, warnings: JSON.parse(r.stdout), line: `{"level":30,"time":1,"i":1,"msg":"${'x'.repeat(msgBytes)}"}` }
  return bigLineRun
}

test('a line over the limit, through the real transport: signed as its size, SHA-256 and start, and the chain verifies', () => {
  const { log, pubPath, line } = runBigLineApp()
  const records = readFileSync(log, 'utf8').split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l))
  assert.deepEqual(records.map((r) => r.msg ?? r.wrapped), ['audit chain opened', 'before', 'too-long', 'after', 'audit chain sealed'])
  const wrapped = records[2]
  assert.equal(wrapped.bytes, Buffer.byteLength(line))
  assert.equal(wrapped.sha256, createHash('sha256').update(line).digest('hex'))
  assert.equal(wrapped.prefix, line.slice(0, 1024))
  assert.equal(typeof wrapped.time, 'number')
  const r = jsonReport(cli(['verify', log, '--key', pubPath, '--json']))
  assert.deepEqual(r.problems, [])
  assert.deepEqual(r.warnings, [])
  assert.equal(r.records, 5)
})

test('the app is warned when a line is wrapped for size', () => {
  const { log, warnings, line } = runBigLineApp()
  const bytes = String(Buffer.byteLength(line))
  assert.ok(warnings.some((w) => w.message.includes(bytes) && w.message.includes(log)), `no warning naming the line's size and the log: ${JSON.stringify(warnings)}`)
})

test('--max-line-bytes: a lower limit skips longer records and says how to read them; a bad value is exit 2', (t) => {
  const s = setup(t)
  const w = writeChain(s.ws.dir, s.key, { records: 3, seal: false, head: false })
  const chain = w.chain
  chain.append(`{"msg":"${'y'.repeat(5000)}"}`)
  chain.close()
  writeLines(w.path, chain.lines)
  assert.equal(cli(['verify', w.path, '--key', s.pub]).status, 0, 'intact under the default limit')

  const r = jsonReport(cli(['verify', w.path, '--key', s.pub, '--json', '--max-line-bytes', '4096']))
  assert.deepEqual(r.problems.map((p) => `${p.kind}@${p.line ?? '-'}`), ['line-too-long@5', 'missing@6'])
  assert.match(r.problems[0].message, /more than the 4096-byte limit; .*raise the limit \(--max-line-bytes, default 67108864\)/)

  for (const bad of ['0', '4k', '1e6', '', '-5']) {
    const b = cli(['verify', w.path, '--key', s.pub, '--max-line-bytes', bad])
    assert.equal(b.status, 2, `--max-line-bytes ${JSON.stringify(bad)}`)
    // '-5' too is taken as the option's value (commander), and refused with the expected form.
    assert.match(b.stderr, new RegExp(`^audit-chain: --max-line-bytes must be a whole number of bytes, at least 1 \\(got "${bad}"\\)`))
  }
})

test('a file name with terminal escape sequences is escaped in text output and errors, kept raw in --json', (t) => {
  const s = setup(t)
  const name = 'audit\u001b[32mINTACT\u001b[0m\u001b[2K.log'
  const w = writeChain(s.ws.dir, s.key, { name, records: 3, head: false })
  assert.ok(existsSync(w.path))
  writeLines(w.path, [...w.lines, 'not a record'])

  const text = cli(['verify', w.path, '--key', s.pub])
  assert.equal(text.status, 1)
  assert.ok(!text.stdout.includes('\u001b'), `raw ESC in the output: ${JSON.stringify(text.stdout)}`)
  assert.ok(text.stdout.includes('audit\\u001b[32mINTACT\\u001b[0m\\u001b[2K.log:6  after-seal'), text.stdout)

  const json = jsonReport(cli(['verify', w.path, '--key', s.pub, '--json']))
  assert.equal(json.problems[0].file, w.path, 'the real name, for programs that open it')

  const missing = cli(['verify', join(s.ws.dir, 'gone\u001b[2J.log'), '--key', s.pub])
  assert.equal(missing.status, 2)
  assert.ok(!missing.stderr.includes('\u001b'), `raw ESC in the error: ${JSON.stringify(missing.stderr)}`)
  assert.match(missing.stderr, /gone\\u001b\[2J\.log does not exist/)
})
