/**
 * Head files (FORMAT.md §6) as the verifier uses them: each valid head names a record
 * the log must still contain; the newest one a chain reaches anchors its records.
 * A head file may also hold many heads, one per line (heads shipped off the host
 * with `audit-chain head LOG >> heads.jsonl`): each is checked.
 */
import { readFileSync } from 'node:fs'
import { AuditChainError } from '../errors.js'
import { checkHead, type ChainHead } from '../format/head.js'
import type { VerifyKey } from '../format/keys.js'
import { isCanonicalSig } from './record-check.js'
import type { Emit } from './report.js'

/** A record with the watched seq that was read: the hash it claimed and where it is. */
export type FoundRecord = { hash: string, file: string, line: number } | undefined

/**
 * A valid retention.prune record that names a deleted file holding the watched seq
 * (FORMAT.md §5.5): `file` as it names it, `at` the prune record's `file:line`, and
 * `lastHash` when the watched seq is that file's last record (then the hashes must agree).
 */
export interface PrunedBy {
  file: string
  at: string
  lastHash?: string
}

/** What valid retention.prune records said about a watched record that is not in the log. */
export interface PruneNotes {
  /** A prune that accounts for the record: it was removed by retention, not by someone. */
  pruned?: PrunedBy
  /** A prune whose file ended at the watched seq with another hash than the watch names. */
  conflict?: PrunedBy
}

/** A valid head and what the log showed at its seq. */
export interface SignedHeadWatch {
  kind: 'head'
  path: string
  /** 1-based line of the head, in a file of many heads (one per line). */
  line?: number
  head: ChainHead
  found: FoundRecord
  prune?: PruneNotes
}

/**
 * A record an earlier run of the verifier checked (`--state`, src/verify/state.ts):
 * trusted without a signature, and reported by the state, not by {@link HeadBook.settle}.
 */
export interface RememberedWatch {
  kind: 'remembered'
  seq: number
  hash: string
  found: FoundRecord
  prune?: PruneNotes
}

/** A record the log must still contain; ChainState fills in `found` as it passes its seq. */
export type HeadWatch = SignedHeadWatch | RememberedWatch

/** The hash the watched record must have. */
export function watchedHash (w: HeadWatch): string {
  return w.kind === 'head' ? w.head.hash : w.hash
}

/**
 * True when a record that is not in the log was removed by retention, as a signed
 * retention.prune record says (FORMAT.md §7): one names a deleted file whose seqs cover
 * it (with the same hash when it was that file's last record), or the chain's start
 * is explained by one (`prunedBefore`, §5.5) and the record lies before that start —
 * retention deletes oldest first, and the prune records of the oldest files may
 * themselves have been deleted with later files.
 */
export function removedByRetention (w: HeadWatch, seq: number, prunedBefore: number | undefined): boolean {
  if (w.found !== undefined || w.prune?.conflict !== undefined) return false
  return w.prune?.pruned !== undefined || (prunedBefore !== undefined && seq < prunedBefore)
}

/** Why a watched record is not in the log, when a prune record names it with another hash. */
export function pruneConflictMessage (w: HeadWatch, seq: number): string | undefined {
  const c = w.prune?.conflict
  if (c === undefined || w.found !== undefined) return undefined
  return `the retention.prune record at ${c.at} says the deleted file ${c.file} ended at seq ${seq} with hash ${String(c.lastHash)}, not ${watchedHash(w)}: the history up to there was replaced before it was pruned`
}

export class HeadBook {
  private byChain = new Map<string, Map<number, HeadWatch[]>>()
  private usedChains = new Set<string>()

  /**
   * Read and check every head file. An unreadable head given explicitly is a usage
   * error (thrown); one that does not parse or verify is a `bad-head` problem. A file
   * that is not one JSON document but several lines is a file of heads, one per line
   * (blank lines skipped; a head repeated in it, as an idle log's is, counts once).
   */
  static load (paths: string[], keyring: ReadonlyMap<string, VerifyKey>, emit: Emit): HeadBook {
    const book = new HeadBook()
    for (const path of paths) {
      let text: string
      try {
        text = readFileSync(path, 'utf8')
      } catch (err) {
        throw new AuditChainError('PAC_INPUT', `head file ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
      }
      const lines = text.split('\n')
      if (lines.filter((l) => l.trim() !== '').length <= 1 || isJson(text)) {
        book.add(path, undefined, text, keyring, emit)
        continue
      }
      const seen = new Set<string>()
      lines.forEach((line, i) => {
        if (line.trim() === '' || seen.has(line)) return
        seen.add(line)
        book.add(path, i + 1, line, keyring, emit)
      })
    }
    return book
  }

  private add (path: string, line: number | undefined, text: string, keyring: ReadonlyMap<string, VerifyKey>, emit: Emit): void {
    const at = line === undefined ? {} : { line }
    const what = line === undefined ? 'the head file' : 'this head'
    const checked = checkHead(text, keyring)
    if (!checked.ok) {
      emit({ kind: 'bad-head', file: path, ...at, seq: checked.head?.seq, message: `${what} cannot be trusted (${checked.detail}); it is ignored` })
      return
    }
    const { head } = checked
    // As for records: only the one base64url spelling of the signature is the head as written.
    if (!isCanonicalSig(head.sig)) {
      emit({ kind: 'bad-head', file: path, ...at, seq: head.seq, message: `${what} cannot be trusted (its signature is not in the one base64url form the format allows: the file was altered); it is ignored` })
      return
    }
    this.watch(head.chainId, head.seq, { kind: 'head', path, ...at, head, found: undefined })
  }

  /** Watch for the record at `seq` of `chainId`. Before reading starts: ChainState looks watches up as it begins a chain. */
  watch (chainId: string, seq: number, w: HeadWatch): void {
    let bySeq = this.byChain.get(chainId)
    if (bySeq === undefined) this.byChain.set(chainId, bySeq = new Map())
    const watches = bySeq.get(seq) ?? []
    watches.push(w)
    bySeq.set(seq, watches)
  }

  /** The heads of one chain, by seq (empty when there are none). */
  forChain (chainId: string): ReadonlyMap<number, HeadWatch[]> {
    this.usedChains.add(chainId)
    return this.byChain.get(chainId) ?? new Map()
  }

  /**
   * At the end of a chain: report every head of it whose record the log does not
   * contain, and return the highest seq a matching head vouches for. A file of many
   * heads gives one finding (its lowest failing head) that counts the others.
   */
  settle (chainId: string, lastSeq: number, emit: Emit, prunedBefore?: number): number | undefined {
    let anchored: number | undefined
    const failing = new Map<string, Array<{ w: SignedHeadWatch, message: string }>>()
    for (const watches of this.byChain.get(chainId)?.values() ?? []) {
      for (const w of watches) {
        if (w.kind !== 'head') continue
        const { head } = w
        let message: string | undefined
        // Retention removed it, as a signed record says: the head was true when shipped.
        if (removedByRetention(w, head.seq, prunedBefore)) continue
        if (w.found === undefined) {
          message = pruneConflictMessage(w, head.seq) ?? (head.seq > lastSeq
            ? `the head file names seq ${head.seq} of chain ${chainId}, but the log ends at seq ${lastSeq}: records were removed from the end (or this log copy is older than the head)`
            : `the head file names seq ${head.seq} of chain ${chainId}, but no record with that seq is in the log, and no retention.prune record says retention deleted it: it was removed`)
        } else if (w.found.hash !== head.hash) {
          message = `the head file names seq ${head.seq} with hash ${head.hash}, but the record at that seq (${w.found.file}:${w.found.line}) has hash ${w.found.hash}: the log's history was replaced from there on`
        } else if (anchored === undefined || head.seq > anchored) {
          anchored = head.seq
        }
        if (message === undefined) continue
        const list = failing.get(w.path) ?? []
        list.push({ w, message })
        failing.set(w.path, list)
      }
    }
    for (const [path, list] of failing) {
      list.sort((a, b) => a.w.head.seq - b.w.head.seq)
      const { w, message } = list[0]
      const others = list.length - 1
      const more = others === 0 ? '' : ` (${others} more head${others === 1 ? '' : 's'} of this chain in the file, up to seq ${list[others].w.head.seq}, ${others === 1 ? 'fails' : 'fail'} too)`
      emit({ kind: 'head-mismatch', file: path, ...(w.line !== undefined ? { line: w.line } : {}), seq: w.head.seq, message: message + more })
    }
    return anchored
  }

  /** Heads whose chain never appeared in the input. */
  unmatched (emit: Emit): void {
    for (const [chainId, bySeq] of this.byChain) {
      if (this.usedChains.has(chainId)) continue
      // One finding per head file and chain: a file of many heads names a chain many times.
      const byPath = new Map<string, SignedHeadWatch[]>()
      for (const watches of bySeq.values()) {
        for (const w of watches) {
          if (w.kind !== 'head') continue
          const list = byPath.get(w.path) ?? []
          list.push(w)
          byPath.set(w.path, list)
        }
      }
      for (const [path, list] of byPath) {
        const w = list[0]
        const more = list.length === 1 ? '' : ` (${list.length} heads of it in the file)`
        emit({ kind: 'head-mismatch', file: path, ...(w.line !== undefined ? { line: w.line } : {}), seq: w.head.seq, message: `the head file names chain ${chainId}${more}, but no chain with that id is in the input: its log files are missing (or the wrong files were given)` })
      }
    }
  }
}

function isJson (text: string): boolean {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}
