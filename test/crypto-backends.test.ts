/**
 * One verdict whatever Ed25519 backend is installed (issue 14): libsodium through
 * sodium-native, or node:crypto when it cannot be loaded or PINO_AUDIT_CHAIN_CRYPTO=node
 * asks for it. The edge cases come from ed25519-speccheck's cases.json (fixtures/
 * ed25519-speccheck-cases.json), the test set of "Taming the Many EdDSAs" (Chalkias,
 * Garillot, Nikolaenko, SSR 2020): small-order A and R, mixed-order points, S >= L,
 * non-canonical encodings of A and R.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { cpSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { once } from 'node:events'
import { createPublicKey, randomBytes } from 'node:crypto'
import { hasCode } from '../src/errors.js'
import { loadVerifyKey, signBytes, signingKeyFromSeed, verifyKeyFromPublicKey } from '../src/format/keys.js'
import { wipeSecret } from '../src/crypto/ed25519.js'
import { createSignPool } from '../src/transport/sign-pool.js'
import { certLine, checkCertLine, kidOfRawHex, signCert } from '../src/format/epoch.js'
import { outputOf, readRecords, runInstalledApp, sandbox, ROOT } from './helpers.js'

const run = promisify(execFile)

/** This environment without the node:test child marker, so a child runs tests of its own. */
function childEnv (crypto: string | undefined): NodeJS.ProcessEnv {
  const env = { ...process.env }
  delete env.NODE_TEST_CONTEXT
  delete env.PINO_AUDIT_CHAIN_CRYPTO
  if (crypto !== undefined) env.PINO_AUDIT_CHAIN_CRYPTO = crypto
  return env
}

async function verdicts (crypto: string): Promise<{ backend: string, verdicts: Array<{ strict: boolean, bare: boolean }> }> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'test/fixtures/ed25519-verdicts.ts')], { cwd: ROOT, env: childEnv(crypto) })
  return JSON.parse(stdout)
}

// Under FORMAT.md §2.1 only case 6 verifies: a valid signature by a key of large order
// with R and S in range. Every other case has a small-order A or R (0-5, 11-14), or S >= L
// (9, 10), or needs the cofactored equation (7, 8).
const EXPECTED = Array.from({ length: 15 }, (_, i) => i === 6)

test('the speccheck cases get one verdict on libsodium and on node:crypto: only case 6 verifies', async () => {
  const sodium = await verdicts('sodium')
  const node = await verdicts('node')
  assert.equal(sodium.backend, 'libsodium')
  assert.equal(node.backend, 'node:crypto')
  assert.deepEqual(sodium.verdicts.map((v) => v.strict), EXPECTED)
  assert.deepEqual(node.verdicts.map((v) => v.strict), EXPECTED)
  // libsodium's own call already follows the rule; OpenSSL's does not (it accepts small-order
  // keys and R), which is why the node:crypto path checks the bytes first.
  assert.deepEqual(sodium.verdicts.map((v) => v.bare), EXPECTED)
  assert.notDeepEqual(node.verdicts.map((v) => v.bare), EXPECTED)
})

// y = p - Y8 with the sign bit set: a point of order 8 (speccheck case 0's key).
const SMALL_ORDER_KEY = Buffer.from('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa', 'hex')

test('a public key of small order is refused: as a --key file (PAC_KEY_WRONG_TYPE) and in an epoch certificate (bad-cert)', (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const pem = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: SMALL_ORDER_KEY.toString('base64url') }, format: 'jwk' }).export({ format: 'pem', type: 'spki' })
  const path = join(box.dir, 'keys/small.pub')
  writeFileSync(path, pem)
  assert.throws(() => loadVerifyKey(path), (err: Error) => hasCode(err, 'PAC_KEY_WRONG_TYPE') && /small order/.test(err.message))

  const master = signingKeyFromSeed(randomBytes(32))
  const pub = SMALL_ORDER_KEY.toString('hex')
  const cert = signCert(master, { series: 'a'.repeat(32), epoch: 0, kid: kidOfRawHex(pub), pub, notBefore: 0, notAfter: 1000 })
  const masters = new Map([[master.kid, verifyKeyFromPublicKey(master.publicKey, 'master')]])
  const checked = checkCertLine(certLine(cert), masters)
  assert.equal(checked.ok, false)
  assert.match((checked as { reason: string }).reason, /small order/)
  // The same certificate for a key of large order is trusted: the master's signature is fine.
  const good = signingKeyFromSeed(randomBytes(32)).publicRaw.toString('hex')
  assert.equal(checkCertLine(certLine(signCert(master, { series: 'a'.repeat(32), epoch: 0, kid: kidOfRawHex(good), pub: good, notBefore: 0, notAfter: 1000 })), masters).ok, true)
})

test('the core transport and verify tests pass on node:crypto (PINO_AUDIT_CHAIN_CRYPTO=node)', async () => {
  // The rest of the suite runs on libsodium (installed by npm ci); these files cover
  // signing inline and in threads, verifying inline and in threads, and FORMAT.md's bytes.
  const files = ['format', 'sign-pool', 'verify-pool', 'transport', 'verify'].map((f) => `test/${f}.test.ts`)
  const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=dot', ...files], { cwd: ROOT, env: childEnv('node'), stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (d) => { output += String(d) })
  child.stderr.on('data', (d) => { output += String(d) })
  const [code] = await once(child, 'exit')
  assert.equal(code, 0, output)
  assert.doesNotMatch(output, /PAC_CRYPTO_BACKEND/, 'chosen, so not warned about')
})

/** A copy of this package as installed with its optional dependency left out (npm install --omit=optional). */
function installWithoutSodium (dir: string): string {
  const pkg = join(dir, 'pkg')
  mkdirSync(join(pkg, 'node_modules'), { recursive: true })
  cpSync(join(ROOT, 'dist'), join(pkg, 'dist'), { recursive: true })
  cpSync(join(ROOT, 'package.json'), join(pkg, 'package.json'))
  for (const name of readdirSync(join(ROOT, 'node_modules'))) {
    if (name === 'sodium-native' || name.startsWith('.')) continue
    symlinkSync(join(ROOT, 'node_modules', name), join(pkg, 'node_modules', name))
  }
  return pkg
}

test('without sodium-native the transport and verify fall back to node:crypto, with one warning that says why', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const pkg = installWithoutSodium(box.dir)
  const app = join(box.dir, 'app')
  mkdirSync(join(app, 'node_modules'), { recursive: true })
  symlinkSync(pkg, join(app, 'node_modules/pino-audit-chain'))
  symlinkSync(join(ROOT, 'node_modules/pino'), join(app, 'node_modules/pino'))
  writeFileSync(join(app, 'index.js'), `
    const pino = require('pino')
    const { auditChainTransport, closeAuditTransport, verify } = require('pino-audit-chain')
    const transport = auditChainTransport(${JSON.stringify({ destination: box.log, privateKeyPath: box.keyPath, signers: 2, handleSignals: false })})
    const logger = pino(transport)
    for (let i = 0; i < 2000; i++) logger.info({ i }, 'record')
    closeAuditTransport(transport).then(() => verify([${JSON.stringify(box.log)}], { keys: [${JSON.stringify(box.pubPath)}], threads: 2 })).then((report) => {
      process.stdout.write(JSON.stringify({ ok: report.ok }))
    })
  `)
  const child = spawn(process.execPath, [join(app, 'index.js')], { cwd: app, env: childEnv(undefined), stdio: ['ignore', 'pipe', 'pipe'] })
  const { code, stdout, stderr } = await outputOf(child)
  assert.equal(code, 0, stderr)
  assert.deepEqual(JSON.parse(stdout), { ok: true })
  assert.equal(stderr.match(/falls back to node:crypto/g)?.length, 1, `one warning, from the app's thread (the worker is told to use node:crypto): ${stderr}`)
  assert.match(stderr, /falls back to node:crypto .*because sodium-native cannot be loaded: Cannot find module 'sodium-native'.*PINO_AUDIT_CHAIN_CRYPTO=node/)
  assert.equal(readRecords(box.log).length, 2002)
})

test('the signing and verify threads load libsodium from this package, not from the app\'s working directory', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  // A sodium-native in the app's own node_modules that must never be the one loaded.
  const decoy = join(box.dir, 'app/node_modules/sodium-native')
  mkdirSync(decoy, { recursive: true })
  writeFileSync(join(decoy, 'package.json'), '{"name":"sodium-native","main":"index.js"}')
  writeFileSync(join(decoy, 'index.js'), 'throw new Error("the app\'s sodium-native was loaded")')
  const { code, stderr } = await runInstalledApp(box.dir, `
    process.env.PINO_AUDIT_CHAIN_CRYPTO = 'sodium' // a libsodium that cannot be loaded is then an error, not a fallback
    const pino = require('pino')
    const { auditChainTransport, closeAuditTransport, verify } = require('pino-audit-chain')
    const transport = auditChainTransport(${JSON.stringify({ destination: box.log, privateKeyPath: box.keyPath, signers: 2, handleSignals: false })})
    transport.on('error', (err) => { console.error(err.message); process.exit(3) })
    const logger = pino(transport)
    for (let i = 0; i < 2000; i++) logger.info({ i }, 'record')
    closeAuditTransport(transport).then(() => verify([${JSON.stringify(box.log)}], { keys: [${JSON.stringify(box.pubPath)}], threads: 2 })).then((report) => {
      if (!report.ok) process.exit(4)
    })
  `)
  assert.equal(code, 0, stderr)
  assert.doesNotMatch(stderr, /PAC_CRYPTO_BACKEND|app's sodium-native/)
  assert.equal(readRecords(box.log).length, 2002)
})

test('on libsodium a signing key lives in sodium_malloc memory, and once wiped it is zeros and signs no more', () => {
  const seed = randomBytes(32)
  const key = signingKeyFromSeed(seed)
  assert.equal(key.secret.backend, 'libsodium', 'npm ci installs sodium-native')
  const bytes = (key.secret as { bytes: Buffer & { secure?: boolean } }).bytes
  assert.equal(bytes.secure, true, 'allocated by sodium_malloc')
  assert.deepEqual(bytes.subarray(0, 32), seed)
  const before = signBytes(key, Buffer.alloc(32, 1))
  wipeSecret(key.secret)
  assert.ok(bytes.every((b) => b === 0))
  assert.throws(() => signBytes(key, Buffer.alloc(32, 1)), /wiped/)
  // The same seed gives the same key and signature again: nothing else was changed.
  assert.equal(signBytes(signingKeyFromSeed(seed), Buffer.alloc(32, 1)), before)
})

test('libsodium loads in thread after thread of one process: pools started, used and closed in turn, and two at once', async () => {
  // A native addon that keeps V8 handles in static storage crashes the process when a
  // second thread loads it after the first exited (why the lock moved from fs-ext to
  // fs-native-extensions); a crash here ends this test process.
  const key = signingKeyFromSeed(randomBytes(32))
  const hashes = (): Uint8Array => new Uint8Array(randomBytes(64 * 32))
  const expected = (h: Uint8Array): string[] => Array.from({ length: 64 }, (_, i) => signBytes(key, Buffer.from(h.subarray(i * 32, (i + 1) * 32))))
  for (let round = 0; round < 8; round++) {
    const pools = round % 2 === 0 ? [createSignPool(key, 2)] : [createSignPool(key, 1), createSignPool(key, 2)]
    for (const pool of pools) {
      const h = hashes()
      const want = expected(h)
      assert.deepEqual(await pool.sign(h), want)
    }
    await Promise.all(pools.map(async (p) => { await p.close() }))
  }
})

test('PINO_AUDIT_CHAIN_CRYPTO with another value is refused naming the variable and its values', async () => {
  await assert.rejects(run(process.execPath, ['--import', 'tsx', join(ROOT, 'test/fixtures/ed25519-verdicts.ts')], { cwd: ROOT, env: childEnv('openssl') }),
    (err: Error & { stderr: string }) => /PAC_BAD_OPTION: environment variable PINO_AUDIT_CHAIN_CRYPTO is "openssl"; expected "node"/.test(err.stderr))
})
