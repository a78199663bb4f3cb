/**
 * The caller-side entry: validates everything that can be checked before a worker
 * exists (options, key file, destination, lock), so bad configuration fails in the
 * caller's thread with a clear error instead of inside pino's worker.
 */
import { fileURLToPath } from 'node:url'
import pino from 'pino'
import { assertUnlocked } from './lock.js'
import { ensureLogDirectory } from './file.js'
import { resolveOptions, type AuditTransportOptions } from './options.js'
import { findResumePoint } from './rotation.js'
import { loadSigner, ownPublicKeys, startingEpoch } from './signer.js'

// Run from source under tsx (the tests do), this module is a .ts file; pino's worker
// thread cannot load TypeScript, so it is given the compiled transport (npm test builds first).
const workerFile = import.meta.url.endsWith('.ts') ? '../../dist/transport/worker.js' : './worker.js'

/** Absolute path of the transport module, for `pino.transport({ target })` or pipelines. */
export const transportTarget: string = fileURLToPath(new URL(workerFile, import.meta.url))

/**
 * Check the options, then start the audit transport in a pino worker thread.
 *
 * Throws an {@link AuditChainError} (code `PAC_…`) in the caller's thread for a bad
 * option, a missing/unreadable/wrong-type/too-open key, an epoch key bundle that
 * cannot sign now (expired, not begun, its key erased), a destination that cannot be
 * created, a destination another live process writes, or a log whose last record was
 * tampered with. The worker checks all of this again, authoritatively.
 *
 * @example
 * const logger = pino(auditChainTransport({ destination: 'logs/audit.log', privateKeyPath: 'keys/audit-ed25519.key' }))
 */
export function auditChainTransport (options: AuditTransportOptions): ReturnType<typeof pino.transport> {
  const opts = resolveOptions(options)
  const signer = loadSigner(opts)
  ensureLogDirectory(opts.destination, opts.mkdir)
  assertUnlocked(opts.destination)
  const { tail } = findResumePoint(opts.destination, ownPublicKeys(signer))
  if (signer.kind === 'epochs') startingEpoch(signer.keys, tail, Date.now())
  const resolved: AuditTransportOptions = {
    ...options,
    destination: opts.destination,
    ...(opts.privateKeyPath !== undefined ? { privateKeyPath: opts.privateKeyPath } : {}),
    ...(opts.epochKeysPath !== undefined ? { epochKeysPath: opts.epochKeysPath } : {}),
    ...(typeof options.headFile === 'string' ? { headFile: opts.headFile as string } : {})
  }
  return pino.transport({ target: transportTarget, options: resolved })
}
