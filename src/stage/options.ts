/**
 * The pipeline stage's options: one validator, run in the caller's thread by
 * `auditChainStage()` and again inside pino's worker (which cannot trust that the
 * caller went through it).
 */
import { dirname } from 'node:path'
import { statSync } from 'node:fs'
import { AuditChainError } from '../errors.js'
import { loadSigningKey, signingKeyFromPem, type SigningKey } from '../format/keys.js'
import { resolveOptions } from '../transport/options.js'

/**
 * Options of the pipeline stage
 * (`pino.transport({ pipeline: [{ target: 'pino-audit-chain/stage', options }, nextStep] })`).
 */
export interface AuditStageOptions {
  /** Path of the Ed25519 private key (PKCS#8 PEM, mode 0600), e.g. from `audit-chain keygen`. */
  privateKeyPath?: string
  /** The private key itself, as PEM text (instead of `privateKeyPath`). */
  privateKey?: string
  /**
   * Threads that compute the Ed25519 signatures, a whole number from 1 to 64; `1` signs
   * inline with no pool. Records still leave strictly in seq order. Default: the
   * machine's `os.availableParallelism()`, at most 4.
   */
  signers?: number
  /**
   * A signed head file naming the last record the stage emitted, replaced atomically
   * at start, every `headIntervalMs` while records pass and at close. Its directory
   * must exist. Default: none (`false`).
   */
  headFile?: string | false
  /** How often (ms) the head file is refreshed while records pass. Default 1000. */
  headIntervalMs?: number
}

export interface ResolvedStageOptions {
  privateKeyPath: string | undefined
  privateKey: string | undefined
  signers: number
  /** Absolute path, or undefined for no head file. */
  headFile: string | undefined
  headIntervalMs: number
}

const KNOWN = ['privateKeyPath', 'privateKey', 'signers', 'headFile', 'headIntervalMs']
// Members pino.transport() may add to a transport's options.
const ADDED_BY_PINO = new Set(['$context', 'pinoWillSendConfig'])
// Options of the file transport that mean nothing here: the next step decides where records go.
const FILE_ONLY = new Set(['destination', 'mkdir', 'fsync', 'rotation', 'retention'])
// resolveOptions() below wants a destination; the stage has none and ignores this one.
const NO_FILE = '.pino-audit-chain-stage-has-no-file'

export function resolveStageOptions (input: unknown): ResolvedStageOptions {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new AuditChainError('PAC_BAD_OPTION', 'the pipeline stage needs an options object with "privateKeyPath" or "privateKey"')
  }
  const given = input as Record<string, unknown>
  for (const key of Object.keys(given)) {
    if (KNOWN.includes(key) || ADDED_BY_PINO.has(key)) continue
    const hint = FILE_ONLY.has(key)
      ? ` (${key} is an option of the file transport; the stage writes no file: the next step of the pipeline decides where records go)`
      : key === 'epochKeysPath'
        ? ' (epoch keys need a writer that continues its chain across epochs and restarts: use the file transport for them)'
        : ''
    throw new AuditChainError('PAC_BAD_OPTION', `unknown option ${JSON.stringify(key)} of the pipeline stage${hint}; known options: ${KNOWN.join(', ')}`)
  }
  // The options the stage shares with the file transport go through that transport's
  // own validator: both accept the same values and name a bad one in the same words.
  const shared = resolveOptions({
    destination: NO_FILE,
    privateKeyPath: given.privateKeyPath,
    privateKey: given.privateKey,
    signers: given.signers,
    headFile: given.headFile === undefined ? false : given.headFile,
    headIntervalMs: given.headIntervalMs
  })
  return {
    privateKeyPath: shared.privateKeyPath,
    privateKey: shared.privateKey,
    signers: shared.signers,
    headFile: shared.headFile,
    headIntervalMs: shared.headIntervalMs
  }
}

/** The signing key the options name: a key file (checked: exists, 0600, Ed25519) or PEM text. */
export function loadStageKey (opts: ResolvedStageOptions): SigningKey {
  return opts.privateKeyPath !== undefined
    ? loadSigningKey(opts.privateKeyPath)
    : signingKeyFromPem(opts.privateKey as string, 'option privateKey')
}

/** The head file is replaced by rename within its directory, which must already exist. */
export function checkHeadDirectory (opts: ResolvedStageOptions): void {
  if (opts.headFile === undefined) return
  const dir = dirname(opts.headFile)
  let isDirectory = false
  try {
    isDirectory = statSync(dir).isDirectory()
  } catch {}
  if (!isDirectory) {
    throw new AuditChainError('PAC_DESTINATION', `option headFile: the directory ${dir} for ${opts.headFile} does not exist; create it first`)
  }
}
