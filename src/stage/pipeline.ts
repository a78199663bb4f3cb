/**
 * How the stage sits in pino's pipeline. pino (lib/worker.js, createPipeline) joins
 * the steps with stream.pipeline(PassThrough, stage, nextStep): it pipes a PassThrough
 * into the stage and the stage into the next step, before the first line arrives.
 * thread-stream sends `logger.flush()` to that PassThrough, which has no flush of its
 * own, so on its own a flush would call back with records still inside the stage.
 * Here the stage learns its next step and gives the PassThrough a flush that waits
 * until every line has left the stage as a record, then runs the next step's own
 * flush when it has one (pino/file's sonic-boom does).
 */
import type { Duplex, Readable } from 'node:stream'

type Callback = (err?: Error | null) => void
type Flushable = { flush?: (cb: Callback) => unknown }

export interface PipelinePlace {
  /** True once pino has piped the stage into a next step. */
  readonly hasNext: boolean
}

/**
 * `stage` is the duplex pino-abstract-transport built; `busy()` says whether lines are
 * still inside it (read, chained, being signed or waiting for room); `failure()` the
 * error that stopped it, if any.
 */
export function joinPipeline (stage: Duplex, busy: () => boolean, failure: () => Error | undefined): PipelinePlace {
  let next: Flushable | undefined
  const pipe = stage.pipe.bind(stage)
  stage.pipe = <T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T => {
    next = destination as Flushable
    return pipe(destination, options)
  }

  stage.on('pipe', (upstream: Readable & Flushable & { writableLength?: number }) => {
    if (typeof upstream.flush === 'function') return
    // Lines can wait on both sides of the PassThrough: written but not yet transformed
    // (its writable side holds them while its readable side is full), and transformed
    // but not yet read by the stage. The file transport checks both sides of its source too.
    const idle = (): boolean => (upstream.writableLength ?? 0) === 0 && upstream.readableLength === 0 && stage.writableLength === 0 && !busy() && stage.readableLength === 0
    upstream.flush = function flush (cb: Callback): void {
      const wait = (): void => {
        const err = failure()
        if (err !== undefined) { cb(err); return }
        if (!idle()) { setImmediate(wait); return }
        if (typeof next?.flush !== 'function') { cb(); return }
        try {
          next.flush((flushErr) => { cb(flushErr) })
        } catch (flushErr) {
          cb(flushErr as Error)
        }
      }
      wait()
    }
  })

  return { get hasNext () { return next !== undefined } }
}
