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

const LEVEL_INFO = 30

function writer (): { pid: number, hostname: string } {
  return { pid: process.pid, hostname: hostname() }
}

export function chainOpenBody (chainId: string, kid: string, torn: TornLine | null, time = Date.now()): string {
  return JSON.stringify({ level: LEVEL_INFO, time, event: 'chain.open', chainId, kid, torn, ...writer(), msg: 'audit chain opened' })
}

export function chainResumeBody (chainId: string, kid: string, after: { seq: number, hash: string }, torn: TornLine | null, time = Date.now()): string {
  return JSON.stringify({ level: LEVEL_INFO, time, event: 'chain.resume', chainId, kid, after, torn, ...writer(), msg: 'audit chain resumed' })
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
