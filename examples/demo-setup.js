// Paths and keys shared by the examples. Everything goes under .demo/ (git-ignored)
// unless PAC_DEMO_DIR points elsewhere (the tests use a temp directory).
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))
export const CLI = join(ROOT, 'dist/cli/main.js')

export function demoPaths () {
  const dir = process.env.PAC_DEMO_DIR ?? join(ROOT, '.demo')
  const keys = join(dir, 'keys')
  return {
    dir,
    keys,
    privateKey: join(keys, 'audit-ed25519.key'),
    publicKey: join(keys, 'audit-ed25519.pub'),
    masterKey: join(keys, 'audit-master.key'),
    masterPublicKey: join(keys, 'audit-master.pub'),
    epochs: join(dir, 'epochs'),
    logs: join(dir, 'logs')
  }
}

function cli (args) {
  const run = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' })
  if (run.status !== 0) throw new Error(`audit-chain ${args[0]} failed (${run.status}): ${run.stderr}`)
  return run.stdout
}

/**
 * Forward-security mode: a master key (kept offline in real life) and a fresh series
 * of short epochs starting now, so the demo crosses an epoch boundary while it runs.
 * Returns the bundle (for the transport) and the certificates (for the verifier).
 */
export function ensureEpochKeys (paths, intervalSeconds) {
  if (!existsSync(paths.masterKey)) cli(['keygen', '--master', '--out', paths.keys])
  rmSync(paths.epochs, { recursive: true, force: true })
  const start = Math.floor(Date.now() / 1000) * 1000
  cli(['epochs', '--master', paths.masterKey, '--start', new Date(start).toISOString(), '--interval', `${intervalSeconds}s`, '--count', '100', '--out', paths.epochs])
  return { bundle: join(paths.epochs, 'epoch-keys.json'), certs: join(paths.epochs, 'epoch-keys.certs'), start }
}

/** Create the demo key pair if absent: with `audit-chain keygen` when built, else in-process. */
export async function ensureKeys (paths = demoPaths()) {
  if (existsSync(paths.privateKey)) return paths
  if (existsSync(CLI)) {
    const run = spawnSync(process.execPath, [CLI, 'keygen', '--out', paths.keys], { encoding: 'utf8' })
    if (run.status !== 0) throw new Error(`audit-chain keygen failed (${run.status}): ${run.stderr}`)
    return paths
  }
  // Same files keygen writes: PKCS#8 private key 0600, SPKI public key.
  const { generateKeyPairPem } = await import('pino-audit-chain')
  const { privatePem, publicPem } = generateKeyPairPem()
  mkdirSync(paths.keys, { recursive: true, mode: 0o700 })
  writeFileSync(paths.privateKey, privatePem, { mode: 0o600 })
  writeFileSync(paths.publicKey, publicPem)
  return paths
}
