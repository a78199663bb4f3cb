/**
 * The body fields of each security event's record, from a checked input. What a
 * record carries depends on the detail level (see {@link DetailLevel}); the common
 * fields (`event`, `eventId`, the host snapshot) are added by the logger.
 */
import { captureText } from './cap.js'
import { unifiedDiff } from './diff.js'
import type { Timed } from './inputs.js'
import type { CodeExecutionEvent, ContainerCreationEvent, ResourceViolationEvent, SecurityAssessmentEvent, SecurityFinding } from './types.js'
import type { DetailLevel } from './vocabulary.js'

export interface RecordContext {
  detail: DetailLevel
  maxFieldBytes: number
  /** The log time, epoch ms: the default for the event's own time fields. */
  now: number
}

type Fields = Record<string, unknown>

// Scanners can report thousands of findings; past this many the record keeps the
// first ones and says how many it left out (the count stays exact).
const MAX_FINDINGS = 200

function iso (ms: number): string {
  return new Date(ms).toISOString()
}

export function codeExecutionFields (e: Timed<CodeExecutionEvent, 'startedAt'>, ctx: RecordContext): Fields {
  const withText = ctx.detail !== 'minimal'
  const startedAt = e.startedAt ?? ctx.now - e.result.durationMs
  const result: Fields = { exitCode: e.result.exitCode, durationMs: e.result.durationMs }
  if (e.result.signal !== undefined) result.signal = e.result.signal
  if (e.result.timedOut !== undefined) result.timedOut = e.result.timedOut
  if (e.result.stdout !== undefined) result.stdout = captureText(e.result.stdout, ctx.maxFieldBytes, withText)
  if (e.result.stderr !== undefined) result.stderr = captureText(e.result.stderr, ctx.maxFieldBytes, withText)
  const fields: Fields = {
    language: e.language,
    ...(e.containerId !== undefined ? { containerId: e.containerId } : {}),
    startedAt: iso(startedAt),
    finishedAt: iso(startedAt + e.result.durationMs),
    code: captureText(e.code, ctx.maxFieldBytes, withText)
  }
  if (e.previousCode !== undefined) {
    fields.previousCode = captureText(e.previousCode, ctx.maxFieldBytes, false)
    if (withText) {
      const diff = unifiedDiff(e.previousCode, e.code)
      fields.diff = 'patch' in diff ? captureText(diff.patch, ctx.maxFieldBytes, true) : diff
    }
  }
  fields.result = result
  return fields
}

export function securityAssessmentFields (e: Timed<SecurityAssessmentEvent, 'assessedAt'> & { findings: SecurityFinding[] }, ctx: RecordContext): Fields {
  const fields: Fields = {
    riskLevel: e.riskLevel,
    blocked: e.riskLevel === 'BLOCKED',
    ...(e.scanner !== undefined ? { scanner: e.scanner } : {}),
    ...(e.language !== undefined ? { language: e.language } : {}),
    ...(e.containerId !== undefined ? { containerId: e.containerId } : {}),
    assessedAt: iso(e.assessedAt ?? ctx.now),
    code: captureText(e.code, ctx.maxFieldBytes, ctx.detail !== 'minimal'),
    findingCount: e.findings.length
  }
  if (ctx.detail !== 'minimal') {
    fields.findings = e.findings.slice(0, MAX_FINDINGS)
    if (e.findings.length > MAX_FINDINGS) fields.findingsOmitted = e.findings.length - MAX_FINDINGS
  }
  return fields
}

export function containerCreationFields (e: Timed<ContainerCreationEvent, 'createdAt'>, ctx: RecordContext): Fields {
  // The sandbox settings are small and are the point of the record: kept at every level.
  const fields: Fields = { containerId: e.containerId, image: e.image, createdAt: iso(e.createdAt ?? ctx.now) }
  if (e.limits !== undefined) fields.limits = e.limits
  if (e.network !== undefined) fields.network = e.network
  if (e.readOnlyRoot !== undefined) fields.readOnlyRoot = e.readOnlyRoot
  if (e.user !== undefined) fields.user = e.user
  return fields
}

export function resourceViolationFields (e: Timed<ResourceViolationEvent, 'observedAt'>, ctx: RecordContext): Fields {
  return {
    containerId: e.containerId,
    resource: e.resource,
    limit: e.limit,
    observed: e.observed,
    action: e.action,
    observedAt: iso(e.observedAt ?? ctx.now)
  }
}
