/**
 * Parallel signing for the transport. The hash chain stays sequential in the
 * transport thread (chain.ts `prepare`); the Ed25519 signatures, independent of each
 * other and the floor of our cost, are computed in a small pool of worker threads,
 * batched (arrays of 32-byte hashes out, signatures back). `createSigningQueue` puts
 * the lines back in seq order: a record is written only after it and every record
 * before it has its signature.
 */
import { AuditChainError } from '../errors.js'
import { sodiumPath } from '../crypto/backend.js'
import { seedCopy } from '../crypto/ed25519.js'
import type { SigningKey } from '../format/keys.js'
import type { Chain, PreparedRecord } from './chain.js'
import { createBatchPool, POOL_THREAD_LIMITS } from '../threads/batch-pool.js'
import { SIGN_WORKER_SOURCE } from './sign-worker.js'

/** H is a SHA-256: 32 bytes. */
const HASH_BYTES = 32
// A signature's slot in a response: 64 bytes + 2 zero bytes = 88 base64url characters,
// of which the first 86 are G (see sign-worker.ts).
const SLOT_CHARS = 88
const SIG_CHARS = 86

export interface SignPool {
  readonly size: number
  /** G (base64url) for each 32-byte hash in `hashes`, in order. */
  sign: (hashes: Uint8Array) => Promise<string[]>
  /** Stop the threads; pending and later `sign` calls reject. */
  close: () => Promise<void>
}

function signerFailed (index: number, why: string, cause?: unknown): AuditChainError {
  return new AuditChainError('PAC_WRITE_FAILED', `signing thread ${index} failed (${why}); records not signed yet were not written`, cause === undefined ? undefined : { cause })
}

/**
 * Start `size` signing threads holding `key`. On libsodium each gets the seed in an
 * ArrayBuffer of its own, transferred (not copied) and wiped there once expanded into
 * guarded memory; on node:crypto a KeyObject (structured clone between threads). Never
 * as text. `close` has every thread zero its key. The threads do not keep the process
 * alive while they have no work.
 */
export function createSignPool (key: SigningKey, size: number): SignPool {
  const addon = key.secret.backend === 'libsodium' ? sodiumPath() : undefined
  const pool = createBatchPool<string>({
    // Plain source text, so the thread needs no module loader of ours (see sign-worker.ts).
    source: SIGN_WORKER_SOURCE,
    workerData: () => {
      if (addon === undefined) return { data: { privateKey: key.secret.backend === 'node:crypto' ? key.secret.key : undefined } }
      const seed = seedCopy(key.secret)
      return { data: { sodiumPath: addon, seed }, transfer: [seed] }
    },
    size,
    accept: (sigs, count) => typeof sigs === 'string' && sigs.length === count * SLOT_CHARS ? sigs : undefined,
    failed: signerFailed,
    closed: () => new AuditChainError('PAC_CLOSED', 'the sign pool is closed'),
    resourceLimits: POOL_THREAD_LIMITS
  })
  pool.start()
  return {
    size,
    async sign (hashes) {
      const count = hashes.length / HASH_BYTES
      const sigs = await pool.run(hashes, count)
      const out = new Array<string>(count)
      for (let i = 0; i < count; i++) out[i] = sigs.slice(i * SLOT_CHARS, i * SLOT_CHARS + SIG_CHARS)
      return out
    },
    close: pool.close
  }
}

/** Pieces smaller than this are not split further across threads: a message costs more than a few signatures. */
const MIN_PIECE = 32
// Records per batch at most: a batch is sent as soon as it is this full, so the threads
// start signing while the transport thread still hashes the next ones (~10 ms of signing
// per thread at 28k signatures/s on 2 threads).
const MAX_BATCH = 512

export interface SigningQueue {
  /** Records accepted (prepared) and not written yet. */
  readonly pending: number
  /** Characters of those records' bodies: what they hold in memory. */
  readonly pendingChars: number
  /** Accept the chain's next record; its line is written once it and all before it are signed. */
  add: (record: PreparedRecord) => void
  /** Call `cb` once `pending` is below `records` and `pendingChars` below `chars` (at once if they are). */
  whenBelow: (records: number, chars: number, cb: () => void) => void
  /** Resolves when every accepted record is written; rejects with the first failure. */
  drain: () => Promise<void>
}

interface Batch {
  records: PreparedRecord[]
  sigs: string[] | undefined
}

/**
 * Ordered writing on top of a pool: records are collected for the rest of the current
 * turn of the event loop, sent as one batch split across the threads, and their lines
 * handed to `write` strictly in seq order. A failure (a thread crash, a failed write)
 * goes to `onError` once; nothing after the failed record is written.
 */
export function createSigningQueue (chain: Chain, pool: SignPool, write: (text: string) => void, onError: (err: Error) => void): SigningQueue {
  const batches: Batch[] = []
  let open: PreparedRecord[] = []
  let scheduled = false
  let pending = 0
  let pendingChars = 0
  let failure: Error | undefined
  let waiters: Array<{ records: number, chars: number, cb: () => void }> = []
  const below = (w: { records: number, chars: number }): boolean => pending < w.records && pendingChars < w.chars
  let drainers: Array<{ resolve: () => void, reject: (err: Error) => void }> = []

  const settle = (): void => {
    if (failure !== undefined) {
      const ds = drainers
      drainers = []
      for (const d of ds) d.reject(failure)
      waiters = []
      return
    }
    if (waiters.length > 0) {
      const ready = waiters.filter(below)
      waiters = waiters.filter((w) => !below(w))
      for (const w of ready) w.cb()
    }
    if (pending === 0 && drainers.length > 0) {
      const ds = drainers
      drainers = []
      for (const d of ds) d.resolve()
    }
  }

  const fail = (err: Error): void => {
    if (failure !== undefined) return
    failure = err
    settle()
    onError(err)
  }

  const writeReady = (): void => {
    let text = ''
    let count = 0
    let chars = 0
    while (batches.length > 0 && (batches[0] as Batch).sigs !== undefined) {
      const { records, sigs } = batches.shift() as Batch
      for (let i = 0; i < records.length; i++) {
        const record = records[i] as PreparedRecord
        text += chain.complete(record, (sigs as string[])[i] as string)
        chars += record.body.length
      }
      count += records.length
    }
    if (count === 0) return
    try {
      write(text)
    } catch (err) {
      fail(err as Error)
      return
    }
    pending -= count
    pendingChars -= chars
    settle()
  }

  const dispatch = (): void => {
    if (open.length === 0 || failure !== undefined) return
    const records = open
    open = []
    const batch: Batch = { records, sigs: undefined }
    batches.push(batch)
    const pieces = Math.max(1, Math.min(pool.size, Math.floor(records.length / MIN_PIECE)))
    const per = Math.ceil(records.length / pieces)
    const signed: Array<Promise<string[]>> = []
    for (let start = 0; start < records.length; start += per) {
      const end = Math.min(records.length, start + per)
      // A fresh ArrayBuffer per piece: it is transferred to the thread, not copied.
      const hashes = Buffer.from(new ArrayBuffer((end - start) * HASH_BYTES))
      for (let i = start; i < end; i++) hashes.write((records[i] as PreparedRecord).hash, (i - start) * HASH_BYTES, HASH_BYTES, 'hex')
      signed.push(pool.sign(hashes))
    }
    Promise.all(signed).then((parts) => {
      if (failure !== undefined) return
      batch.sigs = parts.length === 1 ? parts[0] : parts.flat()
      writeReady()
    }, fail)
  }

  const dispatchLater = (): void => {
    scheduled = false
    dispatch()
  }

  return {
    get pending () { return pending },
    get pendingChars () { return pendingChars },
    add (record) {
      if (failure !== undefined) throw failure
      open.push(record)
      pending++
      pendingChars += record.body.length
      if (open.length >= MAX_BATCH) {
        dispatch()
      } else if (!scheduled) {
        scheduled = true
        setImmediate(dispatchLater)
      }
    },
    whenBelow (records, chars, cb) {
      if (failure !== undefined) return
      const waiter = { records, chars, cb }
      if (below(waiter)) cb()
      else waiters.push(waiter)
    },
    drain () {
      if (failure !== undefined) return Promise.reject(failure)
      if (pending === 0) return Promise.resolve()
      return new Promise((resolve, reject) => { drainers.push({ resolve, reject }) })
    }
  }
}
