// Paths and keys shared by the examples. Everything goes under .demo/ (git-ignored)
// unless PAC_DEMO_DIR points elsewhere (the tests use a temp directory).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
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
    logs: join(dir, 'logs')
  }
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
