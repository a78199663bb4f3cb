/**
 * Head files (FORMAT.md §6) as the verifier uses them: each valid head names a record
 * the log must still contain; the newest one a chain reaches anchors its records.
 */
import { readFileSync } from 'node:fs'
import { AuditChainError } from '../errors.js'
import { checkHead, type ChainHead } from '../format/head.js'
import type { VerifyKey } from '../format/keys.js'
import { isCanonicalSig } from './record-check.js'
import type { Finding } from './report.js'

/** A valid head and what the log showed at its seq. */
export interface HeadWatch {
  path: string
  head: ChainHead
  /** `seen`: a record with the head's seq was read; `hash` is what it claimed. */
  found: { hash: string, file: string, line: number } | undefined
}

type Emit = (f: Omit<Finding, 'severity'>) => void

export class HeadBook {
  private byChain = new Map<string, Map<number, HeadWatch[]>>()
  private usedChains = new Set<string>()

  /**
   * Read and check every head file. An unreadable head given explicitly is a usage
   * error (thrown); one that does not parse or verify is a `bad-head` problem.
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
      const checked = checkHead(text, keyring)
      if (!checked.ok) {
        emit({ kind: 'bad-head', file: path, seq: checked.head?.seq, message: `the head file cannot be trusted (${checked.detail}); it is ignored` })
        continue
      }
      const { head } = checked
      // As for records: only the one base64url spelling of the signature is the head as written.
      if (!isCanonicalSig(head.sig)) {
        emit({ kind: 'bad-head', file: path, seq: head.seq, message: 'the head file cannot be trusted (its signature is not in the one base64url form the format allows: the file was altered); it is ignored' })
        continue
      }
      let bySeq = book.byChain.get(head.chainId)
      if (bySeq === undefined) book.byChain.set(head.chainId, bySeq = new Map())
      const watches = bySeq.get(head.seq) ?? []
      watches.push({ path, head, found: undefined })
      bySeq.set(head.seq, watches)
    }
    return book
  }

  /** The heads of one chain, by seq (empty when there are none). */
  forChain (chainId: string): ReadonlyMap<number, HeadWatch[]> {
    this.usedChains.add(chainId)
    return this.byChain.get(chainId) ?? new Map()
  }

  /**
   * At the end of a chain: report every head of it whose record the log does not
   * contain, and return the highest seq a matching head vouches for.
   */
  settle (chainId: string, lastSeq: number, emit: Emit): number | undefined {
    let anchored: number | undefined
    for (const watches of this.byChain.get(chainId)?.values() ?? []) {
      for (const w of watches) {
        const { head } = w
        if (w.found === undefined) {
          emit({
            kind: 'head-mismatch',
            file: w.path,
            seq: head.seq,
            message: head.seq > lastSeq
              ? `the head file names seq ${head.seq} of chain ${chainId}, but the log ends at seq ${lastSeq}: records were removed from the end (or this log copy is older than the head)`
              : `the head file names seq ${head.seq} of chain ${chainId}, but no record with that seq is in the log: it was removed`
          })
        } else if (w.found.hash !== head.hash) {
          emit({
            kind: 'head-mismatch',
            file: w.path,
            seq: head.seq,
            message: `the head file names seq ${head.seq} with hash ${head.hash}, but the record at that seq (${w.found.file}:${w.found.line}) has hash ${w.found.hash}: the log's history was replaced from there on`
          })
        } else if (anchored === undefined || head.seq > anchored) {
          anchored = head.seq
        }
      }
    }
    return anchored
  }

  /** Heads whose chain never appeared in the input. */
  unmatched (emit: Emit): void {
    for (const [chainId, bySeq] of this.byChain) {
      if (this.usedChains.has(chainId)) continue
      for (const watches of bySeq.values()) {
        for (const w of watches) {
          emit({ kind: 'head-mismatch', file: w.path, seq: w.head.seq, message: `the head file names chain ${chainId}, but no chain with that id is in the input: its log files are missing (or the wrong files were given)` })
        }
      }
    }
  }
}
