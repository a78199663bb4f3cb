/**
 * What signs the transport's records: one long-lived key (privateKeyPath/privateKey),
 * or a bundle of epoch keys (epochKeysPath, FORMAT.md §10) of which the key of the
 * current epoch signs, and which loses each key when its epoch ends.
 */
import type { KeyObject } from 'node:crypto'
import { AuditChainError } from '../errors.js'
import { loadSigningKey, signingKeyFromPem, type SigningKey } from '../format/keys.js'
import { publicKeyFromRawHex } from '../format/epoch.js'
import { loadBundle, type EpochBundle, type EpochKey } from '../epoch/bundle.js'
import type { ChainTail } from './tail.js'
import type { ResolvedOptions } from './options.js'

export type Signer =
  | { kind: 'key', key: SigningKey }
  | { kind: 'epochs', bundle: EpochBundle }

export function loadSigner (opts: ResolvedOptions): Signer {
  if (opts.epochKeysPath !== undefined) return { kind: 'epochs', bundle: loadBundle(opts.epochKeysPath) }
  const key = opts.privateKeyPath !== undefined
    ? loadSigningKey(opts.privateKeyPath)
    : signingKeyFromPem(opts.privateKey as string, 'option privateKey')
  return { kind: 'key', key }
}

/** Public keys of every key this writer signs or signed with, by key id: a log's last record made with one must verify. */
export function ownPublicKeys (signer: Signer): Map<string, KeyObject> {
  if (signer.kind === 'key') return new Map([[signer.key.kid, signer.key.publicKey]])
  return new Map(signer.bundle.epochs.map((e) => [e.kid, publicKeyFromRawHex(e.pub)]))
}

const iso = (ms: number): string => new Date(ms).toISOString()

/** The epoch whose window holds `now`, or a clear error when the bundle cannot sign now. */
export function epochNow (bundle: EpochBundle, now: number): EpochKey {
  const first = bundle.epochs[0] as EpochKey
  const last = bundle.epochs.at(-1) as EpochKey
  if (now < first.notBefore) {
    throw new AuditChainError('PAC_EPOCH', `the epoch key bundle ${bundle.path} starts at ${iso(first.notBefore)}, but this machine's clock says ${iso(now)}: its first epoch has not begun. Check the clock, or generate a bundle that starts earlier`)
  }
  if (now >= last.notAfter) {
    throw new AuditChainError('PAC_EPOCH', `the epoch key bundle ${bundle.path} expired at ${iso(last.notAfter)} (its last epoch, ${last.epoch}, has ended): generate the next series with "audit-chain epochs" and point epochKeysPath at it`)
  }
  return bundle.epochs.find((e) => e.notBefore <= now && now < e.notAfter) as EpochKey
}

/**
 * The epoch whose key signs a starting writer's first record (FORMAT.md §10.4): the
 * chain's unclosed epoch when it continues one (it is closed right after, if it has
 * ended), the one after it when the chain's last record closed an epoch, else the
 * current epoch. Its key must still be in the bundle.
 */
export function startingEpoch (bundle: EpochBundle, tail: ChainTail, now: number): EpochKey {
  const current = epochNow(bundle, now)
  let start = current
  if (tail.kind === 'existing') {
    const last = bundle.epochs.find((e) => e.kid === tail.last.kid)
    if (last !== undefined) {
      const closed = tail.last.event === 'epoch.close'
      const wanted = closed ? last.epoch + 1 : last.epoch
      if (wanted > current.epoch) {
        throw new AuditChainError('PAC_EPOCH', `the log's last record (seq ${tail.last.seq}) belongs to epoch ${last.epoch} of ${bundle.path}${closed ? ', which it closed' : ''}, but this machine's clock (${iso(now)}) is in epoch ${current.epoch}: the clock went back. Fix the clock before logging`)
      }
      start = bundle.epochs.find((e) => e.epoch === wanted) as EpochKey
    }
  }
  if (start.seed === null) {
    const why = start === current
      ? 'the key of the current epoch is already erased (another writer used this bundle, or a clock ahead of this one closed the epoch); each log needs its own bundle'
      : 'the chain was last signed in that epoch, which was never closed, yet its key is gone from the bundle'
    throw new AuditChainError('PAC_EPOCH', `epoch ${start.epoch} (kid ${start.kid}) has no key in ${bundle.path}: ${why}`)
  }
  return start
}
