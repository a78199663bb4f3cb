/**
 * Record format v1: the one definition used by both the writer and the verifier.
 * docs/FORMAT.md is the prose form of this file; test/format.test.ts checks that
 * its worked example is reproduced byte for byte.
 */
import { createHash, hash as sha256Once } from 'node:crypto'

export const FORMAT_VERSION = 1
/** `P` of the record with seq 0: 64 zero characters (FORMAT.md §2). */
export const GENESIS_PREV = '0'.repeat(64)
/** Domain separation: no other SHA-256 input of ours starts with these bytes. */
export const HASH_DOMAIN = 'pac1'

/** The chain member's values, in the order they are written. */
export interface ChainMember {
  v: 1
  seq: number
  prev: string
  hash: string
  kid: string
  sig: string
}

const HEX64 = /^[0-9a-f]{64}$/
const HEX16 = /^[0-9a-f]{16}$/
// 64 signature bytes in base64url without padding are exactly 86 characters.
const SIG_B64URL = /^[A-Za-z0-9_-]{86}$/

/** The exact text of M (FORMAT.md §2): member order fixed, no spaces. */
export function chainMemberText (m: ChainMember): string {
  return `{"v":1,"seq":${m.seq},"prev":"${m.prev}","hash":"${m.hash}","kid":"${m.kid}","sig":"${m.sig}"}`
}

/** The bytes the record hash covers: `"pac1|" + S + "|" + P + "|" + B`. */
export function hashPreimagePrefix (seq: number, prev: string): string {
  return `${HASH_DOMAIN}|${seq}|${prev}|`
}

/** H for a body given as a string (the writer's side). */
export function recordHash (seq: number, prev: string, body: string): Buffer {
  return createHash('sha256').update(hashPreimagePrefix(seq, prev)).update(body).digest()
}

/**
 * H as hex, the writer's hot path: the same bytes as `recordHash`, through the
 * one-shot `crypto.hash` (Node >= 20.12), ~1 µs instead of ~3 µs per record. The
 * prefix is ASCII, so encoding the joined string as UTF-8 gives exactly the prefix
 * bytes followed by B's bytes.
 */
export function recordHashHex (seq: number, prev: string, body: string): string {
  return sha256Once('sha256', hashPreimagePrefix(seq, prev) + body, 'hex')
}

/**
 * H for a body held as raw line bytes (the verifier's side): the body is
 * `line[0, bodyEnd)` followed by `}`, or exactly `{}`. Hashing the bytes avoids
 * any decode/encode round trip between what was written and what is checked.
 */
export function recordHashOfBytes (seq: number, prev: string, line: Buffer, bodyEnd: number): Buffer {
  const h = createHash('sha256').update(hashPreimagePrefix(seq, prev))
  if (bodyEnd < 0) return h.update('{}').digest()
  return h.update(line.subarray(0, bodyEnd)).update('}').digest()
}

/** LINE = B[0 .. len(B)-1] + SEP + '"chain":' + M + '}' (without the trailing newline). */
export function recordLine (body: string, member: ChainMember): string {
  const sep = body === '{}' ? '' : ','
  return `${body.slice(0, -1)}${sep}"chain":${chainMemberText(member)}}`
}

export function isChainMember (value: unknown): value is ChainMember {
  if (value === null || typeof value !== 'object') return false
  const m = value as Record<string, unknown>
  return m.v === 1 &&
    typeof m.seq === 'number' && Number.isSafeInteger(m.seq) && m.seq >= 0 &&
    typeof m.prev === 'string' && HEX64.test(m.prev) &&
    typeof m.hash === 'string' && HEX64.test(m.hash) &&
    typeof m.kid === 'string' && HEX16.test(m.kid) &&
    typeof m.sig === 'string' && SIG_B64URL.test(m.sig)
}

export type ParsedRecord = {
  ok: true
  member: ChainMember
  /** The parsed line; `fields.chain` is our member, the body's own members are the rest. */
  fields: Record<string, unknown>
  /** Index in the line bytes where the body's text ends (before `,"chain"`), or -1 for `{}`. */
  bodyEnd: number
}

export type MalformedRecord = {
  ok: false
  /** Why the line is not a v1 record; `layout` means JSON with a valid member in the wrong place. */
  reason: 'utf8' | 'json' | 'not-object' | 'no-chain' | 'bad-chain' | 'version' | 'layout'
  detail: string
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const COMMA = 0x2c
const OPEN_BRACE = 0x7b

/**
 * Parse one line (bytes, without its `\n`) as a v1 record, following FORMAT.md §4:
 * JSON-parse it (the last top-level "chain" member wins), rebuild M from the parsed
 * values, and require that the line ends with `"chain":M}` preceded by `,` or by the
 * opening `{` of the line.
 */
export function parseRecordLine (line: Buffer): ParsedRecord | MalformedRecord {
  let text: string
  try {
    text = utf8.decode(line)
  } catch {
    return { ok: false, reason: 'utf8', detail: 'the line is not valid UTF-8' }
  }
  let fields: unknown
  try {
    fields = JSON.parse(text)
  } catch (err) {
    return { ok: false, reason: 'json', detail: `not JSON (${(err as Error).message})` }
  }
  if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) {
    return { ok: false, reason: 'not-object', detail: 'the line is JSON but not an object' }
  }
  const chain = (fields as Record<string, unknown>).chain
  if (chain === undefined) {
    return { ok: false, reason: 'no-chain', detail: 'the line has no "chain" member' }
  }
  if (chain !== null && typeof chain === 'object' && (chain as { v?: unknown }).v !== 1) {
    return { ok: false, reason: 'version', detail: `unsupported chain format version ${JSON.stringify((chain as { v?: unknown }).v)}` }
  }
  if (!isChainMember(chain)) {
    return { ok: false, reason: 'bad-chain', detail: 'the "chain" member does not have the v1 form' }
  }
  const suffix = Buffer.from(`"chain":${chainMemberText(chain)}}`, 'latin1')
  const at = line.length - suffix.length
  if (at < 1 || !line.subarray(at).equals(suffix)) {
    return { ok: false, reason: 'layout', detail: 'the line does not end with its chain member exactly as written (bytes changed after or inside it)' }
  }
  const sep = line[at - 1]
  if (sep === COMMA) return { ok: true, member: chain, fields: fields as Record<string, unknown>, bodyEnd: at - 1 }
  if (sep === OPEN_BRACE && at === 1) return { ok: true, member: chain, fields: fields as Record<string, unknown>, bodyEnd: -1 }
  return { ok: false, reason: 'layout', detail: 'the chain member is not preceded by "," or by the line\'s opening "{"' }
}

// Each invalid UTF-8 sequence becomes U+FFFD, so the test is JSON.parse of the bytes as
// any reader of the log would see them: a complete line with a stray byte in a string
// parses, and is not crash damage; a proper prefix never parses, whatever its bytes.
const lenient = new TextDecoder('utf-8')

/**
 * True when `bytes` are one complete JSON value. Such a line is never torn (FORMAT.md
 * §5.2, §7): a crash cuts a record line short, and a proper prefix of a JSON object
 * never parses. The writer (which torn line it describes) and the verifier (which
 * description it accepts) decide with this one test.
 */
export function isCompleteJson (bytes: Buffer): boolean {
  try {
    JSON.parse(lenient.decode(bytes))
    return true
  } catch {
    return false
  }
}

/** The body text B recovered from a parsed line (for readers who want the producer's object). */
export function bodyOf (line: Buffer, parsed: ParsedRecord): Buffer {
  if (parsed.bodyEnd < 0) return Buffer.from('{}')
  return Buffer.concat([line.subarray(0, parsed.bodyEnd), Buffer.from('}')])
}
