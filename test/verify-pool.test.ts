/**
 * Signatures checked in a thread pool (option `threads`, issue 6 item 3): the report
 * must be exactly the single-thread verifier's, for every input. Every case verifies
 * the same bytes with threads 1 (inline, no pool), 2 and 3 and compares the reports
 * whole (all but durationMs). Cases:
 *
 *  - intact (file, directory with its head, standard input)
 *  - modified line, bad signature (re-hashed without the key), a non-canonical
 *    signature, unknown key, wrong keyring, records signed by a second key
 *  - deleted, swapped, duplicated lines
 *  - a torn line explained by chain.resume, in the middle of a pool run; an unexplained
 *    torn last line, and a last line that is a whole record without its newline
 *  - lines that are not records (junk, empty) sprinkled through; a line over the limit
 *  - 20,000 records with tamperings spread over it, so many batches are in flight
 *  - a seeded fuzz of random tamperings (FUZZ_SEED / POOL_FUZZ_CASES to change it)
 *
 * and the failure paths: a checking thread that crashes or exits is an error
 * (PAC_VERIFY_FAILED; exit 2 in the CLI), never a hang or an intact report; bad
 * `threads` values are refused. Timing is measured in bench/, never asserted here.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { appendFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { KeyObject } from 'node:crypto'
import { verify, type VerifyOptions, type VerifyReport } from '../src/verify/index.js'
import { createSigPool, ITEM_BYTES } from '../src/verify/sig-pool.js'
import { hasCode } from '../src/errors.js'
import { parseRecordLine, recordHash, recordLine } from '../src/format/record.js'
import { ChainBuilder, signedLine, tornOf, workspace, writeChain, writeLines, type TestKey, type Workspace } from './fixtures/write-chain.js'
import { mulberry32 } from './helpers.js'

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))
const CRASH_FIXTURE = fileURLToPath(new URL('./fixtures/crash-verify-thread.mjs', import.meta.url))

type Report = Omit<VerifyReport, 'durationMs'>

async function reportWith (paths: string[], options: VerifyOptions, threads: number): Promise<Report> {
  const { durationMs, ...report } = await verify(paths, { ...options, threads })
  return report
}

/** Verify with threads 1, 2 and 3; assert the reports are equal; return the single-thread one. */
async function sameReports (label: string, paths: string[], options: VerifyOptions, stdin?: () => Buffer): Promise<Report> {
  const opts = (): VerifyOptions => stdin === undefined ? options : { ...options, stdin: Readable.from([stdin()]) }
  const one = await reportWith(paths, opts(), 1)
  for (const threads of [2, 3]) {
    assert.deepEqual(await reportWith(paths, opts(), threads), one, `${label}: threads ${threads} reports what threads 1 does`)
  }
  return one
}

const kinds = (r: Report): string[] => [...r.problems, ...r.warnings].map((f) => `${f.kind}@${f.line ?? '-'}`)

interface Setup { ws: Workspace, k: TestKey }

function setup (t: { after: (fn: () => void) => void }): Setup {
  const ws = workspace()
  t.after(ws.cleanup)
  return { ws, k: ws.key() }
}

/** A sealed log of `records` user records (more than two batches of the pool by default). */
function baseLog (s: Setup, records = 300): { path: string, headPath: string, lines: string[], chain: ChainBuilder } {
  const w = writeChain(s.ws.dir, s.k.key, { records })
  return { path: w.path, headPath: w.headPath, lines: w.lines, chain: w.chain }
}

/** The line with its body changed and H recomputed, but the old signature kept (no key). */
function rehashed (line: string): string {
  const parsed = parseRecordLine(Buffer.from(line, 'latin1'))
  if (!parsed.ok) return line + ' '
  const body = line.slice(0, parsed.bodyEnd).replace('"user":"ada"', '"user":"eve"') + '}'
  const hash = recordHash(parsed.member.seq, parsed.member.prev, body).toString('hex')
  return recordLine(body, { ...parsed.member, hash })
}

test('threads 2 and 3 report exactly what threads 1 does: intact logs, and each tampering', async (t) => {
  const s = setup(t)
  const other = s.ws.key('other')
  const keys = [s.k.pubPath]
  const base = baseLog(s)
  const original = [...base.lines]
  const write = (lines: string[], finalNewline = true): void => { writeLines(base.path, lines, finalNewline) }
  const edit = (fn: (lines: string[]) => string[]): void => { write(fn([...original])) }

  let r = await sameReports('intact file', [base.path], { keys })
  assert.deepEqual([r.ok, r.records, kinds(r)], [true, 302, []])
  r = await sameReports('intact directory with head', [s.ws.dir], { keys })
  assert.equal(r.ok, true)
  r = await sameReports('intact stdin', ['-'], { keys }, () => readFileSync(base.path))
  assert.deepEqual([r.ok, r.files], [true, ['<stdin>']])

  const cases: Array<[string, (lines: string[]) => string[], string[]]> = [
    ['modified', (l) => { l[150] = l[150].replace('"user":"ada"', '"user":"eve"'); return l }, ['modified@151']],
    ['bad signature', (l) => { l[140] = rehashed(l[140]); return l }, ['bad-signature@141']],
    // The last character of G carries 2 bits (A, Q, g or w); the next one spells the same bytes.
    ['non-canonical signature', (l) => { l[20] = l[20].replace(/([AQgw])("}})$/, (_, c: string, end: string) => `${String.fromCharCode(c.charCodeAt(0) + 1)}${end}`); return l }, ['bad-signature@21']],
    ['unknown key', (l) => {
      const parsed = parseRecordLine(Buffer.from(l[200]))
      assert.ok(parsed.ok)
      l[200] = signedLine(other.key, parsed.member.seq, parsed.member.prev, l[200].slice(0, parsed.bodyEnd) + '}').line
      return l
    }, ['unknown-key@201']],
    ['deleted', (l) => { l.splice(100, 1); return l }, ['missing@101']],
    ['swapped', (l) => { [l[200], l[201]] = [l[201], l[200]]; return l }, ['reordered@202']],
    ['duplicated', (l) => { l.splice(250, 0, l[50]); return l }, ['duplicate@251']],
    ['junk and empty lines', (l) => { for (let i = 280; i > 0; i -= 37) l.splice(i, 0, i % 2 === 0 ? '' : `junk ${i}`); return l }, []],
    ['several at once', (l) => { l[10] = rehashed(l[10]); l.splice(130, 1); l[260] = 'not a record'; return l }, []]
  ]
  for (const [label, fn, expected] of cases) {
    edit(fn)
    r = await sameReports(label, [base.path], { keys })
    assert.equal(r.ok, false, label)
    if (expected.length > 0) assert.deepEqual(kinds(r).filter((k) => !k.startsWith('head-mismatch')), expected, label)
  }

  // Every record fails its key lookup: nothing goes to the pool at all.
  write(original)
  r = await sameReports('wrong keyring', [base.path], { keys: [other.pubPath] })
  assert.deepEqual(r.problems.filter((p) => p.kind === 'unknown-key').map((p) => [p.count, p.firstLine, p.lastLine]), [[302, 1, 302]])

  // Last line: a torn fragment; then a whole record without its newline.
  write([...original, '{"level":30,"ti'], false)
  r = await sameReports('torn last line', [base.path], { keys })
  assert.deepEqual(kinds(r), ['malformed@303'])
  write(original, false)
  r = await sameReports('last record without its newline', [base.path], { keys })
  assert.ok(kinds(r).includes('malformed@302'), kinds(r).join())

  // A line over the limit in the middle of a pool run.
  edit((l) => { l.splice(170, 0, `{"x":"${'y'.repeat(5000)}"}`); return l })
  r = await sameReports('line too long', [base.path], { keys, maxLineBytes: 4096 })
  assert.deepEqual(kinds(r).filter((k) => k.startsWith('line-too-long')), ['line-too-long@171'])
})

test('a torn line explained by chain.resume after hundreds of pooled records: the same torn warning', async (t) => {
  const s = setup(t)
  const chain = new ChainBuilder(s.k.key)
  chain.open()
  for (let i = 0; i < 400; i++) chain.user(i)
  const path = join(s.ws.dir, 'audit.log')
  writeLines(path, chain.lines)
  const torn = '{"level":30,"time":1764100800009,"msg":"half a rec'
  const offset = statSync(path).size
  appendFileSync(path, torn + '\n')
  const before = chain.lines.length
  chain.resume(tornOf(torn, offset))
  for (let i = 400; i < 700; i++) chain.user(i)
  chain.close()
  appendFileSync(path, chain.lines.slice(before).join('\n') + '\n')
  const r = await sameReports('torn + resume', [path], { keys: [s.k.pubPath] })
  assert.deepEqual([r.ok, kinds(r)], [true, ['torn@402']])
})

test('records signed by two keys (a rotated key) and two chains in a directory: the same report', async (t) => {
  const s = setup(t)
  const second = s.ws.key('second')
  const dir = join(s.ws.dir, 'logs')
  mkdirSync(dir)
  const chain = new ChainBuilder(s.k.key)
  chain.open()
  for (let i = 0; i < 200; i++) {
    if (i < 100) {
      chain.user(i)
      continue
    }
    // The writer's key changed: the same chain goes on, signed by the second key.
    const { line, hash } = signedLine(second.key, chain.seq + 1, chain.hash, `{"level":30,"time":${1764100800000 + i},"i":${i}}`)
    chain.lines.push(line)
    chain.seq++
    chain.hash = hash
  }
  writeLines(join(dir, 'a.log'), chain.lines)
  writeChain(dir, s.k.key, { name: 'b.log', records: 150 })
  const r = await sameReports('two keys, two chains', [dir], { keys: [second.pubPath, s.k.pubPath] })
  assert.deepEqual([r.chains.length, r.records], [2, 353])
  assert.deepEqual(kinds(r), ['unsealed@-'])
  // Only one of the keys: the other's records are unknown-key, the same with threads.
  await sameReports('one of two keys', [dir], { keys: [s.k.pubPath] })
})

test('20,000 records with tamperings spread over them: the same report with threads 2 and 3', async (t) => {
  const s = setup(t)
  const base = baseLog(s, 20_000)
  const l = [...base.lines]
  l[3_000] = l[3_000].replace('"user":"ada"', '"user":"eve"')
  l[7_500] = rehashed(l[7_500])
  l.splice(11_000, 1)
  ;[l[14_000], l[14_001]] = [l[14_001], l[14_000]]
  l.splice(16_000, 0, 'garbage in the middle')
  l.splice(18_500, 0, l[18_000])
  writeLines(base.path, l)
  const r = await sameReports('20k', [base.path], { keys: [s.k.pubPath] })
  assert.deepEqual(kinds(r), ['modified@3001', 'bad-signature@7501', 'reordered@14002', 'missing@11001', 'malformed@16001', 'duplicate@18501'])
  writeLines(base.path, base.lines)
  assert.equal((await sameReports('20k intact', [base.path], { keys: [s.k.pubPath] })).ok, true)
})

// ---------------------------------------------------------------- seeded fuzz

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed2026) >>> 0
const FUZZ_CASES = Number(process.env.POOL_FUZZ_CASES ?? 30)

test(`fuzz: ${FUZZ_CASES} random tamperings (seed 0x${SEED.toString(16)}) report the same with threads 1, 2 and 3`, async (t) => {
  const s = setup(t)
  const base = baseLog(s, 400)
  const original = readFileSync(base.path)
  const junk = ['', 'x', '{"chain":1}', '{"level":30,"ti', '\r', '\u0000\u00ff']
  for (let n = 0; n < FUZZ_CASES; n++) {
    const next = mulberry32((SEED ^ Math.imul(n + 1, 0x9e3779b1)) >>> 0)
    const int = (lo: number, hi: number): number => lo + Math.floor(next() * (hi - lo + 1))
    const lines = original.toString('latin1').split('\n').slice(0, -1)
    let finalNewline = true
    const done: string[] = []
    for (let m = int(1, 3); m > 0; m--) {
      const i = int(0, lines.length - 1)
      const op = int(0, 7)
      done.push(`${op}@${i}`)
      if (op === 0) { // flip a bit anywhere in a line
        const b = Buffer.from(lines[i], 'latin1')
        if (b.length > 0) b[int(0, b.length - 1)] ^= 1 << int(0, 7)
        lines[i] = b.toString('latin1')
      } else if (op === 1) lines.splice(i, 1)
      else if (op === 2) { const j = int(0, lines.length - 1); [lines[i], lines[j]] = [lines[j], lines[i]] }
      else if (op === 3) lines.splice(int(0, lines.length), 0, lines[i])
      else if (op === 4) lines.splice(i, 0, junk[int(0, junk.length - 1)])
      else if (op === 5) lines[i] = rehashed(lines[i])
      else if (op === 6) { lines.length = Math.max(1, i); finalNewline = next() < 0.5 } // truncated, maybe torn
      else { const b = Buffer.from(lines[i], 'latin1'); lines[i] = b.subarray(0, int(0, b.length)).toString('latin1') } // cut a line
    }
    writeFileSync(base.path, Buffer.from(lines.join('\n') + (finalNewline ? '\n' : ''), 'latin1'))
    const label = `case ${n} (${done.join(' ')}), replay with FUZZ_SEED=0x${SEED.toString(16)}`
    const one = await reportWith([base.path], { keys: [s.k.pubPath] }, 1)
    const threads = n % 3 === 0 ? 3 : 2
    assert.deepEqual(await reportWith([base.path], { keys: [s.k.pubPath] }, threads), one, `${label}: threads ${threads}`)
  }
})

// ---------------------------------------------------------------- failures and options

test('a pool thread that fails rejects its batch with PAC_VERIFY_FAILED', async () => {
  // A "key" the thread cannot use: its first verification throws and ends the thread.
  const pool = createSigPool(new Map([['0123456789abcdef', { publicKey: {} as KeyObject, kid: '0123456789abcdef', source: 'test' }]]), 2)
  const items = new Uint8Array(new ArrayBuffer(4 * ITEM_BYTES))
  await assert.rejects(pool.verify(items), (err: Error) => hasCode(err, 'PAC_VERIFY_FAILED') && /signature-checking thread \d failed/.test(err.message))
  await assert.rejects(pool.verify(new Uint8Array(new ArrayBuffer(ITEM_BYTES))), (err: Error) => hasCode(err, 'PAC_VERIFY_FAILED'))
  await pool.close()
})

test('CLI: a checking thread that crashes or exits mid-run is exit 2 with a message, not a hang or a verdict', (t) => {
  const s = setup(t)
  const base = baseLog(s, 2_000)
  for (const how of ['throw', 'exit']) {
    const r = spawnSync(process.execPath, ['--import', pathToFileURL(CRASH_FIXTURE).href, CLI, 'verify', base.path, '--key', s.k.pubPath, '--threads', '2'], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, CRASH_HOW: how } })
    assert.equal(r.signal, null, `${how}: finished without being killed (no hang)`)
    assert.equal(r.status, 2, `${how}: ${r.stderr}`)
    assert.match(r.stderr, /^audit-chain: PAC_VERIFY_FAILED: signature-checking thread \d failed \(/, how)
    assert.doesNotMatch(r.stdout, /INTACT|PROBLEMS FOUND/, how)
  }
})

test('CLI: --threads N verifies the same with any valid N and ends on its own; bad values exit 2', (t) => {
  const s = setup(t)
  const base = baseLog(s, 300)
  for (const n of ['1', '2', '4']) {
    const r = spawnSync(process.execPath, [CLI, 'verify', base.path, '--key', s.k.pubPath, '--threads', n, '--quiet'], { encoding: 'utf8', timeout: 30_000 })
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.stdout, 'INTACT: 302 records in 1 chain (1 file), 0 problems, 0 warnings\n')
  }
  for (const bad of ['0', '65', '1.5', '-2', 'two', '', '2x']) {
    const r = spawnSync(process.execPath, [CLI, 'verify', base.path, '--key', s.k.pubPath, `--threads=${bad}`], { encoding: 'utf8', timeout: 30_000 })
    assert.equal(r.status, 2, `--threads=${bad}`)
    assert.equal(r.stdout, '')
    assert.match(r.stderr, /--threads must be a whole number from 1 to 64/, `--threads=${bad}: ${r.stderr}`)
  }
})

test('verify() refuses a threads value that is not a whole number from 1 to 64', async (t) => {
  const s = setup(t)
  const base = baseLog(s, 2)
  for (const threads of [0, 65, 1.5, Number.NaN, -1]) {
    await assert.rejects(verify([base.path], { keys: [s.k.pubPath], threads }), (err: Error) => hasCode(err, 'PAC_BAD_OPTION') && /threads must be a whole number from 1 to 64/.test(err.message))
  }
})
