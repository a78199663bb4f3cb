/**
 * The verify report as a user reads it (issue 13, item 6; docs/verify-report.md), on
 * logs written by the real transport through pino, through the compiled CLI:
 *
 *  - the wrong key                  → a handful of lines: one unknown-key finding with the
 *                                     count and the line and seq ranges; --json groups alike
 *  - a plain pino app.log beside    → one malformed finding per file, with its lines and count
 *  - a different finding in between → ends a group: grouping hides nothing
 *  - one or several                 → "the line is" / "2 lines … are", "the last record is unanchored"
 *  - the only chain.resume deleted  → only its seq is missing (after a seal, and after a crash)
 *  - chain lines                    → name their file(s)
 *  - --json                         → schemaVersion and tool {name, version}
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import pino from 'pino'
import type { Finding, VerifyReport } from '../src/verify/index.js'
import { runApp, sandbox, startApp, type Sandbox } from './helpers.js'

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))
const PACKAGE = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { name: string, version: string }

function cli (args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
}

function jsonReport (args: string[]): VerifyReport {
  const r = cli([...args, '--json'])
  assert.equal(r.stderr, '', 'the CLI wrote to stderr')
  return JSON.parse(r.stdout) as VerifyReport
}

function box (t: { after: (fn: () => void) => void }): Sandbox {
  const s = sandbox()
  t.after(s.cleanup)
  return s
}

/** `kind@firstLine–lastLine`, or `kind@line` for a single line, `kind@-` for none. */
function at (f: Finding): string {
  return `${f.kind}@${f.line ?? '-'}${f.lastLine !== undefined ? `–${f.lastLine}` : ''}`
}

/** Non-empty lines of a text report. */
function lines (text: string): string[] {
  return text.split('\n').filter((l) => l !== '')
}

/** Write `n` lines with plain pino (no audit transport), as an app's own log. */
function plainPinoLog (path: string, n: number): void {
  const dest = pino.destination({ dest: path, sync: true })
  const logger = pino(dest)
  for (let i = 0; i < n; i++) logger.info({ req: i, path: '/health' }, 'request completed')
}

function logLines (path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l !== '')
}

test('the wrong key: a handful of lines, one unknown-key finding with its count and seq range; --json groups the same', async (t) => {
  const s = box(t)
  const other = box(t)
  const run = await runApp({ destination: s.log, key: s.keyPath, count: 3000, after: 'return' })
  assert.equal(run.code, 0, run.stderr)
  const records = logLines(s.log).length
  assert.equal(records, 3002, 'chain.open, 3000 records, chain.close')

  const text = cli(['verify', s.log, '--key', other.pubPath])
  assert.equal(text.status, 1)
  assert.ok(lines(text.stdout).length <= 5, text.stdout)
  const expected = `${s.log}:1–3002 seqs 0–3001  unknown-key — 3002 records are signed by key ${s.kid}, which is not among the keys given`
  assert.ok(lines(text.stdout).some((l) => l.startsWith(expected)), text.stdout)
  assert.match(text.stdout, /^PROBLEMS FOUND: 3002 records in 1 chain \(1 file\), 1 problem, 1 warning$/m)

  const r = jsonReport(['verify', s.log, '--key', other.pubPath])
  assert.deepEqual(r.problems.map((p) => ({ ...p, message: '' })), [{ kind: 'unknown-key', severity: 'problem', file: s.log, line: 1, seq: 0, message: '', count: 3002, firstLine: 1, lastLine: 3002, firstSeq: 0, lastSeq: 3001 }])
  assert.match(r.problems[0].message, new RegExp(`^3002 records are signed by key ${s.kid}, which is not among the keys given`))
  assert.deepEqual(r.omitted, { problems: 0, warnings: 0, byKind: {} })
  // Its seal is not trusted either: the end of the chain is unanchored, said once.
  assert.deepEqual(r.warnings.map((w) => [w.kind, w.count]), [['unsealed', 1]])
})

test('a plain pino app.log beside an audit log: one malformed finding per file, with its line range and count', async (t) => {
  const s = box(t)
  const run = await runApp({ destination: s.log, key: s.keyPath, count: 50, after: 'return' })
  assert.equal(run.code, 0, run.stderr)
  const logs = dirname(s.log)
  const app = join(logs, 'app.log')
  const worker = join(logs, 'worker.log')
  plainPinoLog(app, 2000)
  plainPinoLog(worker, 300)

  const r = jsonReport(['verify', logs, '--key', s.pubPath])
  assert.equal(r.ok, false)
  const of = (file: string): string[] => r.problems.filter((p) => p.file === file).map(at)
  assert.deepEqual(of(app), ['malformed@1–2000', 'empty@-'])
  assert.deepEqual(of(worker), ['malformed@1–300', 'empty@-'])
  assert.deepEqual(of(s.log), [], 'the audit log itself is intact')
  const malformed = r.problems.find((p) => p.file === app && p.kind === 'malformed') as Finding
  assert.deepEqual([malformed.count, malformed.firstLine, malformed.lastLine, malformed.seq, malformed.firstSeq], [2000, 1, 2000, undefined, undefined])
  assert.match(malformed.message, /^2000 lines in a row are not audit records \(the first: the line has no "chain" member\)/)
  assert.deepEqual(r.omitted.problems, 0)

  const text = cli(['verify', logs, '--key', s.pubPath])
  assert.equal(text.status, 1)
  assert.ok(lines(text.stdout).length <= 8, text.stdout)
  assert.ok(text.stdout.includes(`${app}:1–2000  malformed — 2000 lines in a row are not audit records`), text.stdout)
  assert.ok(text.stdout.includes(`${worker}:1–300  malformed — 300 lines in a row are not audit records`), text.stdout)
})

test('a finding of another kind in between ends a group: unknown-key, modified, unknown-key', async (t) => {
  const s = box(t)
  const other = box(t)
  assert.equal((await runApp({ destination: s.log, key: s.keyPath, count: 20, after: 'return' })).code, 0)
  // Line 12 (seq 11) changed after it was signed: its hash no longer matches.
  const edited = logLines(s.log).map((l, i) => (i === 11 ? l.replace('"user":"ada"', '"user":"eve"') : l))
  writeFileSync(s.log, edited.join('\n') + '\n')
  const r = jsonReport(['verify', s.log, '--key', other.pubPath])
  assert.deepEqual(r.problems.map(at), ['unknown-key@1–11', 'modified@12', 'unknown-key@13–22'])
  assert.deepEqual(r.problems.map((p) => [p.count, p.firstSeq ?? p.seq, p.lastSeq ?? p.seq]), [[11, 0, 10], [1, 11, 11], [10, 12, 21]])
})

test('singular and plural: one line is "the line", a group counts its lines, one unanchored record is "the last record"', async (t) => {
  const s = box(t)
  // chain.open, one record, chain.close. Without its seal (and head) the end is unanchored.
  assert.equal((await runApp({ destination: s.log, key: s.keyPath, count: 1, after: 'return' })).code, 0)
  const [open, record] = logLines(s.log)
  rmSync(`${s.log}.head.json`, { force: true })
  writeFileSync(s.log, `${open}\n`)
  const one = cli(['verify', s.log, '--key', s.pubPath])
  assert.equal(one.status, 0, one.stdout)
  assert.match(one.stdout, /unsealed — .*: the last record is unanchored;/)
  assert.match(one.stdout, /: seq 0, 1 record in .*, not sealed, 1 record unanchored, /)

  writeFileSync(s.log, `${open}\n${record}\n`)
  assert.match(cli(['verify', s.log, '--key', s.pubPath]).stdout, /unsealed — .*: the last 2 records are unanchored;/)

  // One stray line, then two alike in a row: "the line is", then "2 lines … are".
  writeFileSync(s.log, `${open}\nnot a record\n{"x":1}\n{"x":2}\n`)
  const r = jsonReport(['verify', s.log, '--key', s.pubPath])
  assert.deepEqual(r.problems.map(at), ['malformed@2', 'malformed@3–4'])
  assert.match(r.problems[0].message, /^the line is not an audit record \(not JSON/)
  assert.match(r.problems[1].message, /^2 lines in a row are not audit records \(the first: the line has no "chain" member\)/)
})

/** The log, after a restart, without its one chain.resume line; returns that record's seq. */
function deleteResume (log: string): number {
  const all = logLines(log)
  const resumes = all.filter((l) => l.includes('"event":"chain.resume"'))
  assert.equal(resumes.length, 1, 'one restart')
  writeFileSync(log, all.filter((l) => l !== resumes[0]).join('\n') + '\n')
  return (JSON.parse(resumes[0]) as { chain: { seq: number } }).chain.seq
}

test('deleting the only chain.resume after a seal: only its seq is missing, not the record after it', async (t) => {
  const s = box(t)
  for (let i = 0; i < 2; i++) assert.equal((await runApp({ destination: s.log, key: s.keyPath, count: 5, after: 'return' })).code, 0)
  const seq = deleteResume(s.log)
  assert.equal(seq, 7, 'chain.open, 5 records, chain.close (seq 6), then chain.resume')

  const r = jsonReport(['verify', s.log, '--key', s.pubPath])
  assert.deepEqual(r.problems.map((p) => `${p.kind}@${String(p.seq)}`), ['after-seal@8', 'missing@7'])
  const missing = r.problems[1]
  assert.equal(missing.count, 1)
  assert.match(missing.message, /^seq 7 is not in the log before this line/)
  assert.match(r.problems[0].message, /or the chain\.resume that linked it to the seal was deleted/)

  const text = cli(['verify', s.log, '--key', s.pubPath])
  assert.match(text.stdout, /seq 7  missing — seq 7 is not in the log/)
  assert.doesNotMatch(text.stdout, /seqs 7–8/)
})

test('deleting the only chain.resume after a crash: only its seq is missing', async (t) => {
  const s = box(t)
  const app = startApp({ destination: s.log, key: s.keyPath, count: 5, after: 'hang' })
  await app.message((m) => m.flushed === true)
  app.child.kill('SIGKILL')
  await app.exit
  assert.equal((await runApp({ destination: s.log, key: s.keyPath, count: 3, after: 'return' })).code, 0)
  const seq = deleteResume(s.log)
  const seal = seq + 4
  const r = jsonReport(['verify', s.log, '--key', s.pubPath])
  // Without its chain.resume, the second writer's seal (5 records) is counted from the
  // first writer's chain.open: FORMAT.md §7 count-mismatch, reported at the seal.
  assert.deepEqual(r.problems.map((p) => `${p.kind}@${String(p.seq)}`), [`count-mismatch@${seal}`, `missing@${seq}`])
  assert.match(r.problems[1].message, new RegExp(`^seq ${seq} is not in the log`))
})

test('chain lines in text mode name their file, or the first and last of many', async (t) => {
  const s = box(t)
  const logs = dirname(s.log)
  const second = join(logs, 'payments.log')
  assert.equal((await runApp({ destination: s.log, key: s.keyPath, count: 5, after: 'return' })).code, 0)
  assert.equal((await runApp({ destination: second, key: s.keyPath, count: 5, after: 'return' })).code, 0)
  const rotated = join(s.dir, 'rotated/audit.log')
  assert.equal((await runApp({ destination: rotated, key: s.keyPath, count: 200, after: 'return', options: { mkdir: true, rotation: { size: '2KB' } } })).code, 0)
  assert.ok(readdirSync(dirname(rotated)).filter((f) => f.endsWith('.log')).length >= 3, 'the rotated chain has at least 3 files')

  const r = jsonReport(['verify', logs, dirname(rotated), '--key', s.pubPath])
  assert.equal(r.ok, true, JSON.stringify(r.problems))
  const text = cli(['verify', logs, dirname(rotated), '--key', s.pubPath])
  assert.equal(text.status, 0, text.stdout)
  for (const c of r.chains) {
    const where = c.files.length === 1 ? `in ${c.files[0]},` : `in ${c.files.length} files: ${c.files[0]} … ${c.files[c.files.length - 1]},`
    const line = lines(text.stdout).find((l) => l.startsWith(`chain ${String(c.chainId)}:`))
    assert.ok(line?.includes(where), `${String(line)} should name ${where}`)
  }
  assert.deepEqual(r.chains.map((c) => c.files.length > 1).sort(), [false, false, true])
})

test('--json carries schemaVersion and the tool that wrote it, for a whole log and for an excerpt', async (t) => {
  const s = box(t)
  assert.equal((await runApp({ destination: s.log, key: s.keyPath, count: 3, after: 'return' })).code, 0)
  for (const args of [['verify', s.log, '--key', s.pubPath], ['verify', s.log, '--key', s.pubPath, '--excerpt']]) {
    const r = jsonReport(args)
    assert.equal(r.ok, true)
    assert.equal(r.schemaVersion, 2)
    assert.deepEqual(r.tool, { name: PACKAGE.name, version: PACKAGE.version })
    assert.deepEqual(Object.keys(r).slice(0, 3), ['schemaVersion', 'tool', 'ok'])
  }
})
