/**
 * Reading a merged stream (FORMAT.md §7.1): the records of many pipeline chains
 * interleaved in one input, as a collector delivers them. Ordinary records carry no
 * chain id, but each one's `prev` is the hash of its chain's record before it, so
 * every record is routed by hash — one map lookup per record — to the fragment of a
 * chain whose newest record it links to, and each fragment's records reach its
 * ChainState in seq order.
 *
 * A collector may reorder a little and deliver twice: a record whose predecessor has
 * not arrived waits for at most `window` records of the stream, and a byte-identical
 * copy of a record read at most `window` records before is a `redelivered` warning.
 * Everything else is judged by ChainState as in a single chain. Memory: at most
 * `window` waiting records, and per fragment the hashes of its last `chainWindow` records.
 */
import { GENESIS_PREV } from '../format/record.js'
import type { ChainRecord, ChainState, Slot } from './chain-state.js'
import type { ChainSummary, Emit } from './report.js'

/**
 * Records of the stream a record may arrive late by, and a redelivered copy after its
 * original, by default. A collector reorders only between its connections or on a
 * retry: a few lines. Larger windows cost memory (see chainWindowOf) and let a copy
 * planted further away pass as a redelivery.
 */
export const DEFAULT_REORDER_WINDOW = 32
export const MAX_REORDER_WINDOW = 1_000_000

/**
 * Seqs each fragment's ChainState remembers. The demux hands it records in seq order, so
 * the window only has to reach a redelivered record's original (at most `window` seqs
 * back); a copy from further back is still caught, as `inserted` rather than
 * `duplicate`. 1,000 chains × 48 seqs × ~300 bytes ≈ 15 MB, where ChainState's default
 * 4096 would be 1.2 GB.
 */
export function chainWindowOf (window: number): number {
  return Math.max(window + 16, 32)
}

/** Where a fragment that did not start with its chain.open starts (its predecessor was not found). */
interface CutStart {
  seq: number
  prev: string
  file: string
  line: number
}

interface Fragment {
  state: ChainState
  /** A chain.open no record has linked to yet: placed once one does, or at the end. */
  opening: ChainRecord | undefined
  /** `hash` of the newest record (stored, also for one that failed §4: it stays in its place). */
  tail: string
  cut: CutStart | undefined
  /** The hashes of its newest records, oldest first (a ring of chainWindow entries). */
  recent: string[]
  recentNext: number
}

/** What the redelivery rule needs of a record read before. */
type Original = Pick<Slot, 'failed' | 'kid' | 'file' | 'line' | 'at'>

interface Waiting {
  r: ChainRecord
  at: number
  done: boolean
}

export interface DemuxOptions {
  window: number
  emit: Emit
  /** A ChainState for a new fragment (of a chain known or not yet known). */
  newChain: (chainId: string | null) => ChainState
  /** A record that is not placed in any chain (readAuditLog reads it as unlinked or invalid). */
  notPlaced: (r: ChainRecord) => void
  requireSeal: boolean
}

const eventOf = (r: ChainRecord): string | undefined => typeof r.fields.event === 'string' ? r.fields.event : undefined
const short = (hash: string): string => `${hash.slice(0, 16)}…`

export class Demux {
  private readonly fragments: Fragment[] = []
  private readonly tails = new Map<string, Fragment>()
  /** Each fragment's recent records by hash (details in its ChainState's window: one map entry each). */
  private readonly seen = new Map<string, Fragment>()
  /** Key ids, one string each: a slot then holds a reference, not a copy per record. */
  private readonly kids = new Map<string, string>()
  private readonly waiting = new Map<string, Waiting[]>()
  private readonly queue: Waiting[] = []
  private queueHead = 0
  private readonly chainWindow: number

  constructor (private readonly o: DemuxOptions, first?: { state: ChainState, tail: string }) {
    this.chainWindow = chainWindowOf(o.window)
    if (first !== undefined) this.fragment(first.state, first.tail)
  }

  /** True when the newest fragment ends with a seal (a non-record line after it is after-seal). */
  get isSealed (): boolean {
    return this.fragments.length === 1 && this.fragments[0].state.isSealed
  }

  get sealSeq (): number | undefined { return this.isSealed ? this.fragments[0].state.sealSeq : undefined }

  /** Route the record read as the stream's record number `at`. */
  add (r: ChainRecord, at: number): void {
    this.expire(at)
    r.at = at
    const { hash, prev, seq, kid } = r.member
    const interned = this.kids.get(kid)
    if (interned === undefined) this.kids.set(kid, kid)
    else r.member.kid = interned
    const known = this.seen.get(hash)
    if (known !== undefined) {
      // Same hash, same key, both valid: the same bytes. B is fixed by H, and M by seq,
      // prev, H, kid and the signature, which the strict rule (FORMAT.md §2.1) makes
      // the one signature of that key over H.
      const original = this.original(known, r)
      if (original !== undefined && !r.failed && !original.failed && original.kid === r.member.kid) {
        if (at - original.at <= this.o.window) return this.redelivered(r, known, original, at)
        if (known.opening?.member.hash === hash) return this.reopened(known, r)
      }
      return this.place(known, r, at)
    }
    const linked = this.tails.get(prev)
    if (linked !== undefined) return this.extend(linked, r, at)
    const older = this.seen.get(prev)
    if (older !== undefined) return this.place(older, r, at)
    if (seq === 0 && prev === GENESIS_PREV) {
      const f = this.fragment(this.o.newChain(typeof r.fields.chainId === 'string' && !r.failed ? r.fields.chainId : null), hash)
      f.opening = r
      this.remember(f, r)
      this.releaseAfter(f, hash, at)
      return
    }
    const w: Waiting = { r, at, done: false }
    const list = this.waiting.get(prev)
    if (list === undefined) this.waiting.set(prev, [w])
    else list.push(w)
    this.queue.push(w)
  }

  /** The record `r` repeats the hash of, as read first. */
  private original (f: Fragment, r: ChainRecord): Original | undefined {
    const opening = f.opening
    if (opening?.member.hash === r.member.hash) return { failed: opening.failed, kid: opening.member.kid, file: opening.file, line: opening.line, at: opening.at ?? -1 }
    const slot = f.state.recordAt(r.member.seq)
    return slot?.hash === r.member.hash ? slot : undefined
  }

  /** The stream has ended: place what still waits, and summarise each chain once. */
  finish (): ChainSummary[] {
    this.expire(Infinity)
    for (const f of this.fragments) this.placeOpening(f)
    this.nameByLinks()
    const byChain = new Map<string, Fragment[]>()
    const alone: Fragment[] = []
    for (const f of this.fragments) {
      if (!f.state.hasRecords) continue
      const id = f.state.chainId
      if (id === null) { alone.push(f); continue }
      const list = byChain.get(id)
      if (list === undefined) byChain.set(id, [f])
      else list.push(f)
    }
    const summaries: Array<{ order: number, summary: ChainSummary }> = []
    for (const f of alone) {
      if (f.cut !== undefined) this.cutFinding(f, undefined)
      summaries.push({ order: this.fragments.indexOf(f), summary: f.state.finish(this.o.requireSeal) })
    }
    for (const list of byChain.values()) {
      list.sort((a, b) => a.state.firstSeqRead - b.state.firstSeqRead)
      let merged: ChainSummary | undefined
      for (let i = 0; i < list.length; i++) {
        const f = list[i]
        if (f.cut !== undefined) this.cutFinding(f, list[i - 1])
        // Only the last fragment of a chain settles its heads and may be unsealed.
        const s = f.state.finish(this.o.requireSeal, i < list.length - 1)
        merged = merged === undefined ? s : joinSummaries(merged, s)
      }
      if (merged !== undefined) summaries.push({ order: this.fragments.indexOf(list[0]), summary: merged })
    }
    return summaries.sort((a, b) => a.order - b.order).map((s) => s.summary)
  }

  /**
   * A fragment that no record names the chain of (ordinary records only) but that links
   * to the newest record of another fragment belongs to that one's chain: it came later
   * than the window allowed, after the other fragment had moved on.
   */
  private nameByLinks (): void {
    const byLast = new Map<string, Fragment>()
    for (const f of this.fragments) {
      const last = f.state.lastHashRead
      if (last !== undefined) byLast.set(last, f)
    }
    for (const f of this.fragments) {
      if (f.cut === undefined || f.state.chainId !== null) continue
      let g = byLast.get(f.cut.prev)
      // Follow fragments of unnamed records back; each step is a distinct fragment.
      for (let steps = 0; g !== undefined && g.state.chainId === null && g.cut !== undefined && steps < this.fragments.length; steps++) g = byLast.get(g.cut.prev)
      if (g !== undefined && g !== f && g.state.chainId !== null) f.state.learnId(g.state.chainId)
    }
  }

  private fragment (state: ChainState, tail: string): Fragment {
    const f: Fragment = { state, opening: undefined, tail, cut: undefined, recent: [], recentNext: 0 }
    this.fragments.push(f)
    this.tails.set(tail, f)
    return f
  }

  private redelivered (r: ChainRecord, f: Fragment, original: Original, at: number): void {
    const chain = f.state.chainId
    const of = chain === null ? '' : ` of chain ${chain}`
    const before = at - original.at
    this.o.emit({
      kind: 'redelivered',
      file: r.file,
      line: r.line,
      seq: r.member.seq,
      message: `the line repeats, byte for byte, seq ${r.member.seq}${of} read at ${original.file}:${original.line}, ${before === 1 ? '1 record' : `${before} records`} before: delivered twice (a collector's at-least-once delivery), or copied; it is counted once`,
      group: { cause: 'redelivered', many: `lines repeat, byte for byte, records read shortly before them (within the reorder window of ${this.o.window}): delivered twice, or copied; each is counted once` }
    })
    // A run delivered a third time is still within the window of the second.
    if (f.opening?.member.hash === r.member.hash) f.opening.at = at
    else (original as Slot).at = at
  }

  /**
   * The chain.open of a fragment no record linked to, again, further away than a
   * redelivery: the chain continues from this copy, so the first was copied in.
   */
  private reopened (f: Fragment, r: ChainRecord): void {
    const first = f.opening as ChainRecord
    this.o.emit({ kind: 'inserted', file: first.file, line: first.line, seq: 0, message: `this chain.open record of chain ${String(f.state.chainId)} is repeated at ${r.file}:${r.line}, more than ${this.o.window} records later, and no record of its chain links to it here: it was copied in from another place` })
    this.o.notPlaced(first)
    f.opening = r
  }

  private remember (f: Fragment, r: ChainRecord): void {
    const { hash } = r.member
    if (this.seen.has(hash)) return
    this.seen.set(hash, f)
    if (f.recent.length < this.chainWindow) {
      f.recent.push(hash)
      return
    }
    const oldest = f.recent[f.recentNext]
    if (this.seen.get(oldest) === f) this.seen.delete(oldest)
    f.recent[f.recentNext] = hash
    f.recentNext = (f.recentNext + 1) % this.chainWindow
  }

  private placeOpening (f: Fragment): void {
    const opening = f.opening
    if (opening === undefined) return
    f.opening = undefined
    f.state.add(opening)
  }

  /** Place `r` in `f` without making it the tail (a copy, a fork: ChainState judges it). */
  private place (f: Fragment, r: ChainRecord, at: number): void {
    this.placeOpening(f)
    if (this.learn(f, r)) f.state.add(r)
    this.remember(f, r)
  }

  /** `r` links to `f`'s newest record: place it, then every record that waited for it. */
  private extend (f: Fragment, r: ChainRecord, at: number): void {
    this.placeOpening(f)
    if (!this.learn(f, r)) return
    f.state.add(r)
    this.remember(f, r)
    if (this.tails.get(f.tail) === f) this.tails.delete(f.tail)
    f.tail = r.member.hash
    this.tails.set(f.tail, f)
    this.releaseAfter(f, f.tail, at)
  }

  private releaseAfter (f: Fragment, hash: string, at: number): void {
    const list = this.waiting.get(hash)
    if (list === undefined) return
    this.waiting.delete(hash)
    for (const w of list) {
      if (w.done) continue
      w.done = true
      // The first extends the chain; any other claims the same place (ChainState reports it).
      if (f.tail === hash) this.extend(f, w.r, at)
      else this.place(f, w.r, at)
    }
  }

  /**
   * A control record names its chain: the fragment learns it. One naming another chain
   * (signed by the same key, linked here) was copied in: reported, not placed.
   */
  private learn (f: Fragment, r: ChainRecord): boolean {
    const chainId = r.fields.chainId
    if (r.failed || typeof chainId !== 'string' || eventOf(r) === undefined) return true
    if (f.state.chainId === null) {
      f.state.learnId(chainId)
      return true
    }
    if (f.state.chainId === chainId) return true
    this.o.emit({ kind: 'inserted', file: r.file, line: r.line, seq: r.member.seq, message: `this ${String(eventOf(r))} record belongs to chain ${chainId}, but it sits where a record of chain ${f.state.chainId} links: it was copied in from another log` })
    this.o.notPlaced(r)
    return false
  }

  /** Place the records that waited longer than the window for their predecessor. */
  private expire (at: number): void {
    const q = this.queue
    while (this.queueHead < q.length && at - q[this.queueHead].at > this.o.window) {
      const w = q[this.queueHead++]
      if (w.done) continue
      w.done = true
      const list = this.waiting.get(w.r.member.prev)
      if (list !== undefined) {
        const i = list.indexOf(w)
        if (i >= 0) list.splice(i, 1)
        if (list.length === 0) this.waiting.delete(w.r.member.prev)
      }
      this.unlinked(w.r, at)
    }
    if (this.queueHead > 1024 && this.queueHead * 2 > q.length) {
      q.splice(0, this.queueHead)
      this.queueHead = 0
    }
  }

  /**
   * A record whose predecessor did not arrive within the window. With one chain open it
   * joins it (ChainState reports the gap, as in a single chain); with several, it
   * starts a fragment whose beginning is missing, reported once its chain is known.
   */
  private unlinked (r: ChainRecord, at: number): void {
    const open = this.fragments.filter((f) => !f.state.isSealed)
    const only = open.length === 1 ? open[0] : this.fragments.length === 1 ? this.fragments[0] : undefined
    if (only !== undefined) return this.extend(only, r, at)
    const f = this.fragment(this.o.newChain(null), r.member.prev)
    if (this.fragments.length > 1) f.cut = { seq: r.member.seq, prev: r.member.prev, file: r.file, line: r.line }
    this.extend(f, r, at)
  }

  /** What lies between a fragment that did not start with its chain.open and the one before it. */
  private cutFinding (f: Fragment, before: Fragment | undefined): void {
    const cut = f.cut as CutStart
    f.state.startReported()
    const chain = f.state.chainId === null ? 'a chain no record of this fragment names' : `chain ${f.state.chainId}`
    const links = `the record links to hash ${short(cut.prev)}, which no record within the reorder window of ${this.o.window} records has`
    const at = { file: cut.file, line: cut.line, seq: cut.seq }
    if (before === undefined) {
      const what = f.state.chainId === null
        ? ': the records before it are missing (deleted, or beyond the reorder window), or it was copied in from another log signed with the same key'
        : `: ${cut.seq === 1 ? 'seq 0' : `seqs 0–${cut.seq - 1}`} of ${chain} are not in the stream before it (deleted, or beyond the reorder window)`
      this.o.emit({ kind: 'missing', ...at, message: links + what })
      return
    }
    const last = before.state.lastSeqRead
    if (last === cut.seq - 1 && before.state.lastHashRead === cut.prev) {
      this.o.emit({ kind: 'reordered', ...at, message: `seq ${cut.seq} of ${chain} arrived more than ${this.o.window} records before seq ${last} it links to: lines were moved further than the reorder window (--reorder-window) allows` })
    } else if (last < cut.seq - 1) {
      const from = last + 1
      const to = cut.seq - 1
      this.o.emit({ kind: 'missing', ...at, message: `${links}: ${from === to ? `seq ${from}` : `seqs ${from}–${to}`} of ${chain} ${from === to ? 'is' : 'are'} not in the stream (deleted, or beyond the reorder window)` })
    } else {
      this.o.emit({ kind: 'broken-link', ...at, message: `${links}, and ${chain} has seq ${cut.seq - 1} with another hash: records were replaced` })
    }
  }
}

/** One chain's summary from the summaries of its fragments, in seq order. */
function joinSummaries (a: ChainSummary, b: ChainSummary): ChainSummary {
  const files = [...a.files]
  for (const f of b.files) if (!files.includes(f)) files.push(f)
  return {
    ...b,
    firstSeq: Math.min(a.firstSeq, b.firstSeq),
    records: a.records + b.records,
    files,
    ...(a.firstTime !== undefined ? { firstTime: a.firstTime } : {})
  }
}
