/**
 * Opt-in SIGTERM/SIGINT handling: seal the chain before the process goes down.
 * Opt-in because a library must not take over an app's signals uninvited; an app
 * with its own shutdown logic should call `audit.close()` from it instead.
 */

export type SealSignals = boolean | NodeJS.Signals[]

const DEFAULT_SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT']

/**
 * On each of `signals`, run `close()` once, then re-raise the signal with our handler
 * removed, so the process ends exactly as it would have (exit by that signal, or
 * whatever other handlers the app has). Returns a function that removes the handlers.
 */
export function sealOnSignals (signals: SealSignals | undefined, close: () => Promise<void>): () => void {
  if (signals === undefined || signals === false) return () => {}
  const list = signals === true ? DEFAULT_SIGNALS : signals
  const handlers = new Map<NodeJS.Signals, () => void>()
  const remove = (): void => {
    for (const [signal, handler] of handlers) process.removeListener(signal, handler)
    handlers.clear()
  }
  for (const signal of list) {
    const handler = (): void => {
      remove()
      const reraise = (): void => {
        // With other listeners left, Node does not exit on the signal: leave it to them.
        if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
      }
      close().then(reraise, (err: unknown) => {
        process.stderr.write(`pino-audit-chain: could not seal the audit chain on ${signal}: ${(err as Error).message}\n`)
        reraise()
      })
    }
    handlers.set(signal, handler)
    process.on(signal, handler)
  }
  return remove
}
