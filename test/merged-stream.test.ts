/**
 * A collector's merged stream (FORMAT.md §7.1, issue 16 item 2): the chains of several
 * real app processes, each writing through the pipeline stage to its own file, merged
 * into one stream as a collector would — line by line, at random (seeded), a little out
 * of order, with lines delivered twice — verify intact, and every tampering is still
 * caught inside the merged stream, naming the chain it hit.
 */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { spawn } from 'node:child_process'
import { formatReport, verify, type ChainSummary, type VerifyOptions, type VerifyReport } from '../src/verify/index.js'
import { readAuditLog, type AuditEntry } from '../src/index.js'
import { mulberry32, outputOf, ROOT, sandbox } from './helpers.js'

const CLI = join(ROOT, 'dist/cli/main.js')
const STAGE_APP = join(ROOT, 'test/fixtures/stage-app.mjs')
const box = sandbox()
after(box.cleanup)

interface AppChain {
  chainId: string
  lines: string[]
  head: string
}

/** Six app processes at once, each its own chain: five for the stream, one a stranger. */
const fleet: Promise<AppChain[]> = Promise.all([30, 35, 40, 45, 50, 10].map(async (count, app) => {
  const out = join(box.dir, `app-${app}.log`)
  const head = join(box.dir, `app-${app}.head.json`)
  const child = spawn(process.execPath, [STAGE_APP, JSON.stringify({ key: box.keyPath, out, head, app, count })], { cwd: ROOT })
  const { code, output } = await outputOf(child)
  assert.equal(code, 0, output)
  const lines = readFileSync(out, 'utf8').split('\n').filter((l) => l.length > 0)
  assert.equal(lines.length, count + 2)
  return { chainId: JSON.parse(lines[0]).chainId as string, lines, head }
}))

async function chains (n: number): Promise<AppChain[]> {
  return (await fleet).slice(0, n)
}

/** One line from each chain in turn, as a collector polling its inputs. */
function roundRobin (cs: AppChain[]): string[] {
  const out: string[] = []
  for (let i = 0; cs.some((c) => i < c.lines.length); i++) for (const c of cs) if (i < c.lines.length) out.push(c.lines[i])
  return out
}

/** A random merge that keeps each chain's own order (seeded, replayable). */
function randomMerge (cs: AppChain[], seed: number): string[] {
  const rng = mulberry32(seed)
  const next = cs.map(() => 0)
  const out: string[] = []
  for (;;) {
    const open = cs.map((c, i) => i).filter((i) => next[i] < cs[i].lines.length)
    if (open.length === 0) return out
    const i = open[Math.floor(rng() * open.length)]
    out.push(cs[i].lines[next[i]++])
  }
}

/** Where `line` is in the stream, 1-based (as findings count lines). */
function lineOf (stream: string[], line: string): number {
  const i = stream.indexOf(line)
  assert.ok(i >= 0)
  return i + 1
}

let written = 0
function writeStream (lines: string[]): string {
  const path = join(box.dir, `merged-${written++}.log`)
  writeFileSync(path, lines.join('\n') + '\n')
  return path
}

async function verifyStream (lines: string[], options: Partial<VerifyOptions> = {}): Promise<VerifyReport> {
  return await verify([writeStream(lines)], { keys: [box.pubPath], ...options })
}

const kinds = (fs: Array<{ kind: string }>): string[] => fs.map((f) => f.kind)

/** `audit-chain verify - --json [extra]` reading `lines` on standard input. */
async function cliStdin (lines: string[], extra: string[] = []): Promise<{ code: number | null, report: VerifyReport, stderr: string }> {
  const stdin = openSync(writeStream(lines), 'r')
  try {
    const child = spawn(process.execPath, [CLI, 'verify', '-', '--key', box.pubPath, '--json', ...extra], { stdio: [stdin, 'pipe', 'pipe'] })
    const { code, stdout, stderr } = await outputOf(child)
    return { code, report: JSON.parse(stdout), stderr }
  } finally {
    closeSync(stdin)
  }
}

/** Each chain of `cs`, sealed, with all its records, in the report. */
function assertAllChains (r: VerifyReport, cs: AppChain[]): void {
  assert.deepEqual(r.chains.map((c) => c.chainId).sort(), cs.map((c) => c.chainId).sort())
  for (const c of cs) {
    const s = r.chains.find((x) => x.chainId === c.chainId)
    assert.ok(s !== undefined)
    assert.deepEqual([s.firstSeq, s.lastSeq, s.records, s.sealed], [0, c.lines.length - 1, c.lines.length, true])
  }
}

test('three stage chains interleaved line by line verify intact through verify() and the CLI (was 104 problems)', async () => {
  const cs = await chains(3)
  const stream = roundRobin(cs)
  const r = await verifyStream(stream, { requireSeal: true })
  assert.deepEqual(r.problems, [])
  assert.deepEqual(r.warnings, [])
  assert.equal(r.records, stream.length)
  assertAllChains(r, cs)

  const run = await cliStdin(stream, ['--require-seal'])
  assert.equal(run.code, 0, run.stderr + JSON.stringify(run.report.problems))
  assertAllChains(run.report, cs)
})

test('five chains merged at random (several seeds) verify intact, each chain whole and in the order it started', async () => {
  const cs = await chains(5)
  for (const seed of [1, 2, 3, 0xfeed, 0xc0ffee]) {
    const stream = randomMerge(cs, seed)
    const r = await verifyStream(stream, { requireSeal: true })
    assert.deepEqual(kinds(r.problems), [], `seed ${seed}`)
    assert.deepEqual(kinds(r.warnings), [], `seed ${seed}`)
    assertAllChains(r, cs)
    const opens = stream.filter((l) => l.includes('"event":"chain.open"')).map((l) => JSON.parse(l).chainId)
    assert.deepEqual(r.chains.map((c) => c.chainId), opens, `seed ${seed}`)
  }
})

test('records moved within the reorder window are put back in place; moved further, they are a reordered problem naming the chain', async () => {
  const cs = await chains(5)
  // Every line displaced by up to 6 places, as two connections' buffers interleaving.
  const rng = mulberry32(7)
  const stream = randomMerge(cs, 11)
  for (let i = 0; i + 6 < stream.length; i += 3) {
    const j = i + 1 + Math.floor(rng() * 6);
    [stream[i], stream[j]] = [stream[j], stream[i]]
  }
  const local = await verifyStream(stream, { requireSeal: true })
  assert.deepEqual(kinds(local.problems), [])
  assert.deepEqual(kinds(local.warnings), [])
  assertAllChains(local, cs)

  // A pair of one chain's records swapped 60 lines apart: beyond the default window of 32.
  const merged = roundRobin(cs.slice(0, 3))
  const [b5, b25] = [cs[1].lines[5], cs[1].lines[25]]
  const [i5, i25] = [merged.indexOf(b5), merged.indexOf(b25)]
  assert.ok(i25 - i5 > 32)
  merged[i5] = b25
  merged[i25] = b5
  const far = await verifyStream(merged)
  assert.ok(kinds(far.problems).length > 0 && kinds(far.problems).every((k) => k === 'reordered'), JSON.stringify(far.problems))
  for (const p of far.problems) assert.match(p.message, new RegExp(`chain ${cs[1].chainId}`))
  // Seq 6 waited for seq 5 longer than the window: reported where it stands.
  assert.deepEqual([far.problems[0].line, far.problems[0].seq], [merged.indexOf(cs[1].lines[6]) + 1, 6])
  assertAllChains(far, cs.slice(0, 3))
  // The same stream, with a window that covers the distance: intact.
  const wide = await verifyStream(merged, { reorderWindow: 64 })
  assert.deepEqual(kinds(wide.problems), [])
})

test('lines delivered twice are one redelivered warning per run, counted; the stream stays intact and each record counts once', async () => {
  const cs = await chains(3)
  const stream = roundRobin(cs)
  // A collector resends lines 20–24 after line 30 (a retry), and line 50 right after itself.
  const resent = [...stream.slice(0, 30), ...stream.slice(19, 24), ...stream.slice(30, 50), stream[49], ...stream.slice(50)]
  const r = await verifyStream(resent, { requireSeal: true })
  assert.deepEqual(kinds(r.problems), [])
  assert.deepEqual(r.warnings.map((w) => [w.kind, w.line, w.count]), [['redelivered', 31, 5], ['redelivered', 56, 1]])
  assert.match(r.warnings[1].message, /byte for byte.*read at .*:55/)
  assertAllChains(r, cs)
  assert.equal(r.records, resent.length)

  // The same line copied 50 lines later, beyond the window (its chain not sealed yet): a duplicate, a problem.
  const copied = [...stream.slice(0, 60), stream[9], ...stream.slice(60)]
  const far = await verifyStream(copied)
  assert.deepEqual(kinds(far.problems), ['duplicate'])
  assert.equal(far.problems[0].line, 61)
})

test('inside a merged stream each tampering is caught and names its chain', async (t) => {
  const cs = await chains(5)
  const stranger = (await fleet)[5]
  const stream = randomMerge(cs, 5)
  const victim = cs[2]
  const id = victim.chainId
  const at = (seq: number): number => stream.indexOf(victim.lines[seq])
  const edited = (edit: (s: string[]) => void): string[] => { const s = [...stream]; edit(s); return s }

  await t.test('a changed byte: modified, at the victim\'s line', async () => {
    const r = await verifyStream(edited((s) => { s[at(10)] = s[at(10)].replace('"i":9', '"i":7') }))
    assert.deepEqual(r.problems.map((p) => [p.kind, p.line, p.seq]), [['modified', at(10) + 1, 10]])
  })

  await t.test('a deleted line: missing, with the victim\'s chain and seq', async () => {
    const r = await verifyStream(edited((s) => { s.splice(at(10), 1) }))
    assert.deepEqual(kinds(r.problems), ['missing'])
    assert.match(r.problems[0].message, new RegExp(`seq 10 of chain ${id} is not in the stream`))
  })

  await t.test('the chain\'s last line deleted, with its head: head-mismatch naming the chain', async () => {
    const r = await verifyStream(edited((s) => { s.splice(at(victim.lines.length - 1), 1) }), { heads: [victim.head] })
    assert.deepEqual(kinds(r.problems), ['head-mismatch'])
    assert.match(r.problems[0].message, new RegExp(`chain ${id}, but the log ends at seq ${victim.lines.length - 2}`))
  })

  await t.test('a pair swapped beyond the window: reordered, naming the chain', async () => {
    const r = await verifyStream(edited((s) => { const [a, b] = [at(3), at(victim.lines.length - 3)]; assert.ok(b - a > 32);[s[a], s[b]] = [s[b], s[a]] }))
    assert.ok(r.problems.length > 0 && kinds(r.problems).every((k) => k === 'reordered'), JSON.stringify(r.problems))
    for (const p of r.problems) assert.match(p.message, new RegExp(`chain ${id}`))
  })

  await t.test('a line of another log signed with the same key: caught where it was inserted', async () => {
    const r = await verifyStream(edited((s) => { s.splice(at(10), 0, stranger.lines[5]) }))
    assert.deepEqual(r.problems.map((p) => [p.kind, p.line]), [['missing', at(10) + 1]])
    assert.match(r.problems[0].message, /copied in from another log/)
  })

  await t.test('a record copied from elsewhere in the stream, with other bytes: modified', async () => {
    const copy = victim.lines[4].replace('"i":3', '"i":30')
    const r = await verifyStream(edited((s) => { s.splice(at(30), 0, copy) }))
    assert.deepEqual(r.problems.map((p) => [p.kind, p.line, p.seq]), [['modified', at(30) + 1, 4]])
  })

  await t.test('a stream cut short, with --require-seal: each chain whose seal is gone is unsealed', async () => {
    const cut = stream.slice(0, stream.length - 20)
    const sealedIn = new Set(cut.filter((l) => l.includes('"event":"chain.close"')).map((l) => JSON.parse(l).chainId))
    const r = await verifyStream(cut, { requireSeal: true })
    assert.ok(sealedIn.size < cs.length)
    assert.deepEqual(kinds(r.problems), Array(cs.length - sealedIn.size).fill('unsealed'))
    assert.deepEqual(r.chains.filter((c) => !c.sealed).map((c) => c.chainId).sort(), cs.map((c) => c.chainId).filter((c) => !sealedIn.has(c)).sort())
  })
})

async function readBack (lines: string[]): Promise<{ entries: AuditEntry[], report: VerifyReport | undefined }> {
  const reader = readAuditLog([writeStream(lines)], { keys: [box.pubPath], filter: { control: true } })
  const entries: AuditEntry[] = []
  for await (const e of reader) entries.push(e)
  return { entries, report: reader.report }
}

test('readAuditLog (and show) on a merged stream: each chain\'s records in seq order, intact; after a deleted line unlinked, a changed one invalid', async () => {
  const cs = await chains(3)
  const stream = randomMerge(cs, 9)
  const whole = await readBack(stream)
  assert.equal(whole.report?.ok, true)
  for (const c of cs) {
    const mine = whole.entries.filter((e) => e.chainId === c.chainId)
    assert.deepEqual(mine.map((e) => e.seq), c.lines.map((_, i) => i))
    assert.ok(mine.every((e) => e.status === 'intact'))
    assert.deepEqual(mine.map((e) => e.line), c.lines)
  }

  const [b, target] = [cs[1], cs[1].lines[12]]
  const changed = b.lines[20]
  const tampered = stream.filter((l) => l !== target).map((l) => l === changed ? l.replace('"i":19', '"i":91') : l)
  const { entries } = await readBack(tampered)
  const statusOf = (line: string): string | undefined => entries.find((e) => e.line === line)?.status
  for (const l of cs[0].lines) assert.equal(statusOf(l), 'intact')
  for (const l of b.lines.slice(0, 12)) assert.equal(statusOf(l), 'intact')
  assert.equal(entries.find((e) => e.lineNumber === tampered.indexOf(changed.replace('"i":19', '"i":91')) + 1)?.status, 'invalid')
  for (const l of b.lines.slice(13)) if (l !== changed) assert.equal(statusOf(l), 'unlinked')

  // show reads through the same verifier: the deleted line makes it exit 1, and prints only intact records.
  const child = spawn(process.execPath, [CLI, 'show', writeStream(tampered), '--key', box.pubPath, '--format', 'json'])
  const { code, stdout } = await outputOf(child)
  assert.equal(code, 1)
  const shown = stdout.split('\n').filter((l) => l.length > 0)
  assert.equal(shown.length, stream.length - 3 * 2 - (b.lines.length - 13))
})

test('--reorder-window takes a whole number of records; anything else is a usage error naming it', async () => {
  const child = spawn(process.execPath, [CLI, 'verify', '-', '--key', box.pubPath, '--reorder-window', 'many'])
  const { code, stderr } = await outputOf(child)
  assert.equal(code, 2)
  assert.match(stderr, /--reorder-window must be a whole number from 0 to 1000000 \(got "many"\)/)
  await assert.rejects(verify(['-'], { keys: [box.pubPath], reorderWindow: -1 }), { code: 'PAC_BAD_OPTION', message: /reorderWindow must be a whole number/ })
})

test('the text report summarises more than 20 chains (counts, and the chains not sealed); 20 or fewer get a line each', async () => {
  const cs = await chains(3)
  const r = await verifyStream(roundRobin(cs))
  const base = r.chains[0]
  const many: ChainSummary[] = Array.from({ length: 1000 }, (_, i) => ({ ...base, chainId: i.toString(16).padStart(32, '0'), sealed: i % 250 !== 7, unanchored: i % 250 !== 7 ? 0 : 3 }))
  const text = formatReport({ ...r, chains: many })
  const lines = text.trimEnd().split('\n')
  assert.equal(lines[0], `1000 chains, ${1000 * base.records} records: 996 sealed, 4 not sealed:`)
  assert.deepEqual(lines.slice(1, 5).map((l) => l.slice(0, 41)), [7, 257, 507, 757].map((i) => `  chain ${i.toString(16).padStart(32, '0')}:`))
  assert.equal(lines[5], '(each chain is listed with --json)')
  assert.match(lines[6], /^INTACT: /)
  // 20 chains or fewer: one line each, as for verify DIR of 16 per-process chains.
  assert.equal(formatReport({ ...r, chains: many.slice(0, 20) }).split('\n').filter((l) => l.startsWith('chain ')).length, 20)
})
