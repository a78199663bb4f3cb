/**
 * Turning a producer's line into the body B of a record (FORMAT.md §3).
 *
 * The common case, a pino line, is kept byte for byte. Everything else is wrapped,
 * never dropped, so the user's data survives and every record line stays one JSON
 * object that any parser reads. A line too long for the verifier's line limit is
 * replaced by its size, SHA-256 and start (§3.1), so whatever is signed can be verified.
 */
import { createHash } from 'node:crypto'
import { MAX_BODY_BYTES, OVERSIZE_HEAD_BYTES } from './limits.js'
import { AuditChainError } from '../errors.js'

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

/** A producer line that was too long to sign, and was replaced by its wrapper (FORMAT.md §3.1). */
export interface OversizeLine {
  /** The line's length in UTF-8 bytes, as received. */
  bytes: number
  /** Lowercase hex SHA-256 of those bytes. */
  sha256: string
}

/** Told when a line is wrapped for size, so the writer can warn the app: the line's content is not in the log. */
export type OnOversize = (line: OversizeLine) => void

/** The app's warning for a line wrapped for size, written once for the file transport and the stage. */
export function oversizeWarning (o: OversizeLine, where: string): AuditChainError {
  return new AuditChainError('PAC_LINE_TOO_LONG', `a log line of ${o.bytes} bytes is longer than a record may be (${MAX_BODY_BYTES} bytes, FORMAT.md §3.1); it was recorded in ${where} as its size, SHA-256 (${o.sha256}) and first 1 KiB only: log large data elsewhere and audit its hash`)
}

// A string of at most this many UTF-16 code units is at most MAX_BODY_BYTES in UTF-8
// (3 bytes per unit at most), so the hot path decides with one comparison.
const SURELY_FITS = Math.floor(MAX_BODY_BYTES / 3)

function tooLong (text: string): boolean {
  return text.length > SURELY_FITS && Buffer.byteLength(text, 'utf8') > MAX_BODY_BYTES
}

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

/**
 * The wrapper body for a line that cannot be a body as it is; when that wrapper would
 * be too long to sign (a huge line, or JSON escapes that grow it up to sixfold), the
 * size wrapper instead, and `onOversize` is told.
 */
export function wrapLine (line: string, reason: WrapReason, time: number, onOversize?: OnOversize): string {
  // Checked before stringifying: a huge line escaped could pass V8's longest string.
  if (!tooLong(line)) {
    const body = `{"wrapped":"${reason}","time":${time},"line":${JSON.stringify(line)}}`
    if (!tooLong(body)) return body
  }
  return oversizeWrapper(line, time, onOversize)
}

// 1 Mi UTF-16 units per hash update: the whole line is never copied at once.
const HASH_SLICE = 1024 * 1024

/** `{"wrapped":"too-long",...}`: the line's UTF-8 length, SHA-256 and start, not the line (FORMAT.md §3.1). */
function oversizeWrapper (line: string, time: number, onOversize: OnOversize | undefined): string {
  const hash = createHash('sha256')
  let bytes = 0
  for (let at = 0; at < line.length;) {
    let end = Math.min(at + HASH_SLICE, line.length)
    // Never split a surrogate pair: each half alone would be encoded as U+FFFD.
    if (end < line.length && isHighSurrogate(line.charCodeAt(end - 1))) end--
    const piece = line.slice(at, end)
    hash.update(piece, 'utf8')
    bytes += Buffer.byteLength(piece, 'utf8')
    at = end
  }
  const sha256 = hash.digest('hex')
  onOversize?.({ bytes, sha256 })
  return `{"wrapped":"too-long","time":${time},"bytes":${bytes},"sha256":"${sha256}","prefix":${JSON.stringify(utf8Prefix(line, OVERSIZE_HEAD_BYTES))}}`
}

function isHighSurrogate (code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff
}

/** The longest start of `text` whose UTF-8 encoding has at most `max` bytes, whole characters only. */
export function utf8Prefix (text: string, max: number): string {
  let units = Math.min(text.length, max)
  if (units < text.length && isHighSurrogate(text.charCodeAt(units - 1))) units--
  const encoded = Buffer.from(text.slice(0, units), 'utf8')
  if (encoded.length <= max) return encoded.toString('utf8')
  let cut = max
  // UTF-8 continuation bytes are 10xxxxxx: back off to the first byte of a character.
  while (cut > 0 && (encoded[cut] & 0xc0) === 0x80) cut--
  return encoded.subarray(0, cut).toString('utf8')
}

/**
 * B for one producer line, or `undefined` for a blank line (nothing to keep).
 * `now` is only read when a line has to be wrapped; `onOversize` is told when the
 * line was too long to sign and only its size, hash and start were kept.
 */
export function bodyFromLine (line: string, now: () => number = Date.now, onOversize?: OnOversize): string | undefined {
  return formBody(line, now, undefined, onOversize)
}

/**
 * {@link bodyFromLine} plus the body's time (FORMAT.md §10.2): its top-level `time`
 * when that is a number, the wrapper's time for a wrapped line, else undefined.
 * Epoch keys need it to pick the key whose window holds the record.
 */
export function bodyAndTime (line: string, now: () => number = Date.now, onOversize?: OnOversize): { body: string, time: number | undefined } | undefined {
  const out: { time: number | undefined } = { time: undefined }
  const body = formBody(line, now, out, onOversize)
  return body === undefined ? undefined : { body, time: out.time }
}

// The wrapper body for `line`, stamped now (and `out.time` with it). Not a closure in
// formBody: that would be one allocation per record for the rare wrapped line.
function wrapNow (line: string, reason: WrapReason, now: () => number, out: { time: number | undefined } | undefined, onOversize: OnOversize | undefined): string {
  const time = now()
  if (out !== undefined) out.time = time
  return wrapLine(line, reason, time, onOversize)
}

function formBody (line: string, now: () => number, out: { time: number | undefined } | undefined, onOversize: OnOversize | undefined): string | undefined {
  const text = trimJsonSpace(line)
  if (text.length === 0) return undefined
  // Not parsed: it could not be kept anyway, and parsing a huge line costs memory.
  if (tooLong(text)) {
    const time = now()
    if (out !== undefined) out.time = time
    return oversizeWrapper(line, time, onOversize)
  }
  // Cheap pre-check before JSON.parse: a JSON object starts with { and ends with }.
  if (text.charCodeAt(0) !== 0x7b || text.charCodeAt(text.length - 1) !== 0x7d) {
    return wrapNow(line, looksLikeJson(text) ? 'not-object' : 'not-json', now, out, onOversize)
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return wrapNow(line, 'not-json', now, out, onOversize)
  }
  // JSON.parse of text starting with { and ending with } that succeeds is an object.
  const fields = value as Record<string, unknown>
  if (text !== '{}' && isEmptyObject(fields)) return wrapNow(line, 'empty-object', now, out, onOversize)
  if (typeof fields.event === 'string' && CONTROL_EVENTS.has(fields.event)) return wrapNow(line, 'reserved-event', now, out, onOversize)
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
