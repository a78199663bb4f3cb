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
import { UsageError } from './usage-error.js'

export interface KeygenResult {
  kid: string
  privatePath: string
  publicPath: string
}

/**
 * Write `data` to a new file with `mode`, then chmod past the umask. O_EXCL|O_NOFOLLOW:
 * fails if anything, a symlink included, is already at `path`, so a key is never
 * written through a link planted there. `what` names the file in errors.
 */
export function writeNew (path: string, data: string, mode: number, what: 'key' | 'policy' = 'key'): void {
  let fd: number
  try {
    fd = openNoFollow(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode, `${what} file`)
  } catch (err) {
    if (err instanceof AuditChainError) throw err
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') throw existsError(path, what)
    throw new AuditChainError(what === 'key' ? 'PAC_KEY_UNREADABLE' : 'PAC_CONFIG', `cannot create ${path} (${code ?? 'error'})`)
  }
  try {
    writeSync(fd, data)
    // The umask may have cleared bits of `mode` (never added any); chmod makes it exact.
    fchmodSync(fd, mode)
  } finally {
    closeSync(fd)
  }
}

/** The refusal to overwrite: a key keeps PAC_KEY_EXISTS (as keygen always said), any other file PAC_FILE_EXISTS. */
export function existsError (path: string, what: 'key' | 'policy'): AuditChainError {
  return what === 'key'
    ? new AuditChainError('PAC_KEY_EXISTS', `${path} already exists; refusing to overwrite a key (move it away first if you really mean to replace it)`)
    : new AuditChainError('PAC_FILE_EXISTS', `${path} already exists; refusing to overwrite it (move it away first if you really mean to replace it)`)
}

export function keygen (dir: string, name = 'audit-ed25519'): KeygenResult {
  if (name.length === 0 || name.includes('/') || name.includes('\\') || name.startsWith('.')) {
    throw new AuditChainError('PAC_BAD_OPTION', `--name must be a plain file name stem (no "/", not starting with "."), got ${JSON.stringify(name)}`)
  }
  const privatePath = join(dir, `${name}.key`)
  const publicPath = join(dir, `${name}.pub`)
  // Check both first: never leave a new private key beside someone's old public key.
  for (const path of [privatePath, publicPath]) {
    if (existsSync(path)) throw existsError(path, 'key')
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

/** The options of `keygen` as the command line gives them (main.ts declares them). */
export interface KeygenCliOptions {
  out?: string
  name?: string
  master?: boolean
}

export function runKeygen (options: KeygenCliOptions): number {
  const master = options.master === true
  if (options.out === undefined || options.out.length === 0) throw new UsageError('keygen needs --out DIR: where to write the key pair')
  const result = keygen(options.out, options.name ?? (master ? 'audit-master' : undefined))
  if (master) {
    process.stdout.write(`master key id      ${result.kid}
master private key ${result.privatePath}  (mode 0600: use it only to run "audit-chain epochs", then keep it offline, never on the log host)
master public key  ${result.publicPath}  (give it to auditors: audit-chain verify LOGS --master ${result.publicPath} --certs CERTS)
`)
    return 0
  }
  process.stdout.write(`key id      ${result.kid}
private key ${result.privatePath}  (mode 0600: give it to the transport only, keep it off the log host's shared paths)
public key  ${result.publicPath}  (give it to auditors: audit-chain verify LOGS --key ${result.publicPath})
`)
  return 0
}
