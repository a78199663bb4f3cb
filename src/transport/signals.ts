/**
 * SIGTERM/SIGINT: seal the chain before the process goes down, without taking the
 * signal away from the app.
 *
 * Signals reach only the main thread, never pino's worker, so this runs beside the
 * caller (auditChainTransport(), createAuditLogger()). The rule, per signal:
 * - the app (or anything else) listens for it too: we do nothing. The app owns its
 *   shutdown; its handlers — whichever order they were added in, sync or async — can
 *   still log, and its `process.exit()` or the natural end of the event loop ends the
 *   transport through pino's exit hook, which writes the seal;
 * - nobody else listens (Node would terminate the process): end the transport (drain,
 *   seal, head, lock), then raise the signal again with our listener removed, so the
 *   process ends by that signal exactly as it would have without us.
 * Closing on a signal the app also handles would end the stream under the app's
 * last log calls (they would throw PAC_CLOSED or go nowhere).
 */
import { constants } from 'node:os'

export type SealSignals = boolean | NodeJS.Signals[]

const DEFAULT_SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT']
// Node cannot listen for these (uv_signal_start fails with EINVAL).
const UNCATCHABLE = new Set(['SIGKILL', 'SIGSTOP'])

type Close = () => Promise<void>

/**
 * One listener per signal for every transport and audit logger in the process,
 * kept on globalThis so that two copies of this module (two installed versions of
 * the package) share it: separate listeners would each see the other as "the app
 * handles it", and both would stand aside.
 */
interface Registry { closers: Map<NodeJS.Signals, Set<Close>>, listeners: Map<NodeJS.Signals, () => void> }
const REGISTRY = Symbol.for('pino-audit-chain.signals')
const registry: Registry = ((globalThis as Record<symbol, unknown>)[REGISTRY] as Registry | undefined) ??
  ((globalThis as Record<symbol, unknown>)[REGISTRY] = { closers: new Map(), listeners: new Map() } as Registry)

/** True for `true`, `false`, or a list of signal names Node can listen for. */
export function isSealSignals (value: unknown): value is SealSignals {
  if (typeof value === 'boolean') return true
  return Array.isArray(value) && value.every((sig) =>
    typeof sig === 'string' && Object.hasOwn(constants.signals, sig) && !UNCATCHABLE.has(sig))
}

/**
 * On each of `signals`, when nothing else listens for it, run `close()` once, then
 * re-raise the signal with our listener removed. Returns a function that removes
 * `close` from every signal (call it when the stream closes by other means).
 */
export function sealOnSignals (signals: SealSignals | undefined, close: Close): () => void {
  if (signals === undefined || signals === false) return () => {}
  const list = signals === true ? DEFAULT_SIGNALS : [...new Set(signals)]
  for (const signal of list) {
    let closers = registry.closers.get(signal)
    if (closers === undefined) registry.closers.set(signal, closers = new Set())
    closers.add(close)
    if (!registry.listeners.has(signal)) listen(signal)
  }
  return () => {
    for (const signal of list) {
      const closers = registry.closers.get(signal)
      closers?.delete(close)
      if (closers?.size === 0) unlisten(signal)
    }
  }
}

function listen (signal: NodeJS.Signals): void {
  const listener = (): void => {
    // Counted when the signal arrives, so a handler the app added after us counts too.
    if (process.listeners(signal).some((l) => l !== listener)) return
    const closers = [...registry.closers.get(signal) ?? []]
    unlisten(signal)
    // A second signal while we close finds no listener and ends the process at once,
    // as a second Ctrl-C should.
    void Promise.allSettled(closers.map(async (close) => { await close() })).then((results) => {
      for (const r of results) {
        if (r.status === 'rejected') {
          process.stderr.write(`pino-audit-chain: could not seal the audit chain on ${signal}: ${(r.reason as Error).message}\n`)
        }
      }
      // With a listener added meanwhile, Node would not exit on the signal: leave it to that listener.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
    })
  }
  registry.listeners.set(signal, listener)
  process.on(signal, listener)
}

function unlisten (signal: NodeJS.Signals): void {
  const listener = registry.listeners.get(signal)
  if (listener !== undefined) process.removeListener(signal, listener)
  registry.listeners.delete(signal)
  registry.closers.delete(signal)
}
