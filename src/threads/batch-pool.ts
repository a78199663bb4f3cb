/**
 * A small pool of worker threads that each answer batches: the machinery the
 * transport's signing threads (transport/sign-pool.ts) and the verifier's
 * signature-checking threads (verify/sig-pool.ts) share. A batch is one Uint8Array of
 * n fixed-size items, sent to the least loaded thread (transferred when it is the whole
 * of its buffer); the thread answers `{ id, result }`. The program is plain source text
 * run with `eval: true` (see transport/sign-worker.ts for why).
 *
 * Request `{ id, data: Uint8Array }` → response `{ id, result }`; `{ close: true }` asks
 * the thread to wipe what it holds and exit (it is terminated if it has not within
 * {@link CLOSE_GRACE_MS}). A thread that throws,
 * exits or answers malformed fails the pool: every pending and later batch rejects with
 * the caller's error, so no caller can go on as if its work had been done.
 */
import { Worker, type ResourceLimits } from 'node:worker_threads'

/** How long a closing thread may take to wipe its key and exit before it is terminated. */
const CLOSE_GRACE_MS = 2000

export interface BatchPoolSpec<T> {
  /** The thread's program, as source text. */
  source: string
  /**
   * Thread `index`'s `workerData` (structured clone: KeyObjects cross as keys, not text),
   * and the ArrayBuffers in it to transfer rather than copy (a key seed, which the
   * thread wipes once it holds the key).
   */
  workerData: (index: number) => { data: unknown, transfer?: ArrayBuffer[] }
  size: number
  /** The answer to a batch of `count` items, or undefined when `result` is malformed. */
  accept: (result: unknown, count: number) => T | undefined
  /** The error a failed thread `index` means to the caller, saying `why`. */
  failed: (index: number, why: string, cause?: unknown) => Error
  /** The error for batches sent after (or pending at) `close`. */
  closed: () => Error
  /**
   * Heap limits of each thread (see {@link POOL_THREAD_LIMITS}). A thread that reaches
   * them is ended by Node with ERR_WORKER_OUT_OF_MEMORY and fails the pool like any
   * other crash.
   */
  resourceLimits?: ResourceLimits
}

/**
 * The heap limits the signing and signature-checking threads run with. They hold a
 * batch or two at a time (tens of KiB in, one answer out) and allocate little else, so
 * 1 MiB semi-spaces (3 MiB of young generation) are plenty, where V8's default lets
 * each young generation grow to 16 MiB semi-spaces. The old generation is left at V8's
 * default: a limit there would only add a way to crash.
 */
export const POOL_THREAD_LIMITS: ResourceLimits = { maxYoungGenerationSizeMb: 3 }

export interface BatchPool<T> {
  readonly size: number
  /** True once the threads were started (by `start` or the first `run`). */
  readonly started: boolean
  /** Start the threads, if not yet. */
  start: () => void
  /**
   * Send a batch of `count` items. When `data` is the whole of its ArrayBuffer, that
   * buffer is transferred (unusable here afterwards); otherwise it is copied.
   */
  run: (data: Uint8Array, count: number) => Promise<T>
  /** Stop the threads; pending and later batches reject. */
  close: () => Promise<void>
}

interface Thread<T> {
  worker: Worker
  waiting: Map<number, { count: number, resolve: (result: T) => void, reject: (err: Error) => void }>
  /** Items sent and not answered yet: work goes to the least loaded thread. */
  load: number
  exited: boolean
}

/**
 * A pool of `spec.size` threads, started by `start` or the first batch. The threads do
 * not keep the process alive while they have no work.
 */
export function createBatchPool<T> (spec: BatchPoolSpec<T>): BatchPool<T> {
  let nextId = 0
  let failure: Error | undefined
  let closed = false
  let started = false
  const threads: Array<Thread<T>> = []

  // `terminate`: false when closing, where each thread is asked to wipe and exit instead.
  const fail = (err: Error, terminate = true): void => {
    failure ??= err
    for (const thread of threads) {
      for (const { reject } of thread.waiting.values()) reject(failure)
      thread.waiting.clear()
      thread.load = 0
      if (terminate && !thread.exited) void thread.worker.terminate()
    }
  }

  const startThread = (index: number): void => {
    let worker: Worker
    try {
      const { data, transfer } = spec.workerData(index)
      worker = new Worker(spec.source, { eval: true, workerData: data, transferList: transfer, ...(spec.resourceLimits === undefined ? {} : { resourceLimits: spec.resourceLimits }) })
    } catch (err) {
      fail(spec.failed(index, `it could not start: ${(err as Error).message}`, err))
      return
    }
    worker.unref()
    const thread: Thread<T> = { worker, waiting: new Map(), load: 0, exited: false }
    worker.on('message', ({ id, result }: { id: number, result: unknown }) => {
      const waiter = thread.waiting.get(id)
      if (waiter === undefined) return
      thread.waiting.delete(id)
      thread.load -= waiter.count
      if (thread.waiting.size === 0) worker.unref()
      const answer = spec.accept(result, waiter.count)
      if (answer === undefined) {
        fail(spec.failed(index, 'it answered with the wrong number of results'))
        return
      }
      waiter.resolve(answer)
    })
    worker.on('error', (err: NodeJS.ErrnoException) => {
      fail(spec.failed(index, err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? `it ran out of memory: ${err.message}` : err.message, err))
    })
    worker.on('exit', (code) => {
      thread.exited = true
      if (!closed) fail(spec.failed(index, `it exited with code ${code}`))
    })
    threads.push(thread)
  }

  const start = (): void => {
    if (started || closed) return
    started = true
    for (let index = 0; index < spec.size && failure === undefined; index++) startThread(index)
  }

  return {
    size: spec.size,
    get started () { return started },
    start,
    run (data, count) {
      if (closed) return Promise.reject(spec.closed())
      start()
      if (failure !== undefined) return Promise.reject(failure)
      let thread = threads[0] as Thread<T>
      for (const t of threads) if (t.load < thread.load) thread = t
      const id = nextId++
      return new Promise<T>((resolve, reject) => {
        if (thread.waiting.size === 0) thread.worker.ref() // work in flight keeps the process alive
        thread.waiting.set(id, { count, resolve, reject })
        thread.load += count
        const whole = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer
        const request = { id, data: whole ? data : new Uint8Array(data) }
        thread.worker.postMessage(request, [request.data.buffer as ArrayBuffer])
      })
    },
    async close () {
      if (closed) return
      closed = true
      const open = threads.filter((t) => !t.exited)
      for (const t of open) t.worker.postMessage({ close: true })
      fail(spec.closed(), false)
      await Promise.all(open.map(async (t) => {
        if (t.exited) return
        const grace = setTimeout(() => { void t.worker.terminate() }, CLOSE_GRACE_MS)
        // Not events.once: it would reject on the thread's 'error', which `fail` has reported.
        await new Promise((resolve) => t.worker.once('exit', resolve))
        clearTimeout(grace)
      }))
    }
  }
}
