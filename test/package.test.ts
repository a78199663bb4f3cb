/**
 * The package as a user gets it: packed from the sources (as `npm publish` would,
 * through the prepack script), installed from the tarball into a fresh app beside
 * the lowest pino the peer range allows, and the README's first screen run there
 * as written: keygen, the pasted snippet, verify.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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
})
