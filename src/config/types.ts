/**
 * The audit policy after loading: every default applied, every duration and size
 * in numbers, every path absolute. `loadAuditConfig()` returns it; the policy
 * file's snake_case keys map onto these camelCase fields one to one.
 */
import type { AuditEventType, DetailLevel, RiskLevel } from '../audit/vocabulary.js'

/** One alert rule: `count` matching events within `windowMs` raise an alert. */
export interface AlertThreshold {
  /** The rule's key in `alert_thresholds`; named in the alert record. */
  name: string
  /** Which event it counts: a built-in security event, or an app's own type written with `logEvent`. */
  event: AuditEventType | string
  /** How many matching events raise the alert (at least 1). */
  count: number
  /** The sliding window, in milliseconds. */
  windowMs: number
  /** The window as written in the policy (e.g. `5m`), for messages and records. */
  window: string
  /** For `security_assessment` only: count assessments at this risk level or above. */
  riskLevel?: RiskLevel
}

/** A loaded, validated audit policy (see `config/audit.yaml` for the file form). */
export interface AuditConfig {
  /** The policy file it came from, if any (named in error messages). */
  source?: string
  /**
   * `true` (default): records are hash-chained and signed. `false`: plain pino
   * file output — NOT tamper-evident; a warning is printed once at start.
   */
  hashChainEnabled: boolean
  /** How much detail each record carries. Default `standard`. */
  logLevel: DetailLevel
  /** Absolute directory of the log; the current file is `<storageLocation>/audit.log`. */
  storageLocation: string
  /**
   * One chain per process in `storageLocation` (transport option `perProcess`), for
   * apps run as several processes (node:cluster, PM2 cluster mode): `audit.0.log`,
   * `audit.1.log`, …. Default false: one `audit.log`, and a second process fails with PAC_LOCKED.
   */
  perProcess?: boolean
  /** Rotated files last written longer ago than this are deleted (transport option `retention.maxAge`). */
  retentionPeriodMs?: number
  /** When the current file is rotated (transport option `rotation`). */
  rotation?: { maxSizeBytes?: number, intervalMs?: number }
  /** Absolute path of the Ed25519 private key (PKCS#8 PEM, mode 0600). */
  privateKeyPath?: string
  /** Absolute path of a bundle of epoch keys (transport option `epochKeysPath`), instead of `privateKeyPath`. */
  epochKeysPath?: string
  /** Cap, in UTF-8 bytes, for code, stdout, stderr and diffs in one record. Default 64 KiB. */
  maxFieldBytes: number
  /** Alert rules, in policy order. */
  alertThresholds: AlertThreshold[]
}
