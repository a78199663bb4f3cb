/**
 * `audit-chain keygen`: a new Ed25519 key pair for the transport (private, 0600)
 * and for auditors (public, 0644). Never overwrites a key: losing the old private
 * key would make its public half the only way to check the old logs.
 */
import { closeSync, constants, existsSync, fchmodSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { AuditChainError } from '../errors.js'
import { generateKeyPairPem } from '../format/keys.js'
import { assertSafeDirectory, makeDirectory, openNoFollow } from '../transport/safe-fs.js'

export interface KeygenResult {
  kid: string
  privatePath: string
  publicPath: string
}

/**
 * Write `data` to a new file with `mode`, then chmod past the umask. O_EXCL|O_NOFOLLOW:
 * fails if anything, a symlink included, is already at `path`, so a key is never
 * written through a link planted there.
 */
function writeNew (path: string, data: string, mode: number): void {
  let fd: number
  try {
    fd = openNoFollow(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode, 'key file')
  } catch (err) {
    if (err instanceof AuditChainError) throw err
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') throw new AuditChainError('PAC_KEY_EXISTS', `${path} already exists; refusing to overwrite a key (move it away first if you really mean to replace it)`)
    throw new AuditChainError('PAC_KEY_UNREADABLE', `cannot create ${path} (${code ?? 'error'})`)
  }
  try {
    writeSync(fd, data)
    // The umask may have cleared bits of `mode` (never added any); chmod makes it exact.
    fchmodSync(fd, mode)
  } finally {
    closeSync(fd)
  }
}

export function keygen (dir: string, name = 'audit-ed25519'): KeygenResult {
  if (name.length === 0 || name.includes('/') || name.includes('\\') || name.startsWith('.')) {
    throw new AuditChainError('PAC_BAD_OPTION', `--name must be a plain file name stem (no "/", not starting with "."), got ${JSON.stringify(name)}`)
  }
  const privatePath = join(dir, `${name}.key`)
  const publicPath = join(dir, `${name}.pub`)
  // Check both first: never leave a new private key beside someone's old public key.
  for (const path of [privatePath, publicPath]) {
    if (existsSync(path)) throw new AuditChainError('PAC_KEY_EXISTS', `${path} already exists; refusing to overwrite a key (move it away first if you really mean to replace it)`)
  }
  try {
    makeDirectory(dir, 0o700, 'the key directory')
  } catch (err) {
    if (err instanceof AuditChainError) throw err
    throw new AuditChainError('PAC_KEY_UNREADABLE', `cannot create directory ${dir} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
  }
  // Others who can write there could swap the new private key for their own.
  assertSafeDirectory(dir, 'key directory')
  const { privatePem, publicPem, kid } = generateKeyPairPem()
  writeNew(privatePath, privatePem, 0o600)
  writeNew(publicPath, publicPem, 0o644)
  return { kid, privatePath, publicPath }
}
