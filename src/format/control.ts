/**
 * Bodies of the transport's own records (FORMAT.md §5). They look like pino lines
 * (level 30, epoch-ms time, msg) so pino-pretty and log shippers show them as usual.
 */
import { hostname } from 'node:os'

/** A torn, incomplete last line set aside by a restarted writer. */
export interface TornLine {
  /** Byte offset of the torn line's first byte in its file. */
  offset: number
  /** Its length in bytes (the writer then ended it with a `\n`, not counted here). */
  length: number
  /** Lowercase hex SHA-256 of exactly those bytes. */
  sha256: string
}

/**
 * What a starting writer found when it compared the log with its own signed head
 * file (FORMAT.md §5.7): the log is shorter than the head says, ends in another
 * record at the head's seq, continues another chain, or the head file is not one the
 * writer signed. Carried by the writer's first record, so the verifier reports it.
 */
export interface Truncation {
  reason: 'shorter' | 'differs' | 'other-chain' | 'head-invalid'
  /** The head file's record; null when the head file is not valid. */
  head: { chainId: string, seq: number, hash: string, time: string, kid: string } | null
  /** The last record the writer found, or null when it found none. */
  found: { chainId: string, seq: number, hash: string } | null
  /** With `head-invalid`: what is wrong with the head file. */
  detail?: string
}

export interface ChainOpenBody {
  event: 'chain.open'
  chainId: string
  kid: string
  torn: TornLine | null
  truncated?: Truncation
}

export interface ChainResumeBody {
  event: 'chain.resume'
  chainId: string
  kid: string
  /** The last record the writer found and checked before continuing. */
  after: { seq: number, hash: string }
  torn: TornLine | null
  truncated?: Truncation
}

export interface ChainCloseBody {
  event: 'chain.close'
  chainId: string
  /** Records this writer wrote, counting its chain.open/chain.resume and this seal. */
  records: number
}

export interface FileOpenBody {
  event: 'file.open'
  chainId: string
  kid: string
  /** This file's name when the writer opened it (its base name, e.g. "audit.log"). */
  file: string
  /** The previous file's name, or null when the writer cannot know it (see `reason`). */
  previousFile: string | null
  /** Why the chain continues in a new file. */
  reason: 'rotation' | 'replaced'
}

/** A rotated file of the chain, as a retention.prune record names it. */
export interface PrunedFile {
  /** Its base name. */
  file: string
  /** Seq of its first and last record. */
  firstSeq: number
  lastSeq: number
  /** H of its last record: the next file's first record links to it. */
  lastHash: string
}

export interface RetentionPruneBody {
  event: 'retention.prune'
  chainId: string
  /** The files this pass deletes, oldest first; empty when it only reports failures. */
  files: PrunedFile[]
  /** Files it could not delete (or read), with the error code. */
  failed: Array<{ file: string, code: string }>
}

const LEVEL_INFO = 30
const LEVEL_WARN = 40

function writer (): { pid: number, hostname: string } {
  return { pid: process.pid, hostname: hostname() }
}

/**
 * `pipeline: true` marks a chain written by the pipeline stage: it has no file to
 * continue, so each run starts a chain of its own, and its destination may hold
 * several such chains one after another (a verifier accepts that only for them).
 */
export function chainOpenBody (chainId: string, kid: string, torn: TornLine | null, time = Date.now(), options: { pipeline?: boolean, truncated?: Truncation } = {}): string {
  const pipeline = options.pipeline === true ? { pipeline: true } : {}
  const level = options.truncated !== undefined ? LEVEL_WARN : LEVEL_INFO
  return JSON.stringify({ level, time, event: 'chain.open', chainId, kid, torn, ...pipeline, ...truncatedMember(options.truncated), ...writer(), msg: 'audit chain opened' })
}

export function chainResumeBody (chainId: string, kid: string, after: { seq: number, hash: string }, torn: TornLine | null, time = Date.now(), truncated?: Truncation): string {
  const level = truncated !== undefined ? LEVEL_WARN : LEVEL_INFO
  return JSON.stringify({ level, time, event: 'chain.resume', chainId, kid, after, torn, ...truncatedMember(truncated), ...writer(), msg: 'audit chain resumed' })
}

// Only present when there is something to say, so an ordinary open/resume keeps its bytes.
function truncatedMember (truncated: Truncation | undefined): { truncated?: Truncation } {
  if (truncated === undefined) return {}
  const { reason, head, found, detail } = truncated
  return { truncated: { reason, head, found, ...(detail !== undefined ? { detail } : {}) } }
}

/**
 * The first record of a new file of an existing chain. `rotation`: the previous file
 * was full (size or age) and renamed to `previousFile`. `replaced`: the file the
 * writer was appending to was deleted or moved away while it ran, so it continues
 * the chain in a new file at the same path (at warn level: someone touched the log).
 */
export function fileOpenBody (chainId: string, kid: string, file: string, previousFile: string | null, reason: FileOpenBody['reason'], time = Date.now()): string {
  const level = reason === 'replaced' ? LEVEL_WARN : LEVEL_INFO
  return JSON.stringify({ level, time, event: 'file.open', chainId, kid, file, previousFile, reason, msg: 'audit file opened' })
}

/**
 * Written before retention deletes `files` (so a crash between the two leaves a
 * record naming a file that is still there, never a deletion nobody recorded), and
 * again, with `files` empty, for deletions that failed (warn level).
 */
export function retentionPruneBody (chainId: string, files: PrunedFile[], failed: Array<{ file: string, code: string }>, time = Date.now()): string {
  const level = failed.length > 0 ? LEVEL_WARN : LEVEL_INFO
  const msg = failed.length > 0 ? 'audit files could not be pruned' : 'audit files pruned'
  return JSON.stringify({ level, time, event: 'retention.prune', chainId, files, failed, msg })
}

export function isPrunedFile (value: unknown): value is PrunedFile {
  if (value === null || typeof value !== 'object') return false
  const f = value as Record<string, unknown>
  return typeof f.file === 'string' && Number.isSafeInteger(f.firstSeq) && Number.isSafeInteger(f.lastSeq) &&
    (f.firstSeq as number) >= 0 && (f.lastSeq as number) >= (f.firstSeq as number) &&
    typeof f.lastHash === 'string' && /^[0-9a-f]{64}$/.test(f.lastHash)
}

export interface EpochCloseBody {
  event: 'epoch.close'
  chainId: string
  /** The ending epoch's number in its series, and its key id (the record is signed with that key). */
  epoch: number
  kid: string
  /** Records this writer signed with the epoch's key before this one (0 when it signed none). */
  records: number
  /** Seq of the last of them, or null when `records` is 0. */
  lastSeq: number | null
}

/**
 * The last record signed with an epoch's key, written once the epoch has ended (at
 * its end, or at the next start when the writer was not running then). After it is on
 * disk the key is erased, so nobody can add to or rewrite the epoch afterwards.
 */
export function epochCloseBody (chainId: string, epoch: number, kid: string, records: number, lastSeq: number | null, time = Date.now()): string {
  return JSON.stringify({ level: LEVEL_INFO, time, event: 'epoch.close', chainId, epoch, kid, records, lastSeq, msg: 'audit epoch closed' })
}

export function chainCloseBody (chainId: string, records: number, time = Date.now()): string {
  return JSON.stringify({ level: LEVEL_INFO, time, event: 'chain.close', chainId, records, msg: 'audit chain sealed' })
}

export function isTornLine (value: unknown): value is TornLine {
  if (value === null || typeof value !== 'object') return false
  const t = value as Record<string, unknown>
  return Number.isSafeInteger(t.offset) && (t.offset as number) >= 0 &&
    Number.isSafeInteger(t.length) && (t.length as number) > 0 &&
    typeof t.sha256 === 'string' && /^[0-9a-f]{64}$/.test(t.sha256)
}
