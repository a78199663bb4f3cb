/**
 * Epoch certificates (FORMAT.md §10): the master key vouches, line by line, for each
 * epoch key's public half and the time window it may sign in. One cert line:
 *
 *   {"v":1,"series":S,"epoch":N,"kid":K,"pub":X,"notBefore":A,"notAfter":Z,"master":MK,"sig":G}
 *
 * G signs the UTF-8 bytes of "pac1-epoch|S|N|K|X|A|Z|MK" with the master key MK.
 */
import { createHash, type KeyObject } from 'node:crypto'
import { isStrictPublicKey } from '../crypto/strict.js'
import { publicKeyFromRaw, signBytes, verifyBytes, type SigningKey, type VerifyKey } from './keys.js'

export interface EpochCert {
  /** 32 hex: one `audit-chain epochs` run; epochs of a series are numbered from 0. */
  series: string
  epoch: number
  /** Key id of the epoch key (FORMAT.md §2). */
  kid: string
  /** The epoch key's raw 32-byte Ed25519 public key, hex. */
  pub: string
  /** The window [notBefore, notAfter) in milliseconds since the Unix epoch. */
  notBefore: number
  notAfter: number
  /** Key id of the master key that signed this certificate. */
  master: string
  /** base64url Ed25519 signature by the master key over {@link certMessage}. */
  sig: string
}

const HEX32 = /^[0-9a-f]{32}$/
const HEX16 = /^[0-9a-f]{16}$/
const HEX64 = /^[0-9a-f]{64}$/
const SIG = /^[A-Za-z0-9_-]{86}$/

/** The bytes the master key signs. */
export function certMessage (c: Omit<EpochCert, 'sig'>): Buffer {
  return Buffer.from(`pac1-epoch|${c.series}|${c.epoch}|${c.kid}|${c.pub}|${c.notBefore}|${c.notAfter}|${c.master}`, 'utf8')
}

/** The cert line (no `\n`), members in the documented order. */
export function certLine (c: EpochCert): string {
  return JSON.stringify({ v: 1, series: c.series, epoch: c.epoch, kid: c.kid, pub: c.pub, notBefore: c.notBefore, notAfter: c.notAfter, master: c.master, sig: c.sig })
}

export function signCert (master: SigningKey, c: Omit<EpochCert, 'sig' | 'master'>): EpochCert {
  const unsigned = { ...c, master: master.kid }
  return { ...unsigned, sig: signBytes(master, certMessage(unsigned)) }
}

/** Key id of a raw public key given as hex (FORMAT.md §2). */
export function kidOfRawHex (pubHex: string): string {
  return createHash('sha256').update(Buffer.from(pubHex, 'hex')).digest('hex').slice(0, 16)
}

/** A KeyObject for a raw 32-byte Ed25519 public key given as hex. */
export function publicKeyFromRawHex (pubHex: string): KeyObject {
  return publicKeyFromRaw(Buffer.from(pubHex, 'hex'))
}

const isMs = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0

/**
 * Parse one cert line and check it against the master keys given. Returns the cert,
 * or why it cannot be trusted (a reason a person understands).
 */
export function checkCertLine (text: string, masters: ReadonlyMap<string, VerifyKey>): { ok: true, cert: EpochCert } | { ok: false, reason: string } {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    return { ok: false, reason: `not JSON (${(err as Error).message})` }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { ok: false, reason: 'not a JSON object' }
  const c = value as Record<string, unknown>
  if (c.v !== 1) return { ok: false, reason: `v must be 1, got ${JSON.stringify(c.v)}` }
  if (typeof c.series !== 'string' || !HEX32.test(c.series)) return { ok: false, reason: 'series must be 32 lowercase hex characters' }
  if (!isMs(c.epoch)) return { ok: false, reason: 'epoch must be a whole number >= 0' }
  if (typeof c.kid !== 'string' || !HEX16.test(c.kid)) return { ok: false, reason: 'kid must be 16 lowercase hex characters' }
  if (typeof c.pub !== 'string' || !HEX64.test(c.pub)) return { ok: false, reason: 'pub must be 64 lowercase hex characters (the raw public key)' }
  if (!isMs(c.notBefore) || !isMs(c.notAfter) || c.notAfter <= c.notBefore) return { ok: false, reason: 'notBefore and notAfter must be whole milliseconds with notBefore < notAfter' }
  if (typeof c.master !== 'string' || !HEX16.test(c.master)) return { ok: false, reason: 'master must be 16 lowercase hex characters' }
  if (typeof c.sig !== 'string' || !SIG.test(c.sig) || Buffer.from(c.sig, 'base64url').toString('base64url') !== c.sig) return { ok: false, reason: 'sig must be 86 base64url characters (the canonical spelling)' }
  const cert: EpochCert = { series: c.series, epoch: c.epoch, kid: c.kid, pub: c.pub, notBefore: c.notBefore, notAfter: c.notAfter, master: c.master, sig: c.sig }
  if (kidOfRawHex(cert.pub) !== cert.kid) return { ok: false, reason: `kid ${cert.kid} is not the key id of pub` }
  // Checked before the master's signature: a master key must not be able to vouch for a
  // key that the strict rule would make verify (or fail) depending on the backend.
  if (!isStrictPublicKey(Buffer.from(cert.pub, 'hex'))) return { ok: false, reason: 'pub is a point of small order or a non-canonical encoding, which no signature may verify with (FORMAT.md §2.1)' }
  const master = masters.get(cert.master)
  if (master === undefined) return { ok: false, reason: `signed by master key ${cert.master}, which is not one of the master keys given (--master)` }
  if (!verifyBytes(master, certMessage(cert), cert.sig)) return { ok: false, reason: 'the master key\'s signature does not verify: the certificate was changed' }
  return { ok: true, cert }
}
