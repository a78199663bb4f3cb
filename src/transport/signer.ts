/**
 * What signs the transport's records: one long-lived key (privateKeyPath/privateKey),
 * or a bundle of epoch keys (epochKeysPath, FORMAT.md §10) of which the key of the
 * current epoch signs, and which loses each key when its epoch ends.
 */
import type { KeyObject } from 'node:crypto'
import { AuditChainError } from '../errors.js'
import { loadSigningKey, signingKeyFromPem, type SigningKey } from '../format/keys.js'
import { publicKeyFromRawHex } from '../format/epoch.js'
import { epochNow, epochOfKid, loadEpochKeys, nextEpoch, type EpochKeys, type HostEpoch } from '../epoch/epoch-keys.js'
import type { ChainTail } from './tail.js'
import type { ResolvedOptions } from './options.js'

export type Signer =
  | { kind: 'key', key: SigningKey }
  | { kind: 'epochs', keys: EpochKeys }

export function loadSigner (opts: ResolvedOptions): Signer {
  if (opts.epochKeysPath !== undefined) return { kind: 'epochs', keys: loadEpochKeys(opts.epochKeysPath) }
  const key = opts.privateKeyPath !== undefined
    ? loadSigningKey(opts.privateKeyPath)
    : signingKeyFromPem(opts.privateKey as string, 'option privateKey')
  return { kind: 'key', key }
}

/** Public keys of every key this writer signs or signed with, by key id: a log's last record made with one must verify. */
export function ownPublicKeys (signer: Signer): Map<string, KeyObject> {
  if (signer.kind === 'key') return new Map([[signer.key.kid, signer.key.publicKey]])
  return new Map(signer.keys.bundles.flatMap((b) => b.epochs).map((e) => [e.kid, publicKeyFromRawHex(e.pub)]))
}

const iso = (ms: number): string => new Date(ms).toISOString()

/**
 * The epoch whose key signs a starting writer's first record (FORMAT.md §10.4): the
 * chain's unclosed epoch when it continues one (it is closed right after, if it has
 * ended), the one after it when the chain's last record closed an epoch, else the
 * current epoch. Its key must still be there.
 */
export function startingEpoch (keys: EpochKeys, tail: ChainTail, now: number): HostEpoch {
  const current = epochNow(keys, now)
  let start = current
  if (tail.kind === 'existing') {
    const last = epochOfKid(keys, tail.last.kid)
    if (last !== undefined) {
      const closed = tail.last.event === 'epoch.close'
      // After the closed last epoch of a series with no follower, the current epoch starts a new one.
      const wanted = (closed ? nextEpoch(keys, last) : last) ?? current
      if (wanted.notBefore > current.notBefore) {
        throw new AuditChainError('PAC_EPOCH', `the log's last record (seq ${tail.last.seq}) belongs to epoch ${last.epoch} of ${last.bundle.path}${closed ? ', which it closed' : ''}, but this machine's clock (${iso(now)}) is in an earlier epoch (${current.epoch} of ${current.bundle.path}): the clock went back. Fix the clock before logging`)
      }
      start = wanted
    }
  }
  if (start.seed === null) {
    const why = start === current
      ? 'the key of the current epoch is already erased (another writer used these keys, or a clock ahead of this one closed the epoch); each log needs its own epoch keys'
      : 'the chain was last signed in that epoch, which was never closed, yet its key is gone'
    throw new AuditChainError('PAC_EPOCH', `epoch ${start.epoch} (kid ${start.kid}) of ${start.bundle.path} has no key: ${why}`)
  }
  return start
}
