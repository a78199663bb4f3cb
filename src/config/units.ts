/**
 * Durations and sizes written in the policy file (`30d`, `5m`, `10MB`), parsed by
 * `ms` and `bytes` (the parsers Express and Vercel ship) so the policy reads the
 * way operators already write these values elsewhere.
 */
import ms from 'ms'
import bytes from 'bytes'

// `bytes` falls back to parseInt() for text it does not recognise ("10 potatoes"
// is 10), so the form is checked first: a number and an optional unit.
const SIZE_FORM = /^\s*\d+(\.\d+)?\s*(b|kb|mb|gb|tb|pb)?\s*$/i

// `ms` reads a bare number ("300") as milliseconds; in a policy that is almost
// always a forgotten unit, so a duration must end in a unit letter.
const ENDS_IN_UNIT = /[a-z]\s*$/i

/** Milliseconds for a duration such as `30d`, `5m`, `1h`, `90s`; undefined if not one. */
export function parseDuration (text: string): number | undefined {
  if (!ENDS_IN_UNIT.test(text)) return undefined
  let value: number | undefined
  try {
    value = ms(text as ms.StringValue)
  } catch {
    return undefined // ms throws on strings longer than 100 characters
  }
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.round(value) : undefined
}

/**
 * Bytes for a size such as `10MB`, `64KB`, `1.5GB` (binary units: 1KB = 1024
 * bytes, as `bytes` defines them) or a whole number of bytes; undefined if not one.
 */
export function parseSize (value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value > 0 ? value : undefined
  if (!SIZE_FORM.test(value)) return undefined
  const parsed = bytes.parse(value)
  return typeof parsed === 'number' && Number.isSafeInteger(parsed) && parsed > 0 ? parsed : undefined
}
