/**
 * Which records readAuditLog hands out: event types, a time range, a minimum level,
 * equality on fields by dotted path, and control records in or out. Checked once at
 * the boundary (typed errors naming the option), then applied to each record.
 */
import ms from 'ms'
import pino from 'pino'
import { AuditChainError } from '../errors.js'
import { CONTROL_EVENTS } from '../format/body.js'

/** A field's expected value in {@link AuditFilter.where}. */
export type FieldValue = string | number | boolean | null

/** The filter of {@link readAuditLog}; every part given must match. */
export interface AuditFilter {
  /** `event` values to keep (any of them). Naming a control event keeps it even without `control`. */
  events?: string[]
  /**
   * Records whose `time` is at or after this: a Date, epoch milliseconds, an ISO 8601
   * time (`2026-11-24T00:00:00Z`), or a duration back from now (`2h`, `7d`, as `ms` reads it).
   * A record without a numeric `time` does not match a time range.
   */
  since?: Date | number | string
  /** Records whose `time` is before this (same forms as `since`). */
  until?: Date | number | string
  /** Minimum pino level: a number, or a label of pino's default levels (`info`, `warn`...). */
  level?: number | string
  /**
   * Fields by dotted path (`sessionId`, `result.exitCode`) and the value each must
   * equal. A string also matches a number, boolean or null whose JSON text it is, so
   * `--where result.exitCode=0` matches `0` (the command line only has strings).
   */
  where?: Record<string, FieldValue>
  /** Keep control records (chain.*, file.open, retention.prune, epoch.close). Default false. */
  control?: boolean
}

/** A filter checked and turned into one predicate over a record's body. */
export type RecordPredicate = (record: Record<string, unknown>) => boolean

function badOption (name: string, message: string): AuditChainError {
  return new AuditChainError('PAC_BAD_OPTION', `filter.${name} ${message}`)
}

/** An instant from a Date, epoch ms, ISO 8601 text or a duration back from `now`. */
export function instantOf (value: Date | number | string, name: string, now: number): number {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw badOption(name, 'is an invalid Date')
    return value.getTime()
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw badOption(name, `must be a finite number of epoch milliseconds, got ${value}`)
    return value
  }
  if (typeof value !== 'string') throw badOption(name, `must be a Date, epoch milliseconds, an ISO 8601 time or a duration such as 2h, got ${typeof value}`)
  // A bare number of ms would read as a duration; "7d" or "90 minutes" is unambiguous.
  if (/^\d+(\.\d+)?\s*[a-z]+$/i.test(value.trim())) {
    const back = ms(value.trim() as ms.StringValue)
    if (typeof back === 'number' && Number.isFinite(back)) return now - back
  }
  // An ISO 8601 time with a date: Date.parse alone also takes "Tuesday" in some forms.
  const t = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN
  if (Number.isNaN(t)) throw badOption(name, `must be an ISO 8601 time (2026-11-24T09:00:00Z) or a duration back from now (30m, 2h, 7d), got ${JSON.stringify(value)}`)
  return t
}

function levelOf (value: number | string): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value
  if (typeof value === 'string') {
    if (/^\d+$/.test(value)) return Number(value)
    const n = pino.levels.values[value.toLowerCase()]
    if (n !== undefined) return n
  }
  throw badOption('level', `must be a number or one of ${Object.keys(pino.levels.values).join(', ')}, got ${JSON.stringify(value)}`)
}

/** The value at a dotted path of own properties (never the prototype chain). */
export function fieldAt (record: unknown, path: string): unknown {
  let at: unknown = record
  for (const key of path.split('.')) {
    if (at === null || typeof at !== 'object' || !Object.hasOwn(at, key)) return undefined
    at = (at as Record<string, unknown>)[key]
  }
  return at
}

function equals (actual: unknown, expected: FieldValue): boolean {
  if (actual === expected) return true
  if (typeof expected === 'string' && (typeof actual === 'number' || typeof actual === 'boolean' || actual === null)) return JSON.stringify(actual) === expected
  return false
}

function recordLevel (record: Record<string, unknown>): number | undefined {
  const l = record.level
  if (typeof l === 'number') return l
  if (typeof l === 'string') return pino.levels.values[l]
  return undefined
}

/** Check `filter` and build its predicate; `now` anchors durations. */
export function compileFilter (filter: AuditFilter = {}, now = Date.now()): RecordPredicate {
  if (filter === null || typeof filter !== 'object') throw new AuditChainError('PAC_BAD_OPTION', `filter must be an object, got ${filter === null ? 'null' : typeof filter}`)
  const events = filter.events === undefined ? undefined : new Set(filter.events)
  if (filter.events !== undefined && (!Array.isArray(filter.events) || filter.events.some((e) => typeof e !== 'string'))) throw badOption('events', 'must be a list of event type strings')
  const since = filter.since === undefined ? undefined : instantOf(filter.since, 'since', now)
  const until = filter.until === undefined ? undefined : instantOf(filter.until, 'until', now)
  const level = filter.level === undefined ? undefined : levelOf(filter.level)
  const where = Object.entries(filter.where ?? {})
  for (const [path, value] of where) {
    if (path === '' || path.split('.').some((k) => k === '')) throw badOption('where', `has an empty field name in ${JSON.stringify(path)}; use a dotted path such as result.exitCode`)
    if (value !== null && !['string', 'number', 'boolean'].includes(typeof value)) throw badOption('where', `${path} must be compared with a string, number, boolean or null, got ${typeof value}`)
  }
  const control = filter.control === true
  return (record) => {
    const event = typeof record.event === 'string' ? record.event : undefined
    if (event !== undefined && CONTROL_EVENTS.has(event) && !control && events?.has(event) !== true) return false
    if (events !== undefined && (event === undefined || !events.has(event))) return false
    if (since !== undefined || until !== undefined) {
      const t = record.time
      if (typeof t !== 'number') return false
      if (since !== undefined && t < since) return false
      if (until !== undefined && t >= until) return false
    }
    if (level !== undefined && !((recordLevel(record) ?? -Infinity) >= level)) return false
    for (const [path, value] of where) if (!equals(fieldAt(record, path), value)) return false
    return true
  }
}
