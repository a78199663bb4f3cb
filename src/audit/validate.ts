/**
 * Small typed validators for the audit methods' inputs. They run before anything
 * is built or written, so a bad call throws and leaves no half record: a wrong
 * type or a missing field is a TypeError, a value of the right type outside what
 * is allowed is a RangeError, and every message starts with `method: field`.
 */

type Fields = Record<string, unknown>

function shown (value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object') return 'an object'
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value)
  return typeof value
}

/** Validators bound to one method name, for messages like `logCodeExecution: result.exitCode …`. */
export class Validator {
  constructor (readonly method: string) {}

  typeError (field: string, expected: string, value: unknown): TypeError {
    return new TypeError(`${this.method}: ${field} must be ${expected}, got ${shown(value)}`)
  }

  rangeError (field: string, expected: string, value: unknown): RangeError {
    return new RangeError(`${this.method}: ${field} must be ${expected}, got ${shown(value)}`)
  }

  /**
   * A plain object whose keys are all in `allowed` (a typo such as `exitcode` is
   * caught, not dropped). `root`: the method's argument itself, whose keys are
   * named without a prefix.
   */
  object (field: string, value: unknown, allowed: readonly string[], { root = false } = {}): Fields {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw this.typeError(field, 'an object', value)
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) {
        const name = root ? key : `${field}.${key}`
        throw new TypeError(`${this.method}: unknown field ${name}; expected only ${allowed.join(', ')}`)
      }
    }
    return value as Fields
  }

  string (field: string, value: unknown, { empty = false } = {}): string {
    if (typeof value !== 'string') throw this.typeError(field, 'a string', value)
    if (!empty && value.length === 0) throw this.rangeError(field, 'a non-empty string', value)
    return value
  }

  optionalString (field: string, value: unknown, opts?: { empty?: boolean }): string | undefined {
    return value === undefined ? undefined : this.string(field, value, opts)
  }

  boolean (field: string, value: unknown): boolean | undefined {
    if (value === undefined) return undefined
    if (typeof value !== 'boolean') throw this.typeError(field, 'a boolean', value)
    return value
  }

  /** A finite number >= `min`; with `integer`, a safe integer. */
  number (field: string, value: unknown, { min = -Infinity, integer = false, above = false } = {}): number {
    const expected = `${integer ? 'an integer' : 'a number'}${min > -Infinity ? ` ${above ? '>' : '>='} ${min}` : ''}`
    if (typeof value !== 'number') throw this.typeError(field, expected, value)
    if (!Number.isFinite(value) || (integer && !Number.isSafeInteger(value)) || value < min || (above && value === min)) {
      throw this.rangeError(field, expected, value)
    }
    return value
  }

  optionalNumber (field: string, value: unknown, opts?: { min?: number, integer?: boolean, above?: boolean }): number | undefined {
    return value === undefined ? undefined : this.number(field, value, opts)
  }

  oneOf<T extends string> (field: string, value: unknown, allowed: readonly T[]): T {
    const expected = `one of ${allowed.join(', ')}`
    if (typeof value !== 'string') throw this.typeError(field, expected, value)
    if (!(allowed as readonly string[]).includes(value)) throw this.rangeError(field, expected, value)
    return value as T
  }

  array (field: string, value: unknown): unknown[] {
    if (!Array.isArray(value)) throw this.typeError(field, 'an array', value)
    return value
  }

  /** A Date, epoch milliseconds or an ISO 8601 string, as epoch milliseconds. */
  time (field: string, value: unknown): number | undefined {
    if (value === undefined) return undefined
    const expected = 'a Date, epoch milliseconds or an ISO 8601 string'
    let ms: number
    if (value instanceof Date) ms = value.getTime()
    else if (typeof value === 'number') ms = value
    else if (typeof value === 'string') ms = Date.parse(value)
    else throw this.typeError(field, expected, value)
    if (!Number.isFinite(ms)) throw this.rangeError(field, `a valid time (${expected})`, value)
    return ms
  }
}
