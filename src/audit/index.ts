/** The audit API: createAuditLogger, the policy loader and every public type. */
export { createAuditLogger } from './create.js'
export { loadAuditConfig, parseAuditPolicy, type PolicySource } from '../config/load.js'
export type { AuditConfig, AlertThreshold } from '../config/types.js'
export type {
  AuditAlert, AuditLogger, CreateAuditLoggerOptions, CodeExecutionEvent, ExecutionResult,
  SecurityAssessmentEvent, SecurityFinding, ContainerCreationEvent, ContainerLimits,
  ResourceViolationEvent, TimeInput
} from './types.js'
export type { CapturedText } from './cap.js'
export type { LogEventOptions } from './custom-event.js'
export type { HostSnapshot } from './host.js'
export {
  AUDIT_EVENTS, RISK_LEVELS, FINDING_SEVERITIES, RESOURCES, VIOLATION_ACTIONS, DETAIL_LEVELS,
  type AuditEventType, type RiskLevel, type FindingSeverity, type Resource, type ViolationAction, type DetailLevel
} from './vocabulary.js'
