/**
 * The host's bundle of epoch private keys (`epoch-keys.json`, mode 0600), written by
 * `audit-chain epochs` and consumed by the transport: as each epoch ends, its key's
 * seed is overwritten with null on disk (rewrite + fsync + rename), so a thief who
 * takes the host later finds only the keys of epochs that have not ended.
 *
 *   {"v":1,"series":S,"master":MK,"epochs":[{"epoch":N,"kid":K,"pub":X,"notBefore":A,"notAfter":Z,"seed":D|null},…]}
 *
 * Not part of the record format: only the writer reads it. Epoch public data stays
 * after erasure, so a restarted writer can still check records signed with an erased key.
 */
import { AuditChainError } from '../errors.js'
import { replaceFile } from '../transport/safe-fs.js'
import { readPrivateFile, signingKeyFromSeed, type SigningKey } from '../format/keys.js'
import { wipeSecret } from '../crypto/ed25519.js'
import { kidOfRawHex } from '../format/epoch.js'

export interface EpochKey {
  epoch: number
  kid: string
  /** Raw public key, hex. */
  pub: string
  notBefore: number
  notAfter: number
  /** The 32-byte Ed25519 private seed, hex; null once the epoch has ended and the key was erased. */
  seed: string | null
}

export interface EpochBundle {
  path: string
  series: string
  master: string
  /** In epoch order, each window starting where the one before ends. */
  epochs: EpochKey[]
}

const CREATE = '"npx audit-chain epochs --master MASTER.key --start <ISO time> --interval 1d --count 365 --out <dir>"'

function invalid (path: string, option: string, why: string): AuditChainError {
  return new AuditChainError('PAC_EPOCH', `epoch key bundle ${path} (option ${option}) is not a valid bundle: ${why}. It is written by ${CREATE}`)
}

/** Read and check a bundle (mode 0600, well-formed, each key matching its public half). */
export function loadBundle (path: string, option = 'epochKeysPath'): EpochBundle {
  const text = readPrivateFile(path, option, 'epoch key bundle', CREATE).toString('utf8')
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw invalid(path, option, `not JSON (${(err as Error).message})`)
  }
  const b = value as Record<string, unknown>
  if (b === null || typeof b !== 'object' || b.v !== 1) throw invalid(path, option, 'expected an object with "v":1')
  if (typeof b.series !== 'string' || !/^[0-9a-f]{32}$/.test(b.series)) throw invalid(path, option, '"series" must be 32 hex characters')
  if (typeof b.master !== 'string' || !/^[0-9a-f]{16}$/.test(b.master)) throw invalid(path, option, '"master" must be 16 hex characters')
  if (!Array.isArray(b.epochs) || b.epochs.length === 0) throw invalid(path, option, '"epochs" must be a non-empty list')
  const epochs: EpochKey[] = []
  for (const [i, raw] of (b.epochs as unknown[]).entries()) {
    const e = raw as Record<string, unknown>
    const where = `epochs[${i}]`
    if (e === null || typeof e !== 'object') throw invalid(path, option, `${where} is not an object`)
    if (e.epoch !== (epochs.at(-1)?.epoch ?? (e.epoch as number) - 1) + 1 || !Number.isSafeInteger(e.epoch)) throw invalid(path, option, `${where}.epoch must follow the epoch before it`)
    if (typeof e.pub !== 'string' || !/^[0-9a-f]{64}$/.test(e.pub) || e.kid !== kidOfRawHex(e.pub)) throw invalid(path, option, `${where} has a pub/kid that do not match`)
    if (!Number.isSafeInteger(e.notBefore) || !Number.isSafeInteger(e.notAfter) || (e.notAfter as number) <= (e.notBefore as number)) throw invalid(path, option, `${where} has a bad window`)
    const before = epochs.at(-1)
    if (before !== undefined && before.notAfter !== e.notBefore) throw invalid(path, option, `${where} does not start where epoch ${before.epoch} ends`)
    if (e.seed !== null && (typeof e.seed !== 'string' || !/^[0-9a-f]{64}$/.test(e.seed))) throw invalid(path, option, `${where}.seed must be 64 hex characters or null`)
    epochs.push({ epoch: e.epoch as number, kid: e.kid, pub: e.pub, notBefore: e.notBefore as number, notAfter: e.notAfter as number, seed: e.seed })
  }
  return { path, series: b.series, master: b.master, epochs }
}

export function bundleText (b: Omit<EpochBundle, 'path'>): string {
  const epochs = b.epochs.map((e) => ({ epoch: e.epoch, kid: e.kid, pub: e.pub, notBefore: e.notBefore, notAfter: e.notAfter, seed: e.seed }))
  return JSON.stringify({ v: 1, series: b.series, master: b.master, epochs }) + '\n'
}

/** The signing key of an epoch whose seed is still in the bundle. */
export function signingKeyOf (b: EpochBundle, e: EpochKey): SigningKey {
  if (e.seed === null) throw new AuditChainError('PAC_EPOCH', `the key of epoch ${e.epoch} (kid ${e.kid}) was already erased from ${b.path}: that epoch has ended`)
  const seed = Buffer.from(e.seed, 'hex')
  const key = signingKeyFromSeed(seed)
  seed.fill(0)
  if (key.kid !== e.kid || key.publicRaw.toString('hex') !== e.pub) {
    wipeSecret(key.secret)
    throw new AuditChainError('PAC_EPOCH', `the seed of epoch ${e.epoch} in ${b.path} does not belong to its public key ${e.kid}: the bundle is damaged`)
  }
  return key
}

/**
 * Erase the seeds of every epoch up to `epoch` and put the bundle on disk without
 * them: write a new file beside it, fsync, rename over the old one, fsync the
 * directory. After this returns, the old bytes are gone from the file the name points to.
 */
export function eraseThrough (b: EpochBundle, epoch: number): void {
  if (!b.epochs.some((e) => e.epoch <= epoch && e.seed !== null)) return
  writeBundleFile(b.path, bundleText({ ...b, epochs: b.epochs.map((e) => e.epoch <= epoch ? { ...e, seed: null } : e) }))
  // In place: callers hold these entries.
  for (const e of b.epochs) if (e.epoch <= epoch) e.seed = null
}

/**
 * Atomically replace `path` with `text`, mode 0600. The temporary file has an
 * unpredictable name and is created with O_EXCL|O_NOFOLLOW: nothing planted beside
 * the bundle can receive the keys or redirect the write.
 */
export function writeBundleFile (path: string, text: string): void {
  try {
    replaceFile(path, text, 0o600, 'bundle file')
  } catch (err) {
    throw new AuditChainError('PAC_EPOCH', `cannot rewrite the epoch key bundle ${path} to erase an ended epoch's key (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
}
