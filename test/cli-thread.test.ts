/**
 * `verify`, `show` and `report` run in a worker thread with a small young generation (src/cli/
 * off-thread.ts) and print from there straight to the process's standard output and
 * error. What a user relies on stays the same: the exact bytes, however slowly the
 * reader takes them; the exit status and the one-line errors; standard input read too.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { workspace, writeChain } from './fixtures/write-chain.js'

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))

/** The stored lines show prints by default: every record but the control records, each with its newline. */
function userLines (lines: string[]): string {
  return lines.filter((l) => !/"event":"(chain\.|file\.open)/.test(l)).map((l) => `${l}\n`).join('')
}

/** A copy of `log` beside it (changed.log) in which line `index` (0-based) has `from` replaced by `to`. */
function changedCopy (log: string, index: number, from: string, to: string): string {
  const lines = readFileSync(log, 'utf8').split('\n')
  assert.ok(lines[index].includes(from), `line ${index} holds ${from}`)
  lines[index] = lines[index].replace(from, to)
  const changed = join(dirname(log), 'changed.log')
  writeFileSync(changed, lines.join('\n'))
  return changed
}

test('show --format json through a pipe whose reader stops for a while: every record arrives byte for byte, the verdict on stderr, exit 0', async (t) => {
  const ws = workspace()
  t.after(ws.cleanup)
  const k = ws.key()
  // Some 6 MB: far more than a pipe holds, so the thread finds it full and must wait.
  const log = writeChain(ws.dir, k.key, { name: 'audit.log', records: 20_000 })
  const child = spawn(process.execPath, [CLI, 'show', log.path, '--key', k.pubPath, '--format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] })
  const chunks: Buffer[] = []
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s })
  child.stdout.on('data', (b: Buffer) => { chunks.push(b) })
  // Take the first chunk, then read nothing until the pipe has certainly filled up.
  await once(child.stdout, 'data')
  child.stdout.pause()
  await new Promise((resolve) => setTimeout(resolve, 300))
  child.stdout.resume()
  const [code] = await once(child, 'exit') as [number | null]
  assert.equal(code, 0, stderr)
  assert.equal(Buffer.concat(chunks).toString('utf8'), userLines(log.lines))
  assert.match(stderr, /INTACT: 20002 records in 1 chain/)
})

test('show - reads standard input as before, with the same records and verdict as from the file', (t) => {
  const ws = workspace()
  t.after(ws.cleanup)
  const k = ws.key()
  const log = writeChain(ws.dir, k.key, { name: 'audit.log', records: 50 })
  const r = spawnSync(process.execPath, [CLI, 'show', '-', '--key', k.pubPath, '--format', 'json'], { input: readFileSync(log.path), encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout, userLines(log.lines))
  assert.match(r.stderr, /INTACT: 52 records in 1 chain/)
})

test('errors found in the thread read as before: a missing log is one "audit-chain: PAC_INPUT" line, a missing --out directory one PAC_WRITE_FAILED line, both exit 2', (t) => {
  const ws = workspace()
  t.after(ws.cleanup)
  const k = ws.key()
  const missing = spawnSync(process.execPath, [CLI, 'show', join(ws.dir, 'nothing-here.log'), '--key', k.pubPath], { encoding: 'utf8' })
  assert.equal(missing.status, 2)
  assert.equal(missing.stdout, '')
  assert.match(missing.stderr, /^audit-chain: PAC_INPUT: .*nothing-here\.log does not exist\n$/)
  const log = writeChain(ws.dir, k.key, { name: 'audit.log', records: 5 })
  const nowhere = spawnSync(process.execPath, [CLI, 'report', log.path, '--key', k.pubPath, '--out', join(ws.dir, 'no-such-dir', 'r.html')], { encoding: 'utf8' })
  assert.equal(nowhere.status, 2)
  assert.match(nowhere.stderr, /^audit-chain: PAC_WRITE_FAILED: --out .*no-such-dir.* does not exist or cannot be written to/)
  assert.equal(nowhere.stderr.split('\n').length, 2, 'one line')
})

test('report prints "report written to" on stdout and the verdict on stderr, and exits 1 when a record was changed', (t) => {
  const ws = workspace()
  t.after(ws.cleanup)
  const k = ws.key()
  const log = writeChain(ws.dir, k.key, { name: 'audit.log', records: 20 })
  const out = join(ws.dir, 'r.html')
  const ok = spawnSync(process.execPath, [CLI, 'report', log.path, '--key', k.pubPath, '--out', out], { encoding: 'utf8' })
  assert.equal(ok.status, 0, ok.stderr)
  assert.match(ok.stdout, /^report written to .*r\.html \(20 of 20 records in full\)\n$/)
  assert.match(ok.stderr, /^INTACT: 22 records/)
  const changed = changedCopy(log.path, 5, '"i":4', '"i":44')
  const bad = spawnSync(process.execPath, [CLI, 'report', changed, '--key', k.pubPath, '--out', out], { encoding: 'utf8' })
  assert.equal(bad.status, 1, bad.stderr)
  assert.match(bad.stderr, /PROBLEMS/)
})

test('verify runs in the thread too: the same report from the file as from standard input (read on the main thread), --state written, exit 1 on a changed record', (t) => {
  const ws = workspace()
  t.after(ws.cleanup)
  const k = ws.key()
  const log = writeChain(ws.dir, k.key, { name: 'audit.log', records: 50 })
  const state = join(ws.dir, 'state.json')
  const fromFile = spawnSync(process.execPath, [CLI, 'verify', log.path, '--key', k.pubPath, '--json', '--state', state], { encoding: 'utf8' })
  assert.equal(fromFile.status, 0, fromFile.stderr)
  assert.equal(fromFile.stderr, '')
  const fromStdin = spawnSync(process.execPath, [CLI, 'verify', '-', '--key', k.pubPath, '--json'], { encoding: 'utf8', input: readFileSync(log.path) })
  assert.equal(fromStdin.status, 0, fromStdin.stderr)
  const [a, b] = [JSON.parse(fromFile.stdout), JSON.parse(fromStdin.stdout)]
  assert.deepEqual([a.ok, a.records, a.chains[0].lastSeq, a.chains[0].id], [true, 52, b.chains[0].lastSeq, b.chains[0].id])
  assert.equal(a.state.file, state)
  assert.ok(JSON.parse(readFileSync(state, 'utf8')), 'the thread wrote the state file')
  const changed = changedCopy(log.path, 7, '"i":6', '"i":66')
  const bad = spawnSync(process.execPath, [CLI, 'verify', changed, '--key', k.pubPath], { encoding: 'utf8' })
  assert.equal(bad.status, 1)
  assert.match(bad.stdout, /changed\.log:8 seq 7 +modified/)
  assert.match(bad.stdout, /PROBLEMS FOUND/)
})
