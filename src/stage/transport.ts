/**
 * The pipeline stage: runs in pino's worker thread as an early step of a pino
 * `pipeline`. Lines in → bodies → chain (hash + sign) → record lines out to the next
 * step (a file, a socket, a log shipper), which sees exactly the v1 lines the file
 * transport would write. There is no file to resume from, so every start opens a new
 * chain (chain.open, seq 0) and a clean close emits the seal (chain.close) before the
 * next step is ended. Optionally a signed head file names the last record emitted.
 */
import { randomBytes } from 'node:crypto'
import { Writable, type Duplex, type Readable } from 'node:stream'
import { parentPort } from 'node:worker_threads'
import build from 'pino-abstract-transport'
import { AuditChainError } from '../errors.js'
import { bodyAndTime, bodyFromLine, oversizeWarning, type OversizeLine } from '../format/body.js'
import { controlTime, firstRecordTime } from '../format/control-time.js'
import { chainCloseBody, chainOpenBody } from '../format/control.js'
import { signHead, writeHeadFile } from '../format/head.js'
import { createChain } from '../transport/chain.js'
import { wipeSecret } from '../crypto/ed25519.js'
import { createSignPool, createSigningQueue, type SignPool, type SigningQueue } from '../transport/sign-pool.js'
import { createOutlet } from './outlet.js'
import { joinPipeline, type PipelinePlace } from './pipeline.js'
import { checkHeadDirectory, loadStageKey, resolveStageOptions, type AuditStageOptions } from './options.js'

// As the file transport (transport/worker.ts): lines the sink buffers before pushing
// back on split2 and, through it, on pino's shared buffer.
const SINK_HIGH_WATER_MARK = 1024
// As the file transport: with a sign pool, records accepted but not yet signed and
// emitted before the sink stops taking more (16 batches of 512), and at most 32 Mi
// characters of bodies, so that a flood of huge lines stays bounded in memory too.
const MAX_PENDING_RECORDS = 8192
const MAX_PENDING_CHARS = 32 * 1024 * 1024

const NOTHING_FOLLOWS = 'pino-audit-chain/stage emits signed records to the next step of a pino pipeline, and nothing follows it: ' +
  "use pino.transport({ pipeline: [{ target: 'pino-audit-chain/stage', options }, { target: 'pino/file', options: { destination } }] }), " +
  "or target 'pino-audit-chain' to write a log file directly"

type Callback = (err?: Error | null) => void
type Source = Readable & { writableLength: number }

// pino-abstract-transport with enablePipelining: `fn` returns the readable side and
// build() returns Duplex.from({ writable: source, readable }). Its declared types
// want a Transform back; any Readable is what it joins.
const buildPipelined = build as unknown as (fn: (source: Source) => Readable, opts: {
  parse: 'lines'
  parseLine: (line: string) => unknown
  metadata: false
  enablePipelining: true
  close: (err: Error | null, cb: Callback) => void
}) => Duplex

/**
 * Entry point called by pino (through thread-stream) in the worker thread. Returns a
 * duplex: pino's pipeline writes lines into it and pipes its record lines on.
 */
export default async function auditChainStage (options: AuditStageOptions): Promise<Duplex> {
  const opts = resolveStageOptions(options)
  const key = loadStageKey(opts)
  checkHeadDirectory(opts)
  const chain = createChain(key, randomBytes(16).toString('hex'))
  const outlet = createOutlet()

  let headSeq = -1
  const writeHead = (): void => {
    if (opts.headFile === undefined || chain.lastSeq === headSeq) return
    writeHeadFile(opts.headFile, signHead(key, chain.chainId, chain.lastSeq, chain.lastHash))
    headSeq = chain.lastSeq
  }
  // The first record waits for the first line, whose time (stamped by the app at the log
  // call, often before this thread started) its own time must not pass (FORMAT.md §5.8);
  // with no line before the end it is written at the seal.
  const started = Date.now()
  let awaitingFirst = true
  const writeFirst = (next?: number): void => {
    if (!awaitingFirst) return
    awaitingFirst = false
    outlet.push(chain.append(chainOpenBody(chain.chainId, key.kid, null, firstRecordTime(started, undefined, next), { pipeline: true })))
  }

  let failure: Error | undefined
  let processing = false
  let place: PipelinePlace | undefined
  const fail = (err: Error): void => {
    failure ??= err
    if (!sink.destroyed) sink.destroy(err)
  }
  // As the file transport: the app is told when a line's content is not in the chain.
  const onOversize = (o: OversizeLine): void => { parentPort?.postMessage({ code: 'WARNING', err: oversizeWarning(o, 'the pipeline stage\'s output') }) }

  // signers > 1: this thread and signers - 1 pool threads sign (sign-pool.ts); the
  // queue emits the lines back in seq order.
  let pool: SignPool | undefined
  let signing: SigningQueue | undefined
  if (opts.signers > 1) {
    pool = createSignPool(key, opts.signers - 1)
    signing = createSigningQueue(chain, pool, key, outlet.push, fail)
  }

  const takeBatch = (chunks: Array<{ chunk: unknown }>, cb: Callback): void => {
    // pino's pipeline pipes the stage on before the first line arrives (pipeline.ts);
    // without a next step the records would pile up here and reach nobody.
    if (place?.hasNext !== true) fail(new AuditChainError('PAC_BAD_OPTION', NOTHING_FOLLOWS))
    if (failure !== undefined) { cb(failure); return }
    processing = true
    try {
      let text = ''
      for (const { chunk } of chunks) {
        let body: string | undefined
        if (awaitingFirst) {
          const read = bodyAndTime(chunk as string, Date.now, onOversize)
          body = read?.body
          if (body !== undefined) writeFirst(read?.time)
        } else {
          body = bodyFromLine(chunk as string, Date.now, onOversize)
        }
        if (body === undefined) continue
        if (signing !== undefined) signing.add(chain.prepare(body))
        else text += chain.append(body)
      }
      if (text.length > 0) outlet.push(text)
      // Take the next batch once the signers keep up and the next step has room.
      const resume = (): void => { outlet.whenReady(() => { cb(failure) }) }
      if (signing !== undefined) signing.whenBelow(MAX_PENDING_RECORDS, MAX_PENDING_CHARS, resume)
      else resume()
    } catch (err) {
      failure = err as Error
      cb(failure)
    } finally {
      processing = false
    }
  }

  const sink = new Writable({
    objectMode: true,
    highWaterMark: SINK_HIGH_WATER_MARK,
    writev (chunks, cb) { takeBatch(chunks, cb) },
    // 'finish' (and so the seal) only once every accepted record is signed and emitted.
    final (cb) {
      const drained = async (): Promise<void> => {
        while ((signing?.pending ?? 0) > 0) await signing?.drain()
      }
      drained().then(() => { cb() }, cb)
    }
  })

  let headTimer: NodeJS.Timeout | undefined
  const headLoop = (): void => {
    headTimer = setTimeout(() => {
      try {
        writeHead()
      } catch (err) {
        // A head that cannot be written must reach the app like any failure.
        fail(err as Error)
        return
      }
      headLoop()
    }, opts.headIntervalMs)
    headTimer.unref()
  }
  if (opts.headFile !== undefined) headLoop()

  let closing: Promise<void> | undefined
  const seal = async (err: Error | null): Promise<void> => {
    if (headTimer !== undefined) clearTimeout(headTimer)
    try {
      if (err == null && failure === undefined && !sink.writableFinished) {
        const finished = new Promise<void>((resolve, reject) => {
          sink.once('finish', resolve)
          sink.once('error', reject)
        })
        if (!sink.writableEnded) sink.end()
        await finished
      }
      if (err == null && failure === undefined) {
        writeFirst()
        outlet.push(chain.append(chainCloseBody(chain.chainId, chain.written + 1, controlTime(Date.now(), chain.tipTime))))
        writeHead()
      }
    } finally {
      await pool?.close()
      wipeSecret(key.secret)
    }
    if (failure !== undefined) throw failure
    // The next step ends only after the seal: pino's pipeline ends it when we end.
    if (err == null) outlet.end()
  }

  let source: Source | undefined
  const stage = buildPipelined((input) => {
    source = input
    input.pipe(sink)
    // A failure must reach pino's main thread through the pipeline, not die in this worker.
    sink.on('error', (err) => { input.destroy(err) })
    return outlet.stream
  }, {
    parse: 'lines',
    // Identity: pino-abstract-transport's default JSON.parse would drop lines that are
    // not JSON; we keep every line and wrap it instead (FORMAT.md §3).
    parseLine: (line: string) => line,
    metadata: false,
    enablePipelining: true,
    close (err, done) {
      closing ??= seal(err)
      closing.then(() => { done(err) }, (sealErr: Error) => { done(err ?? sealErr) })
    }
  })

  // Lines still inside the stage: in split2, in the sink, being chained or signed, or
  // records waiting for the next step to read them.
  const busy = (): boolean => (source !== undefined && (source.readableLength > 0 || source.writableLength > 0)) ||
    sink.writableLength > 0 || processing || (signing?.pending ?? 0) > 0 || outlet.buffered > 0
  place = joinPipeline(stage, busy, () => failure)
  return stage
}
