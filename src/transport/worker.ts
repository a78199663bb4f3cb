/**
 * The pino transport: runs in pino's worker thread. Lines in → bodies → chain
 * (hash + sign) → log file, then the head file on a timer and the seal at close.
 */
import { Writable } from 'node:stream'
import { basename, dirname } from 'node:path'
import { parentPort } from 'node:worker_threads'
import { randomBytes, type KeyObject } from 'node:crypto'
import build from 'pino-abstract-transport'
import { AuditChainError } from '../errors.js'
import { bodyAndTime, bodyFromLine, oversizeWarning, wrapLine, type OversizeLine } from '../format/body.js'
import { chainCloseBody, chainOpenBody, chainResumeBody, epochCloseBody, fileOpenBody, retentionPruneBody } from '../format/control.js'
import { signHead, writeHeadFile } from '../format/head.js'
import type { SigningKey } from '../format/keys.js'
import { eraseBefore, nextEpoch, rescan, signingKeyOfEpoch, type EpochKeys, type HostEpoch } from '../epoch/epoch-keys.js'
import { controlTime, firstRecordTime } from '../format/control-time.js'
import { createChain, type Chain } from './chain.js'
import { wipeSecret } from '../crypto/ed25519.js'
import { createSignPool, createSigningQueue, type SignPool, type SigningQueue } from './sign-pool.js'
import { assertHeadLocation, ensureLogDirectory, openLogFile, type LogFile } from './file.js'
import { acquireLock, type Lock } from './lock.js'
import { acquireSlot, slotOptions } from './slots.js'
import { resolveOptions, type AuditTransportOptions, type ResolvedOptions } from './options.js'
import { findResumePoint, rotateAside } from './rotation.js'
import { checkAgainstHead, truncationMessage } from './head-check.js'
import { deleteFiles, planPrune } from './retention.js'
import { loadSigner, ownPublicKeys, startingEpoch, type Signer } from './signer.js'

// Objects (lines) the sink buffers before pushing back on split2 and, through it,
// on thread-stream's shared buffer: enough to batch work, small enough to bound memory.
const SINK_HIGH_WATER_MARK = 1024
// With a sign pool, records accepted but not yet signed and written before the sink
// stops taking more: 4 batches of 512 in flight keep 2 threads busy while the
// transport thread hashes the next ones (8192 measured ~5 MB more peak RSS and no
// faster, bench/README.md "Memory"); and at most 32 Mi characters of bodies, so
// that a flood of huge lines stays bounded in memory too. Beyond this the backlog
// waits in pino's shared buffer and the app's thread-stream queue (backpressure,
// nothing dropped).
const MAX_PENDING_RECORDS = 2048
const MAX_PENDING_CHARS = 32 * 1024 * 1024
// After a rotation failed (the file could not be renamed), the next try waits this long.
const ROTATION_RETRY_MS = 60_000
// With epoch keys: once an epoch has ended, records queued before the boundary still get
// its key as they arrive; this long after the boundary the epoch is closed anyway, even
// while idle, and a record that waited longer is wrapped (FORMAT.md §10.4). A tenth of
// the epoch for epochs shorter than 50 s.
const EPOCH_GRACE_MS = 5000
const graceOf = (e: HostEpoch): number => Math.min(EPOCH_GRACE_MS, Math.floor((e.notAfter - e.notBefore) / 10))
// ...unless records are still arriving: a backlog (most of it out of sight, in pino's
// shared buffer) reaches the boundary's far side soon, and the epoch is then closed as
// it does. Quiet = no line for EPOCH_QUIET_MS and none buffered here. Only a backlog
// this far behind is no reason to keep an ended epoch's key any longer.
const EPOCH_MAX_LAG_MS = 60_000
const EPOCH_QUIET_MS = 250
// setTimeout's longest delay (~24.8 days); a longer epoch re-arms its timer.
const MAX_TIMER_MS = 2 ** 31 - 1

interface Writer {
  chain: Chain
  file: LogFile
  lock: Lock
  /** The key the first record was signed with, and with epoch keys its epoch. */
  key: SigningKey
  epoch: HostEpoch | undefined
  /** Seq of the current file's first record, and when that file was opened (ms). */
  fileFirstSeq: number
  fileOpenedAt: number
  /**
   * Write the chain.open or chain.resume record. Held back until the first line arrives
   * (or something else must be written): `next` is that line's time, which the record's
   * time must not pass (FORMAT.md §5.8) — the app stamps a line at the log call, often
   * before this thread started.
   */
  writeFirst: (next?: number) => void
}

/**
 * Take the destination's lock — with `perProcess`, the lowest free slot's — and the
 * options of the files this writer then owns.
 */
function lockDestination (given: ResolvedOptions): { opts: ResolvedOptions, lock: Lock } {
  ensureLogDirectory(given.destination, given.mkdir)
  if (!given.perProcess) {
    assertHeadLocation(given.headFile, given.destination)
    return { opts: given, lock: acquireLock(given.destination) }
  }
  const { slot, lock } = acquireSlot(given.destination)
  const opts = slotOptions(given, slot)
  try {
    assertHeadLocation(opts.headFile, opts.destination)
  } catch (err) {
    lock.release()
    throw err
  }
  return { opts, lock }
}

/** Inspect the locked file, and prepare the chain.open or chain.resume record. */
function startWriter (opts: ResolvedOptions, lock: Lock, signer: Signer, keys: ReadonlyMap<string, KeyObject>): Writer {
  try {
    // Read the tail before opening for append: what we find decides the first record.
    const { tail, firstRecord } = findResumePoint(opts.destination, keys)
    // Compared with our own head before anything is written: a log cut while we were
    // stopped must not be continued as if it were whole (FORMAT.md §5.7).
    const truncated = checkAgainstHead(opts.headFile, tail, keys)
    // One reading of the clock for both: with epoch keys, a first record stamped with a
    // later reading could fall past the end of the epoch chosen here (FORMAT.md §10.3).
    const started = Date.now()
    const epoch = signer.kind === 'epochs' ? startingEpoch(signer.keys, tail, started) : undefined
    const key = epoch !== undefined ? signingKeyOfEpoch(epoch) : (signer as { key: SigningKey }).key
    const file = openLogFile(opts.destination, opts)
    let chain: Chain
    let first: (time: number) => string
    if (tail.kind === 'existing') {
      chain = createChain(key, tail.chainId, tail.last)
      first = (time) => chainResumeBody(tail.chainId, key.kid, { seq: tail.last.seq, hash: tail.last.hash }, tail.torn, time, truncated)
    } else {
      const chainId = randomBytes(16).toString('hex')
      chain = createChain(key, chainId)
      first = (time) => chainOpenBody(chainId, key.kid, tail.kind === 'fresh' ? tail.torn : null, time, { truncated })
    }
    const newline = tail.kind !== 'empty' && tail.needsNewline ? '\n' : ''
    const opened = { fileFirstSeq: firstRecord?.seq ?? chain.lastSeq + 1, fileOpenedAt: firstRecord?.time ?? started }
    let written = false
    const writeFirst = (next?: number): void => {
      if (written) return
      written = true
      file.write(newline + chain.append(first(firstRecordTime(started, chain.tipTime, next))))
    }
    if (truncated !== undefined) warn(new AuditChainError('PAC_TRUNCATED', truncationMessage(truncated, opts.destination)))
    if (tail.kind !== 'empty' && tail.stray > 0) {
      warn(new AuditChainError('PAC_TAIL_INVALID', `${tail.stray} line(s) after the last record of ${opts.destination} are not audit records, and no crash explains them (a crash leaves at most one incomplete last line): they were added by someone else. They stay where they are, unexplained, and "audit-chain verify" reports them; the chain continues after them`))
    }
    return { chain, file, lock, key, epoch, ...opened, writeFirst }
  } catch (err) {
    lock.release()
    throw err
  }
}

// Warnings reach the app as process warnings (thread-stream forwards this message).
function warn (err: AuditChainError): void { parentPort?.postMessage({ code: 'WARNING', err }) }

/**
 * Entry point called by pino (through thread-stream) in the worker thread.
 * Returns the stream pino writes lines into.
 */
export default async function auditChainTransport (options: AuditTransportOptions): Promise<NodeJS.WritableStream> {
  const resolved = resolveOptions(options)
  const signer = loadSigner(resolved)
  // Public keys of every key this writer signs or signed with: what it checks its own files by.
  const ownKeys = ownPublicKeys(signer)
  const { opts, lock: taken } = lockDestination(resolved)
  const started = startWriter(opts, taken, signer, ownKeys)
  const onOversize = (o: OversizeLine): void => { warn(oversizeWarning(o, opts.destination)) }
  const { chain, lock } = started
  const epochKeys = signer.kind === 'epochs' ? signer.keys : undefined
  // The key that signs now: with epoch keys it changes as epochs end (advanceEpochs).
  let key = started.key
  let epoch = started.epoch
  let file = started.file
  let fileFirstSeq = started.fileFirstSeq
  let fileOpenedAt = started.fileOpenedAt
  const fileName = basename(opts.destination)
  // The first record waits for the first line (or for anything else that must be written).
  let awaitingFirst = true
  const writeFirst = (next?: number): void => {
    awaitingFirst = false
    started.writeFirst(next)
  }
  // Every control record after the first: the writer's clock, but never behind the record before it.
  const stamp = (): number => controlTime(Date.now(), chain.tipTime)

  let headSeq = -1
  const writeHead = async (): Promise<void> => {
    // Until its first record this writer has written nothing for a head to name.
    if (opts.headFile === undefined || awaitingFirst || chain.lastSeq === headSeq) return
    const seq = chain.lastSeq
    const hash = chain.lastHash
    await file.sync() // a head must only name records that are on disk
    writeHeadFile(opts.headFile, signHead(key, chain.chainId, seq, hash))
    headSeq = seq
  }

  let failure: Error | undefined
  let processing = false
  let closingStarted = false
  const fail = (err: Error): void => {
    failure ??= err
    if (!sink.destroyed) sink.destroy(err)
  }

  // Work on the file itself (rotation, retention, continuing after the file was
  // replaced) runs one at a time, with every accepted record written and no new
  // batch taken meanwhile: writev waits for it (see `switching` below).
  let switching: Promise<void> | undefined
  const exclusive = (work: () => Promise<void>): Promise<void> => {
    const run = (switching ?? Promise.resolve()).then(async () => {
      while ((signing?.pending ?? 0) > 0) await signing?.drain()
      if (failure === undefined) await work()
    })
    const tracked: Promise<void> = run.then(
      () => { if (switching === tracked) switching = undefined },
      (err: Error) => { if (switching === tracked) switching = undefined; fail(err) })
    switching = tracked
    return tracked
  }

  // Open a new file at the destination path and make `text` (its first record) its first line.
  const openNextFile = async (firstBody: string): Promise<void> => {
    writeFirst()
    const old = file
    file = openLogFile(opts.destination, opts)
    fileFirstSeq = chain.lastSeq + 1
    fileOpenedAt = Date.now()
    file.write(chain.append(firstBody))
    // Its records were written synchronously; what can fail now is the final fsync.
    await old.close().catch((err: Error) => { warn(new AuditChainError('PAC_WRITE_FAILED', `closing ${old.path} after moving on to a new file failed (${err.message}); its last records may not be on disk`)) })
  }

  // Rotation: the full file gets its final name first; the chain then continues in a
  // new file whose file.open links to the old file's last record and names it. A crash
  // between the two leaves no current file, and the next start continues from the
  // newest rotated one (rotation.ts findResumePoint).
  const rotate = async (bySize = false): Promise<void> => {
    // Asked for twice (size and time at once): the second finds a fresh file. Rotation
    // by size goes on while closing, as the backlog drains; the seal waits for it.
    if (!(bySize || fileIsFull() || (timeIsUp() && !closingStarted)) || rotationHeld()) return
    writeFirst()
    await file.sync()
    let rotated: string
    try {
      rotated = rotateAside(opts.destination, fileFirstSeq)
    } catch (err) {
      // Nothing has changed yet: keep appending to the current file rather than stop
      // the audit log over a file name, and try again later.
      rotationHeldUntil = Date.now() + ROTATION_RETRY_MS
      warn(new AuditChainError('PAC_ROTATION', `cannot rename ${opts.destination} to rotate it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); records go on into it, and rotation is tried again in ${ROTATION_RETRY_MS / 1000} s`))
      armRotationTimer()
      return
    }
    await advanceEpochs()
    await openNextFile(fileOpenBody(chain.chainId, key.kid, fileName, basename(rotated), 'rotation', stamp()))
    await prune()
    armRotationTimer()
  }
  let rotationHeldUntil = 0
  const rotationHeld = (): boolean => Date.now() < rotationHeldUntil
  const fileIsFull = (): boolean => opts.rotation?.size !== undefined && file.bytes >= opts.rotation.size
  const timeIsUp = (): boolean => opts.rotation?.intervalMs !== undefined && Date.now() >= fileOpenedAt + opts.rotation.intervalMs
  const afterWrite = (): void => {
    if (fileIsFull() && switching === undefined && !rotationHeld()) void exclusive(async () => { await rotate() })
  }

  // Rotation by time counts from the file's first record. A file that holds nothing but
  // its opening record when its time is up is not rotated (that would only make files
  // of one record): its clock restarts with the next record instead (idleOverdue).
  let idleOverdue = false
  let rotationTimer: NodeJS.Timeout | undefined
  const armRotationTimer = (): void => {
    if (rotationTimer !== undefined) clearTimeout(rotationTimer)
    const interval = opts.rotation?.intervalMs
    if (interval === undefined || closingStarted) return
    rotationTimer = setTimeout(() => {
      if (chain.lastSeq > fileFirstSeq || chain.pending > 0) void exclusive(async () => { await rotate() })
      else idleOverdue = true
    }, Math.max(0, fileOpenedAt + interval - Date.now(), rotationHeldUntil - Date.now()))
    rotationTimer.unref()
  }

  // Retention: the prune record is on disk before anything is deleted, so a crash in
  // between leaves a record naming files that still exist, never an unrecorded gap.
  const prune = async (): Promise<void> => {
    if (opts.retention === undefined) return
    await advanceEpochs()
    const plan = await planPrune(opts.destination, chain.chainId, opts.retention, ownKeys)
    const failed = [...plan.failed]
    if (plan.files.length > 0 || failed.length > 0) writeFirst()
    if (plan.files.length > 0) {
      file.write(chain.append(retentionPruneBody(chain.chainId, plan.files.map((f) => f.pruned), [], stamp())))
      await file.sync()
      failed.push(...deleteFiles(plan.files))
    }
    if (failed.length > 0) {
      file.write(chain.append(retentionPruneBody(chain.chainId, [], failed, stamp())))
      const why = plan.reasons.length > 0 ? `; not provably part of this chain, so never deleted: ${plan.reasons.join('; ')}` : ''
      warn(new AuditChainError('PAC_RETENTION', `retention could not delete or read ${failed.map((f) => `${f.file} (${f.code})`).join(', ')} in ${dirname(opts.destination)}${why}; recorded in a retention.prune record, and the transport goes on`))
    }
  }

  // signers > 1: this thread and signers - 1 pool threads sign (sign-pool.ts); the
  // queue writes the lines back in seq order.
  let pool: SignPool | undefined
  let signing: SigningQueue | undefined
  const startSigning = (): void => {
    pool = createSignPool(key, opts.signers - 1)
    signing = createSigningQueue(chain, pool, key, (text) => { file.write(text); afterWrite() }, fail)
  }
  if (opts.signers > 1) startSigning()

  // Epoch keys (FORMAT.md §10.4): close every epoch that ended by `until` (now, or the
  // time of the record that is next: a backlog longer than an epoch still gets each of
  // its records signed by its own epoch's key) with an epoch.close signed by its own
  // key, put the closes on disk, then erase those keys from the bundle, and sign on with
  // the next key. Runs with nothing in flight (inside `exclusive`, at start, or at the
  // seal): the sign pool holds the old key and is replaced, so it lives on in no thread.
  const advanceEpochs = async (until = Date.now()): Promise<void> => {
    if (epochKeys === undefined || epoch === undefined) return
    const now = Date.now()
    until = Math.min(until, now)
    if (until < epoch.notAfter) return
    writeFirst()
    let expired: AuditChainError | undefined
    let current: HostEpoch = epoch
    while (until >= current.notAfter) {
      file.write(chain.append(epochCloseBody(chain.chainId, current.epoch, current.kid, chain.keyRecords, chain.keyLastSeq, controlTime(now, chain.tipTime))))
      const next = followingEpoch(epochKeys, current)
      if (next === undefined || next.seed === null) {
        expired = new AuditChainError('PAC_EPOCH', `no epoch key follows epoch ${current.epoch} of ${current.bundle.path}, which ended at ${new Date(current.notAfter).toISOString()}: records can no longer be signed. Generate the next series with "audit-chain epochs"${epochKeys.directory ? ` into ${epochKeys.source}` : ', put both bundles in one directory and point epochKeysPath at it'}, then restart`)
        break
      }
      const ended = key
      key = signingKeyOfEpoch(next)
      chain.setKey(key)
      // Its epoch.close is signed; nothing it signed is in flight (see above).
      wipeSecret(ended.secret)
      current = next
    }
    epoch = current
    // Every epoch.close is on disk before its key is erased.
    await file.sync()
    eraseBefore(epochKeys, current, expired !== undefined)
    if (expired !== undefined) throw expired
    if (pool !== undefined) {
      await pool.close()
      startSigning()
    }
    warnIfLastEpoch()
    armEpochTimer()
  }
  // The epoch after `e`, looking for a series added to the directory meanwhile.
  const followingEpoch = (keys: EpochKeys, e: HostEpoch): HostEpoch | undefined => {
    const next = nextEpoch(keys, e)
    if (next !== undefined) return next
    for (const w of rescan(keys)) warn(w)
    return nextEpoch(keys, e)
  }
  const warnIfLastEpoch = (): void => {
    if (epochKeys !== undefined && epoch !== undefined && followingEpoch(epochKeys, epoch) === undefined) {
      warn(new AuditChainError('PAC_EPOCH', `the last epoch of ${epoch.bundle.path} has begun and no series follows it${epochKeys.directory ? ` in ${epochKeys.source}` : ''}; it ends at ${new Date(epoch.notAfter).toISOString()}, and after that records cannot be signed: generate the next series with "audit-chain epochs" (starting then)${epochKeys.directory ? ' into that directory' : ', put both bundles in one directory, and restart with epochKeysPath pointing at it'}`))
    }
  }
  // At the end of an epoch, close it even when nothing is being logged.
  let epochTimer: NodeJS.Timeout | undefined
  // Whether lines are waiting to be signed (set once the stream exists), and when the last arrived.
  let inputIdle = (): boolean => true
  let lastLineAt = 0
  const armEpochTimer = (): void => {
    if (epochTimer !== undefined) clearTimeout(epochTimer)
    if (epoch === undefined || closingStarted) return
    const ending = epoch
    const due = ending.notAfter + graceOf(ending)
    const check = (): void => {
      const now = Date.now()
      if (epoch !== ending || closingStarted) return
      const quiet = now - lastLineAt >= EPOCH_QUIET_MS && inputIdle()
      if (now >= due && (quiet || now >= ending.notAfter + EPOCH_MAX_LAG_MS)) {
        void exclusive(async () => { await advanceEpochs() })
        return
      }
      epochTimer = setTimeout(check, Math.min(MAX_TIMER_MS, Math.max(EPOCH_QUIET_MS, due - now)))
      epochTimer.unref()
    }
    epochTimer = setTimeout(check, Math.min(MAX_TIMER_MS, Math.max(0, due - Date.now())))
    epochTimer.unref()
  }
  // What a producer line does with epoch keys: signed with the current key; or first
  // the epoch must be closed (it has ended and the line is not one queued before the
  // boundary); or wrapped, its time lying outside the current epoch's window.
  const epochVerdict = (time: number | undefined, now: number): 'sign' | 'advance' | 'wrap' => {
    if (epoch === undefined) return 'sign'
    const inside = time !== undefined && epoch.notBefore <= time && time < epoch.notAfter
    if (now >= epoch.notAfter) return inside ? 'sign' : 'advance'
    return time === undefined || inside ? 'sign' : 'wrap'
  }

  // Rotation by size is decided as records are chained, not as they reach the file:
  // with a sign pool thousands of records can be in flight, and the file.open must be
  // chained before the records that go into the next file. A record line is its body
  // plus ~295 bytes of chain member.
  const RECORD_OVERHEAD = 295
  const projectedBytes = (text: string): number => file.bytes + text.length +
    (signing === undefined ? 0 : signing.pendingChars + signing.pending * RECORD_OVERHEAD)

  const takeBatch = (chunks: Array<{ chunk: unknown }>, cb: (err?: Error | null) => void, from = 0): void => {
    if (failure !== undefined) { cb(failure); return }
    processing = true
    try {
      const limit = rotationHeld() ? undefined : opts.rotation?.size
      let text = ''
      let next = from
      let full = false
      // With epoch keys: the time to advance to before the next record, when its epoch has ended.
      let epochEnded: number | undefined
      while (next < chunks.length && !full) {
        const line = chunks[next].chunk as string
        let body: string | undefined
        // Only the first line's time is needed here (for the first record's time).
        let time: number | undefined
        if (epoch === undefined) {
          if (awaitingFirst) {
            const read = bodyAndTime(line, Date.now, onOversize)
            body = read?.body
            time = read?.time
          } else {
            body = bodyFromLine(line, Date.now, onOversize)
          }
        } else {
          const now = Date.now()
          lastLineAt = now
          const read = bodyAndTime(line, Date.now, onOversize)
          time = read?.time
          const verdict = epochVerdict(time, now)
          if (verdict === 'advance') {
            epochEnded = time !== undefined && time >= epoch.notAfter ? Math.min(time, now) : now
            break
          }
          if (verdict === 'wrap') {
            body = wrapLine(line, 'outside-epoch', now, onOversize)
            time = now
          } else {
            body = read?.body
          }
        }
        next++
        if (body === undefined) continue
        if (awaitingFirst) writeFirst(time)
        if (signing !== undefined) signing.add(chain.prepare(body))
        else text += chain.append(body)
        full = limit !== undefined && projectedBytes(text) >= limit
      }
      if (text.length > 0) file.write(text)
      if (full || epochEnded !== undefined) {
        // The rest of the batch goes into the next file, or is signed with the next epoch's key.
        exclusive(async () => { if (full) await rotate(true); else await advanceEpochs(epochEnded) }).then(() => {
          if (next < chunks.length) takeBatch(chunks, cb, next)
          else if (failure !== undefined) cb(failure)
          else cb()
        }, cb)
        return
      }
      if (signing !== undefined) signing.whenBelow(MAX_PENDING_RECORDS, MAX_PENDING_CHARS, cb)
      else cb()
    } catch (err) {
      failure = err as Error
      cb(err as Error)
    } finally {
      processing = false
    }
  }

  const sink = new Writable({
    objectMode: true,
    highWaterMark: SINK_HIGH_WATER_MARK,
    writev (chunks, cb) {
      if (idleOverdue) {
        idleOverdue = false
        fileOpenedAt = Date.now()
        armRotationTimer()
      }
      if (switching !== undefined) {
        processing = true
        switching.then(() => { processing = false; takeBatch(chunks, cb) }, cb)
        return
      }
      takeBatch(chunks, cb)
    },
    // 'finish' (and so the seal) only once every accepted record is signed and written.
    final (cb) {
      const done = async (): Promise<void> => {
        while (switching !== undefined || (signing?.pending ?? 0) > 0) {
          await switching
          await signing?.drain()
        }
      }
      done().then(() => { cb() }, cb)
    }
  })

  // The file at our path was deleted, moved or replaced under us (by hand, or by a
  // rotation tool that does not know us): whatever we append to the old inode is out
  // of the auditor's sight, so continue the chain in a new file at the path.
  const continueInNewFile = async (): Promise<void> => {
    if (closingStarted || file.stillInPlace()) return
    await advanceEpochs()
    await openNextFile(fileOpenBody(chain.chainId, key.kid, fileName, null, 'replaced', stamp()))
    armRotationTimer()
    warn(new AuditChainError('PAC_FILE_REPLACED', `${opts.destination} was deleted or replaced while being written; the chain continues at seq ${chain.lastSeq} in a new file at that path. Records written since the last check (${opts.headIntervalMs} ms) went to the old file only`))
  }

  // Every headIntervalMs: check the file is still ours, then refresh the head.
  let headTimer: NodeJS.Timeout | undefined
  const headLoop = (): void => {
    headTimer = setTimeout(() => {
      const step = async (): Promise<void> => {
        await switching
        if (failure === undefined && !closingStarted && !file.stillInPlace()) await exclusive(continueInNewFile)
        if (failure === undefined) await writeHead()
      }
      // A failure here (the directory gone, fsync failing) must reach the app like a write error.
      step().then(headLoop, fail)
    }, opts.headIntervalMs)
    headTimer.unref()
  }
  headLoop()
  armRotationTimer()
  if (epochKeys !== undefined && epoch !== undefined) {
    try {
      // Keys of epochs before the one we start in are never needed again; an epoch that
      // ended while we were not running is closed before anything else is signed.
      eraseBefore(epochKeys, epoch, false)
      await advanceEpochs()
    } catch (err) {
      closingStarted = true
      if (headTimer !== undefined) clearTimeout(headTimer)
      if (rotationTimer !== undefined) clearTimeout(rotationTimer)
      await file.close().catch(() => {})
      lock.release()
      await pool?.close()
      wipeSecret(key.secret)
      throw err
    }
    if (epochTimer === undefined) {
      warnIfLastEpoch()
      armEpochTimer()
    }
  }
  // Retention applies from the start too: a restart with a smaller limit prunes at once.
  if (opts.retention !== undefined) void exclusive(prune)

  let closing: Promise<void> | undefined
  const seal = async (): Promise<void> => {
    closingStarted = true
    if (headTimer !== undefined) clearTimeout(headTimer)
    if (rotationTimer !== undefined) clearTimeout(rotationTimer)
    if (epochTimer !== undefined) clearTimeout(epochTimer)
    try {
      if (!sink.writableFinished && failure === undefined) {
        const finished = new Promise<void>((resolve, reject) => {
          sink.once('finish', resolve)
          sink.once('error', reject)
        })
        if (!sink.writableEnded) sink.end()
        await finished
      }
      await switching
      // The seal is signed with the key of the epoch it is written in.
      if (failure === undefined) await advanceEpochs().catch((err: Error) => { failure ??= err })
      if (failure === undefined) {
        writeFirst()
        file.write(chain.append(chainCloseBody(chain.chainId, chain.written + 1, stamp())))
        await writeHead()
      }
      await file.close()
    } finally {
      lock.release()
      // Every signing thread zeroes its copy of the key, then this thread zeroes its own.
      await pool?.close()
      wipeSecret(key.secret)
    }
    if (failure !== undefined) throw failure
  }

  const stream = build((source): void => {
    source.pipe(sink)
    // A failed write must reach pino's main thread (thread-stream forwards the
    // stream's 'error'), not die as an uncaught exception in this worker.
    sink.on('error', (err) => { source.destroy(err) })
    // Lines are all in once split2 has none buffered and the sink has none queued.
    const idle = (): boolean => source.readableLength === 0 && source.writableLength === 0 && sink.writableLength === 0 && !processing && switching === undefined && (signing?.pending ?? 0) === 0
    inputIdle = idle
    ;(source as unknown as { flush: (cb: (err?: Error) => void) => void }).flush = function flush (cb) {
      const wait = (): void => {
        if (failure !== undefined) { cb(failure); return }
        if (!idle()) { setImmediate(wait); return }
        file.sync().then(() => cb(), cb)
      }
      wait()
    }
  }, {
    parse: 'lines',
    // Identity: pino-abstract-transport's default JSON.parse would drop lines that are
    // not JSON; we keep every line and wrap it instead (FORMAT.md §3).
    parseLine: (line: string) => line,
    metadata: false,
    // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- the library's declared type
    close (err: Error | null, cb: Function) {
      const done = cb as (err?: Error | null) => void
      closing ??= seal()
      closing.then(() => { done(err) }, (sealErr: Error) => { done(err ?? sealErr) })
    }
  })
  // In a pino pipeline, pino's worker pipes the step before into this stream; the file
  // transport is written to by thread-stream only (its flush, seal and unlock hang off
  // that), and piped into it would lose records silently. Refuse the place at once.
  stream.once('pipe', () => { fail(new AuditChainError('PAC_BAD_OPTION', PIPELINE_REFUSED)) })
  return stream as unknown as NodeJS.WritableStream
}

const PIPELINE_REFUSED = 'the file transport (target "pino-audit-chain") cannot be a step of a pino pipeline. To sign lines inside a pipeline, put the stage there instead: pipeline: [..., { target: "pino-audit-chain/stage", options }, { target: "pino/file", options: { destination } }] (docs/transport.md: "Signed lines into any pino destination"); or give "pino-audit-chain" as a target of its own'

export { AuditChainError }
