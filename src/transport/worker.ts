/**
 * The pino transport: runs in pino's worker thread. Lines in → bodies → chain
 * (hash + sign) → log file, then the head file on a timer and the seal at close.
 */
import { Writable } from 'node:stream'
import { basename } from 'node:path'
import { parentPort } from 'node:worker_threads'
import { randomBytes } from 'node:crypto'
import build from 'pino-abstract-transport'
import { AuditChainError } from '../errors.js'
import { bodyFromLine } from '../format/body.js'
import { chainCloseBody, chainOpenBody, chainResumeBody, fileOpenBody } from '../format/control.js'
import { signHead, writeHeadFile } from '../format/head.js'
import { loadSigningKey, signingKeyFromPem, type SigningKey } from '../format/keys.js'
import { createChain, type Chain } from './chain.js'
import { createSignPool, createSigningQueue, type SignPool, type SigningQueue } from './sign-pool.js'
import { ensureLogDirectory, openLogFile, type LogFile } from './file.js'
import { acquireLock, type Lock } from './lock.js'
import { resolveOptions, type AuditTransportOptions, type ResolvedOptions } from './options.js'
import { readChainTail } from './tail.js'

// Objects (lines) the sink buffers before pushing back on split2 and, through it,
// on thread-stream's shared buffer: enough to batch work, small enough to bound memory.
const SINK_HIGH_WATER_MARK = 1024
// With a sign pool, records accepted but not yet signed and written before the sink
// stops taking more: 16 batches of 512 in flight keep 2–4 threads busy while the
// transport thread hashes the next ones; and at most 32 Mi characters of bodies, so
// that a flood of huge lines stays bounded in memory too.
const MAX_PENDING_RECORDS = 8192
const MAX_PENDING_CHARS = 32 * 1024 * 1024

export function loadKey (opts: ResolvedOptions): SigningKey {
  return opts.privateKeyPath !== undefined
    ? loadSigningKey(opts.privateKeyPath)
    : signingKeyFromPem(opts.privateKey as string, 'option privateKey')
}

interface Writer {
  chain: Chain
  file: LogFile
  lock: Lock
}

/** Take the lock, inspect the file, and write the chain.open or chain.resume record. */
function startWriter (opts: ResolvedOptions, key: SigningKey): Writer {
  ensureLogDirectory(opts.destination, opts.mkdir)
  const lock = acquireLock(opts.destination)
  try {
    // Read the tail before opening for append: what we find decides the first record.
    const tail = readChainTail(opts.destination, key)
    const file = openLogFile(opts.destination, opts)
    let chain: Chain
    let first: string
    if (tail.kind === 'existing') {
      chain = createChain(key, tail.chainId, tail.last)
      first = chainResumeBody(tail.chainId, key.kid, { seq: tail.last.seq, hash: tail.last.hash }, tail.torn)
    } else {
      const chainId = randomBytes(16).toString('hex')
      chain = createChain(key, chainId)
      first = chainOpenBody(chainId, key.kid, tail.kind === 'fresh' ? tail.torn : null)
    }
    const newline = tail.kind !== 'empty' && tail.needsNewline ? '\n' : ''
    file.write(newline + chain.append(first))
    return { chain, file, lock }
  } catch (err) {
    lock.release()
    throw err
  }
}

/**
 * Entry point called by pino (through thread-stream) in the worker thread.
 * Returns the stream pino writes lines into.
 */
export default async function auditChainTransport (options: AuditTransportOptions): Promise<NodeJS.WritableStream> {
  const opts = resolveOptions(options)
  const key = loadKey(opts)
  const started = startWriter(opts, key)
  const { chain, lock } = started
  let file = started.file

  let headSeq = -1
  const writeHead = async (): Promise<void> => {
    if (opts.headFile === undefined || chain.lastSeq === headSeq) return
    const seq = chain.lastSeq
    const hash = chain.lastHash
    await file.sync() // a head must only name records that are on disk
    writeHeadFile(opts.headFile, signHead(key, chain.chainId, seq, hash))
    headSeq = seq
  }

  let failure: Error | undefined
  let processing = false
  // signers > 1: sign in a pool of threads; the queue writes the lines back in seq order.
  let pool: SignPool | undefined
  let signing: SigningQueue | undefined
  if (opts.signers > 1) {
    pool = createSignPool(key.privateKey, opts.signers)
    signing = createSigningQueue(chain, pool, (text) => { file.write(text) }, (err) => {
      failure ??= err
      if (!sink.destroyed) sink.destroy(err)
    })
  }
  const sink = new Writable({
    objectMode: true,
    highWaterMark: SINK_HIGH_WATER_MARK,
    writev (chunks, cb) {
      processing = true
      try {
        if (signing !== undefined) {
          for (const { chunk } of chunks) {
            const body = bodyFromLine(chunk as string)
            if (body !== undefined) signing.add(chain.prepare(body))
          }
          signing.whenBelow(MAX_PENDING_RECORDS, MAX_PENDING_CHARS, cb)
          return
        }
        let text = ''
        for (const { chunk } of chunks) {
          const body = bodyFromLine(chunk as string)
          if (body !== undefined) text += chain.append(body)
        }
        if (text.length > 0) file.write(text)
        cb()
      } catch (err) {
        failure = err as Error
        cb(err as Error)
      } finally {
        processing = false
      }
    },
    // 'finish' (and so the seal) only once every accepted record is signed and written.
    final (cb) {
      if (signing === undefined) { cb(); return }
      signing.drain().then(() => { cb() }, cb)
    }
  })

  // The file at our path was deleted, moved or replaced under us (by hand, or by a
  // rotation tool that does not know us): whatever we append to the old inode is out
  // of the auditor's sight, so continue the chain in a new file at the path.
  const continueInNewFile = async (): Promise<void> => {
    while ((signing?.pending ?? 0) > 0) await signing?.drain()
    const old = file
    file = openLogFile(opts.destination, opts)
    file.write(chain.append(fileOpenBody(chain.chainId, key.kid, basename(opts.destination), null, 'replaced')))
    await old.close().catch(() => {})
    const warning = new AuditChainError('PAC_FILE_REPLACED', `${opts.destination} was deleted or replaced while being written; the chain continues at seq ${chain.lastSeq} in a new file at that path. Records written since the last check (${opts.headIntervalMs} ms) went to the old file only`)
    parentPort?.postMessage({ code: 'WARNING', err: warning })
  }

  // Every headIntervalMs: check the file is still ours, then refresh the head.
  let headTimer: NodeJS.Timeout | undefined
  const headLoop = (): void => {
    headTimer = setTimeout(() => {
      const step = async (): Promise<void> => {
        if (failure === undefined && !closingStarted && !file.stillInPlace()) await continueInNewFile()
        await writeHead()
      }
      // A failure here (the directory gone, fsync failing) must reach the app like a write error.
      step().then(headLoop, (err: Error) => { failure ??= err; if (!sink.destroyed) sink.destroy(err) })
    }, opts.headIntervalMs)
    headTimer.unref()
  }
  headLoop()

  let closing: Promise<void> | undefined
  let closingStarted = false
  const seal = async (): Promise<void> => {
    closingStarted = true
    if (headTimer !== undefined) clearTimeout(headTimer)
    try {
      if (!sink.writableFinished && failure === undefined) {
        const finished = new Promise<void>((resolve, reject) => {
          sink.once('finish', resolve)
          sink.once('error', reject)
        })
        if (!sink.writableEnded) sink.end()
        await finished
      }
      if (failure === undefined) {
        file.write(chain.append(chainCloseBody(chain.chainId, chain.written + 1)))
        await writeHead()
      }
      await file.close()
    } finally {
      lock.release()
      await pool?.close()
    }
    if (failure !== undefined) throw failure
  }

  const stream = build((source): void => {
    source.pipe(sink)
    // A failed write must reach pino's main thread (thread-stream forwards the
    // stream's 'error'), not die as an uncaught exception in this worker.
    sink.on('error', (err) => { source.destroy(err) })
    // Lines are all in once split2 has none buffered and the sink has none queued.
    const idle = (): boolean => source.readableLength === 0 && source.writableLength === 0 && sink.writableLength === 0 && !processing && (signing?.pending ?? 0) === 0
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
  return stream as unknown as NodeJS.WritableStream
}

export { AuditChainError }
