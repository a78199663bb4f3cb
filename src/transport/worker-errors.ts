/**
 * Give errors from pino's worker back their `code` in the main thread.
 *
 * thread-stream posts a worker's error (and warning) to the main thread with
 * postMessage, whose structured clone keeps an Error's message and stack but drops
 * its own properties and any name other than the built-in ones: an AuditChainError
 * arrives as a plain Error without `code` (Node 20; checked in test/error-codes.test.ts).
 * Our messages start with the code (src/errors.ts), so it can be put back — but only
 * here, in the main thread: a plain `pino.transport({ target: 'pino-audit-chain' })`
 * runs none of our code there, and its errors keep the code in the message alone.
 */
import { AuditChainError } from '../errors.js'
import type { TransportStream } from './close.js'

const CODE_PREFIX = /^(PAC_[A-Z_]+): /

/** Make `err` an AuditChainError again when its message says it was one. */
export function restoreErrorCode (err: unknown): void {
  if (!(err instanceof Error) || err instanceof AuditChainError) return
  const match = CODE_PREFIX.exec(err.message)
  if (match === null) return
  // Keep the object (its stack is the worker's, which is where it happened); only
  // make it read, and match with instanceof, as it did on the other side.
  Object.setPrototypeOf(err, AuditChainError.prototype)
  Object.defineProperty(err, 'name', { value: 'AuditChainError', writable: true, configurable: true, enumerable: false })
  Object.defineProperty(err, 'code', { value: match[1], writable: true, configurable: true, enumerable: true })
}

interface WorkerMessage { code?: unknown, err?: unknown }

/**
 * Restore codes on every error and warning `stream`'s worker sends, before
 * thread-stream passes it on: to the stream's 'error' event (and to the `flush()`
 * callbacks pending at that moment), and to `process.emitWarning` for warnings.
 */
export function keepErrorCodes (stream: TransportStream): void {
  const worker = (stream as unknown as { worker?: NodeJS.EventEmitter }).worker
  // Runs before thread-stream's own listener, which was added when the worker was made.
  worker?.prependListener('message', (msg: WorkerMessage | undefined) => {
    if (msg?.code === 'ERROR' || msg?.code === 'WARNING') restoreErrorCode(msg.err)
  })
}
