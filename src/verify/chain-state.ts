/**
 * The per-chain state machine of FORMAT.md §7: given the records of one chain in
 * reading order, each already checked on its own (§4), decide how it sits in the
 * sequence. Memory is bounded by the window, not by the number of records.
 */
import type { ChainMember } from '../format/record.js'
import { isPrunedFile } from '../format/control.js'
import type { EpochCert } from '../format/epoch.js'
import { EpochRules } from './epoch-rules.js'
import type { Emit, FindingKind, ChainSummary } from './report.js'
import type { HeadBook, HeadWatch } from './heads.js'
import { watchedHash } from './heads.js'
import { truncationMessage } from './truncation.js'
import { dateTime } from '../format/control-time.js'

/**
 * How far back (in seqs) the verifier remembers records: swapped lines and
 * duplicates within this distance are recognised as such; a gap still open when it
 * falls out of the window is reported as missing. 4096 seqs × ~200 bytes is < 1 MB.
 */
export const DEFAULT_WINDOW = 4096

/** One record line, as the chain sees it. */
export interface ChainRecord {
  file: string
  line: number
  member: ChainMember
  fields: Record<string, unknown>
  /** True when the record failed §4 (modified, unknown key, bad signature); already reported. */
  failed: boolean
  /** The certificate of the epoch key that signed it (FORMAT.md §10), when it passed §4 with one. */
  epoch?: EpochCert
  /** The line's bytes (a copy), kept only when the records are read back (readAuditLog). */
  bytes?: Buffer
  /** Its index in a merged stream (src/verify/demux.ts), which tells a redelivery from a copy. */
  at?: number
}

/** What the chain remembers of a record in its window. */
export interface Slot {
  hash: string
  prev: string
  failed: boolean
  file: string
  line: number
  kid: string
  /** ChainRecord.at, or -1. */
  at: number
}

/**
 * How far a record can be trusted (readAuditLog): `intact` when it passed §4 and
 * every record from the chain's start up to it did too and linked, with no finding;
 * `unlinked` when it is authentic but something before it is missing or altered;
 * `invalid` when it fails its own hash, signature or key window.
 */
export type RecordStatus = 'intact' | 'unlinked' | 'invalid'

/** Told the status of each record as the chain places it. */
export type PlacedHook = (r: ChainRecord, status: RecordStatus) => void

export interface LinkOptions {
  onPlaced: PlacedHook
  /**
   * The seq a chain read from past seq 0 may start at: a first pass found the
   * retention.prune record that explains it (it comes later in the chain than the
   * records it vouches for). This pass still checks it, and reports if it is gone.
   */
  trustedStart?: number
}

/** Seqs `from … to` (inclusive) not seen yet, noticed at `file:line`. */
interface Gap {
  from: number
  to: number
  file: string
  line: number
  /** The file the record after the gap says came before it (a rotation's file.open). */
  previousFile?: string
}

interface DuplicateRun {
  file: string
  fromLine: number
  toLine: number
  fromSeq: number
  toSeq: number
  count: number
  /** `file:line` of the first record it repeats. */
  original: string
}

/** A chain whose first record has seq > 0, until a retention.prune record explains it. */
interface LateStart {
  seq: number
  prev: string
  file: string
  line: number
  previousFile?: string
}

/** `previousFile` of a validly signed file.open record, if it names one. */
function previousFileOf (fields: Record<string, unknown>): string | undefined {
  return eventOf(fields) === 'file.open' && typeof fields.previousFile === 'string' ? fields.previousFile : undefined
}

function eventOf (fields: Record<string, unknown>): string | undefined {
  return typeof fields.event === 'string' ? fields.event : undefined
}

/** Index of the first element of ascending `sorted` that is ≥ `value`. */
function lowerBound (sorted: number[], value: number): number {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (sorted[mid] < value) lo = mid + 1
    else hi = mid
  }
  return lo
}

function range (from: number, to: number): string {
  return from === to ? `seq ${from}` : `seqs ${from}–${to} (${to - from + 1} records)`
}

export class ChainState {
  chainId: string | null
  private firstSeq = -1
  private lastSeq = -1
  private records = 0
  private files: string[] = []
  private window = new Map<number, Slot>()
  private gaps: Gap[] = []
  /** The accepted chain.close the chain currently ends with. */
  private seal: { seq: number, hash: string, file: string, line: number } | null = null
  /** Seq of the current writer's chain.open / chain.resume. */
  private writerStart: number | undefined
  private firstTime: number | undefined
  private lastTime: number | undefined
  private heads: ReadonlyMap<number, HeadWatch[]> = new Map()
  /** The seqs of `heads`, ascending, built when a prune record first needs them. */
  private watchedSeqs: number[] | undefined
  private lateStart: LateStart | undefined
  /** Consecutive duplicated lines, reported as one finding (a copied file is one finding, not thousands). */
  private duplicates: DuplicateRun | undefined
  /** Set when a retention.prune record explains why the chain starts past seq 0. */
  private prunedBefore: number | undefined
  private readonly epochs: EpochRules
  /** Kinds of the findings made while the record being placed was placed. */
  private placing: FindingKind[] | undefined
  /** True once a record was placed as the chain's newest right after the one before (or as its first). */
  private extended = false
  /** Set at the first record that is not intact: every later one is at best unlinked. */
  private linkBroken = false
  private startKnown = false

  constructor (
    chainId: string | null,
    private readonly out: Emit,
    private readonly headBook: HeadBook,
    private readonly windowSize = DEFAULT_WINDOW,
    private readonly link?: LinkOptions
  ) {
    this.chainId = chainId
    if (chainId !== null) this.heads = headBook.forChain(chainId)
    this.epochs = new EpochRules(this.emit)
  }

  get hasRecords (): boolean { return this.records > 0 }

  /** Name the chain once a record tells its id (standard input, or a file without its opening record). */
  learnId (chainId: string): void {
    if (this.chainId !== null) return
    this.chainId = chainId
    this.heads = this.headBook.forChain(chainId)
    this.watchedSeqs = undefined
  }

  /** Seq of the first record placed (-1 before any): where a fragment of a merged stream starts. */
  get firstSeqRead (): number { return this.firstSeq }
  /** The record at `seq`, while it is in the window. */
  recordAt (seq: number): Slot | undefined { return this.window.get(seq) }
  /** Seq and hash of the newest record placed. */
  get lastSeqRead (): number { return this.lastSeq }
  get lastHashRead (): string | undefined { return this.window.get(this.lastSeq)?.hash }

  /**
   * The chain's start was reported already (a fragment of a merged stream whose
   * predecessor did not arrive, src/verify/demux.ts): no `missing-start` at the end.
   */
  startReported (): void {
    this.lateStart = undefined
    this.startKnown = true
  }

  /** True when the chain ends with a seal right now. */
  get isSealed (): boolean { return this.seal !== null }
  get sealSeq (): number | undefined { return this.seal?.seq }

  noteFile (file: string): void {
    if (this.files.at(-1) !== file) this.files.push(file)
  }

  /** Every finding goes out through here, after the duplicate run it interrupts. */
  private readonly emit: Emit = (f): void => {
    this.flushDuplicates()
    this.placing?.push(f.kind)
    this.out(f)
  }

  private flushDuplicates (): void {
    const run = this.duplicates
    if (run === undefined) return
    this.duplicates = undefined
    const message = run.count === 1
      ? `the record repeats seq ${run.fromSeq} already read at ${run.original} (same hash): the line was duplicated`
      : `lines ${run.fromLine}–${run.toLine} repeat ${range(run.fromSeq, run.toSeq)} already read from ${run.original} on (same hashes): the lines were duplicated, or the file is a copy of one already read`
    this.out({ kind: 'duplicate', file: run.file, line: run.fromLine, seq: run.fromSeq, message })
  }

  /** Place one record in the chain (and tell its status, when asked to). */
  add (r: ChainRecord): void {
    if (this.link === undefined) {
      this.place(r)
      return
    }
    const first = this.records === 0
    const kinds: FindingKind[] = []
    this.placing = kinds
    this.extended = false
    try {
      this.place(r)
    } finally {
      this.placing = undefined
    }
    this.link.onPlaced(r, this.linkStatus(r, first, kinds))
  }

  /**
   * The record's status from what placing it found. A chain that starts past seq 0 is
   * intact from its start only where a retention.prune record explains that start.
   */
  private linkStatus (r: ChainRecord, first: boolean, kinds: FindingKind[]): RecordStatus {
    const { seq } = r.member
    if (r.failed || kinds.includes('out-of-window')) {
      this.linkBroken = true
      return 'invalid'
    }
    const start = first && (seq === 0 || seq === this.link?.trustedStart)
    const linked = !this.linkBroken && kinds.length === 0 && this.extended && (start || !first)
    if (!linked) this.linkBroken = true
    return linked ? 'intact' : 'unlinked'
  }

  private place (r: ChainRecord): void {
    const run = this.duplicates
    if (run !== undefined && !(r.file === run.file && r.line === run.toLine + 1 && r.member.seq === run.toSeq + 1)) this.flushDuplicates()
    this.records++
    this.noteFile(r.file)
    const { seq } = r.member
    if (this.window.size === 0 && this.lastSeq < 0) {
      this.extended = true
      this.first(r)
      return
    }
    if (this.seal !== null && !this.continuesSeal(r)) {
      const seal = this.seal
      this.seal = null
      const why = seq > seal.seq + 1 && !r.failed
        ? ', or the chain.resume that linked it to the seal was deleted (the seqs between them are missing)'
        : ''
      this.emit({ kind: 'after-seal', file: r.file, line: r.line, seq, message: `a record follows the chain's seal (chain.close at seq ${seal.seq}, ${seal.file}:${seal.line}); only a linked chain.resume of the same chain may follow a seal, so this was appended afterwards${why}` })
      // Keep linking past it, but let it claim nothing else. Seqs it skips are missing
      // (a deleted chain.resume), and it is not: it is the chain's newest record now.
      if (seq === this.lastSeq + 1) {
        this.accept(r)
      } else if (seq > this.lastSeq + 1 && !r.failed) {
        this.gaps.push({ from: this.lastSeq + 1, to: seq - 1, file: r.file, line: r.line })
        this.accept(r)
      }
      return
    }
    if (seq === this.lastSeq + 1) {
      this.extended = true
      const before = this.window.get(this.lastSeq)
      if (before !== undefined && r.member.prev !== before.hash && !before.failed && !r.failed) {
        this.emit({ kind: 'broken-link', file: r.file, line: r.line, seq, message: `the record's prev does not match the hash of seq ${this.lastSeq} (${before.file}:${before.line}): the chain is broken here, records were replaced` })
      }
      this.accept(r)
    } else if (seq > this.lastSeq + 1) {
      // A record that failed its checks and claims a seq far ahead is not trusted to
      // move the chain: it would turn every later genuine record into a reorder.
      if (r.failed) return
      const previousFile = previousFileOf(r.fields)
      this.gaps.push({ from: this.lastSeq + 1, to: seq - 1, file: r.file, line: r.line, ...(previousFile !== undefined ? { previousFile } : {}) })
      this.accept(r)
    } else {
      this.behind(r)
    }
  }

  /**
   * The first record of the chain. One with seq > 0 is a cut-off beginning unless a
   * later retention.prune record names the file that ended right before it (see
   * `pruneExplains`); that is only known at the end, so the finding waits until then.
   */
  private first (r: ChainRecord): void {
    const { seq, prev } = r.member
    this.firstSeq = seq
    if (seq > 0 && !this.startKnown) {
      const previousFile = r.failed ? undefined : previousFileOf(r.fields)
      this.lateStart = { seq, prev, file: r.file, line: r.line, ...(previousFile !== undefined ? { previousFile } : {}) }
    }
    this.accept(r)
  }

  /**
   * A validly signed retention.prune record explains a chain that starts at seq S when
   * it names a deleted file whose last record was S-1 with exactly the hash the first
   * record links to. The writer deletes oldest first, so the newest prune record always
   * names the file right before the oldest one kept; deleting one more file makes the
   * chain start where no prune record points, and that is reported.
   */
  private pruneExplains (fields: Record<string, unknown>): void {
    const start = this.lateStart
    if (start === undefined || !Array.isArray(fields.files)) return
    for (const f of fields.files) {
      if (isPrunedFile(f) && f.lastSeq === start.seq - 1 && f.lastHash === start.prev) {
        this.lateStart = undefined
        this.prunedBefore = start.seq
        return
      }
    }
  }

  private reportLateStart (start: LateStart): void {
    const { seq } = start
    const before = seq === 1 ? 'record 0' : `records 0–${seq - 1}`
    const why = start.previousFile !== undefined
      ? `: the file before it, ${start.previousFile} (named by this file.open), is missing, and no retention.prune record says retention deleted it`
      : ', and no retention.prune record explains why'
    this.emit({ kind: 'missing-start', file: start.file, line: start.line, seq, message: `the chain's first record has seq ${seq}, not 0: ${before} (its beginning) are not there${why}` })
  }

  private continuesSeal (r: ChainRecord): boolean {
    const seal = this.seal
    if (seal === null) return true
    return !r.failed && eventOf(r.fields) === 'chain.resume' && r.fields.chainId === this.chainId &&
      r.member.seq === seal.seq + 1 && r.member.prev === seal.hash
  }

  /** A record with seq ≤ the highest seen. */
  private behind (r: ChainRecord): void {
    const { seq, hash } = r.member
    const gapIndex = this.gaps.findIndex((g) => g.from <= seq && seq <= g.to)
    if (gapIndex >= 0) {
      const gap = this.gaps[gapIndex]
      this.emit({ kind: 'reordered', file: r.file, line: r.line, seq, message: `the record is out of order: seq ${seq} comes after seq ${this.lastSeq} (its place was before ${gap.file}:${gap.line}); lines were moved` })
      this.closeGap(gapIndex, seq)
      this.occupy(r)
      this.checkNeighbours(r)
      return
    }
    // Its own failure is already reported; it has no claim on a seq.
    if (r.failed) return
    const slot = this.window.get(seq)
    if (slot === undefined) {
      this.emit({ kind: 'inserted', file: r.file, line: r.line, seq, message: `a record with seq ${seq} appears after seq ${this.lastSeq}, long after its place in the chain: it was inserted (or copied) here` })
    } else if (slot.hash === hash) {
      const run = this.duplicates
      if (run !== undefined) {
        run.toLine = r.line
        run.toSeq = seq
        run.count++
      } else {
        this.duplicates = { file: r.file, fromLine: r.line, toLine: r.line, fromSeq: seq, toSeq: seq, count: 1, original: `${slot.file}:${slot.line}` }
      }
    } else if (slot.failed) {
      this.emit({ kind: 'inserted', file: slot.file, line: slot.line, seq, message: `this line claims seq ${seq} but failed its checks, and a validly signed record with seq ${seq} follows at ${r.file}:${r.line}: this line was inserted (forged)` })
      this.occupy(r)
    } else {
      this.emit({ kind: 'inserted', file: r.file, line: r.line, seq, message: `a different record with seq ${seq} was already read at ${slot.file}:${slot.line}: this one was inserted` })
    }
  }

  /** A record that filled a gap: check it against the neighbours it now sits between. */
  private checkNeighbours (r: ChainRecord): void {
    const { seq, prev, hash } = r.member
    const before = this.window.get(seq - 1)
    if (before !== undefined && !before.failed && !r.failed && before.hash !== prev) {
      this.emit({ kind: 'broken-link', file: r.file, line: r.line, seq, message: `the record's prev does not match the hash of seq ${seq - 1} (${before.file}:${before.line}): the chain is broken here` })
    }
    const after = this.window.get(seq + 1)
    if (after !== undefined && !after.failed && !r.failed && after.prev !== hash) {
      this.emit({ kind: 'broken-link', file: after.file, line: after.line, seq: seq + 1, message: `the record's prev does not match the hash of seq ${seq} (${r.file}:${r.line}): the chain is broken here` })
    }
  }

  private closeGap (index: number, seq: number): void {
    const gap = this.gaps[index]
    if (gap.from === gap.to) {
      this.gaps.splice(index, 1)
    } else if (seq === gap.from) {
      gap.from++
    } else if (seq === gap.to) {
      gap.to--
    } else {
      this.gaps.splice(index + 1, 0, { ...gap, from: seq + 1 })
      gap.to = seq - 1
    }
  }

  /** Make `r` the record at its seq (a later valid record can still replace a failed one). */
  private occupy (r: ChainRecord): void {
    const { seq, hash, prev } = r.member
    this.window.set(seq, { hash, prev, failed: r.failed, file: r.file, line: r.line, kid: r.member.kid, at: r.at ?? -1 })
    for (const w of this.heads.get(seq) ?? []) w.found = { hash, file: r.file, line: r.line }
    if (!r.failed) this.truncation(r)
  }

  /**
   * A restart record whose writer found the log shorter than its own head (FORMAT.md
   * §5.2 `truncated`): the writer went on, but said what was missing, and that is a
   * problem wherever the restart sits in the chain (issue 12, item 2).
   */
  private truncation (r: ChainRecord): void {
    const event = eventOf(r.fields)
    if (event !== 'chain.resume' && event !== 'chain.open') return
    const message = truncationMessage(event, r.member.seq, r.fields.truncated)
    if (message !== undefined) this.emit({ kind: 'truncated', file: r.file, line: r.line, seq: r.member.seq, message })
  }

  /**
   * A valid retention.prune record: each watched record (a head's, or the state's) in
   * a file it names was removed by retention, not cut, unless the file's last record
   * is the watched one with another hash (FORMAT.md §7). Heads shipped over months name
   * records that retention removes later; without this they would all fail (issue 12, item 6).
   */
  private pruneCovers (r: ChainRecord): void {
    const files = r.fields.files
    if (!Array.isArray(files) || this.heads.size === 0) return
    const seqs = this.watchedSeqs ??= [...this.heads.keys()].sort((a, b) => a - b)
    for (const f of files) {
      if (!isPrunedFile(f)) continue
      const by = { file: f.file, at: `${r.file}:${r.line}` }
      for (let i = lowerBound(seqs, f.firstSeq); i < seqs.length && seqs[i] <= f.lastSeq; i++) {
        const seq = seqs[i]
        for (const w of this.heads.get(seq) ?? []) {
          const notes = w.prune ??= {}
          if (seq !== f.lastSeq) notes.pruned ??= by
          else if (watchedHash(w) === f.lastHash) notes.pruned ??= { ...by, lastHash: f.lastHash }
          else notes.conflict ??= { ...by, lastHash: f.lastHash }
        }
      }
    }
  }

  /** `r` becomes the newest record of the chain. */
  private accept (r: ChainRecord): void {
    const { seq } = r.member
    // Seqs skipped, a record that failed §4 or a chain read from past seq 0: what lies
    // right before this record is not known (FORMAT.md §10.3).
    const afterUnknown = seq > this.lastSeq + 1 || this.window.get(this.lastSeq)?.failed === true
    this.occupy(r)
    this.advance(seq)
    // Whatever follows a seal (here only a linked chain.resume, checked before) ends it.
    this.seal = null
    if (r.failed) return
    const time = dateTime(r.fields.time)
    if (time !== undefined) {
      this.firstTime ??= time
      this.lastTime = time
    }
    this.epochs.newest(r, afterUnknown)
    const event = eventOf(r.fields)
    if (event === 'chain.open' || event === 'chain.resume') this.writerStart = seq
    if (event === 'retention.prune') {
      this.pruneExplains(r.fields)
      this.pruneCovers(r)
    }
    if (event === 'chain.close') this.sealed(r)
  }

  private sealed (r: ChainRecord): void {
    const { seq, hash } = r.member
    this.seal = { seq, hash, file: r.file, line: r.line }
    // Counted by seq: a deleted line is already a `missing`; this catches a seal whose
    // writer's opening record is not where the seal says it is.
    const claimed = r.fields.records
    if (this.writerStart !== undefined) {
      const actual = seq - this.writerStart + 1
      if (claimed !== actual) {
        this.emit({ kind: 'count-mismatch', file: r.file, line: r.line, seq, message: `the seal says its writer wrote ${String(claimed)} records, but ${actual} records lie between its chain.open/chain.resume (seq ${this.writerStart}) and the seal: records of that writer were removed or added` })
      }
    }
    this.writerStart = undefined
  }

  private advance (seq: number): void {
    const previous = this.lastSeq
    this.lastSeq = seq
    const oldest = seq - this.windowSize
    if (seq - previous > this.windowSize) {
      for (const key of this.window.keys()) if (key <= oldest) this.window.delete(key)
    } else {
      for (let s = Math.max(previous - this.windowSize, 0); s <= oldest; s++) this.window.delete(s)
    }
    while (this.gaps.length > 0 && this.gaps[0].to <= oldest) this.reportGap(this.gaps.shift() as Gap)
  }

  private reportGap (gap: Gap): void {
    const why = gap.previousFile !== undefined
      ? `the file.open here continues from ${gap.previousFile}, which is missing (or was cut short)`
      : 'lines were deleted (or a file of the chain is missing)'
    this.emit({ kind: 'missing', file: gap.file, line: gap.line, seq: gap.from, message: `${range(gap.from, gap.to)} ${gap.from === gap.to ? 'is' : 'are'} not in the log before this line: ${why}` })
  }

  /**
   * The chain has ended: report what is still open and summarise. `continued`: a later
   * fragment of the same chain follows (a merged stream), which settles its heads and
   * says whether the chain ends unsealed.
   */
  finish (requireSeal: boolean, continued = false): ChainSummary {
    this.flushDuplicates()
    if (this.lateStart !== undefined) this.reportLateStart(this.lateStart)
    this.lateStart = undefined
    for (const gap of this.gaps) this.reportGap(gap)
    this.gaps = []
    const anchoredSeq = this.chainId === null || continued ? undefined : this.headBook.settle(this.chainId, this.lastSeq, this.emit, this.prunedBefore)
    let unanchored = 0
    const file = this.files.at(-1) ?? '-'
    if (this.records > 0 && this.seal === null && !continued) {
      unanchored = this.lastSeq - (anchoredSeq ?? this.firstSeq - 1)
      if (unanchored > 0) {
        const anchor = anchoredSeq === undefined ? 'no head file covers any of it' : `the newest head file names seq ${anchoredSeq}`
        this.emit({
          kind: 'unsealed',
          file,
          seq: this.lastSeq,
          message: `the chain does not end with a seal (chain.close) and ${anchor}: ${unanchored === 1 ? 'the last record is' : `the last ${unanchored} records are`} unanchored; the log may still be live, or its end may have been cut off${requireSeal ? ' (a seal is required)' : ''}`
        })
      } else {
        unanchored = 0
      }
    }
    const epochs = this.epochs.span()
    return {
      chainId: this.chainId,
      firstSeq: this.firstSeq,
      lastSeq: this.lastSeq,
      ...(this.window.has(this.lastSeq) ? { lastHash: (this.window.get(this.lastSeq) as Slot).hash } : {}),
      records: this.records,
      files: this.files,
      sealed: this.seal !== null,
      ...(this.prunedBefore !== undefined ? { prunedBefore: this.prunedBefore } : {}),
      ...(this.firstTime !== undefined ? { firstTime: new Date(this.firstTime).toISOString(), lastTime: new Date(this.lastTime as number).toISOString() } : {}),
      unanchored,
      ...(epochs !== undefined ? { epochs } : {})
    }
  }
}
