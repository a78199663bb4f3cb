/**
 * The caller-side entry of the pipeline stage: checks what can be checked before a
 * worker exists (options, key file, head file directory), so that bad configuration
 * fails in the caller's thread with a clear error instead of inside pino's worker.
 */
import { fileURLToPath } from 'node:url'
import { checkHeadDirectory, loadStageKey, resolveStageOptions, type AuditStageOptions } from './options.js'
import { wipeSecret } from '../crypto/ed25519.js'

// Run from source under tsx (the tests do), this module is a .ts file; pino's worker
// thread cannot load TypeScript, so it is given the compiled stage (npm test builds first).
const stageFile = import.meta.url.endsWith('.ts') ? '../../dist/stage.js' : '../stage.js'

/** Absolute path of the stage module, for a pipeline step's `target`. */
export const stageTarget: string = fileURLToPath(new URL(stageFile, import.meta.url))

/**
 * A step of a pino `pipeline`. Its options are typed as pino types a step's options
 * (`Record<string, any>`), so that the steps around it keep their own option types.
 */
export interface AuditStageStep {
  target: string
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- pino's own default for transport options
  options: Record<string, any>
}

/**
 * Check the options and return the pipeline step that signs every line: put it before
 * the step that delivers the lines (pino/file, pino-socket, …).
 *
 * Throws an {@link AuditChainError} (code `PAC_…`) in the caller's thread for a bad
 * option, a missing/unreadable/wrong-type/too-open key, or a head file whose directory
 * does not exist. The worker checks all of this again, authoritatively.
 *
 * @example
 * const logger = pino(pino.transport({ pipeline: [
 *   auditChainStage({ privateKeyPath: 'keys/audit-ed25519.key' }),
 *   { target: 'pino-socket', options: { mode: 'tcp', address: '127.0.0.1', port: 5140 } }
 * ] }))
 */
export function auditChainStage (options: AuditStageOptions): AuditStageStep {
  const opts = resolveStageOptions(options)
  wipeSecret(loadStageKey(opts).secret) // only checked here; the worker loads it again to sign
  checkHeadDirectory(opts)
  const resolved: AuditStageOptions = {
    ...options,
    ...(opts.privateKeyPath !== undefined ? { privateKeyPath: opts.privateKeyPath } : {}),
    ...(opts.headFile !== undefined ? { headFile: opts.headFile } : {})
  }
  return { target: stageTarget, options: resolved }
}
