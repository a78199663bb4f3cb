/**
 * Capping large text fields (code, stdout, stderr, diffs) so a record never
 * balloons, while keeping truncation visible and the full content provable: the
 * record always carries the full content's length and SHA-256.
 */
import { createHash } from 'node:crypto'

/** How a text field appears in a record. */
export interface CapturedText {
  /** The text, cut to at most `max_field_bytes` UTF-8 bytes; absent at `log_level: minimal`. */
  text?: string
  /** Present with `text`: true when `text` is only the start of the content. */
  truncated?: boolean
  /** Length of the full content in UTF-8 bytes. */
  originalBytes: number
  /** Lowercase hex SHA-256 of the full content's UTF-8 bytes. */
  sha256: string
}

/** Length of the longest prefix of `buf` of at most `max` bytes that ends on a UTF-8 character boundary. */
function boundaryAtOrBefore (buf: Buffer, max: number): number {
  let end = Math.min(max, buf.length)
  // Continuation bytes are 10xxxxxx (RFC 3629 §3): back up to the lead byte.
  if (end < buf.length) while (end > 0 && (buf[end] & 0xc0) === 0x80) end--
  return end
}

export function captureText (content: string, maxBytes: number, withText: boolean): CapturedText {
  const buf = Buffer.from(content, 'utf8')
  const sha256 = createHash('sha256').update(buf).digest('hex')
  if (!withText) return { originalBytes: buf.length, sha256 }
  const truncated = buf.length > maxBytes
  const text = truncated ? buf.subarray(0, boundaryAtOrBefore(buf, maxBytes)).toString('utf8') : content
  return { text, truncated, originalBytes: buf.length, sha256 }
}
