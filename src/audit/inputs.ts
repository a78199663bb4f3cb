/**
 * Checking each method's input and normalising it (times to epoch ms). Everything
 * is checked before anything is written: a call either writes one whole record or
 * throws and writes nothing.
 */
import { Validator } from './validate.js'
import { FINDING_SEVERITIES, RESOURCES, RISK_LEVELS, VIOLATION_ACTIONS } from './vocabulary.js'
import type {
  CodeExecutionEvent, ContainerCreationEvent, ContainerLimits, ExecutionResult,
  ResourceViolationEvent, SecurityAssessmentEvent, SecurityFinding
} from './types.js'

/** An input with its optional time normalised to epoch milliseconds. */
export type Timed<T, K extends keyof T> = Omit<T, K> & { [P in K]?: number }

export function checkCodeExecution (input: unknown): Timed<CodeExecutionEvent, 'startedAt'> {
  const v = new Validator('logCodeExecution')
  const e = v.object('event', input, ['code', 'language', 'previousCode', 'containerId', 'result', 'startedAt'], { root: true })
  const r = v.object('result', e.result, ['exitCode', 'durationMs', 'stdout', 'stderr', 'signal', 'timedOut'])
  const result: ExecutionResult = {
    exitCode: v.number('result.exitCode', r.exitCode, { integer: true }),
    durationMs: v.number('result.durationMs', r.durationMs, { min: 0 })
  }
  const stdout = v.optionalString('result.stdout', r.stdout, { empty: true })
  const stderr = v.optionalString('result.stderr', r.stderr, { empty: true })
  const signal = v.optionalString('result.signal', r.signal)
  const timedOut = v.boolean('result.timedOut', r.timedOut)
  if (stdout !== undefined) result.stdout = stdout
  if (stderr !== undefined) result.stderr = stderr
  if (signal !== undefined) result.signal = signal
  if (timedOut !== undefined) result.timedOut = timedOut
  return {
    code: v.string('code', e.code, { empty: true }),
    language: v.string('language', e.language),
    previousCode: v.optionalString('previousCode', e.previousCode, { empty: true }),
    containerId: v.optionalString('containerId', e.containerId),
    result,
    startedAt: v.time('startedAt', e.startedAt)
  }
}

export function checkSecurityAssessment (input: unknown): Timed<SecurityAssessmentEvent, 'assessedAt'> & { findings: SecurityFinding[] } {
  const v = new Validator('logSecurityAssessment')
  const e = v.object('event', input, ['code', 'riskLevel', 'findings', 'scanner', 'language', 'containerId', 'assessedAt'], { root: true })
  const findings = e.findings === undefined ? [] : v.array('findings', e.findings).map((f, i): SecurityFinding => {
    const at = `findings[${i}]`
    const o = v.object(at, f, ['rule', 'severity', 'message', 'line'])
    const finding: SecurityFinding = {
      rule: v.string(`${at}.rule`, o.rule),
      severity: v.oneOf(`${at}.severity`, o.severity, FINDING_SEVERITIES),
      message: v.string(`${at}.message`, o.message, { empty: true })
    }
    const line = v.optionalNumber(`${at}.line`, o.line, { integer: true, min: 1 })
    if (line !== undefined) finding.line = line
    return finding
  })
  return {
    code: v.string('code', e.code, { empty: true }),
    riskLevel: v.oneOf('riskLevel', e.riskLevel, RISK_LEVELS),
    findings,
    scanner: v.optionalString('scanner', e.scanner),
    language: v.optionalString('language', e.language),
    containerId: v.optionalString('containerId', e.containerId),
    assessedAt: v.time('assessedAt', e.assessedAt)
  }
}

export function checkContainerCreation (input: unknown): Timed<ContainerCreationEvent, 'createdAt'> {
  const v = new Validator('logContainerCreation')
  const e = v.object('event', input, ['containerId', 'image', 'limits', 'network', 'readOnlyRoot', 'user', 'createdAt'], { root: true })
  let limits: ContainerLimits | undefined
  if (e.limits !== undefined) {
    const l = v.object('limits', e.limits, ['cpus', 'memoryBytes', 'pids', 'timeoutMs', 'diskBytes'])
    limits = {}
    const cpus = v.optionalNumber('limits.cpus', l.cpus, { min: 0, above: true })
    const memoryBytes = v.optionalNumber('limits.memoryBytes', l.memoryBytes, { integer: true, min: 1 })
    const pids = v.optionalNumber('limits.pids', l.pids, { integer: true, min: 1 })
    const timeoutMs = v.optionalNumber('limits.timeoutMs', l.timeoutMs, { min: 0, above: true })
    const diskBytes = v.optionalNumber('limits.diskBytes', l.diskBytes, { integer: true, min: 1 })
    if (cpus !== undefined) limits.cpus = cpus
    if (memoryBytes !== undefined) limits.memoryBytes = memoryBytes
    if (pids !== undefined) limits.pids = pids
    if (timeoutMs !== undefined) limits.timeoutMs = timeoutMs
    if (diskBytes !== undefined) limits.diskBytes = diskBytes
  }
  return {
    containerId: v.string('containerId', e.containerId),
    image: v.string('image', e.image),
    limits,
    network: v.optionalString('network', e.network),
    readOnlyRoot: v.boolean('readOnlyRoot', e.readOnlyRoot),
    user: v.optionalString('user', e.user),
    createdAt: v.time('createdAt', e.createdAt)
  }
}

export function checkResourceViolation (input: unknown): Timed<ResourceViolationEvent, 'observedAt'> {
  const v = new Validator('logResourceViolation')
  const e = v.object('event', input, ['containerId', 'resource', 'limit', 'observed', 'action', 'observedAt'], { root: true })
  return {
    containerId: v.string('containerId', e.containerId),
    resource: v.oneOf('resource', e.resource, RESOURCES),
    limit: v.number('limit', e.limit, { min: 0 }),
    observed: v.number('observed', e.observed, { min: 0 }),
    action: v.oneOf('action', e.action, VIOLATION_ACTIONS),
    observedAt: v.time('observedAt', e.observedAt)
  }
}
