/**
 * Parallel signature checks for the verifier. Everything else about a line (parse,
 * layout, H, key lookup) stays in the reading thread; the Ed25519 verifications, the
 * floor of the verifier's cost and independent of each other, run in a small pool of
 * worker threads, in batches (see sig-worker.ts for the wire format). The order the
 * results are used in is restored by ordered-check.ts.
 */
import type { KeyObject } from 'node:crypto'
import { AuditChainError } from '../errors.js'
import type { VerifyKey } from '../format/keys.js'
import { createBatchPool, POOL_THREAD_LIMITS } from '../threads/batch-pool.js'
import { sodiumPath } from '../crypto/backend.js'
import { SIG_WORKER_SOURCE } from './sig-worker.js'

/** One item of a request: uint32 LE key index, 32 bytes of H, 64 bytes of signature. */
export const ITEM_BYTES = 100
export const ITEM_HASH_AT = 4
export const ITEM_SIG_AT = 36

export interface SigPool {
  readonly size: number
  /** True once the threads were started (by {@link SigPool.start} or the first `verify`). */
  readonly started: boolean
  /** Start the threads, if not yet: a verify of a small log never needs them. */
  start: () => void
  /** The index an item gives for each key id of the keyring the pool was started with. */
  readonly keyIndex: ReadonlyMap<string, number>
  /**
   * One byte per item of `items` (n × {@link ITEM_BYTES}): 1 when its signature verifies.
   * When `items` is the whole of its ArrayBuffer, that buffer is transferred to a thread
   * (and unusable here afterwards); otherwise the items are copied.
   */
  verify: (items: Uint8Array) => Promise<Uint8Array>
  /** Stop the threads; pending and later `verify` calls reject. */
  close: () => Promise<void>
}

function threadFailed (index: number, why: string, cause?: unknown): AuditChainError {
  return new AuditChainError('PAC_VERIFY_FAILED', `signature-checking thread ${index} failed (${why}); the log was not verified, run verify again (--threads 1 checks without threads)`, cause === undefined ? undefined : { cause })
}

/**
 * A pool of `size` threads that check signatures with the public keys of `keyring`,
 * started on first use. The keys reach them as KeyObjects in `workerData` (structured
 * clone between threads). The threads do not keep the process alive while they have
 * no work.
 */
export function createSigPool (keyring: ReadonlyMap<string, VerifyKey>, size: number): SigPool {
  const keyIndex = new Map<string, number>()
  const keys: KeyObject[] = []
  const raw: Uint8Array[] = []
  for (const [kid, key] of keyring) {
    keyIndex.set(kid, keys.length)
    keys.push(key.publicKey)
    raw.push(key.raw)
  }
  const pool = createBatchPool<Uint8Array>({
    source: SIG_WORKER_SOURCE,
    workerData: () => ({ data: { keys, raw, sodiumPath: sodiumPath() } }),
    size,
    accept: (valid, count) => valid instanceof Uint8Array && valid.length === count ? valid : undefined,
    failed: threadFailed,
    closed: () => new AuditChainError('PAC_CLOSED', 'the signature-checking pool is closed'),
    resourceLimits: POOL_THREAD_LIMITS
  })
  return {
    size,
    keyIndex,
    get started () { return pool.started },
    start: pool.start,
    verify: async (items) => await pool.run(items, items.length / ITEM_BYTES),
    close: pool.close
  }
}
