/**
 * Ending a transport started with pino.transport() and waiting until the seal is
 * written. Written once here: thread-stream's lifecycle has two traps.
 */
import { once } from 'node:events'
import type pino from 'pino'

/** The stream pino.transport() returns (a thread-stream). */
export type TransportStream = ReturnType<typeof pino.transport>

// thread-stream has these at runtime; its type declarations omit them.
type ThreadStreamRuntime = TransportStream & { ref: () => void, ready: boolean, closed: boolean }

/**
 * End `transport` and resolve once its worker has written the seal and the head and
 * exited. Safe to call before the worker is ready and more than once.
 */
export async function closeAuditTransport (transport: TransportStream): Promise<void> {
  const stream = transport as ThreadStreamRuntime
  if (stream.closed) return
  const closed = once(stream, 'close')
  // pino unrefs the worker when it becomes ready: wait for that first, then ref it,
  // or an otherwise idle process exits before the worker's 'close' arrives.
  if (!stream.ready) await Promise.race([once(stream, 'ready'), closed])
  if (stream.closed) return
  stream.ref()
  stream.end()
  await closed
}
