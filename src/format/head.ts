/**
 * The head (anchor) file (FORMAT.md §6): a small signed JSON document naming the
 * last record of a chain, replaced atomically so a reader never sees half of one.
 */
import { closeSync, constants, readFileSync } from 'node:fs'
import { AuditChainError } from '../errors.js'
import { openNoFollow, replaceFile } from '../transport/safe-fs.js'
import { signBytes, verifyBytes, type SigningKey, type VerifyKey } from './keys.js'

export interface ChainHead {
  v: 1
  chainId: string
  seq: number
  hash: string
  /** ISO 8601 UTC time the head was written, e.g. 2026-11-26T20:00:00.000Z. */
  time: string
  kid: string
  sig: string
}

/** The exact signed bytes: UTF-8 of `pac1-head|chainId|seq|hash|time|kid`. */
export function headMessage (h: Omit<ChainHead, 'sig' | 'v'>): Buffer {
  return Buffer.from(`pac1-head|${h.chainId}|${h.seq}|${h.hash}|${h.time}|${h.kid}`, 'utf8')
}

export function signHead (key: SigningKey, chainId: string, seq: number, hash: string, time = new Date()): ChainHead {
  const unsigned = { chainId, seq, hash, time: time.toISOString(), kid: key.kid }
  return { v: 1, ...unsigned, sig: signBytes(key, headMessage(unsigned)) }
}

export type HeadCheck =
  | { ok: true, head: ChainHead }
  | { ok: false, reason: 'json' | 'form' | 'unknown-key' | 'bad-signature', detail: string, head?: ChainHead }

export function parseHead (text: string): HeadCheck {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    return { ok: false, reason: 'json', detail: `head file is not JSON (${(err as Error).message})` }
  }
  const h = value as Partial<ChainHead> | null
  if (h === null || typeof h !== 'object' || h.v !== 1 ||
    typeof h.chainId !== 'string' || !/^[0-9a-f]{32}$/.test(h.chainId) ||
    !Number.isSafeInteger(h.seq) || (h.seq as number) < 0 ||
    typeof h.hash !== 'string' || !/^[0-9a-f]{64}$/.test(h.hash) ||
    typeof h.time !== 'string' || typeof h.kid !== 'string' || !/^[0-9a-f]{16}$/.test(h.kid) ||
    typeof h.sig !== 'string') {
    return { ok: false, reason: 'form', detail: 'head file does not have the v1 head form' }
  }
  return { ok: true, head: h as ChainHead }
}

/** Parse and check a head against the verifier's keyring. */
export function checkHead (text: string, keys: ReadonlyMap<string, VerifyKey>): HeadCheck {
  const parsed = parseHead(text)
  if (!parsed.ok) return parsed
  const head = parsed.head
  const key = keys.get(head.kid)
  if (key === undefined) return { ok: false, reason: 'unknown-key', detail: `head is signed by key ${head.kid}, which is not in the keyring`, head }
  if (!verifyBytes(key, headMessage(head), head.sig)) return { ok: false, reason: 'bad-signature', detail: 'head signature does not verify', head }
  return parsed
}

export function headText (head: ChainHead): string {
  return JSON.stringify(head) + '\n'
}

const HEAD_FILE_MODE = 0o640

/**
 * Replace `path` atomically: write a temporary file beside it, fsync, rename, then
 * fsync the directory so the rename itself survives a power cut. The temporary name
 * is unpredictable and created with O_EXCL|O_NOFOLLOW, so nobody can have planted a
 * file or symlink there first; rename(2) replaces a symlink at `path` itself rather
 * than writing through it.
 */
export function writeHeadFile (path: string, head: ChainHead): void {
  try {
    replaceFile(path, headText(head), HEAD_FILE_MODE, 'head file')
  } catch (err) {
    if (err instanceof AuditChainError) throw err
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message
    throw new AuditChainError('PAC_DESTINATION', `cannot write the head file ${path} (${code})${code === 'ENOENT' ? ': its directory is gone' : ''}`, { cause: err })
  }
}

/**
 * The writer's own head file, as text. Refuses (PAC_INSECURE) a symlink, or a file
 * owned by another user: a head planted there is not the writer's to trust. Throws
 * the plain ENOENT error when there is none.
 */
export function readHeadFile (path: string): string {
  const fd = openNoFollow(path, constants.O_RDONLY, 0, 'head file')
  try {
    return readFileSync(fd, 'utf8')
  } finally {
    closeSync(fd)
  }
}
