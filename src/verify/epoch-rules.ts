/**
 * The epoch rules of FORMAT.md §10.3 for one chain: each key signs only inside its
 * certified window, the chain moves through the epochs of a series one by one, and
 * each epoch ends with an `epoch.close` that counts what its key signed. Fed the
 * chain's newest records only (ChainState decides which), in reading order.
 *
 * Memory: the position, the latest writer start, and the first seq of each epoch key
 * the chain used — at most one entry per certificate given, whatever the log's size.
 */
import type { EpochCert } from '../format/epoch.js'
import type { ChainRecord } from './chain-state.js'
import type { EpochSpan, Emit } from './report.js'

/** E of §10.3: the last epoch the chain entered, and the seq of its epoch.close once closed. */
interface Position {
  cert: EpochCert
  closedAt: number | undefined
}

function iso (ms: number): string {
  const d = new Date(ms)
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString()
}

function windowOf (c: EpochCert): string {
  return `epoch ${c.epoch} of series ${c.series}, [${iso(c.notBefore)}, ${iso(c.notAfter)})`
}

function epochsBetween (from: number, to: number): string {
  return from === to ? `epoch ${from} has` : `epochs ${from}–${to} have`
}

/**
 * §10.3 rule 1 for one record signed with the epoch key of `c`: why its time is
 * outside the key's window, or `undefined` when it is inside (or carries no time).
 * Also the excerpt rule's key-window check (FORMAT.md §11), which sees one line alone.
 */
export function windowProblem (t: unknown, c: EpochCert, event: string | undefined): string | undefined {
  if (typeof t !== 'number') return undefined
  if (t < c.notBefore) {
    return `its time ${iso(t)} is before the window of its key (${windowOf(c)}): a key cannot sign before its epoch, so it was signed after the fact by a holder of that key (re-signed or forged), or by a writer whose clock was wrong`
  }
  if (event === 'epoch.close' && t < c.notAfter) {
    return `this epoch.close has time ${iso(t)}, before its epoch ended (${windowOf(c)}): an epoch is closed only once it is over`
  }
  if (event !== 'epoch.close' && event !== 'chain.resume' && t >= c.notAfter) {
    return `its time ${iso(t)} is after the window of its key (${windowOf(c)}): the key signs only until its epoch ends`
  }
  return undefined
}

export class EpochRules {
  private position: Position | undefined
  /** The first epoch of the position's series the chain entered, for the summary. */
  private spanFirst = 0
  /** W: seq of the latest chain.open / chain.resume; -1 before one. */
  private writerStart = -1
  /** F: the seq of the chain's first record signed with each epoch key. */
  private readonly firstSeqOf = new Map<string, number>()
  /** The latest newest record that came right after records not known (a gap, a failed record, a cut-off start). */
  private lastAfterUnknown = -1

  constructor (private readonly emit: Emit) {}

  /**
   * `r` passed §4 and is the chain's newest record. `afterUnknown`: what came right
   * before it is not known — seqs missing, a record that failed §4, or the start of a
   * chain read from past seq 0 — so an epoch.close or an epoch may have been there.
   */
  newest (r: ChainRecord, afterUnknown: boolean): void {
    const { seq, kid } = r.member
    const event = typeof r.fields.event === 'string' ? r.fields.event : undefined
    const c = r.epoch
    if (afterUnknown) this.lastAfterUnknown = seq
    if (event === 'chain.open' || event === 'chain.resume') this.writerStart = seq
    if (c !== undefined && !this.firstSeqOf.has(kid)) this.firstSeqOf.set(kid, seq)
    if (c !== undefined) this.window(r, c, event)
    this.order(r, c, afterUnknown)
    if (c !== undefined && event === 'epoch.close') this.close(r, c)
  }

  /** §10.3 rule 1. */
  private window (r: ChainRecord, c: EpochCert, event: string | undefined): void {
    const why = windowProblem(r.fields.time, c, event)
    if (why !== undefined) this.emit({ kind: 'out-of-window', file: r.file, line: r.line, seq: r.member.seq, message: why })
  }

  /** §10.3 rule 2. */
  private order (r: ChainRecord, c: EpochCert | undefined, afterUnknown: boolean): void {
    const E = this.position
    const problem = (message: string): void => { this.emit({ kind: 'epoch-order', file: r.file, line: r.line, seq: r.member.seq, message }) }
    const unclosed = (): string => `epoch ${(E as Position).cert.epoch} of series ${(E as Position).cert.series} was left without its epoch.close, and the chain goes on with a later epoch's key: the epoch's last records and its close were cut off (or the chain was continued by someone without that epoch's key)`
    if (c === undefined) {
      if (E !== undefined) problem(`the record is signed with key ${r.member.kid}, which has no certificate, after the chain moved to epoch keys (${windowOf(E.cert)}): a chain never goes back from epoch keys`)
      return
    }
    if (E === undefined) {
      this.enter(c)
      return
    }
    if (c.series === E.cert.series) {
      if (c.epoch === E.cert.epoch) {
        if (E.closedAt !== undefined) problem(`the record is signed with the key of epoch ${c.epoch}, which was closed at seq ${E.closedAt}: nothing may be signed in an epoch after its epoch.close`)
      } else if (c.epoch === E.cert.epoch + 1) {
        if (E.closedAt === undefined && !afterUnknown) problem(unclosed())
        this.enter(c)
      } else if (c.epoch > E.cert.epoch + 1) {
        if (!afterUnknown) problem(`the chain goes from epoch ${E.cert.epoch} to epoch ${c.epoch} of series ${c.series}: ${epochsBetween(E.cert.epoch + 1, c.epoch - 1)} no epoch.close, though the writer closes every epoch, even one it was idle or not running in`)
        this.enter(c)
      } else {
        problem(`the record is signed with the key of epoch ${c.epoch}, after the chain reached epoch ${E.cert.epoch} of series ${c.series}: a chain never goes back to an earlier epoch`)
      }
      return
    }
    if (c.notBefore < E.cert.notAfter) {
      problem(`the record is signed with a key of another series (${windowOf(c)}) whose window starts before the chain's current epoch ends (${windowOf(E.cert)}): a chain never goes back in time`)
    } else if (E.closedAt === undefined && !afterUnknown) {
      problem(unclosed())
    }
    this.enter(c)
  }

  private enter (c: EpochCert): void {
    if (this.position?.cert.series === c.series) this.spanFirst = Math.min(this.spanFirst, c.epoch)
    else this.spanFirst = c.epoch
    this.position = { cert: c, closedAt: undefined }
  }

  /** §10.3 rule 3. */
  private close (r: ChainRecord, c: EpochCert): void {
    const { seq: S, kid } = r.member
    const f = r.fields
    const wrong: string[] = []
    if (f.epoch !== c.epoch) wrong.push(`its epoch is ${JSON.stringify(f.epoch)}, but its key is certified for epoch ${c.epoch}`)
    if (f.kid !== kid) wrong.push(`its kid is ${JSON.stringify(f.kid)}, but it is signed with key ${kid}`)
    const s = Math.max(this.writerStart, this.firstSeqOf.get(kid) as number)
    // Records not there (already reported, or deleted by retention before a chain read
    // from past seq 0) may have moved s: the first record with this key, or a restart
    // after s. Then only the close's own two numbers can be checked against each other.
    const unknown = this.lastAfterUnknown > s || (this.lastAfterUnknown === s && s !== this.writerStart)
    const records = f.records
    const lastSeq = f.lastSeq
    if (unknown) {
      const agree = Number.isSafeInteger(records) && (records as number) >= 0 && (records as number) <= S &&
        lastSeq === ((records as number) > 0 ? S - 1 : null)
      if (!agree) wrong.push(`its records (${JSON.stringify(records)}) and lastSeq (${JSON.stringify(lastSeq)}) do not fit together (lastSeq must be ${S - 1} when records is positive, null when it is 0)`)
    } else {
      const expected = S - s
      const expectedLast = expected > 0 ? S - 1 : null
      const from = s === this.writerStart ? `its writer's chain.open/chain.resume (seq ${s})` : `the chain's first record signed with key ${kid} (seq ${s})`
      const actual = expected === 0 ? 'it is itself the first record signed with its key' : `${expected} were, from ${from} up to it`
      if (records !== expected) wrong.push(`it says ${JSON.stringify(records)} records were signed with its key before it, but ${actual}`)
      if (lastSeq !== expectedLast) wrong.push(`its lastSeq is ${JSON.stringify(lastSeq)}, not ${JSON.stringify(expectedLast)}`)
    }
    if (wrong.length > 0) {
      this.emit({ kind: 'count-mismatch', file: r.file, line: r.line, seq: S, message: `the epoch.close of ${windowOf(c)} does not match the chain: ${wrong.join('; ')}` })
    }
    if (this.position?.cert.kid === c.kid) this.position.closedAt = S
  }

  /** Where the chain's epochs ended up, if it used epoch keys. */
  span (): EpochSpan | undefined {
    const E = this.position
    if (E === undefined) return undefined
    return { series: E.cert.series, first: this.spanFirst, last: E.cert.epoch, closed: E.closedAt !== undefined }
  }
}
