/**
 * Anchoring and state: `verify --state FILE` remembers each chain's last verified
 * record and catches a log rolled back or forked past it; `audit-chain head` prints
 * the signed head to ship off the host; `--head` takes a file of shipped heads.
 * The CLI is the compiled binary (dist/cli/main.js, built before the tests), run in
 * child processes on real files.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { appendFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { fileOpenBody, retentionPruneBody } from '../src/format/control.js'
import { headText, signHead } from '../src/format/head.js'
import { verify } from '../src/verify/index.js'
import { signedLine, workspace, writeChain, writeLines, type Workspace } from './fixtures/write-chain.js'

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))

function run (args: string[]): { code: number | null, stdout: string, stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

function setup (t: { after: (fn: () => void) => void }): Workspace {
  const ws = workspace()
  t.after(ws.cleanup)
  return ws
}

function readState (path: string): { v: number, chains: Record<string, { seq: number, hash: string, verifiedAt: string }> } {
  return JSON.parse(readFileSync(path, 'utf8'))
}

interface JsonReport { ok: boolean, problems: Array<{ kind: string, seq?: number, file: string, message: string }>, state?: { file: string, created: boolean, recorded: string[], notRecorded: string[] } }

function verifyJson (args: string[]): { code: number | null, report: JsonReport, stderr: string } {
  const r = run(['verify', ...args, '--json'])
  return { code: r.code, report: JSON.parse(r.stdout), stderr: r.stderr }
}

/** A live (unsealed) log without a head file beside it: only the state can anchor it. */
function liveLog (ws: Workspace, records = 5): ReturnType<typeof writeChain> & { pub: string } {
  const k = ws.key()
  const w = writeChain(ws.dir, k.key, { records, seal: false, head: false })
  return { ...w, pub: k.pubPath }
}

test('--state: the first run creates the state (mode 0600) at the last record; the next run passes and advances it', (t) => {
  const ws = setup(t)
  const w = liveLog(ws)
  const state = join(ws.dir, 'var/state.json')
  const first = run(['verify', w.path, '--key', w.pub, '--state', state])
  assert.equal(first.code, 0, first.stdout + first.stderr)
  // An unsealed chain is intact as far as it goes: its warning does not stop the state.
  assert.match(first.stdout, /unsealed — /)
  assert.match(first.stdout, new RegExp(`^state ${state} \\(created\\): 1 chain recorded$`, 'm'))
  assert.equal(statSync(state).mode & 0o777, 0o600)
  const saved = readState(state)
  assert.equal(saved.v, 1)
  assert.deepEqual(Object.keys(saved.chains), [w.chain.chainId])
  assert.equal(saved.chains[w.chain.chainId].seq, 5)
  assert.equal(saved.chains[w.chain.chainId].hash, w.chain.hash)
  assert.ok(!Number.isNaN(Date.parse(saved.chains[w.chain.chainId].verifiedAt)))

  for (let i = 5; i < 9; i++) w.chain.user(i)
  w.chain.close()
  writeLines(w.path, w.chain.lines)
  const second = verifyJson([w.path, '--key', w.pub, '--state', state])
  assert.equal(second.code, 0, JSON.stringify(second.report.problems))
  assert.deepEqual(second.report.state, { file: state, created: false, recorded: [w.chain.chainId], notRecorded: [] })
  assert.deepEqual([readState(state).chains[w.chain.chainId].seq, readState(state).chains[w.chain.chainId].hash], [10, w.chain.hash])
})

test('--state catches a rollback: the log cut back before the remembered record exits 1, names the seq, and the state stays', (t) => {
  const ws = setup(t)
  const w = liveLog(ws, 8)
  const state = join(ws.dir, 'state.json')
  assert.equal(run(['verify', w.path, '--key', w.pub, '--state', state]).code, 0)
  const before = readFileSync(state, 'utf8')
  // Cut the last three records: without the state this is a valid live log (a warning only).
  writeLines(w.path, w.lines.slice(0, 6))
  assert.equal(run(['verify', w.path, '--key', w.pub]).code, 0)
  const r = run(['verify', w.path, '--key', w.pub, '--state', state])
  assert.equal(r.code, 1, r.stdout)
  assert.match(r.stdout, new RegExp(`^${state} seq 8  rollback — the log no longer reaches seq 8 of chain ${w.chain.chainId}, verified on .*: it now ends at seq 5`, 'm'))
  assert.match(r.stdout, /^state .*: 0 chains recorded, 1 not \(problems found\)$/m)
  assert.equal(readFileSync(state, 'utf8'), before)
  // Still caught on the run after: the state did not give way.
  assert.equal(run(['verify', w.path, '--key', w.pub, '--state', state]).code, 1)
})

test('--state catches a fork: the record at the remembered seq re-signed differently (the writer holds the key) exits 1', (t) => {
  const ws = setup(t)
  const k = ws.key()
  const w = writeChain(ws.dir, k.key, { records: 6, seal: false, head: false })
  const state = join(ws.dir, 'state.json')
  assert.equal(run(['verify', w.path, '--key', k.pubPath, '--state', state]).code, 0)
  const before = readFileSync(state, 'utf8')
  // Replace the last record (seq 6) with another, validly signed and linked: on its own the log is intact.
  const prev = JSON.parse(w.lines[5]).chain.hash as string
  const forged = signedLine(k.key, 6, prev, '{"level":30,"time":1764100900000,"event":"code_execution","user":"mallory","msg":"nothing to see"}')
  writeLines(w.path, [...w.lines.slice(0, 6), forged.line])
  assert.equal(run(['verify', w.path, '--key', k.pubPath]).code, 0)
  const r = verifyJson([w.path, '--key', k.pubPath, '--state', state])
  assert.equal(r.code, 1)
  assert.deepEqual(r.report.problems.map((p) => [p.kind, p.seq, p.file]), [['rollback', 6, state]])
  assert.match(r.report.problems[0].message, new RegExp(`the record at seq 6 of chain ${w.chain.chainId} \\(${w.path}:7\\) has hash ${forged.hash}, but the one verified on .* had hash ${w.chain.hash}: .*fork`))
  assert.equal(readFileSync(state, 'utf8'), before)
})

test('--state: a tampered log does not advance the state, and a clean chain beside it still does', (t) => {
  const ws = setup(t)
  const k = ws.key()
  const a = writeChain(ws.dir, k.key, { name: 'a.log', records: 4, seal: false, head: false })
  const b = writeChain(ws.dir, k.key, { name: 'b.log', records: 4, seal: false, head: false })
  const state = join(ws.dir, 'state/state.json')
  assert.equal(run(['verify', ws.dir, '--key', k.pubPath, '--state', state]).code, 0)
  for (const w of [a, b]) {
    for (let i = 4; i < 8; i++) w.chain.user(i)
  }
  // a grows but one of its new records is edited; b just grows.
  const edited = [...a.chain.lines]
  edited[6] = edited[6].replace('"user":"ada"', '"user":"eve"')
  writeLines(a.path, edited)
  writeLines(b.path, b.chain.lines)
  const r = verifyJson([ws.dir, '--key', k.pubPath, '--state', state])
  assert.equal(r.code, 1)
  assert.deepEqual(r.report.problems.map((p) => p.kind), ['modified'])
  assert.deepEqual(r.report.state, { file: state, created: false, recorded: [b.chain.chainId], notRecorded: [a.chain.chainId] })
  const saved = readState(state).chains
  assert.deepEqual([saved[a.chain.chainId].seq, saved[b.chain.chainId].seq], [4, 8])
  assert.equal(saved[a.chain.chainId].hash, JSON.parse(a.lines[4]).chain.hash)
})

test('--state: a remembered chain missing from the paths is a rollback, and its entry is kept', (t) => {
  const ws = setup(t)
  const k = ws.key()
  const a = writeChain(ws.dir, k.key, { name: 'a.log', records: 3, head: false })
  const b = writeChain(ws.dir, k.key, { name: 'b.log', records: 3, head: false })
  const state = join(ws.dir, 'state.json')
  assert.equal(run(['verify', a.path, b.path, '--key', k.pubPath, '--state', state]).code, 0)
  rmSync(b.path)
  const r = verifyJson([a.path, '--key', k.pubPath, '--state', state])
  assert.equal(r.code, 1)
  assert.deepEqual(r.report.problems.map((p) => [p.kind, p.seq]), [['rollback', 4]])
  assert.match(r.report.problems[0].message, new RegExp(`chain ${b.chain.chainId}, verified up to seq 4 on .*, is no longer in the paths given`))
  assert.deepEqual(Object.keys(readState(state).chains).sort(), [a.chain.chainId, b.chain.chainId].sort())
})

test('--state: a remembered record that retention deleted (a signed retention.prune says so) is not a rollback', async (t) => {
  const ws = setup(t)
  const k = ws.key()
  const old = writeChain(ws.dir, k.key, { name: 'audit.1.log', records: 4, seal: false, head: false })
  const state = join(ws.dir, 'state.json')
  assert.equal((await verify([old.path], { keys: [k.pubPath], state })).ok, true)
  const remembered = readFileSync(state, 'utf8')
  // The chain goes on in a new file, and retention deletes the old one, recording it.
  const { chain } = old
  const lastOfOld = { seq: chain.seq, hash: chain.hash }
  const from = chain.lines.length
  chain.append(fileOpenBody(chain.chainId, k.key.kid, 'audit.log', 'audit.1.log', 'rotation', 1764100900000))
  chain.append(retentionPruneBody(chain.chainId, [{ file: 'audit.1.log', firstSeq: 0, lastSeq: lastOfOld.seq, lastHash: lastOfOld.hash }], [], 1764100900001))
  chain.user(100)
  const current = join(ws.dir, 'audit.log')
  writeLines(current, chain.lines.slice(from))
  rmSync(old.path)
  const r = await verify([current], { keys: [k.pubPath], state })
  assert.deepEqual(r.problems, [])
  assert.equal(r.chains[0].prunedBefore, lastOfOld.seq + 1)
  assert.deepEqual(r.state?.recorded, [chain.chainId])
  assert.equal(readState(state).chains[chain.chainId].seq, chain.seq)
  // Without the prune record the same start is a cut-off beginning, and the record the
  // state remembers from the old file is reported as removed.
  writeLines(current, chain.lines.slice(from).filter((l) => !l.includes('retention.prune')))
  writeFileSync(state, remembered)
  const cut = await verify([current], { keys: [k.pubPath], state })
  assert.deepEqual(cut.problems.map((p) => [p.kind, p.seq]).filter(([kind]) => kind !== 'missing'), [['missing-start', lastOfOld.seq + 1], ['rollback', lastOfOld.seq]])
  assert.match(cut.problems.find((p) => p.kind === 'rollback')?.message ?? '', /the record at seq 4 of chain .*, verified on .*, is no longer in the log, and no retention.prune record says retention deleted it: it was removed/)
  assert.equal(readFileSync(state, 'utf8'), remembered)
})

test('--state: a state file that does not parse or has wrong types exits 2 naming the file, and is not reset', (t) => {
  const ws = setup(t)
  const w = liveLog(ws)
  const state = join(ws.dir, 'state.json')
  const cases: Array<[string, RegExp]> = [
    ['', /is empty/],
    ['{"v":1,"chains":', /is not JSON/],
    ['[]', /holds an array, not an object/],
    ['{"v":2,"chains":{}}', /has "v": 2, not 1/],
    [`{"v":1,"chains":{"${w.chain.chainId}":{"seq":"5","hash":"${w.chain.hash}","verifiedAt":"2026-01-01T00:00:00.000Z"}}}`, new RegExp(`has chains\\.${w.chain.chainId}\\.seq: "5", not a whole number ≥ 0`)],
    [`{"v":1,"chains":{"${w.chain.chainId}":{"seq":5,"hash":"abc","verifiedAt":"2026-01-01T00:00:00.000Z"}}}`, /\.hash: "abc", not 64 lowercase hex characters/],
    [`{"v":1,"chains":{"${w.chain.chainId}":{"seq":5,"hash":"${w.chain.hash}","verifiedAt":"yesterday"}}}`, /\.verifiedAt: "yesterday", not an ISO 8601 UTC time/],
    ['{"v":1,"chains":{},"extra":true}', /unexpected member "extra"/]
  ]
  for (const [text, expected] of cases) {
    writeFileSync(state, text)
    const r = run(['verify', w.path, '--key', w.pub, '--state', state])
    assert.equal(r.code, 2, `${text}: ${r.stdout}`)
    assert.equal(r.stdout, '')
    assert.ok(r.stderr.startsWith(`audit-chain: PAC_STATE: state file ${state} `), r.stderr)
    assert.match(r.stderr, expected)
    assert.match(r.stderr, /expected \{"v":1,"chains":\{"<chainId>":\{"seq":S,"hash":H,"verifiedAt":ISO\}\}\}/)
    assert.equal(readFileSync(state, 'utf8'), text, 'the state file was left as it was')
  }
})

test('head prints the head file verbatim (from the file, the log beside it or the directory); --key checks it first', (t) => {
  const ws = setup(t)
  const k = ws.key()
  const other = ws.key('other')
  const w = writeChain(ws.dir, k.key, { records: 3, seal: false })
  const bytes = readFileSync(w.headPath, 'utf8')
  for (const path of [w.headPath, w.path, ws.dir]) {
    const r = run(['head', path])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, bytes)
    assert.equal(r.stderr, '')
  }
  assert.deepEqual(run(['head', w.path, '--key', k.pubPath]), { code: 0, stdout: bytes, stderr: '' })

  // Signed by another key: exit 1, and nothing on stdout for a cron job to ship.
  const wrong = run(['head', w.path, '--key', other.pubPath])
  assert.equal(wrong.code, 1)
  assert.equal(wrong.stdout, '')
  assert.match(wrong.stderr, /head cannot be trusted: head is signed by key [0-9a-f]{16}, which is not in the keyring/)

  const json = run(['head', w.path, '--key', k.pubPath, '--json'])
  assert.equal(json.code, 0)
  assert.deepEqual(JSON.parse(json.stdout), { ok: true, heads: [{ file: w.headPath, ok: true, head: JSON.parse(bytes), signature: 'valid' }] })

  // Altered head: its signature fails.
  writeFileSync(w.headPath, bytes.replace(/"seq":\d+/, '"seq":1'))
  const altered = run(['head', w.headPath, '--key', k.pubPath, '--json'])
  assert.equal(altered.code, 1)
  assert.deepEqual(JSON.parse(altered.stdout).heads.map((h: { ok: boolean, signature: string }) => [h.ok, h.signature]), [[false, 'invalid']])
})

test('head: a missing file, a log without a head, or an unreadable key exits 2', (t) => {
  const ws = setup(t)
  const k = ws.key()
  const w = writeChain(ws.dir, k.key, { records: 2, head: false })
  const missing = run(['head', join(ws.dir, 'nope.head.json')])
  assert.equal(missing.code, 2)
  assert.match(missing.stderr, /PAC_INPUT: .*nope\.head\.json does not exist/)
  const noHead = run(['head', w.path])
  assert.equal(noHead.code, 2)
  assert.match(noHead.stderr, new RegExp(`${w.path}\\.head\\.json does not exist`))
  assert.equal(run(['head', ws.dir]).code, 2)
  writeFileSync(`${w.path}.head.json`, w.chain.headText())
  assert.equal(run(['head', w.path, '--key', join(ws.dir, 'keys/none.pub')]).code, 2)
  assert.equal(run(['head']).code, 2)
})

test('the shipping recipe: heads appended to a JSON-lines file; verify --head checks every one, so an early shipped head catches a later rewrite', (t) => {
  const ws = setup(t)
  const k = ws.key()
  const w = writeChain(ws.dir, k.key, { records: 3, seal: false })
  const shipped = join(ws.dir, 'offhost/heads.jsonl')
  const state = join(ws.dir, 'offhost/state.json')
  mkdirSync(join(ws.dir, 'offhost'))
  const ship = (): void => {
    const r = run(['head', w.path, '--key', k.pubPath])
    assert.equal(r.code, 0, r.stderr)
    appendFileSync(shipped, r.stdout)
  }
  ship()
  ship() // an idle log ships the same head again: counted once
  for (let i = 3; i < 6; i++) w.chain.user(i)
  writeLines(w.path, w.chain.lines)
  writeFileSync(w.headPath, w.chain.headText())
  ship()
  assert.equal(readFileSync(shipped, 'utf8').split('\n').filter((l) => l !== '').length, 3)
  const ok = verifyJson([w.path, '--key', k.pubPath, '--head', shipped, '--state', state])
  assert.equal(ok.code, 0, JSON.stringify(ok.report.problems))

  // The writer (key holder) rewrites history from seq 2 on, one record longer, and
  // re-signs the head beside the log, which the cron job then ships as usual: the
  // newest shipped head matches the forgery, the earlier ones (and the state) do not.
  const rewritten = w.lines.slice(0, 2)
  let prev = JSON.parse(rewritten[1]).chain.hash as string
  for (let seq = 2; seq <= 7; seq++) {
    const s = signedLine(k.key, seq, prev, `{"level":30,"time":1764100900000,"event":"code_execution","i":${seq},"user":"mallory","msg":"rewritten"}`)
    rewritten.push(s.line)
    prev = s.hash
  }
  writeLines(w.path, rewritten)
  writeFileSync(w.headPath, headText(signHead(k.key, w.chain.chainId, 7, prev)))
  ship()
  const r = verifyJson([w.path, '--key', k.pubPath, '--head', shipped])
  assert.equal(r.code, 1)
  assert.deepEqual(r.report.problems.map((p) => [p.kind, p.seq, p.file]), [['head-mismatch', 3, shipped]])
  assert.match(r.report.problems[0].message, /names seq 3 with hash [0-9a-f]{64}, but the record at that seq .* \(1 more head of this chain in the file, up to seq 6, fails too\)$/)
  const withState = verifyJson([w.path, '--key', k.pubPath, '--state', state])
  assert.deepEqual(withState.report.problems.map((p) => [p.kind, p.seq]), [['rollback', 6]])
  // Only the newest shipped head (what `tail -n 1` would keep) misses it.
  writeFileSync(join(ws.dir, 'offhost/last.head.json'), readFileSync(shipped, 'utf8').trimEnd().split('\n').at(-1) + '\n')
  assert.equal(run(['verify', w.path, '--key', k.pubPath, '--head', join(ws.dir, 'offhost/last.head.json')]).code, 0)
})
