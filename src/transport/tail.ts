/**
 * What a starting writer finds at the end of an existing log file: the last record
 * to continue the chain from, and any torn bytes a crash left after it.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { AuditChainError } from '../errors.js'
import { parseRecordLine, recordHashOfBytes, type ParsedRecord } from '../format/record.js'
import type { KeyObject } from 'node:crypto'
import { verifyBytes, verifyKeyFromPublicKey } from '../format/keys.js'
import type { TornLine } from '../format/control.js'

export type ChainTail =
  /** No file, or an empty one: start a new chain. */
  | { kind: 'empty' }
  /** Only torn bytes and no record (a crash during the very first write). */
  | { kind: 'fresh', torn: TornLine, needsNewline: boolean }
  /** Continue chain `chainId` after record `last`. */
  | { kind: 'existing', chainId: string, last: { seq: number, hash: string, kid: string, event: unknown }, torn: TornLine | null, needsNewline: boolean, first: FirstRecord | undefined }

/** The file's first record: its seq and its `time` (when the file's writer opened it). */
export interface FirstRecord { seq: number, time: number | undefined }

// A crash tears at most the line being written, and a crash during the restart that
// explains it one more: more non-record lines at the end than this is not crash damage.
const MAX_TORN_LINES = 8
// 64 MiB: far above any torn write we produce; beyond it we refuse rather than hash a huge region.
const MAX_TORN_BYTES = 64 * 1024 * 1024
// The first records of a file (chain.open / file.open) carry the chain id; look this far for one,
// reading a small window first (normally the first line is enough) and growing it as needed.
const CHAIN_ID_SCAN_BYTES = 4 * 1024 * 1024
const FIRST_SCAN_BYTES = 64 * 1024
const NEWLINE = 0x0a

function readRange (fd: number, start: number, length: number): Buffer {
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

/** Walk back from the end of the file to the last line that is a v1 record. */
function findLastRecord (fd: number, size: number, file: string): LastRecord | undefined {
  let window = Math.min(size, 1024 * 1024)
  for (;;) {
    const base = size - window
    const buf = readRange(fd, base, window)
    // The last segment: after the final \n, or the whole window's tail if unterminated.
    let segEnd = buf[buf.length - 1] === NEWLINE ? buf.length - 1 : buf.length
    let nonRecordLines = 0
    while (segEnd >= 0) {
      const segStart = segEnd === 0 ? 0 : buf.lastIndexOf(NEWLINE, segEnd - 1) + 1
      if (segStart === 0 && base > 0) break // the line starts before this window
      const line = buf.subarray(segStart, segEnd)
      const parsed = parseRecordLine(line)
      if (parsed.ok) {
        const unterminated = segEnd === buf.length
        return { line: Buffer.from(line), parsed, end: base + segEnd + (unterminated ? 0 : 1), unterminated }
      }
      nonRecordLines++
      if (nonRecordLines > MAX_TORN_LINES || size - (base + segStart) > MAX_TORN_BYTES) {
        throw new AuditChainError('PAC_TAIL_INVALID', `${file} ends with more than ${MAX_TORN_LINES} lines (or ${MAX_TORN_BYTES} bytes) that are not audit records; that is not crash damage. Refusing to continue a chain from it: move the file aside and start a new one, and verify the old file with "audit-chain verify"`)
      }
      segEnd = segStart - 1
    }
    if (base === 0) return undefined
    window = Math.min(size, window * 2)
  }
}

interface FileStart {
  /** From the first record that names one (chain.open / chain.resume / file.open). */
  chainId: string | undefined
  /** Seq and `time` of the file's first record. */
  firstSeq: number | undefined
  firstTime: number | undefined
}

/** The chain id and first record of a file, from its first lines. */
function readFileStart (fd: number, size: number): FileStart {
  const start: FileStart = { chainId: undefined, firstSeq: undefined, firstTime: undefined }
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
    const parsed = parseRecordLine(head.subarray(from, end))
    if (parsed.ok) {
      if (start.firstSeq === undefined) {
        start.firstSeq = parsed.member.seq
        const time = parsed.fields.time
        if (typeof time === 'number' && Number.isFinite(time)) start.firstTime = time
      }
      if (typeof parsed.fields.chainId === 'string' && /^[0-9a-f]{32}$/.test(parsed.fields.chainId)) {
        start.chainId = parsed.fields.chainId
        return start
      }
    }
    from = end + 1
  }
}

/** What retention needs to know of a rotated file before deleting it. */
export interface FileRange {
  chainId: string
  firstSeq: number
  lastSeq: number
  lastHash: string
}

/**
 * The chain and seq range of a complete (rotated) file, read from its first and last
 * records without checking signatures; undefined when it holds no record naming a chain.
 * Throws the fs error (ENOENT, EACCES) for the caller to report.
 */
export function readFileRange (file: string): FileRange | undefined {
  const fd = openSync(file, 'r')
  try {
    const size = fstatSync(fd).size
    if (size === 0) return undefined
    const start = readFileStart(fd, size)
    if (start.chainId === undefined || start.firstSeq === undefined) return undefined
    const last = findLastRecord(fd, size, file)
    if (last === undefined) return undefined
    return { chainId: start.chainId, firstSeq: start.firstSeq, lastSeq: last.parsed.member.seq, lastHash: last.parsed.member.hash }
  } finally {
    closeSync(fd)
  }
}

/**
 * Inspect `file` before writing to it. The last record must be intact (its hash, and
 * its signature when it was made with one of our keys, `keys` by key id): continuing
 * from a record someone edited would put our signature under their change.
 */
export function readChainTail (file: string, keys: ReadonlyMap<string, KeyObject>): ChainTail {
  let fd: number
  try {
    fd = openSync(file, 'r')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'empty' }
    throw new AuditChainError('PAC_DESTINATION', `cannot read existing log file ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
  }
  try {
    const size = fstatSync(fd).size
    if (size === 0) return { kind: 'empty' }
    const endsWithNewline = readRange(fd, size - 1, 1)[0] === NEWLINE
    const last = findLastRecord(fd, size, file)
    const regionStart = last?.end ?? 0
    const regionLength = Math.max(0, size - regionStart - (endsWithNewline ? 1 : 0))
    const torn = regionLength > 0 ? tornOf(fd, regionStart, regionLength) : null
    // A last record whose newline was cut is complete: end it, don't set it aside.
    const needsNewline = (regionLength > 0 && !endsWithNewline) || last?.unterminated === true
    if (last === undefined) {
      if (torn === null) return { kind: 'empty' }
      return { kind: 'fresh', torn, needsNewline }
    }
    const { member } = last.parsed
    const recomputed = recordHashOfBytes(member.seq, member.prev, last.line, last.parsed.bodyEnd).toString('hex')
    if (recomputed !== member.hash) {
      throw new AuditChainError('PAC_TAIL_INVALID', `the last record of ${file} (seq ${member.seq}) does not match its hash: the file was modified. Refusing to continue the chain; run "audit-chain verify ${file}" and move the file aside`)
    }
    const ours = keys.get(member.kid)
    if (ours !== undefined && !verifyBytes(verifyKeyFromPublicKey(ours, 'writer'), Buffer.from(member.hash, 'hex'), member.sig)) {
      throw new AuditChainError('PAC_TAIL_INVALID', `the last record of ${file} (seq ${member.seq}) has a bad signature: it was forged. Refusing to continue the chain; run "audit-chain verify ${file}" and move the file aside`)
    }
    const start = readFileStart(fd, size)
    const chainId = typeof last.parsed.fields.chainId === 'string' ? last.parsed.fields.chainId : start.chainId
    if (chainId === undefined) {
      throw new AuditChainError('PAC_TAIL_INVALID', `${file} has records but no chain.open, chain.resume or file.open record near its start naming its chain; refusing to continue it`)
    }
    const first = start.firstSeq === undefined ? undefined : { seq: start.firstSeq, time: start.firstTime }
    return { kind: 'existing', chainId, last: { seq: member.seq, hash: member.hash, kid: member.kid, event: last.parsed.fields.event }, torn, needsNewline, first }
  } finally {
    closeSync(fd)
  }
}
