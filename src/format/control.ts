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

export interface ChainOpenBody {
  event: 'chain.open'
  chainId: string
  kid: string
  torn: TornLine | null
}

export interface ChainResumeBody {
  event: 'chain.resume'
  chainId: string
  kid: string
  /** The last record the writer found and checked before continuing. */
  after: { seq: number, hash: string }
  torn: TornLine | null
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
  reason: 'replaced'
}

const LEVEL_INFO = 30
const LEVEL_WARN = 40

function writer (): { pid: number, hostname: string } {
  return { pid: process.pid, hostname: hostname() }
}

export function chainOpenBody (chainId: string, kid: string, torn: TornLine | null, time = Date.now()): string {
  return JSON.stringify({ level: LEVEL_INFO, time, event: 'chain.open', chainId, kid, torn, ...writer(), msg: 'audit chain opened' })
}

export function chainResumeBody (chainId: string, kid: string, after: { seq: number, hash: string }, torn: TornLine | null, time = Date.now()): string {
  return JSON.stringify({ level: LEVEL_INFO, time, event: 'chain.resume', chainId, kid, after, torn, ...writer(), msg: 'audit chain resumed' })
}

/**
 * The first record of a new file of an existing chain. `replaced`: the file the
 * writer was appending to was deleted or moved away while it ran, so it continues
 * the chain in a new file at the same path (at warn level: someone touched the log).
 */
export function fileOpenBody (chainId: string, kid: string, file: string, previousFile: string | null, reason: FileOpenBody['reason'], time = Date.now()): string {
  return JSON.stringify({ level: LEVEL_WARN, time, event: 'file.open', chainId, kid, file, previousFile, reason, msg: 'audit file opened' })
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
