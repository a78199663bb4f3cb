/**
 * The verifier against real v1 logs (built with test/fixtures/write-chain.ts) and
 * every tampering a user relies on it to catch. Tamperings covered:
 *
 *  - none (untouched log, file and directory): intact, zero findings
 *  - edit a value in a body                         → modified
 *  - whitespace change inside a body                → modified
 *  - trailing whitespace on a line                  → modified (layout)
 *  - re-hash a modified body without the key        → bad-signature
 *  - re-sign with another key (kid changed)         → unknown-key
 *  - re-sign with another key, kid kept             → bad-signature
 *  - verify with the wrong key                      → unknown-key on every record
 *  - delete a line                                  → missing
 *  - swap two lines                                 → exactly one reordered
 *  - duplicate a line                               → duplicate
 *  - insert a forged line (no key)                  → bad-signature + inserted
 *  - insert another chain's chain.open              → inserted
 *  - remove the first line                          → missing-start
 *  - truncate the tail, with its head file          → head-mismatch
 *  - truncate the tail, no head                     → unsealed warning (problem with requireSeal)
 *  - a head naming exactly the last record          → nothing unanchored
 *  - a head file with a bad signature               → bad-head
 *  - a head of a chain not in the input             → head-mismatch
 *  - empty file                                     → empty
 *  - cut a line in half                             → malformed + missing
 *  - text after chain.close                         → after-seal
 *  - a signed record after chain.close, no resume   → after-seal
 *  - a torn line explained by chain.resume          → torn warning only (also between a seal and its resume)
 *  - a torn line whose description does not match   → malformed
 *  - a torn last line not yet explained             → malformed, saying so
 *  - a chain.close whose count is wrong             → count-mismatch
 *  - invalid UTF-8 / binary garbage                 → malformed, no crash
 *  - a line longer than the limit                   → line-too-long, read in bounded memory
 *  - a directory with two chains; a chain split over two files named against seq order
 *  - standard input via "-"
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { verify, type VerifyReport } from '../src/verify/index.js'
import { forEachLine } from '../src/verify/lines.js'
import { recordHash, recordLine, parseRecordLine } from '../src/format/record.js'
import { signBytes } from '../src/format/keys.js'
import { ChainBuilder, readLines, signedLine, tornOf, workspace, writeChain, writeLines, type TestKey, type Workspace } from './fixtures/write-chain.js'

interface Setup { ws: Workspace, k: TestKey }

function setup (t: { after: (fn: () => void) => void }): Setup {
  const ws = workspace()
  t.after(ws.cleanup)
  return { ws, k: ws.key() }
}

/** `kind@line` for every problem, in report order. */
function problems (r: VerifyReport): string[] {
  return r.problems.map((p) => `${p.kind}@${p.line ?? '-'}`)
}

function warnings (r: VerifyReport): string[] {
  return r.warnings.map((p) => `${p.kind}@${p.line ?? '-'}`)
}

/** Parse a record line's chain member and body back out (for forging tests). */
function partsOf (line: string): { seq: number, prev: string, hash: string, sig: string, kid: string, body: string } {
  const parsed = parseRecordLine(Buffer.from(line))
  assert.ok(parsed.ok)
  const body = parsed.bodyEnd < 0 ? '{}' : line.slice(0, parsed.bodyEnd) + '}'
  return { ...parsed.member, body }
}

/** Write a 12-line sealed log (chain.open, 10 records, chain.close) and apply `edit` to its lines. */
function tampered (s: Setup, edit: (lines: string[]) => string[], options: { seal?: boolean } = {}): { path: string, headPath: string, chain: ChainBuilder } {
  const w = writeChain(s.ws.dir, s.k.key, { records: 10, seal: options.seal })
  writeLines(w.path, edit([...w.lines]))
  return { path: w.path, headPath: w.headPath, chain: w.chain }
}

test('an untouched log is intact with zero findings, as a file and as a directory', async (t) => {
  const s = setup(t)
  const w = writeChain(s.ws.dir, s.k.key, { records: 100 })
  const byFile = await verify([w.path], { keys: [s.k.pubPath] })
  assert.equal(byFile.ok, true)
  assert.deepEqual(byFile.problems, [])
  assert.deepEqual(byFile.warnings, [])
  assert.equal(byFile.records, 102)
  assert.deepEqual(byFile.files, [w.path])
  assert.equal(byFile.chains.length, 1)
  assert.deepEqual({ ...byFile.chains[0] }, {
    chainId: w.chain.chainId,
    firstSeq: 0,
    lastSeq: 101,
    lastHash: w.chain.hash,
    records: 102,
    files: [w.path],
    sealed: true,
    firstTime: '2025-11-25T20:00:00.000Z',
    lastTime: '2025-11-25T20:03:20.000Z',
    unanchored: 0
  })
  // The directory brings its head file along: it names the seal, so still nothing to say.
  const byDir = await verify([s.ws.dir], { keys: [s.k.pubPath], requireSeal: true })
  assert.deepEqual([byDir.ok, byDir.problems, byDir.warnings], [true, [], []])
})

test('key objects are accepted as well as paths; no key at all is refused', async (t) => {
  const s = setup(t)
  const w = writeChain(s.ws.dir, s.k.key, { records: 3 })
  const { loadVerifyKey } = await import('../src/format/keys.js')
  assert.equal((await verify([w.path], { keys: [loadVerifyKey(s.k.pubPath)] })).ok, true)
  await assert.rejects(verify([w.path], { keys: [] }), { code: 'PAC_BAD_OPTION' })
  await assert.rejects(verify([join(s.ws.dir, 'nope.log')], { keys: [s.k.pubPath] }), { code: 'PAC_INPUT' })
  await assert.rejects(verify([w.path], { keys: [join(s.ws.dir, 'nope.pub')] }), { code: 'PAC_KEY_MISSING' })
})

test('editing a value in a body is reported as modified, once', async (t) => {
  const s = setup(t)
  const { path } = tampered(s, (l) => { l[5] = l[5].replace('"user":"ada"', '"user":"eve"'); return l })
  const r = await verify([path], { keys: [s.k.pubPath] })
  assert.equal(r.ok, false)
  assert.deepEqual(problems(r), ['modified@6'])
  assert.equal(r.problems[0].seq, 5)
  assert.equal(r.problems[0].file, path)
  assert.match(r.problems[0].message, /changed after it was written/)
})

test('a whitespace change inside a body is modified', async (t) => {
  const s = setup(t)
  const { path } = tampered(s, (l) => { l[3] = l[3].replace('"user":"ada"', '"user": "ada"'); return l })
  assert.deepEqual(problems(await verify([path], { keys: [s.k.pubPath] })), ['modified@4'])
})

test('trailing whitespace on a line is modified, and the chain links on past it', async (t) => {
  const s = setup(t)
  const { path } = tampered(s, (l) => { l[3] = l[3] + ' '; l[7] = l[7] + '\r'; return l })
  assert.deepEqual(problems(await verify([path], { keys: [s.k.pubPath] })), ['modified@4', 'modified@8'])
})

test('a modified body re-hashed without the key is a bad signature', async (t) => {
  const s = setup(t)
  const { path } = tampered(s, (l) => {
    const p = partsOf(l[5])
    const body = p.body.replace('"user":"ada"', '"user":"eve"')
    const hash = recordHash(p.seq, p.prev, body).toString('hex')
    l[5] = recordLine(body, { v: 1, seq: p.seq, prev: p.prev, hash, kid: p.kid, sig: p.sig })
    return l
  })
  const r = await verify([path], { keys: [s.k.pubPath] })
  // The next record's prev no longer matches, but that is the same tampering: one finding.
  assert.deepEqual(problems(r), ['bad-signature@6'])
})

test('a record re-signed with another key is unknown-key; with the kid kept it is a bad signature', async (t) => {
  const s = setup(t)
  const other = s.ws.key('other')
  const { path } = tampered(s, (l) => {
    const p = partsOf(l[5])
    l[5] = signedLine(other.key, p.seq, p.prev, p.body.replace('ada', 'eve')).line
    const q = partsOf(l[8])
    const body = q.body.replace('ada', 'eve')
    const h = recordHash(q.seq, q.prev, body)
    l[8] = recordLine(body, { v: 1, seq: q.seq, prev: q.prev, hash: h.toString('hex'), kid: q.kid, sig: signBytes(other.key, h) })
    return l
  })
  const r = await verify([path], { keys: [s.k.pubPath] })
  assert.deepEqual(problems(r), ['unknown-key@6', 'bad-signature@9'])
  assert.match(r.problems[0].message, new RegExp(other.key.kid))
})

test('verifying with the wrong key reports every record as unknown-key, as one finding for the 12 lines in a row', async (t) => {
  const s = setup(t)
  const w = writeChain(s.ws.dir, s.k.key, { records: 10 })
  const other = s.ws.key('other')
  const r = await verify([w.path], { keys: [other.pubPath] })
  assert.deepEqual(r.problems.map((p) => [p.kind, p.count, p.firstLine, p.lastLine, p.firstSeq, p.lastSeq]), [['unknown-key', 12, 1, 12, 0, 11]])
})

test('a deleted line is missing', async (t) => {
  const s = setup(t)
  const { path } = tampered(s, (l) => { l.splice(5, 1); return l })
  const r = await verify([path], { keys: [s.k.pubPath] })
  assert.deepEqual(problems(r), ['missing@6'])
  assert.equal(r.problems[0].seq, 5)
  assert.match(r.problems[0].message, /seq 5 is not in the log/)
})

test('deleted lines at several places are each missing, with their ranges', async (t) => {
  const s = setup(t)
  const { path } = tampered(s, (l) => { l.splice(7, 3); l.splice(2, 1); return l })
  const r = await verify([path], { keys: [s.k.pubPath] })
  assert.deepEqual(r.problems.map((p) => [p.kind, p.seq]), [['missing', 2], ['missing', 7]])
  assert.match(r.problems[1].message, /seqs 7–9 \(3 records\)/)
})

test('two swapped lines are exactly one reordered problem', async (t) => {
  const s = setup(t)
  const { path } = tampered(s, (l) => { [l[5], l[6]] = [l[6], l[5]]; return l })
  const r = await verify([path], { keys: [s.k.pubPath] })
  assert.deepEqual(problems(r), ['reordered@7'])
  assert.equal(r.problems[0].seq, 5)
})

test('a line moved far down is one reordered problem', async (t) => {
  const s = setup(t)
  const { path } = tampered(s, (l) => { const [moved] = l.splice(2, 1); l.splice(9, 0, moved); return l })
  assert.deepEqual(problems(await verify([path], { keys: [s.k.pubPath] })), ['reordered@10'])
})

test('a duplicated line is a duplicate', async (t) => {
  const s = setup(t)
  const { path } = tampered(s, (l) => { l.splice(6, 0, l[5]); return l })
  const r = await verify([path], { keys: [s.k.pubPath] })
  assert.deepEqual(problems(r), ['duplicate@7'])
  assert.match(r.problems[0].message, /already read at .*:6/)
})

test('a forged line inserted without the key is a bad signature and an insertion', async (t) => {
  const s = setup(t)
  const { path } = tampered(s, (l) => {
    const before = partsOf(l[5])
    const body = '{"level":30,"time":1764100800100,"event":"code_execution","user":"mallory","msg":"nothing to see"}'
    const hash = recordHash(before.seq + 1, before.hash, body).toString('hex')
    const forged = recordLine(body, { v: 1, seq: before.seq + 1, prev: before.hash, hash, kid: before.kid, sig: 'A'.repeat(86) })
    l.splice(6, 0, forged)
    return l
  })
  const r = await verify([path], { keys: [s.k.pubPath] })
  assert.deepEqual(problems(r), ['bad-signature@7', 'inserted@7'])
  assert.match(r.problems[1].message, /validly signed record with seq 6 follows at .*:8/)
})

test('another chain\'s chain.open copied into the middle of a chain is inserted', async (t) => {
  const s = setup(t)
  const stranger = new ChainBuilder(s.k.key)
  const open = stranger.open()
  const { path } = tampered(s, (l) => { l.splice(4, 0, open); return l })
  const r = await verify([path], { keys: [s.k.pubPath] })
  assert.deepEqual(problems(r), ['inserted@5'])
  assert.match(r.problems[0].message, new RegExp(stranger.chainId))
})

test('a chain.open of the same chain replayed in the middle is inserted', async (t) => {
  const s = setup(t)
  const { path, chain } = tampered(s, (l) => l)
  const lines = readLines(path)
  const replay = signedLine(s.k.key, 0, '0'.repeat(64), lines[0].replace(/,"chain":.*$/, '').replace('1764100800000', '1764100800001') + '}').line
  lines.splice(6, 0, replay)
  writeLines(path, lines)
  assert.ok(replay.includes(chain.chainId))
  assert.deepEqual(problems(await verify([path], { keys: [s.k.pubPath] })), ['inserted@7'])
})

test('removing the first line is missing-start', async (t) => {
  const s = setup(t)
  const { path } = tampered(s, (l) => l.slice(1))
  const r = await verify([path], { keys: [s.k.pubPath] })
  assert.deepEqual(problems(r), ['missing-start@1'])
  assert.equal(r.problems[0].seq, 1)
})

test('a truncated tail is a head-mismatch when checked with its head file', async (t) => {
  const s = setup(t)
  const { path, headPath } = tampered(s, (l) => l.slice(0, -3))
  const r = await verify([path], { keys: [s.k.pubPath], heads: [headPath] })
  assert.deepEqual(problems(r), ['head-mismatch@-'])
  assert.equal(r.problems[0].file, headPath)
  assert.match(r.problems[0].message, /names seq 11 .* the log ends at seq 8/)
  // The directory finds the head file by itself.
  assert.deepEqual(problems(await verify([s.ws.dir], { keys: [s.k.pubPath] })), ['head-mismatch@-'])
})

test('a head naming a record the log has with another hash is a head-mismatch', async (t) => {
  const s = setup(t)
  const w = writeChain(s.ws.dir, s.k.key, { records: 5 })
  // Rewrite the whole history from seq 3 with the same key (what a key thief could do).
  const forged = new ChainBuilder(s.k.key, w.chain.chainId)
  const lines = w.lines.slice(0, 3)
  Object.assign(forged, { seq: 2, hash: partsOf(lines[2]).hash, written: 3 })
  forged.user(99)
  forged.user(100)
  forged.user(101)
  forged.close()
  writeLines(w.path, [...lines, ...forged.lines])
  const r = await verify([s.ws.dir], { keys: [s.k.pubPath] })
  assert.deepEqual(problems(r), ['head-mismatch@-'])
  assert.match(r.problems[0].message, /has hash/)
})

test('a truncated tail without a head is an unsealed warning, a problem under requireSeal', async (t) => {
  const s = setup(t)
  const w = writeChain(s.ws.dir, s.k.key, { records: 10, head: false })
  writeLines(w.path, w.lines.slice(0, -2))
  const r = await verify([w.path], { keys: [s.k.pubPath] })
  assert.equal(r.ok, true)
  assert.deepEqual(r.problems, [])
  assert.deepEqual(warnings(r), ['unsealed@-'])
  assert.equal(r.warnings[0].seq, 9)
  assert.match(r.warnings[0].message, /last 10 records are unanchored/)
  assert.equal(r.chains[0].unanchored, 10)
  assert.equal(r.chains[0].sealed, false)
  const strict = await verify([w.path], { keys: [s.k.pubPath], requireSeal: true })
  assert.equal(strict.ok, false)
  assert.deepEqual(problems(strict), ['unsealed@-'])
  assert.equal(strict.problems[0].severity, 'problem')
})

test('a live log whose head names its last record has nothing unanchored; records after the head are counted', async (t) => {
  const s = setup(t)
  const w = writeChain(s.ws.dir, s.k.key, { records: 10, seal: false })
  const r = await verify([s.ws.dir], { keys: [s.k.pubPath], requireSeal: true })
  assert.deepEqual([r.ok, r.problems, r.warnings], [true, [], []])
  assert.equal(r.chains[0].unanchored, 0)
  w.chain.user(10)
  w.chain.user(11)
  writeLines(w.path, w.chain.lines)
  const later = await verify([s.ws.dir], { keys: [s.k.pubPath] })
  assert.deepEqual(warnings(later), ['unsealed@-'])
  assert.match(later.warnings[0].message, /newest head file names seq 10: the last 2 records are unanchored/)
})

test('a head file with a bad signature is bad-head and is not trusted', async (t) => {
  const s = setup(t)
  const w = writeChain(s.ws.dir, s.k.key, { records: 3 })
  const head = JSON.parse(readFileSync(w.headPath, 'utf8'))
  writeFileSync(w.headPath, JSON.stringify({ ...head, time: '2030-01-01T00:00:00.000Z' }))
  const r = await verify([s.ws.dir], { keys: [s.k.pubPath] })
  assert.deepEqual(problems(r), ['bad-head@-'])
  assert.equal(r.problems[0].file, w.headPath)
  writeFileSync(w.headPath, 'not json')
  assert.deepEqual(problems(await verify([s.ws.dir], { keys: [s.k.pubPath] })), ['bad-head@-'])
})

test('a head for a chain that is not in the input is a head-mismatch', async (t) => {
  const s = setup(t)
  const w = writeChain(s.ws.dir, s.k.key, { records: 3, head: false })
  const other = new ChainBuilder(s.k.key)
  other.open()
  const headPath = join(s.ws.dir, 'elsewhere.json')
  writeFileSync(headPath, other.headText())
  const r = await verify([w.path], { keys: [s.k.pubPath], heads: [headPath] })
  assert.deepEqual(problems(r), ['head-mismatch@-'])
  assert.match(r.problems[0].message, /no chain with that id/)
})

test('an empty file is empty', async (t) => {
  const s = setup(t)
  const path = join(s.ws.dir, 'audit.log')
  writeFileSync(path, '')
  const r = await verify([path], { keys: [s.k.pubPath] })
  assert.equal(r.ok, false)
  assert.deepEqual(problems(r), ['empty@-'])
  assert.equal(r.records, 0)
  assert.deepEqual(r.chains, [])
})

test('a line cut in half is malformed, and its record is missing', async (t) => {
  const s = setup(t)
  const { path } = tampered(s, (l) => { l[5] = l[5].slice(0, 40); return l })
  const r = await verify([path], { keys: [s.k.pubPath] })
  assert.deepEqual(problems(r), ['malformed@6', 'missing@7'])
  assert.equal(r.problems[1].seq, 5)
})

test('text appended after chain.close is after-seal', async (t) => {
  const s = setup(t)
  const w = writeChain(s.ws.dir, s.k.key, { records: 3, head: false })
  appendFileSync(w.path, 'hello, I was added later\n')
  const r = await verify([w.path], { keys: [s.k.pubPath] })
  assert.deepEqual(problems(r), ['after-seal@6'])
})

test('a signed record after chain.close without a chain.resume is after-seal', async (t) => {
  const s = setup(t)
  const w = writeChain(s.ws.dir, s.k.key, { records: 3, head: false })
  w.chain.user(3)
  w.chain.user(4)
  writeLines(w.path, w.chain.lines)
  const r = await verify([w.path], { keys: [s.k.pubPath] })
  assert.deepEqual(problems(r), ['after-seal@6'])
  assert.equal(r.chains[0].sealed, false)
})

test('a restart after a seal (chain.resume linked to it) is intact', async (t) => {
  const s = setup(t)
  const w = writeChain(s.ws.dir, s.k.key, { records: 3 })
  w.chain.resume()
  w.chain.user(3)
  w.chain.close()
  writeLines(w.path, w.chain.lines)
  const r = await verify([w.path], { keys: [s.k.pubPath] })
  assert.deepEqual([r.ok, r.problems, r.warnings], [true, [], []])
})

/** A log the way a crash and a restart leave it: records, a torn line, `\n`, chain.resume, more. */
function crashAndRestart (s: Setup, options: { sealFirst?: boolean, describe?: (torn: string, offset: number) => ReturnType<typeof tornOf> } = {}): string {
  const chain = new ChainBuilder(s.k.key)
  chain.open()
  for (let i = 0; i < 3; i++) chain.user(i)
  if (options.sealFirst === true) chain.close()
  const path = join(s.ws.dir, 'audit.log')
  writeLines(path, chain.lines)
  const torn = '{"level":30,"time":1764100800009,"msg":"half a rec'
  const offset = statSync(path).size
  appendFileSync(path, torn + '\n')
  const before = chain.lines.length
  chain.resume((options.describe ?? tornOf)(torn, offset))
  chain.user(3)
  chain.close()
  appendFileSync(path, chain.lines.slice(before).join('\n') + '\n')
  return path
}

test('a torn line explained by the next chain.resume is a warning only', async (t) => {
  const s = setup(t)
  const path = crashAndRestart(s)
  const r = await verify([path], { keys: [s.k.pubPath] })
  assert.equal(r.ok, true)
  assert.deepEqual(r.problems, [])
  assert.deepEqual(warnings(r), ['torn@5'])
  assert.match(r.warnings[0].message, /50 bytes at byte offset \d+\) left by a crash/)
})

test('a torn line between a seal and its chain.resume is fine', async (t) => {
  const s = setup(t)
  const r = await verify([crashAndRestart(s, { sealFirst: true })], { keys: [s.k.pubPath] })
  assert.deepEqual([r.ok, r.problems, warnings(r)], [true, [], ['torn@6']])
})

test('a torn line whose description does not match is malformed', async (t) => {
  const s = setup(t)
  const path = crashAndRestart(s, { describe: (torn, offset) => tornOf(torn + 'x', offset) })
  const r = await verify([path], { keys: [s.k.pubPath] })
  assert.equal(r.ok, false)
  assert.deepEqual(problems(r), ['malformed@5'])
  assert.deepEqual(r.warnings, [])
})

test('a torn last line with no restart after it is malformed, and says so', async (t) => {
  const s = setup(t)
  const w = writeChain(s.ws.dir, s.k.key, { records: 3, seal: false, head: false })
  appendFileSync(w.path, '{"level":30,"ti')
  const r = await verify([w.path], { keys: [s.k.pubPath] })
  assert.deepEqual(problems(r), ['malformed@5'])
  assert.match(r.problems[0].message, /torn last line.*not yet explained by a restart/)
})

test('a chain.close whose record count is wrong is count-mismatch', async (t) => {
  const s = setup(t)
  const chain = new ChainBuilder(s.k.key)
  chain.open()
  chain.user(0)
  chain.written += 5
  chain.close()
  const path = join(s.ws.dir, 'audit.log')
  writeLines(path, chain.lines)
  assert.deepEqual(problems(await verify([path], { keys: [s.k.pubPath] })), ['count-mismatch@3'])
})

test('invalid UTF-8 and binary garbage are malformed, without a crash', async (t) => {
  const s = setup(t)
  const w = writeChain(s.ws.dir, s.k.key, { records: 5, head: false })
  const text = readFileSync(w.path)
  const lines = text.toString('utf8').split('\n')
  const garbage = Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x22, 0xc3, 0x28, 0x80, 0x0d])
  const badUtf8 = Buffer.concat([Buffer.from(lines[3]).subarray(0, 30), Buffer.from([0xc3, 0x28]), Buffer.from(lines[3]).subarray(30)])
  const out = Buffer.concat([
    Buffer.from(lines.slice(0, 3).join('\n') + '\n'),
    badUtf8, Buffer.from('\n'),
    Buffer.from(lines.slice(4, 6).join('\n') + '\n'),
    garbage, Buffer.from('\n'),
    Buffer.from(lines.slice(6).join('\n'))
  ])
  writeFileSync(w.path, out)
  const r = await verify([w.path], { keys: [s.k.pubPath] })
  assert.deepEqual(problems(r), ['malformed@4', 'malformed@7', 'missing@5'])
  assert.match(r.problems[0].message, /not valid UTF-8/)
})

test('a line longer than the limit is line-too-long, and the chain links on past it', async (t) => {
  const s = setup(t)
  const { path } = tampered(s, (l) => { l.splice(4, 0, 'x'.repeat(100_000)); return l })
  const r = await verify([path], { keys: [s.k.pubPath], maxLineBytes: 4096 })
  assert.deepEqual(problems(r), ['line-too-long@5'])
  assert.match(r.problems[0].message, /100000 bytes long/)
})

test('a huge line is counted, not buffered: memory stays bounded', async () => {
  const chunk = Buffer.alloc(64 * 1024, 0x78) // one buffer, yielded again and again
  const chunks = 1024 // 64 MiB in one line
  let grown = 0
  async function * source (): AsyncGenerator<Buffer> {
    const base = process.memoryUsage().arrayBuffers
    for (let i = 0; i < chunks; i++) {
      yield chunk
      grown = Math.max(grown, process.memoryUsage().arrayBuffers - base)
    }
    yield Buffer.from('\n{"ok":true}\n')
  }
  const seen: Array<{ number: number, length: number, held: boolean }> = []
  await forEachLine(source(), 1024, (line) => { seen.push({ number: line.number, length: line.length, held: line.bytes !== undefined }) })
  assert.deepEqual(seen, [
    { number: 1, length: chunks * chunk.length, held: false },
    { number: 2, length: 11, held: true }
  ])
  assert.ok(grown < 8 * 1024 * 1024, `memory grew by ${grown} bytes while reading a 64 MiB line`)
})

test('a directory with two chains verifies both', async (t) => {
  const s = setup(t)
  const a = writeChain(s.ws.dir, s.k.key, { name: 'a.log', records: 4 })
  const b = writeChain(s.ws.dir, s.k.key, { name: 'b.log', records: 7, seal: false })
  const r = await verify([s.ws.dir], { keys: [s.k.pubPath] })
  assert.deepEqual([r.ok, r.problems, r.warnings], [true, [], []])
  assert.deepEqual(r.chains.map((c) => [c.chainId, c.records, c.sealed]), [[a.chain.chainId, 6, true], [b.chain.chainId, 8, false]])
  assert.equal(r.records, 14)
})

test('a chain split over two files is read in seq order, not name order', async (t) => {
  const s = setup(t)
  const chain = new ChainBuilder(s.k.key)
  chain.open()
  for (let i = 0; i < 4; i++) chain.user(i)
  const first = join(s.ws.dir, 'z-first.log')
  const second = join(s.ws.dir, 'a-second.log')
  writeLines(first, chain.lines)
  const split = chain.lines.length
  chain.append(`{"level":30,"time":1764100800500,"event":"file.open","chainId":"${chain.chainId}","file":"a-second.log","previousFile":"z-first.log","msg":"audit file opened"}`)
  for (let i = 4; i < 8; i++) chain.user(i)
  chain.close()
  writeLines(second, chain.lines.slice(split))
  const r = await verify([s.ws.dir], { keys: [s.k.pubPath] })
  assert.deepEqual([r.ok, r.problems, r.warnings], [true, [], []])
  assert.deepEqual(r.files, [first, second])
  assert.equal(r.chains.length, 1)
  assert.deepEqual(r.chains[0].files, [first, second])
  // A deleted middle file is a gap.
  writeLines(second, chain.lines.slice(split + 2))
  assert.deepEqual(problems(await verify([s.ws.dir], { keys: [s.k.pubPath] })).map((p) => p.split('@')[0]), ['missing'])
})

test('standard input is read for "-"', async (t) => {
  const s = setup(t)
  const w = writeChain(s.ws.dir, s.k.key, { records: 20 })
  const r = await verify(['-'], { keys: [s.k.pubPath], stdin: Readable.from([readFileSync(w.path)]) })
  assert.deepEqual([r.ok, r.problems, r.warnings, r.files], [true, [], [], ['<stdin>']])
  assert.equal(r.chains[0].chainId, w.chain.chainId)
  const lines = [...w.lines]
  lines.splice(3, 1)
  const broken = await verify(['-'], { keys: [s.k.pubPath], stdin: Readable.from([lines.join('\n') + '\n']) })
  assert.deepEqual(broken.problems.map((p) => [p.kind, p.file, p.seq]), [['missing', '<stdin>', 3]])
})

test('progress is reported against the total size of the files', async (t) => {
  const s = setup(t)
  const w = writeChain(s.ws.dir, s.k.key, { records: 50 })
  const calls: Array<[number, number]> = []
  await verify([w.path], { keys: [s.k.pubPath], onProgress: (done, total) => calls.push([done, total]) })
  const size = statSync(w.path).size
  assert.deepEqual(calls.at(-1), [size, size])
})
