/**
 * Which rotated files provably belong to this writer's chain. Retention names a file
 * in a signed retention.prune record only after this module has tied it, by hashes and
 * signatures, to the first record of the current file: a file planted in the
 * directory, however it is named and whatever its lines claim, is never vouched for.
 */
import { constants, createReadStream, openSync } from 'node:fs'
import { createHash, type KeyObject } from 'node:crypto'
import { basename } from 'node:path'
import { isCompleteJson, parseRecordLine, recordHashOfBytes, type ParsedRecord } from '../format/record.js'
import { isTornLine } from '../format/control.js'
import { finiteTime } from '../format/control-time.js'
import { MAX_LINE_BYTES } from '../format/limits.js'
import { forEachLine, READ_CHUNK_BYTES, type InputLine } from '../verify/lines.js'
import { listRotated } from './rotation.js'
import { readFileEnds, recordFault } from './tail.js'

/** A rotated file linked to the chain: what a retention.prune record may say of it. */
export interface ProvenFile {
  path: string
  firstSeq: number
  lastSeq: number
  lastHash: string
  /** `time` of the next file's first record (signed): when this file was closed. */
  closedAt: number | undefined
}

/** A rotated-looking file retention will not touch, and why (reported, never pruned). */
export interface UnprovenFile { path: string, code: string, reason: string }

export interface ChainFiles {
  /** The chain's rotated files from the newest back to the oldest still linked, oldest first. */
  proven: ProvenFile[]
  /** Files named like this chain's rotated files that could not be linked to it. */
  unproven: UnprovenFile[]
}

interface FileRecord { line: Buffer, parsed: ParsedRecord }

// A file's first record as the link to the file before it.
interface Link { seq: number, prev: string, time: number | undefined, previousFile: string | null }

const linkOf = (r: FileRecord): Link => {
  const time = r.parsed.fields.time
  const previousFile = r.parsed.fields.previousFile
  return {
    seq: r.parsed.member.seq,
    prev: r.parsed.member.prev,
    time: finiteTime(time),
    previousFile: typeof previousFile === 'string' ? previousFile : null
  }
}

export const codeOf = (err: unknown): string => (err as NodeJS.ErrnoException).code ?? (err as Error).message ?? 'error'

/**
 * Walk back from the current file's first record (`destination`) through the rotated
 * files of chain `chainId`: each step takes the one file whose last record is the
 * record the step before links to (its seq and hash), made with one of `keys`, and
 * whose first record is ours too. What cannot be reached that way is unproven.
 * Read errors (ENOENT, EISDIR, EACCES…) are unproven with the error's code.
 */
export function chainFiles (destination: string, chainId: string, keys: ReadonlyMap<string, KeyObject>): ChainFiles {
  const unproven: UnprovenFile[] = []
  const candidates: Array<{ path: string, first: FileRecord, last: FileRecord }> = []
  for (const path of listRotated(destination)) {
    try {
      const ends = readFileEnds(path)
      if (ends.chainId !== undefined && ends.chainId !== chainId) continue // another chain's: not ours to judge
      if (ends.first === undefined || ends.last === undefined || ends.chainId === undefined) {
        unproven.push({ path, code: 'UNPROVEN', reason: 'it holds no record naming a chain' })
        continue
      }
      candidates.push({ path, first: ends.first, last: ends.last })
    } catch (err) {
      unproven.push({ path, code: codeOf(err), reason: `it cannot be read (${codeOf(err)})` })
    }
  }

  const proven: ProvenFile[] = []
  let anchor: Link | undefined
  try {
    const current = readFileEnds(destination).first
    if (current !== undefined && recordFault(current.line, current.parsed, keys, true) === undefined) anchor = linkOf(current)
  } catch {}
  while (anchor !== undefined && anchor.seq > 0) {
    const { seq, prev, previousFile } = anchor
    const matches = candidates.filter((c) => c.last.parsed.member.seq === seq - 1 && c.last.parsed.member.hash === prev)
    // Copies of one file match alike; the name the link gives decides, else the first.
    const found = matches.find((c) => basename(c.path) === previousFile) ?? matches[0]
    if (found === undefined) break
    const fault = recordFault(found.last.line, found.last.parsed, keys, true) ?? recordFault(found.first.line, found.first.parsed, keys, true)
    candidates.splice(candidates.indexOf(found), 1)
    if (fault !== undefined) {
      unproven.push({ path: found.path, code: 'UNPROVEN', reason: `a record at its end ${fault}` })
      break
    }
    proven.push({ path: found.path, firstSeq: found.first.parsed.member.seq, lastSeq: seq - 1, lastHash: prev, closedAt: anchor.time })
    anchor = linkOf(found.first)
  }
  for (const c of candidates) unproven.push({ path: c.path, code: 'UNPROVEN', reason: 'it does not link to the files this chain continues in' })
  return { proven: proven.reverse(), unproven }
}

/**
 * Check every line of a rotated file before it is deleted: each record's hash, each
 * record linked to the one before (seq + 1, prev = its hash), from `file.firstSeq` to
 * its last record, which must be the one the next file links to. Signatures need not
 * be checked one by one: the last record's hash is tied to a record we signed (the
 * next file's first), and each hash covers the prev before it. The only line allowed
 * to be no record is a torn line a chain.resume right after it describes. Returns
 * why the file fails, or undefined.
 */
export async function checkFileLinks (file: ProvenFile): Promise<string | undefined> {
  let fd: number
  try {
    fd = openSync(file.path, constants.O_RDONLY | constants.O_NOFOLLOW)
  } catch (err) {
    return `it cannot be read (${codeOf(err)})`
  }
  let last: { seq: number, hash: string } | undefined
  let held: { offset: number, length: number, sha256: string } | undefined
  let fault: string | undefined
  const onLine = ({ number, offset, length, bytes, terminated }: InputLine): boolean => {
    const parsed = bytes === undefined ? undefined : parseRecordLine(bytes)
    if (bytes === undefined || parsed === undefined || !parsed.ok || !terminated) {
      if (held !== undefined || bytes === undefined || !terminated || isCompleteJson(bytes)) { fault = `line ${held !== undefined ? number - 1 : number} is not a complete record`; return false }
      held = { offset, length, sha256: createHash('sha256').update(bytes).digest('hex') }
      return true
    }
    const { member } = parsed
    if (recordHashOfBytes(member.seq, member.prev, bytes, parsed.bodyEnd).toString('hex') !== member.hash) { fault = `the record at line ${number} (seq ${member.seq}) does not match its hash`; return false }
    const expected = last === undefined ? { seq: file.firstSeq } : { seq: last.seq + 1, prev: last.hash }
    if (member.seq !== expected.seq || (expected.prev !== undefined && member.prev !== expected.prev)) { fault = `the record at line ${number} (seq ${member.seq}) does not link to the record before it`; return false }
    if (held !== undefined) {
      const torn = parsed.fields.torn
      const explained = parsed.fields.event === 'chain.resume' && isTornLine(torn) && torn.offset === held.offset && torn.length === held.length && torn.sha256 === held.sha256
      if (!explained) { fault = `line ${number - 1} is not a record`; return false }
      held = undefined
    }
    last = { seq: member.seq, hash: member.hash }
    return true
  }
  try {
    // The verifier's own line reader: one line held at a time, a too-long one skipped.
    await forEachLine(createReadStream('', { fd, highWaterMark: READ_CHUNK_BYTES }), MAX_LINE_BYTES, onLine)
  } catch (err) {
    return `it cannot be read (${codeOf(err)})`
  }
  if (fault !== undefined) return fault
  if (held !== undefined) return 'its last line is not a complete record'
  if (last === undefined || last.seq !== file.lastSeq || last.hash !== file.lastHash) return 'its last record is not the one the next file links to'
  return undefined
}
