/**
 * The verifier's chain rules against an attacker who can write to the log directory
 * but has no key (issue 12):
 *
 *  - item 3: complete lines appended after the last record are never blessed as a torn
 *    line, whatever a chain.resume says; only one cut-short line right before it is
 *    (fixtures for each shape, and the real transport killed with -9 and restarted)
 *  - item 2: a chain.resume / chain.open in which the writer signed that the log was
 *    shorter than its head (`truncated`) is a problem, in the API, --json and --state
 *  - item 6: heads shipped earlier whose records retention later deleted are satisfied
 *    (the real transport with rotation and retention); a head a prune does not account
 *    for, or names with another hash, still fails
 *  - item 1: `--state` reports rollback when its remembered record is gone and no valid
 *    prune record accounts for it (oldest files deleted by hand), not when one does
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { fileOpenBody, retentionPruneBody } from '../src/format/control.js'
import { headText, signHead } from '../src/format/head.js'
import { signingKeyFromPem } from '../src/format/keys.js'
import { verify, type VerifyReport } from '../src/verify/index.js'
import { readRecords, runApp, sandbox, startApp, type Sandbox } from './helpers.js'
import { ChainBuilder, tornOf, workspace, writeLines, type TestKey, type Workspace } from './fixtures/write-chain.js'

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))

function cli (args: string[]): { code: number | null, stdout: string, stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

function setup (t: { after: (fn: () => void) => void }): { ws: Workspace, k: TestKey } {
  const ws = workspace()
  t.after(ws.cleanup)
  return { ws, k: ws.key() }
}

/** `kind@line` of each problem, and of each warning. */
/** `kind@line`, or `kind@first–last` for a group of consecutive lines. */
function kinds (findings: VerifyReport['problems']): string[] {
  return findings.map((f) => `${f.kind}@${String(f.line)}${f.lastLine !== undefined ? `–${f.lastLine}` : ''}`)
}

/** A pino-looking line anyone can append: to jq or a log shipper it is an ordinary entry. */
function fakeEntry (i: number): string {
  return `{"level":30,"time":${1764100850000 + i},"pid":4242,"hostname":"sandbox-1","event":"code_execution","i":${900 + i},"user":"mallory","msg":"record ${900 + i}"}`
}

// A record line cut short by a crash: a proper prefix of a JSON object never parses.
const CUT = '{"level":30,"time":1764100800009,"pid":4242,"hostname":"sandbox-1","event":"code_exec'

/**
 * chain.open and 3 records, then `inserted` lines (each ended by `\n`, as a restarted
 * writer leaves a torn line), then a chain.resume whose `torn` is `describe` of them,
 * and one more record. Returns the path.
 */
function restartAfter (dir: string, k: TestKey, inserted: Array<string | Buffer>, describe: (bytes: Buffer[], offsets: number[]) => ReturnType<typeof tornOf>): string {
  const chain = new ChainBuilder(k.key)
  chain.open()
  for (let i = 0; i < 3; i++) chain.user(i)
  const parts: Buffer[] = [Buffer.from(chain.lines.join('\n') + '\n')]
  let offset = parts[0].length
  const offsets: number[] = []
  const bytes = inserted.map((l) => (typeof l === 'string' ? Buffer.from(l) : l))
  for (const b of bytes) {
    offsets.push(offset)
    parts.push(b, Buffer.from('\n'))
    offset += b.length + 1
  }
  chain.resume(describe(bytes, offsets))
  chain.user(3)
  parts.push(Buffer.from(chain.lines.slice(4).join('\n') + '\n'))
  const path = join(dir, `audit-${Math.random().toString(36).slice(2)}.log`)
  writeFileSync(path, Buffer.concat(parts))
  return path
}

/** The region an old writer described: every byte between the last record and its resume, lines joined by `\n`. */
const wholeRegion = (bytes: Buffer[], offsets: number[]): ReturnType<typeof tornOf> => tornOf(Buffer.concat(bytes.flatMap((b, i) => (i === 0 ? [b] : [Buffer.from('\n'), b]))), offsets[0])
/** Only the last line before the resume, as the writer describes a torn final line now. */
const lastLine = (bytes: Buffer[], offsets: number[]): ReturnType<typeof tornOf> => tornOf(bytes[bytes.length - 1], offsets[offsets.length - 1])

test('torn: one cut-short line right before the chain.resume that describes it is a warning only (a crash)', async (t) => {
  const { ws, k } = setup(t)
  const r = await verify([restartAfter(ws.dir, k, [CUT], lastLine)], { keys: [k.pubPath] })
  assert.deepEqual(kinds(r.problems), [])
  assert.deepEqual(kinds(r.warnings), ['torn@5', 'unsealed@undefined'])
})

test('torn: complete lines appended without the key stay problems, whatever the chain.resume after them describes', async (t) => {
  const { ws, k } = setup(t)
  const cases: Array<{ name: string, lines: Array<string | Buffer>, describe: typeof lastLine, problems: string[], torn: string[], message?: RegExp }> = [
    { name: 'two fake entries, described together as one region', lines: [fakeEntry(1), fakeEntry(2)], describe: wholeRegion, problems: ['malformed@5–6'], torn: [] },
    { name: 'one fake entry, described exactly', lines: [fakeEntry(1)], describe: lastLine, problems: ['malformed@5'], torn: [], message: /describes it as a torn line, but it is a complete JSON value, which a crash cannot leave/ },
    { name: 'a bare JSON number', lines: ['42'], describe: lastLine, problems: ['malformed@5'], torn: [], message: /complete JSON value/ },
    { name: 'a fake entry with a byte that is not UTF-8 in a string', lines: [Buffer.concat([Buffer.from('{"msg":"fake '), Buffer.from([0xff]), Buffer.from('"}')])], describe: lastLine, problems: ['malformed@5'], torn: [] },
    { name: 'a fake entry, then a cut-short line: only the last is the crash', lines: [fakeEntry(1), CUT], describe: lastLine, problems: ['malformed@5'], torn: ['torn@6'] },
    { name: 'a fake entry, then a cut-short line, described together', lines: [fakeEntry(1), CUT], describe: wholeRegion, problems: ['malformed@5', 'malformed@6'], torn: [] },
    { name: 'two cut-short lines: one crash leaves one', lines: [CUT, CUT.slice(0, 20)], describe: wholeRegion, problems: ['malformed@5–6'], torn: [] }
  ]
  for (const c of cases) {
    const r = await verify([restartAfter(ws.dir, k, c.lines, c.describe)], { keys: [k.pubPath] })
    assert.deepEqual(kinds(r.problems), c.problems, c.name)
    assert.deepEqual(kinds(r.warnings.filter((w) => w.kind === 'torn')), c.torn, c.name)
    if (c.message !== undefined) assert.match(r.problems[0].message, c.message, c.name)
  }
})

test('torn: the real transport, killed with -9, then lines appended and a restart: the complete ones are problems, never a torn warning', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const app = startApp({ destination: box.log, key: box.keyPath, count: 20, after: 'hang' })
  await app.message((m) => m.flushed === true)
  app.child.kill('SIGKILL')
  await app.exit
  const before = readFileSync(box.log, 'utf8').split('\n').length - 1
  // Two entries a reader shows as ordinary records, then a fragment as a crash leaves one.
  appendFileSync(box.log, `${fakeEntry(1)}\n${fakeEntry(2)}\n${CUT}`)
  const run = await runApp({ destination: box.log, key: box.keyPath, count: 5, after: 'exit' })
  assert.equal(run.code, 0, run.stderr)
  const r = await verify([box.log], { keys: [box.pubPath] })
  assert.equal(r.ok, false)
  const fake = [before + 1, before + 2]
  // The two appended entries: one malformed finding for both lines.
  assert.deepEqual(kinds(r.problems.filter((p) => fake.includes(p.line as number))), [`malformed@${fake[0]}–${fake[1]}`], JSON.stringify(r.problems))
  assert.deepEqual(r.problems.filter((p) => p.kind !== 'malformed'), [])
  for (const w of r.warnings) assert.ok(!(w.kind === 'torn' && fake.includes(w.line as number)), `a fake entry was blessed: ${JSON.stringify(w)}`)
  // A restart afterwards does not launder them either.
  assert.equal((await runApp({ destination: box.log, key: box.keyPath, count: 1, after: 'exit' })).code, 0)
  const again = await verify([box.log], { keys: [box.pubPath] })
  assert.deepEqual(kinds(again.problems.filter((p) => fake.includes(p.line as number))), [`malformed@${fake[0]}–${fake[1]}`])
})

/** A restart record body with a `truncated` member, as FORMAT.md §5.2 gives it. */
function restartBody (event: 'chain.resume' | 'chain.open', chain: ChainBuilder, truncated: unknown): string {
  const after = event === 'chain.resume' ? { after: { seq: chain.seq, hash: chain.hash } } : {}
  return JSON.stringify({ level: 30, time: 1764100900000, event, chainId: chain.chainId, kid: chain.key.kid, ...after, torn: null, truncated, pid: 4242, hostname: 'sandbox-1', msg: event === 'chain.open' ? 'audit chain opened' : 'audit chain resumed' })
}

/**
 * A chain of 8 records whose last two were cut while the writer was stopped, its head
 * naming seq 7; then the restarted writer's chain.resume carrying `truncated(head, found)`.
 */
function cutAndResume (dir: string, k: TestKey, truncated: (head: Record<string, unknown>, found: Record<string, unknown>) => unknown): { path: string, chain: ChainBuilder } {
  const chain = new ChainBuilder(k.key)
  chain.open()
  for (let i = 0; i < 5; i++) chain.user(i)
  const found = { chainId: chain.chainId, seq: chain.seq, hash: chain.hash }
  const kept = chain.lines.length
  chain.user(5)
  chain.user(6)
  const head = { chainId: chain.chainId, seq: chain.seq, hash: chain.hash, time: '2025-11-25T20:00:05.000Z', kid: k.key.kid }
  chain.lines.length = kept
  chain.seq = found.seq
  chain.hash = found.hash
  chain.append(restartBody('chain.resume', chain, truncated(head, found)))
  chain.user(7)
  const path = join(dir, 'audit.log')
  writeLines(path, chain.lines)
  return { path, chain }
}

test('truncated: a chain.resume in which the writer signed that the log is shorter than its head is a problem, for each reason', async (t) => {
  const { ws, k } = setup(t)
  const cases: Array<[string, (head: Record<string, unknown>, found: Record<string, unknown>) => unknown, RegExp]> = [
    ['shorter', (head, found) => ({ reason: 'shorter', head, found }), /^the writer restarted at seq 6 and found the log shorter than its head: the head named seq 7 of chain [0-9a-f]{32} \(hash [0-9a-f]{12}…, written 2025-11-25T20:00:05.000Z\), but the log ended at seq 5 \(hash [0-9a-f]{12}…\); records 6–7 \(2\) were cut$/],
    ['differs', (head, found) => ({ reason: 'differs', head: { ...head, seq: 5, hash: 'ab'.repeat(32) }, found }), /found the log different from its head: the head named seq 5 .*hash abababababab….*another hash/],
    ['other-chain', (head) => ({ reason: 'other-chain', head: { ...head, chainId: 'cd'.repeat(16) }, found: null }), /found another chain than its head names: the head named seq 7 of chain (cd){16} .*the log held no record of that chain/],
    ['head-invalid', () => ({ reason: 'head-invalid', head: null, found: null, detail: 'its signature does not verify with the writer\'s keys' }), /could not trust its own head file \(its signature does not verify with the writer's keys\)/],
    ['unknown form', () => ({ reason: 'gone' }), /in a form this verifier does not know \(truncated: \{"reason":"gone"\}\)/]
  ]
  for (const [name, truncated, message] of cases) {
    const { path } = cutAndResume(ws.dir, k, truncated)
    const r = await verify([path], { keys: [k.pubPath] })
    assert.deepEqual(r.problems.map((p) => [p.kind, p.line, p.seq]), [['truncated', 7, 6]], name)
    assert.match(r.problems[0].message, message, name)
  }
  // The writer found the log as its head said: "truncated": null is no finding.
  const { path } = cutAndResume(ws.dir, k, () => null)
  assert.deepEqual((await verify([path], { keys: [k.pubPath] })).problems, [])
})

test('truncated: a new chain opened because no record of the old one was left is a problem; --json names the kind, exit 1, and --state does not record it', async (t) => {
  const { ws, k } = setup(t)
  const chain = new ChainBuilder(k.key)
  const old = { chainId: 'ef'.repeat(16), seq: 41, hash: '12'.repeat(32), time: '2025-11-25T20:00:05.000Z', kid: k.key.kid }
  chain.append(restartBody('chain.open', chain, { reason: 'other-chain', head: old, found: null }))
  chain.user(1)
  const path = join(ws.dir, 'audit.log')
  writeLines(path, chain.lines)
  const state = join(ws.dir, 'state.json')
  const r = cli(['verify', path, '--key', k.pubPath, '--json', '--state', state])
  assert.equal(r.code, 1, r.stderr)
  const report = JSON.parse(r.stdout)
  assert.deepEqual(report.problems.map((p: any) => [p.kind, p.severity, p.line, p.seq]), [['truncated', 'problem', 1, 0]])
  assert.match(report.problems[0].message, /^the writer started this chain \(seq 0\) and found another chain than its head names: the head named seq 41 of chain (ef){16}/)
  assert.deepEqual(report.state.notRecorded, [chain.chainId])
  const text = cli(['verify', path, '--key', k.pubPath])
  assert.match(text.stdout, /audit\.log:1 seq 0 {2}truncated — the writer started this chain/)
})

/** The private signing key of a sandbox, to sign heads as its writer would. */
function sandboxKey (box: Sandbox): ReturnType<typeof signingKeyFromPem> {
  return signingKeyFromPem(readFileSync(box.keyPath), 'test')
}

const ROTATED = /^audit\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z\.(\d+)(-\d+)?\.log$/

/** Rotated files oldest first (by the first seq in their name). */
function rotatedFiles (dir: string): string[] {
  return readdirSync(dir).filter((n) => ROTATED.test(n)).sort((a, b) => Number(ROTATED.exec(a)?.[1]) - Number(ROTATED.exec(b)?.[1])).map((n) => join(dir, n))
}

test('heads and state with rotation and retention: heads shipped earlier whose records retention deleted are satisfied; the oldest kept file deleted by hand is a rollback and a head mismatch', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const dir = join(box.dir, 'logs')
  const offhost = join(box.dir, 'offhost')
  mkdirSync(offhost)
  const shipped = join(offhost, 'heads.jsonl')
  const state = join(offhost, 'state.json')
  const options = { rotation: { size: '16KB' }, retention: { maxFiles: 2 } }
  const ship = (): void => {
    const r = cli(['head', box.log, '--key', box.pubPath])
    assert.equal(r.code, 0, r.stderr)
    appendFileSync(shipped, r.stdout)
  }
  assert.equal((await runApp({ destination: box.log, key: box.keyPath, count: 30, after: 'exit', options })).code, 0)
  ship()
  const first = JSON.parse(readFileSync(shipped, 'utf8'))
  assert.equal(cli(['verify', dir, '--key', box.pubPath, '--state', state]).code, 0)
  // Enough records for several rotations: retention deletes the file holding the first head's record.
  const run = await runApp({ destination: box.log, key: box.keyPath, count: 2000, after: 'exit', options })
  assert.equal(run.code, 0, run.stderr)
  ship()
  const files = [...rotatedFiles(dir), box.log]
  const oldestSeq = readRecords(files[0])[0].chain.seq
  assert.ok(first.seq < oldestSeq, `the first head's seq ${String(first.seq)} was pruned (the log now starts at ${String(oldestSeq)})`)

  // The README's recipe on an untouched log: intact, and the state moves on.
  const ok = cli(['verify', dir, '--key', box.pubPath, '--head', shipped, '--state', state, '--json'])
  const report = JSON.parse(ok.stdout)
  assert.equal(ok.code, 0, JSON.stringify(report.problems))
  assert.deepEqual(report.state.recorded, [first.chainId])

  // A record of the oldest kept file, as a head shipped then and the state remember it.
  const oldest = readRecords(files[0])
  const kept = oldest[Math.floor(oldest.length / 2)].chain
  const heads = join(offhost, 'kept.head.json')
  writeFileSync(heads, headText(signHead(sandboxKey(box), first.chainId, kept.seq, kept.hash)))
  const remember = (): void => { writeFileSync(state, JSON.stringify({ v: 1, chains: { [first.chainId]: { seq: kept.seq, hash: kept.hash, verifiedAt: '2025-11-25T20:00:05.000Z' } } })) }
  remember()
  const before = await verify([dir], { keys: [box.pubPath], heads: [heads, shipped], state })
  assert.deepEqual(before.problems, [])
  // Someone deletes it by hand: no prune record accounts for it.
  remember()
  unlinkSync(files[0])
  const after = await verify([dir], { keys: [box.pubPath], heads: [heads, shipped], state })
  // The first shipped head fails too: with the start unexplained, nothing says retention
  // (rather than someone) removed its record either.
  assert.deepEqual(after.problems.map((p) => [p.kind, p.seq]), [['missing-start', readRecords(files[1])[0].chain.seq], ['head-mismatch', kept.seq], ['head-mismatch', first.seq], ['rollback', kept.seq]])
  assert.match(after.problems[1].message, /no record with that seq is in the log, and no retention\.prune record says retention deleted it/)
  assert.equal(JSON.parse(readFileSync(state, 'utf8')).chains[first.chainId].seq, kept.seq, 'the state stays')
  assert.ok(existsSync(box.log) && statSync(box.log).size > 0)
})

/**
 * Files audit.1.log (seqs 0–9), audit.2.log (10–19) and audit.log (20–24, opened by
 * file.open, then a retention.prune naming `pruned`); only audit.log is written: the
 * others are gone. Returns the hash of every seq and the current file's path.
 */
function prunedLog (dir: string, k: TestKey, pruned: (hashes: string[]) => Array<{ file: string, firstSeq: number, lastSeq: number, lastHash: string }>): { path: string, chain: ChainBuilder, hashes: string[] } {
  const chain = new ChainBuilder(k.key)
  const hashes: string[] = []
  chain.open()
  hashes.push(chain.hash)
  for (let i = 1; i < 20; i++) {
    chain.user(i)
    hashes.push(chain.hash)
  }
  const from = chain.lines.length
  chain.append(fileOpenBody(chain.chainId, k.key.kid, 'audit.log', 'audit.2.log', 'rotation', 1764100900000))
  chain.append(retentionPruneBody(chain.chainId, pruned(hashes), [], 1764100900001))
  for (let i = 22; i < 25; i++) chain.user(i)
  const path = join(dir, 'audit.log')
  writeLines(path, chain.lines.slice(from))
  return { path, chain, hashes }
}

test('heads and state against prune records: covered by a named file is satisfied; the same seq with another hash, or a seq no prune names, fails', async (t) => {
  const { ws, k } = setup(t)
  // Retention deleted audit.1.log; audit.2.log was deleted by hand (the start at 20 is unexplained).
  const { path, chain, hashes } = prunedLog(ws.dir, k, (h) => [{ file: 'audit.1.log', firstSeq: 0, lastSeq: 9, lastHash: h[9] }])
  const headAt = (seq: number, hash = hashes[seq]): string => {
    const p = join(ws.dir, `head-${seq}-${hash.slice(0, 4)}.json`)
    writeFileSync(p, headText(signHead(k.key, chain.chainId, seq, hash)))
    return p
  }
  const headKinds = async (head: string): Promise<Array<[string, number | undefined]>> => {
    const r = await verify([path], { keys: [k.pubPath], heads: [head] })
    return r.problems.filter((p) => p.kind !== 'missing-start').map((p) => [p.kind, p.seq])
  }
  assert.deepEqual(await headKinds(headAt(5)), [], 'inside a pruned file')
  assert.deepEqual(await headKinds(headAt(9)), [], 'the pruned file\'s last record, same hash')
  assert.deepEqual(await headKinds(headAt(15)), [['head-mismatch', 15]], 'in the file deleted by hand')
  const other = headAt(9, 'ab'.repeat(32))
  assert.deepEqual(await headKinds(other), [['head-mismatch', 9]], 'the pruned file\'s last record, another hash')
  const r = await verify([path], { keys: [k.pubPath], heads: [other] })
  assert.match(r.problems.find((p) => p.kind === 'head-mismatch')?.message ?? '', /the retention\.prune record at .*audit\.log:2 says the deleted file audit\.1\.log ended at seq 9 with hash [0-9a-f]{64}, not (ab){32}/)

  const stateAt = (seq: number): string => {
    const p = join(ws.dir, `state-${seq}.json`)
    writeFileSync(p, JSON.stringify({ v: 1, chains: { [chain.chainId]: { seq, hash: hashes[seq], verifiedAt: '2025-11-25T20:00:05.000Z' } } }))
    return p
  }
  const rollbacks = async (seq: number): Promise<number[]> => {
    const out = await verify([path], { keys: [k.pubPath], state: stateAt(seq) })
    return out.problems.filter((p) => p.kind === 'rollback').map((p) => p.seq as number)
  }
  assert.deepEqual(await rollbacks(5), [], 'remembered inside a pruned file')
  assert.deepEqual(await rollbacks(15), [15], 'remembered in the file deleted by hand')
})

test('heads and state before a start that a prune record explains are satisfied, though the prune records of older files are gone too', async (t) => {
  const { ws, k } = setup(t)
  // Only the newest prune survives (it names audit.2.log); audit.1.log's went with a later file.
  const { path, chain, hashes } = prunedLog(ws.dir, k, (h) => [{ file: 'audit.2.log', firstSeq: 10, lastSeq: 19, lastHash: h[19] }])
  const head = join(ws.dir, 'early.head.json')
  writeFileSync(head, headText(signHead(k.key, chain.chainId, 4, hashes[4])))
  const state = join(ws.dir, 'state.json')
  writeFileSync(state, JSON.stringify({ v: 1, chains: { [chain.chainId]: { seq: 3, hash: hashes[3], verifiedAt: '2025-11-25T20:00:05.000Z' } } }))
  const r = await verify([path], { keys: [k.pubPath], heads: [head], state })
  assert.deepEqual(r.problems, [])
  assert.equal(r.chains[0].prunedBefore, 20)
  assert.deepEqual(r.state?.recorded, [chain.chainId])
})
