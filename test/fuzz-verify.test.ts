/**
 * Seeded fuzz of the verifier (issue 5, item 5): valid logs built with
 * test/fixtures/write-chain.ts are mutated at random, and for every case
 *
 *   - verify() never throws (a damaged log is a report, never an exception),
 *   - it finishes: each case is raced against CASE_TIMEOUT_MS, and a watchdog thread
 *     kills the process (printing the case) if a case blocks the event loop, which a
 *     timer in this thread could not notice,
 *   - the report is well formed (known kinds, severities, one-line printable messages),
 *   - it never says `ok: true` for a log whose bytes differ from the original.
 *
 * Logs (all signed by one key derived from the seed, so a seed reproduces every byte):
 *   sealed    chain.open, 24 records, a torn line, chain.resume describing it, 18 records,
 *             chain.close, chain.resume, 14 records, chain.close (61 records; its
 *             baseline verdict is intact with one `torn` warning)
 *   unsealed  chain.open, 31 records, no seal (a live log)
 *   donor     another chain by the same key (50 records), never verified itself: the
 *             source of spliced bytes and of foreign lines that verify on their own
 *
 * Targets, picked at random per case:
 *   sealed + its head file (and `requireSeal` at random)
 *   unsealed + its head file (naming its last record, as a shipped head does)
 *   unsealed, no head, default options
 *
 * Mutations (several may be chained in one case): bit flips, byte overwrites, byte
 * insertions (newlines, CR, quotes, braces, NUL, invalid UTF-8 lead bytes, random),
 * byte deletions, truncation at a random offset, dropping whole lines at the end,
 * splicing a byte range (or a run of whole lines) of the donor over a range of the
 * log, swapping, shuffling, duplicating, deleting and moving lines, and replacing or
 * inserting a line of the donor (validly signed by the same key).
 *
 * What is excluded from "never ok for changed bytes", and why (each is counted and
 * printed, and still asserted on):
 *   1. The mutated bytes equal the original (a shuffle that kept the order, a splice
 *      that wrote the same bytes back): nothing changed. Asserted intact, as the
 *      original is.
 *   2. Unsealed log without a head whose mutated bytes are the original cut after a
 *      whole line (records removed from the end only). Nothing in those bytes differs
 *      from a live log read a moment earlier, so no verifier can tell (FORMAT.md §9:
 *      "a live log looks the same"); verify rightly gives only the `unsealed`
 *      warning. We do not weaken the check to that: we assert exactly that warning
 *      (naming the new last seq), then verify the same bytes again with the head file
 *      shipped off the host, as §9 prescribes, and assert a `head-mismatch` problem.
 *      (`requireSeal` is not the answer here: it fails the untouched live log too, so
 *      it would make the assertion say nothing.) The sealed target and the unsealed
 *      target with head must catch every such cut on their own, and do.
 * Nothing else is excluded: any other intact verdict fails the test, prints the seed
 * and case number, and keeps the mutated log in the temp dir for inspection.
 *
 * Environment: FUZZ_SEED (decimal or 0x hex; `random` for a fresh one; default fixed,
 * so CI is deterministic), FUZZ_CASES (default 3000), FUZZ_CASE (run only that case
 * number of the seed, to reproduce a failure).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createPrivateKey, randomInt } from 'node:crypto'
import { appendFileSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { verify, type FindingKind, type VerifyReport, type VerifyOptions } from '../src/verify/index.js'
import { signingKeyFromPem, verifyBytes, verifyKeyFromPublicKey, type SigningKey, type VerifyKey } from '../src/format/keys.js'
import { chainOpenBody, chainResumeBody, type TornLine } from '../src/format/control.js'
import { readChainTail } from '../src/transport/tail.js'
import { ChainBuilder, tornOf, workspace, writeChain, writeLines, type Workspace } from './fixtures/write-chain.js'
import { mulberry32 } from './helpers.js'

// ---------------------------------------------------------------- seed and PRNG

class Rng {
  private readonly next: () => number
  constructor (seed: number) { this.next = mulberry32(seed) }
  /** Integer in [lo, hi] (both inclusive). */
  int (lo: number, hi: number): number { return lo + Math.floor(this.next() * (hi - lo + 1)) }
  bool (p = 0.5): boolean { return this.next() < p }
  pick<T> (items: readonly T[]): T { return items[this.int(0, items.length - 1)] }
  bytes (n: number): Buffer { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) b[i] = this.int(0, 255); return b }

  /**
   * An offset in `bytes` (which must not be empty): half the time anywhere, half the
   * time within 8 bytes before a line end (a signature's last characters, the closing
   * braces, the `\n` itself, the end of the file), where a uniform pick rarely lands.
   */
  offset (bytes: Buffer): number {
    if (this.bool()) return this.int(0, bytes.length - 1)
    const ends: number[] = []
    for (let i = bytes.indexOf(0x0a); i >= 0; i = bytes.indexOf(0x0a, i + 1)) ends.push(i)
    const end = ends.length === 0 || this.bool(0.1) ? bytes.length - 1 : this.pick(ends)
    return Math.max(0, end - this.int(0, 8))
  }
}

function envInt (name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  if (name === 'FUZZ_SEED' && raw === 'random') return randomInt(0, 2 ** 32)
  const n = Number(raw)
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name} must be a non-negative integer (got ${raw})`)
  return n
}

const SEED = envInt('FUZZ_SEED', 0x5eed2025) >>> 0
const CASES = envInt('FUZZ_CASES', 3000)
const ONLY_CASE = process.env.FUZZ_CASE === undefined ? undefined : envInt('FUZZ_CASE', 0)
// Normal cases take ~10 ms; this only catches a verifier that stalls.
const CASE_TIMEOUT_MS = 10_000
// A case that blocks the event loop this long is a hang: the watchdog thread kills us.
const WATCHDOG_MS = 30_000

/** Each case has its own PRNG, so FUZZ_CASE=n reproduces case n without running 0…n-1. */
function caseRng (index: number): Rng {
  return new Rng((SEED ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0)
}

const hex = (n: number): string => `0x${n.toString(16)}`
const reproduce = (index: number): string => `FUZZ_SEED=${hex(SEED)} FUZZ_CASE=${index} node --import tsx --test test/fuzz-verify.test.ts`

// ---------------------------------------------------------------- the logs

/** An Ed25519 key from a 32-byte seed (PKCS#8 DER prefix of RFC 8410 §7 + seed). */
function keyFromSeed (seed: Buffer): SigningKey {
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed])
  const pem = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' })
  return signingKeyFromPem(pem, 'fuzz key')
}

/** The writer's control bodies carry this process's pid and host: pin them so a seed gives the same bytes everywhere. */
function steady (body: string): string {
  return body.replace(/"pid":\d+,"hostname":"[^"]*"/, '"pid":4242,"hostname":"fuzz-host"')
}

/** ChainBuilder with pinned control bodies (the fixture's own use the live pid and hostname). */
class SteadyChain extends ChainBuilder {
  override open (torn: TornLine | null = null): string {
    this.written = 0
    return this.append(steady(chainOpenBody(this.chainId, this.key.kid, torn, 1764100800000)))
  }

  override resume (torn: TornLine | null = null): string {
    this.written = 0
    return this.append(steady(chainResumeBody(this.chainId, this.key.kid, { seq: this.seq, hash: this.hash }, torn, 1764100900000)))
  }
}

interface Target {
  name: 'sealed+head' | 'unsealed+head' | 'unsealed'
  bytes: Buffer
  headPath: string | undefined
  /** Head file of this log, for the documented re-check of exclusion 2. */
  ownHead: string
}

interface Corpus {
  ws: Workspace
  key: VerifyKey
  targets: Target[]
  donor: Buffer
  donorLines: Buffer[]
}

function buildCorpus (): Corpus {
  const rng = new Rng(SEED)
  const ws = workspace()
  const signing = keyFromSeed(rng.bytes(32))
  const chainId = (): string => rng.bytes(16).toString('hex')

  const sealed = new SteadyChain(signing, chainId())
  sealed.open()
  for (let i = 0; i < 24; i++) sealed.user(i)
  let text = sealed.lines.join('\n') + '\n'
  const tornText = '{"level":30,"time":1764100800024,"pid":4242,"hostname":"sandbox-1","event":"code_exec'
  const torn = tornOf(tornText, Buffer.byteLength(text))
  text += tornText + '\n'
  const mark = sealed.lines.length
  sealed.resume(torn)
  for (let i = 24; i < 42; i++) sealed.user(i)
  sealed.close()
  sealed.resume()
  for (let i = 42; i < 56; i++) sealed.user(i)
  sealed.close()
  text += sealed.lines.slice(mark).join('\n') + '\n'
  const sealedHead = join(ws.dir, 'sealed.head.json')
  writeFileSync(sealedHead, sealed.headText())

  const live = new SteadyChain(signing, chainId())
  live.open()
  for (let i = 0; i < 31; i++) live.user(i)
  const liveBytes = Buffer.from(live.lines.join('\n') + '\n')
  const liveHead = join(ws.dir, 'unsealed.head.json')
  writeFileSync(liveHead, live.headText())

  const donor = new SteadyChain(signing, chainId())
  donor.open()
  for (let i = 0; i < 48; i++) donor.user(1000 + i)
  donor.close()
  const donorBytes = Buffer.from(donor.lines.join('\n') + '\n')

  return {
    ws,
    key: verifyKeyFromPublicKey(signing.publicKey, 'fuzz key'),
    targets: [
      { name: 'sealed+head', bytes: Buffer.from(text), headPath: sealedHead, ownHead: sealedHead },
      { name: 'unsealed+head', bytes: liveBytes, headPath: liveHead, ownHead: liveHead },
      { name: 'unsealed', bytes: liveBytes, headPath: undefined, ownHead: liveHead }
    ],
    donor: donorBytes,
    donorLines: splitLines(donorBytes)
  }
}

// ---------------------------------------------------------------- mutations

/** Lines without their `\n`; the logs built here always end with one. */
function splitLines (bytes: Buffer): Buffer[] {
  const lines: Buffer[] = []
  let start = 0
  for (;;) {
    const end = bytes.indexOf(0x0a, start)
    if (end < 0) break
    lines.push(bytes.subarray(start, end))
    start = end + 1
  }
  if (start < bytes.length) lines.push(bytes.subarray(start))
  return lines
}

function joinLines (lines: Buffer[]): Buffer {
  return Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]))
}

/** Bytes worth inserting: line and JSON structure, CR, NUL, invalid UTF-8 lead/continuation bytes. */
const INTERESTING = [0x0a, 0x0d, 0x20, 0x7b, 0x7d, 0x22, 0x2c, 0x3a, 0x5c, 0x30, 0x39, 0x00, 0xff, 0xc3, 0x80, 0xe2]

type Mutation = (rng: Rng, bytes: Buffer, corpus: Corpus) => Buffer

/** Each line mutation needs at least two lines to work on; with fewer it changes nothing (exclusion 1). */
const MUTATIONS: Record<string, Mutation> = {
  'bit-flip' (rng, bytes) {
    if (bytes.length === 0) return bytes
    const out = Buffer.from(bytes)
    for (let n = rng.bool(0.7) ? 1 : rng.int(2, 8); n > 0; n--) out[rng.offset(out)] ^= 1 << rng.int(0, 7)
    return out
  },
  'byte-set' (rng, bytes) {
    if (bytes.length === 0) return bytes
    const out = Buffer.from(bytes)
    out[rng.offset(out)] = rng.bool() ? rng.pick(INTERESTING) : rng.int(0, 255)
    return out
  },
  'byte-insert' (rng, bytes) {
    const at = bytes.length === 0 || rng.bool(0.05) ? bytes.length : rng.offset(bytes)
    const n = rng.int(1, 4)
    const ins = Buffer.alloc(n)
    for (let i = 0; i < n; i++) ins[i] = rng.bool(0.7) ? rng.pick(INTERESTING) : rng.int(0, 255)
    return Buffer.concat([bytes.subarray(0, at), ins, bytes.subarray(at)])
  },
  'byte-delete' (rng, bytes) {
    if (bytes.length === 0) return bytes
    const at = rng.offset(bytes)
    const n = rng.bool(0.6) ? 1 : rng.int(2, 64)
    return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + n)])
  },
  truncate (rng, bytes) {
    // Near the end more often (down to the final newline alone): there a cut is hardest to see.
    if (bytes.length === 0) return bytes
    const at = rng.bool(0.5) ? rng.int(Math.max(0, bytes.length - 600), bytes.length - 1) : rng.offset(bytes)
    return bytes.subarray(0, at)
  },
  'drop-tail-lines' (rng, bytes) {
    const lines = splitLines(bytes)
    return joinLines(lines.slice(0, Math.max(0, lines.length - rng.int(1, 5))))
  },
  splice (rng, bytes, corpus) {
    // A byte range of the donor written over a byte range of the log (lengths may differ).
    const at = rng.int(0, bytes.length)
    const cut = rng.int(0, Math.min(600, bytes.length - at))
    const from = rng.int(0, corpus.donor.length - 1)
    const piece = corpus.donor.subarray(from, from + rng.int(1, 600))
    return Buffer.concat([bytes.subarray(0, at), piece, bytes.subarray(at + cut)])
  },
  'splice-lines' (rng, bytes, corpus) {
    // Whole donor lines over whole lines of the log, often at the same positions (same seqs).
    const lines = splitLines(bytes)
    const at = rng.int(0, lines.length)
    const n = rng.int(0, Math.min(6, lines.length - at))
    const from = rng.bool() ? Math.min(at, corpus.donorLines.length - 1) : rng.int(0, corpus.donorLines.length - 1)
    const piece = corpus.donorLines.slice(from, from + rng.int(1, 6))
    return joinLines([...lines.slice(0, at), ...piece, ...lines.slice(at + n)])
  },
  'line-swap' (rng, bytes) {
    const lines = splitLines(bytes)
    if (lines.length < 2) return bytes
    const i = rng.int(0, lines.length - 1)
    const j = rng.bool(0.5) ? Math.min(lines.length - 1, i + 1) : rng.int(0, lines.length - 1)
    ;[lines[i], lines[j]] = [lines[j], lines[i]]
    return joinLines(lines)
  },
  'line-shuffle' (rng, bytes) {
    const lines = splitLines(bytes)
    if (lines.length < 2) return bytes
    const start = rng.int(0, lines.length - 2)
    const end = Math.min(lines.length, start + rng.int(2, 10))
    for (let i = end - 1; i > start; i--) {
      const j = rng.int(start, i)
      ;[lines[i], lines[j]] = [lines[j], lines[i]]
    }
    return joinLines(lines)
  },
  'line-dup' (rng, bytes) {
    const lines = splitLines(bytes)
    if (lines.length === 0) return bytes
    const i = rng.int(0, lines.length - 1)
    const to = rng.bool(0.5) ? i + 1 : rng.int(0, lines.length)
    lines.splice(to, 0, lines[i])
    return joinLines(lines)
  },
  'line-delete' (rng, bytes) {
    const lines = splitLines(bytes)
    if (lines.length === 0) return bytes
    const at = rng.int(0, lines.length - 1)
    lines.splice(at, rng.bool(0.6) ? 1 : rng.int(2, 4))
    return joinLines(lines)
  },
  'line-move' (rng, bytes) {
    const lines = splitLines(bytes)
    if (lines.length < 2) return bytes
    const [moved] = lines.splice(rng.int(0, lines.length - 1), 1)
    lines.splice(rng.int(0, lines.length), 0, moved)
    return joinLines(lines)
  },
  'line-foreign' (rng, bytes, corpus) {
    // A line of another chain signed by the same key: it verifies on its own (§4).
    const lines = splitLines(bytes)
    if (lines.length === 0) return bytes
    const i = rng.int(0, lines.length - 1)
    const same = Math.min(i, corpus.donorLines.length - 1)
    const foreign = rng.bool(0.6) ? corpus.donorLines[same] : rng.pick(corpus.donorLines)
    if (rng.bool(0.7)) lines[i] = foreign
    else lines.splice(i, 0, foreign)
    return joinLines(lines)
  }
}
const MUTATION_NAMES = Object.keys(MUTATIONS)

function mutate (rng: Rng, original: Buffer, corpus: Corpus): { bytes: Buffer, names: string[] } {
  const names: string[] = []
  let bytes = original
  const steps = rng.bool(0.75) ? 1 : rng.int(2, 3)
  for (let s = 0; s < steps; s++) {
    const name = rng.pick(MUTATION_NAMES)
    names.push(name)
    bytes = MUTATIONS[name](rng, bytes, corpus)
  }
  return { bytes, names }
}

// ---------------------------------------------------------------- checks

const KINDS: ReadonlySet<FindingKind> = new Set<FindingKind>([
  'malformed', 'torn', 'modified', 'unknown-key', 'bad-signature', 'broken-link', 'missing', 'reordered',
  'duplicate', 'inserted', 'missing-start', 'after-seal', 'count-mismatch', 'empty', 'head-mismatch',
  'bad-head', 'unsealed', 'line-too-long'
])
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f]/

/** The report's own invariants, whatever the input. */
function assertWellFormed (r: VerifyReport, where: string): void {
  assert.equal(r.ok, r.problems.length === 0, `${where}: ok must mean "no problems"`)
  for (const [list, severity] of [[r.problems, 'problem'], [r.warnings, 'warning']] as const) {
    for (const f of list) {
      assert.ok(KINDS.has(f.kind), `${where}: unknown finding kind ${f.kind}`)
      assert.equal(f.severity, severity, `${where}: ${f.kind} filed under the wrong severity`)
      assert.ok(typeof f.message === 'string' && f.message.length > 0, `${where}: ${f.kind} without a message`)
      assert.ok(!UNPRINTABLE.test(f.message), `${where}: ${f.kind} message holds a control character: ${JSON.stringify(f.message)}`)
    }
  }
}

/** `verify`, failing (not hanging) when it does not settle in time. */
async function bounded (run: Promise<VerifyReport>, where: string): Promise<VerifyReport> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${where}: verify did not finish within ${CASE_TIMEOUT_MS} ms`)), CASE_TIMEOUT_MS)
  })
  try {
    return await Promise.race([run, late])
  } finally {
    clearTimeout(timer)
  }
}

/** True when `cut` is `full` with whole lines removed from its end (exclusion 2). */
function isWholeLinePrefix (cut: Buffer, full: Buffer): boolean {
  return cut.length < full.length && full.subarray(0, cut.length).equals(cut) && (cut.length === 0 || cut[cut.length - 1] === 0x0a)
}

/**
 * A thread that kills the process if the main thread stops reporting progress: a
 * verifier stuck in a synchronous loop never lets the Promise.race timer fire.
 */
function startWatchdog (): { beat: (index: number) => void, stop: () => void } {
  const shared = new Int32Array(new SharedArrayBuffer(8))
  const worker = new Worker(`
    const { workerData } = require('node:worker_threads')
    const { writeSync } = require('node:fs')
    const shared = new Int32Array(workerData.buffer)
    let seen = -1
    let since = Date.now()
    while (Atomics.load(shared, 1) === 0) {
      Atomics.wait(shared, 1, 0, 1000)
      const now = Atomics.load(shared, 0)
      if (now !== seen) { seen = now; since = Date.now(); continue }
      if (Date.now() - since > workerData.limit) {
        writeSync(2, 'fuzz-verify: case ' + now + ' has blocked for ' + workerData.limit + ' ms: the verifier hangs; reproduce with ' + workerData.hint.replace('@', now) + '\\n')
        process.kill(process.pid, 'SIGKILL')
      }
    }
  `, { eval: true, workerData: { buffer: shared.buffer, limit: WATCHDOG_MS, hint: `FUZZ_SEED=${hex(SEED)} FUZZ_CASE=@` } })
  worker.unref()
  return {
    beat: (index) => { Atomics.store(shared, 0, index) },
    stop: () => { Atomics.store(shared, 1, 1); Atomics.notify(shared, 1) }
  }
}

// ---------------------------------------------------------------- tests

test('fuzz corpus: every log verifies as built (the baseline the mutations are judged against)', async (t) => {
  const corpus = buildCorpus()
  t.after(corpus.ws.cleanup)
  const path = join(corpus.ws.dir, 'baseline.log')
  for (const target of corpus.targets) {
    writeFileSync(path, target.bytes)
    const r = await verify([path], { keys: [corpus.key], heads: target.headPath === undefined ? [] : [target.headPath] })
    assert.deepEqual(r.problems, [], target.name)
    assert.deepEqual(r.warnings.map((w) => w.kind), target.name === 'sealed+head' ? ['torn'] : target.name === 'unsealed' ? ['unsealed'] : [], target.name)
  }
  writeFileSync(path, corpus.donor)
  assert.equal((await verify([path], { keys: [corpus.key] })).ok, true, 'donor')
})

test(`fuzz: mutated logs are never intact, and verify never throws or hangs (seed ${hex(SEED)}, ${ONLY_CASE === undefined ? CASES : 1} cases)`, { timeout: 300_000 }, async (t) => {
  const started = performance.now()
  t.diagnostic(`fuzz-verify seed ${hex(SEED)} (override with FUZZ_SEED=<n>|random), ${CASES} cases (FUZZ_CASES), reproduce one with FUZZ_CASE=<n>`)
  const corpus = buildCorpus()
  const path = join(corpus.ws.dir, 'case.log')
  let keep = false
  t.after(() => { if (!keep) corpus.ws.cleanup() })
  const watchdog = startWatchdog()
  t.after(watchdog.stop)

  const byMutation = new Map<string, number>()
  const byTarget = new Map<string, number>()
  const kindsSeen = new Map<string, number>()
  const excluded = { identical: 0, tailCutUnsealed: 0 }
  let slowest = 0
  const first = ONLY_CASE ?? 0
  const last = ONLY_CASE ?? CASES - 1

  for (let index = first; index <= last; index++) {
    watchdog.beat(index)
    const rng = caseRng(index)
    const target = rng.pick(corpus.targets)
    const requireSeal = target.name === 'sealed+head' && rng.bool()
    const { bytes, names } = mutate(rng, target.bytes, corpus)
    const where = `case ${index} [${target.name}${requireSeal ? ', requireSeal' : ''}: ${names.join(' + ')}] (reproduce: ${reproduce(index)})`
    for (const n of names) byMutation.set(n, (byMutation.get(n) ?? 0) + 1)
    byTarget.set(target.name, (byTarget.get(target.name) ?? 0) + 1)

    writeFileSync(path, bytes)
    const options: VerifyOptions = { keys: [corpus.key], heads: target.headPath === undefined ? [] : [target.headPath], requireSeal }
    const caseStart = performance.now()
    let report: VerifyReport
    try {
      report = await bounded(verify([path], options), where)
    } catch (err) {
      keep = true
      copyFileSync(path, join(corpus.ws.dir, `failed-case-${index}.log`))
      assert.fail(`${where}: verify threw instead of reporting: ${(err as Error).stack ?? String(err)}`)
    }
    slowest = Math.max(slowest, performance.now() - caseStart)
    assertWellFormed(report, where)
    for (const f of [...report.problems, ...report.warnings]) kindsSeen.set(f.kind, (kindsSeen.get(f.kind) ?? 0) + 1)

    if (bytes.equals(target.bytes)) {
      // Exclusion 1: nothing changed, so the verdict must be the original's.
      excluded.identical++
      assert.equal(report.ok, true, `${where}: the unchanged log is no longer intact`)
      continue
    }
    if (!report.ok) continue
    if (target.name === 'unsealed' && isWholeLinePrefix(bytes, target.bytes)) {
      // Exclusion 2: records cut from the end of a live log, no head given.
      excluded.tailCutUnsealed++
      const lastSeq = splitLines(bytes).length - 1
      assert.deepEqual(report.warnings.map((w) => [w.kind, w.seq]), [['unsealed', lastSeq]], where)
      const withHead = await bounded(verify([path], { ...options, heads: [target.ownHead] }), where)
      assert.equal(withHead.ok, false, `${where}: with its head file, a log cut short must not be intact`)
      assert.ok(withHead.problems.some((p) => p.kind === 'head-mismatch'), `${where}: expected head-mismatch, got ${withHead.problems.map((p) => p.kind).join(', ')}`)
      continue
    }
    keep = true
    const saved = join(corpus.ws.dir, `failed-case-${index}.log`)
    copyFileSync(path, saved)
    assert.fail(`${where}: verify reported INTACT for a log whose bytes differ from the original (mutated log kept at ${saved}; warnings: ${JSON.stringify(report.warnings)})`)
  }

  const seconds = ((performance.now() - started) / 1000).toFixed(1)
  const list = (m: Map<string, number>): string => [...m].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')
  t.diagnostic(`${last - first + 1} cases in ${seconds} s (slowest case ${slowest.toFixed(0)} ms); seed ${hex(SEED)}`)
  t.diagnostic(`targets: ${list(byTarget)}`)
  t.diagnostic(`mutations: ${list(byMutation)}`)
  t.diagnostic(`excluded as unobservable: ${excluded.identical} identical bytes (asserted intact), ${excluded.tailCutUnsealed} whole-line tail cuts of the headless live log (asserted unsealed warning, then head-mismatch with its head)`)
  t.diagnostic(`findings seen: ${list(kindsSeen)}`)
})

// ---------------------------------------------------------------- what the fuzz found
// Each of these made verify() call a changed log intact (or print raw control bytes)
// before the fix in src/verify/ named in the test; kept as plain tests so they run
// whatever the seed.

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** The same signature spelled with another last character (its ignored low 4 bits set). */
function respell (sig: string): string {
  return sig.slice(0, -1) + B64URL[B64URL.indexOf(sig.at(-1) as string) + 1]
}

test('found by the fuzz: a signature re-spelled in its last character is a bad signature (record-check.ts isCanonicalSig)', async (t) => {
  const ws = workspace()
  t.after(ws.cleanup)
  const k = ws.key()
  const w = writeChain(ws.dir, k.key, { records: 5 })
  const lines = [...w.lines]
  const sig = /"sig":"([A-Za-z0-9_-]{86})"/.exec(lines[3])?.[1] as string
  lines[3] = lines[3].replace(sig, respell(sig))
  // The bytes decode to the same 64-byte signature, so it still verifies cryptographically...
  assert.ok(verifyBytes(verifyKeyFromPublicKey(k.key.publicKey, 'k'), Buffer.from(/"hash":"([0-9a-f]{64})"/.exec(lines[3])?.[1] as string, 'hex'), respell(sig)))
  writeLines(w.path, lines)
  // ...but the line is not the one written.
  const r = await verify([w.path], { keys: [k.pubPath] })
  assert.deepEqual(r.problems.map((p) => `${p.kind}@${p.line ?? '-'}`), ['bad-signature@4'])
  assert.match(r.problems[0].message, /base64url form/)
  // The same holds for a head file's signature.
  writeLines(w.path, w.lines)
  const head = JSON.parse(readFileSync(w.headPath, 'utf8')) as { sig: string }
  writeFileSync(w.headPath, JSON.stringify({ ...head, sig: respell(head.sig) }))
  const h = await verify([ws.dir], { keys: [k.pubPath] })
  assert.deepEqual(h.problems.map((p) => p.kind), ['bad-head'])
})

test('found by the fuzz: a log whose final newline was cut off is not intact (read-group.ts: an unterminated last line is torn)', async (t) => {
  const ws = workspace()
  t.after(ws.cleanup)
  const k = ws.key()
  const w = writeChain(ws.dir, k.key, { records: 3, seal: false, head: false })
  writeLines(w.path, w.lines, false)
  const r = await verify([w.path], { keys: [k.pubPath] })
  assert.deepEqual(r.problems.map((p) => `${p.kind}@${p.line ?? '-'}`), ['malformed@4'])
  assert.match(r.problems[0].message, /last line is incomplete \(no newline\).*although its bytes are one \(seq 3\)/)
  // A restarting writer, though, sees a complete record whose newline was cut: it
  // continues after it (seq 3), ending the line first, and sets nothing aside.
  const tail = readChainTail(w.path, new Map([[k.key.kid, k.key.publicKey]]))
  assert.equal(tail.kind, 'existing')
  assert.deepEqual(tail.kind === 'existing' && [tail.last.seq, tail.torn, tail.needsNewline], [3, null, true])
})

test('after a crash that cut only the final newline, the restarted log verifies', async (t) => {
  const ws = workspace()
  t.after(ws.cleanup)
  const k = ws.key()
  const chain = new ChainBuilder(k.key)
  chain.open()
  chain.user(0)
  const path = join(ws.dir, 'audit.log')
  writeLines(path, chain.lines, false)
  // What the writer does on restart (src/transport/worker.ts): end the line, then chain.resume after it.
  const tail = readChainTail(path, new Map([[k.key.kid, k.key.publicKey]]))
  assert.ok(tail.kind === 'existing' && tail.torn === null && tail.needsNewline && tail.last.seq === 1)
  const resumed = new ChainBuilder(k.key, chain.chainId)
  Object.assign(resumed, { seq: tail.last.seq, hash: tail.last.hash })
  resumed.resume(null)
  resumed.close()
  appendFileSync(path, '\n' + resumed.lines.join('\n') + '\n')
  const r = await verify([path], { keys: [k.pubPath] })
  assert.deepEqual([r.problems.map((p) => p.kind), r.warnings.map((w) => w.kind)], [[], []])
})

test('found by the fuzz: deleting a torn line that a chain.resume describes is missing (read-group.ts)', async (t) => {
  const ws = workspace()
  t.after(ws.cleanup)
  const k = ws.key()
  const chain = new ChainBuilder(k.key)
  chain.open()
  chain.user(0)
  let text = chain.lines.join('\n') + '\n'
  const torn = '{"level":30,"time":17641008'
  const described = tornOf(torn, Buffer.byteLength(text))
  const mark = chain.lines.length
  chain.resume(described)
  chain.user(1)
  chain.close()
  const path = join(ws.dir, 'audit.log')
  const rest = chain.lines.slice(mark).join('\n') + '\n'
  writeFileSync(path, text + torn + '\n' + rest)
  const intact = await verify([path], { keys: [k.pubPath] })
  assert.deepEqual([intact.ok, intact.warnings.map((w) => w.kind)], [true, ['torn']])
  text += rest // the torn line and its newline removed
  writeFileSync(path, text)
  const r = await verify([path], { keys: [k.pubPath] })
  assert.deepEqual(r.problems.map((p) => `${p.kind}@${p.line ?? '-'}`), ['missing@3'])
  assert.match(r.problems[0].message, /torn line of 27 bytes .* there is no such line: it was removed/)
  assert.deepEqual(r.warnings, [])
})

test('found by the fuzz: bytes of the log quoted in a message cannot reach the terminal raw (index.ts printable)', async (t) => {
  const ws = workspace()
  t.after(ws.cleanup)
  const k = ws.key()
  const w = writeChain(ws.dir, k.key, { records: 2 })
  // ESC [2J clears the screen; ESC [1A ESC [2K would rub out the verdict line.
  writeLines(w.path, [...w.lines.slice(0, 2), '\u001b[2J\u001b[1A\u001b[2KINTACT', ...w.lines.slice(2)])
  const r = await verify([w.path], { keys: [k.pubPath] })
  assert.deepEqual(r.problems.map((p) => p.kind), ['malformed'])
  assert.ok(!r.problems[0].message.includes('\u001b'), r.problems[0].message)
  assert.match(r.problems[0].message, /\\u001b\[2J/)
})
