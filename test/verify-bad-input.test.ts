/**
 * The verifier against input no writer produces (issue 5, item 5) and against logs
 * that bring their own keys (issue 5, item 6, verifier half). Bad input runs through
 * the compiled CLI (dist/cli/main.js, built by `npm run build` before the tests), so
 * exit codes, crashes and memory are those a user sees:
 *
 *  - random bytes                              → malformed lines + empty, exit 1
 *  - a file of NULs (no newline)               → malformed (torn last line) + empty, exit 1
 *  - a 100 MB line, inside a log and alone     → line-too-long (+ empty), exit 1, peak RSS < 200 MB
 *  - invalid UTF-8 inside valid records        → malformed + missing, exit 1
 *  - a CRLF-converted log                      → modified on every record, saying CRLF, exit 1
 *  - an empty file                             → empty, exit 1
 *  - a file of newlines only                   → malformed ("the line is empty") each + empty, exit 1
 *
 * Keys: an attacker's complete, consistent chain that embeds its public key (PEM) in
 * its records, with a head file of its own, is unknown-key / bad-head under the real
 * key: nothing in a log is a key to the verifier. A keyring of two keys (a rotation)
 * verifies records by either.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { verify, type VerifyReport } from '../src/verify/index.js'
import { generateKeyPairPem, signingKeyFromPem, type SigningKey } from '../src/format/keys.js'
import { ChainBuilder, workspace, writeChain, writeLines, type Workspace } from './fixtures/write-chain.js'

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))
// Loaded before the CLI: reports the process's peak resident set size (KiB on Linux) as it exits.
const PEAK_RSS = 'data:text/javascript,' + encodeURIComponent("process.on('exit', () => { process.stderr.write('peak-rss-kib=' + process.resourceUsage().maxRSS + '\\n') })")
// 230 MB: the verifier holds at most one line of up to its 64 MiB limit plus 1 MiB reads;
// the rest is Node itself (~45 MB for `audit-chain help`). Reading in the CLI's command
// thread (src/cli/off-thread.ts) the peak with a 100 MB line is ~200 MB, ~50 MB above the
// main thread's (stdin), and the same with a 256 MB line: bounded, not growing with it.
const RSS_LIMIT_BYTES = 230 * 1000 * 1000

interface CliRun { code: number | null, report: VerifyReport, stderr: string, peakRssBytes: number }

/** `audit-chain verify PATHS --key PUB --json` in a child process. */
function cliVerify (paths: string[], keys: string[]): CliRun {
  const r = spawnSync(process.execPath, ['--import', PEAK_RSS, CLI, 'verify', ...paths, ...keys.flatMap((k) => ['--key', k]), '--json'], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024
  })
  // The preload runs in every thread (the CLI reads in a worker thread, src/cli/off-thread.ts):
  // the process's own line comes last, as its 'exit' is the last; each counts all threads.
  const rss = [...r.stderr.matchAll(/^peak-rss-kib=(\d+)$/gm)].at(-1)
  assert.ok(rss !== undefined, `no peak RSS line; the CLI said: ${r.stderr}`)
  const stderr = r.stderr.replace(/^peak-rss-kib=\d+\n/gm, '')
  assert.equal(stderr, '', 'the CLI wrote to stderr (a crash or an internal error)')
  return { code: r.status, report: JSON.parse(r.stdout) as VerifyReport, stderr, peakRssBytes: Number(rss[1]) * 1024 }
}

function setup (t: { after: (fn: () => void) => void }): { ws: Workspace, key: SigningKey, pub: string } {
  const ws = workspace()
  t.after(ws.cleanup)
  const k = ws.key()
  return { ws, key: k.key, pub: k.pubPath }
}

/** Each finding's kind, with `×N` for a group of N consecutive lines reported as one. */
function kinds (findings: Array<{ kind: string, count: number }>): string[] {
  return findings.map((f) => f.count === 1 ? f.kind : `${f.kind}×${f.count}`)
}

/** `kind@seq`, or `kind@first–last` for a group. */
function atSeqs (findings: Array<{ kind: string, seq?: number, lastSeq?: number }>): string[] {
  return findings.map((f) => `${f.kind}@${f.seq ?? '-'}${f.lastSeq !== undefined ? `–${f.lastSeq}` : ''}`)
}

/** Deterministic bytes (SHA-256 in counter mode), so a failure can be replayed. */
function pseudoRandomBytes (n: number, label: string): Buffer {
  const out = Buffer.alloc(n)
  for (let i = 0, at = 0; at < n; i++, at += 32) createHash('sha256').update(`${label}:${i}`).digest().copy(out, at)
  return out
}

test('random bytes: malformed lines and empty, exit 1, no crash', (t) => {
  const s = setup(t)
  const path = join(s.ws.dir, 'garbage.log')
  writeFileSync(path, pseudoRandomBytes(64 * 1024, 'garbage'))
  const r = cliVerify([path], [s.pub])
  assert.equal(r.code, 1)
  assert.equal(r.report.ok, false)
  assert.equal(r.report.records, 0)
  const found = new Set(r.report.problems.map((p) => p.kind))
  assert.deepEqual([...found].sort(), ['empty', 'malformed'])
  // Every line is reported (about one per 256 bytes), none is skipped silently: lines
  // that fail alike in a row are one finding, whose count says how many.
  const lines = pseudoRandomBytes(64 * 1024, 'garbage').toString('latin1').split('\n').length
  const malformed = r.report.problems.filter((p) => p.kind === 'malformed')
  assert.equal(malformed.reduce((n, p) => n + p.count, 0), lines)
  assert.ok(malformed.every((p) => p.count === 1 || p.lastLine === (p.line as number) + p.count - 1), 'a group covers exactly its lines')
  assert.ok(r.report.problems.every((p) => !/[\u0000-\u001f]/.test(p.message)), 'messages quote the garbage raw') // eslint-disable-line no-control-regex
})

test('a file of NULs: one malformed (torn) last line and empty, exit 1', (t) => {
  const s = setup(t)
  const path = join(s.ws.dir, 'nul.log')
  writeFileSync(path, Buffer.alloc(1024 * 1024))
  const r = cliVerify([path], [s.pub])
  assert.equal(r.code, 1)
  assert.deepEqual(kinds(r.report.problems), ['malformed', 'empty'])
  assert.match(r.report.problems[0].message, /last line is incomplete \(no newline\) and not a record \(not JSON/)
})

/** Write `lines`, then one line of `megabytes` MB streamed 1 MiB at a time, then `after`. */
function writeWithHugeLine (path: string, before: string[], megabytes: number, after: string[]): void {
  const fd = openSync(path, 'w')
  try {
    if (before.length > 0) writeSync(fd, before.join('\n') + '\n')
    writeSync(fd, '{"level":30,"msg":"')
    const chunk = Buffer.alloc(1000 * 1000, 'x')
    for (let i = 0; i < megabytes; i++) writeSync(fd, chunk)
    writeSync(fd, '"}')
    if (after.length > 0) writeSync(fd, '\n' + after.join('\n') + '\n')
  } finally {
    closeSync(fd)
  }
}

test('a 100 MB line is line-too-long, inside a log and alone, in bounded memory', (t) => {
  const s = setup(t)
  const w = writeChain(s.ws.dir, s.key, { records: 10, head: false })
  // Between two records: the chain links on past it, so it is the only problem.
  writeWithHugeLine(w.path, w.lines.slice(0, 6), 100, w.lines.slice(6))
  // A file that is nothing but the line (no newline at all).
  const alone = join(s.ws.dir, 'one-line.log')
  writeWithHugeLine(alone, [], 100, [])
  const r = cliVerify([w.path, alone], [s.pub])
  t.diagnostic(`verify of 2 files with a 100 MB line each: peak RSS ${(r.peakRssBytes / 1e6).toFixed(0)} MB`)
  assert.equal(r.code, 1)
  assert.deepEqual(r.report.problems.map((p) => `${p.kind}@${p.file === alone ? 'alone' : 'log'}:${p.line ?? '-'}`), [
    'line-too-long@log:7',
    'line-too-long@alone:1',
    'empty@alone:-'
  ])
  assert.match(r.report.problems[0].message, /the line is 100000021 bytes long, more than the 67108864-byte limit/)
  assert.equal(r.report.records, 12)
  assert.ok(r.peakRssBytes < RSS_LIMIT_BYTES, `peak RSS ${r.peakRssBytes} bytes, more than ${RSS_LIMIT_BYTES}`)
})

test('invalid UTF-8 inside otherwise valid records: malformed, and the record is missing, exit 1', (t) => {
  const s = setup(t)
  const w = writeChain(s.ws.dir, s.key, { records: 8, head: false })
  const lines = w.lines.map((l) => Buffer.from(l))
  const spoil = (i: number, bytes: number[]): void => {
    const at = lines[i].indexOf('"ada"') + 1
    lines[i] = Buffer.concat([lines[i].subarray(0, at), Buffer.from(bytes), lines[i].subarray(at + 3)])
  }
  spoil(3, [0xff, 0xfe, 0x61]) // bytes that never occur in UTF-8
  spoil(6, [0xed, 0xa0, 0x80]) // an encoded lone surrogate (U+D800), which UTF-8 forbids
  writeFileSync(w.path, Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')])))
  const r = cliVerify([w.path], [s.pub])
  assert.equal(r.code, 1)
  assert.deepEqual(r.report.problems.map((p) => `${p.kind}@${p.line ?? '-'}/${p.seq ?? '-'}`), ['malformed@4/-', 'malformed@7/-', 'missing@5/3', 'missing@8/6'])
  assert.match(r.report.problems[0].message, /not valid UTF-8/)
  assert.match(r.report.problems[1].message, /not valid UTF-8/)
})

test('a CRLF-converted log: every record modified, and the message names CRLF, exit 1', (t) => {
  const s = setup(t)
  const w = writeChain(s.ws.dir, s.key, { records: 6, head: false })
  writeFileSync(w.path, w.lines.join('\r\n') + '\r\n')
  const r = cliVerify([w.path], [s.pub])
  assert.equal(r.code, 1)
  // One finding for the eight records changed alike, lines 1–8, seqs 0–7.
  assert.deepEqual(kinds(r.report.problems), ['modified×8'])
  const [g] = r.report.problems
  assert.deepEqual([g.firstLine, g.lastLine, g.firstSeq, g.lastSeq], [1, 8, 0, 7])
  assert.match(g.message, /^8 records were changed after they were written .*converted to CRLF/)
})

test('an empty file is empty, exit 1', (t) => {
  const s = setup(t)
  const path = join(s.ws.dir, 'empty.log')
  writeFileSync(path, '')
  const r = cliVerify([path], [s.pub])
  assert.equal(r.code, 1)
  assert.deepEqual(kinds(r.report.problems), ['empty'])
  assert.deepEqual(r.report.chains, [])
})

test('a file of newlines only: each line malformed as empty, and the file empty, exit 1', (t) => {
  const s = setup(t)
  const path = join(s.ws.dir, 'newlines.log')
  writeFileSync(path, '\n'.repeat(1000))
  const r = cliVerify([path], [s.pub])
  assert.equal(r.code, 1)
  assert.deepEqual(kinds(r.report.problems), ['malformed×1000', 'empty'])
  assert.deepEqual([r.report.problems[0].firstLine, r.report.problems[0].lastLine], [1, 1000])
  assert.match(r.report.problems[0].message, /^1000 lines in a row are not audit records \(the first: the line is empty\)/)
})

// ---------------------------------------------------------------- keys found in a log

/** A chain.open body that also carries a public key, the way an attacker would offer one. */
function openBodyWithKey (chainId: string, kid: string, publicPem: string): string {
  return JSON.stringify({ level: 30, time: 1764100800000, event: 'chain.open', chainId, kid, torn: null, publicKey: publicPem, keys: [{ kid, pem: publicPem }], pid: 666, hostname: 'attacker', msg: 'audit chain opened' })
}

/** A complete, internally consistent sealed chain signed by `key`, its public key embedded in its records. */
function attackerChain (key: SigningKey, publicPem: string, claimedKid = key.kid): ChainBuilder {
  const chain = new ChainBuilder({ ...key, kid: claimedKid })
  chain.written = 0
  chain.append(openBodyWithKey(chain.chainId, claimedKid, publicPem))
  for (let i = 0; i < 4; i++) chain.append(`{"level":30,"time":${1764100800001 + i},"event":"login","user":"mallory","publicKey":${JSON.stringify(publicPem)},"msg":"trust me"}`)
  chain.close()
  return chain
}

test('a forged chain carrying its own public key is unknown-key under the real key; its head is bad-head', async (t) => {
  const s = setup(t)
  const attacker = generateKeyPairPem()
  const forged = attackerChain(signingKeyFromPem(attacker.privatePem, 'attacker'), attacker.publicPem)
  const path = join(s.ws.dir, 'audit.log')
  writeLines(path, forged.lines)
  writeFileSync(`${path}.head.json`, forged.headText())
  // Consistent on its own: under the attacker's key it is intact.
  const attackerPub = join(s.ws.dir, 'keys', 'attacker.pub')
  writeFileSync(attackerPub, attacker.publicPem)
  assert.deepEqual((await verify([s.ws.dir], { keys: [attackerPub] })).problems, [])
  // Under the key the auditor was given, nothing in it counts.
  const r = await verify([s.ws.dir], { keys: [s.pub] })
  assert.equal(r.ok, false)
  assert.deepEqual(kinds(r.problems), ['bad-head', 'unknown-key×6'])
  assert.ok(r.problems[1].message.includes(attacker.kid))
  assert.equal(r.chains[0].sealed, false, 'a seal by an unknown key is no seal')
  // The offered key never shows up in what we print.
  const pemBody = attacker.publicPem.split('\n')[1]
  assert.ok(r.problems.every((p) => !p.message.includes(pemBody) && !p.message.includes('BEGIN')))
  // Same verdict from the CLI, which has no way to take a key from the log either.
  const cli = cliVerify([s.ws.dir], [s.pub])
  assert.equal(cli.code, 1)
  assert.deepEqual(kinds(cli.report.problems), kinds(r.problems))
})

test('a forged chain that claims the real key id is a bad signature on every record', async (t) => {
  const s = setup(t)
  const attacker = generateKeyPairPem()
  const forged = attackerChain(signingKeyFromPem(attacker.privatePem, 'attacker'), attacker.publicPem, s.key.kid)
  const path = join(s.ws.dir, 'audit.log')
  writeLines(path, forged.lines)
  const r = await verify([path], { keys: [s.pub] })
  assert.deepEqual(kinds(r.problems), ['bad-signature×6'])
  assert.deepEqual([r.problems[0].firstSeq, r.problems[0].lastSeq], [0, 5])
})

test('a keyring of two keys verifies records signed by either (a key rotation across a restart)', async (t) => {
  const s = setup(t)
  const second = s.ws.key('second')
  const chain = new ChainBuilder(s.key)
  chain.open()
  chain.user(0)
  chain.user(1)
  chain.close()
  // The writer restarts with a new key and continues the same chain.
  const rotated = new ChainBuilder(second.key, chain.chainId)
  Object.assign(rotated, { seq: chain.seq, hash: chain.hash })
  rotated.resume()
  rotated.user(2)
  rotated.close()
  const path = join(s.ws.dir, 'audit.log')
  writeLines(path, [...chain.lines, ...rotated.lines])
  const both = await verify([path], { keys: [s.pub, second.pubPath] })
  assert.deepEqual([both.ok, both.problems, both.warnings], [true, [], []])
  assert.equal(both.chains[0].sealed, true)
  // With one key only, the other key's records are unknown (and an unchecked record after
  // the seal cannot count as its linked chain.resume).
  // The after-seal in between ends the first group: grouping hides no other finding.
  assert.deepEqual(atSeqs((await verify([path], { keys: [s.pub] })).problems), ['unknown-key@4', 'after-seal@4', 'unknown-key@5–6'])
  assert.deepEqual(atSeqs((await verify([path], { keys: [second.pubPath] })).problems), ['unknown-key@0–3'])
  // Two files, one per key, in one directory: the CLI takes --key twice.
  const other = writeChain(s.ws.dir, second.key, { name: 'other.log', records: 3, head: false })
  assert.ok(other.lines.length > 0)
  const cli = cliVerify([s.ws.dir], [s.pub, second.pubPath])
  assert.deepEqual([cli.code, cli.report.problems, cli.report.chains.length], [0, [], 2])
})
