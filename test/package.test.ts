/**
 * The package as a user gets it: packed from the sources (as `npm publish` would,
 * through the prepack script), installed from the tarball into a fresh app beside
 * the lowest pino the peer range allows, and the README's first screen run there
 * as written: keygen, the pasted snippet, verify. Then the CLI through npx (--version,
 * verify --help), the shipped policy resolved by package path, and init in a
 * subdirectory app whose printed snippet and verify command work as pasted.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ROOT } from './helpers.js'

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string, files: string[], peerDependencies: { pino: string } }
// The lowest pino the peer range names: '^9.0.0 || ^10.0.0' → 9.0.0.
const LOWEST_PINO = /\^(\d+\.\d+\.\d+)/.exec(pkg.peerDependencies.pino)?.[1] ?? ''

/** The README's first screen: the keygen it names, the snippet to paste, and the verify command. */
function firstScreen (): { keygen: string[], snippet: string, verify: string[] } {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const keygen = /after `npx (audit-chain keygen [^`]+)`/.exec(readme)?.[1]
  const snippet = /```js\n([\s\S]*?)```/.exec(readme)?.[1]
  const verify = /```sh\nnpx (audit-chain verify [^\n]+)\n```/.exec(readme)?.[1]
  assert.ok(keygen !== undefined && snippet !== undefined && verify !== undefined, 'the README\'s first screen has a keygen, a js snippet and a verify command')
  return { keygen: keygen.split(' '), snippet, verify: verify.split(' ') }
}

function npm (args: string[], cwd: string): string {
  return execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

test(`npm pack builds dist from a clean tree, and the tarball installed beside pino ${LOWEST_PINO} runs the README's first screen`, { timeout: 240_000 }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pac-pack-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  // A checkout without dist/, as after a clone: what is packed must be built by packing.
  const source = join(dir, 'source')
  mkdirSync(source)
  for (const entry of ['package.json', 'tsconfig.json', 'README.md', 'LICENSE', 'src', 'docs', 'config']) cpSync(join(ROOT, entry), join(source, entry), { recursive: true })
  symlinkSync(join(ROOT, 'node_modules'), join(source, 'node_modules'), 'dir')
  const tarball = npm(['pack', '--silent', '--pack-destination', dir], source).trim().split('\n').at(-1) as string
  assert.equal(tarball, `pino-audit-chain-${pkg.version}.tgz`)

  const listed = execFileSync('tar', ['tzf', join(dir, tarball)], { encoding: 'utf8' }).split('\n').filter((l) => l.length > 0)
  for (const file of ['package/dist/index.js', 'package/dist/index.d.ts', 'package/dist/cli/main.js', 'package/dist/transport/worker.js', 'package/LICENSE', 'package/README.md']) {
    assert.ok(listed.includes(file), `${file} is in the tarball`)
  }
  assert.deepEqual(listed.filter((f) => f.endsWith('.map')), [], 'no source maps pointing to sources that are not shipped')
  assert.deepEqual(listed.filter((f) => f.startsWith('package/src/') || f.startsWith('package/test/')), [])

  const app = join(dir, 'app')
  mkdirSync(app)
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'some-app', private: true, type: 'module' }))
  npm(['install', '--no-audit', '--no-fund', '--prefer-offline', join(dir, tarball), `pino@${LOWEST_PINO}`], app)
  const installed = JSON.parse(readFileSync(join(app, 'node_modules/pino/package.json'), 'utf8')) as { version: string }
  assert.equal(installed.version, LOWEST_PINO, 'one pino, the app\'s: the package brings none of its own')

  const { keygen, snippet, verify } = firstScreen()
  const bin = join(app, 'node_modules/.bin/audit-chain')
  execFileSync(bin, keygen.slice(1), { cwd: app })
  writeFileSync(join(app, 'index.js'), snippet)
  const run = spawnSync(process.execPath, ['index.js'], { cwd: app, encoding: 'utf8' })
  assert.equal(run.status, 0, run.stderr)
  const checked = spawnSync(bin, verify.slice(1), { cwd: app, encoding: 'utf8' })
  assert.equal(checked.status, 0, checked.stdout + checked.stderr)
  assert.match(checked.stdout, /INTACT: 3 records in 1 chain/)

  // The CLI through npx, as the README and its help name it.
  const npx = (args: string[], cwd = app): ReturnType<typeof spawnSync> => spawnSync('npx', ['--no-install', 'audit-chain', ...args], { cwd, encoding: 'utf8' })
  const shown = npx(['--version'])
  assert.equal(shown.status, 0, String(shown.stderr))
  assert.equal(shown.stdout, `${pkg.version}\n`)
  const help = npx(['verify', '--help'])
  assert.equal(help.status, 0, String(help.stderr))
  assert.match(String(help.stdout), /^Usage: audit-chain verify PATH\.\.\. --key PUB/)

  // The shipped policy resolves by package path, from ESM and from CommonJS.
  writeFileSync(join(app, 'resolve.mjs'), "import { createRequire } from 'node:module'\nconsole.log(import.meta.resolve('pino-audit-chain/config/audit.yaml'))\nconsole.log(createRequire(import.meta.url).resolve('pino-audit-chain/config/audit.yaml'))\n")
  const resolved = spawnSync(process.execPath, ['resolve.mjs'], { cwd: app, encoding: 'utf8' })
  assert.equal(resolved.status, 0, resolved.stderr)
  const shipped = join(realpathSync(app), 'node_modules/pino-audit-chain/config/audit.yaml')
  assert.deepEqual(resolved.stdout.trim().split('\n'), [pathToFileURL(shipped).href, shipped])

  // init in a second app gives it the policy and keys; createAuditLogger runs with them.
  const second = join(dir, 'app', 'service')
  mkdirSync(second)
  const init = npx(['init'], second)
  assert.equal(init.status, 0, String(init.stderr))
  assert.equal(readFileSync(join(second, 'config/audit.yaml'), 'utf8'), readFileSync(shipped, 'utf8'))
  const initSnippet = /^ {2}(import \{ createAuditLogger \} from 'pino-audit-chain'\n {2}const audit = createAuditLogger\(.*\))$/m.exec(String(init.stdout))?.[1]
  assert.ok(initSnippet !== undefined, String(init.stdout))
  writeFileSync(join(second, 'audit.mjs'), `${initSnippet.replace(/^ {2}/gm, '')}\naudit.logEvent('user.login', { user: 'ada' })\nawait audit.close()\n`)
  const audited = spawnSync(process.execPath, ['audit.mjs'], { cwd: second, encoding: 'utf8' })
  assert.equal(audited.status, 0, audited.stderr)
  const verifyLine = /^ {2}npx audit-chain (verify .+)$/m.exec(String(init.stdout))?.[1]
  assert.ok(verifyLine !== undefined)
  const audit = npx(verifyLine.split(' '), second)
  assert.equal(audit.status, 0, String(audit.stdout) + String(audit.stderr))
  assert.match(String(audit.stdout), /INTACT: 3 records in 1 chain/)
})
