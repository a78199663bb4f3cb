/**
 * createAuditLogger: one audit pino logger over one transport (one worker),
 * typed methods that validate, build and write one record each, alert
 * thresholds, and flush/close that resolve when records are on disk.
 */
import { randomUUID } from 'node:crypto'
import pino, { type Logger } from 'pino'
import { AuditChainError } from '../errors.js'
import type { AuditConfig } from '../config/types.js'
import { createAlertTracker, type AlertTracker, type CrossedThreshold } from './alerts.js'
import { resolveConfig } from './config-input.js'
import { openDestination, type TransportStream } from './destination.js'
import { closeAuditTransport } from '../transport/close.js'
import { isSealSignals, sealOnSignals } from '../transport/signals.js'
import type { AuditChainTransportOptions } from '../transport/spawn.js'
import { hostSnapshot } from './host.js'
import { checkCodeExecution, checkContainerCreation, checkResourceViolation, checkSecurityAssessment } from './inputs.js'
import { codeExecutionFields, containerCreationFields, resourceViolationFields, securityAssessmentFields, type RecordContext } from './records.js'
import { ALERT_LEVEL, CONTAINER_CREATION_LEVEL, assessmentLevel, codeExecutionLevel, violationLevel, type AuditLevel } from './severity.js'
import type { AuditAlert, AuditLogger, CreateAuditLoggerOptions } from './types.js'
import { Validator } from './validate.js'
import { checkCustomEvent } from './custom-event.js'
import { ALERT_EVENT, type AuditEventType, type RiskLevel } from './vocabulary.js'

// Keys the logger itself writes (or pino does); a child binding with one of these
// would put a second, conflicting member in every record.
const RESERVED_BINDINGS = new Set(['event', 'eventId', 'chain', 'level', 'time', 'msg', 'host'])

/** State every logger of one createAuditLogger() call shares. */
interface Shared {
  config: AuditConfig
  stream: TransportStream
  root: Logger
  tracker: AlertTracker
  onAlert: ((alert: AuditAlert) => void | Promise<void>) | undefined
  appLogger: Logger | undefined
  alertHandlerFailed: boolean
  closing: Promise<void> | undefined
  /** Removes our signal handling (at close, so they never outlive the logger). */
  releaseSignals: () => void
}

/**
 * Create the audit logger.
 *
 * Records go through a dedicated audit pino instance writing to the audit
 * transport — never to an app logger's own destination. When `logger` is given,
 * the audit instance inherits its bindings (`logger.bindings()`, e.g. `name`,
 * `service`) but not its level: the audit level is always `info`, so an app running
 * at `warn` still records every code execution. One transport (one worker thread)
 * serves the logger and all its children.
 *
 * Throws in the caller's thread for a bad option, policy, key or destination
 * (`AuditChainError` with a `PAC_…` code, or a TypeError for a wrong option type).
 *
 * @example
 * const audit = createAuditLogger({ config: 'config/audit.yaml', onAlert: (a) => page(a) })
 * audit.logResourceViolation({ containerId, resource: 'memory', limit: 268435456, observed: 300000000, action: 'killed' })
 * await audit.close()
 */
export function createAuditLogger (options: CreateAuditLoggerOptions = {}): AuditLogger {
  const v = new Validator('createAuditLogger')
  const opts = v.object('options', options, ['config', 'logger', 'onAlert', 'transport', 'handleSignals'], { root: true })
  if (opts.onAlert !== undefined && typeof opts.onAlert !== 'function') throw v.typeError('onAlert', 'a function', opts.onAlert)
  if (opts.transport !== undefined) v.object('transport', opts.transport, Object.keys(opts.transport as object))
  const handleSignals = opts.handleSignals ?? true
  if (!isSealSignals(handleSignals)) {
    throw v.typeError('handleSignals', 'true, false or a list of signal names like ["SIGTERM"]', handleSignals)
  }
  const appLogger = options.logger
  if (appLogger !== undefined && (typeof appLogger !== 'object' || typeof appLogger.bindings !== 'function')) {
    throw v.typeError('logger', 'a pino logger', appLogger)
  }
  const config = resolveConfig(options.config)
  // The logger seals on signals itself (below), after marking itself closed; the
  // transport's own handling would end the stream under it.
  const overrides: Partial<AuditChainTransportOptions> = { ...options.transport, handleSignals: false }
  const { stream } = openDestination(config, overrides)
  const base = pino({ level: 'info' }, stream)
  const root = appLogger !== undefined ? base.child(appLogger.bindings()) : base
  const shared: Shared = {
    config,
    stream,
    root,
    tracker: createAlertTracker(config.alertThresholds),
    onAlert: options.onAlert,
    appLogger,
    alertHandlerFailed: false,
    closing: undefined,
    releaseSignals: () => {}
  }
  shared.releaseSignals = sealOnSignals(handleSignals, async () => { await close(shared) })
  return auditLoggerOver(shared, root)
}

function assertOpen (shared: Shared, method: string): void {
  if (shared.closing !== undefined) {
    throw new AuditChainError('PAC_CLOSED', `${method}: the audit logger is closed; records logged after close() cannot be written`)
  }
}

async function flush (shared: Shared): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    shared.root.flush((err) => { if (err != null) reject(err); else resolve() })
  })
}

async function close (shared: Shared): Promise<void> {
  shared.closing ??= (async () => {
    shared.releaseSignals()
    if ((shared.stream as { closed?: boolean }).closed === true) return // the worker is already gone; nothing left to seal
    await flush(shared)
    // Ending the stream makes the worker write the seal and the head, then exit.
    await closeAuditTransport(shared.stream)
  })()
  await shared.closing
}

function reportAlertHandlerError (shared: Shared, logger: Logger, err: unknown): void {
  // Once: a handler that always throws must not double the log's size.
  if (shared.alertHandlerFailed) return
  shared.alertHandlerFailed = true
  const fields = { event: 'alert_handler_error', err }
  const msg = 'onAlert threw; alerts are still recorded in the audit log (reported once)'
  if (shared.closing === undefined) logger.warn(fields, msg)
  shared.appLogger?.warn(fields, msg)
}

function raiseAlert (shared: Shared, logger: Logger, crossed: CrossedThreshold): void {
  const t = crossed.threshold
  const alert: AuditAlert = {
    eventId: randomUUID(),
    threshold: t.name,
    thresholdEvent: t.event,
    count: t.count,
    window: t.window,
    windowMs: t.windowMs,
    ...(t.riskLevel !== undefined ? { riskLevel: t.riskLevel } : {}),
    triggeredBy: crossed.records.map((r) => r.eventId),
    firstAt: new Date(crossed.records[0].time).toISOString(),
    lastAt: new Date(crossed.records[crossed.records.length - 1].time).toISOString()
  }
  const { eventId, ...rest } = alert
  logger[ALERT_LEVEL]({ event: ALERT_EVENT, eventId, ...rest }, `alert: threshold ${t.name} reached (${t.count} in ${t.window})`)
  if (shared.onAlert === undefined) return
  try {
    const pending = shared.onAlert(alert)
    if (pending !== undefined && typeof (pending as Promise<void>).then === 'function') {
      (pending as Promise<void>).then(undefined, (err: unknown) => { reportAlertHandlerError(shared, logger, err) })
    }
  } catch (err) {
    reportAlertHandlerError(shared, logger, err)
  }
}

function auditLoggerOver (shared: Shared, logger: Logger): AuditLogger {
  const context = (): RecordContext => ({ detail: shared.config.logLevel, maxFieldBytes: shared.config.maxFieldBytes, now: Date.now() })

  // Write one security event and run the alert thresholds over it.
  const write = (event: AuditEventType | string, level: AuditLevel, fields: Record<string, unknown>, msg: string, now: number, riskLevel?: RiskLevel): string => {
    const eventId = randomUUID()
    const host = shared.config.logLevel === 'comprehensive' ? { host: hostSnapshot() } : {}
    logger[level]({ event, eventId, ...fields, ...host }, msg)
    for (const crossed of shared.tracker.observe({ event, eventId, time: now, riskLevel })) raiseAlert(shared, logger, crossed)
    return eventId
  }

  return {
    logCodeExecution (event) {
      assertOpen(shared, 'logCodeExecution')
      const e = checkCodeExecution(event)
      const ctx = context()
      return write('code_execution', codeExecutionLevel(e.result), codeExecutionFields(e, ctx), `code executed (exit ${e.result.exitCode})`, ctx.now)
    },
    logSecurityAssessment (event) {
      assertOpen(shared, 'logSecurityAssessment')
      const e = checkSecurityAssessment(event)
      const ctx = context()
      return write('security_assessment', assessmentLevel(e.riskLevel), securityAssessmentFields(e, ctx), `security assessment: ${e.riskLevel}`, ctx.now, e.riskLevel)
    },
    logContainerCreation (event) {
      assertOpen(shared, 'logContainerCreation')
      const e = checkContainerCreation(event)
      const ctx = context()
      return write('container_creation', CONTAINER_CREATION_LEVEL, containerCreationFields(e, ctx), `container created: ${e.image}`, ctx.now)
    },
    logResourceViolation (event) {
      assertOpen(shared, 'logResourceViolation')
      const e = checkResourceViolation(event)
      const ctx = context()
      return write('resource_violation', violationLevel(e.action), resourceViolationFields(e, ctx), `resource limit violated: ${e.resource} (${e.action})`, ctx.now)
    },
    logEvent (type, fields, options) {
      assertOpen(shared, 'logEvent')
      const ctx = context()
      const e = checkCustomEvent(type, fields, options, ctx.maxFieldBytes, ctx.detail !== 'minimal')
      return write(e.type, e.level, e.fields, e.msg, ctx.now)
    },
    child (bindings) {
      const v = new Validator('child')
      const b = v.object('bindings', bindings, Object.keys(bindings ?? {}))
      for (const key of Object.keys(b)) {
        if (RESERVED_BINDINGS.has(key)) throw v.rangeError(`bindings.${key}`, `not one of the reserved keys ${[...RESERVED_BINDINGS].join(', ')}`, key)
      }
      return auditLoggerOver(shared, logger.child(b))
    },
    get logger () { return logger },
    flush: async () => { await flush(shared) },
    close: async () => { await close(shared) }
  }
}
