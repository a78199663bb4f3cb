/**
 * `audit-chain init` and reading createAuditLogger's logs/audit, with the built CLI
 * (dist/cli/main.js) in child processes and an app in a child process of its own:
 * init gives an app its own copy of the shipped policy and a key pair, the printed
 * snippet works as pasted, and `verify logs` finds the logs one directory down.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { ROOT } from './helpers.js'

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))
const SHIPPED_POLICY = join(ROOT, 'config/audit.yaml')

function run (args: string[], cwd: string): { code: number | null, stdout: string, stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8' })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

function tempDir (t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'pac-init-'))
  t.after(() => { rmSync(dir, { recursive: true, force: true }) })
  return dir
}

/** The snippet init printed, with the package name pointing at this checkout's build. */
function appFrom (printed: string): string {
  const snippet = /^ {2}(import \{ createAuditLogger \} from 'pino-audit-chain')\n {2}(const audit = createAuditLogger\(.*\))$/m.exec(printed)
  assert.ok(snippet !== null, `init prints the createAuditLogger snippet:\n${printed}`)
  const imported = snippet[1].replace("'pino-audit-chain'", `'${pathToFileURL(join(ROOT, 'dist/index.js')).href}'`)
  return `${imported}\n${snippet[2]}\naudit.logEvent('user.login', { user: 'ada', method: 'sso' })\nawait audit.close()\n`
}

test('init writes the shipped policy and a key pair, prints a snippet that works as pasted and the verify command that checks its logs', (t) => {
  const app = tempDir(t)
  const r = run(['init'], app)
  assert.equal(r.code, 0, r.stderr)
  assert.equal(readFileSync(join(app, 'config/audit.yaml'), 'utf8'), readFileSync(SHIPPED_POLICY, 'utf8'), 'an exact copy of the shipped policy')
  assert.equal(statSync(join(app, 'keys/audit-ed25519.key')).mode & 0o777, 0o600)
  assert.equal(statSync(join(app, 'keys')).mode & 0o777, 0o700)
  assert.match(readFileSync(join(app, 'keys/audit-ed25519.pub'), 'utf8'), /^-----BEGIN PUBLIC KEY-----/)

  writeFileSync(join(app, 'app.mjs'), appFrom(r.stdout))
  const logged = spawnSync(process.execPath, ['app.mjs'], { cwd: app, encoding: 'utf8' })
  assert.equal(logged.status, 0, logged.stderr)
  assert.ok(existsSync(join(app, 'logs/audit/audit.log')), 'the policy puts the log in logs/audit, beside config/')

  const verifyLine = /^ {2}npx (audit-chain verify .+)$/m.exec(r.stdout)?.[1]
  assert.equal(verifyLine, 'audit-chain verify logs/audit --key keys/audit-ed25519.pub')
  const checked = run(verifyLine.split(' ').slice(1), app)
  assert.equal(checked.code, 0, checked.stdout + checked.stderr)
  assert.match(checked.stdout, /INTACT: 3 records in 1 chain/)
})

test('init DIR sets up another directory, with the paths printed relative to where it ran', (t) => {
  const here = tempDir(t)
  const r = run(['init', 'services/api'], here)
  assert.equal(r.code, 0, r.stderr)
  for (const file of ['services/api/config/audit.yaml', 'services/api/keys/audit-ed25519.key', 'services/api/keys/audit-ed25519.pub']) {
    assert.ok(existsSync(join(here, file)), file)
    assert.ok(r.stdout.includes(file), `the output names ${file}`)
  }
  assert.ok(r.stdout.includes("createAuditLogger({ config: 'services/api/config/audit.yaml' })"))
})

test('init never overwrites: an existing policy or key is named, exit 2, and nothing is written', (t) => {
  const app = tempDir(t)
  assert.equal(run(['init'], app).code, 0)
  const policy = join(app, 'config/audit.yaml')
  writeFileSync(policy, 'log_level: minimal\n')
  const key = readFileSync(join(app, 'keys/audit-ed25519.key'), 'utf8')

  const again = run(['init'], app)
  assert.equal(again.code, 2)
  assert.equal(again.stderr, 'audit-chain: PAC_FILE_EXISTS: config/audit.yaml already exists; refusing to overwrite it (move it away first if you really mean to replace it)\n')
  assert.equal(readFileSync(policy, 'utf8'), 'log_level: minimal\n', 'the edited policy is kept')

  // Without the policy, the key is what stops it, before the policy is written again.
  unlinkSync(policy)
  const keyFirst = run(['init'], app)
  assert.equal(keyFirst.code, 2)
  assert.match(keyFirst.stderr, /^audit-chain: PAC_KEY_EXISTS: keys\/audit-ed25519\.key already exists; refusing to overwrite a key/)
  assert.equal(existsSync(policy), false, 'all files are checked before any is written')
  assert.equal(readFileSync(join(app, 'keys/audit-ed25519.key'), 'utf8'), key)
})

test('verify and show on a directory whose logs are one level down: the message names them; --recursive reads them', (t) => {
  const app = tempDir(t)
  const init = run(['init'], app)
  writeFileSync(join(app, 'app.mjs'), appFrom(init.stdout))
  assert.equal(spawnSync(process.execPath, ['app.mjs'], { cwd: app }).status, 0)

  const flat = run(['verify', 'logs', '--key', 'keys/audit-ed25519.pub'], app)
  assert.equal(flat.code, 1)
  assert.match(flat.stdout, /no log file was found in the paths given: there is nothing to verify; logs\/audit has 1 log file: give that directory, or add --recursive/)

  for (const flag of ['--recursive', '-r']) {
    const deep = run(['verify', 'logs', flag, '--key', 'keys/audit-ed25519.pub'], app)
    assert.equal(deep.code, 0, deep.stdout + deep.stderr)
    assert.match(deep.stdout, /INTACT: 3 records in 1 chain \(1 file\)/)
  }
  const shown = run(['show', 'logs', '-r', '--key', 'keys/audit-ed25519.pub', '--format', 'json'], app)
  assert.equal(shown.code, 0, shown.stderr)
  assert.deepEqual(shown.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { event: string }).event), ['user.login'])
})
