/**
 * A starting writer compares what it found on disk with its own signed head file
 * (FORMAT.md §5.7). The head names the last record the writer had on disk when it
 * last wrote it: a log that now ends before that record, or in another record or
 * chain, lost records while the writer was not looking. The writer does not refuse
 * to start over it (an audit log that stops logging helps nobody) and does not
 * smooth it over: its first record says what is missing, signed, for verify to report.
 */
import type { KeyObject } from 'node:crypto'
import { hasCode } from '../errors.js'
import { checkHead, readHeadFile } from '../format/head.js'
import { verifyKeyFromPublicKey, type VerifyKey } from '../format/keys.js'
import type { Truncation } from '../format/control.js'
import type { ChainTail } from './tail.js'

/** What is wrong with the log against the head file at `headFile`, or undefined when nothing is (or there is no head file). */
export function checkAgainstHead (headFile: string | undefined, tail: ChainTail, keys: ReadonlyMap<string, KeyObject>): Truncation | undefined {
  if (headFile === undefined) return undefined
  let text: string
  try {
    text = readHeadFile(headFile)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return undefined
    // A symlink or another user's file at the head's name: refused with how to fix it, like the log's own.
    if (hasCode(err, 'PAC_INSECURE')) throw err
    return { reason: 'head-invalid', head: null, found: foundOf(tail), detail: `the head file ${headFile} cannot be read (${code ?? (err as Error).message})` }
  }
  const verifyKeys = new Map<string, VerifyKey>([...keys].map(([kid, key]) => [kid, verifyKeyFromPublicKey(key, 'writer')]))
  const checked = checkHead(text, verifyKeys)
  const found = foundOf(tail)
  if (!checked.ok) return { reason: 'head-invalid', head: null, found, detail: `the head file ${headFile}: ${checked.detail}` }
  const { chainId, seq, hash, time, kid } = checked.head
  const head = { chainId, seq, hash, time, kid }
  if (found === null || found.chainId !== chainId) return { reason: 'other-chain', head, found }
  if (found.seq < seq) return { reason: 'shorter', head, found }
  if (found.seq === seq && found.hash !== hash) return { reason: 'differs', head, found }
  return undefined
}

function foundOf (tail: ChainTail): Truncation['found'] {
  return tail.kind === 'existing' ? { chainId: tail.chainId, seq: tail.last.seq, hash: tail.last.hash } : null
}

/** One line for the app's warning. */
export function truncationMessage (t: Truncation, destination: string): string {
  const end = t.found === null ? 'holds no record of it' : `ends at seq ${t.found.seq}${t.found.chainId !== t.head?.chainId ? ` of chain ${t.found.chainId}` : ''}`
  const what = t.head === null
    ? `${t.detail ?? 'the head file is not valid'}; it was not written by this writer's key, so the log cannot be checked against it`
    : t.reason === 'differs'
      ? `the head file names seq ${t.head.seq} with hash ${t.head.hash.slice(0, 12)}…, but the log's record at that seq differs`
      : `the head file names seq ${t.head.seq} of chain ${t.head.chainId}, but the log at ${destination} ${end}: records were cut or the log replaced`
  return `${what}. The chain continues; its first new record states what is missing, and "audit-chain verify" reports it as a problem`
}
