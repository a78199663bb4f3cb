/**
 * The verifier with epoch keys (FORMAT.md §10): certificates (§10.1), a record's time
 * (§10.2) and the rules (§10.3), against real logs signed with real epoch keys the way
 * the writer of §10.4 signs them. The clean log:
 *
 *   seq 0      chain.open                 key 0, inside epoch 0
 *   seq 1–3    records                    key 0
 *   seq 4      epoch.close 0              key 0, records 4, lastSeq 3, time past epoch 0's end
 *   seq 5–7    records                    key 1 — then the writer stops (crash) in epoch 1
 *   seq 8      chain.resume               key 1, time in epoch 3 (a restart, two epochs later)
 *   seq 9      epoch.close 1              key 1, records 1 (the resume), lastSeq 8
 *   seq 10     epoch.close 2              key 2, records 0, lastSeq null (an epoch nobody wrote in)
 *   seq 11–13  records                    key 3
 *   seq 14     chain.close                key 3
 *
 * Attacks by a thief holding the keys of epoch 3 and later (and the certificates and
 * master public key, which are public), but not the erased keys of epochs 0–2:
 *
 *  (a) rewrite a record of epoch 0, re-sign the rest with key 3 → out-of-window, epoch-order, count-mismatch
 *  (b) cut epoch 0's tail (and its close), continue with key 3 → epoch-order
 *  (c) re-sign epoch 1's records with key 3, times kept        → out-of-window, epoch-order
 *
 * and every finding kind of §10 on its own: out-of-window, epoch-order, count-mismatch,
 * bad-cert (and unknown-key for the keys it no longer vouches for).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { verify, type VerifyOptions, type VerifyReport } from '../src/verify/index.js'
import { generateEpochs, type GeneratedEpochs } from '../src/epoch/generate.js'
import { signingKeyOf } from '../src/epoch/bundle.js'
import { certLine, signCert, type EpochCert } from '../src/format/epoch.js'
import { headText, signHead } from '../src/format/head.js'
import { bodyOf, GENESIS_PREV, parseRecordLine } from '../src/format/record.js'
import { hasCode } from '../src/errors.js'
import type { SigningKey } from '../src/format/keys.js'
import { EpochChainBuilder, signedLine, workspace, writeLines, type TestKey, type Workspace } from './fixtures/write-chain.js'

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))

const T0 = Date.UTC(2025, 11, 1) // 2025-12-01T00:00:00Z, the start of epoch 0
const HOUR = 3_600_000

/** A time `offset` ms into epoch `epoch` (of the first series). */
const at = (epoch: number, offset: number): number => T0 + epoch * HOUR + offset

interface Epochs {
  ws: Workspace
  master: TestKey
  gen: GeneratedEpochs
  /** The signing key of each epoch, as the writer's bundle holds it before erasure. */
  keys: SigningKey[]
  certsPath: string
  log: string
}

function epochKeys (master: SigningKey, start: number, count: number): { gen: GeneratedEpochs, keys: SigningKey[] } {
  const gen = generateEpochs(master, start, HOUR, count)
  const bundle = { path: '(in memory)', series: gen.series, master: master.kid, epochs: gen.keys }
  return { gen, keys: gen.keys.map((k) => signingKeyOf(bundle, k)) }
}

function setup (t: { after: (fn: () => void) => void }): Epochs {
  const ws = workspace()
  t.after(ws.cleanup)
  const master = ws.key('master')
  const { gen, keys } = epochKeys(master.key, T0, 6)
  const certsPath = join(ws.dir, 'epoch-keys.certs')
  writeFileSync(certsPath, gen.certs.map(certLine).join('\n') + '\n')
  return { ws, master, gen, keys, certsPath, log: join(ws.dir, 'audit.log') }
}

/** The clean log of the header, one line per seq. */
function writerLog (e: Epochs): EpochChainBuilder {
  const [k0, k1, k2, k3] = e.keys
  const c = new EpochChainBuilder(k0)
  c.openAt(at(0, 1000))
  for (let i = 1; i <= 3; i++) c.userAt(i, at(0, 2000 + i))
  c.closeEpoch(0, at(1, 10))
  c.use(k1)
  for (let i = 5; i <= 7; i++) c.userAt(i, at(1, 1000 + i))
  c.resumeAt(at(3, 100))
  c.closeEpoch(1, at(3, 200))
  c.use(k2).closeEpoch(2, at(3, 300))
  c.use(k3)
  for (let i = 11; i <= 13; i++) c.userAt(i, at(3, 1000 + i))
  c.sealAt(at(3, 2000))
  return c
}

async function check (e: Epochs, lines: string[], options: Partial<VerifyOptions> = {}): Promise<VerifyReport> {
  writeLines(e.log, lines)
  return await verify([e.log], { masters: [e.master.pubPath], certs: [e.certsPath], threads: 1, ...options })
}

/** The kinds of problem, each once, sorted. */
function kinds (r: VerifyReport): string[] {
  return [...new Set(r.problems.map((p) => p.kind))].sort()
}

/** `kind@seq` of every problem, in report order. */
function found (r: VerifyReport): string[] {
  return r.problems.map((p) => `${p.kind}@${p.seq ?? '-'}`)
}

function assertIntact (r: VerifyReport): void {
  assert.deepEqual(found(r), [])
  assert.equal(r.ok, true)
}

/**
 * The lines from `from` on, re-linked and re-signed with `keyFor(seq)`; `edit` may
 * change a body first. Line i holds seq i in these logs.
 */
function resign (lines: string[], from: number, keyFor: (seq: number) => SigningKey, edit: (body: string, seq: number) => string = (b) => b): string[] {
  const out = lines.slice(0, from)
  let prev = from === 0 ? GENESIS_PREV : memberOf(lines[from - 1]).hash
  for (let seq = from; seq < lines.length; seq++) {
    const bytes = Buffer.from(lines[seq])
    const parsed = parseRecordLine(bytes)
    assert.ok(parsed.ok)
    const { line, hash } = signedLine(keyFor(seq), seq, prev, edit(bodyOf(bytes, parsed).toString('utf8'), seq))
    out.push(line)
    prev = hash
  }
  return out
}

function memberOf (line: string): { hash: string, kid: string } {
  return JSON.parse(line).chain
}

/** The epoch key `line` was signed with. */
function keyOf (e: Epochs, line: string): SigningKey {
  const key = e.keys.find((k) => k.kid === memberOf(line).kid)
  assert.ok(key)
  return key
}

function runCli (args: string[]): { code: number | null, stdout: string, stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** The certificate file with line `epoch` replaced by `line` (or removed). */
function withCertLine (e: Epochs, epoch: number, line: string | undefined): void {
  const lines = e.gen.certs.map(certLine)
  if (line === undefined) lines.splice(epoch, 1)
  else lines[epoch] = line
  writeFileSync(e.certsPath, lines.join('\n') + '\n')
}

// ---- a clean log ---------------------------------------------------------------

test('a writer\'s log over epochs 0–3 (a crash, a restart that closes its epoch, an idle epoch) is intact', async (t) => {
  const e = setup(t)
  const c = writerLog(e)
  // The counts the writer keeps (§5.6): the restart's resume counts for epoch 1; epoch 2 signed nothing.
  const bodies = c.lines.map((l) => JSON.parse(l))
  assert.deepEqual([bodies[4].records, bodies[4].lastSeq], [4, 3])
  assert.deepEqual([bodies[9].records, bodies[9].lastSeq], [1, 8])
  assert.deepEqual([bodies[10].records, bodies[10].lastSeq], [0, null])
  const r = await check(e, c.lines)
  assertIntact(r)
  assert.deepEqual(r.warnings, [])
  assert.equal(r.records, 15)
  assert.deepEqual(r.chains[0].epochs, { series: e.gen.series, first: 0, last: 3, closed: false })
  assert.equal(r.chains[0].sealed, true)
})

test('keys given with --key and epoch keys together: a chain that starts with a plain key and moves to epoch keys is intact', async (t) => {
  const e = setup(t)
  const plain = e.ws.key('plain')
  const c = new EpochChainBuilder(plain.key)
  c.openAt(at(0, 10))
  c.userAt(1, at(0, 20))
  c.use(e.keys[0]).resumeAt(at(0, 30))
  c.userAt(3, at(0, 40))
  c.closeEpoch(0, at(1, 5))
  c.use(e.keys[1]).userAt(5, at(1, 50))
  assertIntact(await check(e, c.lines, { keys: [plain.pubPath] }))
})

test('epoch keys reach the signature threads: a long log gives the same report with threads 1 and 3', async (t) => {
  const e = setup(t)
  const c = new EpochChainBuilder(e.keys[0])
  c.openAt(at(0, 0))
  for (let epoch = 0; epoch < 3; epoch++) {
    c.use(e.keys[epoch])
    for (let i = 0; i < 300; i++) c.userAt(i, at(epoch, 100 + i))
    c.closeEpoch(epoch, at(epoch + 1, 0))
  }
  const one = await check(e, c.lines, { threads: 1 })
  const three = await check(e, c.lines, { threads: 3 })
  assertIntact(three)
  assert.deepEqual({ ...three, durationMs: 0 }, { ...one, durationMs: 0 })
  // And a re-signed record is caught on the threads too.
  const forged = resign(c.lines, 400, () => e.keys[3])
  const r = await check(e, forged, { threads: 3 })
  assert.deepEqual(found(r).slice(0, 2), ['out-of-window@400', 'epoch-order@400'])
})

test('CLI: verify LOG --master PUB --certs FILE exits 0 and shows the chain\'s epochs', (t) => {
  const e = setup(t)
  writeLines(e.log, writerLog(e).lines)
  const r = runCli(['verify', e.log, '--master', e.master.pubPath, '--certs', e.certsPath])
  assert.equal(r.code, 0, r.stdout + r.stderr)
  assert.match(r.stdout, new RegExp(`sealed, .*, epochs 0–3 of series ${e.gen.series.slice(0, 8)}…, epoch 3 open$`, 'm'))
  assert.match(r.stdout, /^INTACT: 15 records in 1 chain \(1 file\), 0 problems, 0 warnings$/m)
  const json = runCli(['verify', e.log, '--master', e.master.pubPath, '--certs', e.certsPath, '--json'])
  assert.equal(json.code, 0)
  assert.deepEqual(Object.keys(JSON.parse(json.stdout).chains[0]).slice(-2), ['unanchored', 'epochs'])
})

// ---- attacks by a thief with the keys of epoch 3 on ----------------------------

test('(a) a record of epoch 0 rewritten and the rest re-signed with key 3: out-of-window, epoch-order, count-mismatch', async (t) => {
  const e = setup(t)
  const clean = writerLog(e).lines
  const forged = resign(clean, 2, () => e.keys[3], (body, seq) => seq === 2 ? body.replace('"user":"ada"', '"user":"eve"') : body)
  assert.notEqual(forged[2], clean[2])
  const r = await check(e, forged)
  assert.deepEqual(kinds(r), ['count-mismatch', 'epoch-order', 'out-of-window'])
  // The first record signed with the thief's key already gives it away.
  assert.deepEqual(found(r).slice(0, 2), ['out-of-window@2', 'epoch-order@2'])
  assert.ok(!found(r).includes('broken-link@2'), 'the chain of hashes itself is consistent: only the epoch rules catch it')
})

test('(b) epoch 0\'s tail and its epoch.close cut off, the chain continued with key 3: epoch-order', async (t) => {
  const e = setup(t)
  const clean = writerLog(e)
  const c = new EpochChainBuilder(e.keys[0], clean.chainId)
  c.openAt(at(0, 1000))
  c.userAt(1, at(0, 2001))
  assert.deepEqual(c.lines, clean.lines.slice(0, 2), 'the thief keeps the writer\'s first two records')
  c.use(e.keys[3])
  for (let i = 2; i <= 5; i++) c.userAt(i, at(3, 500 + i))
  c.sealAt(at(3, 900))
  const r = await check(e, c.lines)
  assert.deepEqual(found(r), ['epoch-order@2'])
  assert.match(r.problems[0].message, /from epoch 0 to epoch 3 of series \S+: epochs 1–2 have no epoch\.close/)
  assert.deepEqual(r.warnings, [])
})

test('(c) epoch 1\'s records re-signed with key 3, times kept: out-of-window on each, epoch-order', async (t) => {
  const e = setup(t)
  const clean = writerLog(e).lines
  const forged = resign(clean, 0, (seq) => seq >= 5 && seq <= 7 ? e.keys[3] : keyOf(e, clean[seq]))
  // Same bodies, same links: only the signatures (and kids) of seqs 5–7 changed.
  assert.deepEqual(forged.map((l) => memberOf(l).hash), clean.map((l) => memberOf(l).hash))
  assert.deepEqual(forged.flatMap((l, i) => l === clean[i] ? [] : [i]), [5, 6, 7])
  const r = await check(e, forged)
  assert.deepEqual(kinds(r), ['epoch-order', 'out-of-window'])
  assert.deepEqual(r.problems.filter((p) => p.kind === 'out-of-window').map((p) => p.seq), [5, 6, 7])
  assert.ok(found(r).includes('epoch-order@5'), 'epoch 1 is skipped (key 3 right after epoch 0)')
})

// ---- the window (§10.3 rule 1) -------------------------------------------------

test('a record whose time lies outside its key\'s window: out-of-window', async (t) => {
  const e = setup(t)
  for (const [label, time] of [['after the window', at(2, 5)], ['before the window', at(0, 5000)]] as const) {
    const c = writerLog(e)
    // Signed by the writer's own key 1: the time is what is wrong.
    const lines = resign(c.lines, 6, (seq) => keyOf(e, c.lines[seq]), (body, seq) => seq === 6 ? body.replace(`"time":${at(1, 1006)}`, `"time":${time}`) : body)
    assert.notEqual(lines[6], c.lines[6])
    const r = await check(e, lines)
    assert.deepEqual(found(r), ['out-of-window@6'], label)
  }
})

test('a record without a numeric time has no window check', async (t) => {
  const e = setup(t)
  const c = new EpochChainBuilder(e.keys[0])
  c.openAt(at(0, 10))
  c.append('{"level":30,"time":"2020-01-01T00:00:00Z","msg":"an ISO time is not interpreted"}')
  c.append('{"level":30,"msg":"no time at all"}')
  assertIntact(await check(e, c.lines))
})

test('an epoch.close whose time is before its epoch ends: out-of-window', async (t) => {
  const e = setup(t)
  const c = new EpochChainBuilder(e.keys[0])
  c.openAt(at(0, 10))
  c.userAt(1, at(0, 20))
  c.closeEpoch(0, at(1, -1))
  c.use(e.keys[1]).userAt(3, at(1, 30))
  assert.deepEqual(found(await check(e, c.lines)), ['out-of-window@2'])
})

// ---- the order (§10.3 rule 2) --------------------------------------------------

/** Epoch 0 opened and closed (seq 0–2), epoch 1 entered (seq 3), then `more`. */
function twoEpochs (e: Epochs, more: (c: EpochChainBuilder) => void): string[] {
  const c = new EpochChainBuilder(e.keys[0])
  c.openAt(at(0, 10))
  c.userAt(1, at(0, 20))
  c.closeEpoch(0, at(1, 5))
  c.use(e.keys[1]).userAt(3, at(1, 30))
  more(c)
  return c.lines
}

test('epoch-order: back to an earlier epoch, an epoch skipped, a record after its epoch\'s close, an epoch left unclosed, back to a plain key', async (t) => {
  const e = setup(t)
  const plain = e.ws.key('plain')
  const cases: Array<[string, (c: EpochChainBuilder) => void, string]> = [
    ['back to epoch 0 (its time inside epoch 0\'s window)', (c) => { c.use(e.keys[0]).userAt(4, at(0, 40)) }, 'epoch-order@4'],
    ['epoch 2 skipped', (c) => { c.closeEpoch(1, at(2, 5)); c.use(e.keys[3]).userAt(5, at(3, 10)) }, 'epoch-order@5'],
    ['a record after epoch 1\'s close', (c) => { c.closeEpoch(1, at(2, 5)); c.append(`{"level":30,"time":${at(1, 500)},"msg":"late"}`) }, 'epoch-order@5'],
    ['epoch 1 left without its close', (c) => { c.use(e.keys[2]).userAt(4, at(2, 10)) }, 'epoch-order@4'],
    ['a plain key after epoch keys', (c) => { c.use(plain.key).userAt(4, at(1, 40)) }, 'epoch-order@4']
  ]
  assertIntact(await check(e, twoEpochs(e, () => {}), { keys: [plain.pubPath] }))
  for (const [label, more, expected] of cases) {
    const r = await check(e, twoEpochs(e, more), { keys: [plain.pubPath] })
    assert.deepEqual(found(r), [expected], label)
  }
})

test('a deleted epoch.close is missing, not also epoch-order; a modified one is modified only', async (t) => {
  const e = setup(t)
  const clean = writerLog(e).lines
  const deleted = clean.filter((_, i) => i !== 4)
  assert.deepEqual(found(await check(e, deleted)), ['missing@4'])
  const modified = [...clean]
  modified[4] = modified[4].replace('"records":4', '"records":9')
  assert.deepEqual(found(await check(e, modified)), ['modified@4'])
})

test('a chain read from past seq 0 (its start deleted) is missing-start only: its first epoch\'s count is not checked against records not there', async (t) => {
  const e = setup(t)
  const r = await check(e, writerLog(e).lines.slice(2))
  assert.deepEqual(found(r), ['missing-start@2'])
})

test('another series: continuing after the first series\' last epoch is intact; one whose window starts earlier is epoch-order', async (t) => {
  const e = setup(t)
  const later = epochKeys(e.master.key, at(2, 0), 2)
  const overlapping = epochKeys(e.master.key, at(0, HOUR / 2), 2)
  writeFileSync(e.certsPath, [...e.gen.certs, ...later.gen.certs, ...overlapping.gen.certs].map(certLine).join('\n') + '\n')
  const log = (next: SigningKey, time: number): string[] => twoEpochs(e, (c) => {
    c.closeEpoch(1, at(2, 0))
    c.use(next).userAt(5, time)
  })
  const intact = await check(e, log(later.keys[0], at(2, 10)))
  assertIntact(intact)
  assert.deepEqual(intact.chains[0].epochs, { series: later.gen.series, first: 0, last: 0, closed: false })
  assert.deepEqual(found(await check(e, log(overlapping.keys[1], at(1, HOUR / 2 + 10)))), ['epoch-order@5'])
})

// ---- epoch.close (§10.3 rule 3) ------------------------------------------------

test('an epoch.close with a wrong records, lastSeq, epoch or kid: count-mismatch', async (t) => {
  const e = setup(t)
  const cases: Array<[string, Parameters<EpochChainBuilder['closeEpoch']>[2], number?]> = [
    ['records one short', { records: 3 }],
    ['lastSeq one back', { lastSeq: 2 }],
    ['lastSeq null with records', { lastSeq: null }],
    ['another epoch named', {}, 1],
    ['another kid named', { kid: e.keys[1].kid }]
  ]
  for (const [label, counts, epoch = 0] of cases) {
    const c = new EpochChainBuilder(e.keys[0])
    c.openAt(at(0, 10))
    for (let i = 1; i <= 3; i++) c.userAt(i, at(0, 20 + i))
    c.closeEpoch(epoch, at(1, 5), counts)
    c.use(e.keys[1]).userAt(5, at(1, 30))
    assert.deepEqual(found(await check(e, c.lines)), ['count-mismatch@4'], label)
  }
  // The idle epoch's close claiming a record it never signed.
  const c = new EpochChainBuilder(e.keys[0])
  c.openAt(at(0, 10))
  c.closeEpoch(0, at(1, 5))
  c.use(e.keys[1]).closeEpoch(1, at(2, 5), { records: 1, lastSeq: 1 })
  assert.deepEqual(found(await check(e, c.lines)), ['count-mismatch@2'])
})

// ---- certificates (§10.1) ------------------------------------------------------

test('a certificate changed in its window, pub or epoch is bad-cert, and its key\'s records are unknown-key', async (t) => {
  const e = setup(t)
  const lines = writerLog(e).lines
  const original = certLine(e.gen.certs[2])
  const other = e.gen.certs[4]
  const changes: Array<[string, string]> = [
    ['window', original.replace(`"notAfter":${e.gen.certs[2].notAfter}`, `"notAfter":${e.gen.certs[2].notAfter + HOUR}`)],
    ['pub', original.replace(e.gen.certs[2].pub, other.pub)],
    ['pub and kid', original.replace(e.gen.certs[2].pub, other.pub).replace(e.gen.certs[2].kid, other.kid)],
    ['epoch', original.replace('"epoch":2', '"epoch":7')]
  ]
  for (const [label, changed] of changes) {
    assert.notEqual(changed, original, label)
    withCertLine(e, 2, changed)
    const r = await check(e, lines)
    // Key 2 signed only the idle epoch's close (seq 10).
    assert.deepEqual(r.problems.map((p) => `${p.kind}@${p.kind === 'bad-cert' ? `line ${p.line ?? '-'}` : p.seq ?? '-'}`), ['bad-cert@line 3', 'unknown-key@10'], label)
    assert.equal(r.problems[0].file, e.certsPath)
  }
})

test('a certificate signed by another master is bad-cert; a deleted certificate line is unknown-key only', async (t) => {
  const e = setup(t)
  const lines = writerLog(e).lines
  const rogue = e.ws.key('rogue-master')
  const { gen } = epochKeys(rogue.key, T0, 6)
  withCertLine(e, 2, certLine(gen.certs[2]))
  const r = await check(e, lines)
  assert.deepEqual(kinds(r), ['bad-cert', 'unknown-key'])
  assert.match(r.problems[0].message, /not one of the master keys given/)
  withCertLine(e, 2, undefined)
  assert.deepEqual(found(await check(e, lines)), ['unknown-key@10'])
})

test('a certificate given twice counts once; two that disagree on a key or an epoch are bad-cert and the first stays', async (t) => {
  const e = setup(t)
  const lines = writerLog(e).lines
  const all = e.gen.certs.map(certLine)
  writeFileSync(e.certsPath, [...all, '', all[1]].join('\n') + '\n')
  assertIntact(await check(e, lines, { certs: [e.certsPath, e.certsPath] }))

  const master = e.master.key
  const c1 = e.gen.certs[1]
  const sameKeyOtherWindow: EpochCert = signCert(master, { series: c1.series, epoch: c1.epoch, kid: c1.kid, pub: c1.pub, notBefore: c1.notBefore - HOUR, notAfter: c1.notAfter })
  const stranger = epochKeys(master, T0, 2).gen.certs[1]
  const sameEpochOtherKey: EpochCert = signCert(master, { series: c1.series, epoch: 1, kid: stranger.kid, pub: stranger.pub, notBefore: c1.notBefore, notAfter: c1.notAfter })
  for (const [label, extra] of [['same key, another window', sameKeyOtherWindow], ['same epoch, another key', sameEpochOtherKey]] as const) {
    writeFileSync(e.certsPath, [...all, certLine(extra)].join('\n') + '\n')
    const r = await check(e, lines)
    assert.deepEqual(r.problems.map((p) => `${p.kind}@${p.line ?? '-'}`), ['bad-cert@7'], label)
    assert.match(r.problems[0].message, /the first one stays/)
  }
})

test('a certificate line that is not a certificate is bad-cert naming why', async (t) => {
  const e = setup(t)
  const all = e.gen.certs.map(certLine)
  writeFileSync(e.certsPath, ['not json', '[1]', JSON.stringify({ ...JSON.parse(all[0]), v: 2 }), ...all].join('\n') + '\n')
  const r = await check(e, writerLog(e).lines)
  assert.deepEqual(r.problems.map((p) => `${p.kind}@${p.line ?? '-'}`), ['bad-cert@1', 'bad-cert@2', 'bad-cert@3'])
  assert.match(r.problems[0].message, /not JSON/)
  assert.match(r.problems[1].message, /not a JSON object/)
  assert.match(r.problems[2].message, /v must be 1/)
})

test('CLI: a tampered or foreign certificate exits 1; a missing certificate file or master key exits 2', (t) => {
  const e = setup(t)
  writeLines(e.log, writerLog(e).lines)
  const args = ['verify', e.log, '--master', e.master.pubPath, '--certs', e.certsPath]
  withCertLine(e, 2, certLine(e.gen.certs[2]).replace('"epoch":2', '"epoch":7'))
  const tampered = runCli(args)
  assert.equal(tampered.code, 1, tampered.stdout + tampered.stderr)
  assert.match(tampered.stdout, /epoch-keys\.certs:3 {2}bad-cert — /)
  assert.match(tampered.stdout, /seq 10 {2}unknown-key — /)
  withCertLine(e, 2, undefined)
  assert.equal(runCli(args).code, 1)

  const cannot: Array<[string[], RegExp]> = [
    [['verify', e.log, '--master', e.master.pubPath, '--certs', join(e.ws.dir, 'no.certs')], /PAC_INPUT: certificate file .*no\.certs cannot be read \(ENOENT\)/],
    [['verify', e.log, '--master', join(e.ws.dir, 'no.pub'), '--certs', e.certsPath], /PAC_KEY_MISSING/],
    [['verify', e.log, '--certs', e.certsPath], /--certs needs --master PUB/],
    [['verify', e.log, '--master', e.master.pubPath], /--master needs --certs FILE/],
    [['verify', e.log], /needs --key PUB.*or, for epoch keys, --master PUB and --certs FILE/]
  ]
  for (const [a, message] of cannot) {
    const r = runCli(a)
    assert.equal(r.code, 2, `${a.join(' ')}: ${r.stderr}`)
    assert.match(r.stderr, message)
    assert.equal(r.stdout, '')
  }
})

test('verify() refuses certificates without master keys, and the reverse (PAC_BAD_OPTION)', async (t) => {
  const e = setup(t)
  writeLines(e.log, writerLog(e).lines)
  const refused = async (options: VerifyOptions, pattern: RegExp): Promise<void> => {
    await assert.rejects(verify([e.log], options), (err: Error) => hasCode(err, 'PAC_BAD_OPTION') && pattern.test(err.message))
  }
  await refused({ certs: [e.certsPath] }, /need the master public key/)
  await refused({ masters: [e.master.pubPath] }, /through their certificate files/)
  await refused({ masters: [e.master.pubPath], certs: [] }, /through their certificate files/)
  await refused({}, /at least one public key/)
})

// ---- heads (§6) ----------------------------------------------------------------

test('a head file signed with an epoch key verifies and anchors the chain; one whose key has no certificate is bad-head', async (t) => {
  const e = setup(t)
  const c = writerLog(e)
  const unsealed = c.lines.slice(0, -1)
  const last = memberOf(unsealed.at(-1) as string)
  const headPath = join(e.ws.dir, 'heads.json')
  writeFileSync(headPath, headText(signHead(e.keys[3], c.chainId, unsealed.length - 1, last.hash, new Date(at(3, 1500)))))
  const r = await check(e, unsealed, { heads: [headPath] })
  assertIntact(r)
  assert.deepEqual(r.warnings, [])
  assert.equal(r.chains[0].unanchored, 0)
  withCertLine(e, 3, undefined)
  const without = await check(e, unsealed, { heads: [headPath] })
  assert.ok(found(without).includes('bad-head@13'), found(without).join(' '))
  assert.equal(readFileSync(headPath, 'utf8').includes(e.keys[3].kid), true)
})

test('CLI: audit-chain head --master --certs prints a head signed with a certified epoch key, and refuses one whose certificate was changed', (t) => {
  const e = setup(t)
  const c = writerLog(e)
  const last = memberOf(c.lines.at(-1) as string)
  const headPath = join(e.ws.dir, 'audit.log.head.json')
  const text = headText(signHead(e.keys[3], c.chainId, c.lines.length - 1, last.hash, new Date(at(3, 2000))))
  writeFileSync(headPath, text)
  const ok = runCli(['head', headPath, '--master', e.master.pubPath, '--certs', e.certsPath])
  assert.equal(ok.code, 0, ok.stderr)
  assert.equal(ok.stdout.trim(), text.trim())
  const cert = JSON.parse(certLine(e.gen.certs[3] as EpochCert)) as Record<string, unknown>
  withCertLine(e, 3, JSON.stringify({ ...cert, notAfter: (cert.notAfter as number) + HOUR }))
  const changed = runCli(['head', headPath, '--master', e.master.pubPath, '--certs', e.certsPath])
  assert.equal(changed.code, 1)
  assert.equal(changed.stdout, '', 'a head that cannot be trusted is not printed')
  assert.match(changed.stderr, /certificate cannot be trusted: the master key's signature does not verify/)
  assert.equal(runCli(['head', headPath, '--master', e.master.pubPath]).code, 2, '--master without --certs is a usage error')
})
