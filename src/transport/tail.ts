/**
 * What a starting writer finds at the end of an existing log file: the last record
 * to continue the chain from, and any torn bytes a crash left after it.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { AuditChainError } from '../errors.js'
import { isCompleteJson, parseRecordLine, recordHashOfBytes, type ParsedRecord } from '../format/record.js'
import type { KeyObject } from 'node:crypto'
import { verifyBytes, verifyKeyFromPublicKey } from '../format/keys.js'
import type { TornLine } from '../format/control.js'
import { finiteTime } from '../format/control-time.js'

export type ChainTail =
  /** No file, or an empty one: start a new chain. */
  | { kind: 'empty' }
  /** Only torn bytes and no record (a crash during the very first write). */
  | { kind: 'fresh', torn: TornLine, needsNewline: boolean, stray: 0 }
  /** Continue chain `chainId` after record `last`. */
  | { kind: 'existing', chainId: string, last: TailRecord, torn: TornLine | null, needsNewline: boolean, first: FirstRecord | undefined, stray: number }

/** The last record of a file, checked (its hash, and its signature when one of our keys made it). */
export interface TailRecord { seq: number, hash: string, kid: string, event: unknown, time: number | undefined }

/** The file's first record: its seq and its `time` (when the file's writer opened it). */
export interface FirstRecord { seq: number, time: number | undefined }

// 64 MiB: how far back from the end a starting writer looks for the last record
// through lines that are not records; beyond that it refuses rather than scan further.
const MAX_TAIL_SCAN_BYTES = 64 * 1024 * 1024
// The first records of a file (chain.open / file.open) carry the chain id; look this far for one,
// reading a small window first (normally the first line is enough) and growing it as needed.
const CHAIN_ID_SCAN_BYTES = 4 * 1024 * 1024
const FIRST_SCAN_BYTES = 64 * 1024
const NEWLINE = 0x0a

export function readRange (fd: number, start: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length)
  let done = 0
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, start + done)
    if (n === 0) break
    done += n
  }
  return buf.subarray(0, done)
}

function tornOf (fd: number, offset: number, length: number): TornLine {
  const sha256 = createHash('sha256').update(readRange(fd, offset, length)).digest('hex')
  return { offset, length, sha256 }
}

interface LastRecord {
  line: Buffer
  parsed: ParsedRecord
  /** Offset of the first byte after the record line (after its `\n`, if it has one). */
  end: number
  /** The record is complete but its `\n` never reached the disk (a crash cut just that). */
  unterminated: boolean
}

interface TailScan {
  last: LastRecord | undefined
  /** Offset of the final line when it has no `\n` and is not JSON: a crash may have cut it. */
  tornAt: number | undefined
  /** Lines after the last record that are not records and that no crash explains. */
  stray: number
}

/** Walk back from the end of the file to the last line that is a v1 record. */
function scanTail (fd: number, size: number, file: string): TailScan {
  let window = Math.min(size, 1024 * 1024)
  for (;;) {
    const base = size - window
    const buf = readRange(fd, base, window)
    // The last segment: after the final \n, or the whole window's tail if unterminated.
    let segEnd = buf[buf.length - 1] === NEWLINE ? buf.length - 1 : buf.length
    let tornAt: number | undefined
    let stray = 0
    while (segEnd >= 0) {
      const segStart = segEnd === 0 ? 0 : buf.lastIndexOf(NEWLINE, segEnd - 1) + 1
      if (segStart === 0 && base > 0) break // the line starts before this window
      const line = buf.subarray(segStart, segEnd)
      const parsed = parseRecordLine(line)
      const unterminated = segEnd === buf.length
      if (parsed.ok) {
        return { last: { line: Buffer.from(line), parsed, end: base + segEnd + (unterminated ? 0 : 1), unterminated }, tornAt, stray }
      }
      // Only a final line with no `\n` that is not a JSON value can be crash damage (FORMAT.md §5.2).
      if (unterminated && !isCompleteJson(line)) tornAt = base + segStart
      else stray++
      if (size - (base + segStart) > MAX_TAIL_SCAN_BYTES) {
        throw new AuditChainError('PAC_TAIL_INVALID', `${file} ends with more than ${MAX_TAIL_SCAN_BYTES} bytes that are not audit records; that is not crash damage. Refusing to continue a chain from it: move the file aside and start a new one, and verify the old file with "audit-chain verify"`)
      }
      segEnd = segStart - 1
    }
    if (base === 0) return { last: undefined, tornAt, stray }
    window = Math.min(size, window * 2)
  }
}

interface FileStart {
  /** From the first record that names one (chain.open / chain.resume / file.open). */
  chainId: string | undefined
  /** Seq and `time` of the file's first record. */
  firstSeq: number | undefined
  firstTime: number | undefined
  /** The first record itself, unchecked. */
  firstRecord: { line: Buffer, parsed: ParsedRecord } | undefined
}

/** The chain id and first record of a file, from its first lines. */
function readFileStart (fd: number, size: number): FileStart {
  const start: FileStart = { chainId: undefined, firstSeq: undefined, firstTime: undefined, firstRecord: undefined }
  const limit = Math.min(size, CHAIN_ID_SCAN_BYTES)
  let window = Math.min(limit, FIRST_SCAN_BYTES)
  let head = readRange(fd, 0, window)
  let from = 0
  for (;;) {
    const end = head.indexOf(NEWLINE, from)
    if (end < 0) {
      if (window >= limit) return start
      window = Math.min(limit, window * 2)
      head = readRange(fd, 0, window)
      continue
    }
    const line = head.subarray(from, end)
    const parsed = parseRecordLine(line)
    if (parsed.ok) {
      if (start.firstSeq === undefined) {
        start.firstRecord = { line: Buffer.from(line), parsed }
        start.firstSeq = parsed.member.seq
        start.firstTime = finiteTime(parsed.fields.time)
      }
      if (typeof parsed.fields.chainId === 'string' && /^[0-9a-f]{32}$/.test(parsed.fields.chainId)) {
        start.chainId = parsed.fields.chainId
        return start
      }
    }
    from = end + 1
  }
}

/** A file's first and last records and the chain its start names, unchecked: for retention to check. */
export interface FileEnds {
  chainId: string | undefined
  first: { line: Buffer, parsed: ParsedRecord } | undefined
  last: { line: Buffer, parsed: ParsedRecord } | undefined
}

/** Read the ends of a complete (rotated) file. Throws the fs error (ENOENT, EISDIR, ELOOP…) for the caller to report. */
export function readFileEnds (file: string): FileEnds {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW)
  try {
    const size = fstatSync(fd).size
    if (size === 0) return { chainId: undefined, first: undefined, last: undefined }
    const start = readFileStart(fd, size)
    return { chainId: start.chainId, first: start.firstRecord, last: scanTail(fd, size, file).last }
  } finally {
    closeSync(fd)
  }
}

/**
 * Why `line` (parsed as `parsed`) is not a record this writer can vouch for: its hash
 * does not match its bytes (modified), or it was made with one of our keys and its
 * signature fails (forged); `ownOnly` also refuses one made with a key not ours.
 * Undefined when it checks.
 */
export function recordFault (line: Buffer, parsed: ParsedRecord, keys: ReadonlyMap<string, KeyObject>, ownOnly = false): string | undefined {
  const { member } = parsed
  const recomputed = recordHashOfBytes(member.seq, member.prev, line, parsed.bodyEnd).toString('hex')
  if (recomputed !== member.hash) return 'does not match its hash: it was modified'
  const ours = keys.get(member.kid)
  if (ours === undefined) return ownOnly ? `is signed by key ${member.kid}, which is not this writer's` : undefined
  if (!verifyBytes(verifyKeyFromPublicKey(ours, 'writer'), Buffer.from(member.hash, 'hex'), member.sig)) return 'has a bad signature: it was forged'
  return undefined
}

/**
 * Inspect `file` before writing to it. The last record must be intact (its hash, and
 * its signature when it was made with one of our keys, `keys` by key id): continuing
 * from a record someone edited would put our signature under their change. Only a
 * final line with no `\n` that is not JSON is set aside as torn; any other line after
 * the last record is counted as stray and left for the verifier to report.
 */
export function readChainTail (file: string, keys: ReadonlyMap<string, KeyObject>): ChainTail {
  let fd: number
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return { kind: 'empty' }
    const hint = code === 'ELOOP' ? ': it is a symlink, and the writer never follows one in the log directory; remove it' : ''
    throw new AuditChainError(code === 'ELOOP' ? 'PAC_INSECURE' : 'PAC_DESTINATION', `cannot read existing log file ${file} (${code ?? 'error'})${hint}`)
  }
  try {
    const size = fstatSync(fd).size
    if (size === 0) return { kind: 'empty' }
    const endsWithNewline = readRange(fd, size - 1, 1)[0] === NEWLINE
    const { last, tornAt, stray } = scanTail(fd, size, file)
    const torn = tornAt === undefined ? null : tornOf(fd, tornAt, size - tornAt)
    // The line written next must start on a line of its own.
    const needsNewline = !endsWithNewline
    if (last === undefined) {
      if (torn !== null && stray === 0) return { kind: 'fresh', torn, needsNewline, stray: 0 }
      throw new AuditChainError('PAC_TAIL_INVALID', `${file} holds no audit record, only ${stray + (torn === null ? 0 : 1)} other line(s): it is not a log this transport wrote. Refusing to append a chain to it: point the transport at another file, or move this one aside`)
    }
    const { member } = last.parsed
    const fault = recordFault(last.line, last.parsed, keys)
    if (fault !== undefined) {
      throw new AuditChainError('PAC_TAIL_INVALID', `the last record of ${file} (seq ${member.seq}) ${fault}. Refusing to continue the chain; run "audit-chain verify ${file}" and move the file aside`)
    }
    const start = readFileStart(fd, size)
    const chainId = typeof last.parsed.fields.chainId === 'string' ? last.parsed.fields.chainId : start.chainId
    if (chainId === undefined) {
      throw new AuditChainError('PAC_TAIL_INVALID', `${file} has records but no chain.open, chain.resume or file.open record near its start naming its chain; refusing to continue it`)
    }
    const first = start.firstSeq === undefined ? undefined : { seq: start.firstSeq, time: start.firstTime }
    const time = finiteTime(last.parsed.fields.time)
    return { kind: 'existing', chainId, last: { seq: member.seq, hash: member.hash, kid: member.kid, event: last.parsed.fields.event, time }, torn, needsNewline, first, stray }
  } finally {
    closeSync(fd)
  }
}
