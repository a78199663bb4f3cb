/**
 * The public types of the audit API: what each method takes, what an alert
 * carries, and the logger itself. Times may be given as a Date, epoch
 * milliseconds or an ISO 8601 string; records carry them as ISO 8601 UTC strings.
 */
import type { Logger } from 'pino'
import type { LogEventOptions } from './custom-event.js'
import type { AuditTransportOptions } from '../transport/options.js'
import type { AuditConfig } from '../config/types.js'
import type { AuditEventType, FindingSeverity, Resource, RiskLevel, ViolationAction } from './vocabulary.js'

/** A point in time: a Date, epoch milliseconds, or an ISO 8601 string. */
export type TimeInput = Date | number | string

/** The outcome of running code in a sandbox. */
export interface ExecutionResult {
  /** Process exit code (an integer; 0 = success). */
  exitCode: number
  /** Wall-clock run time in milliseconds (>= 0). */
  durationMs: number
  /** Captured standard output; capped at `max_field_bytes` in the record. */
  stdout?: string
  /** Captured standard error; capped at `max_field_bytes` in the record. */
  stderr?: string
  /** The signal that ended the process, e.g. `SIGKILL`. */
  signal?: string
  /** True when the sandbox stopped the run for exceeding its time limit. */
  timedOut?: boolean
}

/** Input of {@link AuditLogger.logCodeExecution}. */
export interface CodeExecutionEvent {
  /** The code that ran. */
  code: string
  /** Its language, e.g. `python`. */
  language: string
  /** The code of the previous run in the same session: the record then carries a unified diff. */
  previousCode?: string
  /** The container it ran in. */
  containerId?: string
  /** What happened. */
  result: ExecutionResult
  /** When the run started. Default: the log time minus `result.durationMs`. */
  startedAt?: TimeInput
}

/** One finding of a code scanner. */
export interface SecurityFinding {
  /** The scanner's rule id, e.g. `B602`. */
  rule: string
  severity: FindingSeverity
  /** What the rule found. */
  message: string
  /** 1-based line in the assessed code. */
  line?: number
}

/** Input of {@link AuditLogger.logSecurityAssessment}. */
export interface SecurityAssessmentEvent {
  /** The code that was assessed. */
  code: string
  /** The overall verdict; `BLOCKED` means the code was not allowed to run. */
  riskLevel: RiskLevel
  /** The scanner's findings (default none). */
  findings?: SecurityFinding[]
  /** Which scanner (e.g. `bandit`). */
  scanner?: string
  language?: string
  containerId?: string
  /** When the assessment was made. Default: the log time. */
  assessedAt?: TimeInput
}

/** Resource limits of a container. */
export interface ContainerLimits {
  /** CPU cores (may be fractional, > 0). */
  cpus?: number
  /** Memory limit in bytes. */
  memoryBytes?: number
  /** Maximum number of processes. */
  pids?: number
  /** Wall-clock limit for a run, in milliseconds. */
  timeoutMs?: number
  /** Writable disk limit in bytes. */
  diskBytes?: number
}

/** Input of {@link AuditLogger.logContainerCreation}. */
export interface ContainerCreationEvent {
  containerId: string
  /** Image reference, e.g. `python:3.12-slim`. */
  image: string
  limits?: ContainerLimits
  /** Network mode, e.g. `none`. */
  network?: string
  /** Whether the root filesystem is read-only. */
  readOnlyRoot?: boolean
  /** The user the code runs as. */
  user?: string
  /** When the container was created. Default: the log time. */
  createdAt?: TimeInput
}

/** Input of {@link AuditLogger.logResourceViolation}. */
export interface ResourceViolationEvent {
  containerId: string
  resource: Resource
  /** The limit, in the resource's unit (bytes, cores, count, ms). */
  limit: number
  /** What was observed, same unit. */
  observed: number
  /** What the sandbox did about it. */
  action: ViolationAction
  /** When it was observed. Default: the log time. */
  observedAt?: TimeInput
}

/** What an alert carries; written as an `"event":"alert"` record and passed to `onAlert`. */
export interface AuditAlert {
  /** This alert record's own id. */
  eventId: string
  /** The threshold's name in `alert_thresholds`. */
  threshold: string
  /** The event type it counts. */
  thresholdEvent: AuditEventType | string
  /** The threshold's count (= number of triggering records). */
  count: number
  /** The window as written in the policy, e.g. `5m`. */
  window: string
  windowMs: number
  /** For assessment thresholds: the minimum risk level counted. */
  riskLevel?: RiskLevel
  /** `eventId`s of the records that triggered the alert, oldest first. */
  triggeredBy: string[]
  /** ISO time of the first and the last triggering record. */
  firstAt: string
  lastAt: string
}

/** Options of {@link createAuditLogger}. */
export interface CreateAuditLoggerOptions {
  /** A policy file path (YAML) or a loaded config. Default: the built-in defaults. */
  config?: string | AuditConfig
  /**
   * An existing app logger to inherit bindings from (e.g. `service`, `name`). The
   * audit records still go to the audit chain, not to this logger's destination;
   * its level is not inherited (a level filter would silently drop audit events).
   */
  logger?: Logger
  /** Called after each alert record is written. May throw or reject: logging goes on. */
  onAlert?: (alert: AuditAlert) => void | Promise<void>
  /**
   * Transport options that override what the policy gives (e.g. `privateKey`,
   * `fsync`, `headFile`). Only used when `hash_chain_enabled` is true.
   */
  transport?: Partial<AuditTransportOptions>
  /**
   * Seal the chain when the process is told to stop: `true` for SIGTERM and SIGINT,
   * or a list of signals. On the signal the logger flushes, writes `chain.close` and
   * the head, then re-raises the signal so the process ends as it otherwise would.
   * On by default (`true`), and only when the app has no listener of its own for the
   * signal: when it has, the logger stays open so the app's handler can still log,
   * and its `process.exit()` or `close()` seals the chain. `false` turns it off.
   */
  handleSignals?: boolean | NodeJS.Signals[]
}

/**
 * The audit logger: one method per security event. Each method checks its input
 * (throwing a TypeError/RangeError that names the field, and writing nothing, when
 * it is wrong), writes exactly one record, runs the alert thresholds, and returns
 * the record's `eventId` (a random UUID) so callers can refer to it.
 */
export interface AuditLogger {
  /** Record code that ran, with its result (and a diff against `previousCode`). */
  logCodeExecution: (event: CodeExecutionEvent) => string
  /** Record a security assessment of code. */
  logSecurityAssessment: (event: SecurityAssessmentEvent) => string
  /** Record a sandbox container's creation and settings. */
  logContainerCreation: (event: ContainerCreationEvent) => string
  /** Record a container exceeding a resource limit. */
  logResourceViolation: (event: ResourceViolationEvent) => string
  /**
   * Record an event of the app's own (a login, a policy change, a key rotation): `type`
   * is a lowercase word with dots or underscores (`user.login`), not a built-in type
   * nor one the transport writes; `fields` are JSON data (no functions, cycles,
   * non-finite numbers or `undefined`, and none of the keys the logger writes itself),
   * a string longer than `max_field_bytes` capped like code and output. Counted by
   * `alert_thresholds` entries whose `event:` names the type.
   *
   * @example audit.logEvent('user.login', { user: 'ada', method: 'sso' }, { level: 'info' })
   */
  logEvent: (type: string, fields?: Record<string, unknown>, options?: LogEventOptions) => string
  /** A child whose records carry `bindings` too; it shares the transport and alert counters. */
  child: (bindings: Record<string, unknown>) => AuditLogger
  /** The pino logger the records go through (its level is `info`). */
  readonly logger: Logger
  /** Resolves when every record logged so far is in the file (fsynced per the transport's fsync mode). */
  flush: () => Promise<void>
  /** Flush, seal the chain (`chain.close`) and stop the worker. Idempotent; later log calls throw `PAC_CLOSED`. */
  close: () => Promise<void>
}
