/**
 * The compiled `audit-chain` binary (dist/cli/main.js, built by `npm run build`
 * before the tests), run in child processes: exit codes, output, keygen files.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { workspace, writeChain, writeLines } from './fixtures/write-chain.js'

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))

function run (args: string[], input?: string | Buffer): { code: number | null, stdout: string, stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { input, encoding: 'utf8' })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

function setup (t: { after: (fn: () => void) => void }): ReturnType<typeof workspace> {
  const ws = workspace()
  t.after(ws.cleanup)
  return ws
}

test('verify: an intact log exits 0 with an INTACT verdict and a chain line', (t) => {
  const ws = setup(t)
  const k = ws.key()
  const w = writeChain(ws.dir, k.key, { records: 10 })
  const r = run(['verify', w.path, '--key', k.pubPath])
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.stderr, '')
  // The chain line names its file: with several logs in a directory, which chain is which.
  assert.ok(r.stdout.includes(`chain ${w.chain.chainId}: seq 0–11, 12 records in ${w.path}, sealed`), r.stdout)
  assert.match(r.stdout, /^INTACT: 12 records in 1 chain \(1 file\), 0 problems, 0 warnings$/m)
})

test('verify: problems exit 1 and are printed as file:line seq N  kind — message', (t) => {
  const ws = setup(t)
  const k = ws.key()
  const w = writeChain(ws.dir, k.key, { records: 10 })
  const lines = [...w.lines]
  lines[4] = lines[4].replace('"user":"ada"', '"user":"eve"')
  writeLines(w.path, lines)
  const r = run(['verify', w.path, '--key', k.pubPath])
  assert.equal(r.code, 1)
  assert.ok(r.stdout.startsWith(`${w.path}:5 seq 4  modified — `), r.stdout)
  assert.match(r.stdout, /^PROBLEMS FOUND: 12 records in 1 chain \(1 file\), 1 problem, 0 warnings$/m)
  const quiet = run(['verify', w.path, '--key', k.pubPath, '--quiet'])
  assert.equal(quiet.code, 1)
  assert.equal(quiet.stdout, 'PROBLEMS FOUND: 12 records in 1 chain (1 file), 1 problem, 0 warnings\n')
})

test('verify: a warning (unsealed) exits 0; under --require-seal it is a problem and exits 1', (t) => {
  const ws = setup(t)
  const k = ws.key()
  const w = writeChain(ws.dir, k.key, { records: 3, seal: false, head: false })
  const warned = run(['verify', w.path, '--key', k.pubPath])
  assert.equal(warned.code, 0)
  assert.match(warned.stdout, /unsealed — /)
  assert.match(warned.stdout, /^INTACT: .*, 0 problems, 1 warning$/m)
  assert.equal(run(['verify', w.path, '--key', k.pubPath, '--require-seal']).code, 1)
})

test('verify --json prints exactly one report with the documented shape', (t) => {
  const ws = setup(t)
  const k = ws.key()
  const w = writeChain(ws.dir, k.key, { records: 5 })
  writeLines(w.path, w.lines.filter((_, i) => i !== 2))
  const r = run(['verify', ws.dir, '--key', k.pubPath, '--json'])
  assert.equal(r.code, 1)
  assert.equal(r.stderr, '')
  const report = JSON.parse(r.stdout)
  assert.deepEqual(Object.keys(report), ['schemaVersion', 'tool', 'ok', 'problems', 'warnings', 'omitted', 'chains', 'records', 'files', 'durationMs'])
  assert.equal(report.schemaVersion, 2)
  assert.deepEqual(report.tool, { name: 'pino-audit-chain', version: JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version })
  assert.equal(report.ok, false)
  assert.deepEqual(report.problems, [{ kind: 'missing', severity: 'problem', file: w.path, line: 3, seq: 2, message: report.problems[0].message, count: 1 }])
  assert.equal(typeof report.problems[0].message, 'string')
  assert.deepEqual(report.chains.map((c: { chainId: string }) => c.chainId), [w.chain.chainId])
  assert.equal(typeof report.durationMs, 'number')
})

test('verify reads standard input for "-"', (t) => {
  const ws = setup(t)
  const k = ws.key()
  const w = writeChain(ws.dir, k.key, { records: 5 })
  const r = run(['verify', '-', '--key', k.pubPath], readFileSync(w.path))
  assert.equal(r.code, 0, r.stdout + r.stderr)
  assert.match(r.stdout, /INTACT: 7 records/)
})

test('verify exits 2 with one line on stderr when it cannot run', (t) => {
  const ws = setup(t)
  const k = ws.key()
  const w = writeChain(ws.dir, k.key, { records: 2 })
  const notAKey = join(ws.dir, 'not-a-key.pem')
  writeFileSync(notAKey, 'hello')
  const cases: Array<[string[], RegExp]> = [
    [['verify', w.path], /needs --key/],
    [['verify', '--key', k.pubPath], /needs at least one PATH/],
    [['verify', w.path, '--key', join(ws.dir, 'missing.pub')], /PAC_KEY_MISSING: public key file .* cannot be read \(ENOENT\)/],
    [['verify', w.path, '--key', notAKey], /PAC_KEY_WRONG_TYPE/],
    [['verify', join(ws.dir, 'no-such.log'), '--key', k.pubPath], /PAC_INPUT: .*no-such\.log does not exist/],
    [['verify', w.path, '--key', k.pubPath, '--bogus'], /unknown option '--bogus'/],
    [['frobnicate'], /unknown command 'frobnicate'/]
  ]
  for (const [args, message] of cases) {
    const r = run(args)
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
    assert.match(r.stderr, message)
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line, no stack trace: ${r.stderr}`)
    assert.equal(r.stdout, '')
  }
})

test('--help and help print the usage and exit 0', () => {
  for (const arg of ['--help', 'help']) {
    const r = run([arg])
    assert.equal(r.code, 0)
    assert.match(r.stdout, /audit-chain verify PATH\.\.\. --key PUB/)
    assert.match(r.stdout, /audit-chain keygen --out DIR/)
  }
})

test('keygen writes a 0600 private key and a 0644 public key that verify accepts, and never overwrites', (t) => {
  const ws = setup(t)
  const out = join(ws.dir, 'new/keys')
  const r = run(['keygen', '--out', out])
  assert.equal(r.code, 0, r.stderr)
  const priv = join(out, 'audit-ed25519.key')
  const pub = join(out, 'audit-ed25519.pub')
  assert.equal(statSync(priv).mode & 0o777, 0o600)
  assert.equal(statSync(pub).mode & 0o777, 0o644)
  assert.equal(statSync(out).mode & 0o777, 0o700)
  assert.match(readFileSync(priv, 'utf8'), /^-----BEGIN PRIVATE KEY-----/)
  assert.match(readFileSync(pub, 'utf8'), /^-----BEGIN PUBLIC KEY-----/)
  const kid = /key id\s+([0-9a-f]{16})/.exec(r.stdout)?.[1]
  assert.ok(kid !== undefined, r.stdout)
  assert.ok(r.stdout.includes(priv) && r.stdout.includes(pub))

  const before = readFileSync(priv, 'utf8')
  const again = run(['keygen', '--out', out])
  assert.equal(again.code, 2)
  assert.match(again.stderr, /PAC_KEY_EXISTS: .*audit-ed25519\.key already exists; refusing to overwrite/)
  assert.equal(readFileSync(priv, 'utf8'), before, 'the existing key is untouched')

  const named = run(['keygen', '--out', out, '--name', 'writer-2'])
  assert.equal(named.code, 0, named.stderr)
  assert.ok(existsSync(join(out, 'writer-2.key')) && existsSync(join(out, 'writer-2.pub')))
  assert.equal(run(['keygen']).code, 2)
})

test('keygen --master and epochs: a master pair, then a bundle of epoch keys (0600) and master-signed certificates; bad arguments exit 2 and nothing is overwritten', (t) => {
  const ws = setup(t)
  const masterDir = join(ws.dir, 'offline')
  const m = run(['keygen', '--master', '--out', masterDir])
  assert.equal(m.code, 0, m.stderr)
  assert.match(m.stdout, /master key id\s+[0-9a-f]{16}/)
  assert.match(m.stdout, /keep it offline, never on the log host/)
  const masterKey = join(masterDir, 'audit-master.key')
  assert.equal(statSync(masterKey).mode & 0o777, 0o600)

  const out = join(ws.dir, 'host')
  const args = ['epochs', '--master', masterKey, '--start', '2026-12-01T00:00:00Z', '--interval', '6h', '--count', '8', '--out', out]
  const e = run(args)
  assert.equal(e.code, 0, e.stderr)
  assert.match(e.stdout, /first epoch\s+2026-12-01T00:00:00\.000Z – 2026-12-01T06:00:00\.000Z/)
  assert.match(e.stdout, /last epoch\s+ends 2026-12-03T00:00:00\.000Z/)
  const bundlePath = join(out, 'epoch-keys.json')
  const certsPath = join(out, 'epoch-keys.certs')
  assert.equal(statSync(bundlePath).mode & 0o777, 0o600)
  const bundle = JSON.parse(readFileSync(bundlePath, 'utf8')) as { epochs: Array<{ epoch: number, kid: string, notBefore: number, seed: string }> }
  const certs = readFileSync(certsPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { epoch: number, kid: string, notBefore: number, notAfter: number, master: string })
  assert.equal(bundle.epochs.length, 8)
  assert.deepEqual(certs.map((c) => c.kid), bundle.epochs.map((b) => b.kid), 'one certificate per key of the bundle, same order')
  assert.deepEqual(certs.map((c) => c.notAfter - c.notBefore), Array(8).fill(6 * 3600 * 1000))
  assert.ok(bundle.epochs.every((b) => /^[0-9a-f]{64}$/.test(b.seed)))
  assert.equal(readFileSync(certsPath, 'utf8').includes(bundle.epochs[0].seed), false, 'no private key in the certificates')

  const before = readFileSync(bundlePath, 'utf8')
  const again = run(args)
  assert.equal(again.code, 2)
  assert.match(again.stderr, /PAC_KEY_EXISTS: .*epoch-keys\.json already exists/)
  assert.equal(readFileSync(bundlePath, 'utf8'), before)

  const bad = (changed: string[], pattern: RegExp): void => {
    const r = run(changed)
    assert.equal(r.code, 2, r.stdout)
    assert.match(r.stderr, pattern)
  }
  const other = join(ws.dir, 'other')
  bad(['epochs', '--master', masterKey, '--start', '2026-12-01', '--interval', '1d', '--count', '3', '--out', other], /--start must be an ISO 8601 time with a time zone/)
  bad(['epochs', '--master', masterKey, '--start', '2026-12-01T00:00:00Z', '--interval', '500ms', '--count', '3', '--out', other], /--interval must be a duration of at least 1s/)
  bad(['epochs', '--master', masterKey, '--start', '2026-12-01T00:00:00Z', '--interval', '1d', '--count', '0', '--out', other], /--count must be a whole number from 1/)
  bad(['epochs', '--start', '2026-12-01T00:00:00Z', '--interval', '1d', '--count', '3', '--out', other], /epochs needs --master/)
  bad(['epochs', '--master', join(ws.dir, 'nope.key'), '--start', '2026-12-01T00:00:00Z', '--interval', '1d', '--count', '3', '--out', other], /PAC_KEY_MISSING: .*nope\.key/)
  assert.equal(existsSync(other), false, 'nothing is written for bad arguments')
})
