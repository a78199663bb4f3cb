/**
 * Which pino level each record gets. Levels are what log pipelines filter and
 * page on, so a blocked script or a killed container must not be `info`.
 * `fatal` is not used: in pino it means the process itself is going down.
 */
import type { ExecutionResult } from './types.js'
import type { RiskLevel, ViolationAction } from './vocabulary.js'

export type AuditLevel = 'info' | 'warn' | 'error'

/** A run that failed, was killed by a signal or timed out is `warn`; success is `info`. */
export function codeExecutionLevel (result: ExecutionResult): AuditLevel {
  return result.exitCode === 0 && result.signal === undefined && result.timedOut !== true ? 'info' : 'warn'
}

/** SAFE/LOW/MEDIUM → info, HIGH → warn, CRITICAL/BLOCKED → error. */
export function assessmentLevel (risk: RiskLevel): AuditLevel {
  if (risk === 'CRITICAL' || risk === 'BLOCKED') return 'error'
  return risk === 'HIGH' ? 'warn' : 'info'
}

/** A kill → error; a warning or throttling → warn. */
export function violationLevel (action: ViolationAction): AuditLevel {
  return action === 'killed' ? 'error' : 'warn'
}

export const CONTAINER_CREATION_LEVEL: AuditLevel = 'info'
/** An alert is a threshold of security events crossed: someone should look. */
export const ALERT_LEVEL: AuditLevel = 'error'
