/**
 * verify's progress on stderr, with the built CLI in child processes. On a terminal
 * it is on by default; here stderr is a pipe, so --progress forces it (written as
 * lines) and the last line, drawn when verify ends, is checked: records/s and the
 * share read for files, records and rate for standard input. Without --progress a
 * pipe gets none, and the report on stdout is the same either way.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { workspace, writeChain } from './fixtures/write-chain.js'

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))

function run (args: string[], input?: Buffer): { code: number | null, stdout: string, stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { input, encoding: 'utf8' })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

function lastLine (text: string): string {
  return text.trimEnd().split('\n').at(-1) ?? ''
}

test('verify --progress on a file: the bar, the share and size read, records, records/s and time left', (t) => {
  const ws = workspace()
  t.after(ws.cleanup)
  const k = ws.key()
  const w = writeChain(ws.dir, k.key, { records: 300 })
  const quiet = run(['verify', w.path, '--key', k.pubPath])
  const r = run(['verify', w.path, '--key', k.pubPath, '--progress'])
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.stdout, quiet.stdout, 'the report is unchanged')
  const size = statSync(w.path).size
  const mb = `${(size / 1_000_000).toFixed(1)} MB`
  assert.match(lastLine(r.stderr), new RegExp(`^verifying \\[#{24}\\] 100% ${mb} / ${mb} \\| 302 records \\| [0-9,]+ records/s \\| 0s left$`))
})

test('verify --progress on standard input: records read, records/s and bytes read (the size is unknown)', (t) => {
  const ws = workspace()
  t.after(ws.cleanup)
  const k = ws.key()
  const w = writeChain(ws.dir, k.key, { records: 300 })
  const r = run(['verify', '-', '--key', k.pubPath, '--progress'], readFileSync(w.path))
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stdout, /INTACT: 302 records/)
  assert.match(lastLine(r.stderr), /^verifying 302 records \| [0-9,]+ records\/s \| [0-9.]+ MB read$/)
})

test('progress is off on a pipe unless forced, and --no-progress turns it off', (t) => {
  const ws = workspace()
  t.after(ws.cleanup)
  const k = ws.key()
  const w = writeChain(ws.dir, k.key, { records: 30 })
  for (const extra of [[], ['--no-progress'], ['--progress', '--no-progress'], ['--json']]) {
    const r = run(['verify', w.path, '--key', k.pubPath, ...extra])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stderr, '', `nothing on stderr with ${extra.join(' ') || 'no option'}`)
  }
})
