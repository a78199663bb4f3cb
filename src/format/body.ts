/**
 * Turning a producer's line into the body B of a record (FORMAT.md §3).
 *
 * The common case, a pino line, is kept byte for byte. Everything else is wrapped,
 * never dropped, so the user's data survives and every record line stays one JSON
 * object that any parser reads.
 */

/** Control events only the transport may write; a producer line carrying one is wrapped. */
export const CONTROL_EVENTS: ReadonlySet<string> = new Set([
  'chain.open',
  'chain.resume',
  'chain.close',
  'file.open',
  'retention.prune',
  'epoch.close'
])

export type WrapReason = 'not-json' | 'not-object' | 'empty-object' | 'reserved-event' | 'outside-epoch'

// JSON's four whitespace characters (RFC 8259 §2). String#trim would also strip
// a BOM or NBSP, which JSON.parse does not accept, and change bytes it shouldn't.
function isJsonSpace (code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d
}

export function trimJsonSpace (line: string): string {
  let start = 0
  let end = line.length
  while (start < end && isJsonSpace(line.charCodeAt(start))) start++
  while (end > start && isJsonSpace(line.charCodeAt(end - 1))) end--
  return start === 0 && end === line.length ? line : line.slice(start, end)
}

/** The wrapper body for a line that cannot be a body as it is. */
export function wrapLine (line: string, reason: WrapReason, time: number): string {
  return `{"wrapped":"${reason}","time":${time},"line":${JSON.stringify(line)}}`
}

/**
 * B for one producer line, or `undefined` for a blank line (nothing to keep).
 * `now` is only read when a line has to be wrapped.
 */
export function bodyFromLine (line: string, now: () => number = Date.now): string | undefined {
  return formBody(line, now, undefined)
}

/**
 * {@link bodyFromLine} plus the body's time (FORMAT.md §10.2): its top-level `time`
 * when that is a number, the wrapper's time for a wrapped line, else undefined.
 * Epoch keys need it to pick the key whose window holds the record.
 */
export function bodyAndTime (line: string, now: () => number = Date.now): { body: string, time: number | undefined } | undefined {
  const out: { time: number | undefined } = { time: undefined }
  const body = formBody(line, now, out)
  return body === undefined ? undefined : { body, time: out.time }
}

function formBody (line: string, now: () => number, out: { time: number | undefined } | undefined): string | undefined {
  const wrap = (reason: WrapReason): string => {
    const time = now()
    if (out !== undefined) out.time = time
    return wrapLine(line, reason, time)
  }
  const text = trimJsonSpace(line)
  if (text.length === 0) return undefined
  // Cheap pre-check before JSON.parse: a JSON object starts with { and ends with }.
  if (text.charCodeAt(0) !== 0x7b || text.charCodeAt(text.length - 1) !== 0x7d) {
    return wrap(looksLikeJson(text) ? 'not-object' : 'not-json')
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return wrap('not-json')
  }
  // JSON.parse of text starting with { and ending with } that succeeds is an object.
  const fields = value as Record<string, unknown>
  if (text !== '{}' && isEmptyObject(fields)) return wrap('empty-object')
  if (typeof fields.event === 'string' && CONTROL_EVENTS.has(fields.event)) return wrap('reserved-event')
  if (out !== undefined && typeof fields.time === 'number') out.time = fields.time
  return text
}

function looksLikeJson (text: string): boolean {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

function isEmptyObject (value: Record<string, unknown>): boolean {
  for (const _ in value) return false
  return true
}
