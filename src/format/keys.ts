/**
 * Ed25519 keys: loading, key ids, signing and checking (RFC 8032, pure Ed25519,
 * through crypto/ed25519.ts: libsodium or node:crypto, one strict verdict).
 * Messages never include key material or file contents.
 */
import { createHash, createPrivateKey, createPublicKey, randomBytes, type KeyObject } from 'node:crypto'
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs'
import { AuditChainError } from '../errors.js'
import { secretKeyFromSeed, sign, verify, type SecretKey } from '../crypto/ed25519.js'
import { isStrictPublicKey } from '../crypto/strict.js'
import type { EpochCert } from './epoch.js'

export interface SigningKey {
  /** In guarded memory on libsodium; wipe it with wipeSecret when the key is done with. */
  secret: SecretKey
  publicKey: KeyObject
  publicRaw: Buffer
  /** First 16 hex characters of SHA-256 of the raw 32-byte public key (FORMAT.md §2). */
  kid: string
}

export interface VerifyKey {
  publicKey: KeyObject
  /** The raw 32-byte public key, checked against the strict rule (FORMAT.md §2.1) when loaded. */
  raw: Buffer
  kid: string
  /** Where the key came from, for reports. */
  source: string
  /**
   * The certificate of an epoch key (FORMAT.md §10.1), which bounds when it may sign;
   * absent for a key given directly (--key).
   */
  epoch?: EpochCert
}

/** Raw 32-byte Ed25519 public key (RFC 8032 §5.1.5 encoding). */
export function rawPublicKey (publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: 'jwk' })
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') {
    throw new AuditChainError('PAC_KEY_WRONG_TYPE', 'expected an Ed25519 public key')
  }
  return Buffer.from(jwk.x, 'base64url')
}

export function keyIdOf (publicKey: KeyObject): string {
  return createHash('sha256').update(rawPublicKey(publicKey)).digest('hex').slice(0, 16)
}

/** G: base64url (no padding) of the Ed25519 signature over `message`. */
export function signBytes (key: SigningKey, message: Buffer): string {
  return sign(key.secret, message).toString('base64url')
}

/** The strict verdict of FORMAT.md §2.1, whichever backend this thread has. */
export function verifyBytes (key: VerifyKey, message: Buffer, sig: string): boolean {
  return verify(key.raw, key.publicKey, message, Buffer.from(sig, 'base64url'))
}

// PKCS#8 of an Ed25519 key as node:crypto and "audit-chain keygen" write it (RFC 8410 §7):
// these 16 bytes, then the 32-byte seed.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

/** A signing key from a 32-byte seed; the caller wipes `seed`. */
export function signingKeyFromSeed (seed: Uint8Array): SigningKey {
  const { secret, publicRaw } = secretKeyFromSeed(seed)
  const publicKey = publicKeyFromRaw(publicRaw)
  return { secret, publicKey, publicRaw, kid: keyIdOfRaw(publicRaw) }
}

export function publicKeyFromRaw (raw: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' })
}

export function keyIdOfRaw (raw: Uint8Array): string {
  return createHash('sha256').update(raw).digest('hex').slice(0, 16)
}

export function signingKeyFromPem (pem: string | Buffer, source: string): SigningKey {
  let privateKey: KeyObject
  try {
    privateKey = createPrivateKey(pem)
  } catch {
    throw new AuditChainError('PAC_KEY_WRONG_TYPE', `${source} is not a PEM private key (expected PKCS#8 PEM, as written by "audit-chain keygen")`)
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new AuditChainError('PAC_KEY_WRONG_TYPE', `${source} is a ${privateKey.asymmetricKeyType ?? 'unknown'} key; expected an Ed25519 private key`)
  }
  // Only the seed goes on (into guarded memory on libsodium); the parsed copies are wiped
  // where they are Buffers. The KeyObject and the PEM text are left to the collector.
  const der = privateKey.export({ format: 'der', type: 'pkcs8' })
  try {
    if (der.length !== PKCS8_ED25519_PREFIX.length + 32 || !der.subarray(0, PKCS8_ED25519_PREFIX.length).equals(PKCS8_ED25519_PREFIX)) {
      throw new AuditChainError('PAC_KEY_WRONG_TYPE', `${source} is an Ed25519 key in an unexpected PKCS#8 layout; write it again with "audit-chain keygen"`)
    }
    return signingKeyFromSeed(der.subarray(PKCS8_ED25519_PREFIX.length))
  } finally {
    der.fill(0)
  }
}

/** Load the writer's private key from a file (see {@link readPrivateFile}). */
export function loadSigningKey (path: string, option = 'privateKeyPath'): SigningKey {
  const pem = readPrivateFile(path, option, 'private key file', '"npx audit-chain keygen --out <dir>"')
  try {
    return signingKeyFromPem(pem, `private key file ${path} (option ${option})`)
  } finally {
    pem.fill(0)
  }
}

/**
 * Read a file holding private key material (option `option`). Refuses one that others
 * can read (whoever reads it can re-sign a forged history) and one owned by another
 * user (who could swap in a key of their own, or read it when they like). The checks
 * are made on the open descriptor, so the file checked is the file read. A symlink to
 * the key is followed (secret mounts are made of them); the file it names is checked.
 * `create` says how to make one.
 */
export function readPrivateFile (path: string, option: string, what: string, create: string): Buffer {
  let fd: number
  try {
    // O_NONBLOCK: a FIFO put at the path must not hang the start.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') {
      throw new AuditChainError('PAC_KEY_MISSING', `${what} ${path} (option ${option}) does not exist; create one with ${create}`)
    }
    throw new AuditChainError('PAC_KEY_UNREADABLE', `${what} ${path} (option ${option}) cannot be read (${code ?? 'error'})`)
  }
  try {
    const stat = fstatSync(fd)
    if (!stat.isFile()) {
      throw new AuditChainError('PAC_KEY_UNREADABLE', `${what} ${path} (option ${option}) is not a regular file; create one with ${create}`)
    }
    const uid = process.geteuid?.()
    if (uid !== undefined && stat.uid !== uid) {
      throw new AuditChainError('PAC_KEY_PERMISSIONS', `${what} ${path} (option ${option}) is owned by uid ${stat.uid}, not by this process's user (uid ${uid}); a private key must belong to the user that signs with it: if the file is really yours, run "chown ${uid} ${path}" and "chmod 600 ${path}"`)
    }
    let content: Buffer
    try {
      content = readFileSync(fd)
    } catch (err) {
      throw new AuditChainError('PAC_KEY_UNREADABLE', `${what} ${path} (option ${option}) cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
    }
    // What the file is comes first: a public key given here (its loose mode is normal)
    // must not be answered with "chmod 600".
    if (content.includes(PUBLIC_PEM) && !content.includes(PRIVATE_PEM)) {
      throw new AuditChainError('PAC_KEY_WRONG_TYPE', `${what} ${path} (option ${option}) holds a public key; ${option} needs the private key (the .key file ${create} writes, not the .pub one)`)
    }
    if ((stat.mode & 0o077) !== 0) {
      content.fill(0)
      throw new AuditChainError('PAC_KEY_PERMISSIONS', `${what} ${path} (option ${option}) has mode ${(stat.mode & 0o777).toString(8).padStart(4, '0')}; it must not be readable by group or others: run "chmod 600 ${path}"`)
    }
    return content
  } finally {
    closeSync(fd)
  }
}

const PUBLIC_PEM = '-----BEGIN PUBLIC KEY-----'
const PRIVATE_PEM = 'PRIVATE KEY-----'

/** Load a public key (SPKI PEM; a private key PEM is accepted, with a warning, and reduced to its public half). */
export function loadVerifyKey (path: string): VerifyKey {
  let pem: Buffer
  try {
    pem = readFileSync(path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new AuditChainError(code === 'ENOENT' ? 'PAC_KEY_MISSING' : 'PAC_KEY_UNREADABLE', `public key file ${path} cannot be read (${code ?? 'error'})`)
  }
  if (pem.includes(PRIVATE_PEM)) {
    // Accepted (its public half is what checks), but said: a verifier never needs it.
    process.emitWarning(new AuditChainError('PAC_KEY_WRONG_TYPE', `public key file ${path} holds a private key; verifying needs only the public key (the .pub file "audit-chain keygen" writes). Keep private keys off the auditor's machine: whoever holds one can re-sign a forged history`))
  }
  let publicKey: KeyObject
  try {
    publicKey = createPublicKey(pem)
  } catch {
    throw new AuditChainError('PAC_KEY_WRONG_TYPE', `public key file ${path} is not a PEM public key (expected SPKI PEM, as written by "audit-chain keygen")`)
  }
  if (publicKey.asymmetricKeyType !== 'ed25519') {
    throw new AuditChainError('PAC_KEY_WRONG_TYPE', `public key file ${path} holds a ${publicKey.asymmetricKeyType ?? 'unknown'} key; expected Ed25519`)
  }
  const raw = rawPublicKey(publicKey)
  if (!isStrictPublicKey(raw)) {
    throw new AuditChainError('PAC_KEY_WRONG_TYPE', `public key file ${path} holds a point of small order or a non-canonical encoding, which no signature may verify with (FORMAT.md §2.1); it is not a key made by "audit-chain keygen"`)
  }
  return { publicKey, raw, kid: keyIdOfRaw(raw), source: path }
}

export function verifyKeyFromPublicKey (publicKey: KeyObject, source: string): VerifyKey {
  const raw = rawPublicKey(publicKey)
  return { publicKey, raw, kid: keyIdOfRaw(raw), source }
}

/**
 * A new Ed25519 key pair from 32 random bytes (RFC 8032 §5.1.5: any 32 bytes are a
 * private key). Not generateKeyPairSync: on Node 20 the job object it leaves behind can
 * be collected in the middle of a later export of the same key (JWK), and its destructor
 * then waits for a lock the export holds — a deadlock seen once in CI, `audit-chain
 * keygen` hanging forever in ~KeyGenJob under ExportJWKEdKey.
 */
export function newKeyPair (): { privateKey: KeyObject, publicKey: KeyObject, seed: Buffer } {
  const seed = randomBytes(32)
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' })
  return { privateKey, publicKey: createPublicKey(privateKey), seed }
}

export function generateKeyPairPem (): { privatePem: string, publicPem: string, kid: string } {
  const { privateKey, publicKey, seed } = newKeyPair()
  seed.fill(0)
  return {
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    kid: keyIdOf(publicKey)
  }
}
