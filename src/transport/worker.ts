/**
 * The pino transport: runs in pino's worker thread. Lines in → bodies → chain
 * (hash + sign) → log file, then the head file on a timer and the seal at close.
 */
import { Writable } from 'node:stream'
import { randomBytes } from 'node:crypto'
import build from 'pino-abstract-transport'
import { AuditChainError } from '../errors.js'
import { bodyFromLine } from '../format/body.js'
import { chainCloseBody, chainOpenBody, chainResumeBody } from '../format/control.js'
import { signHead, writeHeadFile } from '../format/head.js'
import { loadSigningKey, signingKeyFromPem, type SigningKey } from '../format/keys.js'
import { createChain, type Chain } from './chain.js'
import { ensureLogDirectory, openLogFile, type LogFile } from './file.js'
import { acquireLock, type Lock } from './lock.js'
import { resolveOptions, type AuditTransportOptions, type ResolvedOptions } from './options.js'
import { readChainTail } from './tail.js'

// Objects (lines) the sink buffers before pushing back on split2 and, through it,
// on thread-stream's shared buffer: enough to batch work, small enough to bound memory.
const SINK_HIGH_WATER_MARK = 1024

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
  const { chain, file, lock } = startWriter(opts, key)

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
  const sink = new Writable({
    objectMode: true,
    highWaterMark: SINK_HIGH_WATER_MARK,
    writev (chunks, cb) {
      processing = true
      try {
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
    }
  })

  let headTimer: NodeJS.Timeout | undefined
  const headLoop = (): void => {
    headTimer = setTimeout(() => {
      writeHead().then(headLoop, (err: Error) => { failure = err })
    }, opts.headIntervalMs)
    headTimer.unref()
  }
  if (opts.headFile !== undefined) headLoop()

  let closing: Promise<void> | undefined
  const seal = async (): Promise<void> => {
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
    }
    if (failure !== undefined) throw failure
  }

  const stream = build((source): void => {
    source.pipe(sink)
    // A failed write must reach pino's main thread (thread-stream forwards the
    // stream's 'error'), not die as an uncaught exception in this worker.
    sink.on('error', (err) => { source.destroy(err) })
    // Lines are all in once split2 has none buffered and the sink has none queued.
    const idle = (): boolean => source.readableLength === 0 && source.writableLength === 0 && sink.writableLength === 0 && !processing
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
