/**
 * Parallel signature checks for the verifier. Everything else about a line (parse,
 * layout, H, key lookup) stays in the reading thread; the Ed25519 verifications, the
 * floor of the verifier's cost and independent of each other, run in a small pool of
 * worker threads, in batches (see sig-worker.ts for the wire format). The order the
 * results are used in is restored by ordered-check.ts.
 */
import { Worker } from 'node:worker_threads'
import type { KeyObject } from 'node:crypto'
import { AuditChainError } from '../errors.js'
import type { VerifyKey } from '../format/keys.js'
import { SIG_WORKER_SOURCE } from './sig-worker.js'

/** One item of a request: uint32 LE key index, 32 bytes of H, 64 bytes of signature. */
export const ITEM_BYTES = 100
export const ITEM_HASH_AT = 4
export const ITEM_SIG_AT = 36

interface VerifyRequest { id: number, items: Uint8Array }
interface VerifyResponse { id: number, valid: Uint8Array }

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

interface Waiter { count: number, resolve: (valid: Uint8Array) => void, reject: (err: Error) => void }

interface Thread {
  worker: Worker
  waiting: Map<number, Waiter>
  /** Items sent and not answered yet: work goes to the least loaded thread. */
  load: number
  exited: boolean
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
  for (const [kid, key] of keyring) {
    keyIndex.set(kid, keys.length)
    keys.push(key.publicKey)
  }
  let nextId = 0
  let failure: Error | undefined
  let closed = false
  let started = false
  const threads: Thread[] = []

  const fail = (err: Error): void => {
    failure ??= err
    for (const thread of threads) {
      for (const { reject } of thread.waiting.values()) reject(failure)
      thread.waiting.clear()
      thread.load = 0
      if (!thread.exited) void thread.worker.terminate()
    }
  }

  const startThreads = (): void => {
    for (let index = 0; index < size; index++) {
      let worker: Worker
      try {
        worker = new Worker(SIG_WORKER_SOURCE, { eval: true, workerData: { keys } })
      } catch (err) {
        fail(threadFailed(index, `it could not start: ${(err as Error).message}`, err))
        break
      }
      worker.unref()
      const thread: Thread = { worker, waiting: new Map(), load: 0, exited: false }
      worker.on('message', ({ id, valid }: VerifyResponse) => {
        const waiter = thread.waiting.get(id)
        if (waiter === undefined) return
        thread.waiting.delete(id)
        thread.load -= waiter.count
        if (thread.waiting.size === 0) worker.unref()
        if (!(valid instanceof Uint8Array) || valid.length !== waiter.count) {
          fail(threadFailed(index, 'it answered with the wrong number of results'))
          return
        }
        waiter.resolve(valid)
      })
      worker.on('error', (err) => { fail(threadFailed(index, err.message, err)) })
      worker.on('exit', (code) => {
        thread.exited = true
        if (!closed) fail(threadFailed(index, `it exited with code ${code}`))
      })
      threads.push(thread)
    }
  }

  const start = (): void => {
    if (started || closed) return
    started = true
    startThreads()
  }

  return {
    size,
    keyIndex,
    get started () { return started },
    start,
    verify (items) {
      if (closed) return Promise.reject(new AuditChainError('PAC_CLOSED', 'the signature-checking pool is closed'))
      start()
      if (failure !== undefined) return Promise.reject(failure)
      let thread = threads[0] as Thread
      for (const t of threads) if (t.load < thread.load) thread = t
      const count = items.length / ITEM_BYTES
      const id = nextId++
      return new Promise<Uint8Array>((resolve, reject) => {
        if (thread.waiting.size === 0) thread.worker.ref() // work in flight keeps the process alive
        thread.waiting.set(id, { count, resolve, reject })
        thread.load += count
        // Transfer the caller's buffer when the items are all of it; copy a view of a larger (or pooled) one.
        const whole = items.byteOffset === 0 && items.byteLength === items.buffer.byteLength && items.buffer instanceof ArrayBuffer
        const request: VerifyRequest = { id, items: whole ? items : new Uint8Array(items) }
        thread.worker.postMessage(request, [request.items.buffer as ArrayBuffer])
      })
    },
    async close () {
      if (closed) return
      closed = true
      fail(new AuditChainError('PAC_CLOSED', 'the signature-checking pool is closed'))
      await Promise.all(threads.map(async (t) => { if (!t.exited) await t.worker.terminate() }))
    }
  }
}
