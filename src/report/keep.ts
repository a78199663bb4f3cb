/**
 * Which records the page carries in full. A log of a million records cannot all go
 * into one HTML file, so the page keeps at most `maxRecords`: first every record an
 * auditor must see (alerts, warnings and errors, records that are not intact and the
 * few around each of them, the last few of each chain), then an evenly spaced sample
 * of the rest. Memory stays bounded: the sample halves (every other one is dropped)
 * whenever it outgrows the budget, and a kept record is handed to `store` (which
 * spools it to disk) so that only a small handle of it stays here.
 */

/** Why a record is on the page. */
export type KeptReason = 'alert' | 'warning' | 'not-intact' | 'context' | 'sample'

/** A record read: its position in reading order, and why it would be kept. */
export interface Candidate {
  /** 0-based position in reading order: the page lists records by it. */
  n: number
  reason: KeptReason
}

/** What stays in memory of a kept record (from `store`). */
export interface Kept {
  n: number
  reason: KeptReason
}

/** Records kept either side of one that is not intact: enough to see what it broke away from. */
export const CONTEXT_RECORDS = 3

export interface KeptSummary<H extends Kept> {
  records: H[]
  /** Ordinary records read but not on the page. */
  sampledOut: number
  /** Must-see records beyond the budget, not on the page either (by reason). */
  priorityLeftOut: Partial<Record<KeptReason, number>>
}

export class RecordKeeper<R extends Candidate, H extends Kept = R> {
  private readonly priority: H[] = []
  private readonly priorityLeftOut: Partial<Record<KeptReason, number>> = {}
  private sample: H[] = []
  private stride = 1
  private ordinary = 0
  private sampledOut = 0
  private readonly recent: R[] = []
  private after = 0

  /** `store` takes each record as it is kept (with its final reason) and returns what to hold of it. */
  constructor (private readonly maxRecords: number, private readonly store: (record: R) => H = (r) => r as unknown as H) {}

  /** A must-see record (`reason` other than sample/context), or an ordinary one (`reason` 'sample'). */
  add (record: R): void {
    if (record.reason === 'not-intact') {
      this.promoteRecent()
      this.after = CONTEXT_RECORDS
    }
    if (record.reason !== 'sample') {
      this.keep(record)
      return
    }
    if (this.after > 0) {
      this.after--
      this.keep({ ...record, reason: 'context' })
      return
    }
    this.recent.push(record)
    if (this.recent.length > CONTEXT_RECORDS) this.toSample(this.recent.shift() as R)
  }

  /** A chain ended: its last records are kept (findings about a chain's end point there). */
  endOfChain (): void {
    this.promoteRecent()
    this.after = 0
  }

  private promoteRecent (): void {
    for (const r of this.recent.splice(0)) this.keep({ ...r, reason: 'context' })
  }

  private keep (record: R): void {
    if (this.priority.length < this.maxRecords) this.priority.push(this.store(record))
    else this.priorityLeftOut[record.reason] = (this.priorityLeftOut[record.reason] ?? 0) + 1
  }

  private toSample (record: R): void {
    const i = this.ordinary++
    if (i % this.stride !== 0) { this.sampledOut++; return }
    this.sample.push(this.store(record))
    if (this.sample.length > this.maxRecords) {
      // Every other kept one goes: the sample stays evenly spaced over the whole log.
      this.stride *= 2
      const before = this.sample.length
      this.sample = this.sample.filter((_, k) => k % 2 === 0)
      this.sampledOut += before - this.sample.length
    }
  }

  /** The kept records in reading order, the sample thinned so that all fit in the budget. */
  finish (): KeptSummary<H> {
    this.endOfChain()
    const room = Math.max(0, this.maxRecords - this.priority.length)
    let sample = this.sample
    if (sample.length > room) {
      const step = sample.length / room
      sample = room === 0 ? [] : Array.from({ length: room }, (_, k) => this.sample[Math.floor(k * step)])
      this.sampledOut += this.sample.length - sample.length
    }
    const records = [...this.priority, ...sample].sort((a, b) => a.n - b.n)
    return { records, sampledOut: this.sampledOut, priorityLeftOut: this.priorityLeftOut }
  }
}
