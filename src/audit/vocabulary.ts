/**
 * The fixed words of the audit API: event names, risk and severity scales, detail
 * levels. One list each, used by the types, the input validators and the policy
 * schema, so they cannot drift apart.
 */

/** The `event` value of each security event a method writes. */
export const AUDIT_EVENTS = ['code_execution', 'security_assessment', 'container_creation', 'resource_violation'] as const
/** One of the security events {@link AUDIT_EVENTS}. */
export type AuditEventType = typeof AUDIT_EVENTS[number]

/** The `event` of the record written when an alert threshold is crossed. */
export const ALERT_EVENT = 'alert'

/**
 * Overall risk of a piece of code, lowest first. `BLOCKED` means the assessment
 * stopped the code from running; it ranks above `CRITICAL` so that a threshold
 * `risk_level: CRITICAL` also counts blocked code.
 */
export const RISK_LEVELS = ['SAFE', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL', 'BLOCKED'] as const
export type RiskLevel = typeof RISK_LEVELS[number]

/** Severity of one scanner finding, lowest first (bandit, semgrep and CodeQL levels map onto it). */
export const FINDING_SEVERITIES = ['INFO', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const
export type FindingSeverity = typeof FINDING_SEVERITIES[number]

/** Container resources whose limits a sandbox enforces. */
export const RESOURCES = ['memory', 'cpu', 'pids', 'disk', 'network', 'time', 'output'] as const
export type Resource = typeof RESOURCES[number]

/** What the sandbox did about a violation, mildest first. */
export const VIOLATION_ACTIONS = ['warned', 'throttled', 'killed'] as const
export type ViolationAction = typeof VIOLATION_ACTIONS[number]

/**
 * How much each record carries (policy key `log_level`):
 * - `minimal`: who/what/outcome only; code and output as length + SHA-256, no text.
 * - `standard`: adds the (capped) code, output, diff, findings and container settings.
 * - `comprehensive`: `standard` plus a snapshot of the host process
 *   (`process.resourceUsage()`, `process.memoryUsage()`) in every record.
 */
export const DETAIL_LEVELS = ['minimal', 'standard', 'comprehensive'] as const
export type DetailLevel = typeof DETAIL_LEVELS[number]

/** Rank of a risk level on {@link RISK_LEVELS} (SAFE = 0). */
export function riskRank (level: RiskLevel): number {
  return RISK_LEVELS.indexOf(level)
}
