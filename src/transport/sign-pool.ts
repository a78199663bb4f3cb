/**
 * Parallel signing for the transport. The hash chain stays sequential in the
 * transport thread (chain.ts `prepare`); the Ed25519 signatures, independent of each
 * other and the floor of our cost, are computed in a small pool of worker threads,
 * batched (arrays of 32-byte hashes out, signatures back), and by the transport thread
 * itself whenever it would wait for them. `createSigningQueue` puts the lines back in
 * seq order: a record is written only after it and every record before it has its
 * signature.
 */
import { AuditChainError } from '../errors.js'
import { sodiumPath } from '../crypto/backend.js'
import { seedCopy } from '../crypto/ed25519.js'
import { signBytes, type SigningKey } from '../format/keys.js'
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

// Records per piece at most: a piece is one message to a signing thread (~5 ms of
// signing at libsodium's ~55k/s, so a message's tens of µs cost < 1 %), or what this
// thread signs itself in one turn of the event loop when it would otherwise wait.
const PIECE_RECORDS = 256
// Records per share at least when a piece is split between the threads for a drain:
// a message costs more than a few signatures.
const MIN_SHARE = 32
// Pieces a signing thread holds at once: one it signs, one waiting, so it never idles
// while an answer travels back. The rest wait here, where this thread can take them.
const PIECES_PER_THREAD = 2

export interface SigningQueue {
  /** Records accepted (prepared) and not written yet. */
  readonly pending: number
  /** Characters of those records' bodies: what they hold in memory. */
  readonly pendingChars: number
  /** Accept the chain's next record; its line is written once it and all before it are signed. */
  add: (record: PreparedRecord) => void
  /**
   * Call `cb` once `pending` is below `records` and `pendingChars` below `chars` (at once
   * if they are). Meanwhile this thread signs waiting pieces itself.
   */
  whenBelow: (records: number, chars: number, cb: () => void) => void
  /** Resolves when every accepted record is written; rejects with the first failure. Meanwhile this thread signs too. */
  drain: () => Promise<void>
}

/**
 * The records' 32-byte hashes, one after another. One hex decode of the joined text
 * instead of one `Buffer#write` per record (hexWrite, 0.3–0.8 µs a record in the
 * profiles, bench/README.md "Profile").
 * A piece of more than 128 records gets an ArrayBuffer of its own, which the pool
 * transfers; a smaller one lies in Node's shared pool and is copied.
 */
function hashesOf (records: readonly PreparedRecord[]): Buffer {
  let hex = ''
  for (let i = 0; i < records.length; i++) hex += (records[i] as PreparedRecord).hash
  return Buffer.from(hex, 'hex')
}

interface Piece {
  records: PreparedRecord[]
  sigs: string[] | undefined
}

/**
 * Ordered writing on top of a pool: records are collected into pieces of up to
 * {@link PIECE_RECORDS} (a piece is closed when full or at the end of the current turn
 * of the event loop), each signed by a pool thread or — when this thread would
 * otherwise wait for the pool (`whenBelow`, `drain`) — by this thread with `key`, as
 * the verifier's reading thread checks signatures while it waits. So `signers: 2` is
 * this thread and one pool thread: one V8 isolate less than two pool threads, for the
 * same two cores' worth of signing (bench/README.md "Profile"). Lines are handed to
 * `write` strictly in seq order. A failure (a thread crash, a failed write) goes to
 * `onError` once; nothing after the failed record is written.
 */
export function createSigningQueue (chain: Chain, pool: SignPool, key: SigningKey, write: (text: string) => void, onError: (err: Error) => void): SigningQueue {
  /** Every piece not written yet, in seq order. */
  const pieces: Piece[] = []
  /** Closed pieces neither in the pool nor signed here yet, oldest first. */
  const unsent: Piece[] = []
  let open: Piece | undefined
  let inPool = 0
  let pending = 0
  let pendingChars = 0
  let failure: Error | undefined
  let helping = false
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
    while (pieces.length > 0 && (pieces[0] as Piece).sigs !== undefined) {
      const { records, sigs } = pieces.shift() as Piece
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

  /** Give waiting pieces to the pool while its threads have room. */
  const send = (): void => {
    while (unsent.length > 0 && inPool < pool.size * PIECES_PER_THREAD && failure === undefined) {
      const piece = unsent.shift() as Piece
      const { records } = piece
      inPool++
      pool.sign(hashesOf(records)).then((sigs) => {
        if (failure !== undefined) return
        inPool--
        piece.sigs = sigs
        writeReady()
        send()
      }, fail)
    }
  }

  const closePiece = (): void => {
    if (open === undefined || failure !== undefined) return
    unsent.push(open)
    open = undefined
    send()
  }

  /**
   * The open piece, closed for someone waiting: split so that the pool threads and this
   * thread each sign a share at once (a drain before a rotation or the seal waits for
   * the slowest share). The pool's shares go to `unsent`; this thread's is returned.
   */
  const splitOpen = (): Piece => {
    const { records } = open as Piece
    const parts = Math.max(1, Math.min(pool.size + 1, Math.floor(records.length / MIN_SHARE)))
    open = undefined
    if (parts === 1) return pieces.at(-1) as Piece
    // The open piece is always the newest: replace it by its shares, in seq order.
    pieces.pop()
    const per = Math.ceil(records.length / parts)
    let mine: Piece | undefined
    for (let at = 0; at < records.length; at += per) {
      mine = { records: records.slice(at, at + per), sigs: undefined }
      pieces.push(mine)
      if (at + per < records.length) unsent.push(mine)
    }
    return mine as Piece
  }

  /** This thread signs `piece` itself, with the key the pool holds. */
  const signHere = (piece: Piece): void => {
    const hashes = hashesOf(piece.records)
    const sigs = new Array<string>(piece.records.length)
    for (let i = 0; i < sigs.length; i++) sigs[i] = signBytes(key, hashes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES))
    piece.sigs = sigs
  }

  /**
   * While someone waits (whenBelow, drain): sign a waiting piece here, one per turn of
   * the event loop, so that the pool's answers are taken in between and its threads
   * given more. Stops when no one waits or no piece is left for this thread (the
   * pool's answers then settle the waiters).
   */
  const step = (): void => {
    if (failure !== undefined || (waiters.length === 0 && drainers.length === 0)) { helping = false; return }
    // The oldest piece no thread has yet; else a share of the open one.
    const mine = unsent.length > 0 ? unsent.shift() : open !== undefined ? splitOpen() : undefined
    send()
    if (mine === undefined) { helping = false; return }
    try {
      signHere(mine)
    } catch (err) {
      helping = false
      fail(err as Error)
      return
    }
    writeReady()
    setImmediate(step)
  }
  const helpWhileWaiting = (): void => {
    if (helping) return
    helping = true
    step()
  }

  const closeLater = (): void => { closePiece() }

  return {
    get pending () { return pending },
    get pendingChars () { return pendingChars },
    add (record) {
      if (failure !== undefined) throw failure
      if (open === undefined) {
        open = { records: [], sigs: undefined }
        pieces.push(open)
        setImmediate(closeLater)
      }
      open.records.push(record)
      pending++
      pendingChars += record.body.length
      if (open.records.length >= PIECE_RECORDS) closePiece()
    },
    whenBelow (records, chars, cb) {
      if (failure !== undefined) return
      const waiter = { records, chars, cb }
      if (below(waiter)) { cb(); return }
      waiters.push(waiter)
      helpWhileWaiting()
    },
    drain () {
      if (failure !== undefined) return Promise.reject(failure)
      if (pending === 0) return Promise.resolve()
      const drained = new Promise<void>((resolve, reject) => { drainers.push({ resolve, reject }) })
      helpWhileWaiting()
      return drained
    }
  }
}
