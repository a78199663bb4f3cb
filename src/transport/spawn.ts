/**
 * The caller-side entry: validates everything that can be checked before a worker
 * exists (options, key file, destination, lock), so bad configuration fails in the
 * caller's thread with a clear error instead of inside pino's worker.
 */
import { fileURLToPath } from 'node:url'
import pino from 'pino'
import { AuditChainError } from '../errors.js'
import { closeAuditTransport } from './close.js'
import { assertUnlocked } from './lock.js'
import { assertHeadLocation, ensureLogDirectory } from './file.js'
import { resolveOptions, type AuditTransportOptions } from './options.js'
import { findResumePoint } from './rotation.js'
import { probeSlot, slotOptions } from './slots.js'
import type { ChainTail } from './tail.js'
import { isSealSignals, sealOnSignals, type SealSignals } from './signals.js'
import { wipeSecret } from '../crypto/ed25519.js'
import { backendName, CRYPTO_ENV } from '../crypto/backend.js'
import { loadSigner, ownPublicKeys, startingEpoch } from './signer.js'
import { keepErrorCodes } from './worker-errors.js'

// Run from source under tsx (the tests do), this module is a .ts file; pino's worker
// thread cannot load TypeScript, so it is given the compiled transport (npm test builds first).
const workerFile = import.meta.url.endsWith('.ts') ? '../../dist/transport/worker.js' : './worker.js'

/** Absolute path of the transport module, for `pino.transport({ target })` or pipelines. */
export const transportTarget: string = fileURLToPath(new URL(workerFile, import.meta.url))

/**
 * The heap limits of the transport's own thread. It turns megabytes of pino lines a
 * second into short-lived strings and objects (thread-stream hands it up to 4 MiB at a
 * time); with V8's default 16 MiB semi-spaces the young generation alone grows to
 * ~30 MiB of pages under load although what is alive at any time is ~15 MiB
 * (bench/README.md "Memory"). 1 MiB semi-spaces (3 MiB of young generation) cost a few
 * more scavenges (~3 % more CPU, within the noise); 6 MiB measured ~10 MB higher and
 * less steady. The old generation is left at V8's default: the records in flight
 * are bounded (worker.ts), and a limit there would only add a way to crash.
 */
const TRANSPORT_THREAD_LIMITS = { maxYoungGenerationSizeMb: 3 }

/** Options of {@link auditChainTransport}: the transport's, plus what only the caller's thread can do. */
export interface AuditChainTransportOptions extends AuditTransportOptions {
  /**
   * On SIGTERM and SIGINT (`true`, the default) or on the listed signals: when the app
   * has no listener of its own for the signal, end the transport — every record
   * logged so far written, the chain sealed, the head written, the lock released —
   * then raise the signal again so the process ends by it, as it would have. When the
   * app listens for the signal itself, nothing is done: its handlers can still log,
   * and its `process.exit()` (or the end of the event loop) seals the chain.
   * `false`: no signal handling; a SIGTERM then loses every record still in flight.
   */
  handleSignals?: SealSignals
}

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
export function auditChainTransport (callerOptions: AuditChainTransportOptions): ReturnType<typeof pino.transport> {
  const { options, handleSignals } = splitHandleSignals(callerOptions)
  const opts = resolveOptions(options)
  const signer = loadSigner(opts)
  try {
    ensureLogDirectory(opts.destination, opts.mkdir)
    let tail: ChainTail = { kind: 'empty' }
    if (opts.perProcess) {
      // Only whether a slot is free, and where its head would go: which one the worker
      // takes, and what that slot's file holds, is decided there, under the lock. The
      // siblings of a cluster start together; a slot's tail read here could be one
      // another process is writing or is about to take.
      const own = slotOptions(opts, probeSlot(opts.destination))
      assertHeadLocation(own.headFile, own.destination)
    } else {
      assertHeadLocation(opts.headFile, opts.destination)
      assertUnlocked(opts.destination)
      tail = findResumePoint(opts.destination, ownPublicKeys(signer)).tail
    }
    if (signer.kind === 'epochs') startingEpoch(signer.keys, tail, Date.now())
  } finally {
    // This thread only checks; the worker loads the key again to sign.
    if (signer.kind === 'key') wipeSecret(signer.key.secret)
  }
  const resolved: AuditTransportOptions = {
    ...options,
    destination: opts.destination,
    ...(opts.privateKeyPath !== undefined ? { privateKeyPath: opts.privateKeyPath } : {}),
    ...(opts.epochKeysPath !== undefined ? { epochKeysPath: opts.epochKeysPath } : {}),
    ...(typeof options.headFile === 'string' ? { headFile: opts.headFile as string } : {})
  }
  // Having warned here that libsodium cannot be loaded, tell the worker to use
  // node:crypto: it would fail to load it too, and warn a second time.
  const env = backendName() === 'node:crypto' && process.env[CRYPTO_ENV] === undefined
    ? { env: { ...process.env, [CRYPTO_ENV]: 'node' } }
    : {}
  const stream = pino.transport({ target: transportTarget, options: resolved, worker: { ...env, resourceLimits: TRANSPORT_THREAD_LIMITS } })
  keepErrorCodes(stream)
  const release = sealOnSignals(handleSignals, async () => { await closeAuditTransport(stream) })
  stream.once('close', release)
  return stream
}

// handleSignals is for this thread only: the worker would refuse it as unknown.
function splitHandleSignals (callerOptions: AuditChainTransportOptions): { options: AuditTransportOptions, handleSignals: SealSignals } {
  if (callerOptions === null || typeof callerOptions !== 'object') return { options: callerOptions, handleSignals: false }
  const { handleSignals = true, ...options } = callerOptions
  if (!isSealSignals(handleSignals)) {
    throw new AuditChainError('PAC_BAD_OPTION', `option handleSignals must be true, false or a list of signal names such as ["SIGTERM"], got ${JSON.stringify(handleSignals)}`)
  }
  return { options, handleSignals }
}
