/**
 * Line checks (FORMAT.md §4) with the Ed25519 step in a thread pool, results in input
 * order. Each line is parsed and hashed here, as `checkLine` does; a record that passed
 * everything but the signature goes into a batch for the pool, and its result, like
 * every line's, is handed to `deliver` only after the results of all lines before it.
 * So whatever consumes the results sees exactly the sequence `checkLine` would give.
 */
import type { VerifyKey } from '../format/keys.js'
import type { InputLine } from './lines.js'
import { checkLineUpToSignature, checkSignature, withSignatureResult, type CheckedLine, type PendingSignature } from './record-check.js'
import { ITEM_BYTES, ITEM_HASH_AT, ITEM_SIG_AT, type SigPool } from './sig-pool.js'

/** `checked` is `null` for a line that was too long to be read (`line.bytes` undefined). */
export type DeliverLine = (line: InputLine, checked: CheckedLine | null) => void

// Items per batch: ~14 ms of work for a thread at ~9,000 verifies/s, so a message
// (tens of µs each way) costs < 1 %, and a batch fills in ~1.5 ms of this thread's
// parsing and hashing, so the pool gets work early.
const BATCH_ITEMS = 128
// Batches a pool thread holds at once: one it works on, one waiting, so it never idles
// while an answer travels back. The rest wait here, where this thread can take them.
const BATCHES_PER_THREAD = 2
// Lines checked and not yet delivered, at most: 8 batches, ~55 ms of work for 2
// threads. Each waiting record holds its parsed fields (not its bytes); 2048 measured
// no faster on 2 cores and ~10 MB more peak RSS (bench/README.md).
const MAX_IN_FLIGHT_LINES = 1024
// ... and at most this many bytes of those lines, so long records cannot pile up: 1 MiB
// is still 4 batches of 2 KB records, and a reader that keeps every line's bytes
// (show) peaked ~15 MB lower than with 16 MiB, no slower (bench/README.md "Memory").
const MAX_IN_FLIGHT_BYTES = 1024 * 1024

interface Entry {
  /** The line without its bytes (a record waiting for its signature does not need them). */
  line: InputLine
  /** `undefined` while its signature is being checked. */
  checked: CheckedLine | null | undefined
  pending: PendingSignature | undefined
}

interface Batch {
  entries: Entry[]
  /** The request for a pool thread: {@link ITEM_BYTES} per entry. */
  items: Buffer
}

export interface OrderedChecker {
  /**
   * Check `line`. Returns a promise when the next line must wait: too much is in
   * flight, or this line needs its bytes when it is delivered (a line that is not a
   * record is hashed into a torn region), so it is delivered first, once all before it are.
   */
  push: (line: InputLine) => void | Promise<void>
  /** Resolves once every line pushed has been delivered; rejects with the pool's failure. */
  finish: () => Promise<void>
}

const nextTurn = (): Promise<void> => new Promise((resolve) => { setImmediate(resolve) })

/**
 * Check lines with the signatures verified by `pool` and, when this thread would
 * otherwise wait for the pool, by this thread too; `deliver` gets every line's result
 * in input order.
 */
export function createOrderedChecker (pool: SigPool, keyring: ReadonlyMap<string, VerifyKey>, deliver: DeliverLine, keepBytes = false): OrderedChecker {
  let queue: Entry[] = []
  let head = 0
  let inFlightBytes = 0
  /** The batch being filled. */
  let open: Batch | undefined
  /** Full batches not given to the pool yet, oldest first. */
  const ready: Batch[] = []
  let batchesInPool = 0
  let flushScheduled = false
  let failure: Error | undefined
  let waiter: { until: () => boolean, resolve: () => void, reject: (err: Error) => void } | undefined

  const inFlight = (): number => queue.length - head

  const fail = (err: Error): void => {
    failure ??= err
    const w = waiter
    waiter = undefined
    w?.reject(failure)
  }

  const deliverReady = (): void => {
    while (head < queue.length) {
      const entry = queue[head] as Entry
      if (entry.checked === undefined) break
      queue[head] = undefined as unknown as Entry
      head++
      inFlightBytes -= entry.line.length
      deliver(entry.line, entry.checked)
    }
    if (head === queue.length) {
      queue = []
      head = 0
    } else if (head >= 1024 && head * 2 >= queue.length) {
      queue = queue.slice(head)
      head = 0
    }
    if (waiter !== undefined && waiter.until()) {
      const w = waiter
      waiter = undefined
      w.resolve()
    }
  }

  /** Give waiting batches to the pool while its threads have room (once it was started). */
  const send = (): void => {
    while (pool.started && ready.length > 0 && batchesInPool < pool.size * BATCHES_PER_THREAD && failure === undefined) {
      const batch = ready.shift() as Batch
      batchesInPool++
      const n = batch.entries.length
      // A full batch's buffer is transferred to the thread; the pool copies a partial one.
      pool.verify(batch.items.subarray(0, n * ITEM_BYTES)).then((valid) => {
        if (failure !== undefined) return
        batchesInPool--
        for (let i = 0; i < n; i++) {
          const entry = batch.entries[i] as Entry
          entry.checked = withSignatureResult(entry.pending as PendingSignature, valid[i] === 1)
          entry.pending = undefined
        }
        try {
          deliverReady()
        } catch (err) {
          fail(err as Error)
          return
        }
        send()
      }, fail)
    }
  }

  /** Close the batch being filled (it waits for the pool, or for this thread). */
  const closeBatch = (): void => {
    if (open === undefined) return
    // The threads start with the first full batch: a log with fewer signatures to check
    // than one batch is checked in this thread alone, without paying for starting them.
    if (open.entries.length === BATCH_ITEMS) pool.start()
    ready.push(open)
    open = undefined
    send()
  }

  /** This thread verifies the oldest waiting batch itself. */
  const help = (): void => {
    for (const entry of (ready.shift() as Batch).entries) {
      entry.checked = checkSignature(entry.pending as PendingSignature)
      entry.pending = undefined
    }
  }

  const flushLater = (): void => {
    flushScheduled = false
    closeBatch()
  }

  const add = (pending: PendingSignature, line: InputLine): void => {
    const entry: Entry = { line, checked: undefined, pending }
    if (open === undefined) {
      // A fresh ArrayBuffer per batch: it is transferred to the thread, not copied.
      open = { entries: [], items: Buffer.from(new ArrayBuffer(BATCH_ITEMS * ITEM_BYTES)) }
      if (!flushScheduled) {
        flushScheduled = true
        setImmediate(flushLater)
      }
    }
    const { entries, items } = open
    const at = entries.length * ITEM_BYTES
    items.writeUInt32LE(pool.keyIndex.get(pending.member.kid) as number, at)
    pending.hash.copy(items, at + ITEM_HASH_AT)
    items.write(pending.member.sig, at + ITEM_SIG_AT, 64, 'base64url')
    entries.push(entry)
    enqueue(entry)
    if (entries.length === BATCH_ITEMS) closeBatch()
  }

  const enqueue = (entry: Entry): void => {
    queue.push(entry)
    inFlightBytes += entry.line.length
  }

  /** A line whose result is known now: delivered at once unless lines before it are still in flight. */
  const known = (line: InputLine, meta: InputLine, checked: CheckedLine | null): void | Promise<void> => {
    if (inFlight() === 0) {
      deliver(line, checked)
      return
    }
    enqueue({ line: meta, checked, pending: undefined })
    if (!belowLimits()) return waitFor(belowLimits)
  }

  /**
   * Resolves once `until()` holds. Meanwhile this thread verifies waiting batches
   * itself rather than sit idle, one per turn of the event loop, so that the pool's
   * answers are taken in between and its threads given more.
   */
  const waitFor = async (until: () => boolean): Promise<void> => {
    closeBatch()
    for (;;) {
      if (failure !== undefined) throw failure
      if (until()) return
      if (ready.length > 0) {
        help()
        deliverReady()
        await nextTurn()
        continue
      }
      await new Promise<void>((resolve, reject) => { waiter = { until, resolve, reject } })
    }
  }

  const belowLimits = (): boolean => inFlight() < MAX_IN_FLIGHT_LINES && inFlightBytes < MAX_IN_FLIGHT_BYTES
  const drained = (): boolean => inFlight() === 0

  return {
    push (line) {
      if (failure !== undefined) throw failure
      // Records read back (readAuditLog) keep their bytes; the in-flight byte limit bounds them.
      const bytes = keepBytes && line.bytes !== undefined ? Buffer.from(line.bytes) : undefined
      const meta: InputLine = { number: line.number, offset: line.offset, length: line.length, bytes, terminated: line.terminated, owned: bytes !== undefined }
      if (line.bytes === undefined) return known(line, meta, null)
      const checked = checkLineUpToSignature(line.bytes, keyring)
      if (checked.kind === 'signature' && line.terminated) {
        add(checked, meta)
        if (!belowLimits()) return waitFor(belowLimits)
        return
      }
      // Failed §4 before its signature: its bytes are not needed later.
      if (checked.kind === 'record' && line.terminated) return known(line, meta, checked)
      // Not a record, or a last line without its newline: delivered with its bytes (a torn
      // region hashes them), so it waits for every line before it; then no line is in flight.
      const result = checked.kind === 'signature' ? checkSignature(checked) : checked
      if (inFlight() === 0) {
        deliver(line, result)
        return
      }
      return waitFor(drained).then(() => { deliver(line, result) })
    },
    finish () {
      return waitFor(drained)
    }
  }
}
