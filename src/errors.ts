/**
 * Every error a user of pino-audit-chain can hit, with a stable `code`.
 *
 * Errors thrown inside pino's worker thread cross a `postMessage` boundary,
 * where custom properties are not guaranteed to survive; the code is therefore
 * also the first word of the message, so `err.message.startsWith('PAC_…')`
 * works on both sides.
 */

export type AuditChainErrorCode =
  | 'PAC_BAD_OPTION'
  | 'PAC_KEY_MISSING'
  | 'PAC_KEY_UNREADABLE'
  | 'PAC_KEY_WRONG_TYPE'
  | 'PAC_KEY_PERMISSIONS'
  | 'PAC_KEY_EXISTS'
  /** `audit-chain init` found a file where it would write one: it never overwrites. */
  | 'PAC_FILE_EXISTS'
  | 'PAC_LOCKED'
  | 'PAC_DESTINATION'
  | 'PAC_TAIL_INVALID'
  | 'PAC_WRITE_FAILED'
  | 'PAC_CONFIG'
  | 'PAC_CLOSED'
  | 'PAC_INPUT'
  | 'PAC_FILE_REPLACED'
  | 'PAC_RETENTION'
  | 'PAC_ROTATION'
  | 'PAC_VERIFY_FAILED'
  | 'PAC_STATE'
  | 'PAC_EPOCH'
  /** The log is shorter than (or differs from) the writer's own signed head: records were cut. */
  | 'PAC_TRUNCATED'
  /** A directory or file others can write to or own, or a symlink where a file belongs. */
  | 'PAC_INSECURE'
  /** The kernel file lock (fs-ext's flock) cannot be used on this platform or install. */
  | 'PAC_LOCK_UNAVAILABLE'
  /** A producer line longer than a record may be: recorded as its size, SHA-256 and first 1 KiB only. */
  | 'PAC_LINE_TOO_LONG'
  /** Ed25519 falls back to node:crypto (sodium-native cannot be loaded), or PINO_AUDIT_CHAIN_CRYPTO=sodium and it cannot. */
  | 'PAC_CRYPTO_BACKEND'

export class AuditChainError extends Error {
  readonly code: AuditChainErrorCode

  constructor (code: AuditChainErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options)
    this.name = 'AuditChainError'
    this.code = code
  }
}

/** True when `err` is (or, after crossing a worker boundary, reads as) one of ours. */
export function hasCode (err: unknown, code: AuditChainErrorCode): boolean {
  if (err instanceof AuditChainError) return err.code === code
  return err instanceof Error && err.message.startsWith(`${code}:`)
}
