/**
 * logEvent: events the four typed methods do not cover (logins, policy changes, key
 * rotations…). The type is a word of the app's own; the fields are checked as JSON
 * data before anything is written, so a call writes one whole record or throws.
 */
import { CONTROL_EVENTS } from '../format/body.js'
import { captureText } from './cap.js'
import { Validator } from './validate.js'
import { ALERT_EVENT, AUDIT_EVENTS } from './vocabulary.js'
import type { AuditLevel } from './severity.js'

/** A lowercase word, or words joined by dots or underscores: `user.login`, `policy_change`. */
export const CUSTOM_EVENT_PATTERN = /^[a-z][a-z0-9]*(?:[._][a-z0-9]+)*$/
const MAX_EVENT_LENGTH = 64

/** Written by the transport or by the typed methods: never by logEvent. */
const TAKEN_EVENTS: ReadonlySet<string> = new Set([...CONTROL_EVENTS, ...AUDIT_EVENTS, ALERT_EVENT, 'alert_handler_error'])

// Members the logger, pino or the chain write into every record: a field with one of
// these names would put a second, conflicting member in the line.
export const RESERVED_FIELDS: ReadonlySet<string> = new Set(['event', 'eventId', 'chain', 'level', 'time', 'msg', 'host', 'pid', 'hostname'])

const LEVELS: readonly AuditLevel[] = ['info', 'warn', 'error']

/** Why `type` cannot be a custom event type, or undefined when it can. */
export function customEventProblem (type: string): string | undefined {
  if (type.length > MAX_EVENT_LENGTH || !CUSTOM_EVENT_PATTERN.test(type)) return `a lowercase word with dots or underscores (like "user.login"), at most ${MAX_EVENT_LENGTH} characters`
  if ((AUDIT_EVENTS as readonly string[]).includes(type)) return `not a built-in event type: use its own method (log${type.replace(/(^|_)([a-z])/g, (_, _s: string, c: string) => c.toUpperCase())})`
  if (TAKEN_EVENTS.has(type)) return 'not an event the transport or the logger writes itself'
  return undefined
}

export interface LogEventOptions {
  /** The record's level. Default `info`. */
  level?: AuditLevel
  /** The record's `msg`. Default the event type. */
  msg?: string
}

export interface CheckedEvent {
  type: string
  fields: Record<string, unknown>
  level: AuditLevel
  msg: string
}

/**
 * Check a logEvent call. Fields must be JSON data as it would be written: plain
 * objects, arrays, strings, finite numbers, booleans and null, with no cycles and no
 * `undefined` (JSON would drop it silently). A string longer than `maxFieldBytes` is
 * replaced by its capped form (text cut, full length and SHA-256), like code and
 * output in the typed methods.
 */
export function checkCustomEvent (type: unknown, fields: unknown, options: unknown, maxFieldBytes: number, withText: boolean): CheckedEvent {
  const v = new Validator('logEvent')
  if (typeof type !== 'string') throw v.typeError('type', 'a string', type)
  const problem = customEventProblem(type)
  if (problem !== undefined) throw v.rangeError('type', problem, type)
  const f = v.object('fields', fields ?? {}, Object.keys(fields ?? {}))
  for (const key of Object.keys(f)) {
    if (RESERVED_FIELDS.has(key)) throw v.rangeError(`fields.${key}`, `not one of the keys the logger writes itself (${[...RESERVED_FIELDS].join(', ')})`, key)
  }
  const o = v.object('options', options ?? {}, ['level', 'msg'])
  const level = o.level ?? 'info'
  if (!LEVELS.includes(level as AuditLevel)) throw v.rangeError('options.level', `one of ${LEVELS.join(', ')}`, level)
  const msg = v.optionalString('options.msg', o.msg) ?? type
  const seen = new Set<object>()
  const data = (path: string, value: unknown): unknown => {
    if (value === null || typeof value === 'boolean') return value
    if (typeof value === 'string') return Buffer.byteLength(value) > maxFieldBytes ? captureText(value, maxFieldBytes, withText) : value
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw v.rangeError(path, 'a finite number (JSON has no NaN or Infinity)', value)
      return value
    }
    if (typeof value !== 'object') throw v.typeError(path, 'JSON data (an object, array, string, finite number, boolean or null)', value)
    if (seen.has(value)) throw v.typeError(path, 'JSON data without cycles', value)
    const proto = Object.getPrototypeOf(value)
    if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) throw v.typeError(path, 'a plain object or array (convert dates, maps and class instances first)', value)
    seen.add(value)
    const out = Array.isArray(value)
      ? value.map((item, i) => data(`${path}[${i}]`, item))
      : Object.fromEntries(Object.entries(value).map(([k, item]) => [k, data(`${path}.${k}`, item)]))
    seen.delete(value)
    return out
  }
  return { type, fields: data('fields', f) as Record<string, unknown>, level: level as AuditLevel, msg }
}
